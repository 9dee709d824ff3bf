"""Nothing half-written: build a directory under a temporary name, then rename it into place."""

from __future__ import annotations

import os
import shutil
import tempfile
from contextlib import contextmanager
from pathlib import Path


@contextmanager
def staged_directory(target, replaceable=lambda path: False):
    """Yield an empty temporary directory beside ``target``; rename it to ``target`` on success.

    If the block raises, the temporary directory is deleted and ``target`` is untouched. An
    existing ``target`` must be an empty directory, or one that ``replaceable(target)`` accepts
    (it is then swapped out and deleted); anything else raises FileExistsError up front.

    >>> import tempfile
    >>> with staged_directory(tempfile.mkdtemp() + "/out") as staging:
    ...     _ = (staging / "a.txt").write_text("hello")
    """
    target = Path(target)
    if not target.parent.is_dir():
        raise FileNotFoundError(f"{target.parent}: no such directory")
    if target.exists() and not (_is_empty_dir(target) or replaceable(target)):
        raise FileExistsError(f"{target}: already exists; not overwriting it")
    staging = Path(tempfile.mkdtemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent))
    try:
        yield staging
        _swap_into_place(staging, target)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise


def _is_empty_dir(path: Path) -> bool:
    return path.is_dir() and not any(path.iterdir())


def _swap_into_place(staging: Path, target: Path):
    if not target.exists() or _is_empty_dir(target):
        os.replace(staging, target)  # rename(2) may replace an empty directory
        return
    old = Path(tempfile.mkdtemp(prefix=f".{target.name}.", suffix=".old", dir=target.parent))
    os.replace(target, old)
    os.replace(staging, target)
    shutil.rmtree(old)
