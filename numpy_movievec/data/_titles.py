"""Titles for the synthetic catalogue: real counterpart pairs, and generated filler titles.

Each planted pair is a Japanese film and an American film that retells its story (a remake,
or a loose re-imagining such as The Hidden Fortress → Star Wars). Filler titles are made up
from word lists; a few contain commas and Latin-1 accents on purpose, so that writing and
reading the Netflix Prize files (Latin-1, comma-separated, unquoted) is exercised for real.
"""

from __future__ import annotations

from typing import NamedTuple

GENRES = ("action", "adventure", "comedy", "crime", "drama",
          "family", "horror", "romance", "sci-fi", "western")

# How often each genre is a filler movie's main genre (same order as GENRES).
GENRE_SHARES = (0.12, 0.07, 0.20, 0.08, 0.24, 0.06, 0.07, 0.07, 0.06, 0.03)


class Counterpart(NamedTuple):
    japanese: str
    japanese_year: int
    american: str
    american_year: int
    genre: str


COUNTERPARTS = (
    Counterpart("Ringu", 1998, "The Ring", 2002, "horror"),
    Counterpart("Ju-on: The Grudge", 2002, "The Grudge", 2004, "horror"),
    Counterpart("Honogurai mizu no soko kara (Dark Water)", 2002, "Dark Water", 2005, "horror"),
    Counterpart("Kairo (Pulse)", 2001, "Pulse", 2006, "horror"),
    Counterpart("Chakushin ari (One Missed Call)", 2003, "One Missed Call", 2008, "horror"),
    Counterpart("Yojimbo", 1961, "A Fistful of Dollars", 1964, "western"),
    Counterpart("Seven Samurai", 1954, "The Magnificent Seven", 1960, "western"),
    Counterpart("Shall We Dansu?", 1996, "Shall We Dance", 2004, "romance"),
    Counterpart("Hachiko Monogatari", 1987, "Hachi: A Dog's Tale", 2009, "family"),
    Counterpart("The Hidden Fortress", 1958, "Star Wars", 1977, "adventure"),
    Counterpart("Rashomon", 1950, "The Outrage", 1964, "crime"),
    Counterpart("Ikiru", 1952, "Living", 2022, "drama"),
    Counterpart("Gojira", 1954, "Godzilla", 1998, "sci-fi"),
    Counterpart("Battle Royale", 2000, "The Hunger Games", 2012, "action"),
)

_ADJECTIVES = (
    "Silent", "Last", "Broken", "Golden", "Hidden", "Midnight", "Burning", "Lost", "Secret",
    "Wild", "Dark", "Crimson", "Frozen", "Distant", "Final", "Forgotten", "Electric", "Lonely",
    "Savage", "Quiet", "Endless", "Bitter", "Restless", "Falling", "Sweet", "Iron", "Velvet",
    "Northern", "Little", "Perfect", "Dangerous", "Invisible", "Eternal", "Crooked", "Paper",
)
_NOUNS = (
    "River", "City", "Summer", "Heart", "Road", "Garden", "Witness", "Kingdom", "Storm",
    "Promise", "Harbor", "Mirror", "Horizon", "Stranger", "Letter", "Island", "Train", "Empire",
    "Circus", "Shadow", "Dream", "Journey", "Winter", "Secret", "Highway", "Lighthouse", "Affair",
    "Ransom", "Orchard", "Frontier", "Carnival", "Verdict", "Symphony", "Harvest", "Echo",
)
_NAMES = (
    "Amélie", "José", "Zoë", "Chloé", "Renée", "Noël", "Jürgen", "Inés", "Françoise", "Björn",
    "Jack", "Mary", "Frank", "Lucy", "Walter", "Rosa", "Henry", "Alice", "Sam", "Grace",
)
_PLACES = (
    "Paris", "Texas", "Café Lumière", "São Paulo", "Château Noir", "Málaga", "Zürich",
    "Montréal", "Reykjavík", "Brooklyn", "Memphis", "Tangier", "Havana", "Marseille",
)
# Repeated entries are drawn more often: commas and accents stay a minority, as in real lists.
_PATTERNS = (
    ("The {adjective} {noun}",) * 6
    + ("{adjective} {noun}",) * 4
    + ("{noun} of the {adjective} {noun2}",) * 3
    + ("{name}'s {noun}",) * 2
    + ("A {noun} in {place}",) * 2
    + ("{name}, {place}", "Goodbye, {name}", "{noun}, {noun2} and {name}")
)


def filler_titles(count: int, rng, taken=()) -> list[str]:
    """``count`` distinct made-up titles, none of them in ``taken``; repeats become sequels.

    >>> import numpy as np
    >>> len(set(filler_titles(500, np.random.default_rng(0))))
    500
    """
    word_lists = (_PATTERNS, _ADJECTIVES, _NOUNS, _NOUNS, _NAMES, _PLACES)
    picks = rng.integers(0, 1 << 30, size=(count, len(word_lists)))
    used = set(taken)
    titles = []
    for row in picks.tolist():
        pattern, adjective, noun, noun2, name, place = (
            words[i % len(words)] for words, i in zip(word_lists, row))
        title = pattern.format(adjective=adjective, noun=noun, noun2=noun2, name=name,
                               place=place)
        candidate, sequel = title, 2
        while candidate in used:
            candidate, sequel = f"{title} {sequel}", sequel + 1
        used.add(candidate)
        titles.append(candidate)
    return titles
