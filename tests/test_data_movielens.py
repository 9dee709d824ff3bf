"""MovieLens loader, on small files written in each release's exact format."""

from pathlib import Path

import numpy as np
import pytest

from numpy_movievec.data import Ratings, load_movielens


def write(path: Path, content: str, encoding="latin-1", windows=False):
    if windows:
        content = content.replace("\n", "\r\n")
    path.write_bytes(content.encode(encoding))


def ml_100k(folder: Path, windows=False):
    write(folder / "u.data", "196\t242\t3\t881250949\n186\t302\t3\t891717742\n"
                             "22\t377\t1\t878887116\n196\t377\t5\t881250950\n\n", windows=windows)
    write(folder / "u.item", "242|Kolya (1996)|24-Jan-1997||http://us.imdb.com/M/title?Kolya|0|1\n"
                             "302|L.A. Confidential (1997)|01-Jan-1997||http://x|0|0\n"
                             "377|Misérables, Les (1995)|01-Jan-1995||http://x|0|0\n",
          windows=windows)
    return folder


@pytest.mark.parametrize("windows", [False, True])
def test_ml_100k(tmp_path, windows):
    r = load_movielens(ml_100k(tmp_path, windows))
    assert r.movie_ids.tolist() == [242, 302, 377] and r.user_ids.tolist() == [22, 186, 196]
    assert r.movie.tolist() == [0, 1, 2, 2] and r.user.tolist() == [2, 1, 0, 2]
    assert r.rating.tolist() == [3, 3, 1, 5] and r.rating.dtype == np.int8
    assert r.titles == ["Kolya (1996)", "L.A. Confidential (1997)", "Misérables, Les (1995)"]
    assert r.years.tolist() == [1996, 1997, 1995] and r.years.dtype == np.int16
    assert r.source.startswith("movielens:")


def test_ml_1m(tmp_path):
    write(tmp_path / "ratings.dat", "1::1193::5::978300760\n1::661::3::978302109\n"
                                    "6040::1193::4::978298413\n")
    write(tmp_path / "movies.dat", "1193::One Flew Over the Cuckoo's Nest (1975)::Drama\n"
                                   "661::Misérables, Les (1995)::Drama|Musical\n")
    r = load_movielens(tmp_path)
    assert r.movie_ids.tolist() == [661, 1193] and r.user_ids.tolist() == [1, 6040]
    assert r.rating.tolist() == [5, 3, 4] and r.rating.dtype == np.int8
    assert r.titles == ["Misérables, Les (1995)", "One Flew Over the Cuckoo's Nest (1975)"]
    assert r.years.tolist() == [1995, 1975]


def test_ml_latest_half_stars_and_quoted_titles(tmp_path):
    write(tmp_path / "ratings.csv", "userId,movieId,rating,timestamp\n1,1,4.0,964982703\n"
                                    "1,3,4.5,964981247\n6,1,0.5,964982224\n", encoding="utf-8")
    write(tmp_path / "movies.csv", 'movieId,title,genres\n1,Toy Story (1995),Adventure|Animation\n'
                                   '3,"Misérables, Les (1995)",Drama\n', encoding="utf-8")
    r = load_movielens(tmp_path)
    assert r.rating.dtype == np.float32 and r.rating.tolist() == [4.0, 4.5, 0.5]
    assert r.titles == ["Toy Story (1995)", "Misérables, Les (1995)"]


def test_whole_star_csv_is_stored_as_int8_and_titles_are_optional(tmp_path):
    write(tmp_path / "ratings.csv", "userId,movieId,rating,timestamp\n1,1,4.0,1\n2,1,3.0,2\n")
    r = load_movielens(tmp_path)
    assert r.rating.dtype == np.int8 and r.titles == [None] and r.years is None


def test_years_come_from_the_titles_and_survive_the_store(tmp_path):
    write(tmp_path / "ratings.csv", "userId,movieId,rating,timestamp\n1,1,4,1\n1,2,3,1\n"
                                    "2,3,5,1\n2,4,1,1\n", encoding="utf-8")
    write(tmp_path / "movies.csv", "movieId,title,genres\n"
                                   '1,"Fistful of Dollars, A (Per un pugno di dollari) (1964)",W\n'
                                   "2,Yojimbo,Drama\n3,Sherlock (2010-2017),Crime\n",
          encoding="utf-8")
    r = load_movielens(tmp_path)  # movie 4 has no title: year unknown too
    assert r.years.tolist() == [1964, 0, 2010, 0]
    r.save(tmp_path / "store")
    assert Ratings.load(tmp_path / "store").years.tolist() == [1964, 0, 2010, 0]


@pytest.mark.parametrize("content, message", [
    ("userId,movieId,rating,timestamp\n1,1,4.0,1\n1,2,x,1\n", r"ratings.csv:3: rating 'x' is not"),
    ("userId,movieId,rating,timestamp\n1,1,4.0,1\n1,2,7.0,1\n", r"ratings.csv:3: rating 7.0 is outside 0.5..5"),
    ("userId,movieId,rating,timestamp\n1,1,4.0,1\n1,2,0.0,1\n", r"ratings.csv:3: rating 0.0 is outside"),
    ("userId,movieId,rating,timestamp\n1,1,4.0,1\n1.5,2,3.0,1\n", r"ratings.csv:3: user id 1.5 is not a whole number"),
    ("userId,movieId,rating,timestamp\n1,1,4.0,1\n2,2\n", r"ratings.csv:3: rating '' is not a number"),
    ("userId,movieId,rating,timestamp\n1,1,4.0,1\n2,2,3.0,1,9,9\n", r"ratings.csv:3: 6 fields, but the lines above have 4"),
])
def test_bad_csv_lines_name_file_and_line(tmp_path, content, message):
    write(tmp_path / "ratings.csv", content)
    with pytest.raises(ValueError, match=message):
        load_movielens(tmp_path)


def test_bad_dat_and_u_data_lines_name_file_and_line(tmp_path):
    write(tmp_path / "ratings.dat", "1::1193::5::978300760\n1::661::6::978302109\n")
    with pytest.raises(ValueError, match=r"ratings.dat:2: rating 6 is outside 1..5"):
        load_movielens(tmp_path)
    (tmp_path / "ml-100k").mkdir()
    ml_100k(tmp_path / "ml-100k")
    write(tmp_path / "ml-100k" / "u.item", "242|Kolya (1996)\nnot a title line\n")
    with pytest.raises(ValueError, match=r"u.item:2: expected 'id|title"):
        load_movielens(tmp_path / "ml-100k")


def test_folder_without_movielens_files(tmp_path):
    with pytest.raises(FileNotFoundError, match="expected u.data, ratings.dat or ratings.csv"):
        load_movielens(tmp_path)
    with pytest.raises(FileNotFoundError, match="no such directory"):
        load_movielens(tmp_path / "missing")


def test_a_repeated_pair_in_ratings_dat_names_both_lines(tmp_path):
    write(tmp_path / "ratings.dat", "1::1193::5::978300760\n1::661::3::978302109\n"
                                    "1::1193::4::978300761\n")
    with pytest.raises(ValueError, match=r"ratings.dat:3: pair \(movie id 1193, user id 1\) was "
                                         r"rated before, at .*ratings.dat:1 "):
        load_movielens(tmp_path)
    assert load_movielens(tmp_path, duplicates="last").rating.tolist() == [3, 4]


def test_write_movielens_round_trips_ratings_ids_years_and_names(tmp_path):
    from numpy_movievec.data import synthetic, write_movielens
    from numpy_movievec.titles import parse_title

    r = synthetic(5000, seed=2)
    back = load_movielens(write_movielens(r, tmp_path / "ml"))
    rows = back.movie_index(r.movie_ids)  # every movie of r has ratings in 5,000
    np.testing.assert_array_equal(back.movie_ids[back.movie], r.movie_ids[r.movie])
    np.testing.assert_array_equal(back.user_ids[back.user], r.user_ids[r.user])
    np.testing.assert_array_equal(back.rating, r.rating)
    np.testing.assert_array_equal(back.years[rows], r.years)
    for title, written in zip(r.titles, [back.titles[row] for row in rows]):
        parsed = parse_title(written)
        assert title in (parsed.main, f"{parsed.main} ({') ('.join(parsed.alternates)})")
    assert "Ring, The (2002)" in back.titles and "Hidden Fortress, The (1958)" in back.titles
    header = (tmp_path / "ml" / "ratings.csv").read_text().splitlines()[:2]
    assert header[0] == "userId,movieId,rating,timestamp" and header[1].split(",")[2][-2:] == ".0"
