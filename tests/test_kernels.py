"""The Numba engine against the NumPy reference: same batches, same parameters, any thread count."""

import numba
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import numpy_movievec as mv
from numpy_movievec.nn import kernels

seeds = st.integers(0, 2**32 - 1)


@settings(max_examples=40, deadline=None)
@given(m=st.integers(0, 9), n=st.integers(0, 9), k=st.integers(0, 9), seed=seeds)
def test_matmul_abt_equals_numpy(m, n, k, seed):
    rng = np.random.default_rng(seed)
    a = rng.standard_normal((m, k)).astype(np.float32)
    b = rng.standard_normal((n, k)).astype(np.float32)
    out = np.full((m, n), np.nan, dtype=np.float32)
    kernels.matmul_abt(a, b, out)
    np.testing.assert_allclose(out, a.astype(np.float64) @ b.T, rtol=1e-5, atol=1e-5)


@settings(max_examples=40, deadline=None)
@given(ids=st.lists(st.integers(0, 6), max_size=30))
def test_group_rows_lists_each_rows_positions_in_order(ids):
    ids = np.array(ids, dtype=np.int64)
    slot_of_row = np.full(7, -1, dtype=np.int64)
    rows, starts, positions = kernels.group_rows(ids, slot_of_row)
    assert list(rows) == list(dict.fromkeys(ids.tolist()))  # distinct, by first appearance
    for k, row in enumerate(rows):
        assert list(positions[starts[k]:starts[k + 1]]) == list(np.flatnonzero(ids == row))
    assert (slot_of_row == -1).all()  # scratch handed back clean


def twin_nets(n_movies, n_users, dim, hidden, seed=0):
    return [mv.RatingNet(n_movies, n_users, dim=dim, hidden=hidden, seed=seed) for _ in range(2)]


def random_ratings(rng, n_movies, n_users, n):
    return (rng.integers(0, n_movies, n), rng.integers(0, n_users, n),
            rng.integers(1, 6, n).astype(np.int8))


def assert_same_training(reference, fast, rtol=2e-4, atol=2e-6):
    for name in reference.params:
        np.testing.assert_allclose(fast.params[name], reference.params[name], rtol=rtol,
                                   atol=atol, err_msg=name)
    reference.optimizer.synchronize()
    fast.optimizer.synchronize()
    assert fast.optimizer.iterations == reference.optimizer.iterations
    for name, state in reference.optimizer.state.items():
        np.testing.assert_allclose(fast.optimizer.state[name]["accum_grad"], state["accum_grad"],
                                   rtol=1e-3, atol=1e-9, err_msg=name)


@settings(max_examples=12, deadline=None)
@given(n_movies=st.integers(1, 12), n_users=st.integers(1, 12), dim=st.integers(1, 6),
       hidden=st.lists(st.integers(1, 9), max_size=3).map(tuple), batch_size=st.integers(1, 40),
       seed=seeds)
def test_numba_engine_equals_numpy_reference(n_movies, n_users, dim, hidden, batch_size, seed):
    rng = np.random.default_rng(seed)
    data = random_ratings(rng, n_movies, n_users, 150)  # small tables: ids repeat in a batch
    reference, fast = twin_nets(n_movies, n_users, dim, hidden, seed=seed % 1000)
    for net, engine in ((reference, "numpy"), (fast, "numba")):
        mv.fit(net, data, epochs=2, batch_size=batch_size, engine=engine, seed=seed,
               progress=False)
    assert_same_training(reference, fast)


@pytest.mark.parametrize("decay_untouched_rows", [True, False])
def test_numba_engine_equals_numpy_reference_on_sparse_tables(decay_untouched_rows):
    # many rows, few touched per batch: the lazy ρ^k catch-up is exercised on every row
    rng = np.random.default_rng(1)
    data = random_ratings(rng, 300, 500, 2000)
    reference, fast = twin_nets(300, 500, dim=8, hidden=(16, 16))
    for net, engine in ((reference, "numpy"), (fast, "numba")):
        mv.fit(net, data, epochs=3, batch_size=64, engine=engine, progress=False,
               optimizer=mv.Adadelta(lr=2.0, decay_untouched_rows=decay_untouched_rows))
    assert_same_training(reference, fast)


def test_numba_predict_equals_reference_predict():
    rng = np.random.default_rng(2)
    movies, users, ratings = random_ratings(rng, 40, 50, 1000)
    net = mv.RatingNet(40, 50, dim=6, hidden=(8, 4))
    hist = mv.fit(net, (movies, users, ratings), valid=(movies, users, ratings), epochs=1,
                  engine="numba", progress=False)
    np.testing.assert_allclose(mv.train.ENGINES["numba"](net, net.optimizer, movies, users,
                                                        ratings).predict(movies, users),
                               net.predict(movies, users), rtol=1e-5, atol=1e-6)
    reference = mv.train.rmse(net.predict(movies, users), ratings)
    assert hist.valid_rmse[0] == pytest.approx(reference, rel=1e-5)


def test_results_are_bit_identical_for_any_thread_count():
    rng = np.random.default_rng(3)
    data = random_ratings(rng, 200, 300, 3000)
    runs = []
    for threads in (1, min(2, numba.config.NUMBA_NUM_THREADS)):
        net = mv.RatingNet(200, 300, dim=8, hidden=(16, 8), seed=0)
        mv.fit(net, data, epochs=2, batch_size=100, engine="numba", threads=threads,
               progress=False)
        runs.append(net.params)
    for name in runs[0]:
        assert np.array_equal(runs[0][name], runs[1][name]), name


def test_numba_engine_continues_like_one_run(tmp_path):
    rng = np.random.default_rng(4)
    data = random_ratings(rng, 30, 40, 1000)
    straight, stopped = twin_nets(30, 40, dim=4, hidden=(8,))
    mv.fit(straight, data, epochs=3, batch_size=50, engine="numba", progress=False)
    mv.fit(stopped, data, epochs=2, batch_size=50, engine="numba", progress=False,
           checkpoint=tmp_path / "ckpt.npz")
    resumed = mv.RatingNet.load(tmp_path / "ckpt.npz")
    mv.fit(resumed, data, epochs=1, batch_size=50, engine="numba", progress=False)
    for name in straight.params:
        assert np.array_equal(resumed.params[name], straight.params[name]), name


def test_too_many_threads_is_a_clear_error():
    data = random_ratings(np.random.default_rng(5), 3, 3, 10)
    with pytest.raises(ValueError, match="threads"):
        mv.fit(mv.RatingNet(3, 3, dim=2, hidden=()), data, engine="numba",
               threads=numba.config.NUMBA_NUM_THREADS + 1, progress=False)
