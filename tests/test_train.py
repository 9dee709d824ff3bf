"""fit(): it learns a planted problem, is reproducible, continues where it stopped, and checks input."""

import signal
import types

import numpy as np
import pytest

import numpy_movievec as mv
from numpy_movievec.train import rmse


def planted_low_rank(n_movies=50, n_users=200, rank=3, n=20000, seed=0):
    """Ratings from a known rank-3 model: structure a working trainer must find."""
    rng = np.random.default_rng(seed)
    movie_factors = rng.standard_normal((n_movies, rank))
    user_factors = rng.standard_normal((n_users, rank))
    movies, users = rng.integers(0, n_movies, n), rng.integers(0, n_users, n)
    ratings = (3.5 + 0.6 * np.sum(movie_factors[movies] * user_factors[users], 1)).astype(np.float32)
    cut = int(0.9 * n)
    return (movies[:cut], users[:cut], ratings[:cut]), (movies[cut:], users[cut:], ratings[cut:])


def small_net(seed=0):
    return mv.RatingNet(50, 200, dim=8, hidden=(16, 16), seed=seed)


def test_fit_learns_a_planted_low_rank_model():
    train, valid = planted_low_rank()
    baseline = rmse(np.full(len(valid[2]), train[2].mean()), valid[2])  # predict the mean
    # Adadelta's first steps are about sqrt(eps) long; a larger lr gets a tiny problem going
    hist = mv.fit(small_net(), train, valid, epochs=8, batch_size=64,
                  optimizer=mv.Adadelta(lr=5.0), progress=False)
    assert hist.valid_rmse[-1] < 0.5 * baseline
    assert hist.train_rmse[-1] < 0.5 * hist.train_rmse[0]
    assert len(hist.seconds) == len(hist.train_rmse) == len(hist.valid_rmse) == 8
    assert hist.epochs == list(range(1, 9))


def test_fit_is_reproducible_and_the_seed_matters():
    train, _ = planted_low_rank(n=3000)
    runs = []
    for seed in (0, 0, 1):
        net = small_net()
        mv.fit(net, train, epochs=2, batch_size=100, seed=seed, progress=False)
        runs.append(net.params)
    assert all(np.array_equal(runs[0][k], runs[1][k]) for k in runs[0])
    assert not np.array_equal(runs[0]["dense_0.weight"], runs[2]["dense_0.weight"])


def test_calling_fit_again_continues_training(tmp_path):
    train, valid = planted_low_rank(n=3000)
    straight = small_net()
    mv.fit(straight, train, epochs=3, batch_size=100, progress=False)

    stopped = small_net()
    first = mv.fit(stopped, train, epochs=2, batch_size=100, progress=False,
                   checkpoint=tmp_path / "ckpt.npz")
    resumed = mv.RatingNet.load(tmp_path / "ckpt.npz")  # as if the process had ended
    second = mv.fit(resumed, train, valid, epochs=1, batch_size=100, progress=False)

    assert first.epochs == [1, 2] and second.epochs == [3] and resumed.epochs_trained == 3
    assert resumed.optimizer.iterations == straight.optimizer.iterations == 3 * 27
    for name in straight.params:
        np.testing.assert_array_equal(resumed.params[name], straight.params[name], err_msg=name)


def test_fit_accepts_a_ratings_like_object():
    (movies, users, ratings), _ = planted_low_rank(n=500)
    data = types.SimpleNamespace(movie=movies.astype(np.int32), user=users.astype(np.int32),
                                 rating=np.clip(np.round(ratings), 1, 5).astype(np.int8))
    hist = mv.fit(small_net(), data, valid=data, epochs=1, progress=False)
    assert len(hist.valid_rmse) == 1 and np.isfinite(hist.valid_rmse[0])


def test_progress_prints_an_epoch_summary_unless_silenced(capsys):
    train, valid = planted_low_rank(n=500)
    mv.fit(small_net(), train, valid, epochs=1, progress=True)
    err = capsys.readouterr().err
    assert err.startswith("epoch 1: ") and "ratings/s" in err and "valid RMSE" in err
    mv.fit(small_net(), train, epochs=1, progress=False)
    assert capsys.readouterr().err == ""


@pytest.mark.filterwarnings("ignore:overflow encountered")
def test_a_diverging_loss_stops_with_the_epoch_and_step():
    (movies, users, _), _ = planted_low_rank(n=300)
    huge = np.full(len(movies), 1e30, dtype=np.float32)  # squares overflow float32
    with pytest.raises(FloatingPointError, match="epoch 1, step 1"):
        mv.fit(small_net(), (movies, users, huge), epochs=1, progress=False)


@pytest.mark.parametrize("kwargs, message", [
    (dict(engine="gpu"), "engine must be one of 'numpy', 'numba'; got 'gpu'"),
    (dict(epochs=-1), "epochs must be"),
    (dict(batch_size=0), "batch_size must be"),
    (dict(patience=2), "patience needs validation ratings"),
    (dict(restore_best=True), "restore_best needs validation ratings"),
    (dict(restore_best="yes"), "restore_best must be one of False, True; got 'yes'"),
    (dict(resume=True), "resume=True needs the checkpoint"),
])
def test_bad_arguments(kwargs, message):
    train, _ = planted_low_rank(n=100)
    with pytest.raises(ValueError, match=message):
        mv.fit(small_net(), train, progress=False, **kwargs)


def test_bad_data():
    with pytest.raises(ValueError, match="holds no ratings"):
        mv.fit(small_net(), ([], [], []), progress=False)
    with pytest.raises(TypeError, match="train must be a Ratings"):
        mv.fit(small_net(), "ratings.csv", progress=False)
    with pytest.raises(ValueError, match="row 0: movie index 50 is outside 0..49"):
        mv.fit(small_net(), ([50], [0], [3]), progress=False)


@pytest.mark.parametrize("engine", ["numpy", "numba"])
def test_ctrl_c_saves_the_exact_point_and_resume_finishes_like_one_run(engine, tmp_path,
                                                                      monkeypatch):
    train, _ = planted_low_rank(n=3000)
    straight = small_net()
    mv.fit(straight, train, epochs=3, batch_size=100, engine=engine, progress=False)

    engine_class = mv.train.ENGINES[engine]
    monkeypatch.setattr(engine_class, "ratings_per_call", 100)  # a stretch per batch
    calls = {"n": 0}
    original = engine_class.train_batches

    def press_ctrl_c_in_epoch_two(self, *args):
        calls["n"] += 1
        if calls["n"] == 27 + 5:  # epoch 1 has 27 batches
            signal.raise_signal(signal.SIGINT)
        return original(self, *args)

    monkeypatch.setattr(engine_class, "train_batches", press_ctrl_c_in_epoch_two)
    ckpt = tmp_path / "ckpt.npz"
    first = mv.fit(small_net(), train, epochs=3, batch_size=100, engine=engine,
                   checkpoint=ckpt, progress=False)
    assert first.interrupted and first.epochs == [1]
    saved = mv.RatingNet.load(ckpt)
    assert saved.epochs_trained == 1 and saved.partial_epoch["batches_done"] == 5

    monkeypatch.setattr(engine_class, "train_batches", original)
    again = mv.fit(small_net(), train, epochs=3, batch_size=100, engine=engine,
                   checkpoint=ckpt, resume=True, progress=False)
    assert again.epochs == [2, 3] and not again.interrupted
    resumed = mv.RatingNet.load(ckpt)
    assert resumed.partial_epoch is None
    for name in straight.params:
        np.testing.assert_array_equal(resumed.params[name], straight.params[name], err_msg=name)


def test_resume_of_a_finished_run_trains_nothing_more(tmp_path):
    train, _ = planted_low_rank(n=500)
    mv.fit(small_net(), train, epochs=2, checkpoint=tmp_path / "c.npz", progress=False)
    hist = mv.fit(small_net(), train, epochs=2, checkpoint=tmp_path / "c.npz", resume=True,
                  progress=False)
    assert hist.epochs == []


def test_resume_refuses_a_checkpoint_of_another_model(tmp_path):
    train, _ = planted_low_rank(n=500)
    mv.fit(small_net(), train, epochs=1, checkpoint=tmp_path / "c.npz", progress=False)
    other = mv.RatingNet(50, 200, dim=4, hidden=(16, 16))
    with pytest.raises(ValueError, match="checkpoint of another model"):
        mv.fit(other, train, epochs=2, checkpoint=tmp_path / "c.npz", resume=True,
               progress=False)


def test_patience_stops_when_validation_stops_improving():
    train, valid = planted_low_rank(n=2000)
    noise = (valid[0], valid[1], np.random.default_rng(0).uniform(1, 5, len(valid[2])))
    hist = mv.fit(small_net(), train, noise, epochs=30, batch_size=64, patience=2,
                  optimizer=mv.Adadelta(lr=5.0), progress=False)
    assert hist.stopped_early and len(hist.epochs) < 30
    best = int(np.argmin(hist.valid_rmse))
    assert len(hist.valid_rmse) == best + 1 + 2  # stopped two epochs after the best one


def test_shuffled_indices_is_a_seeded_permutation():
    a = mv.train.shuffled_indices(1000, np.random.default_rng(7))
    b = mv.train.shuffled_indices(1000, np.random.default_rng(7))
    assert a.dtype == np.int32 and np.array_equal(np.sort(a), np.arange(1000))
    assert np.array_equal(a, b) and not np.array_equal(a, np.arange(1000))


# ---------------------------------------------------------------------- nothing lost

def interrupt_at_call(monkeypatch, engine_class, call, signum):
    """Make the engine send ``signum`` to this process at its ``call``-th stretch of batches."""
    monkeypatch.setattr(engine_class, "ratings_per_call", 100)  # a stretch per batch
    original, calls = engine_class.train_batches, {"n": 0}

    def train_batches(self, *args):
        calls["n"] += 1
        if calls["n"] == call:
            signal.raise_signal(signum)
        return original(self, *args)

    monkeypatch.setattr(engine_class, "train_batches", train_batches)
    return original


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
def test_sigterm_stops_like_ctrl_c_and_keeps_the_point_reached(signum, tmp_path, monkeypatch,
                                                               capsys):
    train, _ = planted_low_rank(n=3000)
    interrupt_at_call(monkeypatch, mv.train.ENGINES["numpy"], 27 + 5, signum)
    ckpt = tmp_path / "ckpt.npz"
    hist = mv.fit(small_net(), train, epochs=3, batch_size=100, engine="numpy",
                  checkpoint=ckpt)
    assert hist.interrupted and hist.signal == signum and hist.epochs == [1]
    assert mv.RatingNet.load(ckpt).partial_epoch["batches_done"] == 5
    last_line = capsys.readouterr().err.strip().splitlines()[-1]
    assert last_line == (f"epoch 2: interrupted ({signal.Signals(signum).name}); {ckpt} holds "
                         f"the exact point reached")
    assert signal.getsignal(signal.SIGTERM) is signal.SIG_DFL  # handlers given back


@pytest.mark.parametrize("changed, message", [
    (dict(batch_size=50), "was trained with batch_size=100; this run has batch_size=50"),
    (dict(seed=1), "was trained with seed=0; this run has seed=1"),
    (dict(n=2000), "was trained with n_ratings=2700; this run has n_ratings=1800"),
])
def test_resume_refuses_other_settings_naming_the_one_that_differs(changed, message, tmp_path,
                                                                   monkeypatch):
    train, _ = planted_low_rank(n=3000)
    original = interrupt_at_call(monkeypatch, mv.train.ENGINES["numpy"], 5, signal.SIGINT)
    ckpt = tmp_path / "ckpt.npz"
    mv.fit(small_net(), train, epochs=2, batch_size=100, engine="numpy", checkpoint=ckpt,
           progress=False)
    monkeypatch.setattr(mv.train.ENGINES["numpy"], "train_batches", original)
    kwargs = dict(batch_size=100, seed=0)
    kwargs.update((k, v) for k, v in changed.items() if k != "n")
    data = planted_low_rank(n=changed["n"])[0] if "n" in changed else train
    with pytest.raises(ValueError, match=f"ckpt.npz {message}"):
        mv.fit(small_net(), data, epochs=2, engine="numpy", checkpoint=ckpt, resume=True,
               progress=False, **kwargs)
    # the same refusal for a model interrupted in memory, continued by calling fit again
    net = mv.RatingNet.load(ckpt)
    with pytest.raises(ValueError, match=r"stopped in the middle of epoch 1\) " + message):
        mv.fit(net, data, epochs=1, engine="numpy", progress=False, **kwargs)


def test_a_checkpoint_holding_more_training_is_not_replaced_without_overwrite(tmp_path):
    train, _ = planted_low_rank(n=500)
    ckpt = tmp_path / "ckpt.npz"
    mv.fit(small_net(), train, epochs=2, checkpoint=ckpt, engine="numpy", progress=False)
    before = ckpt.read_bytes()
    with pytest.raises(FileExistsError, match=r"ckpt.npz holds more training \(2 epochs, "
                                              r"2 steps\) than this model \(0 epochs, 0 steps\)"):
        mv.fit(small_net(), train, epochs=1, checkpoint=ckpt, engine="numpy", progress=False)
    assert ckpt.read_bytes() == before
    mv.fit(small_net(), train, epochs=1, checkpoint=ckpt, overwrite=True, engine="numpy",
           progress=False)
    assert mv.RatingNet.load(ckpt).epochs_trained == 1
    (tmp_path / "notes.txt").write_text("mine")
    with pytest.raises(FileExistsError, match="notes.txt: not a checkpoint to replace"):
        mv.fit(small_net(), train, epochs=1, checkpoint=tmp_path / "notes.txt",
               engine="numpy", progress=False)
    assert (tmp_path / "notes.txt").read_text() == "mine"


@pytest.mark.parametrize("where, error, message", [
    ("missing/ckpt.npz", FileNotFoundError, "missing: no such directory"),
    ("folder", FileExistsError, "folder is a directory, not a file to write"),
])
def test_an_unwritable_checkpoint_is_refused_before_the_first_epoch(where, error, message,
                                                                    tmp_path, monkeypatch):
    (tmp_path / "folder").mkdir()
    train, _ = planted_low_rank(n=500)

    def never(*args):
        raise AssertionError("trained although the checkpoint cannot be written")

    monkeypatch.setattr(mv.train.ENGINES["numpy"], "train_batches", never)
    with pytest.raises(error, match=message):
        mv.fit(small_net(), train, epochs=1, checkpoint=tmp_path / where, engine="numpy",
               progress=False)


def test_a_checkpoint_on_a_full_disk_is_refused_before_the_first_epoch(tmp_path, monkeypatch):
    monkeypatch.setattr(mv.archive.shutil, "disk_usage", lambda path: types.SimpleNamespace(
        total=10**9, used=10**9, free=1000))
    train, _ = planted_low_rank(n=500)
    with pytest.raises(OSError, match=r"cannot write .*ckpt.npz: it needs about .* and .* has "
                                      r"1.0 kB free"):
        mv.fit(small_net(), train, checkpoint=tmp_path / "ckpt.npz", progress=False)


def test_a_failed_checkpoint_save_rescues_the_model_and_says_where(tmp_path, monkeypatch):
    rescue_folder = tmp_path / "rescue"
    rescue_folder.mkdir()
    monkeypatch.setattr(mv.archive.tempfile, "tempdir", str(rescue_folder))
    ckpt = tmp_path / "ckpt.npz"
    real_save = mv.RatingNet.save

    def disk_full_on_the_checkpoint(self, path, ratings=None):
        if path == ckpt:
            raise OSError(28, "No space left on device")
        return real_save(self, path, ratings)

    monkeypatch.setattr(mv.RatingNet, "save", disk_full_on_the_checkpoint)
    train, _ = planted_low_rank(n=500)
    net = small_net()
    with pytest.raises(OSError, match=r"could not write .*ckpt.npz \(No space left on device\); "
                                      r"the model after epoch 1 was saved to .*rescue.* instead"):
        mv.fit(net, train, epochs=2, checkpoint=ckpt, engine="numpy", progress=False)
    [rescued] = rescue_folder.iterdir()
    assert rescued.name.startswith("ckpt.rescued-") and rescued.suffix == ".npz"
    saved = mv.RatingNet.load(rescued)
    assert saved.epochs_trained == 1
    for name in net.params:
        np.testing.assert_array_equal(saved.params[name], net.params[name])


def test_too_big_a_batch_says_how_much_memory_it_needs(monkeypatch):
    train, _ = planted_low_rank(n=20000)
    monkeypatch.setattr(mv.checks, "physical_memory", lambda: 10**7)  # a 10 MB machine
    expected = mv.train.step_memory(small_net(), 18000)
    with pytest.raises(MemoryError, match=rf"training with batches of 18,000 ratings "
                                          rf"\({mv.checks.human_bytes(expected)} per step, .*\) "
                                          rf"needs .* of memory; this machine has 10.0 MB of RAM; "
                                          rf"use a smaller batch size"):
        mv.fit(small_net(), train, batch_size=100_000_000, progress=False)


def test_a_memory_error_while_training_says_what_the_step_needed(monkeypatch):
    def out_of_memory(*args):
        raise MemoryError

    monkeypatch.setattr(mv.train.ENGINES["numpy"], "train_batches", out_of_memory)
    train, _ = planted_low_rank(n=500)
    step = mv.checks.human_bytes(mv.train.step_memory(small_net(), 64))
    with pytest.raises(MemoryError, match=rf"out of memory while training with batches of 64 "
                                          rf"ratings \(about {step} per step\); use a smaller"):
        mv.fit(small_net(), train, batch_size=64, engine="numpy", progress=False)


def test_a_batch_larger_than_the_data_is_one_batch_per_epoch():
    train, _ = planted_low_rank(n=500)
    net = small_net()
    mv.fit(net, train, epochs=2, batch_size=100_000_000, engine="numpy", progress=False)
    assert net.optimizer.iterations == 2 and net.trained_with["batch_size"] == 450


def test_a_store_edited_out_of_range_is_refused_before_training_naming_the_file(tmp_path):
    r = mv.Ratings([0, 1, 1], [0, 0, 1], [5, 3, 4])
    store = r.save(tmp_path / "store")
    rating = np.load(store / "rating.npy")
    rating[2] = 100
    np.save(store / "rating.npy", rating)
    with pytest.raises(ValueError, match=r"store/rating.npy, row 2: rating 100 is outside 1..5"):
        mv.fit(mv.RatingNet(2, 2, dim=2, hidden=()), mv.Ratings.load(store), progress=False)


# ---------------------------------------------------------------------- the best epoch

def overfitting(n=2000):
    """Training data and validation ratings of pure noise: the valid RMSE soon gets worse."""
    train, valid = planted_low_rank(n=n)
    noise = (valid[0], valid[1], np.random.default_rng(0).uniform(1, 5, len(valid[2])))
    return train, noise


FAST = dict(batch_size=64, optimizer=None, progress=False)


def fit_fast(net, train, valid=None, **kwargs):
    return mv.fit(net, train, valid, **{**FAST, "optimizer": mv.Adadelta(lr=5.0), **kwargs})


def assert_same_state(a, b):
    """Same parameters, optimizer state and epoch count, bit for bit."""
    assert (a.epochs_trained, a.steps_trained) == (b.epochs_trained, b.steps_trained)
    for name in a.params:
        np.testing.assert_array_equal(a.params[name], b.params[name], err_msg=name)
    a.optimizer.synchronize(), b.optimizer.synchronize()
    for name, state in a.optimizer.state.items():
        for slot, value in state.items():
            np.testing.assert_array_equal(value, b.optimizer.state[name][slot], f"{name}/{slot}")


@pytest.mark.parametrize("engine", ["numpy", "numba"])
def test_restore_best_is_exactly_a_run_that_stopped_at_the_best_epoch(engine):
    train, valid = overfitting()
    net = small_net()
    hist = fit_fast(net, train, valid, epochs=12, patience=3, restore_best=True, engine=engine)
    best = int(np.argmin(hist.valid_rmse)) + 1
    assert hist.restored and hist.stopped_early and hist.epochs[-1] == best + 3
    assert (hist.best_epoch, hist.best_valid_rmse) == (best, min(hist.valid_rmse))
    straight = small_net()  # trained for the best epoch's number of epochs, and no more
    fit_fast(straight, train, epochs=best, engine=engine)
    assert_same_state(net, straight)
    assert rmse(net.predict(valid[0], valid[1]), valid[2]) == pytest.approx(min(hist.valid_rmse))
    for model in (net, straight):  # the optimizer state came back too: training goes on alike
        fit_fast(model, train, epochs=1, engine=engine)
    assert_same_state(net, straight)


def test_restore_best_without_patience_trains_every_epoch_and_keeps_the_best():
    train, valid = overfitting()
    net = small_net()
    hist = fit_fast(net, train, valid, epochs=5, restore_best=True, engine="numpy")
    assert hist.epochs == [1, 2, 3, 4, 5] and not hist.stopped_early
    assert net.epochs_trained == hist.best_epoch == int(np.argmin(hist.valid_rmse)) + 1 < 5
    assert net.best.params is None  # the model is the best epoch now: no second copy kept


def test_without_restore_best_the_model_is_the_last_epochs_but_knows_its_best():
    train, valid = overfitting()
    net = small_net()
    hist = fit_fast(net, train, valid, epochs=6, engine="numpy")
    assert net.epochs_trained == 6 and not hist.restored
    assert net.best.epoch == hist.best_epoch and net.best.params is None


def test_patience_counts_from_the_models_best_epoch_across_fit_calls():
    train, valid = overfitting()
    whole = small_net()
    hist = fit_fast(whole, train, valid, epochs=12, patience=2, engine="numpy")
    stopped = hist.epochs[-1]
    parts = small_net()
    fit_fast(parts, train, valid, epochs=hist.best_epoch, patience=2, engine="numpy")
    rest = fit_fast(parts, train, valid, epochs=12, patience=2, engine="numpy")
    assert rest.stopped_early and rest.epochs[-1] == stopped
    again = fit_fast(parts, train, valid, epochs=5, patience=2, engine="numpy")
    assert again.stopped_early and again.epochs == []  # out of patience already: no training
    assert parts.epochs_trained == stopped


def test_other_validation_ratings_start_the_record_afresh():
    train, valid = overfitting()
    net = small_net()
    fit_fast(net, train, valid, epochs=3, engine="numpy")
    first = net.best
    other = (valid[0], valid[1], valid[2][::-1].copy())
    hist = fit_fast(net, train, other, epochs=1, engine="numpy")
    assert net.best.epoch == 4 and net.best.valid_data != first.valid_data
    assert hist.best_epoch == 4
    fit_fast(net, train, epochs=1, engine="numpy")  # no validation: no record
    assert net.best is None


@pytest.mark.parametrize("engine", ["numpy", "numba"])
def test_an_interrupted_restore_best_run_resumes_to_the_same_model(engine, tmp_path,
                                                                   monkeypatch):
    train, valid = overfitting(n=3000)
    straight = small_net()
    hist = fit_fast(straight, train, valid, epochs=8, patience=2, restore_best=True,
                    batch_size=100, engine=engine)
    assert hist.restored
    stop_in = hist.best_epoch + 1  # interrupted after the best epoch, before the end
    original = interrupt_at_call(monkeypatch, mv.train.ENGINES[engine], 27 * stop_in + 5,
                                 signal.SIGINT)
    ckpt = tmp_path / "ckpt.npz"
    first = fit_fast(small_net(), train, valid, epochs=8, patience=2, restore_best=True,
                     batch_size=100, engine=engine, checkpoint=ckpt)
    assert first.interrupted and not first.restored and first.epochs[-1] == stop_in
    saved = mv.RatingNet.load(ckpt)  # the point reached, and the best epoch's state beside it
    assert saved.epochs_trained == stop_in and saved.partial_epoch["batches_done"] == 5
    assert saved.best.epoch == hist.best_epoch and saved.best.params is not None
    monkeypatch.setattr(mv.train.ENGINES[engine], "train_batches", original)
    resumed = small_net()
    again = fit_fast(resumed, train, valid, epochs=8, patience=2, restore_best=True,
                     batch_size=100, engine=engine, checkpoint=ckpt, resume=True)
    assert again.restored and again.epochs[-1] == hist.epochs[-1]
    assert_same_state(resumed, straight)
    finished = mv.RatingNet.load(ckpt)  # the checkpoint stays the last point, for resuming
    assert finished.epochs_trained == hist.epochs[-1] and finished.best.params is not None
    done = fit_fast(finished, train, valid, epochs=8, patience=2, restore_best=True,
                    batch_size=100, engine=engine)  # a finished run: nothing more, restored
    assert done.epochs == [] and done.restored
    assert_same_state(finished, straight)


def test_a_restore_best_checkpoint_needs_room_for_two_states(tmp_path, monkeypatch):
    train, valid = overfitting(n=500)
    asked = []
    monkeypatch.setattr(mv.archive, "check_destination", lambda path, size=None: asked.append(size))
    for restore_best in (False, True):
        fit_fast(small_net(), train, valid, epochs=0, checkpoint=tmp_path / "c.npz",
                 restore_best=restore_best, engine="numpy")
    assert asked[1] == 2 * asked[0]


# ---------------------------------------------------------------------- training counts

def test_fit_records_each_movies_training_ratings_and_saves_them(tmp_path):
    train, valid = planted_low_rank(n=2000)
    net = small_net()
    fit_fast(net, train, valid, epochs=1, engine="numpy")
    expected = np.zeros(50, dtype=np.int64)
    np.add.at(expected, train[0], 1)  # a brute-force count of the training ratings
    np.testing.assert_array_equal(net.training_counts, expected)
    net.save(tmp_path / "m.npz")
    loaded = mv.RatingNet.load(tmp_path / "m.npz")
    np.testing.assert_array_equal(loaded.training_counts, expected)
    np.testing.assert_array_equal(mv.MovieVectors.load(tmp_path / "m.npz").counts, expected)


def test_movie_vectors_count_training_ratings_only_and_leave_out_untrained_movies(tmp_path):
    r = mv.synthetic(5000, seed=0)
    train, valid = r.split(0.3, seed=0)
    net = mv.RatingNet(r.n_movies, r.n_users, dim=4, hidden=(8,))
    fit_fast(net, train, valid, epochs=1, engine="numpy")
    vecs = net.movie_vectors(ratings=r)  # the whole data set: its counts are not used
    np.testing.assert_array_equal(vecs.counts, train.movie_counts)
    only_in_valid = np.flatnonzero((train.movie_counts == 0) & (r.movie_counts > 0))
    assert len(only_in_valid) > 0
    query = vecs.name(int(np.argmax(vecs.counts)))
    answers = {title for title, _ in vecs.most_similar(query, topn=r.n_movies)}
    assert len(answers) == (vecs.counts > 0).sum() - 1  # every trained movie but the query
    assert not answers & {vecs.name(row) for row in only_in_valid}
    net.save(tmp_path / "m.npz", ratings=r)
    np.testing.assert_array_equal(mv.MovieVectors.load(tmp_path / "m.npz").counts,
                                  train.movie_counts)


def test_counts_over_several_fit_calls_keep_each_movies_largest():
    (movies, users, ratings), _ = planted_low_rank(n=2000)
    first, rest = slice(0, 500), slice(500, None)
    net = small_net()
    fit_fast(net, (movies[first], users[first], ratings[first]), epochs=1, engine="numpy")
    small = np.bincount(movies[first], minlength=50)
    np.testing.assert_array_equal(net.training_counts, small)
    fit_fast(net, (movies[first], users[first], ratings[first]), epochs=1, engine="numpy")
    np.testing.assert_array_equal(net.training_counts, small)  # the same data again
    fit_fast(net, (movies, users, ratings), epochs=1, engine="numpy")
    np.testing.assert_array_equal(net.training_counts, np.bincount(movies, minlength=50))
    disjoint = small_net()
    fit_fast(disjoint, (movies[first], users[first], ratings[first]), epochs=1, engine="numpy")
    fit_fast(disjoint, (movies[rest], users[rest], ratings[rest]), epochs=1, engine="numpy")
    np.testing.assert_array_equal(disjoint.training_counts,
                                  np.maximum(small, np.bincount(movies[rest], minlength=50)))
    untouched = small_net()
    fit_fast(untouched, (movies, users, ratings), epochs=0, engine="numpy")
    assert untouched.training_counts is None  # no epoch, no training, no counts
