"""Training throughput and peak memory: our engines beside PyTorch and the seed's Keras code.

    python benchmarks/bench_train.py               # every variant x batch size x threads
    python benchmarks/bench_train.py --contended   # the same, one core kept busy meanwhile
    python benchmarks/bench_train.py --full-epoch  # ... plus one 100M-rating fit() epoch
    python benchmarks/bench_train.py --quick       # smoke test: tiny data, every variant

Every variant (``VARIANTS``) trains the seed model (Embedding 40 ‖ Embedding 40 → 64 → 64 →
64 → 1, mean squared error) from ``RatingNet(seed=0)``'s weights on the same synthetic
ratings, with Netflix-size tables by default (the user table's size is what makes dense
PyTorch slow). Each (variant, batch size, threads) cell is a fresh process, so its thread
settings and peak memory are its own; the report says how a cell is timed. The sweep over
all cells runs ``--rounds`` times: this machine's two-thread speed changes by itself within
minutes, as its host moves our two cores nearer or farther apart (``core_latency.py``), and
cells measured at one moment each would compare moments, not variants. The cores' round trip
is measured before every cell and reported.

Results: markdown on stdout and in benchmarks/results/bench_train[_contended].md (``--out``),
raw numbers and the evaluated targets in the .json beside it.
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from contextlib import contextmanager, nullcontext
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from benchmarks._common import (BLAS_THREAD_VARIABLES, command_line,  # noqa: E402
                                machine_facts, package_version, peak_memory_mb,
                                reset_peak_memory, run_child, write_report)
from benchmarks.train_report import (ONLY_AT, OURS, PEERS, TARGETS, VARIANTS,  # noqa: E402
                                     Measured, markdown, netflix_sizes)

SPINNER = "while True: pass"
OTHER_WORK = (f"one `python -c '{SPINNER}'` process, not pinned, same priority, started before "
              "and stopped after each cell's process (and the epoch's)")
SEED = 0
WARM_UP_BATCHES = 5
CALLS_PER_BOX = 20  # aim for train() calls of about a twentieth of the time box
CELL_TIMEOUT = 1800  # seconds; a cell still running then is stopped and reported as failed
FULL = dict(ratings=5_000_000, batch_sizes="32,256,1024,4096", rounds=3, seconds=3.0)
QUICK = dict(ratings=30_000, movies=500, users=3_000, epoch_ratings=100_000,
             batch_sizes="32,1024", rounds=1, seconds=0.3)


# ====================================================================== in a child process

def generate_data(spec):
    """Write synthetic ratings as a store (``.npy`` columns) and the shared initial weights."""
    from numpy_movievec import RatingNet, synthetic
    started = time.perf_counter()
    ratings = synthetic(spec["ratings"], n_movies=spec["movies"], n_users=spec["users"],
                        seed=SEED)
    ratings.save(spec["store"])
    if "weights" in spec:  # the seed architecture: RatingNet's defaults
        np.savez(spec["weights"], **RatingNet(ratings.n_movies, ratings.n_users, seed=SEED).params)
    return {"generator": f"numpy_movievec synthetic(seed={SEED})",
            "seconds": time.perf_counter() - started}


def load_columns(store):
    """``(movie, user, rating, n_movies, n_users)`` memory-mapped from a store directory,
    read without the library (the PyTorch and Keras cells must not load Numba)."""
    header = json.loads((Path(store) / "header.json").read_text())
    columns = [np.load(Path(store) / f"{name}.npy", mmap_mode="r")
               for name in ("movie", "user", "rating")]
    return (*columns, header["n_movies"], header["n_users"])


# A trainer offers ``prepare(order)`` (untimed: adopt an epoch's shuffled order),
# ``train(first_batch, n_batches)`` (timed) and ``batches_per_call`` (how many batches one
# ``train`` call may take: the harness reads the clock between calls).

class EngineTrainer:
    """Our engine (``"numpy"`` or ``"numba"``), driven the way ``fit`` drives it."""

    def __init__(self, variant, data, weights, batch_size, threads):
        from numpy_movievec import Adadelta, RatingNet
        from numpy_movievec.nn.engines import ENGINES
        movie, user, rating, n_movies, n_users = data
        net = RatingNet(n_movies, n_users, seed=SEED)
        net.params = {name: weights[name] for name in net.params}  # the run's shared weights
        net.optimizer = Adadelta()  # the seed's: lr 1.0, rho 0.95, eps 1e-7
        movie, user, rating = net.check_batch(movie, user, rating)
        self.engine = ENGINES[variant](net, net.optimizer, movie, user, rating, threads=threads)
        self.batch_size = batch_size
        self.batches_per_call = max(1, self.engine.ratings_per_call // batch_size)

    def prepare(self, order):
        self.order = order

    def train(self, first_batch, n_batches):
        self.engine.train_batches(self.order, self.batch_size, first_batch, n_batches)


class PeerTrainer:
    """A PyTorch or Keras model from our weights (``torch_seed.py``): one framework step per
    batch, on columns gathered in the epoch's order beforehand, in the types it takes."""

    batches_per_call = 1

    def __init__(self, variant, data, weights, batch_size, threads):
        import torch  # Keras runs on it too

        from benchmarks.torch_seed import keras_seed_model, torch_training_step
        if threads != "auto":
            torch.set_num_threads(threads)
        self.columns, self.batch_size = data[:3], batch_size
        if variant == "keras":  # the seed's inputs: (N, 1) int32 id columns
            model = keras_seed_model(weights)
            self.step = lambda movies, users, ratings: model.train_on_batch([movies, users],
                                                                            ratings)
            self.dtypes, self.as_input = (np.int32, np.int32, np.float32), lambda c: c[:, None]
        else:
            self.step = torch_training_step(weights, sparse=variant != "torch-adadelta",
                                            compiled=variant == "torch-compile")
            self.dtypes, self.as_input = (np.int64, np.int64, np.float32), torch.from_numpy

    def prepare(self, order):  # column by column: one gathered copy at a time
        self.inputs = [self.as_input(column[order].astype(dtype))
                       for column, dtype in zip(self.columns, self.dtypes)]

    def train(self, first_batch, n_batches):
        size = self.batch_size
        for b in range(first_batch, first_batch + n_batches):
            self.step(*(column[b * size:(b + 1) * size] for column in self.inputs))


def time_box(trainer, order, batch_size, seconds):
    """Train whole batches of ``order`` until one pass is done or ``seconds`` have passed;
    return (ratings trained, seconds).

    The clock is read between ``train`` calls. Calls start at one batch and grow (at most 8×
    at a time) towards ``seconds / CALLS_PER_BOX`` each, up to the trainer's own
    ``batches_per_call``: a fast engine soon runs at its native call size, a slow one (or one
    starved of cores) cannot overrun the box by more than a short call. A last, partial batch
    is left out: it would make torch.compile compile again, inside the timing.
    """
    trainer.prepare(order)
    n_batches = len(order) // batch_size
    done, count = 0, 1
    started = now = time.perf_counter()
    while done < n_batches and now - started < seconds:
        count = min(count, n_batches - done)
        trainer.train(done, count)
        done += count
        call_started, now = now, time.perf_counter()
        wanted = count * (seconds / CALLS_PER_BOX) / max(now - call_started, 1e-9)
        count = int(max(1, min(wanted, 8 * count, trainer.batches_per_call)))
    return done * batch_size, now - started


def warmed_up(spec):
    """The cell's trainer after a few batches (torch.compile has compiled, Numba has loaded
    its code, optimizer state is allocated), and the number of ratings."""
    data = load_columns(spec["store"])
    trainer_class = EngineTrainer if spec["variant"] in OURS else PeerTrainer
    trainer = trainer_class(spec["variant"], data, dict(np.load(spec["weights"])),
                            spec["batch_size"], spec["threads"])
    order = np.random.default_rng([SEED, 0]).permutation(len(data[0]))
    time_box(trainer, order[:WARM_UP_BATCHES * spec["batch_size"]], spec["batch_size"],
             float("inf"))
    return trainer, len(data[0])


def measure_cell(spec):
    """One (variant, batch size, threads) cell: warm up, then ``repeats`` time-boxed passes."""
    started = time.perf_counter()
    trainer, n_ratings = warmed_up(spec)
    warm_up_seconds = time.perf_counter() - started
    warm_up_peak = reset_peak_memory()
    runs = []
    for repeat in range(1, spec["repeats"] + 1):
        order = np.random.default_rng([SEED, repeat]).permutation(n_ratings)
        trained, seconds = time_box(trainer, order, spec["batch_size"], spec["seconds"])
        runs.append({"ratings": trained, "seconds": seconds, "rate": trained / seconds})
        del order
    return {"runs": runs, "rate": statistics.median(run["rate"] for run in runs),
            "warm_up_seconds": warm_up_seconds, "warm_up_peak_rss_mb": warm_up_peak}


def compile_kernels(spec):
    """Warm up a cell and measure nothing: Numba compiles (or loads) its kernels for the
    cells' array types into its on-disk cache, so no cell pays for the compiler, whose memory
    would stay resident in that cell's peak."""
    started = time.perf_counter()
    warmed_up(spec)
    return {"seconds": time.perf_counter() - started}


def measure_full_epoch(spec):
    """One ``mv.fit`` epoch over the whole store (memory-mapped), Numba engine."""
    import numpy_movievec as mv
    ratings = mv.Ratings.load(spec["store"], mmap=True)
    net = mv.RatingNet(ratings.n_movies, ratings.n_users, seed=SEED)
    options = dict(epochs=1, batch_size=spec["batch_size"], engine="numba",
                   threads=spec["threads"], seed=SEED, progress=False)
    mv.fit(net, ratings.rows(slice(0, WARM_UP_BATCHES * spec["batch_size"])), **options)
    warm_up_peak = reset_peak_memory()  # the warm-up loaded the kernels for these array types
    started = time.perf_counter()
    history = mv.fit(net, ratings, **options)
    wall = time.perf_counter() - started
    seconds = history.seconds[-1]
    return {"ratings": len(ratings), "seconds": seconds, "rate": len(ratings) / seconds,
            "fit_wall_seconds": wall, "train_rmse": history.train_rmse[-1],
            "warm_up_peak_rss_mb": warm_up_peak}


CHILD_WORK = {"cell": measure_cell, "epoch": measure_full_epoch, "generate": generate_data,
              "compile": compile_kernels}


# ====================================================================== the parent

def in_child(spec, label, threads="auto", contended=False):
    """Run ``spec`` in a fresh interpreter with ``threads`` set for its BLAS (and one core
    kept busy meanwhile if ``contended``); its result, or ``{"error": ...}``."""
    env = {} if threads == "auto" else dict.fromkeys(BLAS_THREAD_VARIABLES, str(threads))
    with one_core_busy() if contended else nullcontext():
        return run_child(__file__, spec, label, env, timeout=CELL_TIMEOUT)


@contextmanager
def one_core_busy():
    """Keep one core busy for the block: `OTHER_WORK`."""
    spinner = subprocess.Popen([sys.executable, "-c", SPINNER])
    try:
        yield
    finally:
        spinner.kill()
        spinner.wait()


def measure_cells(args, files):
    """Every cell ``--rounds`` times: ``[{variant, batch_size, threads, rounds, result}]``."""
    if "numba" in args.variants:
        print("compiling (or loading) the Numba kernels ...", file=sys.stderr)
        in_child({"kind": "compile", "variant": "numba", "batch_size": args.batch_sizes[0],
                  "threads": "auto", **files}, "compile")
    cells = [{"variant": variant, "batch_size": batch_size, "threads": threads, "rounds": []}
             for batch_size in args.batch_sizes for threads in args.threads
             for variant in args.variants if batch_size in ONLY_AT.get(variant, (batch_size,))]
    from benchmarks.core_latency import round_trip_ns  # loads Numba: the parent only
    for round_number in range(1, args.rounds + 1):
        print(f"round {round_number} of {args.rounds}", file=sys.stderr)
        for cell in cells:
            label = f"{cell['variant']}, batch {cell['batch_size']}, threads {cell['threads']}"
            spec = {"kind": "cell", "variant": cell["variant"], "batch_size": cell["batch_size"],
                    "threads": cell["threads"], "repeats": args.repeats,
                    "seconds": args.seconds, **files}
            round_trip = round_trip_ns()  # where the host has our cores now: see core_latency
            result = {**in_child(spec, label, cell["threads"], args.contended),
                      "round_trip_ns": round_trip}
            if "rate" in result:
                print(f"  {label}: {result['rate']:,.0f} ratings/s, "
                      f"peak {result['peak_rss_mb']:,.0f} MB", file=sys.stderr)
            cell["rounds"].append(result)
    for cell in cells:
        cell["result"] = merged_rounds(cell["rounds"])
    return cells


def merged_rounds(rounds):
    """A cell's result over its rounds: the median rate of all their passes, the highest peak
    memory; the first failure if any round failed."""
    failed = [result for result in rounds if "rate" not in result]
    if failed:
        return failed[0]
    runs = [run for result in rounds for run in result["runs"]]
    return {"runs": runs, "rate": statistics.median(run["rate"] for run in runs),
            "round_trips_ns": [result["round_trip_ns"] for result in rounds],
            "peak_rss_mb": max(result["peak_rss_mb"] for result in rounds),
            "warm_up_seconds": rounds[0]["warm_up_seconds"]}


def full_epoch(args, work):
    """Generate (or reuse ``--store``) the big data set, then time one epoch in a child."""
    store = Path(args.store) if args.store else work / "epoch-store"
    generator = "loaded from --store"
    if not (store / "header.json").exists():
        print(f"generating {args.epoch_ratings:,} ratings into {store} ...", file=sys.stderr)
        generated = in_child({"kind": "generate", "store": str(store),
                              "ratings": args.epoch_ratings, "movies": args.movies,
                              "users": args.users}, "generate")
        if "error" in generated:
            return generated
        generator = generated["generator"]
    print(f"timing one epoch over {store} ...", file=sys.stderr)
    spec = {"kind": "epoch", "store": str(store), "batch_size": args.epoch_batch,
            "threads": args.epoch_threads}
    result = in_child(spec, "full epoch", args.epoch_threads, args.contended)
    result.update(store=str(store), batch_size=args.epoch_batch, threads=args.epoch_threads,
                  generator=generator)
    return result


def method(args, store_info):
    """The report's paragraph on how the cells were measured."""
    return (
        f"Data: {args.ratings:,} synthetic ratings ({store_info['generator']}) of "
        f"{args.movies:,} movies × {args.users:,} users; the seed model, every variant "
        f"starting from `RatingNet(seed={SEED})`'s weights. One fresh process per cell: a "
        f"{WARM_UP_BATCHES}-batch warm-up, then {args.repeats} timed pass(es), each one "
        f"shuffled pass of whole batches or {args.seconds:g} s (the shuffle not timed); "
        f"the sweep over all cells ran {args.rounds} time(s), one round after another. "
        "Threads: a number sets OMP/OPENBLAS/MKL_NUM_THREADS and `threads=` (ours) or "
        "`torch.set_num_threads`; `auto` sets nothing (each library's default). Ours are "
        "timed through `engine.train_batches`, the loop `fit` runs; the others take "
        "pre-shuffled tensors (arrays for Keras), one step per batch.")


# ====================================================================== main

def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    add = parser.add_argument
    add("--batch-sizes", type=batch_sizes, help="comma-separated (default %(default)s)")
    add("--threads", type=thread_settings, default="1,2,auto",
        help="comma-separated counts and/or auto (default %(default)s)")
    add("--variants", type=variants, default=",".join(VARIANTS),
        help="comma-separated from %(default)s, or none (only the full epoch)")
    add("--repeats", type=int, default=1,
        help="time-boxed passes per cell and round (default %(default)s)")
    add("--rounds", type=int, help="sweeps over all cells, one after another (default %(default)s)")
    add("--seconds", type=float, help="time box per pass (default %(default)s)")
    add("--ratings", type=int, help="ratings in the cells' data set (default %(default)s)")
    add("--quick", action="store_true", help="smoke test: tiny data, short time boxes")
    add("--contended", action="store_true", help="keep one core busy while each cell runs")
    add("--full-epoch", action="store_true", help="also time one fit() epoch of 100M ratings")
    add("--store", help="the full epoch's store: loaded if it exists, else generated and kept")
    add("--epoch-threads", type=thread_setting, default="auto",
        help="fit(threads=...) for the full epoch (%(default)s)")
    add("--epoch-ratings", type=int, help=argparse.SUPPRESS)
    add("--epoch-batch", type=int, default=1024, help=argparse.SUPPRESS)
    add("--workdir", default=tempfile.gettempdir(), help="for temporary data (deleted after)")
    add("--out", help="markdown report (default benchmarks/results/bench_train[_contended].md, "
        "with --quick a temporary file); the JSON goes beside it")
    netflix_ratings, netflix_movies, netflix_users = netflix_sizes()
    parser.set_defaults(**FULL, movies=netflix_movies, users=netflix_users,
                        epoch_ratings=netflix_ratings)
    args = parser.parse_args(argv)
    if args.quick:  # the quick defaults, under the options given
        parser.set_defaults(**QUICK)
        args = parser.parse_args(argv)
    if args.variants and max(args.batch_sizes) > args.ratings:
        parser.error(f"batch size {max(args.batch_sizes):,} is larger than the "
                     f"{args.ratings:,} ratings (--ratings)")
    args.skipped = [v for v in args.variants if v in PEERS
                    and package_version("keras" if v == "keras" else "torch") is None]
    args.variants = [v for v in args.variants if v not in args.skipped]
    if args.out is None:
        name = "bench_train_contended" if args.contended else "bench_train"
        args.out = (Path(tempfile.gettempdir()) / f"{name}.quick.md" if args.quick
                    else ROOT / "benchmarks" / "results" / f"{name}.md")
    return args


def batch_sizes(text):
    return [int(size) for size in text.split(",")]


def thread_setting(text):
    return text if text == "auto" else int(text)


def thread_settings(text):
    return [thread_setting(setting) for setting in text.split(",")]


def variants(text):
    chosen = [] if text == "none" else text.split(",")
    unknown = sorted(set(chosen) - set(VARIANTS))
    if unknown:
        raise argparse.ArgumentTypeError(f"unknown {', '.join(unknown)}: choose from "
                                         f"{', '.join(VARIANTS)}, or none")
    return chosen


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["--child"]:  # one measurement, asked for by `in_child`
        spec = json.loads(argv[1])
        print(json.dumps({**CHILD_WORK[spec["kind"]](spec), "peak_rss_mb": peak_memory_mb()}))
        return
    args = parse_args(argv)
    command, facts = command_line(__file__), machine_facts()
    started = time.perf_counter()
    work = Path(tempfile.mkdtemp(prefix="bench_train.", dir=args.workdir))
    try:
        store_info, cells = {"generator": "none"}, []
        if args.variants:
            print(f"generating {args.ratings:,} ratings ...", file=sys.stderr)
            files = {"store": str(work / "store"), "weights": str(work / "weights.npz")}
            store_info = in_child({"kind": "generate", "ratings": args.ratings,
                                   "movies": args.movies, "users": args.users, **files},
                                  "generate")
            if "error" in store_info:
                sys.exit("could not generate the synthetic data")
            cells = measure_cells(args, files)
        epoch = full_epoch(args, work) if args.full_epoch else None
    finally:
        shutil.rmtree(work, ignore_errors=True)
    seconds = time.perf_counter() - started
    measured = Measured(cells, epoch, args.contended)
    report = markdown(args, facts, measured, method(args, store_info), command, seconds,
                      OTHER_WORK if args.contended else "")
    print(report)
    raw = {"machine": facts, "command": command, "seconds": seconds, "data": store_info,
           "config": {k: v for k, v in vars(args).items() if k != "out"},
           "other_work": OTHER_WORK if args.contended else None, "cells": cells,
           "full_epoch": epoch,
           "targets": [dict(zip(("name", "goal", "measured", "met"), target.evaluate(measured)))
                       for target in TARGETS]}
    paths = write_report(args.out, report, raw)
    print("wrote " + " and ".join(map(str, paths)), file=sys.stderr)


if __name__ == "__main__":
    main()
