"""What each ``movievec`` subcommand does: arguments in, library calls, printing out.

Nothing here computes what the library could: a Python user makes the same calls. The
defaults are the library's own (read from `RatingNet`, `fit`, `Ratings.split` and `Adadelta`),
so there is no second copy to drift.
"""

from __future__ import annotations

import inspect
import json
import math
import re
import shlex
import signal
import sys
import time
from pathlib import Path

import numpy as np

import numpy_movievec as mv
from numpy_movievec import archive, data
from numpy_movievec.checks import BadValueError, FileInTheWayError, MissingFileError
from numpy_movievec.vectors import MovieVectors

PROG = "movievec"
FEW_RATINGS = 50  # a query movie trained on fewer ratings gets a warning: its vector knows little


def defaults(function) -> dict:
    """The keyword defaults of ``function``: the command's own, so there is no second copy.

    >>> defaults(mv.RatingNet)["dim"], defaults(mv.fit)["batch_size"]
    (40, 1024)
    """
    return {name: p.default for name, p in inspect.signature(function).parameters.items()
            if p.default is not inspect.Parameter.empty}


NET, FIT, LR = defaults(mv.RatingNet), defaults(mv.fit), defaults(mv.Adadelta)["lr"]
TRAIN_DEFAULTS = {**{name: FIT[name] for name in ("batch_size", "seed", "engine", "threads")},
                  "valid_fraction": defaults(data.Ratings.split)["valid_fraction"]}

# The demo's defaults: under a minute on 2 cores once the Numba kernels are compiled and cached.
# The README shows a measured run; demo_training says how larger demos train.
DEMO_RATINGS = 1_000_000
DEMO_METHOD = "offset"  # the seed's find_american_counterpart
DEMO_KNOWN_SHARE = 0.25  # rankings are among this share of movies, the most trained
DEMO_MAP, DEMO_MODEL = "movievec-demo-map.png", "movievec-demo-model.npz"


# ---------------------------------------------------------------------- demo

def cmd_demo(args) -> int:
    """``movievec demo``: the whole job on synthetic ratings with planted counterpart pairs.

    Fourteen Japanese films have American counterparts that differ from them only in origin
    (Ringu → The Ring, Yojimbo → A Fistful of Dollars, ...). Train the reference RatingNet,
    then `MovieVectors.evaluate_counterparts` ranks each true counterpart when its Japanese
    film is moved along another planted pair, and, as a control, among the Japanese film's
    plain nearest neighbours.
    """
    started = time.perf_counter()
    model_path, map_path = args.out / DEMO_MODEL, args.map or args.out / DEMO_MAP
    for path in (model_path, map_path):
        archive.check_destination(_with_parent(path))
    _say(f"generating {args.ratings:,} synthetic ratings (seed {args.seed}); a first run also "
         f"compiles the Numba kernels and caches them for later runs")
    n_movies, n_users = demo_sizes(args.ratings)
    ratings = data.synthetic(args.ratings, n_movies=n_movies, n_users=n_users, seed=args.seed)
    _say(f"  {ratings!r}, {len(ratings.truth.pairs)} planted pairs "
         f"({time.perf_counter() - started:.1f} s)")
    train, valid = ratings.split(seed=args.seed)
    truth, ratings = ratings.truth, None  # train and valid hold it all now: free 9 bytes a rating
    net = mv.RatingNet(train.n_movies, train.n_users, seed=args.seed)
    chosen = {name: getattr(args, name) for name in ("epochs", "batch_size", "lr")}
    settings = {**demo_training(args.ratings),
                **{name: value for name, value in chosen.items() if value is not None}}
    _say(f"training {net} for {_plural(settings['epochs'], 'epoch')} on {len(train):,} ratings "
         f"({args.engine} engine, batch {settings['batch_size']}, Adadelta lr {settings['lr']})")
    history = mv.fit(net, train, valid=valid, epochs=settings["epochs"],
                     batch_size=settings["batch_size"], optimizer=mv.Adadelta(lr=settings["lr"]),
                     engine=args.engine, seed=args.seed, threads=args.threads,
                     progress=not args.quiet)
    if history.epochs:
        print_history(history)
    if history.interrupted:
        print(f"{PROG}: interrupted ({signal.Signals(history.signal).name})", file=sys.stderr)
        return 128 + history.signal
    vecs = net.movie_vectors(ratings=train)
    min_count = demo_min_count(vecs.counts) if args.min_count is None else args.min_count
    evaluation = vecs.evaluate_counterparts(truth.pairs, method=args.method, min_count=min_count)
    _say(f"\nplanted pairs: the {args.method} counterpart vs the nearest neighbours (control), "
         f"ranked among {evaluation.n_candidates:,} movies: those with at least {min_count:,} "
         f"training ratings, and the counterparts")
    for result in evaluation.results:
        _say(pair_report(result))
    _say("\n" + evaluation.summary())
    archive.save_or_rescue(lambda path: net.save(path, ratings=train), model_path,
                           "the demo's model")
    _say(f"wrote {model_path}  (try: movievec similar {shlex.quote(str(model_path))} Yojimbo)")
    title = "Synthetic demo: the 200 most-rated movies; arrows: planted Japanese → American pairs"
    try:
        _say(f"wrote {vecs.plot(map_path, top=200, arrow=list(truth.pairs), title=title)}")
    except ImportError as exc:
        _say(f"skipped the map: {exc}")
    _say(f"done in {time.perf_counter() - started:.0f} s")
    return 0


def demo_training(n_ratings: int) -> dict:
    """How the demo trains ``n_ratings``: ``{"epochs", "batch_size", "lr"}``.

    Measured with ``benchmarks/bench_answer.py`` (seed 0; results in ``benchmarks/results/``):
    the epochs after which the offset ranks the planted counterparts first. The library's
    default lr, 1.0, is the seed's and stays; larger demos take a larger one.

    Why lr 4 at batch 1024 beyond 2M ratings. An embedding row's gradient carries 1/B and is
    used only in the batches that hold its movie or user, so its squared gradient is far
    below Adadelta's eps (1e-7): the row then moves by about lr × g, i.e. in proportion to
    lr / B per use. lr 1 at batch 256 (the 1M demo) and lr 4 at batch 1024 both give about
    0.004; batch 8192 at lr 4 gives an eighth of that, and its rows learned that much slower.
    Each user brings about 200 ratings an epoch at every size, so the epochs needed hardly
    grow with the data; at 100M the ranks peak after 7 or 8 epochs (which of the two moves
    with float-level detail), and drift once the model starts to overfit.

    >>> demo_training(1_000_000), demo_training(100_000_000)["epochs"]
    ({'epochs': 16, 'batch_size': 256, 'lr': 1.0}, 8)
    """
    if n_ratings <= 2_000_000:
        return {"epochs": 16, "batch_size": 256, "lr": LR}
    return {"epochs": 10 if n_ratings <= 20_000_000 else 8, "batch_size": 1024, "lr": 4.0}


def demo_sizes(n_ratings: int) -> tuple:
    """``(n_movies, n_users)`` for the demo: Netflix's sizes scaled to ``n_ratings``.

    Movies scale as n^0.6 and users keep Netflix's 209 ratings per user (fewer when that would
    rate over a quarter of all pairs). `synthetic` alone scales movies as n^0.5 and users as
    n^0.7, which leaves a small set with more movies and users, each seen less often; their
    vectors then need more epochs to settle. At 100M both give the Netflix sizes.

    >>> demo_sizes(100_480_507), demo_sizes(1_000_000)
    ((17770, 480189), (1118, 4779))
    """
    from numpy_movievec.data.synthetic import NETFLIX_MOVIES, NETFLIX_RATINGS, NETFLIX_USERS

    scale = n_ratings / NETFLIX_RATINGS
    n_movies = max(60, round(NETFLIX_MOVIES * scale ** 0.6))
    n_users = max(round(n_ratings * NETFLIX_USERS / NETFLIX_RATINGS), 50,
                  math.ceil(4 * n_ratings / n_movies))
    return n_movies, n_users


def demo_min_count(counts) -> int:
    """The training count that the most-trained ``DEMO_KNOWN_SHARE`` of the movies reach.

    >>> demo_min_count(np.arange(100))
    74
    """
    return max(1, int(np.quantile(counts, 1 - DEMO_KNOWN_SHARE)))


def pair_report(result) -> str:
    """One planted pair in the demo: the query, then both ranks with the best answers."""
    listed = lambda answers: ", ".join(f"{t} {s:.2f}" for t, s in answers)  # noqa: E731
    rank = lambda value: f"{'-' if value is None else value:>4}"  # noqa: E731
    counts = "" if result.original_count is None else (
        f"; {result.original_count:,} and {result.counterpart_count:,} training ratings")
    return (f"\n{result.original} → ?   (true: {result.counterpart}; via "
            f"{' → '.join(result.via)}{counts})\n"
            f"  counterpart  rank {rank(result.rank)}:  {listed(result.answers)}\n"
            f"  control      rank {rank(result.control_rank)}:  {listed(result.neighbours)}")


def _say(text: str) -> None:
    """Print a line now, so it keeps its place among the progress lines on stderr."""
    print(text, flush=True)


# ---------------------------------------------------------------------- prepare

def cmd_prepare(args) -> None:
    """``movievec prepare SOURCE ... -o STORE``: check where the stores go, read, save.

    ``prepare netflix --probe`` writes two stores: the probe.txt pairs go to the second, the
    validation set for ``train --valid``.
    """
    started = time.perf_counter()
    stores = [args.output]
    if getattr(args, "probe", False):
        stores.append(args.probe_store or args.output.with_name(args.output.name + "-probe"))
    data.check_store_destinations(*map(_with_parent, stores))
    loaded = LOADERS[args.command_name](args)
    for ratings, path in zip(loaded if isinstance(loaded, tuple) else [loaded], stores):
        ratings.save(path)
        print(f"wrote {path}: {len(ratings):,} ratings of {ratings.n_movies:,} movies by "
              f"{ratings.n_users:,} users ({time.perf_counter() - started:.1f} s)")
        if ratings.duplicates:
            found, kept = ratings.duplicates["repeated"], ratings.duplicates["kept"]
            print(f"note: {_plural(found, 'rating')} repeated a (movie, user) pair rated "
                  f"before; " + ("all were kept" if kept == "all" else
                                 f"kept the {kept} rating of each pair"))


LOADERS = {  # prepare's sources: how each reads its arguments
    "netflix": lambda a: data.load_netflix(a.source, with_probe=a.probe,
                                           duplicates=a.duplicates),
    "movielens": lambda a: data.load_movielens(a.source, duplicates=a.duplicates),
    "csv": lambda a: data.load_csv(a.source, movie=a.movie, user=a.user, rating=a.rating,
                                   sep=a.sep, titles=a.titles, duplicates=a.duplicates),
    "synthetic": lambda a: data.synthetic(a.ratings, seed=a.seed),
}


def _with_parent(path: Path) -> Path:
    """``path``, after creating the folder it goes in (as ``mkdir -p`` would)."""
    if path.parent.exists() and not path.parent.is_dir():
        raise FileInTheWayError(f"{path.parent} is not a folder (to write {path.name} in)")
    path.parent.mkdir(parents=True, exist_ok=True)
    return path


# ---------------------------------------------------------------------- train

def cmd_train(args) -> int:
    """``movievec train STORE -o MODEL``: train, save (with the catalogue), print the history.

    ``--resume MODEL`` continues a saved model — weights, optimizer, its best epoch, and the
    exact point an interrupted run reached — with the seed, batch size and split it had. The
    first Ctrl-C (or SIGTERM) stops at the next safe point, still saves the model and prints
    the command that continues (exit status 128 + signal).
    """
    store = data.Ratings.load(args.store, mmap=True).check_values()
    train, valid = _train_and_valid(store, args)
    if valid is None and (args.patience is not None or args.restore_best):
        raise BadValueError("--patience and --restore-best need validation ratings: a "
                            "--valid-fraction above 0, or --valid STORE")
    net = _network(store, args, len(train))
    for path in filter(None, (args.output, args.checkpoint)):
        archive.check_destination(_with_parent(path), net.file_size(store))
    optimizer = net.optimizer or mv.Adadelta()  # a resumed model keeps its own
    optimizer.lr = args.lr or optimizer.lr
    if not args.quiet:
        print(f"training {net} on {len(train):,} ratings, validating on {len(valid or ()):,}; "
              f"{args.engine} engine, Adadelta lr {optimizer.lr}, l2 {net.l2}", file=sys.stderr)
    history = mv.fit(net, train, valid=valid, epochs=args.epochs, batch_size=args.batch_size,
                     optimizer=optimizer, engine=args.engine, seed=args.seed,
                     threads=args.threads, progress=not args.quiet, patience=args.patience,
                     restore_best=args.restore_best, checkpoint=args.checkpoint,
                     overwrite=args.overwrite)
    archive.save_or_rescue(lambda path: net.save(path, ratings=store), args.output,
                           "the trained model")
    print_history(history)
    if history.stopped_early:
        print(f"stopped early: {_plural(args.patience, 'epoch')} since the best valid RMSE")
    if history.restored:
        print(f"restored epoch {history.best_epoch}, the best (valid RMSE "
              f"{history.best_valid_rmse:.4f})")
    print(f"wrote {args.output} ({_plural(net.epochs_trained, 'epoch')} trained in all)")
    if not history.interrupted:
        return 0
    print(f"{PROG}: interrupted ({signal.Signals(history.signal).name}) during epoch "
          f"{net.epochs_trained + 1}; {args.output} holds the point reached. Continue with:\n"
          f"  {continue_command(args, args.epochs - len(history.epochs))}", file=sys.stderr)
    return 128 + history.signal


def continue_command(args, epochs_left: int) -> str:
    """The ``movievec train`` command that resumes an interrupted one from its ``-o`` model
    and trains the epochs it had left, with its other options.

    >>> from numpy_movievec.cli import build_parser
    >>> args = build_parser().parse_args(["train", "my store", "-o", "m.npz", "--seed", "3"])
    >>> continue_command(args, 4)
    "movievec train 'my store' -o m.npz --resume m.npz --epochs 4 --seed 3"
    """
    words = [PROG, "train", str(args.store), "-o", str(args.output),
             "--resume", str(args.output), "--epochs", str(epochs_left)]
    for name in ("batch_size", "seed", "valid", "valid_fraction", "checkpoint", "patience",
                 "engine", "threads", "restore_best", "quiet"):
        value = getattr(args, name)
        if value not in (None, False, TRAIN_DEFAULTS.get(name)):
            words += [_flag(name)] + ([] if value is True else [str(value)])
    return " ".join(shlex.quote(word) for word in words)


def _train_and_valid(store, args):
    """``(train, valid)``: a seeded random split of the store, or the store and ``--valid``."""
    if args.valid is None:
        return store.split(args.valid_fraction, seed=args.seed) if args.valid_fraction \
            else (store, None)
    valid = data.Ratings.load(args.valid, mmap=True).check_values()
    for name in ("movie_ids", "user_ids"):
        if not np.array_equal(getattr(store, name), getattr(valid, name)):
            raise BadValueError(f"{args.valid} does not share {args.store}'s {name}: prepare "
                                f"both from the same source (prepare netflix --probe does)")
    return store, valid


def _network(store, args, n_train: int):
    """A new RatingNet for ``store``, or the ``--resume`` model once it is checked to fit the
    store, the sizes asked for, and the seed, batch size and split it was trained with."""
    chosen = {"dim": args.dim, "hidden": args.hidden, "l2": args.l2}
    split = {"valid": str(args.valid)} if args.valid else {"valid_fraction": args.valid_fraction}
    if args.resume is None:
        net = mv.RatingNet(store.n_movies, store.n_users, seed=args.seed,
                           **{name: NET[name] if value is None else value
                              for name, value in chosen.items()})
        net.trained_with["split"] = split
        return net
    net = mv.RatingNet.load(args.resume)
    if (net.n_movies, net.n_users) != (store.n_movies, store.n_users):
        raise BadValueError(f"{args.resume} was built for {net.n_movies:,} movies and "
                            f"{net.n_users:,} users, but {args.store} has {store.n_movies:,} "
                            f"and {store.n_users:,}")
    for name, wanted in chosen.items():
        if wanted is not None and np.atleast_1d(wanted).tolist() != np.atleast_1d(
                getattr(net, name)).tolist():
            raise BadValueError(f"--{name} {wanted} differs from the resumed model's "
                                f"{getattr(net, name)}; leave it out when resuming")
    saved = net.trained_with.setdefault("split", split)
    if saved != split:
        raise BadValueError(f"{args.resume} was trained with {_options(saved)}; this run has "
                            f"{_options(split)}. Resuming keeps the same split, or validation "
                            f"ratings would leak into training")
    asked = dict(seed=args.seed, batch_size=min(args.batch_size, n_train), n_ratings=n_train)
    mv.train.check_same_settings(net.trained_with, asked, args.resume,
                                 names={"seed": "--seed", "batch_size": "--batch-size",
                                        "n_ratings": "training ratings"})
    return net


def print_history(history) -> None:
    """The per-epoch table: epoch, train RMSE, valid RMSE, seconds."""
    valid = history.valid_rmse or [None] * len(history.epochs)
    print(format_table(("epoch", "train RMSE", "valid RMSE", "seconds"),
                       [(epoch, f"{train:.4f}", "-" if v is None else f"{v:.4f}", f"{sec:.1f}")
                        for epoch, train, v, sec in zip(history.epochs, history.train_rmse,
                                                        valid, history.seconds)]))


# ---------------------------------------------------------------------- queries

def cmd_query(args) -> None:
    """``similar``, ``counterpart`` and ``analogy``: the answers with their training ratings,
    as a table or JSON; a warning on stderr for each query movie trained on fewer than
    ``FEW_RATINGS`` ratings, whose vector has seen too little to mean much."""
    vecs = MovieVectors.load(args.model)
    if (args.min_count is not None or args.restrict is not None) and vecs.counts is None:
        raise BadValueError(f"{args.model} has no rating counts, which --min-count and "
                            f"--restrict rank by")
    description, positive, negative = _query(args, vecs)
    answers = vecs.most_similar(positive=positive, negative=negative, topn=args.topn,
                                method=args.method, min_count=args.min_count,
                                restrict=args.restrict, include_untrained=args.include_untrained)
    for key in positive + negative:
        count = vecs.count(key)
        if count is not None and count < FEW_RATINGS:
            print(f"{PROG}: warning: {_label(vecs, key)} has {_plural(count, 'training rating')}"
                  f"; its vector " + ("never trained and is random" if count == 0 else
                                      "has seen too little to mean much"), file=sys.stderr)
    if args.json:
        print(json.dumps({
            "command": args.command_name, "query": description,
            "positive": [_label(vecs, key) for key in positive],
            "negative": [_label(vecs, key) for key in negative],
            "counts": {_label(vecs, key): vecs.count(key) for key in positive + negative},
            "method": args.method, "min_count": args.min_count, "restrict": args.restrict,
            "results": [{"rank": rank, "title": title, "score": score, "count": vecs.count(title)}
                        for rank, (title, score) in enumerate(answers, 1)]}, indent=2,
            ensure_ascii=False))
        return
    print(f"{description}{_scope(args.min_count, args.restrict)}:")
    score = "score" if args.method == "3cosmul" else "cosine"
    print(format_table(("rank", "title", score, "ratings"),
                       [(rank, title, f"{value:.4f}", _count_text(vecs.count(title)))
                        for rank, (title, value) in enumerate(answers, 1)]))


def _query(args, vecs) -> tuple:
    """``(description, positive, negative)``: the query the command line asks, its movies
    resolved as typed (`MovieVectors.key_for`)."""
    if args.command_name == "analogy":
        positive, negative = ([vecs.key_for(title) for title in titles]
                              for titles in (args.positive, args.negative))
        terms = " ".join([f"+ {_label(vecs, key)}" for key in positive]
                         + [f"- {_label(vecs, key)}" for key in negative])
        return f"{terms.removeprefix('+ ')} ({args.method})", positive, negative
    key = vecs.key_for(args.title)
    if args.command_name == "similar":
        return f"nearest to {_label(vecs, key)}", [key], []
    source, destination = map(vecs.key_for, args.via)
    return (f"{_label(vecs, key)} moved as {_label(vecs, source)} → "
            f"{_label(vecs, destination)} ({args.method})", [key, destination], [source])


def _label(vecs, key) -> str:
    """How answers name the movie ``key`` names (its title, with the year for remakes)."""
    return vecs.name(vecs.index(key))


def _scope(min_count, restrict) -> str:
    parts = ([] if min_count is None else [f"with at least {min_count:,} training ratings"]) \
        + ([] if restrict is None else [f"among the {restrict:,} most rated"])
    return f" (movies {', '.join(parts)})" if parts else ""


# ---------------------------------------------------------------------- plot, export, info

def cmd_plot(args) -> None:
    vecs = MovieVectors.load(args.model)
    arrows = [tuple(map(vecs.key_for, pair)) for pair in args.arrow]
    top = None if args.all else args.top
    if top is not None and vecs.counts is None:
        raise BadValueError(f"{args.model} has no rating counts to find the most-rated movies; "
                            f"draw every movie with --all")
    path = vecs.plot(_with_parent(args.output), top=top, arrow=arrows or None, title=args.title)
    shown = len(vecs) if top is None else min(top, len(vecs))
    print(f"wrote {path}: {shown:,} movies"
          + (f", {_plural(len(arrows), 'arrow')}" if arrows else ""))


def cmd_export(args) -> None:
    if not (args.csv or args.projector or args.word2vec):
        raise BadValueError("say what to write: --csv FILE, --projector DIR or --word2vec FILE")
    vecs = MovieVectors.load(args.model)
    written = []
    if args.csv:
        with archive.atomic_file(_with_parent(args.csv)) as f:
            vecs.to_frame().to_csv(f, index=False, encoding="utf-8")
        written.append(args.csv)
    if args.projector:
        written += vecs.save_projector(args.projector)
    if args.word2vec:
        written += vecs.save_word2vec(_with_parent(args.word2vec))
    print("\n".join(f"wrote {path}" for path in written))


def cmd_info(args) -> None:
    """What a store, model or vectors file holds, as the objects describe themselves."""
    if args.path.is_dir():
        facts = data.Ratings.load(args.path, mmap=True).describe()
    elif not args.path.is_file():
        raise MissingFileError(f"{args.path}: no such file or directory")
    else:
        kind = archive.read_header(args.path, "RatingNet", "MovieVectors")["kind"]
        described = (mv.RatingNet if kind == "RatingNet" else MovieVectors).load(args.path)
        facts = {"path": str(args.path), **described.describe()}
    if args.json:
        print(json.dumps(facts, indent=2, ensure_ascii=False))
        return
    histogram = facts.pop("rating_histogram", None)
    print(format_table(None, [(key.replace("_", " "), _shown(key, value))
                              for key, value in facts.items()]))
    if histogram:
        total = sum(histogram.values())
        print("rating histogram:")
        print(format_table(None, [(f"  {stars}", f"{n:,}", f"{n / total:6.1%}",
                                   "#" * round(50 * n / total))
                                  for stars, n in histogram.items()]))


def _shown(key: str, value) -> str:
    """A described value as text: numbers with thousands separators, layers as 64,64,64,
    the optimizer as its call, other groups as "name value, ..."."""
    if value is None:
        return "-"
    if key == "hidden":
        return ",".join(map(str, value)) or "none"
    if key == "optimizer":
        return (f"{value['name']}(lr={value['lr']}, rho={value['rho']}, eps={value['eps']}), "
                f"{value['steps']:,} steps")
    if isinstance(value, dict):
        return ", ".join(f"{name.replace('_', ' ')} {_shown(name, v)}"
                         for name, v in value.items())
    if isinstance(value, float) and value == int(value):
        value = int(value)
    return f"{value:,}" if isinstance(value, int) and not isinstance(value, bool) else str(value)


# ---------------------------------------------------------------------- output

def format_table(headers, rows) -> str:
    """Rows as aligned columns: numbers (and number-like text) to the right, the rest left.

    >>> print(format_table(("rank", "title", "cosine"), [(1, "The Ring", "0.9310")]))
    rank  title     cosine
       1  The Ring  0.9310
    """
    rows = [tuple(str(cell) for cell in row) for row in rows]
    lines = ([tuple(headers)] if headers else []) + rows
    if not lines:
        return ""
    widths = [max(len(line[i]) for line in lines) for i in range(len(lines[0]))]
    numeric = [all(re.fullmatch(r"[-+]?[\d,]*\.?\d+%?|-", row[i].strip()) for row in rows)
               for i in range(len(widths))]
    return "\n".join("  ".join(cell.rjust(w) if right else cell.ljust(w)
                               for cell, w, right in zip(line, widths, numeric)).rstrip()
                     for line in lines)


def _count_text(count) -> str:
    return "-" if count is None else f"{count:,}"


def _plural(n: int, noun: str) -> str:
    """``"1 epoch"``, ``"6 epochs"``."""
    return f"{n} {noun}{'s' * (n != 1)}"


def _flag(name: str) -> str:
    return f"--{name.replace('_', '-')}"


def _options(split: dict) -> str:
    """A split as the options that make it: ``--valid-fraction 0.1``."""
    return " ".join(f"{_flag(name)} {value}" for name, value in split.items())
