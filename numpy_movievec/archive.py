"""Saved files: one ``.npz`` archive per object, with a JSON header and no pickle; and the
two ways every file or directory this library writes is kept from being half-written.

Every file this library writes (models, movie vectors, checkpoints) has the same layout:

    __header__        0-d unicode array holding JSON: {"kind": ..., "format_version": ..., ...}
    <name>            one plain numeric or fixed-width unicode array per entry

Arrays are read back with ``allow_pickle=False``, so a saved file never runs code, and titles
are stored as fixed-width unicode (object arrays would need pickle). Files are written to a
temporary name beside the target and renamed, so a crash never leaves half a file behind
(`atomic_file`); a directory of files, such as a ratings store, is built under a temporary
name and renamed the same way (`staged_directory`).
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from contextlib import contextmanager
from pathlib import Path

import numpy as np

FORMAT_VERSION = 1
HEADER_KEY = "__header__"


def save_npz(path, kind: str, arrays: dict, **header) -> Path:
    """Write ``arrays`` and a JSON ``header`` to ``path`` atomically; return the path.

    >>> import tempfile, numpy as np
    >>> p = save_npz(tempfile.mkdtemp() + "/x.npz", "example", {"w": np.ones(3)}, note="hi")
    >>> load_npz(p, "example")[0]["note"]
    'hi'
    """
    path = Path(path)
    header = {"kind": kind, "format_version": FORMAT_VERSION, **header}
    contents = {HEADER_KEY: np.array(json.dumps(header))}
    for name, array in arrays.items():
        array = np.asarray(array)
        if array.dtype == object:
            raise TypeError(f"{name!r} is an object array; saved files hold no pickled data")
        contents[name] = array
    with atomic_file(path) as f:
        np.savez(f, **contents)
    return path


@contextmanager
def atomic_file(path):
    """Open a temporary file beside ``path`` for binary writing; on success rename it to
    ``path``, on any error delete it. Readers see the old file or the whole new one.

    >>> import tempfile, os
    >>> target = os.path.join(tempfile.mkdtemp(), "out.bin")
    >>> with atomic_file(target) as f:
    ...     _ = f.write(b"all or nothing")
    >>> open(target, "rb").read()
    b'all or nothing'
    """
    path = Path(path)
    # The process id keeps two writers apart; a plain open keeps the usual permissions.
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        with open(tmp, "wb") as f:
            yield f
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


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


def load_npz(path, *kinds: str) -> tuple[dict, dict]:
    """Read a file written by `save_npz`; return ``(header, arrays)``.

    Raises FileNotFoundError for a missing file and ValueError for a file that is not ours,
    is of another kind than ``kinds``, or comes from a newer format version.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no such file")
    try:
        with np.load(path, allow_pickle=False) as archive:
            arrays = {name: archive[name] for name in archive.files}
    except (OSError, ValueError) as exc:
        raise ValueError(f"{path}: not a numpy_movievec file ({exc})") from None
    if HEADER_KEY not in arrays:
        raise ValueError(f"{path}: not a numpy_movievec file (no {HEADER_KEY} entry)")
    header = json.loads(str(arrays.pop(HEADER_KEY)))
    if kinds and header.get("kind") not in kinds:
        raise ValueError(f"{path}: holds a {header.get('kind')!r}, expected {' or '.join(kinds)}")
    if header.get("format_version", 0) > FORMAT_VERSION:
        raise ValueError(
            f"{path}: format version {header['format_version']} is newer than this "
            f"numpy_movievec reads ({FORMAT_VERSION}); upgrade the library"
        )
    return header, arrays


def titles_to_array(titles) -> np.ndarray:
    """Titles (None where unknown) as a fixed-width unicode array ("" for unknown)."""
    return np.array(["" if t is None else str(t) for t in titles], dtype=str)


def titles_from_array(array) -> list:
    """Inverse of `titles_to_array`: "" becomes None again."""
    return [t if t else None for t in array.tolist()]
