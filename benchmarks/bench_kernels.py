"""Where a Numba training step spends its time, one core, Netflix-sized tables.

    python benchmarks/bench_kernels.py              # batch 1024 -> benchmarks/results/bench_kernels.md
    python benchmarks/bench_kernels.py --batch 32   # where a small batch's time goes (printed only)

Everything here is single-threaded (the script pins NumPy's BLAS and Numba to one thread before
importing them, so the comparison is core for core), and times the engine's own kernels — the
functions ``kernels.train_batches`` calls — never copies of them:

1. `kernels.matmul` against NumPy's BLAS (OpenBLAS) on the products one shard of a
   batch-1024 step computes, in GFLOP/s.
2. One batch-1024 training step taken apart, phase by phase: the shards (`train_shard`: gather,
   forward, loss, backward), the dense updates (`update_dense_rows` over every block), and the
   row-sparse embedding updates (`sort_by_owner` + `update_embedding_rows` for every owner) of
   the 17,770-movie and 480,189-user tables. Fresh random ids each time, so cache misses count
   as in training.
3. The same step through `kernels.train_batches` itself, on one thread: the parts plus what
   binds them, minus the Python calls the parts are timed through (about 2 µs each: at a
   small ``--batch`` they dominate the parts, so read the last row there).

Before timing, the products are checked against NumPy and one shard's loss and gradients
against `RatingNet.terms_and_grads` (as llm.c's ``dev/cpu`` kernels are checked against their
CPU reference): a benchmark of a wrong kernel is worth nothing. The tests check every kernel.

Median of repeats, CPU time of this process. Output: a markdown report on stdout and in
benchmarks/results/bench_kernels.md, the numbers also in the .json beside it.
"""

import os

for _name in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS", "NUMBA_NUM_THREADS"):
    os.environ[_name] = "1"

import argparse  # noqa: E402
import statistics  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy_movievec as mv  # noqa: E402
from benchmarks._common import (command_line, describe_machine, machine_facts,  # noqa: E402
                                markdown_table, write_report)
from numpy_movievec.nn import kernels  # noqa: E402
from numpy_movievec.nn.engines import NumbaEngine  # noqa: E402

BATCH = 1024  # --batch changes it
N_MOVIES, N_USERS = 17_770, 480_189
REPEATS = 7


def cpu_seconds(step, calls):
    """Median over `REPEATS` of the CPU seconds one call of ``step`` takes."""
    step()  # compile or load from cache, warm the caches
    times = []
    for _ in range(REPEATS):
        started = time.process_time()
        for _ in range(calls):
            step()
        times.append((time.process_time() - started) / calls)
    return statistics.median(times)


def matmul_table(rng, shard):
    """`kernels.matmul` on one shard's products, shaped and laid out as `shard_backward` and
    `shard_forward` pass them (the weight gradient reads xᵀ through a transposed view)."""
    rows = []
    for label, m, k, n, transposed in [("forward, first layer", shard, 80, 64, False),
                                       ("forward / dx, hidden layer", shard, 64, 64, False),
                                       ("dx, first layer", shard, 64, 80, False),
                                       ("weight gradient xᵀ·d (K = shard rows)", 64, shard, 64,
                                        True)]:
        a = rng.standard_normal((m, k)).astype(np.float32)
        if transposed:
            a = np.ascontiguousarray(a.T).T
        b = rng.standard_normal((k, n)).astype(np.float32)
        out = np.empty((m, n), dtype=np.float32)
        kernels.matmul(a, b, out)
        np.testing.assert_allclose(out, a @ b, rtol=1e-4, atol=1e-4)
        ours = cpu_seconds(lambda: kernels.matmul(a, b, out), 2000)
        blas = cpu_seconds(lambda: np.matmul(a, b, out=out), 2000)
        flop = 2 * m * k * n
        rows.append([f"{label}: ({m}×{k})·({k}×{n})", f"{ours * 1e6:.1f}",
                     f"{flop / ours / 1e9:.1f}", f"{blas * 1e6:.1f}", f"{flop / blas / 1e9:.1f}"])
    return markdown_table(["product (one shard)", "ours µs", "ours GFLOP/s", "OpenBLAS µs",
                           "OpenBLAS GFLOP/s"], rows, align="lrrrr"), rows


class Step:
    """One batch-1024 step's inputs and scratch, laid out as `kernels.train_batches` lays them."""

    def __init__(self, rng):
        self.rng = rng
        self.net = mv.RatingNet(N_MOVIES, N_USERS, seed=0)
        self.net.optimizer = mv.Adadelta()
        engine = NumbaEngine(self.net, self.net.optimizer, np.zeros(1, np.int32),
                             np.zeros(1, np.int32), np.ones(1, np.int8), threads=1)
        self.movies = engine._table("movie_embedding")
        self.users = engine._table("user_embedding")
        self.dense = engine._pack_dense()
        self.adadelta = kernels.Adadelta.of(self.net.optimizer)
        self.powers = kernels.rho_powers(self.net.optimizer.rho)
        layout = self.dense.layout
        self.rows = kernels.shard_rows(BATCH)
        self.n_shards = BATCH // self.rows
        self.dense_t = np.empty_like(self.dense.values)
        kernels.transpose_weights(self.dense.values, layout, self.dense_t)
        (self.act,), (self.scratch,) = kernels.shard_scratch(layout, self.rows)
        self.grad = np.empty((self.n_shards, len(self.dense.values)), dtype=np.float32)
        self.d_inputs = rng.standard_normal((BATCH, 80)).astype(np.float32) * 1e-3
        self.ratings = rng.integers(1, 6, BATCH).astype(np.int8)
        self.blocks = kernels.dense_blocks(layout)
        self.positions = np.empty((kernels.N_OWNERS, self.n_shards, self.rows), dtype=np.int64)
        self.counts = np.empty((kernels.N_OWNERS, self.n_shards), dtype=np.int64)
        self.first_position = [np.full(n, -1, dtype=np.int64) for n in (N_MOVIES, N_USERS)]
        self.firsts = np.empty(BATCH, dtype=np.int64)
        self.step = 100

    def ids(self):
        return self.rng.integers(0, N_MOVIES, BATCH), self.rng.integers(0, N_USERS, BATCH)

    def shards(self):
        movie_ids, user_ids = self.ids()
        for s in range(self.n_shards):
            lo, hi = s * self.rows, (s + 1) * self.rows
            kernels.train_shard(self.movies, self.users, self.dense, self.dense_t,
                                (movie_ids[lo:hi], user_ids[lo:hi]), self.ratings[lo:hi], BATCH, 0.0,
                                self.act, self.scratch, self.grad[s], self.d_inputs[lo:hi])

    def dense_update(self):
        for layer, first, end in self.blocks:
            kernels.update_dense_rows(self.dense, self.dense_t, self.grad, layer, first, end,
                                      self.adadelta)

    def embedding_update(self, which):
        table = (self.movies, self.users)[which]
        ids = self.ids()[which]
        for s in range(self.n_shards):
            lo = s * self.rows
            kernels.sort_by_owner(ids[lo:lo + self.rows], lo, self.positions[:, s],
                                  self.counts[:, s])
        for owner in range(kernels.N_OWNERS):
            kernels.update_embedding_rows(table, ids, self.positions[owner], self.counts[owner],
                                          self.d_inputs, which * 40, self.step, self.adadelta,
                                          self.powers, self.first_position[which], self.firsts)
        self.step += 1


def check_shard_against_reference(step):
    """One shard trained alone (as a whole batch) equals the reference's loss and gradients."""
    movie_ids, user_ids = step.ids()
    rows = step.rows
    sse = kernels.train_shard(step.movies, step.users, step.dense, step.dense_t,
                              (movie_ids[:rows], user_ids[:rows]), step.ratings[:rows], rows, 0.0,
                              step.act, step.scratch, step.grad[0], step.d_inputs[:rows])
    squared_error, _, grads = step.net.terms_and_grads(movie_ids[:rows], user_ids[:rows],
                                                      step.ratings[:rows])
    np.testing.assert_allclose(sse / rows, squared_error, rtol=1e-4)
    offset = 0
    for name, param in step.net.params.items():
        if "embedding" not in name:
            kernel_grad = step.grad[0, offset:offset + param.size].reshape(param.shape)
            np.testing.assert_allclose(kernel_grad, grads[name], rtol=1e-3,
                                       atol=1e-5 * np.abs(grads[name]).max(), err_msg=name)
            offset += param.size


def step_table(rng):
    step = Step(rng)
    check_shard_against_reference(step)
    parts = [("shards: gather, forward, loss, backward (80 kFLOP per rating)", step.shards),
             ("dense layers: sum the shard gradients + Adadelta", step.dense_update),
             (f"movie rows: sort by owner + Adadelta ({N_MOVIES:,}-row table)",
              lambda: step.embedding_update(0)),
             (f"user rows: sort by owner + Adadelta ({N_USERS:,}-row table)",
              lambda: step.embedding_update(1))]
    measured = [(label, cpu_seconds(run, 30)) for label, run in parts]
    total = sum(seconds for _, seconds in measured)
    whole = whole_step_seconds(rng)
    rows = [[label, f"{seconds * 1e3:.3f}", f"{seconds / total:.0%}"]
            for label, seconds in measured]
    rows.append(["**sum of the parts**", f"**{total * 1e3:.3f}**",
                 f"{BATCH / total:,.0f} ratings/s"])
    rows.append(["**`train_batches`, one thread**", f"**{whole * 1e3:.3f}**",
                 f"{BATCH / whole:,.0f} ratings/s"])
    return markdown_table([f"part of one batch-{BATCH} step", "ms", "share"], rows,
                          align="lrr"), rows


def whole_step_seconds(rng):
    """CPU seconds per batch of `kernels.train_batches` on one thread, random ratings."""
    n = 64 * BATCH
    movies = rng.integers(0, N_MOVIES, n).astype(np.int32)
    users = rng.integers(0, N_USERS, n).astype(np.int32)
    ratings = rng.integers(1, 6, n).astype(np.int8)
    net = mv.RatingNet(N_MOVIES, N_USERS, seed=0)
    net.optimizer = mv.Adadelta()
    engine = NumbaEngine(net, net.optimizer, movies, users, ratings, threads=1)
    order = np.arange(n, dtype=np.int32)
    return cpu_seconds(lambda: engine.train_batches(order, BATCH, 0, 64), 1) / 64


def main():
    global BATCH
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batch", type=int, default=BATCH, help="batch size (default 1024)")
    parser.add_argument("--no-save", action="store_true", help="print only")
    args = parser.parse_args()
    save = not args.no_save and args.batch == BATCH
    BATCH = args.batch
    rng = np.random.default_rng(0)
    facts, command = machine_facts(), command_line(__file__)
    products, product_rows = matmul_table(rng, kernels.shard_rows(BATCH))
    step, step_rows = step_table(rng)
    text = "\n".join([
        f"# Numba kernels, one core, batch {BATCH}", "", describe_machine(facts), "",
        f"Command: `{command}`. CPU time, median of {REPEATS}. Shards of "
        f"{kernels.shard_rows(BATCH)} rows.", "", *products, "", *step]) + "\n"
    print(text)
    if save:
        out = Path(__file__).parent / "results" / "bench_kernels.md"
        write_report(out, text, {"machine": facts, "command": command, "products": product_rows,
                                 "step": step_rows})


if __name__ == "__main__":
    main()
