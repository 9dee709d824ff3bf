"""Bad input and faults, as a new user meets them: each case is a table row.

Every case runs the ``movievec`` command in-process and states either the exact one-line
error it must print (exit status 2, no traceback, nothing written) or the exact data it must
store. The library-level behaviour behind each row is tested beside its module; this file is
the user's view, and the list docs/bad-input-and-faults.md describes.
"""

import json
import os
import shlex
import shutil
import signal
import stat
from pathlib import Path

import numpy as np
import pytest

import numpy_movievec as mv
from numpy_movievec import cli

TINY = ["--epochs", "1", "--dim", "4", "--hidden", "8", "--engine", "numpy", "--quiet"]


@pytest.fixture(scope="module")
def made(tmp_path_factory):
    """A tiny synthetic store and a model trained on it, made through the command."""
    folder = tmp_path_factory.mktemp("made")
    assert cli.main(["prepare", "synthetic", "-o", str(folder / "store"), "--ratings", "20000",
                     "--seed", "1"]) == 0
    assert cli.main(["train", str(folder / "store"), "-o", str(folder / "model.npz"),
                     *TINY]) == 0
    return folder


@pytest.fixture
def here(made, tmp_path):
    """A fresh folder holding copies of the store and the model, free to damage."""
    shutil.copytree(made / "store", tmp_path / "store")
    shutil.copy(made / "model.npz", tmp_path / "model.npz")
    return tmp_path


def run(argv, here):
    return cli.main([arg.format(d=here) for arg in argv])


def one_line_error(capsys) -> str:
    err = capsys.readouterr().err
    assert "Traceback" not in err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("movievec: error: "), err
    return lines[0].removeprefix("movievec: error: ")


def write(path: Path, text: str, encoding="utf-8"):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(text.encode(encoding))


# ---------------------------------------------------------------------- damaging things

def edit_store_header(**changes):
    def edit(here):
        path = here / "store" / "header.json"
        header = json.loads(path.read_text())
        header.update(changes)
        path.write_text(json.dumps(header))
    return edit


def drop_store_header_key(key):
    def edit(here):
        path = here / "store" / "header.json"
        header = json.loads(path.read_text())
        del header[key]
        path.write_text(json.dumps(header))
    return edit


def edit_store_column(name, row, value):
    def edit(here):
        path = here / "store" / f"{name}.npy"
        column = np.load(path)
        column[row] = value
        np.save(path, column)
    return edit


def replace_store_file(name, content: bytes):
    def edit(here):
        (here / "store" / name).write_bytes(content)
    return edit


def truncate(path_in_here, keep_bytes):
    def edit(here):
        path = here / path_in_here
        path.write_bytes(path.read_bytes()[:keep_bytes])
    return edit


def files(**contents):
    """Write ``name=text`` files (``__`` in a name is a folder separator)."""
    def edit(here):
        for name, text in contents.items():
            write(here / name.replace("__", "/").replace("_DOT_", "."), text)
    return edit


NETFLIX_MOVIE_1 = "1:\n6,3,2005-09-06\n2649429,5,2004-02-02\n"


# ---------------------------------------------------------------------- one-line errors

ERRORS = [
    # --- files that used to be read wrongly, silently
    ("ratings.csv without the header names",
     files(ml__ratings_DOT_csv="user,movie,stars,time\n1,31,2.5,1\n"),
     ["prepare", "movielens", "{d}/ml", "-o", "{d}/out"],
     "ml/ratings.csv:1: the header row must name the columns 'userId', 'movieId', 'rating'; "
     "it has 'user', 'movie', 'stars', 'time' (no header row?)"),
    ("ratings.csv with no header at all",
     files(ml__ratings_DOT_csv="1,31,2.5,1260759144\n1,1029,3.0,1260759179\n"),
     ["prepare", "movielens", "{d}/ml", "-o", "{d}/out"],
     "ml/ratings.csv:1: the header row must name the columns 'userId', 'movieId', 'rating'; "
     "it has '1', '31', '2.5', '1260759144' (no header row?)"),
    ("ratings.csv rows with more fields than the header",
     files(ml__ratings_DOT_csv="userId,movieId,rating,timestamp\n9,1,31,2.5,1\n9,2,5,3.0,1\n"),
     ["prepare", "movielens", "{d}/ml", "-o", "{d}/out"],
     "ml/ratings.csv:2: 5 fields, but the header names 4 (userId, movieId, rating, timestamp)"),
    ("u.data rows with an extra field",
     files(ml__u_DOT_data="196\t242\t3\t881250949\t7\n186\t302\t3\t891717742\t7\n"),
     ["prepare", "movielens", "{d}/ml", "-o", "{d}/out"],
     "ml/u.data:1: 5 fields, but the layout has 4 (user, movie, rating, timestamp)"),
    ("prepare csv: one row with an extra field",
     files(r_DOT_csv="movie,user,rating\n1,10,4\n2,10,5,7\n"),
     ["prepare", "csv", "{d}/r.csv", "-o", "{d}/out"],
     "r.csv:3: 4 fields, but the lines above have 3"),
    ("a user id beyond int64",
     files(ml__ratings_DOT_csv="userId,movieId,rating,timestamp\n99999999999999999999,1,4,1\n"),
     ["prepare", "movielens", "{d}/ml", "-o", "{d}/out"],
     "ml/ratings.csv:2: user id 99999999999999999999 does not fit in a 64-bit integer"),
    ("a movie id of 2**64 - 1",
     files(r_DOT_csv="movie,user,rating\n1,10,4\n18446744073709551615,10,5\n"),
     ["prepare", "csv", "{d}/r.csv", "-o", "{d}/out"],
     "r.csv:3: movie id 18446744073709551615 does not fit in a 64-bit integer"),
    ("a rating that is not a number",
     files(r_DOT_csv="movie,user,rating\n1,10,4\n2,10,five\n"),
     ["prepare", "csv", "{d}/r.csv", "-o", "{d}/out"],
     "r.csv:3: rating 'five' is not a number"),
    ("a (movie, user) pair rated twice",
     files(r_DOT_csv="movie,user,rating\n1,10,4\n2,10,5\n1,10,2\n"),
     ["prepare", "csv", "{d}/r.csv", "-o", "{d}/out"],
     "r.csv:4: pair (movie id 1, user id 10) was rated before, at {d}/r.csv:2 (repeated "
     "ratings in all: 1). Choose which to keep: duplicates='first', 'last' or 'all' "
     "(movievec prepare --duplicates ...)"),
    ("a store whose ratings were edited to 100",
     edit_store_column("rating", 7, 100),
     ["train", "{d}/store", "-o", "{d}/m.npz", *TINY],
     "store/rating.npy, row 7: rating 100 is outside 1..5"),
    ("a store whose ratings were edited to -7",
     edit_store_column("rating", 0, -7),
     ["train", "{d}/store", "-o", "{d}/m.npz", *TINY],
     "store/rating.npy, row 0: rating -7 is outside 1..5"),
    ("a store header whose n_movies disagrees with its titles",
     edit_store_header(n_movies=250),
     ["train", "{d}/store", "-o", "{d}/m.npz", *TINY],
     "store/movie_ids.npy: shape (251,), the header says (250,) (n_movies)"),
    # --- Netflix decisions
    ("a Netflix data set with no ratings",
     files(nf__combined_data_1_DOT_txt="", nf__combined_data_2_DOT_txt=""),
     ["prepare", "netflix", "{d}/nf", "-o", "{d}/out"],
     "nf: the rating files hold no ratings (2 files)"),
    ("mv_0000001.txt whose header says 7:",
     files(nf__training_set__mv_0000001_DOT_txt="7:\n6,3,2005-09-06\n"),
     ["prepare", "netflix", "{d}/nf", "-o", "{d}/out"],
     "nf/training_set/mv_0000001.txt:1: the header says movie 7, the file name movie 1: '7:'"),
    ("a probe pair listed twice",
     files(nf__combined_data_1_DOT_txt=NETFLIX_MOVIE_1, nf__probe_DOT_txt="1:\n6\n2649429\n6\n"),
     ["prepare", "netflix", "{d}/nf", "-o", "{d}/out", "--probe"],
     "nf/probe.txt:4: pair (movie id 1, user id 6) is listed twice (also at {d}/nf/probe.txt:2)"),
    ("a titles year of 99999",
     files(nf__combined_data_1_DOT_txt=NETFLIX_MOVIE_1,
           nf__movie_titles_DOT_csv="1,99999,Dinosaur Planet\n"),
     ["prepare", "netflix", "{d}/nf", "-o", "{d}/out"],
     "nf/movie_titles.csv:1: year 99999 is not a year (NULL or 1..9999): "
     "'1,99999,Dinosaur Planet'"),
    # --- outputs that would lose finished work
    ("train -o naming a directory",
     files(out__keep_DOT_txt="mine"),
     ["train", "{d}/store", "-o", "{d}/out", *TINY],
     "out is a directory, not a file to write"),
    ("demo --out onto a file",
     files(out="not a folder"),
     ["demo", "--ratings", "20000", "--epochs", "1", "--engine", "numpy", "--quiet", "--out",
      "{d}/out"],
     "out is not a folder (to write movievec-demo-model.npz in)"),
    ("prepare --probe-store equal to -o",
     files(nf__combined_data_1_DOT_txt=NETFLIX_MOVIE_1, nf__probe_DOT_txt="1:\n6\n"),
     ["prepare", "netflix", "{d}/nf", "-o", "{d}/s", "--probe", "--probe-store", "{d}/s"],
     "s and {d}/s would overwrite each other: give each store its own place"),
    ("prepare -o onto a folder that is not a store",
     files(out__keep_DOT_txt="mine"),
     ["prepare", "synthetic", "-o", "{d}/out", "--ratings", "5000"],
     "out: already exists and is not a store; not overwriting it"),
    ("--checkpoint holding more training, without --resume",
     lambda here: shutil.copy(here / "model.npz", here / "ck.npz"),
     ["train", "{d}/store", "-o", "{d}/m.npz", "--checkpoint", "{d}/ck.npz", *TINY],
     "ck.npz holds more training (1 epoch, 18 steps) than this model (0 epochs, 0 steps); "
     "resume it, or overwrite it"),
    ("resuming with another --batch-size",
     None,
     ["train", "{d}/store", "-o", "{d}/m.npz", "--resume", "{d}/model.npz", "--batch-size",
      "512", "--epochs", "1", "--engine", "numpy", "--quiet"],
     "model.npz was trained with --batch-size 1024; this run has --batch-size 512. Resuming "
     "keeps the same value (a different one would change the shuffling, or the data)"),
    ("resuming with another --seed (another split)",
     None,
     ["train", "{d}/store", "-o", "{d}/m.npz", "--resume", "{d}/model.npz", "--seed", "1",
      "--epochs", "1", "--engine", "numpy", "--quiet"],
     "model.npz was trained with --seed 0; this run has --seed 1. Resuming keeps the same "
     "value (a different one would change the shuffling, or the data)"),
    ("resuming with another --valid-fraction",
     None,
     ["train", "{d}/store", "-o", "{d}/m.npz", "--resume", "{d}/model.npz",
      "--valid-fraction", "0.2", "--epochs", "1", "--engine", "numpy", "--quiet"],
     "model.npz was trained with --valid-fraction 0.1; this run has --valid-fraction 0.2. "
     "Resuming keeps the same split, or validation ratings would leak into training"),
    # --- damaged files: one line, naming the file
    ("a truncated model file",
     truncate("model.npz", 1000),
     ["similar", "{d}/model.npz", "Yojimbo"],
     "model.npz: not a numpy_movievec file, or a damaged one (BadZipFile: "),
    ("an empty model file",
     truncate("model.npz", 0),
     ["info", "{d}/model.npz"],
     "model.npz: not a numpy_movievec file, or a damaged one (EOFError: "),
    ("a 0-byte store column",
     replace_store_file("user.npy", b""),
     ["info", "{d}/store"],
     "store/user.npy: not a .npy column ("),
    ("a truncated store column",
     truncate("store/movie.npy", 5000),
     ["train", "{d}/store", "-o", "{d}/m.npz", *TINY],
     "store/movie.npy: 5,000 bytes, expected 80,128 for 20,000 entries (truncated or damaged)"),
    ("a store header that is JSON but not an object",
     replace_store_file("header.json", b"[1, 2]"),
     ["info", "{d}/store"],
     "store/header.json: the header is JSON but not an object: '[1, 2]'"),
    ("a store header without n_users",
     drop_store_header_key("n_users"),
     ["info", "{d}/store"],
     "store/header.json: the header has no 'n_users' entry"),
    ("a store header whose version is a string",
     edit_store_header(format_version="1"),
     ["info", "{d}/store"],
     "store/header.json: format_version must be a whole number >= 1, got '1'"),
    ("a store header claiming 10**12 users",
     edit_store_header(n_users=10**12),
     ["train", "{d}/store", "-o", "{d}/m.npz", *TINY],
     "store/header.json: n_users 1,000,000,000,000 is beyond 2**31 - 1"),
    ("a store header claiming 10**9 users",
     edit_store_header(n_users=10**9),
     ["train", "{d}/store", "-o", "{d}/m.npz", *TINY],
     "store/user_ids.npy: shape (1232,), the header says (1000000000,) (n_users)"),
    ("a store from a newer library",
     edit_store_header(format_version=99),
     ["info", "{d}/store"],
     "store/header.json: format version 99 is newer than this numpy_movievec reads (1); "
     "upgrade the library"),
    ("a pickled object array in a store column",
     lambda here: np.save(here / "store" / "titles.npy", np.array([None] * 251, dtype=object),
                          allow_pickle=True),
     ["info", "{d}/store"],
     "store/titles.npy: dtype object, expected unicode"),
    ("a model whose config lost a key",
     lambda here: _rewrite_model_header(here, lambda h: h["config"].pop("dim")),
     ["info", "{d}/model.npz"],
     "model.npz: the model's config must have the entries n_movies, n_users, dim, hidden, "
     "seed; it has {{'n_movies': 251, 'n_users': 1232, 'hidden': [8], 'seed': 0, 'l2': 0.0}}"),
    ("a model whose training counts were damaged",
     lambda here: _rewrite_model_arrays(here, training_counts=np.array([1, 2, 3])),
     ["similar", "{d}/model.npz", "Yojimbo"],
     "model.npz: 'training_counts' must hold 251 whole numbers >= 0; it has shape (3,)"),
    # --- options that cannot work together
    ("--restore-best without validation ratings",
     None,
     ["train", "{d}/store", "-o", "{d}/m.npz", "--valid-fraction", "0", "--restore-best", *TINY],
     "--patience and --restore-best need validation ratings: a --valid-fraction above 0, or "
     "--valid STORE"),
    ("resuming with another --l2",
     None,
     ["train", "{d}/store", "-o", "{d}/m.npz", "--resume", "{d}/model.npz", "--l2", "0.1",
      "--epochs", "1", "--engine", "numpy", "--quiet"],
     "--l2 0.1 differs from the resumed model's 0.0; leave it out when resuming"),
    ("a map of one movie",
     None,
     ["plot", "{d}/model.npz", "-o", "{d}/map.png", "--top", "1"],
     "a map needs at least 2 movies and 2 dimensions; got 1 movie of 4 dimensions"),
    ("export with nothing to write",
     None,
     ["export", "{d}/model.npz"],
     "say what to write: --csv FILE, --projector DIR or --word2vec FILE"),
    ("a query filter on vectors without counts",
     lambda here: mv.MovieVectors(np.eye(3), titles=["a", "b", "c"]).save(here / "v.npz"),
     ["similar", "{d}/v.npz", "a", "--min-count", "5"],
     "v.npz has no rating counts, which --min-count and --restrict rank by"),
]


def _rewrite_model_arrays(here, **arrays):
    """Rewrite model.npz with some of its arrays replaced."""
    path = here / "model.npz"
    with np.load(path, allow_pickle=False) as archive:
        saved = {name: archive[name] for name in archive.files}
    np.savez(path, **{**saved, **arrays})


def _rewrite_model_header(here, change):
    """Rewrite model.npz with its JSON header changed by ``change(header)``."""
    path = here / "model.npz"
    with np.load(path, allow_pickle=False) as archive:
        arrays = {name: archive[name] for name in archive.files}
    header = json.loads(str(arrays["__header__"]))
    change(header)
    arrays["__header__"] = np.array(json.dumps(header))
    np.savez(path, **arrays)


@pytest.mark.parametrize("case, damage, argv, message", ERRORS, ids=[row[0] for row in ERRORS])
def test_bad_input_is_one_line_naming_the_problem(case, damage, argv, message, here, capsys):
    if damage is not None:
        damage(here)
    before = sorted(p.relative_to(here) for p in here.rglob("*"))
    assert run(argv, here) == 2
    error = one_line_error(capsys)
    expected = message.format(d=here)
    assert expected in error, f"{case}:\n  expected {expected!r}\n  got      {error!r}"
    after = sorted(p.relative_to(here) for p in here.rglob("*"))
    assert after == before  # nothing written, nothing half-written


@pytest.mark.parametrize("argv, message", [
    (["similar", "{d}/model.npz", "Yojimbo", "--topn", "-3"], "expected a whole number >= 1, "
                                                               "got '-3'"),
    (["train", "{d}/store", "-o", "{d}/m.npz", "--batch-size", "-5"],
     "expected a whole number >= 1, got '-5'"),
    (["prepare", "synthetic", "-o", "{d}/s", "--ratings", "-5"],
     "expected a whole number >= 1, got '-5'"),
    (["plot", "{d}/model.npz", "-o", "{d}/map.jpg"], "cannot write '.jpg' images; use one of "
                                                     ".png, .svg"),
    (["similar", "{d}/model.npz", "Yojimbo", "--topn", "inf"], "expected a whole number >= 1, "
                                                                "got 'inf'"),
    (["train", "{d}/store", "-o", "{d}/m.npz", "--l2", "-1"], "expected a number >= 0, got '-1'"),
])
def test_bad_option_values_are_usage_errors_saying_the_bound(argv, message, here, capsys):
    assert run(argv, here) == 2
    err = capsys.readouterr().err
    assert err.startswith("usage: movievec") and message in err and "Traceback" not in err


def test_a_read_only_folder_is_refused_before_training(here, capsys, monkeypatch):
    folder = unwritable_folder(here)
    trained = []
    monkeypatch.setattr(mv, "fit", lambda *args, **kwargs: trained.append(1))
    assert run(["train", "{d}/store", "-o", str(folder / "m.npz"), *TINY], here) == 2
    assert one_line_error(capsys).startswith(f"cannot write {folder / 'm.npz'}: ")
    assert trained == []


def test_a_demo_map_that_cannot_be_written_is_refused_before_the_work(here, capsys,
                                                                       monkeypatch):
    folder = unwritable_folder(here)
    monkeypatch.setattr("numpy_movievec.data.synthetic", lambda *a, **k: pytest.fail("worked"))
    assert run(["demo", "--out", "{d}", "-o", str(folder / "map.png")], here) == 2
    assert one_line_error(capsys).startswith(f"cannot write {folder / 'map.png'}: ")


def unwritable_folder(here) -> Path:
    """A folder this process cannot create files in (root ignores permission bits, but not
    a file system that refuses new files, such as /sys)."""
    if os.geteuid() != 0:
        folder = here / "read-only"
        folder.mkdir()
        folder.chmod(stat.S_IRUSR | stat.S_IXUSR)
        return folder
    try:
        open("/sys/.movievec-probe", "xb").close()
    except OSError:
        return Path("/sys")
    os.unlink("/sys/.movievec-probe")
    pytest.skip("running as root with no read-only folder to try")


# ---------------------------------------------------------------------- what gets stored

def stored(here, name="out") -> mv.Ratings:
    return mv.Ratings.load(here / name, mmap=False)


def test_ratings_csv_is_read_by_its_header_names(here):
    write(here / "ml" / "ratings.csv", "movieId,timestamp,userId,rating\n31,1,7,2.5\n"
                                       "1029,1,7,3.0\n31,1,8,4.0\n")
    assert run(["prepare", "movielens", "{d}/ml", "-o", "{d}/out"], here) == 0
    r = stored(here)
    assert r.movie_ids.tolist() == [31, 1029] and r.user_ids.tolist() == [7, 8]
    assert r.movie_ids[r.movie].tolist() == [31, 1029, 31]
    assert r.user_ids[r.user].tolist() == [7, 7, 8] and r.rating.tolist() == [2.5, 3.0, 4.0]


@pytest.mark.parametrize("policy, movies, users, stars", [
    ("first", [1, 2, 3], [10, 10, 11], [4, 5, 1]),
    ("last", [2, 1, 3], [10, 10, 11], [5, 2, 1]),
    ("all", [1, 2, 1, 3], [10, 10, 10, 11], [4, 5, 2, 1]),
])
def test_repeated_pairs_keep_what_was_asked_and_say_so(policy, movies, users, stars, here,
                                                        capsys):
    write(here / "r.csv", "movie,user,rating\n1,10,4\n2,10,5\n1,10,2\n3,11,1\n")
    assert run(["prepare", "csv", "{d}/r.csv", "-o", "{d}/out", "--duplicates", policy],
               here) == 0
    kept = "all were kept" if policy == "all" else f"kept the {policy} rating of each pair"
    assert capsys.readouterr().out.splitlines()[-1] == (
        f"note: 1 rating repeated a (movie, user) pair rated before; {kept}")
    r = stored(here)
    assert r.movie_ids[r.movie].tolist() == movies and r.user_ids[r.user].tolist() == users
    assert r.rating.tolist() == stars
    assert r.duplicates == {"repeated": 1, "kept": policy}


def test_the_probe_store_holds_exactly_the_probe_pairs(here):
    write(here / "nf" / "combined_data_1.txt", NETFLIX_MOVIE_1 + "2:\n6,4,2005-01-01\n")
    write(here / "nf" / "probe.txt", "1:\n2649429\n2:\n6\n")
    assert run(["prepare", "netflix", "{d}/nf", "-o", "{d}/s", "--probe"], here) == 0
    train, probe = stored(here, "s"), stored(here, "s-probe")
    assert train.rating.tolist() == [3] and probe.rating.tolist() == [5, 4]


# ---------------------------------------------------------------------- faults

def test_stores_and_models_follow_the_umask(here):
    previous = os.umask(0o027)
    try:
        assert run(["prepare", "synthetic", "-o", "{d}/s", "--ratings", "5000"], here) == 0
        assert run(["train", "{d}/s", "-o", "{d}/m.npz", *TINY], here) == 0
    finally:
        os.umask(previous)
    assert stat.S_IMODE((here / "s").stat().st_mode) == 0o750
    assert stat.S_IMODE((here / "s" / "rating.npy").stat().st_mode) == 0o640
    assert stat.S_IMODE((here / "m.npz").stat().st_mode) == 0o640


def test_a_killed_save_leaves_temporaries_the_next_save_removes(here):
    dead = _dead_pid()
    stale_store = here / f".out.{dead}.0a1b2c3d.tmp"
    stale_store.mkdir()
    (stale_store / "rating.npy").write_bytes(b"\0" * 1000)
    stale_model = here / f".m.npz.{dead}.9f8e7d6c.tmp"
    stale_model.write_bytes(b"half a model")
    live = here / f".out.{os.getppid()}.11223344.tmp"  # a running process's: left alone
    live.mkdir()
    assert run(["prepare", "synthetic", "-o", "{d}/out", "--ratings", "5000"], here) == 0
    assert run(["train", "{d}/out", "-o", "{d}/m.npz", *TINY], here) == 0
    assert not stale_store.exists() and not stale_model.exists() and live.exists()


def _dead_pid() -> int:
    """The pid of a process that has ended."""
    pid = os.fork()
    if pid == 0:
        os._exit(0)
    os.waitpid(pid, 0)
    return pid


def test_a_failed_final_save_rescues_the_model_and_says_where(here, capsys, monkeypatch):
    rescue = here / "rescue"
    rescue.mkdir()
    monkeypatch.setattr(mv.archive.tempfile, "tempdir", str(rescue))
    target, real_save = here / "m.npz", mv.RatingNet.save

    def disk_full(self, path, ratings=None):
        if Path(path) == target:
            raise OSError(28, "No space left on device")
        return real_save(self, path, ratings)

    monkeypatch.setattr(mv.RatingNet, "save", disk_full)
    assert run(["train", "{d}/store", "-o", str(target), *TINY], here) == 2
    [rescued] = rescue.iterdir()
    assert one_line_error(capsys) == (f"could not write {target} (No space left on device); "
                                      f"the trained model was saved to {rescued} instead")
    assert mv.RatingNet.load(rescued).epochs_trained == 1
    assert mv.MovieVectors.load(rescued).titles is not None  # with the catalogue


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
def test_an_interrupted_train_prints_the_command_that_finishes_it_exactly(signum, here, capsys,
                                                                          monkeypatch):
    argv = ["train", "{d}/store", "-o", "{d}/stopped.npz", "--epochs", "2", "--dim", "4",
            "--hidden", "8", "--engine", "numpy", "--batch-size", "2000", "--quiet"]
    assert run([*argv[:3], "{d}/straight.npz", *argv[4:]], here) == 0

    engine = mv.train.ENGINES["numpy"]
    original, calls = engine.train_batches, {"n": 0}

    def signal_in_epoch_two(self, *args):
        calls["n"] += 1
        if calls["n"] == 9 + 3:  # epoch 1 has 9 batches of 2000 (18,000 training ratings)
            signal.raise_signal(signum)
        return original(self, *args)

    monkeypatch.setattr(engine, "train_batches", signal_in_epoch_two)
    assert run(argv, here) == 128 + signum
    err = capsys.readouterr().err.strip().splitlines()
    assert err[-2] == (f"movievec: interrupted ({signal.Signals(signum).name}) during epoch 2; "
                       f"{here}/stopped.npz holds the point reached. Continue with:")
    command = shlex.split(err[-1])
    assert command[:2] == ["movievec", "train"] and "--resume" in command
    monkeypatch.setattr(engine, "train_batches", original)
    assert cli.main(command[1:]) == 0
    finished, straight = (mv.RatingNet.load(here / name) for name in ("stopped.npz",
                                                                      "straight.npz"))
    assert finished.epochs_trained == 2 and finished.partial_epoch is None
    for name in straight.params:
        np.testing.assert_array_equal(finished.params[name], straight.params[name], name)


def test_too_big_a_batch_says_how_much_memory_it_needs(here, capsys, monkeypatch):
    monkeypatch.setattr(mv.checks, "physical_memory", lambda: 5_000_000)  # 5 MB of RAM
    assert run(["train", "{d}/store", "-o", "{d}/m.npz", "--batch-size", "100000000",
                *TINY], here) == 2
    # The batch is all 18,000 training ratings. Per rating, dim 4 and one hidden layer of 8:
    # 3·8 + 3·8 + 4·8 = 80 floats, 320 bytes, + 32 of row bookkeeping → 6,336,000 bytes.
    # State: 6,013 parameters × 3 × 4 bytes + 8 × 1,483 row steps = 84,020 bytes.
    assert one_line_error(capsys) == (
        "training with batches of 18,000 ratings (6.3 MB per step, 84.0 kB of parameters and "
        "optimizer state) needs 6.4 MB of memory; this machine has 5.0 MB of RAM; use a "
        "smaller batch size")


def test_a_bug_keeps_its_traceback(made, monkeypatch):
    def buggy(args):
        return len(None)  # a TypeError: ours, not the user's

    monkeypatch.setattr(cli.arguments, "cmd_info", buggy)
    with pytest.raises(TypeError):
        cli.main(["info", str(made / "model.npz")])


def test_library_errors_are_the_standard_types():
    with pytest.raises(ValueError, match="n_ratings must be a whole number >= 1, got -5"):
        mv.synthetic(-5)
    with pytest.raises(ValueError, match="movie indices must be integers, got dtype float64"):
        mv.RatingNet(3, 3).predict([0.0], [1])
    with pytest.raises(ValueError, match="movie indices must be integers, got dtype float64"):
        mv.Ratings([0.0], [1], [3])
    with pytest.raises(KeyError, match="unknown user id 8"):
        mv.Ratings([0], [0], [3], user_ids=[7]).user_index([8])
    with pytest.raises(FileNotFoundError, match="no-store: not a ratings store"):
        mv.Ratings.load("no-store")
    assert issubclass(mv.checks.BadValueError, mv.MovievecError)


def test_a_damaged_model_file_is_named(here):
    path = here / "model.npz"
    data = bytearray(path.read_bytes())
    data[200:400] = b"\0" * 200  # inside the first member
    path.write_bytes(bytes(data))
    with pytest.raises(ValueError, match="model.npz: not a numpy_movievec file, or a damaged one"):
        mv.RatingNet.load(path)
