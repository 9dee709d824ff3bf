"""The seed's own Keras code as the oracle: 20 steps of its model and ours, from the same weights.

The seed trained its movie vectors with Keras: Embedding(40) for movies and users, flattened,
concatenated, Dense(64, relu) × 3, Dense(1), loss 'mse', Adadelta(learning_rate=1.0, rho=0.95,
epsilon=1e-7). Keras 3 runs that code unchanged on the PyTorch backend. Here it starts from our
initial weights and takes 20 steps on the same batches as ours; every parameter must then
agree to float32 precision — for the readable reference (``loss_and_grads`` and
``Adadelta.step``) and for both engines ``fit`` drives.

Needs ``pip install 'numpy_movievec[oracle]'`` (Keras and the CPU build of PyTorch); without
them the tests skip and say why.
"""

import os

import numpy as np
import pytest

import numpy_movievec as mv

os.environ["KERAS_BACKEND"] = "torch"  # read once, when Keras is first imported
torch = pytest.importorskip("torch", reason="PyTorch runs the Keras oracle: "
                                            "pip install 'numpy_movievec[oracle]'")
keras = pytest.importorskip("keras", reason="the seed's code is Keras: "
                                            "pip install 'numpy_movievec[oracle]'")
from benchmarks.torch_seed import keras_seed_model  # noqa: E402

N_MOVIES, N_USERS, BATCH, STEPS = 30, 50, 32, 20
# Keras 3 on NumPy 2 warns about torch tensors' __array__; not ours to fix.
pytestmark = pytest.mark.filterwarnings("ignore:__array__ implementation doesn't accept")


@pytest.fixture(scope="module")
def data():
    """20 batches' worth of ratings on small tables, so ids repeat within and across batches."""
    rng = np.random.default_rng(7)
    n = BATCH * STEPS
    return (rng.integers(0, N_MOVIES, n).astype(np.int32),
            rng.integers(0, N_USERS, n).astype(np.int32),
            rng.integers(1, 6, n).astype(np.int8))


def keras_after_steps(params, data, order):
    """Keras' parameters (in our names) and losses after one step per batch of ``order``."""
    torch.set_num_threads(1)
    model = keras_seed_model(params)
    movies, users, ratings = data
    losses = []
    for step in range(STEPS):
        batch = order[step * BATCH:(step + 1) * BATCH]
        losses.append(float(model.train_on_batch(
            [movies[batch, None], users[batch, None]], ratings[batch, None].astype(np.float32))))
    layer = {layer.name: layer for layer in model.layers}
    weights = {"movie_embedding": layer["movie_embedding"].get_weights()[0],
               "user_embedding": layer["user_embedding"].get_weights()[0]}
    for name in [f"dense_{k}" for k in range(3)] + ["output"]:
        weights[f"{name}.weight"], weights[f"{name}.bias"] = layer[name].get_weights()
    return weights, np.array(losses)


def assert_same_parameters(ours: dict, theirs: dict, start: dict):
    assert list(ours) == list(theirs)
    for name in ours:
        assert ours[name].dtype == theirs[name].dtype == np.float32, name
        np.testing.assert_allclose(ours[name], theirs[name], rtol=1e-5, atol=2e-7, err_msg=name)
        # every parameter moved, so the agreement is not just the shared start
        assert np.abs(ours[name] - start[name]).max() > 1e-4, name


def test_reference_steps_equal_keras(data):
    net = mv.RatingNet(N_MOVIES, N_USERS, seed=0)  # dim 40, hidden (64, 64, 64): the seed's
    start = {name: p.copy() for name, p in net.params.items()}
    order = np.arange(BATCH * STEPS)
    theirs, keras_losses = keras_after_steps(net.params, data, order)
    optimizer, losses = mv.Adadelta(lr=1.0, rho=0.95, eps=1e-7), []
    movies, users, ratings = data
    for step in range(STEPS):
        batch = order[step * BATCH:(step + 1) * BATCH]
        loss, grads = net.loss_and_grads(movies[batch], users[batch], ratings[batch])
        optimizer.step(net.params, grads)
        losses.append(loss)
    np.testing.assert_allclose(losses, keras_losses, rtol=1e-5)
    assert_same_parameters(net.params, theirs, start)


@pytest.mark.parametrize("engine", ["numpy", "numba"])
def test_fit_equals_keras_on_the_same_batches(engine, data):
    net = mv.RatingNet(N_MOVIES, N_USERS, seed=0)
    start = {name: p.copy() for name, p in net.params.items()}
    # fit's first epoch visits the ratings in this order (seed 0, epoch 1)
    order = mv.train.shuffled_indices(BATCH * STEPS, np.random.default_rng([0, 1]))
    theirs, keras_losses = keras_after_steps(net.params, data, order)
    history = mv.fit(net, data, epochs=1, batch_size=BATCH, engine=engine, seed=0,
                     optimizer=mv.Adadelta(lr=1.0, rho=0.95, eps=1e-7), progress=False)
    assert net.optimizer.iterations == STEPS
    expected_rmse = np.sqrt(np.mean(keras_losses))  # equal batches: the mean of batch MSEs
    assert history.train_rmse[0] == pytest.approx(expected_rmse, rel=1e-5)
    assert_same_parameters(net.params, theirs, start)
