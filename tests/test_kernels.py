"""The Numba kernels against their NumPy references, kernel by kernel, then the whole engine.

Each compiled kernel names the reference it must equal (``nn/kernels.py``); these tests hold
it to that on small random problems, then check the engine as a whole: same training as the
NumPy engine, bit-identical for any thread count, even when the count changes mid-training.
"""

import numba
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import numpy_movievec as mv
from numpy_movievec.nn import kernels
from numpy_movievec.nn.engines import NumbaEngine
from numpy_movievec.nn.layers import L2Penalty, RowGradient
from numpy_movievec.nn.threads import ThreadTuner

seeds = st.integers(0, 2**32 - 1)
hidden_layers = st.lists(st.integers(1, 9), max_size=3).map(tuple)


# -- dense algebra ----------------------------------------------------------------------------

@settings(max_examples=60, deadline=None)
@given(m=st.integers(0, 11), n=st.sampled_from([0, 1, 5, 16, 17, 64, 80, 97]),
       k=st.integers(0, 70), a_transposed=st.booleans(), seed=seeds)
def test_matmul_equals_numpy(m, n, k, a_transposed, seed):
    """Whole SIMD blocks (64 and 16 columns), leftover rows and columns, and ``a`` read
    through a transposed view (as the weight gradient reads xᵀ)."""
    rng = np.random.default_rng(seed)
    a = rng.standard_normal((m, k)).astype(np.float32)
    if a_transposed:
        a = np.ascontiguousarray(a.T).T
    b = rng.standard_normal((k, n)).astype(np.float32)
    out = np.full((m, n), np.nan, dtype=np.float32)
    kernels.matmul(a, b, out)
    np.testing.assert_allclose(out, a.astype(np.float64) @ b, rtol=1e-5, atol=1e-5)


def test_matmul_writes_only_its_block():
    """``out`` may be a view inside a bigger buffer: the floats around it stay untouched."""
    rng = np.random.default_rng(0)
    a = rng.standard_normal((9, 7)).astype(np.float32)
    b = rng.standard_normal((7, 80)).astype(np.float32)
    buffer = np.full(2 + 9 * 80 + 2, 7.0, dtype=np.float32)
    kernels.matmul(a, b, buffer[2:-2].reshape(9, 80))
    np.testing.assert_allclose(buffer[2:-2].reshape(9, 80), a @ b, rtol=1e-5, atol=1e-5)
    assert (buffer[:2] == 7).all() and (buffer[-2:] == 7).all()


# -- phase 1: one shard against RatingNet.forward / backward ----------------------------------

class Shard:
    """A net, its packed dense layers, and one shard's ids and ratings."""

    def __init__(self, seed, dim, hidden, rows, n_movies=7, n_users=9):
        rng = np.random.default_rng(seed)
        self.net = mv.RatingNet(n_movies, n_users, dim=dim, hidden=hidden, seed=seed % 1000)
        for name, param in self.net.params.items():  # biases and embeddings away from init
            param += rng.normal(0, 0.1, param.shape).astype(np.float32)
        self.net.optimizer = mv.Adadelta()
        self.engine = NumbaEngine(self.net, self.net.optimizer, np.zeros(1), np.zeros(1),
                                  np.ones(1, np.int8), threads=1)
        self.dense = self.engine._pack_dense()
        self.dense_t = np.empty_like(self.dense.values)
        kernels.transpose_weights(self.dense.values, self.dense.layout, self.dense_t)
        self.movie_ids = rng.integers(0, n_movies, rows)
        self.user_ids = rng.integers(0, n_users, rows)
        self.ratings = rng.integers(1, 6, rows).astype(np.int8)
        layout = self.dense.layout
        (self.act,), (self.scratch,) = kernels.shard_scratch(layout, rows)
        self.grad = np.full(len(self.dense.values), np.nan, dtype=np.float32)
        self.d_inputs = np.full((rows, 2 * dim), np.nan, dtype=np.float32)

    def forward(self):
        return kernels.shard_forward(self.net.params["movie_embedding"],
                                     self.net.params["user_embedding"], self.movie_ids,
                                     self.user_ids, self.dense.values, self.dense.layout,
                                     self.act)

    def reference_grads(self, dprediction):
        _, cache = self.net.forward(self.movie_ids, self.user_ids)
        return self.net.backward(dprediction, cache), cache

    def dense_grads(self):
        """The kernel's flat dense gradient, unpacked by parameter name."""
        grads, offset = {}, 0
        for name in self.engine.dense_names:
            size = self.net.params[name].size
            grads[name] = self.grad[offset:offset + size].reshape(self.net.params[name].shape)
            offset += size
        return grads


shard_shapes = dict(seed=seeds, dim=st.integers(1, 6), hidden=hidden_layers,
                    rows=st.integers(1, 40))


@settings(max_examples=25, deadline=None)
@given(**shard_shapes)
def test_shard_forward_equals_ratingnet_forward(seed, dim, hidden, rows):
    shard = Shard(seed, dim, hidden, rows)
    expected, _ = shard.net.forward(shard.movie_ids, shard.user_ids)
    np.testing.assert_allclose(shard.forward(), expected, rtol=1e-5, atol=1e-6)


@settings(max_examples=25, deadline=None)
@given(**shard_shapes)
def test_shard_backward_equals_ratingnet_backward(seed, dim, hidden, rows):
    shard = Shard(seed, dim, hidden, rows)
    dprediction = np.random.default_rng(seed).standard_normal(rows).astype(np.float32)
    shard.forward()
    kernels.shard_backward(dprediction, shard.dense.values, shard.dense_t, shard.dense.layout,
                           shard.act, shard.grad, shard.scratch, shard.d_inputs)
    expected, _ = shard.reference_grads(dprediction)
    for name, grad in shard.dense_grads().items():
        np.testing.assert_allclose(grad, expected[name], rtol=1e-4, atol=1e-5, err_msg=name)
    # the kernel leaves each position's dL/d(concat); the reference sums them per table row
    for name, ids, columns in (("movie_embedding", shard.movie_ids, slice(0, dim)),
                               ("user_embedding", shard.user_ids, slice(dim, None))):
        rows = np.unique(ids)
        summed = np.stack([shard.d_inputs[ids == row, columns].sum(0) for row in rows])
        np.testing.assert_array_equal(expected[name].rows, rows)
        np.testing.assert_allclose(summed, expected[name].values, rtol=1e-4, atol=1e-5)


@settings(max_examples=25, deadline=None)
@given(**shard_shapes, extra_rows=st.integers(0, 60), l2=st.sampled_from([0.0, 0.2]))
def test_train_shard_equals_the_references_terms_and_grads(seed, dim, hidden, rows, extra_rows,
                                                           l2):
    # the shard is the start of a batch of rows + extra_rows ratings: its gradients carry 1/B
    batch_size = rows + extra_rows
    shard = Shard(seed, dim, hidden, rows)
    shard.net.l2 = l2
    sse = kernels.train_shard(shard.engine._table("movie_embedding"),
                              shard.engine._table("user_embedding"), shard.dense, shard.dense_t,
                              (shard.movie_ids, shard.user_ids), shard.ratings, batch_size, l2,
                              shard.act, shard.scratch, shard.grad, shard.d_inputs)
    prediction, _ = shard.net.forward(shard.movie_ids, shard.user_ids)
    error = prediction - shard.ratings
    assert sse == pytest.approx(np.sum(error.astype(np.float64) ** 2), rel=1e-5)
    # the reference on a batch whose other ratings are predicted exactly: same gradients
    movies = np.concatenate([shard.movie_ids, np.zeros(extra_rows, dtype=int)])
    users = np.concatenate([shard.user_ids, np.zeros(extra_rows, dtype=int)])
    padded = np.concatenate([shard.ratings, np.zeros(extra_rows)])
    padded[rows:] = shard.net.predict(movies[rows:], users[rows:])
    _, _, expected = shard.net.terms_and_grads(movies, users, padded)
    for name, grad in shard.dense_grads().items():
        np.testing.assert_allclose(grad, expected[name], rtol=1e-4, atol=1e-6, err_msg=name)


@settings(max_examples=20, deadline=None)
@given(seed=seeds, rows=st.integers(1, 20), width=st.integers(1, 12), batch_size=st.integers(20, 99),
       l2=st.floats(1e-4, 1.0))
def test_the_l2_gradient_equals_l2_penalty_backward(seed, rows, width, batch_size, l2):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((rows, width)).astype(np.float32)
    d_inputs = rng.standard_normal((rows, width)).astype(np.float32)
    expected = d_inputs + L2Penalty.backward((x, l2)) * rows / batch_size  # B = batch_size
    kernels.add_l2_gradient(x, l2, batch_size, d_inputs)
    np.testing.assert_allclose(d_inputs, expected, rtol=1e-6, atol=1e-7)


@settings(max_examples=40, deadline=None)
@given(ids=st.lists(st.integers(0, 40), max_size=30), offset=st.integers(0, 100))
def test_sort_by_owner_lists_each_owners_positions_in_order(ids, offset):
    ids = np.array(ids, dtype=np.int64)
    positions = np.full((kernels.N_OWNERS, len(ids)), -1, dtype=np.int64)
    counts = np.full(kernels.N_OWNERS, -1, dtype=np.int64)
    kernels.sort_by_owner(ids, offset, positions, counts)
    for owner in range(kernels.N_OWNERS):
        expected = offset + np.flatnonzero(ids % kernels.N_OWNERS == owner)
        assert list(positions[owner, :counts[owner]]) == list(expected)


# -- phase 2: the updates against Adadelta.step -----------------------------------------------

@settings(max_examples=30, deadline=None)
@given(seed=seeds, n_rows=st.integers(1, 30), dim=st.integers(1, 20),
       n_positions=st.integers(1, 60), steps_before=st.integers(0, 5000),
       decay_untouched_rows=st.booleans())
def test_update_embedding_rows_equals_row_sparse_adadelta(seed, n_rows, dim, n_positions,
                                                          steps_before, decay_untouched_rows):
    # the batch's positions are dealt to owners and shards as train_batches deals them; rows
    # that sat out up to 5000 steps exercise both the ρ^k table and the computed power
    rng = np.random.default_rng(seed)
    weights = rng.standard_normal((n_rows, dim)).astype(np.float32)
    reference = {"w": weights.copy()}
    opt = mv.Adadelta(lr=1.0, decay_untouched_rows=decay_untouched_rows)
    state = opt.state_for("w", reference["w"])
    state["accum_grad"][...] = rng.random((n_rows, dim)).astype(np.float32)
    state["accum_update"][...] = rng.random((n_rows, dim)).astype(np.float32) * 1e-3
    state["row_step"][...] = rng.integers(0, steps_before + 1, n_rows)
    opt.iterations = steps_before
    table = kernels.EmbeddingTable(weights, state["accum_grad"].copy(),
                                   state["accum_update"].copy(), state["row_step"].copy())

    ids = rng.integers(0, n_rows, n_positions)
    d_inputs = rng.standard_normal((n_positions, dim + 3)).astype(np.float32)  # column 3 on
    shard_rows = 7
    n_shards = -(-n_positions // shard_rows)
    positions = np.empty((kernels.N_OWNERS, n_shards, shard_rows), dtype=np.int64)
    counts = np.empty((kernels.N_OWNERS, n_shards), dtype=np.int64)
    for s in range(n_shards):
        lo = s * shard_rows
        kernels.sort_by_owner(ids[lo:lo + shard_rows], lo, positions[:, s], counts[:, s])
    first_position = np.full(n_rows, -1, dtype=np.int64)
    firsts = np.empty(n_positions, dtype=np.int64)
    for owner in range(kernels.N_OWNERS):
        kernels.update_embedding_rows(table, ids, positions[owner], counts[owner], d_inputs.copy(),
                                      3, steps_before, kernels.Adadelta.of(opt),
                                      kernels.rho_powers(opt.rho), first_position, firsts)
    assert (first_position == -1).all()  # scratch handed back clean

    rows, inverse = np.unique(ids, return_inverse=True)
    summed = np.zeros((len(rows), dim), dtype=np.float32)
    np.add.at(summed, inverse, d_inputs[:, 3:])
    opt.step(reference, {"w": RowGradient(rows, summed)})
    np.testing.assert_allclose(table.weights, reference["w"], rtol=1e-5, atol=1e-7)
    np.testing.assert_allclose(table.accum_grad, state["accum_grad"], rtol=1e-5, atol=1e-12)
    np.testing.assert_allclose(table.accum_update, state["accum_update"], rtol=1e-5, atol=1e-12)
    np.testing.assert_array_equal(table.row_step, state["row_step"])


@settings(max_examples=20, deadline=None)
@given(seed=seeds, dim=st.integers(1, 6), hidden=hidden_layers, n_shards=st.integers(1, 4))
def test_dense_updates_equal_dense_adadelta(seed, dim, hidden, n_shards):
    # every dense task once = one Adadelta step of every dense parameter on the summed gradient
    shard = Shard(seed, dim, hidden, rows=3)
    rng = np.random.default_rng(seed)
    dense, dense_t = shard.dense, shard.dense_t
    shard_grad = rng.standard_normal((n_shards, len(dense.values))).astype(np.float32)
    total = shard_grad.sum(0)
    expected = {"flat": dense.values.copy()}
    opt = mv.Adadelta(lr=2.0)
    opt.state_for("flat", expected["flat"])
    opt.step(expected, {"flat": total})
    for layer, first, end in kernels.dense_blocks(dense.layout):
        kernels.update_dense_rows(dense, dense_t, shard_grad, layer, first, end,
                                  kernels.Adadelta.of(opt))
    np.testing.assert_allclose(dense.values, expected["flat"], rtol=1e-5, atol=1e-7)
    for n_in, n_out, w_off, _ in dense.layout:  # the forward's transposed copy is up to date
        weight = dense.values[w_off:w_off + n_in * n_out].reshape(n_in, n_out)
        np.testing.assert_array_equal(dense_t[w_off:w_off + n_in * n_out].reshape(n_out, n_in),
                                      weight.T)


@settings(max_examples=40, deadline=None)
@given(hidden=hidden_layers, dim=st.integers(1, 50))
def test_dense_blocks_cover_every_parameter_once(hidden, dim):
    net = mv.RatingNet(2, 2, dim=dim, hidden=hidden)
    layout = NumbaEngine(net, mv.Adadelta(), np.zeros(1), np.zeros(1), np.ones(1, np.int8)).layout
    covered = np.zeros(sum(p.size for n, p in net.params.items() if "embedding" not in n), int)
    for layer, first, end in kernels.dense_blocks(layout):
        n_out, w_off = layout[layer, 1], layout[layer, 2]
        covered[w_off + first * n_out:w_off + end * n_out] += 1
    assert (covered == 1).all()
    n_dense = len(kernels.dense_blocks(layout))
    order = kernels.task_order(n_dense)
    assert sorted(order) == list(range(n_dense + 2 * kernels.N_OWNERS))


@given(batch_size=st.integers(1, 100_000))
def test_shards_cover_the_batch_within_bounds(batch_size):
    rows = kernels.shard_rows(batch_size)
    assert kernels.MIN_SHARD_ROWS <= rows <= kernels.MAX_SHARD_ROWS
    assert -(-batch_size // rows) * rows >= batch_size


# -- the engine as a whole --------------------------------------------------------------------

def twin_nets(n_movies, n_users, dim, hidden, seed=0, l2=0.0):
    return [mv.RatingNet(n_movies, n_users, dim=dim, hidden=hidden, seed=seed, l2=l2)
            for _ in range(2)]


def random_ratings(rng, n_movies, n_users, n):
    return (rng.integers(0, n_movies, n), rng.integers(0, n_users, n),
            rng.integers(1, 6, n).astype(np.int8))


def assert_same_training(reference, fast, rtol=2e-4, scale_tol=2e-4):
    """Same parameters and optimizer state to float32 rounding, accumulated over many steps.

    The absolute tolerance is relative to each array's largest value: an element that
    Adadelta keeps near zero ends at ±1e-4 of that scale in either engine (the float64
    reference lands between them), which no relative tolerance of its own can cover.
    """
    for name in reference.params:
        expected = reference.params[name]
        np.testing.assert_allclose(fast.params[name], expected, rtol=rtol,
                                   atol=scale_tol * np.abs(expected).max(), err_msg=name)
    reference.optimizer.synchronize()
    fast.optimizer.synchronize()
    assert fast.optimizer.iterations == reference.optimizer.iterations
    for name, state in reference.optimizer.state.items():
        expected = state["accum_grad"]
        np.testing.assert_allclose(fast.optimizer.state[name]["accum_grad"], expected, rtol=1e-3,
                                   atol=max(1e-9, 1e-3 * np.abs(expected).max()), err_msg=name)


@settings(max_examples=12, deadline=None)
@given(n_movies=st.integers(1, 12), n_users=st.integers(1, 12), dim=st.integers(1, 6),
       hidden=hidden_layers, batch_size=st.integers(1, 300), seed=seeds,
       l2=st.sampled_from([0.0, 0.05]))
def test_numba_engine_equals_numpy_reference(n_movies, n_users, dim, hidden, batch_size, seed,
                                             l2):
    rng = np.random.default_rng(seed)
    data = random_ratings(rng, n_movies, n_users, 400)  # small tables: ids repeat in a batch
    reference, fast = twin_nets(n_movies, n_users, dim, hidden, seed=seed % 1000, l2=l2)
    histories = [mv.fit(net, data, epochs=2, batch_size=batch_size, engine=engine, seed=seed,
                        progress=False) for net, engine in ((reference, "numpy"), (fast, "numba"))]
    assert_same_training(reference, fast)
    np.testing.assert_allclose(histories[1].train_rmse, histories[0].train_rmse, rtol=1e-5)


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
    engine = NumbaEngine(net, net.optimizer, movies, users, ratings)
    np.testing.assert_allclose(engine.predict(movies, users), net.predict(movies, users),
                               rtol=1e-5, atol=1e-6)
    reference = mv.train.rmse(net.predict(movies, users), ratings)
    assert hist.valid_rmse[0] == pytest.approx(reference, rel=1e-5)


def thread_counts():
    return sorted({1, min(2, numba.config.NUMBA_NUM_THREADS), numba.config.NUMBA_NUM_THREADS})


@pytest.mark.parametrize("batch_size", [1, 33, 100, 700])
def test_results_are_bit_identical_for_any_thread_count(batch_size):
    rng = np.random.default_rng(3)
    data = random_ratings(rng, 200, 300, 3000)
    runs = []
    for threads in thread_counts():
        net = mv.RatingNet(200, 300, dim=8, hidden=(16, 8), seed=0)
        mv.fit(net, data, epochs=2, batch_size=batch_size, engine="numba", threads=threads,
               progress=False)
        runs.append(net.params)
    for run in runs[1:]:
        for name in runs[0]:
            assert np.array_equal(runs[0][name], run[name]), name


class AlternatingThreads(ThreadTuner):
    """A tuner that never settles: every stretch is split among all thread counts."""

    def run(self, n_batches, train):
        counts = thread_counts()
        pieces = [(c, n_batches // len(counts)) for c in counts[:-1]]
        pieces.append((counts[-1], n_batches - sum(n for _, n in pieces)))
        for threads, count in pieces:
            train(threads, count)
        return pieces


def test_changing_threads_mid_training_changes_no_bit():
    rng = np.random.default_rng(4)
    movies, users, ratings = random_ratings(rng, 100, 150, 4000)
    order = rng.permutation(len(movies)).astype(np.int32)
    runs = []
    for policy in (None, AlternatingThreads()):
        net = mv.RatingNet(100, 150, dim=6, hidden=(12,), seed=0)
        net.optimizer = mv.Adadelta()
        engine = NumbaEngine(net, net.optimizer, movies, users, ratings, threads=1)
        engine.threads = policy or engine.threads
        for first in range(0, 40, 10):
            engine.train_batches(order, 100, first, 10)
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


@pytest.mark.parametrize("threads", [0, -1, 2.5, True, "all"])
def test_a_bad_thread_count_is_a_clear_error(threads):
    data = random_ratings(np.random.default_rng(5), 3, 3, 10)
    with pytest.raises(ValueError, match="threads"):
        mv.fit(mv.RatingNet(3, 3, dim=2, hidden=()), data, engine="numba", threads=threads,
               progress=False)


def test_too_many_threads_is_a_clear_error():
    data = random_ratings(np.random.default_rng(5), 3, 3, 10)
    with pytest.raises(ValueError, match="NUMBA_NUM_THREADS"):
        mv.fit(mv.RatingNet(3, 3, dim=2, hidden=()), data, engine="numba",
               threads=numba.config.NUMBA_NUM_THREADS + 1, progress=False)
