"""Ratings: validation, id remapping, splits and the memory-mapped store."""

import json
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from numpy_movievec.data import Ratings, dense_ids


def small_ratings(n=10, seed=0, half_stars=False):
    rng = np.random.default_rng(seed)
    stars = rng.integers(1, 6, n)
    rating = stars - 0.5 * (rng.random(n) < 0.5) if half_stars else stars
    return Ratings(rng.integers(0, 4, n), rng.integers(0, 5, n), rating, n_movies=4, n_users=5,
                   titles=["Ringu", None, "Café, Noir", "Yojimbo"], years=[1998, 0, 2001, 1961],
                   movie_ids=[10, 20, 30, 40], user_ids=[6, 7, 8, 9, 2649429])


def assert_same_ratings(a, b):
    for name in ("movie", "user", "rating", "movie_ids", "user_ids", "years"):
        np.testing.assert_array_equal(getattr(a, name), getattr(b, name), err_msg=name)
        assert getattr(a, name).dtype == getattr(b, name).dtype, name
    assert (a.n_movies, a.n_users, a.titles) == (b.n_movies, b.n_users, b.titles)


# ---------------------------------------------------------------------- building

def test_columns_get_compact_dtypes_and_defaults():
    r = Ratings(np.array([0, 2], np.int64), [1, 0], [4, 5])
    assert (r.movie.dtype, r.user.dtype, r.rating.dtype) == (np.int32, np.int32, np.int8)
    assert (r.n_movies, r.n_users, len(r)) == (3, 2, 2)
    assert r.titles == [None, None, None] and r.years is None
    np.testing.assert_array_equal(r.movie_ids, [0, 1, 2])
    np.testing.assert_array_equal(r.movie_counts, [1, 0, 1])
    assert repr(r) == "Ratings(2 ratings of 3 movies by 2 users, rating int8, source='arrays')"


def test_half_stars_stay_float_and_whole_float_stars_become_int8():
    assert Ratings([0, 0], [0, 1], [0.5, 4.5]).rating.dtype == np.float32
    assert Ratings([0, 0], [0, 1], [1.0, 4.0]).rating.dtype == np.int8


@pytest.mark.parametrize("movie, user, rating, kwargs, message", [
    ([0, 1], [0], [3, 3], {}, "differ in length"),
    ([0, 5], [0, 0], [3, 3], {"n_movies": 3}, "row 1: movie index 5 is outside 0..2"),
    ([0, -1], [0, 0], [3, 3], {}, "row 1: movie index -1 is outside"),
    ([0, 0], [0, 0], [3, 6], {}, "row 1: rating 6 is outside 1..5"),
    ([0, 0], [0, 0], [0, 3], {}, "row 0: rating 0 is outside"),
    ([0, 0], [0, 0], [3.0, np.nan], {}, "row 1: rating nan is outside 0.5..5"),
    ([0, 0], [0, 0], [0.25, 3.0], {}, "row 0: rating 0.25 is outside 0.5..5"),
    ([0.0, 1.0], [0, 0], [3, 3], {}, "must be integers"),
    ([0, 1], [0, 0], [3, 3], {"titles": ["only one"]}, "1 titles for 2 movies"),
    ([0, 1], [0, 0], [3, 3], {"movie_ids": [5, 5]}, "movie_ids holds id 5 more than once"),
])
def test_bad_columns_raise_value_error_naming_the_value(movie, user, rating, kwargs, message):
    with pytest.raises(ValueError, match=message):
        Ratings(movie, user, rating, **kwargs)


def test_from_frame_remaps_sparse_ids_and_maps_titles():
    frame = pd.DataFrame({"m": [30, 10, 30], "u": [2649429, 7, 7], "stars": [4, 5, 1]})
    r = Ratings.from_frame(frame, movie="m", user="u", rating="stars",
                           titles=pd.Series({30: "Ringu", 10: "Yojimbo"}))
    assert r.movie.tolist() == [1, 0, 1] and r.user.tolist() == [1, 0, 0]
    assert r.movie_ids.tolist() == [10, 30] and r.user_ids.tolist() == [7, 2649429]
    assert r.titles == ["Yojimbo", "Ringu"]
    assert r.movie_index([30]).tolist() == [1]
    with pytest.raises(KeyError, match="unknown user id 8"):
        r.user_index([7, 8])
    with pytest.raises(KeyError, match="'movie' not in the frame"):
        Ratings.from_frame(frame)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.one_of(st.integers(0, 3_000_000), st.integers(-2**62, 2**62)), max_size=50))
def test_dense_ids_round_trip_to_the_original_ids(raw):
    raw = np.array(raw, dtype=np.int64)
    index, ids = dense_ids(raw)
    assert index.dtype == np.int32 and ids.dtype == np.int64
    np.testing.assert_array_equal(ids[index], raw)
    np.testing.assert_array_equal(ids, np.unique(raw))


def test_dense_ids_can_overwrite_an_int32_column():
    raw = np.array([2649429, 6, 42, 6], np.int32)
    index, ids = dense_ids(raw, overwrite=True)
    assert index is raw and raw.tolist() == [2, 0, 1, 0] and ids.tolist() == [6, 42, 2649429]


# ---------------------------------------------------------------------- splitting

@settings(max_examples=40, deadline=None)
@given(n=st.integers(0, 300), fraction=st.floats(0, 1), seed=st.integers(0, 2**32 - 1))
def test_split_is_disjoint_complete_sized_and_deterministic(n, fraction, seed):
    rng = np.random.default_rng(n)
    r = Ratings(rng.integers(0, 7, n), np.arange(n), rng.integers(1, 6, n), n_movies=7,
                n_users=max(n, 1))
    train, valid = r.split(fraction, seed)
    assert len(valid) == round(fraction * n) and len(train) + len(valid) == n
    rows = np.concatenate([train.user, valid.user])  # user == row number here
    np.testing.assert_array_equal(np.sort(rows), np.arange(n))
    assert np.all(np.diff(train.user) > 0) and np.all(np.diff(valid.user) > 0)  # order kept
    again_train, again_valid = r.split(fraction, seed)
    np.testing.assert_array_equal(again_valid.user, valid.user)
    assert (train.n_movies, train.n_users) == (valid.n_movies, valid.n_users) == (7, r.n_users)


def test_split_rejects_a_fraction_outside_0_1():
    with pytest.raises(ValueError, match="valid_fraction"):
        small_ratings().split(1.5)


def test_split_pairs_holds_out_exactly_the_listed_pairs():
    r = Ratings([0, 0, 1, 1, 2], [0, 1, 0, 1, 1], [1, 2, 3, 4, 5], user_ids=[6, 2649429])
    rest, held = r.split_pairs(movie=[1, 0], user=[1, 0])
    assert held.rating.tolist() == [1, 4] and rest.rating.tolist() == [2, 3, 5]
    with pytest.raises(KeyError, match="movie id 2, user id 6"):
        r.split_pairs(movie=[2], user=[0])


# ---------------------------------------------------------------------- the store

@settings(max_examples=25, deadline=None)
@given(n=st.integers(0, 200), seed=st.integers(0, 1000), half_stars=st.booleans(),
       mmap=st.booleans())
def test_store_round_trip_is_exact(n, seed, half_stars, mmap):
    r = small_ratings(n, seed, half_stars)
    with tempfile.TemporaryDirectory() as folder:
        back = Ratings.load(r.save(Path(folder) / "store"), mmap=mmap)
        assert_same_ratings(r, back)
        assert isinstance(back.movie, np.memmap) == mmap
        assert back.source == r.source
        del back  # release the memory maps before the folder goes


def test_store_files_are_plain_npy_and_json():
    with tempfile.TemporaryDirectory() as folder:
        path = small_ratings().save(Path(folder) / "store")
        header = json.loads((path / "header.json").read_text())
        assert header["kind"] == "ratings" and header["format_version"] == 1
        assert header["n_ratings"] == 10 and header["n_users"] == 5
        titles = np.load(path / "titles.npy", allow_pickle=False)  # no object arrays
        assert titles.dtype.kind == "U"
        assert sorted(p.name for p in Path(folder).iterdir()) == ["store"]  # no temp left


def test_memory_mapped_columns_are_read_only():
    with tempfile.TemporaryDirectory() as folder:
        r = Ratings.load(small_ratings().save(Path(folder) / "s"))
        with pytest.raises(ValueError):
            r.rating[0] = 1
        train, valid = r.split(0.5)
        assert len(train) == len(valid) == 5
        del r, train, valid


def test_saving_over_a_store_replaces_it_and_other_things_are_refused(tmp_path):
    small_ratings(10).save(tmp_path / "store")
    small_ratings(3).save(tmp_path / "store")
    assert len(Ratings.load(tmp_path / "store")) == 3
    (tmp_path / "notes").mkdir()
    (tmp_path / "notes" / "keep.txt").write_text("mine")
    with pytest.raises(FileExistsError, match="notes"):
        small_ratings().save(tmp_path / "notes")
    assert (tmp_path / "notes" / "keep.txt").read_text() == "mine"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["notes", "store"]


def test_a_failed_save_leaves_nothing_behind(tmp_path, monkeypatch):
    def fail(*args, **kwargs):
        raise OSError("disk full")
    monkeypatch.setattr(np, "save", fail)
    with pytest.raises(OSError, match="disk full"):
        small_ratings().save(tmp_path / "store")
    assert list(tmp_path.iterdir()) == []


def test_loading_something_else_names_the_problem(tmp_path):
    with pytest.raises(FileNotFoundError, match="not a ratings store"):
        Ratings.load(tmp_path)
    path = small_ratings().save(tmp_path / "store")
    header = json.loads((path / "header.json").read_text())
    (path / "header.json").write_text(json.dumps({**header, "format_version": 99}))
    with pytest.raises(ValueError, match="format version 99 is newer"):
        Ratings.load(path)
    (path / "header.json").write_text(json.dumps({**header, "n_ratings": 11}))
    with pytest.raises(ValueError, match=r"movie.npy: shape \(10,\), the header says \(11,\) \(n_ratings\)"):
        Ratings.load(path)


# ---------------------------------------------------------------------- repeated pairs

@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 3), st.integers(0, 3)), max_size=40),
       st.sampled_from(["first", "last"]), st.booleans())
def test_repeated_rows_match_a_brute_force(pairs, keep, grouped):
    if grouped:  # Netflix-like: each movie's rows together (the walk then needs no sort)
        pairs = sorted(pairs, key=lambda pair: pair[0])
    movie = np.array([m for m, _ in pairs], dtype=np.int32)
    user = np.array([u for _, u in pairs], dtype=np.int32)
    r = Ratings(movie, user, np.full(len(pairs), 3), n_movies=4, n_users=4)
    rows = range(len(pairs)) if keep == "first" else reversed(range(len(pairs)))
    seen, expected = set(), np.zeros(len(pairs), bool)
    for row in rows:
        expected[row] = pairs[row] in seen
        seen.add(pairs[row])
    np.testing.assert_array_equal(r.repeated_rows(keep), expected)


def test_from_ids_refuses_repeats_unless_told_what_to_keep():
    movie, user, stars = [1, 2, 1], [10, 10, 10], [4, 5, 2]
    with pytest.raises(ValueError, match=r"^row 2: pair \(movie id 1, user id 10\) was rated "
                                         r"before, at row 0 \(repeated ratings in all: 1\)"):
        Ratings.from_ids(movie, user, stars)
    assert Ratings.from_ids(movie, user, stars, duplicates="first").rating.tolist() == [4, 5]
    assert Ratings.from_ids(movie, user, stars, duplicates="last").rating.tolist() == [5, 2]
    kept = Ratings.from_ids(movie, user, stars, duplicates="all")
    assert kept.rating.tolist() == [4, 5, 2] and kept.duplicates == {"repeated": 1, "kept": "all"}
    with pytest.raises(ValueError, match="duplicates must be one of 'error', 'first'"):
        Ratings.from_ids(movie, user, stars, duplicates="newest")


def test_split_pairs_refuses_a_pair_listed_twice():
    r = Ratings([0, 0, 1], [0, 1, 0], [5, 3, 4], movie_ids=[7, 8], user_ids=[6, 9])
    with pytest.raises(ValueError, match=r"row 2: pair \(movie id 7, user id 9\) is listed "
                                         r"twice \(also at row 0\)"):
        r.split_pairs(movie=[0, 1, 0], user=[1, 0, 1])


# ---------------------------------------------------------------------- checking and describing

def test_check_values_names_the_store_file_and_row(tmp_path):
    path = small_ratings(10).save(tmp_path / "store")
    user = np.load(path / "user.npy")
    user[4] = 5  # one past the last user
    np.save(path / "user.npy", user)
    r = Ratings.load(path)  # opening reads no values
    with pytest.raises(ValueError, match=r"store/user.npy, row 4: user index 5 is outside 0..4"):
        r.check_values()
    with pytest.raises(ValueError, match=r"^row 4: user index 5"):
        r.rows(np.arange(10)).check_values()  # a subset names rows, not the store's file
    del r


def test_describe_says_what_the_ratings_are(tmp_path):
    r = Ratings([0, 1, 1, 1], [0, 0, 1, 2], [5, 3, 4, 4], titles=["Ringu", None])
    facts = r.describe()
    assert facts == {
        "kind": "ratings", "path": None, "source": "arrays", "ratings": 4, "movies": 2,
        "users": 3, "movies_with_titles": 1,
        "ratings_per_movie": {"min": 1, "median": 2.0, "max": 3},
        "ratings_per_user": {"min": 1, "median": 1.0, "max": 2},
        "mean_rating": 4.0, "repeated_pairs": None,
        "rating_histogram": {"3": 1, "4": 2, "5": 1}}
    loaded = Ratings.load(r.save(tmp_path / "s")).describe()
    assert loaded["kind"] == "ratings store" and loaded["path"] == str(tmp_path / "s")


def test_loading_into_memory_checks_it_fits(tmp_path, monkeypatch):
    path = small_ratings(10).save(tmp_path / "store")
    monkeypatch.setattr("numpy_movievec.checks.physical_memory", lambda: 100)
    with pytest.raises(MemoryError, match="reading .*store into memory needs .* open it with "
                                          "mmap=True"):
        Ratings.load(path, mmap=False)
    assert len(Ratings.load(path, mmap=True)) == 10
