"""What ``movievec`` accepts: one argparse subcommand per ``cmd_*`` function, each with an
example, and the argument types that turn text into checked values (with one-line errors).
"""

from __future__ import annotations

import argparse
import math
from pathlib import Path

import numpy_movievec as mv
from numpy_movievec.vectors import METHODS
from numpy_movievec.viz import FORMATS

from .commands import (DEMO_KNOWN_SHARE, DEMO_MAP, DEMO_METHOD,
                       DEMO_MODEL, DEMO_RATINGS, FIT, LR, NET, PROG, TRAIN_DEFAULTS, cmd_demo,
                       cmd_export, cmd_info, cmd_plot, cmd_prepare, cmd_query, cmd_train,
                       demo_training)


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
    by_size = "(default: by --ratings; " + "; ".join(
        "{}: {epochs} epochs of batch {batch_size} at lr {lr:g}".format(label, **demo_training(n))
        for label, n in (("1M", 10**6), ("10M", 10**7), ("100M", 10**8))) + ")"
    p.add_argument("--epochs", type=_count, help=f"training epochs {by_size}")
    p.add_argument("--batch-size", type=_positive, help=f"ratings per step {by_size}")
    p.add_argument("--lr", type=_positive_float, help=f"Adadelta learning rate {by_size}")
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
