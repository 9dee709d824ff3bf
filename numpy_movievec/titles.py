"""Titles as catalogues write them, and as people type them.

MovieLens writes a title the way a library card does: the year in brackets at the end, an
article moved behind a comma, and any other titles the film is known by in brackets::

    Fistful of Dollars, A (Per un pugno di dollari) (1964)
    Hidden Fortress, The (Kakushi-toride no san-akunin) (1958)
    Léon: The Professional (a.k.a. The Professional) (Léon) (1994)

A person types "A Fistful of Dollars", "fistful of dollars" or "Per un pugno di dollari".
This module turns the first into the names the second can find:

- `parse_title` splits a title into its main title, alternate titles and year, articles put
  back in front. Bracketed alternates are read only from titles in that MovieLens form (ending
  in a year in brackets); a title without a year in brackets, as Netflix writes them, is one
  name, brackets and all, since there a bracket may be part of the title.
- `title_key` is what two spellings of a name share: no case, accents or punctuation.
- `TitleIndex` finds a movie's row from what a person types, and says when several movies
  answer to it (an original and its remake) instead of silently picking one.
"""

from __future__ import annotations

import difflib
import re
import unicodedata
from functools import cached_property
from typing import NamedTuple

from .checks import UnknownKeyError

SUGGESTIONS = 5  # near matches listed when a title is unknown

# A year in brackets at the end: "(1964)", or a series' first year, "(2006-2007)" / "(2007-)".
_YEAR_SUFFIX = re.compile(r"^(?P<base>.*\S)\s*\((?P<year>\d{4})(?:\s*[-–]\s*(?:\d{4})?)?\)\s*$")
_ID_TAG = re.compile(r"^(?P<title>.*\S)\s*\[id (?P<id>-?\d+)\]\s*$")
_ALSO_KNOWN_AS = re.compile(r"^(?:a\.k\.a\.|aka)\s+", re.IGNORECASE)

# Articles catalogues move behind a comma ("Grande Illusion, La"), in the languages MovieLens
# titles are written in.
MOVED_ARTICLES = ("the", "a", "an",                                  # English
                  "le", "la", "les", "l'", "un", "une",              # French
                  "il", "lo", "i", "gli", "uno", "una",              # Italian
                  "el", "los", "las",                                # Spanish
                  "der", "die", "das", "den", "ein", "eine",         # German
                  "o", "os", "as",                                   # Portuguese
                  "de", "het", "een")                                # Dutch
_MOVED_ARTICLE = re.compile(
    rf"^(?P<rest>.+),\s*(?P<article>{'|'.join(map(re.escape, MOVED_ARTICLES))})$", re.IGNORECASE)
# Articles a person may leave off the front of a name ("Hidden Fortress"), besides the elided
# "l'". Only those that are not also common English words: "Die Hard" and "I Am Legend" keep
# their first word.
LEADING_ARTICLES = ("the", "a", "an", "le", "la", "les", "il", "gli", "el", "los", "las",
                    "der", "das")
_LEADING_ARTICLE = re.compile(rf"^(?:(?:{'|'.join(LEADING_ARTICLES)})\s+|l')(?=\w)",
                              re.IGNORECASE)

_APOSTROPHES_AND_DOTS = re.compile(r"[.'’‘`´]")  # "Schindler's" ~ "Schindlers", "L.A." ~ "LA"
_SEPARATORS = re.compile(r"[\W_]+")  # any other run of punctuation or spaces is one space


class MovieLookupError(UnknownKeyError):
    """A title or id that names no movie, or several. A KeyError, as gensim raises."""


class AmbiguousTitleError(MovieLookupError):
    """A name several movies answer to (an original and its remakes).

    The message lists every candidate with its year and id; ``rows`` holds their rows.
    """

    def __init__(self, message, rows=()):
        super().__init__(message)
        self.rows = list(rows)


class ParsedTitle(NamedTuple):
    """A title split into the names a movie answers to, and its year (0 when unknown)."""

    main: str
    alternates: tuple
    year: int

    @property
    def names(self) -> tuple:
        return (self.main, *self.alternates)


def parse_title(title: str) -> ParsedTitle:
    """The main title, alternate titles and year of a title, articles put back in front.

    >>> parse_title("Fistful of Dollars, A (Per un pugno di dollari) (1964)")
    ParsedTitle(main='A Fistful of Dollars', alternates=('Per un pugno di dollari',), year=1964)
    >>> parse_title("Léon: The Professional (a.k.a. The Professional) (Léon) (1994)").names
    ('Léon: The Professional', 'The Professional', 'Léon')
    >>> parse_title("Hate (Haine, La) (1995)").alternates, parse_title("(500) Days of Summer (2009)")
    (('La Haine',), ParsedTitle(main='(500) Days of Summer', alternates=(), year=2009))

    Without a year in brackets (Netflix's titles) the title is one name:

    >>> parse_title("Kairo (Pulse)"), parse_title("Matrix, The").main
    (ParsedTitle(main='Kairo (Pulse)', alternates=(), year=0), 'The Matrix')
    """
    base, year = split_year(title)
    main, alternates = split_alternates(base) if year else (base, [])
    return ParsedTitle(article_in_front(main), tuple(map(article_in_front, alternates)), year)


def split_year(title: str) -> tuple:
    """``(title without the year, year)``; the year is 0 when the title does not end in one.

    >>> split_year("Toy Story (1995)"), split_year("Yojimbo"), split_year("Death Note (2006–2007)")
    (('Toy Story', 1995), ('Yojimbo', 0), ('Death Note', 2006))
    """
    title = title.strip()
    match = _YEAR_SUFFIX.match(title)
    return (match["base"], int(match["year"])) if match else (title, 0)


def split_alternates(base: str) -> tuple:
    """``(main, [alternates])``: the bracketed groups at the end of ``base`` are alternates.

    Brackets elsewhere stay in the title, and so does a bracket that is the whole title.

    >>> split_alternates("Seven (a.k.a. Se7en)"), split_alternates("(500) Days of Summer")
    (('Seven', ['Se7en']), ('(500) Days of Summer', []))
    """
    alternates = []
    while base.endswith(")"):
        start = _opening_bracket(base)
        if start is None or not base[:start].strip():
            break
        alternate = _ALSO_KNOWN_AS.sub("", base[start + 1:-1].strip())
        if alternate:
            alternates.insert(0, alternate)
        base = base[:start].rstrip()
    return base, alternates


def _opening_bracket(text: str) -> int | None:
    """Where the bracket closed by ``text``'s last character opens (brackets may nest)."""
    depth = 0
    for position in range(len(text) - 1, -1, -1):
        depth += {")": 1, "(": -1}.get(text[position], 0)
        if depth == 0:
            return position
    return None


def article_in_front(name: str) -> str:
    """``"A Fistful of Dollars"`` from ``"Fistful of Dollars, A"``: the article said first.

    >>> article_in_front("Good, the Bad and the Ugly, The"), article_in_front("Avventura, L'")
    ('The Good, the Bad and the Ugly', "L'Avventura")
    >>> article_in_front("Paris, Texas")
    'Paris, Texas'
    """
    moved = _MOVED_ARTICLE.match(name.strip())
    if not moved:
        return name.strip()
    article = moved["article"]
    separator = "" if article.endswith("'") else " "  # elided: "L'Avventura"
    return f"{article}{separator}{moved['rest']}"


def without_article(name: str) -> str:
    """``name`` without its article, moved or in front: what people type when they drop it.

    >>> without_article("Hidden Fortress, The"), without_article("The Ring")
    ('Hidden Fortress', 'Ring')
    >>> without_article("Haine, La"), without_article("Die Hard")
    ('Haine', 'Die Hard')
    """
    name = name.strip()
    moved = _MOVED_ARTICLE.match(name)
    if moved:
        return moved["rest"]
    return _LEADING_ARTICLE.sub("", name)


def title_key(name: str) -> str:
    """What two spellings of a name share: article in front; no case, accents or punctuation.

    >>> title_key("Fistful of Dollars, A"), title_key("  AMÉLIE "), title_key("Shall We Dance?")
    ('a fistful of dollars', 'amelie', 'shall we dance')
    >>> title_key("Schindler's List"), title_key("Dumb & Dumber"), title_key("Ju-on: The Grudge")
    ('schindlers list', 'dumb and dumber', 'ju on the grudge')
    """
    text = article_in_front(name)
    text = text if text.isascii() else _without_accents(text)  # the check is 10x faster
    text = _APOSTROPHES_AND_DOTS.sub("", text.casefold().replace("&", " and "))
    return _SEPARATORS.sub(" ", text).strip()


def _without_accents(text: str) -> str:
    """Split letters from their accents (NFKD: "é" → "e" + "´"), then drop the accents."""
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(c for c in decomposed if not unicodedata.combining(c))


class TitleIndex:
    """Finds a movie's row from what a person types, and names rows so they can be typed back.

    Every movie answers to its title as written without the year, its main title and its
    alternate titles (see `parse_title`), compared by `title_key`; a query ending in "(YYYY)"
    keeps only the movies of that year (from ``years``, else from the title). A name typed
    without its article ("Hidden Fortress") is tried only when no movie answers to the name as
    typed, so "The Ring" finds the 2002 film, not Ringu (whose alternate title is "Ring").
    When several movies answer, the lookup is ambiguous: an original and its remakes share a
    name, and none of them is picked silently.

    Keys are worked out on first need: for a million titles that takes seconds.

    >>> index = TitleIndex(["Godzilla (Gojira) (1954)", "Godzilla (1998)", "Ringu (Ring) (1998)"])
    >>> index.find("gojira"), index.find("Godzilla (1998)"), index.find("Ring")
    (0, 1, 2)
    >>> index.find("Godzilla")
    Traceback (most recent call last):
    ...
    numpy_movievec.titles.AmbiguousTitleError: 'Godzilla' is ambiguous, 2 movies answer to it: \
Godzilla (Gojira) (1954) [id 0]; Godzilla (1998) [id 1]. Add the year, as in 'Title (Year)', \
or pass the movie id
    """

    def __init__(self, titles, years=None, movie_ids=None):
        self.titles = list(titles)
        self.given_years = years
        self.movie_ids = movie_ids

    @cached_property
    def years(self) -> list:
        """Year by row, 0 where unknown: the given year, else the one in the title."""
        given = self.given_years if self.given_years is not None else [0] * len(self.titles)
        return [int(year) or (split_year(title)[1] if title is not None else 0)
                for year, title in zip(given, self.titles)]

    @cached_property
    def _rows_by_key(self) -> tuple:
        """Two dicts key -> rows: names as written, and names without their article."""
        by_name, by_name_without_article = {}, {}
        for row, title in enumerate(self.titles):
            for name in _written_names(title):
                _add(by_name, title_key(name), row)
                _add(by_name_without_article, title_key(without_article(name)), row)
        return by_name, by_name_without_article

    def matches(self, query: str) -> list:
        """Every row ``query`` names, in row order: empty when none, several when ambiguous."""
        return self._matches(query)[0]

    def _matches(self, query: str) -> tuple:
        """``(rows, rows that answer to the name but not to the year or id)``."""
        tagged = _ID_TAG.match(query)
        if tagged:  # "Emma (1996) [id 838]", as `describe` writes a candidate
            rows, other_years = self._matches(tagged["title"])
            movie_id = int(tagged["id"])
            return [row for row in rows if self._id(row) == movie_id], rows or other_years
        by_name, by_name_without_article = self._rows_by_key
        base, year = split_year(query)
        main = split_alternates(base)[0] if year else base
        other_years = []
        for rows_by_key, name in ((by_name, base), (by_name, main),
                                  (by_name_without_article, without_article(main))):
            rows = rows_by_key.get(title_key(name), [])
            in_year = [row for row in rows if self.years[row] == year] if year else rows
            if in_year:
                return in_year, []
            other_years = other_years or rows
        return [], other_years

    def find(self, query: str) -> int:
        """The row ``query`` names; MovieLookupError if it names none, AmbiguousTitleError
        (a MovieLookupError) if it names several."""
        rows, other_years = self._matches(query)
        if len(rows) == 1:
            return rows[0]
        if rows:
            candidates = "; ".join(self.describe(row) for row in rows)
            raise AmbiguousTitleError(
                f"{query!r} is ambiguous, {len(rows)} movies answer to it: {candidates}. "
                f"Add the year, as in 'Title (Year)', or pass the movie id", rows)
        raise MovieLookupError(self._unknown_message(query, other_years))

    def label(self, row) -> str:
        """The shortest of title, "Title (Year)" and "Title (Year) [id N]" that finds ``row``
        again: how answers name a movie, so that they can be asked back."""
        title = self.titles[row]
        for label in (title, self._with_year(row)):
            if self.matches(label) == [row]:
                return label
        return self.describe(row)

    def describe(self, row) -> str:
        """``Title (Year) [id N]``: enough to tell candidates apart, and a query that finds
        ``row`` (the id picks among the movies the title names)."""
        return f"{self._with_year(row)} [id {self._id(row)}]"

    def _id(self, row) -> int:
        return row if self.movie_ids is None else int(self.movie_ids[row])

    def _with_year(self, row) -> str:
        title, year = self.titles[row], self.years[row]
        return f"{title} ({year})" if year and not split_year(title)[1] else title

    def _unknown_message(self, query, other_years) -> str:
        rows = other_years[:SUGGESTIONS] or self._near(query)
        hint = f"; did you mean {', '.join(repr(self.label(r)) for r in rows)}?" if rows else ""
        if query.strip().isdigit():
            hint += " (to look a movie up by id, pass an int)"
        return f"no movie titled {query!r}{hint}"

    def _near(self, query) -> list:
        """Up to SUGGESTIONS rows whose names (with or without article) look like ``query``."""
        by_name, by_name_without_article = self._rows_by_key
        base, year = split_year(query)
        keys = {**by_name, **{key: rows for key, rows in by_name_without_article.items()
                              if key not in by_name}}
        near = difflib.get_close_matches(title_key(split_alternates(base)[0] if year else base),
                                         keys, n=SUGGESTIONS)
        rows = [row for key in near for row in keys[key]]
        return list(dict.fromkeys(rows))[:SUGGESTIONS]


def _written_names(title) -> list:
    """The names a title answers to, as written: the whole title without its year, the main
    title and the alternates (articles still where the catalogue put them)."""
    if title is None:
        return []
    base, year = split_year(title)
    main, alternates = split_alternates(base) if year else (base, [])
    return list(dict.fromkeys([base, main, *alternates]))


def _add(rows_by_key: dict, key: str, row: int):
    if key:
        rows = rows_by_key.setdefault(key, [])
        if not rows or rows[-1] != row:
            rows.append(row)
