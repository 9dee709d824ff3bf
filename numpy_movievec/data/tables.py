"""Delimited ratings tables: any CSV with a header (`load_csv`), and the reader MovieLens uses.

A table is read in one of two ways, and never by guessing:

- by its header's names (``header=True``): the first line names the columns, and the ones
  asked for are taken by name wherever they stand. A file without those names — including a
  file with no header at all, whose first line is a rating — is an error naming the file and
  what its first line holds, so no rating is silently skipped and no column swapped.
- by a fixed layout (``header=False``): every line has exactly the layout's fields.

Either way, a line with more or fewer fields than the others is an error naming the file and
line (pandas would otherwise turn extra leading fields into an index and shift every column).
Ids that do not fit in 64 bits, ratings that are not stars and repeated (movie, user) pairs
are refused the same way (see ``Ratings.from_ids``).

pandas' C parser does the reading (ml-25m's 25M rows in seconds); line numbers for messages
are worked out only when there is an error to report.
"""

from __future__ import annotations

import csv
import io
import re
from pathlib import Path

import numpy as np
import pandas as pd

from numpy_movievec import checks
from numpy_movievec.checks import BadValueError, MissingFileError
from numpy_movievec.data.ratings import Ratings

_FIELD_COUNT = re.compile(r"Expected (\d+) fields in line (\d+), saw (\d+)")


def load_csv(path, movie: str = "movie", user: str = "user", rating: str = "rating",
             sep: str = ",", titles=None, duplicates: str = "error") -> Ratings:
    """Ratings from a delimited file with a header row naming its columns.

    ``movie``, ``user`` and ``rating`` name the columns to use (others are ignored). Movie and
    user ids must be integers; ratings stars in 1..5 (or 0.5..5 with half stars).
    ``titles`` is an optional CSV (same separator) with a header: the movie id column (named
    as ``movie``, else the first) and a ``title`` column (else the second). ``duplicates``:
    see `Ratings.from_ids`.

    >>> import tempfile, pathlib
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "r.csv"
    >>> _ = path.write_text("user,stars,item\\n7,4,30\\n7,5,10\\n")
    >>> load_csv(path, movie="item", rating="stars").movie_ids.tolist()
    [10, 30]
    """
    path = Path(path)
    frame, where = read_table(path, sep, (movie, user, rating), header=True)
    catalogue = read_titles_csv(Path(titles), movie, sep) if titles is not None else None
    return ratings_from_table(path, frame, where, movie, user, rating, catalogue,
                              f"csv:{path}", duplicates)


def read_titles_csv(path: Path, movie_column: str, sep: str) -> dict:
    """``{movie id: title}`` from a CSV with a header: the id column (``movie_column``, else
    the first) and the title column ("title", else the second)."""
    frame, where = read_table(path, sep, None, header=True)
    if frame.shape[1] < 2:
        raise BadValueError(f"{path}: a titles file needs a movie id column and a title column")
    ids = frame[movie_column] if movie_column in frame else frame.iloc[:, 0]
    titles = frame["title"] if "title" in frame else frame.iloc[:, 1]
    return titles_by_id(ids, titles, where)


def titles_by_id(ids: pd.Series, titles: pd.Series, where) -> dict:
    """``{movie id: title}``; a movie id listed twice is an error naming both lines."""
    movie_ids = checks.original_ids(numbers(ids, "movie id", where), "movie", where,
                                    shown=ids.to_numpy())
    repeated = pd.Series(movie_ids).duplicated().to_numpy()
    if repeated.any():
        row = int(np.flatnonzero(repeated)[0])
        first = int(np.flatnonzero(movie_ids == movie_ids[row])[0])
        raise BadValueError(f"{where(row)}: movie {movie_ids[row]} is listed twice (also at "
                            f"{where(first)})")
    return dict(zip(movie_ids.tolist(), titles.astype(str).tolist()))


def ratings_from_table(path, frame, where, movie, user, rating, titles, source, duplicates):
    """`Ratings.from_ids` on three columns of a table read by `read_table`; an error shows
    the entry as the file has it (``'x'``, ``99999999999999999999``). A table without
    ratings is an error: a store of nothing would only fail later."""
    if frame.empty:
        raise BadValueError(f"{path}: holds no ratings")
    movie_ids, user_ids = (
        checks.original_ids(numbers(frame[name], f"{what} id", where), what, where,
                            shown=frame[name].to_numpy())
        for name, what in ((movie, "movie"), (user, "user")))
    stars = checks.star_ratings(numbers(frame[rating], "rating", where), where,
                                shown=frame[rating].to_numpy())
    return Ratings.from_ids(movie_ids, user_ids, stars, titles=titles, source=source,
                            duplicates=duplicates, where=where)


def numbers(column: pd.Series, what: str, where) -> np.ndarray:
    """A column as numbers: as parsed when pandas found numbers; else each entry converted,
    and the first that is not a number (text, an empty field) named with its line."""
    if column.dtype.kind in "iuf" and not column.isna().any():
        return column.to_numpy()
    values = pd.to_numeric(column, errors="coerce").to_numpy(dtype=np.float64)
    checks.fail_at_first(np.isnan(values), f"{what} {{}} is not a number",
                         column.astype(object).fillna("").to_numpy(), where)
    return values


def read_table(source, sep: str, columns, header: bool, path=None, encoding: str = "utf-8"):
    """Read a delimited table; return ``(frame, where)``.

    With ``header=True`` the first line names the columns and ``columns`` (or None: all) are
    taken by name; with ``header=False`` ``columns`` is the fixed layout, one name per field.
    ``source`` is a path or a file-like object (then ``path`` names the file in messages).
    ``where(row)`` turns a data row into ``"file:line"``.
    """
    path = Path(source) if path is None else Path(path)
    if isinstance(source, (str, Path)) and not Path(source).is_file():
        raise MissingFileError(f"{path}: no such file")
    names = _header_names(source, sep, encoding, path) if header else list(columns)
    if header and columns is not None:
        _check_names(names, columns, path)
    try:
        frame = pd.read_csv(source, sep=sep, header=None, skiprows=1 if header else 0,
                            encoding=encoding, engine="c")
    except pd.errors.EmptyDataError:
        frame = pd.DataFrame(columns=range(len(names)))
    except pd.errors.ParserError as exc:
        raise BadValueError(_field_count_message(exc, path)) from None
    except (UnicodeDecodeError, ValueError) as exc:
        raise BadValueError(f"{path}: cannot read it as {encoding} text with {sep!r} between "
                            f"fields ({exc})") from None
    first_line = 2 if header else 1
    if frame.shape[1] != len(names):
        raise BadValueError(f"{path}:{first_line}: {frame.shape[1]} fields, but "
                            f"{'the header names' if header else 'the layout has'} {len(names)} "
                            f"({', '.join(names)})")
    frame.columns = names
    if columns is not None:
        frame = frame[list(columns)]
    line_of = _line_finder(source, path, header, encoding)
    return frame, lambda row: f"{path}:{line_of(row)}"


def _header_names(source, sep, encoding, path) -> list:
    if isinstance(source, (str, Path)):
        with open(source, encoding=encoding, errors="replace", newline="") as f:
            first = f.readline()
    else:
        first = source.readline().decode(encoding, errors="replace")
        source.seek(0)
    if not first.strip():
        raise BadValueError(f"{path}: empty, or no header row on line 1")
    return [name.strip().lstrip("\ufeff") for name in next(csv.reader([first], delimiter=sep))]


def _check_names(names, wanted, path):
    missing = [name for name in wanted if name not in names]
    if missing:
        raise BadValueError(f"{path}:1: the header row must name the columns "
                            f"{_listed(wanted)}; it has {_listed(names)} (no header row?)")
    repeated = sorted({name for name in wanted if names.count(name) > 1})
    if repeated:
        raise BadValueError(f"{path}:1: the header names {repeated[0]!r} twice")


def _listed(names) -> str:
    """``'a', 'b', 'c'``: at most eight names, then "..."."""
    shown = ", ".join(map(repr, names[:8]))
    return shown + (", ..." if len(names) > 8 else "")


def _field_count_message(exc, path) -> str:
    found = _FIELD_COUNT.search(str(exc))
    if found is None:
        return f"{path}: {exc}"
    expected, line, saw = found.groups()
    return f"{path}:{line}: {saw} fields, but the lines above have {expected}"


def _line_finder(source, path, header, encoding):
    """``line_of(row)``: the file line of data row ``row``, counting as pandas does (blank
    lines skipped). Only called for an error, so it simply reads the file again."""
    def line_of(row):
        if isinstance(source, (str, Path)):
            lines = open(source, encoding=encoding, errors="replace", newline="")
        else:  # an in-memory file (BytesIO)
            lines = io.StringIO(source.getvalue().decode(encoding, errors="replace"), newline="")
        with lines:
            seen = -1
            for number, line in enumerate(lines, 1):
                if (header and number == 1) or not line.strip():
                    continue
                seen += 1
                if seen == row:
                    return number
        return "?"
    return line_of
