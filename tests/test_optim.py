"""Adadelta: the update rule in closed form, and the row-sparse update equal to the dense one."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from numpy_movievec import Adadelta
from numpy_movievec.nn import RowGradient


def test_first_step_in_closed_form():
    # From zero state: a = (1-ρ)g², Δ = g √ε / √(a+ε), p -= lr Δ; d = (1-ρ)Δ².
    lr, rho, eps, g = 0.7, 0.9, 1e-6, np.array([0.5, -2.0])
    params = {"w": np.array([1.0, 1.0])}
    opt = Adadelta(lr=lr, rho=rho, eps=eps)
    opt.step(params, {"w": g.copy()})
    a = (1 - rho) * g**2
    delta = g * np.sqrt(eps) / np.sqrt(a + eps)
    np.testing.assert_allclose(params["w"], 1.0 - lr * delta, rtol=1e-12)
    np.testing.assert_allclose(opt.state["w"]["accum_grad"], a, rtol=1e-12)
    np.testing.assert_allclose(opt.state["w"]["accum_update"], (1 - rho) * delta**2, rtol=1e-12)


def irregular_row_gradients(rng, n_rows, dim, steps):
    """Per step: a few distinct rows (sometimes none, sometimes all) with random gradients."""
    for _ in range(steps):
        n_touched = min(rng.choice([0, 1, 2, n_rows]), n_rows)
        rows = np.sort(rng.choice(n_rows, size=n_touched, replace=False))
        yield RowGradient(rows, rng.standard_normal((n_touched, dim)).astype(np.float32))


@settings(max_examples=20, deadline=None)
@given(n_rows=st.integers(1, 12), dim=st.integers(1, 4), steps=st.integers(1, 120),
       seed=st.integers(0, 2**32 - 1))
def test_row_sparse_update_equals_dense_update(n_rows, dim, steps, seed):
    rng = np.random.default_rng(seed)
    start = rng.standard_normal((n_rows, dim)).astype(np.float32)
    sparse_params, dense_params = {"table": start.copy()}, {"table": start.copy()}
    sparse_opt, dense_opt = Adadelta(), Adadelta()
    for grad in irregular_row_gradients(rng, n_rows, dim, steps):
        sparse_opt.step(sparse_params, {"table": grad})
        dense_opt.step(dense_params, {"table": grad.to_dense(n_rows)})
    np.testing.assert_allclose(sparse_params["table"], dense_params["table"], rtol=1e-5, atol=1e-7)
    sparse_opt.synchronize()
    for slot in ("accum_grad", "accum_update"):
        np.testing.assert_allclose(sparse_opt.state["table"][slot], dense_opt.state["table"][slot],
                                   rtol=1e-5, atol=1e-12)


def test_lazy_catch_up_is_rho_to_the_power_of_the_steps_missed():
    opt = Adadelta(rho=0.5)
    params = {"table": np.zeros((2, 1))}
    opt.step(params, {"table": RowGradient(np.array([0, 1]), np.ones((2, 1)))})
    for _ in range(3):  # row 1 sits out three steps
        opt.step(params, {"table": RowGradient(np.array([0]), np.ones((1, 1)))})
    assert opt.state["table"]["accum_grad"][1, 0] == 0.5  # stale until caught up
    opt.synchronize()
    assert opt.state["table"]["accum_grad"][1, 0] == 0.5 * 0.5**3


def test_tf2_mode_leaves_untouched_rows_alone():
    opt = Adadelta(rho=0.5, decay_untouched_rows=False)
    params = {"table": np.zeros((2, 1))}
    opt.step(params, {"table": RowGradient(np.array([0, 1]), np.ones((2, 1)))})
    for _ in range(3):
        opt.step(params, {"table": RowGradient(np.array([0]), np.ones((1, 1)))})
    opt.synchronize()
    assert opt.state["table"]["accum_grad"][1, 0] == 0.5
    # the next step of row 1 starts from the un-decayed averages
    opt.step(params, {"table": RowGradient(np.array([1]), np.ones((1, 1)))})
    assert opt.state["table"]["accum_grad"][1, 0] == 0.5 * 0.5 + 0.5


def test_state_dict_round_trip():
    opt = Adadelta(lr=0.3, decay_untouched_rows=False)
    params = {"w": np.ones((3, 2), np.float32)}
    opt.step(params, {"w": RowGradient(np.array([1]), np.ones((1, 2), np.float32))})
    config, arrays = opt.state_dict()
    again = Adadelta.from_state_dict(config, arrays)
    assert repr(again) == repr(opt)
    for slot, value in opt.state["w"].items():
        np.testing.assert_array_equal(again.state["w"][slot], value)


@pytest.mark.parametrize("kwargs", [dict(lr=0), dict(rho=1.0), dict(rho=-0.1), dict(eps=0)])
def test_bad_hyper_parameters(kwargs):
    with pytest.raises(ValueError, match="need lr > 0"):
        Adadelta(**kwargs)
