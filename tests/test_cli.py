"""The movievec command, run as a user runs it.

Most checks call `main` in-process (fast, one Numba cache); two tests start real processes with
``python -m numpy_movievec`` for the whole prepare → train → query → plot path and for a
user error, checking exit codes, files and that no traceback reaches the user.
"""

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from numpy_movievec import MovieVectors, RatingNet, cli

REPO = Path(__file__).resolve().parents[1]
TINY_MODEL = ["--epochs", "1", "--dim", "8", "--hidden", "16", "--engine", "numpy", "--quiet"]


def run(*argv):
    """``python -m numpy_movievec argv...`` from the repository root, without an install."""
    env = dict(os.environ, PYTHONPATH=str(REPO) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    return subprocess.run([sys.executable, "-m", "numpy_movievec", *map(str, argv)],
                          cwd=REPO, env=env, capture_output=True, text=True, timeout=300)


def assert_one_line_error(code, err, *fragments):
    assert code == 2
    assert "Traceback" not in err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("movievec: error: "), err
    for fragment in fragments:
        assert fragment in lines[0]


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """A tiny synthetic store and a model trained on it, made through the command itself."""
    folder = tmp_path_factory.mktemp("cli")
    store, model = folder / "store", folder / "model.npz"
    assert cli.main(["prepare", "synthetic", "-o", str(store), "--ratings", "20000",
                     "--seed", "1"]) == 0
    assert cli.main(["train", str(store), "-o", str(model), *TINY_MODEL]) == 0
    return store, model


# ---------------------------------------------------------------------- end to end, as a user

def test_end_to_end_in_real_processes(tmp_path):
    store, model, checkpoint, picture = (tmp_path / name for name in
                                         ("data/store", "model.npz", "ckpt.npz", "map.png"))
    done = run("prepare", "synthetic", "-o", store, "--ratings", "20000", "--seed", "1")
    assert done.returncode == 0, done.stderr
    assert (store / "header.json").is_file() and "20,000 ratings" in done.stdout

    done = run("train", store, "-o", model, "--epochs", "2", "--dim", "8", "--hidden", "16,16",
               "--engine", "numpy", "--checkpoint", checkpoint)
    assert done.returncode == 0, done.stderr
    assert "epoch 2:" in done.stderr  # the per-epoch progress summary
    table = done.stdout.splitlines()
    assert table[0].split() == ["epoch", "train", "RMSE", "valid", "RMSE", "seconds"]
    assert [line.split()[0] for line in table[1:3]] == ["1", "2"]
    net = RatingNet.load(model)
    assert (net.epochs_trained, net.dim, net.hidden) == (2, 8, (16, 16))
    assert RatingNet.load(checkpoint).epochs_trained == 2

    done = run("similar", model, "Yojimbo", "--topn", "4")
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0] == "nearest to Yojimbo:"
    assert lines[1].split() == ["rank", "title", "cosine", "ratings"]
    assert [line.split()[0] for line in lines[2:]] == ["1", "2", "3", "4"]
    assert all("Yojimbo" not in line for line in lines[2:])  # the query is not its own answer
    vecs = MovieVectors.load(model)
    answers = vecs.most_similar("Yojimbo", topn=4)
    assert [line.split()[-1] for line in lines[2:]] == [f"{vecs.count(t):,}" for t, _ in answers]

    done = run("counterpart", model, "Yojimbo", "--via", "Ringu", "The Ring", "--json",
               "--method", "offset")
    assert done.returncode == 0, done.stderr
    answer = json.loads(done.stdout)
    expected = MovieVectors.load(model).counterpart("Yojimbo", via=("Ringu", "The Ring"),
                                                    method="offset")
    assert [(r["title"], pytest.approx(r["score"])) for r in answer["results"]] == expected

    done = run("plot", model, "-o", picture, "--top", "50", "--arrow", "Ringu", "The Ring")
    assert done.returncode == 0, done.stderr
    assert picture.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_a_user_error_in_a_real_process_is_one_line_and_exit_2(tmp_path):
    done = run("train", tmp_path / "no-store", "-o", tmp_path / "model.npz")
    assert_one_line_error(done.returncode, done.stderr, "no-store")
    assert not (tmp_path / "model.npz").exists()


def test_python_dash_m_is_the_movievec_command():
    done = run("--help")
    assert done.returncode == 0
    assert done.stdout.startswith("usage: movievec ")
    for command in ("demo", "prepare", "train", "similar", "counterpart", "analogy", "plot",
                    "export", "info"):
        assert command in done.stdout


# ---------------------------------------------------------------------- queries

def test_similar_matches_the_library(trained, capsys):
    _, model = trained
    assert cli.main(["similar", str(model), "Yojimbo", "--topn", "3", "--json"]) == 0
    answer = json.loads(capsys.readouterr().out)
    expected = MovieVectors.load(model).most_similar("Yojimbo", topn=3)
    assert [(r["title"], pytest.approx(r["score"])) for r in answer["results"]] == expected
    assert [r["rank"] for r in answer["results"]] == [1, 2, 3]


def test_analogy_json_and_filters(trained, capsys):
    _, model = trained
    argv = ["analogy", str(model), "--positive", "The Ring", "Yojimbo", "--negative", "Ringu",
            "--method", "3cosmul", "--min-count", "100", "--topn", "5", "--json"]
    assert cli.main(argv) == 0
    answer = json.loads(capsys.readouterr().out)
    vecs = MovieVectors.load(model)
    expected = vecs.most_similar(positive=["The Ring", "Yojimbo"], negative=["Ringu"], topn=5,
                                 method="3cosmul", min_count=100)
    assert [(r["title"], pytest.approx(r["score"])) for r in answer["results"]] == expected
    assert answer["positive"] == ["The Ring", "Yojimbo"] and answer["negative"] == ["Ringu"]
    counts = dict(zip(vecs.titles, vecs.counts))
    assert all(counts[r["title"]] >= 100 for r in answer["results"])


def test_counterpart_table(trained, capsys):
    _, model = trained
    assert cli.main(["counterpart", str(model), "Yojimbo", "--via", "Ringu", "The Ring",
                     "--topn", "2", "--restrict", "40"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == ("Yojimbo moved as Ringu → The Ring (3cosadd) "
                        "(movies among the 40 most rated):")
    assert len(lines) == 4


def test_a_number_is_a_title_first_then_a_movie_id(tmp_path, capsys):
    path = tmp_path / "vectors.npz"
    MovieVectors(np.eye(3), titles=["1984", "Heat", "Ran"], movie_ids=[7, 1984, 3]).save(path)
    assert cli.main(["similar", str(path), "1984", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["positive"] == ["1984"]
    assert cli.main(["similar", str(path), "7", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["positive"] == ["1984"]  # id 7 is "1984"
    assert cli.main(["similar", str(path), "3", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["positive"] == ["Ran"]
    assert_one_line_error(cli.main(["similar", str(path), "42"]), capsys.readouterr().err,
                          "no movie titled '42', nor with id 42")


# ---------------------------------------------------------------------- bad input

def test_unknown_title_suggests_near_matches(trained, capsys):
    _, model = trained
    code = cli.main(["similar", str(model), "Yojimbbo"])
    assert_one_line_error(code, capsys.readouterr().err, "no movie titled 'Yojimbbo'",
                          "did you mean 'Yojimbo'")


def test_ambiguous_title_lists_the_candidates(tmp_path, capsys):
    path = tmp_path / "vectors.npz"
    MovieVectors(np.eye(3), titles=["Hamlet", "Hamlet", "Ran"], years=[1948, 1996, 1985],
                 movie_ids=[1, 2, 3]).save(path)
    code = cli.main(["counterpart", str(path), "Ran", "--via", "Hamlet", "Ran"])
    assert_one_line_error(code, capsys.readouterr().err, "'Hamlet' is ambiguous",
                          "Hamlet (1948) [id 1]", "Hamlet (1996) [id 2]")
    assert cli.main(["similar", str(path), "Hamlet (1996)", "--topn", "1"]) == 0


@pytest.mark.parametrize("argv, fragment", [
    (["similar", "{tmp}/missing.npz", "Yojimbo"], "missing.npz: no such file"),
    (["train", "{tmp}/missing-store", "-o", "{tmp}/m.npz"], "missing-store"),
    (["info", "{tmp}/nothing"], "nothing: no such file or directory"),
    (["prepare", "netflix", "{tmp}/no-netflix", "-o", "{tmp}/s"], "no-netflix"),
    (["prepare", "movielens", "{tmp}", "-o", "{tmp}/s"], "no MovieLens ratings"),
    (["prepare", "csv", "{tmp}/missing.csv", "-o", "{tmp}/s"], "missing.csv: no such file"),
    (["prepare", "csv", "{tmp}/bad.csv", "-o", "{tmp}/s"], "bad.csv:3: rating 9 is outside 1..5"),
    (["prepare", "csv", "{tmp}/bad.csv", "-o", "{tmp}/s", "--user", "customer"], "customer"),
    (["plot", "{tmp}/bad.csv", "-o", "{tmp}/map.png"], "not a numpy_movievec file"),
])
def test_bad_input_is_one_line_and_exit_2(tmp_path, capsys, argv, fragment):
    (tmp_path / "bad.csv").write_text("movie,user,rating\n1,10,4\n2,10,9\n")
    code = cli.main([arg.format(tmp=tmp_path) for arg in argv])
    assert_one_line_error(code, capsys.readouterr().err, fragment)


def test_bad_option_values_are_usage_errors(trained, capsys):
    store, model = trained
    for argv in (["train", str(store), "-o", "m.npz", "--hidden", "64,x"],
                 ["train", str(store), "-o", "m.npz", "--valid-fraction", "1.5"],
                 ["similar", str(model), "Yojimbo", "--topn", "0"],
                 ["counterpart", str(model), "Yojimbo", "--via", "Ringu"],
                 ["nonsense"]):
        assert cli.main(argv) == 2
        err = capsys.readouterr().err
        assert err.startswith("usage: movievec") and "Traceback" not in err


def test_plot_to_an_unknown_format_and_resume_with_other_sizes(trained, tmp_path, capsys):
    store, model = trained
    assert cli.main(["plot", str(model), "-o", str(tmp_path / "map.jpg")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("usage: movievec plot") and "cannot write '.jpg' images" in err
    code = cli.main(["train", str(store), "-o", str(tmp_path / "m.npz"), "--resume", str(model),
                     "--dim", "9", "--engine", "numpy"])
    assert_one_line_error(code, capsys.readouterr().err, "--dim")


def test_plot_without_counts_asks_for_all(tmp_path, capsys):
    vectors, picture = tmp_path / "vectors.npz", tmp_path / "map.svg"
    MovieVectors(np.eye(3), titles=["Ringu", "The Ring", "Ran"]).save(vectors)
    code = cli.main(["plot", str(vectors), "-o", str(picture)])
    assert_one_line_error(code, capsys.readouterr().err, "--all")
    assert cli.main(["plot", str(vectors), "-o", str(picture), "--all",
                     "--arrow", "Ringu", "The Ring"]) == 0
    assert picture.read_text().lstrip().startswith("<?xml")


def test_interrupt_exits_130_and_bugs_keep_their_traceback(monkeypatch, trained, capsys):
    _, model = trained

    def interrupted(args):
        raise KeyboardInterrupt

    monkeypatch.setattr(cli.arguments, "cmd_info", interrupted)  # what the parser runs
    assert cli.main(["info", str(model)]) == 130
    assert capsys.readouterr().err.strip() == "movievec: interrupted"

    def buggy(args):
        raise RuntimeError("a bug")

    monkeypatch.setattr(cli.arguments, "cmd_info", buggy)
    with pytest.raises(RuntimeError):
        cli.main(["info", str(model)])


# ---------------------------------------------------------------------- train, info, help

def test_resume_continues_training(trained, tmp_path, capsys):
    store, model = trained
    out = tmp_path / "more.npz"
    assert cli.main(["train", str(store), "-o", str(out), "--resume", str(model), "--epochs", "1",
                     "--engine", "numpy", "--quiet", "--lr", "2"]) == 0
    net = RatingNet.load(out)
    assert net.epochs_trained == 2 and net.optimizer.lr == 2.0
    assert capsys.readouterr().out.splitlines()[1].split()[0] == "2"  # epochs count on


def test_ctrl_c_during_training_saves_the_model_and_exits_130(trained, tmp_path, monkeypatch,
                                                               capsys):
    import numpy_movievec

    def interrupted_fit(net, *args, **kwargs):  # what fit returns after the first Ctrl-C
        return numpy_movievec.History(interrupted=True, signal=signal.SIGINT)

    monkeypatch.setattr(numpy_movievec, "fit", interrupted_fit)
    store, _ = trained
    out = tmp_path / "model.npz"
    assert cli.main(["train", str(store), "-o", str(out), *TINY_MODEL]) == 130
    assert "--resume" in capsys.readouterr().err
    assert MovieVectors.load(out).titles is not None  # saved, with the catalogue


def test_info_describes_stores_models_and_vectors(trained, tmp_path, capsys):
    store, model = trained
    assert cli.main(["info", str(store), "--json"]) == 0
    facts = json.loads(capsys.readouterr().out)
    assert (facts["ratings"], facts["movies"], facts["users"]) == (20_000, 251, 1_232)
    assert sum(facts["rating_histogram"].values()) == 20_000
    assert cli.main(["info", str(model)]) == 0
    text = capsys.readouterr().out
    assert "RatingNet" in text and "epochs trained      1" in text and "Adadelta(lr=1.0" in text
    vectors = tmp_path / "vectors.npz"
    MovieVectors(np.ones((3, 2))).save(vectors)
    assert cli.main(["info", str(vectors), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["dim"] == 2


def test_prepare_csv_with_titles(tmp_path, capsys):
    (tmp_path / "r.csv").write_text("item;who;stars\n30;7;4\n10;7;5\n30;2649429;1\n")
    (tmp_path / "t.csv").write_text("item;title\n30;Ringu\n10;Yojimbo\n")
    store = tmp_path / "s"
    assert cli.main(["prepare", "csv", str(tmp_path / "r.csv"), "-o", str(store), "--sep", ";",
                     "--movie", "item", "--user", "who", "--rating", "stars",
                     "--titles", str(tmp_path / "t.csv")]) == 0
    from numpy_movievec.data import Ratings

    r = Ratings.load(store)
    assert r.titles == ["Yojimbo", "Ringu"] and r.movie_ids.tolist() == [10, 30]


@pytest.mark.parametrize("command", [[], ["demo"], ["prepare"], ["prepare", "netflix"],
                                     ["prepare", "movielens"], ["prepare", "csv"],
                                     ["prepare", "synthetic"], ["train"], ["similar"],
                                     ["counterpart"], ["analogy"], ["plot"], ["export"],
                                     ["info"]])
def test_every_command_has_help_with_an_example(command, capsys):
    assert cli.main([*command, "--help"]) == 0
    text = capsys.readouterr().out
    assert text.startswith("usage: movievec")
    if command:
        assert "example:\n  movievec " in text


# ---------------------------------------------------------------------- demo

def test_demo_runs_small_and_reports_every_planted_pair(tmp_path, capsys):
    code = cli.main(["demo", "--ratings", "20000", "--epochs", "1", "--engine", "numpy",
                     "--quiet", "--out", str(tmp_path)])
    assert code == 0
    out = capsys.readouterr().out
    assert out.count("  counterpart  rank") == 14 and out.count("  control      rank") == 14
    assert "\nYojimbo → ?   (true: A Fistful of Dollars; via Ringu → The Ring; " in out
    assert "offset: counterpart first for " in out and " of 14 pairs, in the top 5 for " in out
    assert (tmp_path / cli.commands.DEMO_MODEL).is_file() and (tmp_path / cli.commands.DEMO_MAP).is_file()


# ---------------------------------------------------------------------- what issue 10 added

def test_train_with_l2_and_restore_best_is_the_library_run(trained, tmp_path, capsys):
    store, _ = trained
    out = tmp_path / "best.npz"
    assert cli.main(["train", str(store), "-o", str(out), "--epochs", "4", "--dim", "8",
                     "--hidden", "16", "--engine", "numpy", "--quiet", "--l2", "0.05",
                     "--lr", "5", "--restore-best", "--patience", "2"]) == 0
    printed = capsys.readouterr().out
    import numpy_movievec as mv

    ratings = mv.Ratings.load(store)
    train, valid = ratings.split(0.1, seed=0)
    net = mv.RatingNet(ratings.n_movies, ratings.n_users, dim=8, hidden=(16,), l2=0.05)
    history = mv.fit(net, train, valid, epochs=4, optimizer=mv.Adadelta(lr=5.0),
                     engine="numpy", progress=False, patience=2, restore_best=True)
    saved = RatingNet.load(out)
    assert saved.l2 == 0.05 and saved.epochs_trained == net.epochs_trained == history.best_epoch
    for name in net.params:
        np.testing.assert_array_equal(saved.params[name], net.params[name], err_msg=name)
    np.testing.assert_array_equal(saved.training_counts, train.movie_counts)
    assert (f"restored epoch {history.best_epoch}, the best" in printed) == history.restored
    assert f"wrote {out} ({history.best_epoch} epoch" in printed


def test_queries_print_training_ratings_and_warn_about_thin_vectors(tmp_path, capsys):
    path = tmp_path / "vectors.npz"
    MovieVectors([[1, 0], [0.9, 0.1], [0, 1], [0.1, 0.9], [0.5, 0.5]],
                 titles=["Ringu", "The Ring", "Yojimbo", "A Fistful of Dollars", "Heat"],
                 counts=[12, 900, 300, 0, 4000]).save(path)
    assert cli.main(["similar", str(path), "Heat", "--topn", "3"]) == 0
    out, err = capsys.readouterr()
    assert err == ""  # 4,000 training ratings: nothing to warn about
    assert out.splitlines()[2].split()[-1] in {"12", "900", "300"}
    assert "A Fistful of Dollars" not in out  # never trained: left out
    assert cli.main(["counterpart", str(path), "Yojimbo", "--via", "Ringu", "The Ring",
                     "--json", "--include-untrained"]) == 0
    out, err = capsys.readouterr()
    assert err == ("movievec: warning: Ringu has 12 training ratings; its vector has seen too "
                   "little to mean much\n")
    answer = json.loads(out)
    assert answer["counts"] == {"Yojimbo": 300, "Ringu": 12, "The Ring": 900}
    assert answer["results"][0] == {"rank": 1, "title": "A Fistful of Dollars",
                                    "score": pytest.approx(answer["results"][0]["score"]),
                                    "count": 0}
    assert cli.main(["similar", str(path), "A Fistful of Dollars", "--topn", "1"]) == 0
    assert capsys.readouterr().err == ("movievec: warning: A Fistful of Dollars has 0 training "
                                       "ratings; its vector never trained and is random\n")


def test_export_writes_what_the_library_writes(trained, tmp_path, capsys):
    import pandas as pd

    _, model = trained
    out = tmp_path / "out"
    assert cli.main(["export", str(model), "--csv", str(out / "movies.csv"), "--projector",
                     str(out / "projector"), "--word2vec", str(out / "w2v" / "movies.txt")]) == 0
    printed = capsys.readouterr().out.splitlines()
    assert len(printed) == 5 and all(line.startswith("wrote ") for line in printed)
    vecs = MovieVectors.load(model)
    frame = pd.read_csv(out / "movies.csv")
    expected = vecs.to_frame()
    assert list(frame.columns) == list(expected.columns)
    assert frame["title"].tolist() == expected["title"].tolist()
    assert frame["count"].tolist() == vecs.counts.tolist()
    np.testing.assert_array_equal(frame[[f"v{i}" for i in range(vecs.dim)]].to_numpy(np.float32),
                                  vecs.vectors)  # written with all the digits float32 needs
    library = tmp_path / "library"
    vecs.save_projector(library)
    vecs.save_word2vec(library / "movies.txt")
    for name in ("vectors.tsv", "metadata.tsv"):
        assert (out / "projector" / name).read_bytes() == (library / name).read_bytes()
    for name in ("movies.txt", "movies.titles.tsv"):
        assert (out / "w2v" / name).read_bytes() == (library / name).read_bytes()


def test_info_of_vectors_is_their_own_description(tmp_path, capsys):
    path = tmp_path / "vectors.npz"
    vecs = MovieVectors(np.eye(3), titles=["Ran (1985)", None, "Heat"], counts=[5, 0, 7])
    vecs.save(path)
    assert cli.main(["info", str(path), "--json"]) == 0
    assert json.loads(capsys.readouterr().out) == {"path": str(path), **vecs.describe()}


def test_the_continue_command_keeps_patience_and_restore_best():
    args = cli.build_parser().parse_args(["train", "s", "-o", "m.npz", "--patience", "2",
                                          "--restore-best", "--quiet"])
    assert cli.commands.continue_command(args, 3) == ("movievec train s -o m.npz --resume m.npz "
                                             "--epochs 3 --patience 2 --restore-best --quiet")


def test_defaults_come_from_the_library():
    import inspect

    import numpy_movievec as mv

    train = cli.build_parser().parse_args(["train", "s", "-o", "m.npz"])
    fit = inspect.signature(mv.fit).parameters
    for name in ("epochs", "batch_size", "seed", "engine", "threads"):
        assert getattr(train, name) == fit[name].default
    assert train.valid_fraction == inspect.signature(mv.Ratings.split).parameters[
        "valid_fraction"].default
    analogy = cli.build_parser().parse_args(["analogy", "m.npz", "--positive", "Ran"])
    from numpy_movievec.vectors import METHODS

    assert analogy.method == METHODS[0]
    with pytest.raises(SystemExit):
        cli.build_parser().parse_args(["analogy", "m.npz", "--positive", "Ran", "--method",
                                       "cosine"])


def test_restore_best_with_a_validation_store_resumes_after_an_interrupt(tmp_path, monkeypatch,
                                                                         capsys):
    import numpy_movievec as mv

    train, valid = mv.synthetic(20_000, seed=3).split(0.2, seed=0)
    shuffled = np.random.default_rng(0).permutation(valid.rating)  # noise: soon no better
    noise = mv.Ratings(valid.movie, valid.user, shuffled, n_movies=valid.n_movies,
                       n_users=valid.n_users, movie_ids=valid.movie_ids, user_ids=valid.user_ids)
    train.save(tmp_path / "train"), noise.save(tmp_path / "valid")
    argv = ["train", str(tmp_path / "train"), "--valid", str(tmp_path / "valid"), "--epochs",
            "6", "--dim", "8", "--hidden", "16", "--engine", "numpy", "--quiet", "--lr", "5",
            "--batch-size", "2000", "--restore-best", "-o"]
    assert cli.main([*argv, str(tmp_path / "straight.npz")]) == 0
    assert "restored epoch " in capsys.readouterr().out
    engine = mv.train.ENGINES["numpy"]
    original, calls = engine.train_batches, {"n": 0}

    def interrupt_in_epoch_five(self, *args):
        calls["n"] += 1
        if calls["n"] == 4 * 8 + 3:  # 16,000 training ratings: 8 batches an epoch
            signal.raise_signal(signal.SIGINT)
        return original(self, *args)

    monkeypatch.setattr(engine, "train_batches", interrupt_in_epoch_five)
    assert cli.main([*argv, str(tmp_path / "stopped.npz")]) == 130
    command = capsys.readouterr().err.strip().splitlines()[-1].split()
    assert "--restore-best" in command and "--valid" in command
    monkeypatch.setattr(engine, "train_batches", original)
    assert cli.main(command[1:]) == 0
    finished, straight = (RatingNet.load(tmp_path / name) for name in ("stopped.npz",
                                                                      "straight.npz"))
    assert finished.epochs_trained == straight.epochs_trained < 6
    for name in straight.params:
        np.testing.assert_array_equal(finished.params[name], straight.params[name], name)
