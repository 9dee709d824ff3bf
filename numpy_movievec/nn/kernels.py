"""The fast path: the whole training step of `RatingNet`, compiled by Numba, on all cores.

Each function here computes what a reference in ``layers.py``, ``network.py`` or ``optim.py``
computes, and says which; ``tests/test_kernels.py`` holds each one equal to its reference. The
engine that feeds them (packing parameters, choosing threads) is ``engines.NumbaEngine``.

How a minibatch is trained (`train_batches`): two parallel phases, each ending in a barrier.

1. **Shards** (`train_shard`). The batch is cut into shards of consecutive positions; how many
   depends on the batch size alone (`shard_rows`), never on the thread count. Each shard
   gathers its embedding rows, runs forward and backward (`shard_forward`, `shard_backward`)
   into its own gradient buffer, writes dL/d(concat) of its rows into ``d_inputs``, and sorts
   its positions by the owner of their embedding rows (`sort_by_owner`).
2. **Updates**, one task per thread at a time, in any order:
   - dense tasks (`update_dense_rows`): a block of rows of one layer's ``[W; b]``, their
     gradient summed over the shards in shard order, one Adadelta step, and the transposed
     copy of W that the forward product reads;
   - embedding tasks (`update_embedding_rows`), "owner computes": owner k takes the rows of a
     table whose index is k modulo ``N_OWNERS``, sums each row's gradient over its batch
     positions in batch order, and takes the row's Adadelta step. No two tasks touch the same
     row, so there are no racing ``+=`` into shared rows.

Nothing computed depends on which thread ran which shard or task, so results are bit-identical
for any thread count — which is what lets ``threads.ThreadTuner`` change the count mid-training.

Why hand-written products rather than NumPy's BLAS between kernels: OpenBLAS' results change
with its thread count, so the reproducibility promise would need BLAS pinned to one thread,
and every layer would cost a Python call. `matmul` (whose whole blocks are `simd.multiply_block`)
is measured against single-threaded OpenBLAS in ``benchmarks/bench_kernels.py`` (results in
``benchmarks/results/``).
"""

from __future__ import annotations

from functools import partial
from typing import NamedTuple

import numpy as np
from numba import prange

from ..jit import njit_cached, prefetch_row
from .simd import BLOCK_ROWS, LANES, multiply_block

# NumPy's error model: x / 0 gives inf instead of raising, so LLVM may vectorise divisions
# (Python's model needs a zero test before each one). Our divisors are never zero.
kernel = partial(njit_cached, error_model="numpy")

# Only prange loops run in parallel: Numba's other automatic parallelisations (of array
# expressions, reductions, ...) have nothing to do here and would only lengthen compilation.
PRANGE_ONLY = dict(prange=True, comprehension=False, setitem=False, reduction=False,
                   numpy=False, stencil=False, fusion=False, inplace_binop=False)

# Let LLVM reorder sums so it can vectorise them. The order is still fixed when the code is
# compiled, so results stay reproducible; NaN and inf keep their IEEE meaning (no "nnan").
REORDER_SUMS = {"reassoc", "contract", "nsz", "arcp"}

MAX_SHARD_ROWS = 128  # rows per shard: enough to amortise the weight gradients (see shard_rows)
MIN_SHARD_ROWS = 16  # so that a batch of 32 is two shards, one per core
N_OWNERS = 8  # embedding rows are updated by owner: row index modulo N_OWNERS
DENSE_TASK_SIZE = 1024  # parameters per dense update task, about


class EmbeddingTable(NamedTuple):
    """An embedding table and its Adadelta state, as the kernels receive it."""

    weights: np.ndarray  # (rows, dim) float32
    accum_grad: np.ndarray  # (rows, dim) float32: running average of g²
    accum_update: np.ndarray  # (rows, dim) float32: running average of Δ²
    row_step: np.ndarray  # (rows,) int64: the step up to which the row's averages are current


class DenseLayers(NamedTuple):
    """All dense layers' parameters and Adadelta state, packed in flat float32 vectors.

    ``layout[l] = (n_in, n_out, w_off, b_off)`` locates layer l's weight (n_in, n_out) and bias
    (n_out,) in ``values``; the bias follows the weight, so ``[W; b]`` is one (n_in + 1, n_out)
    block. The last layer is the output layer.
    """

    values: np.ndarray
    accum_grad: np.ndarray
    accum_update: np.ndarray
    layout: np.ndarray  # (n_layers, 4) int64


class Adadelta(NamedTuple):
    """Adadelta's hyper-parameters as float32, rounded as NumPy rounds the reference's scalars.

    Scalars only: a tuple holding an array would be reference-counted at every call that
    passes it on — per parameter, in the update loops (measured: much slower).
    """

    lr: np.float32
    rho: np.float32
    one_minus_rho: np.float32  # formed in float64, then rounded, as (1 - rho) * g does
    eps: np.float32
    decay_untouched_rows: bool

    @classmethod
    def of(cls, optimizer) -> "Adadelta":
        """The constants of an `optim.Adadelta`."""
        return cls(np.float32(optimizer.lr), np.float32(optimizer.rho),
                   np.float32(1 - optimizer.rho), np.float32(optimizer.eps),
                   bool(optimizer.decay_untouched_rows))


def rho_powers(rho, n=4096) -> np.ndarray:
    """``float32(rho ** k)`` for k < n, as `Adadelta._caught_up` rounds them: the catch-up
    factors of rows that sat out k steps, looked up instead of computed per row."""
    return np.power(rho, np.arange(n, dtype=np.float64)).astype(np.float32)


# -- dense algebra ----------------------------------------------------------------------------

@kernel(fastmath=REORDER_SUMS)
def matmul(a, b, out):
    """``out[...] = a @ b`` for float32 a (M, K) of any strides, C-contiguous b (K, N) and out.
    Reference: NumPy's ``@``.

    Whole blocks of 4 rows go to `simd.multiply_block`, 64 columns at a time, then 16. What is
    left is summed here, each loop running along memory that lies in a row:
    - the last N % 16 columns: where ``a``'s rows are contiguous, as dot products along them;
      where its columns are (``a`` a transposed view, as xᵀ in a weight gradient), down each
      column k of ``a`` at once, ``out[:, n] += a[:, k] * b[k, n]``;
    - the last M % 4 rows: by broadcasting each ``a[i, k]`` along ``b``'s row k.
    """
    m_rows, depth = a.shape
    n_cols = b.shape[1]
    block_rows = m_rows - m_rows % BLOCK_ROWS
    wide, narrow = n_cols - n_cols % (4 * LANES), n_cols - n_cols % LANES
    for m in range(0, block_rows, BLOCK_ROWS):
        for n in range(0, wide, 4 * LANES):
            multiply_block(a, b, out, m, n, 4)
        for n in range(wide, narrow, LANES):
            multiply_block(a, b, out, m, n, 1)
    if a.strides[1] == a.itemsize:
        for i in range(block_rows):
            for n in range(narrow, n_cols):
                dot = np.float32(0)
                for k in range(depth):
                    dot += a[i, k] * b[k, n]
                out[i, n] = dot
    else:
        for i in range(block_rows):
            for n in range(narrow, n_cols):
                out[i, n] = 0
        for k in range(depth):
            for n in range(narrow, n_cols):
                b_kn = b[k, n]
                for i in range(block_rows):
                    out[i, n] += a[i, k] * b_kn
    for i in range(block_rows, m_rows):
        for n in range(n_cols):
            out[i, n] = 0
        for k in range(depth):
            a_ik = a[i, k]
            for n in range(n_cols):
                out[i, n] += a_ik * b[k, n]


@kernel(fastmath=REORDER_SUMS)
def total(x):
    """``sum(x)`` of a non-empty vector, in the type of ``x``."""
    result = x[0]
    for i in range(1, len(x)):
        result += x[i]
    return result


@kernel
def transpose_into(a, out):
    """``out[...] = a.T``, writing ``out`` row by row (measured: faster than by row of ``a``,
    as contiguous stores matter more here than contiguous loads)."""
    for j in range(a.shape[1]):
        for i in range(a.shape[0]):
            out[j, i] = a[i, j]


@kernel
def view2d(flat, offset, rows, cols):
    """The ``(rows, cols)`` matrix stored row-major in ``flat`` from ``offset`` on."""
    return flat[offset:offset + rows * cols].reshape((rows, cols))


# -- phase 1: the network on one shard ----------------------------------------------------------
#
# A shard's activations live in one scratch vector: layer l's input from
# ``activation_offsets(layout, rows)[l]`` on, kept for the backward pass.

@kernel
def activation_offsets(layout, rows):
    """Where each layer's input (and, last, the prediction) sits in a shard's scratch vector."""
    n_layers = layout.shape[0]
    offsets = np.zeros(n_layers + 2, dtype=np.int64)
    for l in range(n_layers):
        offsets[l + 1] = offsets[l] + rows * layout[l, 0]
    offsets[n_layers + 1] = offsets[n_layers] + rows * layout[n_layers - 1, 1]
    return offsets


@kernel
def shard_forward(movie_table, user_table, movie_ids, user_ids, dense, layout, act):
    """Predictions for one shard's rows; every layer's input is kept in ``act`` for backward.

    Reference: `RatingNet.forward` (Embedding, Concatenate, then Dense + ReLU per hidden
    layer, then the output Dense).
    """
    rows, dim = len(movie_ids), movie_table.shape[1]
    n_layers = layout.shape[0]
    offsets = activation_offsets(layout, rows)
    x = view2d(act, offsets[0], rows, 2 * dim)
    for r in range(rows):  # ask for every row first: their trips to memory overlap
        prefetch_row(movie_table, movie_ids[r])
        prefetch_row(user_table, user_ids[r])
    for r in range(rows):  # Embedding + Concatenate, element by element (measured: a slice
        movie, user = movie_ids[r], user_ids[r]  # assignment per row costs several times more)
        for j in range(dim):
            x[r, j] = movie_table[movie, j]
            x[r, dim + j] = user_table[user, j]
    for l in range(n_layers):
        n_in, n_out, w_off, b_off = layout[l, 0], layout[l, 1], layout[l, 2], layout[l, 3]
        y = view2d(act, offsets[l + 1], rows, n_out)
        matmul(x, view2d(dense, w_off, n_in, n_out), y)  # Dense
        add_bias(y, dense[b_off:b_off + n_out], relu=l < n_layers - 1)  # (+ ReLU)
        x = y
    return x[:, 0]


@kernel
def add_bias(y, bias, relu):
    """``y += bias``, then ``y = max(y, 0)`` if ``relu``; a branch-free loop either way."""
    rows, cols = y.shape
    floor = np.float32(0) if relu else np.float32(-np.inf)
    for r in range(rows):
        for j in range(cols):
            y[r, j] = max(y[r, j] + bias[j], floor)


@kernel(fastmath=REORDER_SUMS)
def shard_backward(dprediction, dense, dense_t, layout, act, grad, scratch, d_inputs):
    """Gradients of one shard: dense ones into ``grad`` (flat), dL/d(concat) into ``d_inputs``.

    Reference: `RatingNet.backward`. Per layer, last first: dW = xᵀ·d, db = Σ_rows d,
    dx = d·Wᵀ (``dense_t`` holds each Wᵀ), then the ReLU mask (x > 0) of the layer below.
    """
    rows, n_layers = len(dprediction), layout.shape[0]
    offsets = activation_offsets(layout, rows)
    widest = len(scratch) // (2 * rows)  # the widest layer: scratch holds two of its blocks
    d = view2d(scratch, 0, rows, 1)
    for r in range(rows):
        d[r, 0] = dprediction[r]
    flip = rows * widest  # ping-pong: d and dx alternate between the two halves of scratch
    for l in range(n_layers - 1, -1, -1):
        n_in, n_out, w_off, b_off = layout[l, 0], layout[l, 1], layout[l, 2], layout[l, 3]
        x = view2d(act, offsets[l], rows, n_in)
        matmul(x.T, d, view2d(grad, w_off, n_in, n_out))  # dW = xᵀ·d
        bias_grad = grad[b_off:b_off + n_out]
        for j in range(n_out):  # db = Σ_rows d
            bias_grad[j] = d[0, j]
        for r in range(1, rows):
            for j in range(n_out):
                bias_grad[j] += d[r, j]
        dx = d_inputs if l == 0 else view2d(scratch, flip, rows, n_in)
        matmul(d, view2d(dense_t, w_off, n_out, n_in), dx)  # dx = d·Wᵀ
        if l > 0:
            for r in range(rows):
                for i in range(n_in):  # ReLU: x is the layer below's output
                    dx[r, i] = dx[r, i] if x[r, i] > 0 else np.float32(0)
            flip = rows * widest - flip  # the next d is this dx; write the next dx elsewhere
            d = dx


@kernel
def squared_error(prediction, ratings, batch_size, dprediction):
    """Sum of squared errors of a shard (float64), and dL/dprediction into ``dprediction``.

    Reference: `MeanSquaredError`: L = Σ (p − r)² / B over the whole batch, so ∂L/∂p = 2(p − r)/B.
    """
    sse = 0.0
    for r in range(len(prediction)):
        error = prediction[r] - np.float32(ratings[r])
        sse += error * error
        dprediction[r] = np.float32(2 / batch_size) * error
    return sse


@kernel
def sort_by_owner(ids, offset, positions, counts):
    """List positions ``offset + i`` by the owner of row ``ids[i]`` (row % N_OWNERS).

    ``positions[k, :counts[k]]`` are owner k's positions, in increasing order.
    """
    for owner in range(N_OWNERS):
        counts[owner] = 0
    for i in range(len(ids)):
        owner = ids[i] % N_OWNERS
        positions[owner, counts[owner]] = offset + i
        counts[owner] += 1


@kernel
def train_shard(movies, users, dense, dense_t, ids, ratings, batch_size, l2, act, scratch,
                grad, d_inputs):
    """Forward, squared error and backward of one shard; returns its sum of squared errors.

    ``ids = (movie_ids, user_ids)`` of the shard's rows. Dense gradients go to ``grad``,
    dL/d(concat) of the shard's rows to ``d_inputs``. Reference: `RatingNet.terms_and_grads`
    (with the error summed, not averaged, over the shard: the batch's mean is formed later).
    """
    movie_ids, user_ids = ids
    prediction = shard_forward(movies.weights, users.weights, movie_ids, user_ids,
                               dense.values, dense.layout, act)
    dprediction = np.empty(len(prediction), dtype=np.float32)
    sse = squared_error(prediction, ratings, batch_size, dprediction)
    shard_backward(dprediction, dense.values, dense_t, dense.layout, act, grad, scratch,
                   d_inputs)
    if l2 > 0:
        add_l2_gradient(view2d(act, 0, len(prediction), d_inputs.shape[1]), l2, batch_size,
                        d_inputs)
    return sse


@kernel
def add_l2_gradient(x, l2, batch_size, d_inputs):
    """``d_inputs += 2 λ x / B``: the penalty's gradient. Reference: `L2Penalty.backward`."""
    scale = np.float32(2 * l2 / batch_size)
    for r in range(x.shape[0]):
        for j in range(x.shape[1]):
            d_inputs[r, j] += scale * x[r, j]


# -- phase 2: Adadelta --------------------------------------------------------------------------

@kernel(inline="always")  # scalars only: a call per element must cost nothing
def adadelta_rule(g, accum_grad, accum_update, lr, rho, one_minus_rho, eps):
    """One Adadelta step of one float32 parameter: ``(lr * delta, accum_grad, accum_update)``.

    Reference: `optim.adadelta_rule`, operation for operation. The hyper-parameters come as
    plain scalars, unpacked from `Adadelta` before the loop: read from the tuple inside it,
    they kept the loop from vectorising (measured: much slower).
    """
    accum_grad = rho * accum_grad + one_minus_rho * g * g
    delta = np.sqrt(accum_update + eps) / np.sqrt(accum_grad + eps) * g
    accum_update = rho * accum_update + one_minus_rho * delta * delta
    return lr * delta, accum_grad, accum_update


@kernel
def apply_adadelta(param, accum_grad, accum_update, grad, adadelta):
    """Dense Adadelta on aligned vectors, in place. Reference: `Adadelta.step`."""
    lr, rho, one_minus_rho, eps = adadelta.lr, adadelta.rho, adadelta.one_minus_rho, adadelta.eps
    for i in range(len(param)):
        change, accum_grad[i], accum_update[i] = adadelta_rule(
            grad[i], accum_grad[i], accum_update[i], lr, rho, one_minus_rho, eps)
        param[i] -= change


@kernel
def catch_up_factor(skipped, adadelta, powers):
    """ρ^skipped as float32, as `Adadelta._caught_up` rounds it (1 without decay);
    ``powers`` from `rho_powers`."""
    if not adadelta.decay_untouched_rows:
        return np.float32(1)
    if skipped < len(powers):
        return powers[skipped]
    return np.float32(np.float64(adadelta.rho) ** skipped)


@kernel
def update_embedding_rows(table, ids, positions, counts, d_inputs, column, step, adadelta,
                          powers, first_position, firsts):
    """One owner's share of a table: every row it owns that the batch used takes its step.

    Reference: `Adadelta.step` with the `RowGradient` of `Embedding.backward`.
    ``positions[s, :counts[s]]`` are the owner's batch positions from shard s (`sort_by_owner`),
    so visiting shards in order visits positions in batch order. A row's gradient is the sum
    of ``d_inputs[p, column:column + dim]`` over its positions p, built in the slot of its
    first position, which only this owner touches. Then the row's averages are caught up by
    ρ^(steps since its last update) (`catch_up_factor`) and it takes its Adadelta step.
    ``first_position`` is a table-sized scratch of -1, handed back clean; ``firsts`` a
    batch-sized scratch.

    Written for speed, each measured: a first pass asks the CPU to fetch everything the rows
    need from memory (`prefetch_row`: their weights and averages, and their entries in the
    table-sized ``first_position`` and ``row_step``, which miss the cache as often as the rows
    do), so those trips overlap instead of queueing; tables are indexed element by element,
    not through row views (a view per row and array cost more than the row's arithmetic); the
    hyper-parameters are unpacked before the loop.
    """
    weights, accum_grad, accum_update, row_step = table
    lr, rho, one_minus_rho, eps = adadelta.lr, adadelta.rho, adadelta.one_minus_rho, adadelta.eps
    dim = weights.shape[1]
    for s in range(len(counts)):
        for i in range(counts[s]):
            row = ids[positions[s, i]]
            for array in (first_position, row_step):
                prefetch_row(array, row)
            for array in (weights, accum_grad, accum_update):
                prefetch_row(array, row)
    n_rows = 0
    for s in range(len(counts)):
        for i in range(counts[s]):
            p = positions[s, i]
            row = ids[p]
            first = first_position[row]
            if first < 0:  # the row's first position in the batch
                first_position[row] = p
                firsts[n_rows] = p
                n_rows += 1
            else:
                for j in range(column, column + dim):
                    d_inputs[first, j] += d_inputs[p, j]
    for k in range(n_rows):
        p = firsts[k]
        row = ids[p]
        decay = catch_up_factor(step - row_step[row], adadelta, powers)
        for j in range(dim):
            change, accum_grad[row, j], accum_update[row, j] = adadelta_rule(
                d_inputs[p, column + j], decay * accum_grad[row, j],
                decay * accum_update[row, j], lr, rho, one_minus_rho, eps)
            weights[row, j] -= change
        row_step[row] = step + 1
        first_position[row] = -1


@kernel
def add_into(total, x):
    for j in range(len(total)):
        total[j] += x[j]


@kernel
def update_dense_rows(dense, dense_t, shard_grad, layer, first_row, end_row, adadelta):
    """Dense Adadelta of rows ``first_row:end_row`` of layer ``layer``'s ``[W; b]``.

    Their gradient is summed over the shards in shard order (built in shard 0's buffer, which
    the next batch overwrites anyway). Then the transposed copy ``dense_t`` of the updated rows
    of W is refreshed for the next forward pass. Reference: `Adadelta.step` on dense arrays.
    """
    n_in, n_out, w_off = dense.layout[layer, 0], dense.layout[layer, 1], dense.layout[layer, 2]
    lo, hi = w_off + first_row * n_out, w_off + end_row * n_out
    grad = shard_grad[0, lo:hi]
    for s in range(1, shard_grad.shape[0]):
        add_into(grad, shard_grad[s, lo:hi])
    apply_adadelta(dense.values[lo:hi], dense.accum_grad[lo:hi], dense.accum_update[lo:hi], grad,
                   adadelta)
    weight_t = view2d(dense_t, w_off, n_out, n_in)
    for k in range(first_row, min(end_row, n_in)):
        for j in range(n_out):
            weight_t[j, k] = dense.values[w_off + k * n_out + j]


@kernel
def transpose_weights(values, layout, dense_t):
    """``dense_t``: every layer's weight transposed, at the weight's own offset."""
    for l in range(layout.shape[0]):
        n_in, n_out, w_off = layout[l, 0], layout[l, 1], layout[l, 2]
        transpose_into(view2d(values, w_off, n_in, n_out), view2d(dense_t, w_off, n_out, n_in))


# -- phase 2's tasks --------------------------------------------------------------------------

@kernel
def run_update_task(task, work, movies, users, dense, used, step, adadelta, powers):
    """Phase 2 task ``task`` (a code from `Workspace.tasks`) of a batch of ``used`` shards."""
    n_dense = len(work.dense_blocks)
    if task < n_dense:
        layer, first_row, end_row = work.dense_blocks[task]
        update_dense_rows(dense, work.dense_t, work.shard_grad[:used], layer, first_row, end_row,
                          adadelta)
        return
    t, owner = (task - n_dense) // N_OWNERS, (task - n_dense) % N_OWNERS  # table, owner
    table, first_position = ((movies, work.movie_first_position) if t == 0
                             else (users, work.user_first_position))
    update_embedding_rows(table, work.batch_ids[t], work.owner_positions[t, owner, :used],
                          work.owner_counts[t, owner, :used], work.d_inputs,
                          t * movies.weights.shape[1], step, adadelta, powers, first_position,
                          work.firsts[task - n_dense])


# -- a whole stretch of training --------------------------------------------------------------

@kernel
def train_worker_shards(w, workers, batch, size, work, movies, users, dense, ratings_data, l2):
    """Phase 1 for worker ``w``: its contiguous run of the batch's shards, on its own scratch.

    Gathers each shard's ids and ratings (prefetched first: a shuffled batch reads the columns
    at random, and at Netflix scale they are far bigger than the caches), sorts its positions
    by row owner (`sort_by_owner`) and trains it (`train_shard`).
    """
    all_movies, all_users, all_ratings = ratings_data
    rows = work.act_rows
    used = (size + rows - 1) // rows
    for s in range(w * used // workers, (w + 1) * used // workers):
        lo, hi = s * rows, min((s + 1) * rows, size)
        for i in range(lo, hi):
            for column in (all_movies, all_users):
                prefetch_row(column, batch[i])
            prefetch_row(all_ratings, batch[i])
        for i in range(lo, hi):
            work.batch_ids[0, i] = all_movies[batch[i]]
            work.batch_ids[1, i] = all_users[batch[i]]
            work.batch_ratings[i] = all_ratings[batch[i]]
        for t in range(2):
            sort_by_owner(work.batch_ids[t, lo:hi], lo, work.owner_positions[t, :, s],
                          work.owner_counts[t, :, s])
        work.shard_sse[s] = train_shard(movies, users, dense, work.dense_t,
                                        (work.batch_ids[0, lo:hi], work.batch_ids[1, lo:hi]),
                                        work.batch_ratings[lo:hi], size, l2, work.act[w],
                                        work.scratch[w], work.shard_grad[s], work.d_inputs[lo:hi])


@kernel(parallel=PRANGE_ONLY)
def train_batches(movies, users, dense, ratings_data, order, batch_size, first_batch, n_batches,
                  step, adadelta, powers, l2, work, batch_loss):
    """Train on batches ``first_batch .. first_batch + n_batches - 1`` of ``order``, in place.

    ``movies`` and ``users`` are `EmbeddingTable`, ``dense`` `DenseLayers`; ``ratings_data`` is
    ``(movie, user, rating)`` by rating index; ``step`` is the optimizer's step count before the
    first batch; ``powers`` come from `rho_powers`; ``l2`` is `RatingNet.l2`; ``work`` is the
    `Workspace` for ``batch_size``. Each batch's mean squared error (the penalty left out) goes
    into ``batch_loss``; the step count after the last batch is returned. Reference:
    `NumpyEngine.train_batches`.
    """
    workers = len(work.act)
    rows = work.act_rows
    transpose_weights(dense.values, dense.layout, work.dense_t)
    for b in range(n_batches):
        start = (first_batch + b) * batch_size
        batch = order[start:min(start + batch_size, len(order))]
        size = len(batch)
        used = (size + rows - 1) // rows
        for w in prange(workers):  # phase 1: shards
            # w as int64: prange's unsigned index would compile phase 1 a second time
            train_worker_shards(np.int64(w), workers, batch, size, work, movies, users, dense,
                                ratings_data, l2)
        batch_loss[b] = total(work.shard_sse[:used]) / size
        for k in prange(len(work.tasks)):  # phase 2: updates
            run_update_task(work.tasks[k], work, movies, users, dense, used, step, adadelta,
                            powers)
        step += 1
    return step


# -- the work's layout: plain NumPy, built once by the engine ------------------------------------

class Workspace(NamedTuple):
    """Every buffer and task list `train_batches` needs for one batch size and worker count.

    Scratch is by worker (reused, so it stays in that core's cache); results are by shard
    (so nothing depends on which worker computed them). Built by `workspace`.
    """

    act_rows: int  # rows per shard (`shard_rows`)
    act: np.ndarray  # (workers, ...) each worker's activations
    scratch: np.ndarray  # (workers, ...) each worker's backward scratch
    shard_grad: np.ndarray  # (shards, dense parameters)
    shard_sse: np.ndarray  # (shards,) float64
    d_inputs: np.ndarray  # (batch, 2 dim): dL/d(concat) by batch position
    batch_ids: np.ndarray  # (2, batch): movie and user row of each position
    batch_ratings: np.ndarray  # (batch,)
    owner_positions: np.ndarray  # (2, N_OWNERS, shards, rows): positions by table and owner
    owner_counts: np.ndarray  # (2, N_OWNERS, shards)
    firsts: np.ndarray  # (2 N_OWNERS, batch): each owner task's scratch
    movie_first_position: np.ndarray  # (movies,) int64 of -1, handed back clean
    user_first_position: np.ndarray  # (users,) the same for the user table
    dense_t: np.ndarray  # the dense weights, transposed, for the products dx = d·Wᵀ
    dense_blocks: np.ndarray  # (blocks, 3): (layer, first_row, end_row) of [W; b]
    tasks: np.ndarray  # phase 2's task codes, in loop order


def shard_rows(batch_size: int) -> int:
    """Rows per shard for ``batch_size``: a function of the batch size alone.

    Up to 8 shards per batch, each of `MIN_SHARD_ROWS` to `MAX_SHARD_ROWS` rows: small enough to
    share a batch among cores, large enough that the weight gradients (one full-size sum per
    shard) are spread over many ratings.

    >>> shard_rows(32), shard_rows(1024), shard_rows(4096)
    (16, 128, 128)
    """
    return min(MAX_SHARD_ROWS, max(MIN_SHARD_ROWS, (batch_size + 7) // 8))


def workspace(batch_size, workers, dense: DenseLayers, dim, table_rows, rating_dtype,
              first_position=None) -> Workspace:
    """A `Workspace`; the (movie, user) ``first_position`` arrays may be handed on from an
    earlier one."""
    movie_first, user_first = first_position or [np.full(n, -1, dtype=np.int64)
                                                 for n in table_rows]
    rows = shard_rows(batch_size)
    n_shards = -(-batch_size // rows)
    act, scratch = shard_scratch(dense.layout, rows, workers)
    blocks = dense_blocks(dense.layout)
    return Workspace(
        act_rows=rows,
        act=act,
        scratch=scratch,
        shard_grad=np.empty((n_shards, len(dense.values)), dtype=np.float32),
        shard_sse=np.empty(n_shards, dtype=np.float64),
        d_inputs=np.empty((batch_size, 2 * dim), dtype=np.float32),
        batch_ids=np.empty((2, batch_size), dtype=np.int64),
        batch_ratings=np.empty(batch_size, dtype=rating_dtype),
        owner_positions=np.empty((2, N_OWNERS, n_shards, rows), dtype=np.int64),
        owner_counts=np.empty((2, N_OWNERS, n_shards), dtype=np.int64),
        firsts=np.empty((2 * N_OWNERS, batch_size), dtype=np.int64),
        movie_first_position=movie_first,
        user_first_position=user_first,
        dense_t=np.empty_like(dense.values),
        dense_blocks=blocks,
        tasks=task_order(len(blocks)),
    )


def shard_scratch(layout, rows, workers=1):
    """``(act, scratch)``: for each worker, room for a shard's activations (`shard_forward`)
    and for the gradients `shard_backward` passes down (two blocks of the widest layer)."""
    act_size = rows * (int(layout[:, 0].sum()) + int(layout[-1, 1]))
    widest = max(int(layout[:, :2].max()), 1)
    return (np.empty((workers, act_size), dtype=np.float32),
            np.empty((workers, 2 * rows * widest), dtype=np.float32))


def dense_blocks(layout) -> np.ndarray:
    """``(layer, first_row, end_row)`` blocks of about `DENSE_TASK_SIZE` parameters of ``[W; b]``."""
    blocks = []
    for layer, (n_in, n_out, _, _) in enumerate(layout):
        rows_per_block = max(1, DENSE_TASK_SIZE // int(n_out))
        blocks += [(layer, first, min(first + rows_per_block, n_in + 1))
                   for first in range(0, n_in + 1, rows_per_block)]
    return np.array(blocks, dtype=np.int64).reshape(-1, 3)


def task_order(n_dense: int) -> np.ndarray:
    """Phase 2's task codes, each kind spread evenly over the loop.

    Codes: ``t < n_dense`` a dense block; then the movie owners, then the user owners. Threads
    take contiguous shares of the loop, and the kinds cost very differently (user rows miss
    the cache); spread evenly, every share holds the same mix, for any thread count.

    >>> task_order(2)[:6]
    array([ 2, 10,  3, 11,  0,  4])
    """
    kinds = [(0, n_dense), (n_dense, N_OWNERS), (n_dense + N_OWNERS, N_OWNERS)]
    codes = np.concatenate([np.arange(start, start + count) for start, count in kinds])
    places = np.concatenate([(np.arange(count) + 0.5) / count for _, count in kinds])
    return codes[np.argsort(places, kind="stable")]


@kernel(parallel=PRANGE_ONLY)
def predict_rows(movie_table, user_table, dense, layout, movies, users, out):
    """``out[i]`` = predicted rating of (movies[i], users[i]). Reference: `RatingNet.predict`.

    ``dense`` and ``layout`` as in `DenseLayers`.
    """
    chunk = MAX_SHARD_ROWS
    n_chunks = (len(movies) + chunk - 1) // chunk
    act_size = activation_offsets(layout, chunk)[-1]
    for c in prange(n_chunks):
        lo, hi = c * chunk, min((c + 1) * chunk, len(movies))
        act = np.empty(act_size, dtype=np.float32)
        out[lo:hi] = shard_forward(movie_table, user_table, movies[lo:hi].astype(np.int64),
                                   users[lo:hi].astype(np.int64), dense, layout, act)
