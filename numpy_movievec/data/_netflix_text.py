"""Numba kernels for the Netflix Prize block text: ``MovieID:`` lines, then one line per row.

Rating files (``mv_*.txt``, ``combined_data_*.txt``) have ``CustomerID,Rating,Date`` rows,
``probe.txt`` has ``CustomerID`` rows. The parser walks the raw bytes once, writing each row
straight into preallocated int arrays; it never builds a Python string. It accepts Windows
line endings and blank lines, and stops at the first bad line, returning an error code and
the line's byte offset, from which the caller reports file and line number.
"""

from __future__ import annotations

import numpy as np

from numpy_movievec.jit import njit_cached

OK, MALFORMED, RATING_RANGE, NO_HEADER, FULL = range(5)
ERRORS = {
    MALFORMED: "malformed line",
    RATING_RANGE: "rating outside 1..5",
    NO_HEADER: "no 'MovieID:' header line above this row",
    FULL: "more rows than the file's size allows",
}
SHORTEST_RATING_LINE = len("1,1,2005-01-01\n")
SHORTEST_PROBE_LINE = len("1\n")
_NEWLINE, _RETURN, _COMMA, _COLON, _DASH, _ZERO = (ord(c) for c in "\n\r,:-0")


@njit_cached
def parse_blocks(text, with_ratings, movie, user, rating, row):
    """Parse ``text`` (uint8) into ``movie``/``user``/``rating`` from index ``row`` on.

    Returns ``(next_row, error, error_offset)``. Movie and user are the raw ids from the text.
    Without ratings (probe.txt) each row is a lone customer id and ``rating`` is untouched.
    """
    n = len(text)
    current_movie = -1
    i = 0
    while i < n:
        line_start = i
        if _at_line_end(text, i):  # a blank line
            i = _skip_line_end(text, i)
            continue
        value, i = _read_int(text, i)
        if value < 0:
            return row, MALFORMED, line_start
        if i < n and text[i] == _COLON:
            current_movie = value
            i += 1
        else:
            if current_movie < 0:
                return row, NO_HEADER, line_start
            if row == len(movie):
                return row, FULL, line_start
            if with_ratings:
                stars, i = _read_rating_and_date(text, i)
                if stars < 0:
                    return row, MALFORMED, line_start
                if stars < 1 or stars > 5:
                    return row, RATING_RANGE, line_start
                rating[row] = stars
            movie[row] = current_movie
            user[row] = value
            row += 1
        if not _at_line_end(text, i):
            return row, MALFORMED, line_start
        i = _skip_line_end(text, i)
    return row, OK, 0


@njit_cached
def _read_int(text, i):
    """A non-negative int of 1..9 digits at ``i``: ``(value, next i)``; value -1 if none."""
    value = 0
    start = i
    while i < len(text) and _is_digit(text[i]) and i - start < 10:
        value = value * 10 + text[i] - _ZERO
        i += 1
    if i == start or i - start > 9:
        return -1, i
    return value, i


@njit_cached
def _read_rating_and_date(text, i):
    """``,Rating,YYYY-MM-DD`` at ``i``: ``(rating, next i)``; rating -1 if malformed."""
    if i >= len(text) or text[i] != _COMMA:
        return -1, i
    stars, i = _read_int(text, i + 1)
    if stars < 0 or i + 11 > len(text) or text[i] != _COMMA:
        return -1, i
    for k in range(10):
        c = text[i + 1 + k]
        if (k == 4 or k == 7) != (c == _DASH) or (k != 4 and k != 7 and not _is_digit(c)):
            return -1, i
    return stars, i + 11


@njit_cached
def _is_digit(c):
    return _ZERO <= c <= _ZERO + 9


@njit_cached
def _at_line_end(text, i):
    """End of text, ``\\n``, or ``\\r\\n`` at ``i``."""
    if i >= len(text) or text[i] == _NEWLINE:
        return True
    return text[i] == _RETURN and (i + 1 == len(text) or text[i + 1] == _NEWLINE)


@njit_cached
def _skip_line_end(text, i):
    if i < len(text) and text[i] == _RETURN:
        i += 1
    return i + 1


@njit_cached
def format_block(movie_id, user_ids, ratings, with_ratings, dates, out):
    """Write ``movie_id:`` and one line per row into ``out`` (uint8); return bytes written.

    Rows are ``user,rating,date`` or, without ratings, ``user``. Each row's date is one of
    ``dates`` (an (n, 10) uint8 array of YYYY-MM-DD), picked by a hash of the pair, so the
    same pair always gets the same date.
    """
    n = _write_int(out, 0, movie_id)
    out[n] = _COLON
    out[n + 1] = _NEWLINE
    n += 2
    for row in range(len(user_ids)):
        n = _write_int(out, n, user_ids[row])
        if with_ratings:
            out[n] = _COMMA
            out[n + 1] = _ZERO + ratings[row]
            out[n + 2] = _COMMA
            day = (movie_id * 2654435761 + user_ids[row] * 40503) % len(dates)
            out[n + 3:n + 13] = dates[day]
            n += 13
        out[n] = _NEWLINE
        n += 1
    return n


@njit_cached
def _write_int(out, n, value):
    digits = 1
    while value >= 10 ** digits:
        digits += 1
    for k in range(digits - 1, -1, -1):
        out[n + k] = _ZERO + value % 10
        value //= 10
    return n + digits


def _date_table(first="1999-11-11", last="2005-12-31") -> np.ndarray:
    """Every day from ``first`` to ``last`` as an (n, 10) uint8 array of ``YYYY-MM-DD``."""
    days = np.arange(np.datetime64(first), np.datetime64(last) + 1)
    return np.frombuffer("".join(days.astype(str)).encode("ascii"), np.uint8).reshape(-1, 10)


DATES = _date_table()  # the days of the Netflix Prize data
LONGEST_LINE = len("999999999,5,2005-12-31\n")
