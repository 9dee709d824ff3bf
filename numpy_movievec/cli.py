"""The ``movievec`` command: prepare ratings, train, ask the movie vectors questions, export.

    movievec demo                                           # the whole job on synthetic data
    movievec prepare netflix ~/netflix -o netflix.store --probe
    movievec train netflix.store -o model.npz --valid netflix.store-probe --restore-best
    movievec similar model.npz "Yojimbo"
    movievec counterpart model.npz "Yojimbo" --via "Ringu" "The Ring"
    movievec analogy model.npz --positive "The Ring" "Yojimbo" --negative "Ringu" --json
    movievec plot model.npz -o map.png --arrow "Ringu" "The Ring"
    movievec export model.npz --csv movies.csv --projector projector/ --word2vec movies.txt
    movievec info model.npz

``python -m numpy_movievec`` is the same command. It is a thin shell: each subcommand is a
small ``cmd_*`` function that turns arguments into library calls and prints what they return,
so a Python user can do all of it too. Defaults come from the library's own signatures
(`RatingNet`, `fit`, `Ratings.split`, `Adadelta`), method names from ``vectors.METHODS``.
`main` prints the errors the library raises on purpose (`checks.MovievecError`: a bad file,
an unknown title, a size that cannot work) and the system's (OSError: a permission, a full
disk) on one line and exits with status 2; anything else is a bug and keeps its traceback.
What a user can rely on: ``docs/bad-input-and-faults.md``.
"""

from __future__ import annotations

import argparse
import inspect
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

import numpy_movievec as mv
from numpy_movievec import archive, data
from numpy_movievec.checks import (BadValueError, FileInTheWayError, MissingFileError,
                                   MovievecError)
from numpy_movievec.vectors import METHODS, MovieVectors
from numpy_movievec.viz import FORMATS

PROG = "movievec"
USAGE_ERROR = 2  # argparse's exit status for a bad command line; ours for every user error
USER_ERRORS = (MovievecError, OSError)  # one line each; anything else is a bug
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

# The demo's defaults: under a minute on 2 cores once the Numba kernels are compiled and cached
# (a first run compiles them, a minute or two). The README shows a measured run.
DEMO_RATINGS = 1_000_000
DEMO_EPOCHS = 16
DEMO_BATCH_SIZE = 256
DEMO_METHOD = "offset"  # the seed's find_american_counterpart
DEMO_KNOWN_SHARE = 0.25  # rankings are among this share of movies, the most trained
DEMO_MAP, DEMO_MODEL = "movievec-demo-map.png", "movievec-demo-model.npz"


def main(argv=None) -> int:
    """Run ``movievec`` with ``argv`` (default: ``sys.argv[1:]``); return the exit status.

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
        return 128 + signal.SIGINT
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
    """The message of ``exc`` on one line, without the quotes a KeyError's repr adds.

    >>> one_line(KeyError("column 'x' not found")), one_line(ValueError("two\\nlines"))
    ("column 'x' not found", 'two lines')
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
    parser.add_argument("--version", action="version", version=f"%(prog)s {mv.__version__}")
    commands = parser.add_subparsers(title="commands", metavar="COMMAND", required=True)

    p = _command(commands, "demo", cmd_demo, "movievec demo --ratings 10000000 --epochs 4",
                 "Generate synthetic ratings with planted Japanese → American counterparts, "
                 "train, and check that the movie vectors find them.")
    p.add_argument("--ratings", type=_positive, default=DEMO_RATINGS, help="ratings, up to 100M")
    p.add_argument("--epochs", type=_count, default=DEMO_EPOCHS, help="training epochs")
    p.add_argument("--batch-size", type=_positive, default=DEMO_BATCH_SIZE, help="ratings per step")
    p.add_argument("--lr", type=_positive_float, default=LR, help="Adadelta learning rate")
    p.add_argument("--min-count", type=_count, help="rank only movies with at least this many "
                   f"training ratings (default: the {DEMO_KNOWN_SHARE * 100:.0f}%% most trained)")
    p.add_argument("--method", choices=METHODS, default=DEMO_METHOD,
                   help="how the counterpart query combines vectors; offset is the seed's")
    p.add_argument("--seed", type=_count, default=0, help="seed of the data and the model")
    _engine_options(p)
    p.add_argument("--out", type=Path, default=Path("."),
                   help=f"folder for {DEMO_MODEL} and {DEMO_MAP}")
    p.add_argument("-o", "--map", type=_image,
                   help=f"the map, .png or .svg (default OUT/{DEMO_MAP})")
    p.add_argument("--quiet", action="store_true", help="no progress bar")

    sources = _command(commands, "prepare", None,
                       "movievec prepare netflix ~/netflix -o netflix.store --probe",
                       "Read ratings (Netflix Prize, MovieLens, CSV or synthetic) into a store "
                       "directory that train reads memory-mapped."
                       ).add_subparsers(title="sources", metavar="SOURCE", required=True)
    netflix = _command(sources, "netflix", cmd_prepare,
                       "movievec prepare netflix ~/netflix -o netflix.store --probe",
                       "The Netflix Prize files: training_set/ or combined_data_*.txt, with "
                       "movie_titles.csv (and probe.txt for --probe) beside them.")
    netflix.add_argument("source", type=Path, help="folder (or one combined_data file)")
    netflix.add_argument("--probe", action="store_true", help="hold the probe.txt pairs out "
                         "of the store, in a second store for `train --valid`")
    netflix.add_argument("--probe-store", type=Path, help="the probe store (STORE-probe)")
    movielens = _command(sources, "movielens", cmd_prepare,
                         "movievec prepare movielens ml-1m -o ml-1m.store",
                         "An unzipped MovieLens release (ml-100k, ml-1m, ml-latest, ml-25m, ...).")
    movielens.add_argument("source", type=Path, help="the ml-* folder")
    csv = _command(sources, "csv", cmd_prepare,
                   "movievec prepare csv ratings.csv -o my.store --movie item_id --user user_id "
                   "--rating stars --titles titles.csv",
                   "Any CSV of ratings with integer movie and user ids.")
    csv.add_argument("source", type=Path, help="the CSV file (with a header row)")
    for column in ("movie", "user", "rating"):
        csv.add_argument(f"--{column}", default=column, help=f"the {column} column")
    csv.add_argument("--sep", default=",", help="field separator")
    csv.add_argument("--titles", type=Path, help="a CSV with a header: the movie id column "
                     "(named as --movie, else the first) and 'title' (else the second)")
    synthetic = _command(sources, "synthetic", cmd_prepare,
                         "movievec prepare synthetic -o synth.store --ratings 2000000 --seed 0",
                         "Netflix-shaped synthetic ratings with planted counterpart pairs.")
    synthetic.add_argument("--ratings", type=_positive, default=1_000_000,
                           help="how many (100,480,507 is Netflix-sized)")
    synthetic.add_argument("--seed", type=_count, default=0, help="seed")
    for source in (netflix, movielens, csv):
        source.add_argument("--duplicates", choices=("error", "first", "last", "all"),
                            default="error", help="a (movie, user) pair rated more than once: "
                            "an error, or keep the first or last rating (file order), or all")
    for source in (netflix, movielens, csv, synthetic):
        source.add_argument("-o", "--output", type=Path, required=True, metavar="STORE",
                            help="the store directory to write (an old store there is replaced)")

    p = _command(commands, "train", cmd_train,
                 "movievec train netflix.store -o model.npz --epochs 30 --patience 3 "
                 "--restore-best",
                 "Train a RatingNet on a store; save the model with the movie titles, ids and "
                 "training counts, ready for the query commands.")
    p.add_argument("store", type=Path, help="a store directory written by prepare")
    p.add_argument("-o", "--output", type=Path, required=True, metavar="MODEL",
                   help="the model file to write (.npz)")
    p.add_argument("--epochs", type=_count, default=FIT["epochs"], help="epochs to train")
    p.add_argument("--batch-size", type=_positive, default=FIT["batch_size"],
                   help="ratings per step")
    p.add_argument("--dim", type=_positive, help=f"embedding size (default {NET['dim']})")
    p.add_argument("--hidden", type=_widths, help="hidden layer widths, comma-separated, '' for "
                   f"none (default {','.join(map(str, NET['hidden']))})")
    p.add_argument("--l2", type=_non_negative_float, help="L2 penalty on the embedding vectors "
                   f"a batch uses (default {NET['l2']}, the seed's)")
    p.add_argument("--lr", type=_positive_float,
                   help=f"Adadelta learning rate (default {LR}, or the resumed model's)")
    p.add_argument("--valid-fraction", type=_fraction, default=TRAIN_DEFAULTS["valid_fraction"],
                   help="share of the store held out at random for validation")
    p.add_argument("--valid", type=Path, metavar="STORE",
                   help="validate on this store instead (e.g. the Netflix probe store)")
    p.add_argument("--seed", type=_count, default=FIT["seed"],
                   help="seed of the split, the initial weights and the shuffling")
    p.add_argument("--patience", type=_positive, metavar="N",
                   help="stop once N epochs have passed since the best valid RMSE")
    p.add_argument("--restore-best", action="store_true",
                   help="end as the epoch of the best valid RMSE, optimizer state included")
    p.add_argument("--checkpoint", type=Path, metavar="PATH", help="save the model here after "
                   "every epoch and on Ctrl-C or SIGTERM, for --resume")
    p.add_argument("--overwrite", action="store_true",
                   help="let --checkpoint replace a checkpoint that holds more training")
    p.add_argument("--resume", type=Path, metavar="MODEL", help="continue this model (or "
                   "checkpoint) for --epochs more, with its seed, batch size and split")
    _engine_options(p)
    p.add_argument("--quiet", action="store_true", help="no progress bar or notes")

    for name, example, text in QUERIES:
        p = _command(commands, name, cmd_query, example, text)
        p.add_argument("model", type=Path, help="a model or vectors file (.npz)")
        if name == "analogy":
            p.add_argument("--positive", nargs="+", required=True, metavar="TITLE")
            p.add_argument("--negative", nargs="+", default=[], metavar="TITLE")
        else:
            p.add_argument("title", help="a title, 'Title (Year)', or a movie id")
        if name == "counterpart":
            p.add_argument("--via", nargs=2, required=True, metavar=("SRC", "DST"),
                           help="the example pair, e.g. Ringu 'The Ring'")
        if name == "similar":
            p.set_defaults(method=METHODS[0])  # one movie: the cosine, whatever the method
        else:
            p.add_argument("--method", choices=METHODS, default=METHODS[0],
                           help="how the movies combine; offset: raw vectors, as the seed did")
        p.add_argument("--topn", type=_positive, default=10, help="answers")
        p.add_argument("--min-count", type=_count, help="only movies with at least this many "
                       "training ratings")
        p.add_argument("--restrict", type=_positive, metavar="N", help="only the N most rated")
        p.add_argument("--include-untrained", action="store_true",
                       help="let movies with no training ratings answer (random vectors)")
        p.add_argument("--json", action="store_true", help="print JSON")

    p = _command(commands, "plot", cmd_plot,
                 'movievec plot model.npz -o map.png --top 200 --arrow "Ringu" "The Ring"',
                 "Draw the most-rated movies on the first two principal components (PNG/SVG).")
    p.add_argument("model", type=Path, help="a model or vectors file (.npz)")
    p.add_argument("-o", "--output", type=_image, required=True, metavar="FILE",
                   help="the image to write (.png or .svg)")
    p.add_argument("--top", type=_positive, default=200, help="movies drawn")
    p.add_argument("--all", action="store_true", help="draw every movie (ignores --top)")
    p.add_argument("--arrow", nargs=2, action="append", default=[], metavar=("SRC", "DST"),
                   help="draw an arrow from SRC to DST; repeat for more")
    p.add_argument("--title", help="the map's title")

    p = _command(commands, "export", cmd_export, "movievec export model.npz --csv movies.csv "
                 "--projector projector/ --word2vec movies.txt",
                 "Write the movie vectors for other tools: a CSV table (title, year, id, "
                 "count, v0, v1, ...), the Embedding Projector's vectors.tsv and metadata.tsv, "
                 "or word2vec's text format for gensim (keyed by movie id, titles beside).")
    p.add_argument("model", type=Path, help="a model or vectors file (.npz)")
    p.add_argument("--csv", type=Path, metavar="FILE", help="the table, a movie a line")
    p.add_argument("--projector", type=Path, metavar="DIR",
                   help="a folder for projector.tensorflow.org or TensorBoard")
    p.add_argument("--word2vec", type=Path, metavar="FILE",
                   help="for gensim's KeyedVectors.load_word2vec_format")

    p = _command(commands, "info", cmd_info, "movievec info netflix.store",
                 "Describe a store (counts, rating histogram), a model or a vectors file.")
    p.add_argument("path", type=Path, help="a store directory, model or vectors file")
    p.add_argument("--json", action="store_true", help="print JSON")
    return parser


QUERIES = (  # name, example, what it answers
    ("similar", 'movievec similar model.npz "Yojimbo" --topn 5 --min-count 1000',
     "The movies nearest to one movie, by cosine similarity."),
    ("counterpart", 'movievec counterpart model.npz "Yojimbo" --via "Ringu" "The Ring"',
     "Move from one movie the way SRC moves to DST (TITLE + DST - SRC)."),
    ("analogy", 'movievec analogy model.npz --positive "The Ring" "Yojimbo" --negative "Ringu"',
     "Add and subtract movies, then rank by cosine (gensim's most_similar)."),
)


class _HelpFormatter(argparse.RawDescriptionHelpFormatter):
    """Examples keep their lines; an option's help ends with its default, when it has one."""

    def _get_help_string(self, action):
        default = action.default
        if default is None or isinstance(default, bool) or default in ([], argparse.SUPPRESS) \
                or "default" in action.help:
            return action.help
        return f"{action.help} (default {default:,})" if isinstance(default, int) \
            else f"{action.help} (default {default})"


def _command(commands, name, run, example, help_text):
    parser = commands.add_parser(name, help=help_text, description=help_text,
                                 epilog=f"example:\n  {example}", formatter_class=_HelpFormatter)
    parser.set_defaults(run=run, command_name=name)
    return parser


def _engine_options(parser):
    parser.add_argument("--engine", choices=("numba", "numpy"), default=FIT["engine"],
                        help="numba: compiled and parallel; numpy: the readable reference")
    parser.add_argument("--threads", type=_threads, default=FIT["threads"],
                        help="Numba threads: a count, or auto: the engine keeps picking the "
                             "fastest, with the same results for any count")


# ---------------------------------------------------------------------- argument types

def _whole_number(minimum: int):
    """A parser of whole numbers >= ``minimum``; it accepts 1_000_000, 1,000,000 and 1e6.

    >>> _whole_number(1)("1,000")
    1000
    >>> _whole_number(1)("-3")
    Traceback (most recent call last):
    ...
    argparse.ArgumentTypeError: expected a whole number >= 1, got '-3'
    """
    def parse(text: str) -> int:
        value = _number(text.replace("_", "").replace(",", ""))
        if not (minimum <= value < math.inf and value == int(value)):
            raise argparse.ArgumentTypeError(f"expected a whole number >= {minimum}, got {text!r}")
        return int(value)
    return parse


def _real_number(accept, expected: str):
    """A parser of numbers that ``accept`` takes, else an error saying what was expected.

    >>> _real_number(lambda value: value < 1, "a number < 1")("0.5")
    0.5
    """
    def parse(text: str) -> float:
        value = _number(text)
        if not accept(value):
            raise argparse.ArgumentTypeError(f"expected {expected}, got {text!r}")
        return value
    return parse


def _number(text: str) -> float:
    try:
        return float(text)
    except ValueError:
        return math.nan  # every check rejects it, with the caller's message


_count, _positive = _whole_number(0), _whole_number(1)
_positive_float = _real_number(lambda value: 0 < value < math.inf, "a number > 0")
_non_negative_float = _real_number(lambda value: 0 <= value < math.inf, "a number >= 0")
_fraction = _real_number(lambda value: 0 <= value < 1, "a fraction in [0, 1)")


def _threads(text: str):
    """``auto`` (the engine picks, and keeps picking, the fastest count) or a count >= 1."""
    return "auto" if text.strip().lower() == "auto" else _positive(text)


def _image(text: str) -> Path:
    """An image path whose suffix the map can be written as (.png, .svg)."""
    path = Path(text)
    if path.suffix.lower() not in FORMATS:
        raise argparse.ArgumentTypeError(f"{text}: cannot write {path.suffix or 'no extension'!r}"
                                         f" images; use one of {', '.join(FORMATS)}")
    return path


def _widths(text: str) -> tuple:
    """Hidden layer widths: ``"64,64,64"`` → ``(64, 64, 64)``; ``""`` → no hidden layer.

    >>> _widths("64, 32"), _widths("")
    ((64, 32), ())
    """
    parts = [part.strip() for part in text.split(",")] if text.strip() else []
    if not all(part.isdigit() and int(part) > 0 for part in parts):
        raise argparse.ArgumentTypeError(f"expected layer widths as whole numbers > 0 "
                                         f"separated by commas, like 64,64,64; got {text!r}")
    return tuple(int(part) for part in parts)


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
         f"compiles the Numba kernels, one or two minutes, cached for later runs")
    n_movies, n_users = demo_sizes(args.ratings)
    ratings = data.synthetic(args.ratings, n_movies=n_movies, n_users=n_users, seed=args.seed)
    _say(f"  {ratings!r}, {len(ratings.truth.pairs)} planted pairs "
         f"({time.perf_counter() - started:.1f} s)")
    train, valid = ratings.split(seed=args.seed)
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
    min_count = demo_min_count(vecs.counts) if args.min_count is None else args.min_count
    evaluation = vecs.evaluate_counterparts(ratings.truth.pairs, method=args.method,
                                            min_count=min_count)
    _say(f"\nplanted pairs: the {args.method} counterpart vs the nearest neighbours (control), "
         f"ranked among {evaluation.n_candidates:,} movies: those with at least {min_count:,} "
         f"training ratings, and the counterparts")
    for result in evaluation.results:
        _say(pair_report(result))
    _say("\n" + evaluation.summary())
    archive.save_or_rescue(lambda path: net.save(path, ratings=ratings), model_path,
                           "the demo's model")
    _say(f"wrote {model_path}  (try: movievec similar {shlex.quote(str(model_path))} Yojimbo)")
    title = "Synthetic demo: the 200 most-rated movies; arrows: planted Japanese → American pairs"
    try:
        _say(f"wrote {vecs.plot(map_path, top=200, arrow=list(ratings.truth.pairs), title=title)}")
    except ImportError as exc:
        _say(f"skipped the map: {exc}")
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
