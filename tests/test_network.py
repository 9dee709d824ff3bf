"""RatingNet: parameter layout, Keras initialisation, whole-network gradients, input checks, saving."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from numpy_movievec import Adadelta, RatingNet
from numerical import numerical_gradient

hidden_layers = st.lists(st.integers(1, 5), min_size=0, max_size=3).map(tuple)


def random_batch(rng, net, batch):
    return (rng.integers(0, net.n_movies, batch), rng.integers(0, net.n_users, batch),
            rng.integers(1, 6, batch))


def in_float64(net):
    net.params = {name: p.astype(np.float64) for name, p in net.params.items()}
    return net


def test_parameter_names_and_shapes_follow_the_design():
    net = RatingNet(n_movies=7, n_users=11, dim=40, hidden=(64, 32, 16))
    assert [(name, p.shape) for name, p in net.params.items()] == [
        ("movie_embedding", (7, 40)), ("user_embedding", (11, 40)),
        ("dense_0.weight", (80, 64)), ("dense_0.bias", (64,)),
        ("dense_1.weight", (64, 32)), ("dense_1.bias", (32,)),
        ("dense_2.weight", (32, 16)), ("dense_2.bias", (16,)),
        ("output.weight", (16, 1)), ("output.bias", (1,)),
    ]
    assert all(p.dtype == np.float32 for p in net.params.values())


def test_no_hidden_layers_is_a_linear_model_of_the_embeddings():
    net = RatingNet(3, 4, dim=2, hidden=())
    assert list(net.params) == ["movie_embedding", "user_embedding", "output.weight", "output.bias"]
    assert net.params["output.weight"].shape == (4, 1)
    p = net.params
    expected = np.concatenate([p["movie_embedding"][[1]], p["user_embedding"][[2]]], 1) @ p["output.weight"]
    np.testing.assert_allclose(net.predict([1], [2]), expected[:, 0] + p["output.bias"], rtol=1e-6)


def test_initialisation_is_keras_and_seeded():
    net = RatingNet(2000, 3000, dim=40, hidden=(64,), seed=3)
    for name in ("movie_embedding", "user_embedding"):
        table = net.params[name]
        assert np.abs(table).max() <= 0.05
        assert abs(table.std() - 0.05 / np.sqrt(3)) < 1e-3  # uniform(-a, a) has std a/√3
    glorot = np.sqrt(6 / (80 + 64))
    weight = net.params["dense_0.weight"]
    assert np.abs(weight).max() <= glorot and np.abs(weight).max() > 0.95 * glorot
    assert not net.params["dense_0.bias"].any() and not net.params["output.bias"].any()
    again = RatingNet(2000, 3000, dim=40, hidden=(64,), seed=3)
    assert all(np.array_equal(again.params[k], v) for k, v in net.params.items())
    other = RatingNet(2000, 3000, dim=40, hidden=(64,), seed=4)
    assert not np.array_equal(other.params["movie_embedding"], net.params["movie_embedding"])


@settings(max_examples=25, deadline=None)
@given(n_movies=st.integers(1, 5), n_users=st.integers(1, 5), dim=st.integers(1, 3),
       hidden=hidden_layers, batch=st.integers(1, 8), seed=st.integers(0, 2**32 - 1),
       l2=st.sampled_from([0.0, 0.3]))
def test_whole_network_gradients_match_finite_differences(n_movies, n_users, dim, hidden,
                                                          batch, seed, l2):
    net = in_float64(RatingNet(n_movies, n_users, dim=dim, hidden=hidden, seed=seed, l2=l2))
    rng = np.random.default_rng(seed)
    for p in net.params.values():  # non-zero biases, so every path carries signal
        p += 0.1 * rng.standard_normal(p.shape)
    movies, users, ratings = random_batch(rng, net, batch)  # tiny tables: repeated ids
    loss, grads = net.loss_and_grads(movies, users, ratings)

    def loss_now():
        return net.loss_and_grads(movies, users, ratings)[0]

    vectors = np.hstack([net.params["movie_embedding"][movies], net.params["user_embedding"][users]])
    penalty = l2 * np.sum(vectors ** 2) / batch  # per example: repeated rows count each time
    assert loss == pytest.approx(np.mean((net.predict(movies, users) - ratings) ** 2) + penalty)
    for name, param in net.params.items():
        assert grads[name].shape == param.shape and grads[name].dtype == np.float64
        np.testing.assert_allclose(grads[name], numerical_gradient(loss_now, param),
                                   rtol=1e-5, atol=1e-7, err_msg=name)


def test_embedding_gradients_are_zero_outside_the_batch():
    net = RatingNet(10, 10, dim=3, hidden=(4,))
    _, grads = net.loss_and_grads([2, 2, 5], [0, 9, 9], [5, 1, 3])
    assert set(np.flatnonzero(np.abs(grads["movie_embedding"]).sum(1))) <= {2, 5}
    assert set(np.flatnonzero(np.abs(grads["user_embedding"]).sum(1))) <= {0, 9}
    _, sparse = net.loss_and_grads([2, 2, 5], [0, 9, 9], [5, 1, 3], sparse=True)
    np.testing.assert_array_equal(sparse["movie_embedding"].rows, [2, 5])
    np.testing.assert_array_equal(sparse["movie_embedding"].to_dense(10), grads["movie_embedding"])


def test_predict_works_in_chunks(monkeypatch):
    net = RatingNet(5, 6, dim=2, hidden=(3,))
    rng = np.random.default_rng(0)
    movies, users, _ = random_batch(rng, net, 50)
    whole = net.predict(movies, users)
    monkeypatch.setattr("numpy_movievec.nn.network.PREDICT_CHUNK", 7)
    # BLAS may round differently for another batch size: equal to float32 precision
    np.testing.assert_allclose(net.predict(movies, users), whole, rtol=1e-6)


@pytest.mark.parametrize("movies, users, ratings, message", [
    ([0, 3], [0, 0], [1, 2], "row 1: movie index 3 is outside 0..2"),
    ([0, 1], [-1, 0], [1, 2], "row 0: user index -1 is outside 0..1"),
    ([0, 1], [0], [1, 2], "2 movie ids but 1 user ids"),
    ([0, 1], [0, 1], [1], "expected 2 ratings"),
    ([0, 1], [0, 1], [1.0, np.nan], "row 1: rating nan is not a finite number"),
    ([0, 1], [0, 1], [1.0, np.inf], "row 1: rating inf is not a finite number"),
    ([0.0, 1.0], [0, 1], [1, 2], "movie indices must be integers, got dtype float64"),
    ([0, 1], [True, False], [1, 2], "user indices must be integers, got dtype bool"),
    ([[0, 1]], [[0, 1]], [1, 2], "one-dimensional"),
    ([0, 1], [0, 1], ["a", "b"], "ratings must be real numbers"),
])
def test_bad_batches_raise_value_errors_naming_the_value(movies, users, ratings, message):
    net = RatingNet(3, 2, dim=2, hidden=(2,))
    with pytest.raises(ValueError, match=message):
        net.loss_and_grads(np.array(movies), np.array(users), np.array(ratings))


@pytest.mark.parametrize("kwargs, message", [
    (dict(n_movies=0, n_users=1), "n_movies must be a whole number >= 1, got 0"),
    (dict(n_movies=1, n_users=1, dim=0), "dim must be a whole number >= 1, got 0"),
    (dict(n_movies=1, n_users=1, hidden=(4, 0)), "hidden layer width must be a whole number"),
    (dict(n_movies=2.5, n_users=1), "n_movies must be a whole number >= 1, got 2.5"),
    (dict(n_movies=1, n_users=1, seed=-1), "seed must be a whole number >= 0"),
    (dict(n_movies=1, n_users=1, l2=-0.1), "l2 must be a finite number >= 0, got -0.1"),
    (dict(n_movies=1, n_users=1, l2=float("nan")), "l2 must be a finite number >= 0"),
])
def test_bad_architectures_raise(kwargs, message):
    with pytest.raises(ValueError, match=message):
        RatingNet(**kwargs)


def test_a_model_too_big_for_the_machine_says_how_much_it_needs():
    with pytest.raises(MemoryError, match=r"RatingNet\(10 movies, 1,000,000,000,000 users, "
                                          r"dim 40\) needs 160.0 TB of memory"):
        RatingNet(10, 10**12)


def test_save_and_load_round_trip_with_optimizer_state(tmp_path):
    net = RatingNet(6, 5, dim=3, hidden=(4, 2), seed=1)
    net.optimizer = Adadelta(lr=0.5, rho=0.9)
    rng = np.random.default_rng(0)
    for _ in range(3):
        _, grads = net.loss_and_grads(*random_batch(rng, net, 4), sparse=True)
        net.optimizer.step(net.params, grads)
    net.epochs_trained = 2
    path = tmp_path / "model.npz"
    net.save(path)
    loaded = RatingNet.load(path)
    assert loaded.config == net.config and loaded.epochs_trained == 2
    for name in net.params:
        np.testing.assert_array_equal(loaded.params[name], net.params[name])
    assert loaded.optimizer.iterations == 3 and loaded.optimizer.rho == 0.9
    # both continue identically: the state (including lazy row steps) came back whole
    batch = random_batch(rng, net, 4)
    for model in (net, loaded):
        model.optimizer.step(model.params, model.loss_and_grads(*batch, sparse=True)[1])
    for name in net.params:
        np.testing.assert_array_equal(loaded.params[name], net.params[name])
    assert not list(tmp_path.glob("*.tmp"))  # nothing left half-written


def test_l2_is_part_of_the_saved_model(tmp_path):
    RatingNet(3, 4, dim=2, l2=0.25).save(tmp_path / "model.npz")
    assert RatingNet.load(tmp_path / "model.npz").l2 == 0.25


def test_load_rejects_other_files(tmp_path):
    with pytest.raises(FileNotFoundError, match="missing.npz"):
        RatingNet.load(tmp_path / "missing.npz")
    (tmp_path / "junk.npz").write_bytes(b"not a zip file")
    with pytest.raises(ValueError, match="junk.npz: not a numpy_movievec file"):
        RatingNet.load(tmp_path / "junk.npz")
    np.savez(tmp_path / "foreign.npz", w=np.ones(2))
    with pytest.raises(ValueError, match="foreign.npz: not a numpy_movievec file"):
        RatingNet.load(tmp_path / "foreign.npz")


def test_describe_says_what_the_model_is(tmp_path):
    from numpy_movievec import Ratings

    net = RatingNet(3, 4, dim=2, hidden=(5,))
    assert net.describe() == {
        "kind": "RatingNet", "movies": 3, "users": 4, "dim": 2, "hidden": [5], "l2": 0.0,
        "parameters": 3 * 2 + 4 * 2 + 4 * 5 + 5 + 5 + 1, "epochs_trained": 0,
        "interrupted_epoch": None, "optimizer": None, "trained_with": None,
        "movies_with_titles": 0, "rating_counts": False, "best_epoch": None}
    net.optimizer = Adadelta(lr=0.5)
    net.save(tmp_path / "m.npz", ratings=Ratings([0, 2], [1, 3], [4, 5], n_movies=3,
                                                   n_users=4, titles=["Ran", None, "Heat"]))
    facts = RatingNet.load(tmp_path / "m.npz").describe()
    assert facts["optimizer"] == {"name": "Adadelta", "lr": 0.5, "rho": 0.95, "eps": 1e-7,
                                  "steps": 0}
    assert facts["movies_with_titles"] == 2 and facts["rating_counts"] is True


def test_a_loaded_model_keeps_its_catalogue_and_saves_it_again(tmp_path):
    from numpy_movievec import Ratings

    ratings = Ratings([0, 1, 1], [0, 0, 1], [4, 5, 3], titles=["Ringu", "The Ring"],
                      movie_ids=[17, 42])
    RatingNet(2, 2, dim=2).save(tmp_path / "a.npz", ratings=ratings)
    loaded = RatingNet.load(tmp_path / "a.npz")
    loaded.save(tmp_path / "b.npz")  # no ratings given: the catalogue it came with stays
    vecs = RatingNet.load(tmp_path / "b.npz").movie_vectors()
    assert vecs.titles == ["Ringu", "The Ring"] and vecs.movie_ids.tolist() == [17, 42]
    assert vecs.counts.tolist() == [1, 2]


def rewrite(path, change):
    """Rewrite a saved model with ``change(header, arrays)`` applied."""
    import json

    with np.load(path, allow_pickle=False) as archive:
        arrays = {name: archive[name] for name in archive.files}
    header = json.loads(str(arrays.pop("__header__")))
    change(header, arrays)
    np.savez(path, __header__=np.array(json.dumps(header)), **arrays)


@pytest.mark.parametrize("change, message", [
    (lambda h, a: h.pop("epochs_trained"), "the header has no 'epochs_trained' entry"),
    (lambda h, a: h["config"].update(dim=0), "dim must be a whole number >= 1, got 0"),
    (lambda h, a: h["config"].update(colour="red"), "the model's config must have the entries"),
    (lambda h, a: a.pop("params/dense_0.bias"), "parameter 'dense_0.bias' is missing"),
    (lambda h, a: a.update({"params/output.bias": np.zeros(2, np.float32)}),
     "parameter 'output.bias' is missing or has the wrong shape"),
    (lambda h, a: a.update({"optimizer/output.bias/accum_grad": np.zeros(3, np.float32)}),
     "optimizer state 'output.bias/accum_grad' does not fit the model"),
    (lambda h, a: h["optimizer"].update(colour="red"), "unreadable optimizer settings"),
    (lambda h, a: h.update(partial_epoch={"epoch": 2}), "'partial_epoch' must be null or have"),
])
def test_a_damaged_model_file_is_a_value_error_naming_it(tmp_path, change, message):
    net = RatingNet(3, 4, dim=2, hidden=(5,))
    net.optimizer = Adadelta()
    net.optimizer.step(net.params, net.loss_and_grads([0], [1], [4])[1])
    net.save(tmp_path / "m.npz")
    rewrite(tmp_path / "m.npz", change)
    with pytest.raises(ValueError, match=f"m.npz: .*{message}"):
        RatingNet.load(tmp_path / "m.npz")


def test_a_model_file_from_before_checkpoints_still_loads(tmp_path):
    """Format version 1 files written before partial_epoch and trained_with existed."""
    RatingNet(3, 4, dim=2).save(tmp_path / "m.npz")
    rewrite(tmp_path / "m.npz", lambda h, a: [h.pop("partial_epoch"), h.pop("trained_with")])
    net = RatingNet.load(tmp_path / "m.npz")
    assert net.partial_epoch is None and net.trained_with == {}
