"""load_csv and the table reader: columns by the header's names, every line whole, exact lines."""

import pytest

from numpy_movievec.data import load_csv


def write(path, text):
    path.write_text(text, encoding="utf-8")
    return path


def test_columns_are_taken_by_name_and_titles_joined(tmp_path):
    ratings = write(tmp_path / "r.csv", "stars;when;item;who\n4;1;30;7\n5;2;10;7\n1;3;30;2649429\n")
    titles = write(tmp_path / "t.csv", "title;item\nRingu;30\nYojimbo;10\n")
    r = load_csv(ratings, movie="item", user="who", rating="stars", sep=";", titles=titles)
    assert r.movie_ids.tolist() == [10, 30] and r.user_ids.tolist() == [7, 2649429]
    assert r.movie.tolist() == [1, 0, 1] and r.rating.tolist() == [4, 5, 1]
    assert r.titles == ["Yojimbo", "Ringu"] and r.source == f"csv:{ratings}"


def test_error_lines_count_blank_lines_as_the_file_has_them(tmp_path):
    path = write(tmp_path / "r.csv", "movie,user,rating\n\n1,10,4\n\n\n2,10,9\n")
    with pytest.raises(ValueError, match=r"r.csv:6: rating 9 is outside 1..5"):
        load_csv(path)


@pytest.mark.parametrize("text, message", [
    ("movie,user\n1,10\n", r"r.csv:1: the header row must name the columns 'movie', 'user', "
                           r"'rating'; it has 'movie', 'user' \(no header row\?\)"),
    ("movie,user,rating,movie\n1,10,4,1\n", "r.csv:1: the header names 'movie' twice"),
    ("", "r.csv: empty, or no header row on line 1"),
    ("movie,user,rating\n", "r.csv: holds no ratings"),
    ("movie,user,rating\n1,,4\n", "r.csv:2: user id '' is not a number"),
    ("movie,user,rating\n1,10,4\n1.5,10,4\n", r"r.csv:3: movie id 1.5 is not a whole number"),
])
def test_bad_tables_name_the_file_and_line(tmp_path, text, message):
    with pytest.raises(ValueError, match=message):
        load_csv(write(tmp_path / "r.csv", text))


def test_a_titles_file_listing_a_movie_twice_names_both_lines(tmp_path):
    ratings = write(tmp_path / "r.csv", "movie,user,rating\n1,10,4\n")
    titles = write(tmp_path / "t.csv", "movie,title\n1,Ran\n2,Heat\n1,Ran again\n")
    with pytest.raises(ValueError, match=r"t.csv:4: movie 1 is listed twice \(also at "
                                         r".*t.csv:2\)"):
        load_csv(ratings, titles=titles)


def test_a_missing_file_is_file_not_found(tmp_path):
    with pytest.raises(FileNotFoundError, match="nothing.csv: no such file"):
        load_csv(tmp_path / "nothing.csv")
