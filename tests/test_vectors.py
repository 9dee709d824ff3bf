"""MovieVectors: neighbours and offsets against a float64 brute force, title lookup, files."""

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from numpy_movievec import archive
from numpy_movievec.vectors import COSMUL_EPSILON, MovieLookupError, MovieVectors, top_k

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
    with pytest.raises((ValueError, TypeError)):  # which one is RatingNet.load's to decide
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
