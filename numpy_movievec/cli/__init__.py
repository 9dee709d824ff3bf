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

``python -m numpy_movievec`` is the same command. It is a thin shell in three parts:
``arguments.py`` declares what each subcommand accepts, ``commands.py`` holds one small
``cmd_*`` function per subcommand that turns arguments into library calls and prints what they
return (so a Python user can do all of it too), and `main`, here, runs one and reports errors. Defaults come from the library's own signatures
(`RatingNet`, `fit`, `Ratings.split`, `Adadelta`), method names from ``vectors.METHODS``.
`main` prints the errors the library raises on purpose (`checks.MovievecError`: a bad file,
an unknown title, a size that cannot work) and the system's (OSError: a permission, a full
disk) on one line and exits with status 2; anything else is a bug and keeps its traceback.
What a user can rely on: ``docs/bad-input-and-faults.md``.
"""

from __future__ import annotations

import os
import signal
import sys

from numpy_movievec.checks import MovievecError

from .arguments import build_parser
from .commands import PROG

USAGE_ERROR = 2  # argparse's exit status for a bad command line; ours for every user error
USER_ERRORS = (MovievecError, OSError)  # one line each; anything else is a bug


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
