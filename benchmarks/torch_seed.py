"""The seed model in PyTorch and in Keras: oracles for the tests, rivals in the benchmarks.

`TorchRatingNet` is the seed model translated faithfully to PyTorch. Its parameters map one to
one onto ``RatingNet.params``; the only difference is that ``torch.nn.Linear`` stores its
weight as (n_out, n_in), the transpose of ours. `keras_seed_model` is the seed's own Keras
code, run by Keras 3 on the PyTorch backend (no TensorFlow needed).

`torch_training_step` is how the benchmarks train the PyTorch model: the seed's recipe
(dense Adadelta) or the usual fast one (sparse gradients, SparseAdam, optionally compiled).

PyTorch and Keras are optional (``pip install 'numpy_movievec[oracle]'``); nothing in the
library imports this file. Both start from a ``RatingNet.params`` dict, so a comparison starts
from exactly our weights.
"""

from __future__ import annotations

import os

import numpy as np
import torch
from torch import nn


class TorchRatingNet(nn.Module):
    """Embedding(n_movies, dim) ‖ Embedding(n_users, dim) → [Linear → ReLU] × k → Linear(1).

    ``sparse=True`` gives the embeddings sparse gradients (for ``torch.optim.SparseAdam``).
    """

    def __init__(self, n_movies, n_users, dim=40, hidden=(64, 64, 64), sparse=False,
                 dtype=torch.float32):
        super().__init__()
        self.movie_embedding = nn.Embedding(n_movies, dim, sparse=sparse, dtype=dtype)
        self.user_embedding = nn.Embedding(n_users, dim, sparse=sparse, dtype=dtype)
        widths = [2 * dim, *hidden]
        self.hidden = nn.ModuleList(
            nn.Linear(n_in, n_out, dtype=dtype) for n_in, n_out in zip(widths[:-1], widths[1:]))
        self.output = nn.Linear(widths[-1], 1, dtype=dtype)

    def forward(self, movies, users):
        return self.head(self.embed(movies, users))

    def embed(self, movies, users):
        """The concatenated embedding rows of a batch, (B, 2 dim)."""
        return torch.cat([self.movie_embedding(movies), self.user_embedding(users)], dim=1)

    def head(self, x):
        """The dense layers on concatenated embeddings: (B, 2 dim) → predictions (B,).

        Apart from `embed` so it can be compiled on its own: ``torch.compile`` cannot make
        the sparse embedding gradients that ``sparse=True`` asks for.
        """
        for layer in self.hidden:
            x = torch.relu(layer(x))
        return self.output(x)[:, 0]

    def named_like_ours(self):
        """``(our name, torch parameter, transposed?)`` for every parameter, in our order."""
        yield "movie_embedding", self.movie_embedding.weight, False
        yield "user_embedding", self.user_embedding.weight, False
        for k, layer in enumerate(self.hidden):
            yield f"dense_{k}.weight", layer.weight, True
            yield f"dense_{k}.bias", layer.bias, False
        yield "output.weight", self.output.weight, True
        yield "output.bias", self.output.bias, False

    @classmethod
    def from_params(cls, params: dict, dtype=torch.float32, sparse=False) -> "TorchRatingNet":
        """A torch model holding exactly the weights of a ``RatingNet.params`` dict."""
        n_movies, dim = params["movie_embedding"].shape
        n_users = params["user_embedding"].shape[0]
        hidden, k = [], 0
        while f"dense_{k}.bias" in params:
            hidden.append(len(params[f"dense_{k}.bias"]))
            k += 1
        model = cls(n_movies, n_users, dim, hidden, sparse=sparse, dtype=dtype)
        with torch.no_grad():
            for name, tensor, transposed in model.named_like_ours():
                value = params[name].T if transposed else params[name]
                tensor.copy_(torch.from_numpy(np.ascontiguousarray(value)))
        return model

    def params_like_ours(self) -> dict:
        """The weights as a ``RatingNet.params`` dict of NumPy arrays."""
        return {name: (t.detach().T if transposed else t.detach()).numpy().copy()
                for name, t, transposed in self.named_like_ours()}

    def grads_like_ours(self) -> dict:
        """The ``.grad`` of every parameter, in our names and layout (sparse made dense)."""
        grads = {}
        for name, t, transposed in self.named_like_ours():
            g = t.grad.to_dense() if t.grad.is_sparse else t.grad
            grads[name] = (g.T if transposed else g).numpy().copy()
        return grads


def mse_loss(model, movies, users, ratings):
    """The seed's loss: mean over the batch of (prediction − rating)²."""
    prediction = model(torch.as_tensor(movies), torch.as_tensor(users))
    return mean_squared_error(prediction, ratings)


def mean_squared_error(prediction, ratings):
    """Mean over the batch of (prediction − rating)², the ratings cast to the prediction's type."""
    return torch.mean((prediction - torch.as_tensor(ratings, dtype=prediction.dtype)) ** 2)


def keras_seed_model(params: dict):
    """The seed's Keras model and optimizer, holding exactly the weights of ``params``.

    The seed's own code, on Keras 3 with the PyTorch backend: movie and user ids as
    ``Input(shape=(1,))``, each through ``Embedding(n, 40)`` and flattened, ``Concatenate``,
    ``Dense(64, activation='relu')`` per hidden layer, ``Dense(1)``, compiled with
    ``loss='mse'`` and ``Adadelta(learning_rate=1.0, rho=0.95, epsilon=1e-7)``. Keras' Dense
    kernels are (n_in, n_out), as ours. Train it with ``model.train_on_batch([movies, users],
    ratings)``, ids as (B, 1) int32 columns.
    """
    os.environ["KERAS_BACKEND"] = "torch"  # read once, when Keras is first imported
    import keras
    from keras import layers
    if keras.backend.backend() != "torch":
        raise RuntimeError(f"Keras was already imported with the {keras.backend.backend()!r} "
                           "backend; the seed model runs on 'torch'")
    (n_movies, dim), n_users = params["movie_embedding"].shape, len(params["user_embedding"])
    movie = keras.Input(shape=(1,), dtype="int32", name="movie")
    user = keras.Input(shape=(1,), dtype="int32", name="user")
    movie_embedding = layers.Embedding(n_movies, dim, name="movie_embedding")
    user_embedding = layers.Embedding(n_users, dim, name="user_embedding")
    x = layers.Concatenate()([layers.Flatten()(movie_embedding(movie)),
                              layers.Flatten()(user_embedding(user))])
    dense, k = [], 0
    while f"dense_{k}.bias" in params:
        dense.append(layers.Dense(len(params[f"dense_{k}.bias"]), activation="relu",
                                  name=f"dense_{k}"))
        x = dense[-1](x)
        k += 1
    output = layers.Dense(1, name="output")
    model = keras.Model([movie, user], output(x))
    model.compile(loss="mse", optimizer=keras.optimizers.Adadelta(
        learning_rate=1.0, rho=0.95, epsilon=1e-7))
    movie_embedding.set_weights([params["movie_embedding"]])
    user_embedding.set_weights([params["user_embedding"]])
    for layer in (*dense, output):
        layer.set_weights([params[f"{layer.name}.weight"], params[f"{layer.name}.bias"]])
    return model


def torch_training_step(params: dict, sparse=False, compiled=False):
    """One training step of `TorchRatingNet` from ``params``, as the benchmarks run it:
    ``step(movies, users, ratings)`` on int64 id and float32 rating tensors.

    ``sparse=False``: the seed's recipe translated, dense embedding gradients and
    ``torch.optim.Adadelta`` (the seed's lr 1.0, rho 0.95, eps 1e-7). ``sparse=True``: the usual
    fast recipe, sparse embedding gradients with ``SparseAdam`` and ``Adam`` for the dense
    layers. ``compiled=True`` (with sparse) also compiles the dense layers with
    ``torch.compile``; the lookups stay eager, as inductor cannot make sparse gradients.
    """
    model = TorchRatingNet.from_params(params, sparse=sparse)
    if sparse:
        embeddings = [model.movie_embedding.weight, model.user_embedding.weight]
        dense = [p for p in model.parameters() if all(p is not e for e in embeddings)]
        optimizers = [torch.optim.SparseAdam(embeddings), torch.optim.Adam(dense)]
    else:
        optimizers = [torch.optim.Adadelta(model.parameters(), lr=1.0, rho=0.95, eps=1e-7)]
    head = torch.compile(model.head) if compiled else model.head

    def step(movies, users, ratings):
        for optimizer in optimizers:
            optimizer.zero_grad(set_to_none=True)
        mean_squared_error(head(model.embed(movies, users)), ratings).backward()
        for optimizer in optimizers:
            optimizer.step()
    return step
