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
    (dict(engine="gpu"), "unknown engine 'gpu'"),
    (dict(epochs=-1), "epochs must be"),
    (dict(batch_size=0), "batch_size must be"),
    (dict(patience=2), "patience needs validation ratings"),
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
    with pytest.raises(ValueError, match="movie id 50 is out of range"):
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
