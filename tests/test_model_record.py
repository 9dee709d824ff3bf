"""What a model file keeps about its training: counts per movie and the best epoch.

These entries are written by ``RatingNet.save`` and read back, checked, by ``RatingNet.load``;
`fit` fills them (see tests/test_train.py for what they mean).
"""

import json

import numpy as np
import pytest

import numpy_movievec as mv


def rewrite(path, change_header=None, change_arrays=None):
    """Rewrite a saved model with its header or arrays changed."""
    with np.load(path, allow_pickle=False) as archive:
        arrays = {name: archive[name] for name in archive.files}
    header = json.loads(str(arrays["__header__"]))
    if change_header:
        change_header(header)
    if change_arrays:
        change_arrays(arrays)
    arrays["__header__"] = np.array(json.dumps(header))
    np.savez(path, **arrays)


@pytest.fixture
def trained(tmp_path):
    """A small model fit with restore_best on ratings where movie 2 is never trained."""
    rng = np.random.default_rng(0)
    movies, users = rng.choice([0, 1, 3], 400), rng.integers(0, 6, 400)
    ratings = rng.integers(1, 6, 400)
    net = mv.RatingNet(4, 6, dim=3, hidden=(5,))
    mv.fit(net, (movies[:300], users[:300], ratings[:300]),
           (movies[300:], users[300:], ratings[300:]), epochs=3, batch_size=32,
           engine="numpy", progress=False, checkpoint=tmp_path / "ck.npz", restore_best=True)
    return net, tmp_path / "ck.npz"


def test_the_checkpoint_round_trips_counts_and_the_best_epochs_state(trained):
    net, ckpt = trained
    loaded = mv.RatingNet.load(ckpt)
    np.testing.assert_array_equal(loaded.training_counts, net.training_counts)
    assert loaded.training_counts[2] == 0
    assert (loaded.best.epoch, loaded.best.valid_rmse) == (net.best.epoch, net.best.valid_rmse)
    assert loaded.best.valid_data == net.best.valid_data
    for name, value in loaded.best.params.items():
        np.testing.assert_array_equal(value, net.params[name], err_msg=name)  # net was restored
    assert loaded.best.optimizer.iterations == net.optimizer.iterations


def test_a_model_file_stores_the_counts_once(trained, tmp_path):
    net, _ = trained
    net.save(tmp_path / "m.npz", ratings=mv.Ratings([0, 1, 2, 3], [0, 0, 0, 0], [3, 3, 3, 3],
                                                    titles=["A", "B", "C", "D"]))
    with np.load(tmp_path / "m.npz", allow_pickle=False) as archive:
        assert "training_counts" in archive.files and "movie_counts" not in archive.files
        assert not any(name.startswith("best/") for name in archive.files)  # restored: no copy
    vecs = mv.MovieVectors.load(tmp_path / "m.npz")
    np.testing.assert_array_equal(vecs.counts, net.training_counts)
    assert "C" not in {title for title, _ in vecs.most_similar("A", topn=3)}  # never trained


def test_a_model_saved_before_training_counts_uses_its_catalogues_counts(tmp_path):
    catalogue = mv.Ratings([0, 1, 1], [0, 0, 1], [4, 5, 3], titles=["Ringu", "The Ring"])
    mv.RatingNet(2, 2, dim=2).save(tmp_path / "old.npz", ratings=catalogue)
    loaded = mv.RatingNet.load(tmp_path / "old.npz")
    assert loaded.training_counts is None and loaded.best is None
    assert loaded.movie_vectors().counts.tolist() == [1, 2]


@pytest.mark.parametrize("damage, message", [
    (dict(arrays=lambda a: a.update(training_counts=np.array([1, 2]))),
     "'training_counts' must hold 4 whole numbers >= 0; it has shape (2,)"),
    (dict(arrays=lambda a: a.update(training_counts=np.array([1.0, 2, 3, 4]))),
     "'training_counts' must hold 4 whole numbers >= 0; it has shape (4,), dtype float64"),
    (dict(arrays=lambda a: a.update(training_counts=np.array([1, -2, 3, 4]))),
     "'training_counts' must hold 4 whole numbers >= 0"),
    (dict(header=lambda h: h["best"].pop("valid_rmse")),
     "header entry 'best' must be null or have the entries epoch, valid_rmse, valid_data, "
     "with_state, optimizer"),
    (dict(header=lambda h: h["best"].update(epoch="2")), "header entry 'best' must be null"),
    (dict(arrays=lambda a: a.pop("best/params/output.bias")),
     "parameter 'output.bias' of the best epoch is missing or has the wrong shape or dtype"),
])
def test_damaged_records_are_named(trained, damage, message):
    _, ckpt = trained
    rewrite(ckpt, damage.get("header"), damage.get("arrays"))
    with pytest.raises(ValueError) as error:
        mv.RatingNet.load(ckpt)
    assert f"ck.npz: {message}" in str(error.value)

