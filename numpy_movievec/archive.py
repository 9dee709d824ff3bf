"""Saved files: their header and format-version policy, and how nothing is ever half-written.

Every file this library writes (models, movie vectors, checkpoints) is one ``.npz`` archive:

    __header__        0-d unicode array holding JSON: {"kind": ..., "format_version": ..., ...}
    <name>            one plain numeric or fixed-width unicode array per entry

A ratings store is a directory of ``.npy`` columns with the same JSON header in
``header.json``. One function, `parse_header`, checks every header: a JSON object, of an
expected kind, with a whole-number ``format_version`` this library can read (older or equal:
read; newer: refused, asking for an upgrade), and with the fields its reader needs, of the
right types. Each format's reader (``Ratings.load``, ``RatingNet.load``,
``MovieVectors.load``) says which fields it needs; nothing else parses headers.

Arrays are read back with ``allow_pickle=False``, so a saved file never runs code, and titles
are stored as fixed-width unicode (object arrays would need pickle).

Nothing half-written: a file is written to a temporary name beside the target and renamed
(`atomic_file`); a directory is built under a temporary name and renamed (`staged_directory`).
Temporary names carry the writer's process id, ``.NAME.<pid>.<random>.tmp``, so the next save
of the same target deletes those a killed writer left behind, and never a live writer's.
Files and directories are created with the usual permissions (the umask decides).

Before long work, `check_destination` makes sure its result can be written; if a final save
fails anyway, `save_or_rescue` writes it somewhere that works and says where.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import shutil
import tempfile
import time
import zipfile
import zlib
from contextlib import contextmanager
from pathlib import Path

import numpy as np

from numpy_movievec.checks import (BadValueError, FileInTheWayError, MissingFileError,
                                   SaveError, human_bytes)

FORMAT_VERSION = 1  # of every kind of file this library writes
HEADER_KEY = "__header__"
_TEMPORARY = re.compile(r"^\.(?P<target>.+)\.(?P<pid>\d+)\.[a-z0-9_]+\.(?:tmp|old)$")


# ---------------------------------------------------------------------- headers

def new_header(kind: str, **fields) -> dict:
    """The header of a new file of ``kind``: its kind, this library's format version, ``fields``.

    >>> new_header("ratings", n_ratings=3)
    {'kind': 'ratings', 'format_version': 1, 'n_ratings': 3}
    """
    return {"kind": kind, "format_version": FORMAT_VERSION, **fields}


def parse_header(text: str, path, kinds, fields: dict | None = None) -> dict:
    """The header in ``text`` (JSON), checked; BadValueError naming ``path`` if it is not right.

    ``kinds``: the kinds the caller reads (none given: any). ``fields``: name → type the caller needs, where
    ``int`` means a whole number >= 0 (every int in our headers is a count or a size) and a
    tuple allows several types (``(dict, type(None))``).

    >>> parse_header('{"kind": "ratings", "format_version": 1, "n_users": 5}', "h.json",
    ...              ["ratings"], {"n_users": int})["n_users"]
    5
    >>> parse_header('{"kind": "ratings", "format_version": 1}', "h.json", ["ratings"],
    ...              {"n_users": int})
    Traceback (most recent call last):
    ...
    numpy_movievec.checks.BadValueError: h.json: the header has no 'n_users' entry
    """
    try:
        header = json.loads(text)
    except ValueError as exc:
        raise BadValueError(f"{path}: the header is not valid JSON ({exc})") from None
    if not isinstance(header, dict):
        raise BadValueError(f"{path}: the header is JSON but not an object: {text[:80]!r}")
    kind = header.get("kind")
    if not isinstance(kind, str) or (kinds and kind not in kinds):
        expected = " or ".join(kinds) if kinds else "a kind"
        raise BadValueError(f"{path}: holds a {kind!r}, expected {expected}")
    version = header.get("format_version")
    if isinstance(version, bool) or not isinstance(version, int) or version < 1:
        raise BadValueError(f"{path}: format_version must be a whole number >= 1, "
                            f"got {version!r}")
    if version > FORMAT_VERSION:
        raise BadValueError(f"{path}: format version {version} is newer than this "
                            f"numpy_movievec reads ({FORMAT_VERSION}); upgrade the library")
    for name, expected in (fields or {}).items():
        if name not in header:
            raise BadValueError(f"{path}: the header has no {name!r} entry")
        if not _has_type(header[name], expected):
            raise BadValueError(f"{path}: header entry {name!r} must be "
                                f"{_type_words(expected)}, got {header[name]!r}")
    return header


def _has_type(value, expected) -> bool:
    if not isinstance(expected, tuple):
        expected = (expected,)
    if isinstance(value, bool):
        return bool in expected
    if int in expected and isinstance(value, int):
        return value >= 0
    return isinstance(value, expected)


def _type_words(expected) -> str:
    words = {int: "a whole number >= 0", str: "text", bool: "true or false", dict: "an object",
             list: "a list", type(None): "null"}
    return " or ".join(words[t] for t in (expected if isinstance(expected, tuple) else
                                          (expected,)))


# ---------------------------------------------------------------------- .npz files

def save_npz(path, kind: str, arrays: dict, **header) -> Path:
    """Write ``arrays`` and a JSON ``header`` to ``path`` atomically; return the path.

    >>> import tempfile, numpy as np
    >>> p = save_npz(tempfile.mkdtemp() + "/x.npz", "example", {"w": np.ones(3)}, note="hi")
    >>> load_npz(p, "example")[0]["note"]
    'hi'
    """
    path = Path(path)
    contents = {HEADER_KEY: np.array(json.dumps(new_header(kind, **header)))}
    for name, array in arrays.items():
        array = np.asarray(array)
        if array.dtype == object:
            raise TypeError(f"{name!r} is an object array; saved files hold no pickled data")
        contents[name] = array
    with atomic_file(path) as f:
        np.savez(f, **contents)
    return path


def load_npz(path, *kinds: str, fields: dict | None = None) -> tuple[dict, dict]:
    """Read a file written by `save_npz`; return ``(header, arrays)``.

    ``kinds`` (none: any) and ``fields`` are checked as `parse_header` does. Raises FileNotFoundError for
    a missing file and ValueError for a file that is not ours, is damaged (truncated, empty),
    is of another kind, or comes from a newer format version.
    """
    path = Path(path)
    with _open_npz(path) as archive:
        header = _header_of(archive, path, kinds, fields)
        arrays = {name: _member(archive, name, path) for name in archive.files
                  if name != HEADER_KEY}
    return header, arrays


def read_header(path, *kinds: str, fields: dict | None = None) -> dict:
    """The checked header of a file written by `save_npz`, without reading its arrays: to
    learn what a file holds (its kind, how far a model was trained) cheaply."""
    path = Path(path)
    with _open_npz(path) as archive:
        return _header_of(archive, path, kinds, fields)


@contextmanager
def _open_npz(path: Path):
    if not path.is_file():
        raise MissingFileError(f"{path}: no such file")
    try:
        archive = np.load(path, allow_pickle=False)
    except _DAMAGE as exc:
        raise _not_ours(path, exc) from None
    if not isinstance(archive, np.lib.npyio.NpzFile):
        raise BadValueError(f"{path}: not a numpy_movievec file (a single .npy array)")
    with archive:
        yield archive


def _header_of(archive, path, kinds, fields) -> dict:
    if HEADER_KEY not in archive.files:
        raise BadValueError(f"{path}: not a numpy_movievec file (no {HEADER_KEY} entry)")
    text = _member(archive, HEADER_KEY, path)
    if text.dtype.kind != "U" or text.ndim != 0:
        raise BadValueError(f"{path}: not a numpy_movievec file ({HEADER_KEY} is not text)")
    return parse_header(str(text), path, kinds, fields)


def _member(archive, name, path) -> np.ndarray:
    try:
        return archive[name]
    except _DAMAGE as exc:
        raise _not_ours(path, exc) from None


# What a damaged or foreign archive raises from NumPy and zipfile.
_DAMAGE = (OSError, ValueError, EOFError, zipfile.BadZipFile, zlib.error)


def _not_ours(path, exc) -> BadValueError:
    return BadValueError(f"{path}: not a numpy_movievec file, or a damaged one "
                         f"({type(exc).__name__}: {exc})")


# ---------------------------------------------------------------------- writing safely

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
    remove_stale_temporaries(path)
    tmp = _temporary_name(path, "tmp")
    try:
        with open(tmp, "xb") as f:  # a plain create: the umask sets the permissions
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
    check_directory_destination(target, replaceable)
    remove_stale_temporaries(target)
    staging = _temporary_name(target, "tmp")
    staging.mkdir()  # a plain mkdir: the umask sets the permissions
    try:
        yield staging
        _swap_into_place(staging, target)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise


def _swap_into_place(staging: Path, target: Path):
    if not target.exists() or _is_empty_dir(target):
        os.replace(staging, target)  # rename(2) may replace an empty directory
        return
    old = _temporary_name(target, "old")
    os.replace(target, old)
    os.replace(staging, target)
    shutil.rmtree(old)


def _is_empty_dir(path: Path) -> bool:
    return path.is_dir() and not any(path.iterdir())


def _temporary_name(target: Path, ending: str) -> Path:
    """``.NAME.<pid>.<random>.<ending>`` beside ``target``; the pid says whose it is."""
    return target.with_name(f".{target.name}.{os.getpid()}.{secrets.token_hex(4)}.{ending}")


def remove_stale_temporaries(target) -> list:
    """Delete the temporaries of ``target`` that writers which no longer run left behind.

    A writer killed mid-save (SIGKILL, a power cut) leaves its ``.NAME.<pid>.*.tmp`` (or, while
    swapping a directory, ``.old``); a live process's temporaries are left alone. Returns the
    paths removed.

    >>> import tempfile, pathlib
    >>> folder = pathlib.Path(tempfile.mkdtemp())
    >>> (folder / ".model.npz.999999999.ab12.tmp").write_bytes(b"half")  # no such process
    4
    >>> [p.name for p in remove_stale_temporaries(folder / "model.npz")]
    ['.model.npz.999999999.ab12.tmp']
    """
    target = Path(target)
    removed = []
    if not target.parent.is_dir():
        return removed
    for entry in target.parent.iterdir():
        match = _TEMPORARY.match(entry.name)
        if match is None or match["target"] != target.name or _running(int(match["pid"])):
            continue
        if entry.is_dir() and not entry.is_symlink():
            shutil.rmtree(entry, ignore_errors=True)
        else:
            entry.unlink(missing_ok=True)
        removed.append(entry)
    return removed


def _running(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except PermissionError:  # another user's process
        return True
    except (ProcessLookupError, OverflowError):  # none, or a pid beyond any real one
        return False
    return True


# ---------------------------------------------------------------------- before the work

def check_destination(path, n_bytes: int | None = None) -> Path:
    """Make sure a file can be written at ``path``, before the work that produces it.

    Refuses a directory there, a missing or read-only folder, and, given the expected size
    ``n_bytes``, a disk without that much room — each with a one-line error, instead of a
    failure after hours of training. Creates and deletes a temporary file to be sure.

    >>> import tempfile
    >>> check_destination(tempfile.mkdtemp())  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    numpy_movievec.checks.FileInTheWayError: ... is a directory, not a file to write
    """
    path = Path(path)
    if path.is_dir():
        raise FileInTheWayError(f"{path} is a directory, not a file to write")
    _check_folder(path, n_bytes)
    probe = _temporary_name(path, "tmp")
    try:
        open(probe, "xb").close()
    except OSError as exc:
        raise SaveError(f"cannot write {path}: {exc.strerror or exc}") from None
    probe.unlink()
    return path


def check_directory_destination(target, replaceable=lambda path: False) -> Path:
    """Make sure a directory (a ratings store) can be written at ``target``, before the work.

    An existing ``target`` must be an empty directory or one ``replaceable`` accepts (an old
    store); the folder it goes in must exist and take a new directory.
    """
    target = Path(target)
    if target.exists() and not (_is_empty_dir(target) or replaceable(target)):
        raise FileInTheWayError(f"{target}: already exists and is not a store; not "
                                f"overwriting it")
    _check_folder(target, None)
    probe = _temporary_name(target, "tmp")
    try:
        probe.mkdir()
    except OSError as exc:
        raise SaveError(f"cannot write {target}: {exc.strerror or exc}") from None
    probe.rmdir()
    return target


def _check_folder(path: Path, n_bytes):
    folder = path.parent
    if not folder.is_dir():
        raise MissingFileError(f"{folder}: no such directory (to write {path.name} in)")
    if n_bytes is not None:
        free = shutil.disk_usage(folder).free
        if n_bytes > free:
            raise SaveError(f"cannot write {path}: it needs about {human_bytes(n_bytes)} and "
                            f"{folder} has {human_bytes(free)} free")


# ---------------------------------------------------------------------- after the work

def save_or_rescue(save, path, what: str = "the result") -> Path:
    """``save(path)``; if that fails (a full disk, a folder gone read-only), save a copy in the
    first rescue folder that takes it and raise SaveError saying where it went.

    Rescue folders, in order: the system's temporary folder, the home folder, the current
    folder. The copy is named ``NAME.rescued-<date>-<time>-<pid>.SUFFIX``.
    """
    path = Path(path)
    try:
        save(path)
        return path
    except OSError as failure:
        reason = failure.strerror or str(failure)
        for rescue in _rescue_paths(path):
            try:
                save(rescue)
            except OSError:
                continue
            raise SaveError(f"could not write {path} ({reason}); {what} was saved to "
                            f"{rescue} instead") from failure
        raise SaveError(f"could not write {path} ({reason}), nor a rescue copy of {what} "
                        f"(tried {', '.join(str(p.parent) for p in _rescue_paths(path))})"
                        ) from failure


def _rescue_paths(path: Path) -> list:
    stamp = time.strftime("%Y%m%d-%H%M%S")
    name = f"{path.stem}.rescued-{stamp}-{os.getpid()}{path.suffix}"
    folders = [Path(tempfile.gettempdir()), Path.home(), Path.cwd()]
    return [folder / name for folder in dict.fromkeys(folders) if folder != path.parent]


# ---------------------------------------------------------------------- titles

def titles_to_array(titles) -> np.ndarray:
    """Titles (None where unknown) as a fixed-width unicode array ("" for unknown)."""
    return np.array(["" if t is None else str(t) for t in titles], dtype=str)


def titles_from_array(array) -> list:
    """Inverse of `titles_to_array`: "" becomes None again."""
    return [t if t else None for t in array.tolist()]
