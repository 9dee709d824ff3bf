"""Ratings: the container every loader returns and the trainer reads.

A `Ratings` holds one row per rating in three equal-length columns,

    movie   int32   dense movie index, 0 .. n_movies-1
    user    int32   dense user index,  0 .. n_users-1
    rating  int8    whole stars 1..5, or float32 in [0.5, 5] when half-stars exist (MovieLens)

plus what maps those dense indices back to the world: ``movie_ids`` and ``user_ids`` (the
original ids, int64, by dense index), ``titles`` (by dense index, None where unknown) and
``years`` (int16, 0 where unknown; None when the source has no years).

Dense indices are what the embedding tables need: Netflix customer ids reach 2,649,429 for
480,189 customers, and a table sized by the largest raw id would be five times too big.

At Netflix scale (100,480,507 ratings) the columns take 0.9 GB. `Ratings.save` writes them as
a store directory of ``.npy`` files and a small JSON header; `Ratings.load` memory-maps the
columns back in milliseconds, so the operating system pages them in as training reads them.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from numpy_movievec.archive import staged_directory, titles_from_array, titles_to_array
from numpy_movievec.jit import njit_cached

FORMAT_VERSION = 1
STORE_KIND = "ratings"
HEADER_FILE = "header.json"
WHOLE_STARS = (1, 5)
HALF_STARS = (0.5, 5.0)


class Ratings:
    """Explicit ratings of movies by users, as dense-index columns.

    Build one from arrays of dense indices (this validates every column):

    >>> r = Ratings([0, 1, 1], [0, 0, 1], [5, 3, 4], titles=["Yojimbo", "Ringu"])
    >>> r
    Ratings(3 ratings of 2 movies by 2 users, rating int8, source='arrays')
    >>> r.movie_counts
    array([1, 2])

    or from a DataFrame of original ids with `Ratings.from_frame`, or with a loader
    (`load_netflix`, `load_movielens`, `synthetic`).

    ``n_movies``/``n_users`` default to the largest index + 1; ``movie_ids``/``user_ids``
    default to the dense indices themselves. ``truth`` carries the hidden model of synthetic
    data (`SyntheticTruth`) and is None for real data. ``validate=False`` skips the column
    checks, for columns already known to be valid (a loaded store, a subset of rows).
    """

    def __init__(
        self,
        movie,
        user,
        rating,
        *,
        n_movies: int | None = None,
        n_users: int | None = None,
        titles=None,
        years=None,
        movie_ids=None,
        user_ids=None,
        source: str = "arrays",
        truth=None,
        validate: bool = True,
    ):
        if validate:
            movie, n_movies = _index_column(movie, "movie", n_movies)
            user, n_users = _index_column(user, "user", n_users)
            rating = _rating_column(rating)
            if not len(movie) == len(user) == len(rating):
                raise ValueError(
                    f"columns differ in length: movie {len(movie)}, user {len(user)}, "
                    f"rating {len(rating)}"
                )
            movie_ids = _id_column(movie_ids, n_movies, "movie_ids")
            user_ids = _id_column(user_ids, n_users, "user_ids")
            titles = _title_list(titles, n_movies)
            years = _year_column(years, n_movies)
        self.movie, self.user, self.rating = movie, user, rating
        self.n_movies, self.n_users = int(n_movies), int(n_users)
        self.movie_ids, self.user_ids = movie_ids, user_ids
        self.titles, self.years = titles, years
        self.source = source
        self.truth = truth
        self._movie_counts = None

    # ------------------------------------------------------------------ building

    @classmethod
    def from_frame(cls, frame, movie="movie", user="user", rating="rating", titles=None,
                   source="frame") -> Ratings:
        """Ratings from a DataFrame of original (possibly sparse) integer ids.

        Ids are remapped to dense indices in increasing id order and kept in ``movie_ids`` and
        ``user_ids``. ``titles`` maps original movie id → title (a dict or a Series).

        >>> import pandas as pd
        >>> df = pd.DataFrame({"movie": [30, 10, 30], "user": [7, 7, 2649429], "rating": [4, 5, 1]})
        >>> r = Ratings.from_frame(df, titles={30: "Ringu"})
        >>> r.movie.tolist(), r.movie_ids.tolist(), r.titles
        ([1, 0, 1], [10, 30], [None, 'Ringu'])
        """
        for column in (movie, user, rating):
            if column not in frame:
                raise KeyError(f"column {column!r} not in the frame (it has {list(frame.columns)})")
        movie_index, movie_ids = dense_ids(frame[movie].to_numpy(), "movie")
        user_index, user_ids = dense_ids(frame[user].to_numpy(), "user")
        if titles is not None:
            titles = [titles.get(i) for i in movie_ids.tolist()]
        return cls(movie_index, user_index, frame[rating].to_numpy(), n_movies=len(movie_ids),
                   n_users=len(user_ids), titles=titles, movie_ids=movie_ids, user_ids=user_ids,
                   source=source)

    # ------------------------------------------------------------------ looking at it

    def __len__(self) -> int:
        return len(self.rating)

    def __repr__(self) -> str:
        return (f"Ratings({len(self):,} ratings of {self.n_movies:,} movies by {self.n_users:,} "
                f"users, rating {self.rating.dtype}, source={self.source!r})")

    @property
    def movie_counts(self) -> np.ndarray:
        """Number of ratings of each movie, by dense index (``np.bincount``, cached)."""
        if self._movie_counts is None:
            self._movie_counts = np.bincount(self.movie, minlength=self.n_movies)
        return self._movie_counts

    def movie_index(self, ids) -> np.ndarray:
        """Dense indices of original movie ids; KeyError names the first unknown id."""
        return _lookup(self.movie_ids, ids, "movie id")

    def user_index(self, ids) -> np.ndarray:
        """Dense indices of original user ids; KeyError names the first unknown id."""
        return _lookup(self.user_ids, ids, "user id")

    # ------------------------------------------------------------------ splitting

    def split(self, valid_fraction: float = 0.1, seed: int = 0) -> tuple[Ratings, Ratings]:
        """``(train, valid)``: a seeded random ``round(valid_fraction * len)`` rows go to valid.

        Rows keep their order within each part, and both parts share this one's movie and user
        index space, titles and ids. The split is random, never "the last rows": in Netflix
        files those are the highest movie ids only.

        >>> train, valid = Ratings([0, 1, 1, 0], [0, 0, 1, 1], [5, 3, 4, 2]).split(0.25, seed=1)
        >>> len(train), len(valid)
        (3, 1)
        """
        if not 0 <= valid_fraction <= 1:
            raise ValueError(f"valid_fraction must be within [0, 1], got {valid_fraction}")
        n = len(self)
        is_valid = np.zeros(n, dtype=bool)
        rng = np.random.default_rng(seed)
        is_valid[rng.choice(n, round(valid_fraction * n), replace=False, shuffle=False)] = True
        return self.rows(~is_valid), self.rows(is_valid)

    def split_pairs(self, movie, user) -> tuple[Ratings, Ratings]:
        """``(rest, held)``: the rows whose (movie, user) pair is listed go to ``held``.

        ``movie`` and ``user`` are dense indices of the pairs to hold out (the Netflix probe
        set, say). Every listed pair must be rated; a KeyError names the first that is not.
        """
        movie = np.asarray(movie, dtype=np.int64)
        user = np.asarray(user, dtype=np.int64)
        order = np.lexsort((user, movie))
        starts = np.searchsorted(movie[order], np.arange(self.n_movies + 1))
        held, found = _mark_pairs(self.movie, self.user, starts, user[order].astype(np.int32))
        if not found.all():
            first = order[np.flatnonzero(~found)[0]]
            raise KeyError(f"pair (movie id {self.movie_ids[movie[first]]}, user id "
                           f"{self.user_ids[user[first]]}) is not rated")
        return self.rows(~held), self.rows(held)

    def rows(self, selector) -> Ratings:
        """The ratings at ``selector`` (a boolean mask or index array), same index space."""
        return Ratings(self.movie[selector], self.user[selector], self.rating[selector],
                       n_movies=self.n_movies, n_users=self.n_users, titles=self.titles,
                       years=self.years, movie_ids=self.movie_ids, user_ids=self.user_ids,
                       source=self.source, truth=self.truth, validate=False)

    # ------------------------------------------------------------------ the store

    def save(self, directory) -> Path:
        """Write a store directory: one ``.npy`` per column and ``header.json``.

        The store is written beside ``directory`` under a temporary name and renamed into place,
        so a crash never leaves half a store. An existing store at ``directory`` is replaced;
        anything else there (a non-empty directory, a file) raises FileExistsError.
        Titles go in a fixed-width unicode column; `truth` (synthetic data) is not saved.

        >>> import tempfile
        >>> path = Ratings([0, 1], [1, 0], [4, 5]).save(tempfile.mkdtemp() + "/store")
        >>> len(Ratings.load(path))
        2
        """
        header = {"kind": STORE_KIND, "format_version": FORMAT_VERSION, "n_ratings": len(self),
                  "n_movies": self.n_movies, "n_users": self.n_users,
                  "rating_dtype": str(self.rating.dtype), "source": self.source,
                  "has_years": self.years is not None}
        columns = {"movie": self.movie, "user": self.user, "rating": self.rating,
                   "movie_ids": self.movie_ids, "user_ids": self.user_ids,
                   "titles": titles_to_array(self.titles)}
        if self.years is not None:
            columns["years"] = self.years
        with staged_directory(directory, replaceable=_is_store) as staging:
            for name, column in columns.items():
                np.save(staging / f"{name}.npy", column, allow_pickle=False)
            (staging / HEADER_FILE).write_text(json.dumps(header, indent=1))
        return Path(directory)

    @classmethod
    def load(cls, directory, mmap: bool = True) -> Ratings:
        """Open a store written by `save`; with ``mmap`` the three columns are memory-mapped.

        Memory-mapped columns are read-only and cost no memory until read. Column values are
        trusted (`save` validated them); shapes and the header are checked.
        """
        directory = Path(directory)
        header = _read_header(directory)
        mode = "r" if mmap else None

        def column(name, length):
            array = np.load(directory / f"{name}.npy", mmap_mode=mode, allow_pickle=False)
            if array.shape != (length,):
                raise ValueError(f"{directory / (name + '.npy')}: shape {array.shape}, "
                                 f"header says ({length},)")
            return array

        n, n_movies, n_users = header["n_ratings"], header["n_movies"], header["n_users"]
        years = None
        if header["has_years"]:
            years = np.load(directory / "years.npy", allow_pickle=False)
        return cls(column("movie", n), column("user", n), column("rating", n),
                   n_movies=n_movies, n_users=n_users,
                   titles=titles_from_array(np.load(directory / "titles.npy", allow_pickle=False)),
                   years=years,
                   movie_ids=np.load(directory / "movie_ids.npy", allow_pickle=False),
                   user_ids=np.load(directory / "user_ids.npy", allow_pickle=False),
                   source=header["source"], validate=False)


# ---------------------------------------------------------------------- id remapping

def dense_ids(raw, what: str = "id", overwrite: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """Map integer ids to dense int32 indices; return ``(index, ids)`` with ``ids[index] == raw``.

    Indices follow increasing id order. Compact id ranges (Netflix customers: 480,189 ids up to
    2,649,429) go through a lookup table in one pass; ids spread wider fall back to sorting.
    ``overwrite=True`` writes the indices into an int32 ``raw`` itself, saving a copy.

    >>> index, ids = dense_ids(np.array([2649429, 6, 6, 42]))
    >>> index.tolist(), ids.tolist()
    ([2, 0, 0, 1], [6, 42, 2649429])
    """
    raw = np.asarray(raw)
    if raw.dtype.kind not in "iu":
        raise ValueError(f"{what} ids must be integers, got dtype {raw.dtype}")
    if raw.size == 0:
        return np.empty(0, np.int32), np.empty(0, np.int64)
    low, high = int(raw.min()), int(raw.max())
    if high - low >= 4 * raw.size + (1 << 22):
        ids, index = np.unique(raw, return_inverse=True)
        return index.astype(np.int32), ids.astype(np.int64)
    out = raw if overwrite and raw.dtype == np.int32 else np.empty(raw.shape, np.int32)
    ids = _remap_by_table(raw, low, high - low + 1, out)
    return out, ids


@njit_cached
def _remap_by_table(raw, low, span, out):
    present = np.zeros(span, np.bool_)
    for value in raw:
        present[value - low] = True
    index_of = np.empty(span, np.int32)
    ids = np.empty(span, np.int64)
    n = 0
    for offset in range(span):
        if present[offset]:
            index_of[offset] = n
            ids[n] = offset + low
            n += 1
    for i in range(len(raw)):
        out[i] = index_of[raw[i] - low]
    return ids[:n].copy()


def _lookup(known, ids, what) -> np.ndarray:
    ids = np.atleast_1d(np.asarray(ids, dtype=np.int64))
    order = np.argsort(known, kind="stable")
    sorted_known = known[order]
    position = np.searchsorted(sorted_known, ids)
    found = position < len(known)
    found[found] = sorted_known[position[found]] == ids[found]
    if not found.all():
        raise KeyError(f"unknown {what} {ids[~found][0]}")
    return order[position].astype(np.int32)


@njit_cached
def _mark_pairs(movie, user, starts, sorted_users):
    """held[i]: row i's user is among its movie's listed users; found[j]: pair j was rated."""
    held = np.zeros(len(movie), np.bool_)
    found = np.zeros(len(sorted_users), np.bool_)
    for i in range(len(movie)):
        lo, hi = starts[movie[i]], starts[movie[i] + 1]
        if lo == hi:
            continue
        j = lo + np.searchsorted(sorted_users[lo:hi], user[i])
        if j < hi and sorted_users[j] == user[i]:
            held[i] = True
            found[j] = True
    return held, found


# ---------------------------------------------------------------------- column checks

def _index_column(values, name, n):
    values = np.asarray(values)
    if values.ndim != 1:
        raise ValueError(f"{name} must be a 1-d array, got shape {values.shape}")
    if values.dtype.kind not in "iu":
        raise ValueError(f"{name} indices must be integers, got dtype {values.dtype}")
    largest = int(values.max()) if values.size else -1
    n = largest + 1 if n is None else int(n)
    if n < 0 or n > np.iinfo(np.int32).max:
        raise ValueError(f"n_{name}s must be within [0, 2**31), got {n}")
    if values.size and (values.min() < 0 or largest >= n):
        bad = np.flatnonzero((values < 0) | (values >= n))[0]
        raise ValueError(f"{name} index {values[bad]} at row {bad} is outside 0..{n - 1}")
    return values.astype(np.int32, copy=False), n


def _rating_column(values):
    """int8 for whole stars in 1..5; float32 when some rating is a fraction (in 0.5..5)."""
    values = np.asarray(values)
    if values.ndim != 1:
        raise ValueError(f"rating must be a 1-d array, got shape {values.shape}")
    if values.dtype.kind in "iu":
        low, high = WHOLE_STARS
    elif values.dtype.kind == "f":
        low, high = HALF_STARS
    else:
        raise ValueError(f"ratings must be numbers, got dtype {values.dtype}")
    if values.size and not (low <= values.min() and values.max() <= high):  # NaN fails too
        bad = np.flatnonzero(~((values >= low) & (values <= high)))[0]
        raise ValueError(f"rating {values[bad]} at row {bad} is outside {low}..{high}")
    if values.dtype.kind == "f" and np.any(values != np.round(values)):
        return values.astype(np.float32, copy=False)
    return values.astype(np.int8, copy=False)


def _id_column(ids, n, name):
    if ids is None:
        return np.arange(n, dtype=np.int64)
    ids = np.asarray(ids)
    if ids.shape != (n,) or ids.dtype.kind not in "iu":
        raise ValueError(f"{name} must be {n} integers, got {ids.dtype} of shape {ids.shape}")
    if len(np.unique(ids)) != n:
        raise ValueError(f"{name} holds a repeated id")
    return ids.astype(np.int64, copy=False)


def _title_list(titles, n):
    if titles is None:
        return [None] * n
    titles = [t if isinstance(t, str) and t else None for t in titles]
    if len(titles) != n:
        raise ValueError(f"{len(titles)} titles for {n} movies")
    return titles


def _year_column(years, n):
    if years is None:
        return None
    years = np.asarray(years)
    if years.shape != (n,) or years.dtype.kind not in "iu":
        raise ValueError(f"years must be {n} integers (0 where unknown), got {years.dtype} "
                         f"of shape {years.shape}")
    return years.astype(np.int16, copy=False)


# ---------------------------------------------------------------------- store directories

def _read_header(directory: Path) -> dict:
    path = directory / HEADER_FILE
    if not path.is_file():
        raise FileNotFoundError(f"{directory}: not a ratings store (no {HEADER_FILE})")
    try:
        header = json.loads(path.read_text())
    except ValueError as exc:
        raise ValueError(f"{path}: not valid JSON ({exc})") from None
    if header.get("kind") != STORE_KIND:
        raise ValueError(f"{path}: holds a {header.get('kind')!r}, expected {STORE_KIND!r}")
    if header.get("format_version", 0) > FORMAT_VERSION:
        raise ValueError(f"{path}: format version {header['format_version']} is newer than this "
                         f"numpy_movievec reads ({FORMAT_VERSION}); upgrade the library")
    return header


def _is_store(path: Path) -> bool:
    try:
        _read_header(path)
    except (OSError, ValueError):
        return False
    return True
