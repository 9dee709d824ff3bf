"""checks.py: every check accepts exactly what it promises and names what it refuses."""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from numpy_movievec import checks
from numpy_movievec.checks import (BadValueError, DivergedError, FileInTheWayError,
                                   MissingFileError, MovievecError, NotEnoughMemoryError,
                                   SaveError, UnknownKeyError)


@pytest.mark.parametrize("error, standard", [
    (BadValueError, ValueError), (UnknownKeyError, KeyError),
    (MissingFileError, FileNotFoundError), (FileInTheWayError, FileExistsError),
    (NotEnoughMemoryError, MemoryError), (SaveError, OSError),
    (DivergedError, FloatingPointError),
])
def test_each_deliberate_error_is_also_the_standard_type(error, standard):
    assert issubclass(error, MovievecError) and issubclass(error, standard)
    assert str(error("the message")) == "the message"  # KeyError would add quotes


@given(st.one_of(st.integers(-5, 5), st.floats(allow_nan=True), st.booleans(), st.text(max_size=3),
                 st.none()))
def test_whole_number_accepts_exactly_the_ints_at_or_above_the_minimum(value):
    is_whole = isinstance(value, int) and not isinstance(value, bool) and value >= 1
    if is_whole:
        assert checks.positive_int(value, "n") == value
    else:
        with pytest.raises(BadValueError, match="n must be a whole number >= 1, got "):
            checks.positive_int(value, "n")


@given(st.integers(-2**70, 2**70))
def test_an_id_is_kept_exactly_or_refused_never_wrapped(value):
    for dtype in (np.uint64, np.float64, object):
        try:
            array = np.array([value], dtype=dtype)
        except OverflowError:
            continue
        if dtype is object:
            array = array.astype(np.float64)
        try:
            ids = checks.original_ids(array, "user")
        except BadValueError as error:
            assert str(error).startswith("row 0: user id ")
            assert not (-2**53 <= value <= 2**53 or dtype is np.uint64 and value < 2**63)
        else:
            assert ids.dtype == np.int64 and int(ids[0]) == value


@given(st.lists(st.one_of(st.integers(-3, 8), st.floats(-1, 7), st.just(float("nan"))),
                min_size=1, max_size=20))
def test_star_ratings_are_in_range_or_the_first_bad_one_is_named(values):
    as_floats = any(isinstance(v, float) for v in values)
    array = np.array(values, dtype=np.float64 if as_floats else np.int64)
    low, high = (0.5, 5) if as_floats else (1, 5)
    bad = [i for i, v in enumerate(array) if not low <= v <= high]
    if bad:
        with pytest.raises(BadValueError, match=f"^row {bad[0]}: rating "):
            checks.star_ratings(array)
    else:
        stars = checks.star_ratings(array)
        whole = np.all(array == np.round(array))
        assert stars.dtype == (np.int8 if whole else np.float32)
        np.testing.assert_array_equal(stars, array.astype(stars.dtype))


@pytest.mark.parametrize("call, message", [
    (lambda: checks.dense_indices([0, 3], "movie", 3), "row 1: movie index 3 is outside 0..2"),
    (lambda: checks.dense_indices([[0]], "movie"), "movie indices must be one-dimensional"),
    (lambda: checks.dense_indices([0], "movie", 2**31), r"n_movies must be below 2\*\*31"),
    (lambda: checks.years([1961, 99999], 2), "row 1: year 99999 is not 0 .unknown. or within"),
    (lambda: checks.years([1961], 2), "1 years for 2 movies"),
    (lambda: checks.unique_ids(np.array([3, 1, 3]), "movie_ids"), "holds id 3 more than once"),
    (lambda: checks.fraction(1.5, "valid_fraction"), "valid_fraction must be a number within"),
    (lambda: checks.one_of("gpu", ("numba", "numpy"), "engine"), "engine must be one of "
                                                                  "'numba', 'numpy'; got 'gpu'"),
    (lambda: checks.finite_numbers([1.0], "rating", 2), "expected 2 ratings, got 1"),
])
def test_bad_values_name_what_is_wrong(call, message):
    with pytest.raises(BadValueError, match=message):
        call()


def test_affordable_compares_with_the_machine_and_says_how_much(monkeypatch):
    monkeypatch.setattr(checks, "physical_memory", lambda: 8 * 10**9)
    checks.affordable(8 * 10**9, "exactly all of it")
    with pytest.raises(NotEnoughMemoryError, match=r"^a table needs 8.0 GB of memory; this "
                                                   r"machine has 8.0 GB of RAM; use less$"):
        checks.affordable(8 * 10**9 + 1, "a table", "use less")
    monkeypatch.setattr(checks, "physical_memory", lambda: None)  # a system that does not say
    checks.affordable(10**30, "anything")


@pytest.mark.parametrize("n, text", [(0, "0 B"), (999, "999 B"), (1000, "1.0 kB"),
                                     (57_228_000, "57.2 MB"), (1.6e14, "160.0 TB")])
def test_human_bytes(n, text):
    assert checks.human_bytes(n) == text
