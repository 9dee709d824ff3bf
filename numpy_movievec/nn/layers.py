"""The reference layers: every forward pass with its backward pass beside it, in plain NumPy.

Each layer is a class holding two functions and no state:

    out, cache = Layer.forward(inputs...)     # compute the output; keep what backward needs
    grads      = Layer.backward(dout, cache)  # turn dL/d(out) into dL/d(each input)

``dout`` is the gradient of the loss L with respect to the layer's output; it has the output's
shape. ``B`` is the batch size. Backprop is then the chain rule applied layer by layer, last
layer first: each backward takes the gradient its successor handed back.

The functions keep the dtype they are given, so the network trains in float32 and the gradient
checks run the very same code in float64. Nothing here is optimised: ``nn/kernels.py`` holds the
fast versions, and the tests hold both equal to these.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np


class RowGradient(NamedTuple):
    """The gradient of an embedding table, kept only on the rows a batch used.

    ``rows`` are distinct row indices (sorted), ``values[i]`` is the gradient of row
    ``rows[i]``; every other row's gradient is zero. At Netflix scale a dense gradient of the
    user table would be 480,189 × 40 floats, almost all zero, on every step.

    >>> g = RowGradient(rows=np.array([2]), values=np.ones((1, 3)))
    >>> g.to_dense(n_rows=4)[:, 0]
    array([0., 0., 1., 0.])
    """

    rows: np.ndarray  # (R,) distinct row indices
    values: np.ndarray  # (R, dim)

    def to_dense(self, n_rows: int) -> np.ndarray:
        """The same gradient as a full ``(n_rows, dim)`` array, zero outside ``rows``."""
        dense = np.zeros((n_rows, self.values.shape[1]), dtype=self.values.dtype)
        dense[self.rows] = self.values
        return dense


class Embedding:
    """Look up one row of a table per id: ``out[b] = table[ids[b]]``.

    Backward. Output element ``out[b, j]`` is a copy of ``table[ids[b], j]``, so it depends on
    no other table entry, and

        dL/dtable[r, j] = sum over the b with ids[b] == r of dout[b, j].

    A row used twice in the batch receives the sum of both gradients; a row not used receives
    zero. The ids are integers, not something to differentiate, so they get no gradient.

    >>> table = np.arange(6.0).reshape(3, 2)
    >>> out, cache = Embedding.forward(table, np.array([2, 0, 2]))
    >>> out.tolist()
    [[4.0, 5.0], [0.0, 1.0], [4.0, 5.0]]
    >>> grad = Embedding.backward(np.ones((3, 2)), cache)  # row 2 was used twice
    >>> grad.rows.tolist(), grad.values.tolist()
    ([0, 2], [[1.0, 1.0], [2.0, 2.0]])
    """

    @staticmethod
    def forward(table, ids):
        out = table[ids]  # (B, dim)
        return out, ids

    @staticmethod
    def backward(dout, cache) -> RowGradient:
        ids = cache
        rows, position = np.unique(ids, return_inverse=True)  # ids == rows[position]
        values = np.zeros((len(rows), dout.shape[1]), dtype=dout.dtype)  # (R, dim)
        np.add.at(values, position, dout)  # unbuffered: repeated rows accumulate
        return RowGradient(rows, values)


class Concatenate:
    """Put two inputs side by side: ``out = [a | b]`` along the feature axis.

    Backward. The first ``a.shape[1]`` output columns are ``a`` and the rest are ``b``, so the
    gradient is just ``dout`` cut at that column:

        dL/da = dout[:, :width_a],    dL/db = dout[:, width_a:].

    >>> out, cache = Concatenate.forward(np.ones((1, 2)), np.zeros((1, 3)))
    >>> out.tolist()
    [[1.0, 1.0, 0.0, 0.0, 0.0]]
    >>> [g.shape for g in Concatenate.backward(np.ones((1, 5)), cache)]
    [(1, 2), (1, 3)]
    """

    @staticmethod
    def forward(a, b):
        out = np.concatenate([a, b], axis=1)  # (B, width_a + width_b)
        return out, a.shape[1]

    @staticmethod
    def backward(dout, cache):
        width_a = cache
        return dout[:, :width_a], dout[:, width_a:]


class Dense:
    """An affine map: ``out = x @ weight + bias`` with x (B, n_in), weight (n_in, n_out).

    Backward. Writing it out, ``out[b, k] = sum_i x[b, i] weight[i, k] + bias[k]``. Then

        dL/dx[b, i]      = sum_k dout[b, k] weight[i, k]   ->  dx      = dout @ weight.T
        dL/dweight[i, k] = sum_b x[b, i] dout[b, k]        ->  dweight = x.T @ dout
        dL/dbias[k]      = sum_b dout[b, k]                ->  dbias   = dout.sum(axis=0)

    The weight and bias are shared by every row of the batch, so their gradients sum over it.

    >>> out, cache = Dense.forward(np.ones((4, 3)), np.ones((3, 2)), np.zeros(2))
    >>> out[0].tolist()
    [3.0, 3.0]
    >>> dx, dweight, dbias = Dense.backward(np.ones((4, 2)), cache)
    >>> dx.shape, dweight.tolist(), dbias.tolist()  # weight and bias: summed over 4 rows
    ((4, 3), [[4.0, 4.0], [4.0, 4.0], [4.0, 4.0]], [4.0, 4.0])
    """

    @staticmethod
    def forward(x, weight, bias):
        out = x @ weight + bias  # (B, n_out)
        return out, (x, weight)

    @staticmethod
    def backward(dout, cache):
        x, weight = cache
        dx = dout @ weight.T  # (B, n_in)
        dweight = x.T @ dout  # (n_in, n_out)
        dbias = dout.sum(axis=0)  # (n_out,)
        return dx, dweight, dbias


class ReLU:
    """The rectifier: ``out = max(x, 0)`` element by element.

    Backward. The slope is 1 where ``x > 0`` and 0 elsewhere (we take 0 at the kink ``x == 0``,
    as PyTorch and TensorFlow do), so

        dL/dx = dout * (x > 0).

    >>> out, cache = ReLU.forward(np.array([-1.0, 0.0, 2.0]))
    >>> out.tolist(), ReLU.backward(np.array([5.0, 5.0, 5.0]), cache).tolist()
    ([0.0, 0.0, 2.0], [0.0, 0.0, 5.0])
    """

    @staticmethod
    def forward(x):
        out = np.maximum(x, 0)  # (B, n)
        return out, x > 0

    @staticmethod
    def backward(dout, cache):
        active = cache
        return dout * active


class MeanSquaredError:
    """The loss: ``L = (1/B) sum_b (prediction[b] - target[b])^2``.

    Backward. Only the b-th term depends on ``prediction[b]``, and d(u^2)/du = 2u, so

        dL/dprediction[b] = 2 (prediction[b] - target[b]) / B.

    The 1/B is why gradients shrink as batches grow: every parameter's gradient is an average
    over the batch. The loss is the last layer, so its backward starts the chain with dL/dL = 1
    and needs no ``dout``.

    >>> loss, cache = MeanSquaredError.forward(np.array([3.0, 5.0]), np.array([4.0, 4.0]))
    >>> float(loss), MeanSquaredError.backward(cache).tolist()
    (1.0, [-1.0, 1.0])
    """

    @staticmethod
    def forward(prediction, target):
        error = prediction - target  # (B,)
        loss = np.mean(error * error)
        return loss, error

    @staticmethod
    def backward(cache):
        error = cache
        return (2 / len(error)) * error  # (B,)


class L2Penalty:
    """Weight decay on the embedding vectors a batch uses: ``P = (λ/B) sum_b |x[b]|^2``.

    ``x`` is the concatenated (movie, user) vectors of the batch, (B, 2 dim). The penalty is
    per example, as Surprise's SVD regularises: a row used k times in a batch is pulled toward
    zero k times, and rows the batch does not use are left alone — not the whole table on every
    step, which at Netflix scale would cost more than the step itself.

    Backward. The b-th term depends only on ``x[b]``, and d|u|^2/du = 2u, so

        dP/dx[b] = 2 λ x[b] / B,

    added to the gradient that reaches ``x`` from the layers above.

    >>> penalty, cache = L2Penalty.forward(np.array([[1.0, 2.0], [0.0, 2.0]]), l2=0.1)
    >>> float(penalty), L2Penalty.backward(cache).tolist()
    (0.45, [[0.1, 0.2], [0.0, 0.2]])
    """

    @staticmethod
    def forward(x, l2):
        penalty = l2 * np.sum(x * x) / len(x)
        return penalty, (x, l2)

    @staticmethod
    def backward(cache):
        x, l2 = cache
        return (2 * l2 / len(x)) * x  # (B, 2 dim)
