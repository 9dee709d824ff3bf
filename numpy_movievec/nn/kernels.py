"""The fast path: the whole training step of `RatingNet`, compiled by Numba, on all cores.

Each function here computes what a reference in ``layers.py``, ``network.py`` or ``optim.py``
computes, and says which; ``tests/test_kernels.py`` holds them equal. The engine that feeds them
(packing parameters, chunking an epoch) is ``engines.NumbaEngine``.

How a minibatch is trained (`train_batches`), in three parallel loops, each ending in a barrier:

1. The batch is cut into ``N_SHARDS`` fixed shards. Each shard runs forward and backward for
   its rows (`shard_forward`, `shard_backward`) into its own gradient buffer; ``prange`` hands
   shards to threads. Nothing depends on which thread ran which shard, so results are
   bit-identical for any thread count.
2. Dense layers: each thread takes a block of parameters, sums their gradients over the shards
   in shard order and applies Adadelta (`adadelta_dense_block`).
3. Embedding tables, "owner computes": the batch's distinct rows are listed (`group_rows`),
   and each row — one thread per row, never two — sums its gradient over the batch positions
   that used it, in batch order, catches its averages up by ρ^k, and takes its Adadelta step
   (`adadelta_row`). No racing ``+=`` into shared rows.

Why hand-written products rather than NumPy's BLAS between kernels: OpenBLAS' results change
with its thread count (we measured different bits with 1 and 2 threads), so the
reproducibility promise would need BLAS pinned to one thread, and every layer would cost a
Python call. `matmul_abt` keeps 2 × 4 sums in registers and reaches 77–93% of single-threaded
OpenBLAS on one shard's products (50–60 against 65 GFLOP/s; ``benchmarks/bench_kernels.py``).
Where a batch-1024 step's time goes on one core, by the same script: the shards' products
two thirds, the embedding rows (cache misses in the 480,189-row user table) one third.
"""

from __future__ import annotations

from functools import partial

import numpy as np
from numba import prange

from ..jit import njit_cached

# NumPy's error model: x / 0 gives inf instead of raising, so LLVM may vectorise divisions
# (Python's model needs a zero test before each one). Our divisors are never zero.
kernel = partial(njit_cached, error_model="numpy")

N_SHARDS = 8  # fixed, so results do not depend on the thread count; more threads than this idle

# Let LLVM reorder sums so it can vectorise them. The order is still fixed when the code is
# compiled, so results stay reproducible; NaN and inf keep their IEEE meaning (no "nnan").
REORDER_SUMS = {"reassoc", "contract", "nsz", "arcp"}


# -- dense algebra ----------------------------------------------------------------------------

@kernel(fastmath=REORDER_SUMS)
def matmul_abt(a, b, out):
    """``out[...] = a @ b.T`` for row-major a (M, K) and b (N, K). Reference: NumPy's ``@``.

    Both operands are read along K, contiguously. Two rows of ``a`` meet four rows of ``b`` per
    pass, so eight running sums stay in registers and each load feeds several multiply-adds.
    """
    m_rows, depth = a.shape
    n_rows = b.shape[0]
    m_even, n_four = m_rows - m_rows % 2, n_rows - n_rows % 4
    for m in range(0, m_even, 2):
        for n in range(0, n_four, 4):
            s00 = s01 = s02 = s03 = s10 = s11 = s12 = s13 = np.float32(0)
            for k in range(depth):
                a0, a1 = a[m, k], a[m + 1, k]
                b0, b1, b2, b3 = b[n, k], b[n + 1, k], b[n + 2, k], b[n + 3, k]
                s00 += a0 * b0
                s01 += a0 * b1
                s02 += a0 * b2
                s03 += a0 * b3
                s10 += a1 * b0
                s11 += a1 * b1
                s12 += a1 * b2
                s13 += a1 * b3
            out[m, n], out[m, n + 1], out[m, n + 2], out[m, n + 3] = s00, s01, s02, s03
            out[m + 1, n], out[m + 1, n + 1], out[m + 1, n + 2], out[m + 1, n + 3] = s10, s11, s12, s13
        for n in range(n_four, n_rows):
            out[m, n] = dot(a[m], b[n])
            out[m + 1, n] = dot(a[m + 1], b[n])
    for m in range(m_even, m_rows):
        for n in range(n_rows):
            out[m, n] = dot(a[m], b[n])


@kernel(fastmath=REORDER_SUMS)
def dot(x, y):
    total = np.float32(0)
    for k in range(len(x)):
        total += x[k] * y[k]
    return total


@kernel
def transpose_into(a, out):
    """``out[...] = a.T``, writing ``out`` row by row (measured: 1.8–3.5× faster than by row
    of ``a``, as contiguous stores matter more here than contiguous loads)."""
    for j in range(a.shape[1]):
        for i in range(a.shape[0]):
            out[j, i] = a[i, j]


@kernel
def view2d(flat, offset, rows, cols):
    """The ``(rows, cols)`` matrix stored row-major in ``flat`` from ``offset`` on."""
    return flat[offset:offset + rows * cols].reshape((rows, cols))


# -- the network on one shard -----------------------------------------------------------------
#
# Dense parameters travel as one flat float32 vector. ``layout[l] = (n_in, n_out, w_off, b_off)``
# locates layer l's weight (n_in, n_out) and bias (n_out,); the last layer is the output layer.
# A shard's activations live in one scratch vector: layer l's input at ``act_off[l]``.

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
def shard_forward(movie_table, user_table, movie_ids, user_ids, dense, dense_t, layout, act):
    """Predictions for one shard's rows; every layer's input is kept in ``act`` for backward.

    Reference: `RatingNet.forward` (Embedding, Concatenate, then Dense + ReLU per hidden
    layer, then the output Dense). ``dense_t`` holds each weight transposed, for `matmul_abt`.
    """
    rows, dim = len(movie_ids), movie_table.shape[1]
    n_layers = layout.shape[0]
    offsets = activation_offsets(layout, rows)
    x = view2d(act, offsets[0], rows, 2 * dim)
    for r in range(rows):  # Embedding + Concatenate
        x[r, :dim] = movie_table[movie_ids[r]]
        x[r, dim:] = user_table[user_ids[r]]
    for l in range(n_layers):
        n_in, n_out, w_off, b_off = layout[l, 0], layout[l, 1], layout[l, 2], layout[l, 3]
        y = view2d(act, offsets[l + 1], rows, n_out)
        matmul_abt(x, view2d(dense_t, w_off, n_out, n_in), y)  # Dense
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
def shard_backward(dprediction, dense, layout, act, grad, scratch, d_inputs):
    """Gradients of one shard: dense ones into ``grad`` (flat), dL/d(concat) into ``d_inputs``.

    Reference: `RatingNet.backward`. Per layer, last first: dW = xᵀ·d, db = Σ_rows d,
    dx = d·Wᵀ, then the ReLU mask (x > 0) of the layer below.
    """
    rows, n_layers = len(dprediction), layout.shape[0]
    offsets = activation_offsets(layout, rows)
    widest = np.max(layout[:, :2])
    d = view2d(scratch, 0, rows, 1)
    d[:, 0] = dprediction
    flip = rows * widest  # ping-pong: d and dx alternate between two quarters of scratch
    x_t = scratch[2 * rows * widest:]
    d_t = scratch[3 * rows * widest:]
    for l in range(n_layers - 1, -1, -1):
        n_in, n_out, w_off, b_off = layout[l, 0], layout[l, 1], layout[l, 2], layout[l, 3]
        x = view2d(act, offsets[l], rows, n_in)
        xt, dt = view2d(x_t, 0, n_in, rows), view2d(d_t, 0, n_out, rows)
        transpose_into(x, xt)
        transpose_into(d, dt)
        matmul_abt(xt, dt, view2d(grad, w_off, n_in, n_out))  # dW = xᵀ·d
        for j in range(n_out):  # db = Σ_rows d
            grad[b_off + j] = np.sum(dt[j])
        dx = d_inputs if l == 0 else view2d(scratch, flip, rows, n_in)
        matmul_abt(d, view2d(dense, w_off, n_in, n_out), dx)  # dx = d·Wᵀ
        if l > 0:
            for r in range(rows):
                for i in range(n_in):  # ReLU: x is the layer below's output
                    dx[r, i] = dx[r, i] if x[r, i] > 0 else np.float32(0)
            flip = rows * widest - flip  # the next d is this dx; write the next dx elsewhere
            d = dx


# -- Adadelta ---------------------------------------------------------------------------------

@kernel
def float32_constants(hyper):
    """``(lr, rho, 1 - rho, eps)`` as float32, rounded as NumPy rounds the reference's scalars.

    ``1 - rho`` is formed in float64 before rounding, as ``(1 - rho) * g`` does in `optim.py`.
    """
    lr, rho, eps = hyper[0], hyper[1], hyper[2]
    return np.float32(lr), np.float32(rho), np.float32(1 - rho), np.float32(eps)


@kernel(inline="always")  # scalars only: a call per element must cost nothing
def adadelta_rule(g, accum_grad, accum_update, constants):
    """One Adadelta step of one float32 parameter: ``(delta, accum_grad, accum_update)``.

    Reference: `optim.adadelta_rule`, operation for operation.
    """
    lr, rho, one_minus_rho, eps = constants
    accum_grad = rho * accum_grad + one_minus_rho * g * g
    delta = np.sqrt(accum_update + eps) / np.sqrt(accum_grad + eps) * g
    accum_update = rho * accum_update + one_minus_rho * delta * delta
    return lr * delta, accum_grad, accum_update


@kernel
def adadelta_dense_block(param, accum_grad, accum_update, shard_grad, lo, hi, constants):
    """Dense Adadelta of ``param[lo:hi]``, its gradient summed over the shards in shard order.

    Reference: `Adadelta.step` on a dense array. The sum is built in shard 0's buffer, which
    the next batch overwrites anyway. (Loops run over slices from index 0: with ``range(lo,
    hi)`` Numba cannot rule out negative indices, and that check stops LLVM vectorising.)
    """
    grad = shard_grad[0, lo:hi]
    for s in range(1, shard_grad.shape[0]):
        shard = shard_grad[s, lo:hi]
        for i in range(len(grad)):
            grad[i] += shard[i]
    apply_adadelta(param[lo:hi], accum_grad[lo:hi], accum_update[lo:hi], grad,
                   np.float32(1), constants)


@kernel
def apply_adadelta(param, accum_grad, accum_update, grad, decay, constants):
    """Adadelta on aligned vectors, in place, the averages first multiplied by ``decay``."""
    for i in range(len(param)):
        change, accum_grad[i], accum_update[i] = adadelta_rule(
            grad[i], decay * accum_grad[i], decay * accum_update[i], constants)
        param[i] -= change


@kernel
def group_rows(ids, slot_of_row):
    """Group batch positions by row: ``(rows, starts, positions)``.

    ``positions[starts[k]:starts[k + 1]]`` are, in increasing order, the batch positions whose
    id is ``rows[k]``; rows are listed in order of first appearance. ``slot_of_row`` is a
    table-sized scratch array of -1, returned to -1 on exit.
    """
    rows = np.empty(len(ids), dtype=np.int64)
    counts = np.zeros(len(ids) + 1, dtype=np.int64)
    n_rows = 0
    for p in range(len(ids)):
        if slot_of_row[ids[p]] < 0:
            slot_of_row[ids[p]] = n_rows
            rows[n_rows] = ids[p]
            n_rows += 1
        counts[slot_of_row[ids[p]] + 1] += 1
    starts = np.cumsum(counts[:n_rows + 1])
    filled = starts[:n_rows].copy()
    positions = np.empty(len(ids), dtype=np.int64)
    for p in range(len(ids)):
        slot = slot_of_row[ids[p]]
        positions[filled[slot]] = p
        filled[slot] += 1
    for k in range(n_rows):
        slot_of_row[rows[k]] = -1
    return rows[:n_rows], starts, positions


@kernel
def adadelta_row(table, state, row, positions, d_inputs, column, step, hyper, constants):
    """Row-sparse Adadelta of one embedding row, by the one thread that owns the row.

    The row's gradient is the sum, in batch order, of ``d_inputs[p, column:column + dim]``
    over its batch ``positions`` (reference: `Embedding.backward`); it is built in place in
    the first position's slot, which only this row owns. The row's averages are first
    multiplied by ρ^(steps since its last update) (reference: `Adadelta._caught_up`).
    """
    accum_grad, accum_update, row_step = state
    dim = table.shape[1]
    grad = d_inputs[positions[0], column:column + dim]
    for i in range(1, len(positions)):
        other = d_inputs[positions[i], column:column + dim]
        for j in range(dim):
            grad[j] += other[j]
    skipped = step - row_step[row] if hyper[3] != 0 else 0  # hyper[3]: decay_untouched_rows
    apply_adadelta(table[row], accum_grad[row], accum_update[row], grad,
                   np.float32(hyper[1] ** skipped), constants)
    row_step[row] = step + 1


# -- a whole stretch of training --------------------------------------------------------------

@kernel(parallel=True)
def train_batches(movie_table, user_table, movie_state, user_state, dense, dense_accum_grad,
                  dense_accum_update, layout, movies, users, ratings, order, batch_size,
                  first_batch, n_batches, step, hyper, batch_loss):
    """Train on batches ``first_batch .. first_batch + n_batches - 1`` of ``order``, in place.

    ``movie_state`` / ``user_state`` are ``(accum_grad, accum_update, row_step)`` of each
    table; ``step`` is the optimizer's step count before the first batch; ``hyper`` holds
    ``(lr, rho, eps, decay_untouched_rows)``. Each batch's mean squared error goes into
    ``batch_loss``; the step count after the last batch is returned. Reference:
    `NumpyEngine.train_batches`. Three parallel loops per batch, each ending in a barrier:
    shards, dense parameters, embedding rows.
    """
    dim, n_layers = movie_table.shape[1], layout.shape[0]
    constants = float32_constants(hyper)
    shard_rows = (batch_size + N_SHARDS - 1) // N_SHARDS
    widest = max(np.max(layout[:, :2]), 1)
    act = np.empty((N_SHARDS, activation_offsets(layout, shard_rows)[-1]), dtype=np.float32)
    scratch = np.empty((N_SHARDS, 4 * shard_rows * widest), dtype=np.float32)
    shard_grad = np.empty((N_SHARDS, len(dense)), dtype=np.float32)
    shard_sse = np.zeros(N_SHARDS, dtype=np.float64)
    dense_t = np.empty_like(dense)
    d_inputs = np.empty((batch_size, 2 * dim), dtype=np.float32)
    movie_slot = np.full(movie_table.shape[0], -1, dtype=np.int64)
    user_slot = np.full(user_table.shape[0], -1, dtype=np.int64)
    block = (len(dense) + N_SHARDS - 1) // N_SHARDS
    for b in range(n_batches):
        start = (first_batch + b) * batch_size
        batch = order[start:min(start + batch_size, len(order))]
        size = len(batch)
        batch_movies, batch_users = movies[batch].astype(np.int64), users[batch].astype(np.int64)
        for l in range(n_layers):  # transposed weights, for the forward products
            transpose_into(view2d(dense, layout[l, 2], layout[l, 0], layout[l, 1]),
                           view2d(dense_t, layout[l, 2], layout[l, 1], layout[l, 0]))
        for s in prange(N_SHARDS):
            lo, hi = min(s * shard_rows, size), min((s + 1) * shard_rows, size)
            prediction = shard_forward(movie_table, user_table, batch_movies[lo:hi],
                                       batch_users[lo:hi], dense, dense_t, layout, act[s])
            dprediction = np.empty(hi - lo, dtype=np.float32)
            sse = 0.0
            for r in range(hi - lo):  # MeanSquaredError, forward and backward
                error = prediction[r] - np.float32(ratings[batch[lo + r]])
                sse += error * error
                dprediction[r] = np.float32(2 / size) * error
            shard_sse[s] = sse
            shard_backward(dprediction, dense, layout, act[s], shard_grad[s], scratch[s],
                           d_inputs[lo:hi])
        batch_loss[b] = np.sum(shard_sse) / size
        for s in prange(N_SHARDS):
            adadelta_dense_block(dense, dense_accum_grad, dense_accum_update, shard_grad,
                                 s * block, min((s + 1) * block, len(dense)), constants)
        movie_rows, movie_starts, movie_positions = group_rows(batch_movies, movie_slot)
        user_rows, user_starts, user_positions = group_rows(batch_users, user_slot)
        n_movie_rows = len(movie_rows)
        for k in prange(n_movie_rows + len(user_rows)):
            if k < n_movie_rows:
                adadelta_row(movie_table, movie_state, movie_rows[k],
                             movie_positions[movie_starts[k]:movie_starts[k + 1]],
                             d_inputs, 0, step, hyper, constants)
            else:
                u = k - n_movie_rows
                adadelta_row(user_table, user_state, user_rows[u],
                             user_positions[user_starts[u]:user_starts[u + 1]],
                             d_inputs, dim, step, hyper, constants)
        step += 1
    return step


@kernel(parallel=True)
def predict_rows(movie_table, user_table, dense, layout, movies, users, out):
    """``out[i]`` = predicted rating of (movies[i], users[i]). Reference: `RatingNet.predict`."""
    chunk = 256
    n_chunks = (len(movies) + chunk - 1) // chunk
    dense_t = np.empty_like(dense)
    for l in range(layout.shape[0]):
        transpose_into(view2d(dense, layout[l, 2], layout[l, 0], layout[l, 1]),
                       view2d(dense_t, layout[l, 2], layout[l, 1], layout[l, 0]))
    act_size = activation_offsets(layout, chunk)[-1]
    for c in prange(n_chunks):
        lo, hi = c * chunk, min((c + 1) * chunk, len(movies))
        act = np.empty(act_size, dtype=np.float32)
        out[lo:hi] = shard_forward(movie_table, user_table, movies[lo:hi].astype(np.int64),
                                   users[lo:hi].astype(np.int64), dense, dense_t, layout, act)
