"""The seed model translated faithfully to PyTorch: the oracle for tests and the rival in benchmarks.

PyTorch is optional (``pip install 'numpy_movievec[oracle]'``); nothing in the library imports
this file. Its parameters map one to one onto ``RatingNet.params``; the only difference is that
``torch.nn.Linear`` stores its weight as (n_out, n_in), the transpose of ours.
"""

from __future__ import annotations

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
        x = torch.cat([self.movie_embedding(movies), self.user_embedding(users)], dim=1)
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
    return torch.mean((prediction - torch.as_tensor(ratings, dtype=prediction.dtype)) ** 2)
