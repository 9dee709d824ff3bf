"""The Netflix Prize files: `load_netflix` reads them, `write_netflix` writes them.

Layouts read (described in ``docs/data-formats.md``):

    training_set/mv_0000001.txt ...    one file per movie: "MovieID:" then "CustomerID,Rating,Date"
    combined_data_1.txt ... _4.txt     the same blocks, many movies per file (the Kaggle copy)
    movie_titles.txt / .csv            "MovieID,YearOfRelease,Title": Latin-1, no header, commas
                                       inside titles, year "NULL" when unknown
    probe.txt                          "MovieID:" then "CustomerID": pairs to hold out

Why a Numba byte parser and not pandas: pandas' C parser cannot read the block layout in one
go. The header lines ("123:") make the first column text, so every customer id becomes a
Python string, and the movie id has to be forward-filled from the header rows afterwards.
Measured on this 2-core machine (benchmarks/bench_data.py) on 5,000,000 ratings in four
combined_data files (103 MB): ``load_netflix`` (Numba parser, id remapping, checks) 0.49 s;
pandas ``read_csv(usecols=[0, 1])`` plus forward fill and casts 6.75 s. The parser reads each
file as one bytes buffer and writes rows straight into int32/int8 arrays: 100M ratings parse
in about 20 s with a peak of 1.8 GB (0.9 GB of columns, one file's bytes, the interpreter).

Dates are checked but not kept: ratings carry no timestamps.

What is refused, each with the file and line: a malformed line, a rating outside 1..5, a row
above any ``MovieID:`` line, an ``mv_`` file whose header names another movie than its file
name, a titles line that is not ``MovieID,YearOfRelease,Title`` or whose year is not a year,
a data set with no ratings at all, a probe pair that is not rated or is listed twice, and —
unless ``duplicates=`` says what to keep — a (movie, customer) pair rated twice.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np

from numpy_movievec import checks
from numpy_movievec.archive import staged_directory
from numpy_movievec.checks import BadValueError, MissingFileError, UnknownKeyError
from numpy_movievec.data import _netflix_text as text
from numpy_movievec.data.ratings import Ratings, dense_ids, settle_duplicates

TITLE_FILES = ("movie_titles.txt", "movie_titles.csv")
PROBE_FILE = "probe.txt"
PER_MOVIE_FILE = re.compile(r"mv_(\d+)\.txt")


def load_netflix(path, with_probe: bool = False, duplicates: str = "error"):
    """Read the Netflix Prize ratings under ``path``; return a `Ratings`.

    ``path`` is a folder holding ``training_set/`` (or the ``training_set`` folder itself), a
    folder of ``combined_data_*.txt`` files, or one such file. Titles come from
    ``movie_titles.txt`` or ``movie_titles.csv`` beside the ratings (``titles``/``years``
    stay None/0 for movies it lacks). Customer ids are remapped to dense indices in increasing
    id order; ``user_ids`` keeps the originals. Movies listed in the titles file but never
    rated are kept (with no ratings).

    With ``with_probe=True`` return ``(train, probe)``: the pairs listed in ``probe.txt`` (found
    beside the ratings) are held out of ``train`` into ``probe``, the honest validation set.

    The real files rate each (movie, customer) pair once; if a pair repeats, this raises
    unless ``duplicates`` is "first" or "last" (keep that one, in file order) or "all".

    >>> r = load_netflix("netflix/")                       # doctest: +SKIP
    >>> train, probe = load_netflix("netflix/", with_probe=True)   # doctest: +SKIP
    """
    checks.one_of(duplicates, ("error", "first", "last", "all"), "duplicates")
    rating_files, folders = _find_rating_files(Path(path))
    movie, user, rating, where = _parse_files(rating_files, with_ratings=True)
    if len(movie) == 0:
        raise BadValueError(f"{path}: the rating files hold no ratings "
                            f"({len(rating_files)} file{'s' * (len(rating_files) != 1)})")
    user, user_ids = dense_ids(user, "customer", overwrite=True)
    title_file = _find_beside(folders, TITLE_FILES)
    catalogue = read_movie_titles(title_file) if title_file else {}
    movie, movie_ids = _movie_index(movie, catalogue)
    known = [catalogue.get(i, (0, None)) for i in movie_ids.tolist()]
    ratings = Ratings(movie, user, rating, n_movies=len(movie_ids), n_users=len(user_ids),
                      titles=[title for _, title in known],
                      years=np.array([year for year, _ in known], np.int16),
                      movie_ids=movie_ids, user_ids=user_ids, source=f"netflix:{path}")
    ratings = settle_duplicates(ratings, duplicates, where)
    if not with_probe:
        return ratings
    probe_file = _find_beside(folders, (PROBE_FILE,))
    if probe_file is None:
        raise MissingFileError(f"{path}: no {PROBE_FILE} beside the ratings")
    return _hold_out_probe(ratings, probe_file)


def read_movie_titles(path) -> dict:
    """``{movie id: (year, title)}`` from a Netflix titles file; year 0 where it says NULL.

    Lines are split on their first two commas only, because titles contain commas.
    """
    catalogue = {}
    lines = Path(path).read_bytes().decode("latin-1").splitlines()
    low, high = checks.YEARS
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        fields = line.split(",", 2)
        if len(fields) < 3 or not fields[0].strip().isdigit() or not (
                fields[1].strip().isdigit() or fields[1].strip() == "NULL"):
            raise BadValueError(f"{path}:{number}: expected 'MovieID,YearOfRelease,Title', "
                                f"got {line!r}")
        movie_id, year, title = fields
        year = 0 if year.strip() == "NULL" else int(year)
        if not low <= year <= high and year != 0:
            raise BadValueError(f"{path}:{number}: year {year} is not a year (NULL or "
                                f"{low}..{high}): {line!r}")
        if int(movie_id) in catalogue:
            raise BadValueError(f"{path}:{number}: movie {int(movie_id)} listed twice")
        catalogue[int(movie_id)] = (year, title)
    return catalogue


# ---------------------------------------------------------------------- finding the files

def _find_rating_files(path: Path):
    """The rating files in reading order, and the folders where titles/probe may lie."""
    if not path.exists():
        raise MissingFileError(f"{path}: no such file or directory")
    if path.is_file():
        return [path], [path.parent]
    if (path / "training_set").is_dir():
        files, folders = _per_movie_files(path / "training_set"), [path]
    elif any(path.glob("mv_*.txt")):
        files, folders = _per_movie_files(path), [path, path.parent]
    else:
        files, folders = _combined_files(path), [path]
    if not files:
        raise MissingFileError(f"{path}: no Netflix Prize ratings here (expected "
                               "training_set/mv_*.txt or combined_data_*.txt)")
    return files, folders


def _per_movie_files(folder: Path):
    files = sorted(folder.glob("mv_*.txt"))
    for file in files:
        if not PER_MOVIE_FILE.fullmatch(file.name):
            raise BadValueError(f"{file}: not a per-movie file name (mv_0000001.txt, ...)")
    return files


def _combined_files(folder: Path):
    def number(file):
        return int(re.search(r"(\d+)", file.stem).group(1))
    return sorted(folder.glob("combined_data_*[0-9].txt"), key=number)


def _find_beside(folders, names):
    for folder in folders:
        for name in names:
            if (folder / name).is_file():
                return folder / name
    return None


# ---------------------------------------------------------------------- parsing

def _parse_files(files, with_ratings: bool):
    """Raw (movie id, customer id, rating) columns of all ``files``, in file order, and
    ``where(row)``: the file and line of a row, for messages.

    A per-movie file (``mv_0000001.txt``) must hold only the movie its name says.
    """
    shortest = text.SHORTEST_RATING_LINE if with_ratings else text.SHORTEST_PROBE_LINE
    # Every row needs at least `shortest` bytes, which bounds the row count from the sizes.
    # Pages of the arrays beyond the real count are never touched, so they cost no memory.
    capacity = sum(file.stat().st_size // shortest + 1 for file in files)
    movie = np.empty(capacity, np.int32)
    user = np.empty(capacity, np.int32)
    rating = np.empty(capacity if with_ratings else 0, np.int8)
    file_starts = [0]
    for file in files:
        data = np.fromfile(file, dtype=np.uint8)
        rows, error, offset = text.parse_blocks(data, with_ratings, movie, user, rating,
                                                file_starts[-1])
        if error:
            raise BadValueError(_error_message(file, data, offset, text.ERRORS[error]))
        _check_movie_of_file(file, movie[file_starts[-1]:rows])
        file_starts.append(rows)
    for column in (movie, user, rating) if with_ratings else (movie, user):
        column.resize(file_starts[-1], refcheck=False)  # shrinks in place (realloc), no copy

    def where(row):
        k = int(np.searchsorted(file_starts, row, side="right")) - 1
        return f"{files[k]}:{_line_of_row(files[k], row - file_starts[k])[0]}"
    return movie, user, rating, where


def _check_movie_of_file(file: Path, movies: np.ndarray):
    named = PER_MOVIE_FILE.fullmatch(file.name)
    if named is None or not len(movies):
        return
    other = np.flatnonzero(movies != int(named.group(1)))
    if len(other):
        number, line = _line_of_row(file, int(other[0]), header=True)
        raise BadValueError(f"{file}:{number}: the header says movie {movies[other[0]]}, the "
                            f"file name movie {int(named.group(1))}: {line!r}")


def _error_message(file, data, offset, problem):
    line_number = int(np.count_nonzero(data[:offset] == ord("\n"))) + 1
    line = bytes(data[offset:offset + 200]).split(b"\n")[0].decode("latin-1").rstrip("\r")
    return f"{file}:{line_number}: {problem}: {line!r}"


def _movie_index(movie_raw, catalogue):
    """Dense movie indices over the rated movies and those in the titles file."""
    movie, rated_ids = dense_ids(movie_raw, "movie", overwrite=True)
    listed = np.fromiter(catalogue, dtype=np.int64, count=len(catalogue))
    movie_ids = np.union1d(rated_ids, listed)
    if len(movie_ids) > len(rated_ids):
        np.take(np.searchsorted(movie_ids, rated_ids).astype(np.int32), movie, out=movie)
    return movie, movie_ids


def _hold_out_probe(ratings: Ratings, probe_file: Path):
    movie_raw, user_raw, _, where = _parse_files([probe_file], with_ratings=False)
    if len(movie_raw) == 0:
        raise BadValueError(f"{probe_file}: lists no pairs to hold out")
    movie = _dense_or_error(ratings.movie_ids, movie_raw, probe_file, "movie")
    user = _dense_or_error(ratings.user_ids, user_raw, probe_file, "customer")
    try:
        return ratings.split_pairs(movie, user, where=where)
    except UnknownKeyError as exc:
        raise BadValueError(str(exc)) from None


def _dense_or_error(known_ids, raw, probe_file, what):
    """Dense indices of ``raw`` ids; ValueError naming the probe line of the first unknown."""
    position = np.searchsorted(known_ids, raw)
    unknown = (position == len(known_ids))
    unknown[~unknown] = known_ids[position[~unknown]] != raw[~unknown]
    if unknown.any():
        row = int(np.flatnonzero(unknown)[0])
        number, line = _line_of_row(probe_file, row, header=(what == "movie"))
        raise BadValueError(f"{probe_file}:{number}: {what} {raw[row]} is not in the ratings: "
                            f"{line!r}")
    return position.astype(np.int32)


def _line_of_row(file, row, header=False):
    """Line number and text of the ``row``-th data line (0-based) of a block file, or of the
    ``MovieID:`` line above it. Only called to report an error, so plain Python is fine."""
    with open(file, "rb") as lines:
        for number, line in enumerate(lines, 1):
            line = line.strip()
            if line.endswith(b":"):
                header_line = number, line.decode("latin-1")
            elif line:
                if row == 0:
                    return header_line if header else (number, line.decode("latin-1"))
                row -= 1
    raise AssertionError("row beyond the end of the file")


# ---------------------------------------------------------------------- writing

def write_netflix(ratings: Ratings, directory, layout: str = "combined", probe=None,
                  n_files: int = 4) -> Path:
    """Write ``ratings`` in the Netflix Prize layout; return the folder.

    ``layout="training_set"`` writes ``training_set/mv_XXXXXXX.txt`` per movie and
    ``movie_titles.txt``; ``layout="combined"`` writes ``n_files`` ``combined_data_N.txt``
    and ``movie_titles.csv`` (the Kaggle copy). Both Latin-1, rows grouped by movie in movie
    id order, dates made up (a hash of the pair). ``probe`` (a `Ratings` on the same ids)
    writes ``probe.txt``. The folder is assembled under a temporary name and renamed.

    >>> from numpy_movievec.data.synthetic import synthetic
    >>> import tempfile
    >>> folder = write_netflix(synthetic(2000), tempfile.mkdtemp() + "/netflix")
    >>> len(load_netflix(folder))
    2000
    """
    if layout not in ("combined", "training_set"):
        raise BadValueError(f"layout must be 'combined' or 'training_set', got {layout!r}")
    _check_writable(ratings)
    with staged_directory(directory) as staging:
        blocks = _movie_blocks(ratings)
        if layout == "training_set":
            (staging / "training_set").mkdir()
            for movie, rows in enumerate(blocks):
                path = staging / "training_set" / f"mv_{ratings.movie_ids[movie]:07d}.txt"
                _write_blocks(path, ratings, [(movie, rows)], with_ratings=True)
            _write_titles(staging / "movie_titles.txt", ratings)
        else:
            for number, movies in enumerate(_balanced_groups(ratings.movie_counts, n_files), 1):
                _write_blocks(staging / f"combined_data_{number}.txt", ratings,
                              [(movie, blocks[movie]) for movie in movies], with_ratings=True)
            _write_titles(staging / "movie_titles.csv", ratings)
        if probe is not None:
            probe_blocks = _movie_blocks(probe)
            _write_blocks(staging / PROBE_FILE, probe,
                          [(m, rows) for m, rows in enumerate(probe_blocks) if len(rows)],
                          with_ratings=False)
    return Path(directory)


def _check_writable(ratings: Ratings):
    if ratings.rating.dtype != np.int8:
        raise BadValueError("Netflix files hold whole stars; these ratings have fractions")
    ids = np.concatenate([ratings.movie_ids, ratings.user_ids])
    if len(ids) and (ids.min() < 0 or ids.max() > 999_999_999):
        raise BadValueError("Netflix files need movie and customer ids within 0..999,999,999")


def _movie_blocks(ratings: Ratings):
    """Row indices of each movie, in stored order (a stable sort by movie)."""
    order = np.argsort(ratings.movie, kind="stable")
    return np.split(order, np.cumsum(ratings.movie_counts)[:-1])


def _balanced_groups(counts, n_groups):
    """Consecutive runs of movies with about equal numbers of rows."""
    cumulative = np.cumsum(counts)
    cuts = np.searchsorted(cumulative, cumulative[-1] * np.arange(1, n_groups) / n_groups)
    return np.split(np.arange(len(counts)), cuts)


def _write_blocks(path, ratings: Ratings, blocks, with_ratings: bool):
    largest = max((len(rows) for _, rows in blocks), default=0)
    out = np.empty(32 + largest * text.LONGEST_LINE, np.uint8)
    with open(path, "wb") as file:
        for movie, rows in blocks:
            size = text.format_block(int(ratings.movie_ids[movie]),
                                     ratings.user_ids[ratings.user[rows]], ratings.rating[rows],
                                     with_ratings, text.DATES, out)
            file.write(out[:size])


def _write_titles(path, ratings: Ratings):
    years = ratings.years if ratings.years is not None else np.zeros(ratings.n_movies, np.int16)
    lines = [f"{movie_id},{year if year else 'NULL'},{title or ''}\n"
             for movie_id, year, title in zip(ratings.movie_ids.tolist(), years.tolist(),
                                              ratings.titles)]
    try:
        Path(path).write_bytes("".join(lines).encode("latin-1"))
    except UnicodeEncodeError as exc:
        raise BadValueError(f"{path}: title {exc.object[exc.start - 20:exc.end + 20]!r} "
                            "has characters Latin-1 cannot hold") from None
