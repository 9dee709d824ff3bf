"""Movie vectors: find a movie by its title, then its neighbours and offsets by cosine.

`MovieVectors` is this library's take on gensim's ``KeyedVectors``: a matrix with one row per
movie, plus the titles, original ids, training counts and years that let a person ask
questions in their own words::

    vecs = net.movie_vectors(titles=r.titles)
    vecs.most_similar("Yojimbo", topn=10)                     # nearest by cosine, query excluded
    vecs.most_similar(positive=["The Ring", "Yojimbo"], negative=["Ringu"], topn=1)
    vecs.counterpart("Yojimbo", via=("Ringu", "The Ring"))    # the same question, named
    vecs.rank("A Fistful of Dollars", positive=["Yojimbo", "The Ring"], negative=["Ringu"])
    vecs.evaluate_counterparts([("Yojimbo", "A Fistful of Dollars"), ...])   # a table

Titles are found as people type them, in any case, with or without accents, article or year,
by their main or alternate titles; a name that an original and its remake share is an error
listing both (see ``titles.py``).

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

Honest answers: ``counts`` are the ratings each movie was trained on. A movie with a count of 0
never received a gradient, so its vector is still its random initial value; such movies are
left out of every answer (`most_similar`, `counterpart`, `rank`, `evaluate_counterparts`)
unless ``include_untrained=True``. `count` gives any movie's count, so an answer can say how
much its vector has seen.

Saved file layout (written by `save`, read by `load`; see ``archive.py`` for the container and
its format-version policy)::

    __header__     JSON {"kind": "MovieVectors", "format_version": 1, "n_movies": n, "dim": d}
    vectors        float32 (n, d)    one row per movie, by dense index
    movie_titles   unicode (n,)      optional; "" where a title is unknown
    movie_ids      int64 (n,)        optional; the original id of each row
    movie_counts   int64 (n,)        optional; training ratings per movie
    movie_years    int32 (n,)        optional; 0 where the year is unknown

A ``RatingNet`` model file carries the same optional ``movie_*`` arrays beside its
parameters; `MovieVectors.load` reads either kind (a model through ``RatingNet.load``), so
vectors can be shipped without the network. `to_frame`, `save_projector` and `save_word2vec`
hand the vectors to pandas, the TensorBoard Embedding Projector and gensim.
"""

from __future__ import annotations

import io
import re
from functools import cached_property
from pathlib import Path
from typing import NamedTuple

import numpy as np

from . import archive, checks
from .checks import BadValueError
from .titles import AmbiguousTitleError, MovieLookupError, TitleIndex

__all__ = ["AmbiguousTitleError", "CounterpartEvaluation", "MovieLookupError", "MovieVectors",
           "PairRanks", "top_k"]

KIND = "MovieVectors"
METHODS = ("3cosadd", "3cosmul", "offset")
COSMUL_EPSILON = 1e-6  # gensim's value; the paper used 0.001 with its own shifted cosines
SHOWN_ANSWERS = 3  # answers kept per pair by evaluate_counterparts
NEEDS_COUNTS = "needs training counts: build MovieVectors with counts=... (ratings per movie)"
_WHOLE_NUMBER = re.compile(r"[+-]?\d+")
FLOAT_FORMAT = "%.9g"  # nine significant digits write every float32 exactly (IEEE 754)


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
    counts : training ratings per movie: for ``min_count=`` / ``restrict=``, for `plot`, and
        to leave out movies that never trained (count 0).
    years : release year per movie (0 or None where unknown), to tell remakes apart. Without
        them, a year at the end of a title ("Toy Story (1995)", as MovieLens writes) is used.

    Queries accept a title ("Yojimbo"), written in any case and with or without accents
    ("amelie") or article ("fistful of dollars"), an alternate title ("Per un pugno di
    dollari"), a title with its year to pick between remakes ("Godzilla (1954)"), or an int id.

    >>> vecs = MovieVectors([[1, 0], [0.9, 0.1], [0, 1]], titles=["Ringu", "The Ring", "Yojimbo"])
    >>> [title for title, cosine in vecs.most_similar("ringu", topn=1)]
    ['The Ring']
    """

    def __init__(self, vectors, titles=None, movie_ids=None, counts=None, years=None):
        self.vectors = _checked_vectors(vectors)
        n = len(self.vectors)
        self.titles = None if titles is None else list(_checked_length("titles", titles, n))
        self.movie_ids = None if movie_ids is None else checks.unique_ids(
            checks.original_ids(_checked_length("movie_ids", movie_ids, n), "movie"),
            "movie_ids")
        self.counts = None if counts is None else _checked_counts(counts, n)
        self.years = None if years is None else checks.years(
            _checked_length("years", _none_as_zero(years), n), n).astype(np.int32)

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

    def describe(self) -> dict:
        """What these vectors hold, as plain JSON-ready values (``movievec info`` prints them).

        ``untrained_movies`` counts the movies with 0 training ratings (None without counts).

        >>> MovieVectors([[1.0, 0.0], [0.0, 1.0]], titles=["Heat (1995)", None],
        ...              counts=[3, 0]).describe()  # doctest: +NORMALIZE_WHITESPACE
        {'kind': 'MovieVectors', 'movies': 2, 'dim': 2, 'movies_with_titles': 1,
         'movies_with_years': 1, 'training_counts': True, 'untrained_movies': 1}
        """
        return {"kind": KIND, "movies": len(self), "dim": self.dim,
                "movies_with_titles": 0 if self.titles is None else
                sum(title is not None for title in self.titles),
                "movies_with_years": int(np.count_nonzero(self.release_years())),
                "training_counts": self.counts is not None,
                "untrained_movies": None if self.counts is None else
                int(np.count_nonzero(self.counts == 0))}

    # -- lookup ------------------------------------------------------------------------------

    def index(self, key) -> int:
        """The dense row index of a movie given by title, "Title (Year)" or int id.

        Raises `MovieLookupError` (a KeyError) for an unknown key, with near matches, and
        `AmbiguousTitleError` (a MovieLookupError) for a name several movies answer to,
        listing them all with years and ids.

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

    def key_for(self, text: str):
        """What a typed ``text`` names, as a key for the other methods: the title, else an id.

        A title is tried first; text that is a whole number and names no title is then taken
        as a movie id (an original id with ``movie_ids``). An ambiguous title stays an error
        whatever its digits, so "1984" never silently becomes movie 1984. This is how the
        ``movievec`` command reads the movies on its command line.

        >>> vecs = MovieVectors([[1.0], [2.0]], titles=["1984", "Heat"], movie_ids=[7, 1984])
        >>> vecs.key_for("1984"), vecs.key_for("7"), vecs.key_for("heat")
        ('1984', 7, 'heat')
        """
        try:
            self.index(text)
            return text
        except AmbiguousTitleError:
            raise
        except MovieLookupError:
            if not _WHOLE_NUMBER.fullmatch(text.strip()):
                raise
        try:
            self.index(int(text))
        except MovieLookupError:
            raise MovieLookupError(f"no movie titled {text!r}, nor with id {int(text)}") from None
        return int(text)

    def name(self, row: int) -> str:
        """How ``row`` is shown in answers: a query that finds it again.

        Its title; with the year when other movies answer to the title too; with the id as
        well ("Emma (1996) [id 838]") when even the year is shared. ``"movie <id>"`` without
        a title.
        """
        if self.titles is None or self.titles[row] is None:
            return f"movie {self.movie_id(row)}"
        return self._title_index.label(row)

    def movie_id(self, row: int) -> int:
        """The original id of ``row`` (the row itself without ``movie_ids``)."""
        return row if self.movie_ids is None else int(self.movie_ids[row])

    def count(self, key) -> int | None:
        """How many ratings the movie's vector was trained on (None without ``counts``).

        Answers name movies so that they can be passed back: ``vecs.count(title)`` for each
        ``(title, score)`` of `most_similar` gives the number to show beside it.

        >>> MovieVectors([[1.0], [2.0]], titles=["Ringu", "Heat"], counts=[812, 0]).count("ringu")
        812
        """
        row = self.index(key)
        return None if self.counts is None else int(self.counts[row])

    def release_years(self) -> np.ndarray:
        """Year by row (int32), 0 where unknown: the given ``years``, else the title's own.

        >>> MovieVectors([[1.0], [2.0]], titles=["Toy Story (1995)", "Heat"]).release_years()
        array([1995,    0], dtype=int32)
        """
        if self.titles is not None:
            return np.array(self._title_index.years, dtype=np.int32)
        return np.zeros(len(self), dtype=np.int32) if self.years is None else self.years

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
    def _title_index(self) -> TitleIndex:
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
                     min_count=None, restrict=None, include_untrained=False):
        """The movies closest to the query, best first, as ``[(title, score), ...]``.

        ``positive`` is one movie (title, "Title (Year)" or int id) or a list of them;
        ``negative`` a list to move away from. The inputs are never part of the answer.
        ``method`` combines several inputs: "3cosadd" (default, gensim's ``most_similar``),
        "3cosmul" (gensim's ``most_similar_cosmul``) or "offset" (raw vector arithmetic, the
        seed's ``find_american_counterpart``); see the module docstring. For one query and no
        negatives, "3cosadd" and "offset" both give plain cosine similarity.

        Which movies may answer: those with at least ``min_count`` training ratings, among
        the ``restrict`` most-rated (both need ``counts``), and never one with a count of 0
        unless ``include_untrained=True``; the inputs themselves need not qualify.
        ``topn`` is a whole number >= 1, or None for every movie's score as an array by row,
        inputs included, with ``-inf`` for the movies that may not answer.

        >>> vecs = MovieVectors([[1, 0], [0.9, 0.1], [0, 1], [0.1, 0.9]],
        ...                     titles=["Ringu", "The Ring", "Yojimbo", "A Fistful of Dollars"])
        >>> vecs.most_similar(positive=["The Ring", "Yojimbo"], negative=["Ringu"], topn=1)[0][0]
        'A Fistful of Dollars'
        """
        if topn is not None:
            topn = checks.positive_int(topn, "topn")
        positive, negative = self._query_rows(positive, negative)
        scores = self._scores(method, positive, negative)
        scores[~self.candidates(min_count, restrict, include_untrained)] = -np.inf
        if topn is None:
            return scores
        scores[positive + negative] = -np.inf  # gensim too leaves the inputs out of the answer
        return [(self.name(row), float(scores[row])) for row in top_k(scores, topn)]

    def counterpart(self, title, via, topn=10, **options):
        """Move from ``title`` the way ``via[0]`` moves to ``via[1]``.

        The same as ``most_similar(positive=[title, via[1]], negative=[via[0]], topn, ...)``;
        ``options`` (method, min_count, restrict, include_untrained) are passed on.

        >>> vecs = MovieVectors([[1, 0], [0.9, 0.1], [0, 1], [0.1, 0.9]],
        ...                     titles=["Ringu", "The Ring", "Yojimbo", "A Fistful of Dollars"])
        >>> vecs.counterpart("Yojimbo", via=("Ringu", "The Ring"), topn=1)[0][0]
        'A Fistful of Dollars'
        """
        source, destination = _checked_pair(via, "via")
        return self.most_similar(positive=[title, destination], negative=[source], topn=topn,
                                 **options)

    def rank(self, target, positive=None, negative=None, *, method="3cosadd", min_count=None,
             restrict=None, include_untrained=False) -> int:
        """Where ``target`` stands among the answers to a query: 1 is the first answer.

        The query and the options are those of `most_similar`, and so is the order: ``rank``
        is ``target``'s 1-based position in ``most_similar(..., topn=len(self))`` (ties go to
        the lower row), found without sorting. As gensim's ``KeyedVectors.rank``, the query
        movies are not counted. A target that may not answer (a query movie, below
        ``min_count``, outside ``restrict``, untrained) raises BadValueError saying why.

        >>> vecs = MovieVectors([[1, 0], [0.9, 0.1], [0, 1], [0.1, 0.9]],
        ...                     titles=["Ringu", "The Ring", "Yojimbo", "A Fistful of Dollars"])
        >>> vecs.rank("The Ring", positive=["Yojimbo", "The Ring"], negative=["Ringu"])
        Traceback (most recent call last):
        ...
        numpy_movievec.checks.BadValueError: 'The Ring' is one of the query movies, which are never among the answers
        >>> vecs.rank("Ringu", positive=["Yojimbo"])
        3
        """
        positive, negative = self._query_rows(positive, negative)
        row = self.index(target)
        if row in positive + negative:
            raise BadValueError(f"{self.name(row)!r} is one of the query movies, which are "
                                f"never among the answers")
        candidates = self.candidates(min_count, restrict, include_untrained)
        if not candidates[row]:
            raise BadValueError(f"{self.name(row)!r} is not among the answers: "
                                f"{self._left_out_because(row, min_count, restrict)}")
        scores = self._scores(method, positive, negative)
        scores[~candidates] = -np.inf
        scores[positive + negative] = -np.inf
        return rank_of(scores, row)

    def candidates(self, min_count=None, restrict=None, include_untrained=False) -> np.ndarray:
        """Boolean mask by row of the movies that may answer a query (see `most_similar`).

        >>> MovieVectors(np.eye(3), counts=[5, 0, 9]).candidates(min_count=6).tolist()
        [False, False, True]
        """
        keep = np.ones(len(self), dtype=bool)
        if min_count is not None:
            min_count = checks.count(min_count, "min_count")
            keep &= self._counts_for("min_count") >= min_count
        if restrict is not None:
            restrict = checks.positive_int(restrict, "restrict")
            in_top = np.zeros(len(self), dtype=bool)
            in_top[self.most_rated(restrict)] = True
            keep &= in_top
        if not include_untrained and self.counts is not None:
            keep &= self.counts > 0
        return keep

    def most_rated(self, n=None) -> np.ndarray:
        """Rows of the ``n`` most-rated movies (all when None), most-rated first; ties by row.

        >>> MovieVectors([[1.0], [2.0], [3.0]], counts=[5, 9, 7]).most_rated(2)
        array([1, 2])
        """
        return self._rows_by_count[:n]

    @cached_property
    def _rows_by_count(self) -> np.ndarray:
        return np.argsort(-self._counts_for("ranking by popularity"), kind="stable")

    def _counts_for(self, purpose: str) -> np.ndarray:
        if self.counts is None:
            raise BadValueError(f"{purpose} {NEEDS_COUNTS}")
        return self.counts

    def _left_out_because(self, row, min_count, restrict) -> str:
        count = None if self.counts is None else int(self.counts[row])
        if min_count is not None and count < min_count:
            return f"it has {count} training ratings, fewer than min_count={min_count}"
        if restrict is not None and row not in self.most_rated(restrict):
            return f"it is not among the {restrict} most-rated movies"
        return "it was never trained (0 training ratings); pass include_untrained=True"

    def _query_rows(self, positive, negative) -> tuple:
        positive, negative = self._rows(positive), self._rows(negative)
        if not positive:
            raise BadValueError("a query needs at least one positive movie")
        return positive, negative

    def _rows(self, keys) -> list:
        if keys is None:
            return []
        if not isinstance(keys, (list, tuple, np.ndarray)):
            keys = [keys]  # one movie, as gensim allows most_similar("dog")
        return [self.index(key) for key in keys]

    def _scores(self, method, positive, negative) -> np.ndarray:
        checks.one_of(method, METHODS, "method")
        if method == "3cosadd":
            return cosadd_scores(self.unit_vectors, positive, negative)
        if method == "3cosmul":
            return cosmul_scores(self.unit_vectors, positive, negative)
        return offset_scores(self.vectors, self.unit_vectors, positive, negative)

    # -- evaluation --------------------------------------------------------------------------

    def evaluate_counterparts(self, pairs, via=None, *, method="3cosadd", min_count=None,
                              restrict=None, include_untrained=False,
                              shown=SHOWN_ANSWERS) -> "CounterpartEvaluation":
        """How well offsets find known counterparts, as gensim's ``evaluate_word_analogies``.

        ``pairs`` are (original, counterpart) movies, e.g. (Japanese film, American remake).
        For each, the original is moved along a ``via`` pair (source → destination) and the
        true counterpart's rank among the answers is recorded; the *control* is its rank among
        the original's plain nearest neighbours (cosine), so an offset that helps ranks better
        than the control. ``via`` is one pair, or several in order of preference: each pair
        goes via the first that shares no movie with it. ``via=None`` (the default) uses the
        evaluated pairs themselves, so every pair goes via the first other one.

        Both ranks are among one fixed set of candidates: the movies that may answer a query
        (``min_count``, ``restrict``, ``include_untrained``, as in `most_similar`) plus every
        pair's counterpart, whatever its count, so a filter never silently drops the movie a
        rank is about; each query's three input movies are left out. Its size is
        ``n_candidates``. A counterpart that was never trained (count 0) is not ranked (rank
        None, listed in the summary) unless ``include_untrained=True``: its vector is noise.

        Returns a `CounterpartEvaluation`: print it for a table, ``.to_frame()`` for a
        DataFrame, ``.first``, ``.top5`` and ``.median_rank`` (and ``control_*``) for the
        summary; ``shown`` answers are kept per pair.

        >>> vecs = MovieVectors([[1, 0, 0], [1, 1, 0], [0, 0, 1], [0, 1, 1], [0.2, 0, 1]],
        ...                     titles=["Ringu", "The Ring", "Yojimbo", "A Fistful of Dollars",
        ...                             "Heat"])
        >>> result = vecs.evaluate_counterparts([("Yojimbo", "A Fistful of Dollars")],
        ...                                     via=("Ringu", "The Ring"))
        >>> result.results[0].rank, result.results[0].control_rank, result.first
        (1, 2, 1)
        """
        pair_rows = [tuple(map(self.index, _checked_pair(pair, "each pair"))) for pair in pairs]
        via_rows = pair_rows if via is None else [
            tuple(map(self.index, _checked_pair(pair, "via"))) for pair in _pairs_of(via)]
        shown = checks.count(shown, "shown")
        candidates = self.candidates(min_count, restrict, include_untrained)
        rankable = [counterpart for _, counterpart in pair_rows
                    if include_untrained or self.counts is None or self.counts[counterpart] > 0]
        candidates[rankable] = True
        results = [self._pair_ranks(pair, _via_for(pair, via_rows, self.name), method,
                                    candidates, shown)
                   for pair in pair_rows]
        return CounterpartEvaluation(results, method, int(candidates.sum()))

    def _pair_ranks(self, pair, via, method, candidates, shown) -> "PairRanks":
        """One pair's ranks and best answers; both rankings over the same candidates."""
        original, counterpart = pair
        source, destination = via
        inputs = [original, source, destination]
        moved = self._scores(method, [original, destination], [source])
        plain = cosadd_scores(self.unit_vectors, [original], [])
        for scores in (moved, plain):
            scores[~candidates] = -np.inf
            scores[inputs] = -np.inf
        ranked = bool(candidates[counterpart])
        counts = (None, None) if self.counts is None else (int(self.counts[original]),
                                                           int(self.counts[counterpart]))
        return PairRanks(
            original=self.name(original), counterpart=self.name(counterpart),
            via=(self.name(source), self.name(destination)),
            rank=rank_of(moved, counterpart) if ranked else None,
            control_rank=rank_of(plain, counterpart) if ranked else None,
            answers=[(self.name(row), float(moved[row])) for row in top_k(moved, shown)],
            neighbours=[(self.name(row), float(plain[row])) for row in top_k(plain, shown)],
            original_count=counts[0], counterpart_count=counts[1])

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

    # -- export ------------------------------------------------------------------------------

    def to_frame(self):
        """A pandas DataFrame, one row per movie: title, year, id, count, then ``v0 .. v{d-1}``.

        Unknown years and counts are ``<NA>`` (pandas' nullable integers); the index is the
        dense row.

        >>> MovieVectors([[1.0, 2.0]], titles=["Heat (1995)"], counts=[7]).to_frame()
                 title  year  id  count   v0   v1
        0  Heat (1995)  1995   0      7  1.0  2.0
        """
        import pandas as pd

        catalogue = pd.DataFrame({name: pd.array(values, dtype="Int64") if name in ("year", "count")
                                  else values for name, values in self._catalogue_columns().items()})
        vectors = pd.DataFrame(self.vectors, columns=[f"v{i}" for i in range(self.dim)])
        return pd.concat([catalogue, vectors], axis=1)

    def save_projector(self, directory) -> tuple:
        """Write ``vectors.tsv`` and ``metadata.tsv`` for the TensorBoard Embedding Projector.

        Load both at https://projector.tensorflow.org ("Load"), or point a TensorBoard
        projector config at them. ``vectors.tsv``: one line per movie, tab-separated values.
        ``metadata.tsv``: the same lines' title, year, id and count (those known) under a
        header row, as the projector expects when there is more than one column; tabs and
        line breaks inside a title become spaces, since the format has no escaping. The
        directory is created if needed; each file appears whole or not at all. Returns both
        paths.

        >>> import tempfile
        >>> paths = MovieVectors([[1.0, 0.5]], titles=["Heat"]).save_projector(tempfile.mkdtemp())
        >>> [path.read_text() for path in paths]
        ['1\\t0.5\\n', 'title\\tid\\nHeat\\t0\\n']
        """
        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        vectors_path, metadata_path = directory / "vectors.tsv", directory / "metadata.tsv"
        with archive.atomic_file(vectors_path) as f:
            np.savetxt(f, self.vectors, fmt=FLOAT_FORMAT, delimiter="\t")
        _write_tsv(metadata_path, self._catalogue_columns(), header=None)
        return vectors_path, metadata_path

    def save_word2vec(self, path) -> tuple:
        """Write the vectors in word2vec's text format, keyed by movie id, and the titles beside.

        ``path`` gets a ``"<n_movies> <dim>"`` line, then one line per movie: its original id
        and its values, separated by spaces; gensim reads it with
        ``KeyedVectors.load_word2vec_format(path)`` (keys are the ids, as text). The titles go
        to ``<path stem>.titles.tsv`` beside it (id, title, year, count, with a header), since
        a word2vec key cannot hold spaces. Each file appears whole or not at all. Returns both
        paths.

        >>> import tempfile, os
        >>> path = os.path.join(tempfile.mkdtemp(), "movies.txt")
        >>> vectors, titles = MovieVectors([[1.0, 0.5]], titles=["Heat"], movie_ids=[7]).save_word2vec(path)
        >>> vectors.read_text(), titles.name
        ('1 2\\n7 1 0.5\\n', 'movies.titles.tsv')
        """
        path = Path(path)
        titles_path = path.with_name(f"{path.stem}.titles.tsv")
        values = io.BytesIO()
        np.savetxt(values, self.vectors, fmt=FLOAT_FORMAT, delimiter=" ")
        lines = values.getvalue().decode("ascii").splitlines()
        with archive.atomic_file(path) as f:
            f.write(f"{len(self)} {self.dim}\n".encode("ascii"))
            f.writelines(f"{self.movie_id(row)} {line}\n".encode("ascii")
                         for row, line in enumerate(lines))
        columns = self._catalogue_columns()
        _write_tsv(titles_path, {"id": columns.pop("id"), **columns}, header=True)
        return path, titles_path

    def _catalogue_columns(self) -> dict:
        """Lists by row of title, year, id and count, those known (id always); None where a
        title or year is unknown."""
        columns = {}
        if self.titles is not None:
            columns["title"] = list(self.titles)
        years = self.release_years()
        if years.any():
            columns["year"] = [int(year) or None for year in years]
        columns["id"] = [self.movie_id(row) for row in range(len(self))]
        if self.counts is not None:
            columns["count"] = self.counts.tolist()
        return columns

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
        """Read a file written by `save`, or the movie vectors of a saved ``RatingNet``.

        A model file is read by ``RatingNet.load``, which checks it as a model and brings the
        movie catalogue it was saved with.
        """
        if archive.read_header(path, KIND, "RatingNet")["kind"] == "RatingNet":
            from .nn.network import RatingNet  # here: network.py imports this module

            return RatingNet.load(path).movie_vectors()
        header, arrays = archive.load_npz(path, KIND, fields={"n_movies": int, "dim": int})
        vectors = arrays.get("vectors")
        if vectors is None or vectors.shape != (header["n_movies"], header["dim"]):
            raise BadValueError(f"{path}: its 'vectors' array is missing or does not have the "
                                f"header's n_movies x dim ({header['n_movies']} x "
                                f"{header['dim']})")
        return cls(vectors, **metadata_from_arrays(arrays))

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


# -- evaluation results ---------------------------------------------------------------------------

class PairRanks(NamedTuple):
    """One pair's result in `MovieVectors.evaluate_counterparts` (ranks 1-based; None when the
    counterpart was never trained; counts None without ``counts``)."""

    original: str
    counterpart: str
    via: tuple  # (source, destination)
    rank: int | None  # the counterpart among the answers to original + destination - source
    control_rank: int | None  # the counterpart among the original's nearest neighbours
    answers: list  # the best answers to the offset query, [(title, score), ...]
    neighbours: list  # the original's nearest neighbours, [(title, cosine), ...]
    original_count: int | None
    counterpart_count: int | None


class CounterpartEvaluation:
    """The result of `MovieVectors.evaluate_counterparts`: per-pair ranks and a summary.

    ``results`` holds one `PairRanks` per pair; ``first``, ``top5`` and ``median_rank`` (and
    the ``control_`` ones) summarise the ranked pairs. ``str()`` is a table with the summary
    under it; ``to_frame()`` a DataFrame.
    """

    def __init__(self, results, method, n_candidates):
        self.results, self.method, self.n_candidates = list(results), method, n_candidates

    def _ranks(self, field) -> np.ndarray:
        """``rank`` or ``control_rank`` of the ranked pairs."""
        return np.array([getattr(r, field) for r in self.results if r.rank is not None])

    @property
    def unranked(self) -> list:
        """The pairs whose counterpart was not ranked (never trained)."""
        return [r for r in self.results if r.rank is None]

    @property
    def first(self) -> int:
        """How many counterparts the offset query ranks first."""
        return int((self._ranks("rank") == 1).sum())

    @property
    def top5(self) -> int:
        """How many counterparts it ranks in the top 5."""
        return int((self._ranks("rank") <= 5).sum())

    @property
    def median_rank(self) -> float | None:
        """The counterparts' median rank (None when no pair was ranked)."""
        return _median(self._ranks("rank"))

    @property
    def control_first(self) -> int:
        """How many counterparts are the original's nearest neighbour."""
        return int((self._ranks("control_rank") == 1).sum())

    @property
    def control_top5(self) -> int:
        """How many counterparts are among its 5 nearest neighbours."""
        return int((self._ranks("control_rank") <= 5).sum())

    @property
    def control_median_rank(self) -> float | None:
        """The counterparts' median rank among the nearest neighbours."""
        return _median(self._ranks("control_rank"))

    def summary(self) -> str:
        """The verdict in one line.

        >>> row = PairRanks("Yojimbo", "A Fistful of Dollars", ("Ringu", "The Ring"), 1, 3,
        ...                 [], [], None, None)
        >>> CounterpartEvaluation([row, row._replace(rank=4, control_rank=9)], "offset", 50).summary()
        'offset: counterpart first for 1 of 2 pairs, in the top 5 for 2, median rank 2.5 \
(control: first 0, top 5 1, median rank 6)'
        """
        ranked = len(self.results) - len(self.unranked)
        line = (f"{self.method}: counterpart first for {self.first} of {ranked} pairs, in the "
                f"top 5 for {self.top5}, median rank {_number(self.median_rank)} (control: "
                f"first {self.control_first}, top 5 {self.control_top5}, median rank "
                f"{_number(self.control_median_rank)})")
        if self.unranked:
            names = ", ".join(r.counterpart for r in self.unranked)
            line += f"; not ranked, never trained: {names}"
        return line

    def to_frame(self):
        """One row per pair: original, counterpart, via, rank, control_rank, counts, answers.

        Ranks and counts are pandas nullable integers (``<NA>`` where unknown); ``answers`` and
        ``neighbours`` are the kept answers as text, "title (score); ...".
        """
        import pandas as pd

        return pd.DataFrame({
            "original": [r.original for r in self.results],
            "counterpart": [r.counterpart for r in self.results],
            "via": [" → ".join(r.via) for r in self.results],
            **{field: pd.array([getattr(r, field) for r in self.results], dtype="Int64")
               for field in ("rank", "control_rank", "original_count", "counterpart_count")},
            "answers": [_listed(r.answers) for r in self.results],
            "neighbours": [_listed(r.neighbours) for r in self.results],
        })

    def __str__(self):
        frame = self.to_frame()[["original", "counterpart", "rank", "control_rank",
                                 "counterpart_count", "answers"]]
        table = _left_aligned_table(frame) if len(frame) else ""
        return (f"counterparts by {self.method}, ranked among {self.n_candidates:,} movies\n"
                f"{table}\n{self.summary()}")

    __repr__ = __str__


def _left_aligned_table(frame) -> str:
    """``frame`` as text, every column aligned left under its name, "-" where a value is NA."""
    cells = frame.astype(object).where(frame.notna(), "-").astype(str)
    widths = {name: max(len(name), cells[name].str.len().max()) for name in cells}
    return cells.to_string(index=False, justify="left",
                           formatters={name: f"{{:<{widths[name]}}}".format for name in cells})


def _listed(answers) -> str:
    """``"The Ring (0.93); Heat (0.41)"`` from ``[(title, score), ...]``."""
    return "; ".join(f"{title} ({score:.2f})" for title, score in answers)


def _median(ranks):
    return float(np.median(ranks)) if len(ranks) else None


def _number(value) -> str:
    return "-" if value is None else f"{value:g}"


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


def rank_of(scores, row) -> int:
    """The 1-based place of ``row`` when rows are sorted as `top_k` sorts them: by score,
    best first, ties to the lower row. Counting beats sorting: one pass over the scores.

    >>> rank_of(np.array([0.5, 0.9, 0.5, -np.inf]), 2)
    3
    """
    score = scores[row]
    return 1 + int((scores > score).sum()) + int((scores[:row] == score).sum())


# -- pairs -----------------------------------------------------------------------------------------

def _checked_pair(pair, what) -> tuple:
    if isinstance(pair, (str, bytes)) or not hasattr(pair, "__len__") or len(pair) != 2:
        raise BadValueError(f"{what} must be a (source, destination) pair, got {pair!r}")
    return tuple(pair)


def _pairs_of(via) -> list:
    """``via`` as a list of pairs: one pair of movies, or a list of such pairs."""
    if isinstance(via, (list, tuple)) and via and isinstance(via[0], (str, int, np.integer)):
        return [via]
    return list(via)


def _via_for(pair, via_rows, name) -> tuple:
    """The first via pair that shares no movie with ``pair``."""
    if pair[0] == pair[1]:
        raise BadValueError(f"the pair ({name(pair[0])!r}, {name(pair[1])!r}) names one movie "
                            f"twice")
    for via in via_rows:
        if not set(via) & set(pair):
            return via
    raise BadValueError(f"no via pair shares no movie with ({name(pair[0])!r}, "
                        f"{name(pair[1])!r}): give another via pair")


# -- text files ------------------------------------------------------------------------------------

def _write_tsv(path, columns: dict, header) -> None:
    """Write ``columns`` (name -> values by row) as tab-separated lines, atomically.

    ``header=None`` writes the names as a first line only when there is more than one column
    (the Embedding Projector's rule); True always. Missing values are empty fields.
    """
    names = list(columns)
    rows = zip(*(columns[name] for name in names))
    lines = [names] if header or (header is None and len(names) > 1) else []
    lines += [[_tsv_field(value) for value in row] for row in rows]
    with archive.atomic_file(path) as f:
        f.write("".join("\t".join(line) + "\n" for line in lines).encode("utf-8"))


def _tsv_field(value) -> str:
    """One field: no tab or line break inside (TSV has no escaping), "" for a missing value.

    >>> _tsv_field("Tab\\there"), _tsv_field(None), _tsv_field(1995)
    ('Tab here', '', '1995')
    """
    if value is None:
        return ""
    return " ".join(str(value).replace("\t", " ").splitlines())


# -- argument checks ---------------------------------------------------------------------------

def _checked_vectors(vectors) -> np.ndarray:
    vectors = np.array(vectors, dtype=np.float32)  # a copy: the cached norms must stay true
    if vectors.ndim != 2:
        raise BadValueError(f"vectors must be a 2-D (n_movies, dim) array, got shape "
                            f"{vectors.shape}")
    bad = ~np.isfinite(vectors).all(axis=1)
    if bad.any():
        raise BadValueError(f"vectors has {bad.sum()} rows with NaN or inf, first row "
                            f"{bad.argmax()}")
    vectors.flags.writeable = False
    return vectors


def _checked_length(name, values, n):
    if len(values) != n:
        raise BadValueError(f"{name} has {len(values)} entries but there are {n} vectors")
    return values


def _checked_counts(counts, n) -> np.ndarray:
    """Training ratings per movie: ``n`` whole numbers >= 0, as int64."""
    counts = checks.integer_dtype(checks.one_dimensional(counts, "counts"), "counts")
    _checked_length("counts", counts, n)
    checks.fail_at_first(counts < 0, "count {} is negative", counts)
    return counts.astype(np.int64)


def _none_as_zero(years):
    if isinstance(years, np.ndarray):
        return years
    return np.array([0 if y is None else y for y in years], dtype=np.int64)
