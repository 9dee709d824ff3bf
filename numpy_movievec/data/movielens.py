"""MovieLens: `load_movielens` reads ml-100k, ml-1m (and ml-10m), ml-latest(-small), ml-20m, ml-25m.

The release is recognised from the folder's contents:

    u.data + u.item              ml-100k: tab-separated "user item rating time"; titles in
                                 "id|title|..." lines, Latin-1
    ratings.dat + movies.dat     ml-1m, ml-10m: "user::movie::rating::time"; "id::title::genres"
    ratings.csv + movies.csv     ml-latest, ml-20m, ml-25m: CSV with a header row, UTF-8,
                                 quoted titles with commas, half-star ratings

These are plain delimited tables, which pandas' C parser reads quickly (ml-25m's 25M rows in
seconds); the ``::`` separator, which that parser cannot take, is turned into a tab first.
Ratings are whole stars (int8) unless some rating is a half star (then float32, 0.5..5).
"""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pandas as pd

from numpy_movievec.data.ratings import Ratings

COLUMNS = ("user", "movie", "rating")


def load_movielens(path) -> Ratings:
    """Read a MovieLens folder (an unzipped ``ml-*`` download); return a `Ratings`.

    Movie and user ids are remapped to dense indices in increasing id order and kept in
    ``movie_ids``/``user_ids``; titles (with the year, as MovieLens writes them) come from the
    release's movie file.

    >>> r = load_movielens("ml-100k/")        # doctest: +SKIP
    >>> r.titles[0]                           # doctest: +SKIP
    'Toy Story (1995)'
    """
    path = Path(path)
    if not path.is_dir():
        raise FileNotFoundError(f"{path}: no such directory")
    for ratings_file, titles_file, read_ratings, read_titles in _RELEASES:
        if (path / ratings_file).is_file():
            frame = read_ratings(path / ratings_file)
            titles = read_titles(path / titles_file) if (path / titles_file).is_file() else None
            return Ratings.from_frame(frame, titles=titles, source=f"movielens:{path}")
    raise FileNotFoundError(f"{path}: no MovieLens ratings here "
                            "(expected u.data, ratings.dat or ratings.csv)")


# ---------------------------------------------------------------------- ratings

def _read_u_data(path: Path) -> pd.DataFrame:
    return _read_table(path, path, sep="\t", header=False)


def _read_ratings_dat(path: Path) -> pd.DataFrame:
    tab_separated = io.BytesIO(path.read_bytes().replace(b"::", b"\t"))
    return _read_table(tab_separated, path, sep="\t", header=False)


def _read_ratings_csv(path: Path) -> pd.DataFrame:
    return _read_table(path, path, sep=",", header=True)


def _read_table(source, path: Path, sep: str, header: bool) -> pd.DataFrame:
    """Columns user, movie, rating (the timestamp is dropped), checked; errors name the line."""
    try:
        frame = pd.read_csv(source, sep=sep, header=None, names=COLUMNS + ("timestamp",),
                            skiprows=1 if header else 0, engine="c")
    except (pd.errors.ParserError, pd.errors.EmptyDataError, ValueError) as exc:
        raise ValueError(f"{path}: {exc}") from None
    first_line = 2 if header else 1
    user = _integers(frame["user"], path, first_line, "user")
    movie = _integers(frame["movie"], path, first_line, "movie")
    stars = _numbers(frame["rating"], path, first_line, "rating")
    whole = np.all(stars == np.round(stars))
    low, high = (1, 5) if whole else (0.5, 5)
    _raise_at_first((stars < low) | (stars > high), path, first_line,
                    f"rating {{}} outside {low}..{high}", frame["rating"])
    return pd.DataFrame({"user": user, "movie": movie,
                         "rating": stars.astype(np.int8) if whole else stars})


def _numbers(column: pd.Series, path, first_line, name) -> np.ndarray:
    """The column as float64; ValueError at the first entry that is not a number."""
    numbers = pd.to_numeric(column, errors="coerce").to_numpy(dtype=np.float64)
    _raise_at_first(np.isnan(numbers), path, first_line, f"{name} {{}} is not a number", column)
    return numbers


def _integers(column: pd.Series, path, first_line, name) -> np.ndarray:
    if column.dtype.kind in "iu":  # the usual case: pandas already parsed integers
        return column.to_numpy(dtype=np.int64)
    numbers = _numbers(column, path, first_line, name)
    _raise_at_first(numbers != np.round(numbers), path, first_line,
                    f"{name} {{}} is not an integer", column)
    return numbers.astype(np.int64)


def _raise_at_first(bad, path, first_line, message, values):
    if bad.any():
        row = int(np.flatnonzero(bad)[0])
        value = values.iloc[row]
        shown = repr(value) if isinstance(value, str) else str(value)
        raise ValueError(f"{path}:{row + first_line}: " + message.format(shown))


# ---------------------------------------------------------------------- titles

def _read_u_item(path: Path) -> dict:
    return _split_titles(path, "|", "latin-1")


def _read_movies_dat(path: Path) -> dict:
    return _split_titles(path, "::", "latin-1")


def _split_titles(path: Path, sep: str, encoding: str) -> dict:
    """``{movie id: title}`` from lines ``id<sep>title<sep>...``."""
    titles = {}
    for number, line in enumerate(path.read_bytes().decode(encoding).splitlines(), 1):
        if not line.strip():
            continue
        fields = line.split(sep)
        if len(fields) < 2 or not fields[0].strip().isdigit():
            raise ValueError(f"{path}:{number}: expected 'id{sep}title{sep}...', got {line!r}")
        titles[int(fields[0])] = fields[1]
    return titles


def _read_movies_csv(path: Path) -> dict:
    try:
        frame = pd.read_csv(path, usecols=["movieId", "title"], encoding="utf-8")
    except (pd.errors.ParserError, ValueError) as exc:
        raise ValueError(f"{path}: {exc}") from None
    return dict(zip(frame["movieId"].tolist(), frame["title"].tolist()))


_RELEASES = (
    ("u.data", "u.item", _read_u_data, _read_u_item),
    ("ratings.dat", "movies.dat", _read_ratings_dat, _read_movies_dat),
    ("ratings.csv", "movies.csv", _read_ratings_csv, _read_movies_csv),
)
