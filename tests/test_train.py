"""fit(): it learns a planted problem, is reproducible, continues where it stopped, and checks input."""

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
