"""Each reference layer's backward pass against finite differences of its forward pass (float64)."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from numpy_movievec.nn.layers import (Concatenate, Dense, Embedding, L2Penalty,
                                      MeanSquaredError, ReLU, RowGradient)
from numerical import numerical_gradient

sizes = st.integers(1, 6)
seeds = st.integers(0, 2**32 - 1)


def probe(rng, shape):
    """A random dout: checking L = sum(out * dout) checks the layer's whole Jacobian product."""
    return rng.standard_normal(shape)


@settings(max_examples=30, deadline=None)
@given(batch=sizes, n_rows=sizes, dim=sizes, seed=seeds)
def test_embedding_backward_sums_repeated_rows(batch, n_rows, dim, seed):
    rng = np.random.default_rng(seed)
    table = rng.standard_normal((n_rows, dim))
    ids = rng.integers(0, n_rows, batch)  # small tables: repeats are common
    dout = probe(rng, (batch, dim))
    out, cache = Embedding.forward(table, ids)
    grad = Embedding.backward(dout, cache)

    expected = numerical_gradient(lambda: np.sum(Embedding.forward(table, ids)[0] * dout), table)
    np.testing.assert_allclose(grad.to_dense(n_rows), expected, atol=1e-8)
    assert np.array_equal(grad.rows, np.unique(ids))
    np.testing.assert_array_equal(out, table[ids])


def test_embedding_backward_by_hand():
    ids = np.array([2, 0, 2])
    dout = np.array([[1.0, 2.0], [3.0, 4.0], [10.0, 20.0]])
    grad = Embedding.backward(dout, Embedding.forward(np.zeros((4, 2)), ids)[1])
    np.testing.assert_array_equal(grad.rows, [0, 2])
    np.testing.assert_array_equal(grad.values, [[3.0, 4.0], [11.0, 22.0]])


@settings(max_examples=30, deadline=None)
@given(batch=sizes, width_a=sizes, width_b=sizes, seed=seeds)
def test_concatenate_backward(batch, width_a, width_b, seed):
    rng = np.random.default_rng(seed)
    a, b = rng.standard_normal((batch, width_a)), rng.standard_normal((batch, width_b))
    dout = probe(rng, (batch, width_a + width_b))
    da, db = Concatenate.backward(dout, Concatenate.forward(a, b)[1])

    def loss():
        return np.sum(Concatenate.forward(a, b)[0] * dout)

    np.testing.assert_allclose(da, numerical_gradient(loss, a), atol=1e-8)
    np.testing.assert_allclose(db, numerical_gradient(loss, b), atol=1e-8)


@settings(max_examples=30, deadline=None)
@given(batch=sizes, n_in=sizes, n_out=sizes, seed=seeds)
def test_dense_backward(batch, n_in, n_out, seed):
    rng = np.random.default_rng(seed)
    x, w, b = (rng.standard_normal(s) for s in [(batch, n_in), (n_in, n_out), (n_out,)])
    dout = probe(rng, (batch, n_out))
    dx, dw, db = Dense.backward(dout, Dense.forward(x, w, b)[1])

    def loss():
        return np.sum(Dense.forward(x, w, b)[0] * dout)

    for analytic, wrt in [(dx, x), (dw, w), (db, b)]:
        np.testing.assert_allclose(analytic, numerical_gradient(loss, wrt), rtol=1e-6, atol=1e-8)


@settings(max_examples=30, deadline=None)
@given(batch=sizes, width=sizes, seed=seeds)
def test_relu_backward(batch, width, seed):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((batch, width))
    x[np.abs(x) < 1e-3] = 0.5  # keep clear of the kink, where no derivative exists
    dout = probe(rng, x.shape)
    dx = ReLU.backward(dout, ReLU.forward(x)[1])
    expected = numerical_gradient(lambda: np.sum(ReLU.forward(x)[0] * dout), x)
    np.testing.assert_allclose(dx, expected, atol=1e-8)


def test_relu_takes_slope_zero_at_the_kink():
    dx = ReLU.backward(np.ones(3), ReLU.forward(np.array([-1.0, 0.0, 2.0]))[1])
    np.testing.assert_array_equal(dx, [0.0, 0.0, 1.0])


@settings(max_examples=30, deadline=None)
@given(batch=sizes, seed=seeds)
def test_mean_squared_error_backward(batch, seed):
    rng = np.random.default_rng(seed)
    prediction, target = rng.standard_normal(batch), rng.integers(1, 6, batch).astype(float)
    loss, cache = MeanSquaredError.forward(prediction, target)
    expected = numerical_gradient(lambda: MeanSquaredError.forward(prediction, target)[0], prediction)
    np.testing.assert_allclose(MeanSquaredError.backward(cache), expected, atol=1e-8)
    assert loss == np.mean((prediction - target) ** 2)


@settings(max_examples=30, deadline=None)
@given(batch=sizes, width=sizes, l2=st.floats(0, 2), seed=seeds)
def test_l2_penalty_backward(batch, width, l2, seed):
    x = np.random.default_rng(seed).standard_normal((batch, width))
    penalty, cache = L2Penalty.forward(x, l2)
    expected = numerical_gradient(lambda: L2Penalty.forward(x, l2)[0], x)
    np.testing.assert_allclose(L2Penalty.backward(cache), expected, atol=1e-8)
    assert penalty == pytest.approx(l2 * np.mean(np.sum(x * x, axis=1)))  # per example, batch mean


def test_layers_keep_float32():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((4, 3)).astype(np.float32)
    w, b = np.ones((3, 2), np.float32), np.zeros(2, np.float32)
    out, cache = Dense.forward(x, w, b)
    assert out.dtype == np.float32
    assert all(g.dtype == np.float32 for g in Dense.backward(out, cache))
    assert ReLU.forward(x)[0].dtype == np.float32
    loss, cache = MeanSquaredError.forward(out[:, 0], np.array([1, 2, 3, 4], dtype=np.int8))
    assert MeanSquaredError.backward(cache).dtype == np.float32


def test_row_gradient_to_dense():
    g = RowGradient(np.array([0, 3]), np.array([[1.0], [2.0]]))
    np.testing.assert_array_equal(g.to_dense(4)[:, 0], [1.0, 0.0, 0.0, 2.0])
