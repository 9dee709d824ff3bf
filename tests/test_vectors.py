"""MovieVectors: neighbours and offsets against a float64 brute force, title lookup, files."""

import csv
import re
from pathlib import Path

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from numpy_movievec import archive
from numpy_movievec.vectors import (COSMUL_EPSILON, AmbiguousTitleError, MovieLookupError,
                                    MovieVectors, top_k)

FLOAT32_COSINE_ERROR = 1e-5  # a float32 cosine of short vectors is good to ~1e-7; leave room


# -- brute-force float64 references ------------------------------------------------------------

def cosines64(matrix, target):
    """Cosine of every row of ``matrix`` to ``target`` in float64 (0 for zero vectors)."""
    matrix = np.asarray(matrix, dtype=np.float64)
    norms = np.linalg.norm(matrix, axis=1) * np.linalg.norm(target)
    dots = matrix @ target
    return np.divide(dots, norms, out=np.zeros_like(dots), where=norms > 0)


def unit64(matrix):
    matrix = np.asarray(matrix, dtype=np.float64)
    norms = np.linalg.norm(matrix, axis=1, keepdims=True)
    return np.divide(matrix, norms, out=np.zeros_like(matrix), where=norms > 0)


def reference_target(matrix, positive, negative, method):
    """The vector the answer is ranked against (3cosadd, offset), in float64."""
    rows = unit64(matrix) if method == "3cosadd" else np.asarray(matrix, dtype=np.float64)
    return rows[positive].sum(axis=0) - rows[negative].sum(axis=0)


def reference_cosmul(matrix, positive, negative):
    """3CosMul scores, and the numerator and denominator products they are the ratio of."""
    shifted = (1 + unit64(matrix) @ unit64(matrix)[positive + negative].T) / 2
    numerator = shifted[:, :len(positive)].prod(axis=1)
    denominator = shifted[:, len(positive):].prod(axis=1) + COSMUL_EPSILON
    return numerator / denominator, numerator, denominator


def assert_is_top_k(answer, reference, excluded, topn, tolerance):
    """``answer`` holds the ``topn`` best non-excluded rows of ``reference``, best first.

    ``tolerance`` is the float32 error allowed in each row's score. Rows are compared by
    score, not identity: when two scores tie within rounding, either row is a right answer.
    """
    rows = [int(name.removeprefix("m")) for name, _ in answer]
    scores = np.array([score for _, score in answer])
    candidates = np.setdiff1d(np.arange(len(reference)), excluded)
    assert len(rows) == min(topn, len(candidates))
    assert not set(rows) & set(excluded)
    assert len(set(rows)) == len(rows)
    assert_close(scores, reference[rows], tolerance[rows])
    assert np.all(np.diff(scores) <= 0)
    expected_best = np.sort(reference[candidates])[::-1][:topn]
    assert_close(reference[rows], expected_best, tolerance[rows] + tolerance[candidates].max(initial=0))


def assert_close(actual, expected, tolerance):
    error = np.abs(np.asarray(actual) - expected)
    assert np.all(error <= tolerance), f"{actual} != {expected} (errors {error} > {tolerance})"


# -- strategies --------------------------------------------------------------------------------

# Small integers: exact in float32, and they make ties, zero rows and opposite vectors often.
matrices = st.tuples(st.integers(3, 25), st.integers(1, 5)).flatmap(
    lambda shape: arrays(np.float32, shape, elements=st.integers(-4, 4).map(float)))


def titled(matrix):
    return MovieVectors(matrix, titles=[f"m{i}" for i in range(len(matrix))])


@st.composite
def queries(draw):
    """A matrix and disjoint positive/negative input rows (at least one positive)."""
    matrix = draw(matrices)
    rows = draw(st.lists(st.integers(0, len(matrix) - 1), min_size=1, max_size=4, unique=True))
    n_negative = draw(st.integers(0, len(rows) - 1))
    return matrix, rows[n_negative:], rows[:n_negative]


# -- neighbours --------------------------------------------------------------------------------

@settings(max_examples=150, deadline=None)
@given(matrices, st.data())
def test_most_similar_matches_brute_force_cosine(matrix, data):
    query = data.draw(st.integers(0, len(matrix) - 1))
    topn = data.draw(st.integers(1, len(matrix) + 2))
    answer = titled(matrix).most_similar(f"m{query}", topn=topn)
    reference = cosines64(matrix, matrix[query].astype(np.float64))
    tolerance = np.full(len(matrix), FLOAT32_COSINE_ERROR)
    assert_is_top_k(answer, reference, [query], topn, tolerance)


@settings(max_examples=150, deadline=None)
@given(queries(), st.sampled_from(["3cosadd", "offset"]), st.integers(1, 6))
def test_additive_offsets_match_brute_force(query, method, topn):
    matrix, positive, negative = query
    target = reference_target(matrix, positive, negative, method)
    # Near-cancelling inputs leave a direction made of rounding error: no answer is right there.
    assume(np.linalg.norm(target) > 1e-2)
    answer = titled(matrix).most_similar(positive=[f"m{i}" for i in positive],
                                         negative=[f"m{i}" for i in negative],
                                         topn=topn, method=method)
    reference = cosines64(matrix, target)
    # The rounding error in the target's direction grows as the target gets shorter.
    tolerance = np.full(len(matrix), FLOAT32_COSINE_ERROR / min(1.0, np.linalg.norm(target)))
    assert_is_top_k(answer, reference, positive + negative, topn, tolerance)


@settings(max_examples=150, deadline=None)
@given(queries(), st.integers(1, 6))
def test_3cosmul_matches_brute_force(query, topn):
    matrix, positive, negative = query
    answer = titled(matrix).most_similar(positive=[f"m{i}" for i in positive],
                                         negative=[f"m{i}" for i in negative],
                                         topn=topn, method="3cosmul")
    reference, numerator, denominator = reference_cosmul(matrix, positive, negative)
    # Each shifted cosine may be off by ~FLOAT32_COSINE_ERROR; propagate that through the
    # ratio (a denominator near epsilon, from an opposite vector, magnifies it).
    shifted_error = FLOAT32_COSINE_ERROR
    tolerance = (len(positive) * shifted_error / denominator
                 + numerator * len(negative) * shifted_error / denominator**2
                 + 1e-6 * np.abs(reference))
    assert_is_top_k(answer, reference, positive + negative, topn, tolerance)


def test_3cosmul_on_hand_made_vectors():
    # Unit directions at 0°, 90°, 45°, 135°, 180°; lengths differ to show they do not matter.
    angles = np.radians([0, 90, 45, 135, 180])
    lengths = np.array([1.0, 2.0, 0.5, 3.0, 1.0])
    matrix = lengths[:, None] * np.stack([np.cos(angles), np.sin(angles)], axis=1)
    vecs = MovieVectors(matrix, titles=["a", "b", "c", "x", "y"])
    answer = dict(vecs.most_similar(positive=["b", "c"], negative=["a"], method="3cosmul"))
    # x at 135°: cos to b = cos 45° = 0.70711, to c = cos 90° = 0, to a = cos 135° = -0.70711.
    # Shifted: (1 + 0.70711)/2 = 0.85355, (1 + 0)/2 = 0.5, (1 - 0.70711)/2 = 0.14645.
    expected_x = 0.85355339 * 0.5 / (0.14644661 + 1e-6)
    # y at 180°: cos to b = 0, to c = cos 135° = -0.70711, to a = -1 → shifted 0.5, 0.14645, 0.
    expected_y = 0.5 * 0.14644661 / (0.0 + 1e-6)
    assert set(answer) == {"x", "y"}
    assert answer["x"] == pytest.approx(expected_x, rel=1e-5)
    # y is opposite the negative, so its denominator is epsilon alone and its score explodes:
    # 3CosMul ranks "far from the negative" above everything.
    assert answer["y"] == pytest.approx(expected_y, rel=1e-4)
    assert list(answer) == ["y", "x"]


def test_3cosmul_with_one_input_is_the_shifted_cosine():
    vecs = MovieVectors([[1, 0], [0, 1], [1, 1]], titles=["a", "b", "c"])
    answer = vecs.most_similar("a", method="3cosmul")
    assert answer[0] == ("c", pytest.approx((1 + np.sqrt(0.5)) / 2 / (1 + 1e-6)))
    assert answer[1] == ("b", pytest.approx(0.5 / (1 + 1e-6)))


def test_offset_uses_raw_lengths_and_3cosadd_does_not():
    # "b" is long, so in raw arithmetic it dominates the sum; 3CosAdd gives each input equal say.
    vecs = MovieVectors([[1, 0], [0, 10], [0.6, 0.8], [0.8, 0.6]], titles=["a", "b", "ab", "ba"])
    assert vecs.most_similar(positive=["a", "b"], method="offset", topn=1)[0][0] == "ab"
    cosadd = dict(vecs.most_similar(positive=["a", "b"], method="3cosadd"))
    assert cosadd["ab"] == pytest.approx(cosadd["ba"])  # symmetric: a and b count the same
    offset = dict(vecs.most_similar(positive=["a", "b"], method="offset"))
    assert offset["ab"] == pytest.approx(cosines64([[0.6, 0.8]], np.array([1.0, 10.0]))[0])


def test_counterpart_is_most_similar_with_the_offset():
    rng = np.random.default_rng(0)
    vecs = MovieVectors(rng.normal(size=(30, 4)), titles=[f"m{i}" for i in range(30)])
    for method in ("3cosadd", "3cosmul", "offset"):
        assert vecs.counterpart("m1", via=("m2", "m3"), topn=5, method=method) == vecs.most_similar(
            positive=["m1", "m3"], negative=["m2"], topn=5, method=method)


def test_seed_query_finds_the_planted_counterpart():
    vecs = MovieVectors([[1, 0, 0], [1, 1, 0], [0, 0, 1], [0, 1, 1], [0.2, 0, 0.3]],
                        titles=["Ringu", "The Ring", "Yojimbo", "A Fistful of Dollars", "Heat"])
    for method in ("3cosadd", "3cosmul", "offset"):
        assert vecs.counterpart("Yojimbo", via=("Ringu", "The Ring"), topn=1,
                                method=method)[0][0] == "A Fistful of Dollars"


def test_query_is_excluded_even_when_a_duplicate_ties_it():
    vecs = MovieVectors([[1, 1], [1, 1], [1, 0]], titles=["a", "a twin", "b"])
    assert vecs.most_similar("a") == [("a twin", pytest.approx(1.0)), ("b", pytest.approx(0.70710678))]


def test_zero_vectors_give_cosine_zero_not_nan():
    vecs = MovieVectors([[0, 0], [1, 0], [0, 0]], titles=["zero", "x", "zero too"])
    assert dict(vecs.most_similar("x")) == {"zero": 0.0, "zero too": 0.0}
    assert [score for _, score in vecs.most_similar("zero")] == [0.0, 0.0]
    assert not np.isnan(vecs.most_similar("zero", topn=None)).any()


def test_topn_none_returns_every_score_by_row():
    matrix = np.array([[1, 0], [1, 1], [0, 1]], dtype=np.float32)
    scores = MovieVectors(matrix).most_similar(0, topn=None)
    np.testing.assert_allclose(scores, cosines64(matrix, np.array([1.0, 0.0])), atol=1e-6)


def test_topn_larger_than_the_catalogue_returns_everything_else():
    assert len(MovieVectors(np.eye(3)).most_similar(0, topn=100)) == 2


def test_top_k_sorts_best_first_and_breaks_ties_by_row():
    scores = np.array([0.5, 0.9, 0.5, -np.inf, 0.5, 0.1])
    assert top_k(scores, 3).tolist() == [1, 0, 2]
    assert top_k(scores, 10).tolist() == [1, 0, 2, 4, 5]


# -- restricting to well-known movies ------------------------------------------------------------

def restricted_example():
    rng = np.random.default_rng(1)
    counts = np.array([50, 3, 40, 1, 30, 20, 2, 10])
    return MovieVectors(rng.normal(size=(8, 3)), titles=[f"m{i}" for i in range(8)], counts=counts)


def test_min_count_keeps_only_movies_with_enough_ratings():
    vecs = restricted_example()
    answer = vecs.most_similar("m1", topn=10, min_count=20)  # the query itself is rare
    assert {name for name, _ in answer} == {"m0", "m2", "m4", "m5"}
    full = dict(vecs.most_similar("m1", topn=10))
    assert all(full[name] == score for name, score in answer)


def test_restrict_keeps_the_n_most_rated():
    vecs = restricted_example()
    answer = vecs.most_similar(positive=["m0"], negative=["m3"], restrict=3, topn=10)
    assert {name for name, _ in answer} == {"m2", "m4"}  # m0 is among the top 3 but an input
    scores = vecs.most_similar("m0", restrict=3, topn=None)
    assert np.isneginf(scores[[1, 3, 5, 6, 7]]).all() and np.isfinite(scores[[0, 2, 4]]).all()


def test_restriction_without_counts_says_what_is_missing():
    with pytest.raises(ValueError, match="counts"):
        MovieVectors(np.eye(3)).most_similar(0, min_count=2)
    with pytest.raises(ValueError, match="counts"):
        MovieVectors(np.eye(3)).most_similar(0, restrict=2)


def test_bad_queries_raise_clear_errors():
    vecs = MovieVectors(np.eye(3), titles=["a", "b", "c"])
    with pytest.raises(ValueError, match="'4cosadd'"):
        vecs.most_similar("a", method="4cosadd")
    with pytest.raises(ValueError, match="positive"):
        vecs.most_similar(negative=["a"])
    with pytest.raises(ValueError, match="pair"):
        vecs.counterpart("a", via="bc")
    with pytest.raises(TypeError, match="1.5"):
        vecs.most_similar(1.5)


# -- title lookup --------------------------------------------------------------------------------

def catalogue(**extra):
    titles = ["Yojimbo", "Amélie", "Hamlet", "Hamlet", "Matrix, The (1999)", "Toy Story (1995)",
              "Toy Story (2025)", None, "Ringu", "The Ring"]
    years = [1961, 2001, 1990, 1996, 0, 0, 0, 0, 1998, 2002]
    ids = [101, 102, 103, 104, 105, 106, 107, 108, 109, 110]
    return MovieVectors(np.arange(20.0).reshape(10, 2) + 1, titles=titles, years=years,
                        movie_ids=ids, **extra)


@pytest.mark.parametrize("query, row", [
    ("Yojimbo", 0),
    ("yojimbo", 0),
    ("  YOJIMBO ", 0),
    ("Amélie", 1),
    ("amelie", 1),           # accents do not matter
    ("AMELIE", 1),
    ("Hamlet (1996)", 3),    # the year picks between remakes (years from the years array)
    ("hamlet (1990)", 2),
    ("The Matrix", 4),       # MovieLens's "Matrix, The" read the way people say it
    ("matrix, the", 4),
    ("The Matrix (1999)", 4),
    ("Toy Story (1995)", 5),  # exact MovieLens title
    ("toy story (2025)", 6),  # the year inside the title counts as the year
    ("Yojimbo (1961)", 0),
    (101, 0),                 # ints are original movie ids
    (np.int64(110), 9),
])
def test_title_lookup(query, row):
    assert catalogue().index(query) == row


def test_ambiguous_title_lists_the_candidates_with_years_and_ids():
    with pytest.raises(MovieLookupError) as error:
        catalogue().index("hamlet")
    message = str(error.value)
    assert "'hamlet' is ambiguous" in message
    assert "Hamlet (1990) [id 103]" in message and "Hamlet (1996) [id 104]" in message
    assert "Title (Year)" in message
    with pytest.raises(MovieLookupError, match=r"Toy Story \(1995\) \[id 106\]"):
        catalogue().index("Toy Story")


def test_unknown_title_suggests_near_matches():
    with pytest.raises(KeyError) as error:  # a KeyError, as gensim raises
        catalogue().index("Yojimob")
    assert "no movie titled 'Yojimob'" in str(error.value)
    assert "did you mean 'Yojimbo'" in str(error.value)
    with pytest.raises(MovieLookupError, match="'Hamlet \\(1990\\)', 'Hamlet \\(1996\\)'"):
        catalogue().index("Hamlet (2000)")


def test_unknown_ids_and_digit_strings():
    with pytest.raises(MovieLookupError, match="movie id 3 "):
        catalogue().index(3)
    with pytest.raises(MovieLookupError, match="pass an int"):
        catalogue().index("101")
    with pytest.raises(MovieLookupError, match="out of range"):
        MovieVectors(np.eye(3)).index(3)
    with pytest.raises(TypeError):
        catalogue().index(True)


def test_without_movie_ids_ints_are_rows():
    vecs = MovieVectors(np.eye(3))
    assert vecs.index(2) == 2
    assert [name for name, _ in vecs.most_similar(0)] == ["movie 1", "movie 2"]
    with pytest.raises(MovieLookupError, match="no titles"):
        vecs.index("Yojimbo")


def test_answers_name_movies_so_they_can_be_asked_back():
    vecs = catalogue()
    names = [vecs.name(row) for row in range(len(vecs))]
    assert names[2:4] == ["Hamlet (1990)", "Hamlet (1996)"]  # shared titles get their year
    assert names[7] == "movie 108"                            # no title: the original id
    assert names[0] == "Yojimbo" and names[4] == "Matrix, The (1999)"
    assert all(vecs.index(name) == row for row, name in enumerate(names) if row != 7)


def test_contains_and_getitem():
    vecs = catalogue()
    assert "amelie" in vecs and "Amelia" not in vecs and 101 in vecs and 1 not in vecs
    np.testing.assert_array_equal(vecs["Ringu"], [17.0, 18.0])
    with pytest.raises(ValueError):
        vecs["Ringu"][0] = 0  # the vectors are read-only: the cached unit vectors stay true


# -- construction and files ------------------------------------------------------------------------

def test_constructor_checks_shapes_and_values():
    with pytest.raises(ValueError, match="2-D"):
        MovieVectors(np.ones(3))
    with pytest.raises(ValueError, match="titles has 2 entries but there are 3"):
        MovieVectors(np.ones((3, 2)), titles=["a", "b"])
    with pytest.raises(ValueError, match="NaN"):
        MovieVectors([[1.0, np.nan]])
    with pytest.raises(ValueError, match="id 5 more than once"):
        MovieVectors(np.ones((2, 2)), movie_ids=[5, 5])
    with pytest.raises(ValueError, match="count -1 is negative"):
        MovieVectors(np.ones((2, 2)), counts=[3, -1])
    with pytest.raises(ValueError, match="year 99999"):
        MovieVectors(np.ones((2, 2)), years=[1990, 99999])


def test_vectors_are_a_snapshot():
    source = np.eye(2, dtype=np.float32)
    vecs = MovieVectors(source)
    source[0] = 5
    assert vecs.vectors[0].tolist() == [1.0, 0.0]


def test_save_load_round_trip(tmp_path):
    vecs = catalogue(counts=np.arange(10) * 7)
    loaded = MovieVectors.load(vecs.save(tmp_path / "vectors.npz"))
    np.testing.assert_array_equal(loaded.vectors, vecs.vectors)
    assert loaded.vectors.dtype == np.float32
    assert loaded.titles == vecs.titles  # None survives as None
    for name in ("movie_ids", "counts", "years"):
        np.testing.assert_array_equal(getattr(loaded, name), getattr(vecs, name))
    assert loaded.most_similar("hamlet (1990)") == vecs.most_similar("hamlet (1990)")


def test_describe_counts_what_the_vectors_hold(tmp_path):
    vecs = catalogue(counts=np.arange(10) * 7)
    facts = MovieVectors.load(vecs.save(tmp_path / "vectors.npz")).describe()
    assert facts == vecs.describe()
    assert (facts["movies"], facts["dim"], facts["training_counts"]) == (len(vecs), vecs.dim, True)
    assert facts["movies_with_titles"] == sum(title is not None for title in vecs.titles)
    assert facts["movies_with_years"] == int((vecs.release_years() > 0).sum())
    assert facts["untrained_movies"] == 1  # the count of 0 * 7
    bare = MovieVectors(np.ones((3, 2))).describe()
    assert bare["movies_with_titles"] == bare["movies_with_years"] == 0
    assert bare["training_counts"] is False and bare["untrained_movies"] is None


def test_save_load_round_trip_without_metadata(tmp_path):
    vecs = MovieVectors(np.arange(6.0).reshape(3, 2))
    loaded = MovieVectors.load(vecs.save(tmp_path / "bare.npz"))
    np.testing.assert_array_equal(loaded.vectors, vecs.vectors)
    assert loaded.titles is loaded.movie_ids is loaded.counts is loaded.years is None


def test_saved_file_is_plain_numpy_with_a_header(tmp_path):
    path = catalogue().save(tmp_path / "v.npz")
    with np.load(path, allow_pickle=False) as archive_file:
        assert set(archive_file.files) == {"__header__", "vectors", "movie_titles", "movie_ids",
                                           "movie_years"}
        assert archive_file["movie_years"].dtype == np.int32
    header, _ = archive.load_npz(path)
    assert header["kind"] == "MovieVectors" and header["format_version"] == archive.FORMAT_VERSION
    assert (header["n_movies"], header["dim"]) == (10, 2)


def test_load_reads_the_movie_vectors_of_a_model_file(tmp_path):
    from numpy_movievec import RatingNet, Ratings

    ratings = Ratings([0, 0, 0, 1, 1, 2], [0, 1, 2, 0, 3, 1], [5, 3, 4, 2, 1, 5],
                      titles=["Ringu", None, "The Ring"], movie_ids=[7, 8, 9], n_users=4)
    net = RatingNet(3, 4, dim=2, hidden=(3,), seed=1)
    path = tmp_path / "model.npz"
    net.save(path, ratings=ratings)
    vecs = MovieVectors.load(path)
    np.testing.assert_array_equal(vecs.vectors, net.params["movie_embedding"])
    assert vecs.titles == ["Ringu", None, "The Ring"] and vecs.index(8) == 1
    assert vecs.counts.tolist() == [3, 2, 1] and vecs.most_rated(1).tolist() == [0]


def test_load_checks_a_model_file_as_a_model(tmp_path):
    """A model file is read by RatingNet.load: a damaged one fails as a model, naming it."""
    path = archive.save_npz(tmp_path / "model.npz", "RatingNet", {
        "params/movie_embedding": np.ones((3, 2), dtype=np.float32)}, config={})
    with pytest.raises(ValueError, match="model.npz"):
        MovieVectors.load(path)


def test_load_refuses_a_vectors_file_whose_array_disagrees_with_its_header(tmp_path):
    path = archive.save_npz(tmp_path / "v.npz", "MovieVectors", {"vectors": np.ones((3, 2))},
                            n_movies=4, dim=2)
    with pytest.raises(ValueError, match="n_movies x dim"):
        MovieVectors.load(path)


def test_load_refuses_other_files(tmp_path):
    path = archive.save_npz(tmp_path / "other.npz", "Checkpoint", {"x": np.ones(2)})
    with pytest.raises(ValueError, match="MovieVectors or RatingNet"):
        MovieVectors.load(path)
    with pytest.raises(FileNotFoundError):
        MovieVectors.load(tmp_path / "missing.npz")


def test_load_refuses_a_newer_format_version(tmp_path):
    path = archive.save_npz(tmp_path / "v.npz", "MovieVectors", {"vectors": np.ones((1, 2))},
                            n_movies=1, dim=2, format_version=archive.FORMAT_VERSION + 1)
    with pytest.raises(ValueError, match="newer"):
        MovieVectors.load(path)


# -- bad arguments (issue 9) --------------------------------------------------------------------

@pytest.mark.parametrize("topn", [2.5, 0, -3, True, "3", np.float64(2.0)])
def test_topn_must_be_a_whole_number_from_one(topn):
    with pytest.raises(ValueError, match=re.escape(f"topn must be a whole number >= 1, got {topn!r}")):
        MovieVectors(np.eye(3)).most_similar(0, topn=topn)


@pytest.mark.parametrize("option, value", [("min_count", -1), ("min_count", 1.5),
                                           ("restrict", 0), ("restrict", 2.0)])
def test_restrictions_must_be_whole_numbers(option, value):
    with pytest.raises(ValueError, match=option):
        MovieVectors(np.eye(3), counts=[1, 2, 3]).most_similar(0, **{option: value})


# -- honest answers: untrained movies and counts ---------------------------------------------------

def untrained_example():
    # Rows 1 and 3 never trained (count 0); row 1 is the closest to row 0 by far.
    return MovieVectors([[1, 0], [1, 0.01], [0.8, 0.6], [0.9, 0.1], [0, 1]],
                        titles=["a", "b", "c", "d", "e"], counts=[10, 0, 5, 0, 7])


def test_untrained_movies_are_left_out_of_answers_unless_asked_for():
    vecs = untrained_example()
    assert [title for title, _ in vecs.most_similar("a")] == ["c", "e"]
    assert [title for title, _ in vecs.most_similar("a", include_untrained=True)] == [
        "b", "d", "c", "e"]
    assert np.isneginf(vecs.most_similar("a", topn=None)[[1, 3]]).all()
    assert [t for t, _ in vecs.counterpart("a", via=("e", "c"))] == [t for t, _ in vecs.most_similar(
        positive=["a", "c"], negative=["e"])]
    # An untrained movie may still be asked about; its answers say nothing, but are given.
    assert [title for title, _ in vecs.most_similar("b")] == ["a", "c", "e"]
    # Without counts nothing is known to be untrained.
    assert len(MovieVectors(vecs.vectors).most_similar(0)) == 4


def test_count_gives_each_answers_training_ratings():
    vecs = untrained_example()
    assert [(title, vecs.count(title)) for title, _ in vecs.most_similar("a")] == [("c", 5),
                                                                                  ("e", 7)]
    assert MovieVectors(np.eye(2), titles=["a", "b"]).count("a") is None


# -- rank ----------------------------------------------------------------------------------------

@settings(max_examples=120, deadline=None)
@given(queries(), st.sampled_from(["3cosadd", "3cosmul", "offset"]), st.data())
def test_rank_is_the_position_in_most_similar(query, method, data):
    """Integer matrices tie often: rank must break ties exactly as most_similar orders them."""
    matrix, positive, negative = query
    counts = data.draw(st.lists(st.integers(0, 3), min_size=len(matrix), max_size=len(matrix)))
    min_count = data.draw(st.sampled_from([None, 1, 2]))
    vecs = MovieVectors(matrix, titles=[f"m{i}" for i in range(len(matrix))], counts=counts)
    options = dict(method=method, min_count=min_count)
    keys = dict(positive=[f"m{i}" for i in positive], negative=[f"m{i}" for i in negative])
    order = [title for title, _ in vecs.most_similar(**keys, topn=len(matrix), **options)]
    for position, title in enumerate(order, 1):
        assert vecs.rank(title, **keys, **options) == position
    for row in set(range(len(matrix))) - {int(t[1:]) for t in order}:
        with pytest.raises(ValueError, match="query movies|min_count|never trained"):
            vecs.rank(f"m{row}", **keys, **options)


def test_rank_matches_a_float64_count_of_better_movies():
    rng = np.random.default_rng(3)
    matrix = rng.normal(size=(200, 6))
    vecs = MovieVectors(matrix)
    target = reference_target(matrix, [5, 9], [7], "offset")
    reference = cosines64(matrix, target)
    reference[[5, 9, 7]] = -np.inf
    for row in (0, 1, 50, 199):
        assert vecs.rank(row, positive=[5, 9], negative=[7], method="offset") == (
            1 + int((reference > reference[row]).sum()))


def test_rank_says_why_a_movie_is_not_among_the_answers():
    vecs = untrained_example()
    with pytest.raises(ValueError, match="'b' is not among the answers: it was never trained"):
        vecs.rank("b", positive="a")
    assert vecs.rank("b", positive="a", include_untrained=True) == 1
    with pytest.raises(ValueError, match="it has 5 training ratings, fewer than min_count=6"):
        vecs.rank("c", positive="a", min_count=6)
    with pytest.raises(ValueError, match="not among the 1 most-rated"):
        vecs.rank("e", positive="a", restrict=1)
    with pytest.raises(ValueError, match="'a' is one of the query movies"):
        vecs.rank("a", positive="a")


# -- evaluate_counterparts -------------------------------------------------------------------------

def reference_pair_ranks(matrix, pairs, via_for, method, keep):
    """Float64 brute force of the evaluation: for each pair, its via pair's offset query and
    the plain neighbours, ranked over the rows ``keep`` allows, the three inputs left out."""
    ranks = []
    for (original, counterpart), (source, destination) in zip(pairs, via_for):
        inputs = [original, source, destination]
        target = reference_target(matrix, [original, destination], [source], method)
        ranked = []
        for scores in (cosines64(matrix, target), cosines64(matrix, matrix[original])):
            scores = np.where(keep, scores, -np.inf)
            scores[inputs] = -np.inf
            ranked.append(1 + int((scores > scores[counterpart]).sum()))
        ranks.append(tuple(ranked))
    return ranks


def evaluation_example(seed=0, n=60):
    rng = np.random.default_rng(seed)
    counts = rng.integers(1, 100, size=n)
    return rng.normal(size=(n, 5)), counts


@pytest.mark.parametrize("method", ["3cosadd", "offset"])
def test_evaluation_ranks_match_a_brute_force(method):
    matrix, counts = evaluation_example()
    vecs = MovieVectors(matrix, counts=counts)
    pairs = [(0, 1), (2, 3), (4, 5), (6, 7)]
    result = vecs.evaluate_counterparts(pairs, method=method)
    # via=None: the pairs themselves, each via the first other pair (pair 0 via pair 1).
    expected = reference_pair_ranks(matrix, pairs, [pairs[1], *[pairs[0]] * 3], method,
                                    np.ones(len(matrix), dtype=bool))
    assert [(r.rank, r.control_rank) for r in result.results] == expected
    assert result.n_candidates == len(matrix)
    assert [r.via for r in result.results] == [("movie 2", "movie 3")] + [("movie 0", "movie 1")] * 3


def test_evaluation_ranks_agree_with_rank_and_most_similar():
    matrix, counts = evaluation_example(1)
    vecs = MovieVectors(matrix, counts=counts)
    result = vecs.evaluate_counterparts([(10, 11)], via=(20, 21), method="3cosmul", shown=4)
    pair = result.results[0]
    assert pair.rank == vecs.rank(11, positive=[10, 21], negative=[20], method="3cosmul")
    assert pair.answers == vecs.most_similar(positive=[10, 21], negative=[20], method="3cosmul",
                                             topn=4)
    # The control: 10's plain neighbours, without the via pair (left out of both rankings).
    plain = [title for title, _ in vecs.most_similar(10, topn=len(vecs))
             if title not in ("movie 20", "movie 21")]
    assert pair.control_rank == plain.index("movie 11") + 1
    assert [title for title, _ in pair.neighbours] == plain[:4]


def test_a_counterpart_below_min_count_is_still_ranked_among_a_fixed_set():
    """min_count must not silently drop the movie a rank is about (issue 11)."""
    matrix, counts = evaluation_example(2)
    counts[[1, 3]] = 2  # two counterparts are rare
    vecs = MovieVectors(matrix, counts=counts)
    pairs = [(0, 1), (2, 3), (4, 5)]
    result = vecs.evaluate_counterparts(pairs, min_count=50)
    keep = (counts >= 50)
    keep[[1, 3, 5]] = True  # every pair's counterpart is a candidate
    expected = reference_pair_ranks(matrix, pairs, [pairs[1], pairs[0], pairs[0]], "3cosadd", keep)
    assert [(r.rank, r.control_rank) for r in result.results] == expected
    assert result.n_candidates == keep.sum()
    assert [r.counterpart_count for r in result.results] == [2, 2, int(counts[5])]


def test_an_untrained_counterpart_is_reported_not_ranked():
    matrix, counts = evaluation_example(3)
    counts[3] = 0
    vecs = MovieVectors(matrix, titles=[f"m{i}" for i in range(len(matrix))], counts=counts)
    pairs = [("m0", "m1"), ("m2", "m3"), ("m4", "m5")]
    result = vecs.evaluate_counterparts(pairs)
    assert [r.rank is None for r in result.results] == [False, True, False]
    assert result.results[1].control_rank is None
    assert "2 pairs" in result.summary() and "not ranked, never trained: m3" in result.summary()
    assert result.n_candidates == len(matrix) - 1
    assert all("m3" not in [t for t, _ in r.answers] for r in result.results)
    assert vecs.evaluate_counterparts(pairs, include_untrained=True).results[1].rank is not None


def test_evaluation_summary_counts_and_medians():
    matrix, counts = evaluation_example(4)
    vecs = MovieVectors(matrix, counts=counts)
    result = vecs.evaluate_counterparts([(0, 1), (2, 3), (4, 5), (6, 7), (8, 9)])
    ranks = np.array([r.rank for r in result.results])
    controls = np.array([r.control_rank for r in result.results])
    assert result.first == (ranks == 1).sum() and result.top5 == (ranks <= 5).sum()
    assert result.median_rank == np.median(ranks)
    assert result.control_first == (controls == 1).sum()
    assert result.control_top5 == (controls <= 5).sum()
    assert result.control_median_rank == np.median(controls)


def test_evaluation_prints_as_a_table_and_converts_to_a_frame():
    vecs = MovieVectors([[1, 0, 0], [1, 1, 0], [0, 0, 1], [0, 1, 1], [0.2, 0, 1]],
                        titles=["Ringu", "The Ring", "Yojimbo", "A Fistful of Dollars", "Heat"],
                        counts=[812, 640, 95, 120, 3000])
    result = vecs.evaluate_counterparts([("Yojimbo", "A Fistful of Dollars")],
                                        via=("Ringu", "The Ring"), method="offset")
    frame = result.to_frame()
    assert list(frame.columns) == ["original", "counterpart", "via", "rank", "control_rank",
                                   "original_count", "counterpart_count", "answers", "neighbours"]
    assert frame.iloc[0][["original", "counterpart", "via"]].tolist() == [
        "Yojimbo", "A Fistful of Dollars", "Ringu → The Ring"]
    assert frame.iloc[0][["rank", "control_rank", "original_count", "counterpart_count"]].tolist(
    ) == [1, 2, 95, 120]
    assert str(frame["rank"].dtype) == "Int64"
    assert frame.iloc[0]["answers"] == "A Fistful of Dollars (1.00); Heat (0.69)"
    text = str(result)
    assert text == repr(result)
    lines = text.splitlines()
    assert lines[0] == "counterparts by offset, ranked among 5 movies"
    assert lines[1].split() == ["original", "counterpart", "rank", "control_rank",
                                "counterpart_count", "answers"]
    assert lines[2].split()[:8] == ["Yojimbo", "A", "Fistful", "of", "Dollars", "1", "2", "120"]
    assert lines[-1] == result.summary() == (
        "offset: counterpart first for 1 of 1 pairs, in the top 5 for 1, median rank 1 "
        "(control: first 0, top 5 1, median rank 2)")


def test_evaluation_via_several_pairs_takes_the_first_that_shares_no_movie():
    matrix, counts = evaluation_example(5)
    vecs = MovieVectors(matrix)
    result = vecs.evaluate_counterparts([(0, 1), (2, 3)], via=[(0, 1), (4, 5)])
    assert [r.via for r in result.results] == [("movie 4", "movie 5"), ("movie 0", "movie 1")]


def test_evaluation_rejects_unusable_pairs():
    vecs = MovieVectors(np.eye(4))
    with pytest.raises(ValueError, match="no via pair shares no movie"):
        vecs.evaluate_counterparts([(0, 1)], via=(1, 2))
    with pytest.raises(ValueError, match="names one movie twice"):
        vecs.evaluate_counterparts([(0, 0)], via=(1, 2))
    with pytest.raises(ValueError, match="pair"):
        vecs.evaluate_counterparts([(0, 1, 2)], via=(1, 2))
    with pytest.raises(MovieLookupError):
        vecs.evaluate_counterparts([(0, 9)], via=(1, 2))


# -- export --------------------------------------------------------------------------------------

def export_example():
    return MovieVectors(np.array([[0.1, -2.5], [1 / 3, 7e-8], [123456.789, 0.0]]),
                        titles=["Ringu (Ring) (1998)", "Tab\tand\nnewline", None],
                        movie_ids=[7123, 5, 88], counts=[812, 0, 3], years=[0, 2004, 0])


def test_to_frame_has_the_catalogue_and_the_vectors():
    frame = export_example().to_frame()
    assert list(frame.columns) == ["title", "year", "id", "count", "v0", "v1"]
    assert frame["title"].tolist()[:2] == ["Ringu (Ring) (1998)", "Tab\tand\nnewline"]
    assert frame["title"].isna().tolist() == [False, False, True]
    assert frame["year"].tolist()[:2] == [1998, 2004] and frame["year"].isna().tolist()[2]
    assert frame["id"].tolist() == [7123, 5, 88] and frame["count"].tolist() == [812, 0, 3]
    np.testing.assert_array_equal(frame[["v0", "v1"]].to_numpy(dtype=np.float32),
                                  export_example().vectors)
    bare = MovieVectors(np.eye(2)).to_frame()
    assert list(bare.columns) == ["id", "v0", "v1"] and bare["id"].tolist() == [0, 1]


def test_save_projector_writes_the_projectors_two_files(tmp_path):
    vecs = export_example()
    vectors_path, metadata_path = vecs.save_projector(tmp_path / "new" / "projector")
    assert (vectors_path.name, metadata_path.name) == ("vectors.tsv", "metadata.tsv")
    # Read back by an independent parser: one line per movie, tab-separated, exact float32.
    rows = [line.split("\t") for line in vectors_path.read_text().splitlines()]
    np.testing.assert_array_equal(np.array(rows, dtype=np.float32), vecs.vectors)
    lines = metadata_path.read_text(encoding="utf-8").split("\n")
    assert lines == ["title\tyear\tid\tcount", "Ringu (Ring) (1998)\t1998\t7123\t812",
                     "Tab and newline\t2004\t5\t0", "\t\t88\t3", ""]
    assert sorted(p.name for p in vectors_path.parent.iterdir()) == ["metadata.tsv", "vectors.tsv"]


def test_save_projector_writes_one_column_without_a_header(tmp_path):
    _, metadata_path = MovieVectors(np.eye(3), movie_ids=[4, 5, 6]).save_projector(tmp_path)
    assert metadata_path.read_text() == "4\n5\n6\n"


def test_save_word2vec_writes_gensims_text_format(tmp_path):
    vecs = export_example()
    path, titles_path = vecs.save_word2vec(tmp_path / "movies.w2v.txt")
    assert titles_path == tmp_path / "movies.w2v.titles.tsv"
    # The format, as gensim's load_word2vec_format reads it: "count dim", then per line a key
    # and dim numbers separated by single spaces.
    header, *lines = path.read_text(encoding="utf-8").splitlines()
    assert header.split(" ") == ["3", "2"]
    keys, values = zip(*((line.split(" ")[0], line.split(" ")[1:]) for line in lines))
    assert keys == ("7123", "5", "88")
    np.testing.assert_array_equal(np.array(values, dtype=np.float32), vecs.vectors)
    assert titles_path.read_text(encoding="utf-8").splitlines() == [
        "id\ttitle\tyear\tcount", "7123\tRingu (Ring) (1998)\t1998\t812",
        "5\tTab and newline\t2004\t0", "88\t\t\t3"]


@pytest.mark.parametrize("save", ["save", "save_projector", "save_word2vec"])
def test_a_failed_write_leaves_the_old_files_and_no_temporaries(tmp_path, monkeypatch, save):
    vecs = export_example()
    target = tmp_path / ("out" if save == "save_projector" else "out.file")
    getattr(vecs, save)(target)
    before = {p: p.read_bytes() for p in tmp_path.rglob("*") if p.is_file()}

    def full_disk(*args, **kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(np, "savetxt", full_disk)
    monkeypatch.setattr(np, "savez", full_disk)
    with pytest.raises(OSError, match="No space"):
        getattr(MovieVectors(np.zeros((3, 2))), save)(target)
    after = {p: p.read_bytes() for p in tmp_path.rglob("*") if p.is_file()}
    assert after == before


# -- titles as MovieLens writes them, through MovieVectors ------------------------------------------

def movielens_vectors():
    with open(Path(__file__).parent / "fixtures" / "titles" / "movies.csv", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    rng = np.random.default_rng(0)
    return MovieVectors(rng.normal(size=(len(rows), 4)), titles=[r["title"] for r in rows],
                        movie_ids=[int(r["movieId"]) for r in rows])


@pytest.mark.parametrize("query", ["Shall We Dance?", "Dark Water", "Pulse", "Godzilla"])
def test_originals_and_remakes_are_never_picked_silently(query):
    vecs = movielens_vectors()
    with pytest.raises(AmbiguousTitleError) as error:
        vecs.most_similar(query)
    assert len(error.value.rows) >= 2
    assert all(vecs.name(row) in str(error.value) for row in error.value.rows)


def test_answers_on_a_movielens_catalogue_can_be_asked_back():
    vecs = movielens_vectors()
    answers = vecs.most_similar("Gojira", topn=len(vecs))
    assert len(answers) == len(vecs) - 1
    assert sorted(vecs.index(title) for title, _ in answers) == sorted(
        set(range(len(vecs))) - {vecs.index("Gojira")})
    assert vecs.counterpart("Seven Samurai", via=("Ringu", "The Ring"), topn=3)


def test_key_for_reads_typed_text_as_a_title_first_then_an_id():
    vecs = MovieVectors(np.eye(4), titles=["1984", "1984", "Heat", "Ran"],
                        years=[1956, 1984, 1995, 1985], movie_ids=[7, 8, 1984, 3])
    with pytest.raises(AmbiguousTitleError):
        vecs.key_for("1984")  # two films of that name: never silently movie id 1984
    assert vecs.key_for("1984 (1956)") == "1984 (1956)" and vecs.key_for(" 3 ") == 3
    with pytest.raises(MovieLookupError, match="no movie titled '42', nor with id 42"):
        vecs.key_for("42")
    with pytest.raises(MovieLookupError, match="no movie titled 'Yojimbo'"):
        vecs.key_for("Yojimbo")
