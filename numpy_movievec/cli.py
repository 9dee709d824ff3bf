"""The ``movievec`` command: prepare ratings, train, ask the movie vectors questions, draw a map.

    movievec demo                                           # the whole job on synthetic data
    movievec prepare netflix ~/netflix -o netflix.store --probe
    movievec train netflix.store -o model.npz --valid netflix.store-probe --epochs 5
    movievec similar model.npz "Yojimbo"
    movievec counterpart model.npz "Yojimbo" --via "Ringu" "The Ring"
    movievec analogy model.npz --positive "The Ring" "Yojimbo" --negative "Ringu" --json
    movievec plot model.npz -o map.png --arrow "Ringu" "The Ring"
    movievec info model.npz

``python -m numpy_movievec`` is the same command. Each subcommand is one small ``cmd_*``
function; `main` parses the arguments, runs one, and turns the errors the library raises on
purpose (`checks.MovievecError`: a bad file, an unknown title, a size that cannot work) and
the errors of the system (OSError: a permission, a full disk) into one line on stderr and
exit status 2. Anything else is a bug and keeps its traceback. What a user can rely on:
``docs/bad-input-and-faults.md``.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import re
import shlex
import signal
import sys
import time
from pathlib import Path

import numpy as np

from numpy_movievec.checks import (BadValueError, FileInTheWayError, MissingFileError,
                                   MovievecError)

PROG = "movievec"
USAGE_ERROR = 2  # argparse's exit status for a bad command line; ours for every user error
INTERRUPTED = 128 + signal.SIGINT  # what a shell reports for Ctrl-C
# Reported in one line: the library's deliberate errors (unknown titles included), and the
# system's (OSError: a missing file, a permission, a full disk). Anything else is a bug.
USER_ERRORS = (MovievecError, OSError)
DEMO_MAP = "movievec-demo-map.png"
DEMO_MODEL = "movievec-demo-model.npz"
SHOWN_ANSWERS = 3  # answers per list in the demo's per-pair report
TRAIN_DEFAULTS = dict(epochs=5, batch_size=1024, valid_fraction=0.1, seed=0, engine="numba",
                      threads="auto")
_INTEGER = re.compile(r"[+-]?\d+")


def main(argv=None) -> int:
    """Run the ``movievec`` command with ``argv`` (default: ``sys.argv[1:]``); return the exit code.

    >>> main(["similar", "no-such-model.npz", "Yojimbo"])  # stderr: movievec: error: no-such-...
    2
    """
    try:
        args = build_parser().parse_args(argv)
    except SystemExit as exc:  # --help, --version, or a usage error argparse has printed
        return exc.code
    try:
        return args.run(args) or 0
    except KeyboardInterrupt:
        print(f"\n{PROG}: interrupted", file=sys.stderr)
        return INTERRUPTED
    except BrokenPipeError:  # `movievec ... | head` closed our output: stop quietly
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())  # no error at exit
        return 1
    except USER_ERRORS as exc:
        print(f"{PROG}: error: {one_line(exc)}", file=sys.stderr)
        return USAGE_ERROR
    except ImportError as exc:  # an optional dependency (matplotlib) is missing
        if exc.name is not None:  # a real failed import inside the library: a bug, show it
            raise
        print(f"{PROG}: error: {one_line(exc)}", file=sys.stderr)
        return USAGE_ERROR


def one_line(exc: BaseException) -> str:
    """The message of ``exc`` on one line. A KeyError's message without the quotes repr adds.

    >>> one_line(KeyError("column 'x' not found"))
    "column 'x' not found"
    >>> one_line(ValueError("two\\nlines"))
    'two lines'
    """
    message = exc.args[0] if isinstance(exc, KeyError) and exc.args else str(exc)
    return " ".join(str(message).split()) or type(exc).__name__


# ---------------------------------------------------------------------- the parser

def build_parser() -> argparse.ArgumentParser:
    """The argument parser: one subcommand per ``cmd_*`` function, each with an example.

    >>> build_parser().parse_args(["similar", "model.npz", "Yojimbo"]).topn
    10
    """
    parser = argparse.ArgumentParser(
        prog=PROG, description="Learn movie vectors from ratings and ask them questions.",
        epilog="Start with:  movievec demo      (details: movievec COMMAND --help)")
    parser.add_argument("--version", action="version", version=f"%(prog)s {_version()}")
    commands = parser.add_subparsers(title="commands", metavar="COMMAND", required=True)
    _add_demo(commands)
    _add_prepare(commands)
    _add_train(commands)
    _add_queries(commands)
    _add_plot(commands)
    _add_info(commands)
    return parser


def _command(commands, name, run, help_text, example, **options):
    parser = commands.add_parser(name, help=help_text, description=help_text,
                                 epilog=f"example:\n  {example}",
                                 formatter_class=argparse.RawDescriptionHelpFormatter, **options)
    parser.set_defaults(run=run)
    return parser


def _add_demo(commands):
    p = _command(commands, "demo", cmd_demo,
                 "Generate synthetic ratings with planted Japanese → American counterparts, "
                 "train, and check that the movie vectors find them.",
                 "movievec demo --ratings 10000000 --epochs 4")
    p.add_argument("--ratings", type=_positive, default=DEMO_RATINGS,
                   help=f"synthetic ratings to generate, up to 100M (default {DEMO_RATINGS:,})")
    p.add_argument("--epochs", type=_count, default=DEMO_EPOCHS,
                   help=f"training epochs (default {DEMO_EPOCHS})")
    p.add_argument("--batch-size", type=_positive, default=DEMO_BATCH_SIZE,
                   help=f"ratings per step (default {DEMO_BATCH_SIZE})")
    p.add_argument("--lr", type=_positive_float, default=DEMO_LR,
                   help=f"Adadelta learning rate (default {DEMO_LR})")
    p.add_argument("--min-count", type=_count, default=None,
                   help="rank only movies with at least this many ratings (default: about the "
                        f"{DEMO_KNOWN_SHARE * 100:.0f}%% most-rated)")
    p.add_argument("--method", choices=METHODS, default=DEMO_METHOD,
                   help=f"how the counterpart query combines vectors (default {DEMO_METHOD}, "
                        "the seed's)")
    p.add_argument("--seed", type=_count, default=0,
                   help="seed of the data and the model (default 0)")
    _add_engine_options(p)
    p.add_argument("--out", type=Path, default=Path("."),
                   help=f"folder for {DEMO_MODEL} and {DEMO_MAP} (default: here)")
    p.add_argument("-o", "--map", type=_image, default=None,
                   help=f"where to draw the map, .png or .svg (default OUT/{DEMO_MAP})")
    p.add_argument("--quiet", action="store_true", help="no progress bar")


def _add_prepare(commands):
    p = _command(commands, "prepare",
                 None, "Read ratings (Netflix Prize, MovieLens, CSV or synthetic) into a store "
                       "directory that train reads memory-mapped.",
                 "movievec prepare netflix ~/netflix -o netflix.store --probe")
    sources = p.add_subparsers(title="sources", metavar="SOURCE", required=True)
    netflix = _command(sources, "netflix", cmd_prepare_netflix,
                       "The Netflix Prize files: training_set/ or combined_data_*.txt, with "
                       "movie_titles.csv (and probe.txt for --probe) beside them.",
                       "movievec prepare netflix ~/netflix -o netflix.store --probe")
    netflix.add_argument("source", type=Path, help="folder (or one combined_data file)")
    netflix.add_argument("--probe", action="store_true",
                         help="hold the probe.txt pairs out of the store, into a second store "
                              "(--probe-store) for `train --valid`")
    netflix.add_argument("--probe-store", type=Path, default=None,
                         help="where the probe store goes (default: STORE-probe)")
    movielens = _command(sources, "movielens", cmd_prepare_movielens,
                         "An unzipped MovieLens release (ml-100k, ml-1m, ml-latest, ml-25m, ...).",
                         "movievec prepare movielens ml-1m -o ml-1m.store")
    movielens.add_argument("source", type=Path, help="the ml-* folder")
    csv = _command(sources, "csv", cmd_prepare_csv,
                   "Any CSV of ratings with integer movie and user ids.",
                   "movievec prepare csv ratings.csv -o my.store --movie item_id --user user_id "
                   "--rating stars --titles titles.csv")
    csv.add_argument("source", type=Path, help="the CSV file (with a header row)")
    csv.add_argument("--movie", default="movie", help="movie id column (default 'movie')")
    csv.add_argument("--user", default="user", help="user id column (default 'user')")
    csv.add_argument("--rating", default="rating", help="rating column (default 'rating')")
    csv.add_argument("--sep", default=",", help="field separator (default ',')")
    csv.add_argument("--titles", type=Path, default=None,
                     help="a CSV with a header: the movie id column (named as --movie, else "
                          "the first) and a 'title' column (else the second)")
    synthetic = _command(sources, "synthetic", cmd_prepare_synthetic,
                         "Netflix-shaped synthetic ratings with planted counterpart pairs.",
                         "movievec prepare synthetic -o synth.store --ratings 2000000 --seed 0")
    synthetic.add_argument("--ratings", type=_positive, default=1_000_000,
                           help="how many (default 1,000,000; 100,480,507 is Netflix-sized)")
    synthetic.add_argument("--seed", type=_count, default=0, help="seed (default 0)")
    for source in (netflix, movielens, csv):
        source.add_argument("--duplicates", choices=("error", "first", "last", "all"),
                            default="error",
                            help="a (movie, user) pair rated more than once: stop with an "
                                 "error (default), keep the first or the last rating (in file "
                                 "order), or keep all")
    for source in (netflix, movielens, csv, synthetic):
        source.add_argument("-o", "--output", type=Path, required=True, metavar="STORE",
                            help="the store directory to write (an old store there is replaced)")


def _add_train(commands):
    p = _command(commands, "train", cmd_train,
                 "Train a RatingNet on a store; save the model with the movie titles, ids and "
                 "counts, ready for the query commands.",
                 "movievec train netflix.store -o model.npz --epochs 5 --checkpoint ckpt.npz")
    p.add_argument("store", type=Path, help="a store directory written by prepare")
    p.add_argument("-o", "--output", type=Path, required=True, metavar="MODEL",
                   help="the model file to write (.npz)")
    p.add_argument("--epochs", type=_count, default=TRAIN_DEFAULTS["epochs"],
                   help=f"epochs to train (default {TRAIN_DEFAULTS['epochs']})")
    p.add_argument("--batch-size", type=_positive, default=TRAIN_DEFAULTS["batch_size"],
                   help=f"ratings per step (default {TRAIN_DEFAULTS['batch_size']})")
    p.add_argument("--dim", type=_positive, default=None, help="embedding size (default 40)")
    p.add_argument("--hidden", type=_widths, default=None,
                   help="hidden layer widths, comma-separated (default 64,64,64; '' for none)")
    p.add_argument("--lr", type=_positive_float, default=None,
                   help="Adadelta learning rate (default 1.0, or the resumed model's)")
    p.add_argument("--valid-fraction", type=_fraction, default=TRAIN_DEFAULTS["valid_fraction"],
                   help="share of the store held out at random for validation (default "
                        f"{TRAIN_DEFAULTS['valid_fraction']})")
    p.add_argument("--valid", type=Path, default=None, metavar="STORE",
                   help="validate on this store instead (e.g. the Netflix probe store)")
    p.add_argument("--seed", type=_count, default=TRAIN_DEFAULTS["seed"],
                   help="seed of the split, the initial weights and the shuffling (default 0)")
    p.add_argument("--checkpoint", type=Path, default=None, metavar="PATH",
                   help="save the model here after every epoch and on Ctrl-C or SIGTERM, for "
                        "--resume; a checkpoint holding more training is kept unless "
                        "--overwrite")
    p.add_argument("--overwrite", action="store_true",
                   help="let --checkpoint replace a checkpoint that holds more training")
    p.add_argument("--patience", type=_positive, default=None, metavar="N",
                   help="stop once the valid RMSE has not improved for N epochs")
    p.add_argument("--resume", type=Path, default=None, metavar="MODEL",
                   help="continue this model (or checkpoint) for --epochs more epochs, with "
                        "the --seed, --batch-size and validation split it was trained with")
    _add_engine_options(p)
    p.add_argument("--quiet", action="store_true", help="no progress bar or notes")


def _add_engine_options(parser):
    parser.add_argument("--engine", choices=("numba", "numpy"), default=TRAIN_DEFAULTS["engine"],
                        help="numba: compiled and parallel (default); "
                             "numpy: the readable reference")
    parser.add_argument("--threads", type=_threads, default="auto",
                        help="Numba threads: a count, or auto (default): the engine picks the "
                             "fastest count as it trains, with the same results for any count")


def _add_queries(commands):
    similar = _query_command(commands, "similar", _similar_query,
                             "The movies nearest to one movie, by cosine similarity.",
                             'movievec similar model.npz "Yojimbo" --topn 5 --min-count 1000')
    similar.add_argument("title", help="a title, 'Title (Year)', or a movie id")
    similar.set_defaults(method="3cosadd")  # one movie: every method but 3cosmul is the cosine
    counterpart = _query_command(commands, "counterpart", _counterpart_query,
                                 "Move from one movie the way SRC moves to DST "
                                 "(TITLE + DST - SRC).",
                                 'movievec counterpart model.npz "Yojimbo" '
                                 '--via "Ringu" "The Ring"')
    counterpart.add_argument("title", help="a title, 'Title (Year)', or a movie id")
    counterpart.add_argument("--via", nargs=2, required=True, metavar=("SRC", "DST"),
                             help="the example pair, e.g. Ringu 'The Ring'")
    analogy = _query_command(commands, "analogy", _analogy_query,
                             "Add and subtract movies, then rank by cosine "
                             "(gensim's most_similar).",
                             'movievec analogy model.npz --positive "The Ring" "Yojimbo" '
                             '--negative "Ringu" --json')
    analogy.add_argument("--positive", nargs="+", required=True, metavar="TITLE")
    analogy.add_argument("--negative", nargs="+", default=[], metavar="TITLE")
    for parser in (counterpart, analogy):
        parser.add_argument("--method", choices=METHODS, default="3cosadd",
                            help="how the movies combine: 3cosadd (default, unit vectors), "
                                 "3cosmul, or offset (raw vectors, as the seed did)")


def _query_command(commands, name, build, help_text, example):
    """A query subcommand: the model argument first, then the options all queries share."""
    parser = _command(commands, name, cmd_query, help_text, example)
    parser.set_defaults(build=build, command_name=name)
    parser.add_argument("model", type=Path, help="a model or vectors file (.npz)")
    parser.add_argument("--topn", type=_positive, default=10, help="answers (default 10)")
    parser.add_argument("--min-count", type=_count, default=None,
                        help="only movies with at least this many ratings")
    parser.add_argument("--restrict", type=_positive, default=None, metavar="N",
                        help="only the N most-rated movies")
    parser.add_argument("--json", action="store_true", help="print JSON")
    return parser


def _add_plot(commands):
    p = _command(commands, "plot", cmd_plot,
                 "Draw the most-rated movies on the first two principal components (PNG/SVG).",
                 'movievec plot model.npz -o map.png --top 200 --arrow "Ringu" "The Ring"')
    p.add_argument("model", type=Path, help="a model or vectors file (.npz)")
    p.add_argument("-o", "--output", type=_image, required=True, metavar="FILE",
                   help="the image to write (.png or .svg)")
    p.add_argument("--top", type=_positive, default=200, help="movies drawn (default 200)")
    p.add_argument("--all", action="store_true", help="draw every movie (ignores --top)")
    p.add_argument("--arrow", nargs=2, action="append", default=[], metavar=("SRC", "DST"),
                   help="draw an arrow from SRC to DST; repeat for more")
    p.add_argument("--title", default=None, help="the map's title")


def _add_info(commands):
    p = _command(commands, "info", cmd_info,
                 "Describe a store (counts, rating histogram), a model or a vectors file.",
                 "movievec info netflix.store")
    p.add_argument("path", type=Path, help="a store directory, model or vectors file")
    p.add_argument("--json", action="store_true", help="print JSON")


# ---------------------------------------------------------------------- demo

# Demo defaults, measured on a 2-core machine: 47 s with warm Numba caches (+1 min to compile
# on a first run). Ranks at seed 0, planted pairs: offset first 8/14, top 5 11/14; control
# first 8/14, top 5 14/14 (on this synthetic data the counterpart is also the nearest neighbour).
DEMO_RATINGS = 1_000_000
DEMO_EPOCHS = 16
DEMO_BATCH_SIZE = 256
DEMO_LR = 1.0
DEMO_METHOD = "offset"  # the seed's find_american_counterpart
DEMO_KNOWN_SHARE = 0.25  # rankings are among this share of movies, the most rated
DEMO_VALID_FRACTION = 0.1


def cmd_demo(args) -> int:
    """``movievec demo``: the whole job on synthetic ratings with planted counterpart pairs.

    Generate Netflix-shaped ratings in which fourteen Japanese films have American
    counterparts that differ from them only in origin (Ringu → The Ring, Yojimbo → A Fistful
    of Dollars, ...); train the reference RatingNet; then ask, for every planted pair, where
    the true counterpart ranks in ``counterpart(japanese, via=another planted pair)`` and,
    as a control, among the plain nearest neighbours of the Japanese film. Save the model
    and draw the map.
    """
    import numpy_movievec as mv
    from numpy_movievec import archive
    from numpy_movievec.data import synthetic

    started = time.perf_counter()
    model_path, map_path = args.out / DEMO_MODEL, args.map or args.out / DEMO_MAP
    for path in (model_path, map_path):
        archive.check_destination(_with_parent(path))
    _say(f"generating {args.ratings:,} synthetic ratings (seed {args.seed}); a first run also "
         f"compiles the Numba kernels, one or two minutes, cached for later runs")
    n_movies, n_users = demo_sizes(args.ratings)
    ratings = synthetic(args.ratings, n_movies=n_movies, n_users=n_users, seed=args.seed)
    _say(f"  {ratings!r}, {len(ratings.truth.pairs)} planted pairs "
         f"({time.perf_counter() - started:.1f} s)")
    train, valid = ratings.split(DEMO_VALID_FRACTION, seed=args.seed)
    net = mv.RatingNet(ratings.n_movies, ratings.n_users, seed=args.seed)
    _say(f"training {net} for {_plural(args.epochs, 'epoch')} on {len(train):,} ratings "
         f"({args.engine} engine, batch {args.batch_size}, Adadelta lr {args.lr})")
    history = mv.fit(net, train, valid=valid, epochs=args.epochs, batch_size=args.batch_size,
                     optimizer=mv.Adadelta(lr=args.lr), engine=args.engine, seed=args.seed,
                     threads=args.threads, progress=not args.quiet)
    if history.epochs:
        print_history(history)
    if history.interrupted:
        print(f"{PROG}: interrupted ({signal.Signals(history.signal).name})", file=sys.stderr)
        return 128 + history.signal
    vecs = net.movie_vectors(ratings=ratings)
    min_count = _demo_min_count(vecs.counts, args.min_count)
    results = [planted_pair_ranks(vecs, ratings.truth.pairs, i, min_count, args.method)
               for i in range(len(ratings.truth.pairs))]
    _say(f"\nplanted pairs: {args.method} counterpart vs nearest neighbours (control), among "
         f"the {int((vecs.counts >= min_count).sum()):,} movies with at least {min_count:,} "
         f"ratings")
    for result in results:
        _say(_pair_report(result))
    _say("\n" + demo_summary(results))
    archive.save_or_rescue(lambda path: net.save(path, ratings=ratings), model_path,
                           "the demo's model")
    _say(f"wrote {model_path}  (try: movievec similar {shlex.quote(str(model_path))} Yojimbo)")
    _demo_map(vecs, ratings.truth.pairs, map_path)
    _say(f"done in {time.perf_counter() - started:.0f} s")
    return 0


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


def _say(text: str) -> None:
    """Print a line now, so it keeps its place among the progress lines on stderr."""
    print(text, flush=True)


def _demo_min_count(counts, chosen) -> int:
    """``chosen``, or the rating count that the most-rated ``DEMO_KNOWN_SHARE`` reach."""
    if chosen is not None:
        return chosen
    return max(1, int(np.quantile(counts, 1 - DEMO_KNOWN_SHARE)))


def planted_pair_ranks(vecs, pairs, i, min_count, method=DEMO_METHOD) -> dict:
    """Where the true counterpart of planted pair ``i`` ranks, by offset and by the control.

    The query is pair i's Japanese film moved the way another planted pair moves (pair 0,
    Ringu → The Ring, for every query but Ringu's own, which goes via pair 1). The control
    ranks the same candidates by plain cosine to the Japanese film. Both leave out the three
    input movies and movies with fewer than ``min_count`` ratings; rank 1 is the best.

    >>> from numpy_movievec.vectors import MovieVectors
    >>> vecs = MovieVectors([[1, 0], [0.9, 0.1], [0, 1], [0.1, 0.9]], counts=[9, 9, 9, 9],
    ...                     titles=["Ringu", "The Ring", "Yojimbo", "A Fistful of Dollars"])
    >>> pairs = [("Ringu", "The Ring"), ("Yojimbo", "A Fistful of Dollars")]
    >>> planted_pair_ranks(vecs, pairs, 1, min_count=1)["rank"]
    1
    """
    japanese, american = pairs[i]
    via = pairs[1] if i == 0 else pairs[0]
    inputs = [vecs.index(title) for title in (japanese, *via)]
    offset = vecs.most_similar(positive=[japanese, via[1]], negative=[via[0]], topn=None,
                               method=method, min_count=min_count)
    plain = vecs.most_similar(japanese, topn=None, min_count=min_count)
    target = vecs.index(american)
    return {"japanese": japanese, "american": american, "via": via,
            "rank": _rank(offset, target, inputs), "control_rank": _rank(plain, target, inputs),
            "answers": _best(vecs, offset, inputs), "neighbours": _best(vecs, plain, inputs)}


def _rank(scores, target, excluded) -> int:
    scores = scores.copy()
    scores[excluded] = -np.inf
    return 1 + int((scores > scores[target]).sum())


def _best(vecs, scores, excluded, n=SHOWN_ANSWERS) -> list:
    from numpy_movievec.vectors import top_k

    scores = scores.copy()
    scores[excluded] = -np.inf
    return [(vecs.name(row), float(scores[row])) for row in top_k(scores, n)]


def _pair_report(result) -> str:
    listed = lambda answers: ", ".join(f"{t} {s:.2f}" for t, s in answers)  # noqa: E731
    via = " → ".join(result["via"])
    return (f"\n{result['japanese']} → ?   (true: {result['american']}; via {via})\n"
            f"  counterpart  rank {result['rank']:>4}:  {listed(result['answers'])}\n"
            f"  control      rank {result['control_rank']:>4}:  {listed(result['neighbours'])}")


def demo_summary(results) -> str:
    """The demo's verdict in one line.

    >>> demo_summary([{"rank": 1, "control_rank": 3}, {"rank": 4, "control_rank": 9}])
    'counterpart ranked first for 1 of 2 planted pairs, in the top 5 for 2 \
(control: first 0, top 5 1)'
    """
    first = sum(r["rank"] == 1 for r in results)
    top5 = sum(r["rank"] <= 5 for r in results)
    control_first = sum(r["control_rank"] == 1 for r in results)
    control_top5 = sum(r["control_rank"] <= 5 for r in results)
    return (f"counterpart ranked first for {first} of {len(results)} planted pairs, in the top 5 "
            f"for {top5} (control: first {control_first}, top 5 {control_top5})")


def _demo_map(vecs, pairs, path: Path) -> None:
    title = "Synthetic demo: the 200 most-rated movies; arrows: planted Japanese → American pairs"
    try:
        vecs.plot(path, top=200, arrow=list(pairs), title=title)
    except ImportError as exc:
        print(f"skipped the map: {exc}")
        return
    print(f"wrote {path}")


# ---------------------------------------------------------------------- argument types

def _count(text: str) -> int:
    """A whole number >= 0; accepts 1_000_000, 1,000,000 and 1e6."""
    return _whole_number(text, minimum=0)


def _positive(text: str) -> int:
    """A whole number >= 1."""
    return _whole_number(text, minimum=1)


def _whole_number(text: str, minimum: int) -> int:
    """``text`` as a whole number >= ``minimum``, else an argparse error saying so.

    >>> _whole_number("1,000", minimum=1)
    1000
    >>> _whole_number("-3", minimum=1)
    Traceback (most recent call last):
    ...
    argparse.ArgumentTypeError: expected a whole number >= 1, got '-3'
    """
    try:
        value = float(text.replace("_", "").replace(",", ""))
    except ValueError:
        value = math.nan  # rejected below, with the same message
    if not (value >= minimum and value == int(value)):
        raise argparse.ArgumentTypeError(f"expected a whole number >= {minimum}, got {text!r}")
    return int(value)


def _threads(text: str):
    """``auto`` (the engine picks, and keeps picking, the fastest count) or a count >= 1."""
    return "auto" if text.strip().lower() == "auto" else _positive(text)


def _image(text: str) -> Path:
    """An image path whose suffix the map can be written as (.png, .svg)."""
    from numpy_movievec.viz import FORMATS

    path = Path(text)
    if path.suffix.lower() not in FORMATS:
        raise argparse.ArgumentTypeError(f"{text}: cannot write "
                                         f"{path.suffix or 'no extension'!r} images; use one "
                                         f"of {', '.join(FORMATS)}")
    return path


def _positive_float(text: str) -> float:
    return _number_where(text, lambda value: value > 0 and math.isfinite(value), "a number > 0")


def _fraction(text: str) -> float:
    return _number_where(text, lambda value: 0 <= value < 1, "a fraction in [0, 1)")


def _number_where(text: str, accept, expected: str) -> float:
    """``float(text)`` if ``accept`` takes it, else an argparse error saying what was expected.

    >>> _number_where("0.5", lambda value: value < 1, "a number < 1")
    0.5
    """
    try:
        value = float(text)
    except ValueError:
        value = math.nan  # rejected below, with the same message
    if not accept(value):
        raise argparse.ArgumentTypeError(f"expected {expected}, got {text!r}")
    return value


def _widths(text: str) -> tuple:
    """Hidden layer widths: ``"64,64,64"`` → ``(64, 64, 64)``; ``""`` → no hidden layer.

    >>> _widths("64, 32"), _widths("")
    ((64, 32), ())
    """
    parts = [part.strip() for part in text.split(",")] if text.strip() else []
    if not all(part.isdigit() and int(part) > 0 for part in parts):
        raise argparse.ArgumentTypeError(
            f"expected layer widths as whole numbers > 0 separated by commas, like 64,64,64; "
            f"got {text!r}")
    return tuple(int(part) for part in parts)


# ---------------------------------------------------------------------- prepare

def cmd_prepare_netflix(args) -> None:
    """``movievec prepare netflix ~/netflix -o netflix.store [--probe]``.

    With ``--probe`` the probe.txt pairs go to a second store, the validation set for
    ``movievec train netflix.store --valid netflix.store-probe``.
    """
    from numpy_movievec.data import load_netflix

    started = time.perf_counter()
    if not args.probe:
        _check_stores(args.output)
        _save_store(load_netflix(args.source, duplicates=args.duplicates), args.output, started)
        return
    probe_store = args.probe_store or args.output.with_name(args.output.name + "-probe")
    _check_stores(args.output, probe_store)
    train, probe = load_netflix(args.source, with_probe=True, duplicates=args.duplicates)
    _save_store(train, args.output, started)
    _save_store(probe, probe_store, started)


def cmd_prepare_movielens(args) -> None:
    """``movievec prepare movielens ml-1m -o ml-1m.store``."""
    from numpy_movievec.data import load_movielens

    started = time.perf_counter()
    _check_stores(args.output)
    _save_store(load_movielens(args.source, duplicates=args.duplicates), args.output, started)


def cmd_prepare_csv(args) -> None:
    """``movievec prepare csv ratings.csv -o my.store --movie item --user user --rating stars``."""
    from numpy_movievec.data import load_csv

    started = time.perf_counter()
    _check_stores(args.output)
    ratings = load_csv(args.source, movie=args.movie, user=args.user, rating=args.rating,
                       sep=args.sep, titles=args.titles, duplicates=args.duplicates)
    _save_store(ratings, args.output, started)


def cmd_prepare_synthetic(args) -> None:
    """``movievec prepare synthetic -o synth.store --ratings 2000000 --seed 0``."""
    from numpy_movievec.data import synthetic

    started = time.perf_counter()
    _check_stores(args.output)
    _save_store(synthetic(args.ratings, seed=args.seed), args.output, started)


def _check_stores(*paths: Path) -> None:
    """Before reading anything: each store can be written, and no two are the same place
    (nor one inside another, which saving the outer one would replace)."""
    from numpy_movievec.archive import check_directory_destination
    from numpy_movievec.data.ratings import is_store

    resolved = [path.resolve() for path in paths]
    for i, a in enumerate(resolved):
        for b in resolved[i + 1:]:
            if a == b or a in b.parents or b in a.parents:
                raise BadValueError(f"{paths[i]} and {paths[resolved.index(b)]} would overwrite "
                                    f"each other: give each store its own place")
    for path in paths:
        check_directory_destination(_with_parent(path), replaceable=is_store)


def _save_store(ratings, path: Path, started: float) -> None:
    ratings.save(path)
    print(f"wrote {path}: {len(ratings):,} ratings of {ratings.n_movies:,} movies by "
          f"{ratings.n_users:,} users ({time.perf_counter() - started:.1f} s)")
    if ratings.duplicates:
        found, kept = ratings.duplicates["repeated"], ratings.duplicates["kept"]
        print(f"note: {_plural(found, 'rating')} repeated a (movie, user) pair rated before; "
              + ("all were kept" if kept == "all" else f"kept the {kept} rating of each pair"))


def _with_parent(path: Path) -> Path:
    """``path``, after creating the folder it goes in (as ``mkdir -p`` would)."""
    if path.parent.exists() and not path.parent.is_dir():
        raise FileInTheWayError(f"{path.parent} is not a folder (to write {path.name} in)")
    path.parent.mkdir(parents=True, exist_ok=True)
    return path


# ---------------------------------------------------------------------- train

def cmd_train(args) -> int:
    """``movievec train netflix.store -o model.npz --epochs 5``: train, save, print the history.

    The model file carries the store's titles, ids and rating counts, so the query commands
    need nothing else. ``--resume MODEL`` continues a saved model (weights, optimizer, and the
    exact point an interrupted run reached) for ``--epochs`` more epochs, with the seed, batch
    size and split it was trained with. Before the first epoch the store's values and the
    output paths are checked. The first Ctrl-C (or SIGTERM) stops at the next safe point,
    still saves the model and prints the command that continues (exit status 128 + signal).
    """
    import numpy_movievec as mv
    from numpy_movievec import archive
    from numpy_movievec.data import Ratings

    store = Ratings.load(args.store, mmap=True).check_values()
    train, valid = _train_and_valid(store, args)
    net = _network(store, args)
    split = _split_description(args)
    if args.resume is not None:
        _check_resumable(net, args, len(train), split)
    net.trained_with["split"] = split
    for path in filter(None, (args.output, args.checkpoint)):
        archive.check_destination(_with_parent(path), net.file_size(store))
    optimizer = net.optimizer or mv.Adadelta()  # a resumed model keeps its own
    if args.lr is not None:
        optimizer.lr = args.lr
    if not args.quiet:
        print(f"training {net} on {len(train):,} ratings, validating on {len(valid or ()):,}; "
              f"{args.engine} engine, Adadelta lr {optimizer.lr}", file=sys.stderr)
    history = mv.fit(net, train, valid=valid, epochs=args.epochs, batch_size=args.batch_size,
                     optimizer=optimizer, engine=args.engine, seed=args.seed,
                     threads=args.threads, progress=not args.quiet, patience=args.patience,
                     checkpoint=args.checkpoint, overwrite=args.overwrite)
    archive.save_or_rescue(lambda path: net.save(path, ratings=store), args.output,
                           "the trained model")
    print_history(history)
    print(f"wrote {args.output} ({_plural(net.epochs_trained, 'epoch')} trained in all)")
    if history.stopped_early:
        print(f"stopped early: no better valid RMSE for {_plural(args.patience, 'epoch')}")
    if history.interrupted:
        name = signal.Signals(history.signal).name
        print(f"{PROG}: interrupted ({name}) during epoch {net.epochs_trained + 1}; "
              f"{args.output} holds the point reached. Continue with:\n"
              f"  {continue_command(args, args.epochs - len(history.epochs))}",
              file=sys.stderr)
        return 128 + history.signal
    return 0


def continue_command(args, epochs_left: int) -> str:
    """The ``movievec train`` command that resumes an interrupted one from its ``-o`` model
    and trains the epochs it had left, with its other options.

    >>> args = build_parser().parse_args(["train", "my store", "-o", "m.npz", "--seed", "3"])
    >>> continue_command(args, 4)
    "movievec train 'my store' -o m.npz --resume m.npz --epochs 4 --seed 3"
    """
    words = [PROG, "train", str(args.store), "-o", str(args.output),
             "--resume", str(args.output), "--epochs", str(epochs_left)]
    options = (("batch_size", "--batch-size"), ("seed", "--seed"), ("valid", "--valid"),
               ("valid_fraction", "--valid-fraction"), ("checkpoint", "--checkpoint"),
               ("patience", "--patience"), ("engine", "--engine"), ("threads", "--threads"))
    for name, flag in options:
        value = getattr(args, name)
        if value is not None and value != TRAIN_DEFAULTS.get(name):
            words += [flag, str(value)]
    if args.quiet:
        words.append("--quiet")
    return " ".join(shlex.quote(word) for word in words)


def _split_description(args) -> dict:
    """What defines the train/valid split of this run, kept with the model for resuming."""
    if args.valid is not None:
        return {"valid": str(args.valid)}
    return {"valid_fraction": args.valid_fraction}


def _check_resumable(net, args, n_train: int, split: dict) -> None:
    """Refuse to resume ``net`` with another seed, batch size or split than it had."""
    from numpy_movievec.train import check_same_settings

    saved = net.trained_with.get("split")
    if saved is not None and saved != split:
        raise BadValueError(
            f"{args.resume} was trained with {_split_options(saved)}; this run has "
            f"{_split_options(split)}. Resuming keeps the same split, or validation ratings "
            f"would leak into training")
    asked = dict(seed=args.seed, batch_size=min(args.batch_size, n_train), n_ratings=n_train)
    check_same_settings(net.trained_with, asked, args.resume,
                        names={"seed": "--seed", "batch_size": "--batch-size",
                               "n_ratings": "training ratings"})


def _split_options(split: dict) -> str:
    if "valid" in split:
        return f"--valid {split['valid']}"
    return f"--valid-fraction {split['valid_fraction']}"


def _train_and_valid(store, args):
    """``(train, valid)``: a seeded random split of the store, or the store and ``--valid``."""
    from numpy_movievec.data import Ratings

    if args.valid is None:
        if args.valid_fraction == 0:
            return store, None
        return store.split(args.valid_fraction, seed=args.seed)
    valid = Ratings.load(args.valid, mmap=True).check_values()
    for name in ("movie_ids", "user_ids"):
        if not np.array_equal(getattr(store, name), getattr(valid, name)):
            raise BadValueError(f"{args.valid} does not share {args.store}'s {name}: prepare "
                                f"both from the same source (prepare netflix --probe does)")
    return store, valid


def _network(store, args):
    """A new RatingNet for ``store``, or the ``--resume`` model after checking it fits."""
    import numpy_movievec as mv

    if args.resume is None:
        return mv.RatingNet(store.n_movies, store.n_users, dim=args.dim or 40,
                            hidden=(64, 64, 64) if args.hidden is None else args.hidden,
                            seed=args.seed)
    net = mv.RatingNet.load(args.resume)
    if (net.n_movies, net.n_users) != (store.n_movies, store.n_users):
        raise BadValueError(f"{args.resume} was built for {net.n_movies:,} movies and "
                            f"{net.n_users:,} users, but {args.store} has {store.n_movies:,} "
                            f"and {store.n_users:,}")
    for option, wanted, has in (("--dim", args.dim, net.dim),
                                ("--hidden", args.hidden, net.hidden)):
        if wanted is not None and tuple(np.atleast_1d(wanted)) != tuple(np.atleast_1d(has)):
            raise BadValueError(f"{option} {wanted} differs from the resumed model's {has}; "
                                f"leave it out when resuming")
    return net


def print_history(history) -> None:
    """The per-epoch table: epoch, train RMSE, valid RMSE, seconds."""
    valid = history.valid_rmse or [None] * len(history.epochs)
    rows = [(epoch, f"{train:.4f}", "-" if v is None else f"{v:.4f}", f"{seconds:.1f}")
            for epoch, train, v, seconds in zip(history.epochs, history.train_rmse, valid,
                                                 history.seconds)]
    print(format_table(("epoch", "train RMSE", "valid RMSE", "seconds"), rows))


# ---------------------------------------------------------------------- queries

METHODS = ("3cosadd", "3cosmul", "offset")


def cmd_query(args) -> None:
    """``similar``, ``counterpart`` and ``analogy``: one runner, each command builds its query.

    ``args.build(args, vecs)`` returns ``(description, positive, negative)`` with every movie
    already resolved (see `movie_key`); the answers are printed as a table or as JSON.
    """
    from numpy_movievec.vectors import MovieVectors

    vecs = MovieVectors.load(args.model)
    if (args.min_count is not None or args.restrict is not None) and vecs.counts is None:
        raise BadValueError(f"{args.model} has no rating counts, which --min-count and "
                            f"--restrict rank by")
    description, positive, negative = args.build(args, vecs)
    answers = vecs.most_similar(positive=positive, negative=negative, topn=args.topn,
                                method=args.method, min_count=args.min_count,
                                restrict=args.restrict)
    scope = _scope(args.min_count, args.restrict)
    if args.json:
        print(json.dumps({
            "command": args.command_name, "query": description,
            "positive": [_label(vecs, key) for key in positive],
            "negative": [_label(vecs, key) for key in negative],
            "method": args.method, "min_count": args.min_count, "restrict": args.restrict,
            "results": [{"rank": rank, "title": title, "score": score}
                        for rank, (title, score) in enumerate(answers, 1)]}, indent=2,
            ensure_ascii=False))
        return
    score = "score" if args.method == "3cosmul" else "cosine"
    print(f"{description}{scope}:")
    print(format_table(("rank", "title", score),
                       [(rank, title, f"{value:.4f}") for rank, (title, value) in
                        enumerate(answers, 1)]))


def _similar_query(args, vecs):
    key = movie_key(vecs, args.title)
    return f"nearest to {_label(vecs, key)}", [key], []


def _counterpart_query(args, vecs):
    key, source, destination = (movie_key(vecs, title) for title in (args.title, *args.via))
    names = [_label(vecs, k) for k in (key, source, destination)]
    return (f"{names[0]} moved as {names[1]} → {names[2]} ({args.method})",
            [key, destination], [source])


def _analogy_query(args, vecs):
    positive = [movie_key(vecs, title) for title in args.positive]
    negative = [movie_key(vecs, title) for title in args.negative]
    terms = " ".join([f"+ {_label(vecs, k)}" for k in positive]
                     + [f"- {_label(vecs, k)}" for k in negative])
    return f"{terms.removeprefix('+ ')} ({args.method})", positive, negative


def movie_key(vecs, text: str):
    """What to pass to `MovieVectors` for a command-line movie: the title, or else an id.

    A title is tried first; text that looks like a whole number and names no title is then
    taken as a movie id (the original id, e.g. a Netflix MovieID). An ambiguous title stays an
    error, whatever its digits, so "1984" never silently becomes movie 1984.

    >>> from numpy_movievec.vectors import MovieVectors
    >>> vecs = MovieVectors([[1.0], [2.0]], titles=["1984", "Heat"], movie_ids=[7, 1984])
    >>> movie_key(vecs, "1984"), movie_key(vecs, "7"), movie_key(vecs, "heat")
    ('1984', 7, 'heat')
    """
    from numpy_movievec.vectors import AmbiguousTitleError, MovieLookupError

    try:
        vecs.index(text)
        return text
    except MovieLookupError as title_error:
        if not _INTEGER.fullmatch(text.strip()) or isinstance(title_error, AmbiguousTitleError):
            raise
        try:
            vecs.index(int(text))
        except MovieLookupError:
            raise MovieLookupError(f"no movie titled {text!r}, nor with id {int(text)}") from None
        return int(text)


def _label(vecs, key) -> str:
    """How answers name the movie ``key`` names (its title, with the year for remakes)."""
    return vecs.name(vecs.index(key))


def _scope(min_count, restrict) -> str:
    parts = []
    if min_count is not None:
        parts.append(f"with at least {min_count:,} ratings")
    if restrict is not None:
        parts.append(f"among the {restrict:,} most rated")
    return f" (movies {', '.join(parts)})" if parts else ""


# ---------------------------------------------------------------------- plot and info

def cmd_plot(args) -> None:
    """``movievec plot model.npz -o map.png --top 200 --arrow Ringu "The Ring"``."""
    from numpy_movievec.vectors import MovieVectors

    vecs = MovieVectors.load(args.model)
    arrows = [tuple(movie_key(vecs, title) for title in pair) for pair in args.arrow]
    top = None if args.all else args.top
    if top is not None and vecs.counts is None:
        raise BadValueError(f"{args.model} has no rating counts to find the most-rated movies; "
                            f"draw every movie with --all")
    path = vecs.plot(_with_parent(args.output), top=top, arrow=arrows or None, title=args.title)
    shown = len(vecs) if top is None else min(top, len(vecs))
    drawn = f"{shown:,} movies" + (f", {_plural(len(arrows), 'arrow')}" if arrows else "")
    print(f"wrote {path}: {drawn}")


def cmd_info(args) -> None:
    """``movievec info PATH``: what a store directory, model or vectors file holds, as the
    objects describe themselves."""
    facts = describe_path(args.path)
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


def describe_path(path: Path) -> dict:
    """The ``describe()`` of whatever ``path`` holds: a store, a model or movie vectors."""
    from numpy_movievec import archive
    from numpy_movievec.data import Ratings
    from numpy_movievec.nn import RatingNet
    from numpy_movievec.vectors import MovieVectors

    if path.is_dir():
        return Ratings.load(path, mmap=True).describe()
    if not path.is_file():
        raise MissingFileError(f"{path}: no such file or directory")
    kind = archive.read_header(path, "RatingNet", "MovieVectors")["kind"]
    facts = (RatingNet.load(path).describe() if kind == "RatingNet"
             else _vectors_facts(MovieVectors.load(path)))
    return {"kind": facts.pop("kind"), "path": str(path), **facts}


def _vectors_facts(vecs) -> dict:
    """What a MovieVectors holds, from its public attributes."""
    return {"kind": "MovieVectors", "movies": len(vecs), "dim": vecs.dim,
            "movies_with_titles": 0 if vecs.titles is None else
            sum(title is not None for title in vecs.titles),
            "rating_counts": vecs.counts is not None}


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
    numeric = [all(_looks_numeric(row[i]) for row in rows) for i in range(len(widths))]
    out = []
    for line in lines:
        cells = [cell.rjust(w) if right else cell.ljust(w)
                 for cell, w, right in zip(line, widths, numeric)]
        out.append("  ".join(cells).rstrip())
    return "\n".join(out)


def _looks_numeric(text: str) -> bool:
    return bool(re.fullmatch(r"[-+]?[\d,]*\.?\d+%?|-", text.strip()))


def _plural(n: int, noun: str) -> str:
    """``"1 epoch"``, ``"6 epochs"``."""
    return f"{n} {noun}{'s' * (n != 1)}"


def _version() -> str:
    from numpy_movievec import __version__

    return __version__
