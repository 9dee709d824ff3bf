"""Movie vectors: find a movie by its title, then its neighbours and offsets by cosine.

`MovieVectors` is this library's take on gensim's ``KeyedVectors``: a matrix with one row per
movie, plus the titles, original ids, rating counts and years that let a person ask questions
in their own words::

    vecs = net.movie_vectors(titles=r.titles)
    vecs.most_similar("Yojimbo", topn=10)                     # nearest by cosine, query excluded
    vecs.most_similar(positive=["The Ring", "Yojimbo"], negative=["Ringu"], topn=1)
    vecs.counterpart("Yojimbo", via=("Ringu", "The Ring"))    # the same question, named

Three ways to combine several movies (``method=``), after Levy & Goldberg, "Linguistic
Regularities in Sparse and Explicit Word Representations", CoNLL 2014:

- ``"3cosadd"`` (the default, as in gensim's ``most_similar``): unit-normalise each input, add
  the positives, subtract the negatives, rank every movie by cosine to the result.
- ``"3cosmul"`` (gensim's ``most_similar_cosmul``): rank movie x by
  ``prod_p (1 + cos(x, p)) / 2  /  (prod_n (1 + cos(x, n)) / 2 + 1e-6)``, the paper's
  equation (4) with cosines shifted to [0, 1] as its footnote 7 suggests. The score is that
  ratio, not a cosine. Summing cosines lets one large similarity swamp the others;
  multiplying them asks a candidate to be close to *every* positive.
- ``"offset"``: add and subtract the *raw* vectors, then rank by cosine. This is what the seed
  project's ``find_american_counterpart`` did, so ``method="offset"`` reproduces it.

Saved file layout (written by `save`, read by `load`; see ``archive.py`` for the container)::

    __header__     JSON {"kind": "MovieVectors", "format_version": 1, "n_movies": n, "dim": d}
    vectors        float32 (n, d)    one row per movie, by dense index
    movie_titles   unicode (n,)      optional; "" where a title is unknown
    movie_ids      int64 (n,)        optional; the original id of each row
    movie_counts   int64 (n,)        optional; ratings per movie
    movie_years    int32 (n,)        optional; 0 where the year is unknown

A ``RatingNet`` model file (kind "RatingNet") carries the same optional ``movie_*`` arrays and
keeps the movie vectors in ``params/movie_embedding``; `MovieVectors.load` reads either kind,
so vectors can be shipped without the network.
"""

from __future__ import annotations

import difflib
import re
import unicodedata
from functools import cached_property

import numpy as np

from . import archive

KIND = "MovieVectors"
METHODS = ("3cosadd", "3cosmul", "offset")
COSMUL_EPSILON = 1e-6  # gensim's value; the paper used 0.001 with its own shifted cosines
SUGGESTIONS = 5  # near matches listed when a title is unknown
NEEDS_COUNTS = "needs rating counts: build MovieVectors with counts=... (ratings per movie)"

_YEAR_SUFFIX = re.compile(r"^(?P<base>.*?)\s*\((?P<year>\d{4})\)\s*$")
# MovieLens files an article at the end ("Matrix, The (1999)"); people type it in front.
_TRAILING_ARTICLE = re.compile(r"^(?P<rest>.*), (?P<article>the|a|an)$")


class MovieLookupError(KeyError):
    """A title or id that names no movie, or several. A KeyError, as gensim raises."""

    def __str__(self):
        # KeyError would print the repr of the message, quotes and all.
        return str(self.args[0])


class AmbiguousTitleError(MovieLookupError):
    """A title that several movies share (remakes): the message lists the candidates."""


class MovieVectors:
    """One vector per movie, with what a person needs to find a movie: titles, ids, years.

    Parameters
    ----------
    vectors : (n_movies, dim) array, copied as float32 (later changes to the source do not
        leak into the cached unit vectors).
    titles : n_movies titles, None where unknown. Movies without a title are shown as
        ``"movie <id>"``.
    movie_ids : the original id of each row (e.g. Netflix MovieIDs). When given, an ``int``
        query means an original id; without them it means the row (dense index).
    counts : ratings per movie, for ``min_count=`` / ``restrict=`` and for `plot`.
    years : release year per movie (0 or None where unknown), to tell remakes apart. Without
        them, a year at the end of a title ("Toy Story (1995)", as MovieLens writes) is used.

    Queries accept a title ("Yojimbo"), written in any case and with or without accents
    ("amelie"), a title with its year to pick between remakes ("Hamlet (1996)"), or an int id.

    >>> vecs = MovieVectors([[1, 0], [0.9, 0.1], [0, 1]], titles=["Ringu", "The Ring", "Yojimbo"])
    >>> [title for title, cosine in vecs.most_similar("ringu", topn=1)]
    ['The Ring']
    """

    def __init__(self, vectors, titles=None, movie_ids=None, counts=None, years=None):
        self.vectors = _checked_vectors(vectors)
        n = len(self.vectors)
        self.titles = None if titles is None else list(_checked_length("titles", titles, n))
        self.movie_ids = _optional_int_array("movie_ids", movie_ids, n, np.int64)
        self.counts = _optional_int_array("counts", counts, n, np.int64)
        self.years = _optional_int_array("years", _none_as_zero(years), n, np.int32)
        if self.movie_ids is not None and len(np.unique(self.movie_ids)) != n:
            raise ValueError("movie_ids must be unique: each names one row")

    def __len__(self):
        return len(self.vectors)

    def __repr__(self):
        extras = [name for name in ("titles", "movie_ids", "counts", "years")
                  if getattr(self, name) is not None]
        with_ = ", ".join(extras) or "no metadata"
        return f"MovieVectors({len(self)} movies × {self.dim} dims, with {with_})"

    def __contains__(self, key):
        try:
            self.index(key)
        except MovieLookupError:
            return False
        return True

    def __getitem__(self, key) -> np.ndarray:
        """The raw vector of one movie (read-only view)."""
        return self.vectors[self.index(key)]

    @property
    def dim(self) -> int:
        return self.vectors.shape[1]

    # -- lookup ------------------------------------------------------------------------------

    def index(self, key) -> int:
        """The dense row index of a movie given by title, "Title (Year)" or int id.

        Raises `MovieLookupError` (a KeyError) for an unknown key, with near matches, or for
        an ambiguous title, listing the candidates.

        >>> vecs = MovieVectors([[1.0], [2.0]], titles=["Amélie", "Heat"], movie_ids=[10, 20])
        >>> vecs.index("AMELIE"), vecs.index("Heat"), vecs.index(10)
        (0, 1, 0)
        """
        if isinstance(key, (int, np.integer)) and not isinstance(key, bool):
            return self._index_of_id(int(key))
        if isinstance(key, str) and self.titles is None:
            raise MovieLookupError(f"cannot look up {key!r}: these vectors have no titles; "
                                   f"pass an int id, or build MovieVectors with titles=...")
        if isinstance(key, str):
            return self._title_index.find(key)
        raise TypeError(f"a movie is named by a title (str) or an int id, got {key!r}")

    def name(self, row: int) -> str:
        """How ``row`` is shown in answers: its title, else ``"movie <id>"``.

        A title several movies share (remakes) gets its year, so that the answer can be
        typed back as a query.
        """
        if self.titles is None or self.titles[row] is None:
            return f"movie {row if self.movie_ids is None else self.movie_ids[row]}"
        return self._title_index.label(row)

    def _index_of_id(self, movie_id: int) -> int:
        if self.movie_ids is None:
            if not 0 <= movie_id < len(self):
                raise MovieLookupError(f"movie index {movie_id} is out of range 0..{len(self) - 1}")
            return movie_id
        row = self._row_of_id.get(movie_id)
        if row is None:
            raise MovieLookupError(f"movie id {movie_id} is not among the {len(self)} movies")
        return row

    @cached_property
    def _row_of_id(self) -> dict:
        return {int(movie_id): row for row, movie_id in enumerate(self.movie_ids)}

    @cached_property
    def _title_index(self) -> "TitleIndex":
        return TitleIndex(self.titles, self.years, self.movie_ids)

    # -- similarity --------------------------------------------------------------------------

    @cached_property
    def unit_vectors(self) -> np.ndarray:
        """Rows scaled to length 1 (zero rows stay zero, so their cosines are 0), computed once."""
        return unit_rows(self.vectors)

    def similarity(self, a, b) -> float:
        """Cosine similarity of two movies.

        >>> round(MovieVectors([[1, 0], [1, 1]]).similarity(0, 1), 4)
        0.7071
        """
        return float(self.unit_vectors[self.index(a)] @ self.unit_vectors[self.index(b)])

    def most_similar(self, positive=None, negative=None, topn=10, *, method="3cosadd",
                     min_count=None, restrict=None):
        """The movies closest to the query, best first, as ``[(title, score), ...]``.

        ``positive`` is one movie (title, "Title (Year)" or int id) or a list of them;
        ``negative`` a list to move away from. The inputs are never part of the answer.
        ``method`` combines several inputs: "3cosadd" (default, gensim's ``most_similar``),
        "3cosmul" (gensim's ``most_similar_cosmul``) or "offset" (raw vector arithmetic, the
        seed's ``find_american_counterpart``); see the module docstring. For one query and no
        negatives, "3cosadd" and "offset" both give plain cosine similarity.

        ``min_count=N`` keeps only movies with at least N ratings and ``restrict=N`` only the
        N most-rated movies (both need ``counts``); the inputs themselves need not qualify.
        ``topn=None`` returns every movie's score as an array by row, inputs included, with
        ``-inf`` for movies the restriction leaves out.

        >>> vecs = MovieVectors([[1, 0], [0.9, 0.1], [0, 1], [0.1, 0.9]],
        ...                     titles=["Ringu", "The Ring", "Yojimbo", "A Fistful of Dollars"])
        >>> vecs.most_similar(positive=["The Ring", "Yojimbo"], negative=["Ringu"], topn=1)[0][0]
        'A Fistful of Dollars'
        """
        positive, negative = self._rows(positive), self._rows(negative)
        if not positive:
            raise ValueError("most_similar needs at least one positive movie")
        scores = self._restricted(self._scores(method, positive, negative), min_count, restrict)
        if topn is None:
            return scores
        scores[positive + negative] = -np.inf  # gensim too leaves the inputs out of the answer
        return [(self.name(row), float(scores[row])) for row in top_k(scores, topn)]

    def counterpart(self, title, via, topn=10, **options):
        """Move from ``title`` the way ``via[0]`` moves to ``via[1]``.

        The same as ``most_similar(positive=[title, via[1]], negative=[via[0]], topn, ...)``;
        ``options`` (method, min_count, restrict) are passed on.

        >>> vecs = MovieVectors([[1, 0], [0.9, 0.1], [0, 1], [0.1, 0.9]],
        ...                     titles=["Ringu", "The Ring", "Yojimbo", "A Fistful of Dollars"])
        >>> vecs.counterpart("Yojimbo", via=("Ringu", "The Ring"), topn=1)[0][0]
        'A Fistful of Dollars'
        """
        if isinstance(via, (str, bytes)) or len(via) != 2:
            raise ValueError(f"via must be a (source, destination) pair, got {via!r}")
        source, destination = via
        return self.most_similar(positive=[title, destination], negative=[source], topn=topn,
                                 **options)

    def most_rated(self, n=None) -> np.ndarray:
        """Rows of the ``n`` most-rated movies (all when None), most-rated first; ties by row.

        >>> MovieVectors([[1.0], [2.0], [3.0]], counts=[5, 9, 7]).most_rated(2)
        array([1, 2])
        """
        return self._rows_by_count[:n]

    @cached_property
    def _rows_by_count(self) -> np.ndarray:
        if self.counts is None:
            raise ValueError(f"ranking by popularity {NEEDS_COUNTS}")
        return np.argsort(-self.counts, kind="stable")

    def _rows(self, keys) -> list:
        if keys is None:
            return []
        if not isinstance(keys, (list, tuple, np.ndarray)):
            keys = [keys]  # one movie, as gensim allows most_similar("dog")
        return [self.index(key) for key in keys]

    def _scores(self, method, positive, negative) -> np.ndarray:
        if method == "3cosadd":
            return cosadd_scores(self.unit_vectors, positive, negative)
        if method == "3cosmul":
            return cosmul_scores(self.unit_vectors, positive, negative)
        if method == "offset":
            return offset_scores(self.vectors, self.unit_vectors, positive, negative)
        raise ValueError(f"unknown method {method!r}; choose one of {', '.join(METHODS)}")

    def _restricted(self, scores, min_count, restrict) -> np.ndarray:
        """``scores`` with -inf for the movies ``min_count``/``restrict`` leave out."""
        if min_count is None and restrict is None:
            return scores
        keep = np.ones(len(self), dtype=bool)
        if min_count is not None:
            if self.counts is None:
                raise ValueError(f"min_count {NEEDS_COUNTS}")
            keep &= self.counts >= min_count
        if restrict is not None:
            in_top = np.zeros(len(self), dtype=bool)
            in_top[self.most_rated(restrict)] = True
            keep &= in_top
        scores[~keep] = -np.inf
        return scores

    # -- maps --------------------------------------------------------------------------------

    def pca(self, n_components=2):
        """PCA of the unit vectors (the geometry cosine ranking sees); see `viz.pca`.

        >>> MovieVectors([[1, 0, 0], [0, 1, 0], [0, 0, 1]]).pca(2).coords.shape
        (3, 2)
        """
        from .viz import pca

        return pca(self.unit_vectors, n_components)

    def plot(self, path, top=200, counts=None, arrow=None, title=None):
        """Draw a 2-D map of the ``top`` most-rated movies to ``path`` (.png or .svg).

        ``arrow=("Ringu", "The Ring")`` (or a list of pairs) draws offsets. Needs matplotlib
        (``pip install 'numpy_movievec[plot]'``); see `viz.plot_map`.
        """
        from .viz import plot_map

        return plot_map(self, path, top=top, counts=counts, arrow=arrow, title=title)

    # -- files -------------------------------------------------------------------------------

    def save(self, path):
        """Write the vectors and their metadata to ``path`` (.npz, no pickle; layout above).

        >>> import os, tempfile
        >>> path = os.path.join(tempfile.mkdtemp(), "vectors.npz")
        >>> MovieVectors([[1.0, 2.0]], titles=["Heat"]).save(path).name
        'vectors.npz'
        >>> MovieVectors.load(path).titles
        ['Heat']
        """
        arrays = {"vectors": self.vectors, **self.metadata_arrays()}
        return archive.save_npz(path, KIND, arrays, n_movies=len(self), dim=self.dim)

    @classmethod
    def load(cls, path) -> "MovieVectors":
        """Read a file written by `save`, or the movie vectors of a saved ``RatingNet``."""
        header, arrays = archive.load_npz(path, KIND, "RatingNet")
        name = "vectors" if header["kind"] == KIND else "params/movie_embedding"
        if name not in arrays:
            raise ValueError(f"{path}: a {header['kind']} file without {name!r}")
        return cls(arrays[name], **metadata_from_arrays(arrays))

    def metadata_arrays(self) -> dict:
        """The optional ``movie_*`` arrays of the saved layout, for what this object has."""
        arrays = {}
        if self.titles is not None:
            arrays["movie_titles"] = archive.titles_to_array(self.titles)
        for name, values in (("movie_ids", self.movie_ids), ("movie_counts", self.counts),
                             ("movie_years", self.years)):
            if values is not None:
                arrays[name] = values
        return arrays


def metadata_from_arrays(arrays: dict) -> dict:
    """Constructor keywords (titles, movie_ids, counts, years) from saved ``movie_*`` arrays."""
    titles = arrays.get("movie_titles")
    return {"titles": None if titles is None else archive.titles_from_array(titles),
            "movie_ids": arrays.get("movie_ids"),
            "counts": arrays.get("movie_counts"),
            "years": arrays.get("movie_years")}


# -- scoring: each returns one score per row of the matrix ---------------------------------------

def cosadd_scores(unit, positive, negative) -> np.ndarray:
    """3CosAdd: cosine of every row to ``sum(unit[positive]) - sum(unit[negative])``.

    gensim averages instead of summing; the direction, hence every cosine, is the same.
    """
    target = unit[positive].sum(axis=0) - unit[negative].sum(axis=0)
    return unit @ unit_vector(target)


def cosmul_scores(unit, positive, negative) -> np.ndarray:
    """3CosMul: ``prod_p (1+cos(x,p))/2 / (prod_n (1+cos(x,n))/2 + 1e-6)`` for every row x.

    As gensim's ``most_similar_cosmul`` (gensim/models/keyedvectors.py), after equation (4) of
    Levy & Goldberg (2014) with cosines shifted to [0, 1] (their footnote 7).
    """
    shifted = (1 + unit @ unit[positive + negative].T) / 2  # (n_movies, n_inputs)
    numerator = shifted[:, :len(positive)].prod(axis=1)
    denominator = shifted[:, len(positive):].prod(axis=1) + COSMUL_EPSILON
    return numerator / denominator


def offset_scores(raw, unit, positive, negative) -> np.ndarray:
    """The seed's offset: cosine of every row to ``sum(raw[positive]) - sum(raw[negative])``."""
    target = raw[positive].sum(axis=0) - raw[negative].sum(axis=0)
    return unit @ unit_vector(target)


def top_k(scores, k) -> np.ndarray:
    """Rows of the ``k`` highest finite scores, best first (ties: lower row first).

    ``argpartition`` finds them in O(n); only those k are then sorted, so a query over a
    million movies costs one pass, not a full sort.

    >>> top_k(np.array([0.1, 0.9, -np.inf, 0.5]), 2)
    array([1, 3])
    """
    k = min(k, int(np.isfinite(scores).sum()))
    if k <= 0:
        return np.zeros(0, dtype=np.int64)
    best = np.sort(np.argpartition(-scores, k - 1)[:k])
    return best[np.argsort(-scores[best], kind="stable")]


def unit_rows(matrix) -> np.ndarray:
    """Each row divided by its length; zero rows stay zero instead of becoming NaN."""
    norms = np.linalg.norm(matrix, axis=1, keepdims=True)
    return matrix / np.where(norms > 0, norms, 1)


def unit_vector(vector) -> np.ndarray:
    """``vector`` scaled to length 1, or left at zero."""
    return unit_rows(vector[None, :])[0]


# -- title lookup ------------------------------------------------------------------------------

class TitleIndex:
    """Finds a movie's row from what a person types: exact title, any case or accents, year.

    Every title is reduced to a *key* (see `title_key`) and a year (from ``years``, else from
    a "(YYYY)" at the end of the title). A query is tried as an exact title first, then by key,
    narrowed by year when it ends in "(YYYY)". Keys and years are worked out on first need:
    for a million titles that takes seconds, and exact titles never need them.
    """

    def __init__(self, titles, years=None, movie_ids=None):
        self.titles = list(titles)
        self.given_years = years
        self.movie_ids = movie_ids
        self.rows_by_title = _rows_by(self.titles)

    @cached_property
    def _split_titles(self) -> list:
        return [split_year(t) if t is not None else (None, 0) for t in self.titles]

    @cached_property
    def years(self) -> list:
        """Year by row, 0 where unknown: the given year, else the one in the title."""
        given = self.given_years if self.given_years is not None else [0] * len(self.titles)
        return [int(y) or parsed for y, (_, parsed) in zip(given, self._split_titles)]

    @cached_property
    def rows_by_key(self) -> dict:
        return _rows_by([title_key(base) if base is not None else None
                         for base, _ in self._split_titles])

    def find(self, query: str) -> int:
        """The row ``query`` names; MovieLookupError if it names none or several."""
        rows = self.rows_by_title.get(query)
        if rows is None:
            base, year = split_year(query)
            rows = self.rows_by_key.get(title_key(base), [])
            if year:
                rows = [row for row in rows if self.years[row] == year]
        if len(rows) == 1:
            return rows[0]
        if rows:
            raise AmbiguousTitleError(self._ambiguous_message(query, rows))
        raise MovieLookupError(self._unknown_message(query))

    def label(self, row) -> str:
        """The title, with its year when other movies share it: a query that finds ``row``."""
        title = self.titles[row]
        if len(self.rows_by_title[title]) > 1:
            return self._with_year(row)
        return title

    def describe(self, row) -> str:
        """``Title (Year) [id N]``: enough to tell candidates apart."""
        movie_id = row if self.movie_ids is None else int(self.movie_ids[row])
        return f"{self._with_year(row)} [id {movie_id}]"

    def _with_year(self, row) -> str:
        title, year = self.titles[row], self.years[row]
        return f"{title} ({year})" if year and not _YEAR_SUFFIX.match(title) else title

    def _ambiguous_message(self, query, rows) -> str:
        candidates = "; ".join(self.describe(row) for row in rows)
        return (f"{query!r} is ambiguous, {len(rows)} movies match: {candidates}. "
                f"Add the year, as in 'Title (Year)', or pass the movie id")

    def _unknown_message(self, query) -> str:
        near = difflib.get_close_matches(title_key(query), list(self.rows_by_key), n=SUGGESTIONS)
        rows = [row for key in near for row in self.rows_by_key[key]][:SUGGESTIONS]
        hint = f"; did you mean {', '.join(repr(self.label(r)) for r in rows)}?" if rows else ""
        if query.strip().isdigit():
            hint += " (to look a movie up by id, pass an int)"
        return f"no movie titled {query!r}{hint}"


def title_key(title: str) -> str:
    """What two spellings of a title share: no accents, case, extra spaces or moved article.

    >>> title_key("  Misérables,  Les")
    'miserables, les'
    >>> title_key("Matrix, The"), title_key("AMÉLIE")
    ('the matrix', 'amelie')
    """
    text = title if title.isascii() else _without_accents(title)  # the check is 10x faster
    text = " ".join(text.casefold().split())
    moved = _TRAILING_ARTICLE.match(text)
    return f"{moved['article']} {moved['rest']}" if moved else text


def _without_accents(text: str) -> str:
    """Split letters from their accents (NFKD: "é" → "e" + "´"), then drop the accents."""
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(c for c in decomposed if not unicodedata.combining(c))


def split_year(title: str) -> tuple:
    """``("Toy Story", 1995)`` from ``"Toy Story (1995)"``; ``(title, 0)`` without a year.

    >>> split_year("Toy Story (1995)"), split_year("Yojimbo")
    (('Toy Story', 1995), ('Yojimbo', 0))
    """
    match = _YEAR_SUFFIX.match(title)
    return (match["base"], int(match["year"])) if match else (title, 0)


def _rows_by(keys) -> dict:
    rows = {}
    for row, key in enumerate(keys):
        if key is not None:
            rows.setdefault(key, []).append(row)
    return rows


# -- argument checks ---------------------------------------------------------------------------

def _checked_vectors(vectors) -> np.ndarray:
    vectors = np.array(vectors, dtype=np.float32)  # a copy: the cached norms must stay true
    if vectors.ndim != 2:
        raise ValueError(f"vectors must be a 2-D (n_movies, dim) array, got shape {vectors.shape}")
    bad = ~np.isfinite(vectors).all(axis=1)
    if bad.any():
        raise ValueError(f"vectors has {bad.sum()} rows with NaN or inf, first row {bad.argmax()}")
    vectors.flags.writeable = False
    return vectors


def _checked_length(name, values, n):
    if len(values) != n:
        raise ValueError(f"{name} has {len(values)} entries but there are {n} vectors")
    return values


def _optional_int_array(name, values, n, dtype):
    if values is None:
        return None
    array = np.asarray(_checked_length(name, values, n))
    if len(array) and not np.issubdtype(array.dtype, np.integer):
        raise ValueError(f"{name} must be integers, got dtype {array.dtype}")
    return array.astype(dtype)


def _none_as_zero(years):
    if years is None or isinstance(years, np.ndarray):
        return years
    return [0 if y is None else y for y in years]
