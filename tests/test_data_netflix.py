"""Netflix Prize loader and writer, on small files written in each exact layout."""

import tempfile
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from numpy_movievec.data import load_netflix, read_movie_titles, synthetic, write_netflix

TITLES = (  # Latin-1, commas in titles, a NULL year, a movie nobody rated, a blank last line
    "1,2003,Dinosaur Planet\n"
    "2,NULL,Café, Noir: Amélie's Story\n"
    "3,1997,Character\n"
    "\n"
)
MOVIE_1 = "1:\n6,3,2005-09-06\n2649429,5,2004-02-02\n"
MOVIE_2 = "2:\n6,4,2005-01-01\n"


def write(path: Path, content: str, windows=False):
    path.parent.mkdir(parents=True, exist_ok=True)
    if windows:
        content = content.replace("\n", "\r\n")
    path.write_bytes(content.encode("latin-1"))
    return path


def check_fixture_ratings(r):
    assert r.movie_ids.tolist() == [1, 2, 3]
    assert r.user_ids.tolist() == [6, 2649429]
    assert r.movie.tolist() == [0, 0, 1] and r.user.tolist() == [0, 1, 0]
    assert r.rating.tolist() == [3, 5, 4] and r.rating.dtype == np.int8
    assert r.titles == ["Dinosaur Planet", "Café, Noir: Amélie's Story", "Character"]
    assert r.years.tolist() == [2003, 0, 1997]
    assert r.movie_counts.tolist() == [2, 1, 0]


@pytest.mark.parametrize("windows", [False, True])
def test_training_set_layout(tmp_path, windows):
    write(tmp_path / "training_set" / "mv_0000001.txt", MOVIE_1, windows)
    write(tmp_path / "training_set" / "mv_0000002.txt", MOVIE_2 + "\n\n", windows)
    write(tmp_path / "movie_titles.txt", TITLES, windows)
    check_fixture_ratings(load_netflix(tmp_path))
    check_fixture_ratings(load_netflix(tmp_path / "training_set"))  # titles one level up


@pytest.mark.parametrize("windows", [False, True])
def test_combined_layout_in_numeric_file_order(tmp_path, windows):
    write(tmp_path / "combined_data_10.txt", "3:\n", windows)  # a block with no rows
    write(tmp_path / "combined_data_2.txt", MOVIE_2, windows)
    write(tmp_path / "combined_data_1.txt", MOVIE_1 + "\n", windows)
    write(tmp_path / "movie_titles.csv", TITLES, windows)
    check_fixture_ratings(load_netflix(tmp_path))


def test_one_combined_file_without_titles(tmp_path):
    r = load_netflix(write(tmp_path / "combined_data_1.txt", MOVIE_1 + MOVIE_2))
    assert r.titles == [None, None] and r.years.tolist() == [0, 0] and len(r) == 3


def test_probe_pairs_become_the_validation_set(tmp_path):
    write(tmp_path / "combined_data_1.txt", MOVIE_1 + MOVIE_2)
    write(tmp_path / "movie_titles.csv", TITLES)
    write(tmp_path / "probe.txt", "2:\n6\n1:\r\n2649429\r\n")
    train, probe = load_netflix(tmp_path, with_probe=True)
    assert (train.rating.tolist(), probe.rating.tolist()) == ([3], [5, 4])
    assert probe.movie_ids[probe.movie].tolist() == [1, 2]
    assert probe.user_ids[probe.user].tolist() == [2649429, 6]
    assert train.n_users == probe.n_users == 2 and train.titles == probe.titles


def test_titles_file_is_split_on_the_first_two_commas_only(tmp_path):
    path = write(tmp_path / "movie_titles.txt", "7,1999,Crouching Tiger, Hidden Dragon, The\n")
    assert read_movie_titles(path) == {7: (1999, "Crouching Tiger, Hidden Dragon, The")}


# ---------------------------------------------------------------------- bad input

@pytest.mark.parametrize("content, line, problem", [
    ("1:\n6,3,2005-09-06\n6;4;2005-09-06\n", 3, "malformed line"),
    ("1:\n6,3,2005-09-06\n7,3\n", 3, "malformed line"),
    ("1:\n6,3,05-09-06\n", 2, "malformed line"),
    ("1:\n6,3.5,2005-09-06\n", 2, "malformed line"),
    ("1:\n6,3,2005-09-06\n8,6,2005-09-06\n", 3, "rating outside 1..5"),
    ("1:\n6,0,2005-09-06\n", 2, "rating outside 1..5"),
    ("\n6,3,2005-09-06\n", 2, "no 'MovieID:' header"),
    ("1:\r\nabc\r\n", 2, "malformed line"),
])
def test_bad_rating_lines_name_file_and_line(tmp_path, content, line, problem):
    write(tmp_path / "combined_data_1.txt", content)
    with pytest.raises(ValueError, match=rf"combined_data_1.txt:{line}: {problem}"):
        load_netflix(tmp_path)


def test_each_movie_file_must_start_with_its_header(tmp_path):
    write(tmp_path / "training_set" / "mv_0000001.txt", MOVIE_1)
    write(tmp_path / "training_set" / "mv_0000002.txt", "6,4,2005-01-01\n")
    with pytest.raises(ValueError, match="mv_0000002.txt:1: no 'MovieID:' header"):
        load_netflix(tmp_path)


@pytest.mark.parametrize("probe, line, problem", [
    ("1:\n6\n99:\n6\n", 3, "movie 99 is not in the ratings"),
    ("1:\n6\n2:\n12345\n", 4, "customer 12345 is not in the ratings"),
    ("6\n", 1, "no 'MovieID:' header"),
])
def test_bad_probe_lines_name_file_and_line(tmp_path, probe, line, problem):
    write(tmp_path / "combined_data_1.txt", MOVIE_1 + MOVIE_2)
    write(tmp_path / "probe.txt", probe)
    with pytest.raises(ValueError, match=rf"probe.txt:{line}: {problem}"):
        load_netflix(tmp_path, with_probe=True)


def test_probe_pair_that_was_never_rated(tmp_path):
    write(tmp_path / "combined_data_1.txt", MOVIE_1 + MOVIE_2)
    write(tmp_path / "probe.txt", "2:\n2649429\n")
    with pytest.raises(ValueError, match="probe.txt:2: pair .movie id 2, user id 2649429. is not"):
        load_netflix(tmp_path, with_probe=True)


def test_missing_things_raise_file_not_found(tmp_path):
    with pytest.raises(FileNotFoundError, match="no Netflix Prize ratings here"):
        load_netflix(tmp_path)
    with pytest.raises(FileNotFoundError, match="no such file"):
        load_netflix(tmp_path / "nowhere")
    write(tmp_path / "combined_data_1.txt", MOVIE_1)
    with pytest.raises(FileNotFoundError, match="no probe.txt"):
        load_netflix(tmp_path, with_probe=True)


@pytest.mark.parametrize("line", ["1,NULL", "x,1999,Title", "1,19x9,Title"])
def test_bad_titles_line_names_file_and_line(tmp_path, line):
    write(tmp_path / "combined_data_1.txt", MOVIE_1)
    write(tmp_path / "movie_titles.csv", "2,2000,Fine\n" + line + "\n")
    with pytest.raises(ValueError, match="movie_titles.csv:2: expected 'MovieID,YearOfRelease"):
        load_netflix(tmp_path)


@settings(max_examples=150, deadline=None)
@given(st.text(alphabet="0123456789:,-\r\n ", max_size=60))
def test_arbitrary_text_loads_or_raises_an_error_naming_the_file(content):
    with tempfile.TemporaryDirectory() as folder:
        path = write(Path(folder) / "combined_data_1.txt", "1:\n6,3,2005-09-06\n" + content)
        try:
            r = load_netflix(folder)
        except ValueError as error:
            assert str(error).startswith(f"{path}:")
        else:
            assert len(r) >= 1 and set(r.rating.tolist()) <= {1, 2, 3, 4, 5}


@settings(max_examples=30, deadline=None)
@given(st.lists(st.tuples(st.integers(1, 10**6),
                          st.lists(st.tuples(st.integers(1, 10**8), st.integers(1, 5)),
                                   max_size=8, unique_by=lambda row: row[0])),
                min_size=1, max_size=6, unique_by=lambda block: block[0])
       .filter(lambda blocks: any(rows for _, rows in blocks)))
def test_any_valid_blocks_parse_to_their_rows(blocks):
    content = "".join(f"{movie}:\n" + "".join(f"{user},{stars},2005-01-31\n"
                                              for user, stars in rows)
                      for movie, rows in blocks)
    expected = [(movie, user, stars) for movie, rows in blocks for user, stars in rows]
    with tempfile.TemporaryDirectory() as folder:
        write(Path(folder) / "combined_data_1.txt", content)
        r = load_netflix(folder)
    got = list(zip(r.movie_ids[r.movie].tolist(), r.user_ids[r.user].tolist(),
                   r.rating.tolist()))
    assert got == expected


# ---------------------------------------------------------------------- writing

@pytest.mark.parametrize("layout", ["combined", "training_set"])
def test_round_trip_synthetic_to_files_to_the_same_ratings(tmp_path, layout):
    r = synthetic(20_000, seed=7)
    rest, valid = r.split(0.1, seed=1)
    folder = write_netflix(r, tmp_path / "netflix", layout=layout, probe=valid)
    back = load_netflix(folder)
    for name in ("movie", "user", "rating", "movie_ids", "user_ids", "years"):
        np.testing.assert_array_equal(getattr(back, name), getattr(r, name), err_msg=name)
    assert back.titles == r.titles
    assert any("," in t for t in r.titles) and any("é" in t for t in r.titles)
    assert 0 in r.years  # a NULL year made the trip too
    train, probe = load_netflix(folder, with_probe=True)
    np.testing.assert_array_equal(train.rating, rest.rating)
    np.testing.assert_array_equal(np.sort(probe.movie * r.n_users + probe.user),
                                  np.sort(valid.movie * r.n_users + valid.user))


def test_written_files_follow_the_layout(tmp_path):
    r = synthetic(2_000, seed=0)
    folder = write_netflix(r, tmp_path / "a", layout="training_set")
    files = sorted(p.name for p in (folder / "training_set").iterdir())
    assert files[0] == "mv_0000001.txt" and len(files) == r.n_movies
    first = (folder / "training_set" / "mv_0000001.txt").read_text("latin-1").splitlines()
    assert first[0] == "1:" and len(first[1].split(",")) == 3
    folder = write_netflix(r, tmp_path / "b", layout="combined", n_files=3)
    assert sorted(p.name for p in folder.iterdir()) == [
        "combined_data_1.txt", "combined_data_2.txt", "combined_data_3.txt", "movie_titles.csv"]


def test_writer_refuses_what_the_layout_cannot_hold_and_leaves_nothing(tmp_path):
    half_stars = synthetic(2_000, seed=0)
    half_stars.rating = half_stars.rating - np.float32(0.5)
    with pytest.raises(ValueError, match="whole stars"):
        write_netflix(half_stars, tmp_path / "out")
    accented = synthetic(2_000, seed=0)
    accented.titles = accented.titles[:-1] + ["Tōkyō Story"]
    with pytest.raises(ValueError, match="Latin-1 cannot hold"):
        write_netflix(accented, tmp_path / "out")
    assert list(tmp_path.iterdir()) == []
    write(tmp_path / "full" / "x.txt", "mine")
    with pytest.raises(FileExistsError):
        write_netflix(synthetic(2_000), tmp_path / "full")
