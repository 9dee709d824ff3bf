"""fit(): epochs of shuffled minibatches, validation, progress, a History — like Keras' fit.

The arithmetic of training lives in an *engine* (``nn/engines.py``): ``"numba"``, compiled and
parallel, or ``"numpy"``, the readable reference. This module only schedules the work.
"""

from __future__ import annotations

import math
import signal
import sys
import threading
import time
import types
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .nn.engines import ENGINES
from .nn.network import RatingNet
from .nn.optim import Adadelta


@dataclass
class History:
    """What `fit` measured, one entry per finished epoch (``valid_rmse`` stays empty without
    validation data).

    ``epochs`` numbers epochs over the model's whole life, so a second `fit` call continues
    the count. ``stopped_early`` is set when ``patience`` ran out; ``interrupted`` when Ctrl-C
    ended training (a checkpoint, if asked for, then holds the exact point reached).
    """

    epochs: list = field(default_factory=list)
    train_rmse: list = field(default_factory=list)  # over the epoch's batches, as they trained
    valid_rmse: list = field(default_factory=list)  # after the epoch
    seconds: list = field(default_factory=list)  # training time of the epoch, validation excluded
    stopped_early: bool = False
    interrupted: bool = False


def fit(net: RatingNet, train, valid=None, epochs: int = 5, batch_size: int = 1024,
        optimizer: Adadelta | None = None, engine: str = "numba", seed: int = 0,
        threads="auto", progress: bool = True, checkpoint=None,
        resume: bool = False, patience: int | None = None) -> History:
    """Train ``net`` on ``train`` ratings for ``epochs`` more epochs; return a `History`.

    ``train`` and ``valid`` are `Ratings` or ``(movies, users, ratings)`` arrays of dense
    indices. Each epoch visits the ratings in a fresh order drawn from ``seed`` and the epoch's
    number, so runs are reproducible, and calling `fit` again continues training (like Keras),
    with the optimizer state kept on ``net``. ``optimizer`` defaults to the one ``net``
    already trained with, else ``Adadelta()``.

    ``engine="numba"`` (compiled, on all cores) and ``engine="numpy"`` (the readable
    reference) give the same results to float32 rounding. The Numba engine gives
    bit-identical results for any thread count, so ``threads="auto"`` (the default) lets it
    pick, and keep re-picking, the fastest count while it trains; an int pins it.

    Long runs: ``checkpoint`` (a path) saves the model after every epoch, atomically, with the
    movie catalogue of ``train`` when it is a `Ratings` (so it answers title queries). Ctrl-C
    stops between two stretches of batches, saves the checkpoint there and returns the
    history so far. ``resume=True`` first loads the checkpoint, if it exists (parameters and
    optimizer state), and trains until the model has ``epochs`` epochs in total — so re-running an interrupted call
    finishes it, with the same result as a run never interrupted. ``patience`` stops
    training once the validation RMSE has not improved for that many epochs.

    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> movies, users = rng.integers(0, 20, 500), rng.integers(0, 30, 500)
    >>> net = RatingNet(20, 30, dim=4, hidden=(8,))
    >>> hist = fit(net, (movies, users, rng.integers(1, 6, 500)), epochs=2, engine="numpy",
    ...            progress=False)
    >>> len(hist.train_rmse), net.epochs_trained
    (2, 2)
    """
    _check_arguments(engine, epochs, batch_size, valid, patience, resume, checkpoint)
    movies, users, ratings = net.check_batch(*_columns(train, "train"))
    if len(movies) == 0:
        raise ValueError("the training set holds no ratings")
    if valid is not None:
        valid = net.check_batch(*_columns(valid, "valid"))
    if resume and Path(checkpoint).exists():
        _restore(net, RatingNet.load(checkpoint), checkpoint)
        epochs = max(0, epochs - net.epochs_trained)
        optimizer = net.optimizer  # the checkpoint's state, not a fresh optimizer
    net.optimizer = optimizer or net.optimizer or Adadelta()
    trainer = ENGINES[engine](net, net.optimizer, movies, users, ratings, threads=threads)
    catalogue = train if hasattr(train, "titles") else None  # checkpoints answer title queries
    history, best_valid, waited = History(), math.inf, 0
    with interrupt_between_batches() as interrupt:
        for _ in range(epochs):
            epoch = net.epochs_trained + 1
            bar = ProgressLine(f"epoch {epoch}", total=len(movies), enabled=progress)
            started = time.perf_counter()
            train_rmse = _train_epoch(trainer, net, len(movies), batch_size, seed, bar, interrupt)
            if train_rmse is None:  # Ctrl-C: the exact position is kept in net.partial_epoch
                history.interrupted = True
                if checkpoint is not None:
                    net.save(checkpoint, ratings=catalogue)
                bar.close(f"interrupted; {_resume_hint(checkpoint)}")
                break
            history.seconds.append(time.perf_counter() - started)
            history.train_rmse.append(train_rmse)
            history.epochs.append(epoch)
            net.epochs_trained = epoch
            if valid is not None:
                history.valid_rmse.append(rmse(trainer.predict(valid[0], valid[1]), valid[2]))
            if checkpoint is not None:
                net.save(checkpoint, ratings=catalogue)
            bar.close(_epoch_summary(history, len(movies)))
            if patience is not None:
                if history.valid_rmse[-1] < best_valid:
                    best_valid, waited = history.valid_rmse[-1], 0
                else:
                    waited += 1
                if waited >= patience:
                    history.stopped_early = True
                    break
    return history


def _train_epoch(trainer, net, n_ratings, batch_size, seed, bar, interrupt) -> float | None:
    """One pass over the ratings in the epoch's own shuffled order; returns the train RMSE.

    Starts where ``net.partial_epoch`` says an interrupted pass of this very epoch stopped;
    returns None, with ``net.partial_epoch`` updated, if interrupted itself.
    """
    epoch = net.epochs_trained + 1
    position = dict(epoch=epoch, seed=seed, batch_size=batch_size, n_ratings=n_ratings,
                    batches_done=0, squared_error=0.0)
    saved = net.partial_epoch or {}
    if all(saved.get(key) == position[key] for key in ("epoch", "seed", "batch_size", "n_ratings")):
        position = saved
    order = shuffled_indices(n_ratings, np.random.default_rng([seed, epoch]))
    n_batches = -(-n_ratings // batch_size)
    batches_per_call = max(1, trainer.ratings_per_call // batch_size)
    bar.update(min(position["batches_done"] * batch_size, n_ratings), loss=math.nan)
    for first in range(position["batches_done"], n_batches, batches_per_call):
        if interrupt.requested:
            net.partial_epoch = position
            return None
        count = min(batches_per_call, n_batches - first)
        losses = trainer.train_batches(order, batch_size, first, count)
        _stop_if_diverged(losses, epoch, first)
        sizes = np.minimum(batch_size, n_ratings - (first + np.arange(count)) * batch_size)
        position["squared_error"] += float(losses @ sizes)
        position["batches_done"] = first + count
        bar.update(int(sizes.sum()), loss=losses[-1])
    net.partial_epoch = None
    return math.sqrt(position["squared_error"] / n_ratings)


def shuffled_indices(n: int, rng: np.random.Generator) -> np.ndarray:
    """A random permutation of ``range(n)``, shuffled in place: int32 when it fits.

    At 100M ratings that is 400 MB, not the 800 MB (plus a copy) of ``rng.permutation``.

    >>> shuffled_indices(5, np.random.default_rng(0)).dtype
    dtype('int32')
    """
    order = np.arange(n, dtype=np.int32 if n < 2**31 else np.int64)
    rng.shuffle(order)
    return order


@contextmanager
def interrupt_between_batches():
    """Turn the first Ctrl-C into a request that training honours at the next safe point.

    A step cut in half would leave some parameters updated and others not. A second Ctrl-C
    interrupts at once. Outside the main thread signals cannot be caught: nothing changes.
    """
    request = types.SimpleNamespace(requested=False)
    if threading.current_thread() is not threading.main_thread():
        yield request
        return

    def handler(signum, frame):
        if request.requested:
            raise KeyboardInterrupt
        request.requested = True

    previous = signal.signal(signal.SIGINT, handler)
    try:
        yield request
    finally:
        signal.signal(signal.SIGINT, previous)


def _restore(net: RatingNet, saved: RatingNet, path) -> None:
    """Take over a checkpoint's state (same architecture required)."""
    if saved.config != net.config:
        raise ValueError(f"{path}: checkpoint of another model ({saved.config}), "
                         f"not of {net.config}")
    net.params, net.optimizer = saved.params, saved.optimizer
    net.epochs_trained, net.partial_epoch = saved.epochs_trained, saved.partial_epoch


def _check_arguments(engine, epochs, batch_size, valid, patience, resume, checkpoint):
    if engine not in ENGINES:
        raise ValueError(f"unknown engine {engine!r}; choose one of {sorted(ENGINES)}")
    if not (isinstance(epochs, int) and epochs >= 0):
        raise ValueError(f"epochs must be a non-negative integer, got {epochs!r}")
    if not (isinstance(batch_size, int) and batch_size >= 1):
        raise ValueError(f"batch_size must be a positive integer, got {batch_size!r}")
    if patience is not None and (valid is None or not isinstance(patience, int) or patience < 1):
        raise ValueError("patience needs validation ratings (valid=...) and a positive integer")
    if resume and checkpoint is None:
        raise ValueError("resume=True needs the checkpoint=... path to resume from")


def _resume_hint(checkpoint) -> str:
    if checkpoint is None:
        return "no checkpoint was asked for; the model in memory holds the point reached"
    return f"saved to {checkpoint}; fit(..., checkpoint=..., resume=True) continues from there"


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
    """Progress on stderr: a bar with rate, loss and ETA while an epoch runs, then its summary.

    On a terminal the bar is tqdm's when tqdm is installed, else a plain line redrawn at most
    five times a second; elsewhere (a CI log, a pipe) only the summary lines are written.
    ``enabled=False`` writes nothing.
    """

    REDRAW_SECONDS = 0.2

    def __init__(self, label: str, total: int, enabled: bool = True, stream=None):
        self.label, self.total, self.enabled = label, total, enabled
        self.stream = stream or sys.stderr
        self.live = enabled and self.stream.isatty()
        self.done = 0
        self.started = self.last_drawn = time.perf_counter()
        self.tqdm = _tqdm_bar(label, total, self.stream) if self.live else None

    def update(self, n: int, loss: float) -> None:
        self.done += n
        if self.tqdm is not None:
            self.tqdm.update(n)
            self.tqdm.set_postfix_str(f"loss {loss:.4f}", refresh=False)
            return
        now = time.perf_counter()
        if self.live and now - self.last_drawn >= self.REDRAW_SECONDS:
            self.last_drawn = now
            rate = self.done / max(now - self.started, 1e-9)
            eta = (self.total - self.done) / max(rate, 1e-9)
            self.stream.write(f"\r{self.label}: {self.done / self.total:4.0%} "
                              f"{rate:,.0f} ratings/s, loss {loss:.4f}, ETA {_clock(eta)}  ")
            self.stream.flush()

    def close(self, summary: str) -> None:
        if self.tqdm is not None:
            self.tqdm.close()
        if self.enabled:
            erase = "\r\x1b[K" if self.live else ""
            self.stream.write(f"{erase}{self.label}: {summary}\n")
            self.stream.flush()


def _tqdm_bar(label, total, stream):
    try:
        from tqdm import tqdm
    except ImportError:
        return None
    return tqdm(total=total, desc=label, unit=" ratings", unit_scale=True, file=stream,
                leave=False, dynamic_ncols=True)


def _clock(seconds: float) -> str:
    minutes, seconds = divmod(int(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}:{minutes:02d}:{seconds:02d}"
