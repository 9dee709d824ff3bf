"""Training throughput and peak memory: NumPy reference, Numba engine, and PyTorch, side by side.

    python benchmarks/bench_train.py               # 4 variants x 4 batch sizes x 1, 2 threads
    python benchmarks/bench_train.py --full-epoch  # ... plus one timed 100M-rating epoch
    python benchmarks/bench_train.py --quick       # smoke test: tiny data, a minute or two

What is measured. Four variants train the seed model (Embedding 40 ‖ Embedding 40 → 64 → 64 →
64 → 1, mean squared error) on the same synthetic Netflix-shaped ratings, with full-size tables
(17,770 movies × 480,189 users — the user table's size is what makes dense PyTorch slow):

    numpy             our reference engine (``fit(engine="numpy")``): NumPy, one batch per step
    numba             our compiled engine (``fit(engine="numba")``)
    torch-adadelta    benchmarks/torch_seed.TorchRatingNet + torch.optim.Adadelta(lr=1, rho=0.95,
                      eps=1e-7), dense embedding gradients: the seed's recipe, translated
    torch-sparseadam  TorchRatingNet(sparse=True) + SparseAdam (embeddings) + Adam (dense layers):
                      the usual way to make big embeddings fast in PyTorch

How. Each (variant, batch size, threads) cell runs in its own fresh subprocess with
OMP/OPENBLAS/MKL/NUMBA_NUM_THREADS set to the thread count (plus ``torch.set_num_threads`` or
Numba's ``set_num_threads``, as ``fit(threads=...)`` does), so thread settings are clean and its
peak memory is its own. The child warms up (a few batches: loads Numba's cached machine code,
allocates optimizer state), then measures ``--repeats`` times: draw a fresh permutation of the
data (not timed, for every variant), then train batches until one pass over the data is done
or ``--seconds`` have passed, and divide the ratings trained by the time taken. The table
reports the median, and the peak RSS of the timed passes (the high-water mark is reset after
the warm-up: resident libraries, model, optimizer state, the data pages touched and the
shuffled order count; a one-off Numba compilation does not).

Our engines are timed through ``engine.train_batches`` — the loop ``fit`` runs, minus its
progress line and per-call loss bookkeeping — so a measurement can stop at the time box (calls
start at one batch and grow to ``fit``'s call size within a fraction of a second; see
`time_box`). PyTorch gets the equivalent: index and rating tensors gathered in the shuffled
order beforehand, then per batch a slice, ``zero_grad(set_to_none=True)``, forward,
``backward()``, ``step()``. All variants start from the same Keras initialisation (uniform
±0.05 embeddings, Glorot weights).

``--full-epoch`` adds the end-to-end number: 100,480,507 synthetic ratings (generated, or loaded
from ``--store``), one ``mv.fit`` epoch at batch 1024 with the Numba engine on 2 threads, data
memory-mapped from the store; reports the epoch's seconds (``History.seconds``), ratings/s and
the peak RSS of the epoch (high-water mark reset after a few-batch warm-up ``fit``).

Results: a markdown table on stdout and in benchmarks/results/bench_train.md, raw numbers in
benchmarks/results/bench_train.json, with the machine and the command line.
"""

from __future__ import annotations

import argparse
import datetime
import importlib.metadata
import json
import os
import platform
import resource
import shlex
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

RESULTS = ROOT / "benchmarks" / "results" / "bench_train.md"
NETFLIX_RATINGS, NETFLIX_MOVIES, NETFLIX_USERS = 100_480_507, 17_770, 480_189
OURS = ("numpy", "numba")
TORCH = ("torch-adadelta", "torch-sparseadam")
VARIANTS = OURS + TORCH
THREAD_VARIABLES = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS",
                    "NUMBA_NUM_THREADS")
WARM_UP_BATCHES = 5
CALLS_PER_BOX = 20  # aim for train() calls of about a twentieth of the time box
BUSY_LOAD = 0.5  # a 1-minute load average above this before the run: not a quiet machine
SEED = 0
DIM, HIDDEN = 40, (64, 64, 64)

QUICK = dict(ratings=200_000, movies=2_000, users=20_000, epoch_ratings=300_000,
             batch_sizes="32,1024", threads="1", repeats=1, seconds=0.5)
FULL = dict(ratings=5_000_000, movies=NETFLIX_MOVIES, users=NETFLIX_USERS,
            epoch_ratings=NETFLIX_RATINGS, batch_sizes="32,256,1024,4096", threads="1,2",
            repeats=3, seconds=3.0)


# ====================================================================== in a child process

# ---------------------------------------------------------------------- data

def generate_data(spec):
    """Write ``spec["ratings"]`` synthetic ratings as a Ratings store (``.npy`` columns)."""
    from numpy_movievec.data.ratings import Ratings
    directory, n_ratings = spec["store"], spec["ratings"]
    n_movies, n_users = spec["movies"], spec["users"]
    started = time.perf_counter()
    try:
        from numpy_movievec.data.synthetic import synthetic
        ratings = synthetic(n_ratings, n_movies=n_movies, n_users=n_users, seed=SEED)
        generator = f"numpy_movievec synthetic(seed={SEED})"
    except ImportError:  # the generator is not there: heavy-tailed random pairs will do
        movie, user, rating = _random_ratings(n_ratings, n_movies, n_users)
        ratings = Ratings(movie, user, rating, n_movies=n_movies, n_users=n_users)
        generator = f"log-normal random pairs (seed={SEED}), bench_train fallback"
    ratings.save(directory)
    return {"generator": generator, "seconds": time.perf_counter() - started}


def _random_ratings(n_ratings, n_movies, n_users):
    """Log-normal movie popularity and user activity, Netflix's star histogram; repeats allowed."""
    rng = np.random.default_rng(SEED)

    def heavy_tailed(n, sigma):
        weights = np.exp(sigma * rng.standard_normal(n))
        return np.searchsorted(np.cumsum(weights / weights.sum()), rng.random(n_ratings))

    movie = np.minimum(heavy_tailed(n_movies, 1.5), n_movies - 1).astype(np.int32)
    user = np.minimum(heavy_tailed(n_users, 1.1), n_users - 1).astype(np.int32)
    rating = rng.choice(np.arange(1, 6, dtype=np.int8), n_ratings,
                        p=[0.046, 0.101, 0.287, 0.336, 0.230])
    return movie, user, rating


def load_columns(store):
    """``(movie, user, rating, n_movies, n_users)`` memory-mapped from a store directory.

    Read directly (not through ``Ratings.load``) so the PyTorch children import neither Numba
    nor this library, and their peak memory is PyTorch's own.
    """
    store = Path(store)
    header = json.loads((store / "header.json").read_text())
    columns = [np.load(store / f"{name}.npy", mmap_mode="r")
               for name in ("movie", "user", "rating")]
    return (*columns, header["n_movies"], header["n_users"])


# ---------------------------------------------------------------------- the variants
#
# A trainer offers ``prepare(order)`` (untimed: adopt an epoch's shuffled order),
# ``train(first_batch, n_batches)`` (timed) and ``batches_per_call`` (how many batches one
# ``train`` call should take: the harness checks the clock between calls).

class EngineTrainer:
    """Our engine (``"numpy"`` or ``"numba"``), driven the way ``fit`` drives it."""

    def __init__(self, engine, data, batch_size):
        from numpy_movievec.nn import Adadelta, RatingNet
        from numpy_movievec.nn.engines import ENGINES
        movie, user, rating, n_movies, n_users = data
        net = RatingNet(n_movies, n_users, dim=DIM, hidden=HIDDEN, seed=SEED)
        net.optimizer = Adadelta(lr=1.0, rho=0.95, eps=1e-7)
        movie, user, rating = net.check_batch(movie, user, rating)
        self.engine = ENGINES[engine](net, net.optimizer, movie, user, rating)
        self.batch_size = batch_size
        self.batches_per_call = max(1, self.engine.ratings_per_call // batch_size)

    def prepare(self, order):
        self.order = order

    def train(self, first_batch, n_batches):
        self.engine.train_batches(self.order, self.batch_size, first_batch, n_batches)


class TorchTrainer:
    """`TorchRatingNet` with the given optimizers; batches sliced from pre-shuffled tensors."""

    batches_per_call = 1

    def __init__(self, data, batch_size, sparse, make_optimizers):
        import torch

        from benchmarks.torch_seed import TorchRatingNet, mse_loss
        self.torch, self.mse_loss = torch, mse_loss
        self.movie, self.user, self.rating, n_movies, n_users = data
        self.model = keras_initialised(
            TorchRatingNet(n_movies, n_users, dim=DIM, hidden=HIDDEN, sparse=sparse))
        self.optimizers = make_optimizers(self.model)
        self.batch_size = batch_size

    def prepare(self, order):
        torch = self.torch
        self.movies = torch.from_numpy(self.movie[order].astype(np.int64))
        self.users = torch.from_numpy(self.user[order].astype(np.int64))
        self.ratings = torch.from_numpy(self.rating[order].astype(np.float32))

    def train(self, first_batch, n_batches):
        size = self.batch_size
        for b in range(first_batch, first_batch + n_batches):
            batch = slice(b * size, (b + 1) * size)
            for optimizer in self.optimizers:
                optimizer.zero_grad(set_to_none=True)
            loss = self.mse_loss(self.model, self.movies[batch], self.users[batch],
                                 self.ratings[batch])
            loss.backward()
            for optimizer in self.optimizers:
                optimizer.step()


def keras_initialised(model):
    """The seed's (Keras) initialisation, as ``RatingNet`` uses: embeddings U(±0.05), Glorot, 0."""
    import torch
    with torch.no_grad():
        for embedding in (model.movie_embedding, model.user_embedding):
            embedding.weight.uniform_(-0.05, 0.05)
        for layer in (*model.hidden, model.output):
            torch.nn.init.xavier_uniform_(layer.weight)
            layer.bias.zero_()
    return model


def adadelta(model):
    import torch
    return [torch.optim.Adadelta(model.parameters(), lr=1.0, rho=0.95, eps=1e-7)]


def sparse_adam(model):
    import torch
    embeddings = [model.movie_embedding.weight, model.user_embedding.weight]
    dense = [p for p in model.parameters() if all(p is not e for e in embeddings)]
    return [torch.optim.SparseAdam(embeddings), torch.optim.Adam(dense)]


def make_trainer(variant, data, batch_size):
    if variant in OURS:
        return EngineTrainer(variant, data, batch_size)
    return TorchTrainer(data, batch_size, sparse=variant == "torch-sparseadam",
                        make_optimizers=sparse_adam if variant == "torch-sparseadam" else adadelta)


# ---------------------------------------------------------------------- the timing harness

def time_box(trainer, order, batch_size, seconds):
    """Train one pass over ``order``, or until ``seconds`` have passed; return (ratings, seconds).

    The clock is read between ``train`` calls. Calls start at one batch and grow (at most 8×
    at a time) towards ``seconds / CALLS_PER_BOX`` each, up to the trainer's own
    ``batches_per_call``: a fast engine soon runs at its native call size, a slow one (or one
    starved of cores) cannot overrun the box by more than a short call.
    """
    trainer.prepare(order)
    n_batches = -(-len(order) // batch_size)
    done, count = 0, 1
    started = now = time.perf_counter()
    while done < n_batches and now - started < seconds:
        count = min(count, n_batches - done)
        trainer.train(done, count)
        done += count
        call_started, now = now, time.perf_counter()
        wanted = count * (seconds / CALLS_PER_BOX) / max(now - call_started, 1e-9)
        count = int(max(1, min(wanted, 8 * count, trainer.batches_per_call)))
    elapsed = now - started
    return min(done * batch_size, len(order)), elapsed


def measure_cell(spec):
    """One (variant, batch size, threads) cell: warm up, then ``repeats`` time-boxed passes."""
    variant, batch_size, threads = spec["variant"], spec["batch_size"], spec["threads"]
    data = load_columns(spec["store"])
    n_ratings = len(data[0])
    with thread_limit(variant, threads):
        started = time.perf_counter()
        trainer = make_trainer(variant, data, batch_size)
        warm_up = np.random.default_rng([SEED, 0]).permutation(n_ratings)
        warm_up = warm_up[:WARM_UP_BATCHES * batch_size]
        time_box(trainer, warm_up, batch_size, seconds=float("inf"))
        warm_up_seconds = time.perf_counter() - started
        warm_up_peak = reset_peak_rss()
        runs = []
        for repeat in range(1, spec["repeats"] + 1):
            order = np.random.default_rng([SEED, repeat]).permutation(n_ratings)
            trained, seconds = time_box(trainer, order, batch_size, spec["seconds"])
            runs.append({"ratings": trained, "seconds": seconds, "rate": trained / seconds})
            del order
    result = {"runs": runs, "rate": statistics.median(run["rate"] for run in runs),
              "warm_up_seconds": warm_up_seconds, "warm_up_peak_rss_mb": warm_up_peak}
    if variant == "numba":
        import numba
        result["threading_layer"] = numba.threading_layer()
    return result


@contextmanager
def thread_limit(variant, threads):
    """PyTorch's or Numba's thread count for the block (the environment variables are set too)."""
    if variant in TORCH:
        import torch
        torch.set_num_threads(threads)
        yield
    else:
        from numpy_movievec.nn.engines import numba_threads
        with numba_threads(threads):  # what fit(threads=...) uses
            yield


def measure_full_epoch(spec):
    """One ``mv.fit`` epoch over the whole store (memory-mapped), Numba engine."""
    import numba

    import numpy_movievec as mv
    from numpy_movievec.data.ratings import Ratings
    ratings = Ratings.load(spec["store"], mmap=True)
    net = mv.RatingNet(ratings.n_movies, ratings.n_users, dim=DIM, hidden=HIDDEN, seed=SEED)
    options = dict(epochs=1, batch_size=spec["batch_size"], engine="numba",
                   threads=spec["threads"], seed=SEED, progress=False)
    warm_up = ratings.rows(slice(0, WARM_UP_BATCHES * spec["batch_size"]))
    mv.fit(net, warm_up, **options)  # loads the compiled kernels for these very array types
    warm_up_peak = reset_peak_rss()
    started = time.perf_counter()
    history = mv.fit(net, ratings, **options)
    wall = time.perf_counter() - started
    seconds = history.seconds[-1]
    return {"ratings": len(ratings), "seconds": seconds, "rate": len(ratings) / seconds,
            "fit_wall_seconds": wall, "train_rmse": history.train_rmse[-1],
            "warm_up_peak_rss_mb": warm_up_peak, "threading_layer": numba.threading_layer()}


def peak_rss_mb():
    """This process's peak resident memory so far (since the last `reset_peak_rss`), in MB.

    VmHWM, not ``ru_maxrss``: after a fork and exec, ``ru_maxrss`` starts from the parent's
    peak, so a small child would report the parent's memory.
    """
    status = Path("/proc/self/status")
    if status.exists():
        for line in status.read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def reset_peak_rss():
    """Return the peak so far, then restart the high-water mark (Linux: /proc/self/clear_refs).

    Called after the warm-up, so the reported peak is the training's: what stays resident
    (libraries, model, optimizer state) counts, a one-off Numba compilation does not. Where
    the reset is refused, the peak simply keeps including the warm-up.
    """
    peak = peak_rss_mb()
    try:
        Path("/proc/self/clear_refs").write_text("5")
    except OSError:
        pass
    return peak


def run_child(spec):
    kinds = {"cell": measure_cell, "epoch": measure_full_epoch, "generate": generate_data}
    result = kinds[spec["kind"]](spec)
    result["peak_rss_mb"] = peak_rss_mb()
    print(json.dumps(result))


# ====================================================================== the parent

def in_child(spec, threads=None, label=""):
    """Run ``spec`` in a fresh interpreter (thread variables set); its JSON result or None."""
    env = dict(os.environ)
    if threads is not None:
        env.update({name: str(threads) for name in THREAD_VARIABLES})
    command = [sys.executable, str(Path(__file__).resolve()), "--child", json.dumps(spec)]
    done = subprocess.run(command, capture_output=True, text=True, env=env)
    if done.returncode:
        print(f"  {label}: FAILED\n{_indent(done.stderr[-3000:])}", file=sys.stderr)
        return None
    return json.loads(done.stdout.strip().splitlines()[-1])


def measure_cells(args, store):
    cells = []
    for batch_size in args.batch_sizes:
        for threads in args.threads:
            for variant in args.variants:
                label = f"{variant}, batch {batch_size}, {threads} thread(s)"
                spec = {"kind": "cell", "variant": variant, "batch_size": batch_size,
                        "threads": threads, "store": str(store), "repeats": args.repeats,
                        "seconds": args.seconds}
                result = in_child(spec, threads, label)
                if result:
                    print(f"  {label}: {result['rate']:,.0f} ratings/s, "
                          f"peak {result['peak_rss_mb']:,.0f} MB", file=sys.stderr)
                cells.append({"variant": variant, "batch_size": batch_size, "threads": threads,
                              "result": result})
    return cells


def full_epoch(args, work):
    """Generate (or reuse ``--store``) the big data set, then time one epoch in a child."""
    store = Path(args.store) if args.store else work / "epoch-store"
    generated = None
    if not (store / "header.json").exists():
        print(f"generating {args.epoch_ratings:,} ratings into {store} ...", file=sys.stderr)
        generated = in_child({"kind": "generate", "store": str(store),
                              "ratings": args.epoch_ratings, "movies": args.movies,
                              "users": args.users}, label="generate")
        if generated is None:
            return None
    print(f"timing one epoch over {store} ...", file=sys.stderr)
    result = in_child({"kind": "epoch", "store": str(store), "batch_size": args.epoch_batch,
                       "threads": args.epoch_threads}, args.epoch_threads, "full epoch")
    if result:
        result.update(store=str(store), batch_size=args.epoch_batch, threads=args.epoch_threads,
                      generator=(generated or {}).get("generator", "loaded from --store"))
        print(f"  full epoch: {result['seconds']:.1f} s, {result['rate']:,.0f} ratings/s, "
              f"peak {result['peak_rss_mb'] / 1024:.2f} GB", file=sys.stderr)
    return result


# ---------------------------------------------------------------------- the report

def machine():
    """What the numbers were measured on."""
    info = {"cpu": _cpu_model(), "cores": os.cpu_count(), "ram_gb": _ram_gb(),
            "os": platform.platform(), "python": platform.python_version(),
            "numpy": np.__version__, "numba": _version("numba"), "torch": _torch_version(),
            "date": datetime.datetime.now().astimezone().isoformat(timespec="seconds"),
            "load_average_before": list(os.getloadavg())}
    info.update({name: os.environ.get(name, "unset") for name in ("OPENBLAS_CORETYPE",)})
    return info


def _cpu_model():
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            return line.split(":", 1)[1].strip()
    return platform.processor() or platform.machine()


def _ram_gb():
    for line in Path("/proc/meminfo").read_text().splitlines():
        if line.startswith("MemTotal:"):
            return round(int(line.split()[1]) / 2**20, 1)
    return None


def _torch_version():
    return _version("torch")


def _version(package):
    """An installed package's version, without importing it (the parent stays small)."""
    try:
        return importlib.metadata.version(package)
    except importlib.metadata.PackageNotFoundError:
        return None


def _rate(cell):
    return cell["result"]["rate"] if cell and cell["result"] else None


def best_torch(cells, batch_size, threads=None):
    """The fastest PyTorch cell at ``batch_size`` (and ``threads``, if given), or None."""
    rates = [_rate(c) for c in cells if c["variant"] in TORCH and c["batch_size"] == batch_size
             and threads in (None, c["threads"]) and _rate(c)]
    return max(rates, default=None)


def throughput_table(args, cells):
    index = {(c["variant"], c["batch_size"], c["threads"]): c for c in cells}
    ours = [v for v in OURS if v in args.variants]
    header = ["batch", "threads", *args.variants, *(f"{v} ÷ best torch" for v in ours)]
    lines = [_row(header), _row(["---:"] * len(header))]
    for batch_size in args.batch_sizes:
        for threads in args.threads:
            rates = {v: _rate(index.get((v, batch_size, threads))) for v in args.variants}
            rival = best_torch(cells, batch_size, threads)
            speedups = [_times(rates[v], rival) for v in ours]
            lines.append(_row([batch_size, threads, *(_count(rates[v]) for v in args.variants),
                               *speedups]))
    return lines


def memory_table(args, cells):
    index = {(c["variant"], c["batch_size"], c["threads"]): c for c in cells}
    header = ["batch", "threads", *args.variants]
    lines = [_row(header), _row(["---:"] * len(header))]
    for batch_size in args.batch_sizes:
        for threads in args.threads:
            peaks = []
            for variant in args.variants:
                cell = index.get((variant, batch_size, threads))
                peaks.append(f"{cell['result']['peak_rss_mb']:,.0f}" if cell and cell["result"]
                             else "failed")
            lines.append(_row([batch_size, threads, *peaks]))
    return lines


def epoch_table(epoch):
    if epoch is None:
        return ["Not run (add `--full-epoch`), or it failed: see stderr."]
    return [_row(["ratings", "batch", "threads", "epoch seconds", "ratings/s",
                  "fit() wall seconds", "peak RSS (GB)", "train RMSE"]),
            _row(["---:"] * 8),
            _row([f"{epoch['ratings']:,}", epoch["batch_size"], epoch["threads"],
                  f"{epoch['seconds']:.1f}", _count(epoch["rate"]),
                  f"{epoch['fit_wall_seconds']:.1f}", f"{epoch['peak_rss_mb'] / 1024:.2f}",
                  f"{epoch['train_rmse']:.4f}"])]


def targets_table(args, cells, epoch):
    """The issue's targets against what this run measured (blank where not measured)."""
    index = {(c["variant"], c["batch_size"], c["threads"]): c for c in cells}
    numba_1024 = _rate(index.get(("numba", 1024, 2)))
    torch_fastest = max((_rate(c) for c in cells if c["variant"] in TORCH and _rate(c)),
                        default=None)
    numba_32 = max((_rate(c) for c in cells if c["variant"] == "numba" and c["batch_size"] == 32
                    and _rate(c)), default=None)
    torch_32 = best_torch(cells, 32)
    rows = [
        ("Numba at batch 1024, 2 threads (time-boxed cells)", "≥ 1.6M ratings/s",
         numba_1024 and _count(numba_1024), numba_1024 and numba_1024 >= 1.6e6),
        ("... vs PyTorch's fastest cell in this run", "≥ 5×",
         _times(numba_1024, torch_fastest), numba_1024 and torch_fastest
         and numba_1024 >= 5 * torch_fastest),
        ("Numba vs PyTorch at batch 32 (best thread count each)", "≥ 20×",
         _times(numba_32, torch_32), numba_32 and torch_32 and numba_32 >= 20 * torch_32),
        *epoch_targets(epoch),
    ]
    lines = [_row(["target", "goal", "measured", "met"]), _row(["---", "---", "---:", "---"])]
    for name, goal, measured, met in rows:
        verdict = "" if not measured else met if isinstance(met, str) else "yes" if met else "no"
        lines.append(_row([name, goal, measured or "not measured", verdict]))
    return lines


def epoch_targets(epoch):
    """The full epoch's two targets; only a 100,480,507-rating epoch at batch 1024 counts."""
    names = ("100M-rating epoch at batch 1024, 2 threads", "peak RSS of the 100M-rating epoch")
    if epoch is None:
        return [(names[0], "≤ 60 s", None, None), (names[1], "≤ 3 GB", None, None)]
    counts = (epoch["ratings"] == NETFLIX_RATINGS and epoch["batch_size"] == 1024
              and epoch["threads"] == 2)
    peak_gb = epoch["peak_rss_mb"] / 1024
    caveat = "n/a: not the 100M/1024/2-thread epoch"
    return [(names[0], "≤ 60 s", f"{epoch['seconds']:.1f} s",
             epoch["seconds"] <= 60 if counts else caveat),
            (names[1], "≤ 3 GB", f"{peak_gb:.2f} GB", peak_gb <= 3 if counts else caveat)]


def markdown(args, info, cells, epoch, store_info, command, seconds):
    layer = next((c["result"]["threading_layer"] for c in cells
                  if c["variant"] == "numba" and c["result"]), (epoch or {}).get("threading_layer"))
    busy = args.contended or info["load_average_before"][0] > BUSY_LOAD
    contended = " — other work shared the machine: rates are lower bounds" if busy else ""
    lines = [
        "# Training throughput: NumPy reference, Numba engine, PyTorch",
        "",
        *(["**QUICK SMOKE TEST: tiny tables and time boxes; the numbers mean nothing.**", ""]
          if args.quick else []),
        f"Machine: {info['cpu']}, {info['cores']} cores, {info['ram_gb']} GB RAM, {info['os']}; "
        f"Python {info['python']}, NumPy {info['numpy']}, Numba {info['numba']} "
        f"(threading layer {layer or 'not reached'}), PyTorch {info['torch'] or 'not installed'}. "
        f"{info['date']}. Load average before / after: "
        f"{_loads(info['load_average_before'])} / {_loads(info['load_average_after'])}{contended}.",
        "",
        f"Command: `{command}` ({seconds / 60:.1f} min in all).",
        "",
    ]
    if cells:
        lines += cell_sections(args, cells, store_info)
    lines += ["## One full epoch (`mv.fit`, Numba engine, data memory-mapped from a store)", "",
              *epoch_table(epoch), "",
              "## Targets (issue 4)", "", *targets_table(args, cells, epoch)]
    return "\n".join(lines) + "\n"


def cell_sections(args, cells, store_info):
    return [
        f"Data: {args.ratings:,} synthetic ratings ({store_info['generator']}) of "
        f"{args.movies:,} movies × {args.users:,} users; model {DIM}-dim embeddings, hidden "
        f"{'-'.join(map(str, HIDDEN))}. Each cell is a fresh process with "
        "OMP/OPENBLAS/MKL/NUMBA_NUM_THREADS = threads; after a "
        f"{WARM_UP_BATCHES}-batch warm-up, {args.repeats} passes, each stopping after one "
        f"shuffled pass over the data or {args.seconds:g} s (the shuffle itself not timed). "
        "Ours: `engine.train_batches`, the loop `fit` runs; PyTorch: pre-shuffled tensors, "
        "`zero_grad(set_to_none=True)`, `backward()`, `step()`.",
        "",
        f"## Ratings per second (median of {args.repeats})",
        "",
        "\"÷ best torch\": our rate over the faster PyTorch variant at the same batch size and "
        "thread count.",
        "",
        *throughput_table(args, cells),
        "",
        "## Peak RSS per cell (MB)",
        "",
        "High-water mark (VmHWM) of the cell's process during the timed passes (reset after the "
        "warm-up, so a one-off Numba compilation does not count): interpreter and libraries "
        "(PyTorch children do not import Numba), model, optimizer state, the data pages it "
        "touched, the shuffled order (PyTorch: the gathered index and rating tensors).",
        "",
        *memory_table(args, cells),
        "",
    ]


def _row(values):
    return "| " + " | ".join(str(v) for v in values) + " |"


def _count(rate):
    return f"{rate:,.0f}" if rate else "failed"


def _times(rate, rival):
    return f"{rate / rival:.1f}×" if rate and rival else ""


def _loads(loads):
    return " ".join(f"{x:.2f}" for x in loads)


def _indent(text):
    return "\n".join("    " + line for line in text.splitlines())


# ---------------------------------------------------------------------- main

def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--batch-sizes", help="comma-separated (default 32,256,1024,4096)")
    parser.add_argument("--threads", help="comma-separated thread counts (default 1,2)")
    parser.add_argument("--variants", default=",".join(VARIANTS),
                        help=f"comma-separated from {','.join(VARIANTS)}, or 'none' "
                        "(only the full epoch)")
    parser.add_argument("--repeats", type=int, help="time-boxed passes per cell (default 3)")
    parser.add_argument("--seconds", type=float, help="time box per pass (default 3)")
    parser.add_argument("--ratings", type=int, help="ratings in the cells' data set (default 5M)")
    parser.add_argument("--quick", action="store_true",
                        help="smoke test: tiny tables and data, short time boxes")
    parser.add_argument("--full-epoch", action="store_true",
                        help="also time one fit() epoch over 100,480,507 ratings (minutes)")
    parser.add_argument("--store", help="store directory for the full epoch's data: loaded if "
                        "it exists, else generated there and kept (default: a temporary one)")
    parser.add_argument("--epoch-ratings", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--epoch-batch", type=int, default=1024, help=argparse.SUPPRESS)
    parser.add_argument("--epoch-threads", type=int, default=2, help=argparse.SUPPRESS)
    parser.add_argument("--workdir", default=tempfile.gettempdir(),
                        help="where temporary data goes (deleted afterwards)")
    parser.add_argument("--contended", action="store_true",
                        help="note in the report that other work shared the machine (noted "
                        f"anyway when the load average before the run is above {BUSY_LOAD})")
    parser.add_argument("--out", help="markdown report (default benchmarks/results/bench_train.md;"
                        " with --quick, a temporary file); the JSON goes beside it")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        return args
    defaults = QUICK if args.quick else FULL
    for name, value in defaults.items():
        if getattr(args, name, None) is None:
            setattr(args, name, value)
    args.batch_sizes = _ints(args.batch_sizes)
    args.threads = _ints(args.threads)
    args.variants = [] if args.variants == "none" else args.variants.split(",")
    unknown = set(args.variants) - set(VARIANTS)
    if unknown:
        parser.error(f"unknown variant(s) {sorted(unknown)}; choose from {', '.join(VARIANTS)}")
    if any(v in TORCH for v in args.variants) and _torch_version() is None:
        print("PyTorch is not installed: skipping the torch variants", file=sys.stderr)
        args.variants = [v for v in args.variants if v not in TORCH]
    if args.out is None:
        args.out = (Path(tempfile.gettempdir()) / "bench_train.quick.md" if args.quick
                    else RESULTS)
    return args


def _ints(text):
    return [int(x) for x in str(text).split(",") if x]


def main(argv=None):
    args = parse_args(argv)
    if args.child:
        return run_child(json.loads(args.child))
    command = "python " + " ".join(shlex.quote(a) for a in
                                   [os.path.relpath(__file__, ROOT), *sys.argv[1:]])
    info = machine()
    started = time.perf_counter()
    work = Path(tempfile.mkdtemp(prefix="bench_train.", dir=args.workdir))
    try:
        store_info, cells = {"generator": "none"}, []
        if args.variants:
            print(f"generating {args.ratings:,} ratings ...", file=sys.stderr)
            store_info = in_child({"kind": "generate", "store": str(work / "store"),
                                   "ratings": args.ratings, "movies": args.movies,
                                   "users": args.users}, label="generate")
            if store_info is None:
                sys.exit("could not generate the synthetic data")
            cells = measure_cells(args, work / "store")
        epoch = full_epoch(args, work) if args.full_epoch else None
    finally:
        shutil.rmtree(work, ignore_errors=True)
    info["load_average_after"] = list(os.getloadavg())
    report = markdown(args, info, cells, epoch, store_info, command, time.perf_counter() - started)
    print(report)
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(report)
    raw = {"machine": info, "command": command, "data": store_info,
           "config": {k: v for k, v in vars(args).items() if k not in ("child", "out")},
           "cells": cells, "full_epoch": epoch}
    out.with_suffix(".json").write_text(json.dumps(raw, indent=1, default=str) + "\n")
    print(f"wrote {out} and {out.with_suffix('.json')}", file=sys.stderr)


if __name__ == "__main__":
    main()
