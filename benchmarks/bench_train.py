"""Training throughput and peak memory: our engines beside PyTorch and the seed's Keras code.

    python benchmarks/bench_train.py               # every variant x batch size x threads
    python benchmarks/bench_train.py --contended   # the same, one core kept busy meanwhile
    python benchmarks/bench_train.py --full-epoch  # ... plus one 100M-rating fit() epoch
    python benchmarks/bench_train.py --quick       # smoke test: tiny data, every variant

Every variant trains the seed model (Embedding 40 ‖ Embedding 40 → 64 → 64 → 64 → 1, mean
squared error) on the same synthetic ratings, with Netflix-size tables by default (the user
table's size is what makes dense PyTorch slow), from the same weights: ``RatingNet(seed=0)``'s,
saved once per run and loaded by every cell. ``VARIANTS`` below says what each variant runs:
our two engines, PyTorch as the seed would be translated and as it is made fast (sparse
gradients, torch.compile), and the seed's own Keras code.

Each (variant, batch size, threads) cell is a fresh process, so its thread settings and peak
memory are its own. Threads: a number n sets OMP/OPENBLAS/MKL_NUM_THREADS=n and is passed on
as ``fit(threads=n)`` passes it to our engines, or as ``torch.set_num_threads(n)``; ``auto``
sets nothing: each library's default (ours: ``fit``'s ``threads="auto"``). A cell warms up on a
few batches (torch.compile compiles, Numba loads its cached code), then ``--repeats`` times
draws a permutation (not timed) and trains whole batches for one pass or ``--seconds``. The
sweep over all cells runs ``--rounds`` times, so that every cell is sampled at several moments
of the run: this machine's speed drifts by itself over minutes (the same cell measured 1.4M
and 1.7M ratings/s minutes apart), and cells measured at one moment each would compare
moments, not variants. The table shows the median rate over every pass of every round and the
peak memory (VmHWM, reset after the warm-up). Ours are
timed through ``engine.train_batches``, the loop ``fit`` runs; the others take pre-shuffled
tensors (arrays for Keras), one step per batch. ``--contended`` keeps one core busy while each
cell runs (``OTHER_WORK``) and writes bench_train_contended.md beside the quiet report.

Results: markdown on stdout and in benchmarks/results/bench_train[_contended].md (``--out``),
raw numbers and the evaluated targets in the .json beside it.
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from benchmarks._common import (ChildFailed, describe_machine, json_from_child,  # noqa: E402
                                machine_facts, markdown_row, package_version, peak_memory_mb,
                                reset_peak_memory, write_report)

VARIANTS = {
    "numpy": "our reference engine: one NumPy step per batch",
    "numba": "our compiled engine",
    "torch-adadelta": "`TorchRatingNet` + `torch.optim.Adadelta(lr=1, rho=0.95, eps=1e-7)`, "
                      "dense embedding gradients: the seed's recipe, translated",
    "torch-sparseadam": "sparse embedding gradients + `SparseAdam`, `Adam` for the dense "
                        "layers: the usual way to make big embeddings fast in PyTorch",
    "torch-compile": "torch-sparseadam with the dense layers compiled by `torch.compile` "
                     "(inductor cannot make sparse gradients, so the lookups stay eager)",
    "keras": "the seed's own Keras code (Keras 3 on the PyTorch backend, eager) and its "
             "`train_on_batch`",
}
OURS = ("numpy", "numba")  # timed through engine.train_batches, the loop fit() runs
PEERS = tuple(name for name in VARIANTS if name not in OURS)
ONLY_AT = {"keras": (32, 1024)}  # batch sizes a slow variant runs at
BLAS_THREADS = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")
SPINNER = "while True: pass"
OTHER_WORK = (f"one `python -c '{SPINNER}'` process, not pinned, same priority, started before "
              "and stopped after each cell's process (and the epoch's)")
SEED = 0
WARM_UP_BATCHES = 5
CALLS_PER_BOX = 20  # aim for train() calls of about a twentieth of the time box
CELL_TIMEOUT = 1800  # seconds; a cell still running then is stopped and reported as failed
QUICK = dict(ratings=30_000, movies=500, users=3_000, epoch_ratings=100_000,
             batch_sizes="32,1024", threads="1,2,auto", repeats=1, rounds=1, seconds=0.3)


def netflix_sizes():
    """(ratings, movies, users) of the Netflix Prize, from the package.

    Imported here, not at the top: the PyTorch and Keras cells import this script and must
    not load Numba and the library, or their peak memory would not be their own.
    """
    from numpy_movievec.data.synthetic import NETFLIX_MOVIES, NETFLIX_RATINGS, NETFLIX_USERS
    return NETFLIX_RATINGS, NETFLIX_MOVIES, NETFLIX_USERS


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
    read directly, without importing the library (see `netflix_sizes`)."""
    store = Path(store)
    header = json.loads((store / "header.json").read_text())
    columns = [np.load(store / f"{name}.npy", mmap_mode="r")
               for name in ("movie", "user", "rating")]
    return (*columns, header["n_movies"], header["n_users"])


# ---------------------------------------------------------------------- the variants
#
# A trainer offers ``prepare(order)`` (untimed: adopt an epoch's shuffled order),
# ``train(first_batch, n_batches)`` (timed) and ``batches_per_call`` (how many batches one
# ``train`` call may take: the harness reads the clock between calls).

class EngineTrainer:
    """Our engine (``"numpy"`` or ``"numba"``), driven the way ``fit`` drives it."""

    def __init__(self, engine, data, weights, batch_size, threads):
        from numpy_movievec import Adadelta, RatingNet
        from numpy_movievec.nn.engines import ENGINES
        movie, user, rating, n_movies, n_users = data
        net = RatingNet(n_movies, n_users, seed=SEED)
        net.params = {name: weights[name] for name in net.params}  # the run's shared weights
        net.optimizer = Adadelta()  # the seed's: lr 1.0, rho 0.95, eps 1e-7
        movie, user, rating = net.check_batch(movie, user, rating)
        self.engine = ENGINES[engine](net, net.optimizer, movie, user, rating, threads=threads)
        self.batch_size = batch_size
        self.batches_per_call = max(1, self.engine.ratings_per_call // batch_size)

    def prepare(self, order):
        self.order = order

    def train(self, first_batch, n_batches):
        self.engine.train_batches(self.order, self.batch_size, first_batch, n_batches)


class PeerTrainer:
    """One framework step per batch, on columns gathered in the epoch's order beforehand."""

    batches_per_call = 1

    def __init__(self, data, batch_size, threads):
        import torch
        if threads != "auto":
            torch.set_num_threads(threads)
        self.movie, self.user, self.rating = data[:3]
        self.batch_size = batch_size

    def prepare(self, order):
        self.columns = self.gather(order)

    def train(self, first_batch, n_batches):
        size = self.batch_size
        for b in range(first_batch, first_batch + n_batches):
            self.step(*(column[b * size:(b + 1) * size] for column in self.columns))


class TorchTrainer(PeerTrainer):
    """`TorchRatingNet` from our weights, with the variant's optimizers (and compiler)."""

    def __init__(self, variant, data, weights, batch_size, threads):
        super().__init__(data, batch_size, threads)
        import torch

        from benchmarks.torch_seed import TorchRatingNet, mean_squared_error
        self.torch = torch
        model = TorchRatingNet.from_params(weights, sparse=variant != "torch-adadelta")
        if variant == "torch-adadelta":
            self.optimizers = [torch.optim.Adadelta(model.parameters(), lr=1.0, rho=0.95,
                                                    eps=1e-7)]
        else:
            embeddings = [model.movie_embedding.weight, model.user_embedding.weight]
            dense = [p for p in model.parameters() if all(p is not e for e in embeddings)]
            self.optimizers = [torch.optim.SparseAdam(embeddings), torch.optim.Adam(dense)]
        head = torch.compile(model.head) if variant == "torch-compile" else model.head
        self.loss = lambda movies, users, ratings: mean_squared_error(
            head(model.embed(movies, users)), ratings)

    def gather(self, order):
        torch = self.torch
        return (torch.from_numpy(self.movie[order].astype(np.int64)),
                torch.from_numpy(self.user[order].astype(np.int64)),
                torch.from_numpy(self.rating[order].astype(np.float32)))

    def step(self, movies, users, ratings):
        for optimizer in self.optimizers:
            optimizer.zero_grad(set_to_none=True)
        self.loss(movies, users, ratings).backward()
        for optimizer in self.optimizers:
            optimizer.step()


class KerasTrainer(PeerTrainer):
    """The seed's Keras model (`keras_seed_model`) from our weights, ``train_on_batch``."""

    def __init__(self, variant, data, weights, batch_size, threads):
        super().__init__(data, batch_size, threads)
        from benchmarks.torch_seed import keras_seed_model
        self.model = keras_seed_model(weights)

    def gather(self, order):
        return (self.movie[order].astype(np.int32)[:, None],  # (N, 1): the seed's inputs
                self.user[order].astype(np.int32)[:, None],
                self.rating[order].astype(np.float32)[:, None])

    def step(self, movies, users, ratings):
        self.model.train_on_batch([movies, users], ratings)


TRAINERS = {"numpy": EngineTrainer, "numba": EngineTrainer, "torch-adadelta": TorchTrainer,
            "torch-sparseadam": TorchTrainer, "torch-compile": TorchTrainer,
            "keras": KerasTrainer}


# ---------------------------------------------------------------------- the timing harness

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
    trainer = TRAINERS[spec["variant"]](spec["variant"], data, dict(np.load(spec["weights"])),
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


def child_main(spec):
    kinds = {"cell": measure_cell, "epoch": measure_full_epoch, "generate": generate_data,
             "compile": compile_kernels}
    result = kinds[spec["kind"]](spec)
    result["peak_rss_mb"] = peak_memory_mb()
    print(json.dumps(result))


# ====================================================================== the parent

def in_child(spec, label, threads="auto", contended=False):
    """Run ``spec`` in a fresh interpreter; its result, or ``{"error": ...}`` if it failed."""
    env = dict(os.environ)
    if threads != "auto":
        env.update({name: str(threads) for name in BLAS_THREADS})
    command = [sys.executable, str(Path(__file__).resolve()), "--child", json.dumps(spec)]
    with other_work(contended):
        try:
            return json_from_child(command, env, timeout=CELL_TIMEOUT)
        except ChildFailed as failure:
            print(f"  {label}: FAILED: {failure}\n{failure.stderr}", file=sys.stderr)
            return {"error": str(failure), "stderr": failure.stderr}


@contextmanager
def other_work(enabled):
    """With ``enabled``, keep one core busy for the block (`OTHER_WORK`)."""
    if not enabled:
        yield
        return
    spinner = subprocess.Popen([sys.executable, "-c", SPINNER])
    try:
        yield
    finally:
        spinner.kill()
        spinner.wait()


def measure_cells(args, files):
    if "numba" in args.variants:
        print("compiling (or loading) the Numba kernels ...", file=sys.stderr)
        in_child({"kind": "compile", "variant": "numba", "batch_size": args.batch_sizes[0],
                  "threads": "auto", **files}, "compile")
    cells = {}
    for round_number in range(1, args.rounds + 1):
        print(f"round {round_number} of {args.rounds}", file=sys.stderr)
        for batch_size in args.batch_sizes:
            for threads in args.threads:
                for variant in args.variants:
                    if batch_size not in ONLY_AT.get(variant, (batch_size,)):
                        continue
                    label = f"{variant}, batch {batch_size}, threads {threads}"
                    spec = {"kind": "cell", "variant": variant, "batch_size": batch_size,
                            "threads": threads, "repeats": args.repeats,
                            "seconds": args.seconds, **files}
                    result = in_child(spec, label, threads, args.contended)
                    if "rate" in result:
                        print(f"  {label}: {result['rate']:,.0f} ratings/s, "
                              f"peak {result['peak_rss_mb']:,.0f} MB", file=sys.stderr)
                    cell = cells.setdefault((variant, batch_size, threads),
                                            {"variant": variant, "batch_size": batch_size,
                                             "threads": threads, "rounds": []})
                    cell["rounds"].append(result)
    for cell in cells.values():
        cell["result"] = merged_rounds(cell["rounds"])
    return list(cells.values())


def merged_rounds(rounds):
    """A cell's result over its rounds: the median rate of all their passes, the highest peak
    memory; the first failure if any round failed."""
    failed = [result for result in rounds if "rate" not in result]
    if failed:
        return failed[0]
    runs = [run for result in rounds for run in result["runs"]]
    return {"runs": runs, "rate": statistics.median(run["rate"] for run in runs),
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


# ---------------------------------------------------------------------- what was measured

class Measured:
    """A run's cells and epoch, looked up the way the tables and the targets ask."""

    def __init__(self, cells, epoch, contended):
        self.results = {(c["variant"], c["batch_size"], c["threads"]): c["result"]
                        for c in cells}
        self.epoch = epoch
        self.load = "contended" if contended else "quiet"

    def rate(self, variant, batch_size, threads):
        return self.results.get((variant, batch_size, threads), {}).get("rate")

    def fastest_peer(self, batch_size):
        rates = [result.get("rate") for (variant, batch, _), result in self.results.items()
                 if variant in PEERS and batch == batch_size]
        return max(filter(None, rates), default=None)

    def versus_peers(self, batch_size, threads=2):
        return _ratio(self.rate("numba", batch_size, threads), self.fastest_peer(batch_size))

    def default_gain(self, batch_size):
        """Numba with the default threads ("auto") over Numba with one thread."""
        return _ratio(self.rate("numba", batch_size, "auto"), self.rate("numba", batch_size, 1))

    def netflix_epoch(self, key):
        """``key`` of the full epoch's result, if it was the 100M-rating epoch at batch 1024."""
        epoch = self.epoch or {}
        if epoch.get("ratings") == netflix_sizes()[0] and epoch.get("batch_size") == 1024:
            return epoch.get(key)
        return None


def _ratio(a, b):
    return a / b if a and b else None


@dataclass(frozen=True)
class Target:
    """One of issue 8's targets: what to read from a run, and the bound it must meet."""

    name: str
    unit: str  # "ratings/s", "×", "s" or "GB"
    measure: Callable[[Measured], float | None]
    at_least: float | None = None
    at_most: float | None = None
    load: str = "quiet"  # the run it is judged on: "quiet" or "contended"

    def goal(self):
        return (f"≥ {_show(self.at_least, self.unit, bound=True)}" if self.at_least is not None
                else f"≤ {_show(self.at_most, self.unit, bound=True)}")

    def evaluate(self, measured):
        """``(measured, verdict)`` as the targets table shows them."""
        value = self.measure(measured)
        if value is None:
            return "not measured", ""
        if self.load != measured.load:
            return _show(value, self.unit), f"n/a: judged on a {self.load} run"
        met = value >= self.at_least if self.at_least is not None else value <= self.at_most
        return _show(value, self.unit), "yes" if met else "no"


TARGETS = (
    Target("numba, batch 1024, 2 threads", "ratings/s",
           lambda m: m.rate("numba", 1024, 2), at_least=1.6e6),
    *(Target(f"numba (2 threads) ÷ fastest PyTorch/Keras cell, batch {batch}", "×",
             lambda m, batch=batch: m.versus_peers(batch), at_least=times)
      for batch, times in ((32, 20), (1024, 5), (4096, 5))),
    Target("numba, default threads ÷ 1 thread, batch 1024", "×",
           lambda m: m.default_gain(1024), at_least=1.8),
    Target("numba, default threads ÷ 1 thread, batch 1024, one core busy", "×",
           lambda m: m.default_gain(1024), at_least=0.9, load="contended"),
    Target("100M-rating fit() epoch, batch 1024", "s",
           lambda m: m.netflix_epoch("seconds"), at_most=63),
    Target("peak memory of that epoch", "GB",
           lambda m: _ratio(m.netflix_epoch("peak_rss_mb"), 1024), at_most=3),  # MB → GB
)


# ---------------------------------------------------------------------- the report

def cells_table(args, measured, field, show, versus_peers=False):
    """One row per (batch size, threads), one column per variant: ``show(result[field])``."""
    header = ["batch", "threads", *args.variants, *(["numba ÷ fastest peer"] * versus_peers)]
    lines = [markdown_row(header), markdown_row(["---:"] * len(header))]
    for batch_size in args.batch_sizes:
        for threads in args.threads:
            row = [batch_size, threads, *(
                _cell_text(measured.results.get((v, batch_size, threads)), field, show)
                for v in args.variants)]
            if versus_peers:
                row.append(_show(measured.versus_peers(batch_size, threads), "×"))
            lines.append(markdown_row(row))
    return lines


def threads_table(args, measured):
    """Numba with 1 and 2 threads and the default ("auto"), per batch size."""
    header = ["batch", "1 thread", "2 threads", "default (auto)", "default ÷ 1", "2 ÷ 1"]
    lines = [markdown_row(header), markdown_row(["---:"] * len(header))]
    for batch_size in args.batch_sizes:
        one, two, default = (measured.rate("numba", batch_size, t) for t in (1, 2, "auto"))
        lines.append(markdown_row([batch_size, *(_show(r, "ratings/s") for r in (one, two, default)),
                                   _show(_ratio(default, one), "×"), _show(_ratio(two, one), "×")]))
    return lines


def epoch_table(epoch):
    if epoch is None or "error" in epoch:
        return [f"Failed: {epoch['error']}" if epoch else "Not run (add `--full-epoch`)."]
    header = ["ratings", "batch", "threads", "epoch seconds", "ratings/s", "fit() wall seconds",
              "peak memory (GB)", "train RMSE"]
    return [markdown_row(header), markdown_row(["---:"] * len(header)),
            markdown_row([f"{epoch['ratings']:,}", epoch["batch_size"], epoch["threads"],
                          f"{epoch['seconds']:.1f}", f"{epoch['rate']:,.0f}",
                          f"{epoch['fit_wall_seconds']:.1f}",
                          f"{epoch['peak_rss_mb'] / 1024:.2f}", f"{epoch['train_rmse']:.4f}"])]


def targets_table(measured):
    lines = [markdown_row(["target", "goal", "measured", "met"]),
             markdown_row(["---", "---", "---:", "---"])]
    for target in TARGETS:
        lines.append(markdown_row([target.name, target.goal(), *target.evaluate(measured)]))
    return lines


def markdown(args, facts, measured, store_info, command, seconds):
    busy = ", one core kept busy" if args.contended else ""
    lines = [f"# Training throughput: our engines, PyTorch and the seed's Keras code{busy}", ""]
    if args.quick:
        lines += ["**QUICK SMOKE TEST: tiny tables and time boxes; the numbers mean nothing.**", ""]
    lines += [describe_machine(facts, OTHER_WORK if args.contended else ""), "",
              f"Command: `{command}` ({seconds / 60:.1f} min in all).", ""]
    if args.skipped:
        lines += [f"Not run (not installed): {', '.join(args.skipped)}.", ""]
    if measured.results:
        count = "{:,.0f}".format
        lines += [
            "Variants:", "", *(f"- **{name}**: {VARIANTS[name]}"
                               + (f" (batch {', '.join(map(str, ONLY_AT[name]))} only)"
                                  if name in ONLY_AT else "") for name in args.variants), "",
            f"Data: {args.ratings:,} synthetic ratings ({store_info['generator']}) of "
            f"{args.movies:,} movies × {args.users:,} users; the seed model, every variant "
            f"starting from `RatingNet(seed={SEED})`'s weights. One fresh process per cell: a "
            f"{WARM_UP_BATCHES}-batch warm-up, then {args.repeats} timed pass(es), each one "
            f"shuffled pass of whole batches or {args.seconds:g} s (the shuffle not timed); "
            f"the sweep over all cells ran {args.rounds} time(s), one round after another. "
            "Threads: a number sets OMP/OPENBLAS/MKL_NUM_THREADS and `threads=` (ours) or "
            "`torch.set_num_threads`; `auto` sets nothing (each library's default). Ours are "
            "timed through `engine.train_batches`, the loop `fit` runs; the others take "
            "pre-shuffled tensors (arrays for Keras), one step per batch.", "",
            f"## Ratings per second (median of {args.repeats * args.rounds} passes)", "",
            "\"numba ÷ fastest peer\": numba at this thread count over the fastest PyTorch or "
            "Keras cell at this batch size (any thread count). —: not run at this batch size.",
            "", *cells_table(args, measured, "rate", count, versus_peers=True), "",
            f"## Default threads against one thread (numba{busy})", "",
            *threads_table(args, measured), "",
            "## Peak memory per cell (MB)", "",
            "VmHWM of the cell's process during the timed passes (reset after the warm-up): "
            "interpreter and libraries (the PyTorch and Keras cells do not load Numba), model, "
            "optimizer state, the data pages touched, the shuffled order or gathered tensors.",
            "", *cells_table(args, measured, "peak_rss_mb", count), ""]
    lines += ["## One full epoch (`mv.fit`, Numba engine, data memory-mapped from a store)", "",
              *epoch_table(measured.epoch), "", "## Targets (issue 8)", "",
              *targets_table(measured)]
    return "\n".join(lines) + "\n"


def _cell_text(result, field, show):
    if result is None:
        return "—"
    if "error" in result:
        return "failed: " + result["error"][:80].replace("|", "/")
    return show(result[field])


def _show(value, unit, bound=False):
    """``value`` in ``unit`` as the tables show it (a target's bound, briefly)."""
    if value is None:
        return ""
    if bound:
        return {"ratings/s": f"{value / 1e6:g}M ratings/s", "×": f"{value:g}×"}.get(
            unit, f"{value:g} {unit}")
    return {"ratings/s": f"{value:,.0f}", "×": f"{value:.2f}×", "s": f"{value:.1f} s",
            "GB": f"{value:.2f} GB"}[unit]


# ---------------------------------------------------------------------- main

def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    add = parser.add_argument
    add("--batch-sizes", help="comma-separated (default 32,256,1024,4096)")
    add("--threads", help="comma-separated counts and/or auto (default 1,2,auto)")
    add("--variants", default=",".join(VARIANTS),
        help=f"comma-separated from {','.join(VARIANTS)}, or none (only the full epoch)")
    add("--repeats", type=int, help="time-boxed passes per cell and round (default 1)")
    add("--rounds", type=int, help="sweeps over all cells, one after another (default 3)")
    add("--seconds", type=float, help="time box per pass (default 3)")
    add("--ratings", type=int, help="ratings in the cells' data set (default 5M)")
    add("--quick", action="store_true", help="smoke test: tiny data, short time boxes")
    add("--contended", action="store_true", help="keep one core busy while each cell runs")
    add("--full-epoch", action="store_true", help="also time one fit() epoch of 100M ratings")
    add("--store", help="the full epoch's store: loaded if it exists, else generated and kept")
    add("--epoch-threads", default="auto", help="fit(threads=...) for the full epoch (auto)")
    add("--epoch-ratings", type=int, help=argparse.SUPPRESS)
    add("--epoch-batch", type=int, default=1024, help=argparse.SUPPRESS)
    add("--workdir", default=tempfile.gettempdir(), help="for temporary data (deleted after)")
    add("--out", help="markdown report (default benchmarks/results/bench_train[_contended].md, "
        "with --quick a temporary file); the JSON goes beside it")
    add("--child", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        return args
    netflix_ratings, netflix_movies, netflix_users = netflix_sizes()
    full = dict(ratings=5_000_000, movies=netflix_movies, users=netflix_users,
                epoch_ratings=netflix_ratings, batch_sizes="32,256,1024,4096",
                threads="1,2,auto", repeats=1, rounds=3, seconds=3.0)
    for name, value in (QUICK if args.quick else full).items():
        if getattr(args, name, None) is None:
            setattr(args, name, value)
    try:
        args.batch_sizes = [int(x) for x in str(args.batch_sizes).split(",")]
        args.threads = [_threads(x) for x in args.threads.split(",")]
        args.epoch_threads = _threads(args.epoch_threads)
    except ValueError as error:
        parser.error(f"batch sizes are whole numbers, thread counts too or 'auto': {error}")
    args.variants = [] if args.variants == "none" else args.variants.split(",")
    unknown = set(args.variants) - set(VARIANTS)
    if unknown:
        parser.error(f"unknown variant(s) {sorted(unknown)}; choose from {', '.join(VARIANTS)}")
    args.skipped = [v for v in args.variants if v in PEERS
                    and package_version("keras" if v == "keras" else "torch") is None]
    args.variants = [v for v in args.variants if v not in args.skipped]
    if args.out is None:
        name = "bench_train_contended" if args.contended else "bench_train"
        args.out = (Path(tempfile.gettempdir()) / f"{name}.quick.md" if args.quick
                    else ROOT / "benchmarks" / "results" / f"{name}.md")
    return args


def _threads(text):
    return text if text == "auto" else int(text)


def main(argv=None):
    args = parse_args(argv)
    if args.child:
        return child_main(json.loads(args.child))
    command = "python " + " ".join(shlex.quote(a) for a in
                                   [os.path.relpath(__file__, ROOT), *sys.argv[1:]])
    facts = machine_facts()
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
    report = markdown(args, facts, measured, store_info, command, seconds)
    print(report)
    raw = {"machine": facts, "command": command, "seconds": seconds, "data": store_info,
           "config": {k: v for k, v in vars(args).items() if k not in ("child", "out")},
           "other_work": OTHER_WORK if args.contended else None, "cells": cells,
           "full_epoch": epoch,
           "targets": [dict(zip(("name", "goal", "measured", "met"),
                                (t.name, t.goal(), *t.evaluate(measured)))) for t in TARGETS]}
    paths = write_report(args.out, report, raw)
    print("wrote " + " and ".join(map(str, paths)), file=sys.stderr)


if __name__ == "__main__":
    main()
