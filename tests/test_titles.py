"""Titles: parsing MovieLens's written form, and finding movies from what people type.

The catalogue in fixtures/titles/movies.csv is written as MovieLens writes ml-latest's
movies.csv (article behind a comma, alternate titles and year in brackets), with the
originals and remakes the seed asked about, so that a query can be wrong in the ways it is on
real data: a remake picked silently, an alternate title not found.
"""

import csv
from pathlib import Path

import numpy as np
import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from numpy_movievec.data._titles import COUNTERPARTS
from numpy_movievec.titles import (MOVED_ARTICLES, AmbiguousTitleError, MovieLookupError,
                                   ParsedTitle, TitleIndex, parse_title, title_key)

FIXTURE = Path(__file__).parent / "fixtures" / "titles" / "movies.csv"


def read_catalogue():
    with open(FIXTURE, newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    return [row["title"] for row in rows], np.array([int(row["movieId"]) for row in rows])


TITLES, IDS = read_catalogue()


@pytest.fixture(scope="module")
def index():
    return TitleIndex(TITLES, movie_ids=IDS)


def title_of(index, query):
    return index.titles[index.find(query)]


# -- parsing -------------------------------------------------------------------------------------

@pytest.mark.parametrize("title, main, alternates, year", [
    ("Fistful of Dollars, A (Per un pugno di dollari) (1964)", "A Fistful of Dollars",
     ("Per un pugno di dollari",), 1964),
    ("Ringu (Ring) (1998)", "Ringu", ("Ring",), 1998),
    ("Hidden Fortress, The (Kakushi-toride no san-akunin) (1958)", "The Hidden Fortress",
     ("Kakushi-toride no san-akunin",), 1958),
    ("Shall We Dance? (Shall We Dansu?) (1996)", "Shall We Dance?", ("Shall We Dansu?",), 1996),
    ("Grande Illusion, La (Grand Illusion) (1937)", "La Grande Illusion", ("Grand Illusion",),
     1937),
    ("City of Lost Children, The (Cité des enfants perdus, La) (1995)",
     "The City of Lost Children", ("La Cité des enfants perdus",), 1995),
    ("Good, the Bad and the Ugly, The (Buono, il brutto, il cattivo, Il) (1966)",
     "The Good, the Bad and the Ugly", ("Il Buono, il brutto, il cattivo",), 1966),
    ("Avventura, L' (Adventure, The) (1960)", "L'Avventura", ("The Adventure",), 1960),
    ("Léon: The Professional (a.k.a. The Professional) (Léon) (1994)", "Léon: The Professional",
     ("The Professional", "Léon"), 1994),
    ("Wes Craven's New Nightmare (Nightmare on Elm Street Part 7: Freddy's Finale, A) (1994)",
     "Wes Craven's New Nightmare", ("A Nightmare on Elm Street Part 7: Freddy's Finale",), 1994),
    # Brackets that are not alternates stay in the title.
    ("(500) Days of Summer (2009)", "(500) Days of Summer", (), 2009),
    ("Paris, Texas (1984)", "Paris, Texas", (), 1984),
    ("Death Note: Desu nôto (2006–2007)", "Death Note: Desu nôto", (), 2006),
    ("Big Bang Theory, The (2007-)", "The Big Bang Theory", (), 2007),
    ("Babylon 5 ", "Babylon 5", (), 0),
    # Netflix writes titles without a year in brackets: one name, brackets and all.
    ("Kairo (Pulse)", "Kairo (Pulse)", (), 0),
    ("Ju-on: The Grudge", "Ju-on: The Grudge", (), 0),
    ("(2005)", "(2005)", (), 0),
])
def test_parse_title(title, main, alternates, year):
    assert parse_title(title) == ParsedTitle(main, alternates, year)


# Names as a generator of catalogue titles might see them: words, an optional article.
words = st.text(st.characters(whitelist_categories=("Lu", "Ll", "Nd")), min_size=1, max_size=8)
names = st.tuples(st.sampled_from(("The", "A", "La", "Les", "Il", "Die", None)),
                  st.lists(words, min_size=1, max_size=4).map(" ".join))


def written(article, rest):
    """How MovieLens writes a name: the article moved behind a comma."""
    return rest if article is None else f"{rest}, {article}"


def spoken(article, rest):
    return rest if article is None else f"{article} {rest}"


@given(names, st.lists(names, max_size=3), st.integers(1890, 2030))
def test_parse_title_inverts_the_movielens_form(main, alternates, year):
    """Writing a title as MovieLens does, then parsing it, gives back what was written."""
    assume_no_moved_article_inside(main, alternates)
    title = " ".join([written(*main), *(f"({written(*a)})" for a in alternates), f"({year})"])
    assert parse_title(title) == ParsedTitle(spoken(*main), tuple(spoken(*a) for a in alternates),
                                             year)


def assume_no_moved_article_inside(main, alternates):
    # A name whose own last word is an article ("Dance The") would read as moved, and an
    # alternate starting "aka" as MovieLens's "a.k.a.": the format cannot tell them apart.
    assume(all(rest.split()[-1].casefold() not in MOVED_ARTICLES
               for _, rest in [main, *alternates]))
    assume(all(rest.split()[0].casefold() != "aka" for _, rest in alternates))


def test_title_key_ignores_case_accents_and_punctuation():
    assert title_key("Amélie") == title_key("AMELIE") == "amelie"
    assert title_key("Shall We Dance?") == title_key("shall we dance")
    assert title_key("Léon: The Professional") == title_key("leon the professional")
    assert title_key("Matrix, The") == title_key("The Matrix")
    assert title_key("Hachiko: A Dog's Story") == title_key("Hachiko A Dogs Story")
    assert title_key("Face/Off") != title_key("Faceoff")  # a separator stays a word break


# -- finding movies ------------------------------------------------------------------------------

@pytest.mark.parametrize("query, title", [
    # The seed's names, typed as a person would.
    ("A Fistful of Dollars", "Fistful of Dollars, A (Per un pugno di dollari) (1964)"),
    ("fistful of dollars", "Fistful of Dollars, A (Per un pugno di dollari) (1964)"),
    ("Per un pugno di dollari", "Fistful of Dollars, A (Per un pugno di dollari) (1964)"),
    ("A Fistful of Dollars (1964)", "Fistful of Dollars, A (Per un pugno di dollari) (1964)"),
    ("FISTFUL OF DOLLARS, A", "Fistful of Dollars, A (Per un pugno di dollari) (1964)"),
    ("Ringu", "Ringu (Ring) (1998)"),
    ("ringu (1998)", "Ringu (Ring) (1998)"),
    ("Seven Samurai", "Seven Samurai (Shichinin no samurai) (1954)"),
    ("Shichinin no samurai", "Seven Samurai (Shichinin no samurai) (1954)"),
    ("Gojira", "Godzilla (Gojira) (1954)"),
    ("Kairo", "Pulse (Kairo) (2001)"),
    ("The Hidden Fortress", "Hidden Fortress, The (Kakushi-toride no san-akunin) (1958)"),
    ("Hidden Fortress (1958)", "Hidden Fortress, The (Kakushi-toride no san-akunin) (1958)"),
    ("Yojimbo", "Yojimbo (1961)"),
    ("The Ring", "Ring, The (2002)"),
    ("Ring", "Ringu (Ring) (1998)"),  # Ringu's own alternate title: the name as typed wins
    ("The Ring (1998)", "Ringu (Ring) (1998)"),
    ("Ju-on: The Grudge", "Ju-on: The Grudge (2002)"),
    ("juon the grudge", None),
    ("The Grudge", "Grudge, The (2004)"),
    ("The Magnificent Seven", "Magnificent Seven, The (1960)"),
    # Originals and remakes, told apart by year.
    ("Godzilla (1954)", "Godzilla (Gojira) (1954)"),
    ("Godzilla (2014)", "Godzilla (2014)"),
    ("Shall We Dance? (1996)", "Shall We Dance? (Shall We Dansu?) (1996)"),
    ("shall we dance (2004)", "Shall We Dance (2004)"),
    ("Pulse (2006)", "Pulse (2006)"),
    ("Dark Water (2002)", "Dark Water (Honogurai mizu no soko kara) (2002)"),
    ("Honogurai mizu no soko kara", "Dark Water (Honogurai mizu no soko kara) (2002)"),
    # Articles in other languages, moved or dropped; accents; a.k.a.; punctuation.
    ("La Grande Illusion", "Grande Illusion, La (Grand Illusion) (1937)"),
    ("Grande Illusion", "Grande Illusion, La (Grand Illusion) (1937)"),
    ("Grand Illusion", "Grande Illusion, La (Grand Illusion) (1937)"),
    ("La Haine", "Hate (Haine, La) (1995)"),
    ("Il Postino", "Postman, The (Postino, Il) (1994)"),
    ("L'Avventura", "Avventura, L' (Adventure, The) (1960)"),
    ("Les Misérables", "Misérables, Les (1995)"),
    ("les miserables", "Misérables, Les (1995)"),
    ("Leon", "Léon: The Professional (a.k.a. The Professional) (Léon) (1994)"),
    ("The Professional", "Léon: The Professional (a.k.a. The Professional) (Léon) (1994)"),
    ("Se7en", "Seven (a.k.a. Se7en) (1995)"),
    ("12 Monkeys", "Twelve Monkeys (a.k.a. 12 Monkeys) (1995)"),
    ("Dumb and Dumber", "Dumb & Dumber (Dumb and Dumber) (1994)"),
    ("500 Days of Summer", "(500) Days of Summer (2009)"),
    ("The Good, the Bad and the Ugly", "Good, the Bad and the Ugly, The (Buono, il brutto, il "
                                       "cattivo, Il) (1966)"),
    ("Il buono, il brutto, il cattivo", "Good, the Bad and the Ugly, The (Buono, il brutto, il "
                                        "cattivo, Il) (1966)"),
    ("amelie", "Amelie (Fabuleux destin d'Amélie Poulain, Le) (2001)"),
    ("Le fabuleux destin d'Amelie Poulain", "Amelie (Fabuleux destin d'Amélie Poulain, Le) (2001)"),
    ("death note: desu noto (2006)", "Death Note: Desu nôto (2006–2007)"),
    ("Paris, Texas", "Paris, Texas (1984)"),
    ("Die Hard", "Die Hard (1988)"),
    ("Babylon 5", "Babylon 5"),
    ("Star Wars: Episode IV - A New Hope", "Star Wars: Episode IV - A New Hope (1977)"),
    # The whole title as written, in any case.
    ("hidden fortress, the (kakushi-toride no san-akunin) (1958)",
     "Hidden Fortress, The (Kakushi-toride no san-akunin) (1958)"),
])
def test_titles_as_people_type_them(index, query, title):
    if title is None:
        with pytest.raises(MovieLookupError):
            index.find(query)
    else:
        assert title_of(index, query) == title


@pytest.mark.parametrize("query, titles", [
    ("Godzilla", ["Godzilla (1998)", "Godzilla (Gojira) (1954)", "Godzilla (2014)"]),
    ("Shall We Dance?", ["Shall We Dance (1937)", "Shall We Dance? (Shall We Dansu?) (1996)",
                         "Shall We Dance (2004)"]),
    ("Dark Water", ["Dark Water (Honogurai mizu no soko kara) (2002)", "Dark Water (2005)"]),
    ("Pulse", ["Pulse (Kairo) (2001)", "Pulse (2006)"]),
    ("Emma (1996)", ["Emma (1996)", "Emma (1996)"]),  # two catalogue entries, same year
    ("The Adventure", None),  # L'Avventura's English title; only one movie: not ambiguous
])
def test_originals_and_remakes_are_ambiguous(index, query, titles):
    if titles is None:
        index.find(query)
        return
    with pytest.raises(AmbiguousTitleError) as error:
        index.find(query)
    assert sorted(index.titles[row] for row in error.value.rows) == sorted(titles)
    message = str(error.value)
    for row in error.value.rows:
        assert index.describe(row) in message
    assert "Title (Year)" in message


def test_ambiguity_lists_years_and_ids(index):
    with pytest.raises(AmbiguousTitleError, match=r"Godzilla \(Gojira\) \(1954\) \[id 3036\]"):
        index.find("godzilla")
    with pytest.raises(MovieLookupError):  # an AmbiguousTitleError is a MovieLookupError,
        index.find("Pulse")
    with pytest.raises(KeyError):           # and a KeyError, as gensim raises
        index.find("Pulse")


@pytest.mark.parametrize("query, suggested", [
    ("A Fistfull of Dolars", "Fistful of Dollars, A (Per un pugno di dollari) (1964)"),
    ("Per un pugno di dolari", "Fistful of Dollars, A (Per un pugno di dollari) (1964)"),
    ("Hiden Fortress", "Hidden Fortress, The (Kakushi-toride no san-akunin) (1958)"),
    ("Shichinin no samuray", "Seven Samurai (Shichinin no samurai) (1954)"),
    ("Gojiraa", "Godzilla (Gojira) (1954)"),
    ("Godzilla (1960)", "Godzilla (1998)"),  # the name is right, the year is not
])
def test_did_you_mean_searches_every_name(index, query, suggested):
    with pytest.raises(MovieLookupError) as error:
        index.find(query)
    assert not isinstance(error.value, AmbiguousTitleError)
    assert f"no movie titled {query!r}; did you mean" in str(error.value)
    assert repr(suggested) in str(error.value)


def test_labels_find_their_movie_again(index):
    labels = [index.label(row) for row in range(len(index.titles))]
    assert all(index.find(label) == row for row, label in enumerate(labels))
    assert labels[TITLES.index("Godzilla (1998)")] == "Godzilla (1998)"  # already unique
    # Two catalogue entries share title and year: only the id tells them apart.
    assert sorted(label for label in labels if label.startswith("Emma")) == [
        "Emma (1996) [id 26958]", "Emma (1996) [id 838]"]


def test_an_ambiguity_errors_candidates_can_be_typed_back(index):
    with pytest.raises(AmbiguousTitleError) as error:
        index.find("emma")
    for row in error.value.rows:
        assert index.find(index.describe(row)) == row
    with pytest.raises(MovieLookupError, match="did you mean 'Emma"):
        index.find("Emma (1996) [id 1]")  # the title is right, the id is not


def test_netflix_titles_keep_their_brackets_and_given_years():
    """Netflix's titles have no year in brackets; the years come separately."""
    titles = ["Kairo (Pulse)", "Pulse", "Ringu", "The Ring", "Hamlet", "Hamlet", None]
    index = TitleIndex(titles, years=[2001, 2006, 1998, 2002, 1990, 1996, 0])
    assert index.find("Pulse") == 1  # "Pulse" in brackets is part of the Japanese title here
    assert index.find("kairo (pulse)") == 0 and index.find("Kairo (Pulse) (2001)") == 0
    assert index.find("Ring") == 3 and index.find("Hamlet (1996)") == 5
    assert [index.label(row) for row in (4, 5)] == ["Hamlet (1990)", "Hamlet (1996)"]
    with pytest.raises(AmbiguousTitleError):
        index.find("Hamlet")


def test_the_synthetic_catalogues_planted_titles_each_name_one_movie():
    """The demo asks for every planted film by its title: none may become ambiguous."""
    from numpy_movievec import synthetic

    r = synthetic(n_ratings=3_000, seed=0)
    index = TitleIndex(r.titles, years=r.years)
    for pair in COUNTERPARTS:
        for title in (pair.japanese, pair.american):
            assert index.titles[index.find(title)] == title
