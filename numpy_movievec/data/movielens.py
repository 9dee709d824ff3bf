"""MovieLens: `load_movielens` reads ml-100k, ml-1m (and ml-10m), ml-latest(-small), ml-20m, ml-25m.

The release is recognised from the folder's contents:

    u.data + u.item              ml-100k: tab-separated "user item rating time"; titles in
                                 "id|title|..." lines, Latin-1
    ratings.dat + movies.dat     ml-1m, ml-10m: "user::movie::rating::time"; "id::title::genres"
    ratings.csv + movies.csv     ml-latest, ml-20m, ml-25m: CSV with a header row, UTF-8,
                                 quoted titles with commas, half-star ratings

Release years come from the titles, which MovieLens writes with the year in brackets
(``Toy Story (1995)``; see ``titles.py``); a title without one has year 0, unknown.

These are plain delimited tables, read by ``tables.py`` (pandas' C parser: ml-25m's 25M rows
in seconds). Ratings are whole stars (int8) unless some rating is a half star (then float32,
0.5..5). The formats are described in ``docs/data-formats.md``.
"""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pandas as pd

from numpy_movievec import checks
from numpy_movievec.archive import staged_directory
from numpy_movievec.checks import BadValueError, MissingFileError
from numpy_movievec.data.ratings import Ratings
from numpy_movievec.data.tables import ratings_from_table, read_table, titles_by_id
from numpy_movievec.titles import parse_title

MOVED_ON_WRITE = ("The", "A", "An")  # the articles write_movielens moves behind a comma

FIXED_LAYOUT = ("user", "movie", "rating", "timestamp")  # u.data and ratings.dat
CSV_COLUMNS = ("userId", "movieId", "rating")  # ratings.csv, by its header's names


def load_movielens(path, duplicates: str = "error") -> Ratings:
    """Read a MovieLens folder (an unzipped ``ml-*`` download); return a `Ratings`.

    Movie and user ids are remapped to dense indices in increasing id order and kept in
    ``movie_ids``/``user_ids``; titles (with the year, as MovieLens writes them) come from the
    release's movie file, and ``years`` from the titles (0 where a title has none).
    ``ratings.csv`` is read by its header's names (``userId``, ``movieId``, ``rating``), the
    older files by their fixed layout; every line must have all its fields and no more. MovieLens rates each (movie, user) pair once; for data that
    repeats pairs, ``duplicates`` chooses what to keep (see `Ratings.from_ids`).

    >>> r = load_movielens("ml-100k/")        # doctest: +SKIP
    >>> r.titles[0]                           # doctest: +SKIP
    'Toy Story (1995)'
    """
    path = Path(path)
    if not path.is_dir():
        raise MissingFileError(f"{path}: no such directory")
    for ratings_file, titles_file, read_ratings, read_titles in _RELEASES:
        if (path / ratings_file).is_file():
            frame, where, columns = read_ratings(path / ratings_file)
            titles = read_titles(path / titles_file) if (path / titles_file).is_file() else None
            ratings = ratings_from_table(path / ratings_file, frame, where, *columns, titles,
                                         f"movielens:{path}", duplicates)
            if titles is not None:
                ratings.years = years_from_titles(ratings.titles)
            return ratings
    raise MissingFileError(f"{path}: no MovieLens ratings here "
                           "(expected u.data, ratings.dat or ratings.csv)")


def write_movielens(ratings: Ratings, directory) -> Path:
    """Write ``ratings`` as an ml-latest release (``ratings.csv``, ``movies.csv``); return it.

    Titles are written the MovieLens way: a leading English article moved behind a comma and
    the year in brackets ("Fistful of Dollars, A (1964)"), so `load_movielens` reads back the
    same ratings, ids and years, and the titles answer to the names they had. Ratings get one
    decimal ("4.0") and timestamp 0 (there is no time to write); genres are "(no genres
    listed)". The folder is assembled under a temporary name and renamed.

    >>> from numpy_movievec.data.synthetic import synthetic
    >>> import tempfile
    >>> r = synthetic(2000, seed=1)
    >>> back = load_movielens(write_movielens(r, tempfile.mkdtemp() + "/ml-synthetic"))
    >>> [row] = back.movie_index([r.movie_ids[r.truth.pair_index[5][1]]])
    >>> r.truth.pairs[5][1], back.titles[row], int(back.years[row])
    ('A Fistful of Dollars', 'Fistful of Dollars, A (1964)', 1964)
    """
    years = np.zeros(ratings.n_movies, np.int64) if ratings.years is None else ratings.years
    titles = [None if title is None else movielens_title(title, int(year))
              for title, year in zip(ratings.titles, years.tolist())]
    with staged_directory(directory) as staging:
        pd.DataFrame({"userId": ratings.user_ids[ratings.user],
                      "movieId": ratings.movie_ids[ratings.movie],
                      "rating": np.asarray(ratings.rating, dtype=np.float64), "timestamp": 0}
                     ).to_csv(staging / "ratings.csv", index=False, float_format="%.1f")
        known = [row for row, title in enumerate(titles) if title is not None]
        pd.DataFrame({"movieId": ratings.movie_ids[known], "title": [titles[i] for i in known],
                      "genres": "(no genres listed)"}).to_csv(staging / "movies.csv",
                                                             index=False)
    return Path(directory)


def movielens_title(title: str, year: int = 0) -> str:
    """``title`` as MovieLens writes it: a leading English article behind a comma, the year in
    brackets (none when 0).

    >>> movielens_title("The Hidden Fortress", 1958), movielens_title("Heat")
    ('Hidden Fortress, The (1958)', 'Heat')
    """
    first, _, rest = title.partition(" ")
    if first in MOVED_ON_WRITE and rest:
        title = f"{rest}, {first}"
    return f"{title} ({year})" if year else title


def years_from_titles(titles) -> np.ndarray:
    """Release years (int16) from titles written as MovieLens does; 0 where unknown.

    >>> years_from_titles(["Toy Story (1995)", "Yojimbo", None, "Sherlock (2010-2017)"]).tolist()
    [1995, 0, 0, 2010]
    """
    years = [0 if title is None else parse_title(title).year for title in titles]
    return checks.years(np.array(years, dtype=np.int64), len(years))


# ---------------------------------------------------------------------- ratings

def _read_u_data(path: Path):
    frame, where = read_table(path, "\t", FIXED_LAYOUT, header=False, encoding="latin-1")
    return frame, where, ("movie", "user", "rating")


def _read_ratings_dat(path: Path):
    # pandas' C parser takes one-character separators only: "::" becomes a tab first
    tab_separated = io.BytesIO(path.read_bytes().replace(b"::", b"\t"))
    frame, where = read_table(tab_separated, "\t", FIXED_LAYOUT, header=False, path=path,
                              encoding="latin-1")
    return frame, where, ("movie", "user", "rating")


def _read_ratings_csv(path: Path):
    frame, where = read_table(path, ",", CSV_COLUMNS, header=True)
    return frame, where, ("movieId", "userId", "rating")


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
            raise BadValueError(f"{path}:{number}: expected 'id{sep}title{sep}...', "
                                f"got {line!r}")
        movie_id = int(fields[0])
        if movie_id in titles:
            raise BadValueError(f"{path}:{number}: movie {movie_id} is listed twice")
        titles[movie_id] = fields[1]
    return titles


def _read_movies_csv(path: Path) -> dict:
    frame, where = read_table(path, ",", ("movieId", "title"), header=True)
    return titles_by_id(frame["movieId"], frame["title"], where)


_RELEASES = (
    ("u.data", "u.item", _read_u_data, _read_u_item),
    ("ratings.dat", "movies.dat", _read_ratings_dat, _read_movies_dat),
    ("ratings.csv", "movies.csv", _read_ratings_csv, _read_movies_csv),
)
