"""Where a Numba training step spends its time, one core, Netflix-sized tables.

    python benchmarks/bench_kernels.py

Two tables, both single-threaded (the script pins NumPy's BLAS and Numba to one thread before
importing them, so the comparison is core for core):

1. `kernels.matmul_abt` against NumPy's BLAS (OpenBLAS) on the products one shard of a
   batch-1024 step computes, in GFLOP/s.
2. One batch-1024 training step taken apart: the eight shards' forward and backward passes,
   the dense Adadelta update, and the row-sparse embedding updates of the 17,770-movie and
   480,189-user tables (fresh random rows each time, so cache misses count as in training).

Median of repeats, CPU time of this process. Output: a markdown report on stdout and in
benchmarks/results/bench_kernels.md.
"""

import os

for _name in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS", "NUMBA_NUM_THREADS"):
    os.environ[_name] = "1"

import datetime  # noqa: E402
import platform  # noqa: E402
import statistics  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import numba  # noqa: E402
import numpy as np  # noqa: E402

import numpy_movievec as mv  # noqa: E402
from numpy_movievec.nn import kernels  # noqa: E402
from numpy_movievec.nn.engines import _dense_layout, _embedding_state  # noqa: E402

BATCH = 1024
SHARD = BATCH // kernels.N_SHARDS
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


def matmul_table(rng):
    rows = ["| product (one shard) | ours µs | ours GFLOP/s | OpenBLAS µs | OpenBLAS GFLOP/s |",
            "|---|---:|---:|---:|---:|"]
    for label, m, k, n in [("forward, first layer", SHARD, 80, 64),
                           ("forward / dx, hidden layer", SHARD, 64, 64),
                           ("weight gradient (K = shard rows)", 64, SHARD, 64)]:
        a = rng.standard_normal((m, k)).astype(np.float32)
        b = rng.standard_normal((n, k)).astype(np.float32)
        out = np.empty((m, n), dtype=np.float32)
        ours = cpu_seconds(lambda: kernels.matmul_abt(a, b, out), 2000)
        blas = cpu_seconds(lambda: np.matmul(a, b.T, out=out), 2000)
        flop = 2 * m * k * n
        rows.append(f"| {label}: ({m}×{k})·({k}×{n}) | {ours * 1e6:.1f} | {flop / ours / 1e9:.1f} "
                    f"| {blas * 1e6:.1f} | {flop / blas / 1e9:.1f} |")
    return rows


@numba.njit(error_model="numpy")
def update_rows(table, state, ids, slot_of_row, d_inputs, column, step, hyper, constants):
    """The embedding phase of `kernels.train_batches` for one table, on one thread."""
    rows, starts, positions = kernels.group_rows(ids, slot_of_row)
    for k in range(len(rows)):
        kernels.adadelta_row(table, state, rows[k], positions[starts[k]:starts[k + 1]],
                             d_inputs, column, step, hyper, constants)


def step_table(rng):
    net = mv.RatingNet(17_770, 480_189, seed=0)
    net.optimizer = opt = mv.Adadelta()
    layout = _dense_layout(net)
    dense = np.concatenate([p.ravel() for name, p in net.params.items()
                            if "embedding" not in name])
    dense_t = dense.copy()
    hyper = np.array([opt.lr, opt.rho, opt.eps, 1.0])
    constants = kernels.float32_constants(hyper)
    act = np.empty(kernels.activation_offsets(layout, SHARD)[-1], dtype=np.float32)
    scratch = np.empty(4 * SHARD * 80, dtype=np.float32)
    grad = np.empty((kernels.N_SHARDS, len(dense)), dtype=np.float32)
    d_inputs = rng.standard_normal((BATCH, 80)).astype(np.float32)
    tables = {name: (net.params[name], _embedding_state(opt, name, net.params),
                     np.full(len(net.params[name]), -1, dtype=np.int64))
              for name in ("movie_embedding", "user_embedding")}

    def shards():
        movies = rng.integers(0, 17_770, SHARD)
        users = rng.integers(0, 480_189, SHARD)
        for s in range(kernels.N_SHARDS):
            prediction = kernels.shard_forward(net.params["movie_embedding"],
                                               net.params["user_embedding"], movies, users,
                                               dense, dense_t, layout, act)
            kernels.shard_backward(prediction - 3.6, dense, layout, act, grad[s], scratch,
                                   d_inputs[:SHARD])

    def dense_update():
        kernels.adadelta_dense_block(dense, np.zeros_like(dense), np.zeros_like(dense), grad, 0,
                                     len(dense), constants)

    def rows(name, column):
        table, state, slot = tables[name]
        update_rows(table, state, rng.integers(0, len(table), BATCH), slot, d_inputs, column,
                    100, hyper, constants)

    parts = [("8 shards: forward + backward (80 kFLOP per rating)", shards),
             ("dense layers: sum 8 shard gradients + Adadelta", dense_update),
             ("movie rows: group + Adadelta (17,770-row table)", lambda: rows("movie_embedding", 0)),
             ("user rows: group + Adadelta (480,189-row table)", lambda: rows("user_embedding", 40))]
    measured = [(label, cpu_seconds(run, 20)) for label, run in parts]
    total = sum(seconds for _, seconds in measured)
    lines = ["| part of one batch-1024 step | ms | share |", "|---|---:|---:|"]
    lines += [f"| {label} | {seconds * 1e3:.2f} | {seconds / total:.0%} |"
              for label, seconds in measured]
    lines.append(f"| **sum: one core** | **{total * 1e3:.2f}** | {BATCH / total:,.0f} ratings/s |")
    return lines


def main():
    rng = np.random.default_rng(0)
    report = [
        "# Numba kernels, one core",
        "",
        f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores; Python "
        f"{platform.python_version()}, NumPy {np.__version__}; "
        f"{datetime.datetime.now(datetime.timezone.utc):%Y-%m-%d %H:%M} UTC; load average "
        f"{os.getloadavg()[0]:.2f}. Command: `python {' '.join(sys.argv)}`. CPU time, median "
        f"of {REPEATS}.",
        "",
        *matmul_table(rng),
        "",
        *step_table(rng),
    ]
    text = "\n".join(report) + "\n"
    print(text)
    out = Path(__file__).parent / "results" / "bench_kernels.md"
    out.write_text(text)


if __name__ == "__main__":
    main()
