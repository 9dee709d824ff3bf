"""fit(): epochs of shuffled minibatches, validation, progress, a History — like Keras' fit.

The arithmetic of training lives in an *engine* (``nn/engines.py``): ``"numba"``, compiled and
parallel, or ``"numpy"``, the readable reference. This module only schedules the work.
"""

from __future__ import annotations

import math
import sys
import time
from dataclasses import dataclass, field

import numpy as np

from .nn.engines import ENGINES, numba_threads
from .nn.network import RatingNet
from .nn.optim import Adadelta


@dataclass
class History:
    """What `fit` measured, one entry per epoch (``valid_rmse`` stays empty without validation).

    ``epochs`` numbers epochs over the model's whole life, so a second `fit` call continues
    the count.
    """

    epochs: list = field(default_factory=list)
    train_rmse: list = field(default_factory=list)  # over the epoch's batches, as they trained
    valid_rmse: list = field(default_factory=list)  # after the epoch
    seconds: list = field(default_factory=list)  # training time of the epoch, validation excluded


def fit(net: RatingNet, train, valid=None, epochs: int = 5, batch_size: int = 1024,
        optimizer: Adadelta | None = None, engine: str = "numba", seed: int = 0,
        threads: int | None = None, progress: bool = True, checkpoint=None) -> History:
    """Train ``net`` on ``train`` ratings for ``epochs`` epochs; return a `History`.

    ``train`` and ``valid`` are `Ratings` or ``(movies, users, ratings)`` arrays of dense
    indices. Each epoch visits the ratings in a fresh order drawn from ``seed`` and the epoch's
    number, so a run is reproducible and a continued run (calling `fit` again, which resumes
    with the optimizer state kept on ``net``) picks up where it stopped. ``optimizer`` defaults
    to the one ``net`` already trained with, else ``Adadelta()``. With ``checkpoint`` (a path),
    the model is saved there after every epoch.

    ``engine="numba"`` (compiled, on ``threads`` cores: all by default) and ``engine="numpy"``
    (the readable reference) give the same results to float32 rounding; the Numba engine
    gives bit-identical results for any thread count.

    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> movies, users = rng.integers(0, 20, 500), rng.integers(0, 30, 500)
    >>> net = RatingNet(20, 30, dim=4, hidden=(8,))
    >>> hist = fit(net, (movies, users, rng.integers(1, 6, 500)), epochs=2, engine="numpy",
    ...            progress=False)
    >>> len(hist.train_rmse), net.epochs_trained
    (2, 2)
    """
    if engine not in ENGINES:
        raise ValueError(f"unknown engine {engine!r}; choose one of {sorted(ENGINES)}")
    if not (isinstance(epochs, int) and epochs >= 0):
        raise ValueError(f"epochs must be a non-negative integer, got {epochs!r}")
    if not (isinstance(batch_size, int) and batch_size >= 1):
        raise ValueError(f"batch_size must be a positive integer, got {batch_size!r}")
    movies, users, ratings = net.check_batch(*_columns(train, "train"))
    if len(movies) == 0:
        raise ValueError("the training set holds no ratings")
    if valid is not None:
        valid = net.check_batch(*_columns(valid, "valid"))
    net.optimizer = optimizer or net.optimizer or Adadelta()
    trainer = ENGINES[engine](net, net.optimizer, movies, users, ratings)
    history = History()
    with numba_threads(threads):
        for _ in range(epochs):
            epoch = net.epochs_trained + 1
            bar = ProgressLine(f"epoch {epoch}", total=len(movies), enabled=progress)
            started = time.perf_counter()
            history.train_rmse.append(_train_epoch(trainer, len(movies), batch_size, seed, epoch, bar))
            history.seconds.append(time.perf_counter() - started)
            history.epochs.append(epoch)
            net.epochs_trained = epoch
            if valid is not None:
                history.valid_rmse.append(rmse(trainer.predict(valid[0], valid[1]), valid[2]))
            if checkpoint is not None:
                net.save(checkpoint)
            bar.close(_epoch_summary(history, len(movies)))
    return history


def _train_epoch(trainer, n_ratings, batch_size, seed, epoch, bar) -> float:
    """One pass over the ratings in the epoch's own shuffled order; returns the train RMSE."""
    order = np.random.default_rng([seed, epoch]).permutation(n_ratings)
    n_batches = -(-n_ratings // batch_size)
    batches_per_call = max(1, trainer.ratings_per_call // batch_size)
    squared_error = 0.0
    for first in range(0, n_batches, batches_per_call):
        count = min(batches_per_call, n_batches - first)
        losses = trainer.train_batches(order, batch_size, first, count)
        _stop_if_diverged(losses, epoch, first)
        sizes = np.minimum(batch_size, n_ratings - (first + np.arange(count)) * batch_size)
        squared_error += float(losses @ sizes)
        bar.update(int(sizes.sum()), loss=losses[-1])
    return math.sqrt(squared_error / n_ratings)


def rmse(predictions, ratings) -> float:
    """Root mean squared error, accumulated in float64.

    >>> rmse(np.array([3.0, 4.0]), np.array([4, 4]))
    0.7071067811865476
    """
    error = np.asarray(predictions, dtype=np.float64) - ratings
    return math.sqrt(np.mean(error * error))


def _stop_if_diverged(losses, epoch, first_batch):
    bad = np.flatnonzero(~np.isfinite(losses))
    if len(bad):
        raise FloatingPointError(
            f"the loss became {losses[bad[0]]} in epoch {epoch}, step {first_batch + bad[0] + 1}; "
            "try a smaller learning rate or check the ratings")


def _columns(data, name):
    """``(movies, users, ratings)`` from a `Ratings` or from a 3-tuple of arrays."""
    if all(hasattr(data, column) for column in ("movie", "user", "rating")):
        return data.movie, data.user, data.rating
    if isinstance(data, (tuple, list)) and len(data) == 3:
        return data
    raise TypeError(f"{name} must be a Ratings or a (movies, users, ratings) tuple, "
                    f"got {type(data).__name__}")


def _epoch_summary(history: History, n_ratings: int) -> str:
    seconds = history.seconds[-1]
    text = (f"{seconds:.1f} s, {n_ratings / max(seconds, 1e-9):,.0f} ratings/s, "
            f"train RMSE {history.train_rmse[-1]:.4f}")
    if history.valid_rmse:
        text += f", valid RMSE {history.valid_rmse[-1]:.4f}"
    return text


class ProgressLine:
    """A one-line progress report on stderr: done, rate, loss, ETA; then a summary per epoch.

    On a terminal the line redraws in place (at most five times a second); elsewhere, e.g. in
    a CI log, only the summary is written. ``enabled=False`` writes nothing.
    """

    REDRAW_SECONDS = 0.2

    def __init__(self, label: str, total: int, enabled: bool = True, stream=None):
        self.label, self.total, self.enabled = label, total, enabled
        self.stream = stream or sys.stderr
        self.live = enabled and self.stream.isatty()
        self.done = 0
        self.started = self.last_drawn = time.perf_counter()

    def update(self, n: int, loss: float) -> None:
        self.done += n
        now = time.perf_counter()
        if self.live and now - self.last_drawn >= self.REDRAW_SECONDS:
            self.last_drawn = now
            rate = self.done / (now - self.started)
            eta = (self.total - self.done) / rate
            self.stream.write(f"\r{self.label}: {self.done / self.total:4.0%} "
                              f"{rate:,.0f} ratings/s, loss {loss:.4f}, ETA {_clock(eta)}  ")
            self.stream.flush()

    def close(self, summary: str) -> None:
        if self.enabled:
            erase = "\r\x1b[K" if self.live else ""
            self.stream.write(f"{erase}{self.label}: {summary}\n")
            self.stream.flush()


def _clock(seconds: float) -> str:
    minutes, seconds = divmod(int(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}:{minutes:02d}:{seconds:02d}"
