"""Time to the seed's answer: minutes of training until the offset finds the planted pairs.

    python benchmarks/bench_answer.py                  # 1M, 10M and 100M ratings
    python benchmarks/bench_answer.py --sizes 1M,10M   # only some sizes
    python benchmarks/bench_answer.py --quick          # smoke test: 100k ratings, 3 epochs

The seed trained on Netflix's 100 million ratings and found A Fistful of Dollars as Yojimbo's
American counterpart. ``movievec demo`` asks the same of synthetic ratings with fourteen
planted Japanese → American pairs; this benchmark measures, per size, how long its training
takes to get there: the minutes until the offset (the seed's ``find_american_counterpart``)
ranks at least ``ANSWER_FIRST`` of the 14 true counterparts first.

Each size runs in a fresh process (its peak memory is its own) and sets things up as the
demo does: ``synthetic(n, *demo_sizes(n))``, the demo's validation split, ``RatingNet``, and
the demo's epochs, batch size and Adadelta learning rate for that size (or the ones given).
It trains one epoch at a time (``fit(..., epochs=1)`` continues training) and after each
epoch measures, with the generator's answer key ``ratings.truth``:

- valid RMSE beside the generator's *floor*: the RMSE of the best possible prediction, the
  expected stars given the true factors (`expected_stars`);
- the origin probe: how well a least-squares map from the learned 40-d movie vectors
  predicts each movie's true origin coordinate, as R² on held-out movies (`origin_probe`);
- the counterpart ranks: ``evaluate_counterparts(truth.pairs, method="offset")`` among the
  demo's candidates (its most-rated quarter, plus every pair's counterpart), and the control
  (plain nearest neighbours);
- the planted films' training rating counts.

Training time is fit's own (validation and these measurements excluded). Every epoch's
record is appended to ``<out>.partial.jsonl`` as it finishes, so a run cut short keeps what
it measured. Results: markdown on stdout and in benchmarks/results/bench_answer.md
(``--out``), the curves in the .png beside it, raw numbers in the .json.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from benchmarks._common import (command_line, describe_machine, machine_facts,  # noqa: E402
                                markdown_table, peak_memory_mb, run_child, write_report)

RESULTS = ROOT / "benchmarks" / "results" / "bench_answer.md"
SIZES = {"100k": 100_000, "1M": 1_000_000, "10M": 10_000_000, "100M": 100_000_000}
DEFAULT_SIZES = ("1M", "10M", "100M")
ANSWER_FIRST = 8  # of the 14 planted pairs ranked first: when the seed's answer counts as found
ORIGIN = -1  # the origin coordinate: the last column of SyntheticTruth.movie_factors
PROBE_MIN_COUNT = 100  # the origin probe uses movies with at least this many training ratings
SEED = 0
QUICK = dict(sizes="100k", epochs=3)
CHILD_TIMEOUT = 4 * 3600  # seconds


# ====================================================================== what is measured

def one_pair_truth():
    """A generator's answer key for one movie and one user with latent rating 0, whose
    stars are 3 or 4 with equal chance: the doctests' example."""
    from types import SimpleNamespace
    return SimpleNamespace(movie_factors=np.zeros((1, 1), np.float32),
                           movie_bias=np.zeros(1, np.float32),
                           user_factors=np.zeros((1, 1), np.float32),
                           user_bias=np.zeros(1, np.float32),
                           cut_points=np.array([-1e9, -1e9, 0.0, 1e9], np.float32))


def expected_stars(movie, user, truth, noise_scale):
    """The mean rating the generator's ordered logit gives each (movie, user): the best
    prediction anyone can make, since only the logistic noise is left unexplained.

    With latent mean μ, noise scale s and cut points c_k, P(stars > k) = σ((μ − c_k) / s),
    so E[stars] = 1 + Σ_k σ((μ − c_k) / s).

    >>> truth = one_pair_truth()  # latent 0, cut points at -inf, -inf, 0, +inf
    >>> expected_stars(np.array([0]), np.array([0]), truth, noise_scale=0.6)  # 3 + P(latent > 0)
    array([3.5])
    """
    latent = (truth.movie_bias[movie].astype(np.float64) + truth.user_bias[user]
              + np.einsum("ij,ij->i", truth.movie_factors[movie], truth.user_factors[user],
                          dtype=np.float64))
    above = (latent[:, None] - truth.cut_points.astype(np.float64)) / noise_scale
    return 1.0 + (0.5 + 0.5 * np.tanh(above / 2)).sum(axis=1)  # σ(x) = (1 + tanh(x/2)) / 2


def generator_floor(ratings, truth, noise_scale, chunk=1_000_000) -> float:
    """RMSE of `expected_stars` against ``ratings``' stars: what no model can beat on average.

    >>> truth = one_pair_truth()  # latent 0, cut points at -inf, -inf, 0, +inf
    >>> from types import SimpleNamespace
    >>> rated = SimpleNamespace(movie=np.array([0, 0]), user=np.array([0, 0]),
    ...                         rating=np.array([3, 4], np.int8))
    >>> generator_floor(rated, truth, noise_scale=0.6)
    0.5
    """
    squared = 0.0
    for start in range(0, len(ratings.rating), chunk):
        rows = slice(start, start + chunk)
        error = expected_stars(ratings.movie[rows], ratings.user[rows], truth, noise_scale)
        squared += float(((error - ratings.rating[rows]) ** 2).sum())
    return (squared / len(ratings.rating)) ** 0.5


def origin_probe(vectors, origin, counts, min_count=PROBE_MIN_COUNT, seed=SEED) -> float | None:
    """R² of a least-squares probe from movie vectors to the true origin, on held-out movies.

    The movies with at least ``min_count`` training ratings are split in two at random; a
    linear map (with intercept) is fit on one half and scored on the other. 1 means the
    vectors carry origin linearly, 0 means no better than the mean. None if too few movies.

    >>> rng = np.random.default_rng(0)
    >>> origin = rng.integers(0, 2, 400) * 2.0
    >>> vectors = np.column_stack([origin, rng.normal(size=(400, 3))])   # origin in column 0
    >>> round(origin_probe(vectors, origin, np.full(400, 500)), 6)
    1.0
    >>> origin_probe(rng.normal(size=(400, 4)), origin, np.full(400, 500)) < 0.1
    True
    """
    rows = np.flatnonzero(np.asarray(counts) >= min_count)
    features = np.asarray(vectors).shape[1] + 1
    if len(rows) < 4 * features or np.ptp(origin[rows]) == 0:
        return None
    rows = np.random.default_rng(seed).permutation(rows)
    fit_rows, test_rows = rows[:len(rows) // 2], rows[len(rows) // 2:]

    def design(r):
        return np.column_stack([np.asarray(vectors, np.float64)[r], np.ones(len(r))])

    weights, *_ = np.linalg.lstsq(design(fit_rows), origin[fit_rows], rcond=None)
    residual = origin[test_rows] - design(test_rows) @ weights
    spread = origin[test_rows] - origin[test_rows].mean()
    return float(1.0 - (residual @ residual) / (spread @ spread))


def measure_epoch(net, train, truth) -> dict:
    """Probe R² and counterpart ranks of ``net``'s movie vectors now."""
    from numpy_movievec.cli.commands import demo_min_count
    vecs = net.movie_vectors(ratings=train)  # counts: the training ratings of each movie
    evaluation = vecs.evaluate_counterparts(truth.pairs, method="offset",
                                            min_count=demo_min_count(vecs.counts))
    return {
        "probe_r2": origin_probe(vecs.vectors, truth.movie_factors[:, ORIGIN], vecs.counts),
        "first": evaluation.first, "top5": evaluation.top5,
        "median_rank": evaluation.median_rank,
        "control_first": evaluation.control_first, "control_top5": evaluation.control_top5,
        "control_median_rank": evaluation.control_median_rank,
        "n_candidates": evaluation.n_candidates,
        "ranks": [result.rank for result in evaluation.results],
    }


def planted_counts(train, truth) -> list:
    """Training ratings of each planted film, Japanese then American, pair by pair."""
    return train.movie_counts[truth.pair_index.ravel()].tolist()


# ====================================================================== one size, one process

def demo_data(n_ratings, seed=SEED):
    """``(truth, train, valid, seconds)`` as ``movievec demo --ratings n_ratings`` makes them."""
    from numpy_movievec.cli.commands import demo_sizes
    from numpy_movievec.data import synthetic
    started = time.perf_counter()
    ratings = synthetic(n_ratings, *demo_sizes(n_ratings), seed=seed)
    train, valid = ratings.split(seed=seed)
    return ratings.truth, train, valid, time.perf_counter() - started


def train_and_measure(net, optimizer, train, valid, truth, epochs, batch_size, seed=SEED,
                      threads="auto", keep=lambda record: None, stop_at_answer=False) -> list:
    """Train ``net`` one epoch at a time; after each, measure it; return the records.

    Epoch 0 is the untrained model. ``keep`` receives each record as it is made (to save it
    at once); ``stop_at_answer`` ends training at the first epoch with the seed's answer.
    """
    import numpy_movievec as mv
    from numpy_movievec.data.synthetic import NOISE_SCALE
    floor = generator_floor(valid, truth, NOISE_SCALE)
    records, minutes = [], 0.0
    for epoch in range(epochs + 1):
        if epoch:
            history = mv.fit(net, train, valid=valid, epochs=1, batch_size=batch_size,
                             optimizer=optimizer, seed=seed, threads=threads, progress=False)
            minutes += history.seconds[-1] / 60
            rmse = (history.train_rmse[-1], history.valid_rmse[-1])
        else:
            rmse = (None, _rmse(net, valid))
        record = {"epoch": epoch, "minutes": minutes, "train_rmse": rmse[0],
                  "valid_rmse": rmse[1], "floor_rmse": floor, **measure_epoch(net, train, truth)}
        records.append(record)
        keep(record)
        if stop_at_answer and record["first"] >= ANSWER_FIRST:
            break
    return records


def _rmse(net, ratings, chunk=1_000_000) -> float:
    squared = 0.0
    for start in range(0, len(ratings), chunk):
        rows = slice(start, start + chunk)
        error = net.predict(ratings.movie[rows], ratings.user[rows]) - ratings.rating[rows]
        squared += float((error.astype(np.float64) ** 2).sum())
    return (squared / len(ratings)) ** 0.5


def demo_settings(n_ratings) -> dict:
    """What ``movievec demo --ratings n_ratings`` trains with: epochs, batch size, learning
    rate, from the command's own choice, so the benchmark follows the demo."""
    from numpy_movievec.cli.commands import demo_training
    return demo_training(n_ratings)


def measure_size(spec) -> dict:
    """In a child process: one size, the demo's way, every epoch recorded (and appended to
    ``spec["partial"]`` as it is made)."""
    import numpy_movievec as mv
    truth, train, valid, generation_seconds = demo_data(spec["ratings"], SEED)
    net = mv.RatingNet(train.n_movies, train.n_users, seed=SEED)
    partial = Path(spec["partial"])

    def keep(record):
        with partial.open("a") as f:
            f.write(json.dumps({"size": spec["size"], **record}) + "\n")
        print(_epoch_line(spec["size"], record), file=sys.stderr, flush=True)

    records = train_and_measure(net, mv.Adadelta(lr=spec["lr"]), train, valid, truth,
                                spec["epochs"], spec["batch_size"], SEED, spec["threads"], keep,
                                spec["stop_at_answer"])
    return {"size": spec["size"], "ratings": spec["ratings"], "n_movies": train.n_movies,
            "n_users": train.n_users, "n_train": len(train), "n_valid": len(valid),
            "generation_seconds": generation_seconds,
            "planted_counts": planted_counts(train, truth), "per_epoch": records,
            "peak_rss_mb": peak_memory_mb()}


def _epoch_line(size, record) -> str:
    probe = "-" if record["probe_r2"] is None else f"{record['probe_r2']:.2f}"
    return (f"  {size} epoch {record['epoch']}: {record['minutes']:.1f} min, valid RMSE "
            f"{record['valid_rmse']:.4f} (floor {record['floor_rmse']:.4f}), probe R² {probe}, "
            f"first {record['first']}, top 5 {record['top5']}, median rank "
            f"{_number(record['median_rank'])} of {record['n_candidates']}")


# ====================================================================== the parent

def answer_epoch(size_result) -> dict | None:
    """The first epoch record with the seed's answer (``ANSWER_FIRST`` pairs ranked first).

    >>> answer_epoch({"per_epoch": [{"epoch": 1, "first": 3}, {"epoch": 2, "first": 9}]})["epoch"]
    2
    """
    return next((r for r in size_result["per_epoch"] if r["first"] >= ANSWER_FIRST), None)


def run_size(size, partial, threads, stop_at_answer, chosen) -> dict:
    """Measure one size in a fresh process; on failure, keep the epochs it recorded.

    ``chosen`` settings (epochs, batch_size, lr) that are None are the demo's."""
    ratings = SIZES.get(size) or int(size)
    settings = {name: default if chosen[name] is None else chosen[name]
                for name, default in demo_settings(ratings).items()}
    spec = {"size": size, "ratings": ratings, **settings, "threads": threads,
            "stop_at_answer": stop_at_answer, "partial": str(partial)}
    print(f"{size}: {ratings:,} ratings, {settings['epochs']} epochs of batch "
          f"{settings['batch_size']}, Adadelta lr {settings['lr']} ...", file=sys.stderr)
    result = run_child(__file__, spec, size, timeout=CHILD_TIMEOUT)
    if "error" not in result:
        return {**settings, **result}
    records = [json.loads(line) for line in partial.read_text().splitlines()
               if json.loads(line)["size"] == size] if partial.exists() else []
    return {**settings, "size": size, "ratings": ratings, "error": result["error"],
            "per_epoch": records}


def markdown(args, facts, results, command, seconds) -> str:
    lines = [
        "# Time to the seed's answer",
        "",
        f"`{command}` — {seconds / 60:.1f} min in all.",
        "",
        f"Minutes of training (fit's own time; generation and measurements excluded) until the "
        f"offset ranks at least {ANSWER_FIRST} of the 14 planted counterparts first, among the "
        f"demo's candidates (its most-rated quarter plus every pair's counterpart). Data, split, "
        f"model and training settings as `movievec demo --ratings N` (unless given here), "
        f"threads {args.threads}.",
        "",
        *markdown_table(["ratings", "movies", "users", "epochs, batch, lr", "generated (s)",
                         "answer at epoch", "minutes to answer", "best first / top 5",
                         "last valid RMSE (floor)", "peak memory (MB)"],
                        [_summary(result) for result in results], align="l" * 10),
    ]
    lines += ["", "Per epoch (epoch 0: the untrained model). Floor: the RMSE of the best "
              "possible prediction, the expected stars given the generator's true factors. "
              f"Probe R²: a least-squares map from the movie vectors to the true origin, fit on "
              f"half the movies with ≥ {PROBE_MIN_COUNT} training ratings, scored on the other "
              "half. Ranks: of the true counterpart by offset, and by plain cosine (control)."]
    for result in results:
        lines += ["", f"## {result['ratings']:,} ratings", ""]
        if "error" in result:
            lines += [f"Cut short: {result['error']}", ""]
        if "planted_counts" in result:
            counts = result["planted_counts"]
            lines += [f"Planted films' training ratings: {min(counts):,} to {max(counts):,} "
                      f"(median {int(np.median(counts)):,}).", ""]
        lines += markdown_table(["epoch", "minutes", "train RMSE", "valid RMSE", "floor",
                                 "probe R²", "first", "top 5", "median rank", "control median",
                                 "candidates"],
                                [_epoch_row(record) for record in result["per_epoch"]],
                                align="l" * 11)
    lines += ["", f"Curves: `{Path(args.out).with_suffix('.png').name}`.", "",
              describe_machine(facts)]
    return "\n".join(lines) + "\n"


def _summary(result) -> list:
    answer = answer_epoch(result)
    records = result["per_epoch"]
    best = max(records, key=lambda r: (r["first"], r["top5"])) if records else None
    last = records[-1] if records else None
    return [f"{result['ratings']:,}", *(f"{result[key]:,}" if key in result else "?"
                                        for key in ("n_movies", "n_users")),
            f"{result['epochs']}, {result['batch_size']}, {result['lr']:g}",
            f"{result['generation_seconds']:.0f}" if "generation_seconds" in result else "-",
            answer["epoch"] if answer else "not reached",
            f"{answer['minutes']:.2f}" if answer else "-",
            f"{best['first']} / {best['top5']} (epoch {best['epoch']})" if best else "-",
            f"{last['valid_rmse']:.4f} ({last['floor_rmse']:.4f})" if last else "-",
            f"{result['peak_rss_mb']:,.0f}" if "peak_rss_mb" in result else "-"]


def _epoch_row(record) -> list:
    return [record["epoch"], f"{record['minutes']:.2f}",
            "-" if record["train_rmse"] is None else f"{record['train_rmse']:.4f}",
            f"{record['valid_rmse']:.4f}", f"{record['floor_rmse']:.4f}",
            "-" if record["probe_r2"] is None else f"{record['probe_r2']:.3f}",
            record["first"], record["top5"], _number(record["median_rank"]),
            _number(record["control_median_rank"]), record["n_candidates"]]


def _number(value) -> str:
    return "-" if value is None else f"{value:g}"


def plot(results, path) -> None:
    """Valid RMSE beside its floor, probe R² and median rank, per epoch, one line per size."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.ticker import MaxNLocator
    figure, (rmse, probe, rank) = plt.subplots(1, 3, figsize=(15, 4.5))
    for result in results:
        records = [r for r in result["per_epoch"] if r["epoch"] > 0]
        if not records:
            continue
        epochs = [r["epoch"] for r in records]
        label = f"{result['ratings']:,} (batch {result['batch_size']}, lr {result['lr']:g})"
        line, = rmse.plot(epochs, [r["valid_rmse"] for r in records], marker="o", label=label)
        rmse.axhline(records[0]["floor_rmse"], color=line.get_color(), linestyle=":")
        probe.plot(epochs, [np.nan if r["probe_r2"] is None else r["probe_r2"] for r in records],
                   marker="o", label=label)
        rank.plot(epochs, [r["median_rank"] for r in records], marker="o", label=label)
        answer = answer_epoch(result)
        if answer:
            rank.scatter([answer["epoch"]], [answer["median_rank"]], s=160, facecolors="none",
                         edgecolors=line.get_color())
    rmse.set(title="valid RMSE (dotted: generator's floor)", xlabel="epoch")
    probe.set(title="origin probe R² (held-out movies)", xlabel="epoch",
              ylim=(min(0.0, probe.get_ylim()[0]), 1.0))
    rank.set(title=f"median rank of the true counterpart\n(circle: first epoch with "
                   f"≥ {ANSWER_FIRST} of 14 first)", xlabel="epoch", yscale="log")
    for axes in (rmse, probe, rank):
        axes.grid(alpha=0.3)
        axes.xaxis.set_major_locator(MaxNLocator(integer=True))
        axes.legend(title="ratings", fontsize="small")
    figure.tight_layout()
    path = Path(path)
    temporary = path.with_name(f".{path.stem}.{os.getpid()}.png")
    figure.savefig(temporary, dpi=110)
    os.replace(temporary, path)  # never a half-written image
    plt.close(figure)


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default=",".join(DEFAULT_SIZES),
                        help=f"comma-separated: {', '.join(SIZES)} or a number of ratings "
                             f"(default {','.join(DEFAULT_SIZES)})")
    per_size = "; one value, or one per size, comma-separated (default: the demo's)"
    parser.add_argument("--epochs", help="epochs at most" + per_size)
    parser.add_argument("--batch-size", help="ratings per step" + per_size)
    parser.add_argument("--lr", help="Adadelta learning rate" + per_size)
    parser.add_argument("--threads", default="auto", help="fit's threads: auto or a number")
    parser.add_argument("--stop-at-answer", action="store_true",
                        help="stop a size's training at its first epoch with the answer")
    parser.add_argument("--quick", action="store_true",
                        help=f"smoke test: {QUICK['sizes']} ratings, {QUICK['epochs']} epochs")
    parser.add_argument("--out", default=str(RESULTS),
                        help="markdown report; .json and .png beside it (default %(default)s)")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.quick:
        args.sizes, args.epochs = QUICK["sizes"], QUICK["epochs"]
        if args.out == str(RESULTS):
            args.out = str(RESULTS.with_name("bench_answer_quick.md"))
    sizes = args.sizes.split(",")
    unknown = [s for s in sizes if s not in SIZES and not s.isdigit()]
    if unknown:
        parser.error(f"unknown size {unknown[0]!r}: use {', '.join(SIZES)} or a number")
    for name, kind in (("epochs", int), ("batch_size", int), ("lr", float)):
        setattr(args, name, _per_size(parser, name, kind, getattr(args, name), sizes))
    if args.threads != "auto":
        if not args.threads.isdigit() or int(args.threads) < 1:
            parser.error(f"--threads must be auto or a number ≥ 1, not {args.threads!r}")
        args.threads = int(args.threads)
    args.sizes = sizes
    return args


def _per_size(parser, name, kind, text, sizes) -> list:
    """``--name`` as one value per size (None: the demo's), from one value or one per size."""
    if text is None:
        return [None] * len(sizes)
    option = "--" + name.replace("_", "-")
    try:
        values = [kind(part) for part in str(text).split(",")]
    except ValueError:
        parser.error(f"{option} takes numbers, not {text!r}")
    if len(values) not in (1, len(sizes)):
        parser.error(f"{option} gives {len(values)} values for {len(sizes)} sizes")
    if not all(value > 0 for value in values):
        parser.error(f"{option} must be above 0, not {text!r}")
    return values * len(sizes) if len(values) == 1 else values


def main(argv=None):
    args = parse_args(argv)
    if args.child:
        print(json.dumps(measure_size(json.loads(args.child))))
        return
    command = command_line(__file__)
    facts = machine_facts()
    started = time.perf_counter()
    partial = Path(args.out).with_suffix(".partial.jsonl")
    partial.parent.mkdir(parents=True, exist_ok=True)
    partial.unlink(missing_ok=True)
    results = [run_size(size, partial, args.threads, args.stop_at_answer,
                        {"epochs": epochs, "batch_size": batch_size, "lr": lr})
               for size, epochs, batch_size, lr in zip(args.sizes, args.epochs,
                                                       args.batch_size, args.lr)]
    seconds = time.perf_counter() - started
    report = markdown(args, facts, results, command, seconds)
    print(report)
    plot(results, Path(args.out).with_suffix(".png"))
    raw = {"machine": facts, "command": command, "seconds": seconds,
           "config": {k: v for k, v in vars(args).items() if k not in ("child", "out")},
           "answer_first": ANSWER_FIRST, "results": results}
    paths = write_report(args.out, report, raw)
    partial.unlink(missing_ok=True)
    print("wrote " + " and ".join(map(str, [*paths, Path(args.out).with_suffix(".png")])),
          file=sys.stderr)


if __name__ == "__main__":
    main()
