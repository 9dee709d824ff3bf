"""Engines: the two ways `fit` can run a stretch of minibatches. Same maths, same results.

An engine is bound to a network, its optimizer and the training columns, and offers:

    errors = engine.train_batches(order, batch_size, first_batch, n_batches)   # MSE per batch
    predictions = engine.predict(movies, users)

``order`` is the epoch's permutation of rating indices; batch k is
``order[k * batch_size:(k + 1) * batch_size]``. ``fit`` calls ``train_batches`` for about
``ratings_per_call`` ratings at a time (at least one batch), reporting progress in between.
"""

from __future__ import annotations

import numpy as np

from . import kernels
from .network import RatingNet
from .optim import Adadelta
from .threads import check_threads, numba_threads, thread_policy

EMBEDDINGS = ("movie_embedding", "user_embedding")


class NumpyEngine:
    """The reference: `RatingNet.loss_and_grads` then `Adadelta.step`, one batch at a time.

    Embedding gradients stay row-sparse, so a step costs the same whatever the table sizes.
    """

    ratings_per_call = 1  # one batch: a Python step per batch anyway

    def __init__(self, net: RatingNet, optimizer: Adadelta, movies, users, ratings,
                 threads="auto"):
        check_threads(threads)  # accepted for a common interface; NumPy runs as it runs
        self.net, self.optimizer = net, optimizer
        self.movies, self.users, self.ratings = movies, users, ratings

    def train_batches(self, order, batch_size, first_batch, n_batches) -> np.ndarray:
        losses = np.empty(n_batches)
        for b in range(n_batches):
            batch = order[(first_batch + b) * batch_size:][:batch_size]
            squared_error, _, grads = self.net.terms_and_grads(
                self.movies[batch], self.users[batch], self.ratings[batch])
            self.optimizer.step(self.net.params, grads)
            losses[b] = squared_error
        return losses

    def predict(self, movies, users) -> np.ndarray:
        return self.net.predict(movies, users)


class NumbaEngine:
    """The compiled engine: ``kernels.train_batches`` over many batches per call, on all cores.

    The dense layers' parameters and Adadelta state travel to the kernels packed in flat
    vectors (a few thousand floats, copied in and out per call); the embedding tables and
    their state are updated where they are, in ``net.params`` and ``optimizer.state``.
    ``threads``: a count, or ``"auto"`` for a `ThreadTuner` that times stretches of batches
    and keeps choosing the fastest count (results are the same bit for bit either way).
    """

    ratings_per_call = 1 << 18  # long enough that the per-call set-up is noise

    def __init__(self, net: RatingNet, optimizer: Adadelta, movies, users, ratings,
                 threads="auto"):
        self.net, self.optimizer = net, optimizer
        self.threads = thread_policy(threads)
        self.movies, self.users = _int32(movies), _int32(users)
        # int8 (whole stars) or float32: two compiled variants at most
        self.ratings = ratings if ratings.dtype == np.int8 else ratings.astype(np.float32)
        self.dense_names = [name for name in net.params if name not in EMBEDDINGS]
        self.layout = _dense_layout(net)
        self.workspaces = {}  # kernels.Workspace by (batch size, threads)
        self.powers_of_rho = (None, None)  # (rho, kernels.rho_powers(rho)), made when needed

    def train_batches(self, order, batch_size, first_batch, n_batches) -> np.ndarray:
        if not self.workspaces:  # compile (or load) the kernel before timing anything
            self._run(order, batch_size, first_batch, 0, self.threads.choice, np.empty(0))
        losses = np.empty(n_batches)
        done = 0

        def train(threads, count):
            nonlocal done
            self._run(order, batch_size, first_batch + done, count, threads,
                      losses[done:done + count])
            done += count

        self.threads.run(n_batches, train)
        return losses

    def _run(self, order, batch_size, first_batch, n_batches, threads, losses):
        opt = self.optimizer
        dense = self._pack_dense()
        work = self._workspace(batch_size, threads, dense)
        with numba_threads(threads):
            opt.iterations = kernels.train_batches(
                self._table("movie_embedding"), self._table("user_embedding"), dense,
                (self.movies, self.users, self.ratings), order, batch_size, first_batch,
                n_batches, opt.iterations, kernels.Adadelta.of(opt), self._rho_powers(),
                self.net.l2, work, losses)
        self._unpack_dense(dense)

    def _workspace(self, batch_size, threads, dense) -> kernels.Workspace:
        """The kernels' buffers for this batch size and thread count, made once; the
        table-sized row scratch is shared by all of them."""
        key = (batch_size, threads)
        if key not in self.workspaces:
            other = next(iter(self.workspaces.values()), None)
            shared = other and (other.movie_first_position, other.user_first_position)
            params = self.net.params
            self.workspaces[key] = kernels.workspace(
                batch_size, threads, dense, self.net.dim,
                [len(params[name]) for name in EMBEDDINGS], self.ratings.dtype, shared)
        return self.workspaces[key]

    def predict(self, movies, users) -> np.ndarray:
        movies, users, _ = self.net.check_batch(movies, users)
        out = np.empty(len(movies), dtype=np.float32)
        dense = _flat(self.net.params[name] for name in self.dense_names)
        with numba_threads(self.threads.choice):
            kernels.predict_rows(self.net.params["movie_embedding"],
                                 self.net.params["user_embedding"], dense, self.layout,
                                 _int32(movies), _int32(users), out)
        return out

    def _table(self, name) -> kernels.EmbeddingTable:
        """An embedding table and its optimizer state, as the kernels take them (no copies)."""
        param = self.net.params[name]
        state = self.optimizer.state_for(name, param)
        return kernels.EmbeddingTable(param, state["accum_grad"], state["accum_update"],
                                      state["row_step"])

    def _rho_powers(self) -> np.ndarray:
        rho = self.optimizer.rho
        if self.powers_of_rho[0] != rho:
            self.powers_of_rho = (rho, kernels.rho_powers(rho))
        return self.powers_of_rho[1]

    def _pack_dense(self) -> kernels.DenseLayers:
        """Dense parameters and their (caught-up) Adadelta averages as flat vectors."""
        opt, params = self.optimizer, self.net.params
        opt.synchronize(self.dense_names)
        states = [opt.state_for(name, params[name]) for name in self.dense_names]
        return kernels.DenseLayers(_flat(params[name] for name in self.dense_names),
                                   _flat(state["accum_grad"] for state in states),
                                   _flat(state["accum_update"] for state in states), self.layout)

    def _unpack_dense(self, dense: kernels.DenseLayers):
        opt, params, offset = self.optimizer, self.net.params, 0
        for name in self.dense_names:
            param, state = params[name], opt.state[name]
            chunk = slice(offset, offset + param.size)
            param[...] = dense.values[chunk].reshape(param.shape)
            state["accum_grad"][...] = dense.accum_grad[chunk].reshape(param.shape)
            state["accum_update"][...] = dense.accum_update[chunk].reshape(param.shape)
            state["row_step"][...] = opt.iterations
            offset += param.size


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


def _int32(ids) -> np.ndarray:
    return np.ascontiguousarray(ids, dtype=np.int32)


ENGINES = {"numpy": NumpyEngine, "numba": NumbaEngine}
