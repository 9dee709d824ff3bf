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
Opening a store checks what is cheap to check (the header, every file's dtype and size
against the header); `Ratings.check_values` scans the values, and `fit` calls it before the
first epoch. The layout is in ``docs/data-formats.md``.

Repeated ratings. The Netflix and MovieLens files rate each (movie, user) pair at most once.
Data that repeats a pair is refused by the loaders unless ``duplicates=`` says which rating
to keep ("first" or "last" in file order) or to keep them all ("all"); the number found is
recorded in ``Ratings.duplicates`` and in the store.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np

from numpy_movievec import checks
from numpy_movievec.archive import (check_directory_destination, new_header, parse_header,
                                    staged_directory, titles_from_array, titles_to_array)
from numpy_movievec.checks import BadValueError, MissingFileError, UnknownKeyError, at_row
from numpy_movievec.jit import njit_cached

STORE_KIND = "ratings"
HEADER_FILE = "header.json"
HEADER_FIELDS = {"n_ratings": int, "n_movies": int, "n_users": int, "rating_dtype": str,
                 "source": str, "has_years": bool}
# Each column of a store: the dtypes it may have, and the header entry giving its length.
STORE_COLUMNS = {
    "movie": (("int32",), "n_ratings"),
    "user": (("int32",), "n_ratings"),
    "rating": (("int8", "float32"), "n_ratings"),
    "movie_ids": (("int64",), "n_movies"),
    "user_ids": (("int64",), "n_users"),
    "titles": (("unicode",), "n_movies"),
    "years": (("int16",), "n_movies"),
}
DUPLICATES = ("error", "first", "last", "all")


class Ratings:
    """Explicit ratings of movies by users, as dense-index columns.

    Build one from arrays of dense indices (this validates every column):

    >>> r = Ratings([0, 1, 1], [0, 0, 1], [5, 3, 4], titles=["Yojimbo", "Ringu"])
    >>> r
    Ratings(3 ratings of 2 movies by 2 users, rating int8, source='arrays')
    >>> r.movie_counts
    array([1, 2])

    or from original ids with `Ratings.from_ids` / `Ratings.from_frame`, or with a loader
    (`load_netflix`, `load_movielens`, `load_csv`, `synthetic`).

    ``n_movies``/``n_users`` default to the largest index + 1; ``movie_ids``/``user_ids``
    default to the dense indices themselves. ``truth`` carries the hidden model of synthetic
    data (`SyntheticTruth`) and is None for real data. ``validate=False`` skips the column
    checks, for columns already known to be valid (a subset of rows). ``duplicates`` records
    repeated (movie, user) pairs a loader found (see the module docstring); the constructor
    itself does not look for them.
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
        duplicates: dict | None = None,
        validate: bool = True,
    ):
        if validate:
            movie, n_movies = checks.dense_indices(movie, "movie", n_movies)
            user, n_users = checks.dense_indices(user, "user", n_users)
            rating = checks.star_ratings(rating)
            if not len(movie) == len(user) == len(rating):
                raise BadValueError(f"columns differ in length: movie {len(movie)}, user "
                                    f"{len(user)}, rating {len(rating)}")
            movie, user = movie.astype(np.int32, copy=False), user.astype(np.int32, copy=False)
            movie_ids = _id_column(movie_ids, n_movies, "movie_ids")
            user_ids = _id_column(user_ids, n_users, "user_ids")
            titles = _title_list(titles, n_movies)
            years = None if years is None else checks.years(years, n_movies)
        self.movie, self.user, self.rating = movie, user, rating
        self.n_movies, self.n_users = int(n_movies), int(n_users)
        self.movie_ids, self.user_ids = movie_ids, user_ids
        self.titles, self.years = titles, years
        self.source = source
        self.truth = truth
        self.duplicates = duplicates
        self.store: Path | None = None  # the store directory these columns were read from
        self._movie_counts = None

    # ------------------------------------------------------------------ building

    @classmethod
    def from_ids(cls, movie, user, rating, *, titles=None, source: str = "arrays",
                 duplicates: str = "error", where=at_row) -> Ratings:
        """Ratings from columns of original (possibly sparse) integer ids.

        Ids are remapped to dense indices in increasing id order and kept in ``movie_ids``
        and ``user_ids``; ids that do not fit in 64 bits are refused, never wrapped.
        ``titles`` maps original movie id → title (a dict or a Series). A (movie, user) pair
        rated more than once is an error unless ``duplicates`` is "first", "last" (which
        rating to keep, in row order) or "all". Loaders pass ``where``, which turns a row
        number into a file and line for error messages.

        >>> r = Ratings.from_ids([30, 10, 30], [7, 7, 2649429], [4, 5, 1], titles={30: "Ringu"})
        >>> r.movie.tolist(), r.movie_ids.tolist(), r.titles
        ([1, 0, 1], [10, 30], [None, 'Ringu'])
        """
        checks.one_of(duplicates, DUPLICATES, "duplicates")
        movie = checks.original_ids(movie, "movie", where)
        user = checks.original_ids(user, "user", where)
        rating = checks.star_ratings(rating, where)
        if not len(movie) == len(user) == len(rating):
            raise BadValueError(f"columns differ in length: movie {len(movie)}, user "
                                f"{len(user)}, rating {len(rating)}")
        movie_index, movie_ids = dense_ids(movie, "movie")
        user_index, user_ids = dense_ids(user, "user")
        titles = _title_list(None if titles is None else
                             [titles.get(i) for i in movie_ids.tolist()], len(movie_ids))
        ratings = cls(movie_index, user_index, rating, n_movies=len(movie_ids),
                      n_users=len(user_ids), titles=titles, movie_ids=movie_ids,
                      user_ids=user_ids, source=source, validate=False)
        return settle_duplicates(ratings, duplicates, where)

    @classmethod
    def from_frame(cls, frame, movie="movie", user="user", rating="rating", titles=None,
                   source="frame", duplicates: str = "error") -> Ratings:
        """Ratings from a DataFrame of original ids: `from_ids` on three of its columns.

        >>> import pandas as pd
        >>> df = pd.DataFrame({"movie": [30, 10, 30], "user": [7, 7, 2649429], "rating": [4, 5, 1]})
        >>> Ratings.from_frame(df).movie_ids.tolist()
        [10, 30]
        """
        for column in (movie, user, rating):
            if column not in frame:
                raise UnknownKeyError(f"column {column!r} not in the frame "
                                      f"(it has {list(frame.columns)})")
        return cls.from_ids(frame[movie].to_numpy(), frame[user].to_numpy(),
                            frame[rating].to_numpy(), titles=titles, source=source,
                            duplicates=duplicates)

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

    def describe(self) -> dict:
        """What these ratings are, as plain JSON-ready values: sizes, spread, histogram.

        >>> Ratings([0, 1, 1], [0, 0, 1], [5, 3, 4]).describe()["rating_histogram"]
        {'3': 1, '4': 1, '5': 1}
        """
        stars, counts = _histogram(self.rating)
        return {
            "kind": "ratings store" if self.store else "ratings",
            "path": None if self.store is None else str(self.store),
            "source": self.source, "ratings": len(self), "movies": self.n_movies,
            "users": self.n_users,
            "movies_with_titles": sum(title is not None for title in self.titles),
            "ratings_per_movie": _spread(self.movie_counts),
            "ratings_per_user": _spread(np.bincount(self.user, minlength=self.n_users)),
            "mean_rating": round(float(np.mean(self.rating, dtype=np.float64)), 4)
            if len(self) else None,
            "repeated_pairs": self.duplicates,
            "rating_histogram": {f"{s:g}": int(n) for s, n in zip(stars.tolist(), counts)},
        }

    # ------------------------------------------------------------------ checking

    def check_values(self) -> Ratings:
        """Scan every column: indices within the tables, ratings stars within range; return self.

        A loaded store's values are not read when it is opened (that costs a pass over the
        data), so `fit` calls this before training. Errors name the store's file and the row.

        >>> Ratings([0, 1], [0, 0], [4, 5]).check_values() is not None
        True
        """
        checks.dense_indices(self.movie, "movie", self.n_movies, where=self._place("movie"))
        checks.dense_indices(self.user, "user", self.n_users, where=self._place("user"))
        checks.star_range(self.rating, where=self._place("rating"))
        return self

    def _place(self, column):
        """Where row r of ``column`` is, for messages: in the store's file, or just the row."""
        if self.store is None:
            return at_row
        path = self.store / f"{column}.npy"
        return lambda row: f"{path}, row {row}"

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
        valid_fraction = checks.fraction(valid_fraction, "valid_fraction")
        n = len(self)
        is_valid = np.zeros(n, dtype=bool)
        rng = np.random.default_rng(checks.count(seed, "seed"))
        is_valid[rng.choice(n, round(valid_fraction * n), replace=False, shuffle=False)] = True
        return self.rows(~is_valid), self.rows(is_valid)

    def split_pairs(self, movie, user, where=at_row) -> tuple[Ratings, Ratings]:
        """``(rest, held)``: the rows whose (movie, user) pair is listed go to ``held``.

        ``movie`` and ``user`` are dense indices of the pairs to hold out (the Netflix probe
        set, say). Every listed pair must be rated (else a KeyError names the first that is
        not) and listed once (else a ValueError names the repeat). ``where`` turns a listed
        pair's position into a place for those messages (a probe file's line).

        >>> r = Ratings([0, 0, 1], [0, 1, 0], [5, 3, 4])
        >>> [len(part) for part in r.split_pairs(movie=[0], user=[1])]
        [2, 1]
        """
        movie = np.asarray(movie, dtype=np.int64)
        user = np.asarray(user, dtype=np.int64)
        order = np.lexsort((user, movie))
        repeated = (movie[order][1:] == movie[order][:-1]) & (user[order][1:] == user[order][:-1])
        if repeated.any():
            k = int(np.flatnonzero(repeated)[0])
            first, again = sorted((int(order[k]), int(order[k + 1])))
            raise BadValueError(f"{where(again)}: {self._pair(movie[again], user[again])} is "
                                f"listed twice (also at {where(first)})")
        starts = np.searchsorted(movie[order], np.arange(self.n_movies + 1))
        held, found = _mark_pairs(self.movie, self.user, starts, user[order].astype(np.int32))
        if not found.all():
            first = int(order[np.flatnonzero(~found)[0]])
            raise UnknownKeyError(f"{where(first)}: {self._pair(movie[first], user[first])} "
                                  f"is not rated")
        return self.rows(~held), self.rows(held)

    def _pair(self, movie, user) -> str:
        return f"pair (movie id {self.movie_ids[movie]}, user id {self.user_ids[user]})"

    def rows(self, selector) -> Ratings:
        """The ratings at ``selector`` (a boolean mask or index array), same index space."""
        return Ratings(self.movie[selector], self.user[selector], self.rating[selector],
                       n_movies=self.n_movies, n_users=self.n_users, titles=self.titles,
                       years=self.years, movie_ids=self.movie_ids, user_ids=self.user_ids,
                       source=self.source, truth=self.truth, duplicates=self.duplicates,
                       validate=False)

    # ------------------------------------------------------------------ repeated pairs

    def repeated_rows(self, keep: str = "first") -> np.ndarray:
        """Boolean mask of the rows that repeat a (movie, user) pair of another row.

        With ``keep="first"`` the first rating of each pair (in row order) is not marked, with
        ``keep="last"`` the last one, so ``rows(~mask)`` keeps one rating per pair.

        >>> Ratings([0, 0, 0], [1, 1, 2], [5, 3, 4]).repeated_rows("last").tolist()
        [True, False, False]
        """
        checks.one_of(keep, ("first", "last"), "keep")
        order = None if _grouped(self.movie) else _by_movie(self.movie, self.n_movies)
        return _repeats(self.movie, self.user, order, self.n_users, keep == "last")

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
        header = new_header(STORE_KIND, n_ratings=len(self), n_movies=self.n_movies,
                            n_users=self.n_users, rating_dtype=str(self.rating.dtype),
                            source=self.source, has_years=self.years is not None,
                            duplicates=self.duplicates)
        columns = {"movie": self.movie, "user": self.user, "rating": self.rating,
                   "movie_ids": self.movie_ids, "user_ids": self.user_ids,
                   "titles": titles_to_array(self.titles)}
        if self.years is not None:
            columns["years"] = self.years
        with staged_directory(directory, replaceable=is_store) as staging:
            for name, column in columns.items():
                np.save(staging / f"{name}.npy", column, allow_pickle=False)
            (staging / HEADER_FILE).write_text(json.dumps(header, indent=1))
        return Path(directory)

    @classmethod
    def load(cls, directory, mmap: bool = True) -> Ratings:
        """Open a store written by `save`; with ``mmap`` the three columns are memory-mapped.

        Memory-mapped columns are read-only and cost no memory until read. Opening checks the
        header and each file's dtype and size against it, before reading any data, so a
        damaged or edited store fails here, naming the file; `check_values` scans the values.
        """
        directory = Path(directory)
        header = read_store_header(directory)
        if not mmap:
            checks.affordable(sum(os.path.getsize(p) for p in directory.glob("*.npy")),
                              f"reading {directory} into memory", "open it with mmap=True")
        columns = {name: _open_column(directory, name, header, mmap and name in ("movie", "user",
                                                                                "rating"))
                   for name in STORE_COLUMNS if name != "years" or header["has_years"]}
        if columns["rating"].dtype != header["rating_dtype"]:
            raise BadValueError(f"{directory / 'rating.npy'}: dtype {columns['rating'].dtype}, "
                                f"the header says {header['rating_dtype']}")
        ratings = cls(columns["movie"], columns["user"], columns["rating"],
                      n_movies=header["n_movies"], n_users=header["n_users"],
                      titles=titles_from_array(columns["titles"]), years=columns.get("years"),
                      movie_ids=columns["movie_ids"], user_ids=columns["user_ids"],
                      source=header["source"], duplicates=header.get("duplicates"),
                      validate=False)
        checks.unique_ids(ratings.movie_ids, f"{directory / 'movie_ids.npy'}")
        checks.unique_ids(ratings.user_ids, f"{directory / 'user_ids.npy'}")
        ratings.store = directory
        return ratings


# ---------------------------------------------------------------------- repeated pairs

def settle_duplicates(ratings: Ratings, policy: str, where=at_row) -> Ratings:
    """Apply a loader's ``duplicates`` policy to ``ratings``; return the ratings to keep.

    "error" raises, naming the first repeat and how many there are; "first" and "last" keep
    one rating per pair; "all" keeps every row. Whatever the policy, a count found is
    recorded in ``duplicates`` ({"repeated": n, "kept": policy}).
    """
    repeated = ratings.repeated_rows("last" if policy == "last" else "first")
    n_repeated = int(np.count_nonzero(repeated))
    if n_repeated == 0:
        return ratings
    if policy == "error":
        row = int(np.flatnonzero(repeated)[0])
        movie, user = ratings.movie[row], ratings.user[row]
        first = int(np.flatnonzero((ratings.movie == movie) & (ratings.user == user))[0])
        raise BadValueError(
            f"{where(row)}: {ratings._pair(movie, user)} was rated before, at {where(first)} "
            f"(repeated ratings in all: {n_repeated:,}). Choose which to keep: "
            f"duplicates='first', 'last' or 'all' (movievec prepare --duplicates ...)")
    kept = ratings if policy == "all" else ratings.rows(~repeated)
    kept.duplicates = {"repeated": n_repeated, "kept": policy}
    return kept


def _grouped(movie) -> bool:
    """Whether all rows of each movie are next to each other (as in Netflix files)."""
    if len(movie) == 0:
        return True
    runs = 1 + int(np.count_nonzero(movie[1:] != movie[:-1]))
    return runs == np.count_nonzero(np.bincount(movie))


@njit_cached
def _by_movie(movie, n_movies):
    """Row numbers grouped by movie, each movie's rows in their order: a counting sort."""
    next_slot = np.zeros(n_movies + 1, np.int64)
    for m in movie:
        next_slot[m + 1] += 1
    for m in range(n_movies):
        next_slot[m + 1] += next_slot[m]
    order = np.empty(len(movie), np.int64)
    for row in range(len(movie)):
        order[next_slot[movie[row]]] = row
        next_slot[movie[row]] += 1
    return order


@njit_cached
def _repeats(movie, user, order, n_users, keep_last):
    """Rows whose (movie, user) was seen before in a walk that meets each movie's rows
    together (``order``, or the rows as they are when None); backwards to keep the last."""
    n = len(movie)
    last_movie = np.full(n_users, -1, np.int32)  # the movie each user was last seen with
    repeated = np.zeros(n, np.bool_)
    for k in range(n):
        step = n - 1 - k if keep_last else k
        row = step if order is None else order[step]
        if last_movie[user[row]] == movie[row]:
            repeated[row] = True
        last_movie[user[row]] = movie[row]
    return repeated


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
    if raw.dtype.kind != "i":  # unsigned or float ids: refuse what int64 cannot hold
        raw = checks.original_ids(raw, what)
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
        raise UnknownKeyError(f"unknown {what} {ids[~found][0]}")
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

def _id_column(ids, n, name):
    if ids is None:
        return np.arange(n, dtype=np.int64)
    ids = checks.original_ids(ids, name.removesuffix("_ids"))
    if ids.shape != (n,):
        raise BadValueError(f"{name} must hold {n} ids, one per index, got {len(ids)}")
    return checks.unique_ids(ids, name)


def _title_list(titles, n):
    if titles is None:
        return [None] * n
    titles = [t if isinstance(t, str) and t else None for t in titles]
    if len(titles) != n:
        raise BadValueError(f"{len(titles)} titles for {n} movies")
    return titles


def _histogram(rating) -> tuple:
    """``(values, counts)`` of the ratings: a bincount for whole stars (fast at 100M)."""
    if rating.dtype.kind in "iu":
        counts = np.bincount(rating, minlength=1)
        stars = np.flatnonzero(counts)
        return stars, counts[stars]
    return np.unique(np.asarray(rating), return_counts=True)


def _spread(counts) -> dict | None:
    if len(counts) == 0:
        return None
    return {"min": int(counts.min()), "median": float(np.median(counts)),
            "max": int(counts.max())}


# ---------------------------------------------------------------------- store directories

def read_store_header(directory) -> dict:
    """The checked ``header.json`` of a store directory (see `archive.parse_header`)."""
    directory = Path(directory)
    path = directory / HEADER_FILE
    if not path.is_file():
        what = "no such directory" if not directory.exists() else f"no {HEADER_FILE}"
        raise MissingFileError(f"{directory}: not a ratings store ({what})")
    header = parse_header(path.read_text(encoding="utf-8", errors="replace"), path,
                          [STORE_KIND], HEADER_FIELDS)
    for name in ("n_movies", "n_users"):
        if header[name] > np.iinfo(np.int32).max:
            raise BadValueError(f"{path}: {name} {header[name]:,} is beyond 2**31 - 1")
    return header


def check_store_destinations(*paths) -> None:
    """Before reading anything: each store can be written, and no two are the same place (nor
    one inside another, which saving the outer one would replace). An old store is replaced.

    >>> check_store_destinations("out/a", "out/a/b")
    Traceback (most recent call last):
    ...
    numpy_movievec.checks.BadValueError: out/a and out/a/b would overwrite each other: give each store its own place
    """
    paths = [Path(path) for path in paths]
    resolved = [path.resolve() for path in paths]
    for i, a in enumerate(resolved):
        for j, b in enumerate(resolved[i + 1:], i + 1):
            if a == b or a in b.parents or b in a.parents:
                raise BadValueError(f"{paths[i]} and {paths[j]} would overwrite each other: "
                                    f"give each store its own place")
    for path in paths:
        check_directory_destination(path, replaceable=is_store)


def is_store(path) -> bool:
    """Whether ``path`` holds a ratings store (its header reads)."""
    try:
        read_store_header(path)
    except (OSError, ValueError):
        return False
    return True


def _open_column(directory: Path, name: str, header: dict, mmap: bool) -> np.ndarray:
    """One ``.npy`` column, after checking its dtype and size against the store header.

    The ``.npy`` header is read first, so nothing is allocated for a file whose header
    claims more than it holds, or more than the store's header says.
    """
    dtypes, length_key = STORE_COLUMNS[name]
    length = header[length_key]
    path = directory / f"{name}.npy"
    if not path.is_file():
        raise MissingFileError(f"{path}: missing from the store")
    try:
        with open(path, "rb") as f:
            version = np.lib.format.read_magic(f)
            read_array_header = (np.lib.format.read_array_header_1_0 if version == (1, 0)
                                 else np.lib.format.read_array_header_2_0)
            shape, fortran_order, dtype = read_array_header(f)
            data_start = f.tell()
    except (ValueError, OSError, EOFError) as exc:
        raise BadValueError(f"{path}: not a .npy column ({exc})") from None
    kind = "unicode" if dtype.kind == "U" else str(dtype)
    if kind not in dtypes or dtype.byteorder == ">":
        raise BadValueError(f"{path}: dtype {dtype}, expected {' or '.join(dtypes)}")
    if shape != (length,):
        raise BadValueError(f"{path}: shape {shape}, the header says ({length},) "
                            f"({length_key})")
    expected, actual = data_start + length * dtype.itemsize, os.path.getsize(path)
    if actual != expected:
        raise BadValueError(f"{path}: {actual:,} bytes, expected {expected:,} for {length:,} "
                            f"entries (truncated or damaged)")
    try:
        return np.load(path, mmap_mode="r" if mmap else None, allow_pickle=False)
    except (ValueError, OSError, EOFError) as exc:
        raise BadValueError(f"{path}: cannot read it ({exc})") from None
