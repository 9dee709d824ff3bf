"""Input checks every entry point shares, and the errors they raise.

The exception policy, in one place:

- An error this library raises *on purpose*, because of something the person using it can fix
  (a bad file, value, size or name, a full disk), is a `MovievecError`. Each one is also the
  standard type a Python user would catch:

      BadValueError       ValueError          a value, dtype, shape, range or file content
      UnknownKeyError     KeyError            an unknown id, column or title
      MissingFileError    FileNotFoundError   a file or directory that is not there
      FileInTheWayError   FileExistsError     something we refuse to overwrite
      NotEnoughMemoryError MemoryError        a size this machine cannot hold
      SaveError           OSError             a save that failed (and where a rescue copy went)
      DivergedError       FloatingPointError  training whose loss became inf or NaN

- The message names the file and line (``ratings.csv:7: ...``), or the row (``row 5: ...``),
  or the argument (``batch_size must be ...``), and shows the offending value.
- The ``movievec`` command prints a `MovievecError` on one line and exits with status 2.
  Any other exception is a bug and keeps its traceback.
- TypeError is left to Python: it means code passed the wrong kind of object, not that data
  was bad. Data of the wrong dtype (float ids, text ratings) is a BadValueError.

The checks return what they checked, converted where useful, so a caller writes
``batch_size = checks.positive_int(batch_size, "batch_size")``.
"""

from __future__ import annotations

import math
import os

import numpy as np

INT64_MAX = np.iinfo(np.int64).max
EXACT_FLOAT_INTEGERS = 2**53  # beyond this a float64 no longer holds every integer
WHOLE_STARS = (1, 5)
HALF_STARS = (0.5, 5.0)
YEARS = (1, 9999)  # 0 means unknown


class MovievecError(Exception):
    """Base of the errors numpy_movievec raises on purpose, with a message for a person.

    >>> issubclass(BadValueError, ValueError) and issubclass(BadValueError, MovievecError)
    True
    """


class BadValueError(MovievecError, ValueError):
    """A value, dtype, shape or range that is wrong, or a file whose contents are."""


class UnknownKeyError(MovievecError, KeyError):
    """An id, column or name that is not there."""

    def __str__(self):
        # KeyError would print the repr of the message, quotes and all.
        return str(self.args[0]) if self.args else ""


class MissingFileError(MovievecError, FileNotFoundError):
    """A file or directory that does not exist."""


class FileInTheWayError(MovievecError, FileExistsError):
    """Something already at a path that we will not replace."""


class NotEnoughMemoryError(MovievecError, MemoryError):
    """A request that needs more memory than the machine has; the message says how much."""


class SaveError(MovievecError, OSError):
    """A file could not be written; the message says why and where a rescue copy went."""


class DivergedError(MovievecError, FloatingPointError):
    """Training whose loss stopped being a finite number (too large a learning rate)."""


# ---------------------------------------------------------------------- single values

def whole_number(value, name: str, minimum: int = 0) -> int:
    """``value`` as an int if it is a whole number >= ``minimum``, else BadValueError.

    Python and NumPy integers are accepted; floats (even 2.0), bools and strings are not.

    >>> whole_number(3, "epochs")
    3
    >>> whole_number(2.5, "topn", minimum=1)
    Traceback (most recent call last):
    ...
    numpy_movievec.checks.BadValueError: topn must be a whole number >= 1, got 2.5
    """
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < minimum:
        raise BadValueError(f"{name} must be a whole number >= {minimum}, got {value!r}")
    return int(value)


def positive_int(value, name: str) -> int:
    """``value`` as an int if it is a whole number >= 1 (sizes, widths, batch sizes).

    >>> positive_int(1024, "batch_size")
    1024
    """
    return whole_number(value, name, minimum=1)


def count(value, name: str) -> int:
    """``value`` as an int if it is a whole number >= 0 (epochs, numbers of things).

    >>> count(0, "epochs")
    0
    """
    return whole_number(value, name, minimum=0)


def fraction(value, name: str) -> float:
    """``value`` as a float if it is a real number in [0, 1].

    >>> fraction(0.1, "valid_fraction")
    0.1
    """
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)) \
            or not 0 <= value <= 1:
        raise BadValueError(f"{name} must be a number within [0, 1], got {value!r}")
    return float(value)


def non_negative(value, name: str) -> float:
    """``value`` as a float if it is a finite real number >= 0 (rates, penalties).

    >>> non_negative(0.02, "l2")
    0.02
    """
    if (isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating))
            or not math.isfinite(value) or value < 0):
        raise BadValueError(f"{name} must be a finite number >= 0, got {value!r}")
    return float(value)


def one_of(value, choices, name: str):
    """``value`` if it is one of ``choices``, else BadValueError listing them.

    >>> one_of("numba", ("numba", "numpy"), "engine")
    'numba'
    """
    if value not in choices:
        listed = ", ".join(repr(choice) for choice in choices)
        raise BadValueError(f"{name} must be one of {listed}; got {value!r}")
    return value


# ---------------------------------------------------------------------- columns

def at_row(row: int) -> str:
    """The default place of a bad entry in an array: ``"row 5"``."""
    return f"row {row}"


def fail_at_first(bad, message: str, shown, where=at_row):
    """Raise BadValueError for the first True of the boolean array ``bad``, if any.

    The message is ``"<where(row)>: " + message.format(<shown[row]>)``: ``where`` turns a row
    into a place (a file and line, for a loader) and ``shown`` holds what to show (the text
    as read, say, rather than the number it became).

    >>> fail_at_first(np.array([False, True]), "rating {} is outside 1..5", np.array([3, 9]))
    Traceback (most recent call last):
    ...
    numpy_movievec.checks.BadValueError: row 1: rating 9 is outside 1..5
    """
    if bad.any():
        row = int(np.flatnonzero(bad)[0])
        value = shown[row]
        text = repr(value) if isinstance(value, str) else str(value)
        raise BadValueError(f"{where(row)}: " + message.format(text))


def one_dimensional(values, what: str) -> np.ndarray:
    """``values`` as a 1-d array, else BadValueError naming ``what`` and the shape."""
    values = np.asarray(values)
    if values.ndim != 1:
        raise BadValueError(f"{what} must be one-dimensional, got shape {values.shape}")
    return values


def integer_dtype(values: np.ndarray, what: str) -> np.ndarray:
    """``values`` if its dtype is a (non-bool) integer type, else BadValueError.

    >>> integer_dtype(np.array([1.0]), "movie ids")
    Traceback (most recent call last):
    ...
    numpy_movievec.checks.BadValueError: movie ids must be integers, got dtype float64
    """
    if values.dtype.kind not in "iu":
        raise BadValueError(f"{what} must be integers, got dtype {values.dtype}")
    return values


def dense_indices(values, what: str, n_rows: int | None = None, where=at_row):
    """Dense 0-based indices into a table of ``n_rows``; return ``(values, n_rows)``.

    ``values`` must be a 1-d integer array with every entry in ``0 .. n_rows - 1``; with
    ``n_rows=None`` it becomes the largest index + 1. The array is returned as it came.

    >>> dense_indices([0, 2], "movie")[1]
    3
    >>> dense_indices([0, 3], "movie", n_rows=3)
    Traceback (most recent call last):
    ...
    numpy_movievec.checks.BadValueError: row 1: movie index 3 is outside 0..2
    """
    values = one_dimensional(values, f"{what} indices")
    if values.size == 0:  # an empty list is no indices, whatever dtype it defaulted to
        values = values.astype(np.int64)
    values = integer_dtype(values, f"{what} indices")
    largest = int(values.max()) if values.size else -1
    n_rows = largest + 1 if n_rows is None else whole_number(n_rows, f"n_{what}s")
    if n_rows > np.iinfo(np.int32).max:
        raise BadValueError(f"n_{what}s must be below 2**31, got {n_rows}")
    if values.size and (values.min() < 0 or largest >= n_rows):
        fail_at_first((values < 0) | (values >= n_rows),
                      f"{what} index {{}} is outside 0..{n_rows - 1}", values, where)
    return values, n_rows


def original_ids(values, what: str, where=at_row, shown=None) -> np.ndarray:
    """Original ids (Netflix MovieIDs, MovieLens userIds, ...) as int64, each exactly as given.

    Integers must fit in int64; floats (what a text column with a gap becomes) must be whole,
    finite and small enough for a float to hold exactly. Anything else is a BadValueError
    naming the value, so a huge id never wraps around into another. ``shown`` holds what to
    show for a bad entry (the text as read), by default ``values`` itself.

    >>> original_ids(np.array([2649429, 6], dtype=np.uint64), "user").dtype
    dtype('int64')
    >>> original_ids(np.array([1, 2**64 - 1], dtype=np.uint64), "movie")
    Traceback (most recent call last):
    ...
    numpy_movievec.checks.BadValueError: row 1: movie id 18446744073709551615 does not fit in a 64-bit integer
    """
    values = one_dimensional(values, f"{what} ids")
    shown = values if shown is None else shown
    if values.dtype.kind == "u" and values.size:
        fail_at_first(values > INT64_MAX, f"{what} id {{}} does not fit in a 64-bit integer",
                      shown, where)
    elif values.dtype.kind == "f":
        fail_at_first(~np.isfinite(values) | (values != np.round(values)),
                      f"{what} id {{}} is not a whole number", shown, where)
        fail_at_first(np.abs(values) >= 2.0**63,
                      f"{what} id {{}} does not fit in a 64-bit integer", shown, where)
        fail_at_first(np.abs(values) > EXACT_FLOAT_INTEGERS,
                      f"{what} id {{}} is too large to read exactly", shown, where)
    elif values.dtype.kind != "i":
        raise BadValueError(f"{what} ids must be integers, got dtype {values.dtype}")
    return values.astype(np.int64, copy=False)


def star_ratings(values, where=at_row, shown=None) -> np.ndarray:
    """Star ratings: int8 for whole stars in 1..5; float32 when some are half stars (0.5..5).

    Whole stars given as floats (4.0) become int8 too. NaN and anything outside the range is
    a BadValueError naming the first such value (see `star_range`).

    >>> star_ratings([4.0, 5.0]).dtype, star_ratings([4.5, 5.0]).dtype
    (dtype('int8'), dtype('float32'))
    """
    values = star_range(values, where, shown)
    if values.dtype.kind == "f" and np.any(values != np.round(values)):
        return values.astype(np.float32, copy=False)
    return values.astype(np.int8, copy=False)


def star_range(values, where=at_row, shown=None) -> np.ndarray:
    """``values`` if every one is a star rating: whole numbers within 1..5 for an integer
    dtype, numbers within 0.5..5 for a float dtype (NaN is not). No conversion, no copy.

    >>> star_range([3, 6])
    Traceback (most recent call last):
    ...
    numpy_movievec.checks.BadValueError: row 1: rating 6 is outside 1..5
    """
    values = one_dimensional(values, "ratings")
    if values.dtype.kind in "iu":
        low, high = WHOLE_STARS
    elif values.dtype.kind == "f":
        low, high = HALF_STARS
    else:
        raise BadValueError(f"ratings must be numbers, got dtype {values.dtype}")
    if values.size and not (low <= values.min() and values.max() <= high):  # NaN fails too
        fail_at_first(~((values >= low) & (values <= high)),
                      f"rating {{}} is outside {low:g}..{high:g}",
                      values if shown is None else shown, where)
    return values


def finite_numbers(values, what: str, length: int | None = None) -> np.ndarray:
    """A 1-d array of real, finite numbers (``length`` of them, if given): training targets.

    ``what`` names one entry ("rating"); messages use it and its plural.

    >>> finite_numbers([1.0, float("nan")], "rating")
    Traceback (most recent call last):
    ...
    numpy_movievec.checks.BadValueError: row 1: rating nan is not a finite number
    """
    values = one_dimensional(values, f"{what}s")
    if length is not None and len(values) != length:
        raise BadValueError(f"expected {length} {what}s, got {len(values)}")
    if values.dtype.kind not in "iuf":
        raise BadValueError(f"{what}s must be real numbers, got dtype {values.dtype}")
    if values.dtype.kind == "f":
        fail_at_first(~np.isfinite(values), f"{what} {{}} is not a finite number", values)
    return values


def years(values, n: int) -> np.ndarray:
    """Release years as int16: ``n`` whole numbers, each 0 (unknown) or within 1..9999.

    >>> years([1961, 0], 2).dtype
    dtype('int16')
    """
    values = integer_dtype(one_dimensional(values, "years"), "years")
    if len(values) != n:
        raise BadValueError(f"{len(values)} years for {n} movies")
    low, high = YEARS
    fail_at_first((values != 0) & ((values < low) | (values > high)),
                  f"year {{}} is not 0 (unknown) or within {low}..{high}", values)
    return values.astype(np.int16, copy=False)


def unique_ids(ids: np.ndarray, what: str) -> np.ndarray:
    """``ids`` if no id repeats, else BadValueError naming one that does.

    >>> unique_ids(np.array([5, 7, 5]), "movie_ids")
    Traceback (most recent call last):
    ...
    numpy_movievec.checks.BadValueError: movie_ids holds id 5 more than once
    """
    ordered = np.sort(ids)
    repeated = ordered[1:][ordered[1:] == ordered[:-1]]
    if len(repeated):
        raise BadValueError(f"{what} holds id {repeated[0]} more than once")
    return ids


# ---------------------------------------------------------------------- memory

def physical_memory() -> int | None:
    """Bytes of RAM in this machine, or None where the system does not say."""
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (AttributeError, ValueError, OSError):
        return None


def affordable(n_bytes: int, what: str, advice: str = "") -> None:
    """Raise NotEnoughMemoryError if ``what`` needs more than this machine's memory.

    Checked before allocating, so a size that cannot work fails at once with the amount,
    instead of after minutes of work or by swapping the machine to a halt.

    >>> affordable(10**18, "a table of 10**18 bytes", "use a smaller one")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    numpy_movievec.checks.NotEnoughMemoryError: a table of 10**18 bytes needs 1.0 EB of memory; this machine has ... of RAM; use a smaller one
    """
    available = physical_memory()
    if available is not None and n_bytes > available:
        raise NotEnoughMemoryError(f"{what} needs {human_bytes(n_bytes)} of memory; this machine "
                                   f"has {human_bytes(available)} of RAM"
                                   + (f"; {advice}" if advice else ""))


def human_bytes(n_bytes: float) -> str:
    """A byte count for people: ``human_bytes(3 * 2**30)`` is ``'3.2 GB'`` (powers of 1000).

    >>> human_bytes(999), human_bytes(1_500_000)
    ('999 B', '1.5 MB')
    """
    if n_bytes < 1000:
        return f"{int(n_bytes)} B"
    exponent = min(int(math.log10(n_bytes) // 3), 6)
    return f"{n_bytes / 1000 ** exponent:.1f} {'BkMGTPE'[exponent]}B"
