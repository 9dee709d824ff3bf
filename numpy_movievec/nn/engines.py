"""Engines: the two ways `fit` can run a stretch of minibatches. Same maths, same results.

An engine is bound to a network, its optimizer and the training columns, and offers:

    losses = engine.train_batches(order, batch_size, first_batch, n_batches)   # one loss per batch
    predictions = engine.predict(movies, users)

``order`` is the epoch's permutation of rating indices; batch k is
``order[k * batch_size:(k + 1) * batch_size]``. ``fit`` calls ``train_batches`` for about
``ratings_per_call`` ratings at a time (at least one batch), reporting progress in between.
"""

from __future__ import annotations

from contextlib import contextmanager

import numba
import numpy as np

from . import kernels
from .network import RatingNet
from .optim import Adadelta

EMBEDDINGS = ("movie_embedding", "user_embedding")


class NumpyEngine:
    """The reference: `RatingNet.loss_and_grads` then `Adadelta.step`, one batch at a time.

    Embedding gradients stay row-sparse, so a step costs the same whatever the table sizes.
    """

    ratings_per_call = 1  # one batch: a Python step per batch anyway

    def __init__(self, net: RatingNet, optimizer: Adadelta, movies, users, ratings,
                 threads="auto"):
        self.net, self.optimizer = net, optimizer
        self.movies, self.users, self.ratings = movies, users, ratings

    def train_batches(self, order, batch_size, first_batch, n_batches) -> np.ndarray:
        losses = np.empty(n_batches)
        for b in range(n_batches):
            batch = order[(first_batch + b) * batch_size:][:batch_size]
            loss, grads = self.net.loss_and_grads(
                self.movies[batch], self.users[batch], self.ratings[batch], sparse=True)
            self.optimizer.step(self.net.params, grads)
            losses[b] = loss
        return losses

    def predict(self, movies, users) -> np.ndarray:
        return self.net.predict(movies, users)


class NumbaEngine:
    """The compiled engine: ``kernels.train_batches`` over many batches per call, on all cores.

    The dense layers' parameters and Adadelta state travel to the kernels packed in flat
    vectors (a few thousand floats, copied in and out per call); the embedding tables and
    their state are updated where they are, in ``net.params`` and ``optimizer.state``.
    """

    ratings_per_call = 1 << 18  # long enough that the per-call set-up is noise

    def __init__(self, net: RatingNet, optimizer: Adadelta, movies, users, ratings,
                 threads="auto"):
        self.net, self.optimizer = net, optimizer
        self.threads = None if threads == "auto" else threads
        with numba_threads(self.threads):  # checks the value
            pass
        self.movies, self.users = _int32(movies), _int32(users)
        # int8 (whole stars) or float32: two compiled variants at most
        self.ratings = ratings if ratings.dtype == np.int8 else ratings.astype(np.float32)
        self.dense_names = [name for name in net.params if name not in EMBEDDINGS]
        self.layout = _dense_layout(net)

    def train_batches(self, order, batch_size, first_batch, n_batches) -> np.ndarray:
        net, opt = self.net, self.optimizer
        params = net.params
        movie_state = _embedding_state(opt, "movie_embedding", params)
        user_state = _embedding_state(opt, "user_embedding", params)
        dense, accum_grad, accum_update = self._pack_dense()
        losses = np.empty(n_batches)
        hyper = np.array([opt.lr, opt.rho, opt.eps, opt.decay_untouched_rows], dtype=np.float64)
        with numba_threads(self.threads):
            steps_done = kernels.train_batches(
                params["movie_embedding"], params["user_embedding"], movie_state, user_state,
                dense, accum_grad, accum_update, self.layout, self.movies, self.users,
                self.ratings, order, batch_size, first_batch, n_batches, opt.iterations, hyper,
                losses)
        opt.iterations = steps_done
        self._unpack_dense(dense, accum_grad, accum_update)
        return losses

    def predict(self, movies, users) -> np.ndarray:
        movies, users, _ = self.net.check_batch(movies, users)
        out = np.empty(len(movies), dtype=np.float32)
        dense = _flat(self.net.params[name] for name in self.dense_names)
        kernels.predict_rows(self.net.params["movie_embedding"], self.net.params["user_embedding"],
                             dense, self.layout, _int32(movies), _int32(users), out)
        return out

    def _pack_dense(self):
        """Dense parameters and their (caught-up) Adadelta averages as three flat vectors."""
        opt, params = self.optimizer, self.net.params
        opt.synchronize(self.dense_names)
        states = [opt.state_for(name, params[name]) for name in self.dense_names]
        return (_flat(params[name] for name in self.dense_names),
                _flat(state["accum_grad"] for state in states),
                _flat(state["accum_update"] for state in states))

    def _unpack_dense(self, dense, accum_grad, accum_update):
        opt, params, offset = self.optimizer, self.net.params, 0
        for name in self.dense_names:
            param, state = params[name], opt.state[name]
            chunk = slice(offset, offset + param.size)
            param[...] = dense[chunk].reshape(param.shape)
            state["accum_grad"][...] = accum_grad[chunk].reshape(param.shape)
            state["accum_update"][...] = accum_update[chunk].reshape(param.shape)
            state["row_step"][...] = opt.iterations
            offset += param.size


@contextmanager
def numba_threads(threads: int | None):
    """Run the block with ``threads`` Numba threads (None: leave the setting alone).

    Numba fixes its ceiling, ``NUMBA_NUM_THREADS`` (default: the core count), at import; only
    fewer threads can be asked for later.
    """
    if threads is None:
        yield
        return
    ceiling = numba.config.NUMBA_NUM_THREADS
    if isinstance(threads, bool) or not isinstance(threads, int) or not 1 <= threads <= ceiling:
        raise ValueError(f"threads must be a whole number from 1 to {ceiling} "
                         f"(NUMBA_NUM_THREADS), got {threads!r}")
    previous = numba.get_num_threads()
    numba.set_num_threads(threads)
    try:
        yield
    finally:
        numba.set_num_threads(previous)


def _dense_layout(net: RatingNet) -> np.ndarray:
    """``(n_in, n_out, weight offset, bias offset)`` per dense layer in the packed vector."""
    widths = [2 * net.dim, *net.hidden, 1]
    rows, offset = [], 0
    for n_in, n_out in zip(widths[:-1], widths[1:]):
        rows.append((n_in, n_out, offset, offset + n_in * n_out))
        offset += n_in * n_out + n_out
    return np.array(rows, dtype=np.int64)


def _flat(arrays) -> np.ndarray:
    """The arrays' elements, one after the other, in one new float32 vector."""
    return np.concatenate([array.ravel() for array in arrays])


def _embedding_state(opt: Adadelta, name, params):
    state = opt.state_for(name, params[name])
    return state["accum_grad"], state["accum_update"], state["row_step"]


def _int32(ids) -> np.ndarray:
    return np.ascontiguousarray(ids, dtype=np.int32)


ENGINES = {"numpy": NumpyEngine, "numba": NumbaEngine}
