"""fit(): epochs of shuffled minibatches, validation, progress, a History — like Keras' fit.

The arithmetic of training lives in an *engine* (``nn/engines.py``): ``"numba"``, compiled and
parallel, or ``"numpy"``, the readable reference. This module only schedules the work, and
keeps what a model should know about its own training:

- ``net.training_counts``: how many training ratings each movie's vector learned from, so that
  answers can say how much a vector has seen, and leave out movies that never trained.
- ``net.best``: the best validation epoch so far (`BestEpoch`), for ``patience`` and
  ``restore_best`` — like Keras' ``EarlyStopping(restore_best_weights=True)``, except that the
  record is part of the model, saved with it, so that a resumed run stops and restores exactly
  as an uninterrupted one.
"""

from __future__ import annotations

import copy
import hashlib
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

from . import archive, checks
from .checks import (BadValueError, DivergedError, FileInTheWayError, MovievecError,
                     NotEnoughMemoryError)
from .nn.engines import ENGINES
from .nn.network import BestEpoch, RatingNet, parameter_count
from .nn.optim import Adadelta

STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)  # both stop training at the next safe point
RESUME_SETTINGS = ("seed", "batch_size", "n_ratings")  # what a resumed run must keep


@dataclass
class History:
    """What `fit` measured, one entry per finished epoch (``valid_rmse`` stays empty without
    validation data).

    ``epochs`` numbers epochs over the model's whole life, so a second `fit` call continues
    the count. ``stopped_early`` is set when ``patience`` ran out; ``interrupted`` when Ctrl-C
    or SIGTERM ended training (``signal`` says which; a checkpoint, if asked for, then holds
    the exact point reached). ``best_epoch`` and ``best_valid_rmse`` name the model's best
    validation epoch so far (None without validation data); ``restored`` is set when
    ``restore_best`` took the model back to it.
    """

    epochs: list = field(default_factory=list)
    train_rmse: list = field(default_factory=list)  # over the epoch's batches, as they trained
    valid_rmse: list = field(default_factory=list)  # after the epoch
    seconds: list = field(default_factory=list)  # training time of the epoch, validation excluded
    stopped_early: bool = False
    interrupted: bool = False
    signal: int | None = None  # the signal that interrupted training, if one did
    best_epoch: int | None = None
    best_valid_rmse: float | None = None
    restored: bool = False


def fit(net: RatingNet, train, valid=None, epochs: int = 5, batch_size: int = 1024,
        optimizer: Adadelta | None = None, engine: str = "numba", seed: int = 0,
        threads="auto", progress: bool = True, checkpoint=None,
        resume: bool = False, overwrite: bool = False, patience: int | None = None,
        restore_best: bool = False) -> History:
    """Train ``net`` on ``train`` ratings for ``epochs`` more epochs; return a `History`.

    ``train`` and ``valid`` are `Ratings` or ``(movies, users, ratings)`` arrays of dense
    indices. Each epoch visits the ratings in a fresh order drawn from ``seed`` and the epoch's
    number, so runs are reproducible, and calling `fit` again continues training (like Keras),
    with the optimizer state kept on ``net``. ``optimizer`` defaults to the one ``net``
    already trained with, else ``Adadelta()``. A batch never holds more than all the ratings:
    a larger ``batch_size`` means one batch per epoch.

    ``engine="numba"`` (compiled, on all cores) and ``engine="numpy"`` (the readable
    reference) give the same results to float32 rounding. The Numba engine gives
    bit-identical results for any thread count, so ``threads="auto"`` (the default) lets it
    pick, and keep re-picking, the fastest count while it trains; an int pins it.

    Before the first epoch, fit checks what would otherwise fail late: the ratings' values
    (`Ratings.check_values`), that training fits in memory, and that ``checkpoint`` can be
    written (its folder exists and has room).

    Long runs: ``checkpoint`` (a path) saves the model after every epoch, atomically, with the
    movie catalogue of ``train`` when it is a `Ratings` (so it answers title queries). Ctrl-C
    or SIGTERM stops between two stretches of batches, saves the checkpoint there and returns
    the history so far. ``resume=True`` first loads the checkpoint, if it exists (parameters
    and optimizer state), and trains until the model has ``epochs`` epochs in total — so
    re-running an interrupted call finishes it, with the same result as a run never
    interrupted; the call must keep the checkpoint's seed, batch size and training data, and
    a ValueError names the one that differs. Without ``resume``, an existing checkpoint that
    holds more training than ``net`` is not replaced unless ``overwrite=True``. If a
    checkpoint cannot be written, the model is saved to a rescue file instead and the error
    says where.

    Validation: with ``valid``, each epoch ends with the validation RMSE, and the model keeps
    a record of its best epoch (``net.best``) across fit calls and resumes, as long as the
    validation ratings stay the same (other ones, or none, start the record afresh).
    ``patience`` stops training once that many epochs have passed since the best one — so a
    model that already stopped early trains no further with the same patience.
    ``restore_best=True`` (needs ``valid``) ends `fit` with the model as it was after its best
    epoch: parameters, optimizer state and epoch count, so training can go on from there. For
    that, fit keeps a copy of the best epoch's state in memory (the size of the parameters and
    optimizer state again). An interrupted fit does not restore: it leaves the point reached,
    to be resumed.

    What a checkpoint holds: the model as training left it, after the last epoch or at the
    exact point Ctrl-C or SIGTERM stopped it — what ``resume=True`` continues from — with its
    record of the best epoch and, with ``restore_best``, that epoch's state as well (so the
    file is about twice the size). A resumed run therefore stops and restores exactly as an
    uninterrupted one. The model `fit` returns, which ``movievec train -o`` saves, is the
    restored one.

    Counts: fit records in ``net.training_counts`` each movie's number of ratings in ``train``,
    which `RatingNet.movie_vectors` uses, so validation ratings are never counted and movies
    that never received a gradient are left out of answers. Over several fit calls a movie
    keeps the largest count it had in any of them: training again on the same ratings leaves
    the counts as they are, training on a larger set that holds the first raises them to its
    own, and a movie that has trained is never counted as untrained. (Two disjoint training
    sets count only the larger of each movie's two numbers.)

    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> movies, users = rng.integers(0, 20, 500), rng.integers(0, 30, 500)
    >>> net = RatingNet(20, 30, dim=4, hidden=(8,))
    >>> hist = fit(net, (movies, users, rng.integers(1, 6, 500)), epochs=2, engine="numpy",
    ...            progress=False)
    >>> len(hist.train_rmse), net.epochs_trained
    (2, 2)
    """
    epochs, batch_size, seed = _check_arguments(engine, epochs, batch_size, seed, valid,
                                                patience, restore_best, resume, checkpoint)
    movies, users, ratings = _checked_columns(net, train, "train")
    if len(movies) == 0:
        raise BadValueError("the training set holds no ratings")
    if valid is not None:
        valid = _checked_columns(net, valid, "valid")
    batch_size = min(batch_size, len(movies))
    settings = dict(seed=seed, batch_size=batch_size, n_ratings=len(movies))
    catalogue = train if hasattr(train, "titles") else None  # checkpoints answer title queries
    if checkpoint is not None:
        checkpoint = Path(checkpoint)
        archive.check_destination(checkpoint, net.file_size(catalogue) * (1 + restore_best))
        if resume and checkpoint.exists():
            _restore(net, RatingNet.load(checkpoint), checkpoint)
            check_same_settings(net.trained_with, settings, checkpoint)
            epochs = max(0, epochs - net.epochs_trained)
            optimizer = net.optimizer  # the checkpoint's state, not a fresh optimizer
        elif not overwrite:
            refuse_to_lose_training(checkpoint, net)
    _check_interrupted_epoch(net, settings)
    check_memory(net, batch_size, restore_best)
    net.optimizer = optimizer or net.optimizer or Adadelta()
    net.trained_with.update(settings)
    if epochs:
        net.training_counts = _training_counts(net, movies)
    valid_data = None if valid is None else fingerprint(*valid)
    _start_best_record(net, valid_data, restore_best)
    trainer = ENGINES[engine](net, net.optimizer, movies, users, ratings, threads=threads)

    def save_checkpoint(when):
        archive.save_or_rescue(lambda path: net.save(path, ratings=catalogue), checkpoint,
                               f"the model {when}")

    history = History(stopped_early=epochs > 0 and _out_of_patience(net, patience))
    with interrupt_between_batches() as interrupt, _memory_errors_explained(net, batch_size):
        for _ in range(0 if history.stopped_early else epochs):
            epoch = net.epochs_trained + 1
            bar = ProgressLine(f"epoch {epoch}", total=len(movies), enabled=progress)
            started = time.perf_counter()
            train_rmse = _train_epoch(trainer, net, len(movies), batch_size, seed, bar, interrupt)
            if train_rmse is None:  # interrupted: the exact position is kept in net.partial_epoch
                history.interrupted, history.signal = True, interrupt.signal
                if checkpoint is not None:
                    save_checkpoint(f"interrupted in epoch {epoch}")
                bar.close(_interrupted_summary(interrupt.signal, checkpoint))
                break
            history.seconds.append(time.perf_counter() - started)
            history.train_rmse.append(train_rmse)
            history.epochs.append(epoch)
            net.epochs_trained = epoch
            if valid is not None:
                history.valid_rmse.append(rmse(trainer.predict(valid[0], valid[1]), valid[2]))
                _record_if_best(net, history.valid_rmse[-1], valid_data, restore_best)
            if checkpoint is not None:
                save_checkpoint(f"after epoch {epoch}")
            bar.close(_epoch_summary(history, len(movies)))
            if _out_of_patience(net, patience):
                history.stopped_early = True
                break
    if net.best is not None:
        history.best_epoch, history.best_valid_rmse = net.best.epoch, net.best.valid_rmse
    if restore_best and not history.interrupted:
        history.restored = restore_best_epoch(net)
    return history


# ---------------------------------------------------------------------- the best epoch

def fingerprint(*columns) -> str:
    """A short hash of arrays' dtypes and bytes: are two validation sets the same ratings?

    >>> same, swapped = fingerprint(np.array([1, 2])), fingerprint(np.array([2, 1]))
    >>> same == fingerprint(np.array([1, 2])) != swapped
    True
    """
    digest = hashlib.blake2b(digest_size=8)
    for column in columns:
        column = np.ascontiguousarray(column)
        digest.update(column.dtype.str.encode())
        digest.update(memoryview(column).cast("B"))
    return digest.hexdigest()


def _start_best_record(net: RatingNet, valid_data, restore_best: bool) -> None:
    """Keep ``net.best`` if it was measured on these validation ratings and can serve
    ``restore_best`` (it holds the best epoch's state, or the model is at that epoch);
    otherwise start afresh. Without restore_best no state is kept."""
    best = net.best
    if best is None or best.valid_data != valid_data:
        net.best = None
    elif not restore_best:
        net.best = best._replace(params=None, optimizer=None)
    elif best.params is None:
        at_best = best.epoch == net.epochs_trained and net.partial_epoch is None
        net.best = best._replace(**_snapshot(net)) if at_best else None


def _record_if_best(net: RatingNet, valid_rmse: float, valid_data: str, keep_state: bool):
    """Make the epoch just trained the best one if its validation RMSE is lower."""
    if net.best is None or valid_rmse < net.best.valid_rmse:
        state = _snapshot(net) if keep_state else {}
        net.best = BestEpoch(net.epochs_trained, valid_rmse, valid_data, **state)


def _snapshot(net: RatingNet) -> dict:
    """Copies of the parameters and optimizer state, which training changes in place."""
    return dict(params={name: value.copy() for name, value in net.params.items()},
                optimizer=copy.deepcopy(net.optimizer))


def _out_of_patience(net: RatingNet, patience) -> bool:
    """Have ``patience`` epochs passed since the best one?"""
    return (patience is not None and net.best is not None
            and net.epochs_trained - net.best.epoch >= patience)


def restore_best_epoch(net: RatingNet) -> bool:
    """Put ``net`` back to its best epoch's state, if it is not there; return whether it moved.

    The record stays, without its copy of the state: the model itself is that state now.
    """
    best = net.best
    if best is None or best.params is None:
        return False
    moved = best.epoch != net.epochs_trained
    if moved:
        net.params, net.optimizer = best.params, best.optimizer
        net.epochs_trained, net.partial_epoch = best.epoch, None
    net.best = best._replace(params=None, optimizer=None)
    return moved


def _training_counts(net: RatingNet, movies) -> np.ndarray:
    """Each movie's ratings in ``movies``, or the count it had before if larger (see `fit`)."""
    counts = np.bincount(movies, minlength=net.n_movies).astype(np.int64)
    return counts if net.training_counts is None else np.maximum(net.training_counts, counts)


def _train_epoch(trainer, net, n_ratings, batch_size, seed, bar, interrupt) -> float | None:
    """One pass over the ratings in the epoch's own shuffled order; returns the train RMSE.

    Starts where ``net.partial_epoch`` says an interrupted pass of this epoch stopped (`fit`
    has checked it was made with the same settings); returns None, with
    ``net.partial_epoch`` updated, if interrupted itself.
    """
    epoch = net.epochs_trained + 1
    position = net.partial_epoch or dict(epoch=epoch, seed=seed, batch_size=batch_size,
                                         n_ratings=n_ratings, batches_done=0, squared_error=0.0)
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
    """Turn the first Ctrl-C or SIGTERM into a request that training honours at the next safe
    point; ``request.signal`` says which came.

    A step cut in half would leave some parameters updated and others not. A second signal
    interrupts at once (KeyboardInterrupt). Outside the main thread signals cannot be
    caught: nothing changes.
    """
    request = types.SimpleNamespace(requested=False, signal=None)
    if threading.current_thread() is not threading.main_thread():
        yield request
        return

    def handler(signum, frame):
        if request.requested:
            raise KeyboardInterrupt
        request.requested, request.signal = True, signum

    previous = {signum: signal.signal(signum, handler) for signum in STOP_SIGNALS}
    try:
        yield request
    finally:
        for signum, action in previous.items():
            signal.signal(signum, action)


def _restore(net: RatingNet, saved: RatingNet, path) -> None:
    """Take over a checkpoint's state (same architecture required)."""
    if saved.config != net.config:
        raise BadValueError(f"{path}: checkpoint of another model ({saved.config}), "
                            f"not of {net.config}")
    net.params, net.optimizer = saved.params, saved.optimizer
    net.epochs_trained, net.partial_epoch = saved.epochs_trained, saved.partial_epoch
    net.trained_with, net.training_counts = saved.trained_with, saved.training_counts
    net.best = saved.best


def check_same_settings(saved: dict, asked: dict, model, names=None) -> None:
    """Refuse to resume ``model`` with other settings than it was trained with.

    ``saved`` and ``asked`` map setting → value (seed, batch size, number of training
    ratings, and whatever a caller adds, such as the command line's split); only settings
    both hold are compared. ``names`` says how to name each setting in the message (the
    command line's ``--batch-size``, say); by default the keyword.

    >>> check_same_settings({"seed": 0}, {"seed": 1}, "ck.npz")
    Traceback (most recent call last):
    ...
    numpy_movievec.checks.BadValueError: ck.npz was trained with seed=0; this run has seed=1. Resuming keeps the same value (a different one would change the shuffling, or the data)
    """
    names = names or {}
    for key, value in asked.items():
        if key in saved and saved[key] != value:
            name = names.get(key, key)
            separator = "=" if name.isidentifier() else " "  # a keyword, or an option
            raise BadValueError(
                f"{model} was trained with {name}{separator}{saved[key]}; this run has "
                f"{name}{separator}{value}. Resuming keeps the same value (a different one "
                f"would change the shuffling, or the data)")


def _check_interrupted_epoch(net: RatingNet, settings: dict) -> None:
    """An interrupted epoch can only be finished with the settings it started with."""
    if net.partial_epoch is None:
        return
    saved = {key: net.partial_epoch[key] for key in RESUME_SETTINGS}
    check_same_settings(saved, settings,
                        f"the model (stopped in the middle of epoch {net.partial_epoch['epoch']})")


def refuse_to_lose_training(path: Path, net: RatingNet) -> None:
    """Refuse to overwrite ``path`` if it is not a model, or a model with more training
    (more optimizer steps) than ``net``; the error says how to resume or overwrite."""
    if not path.exists():
        return
    try:
        header = archive.read_header(path, "RatingNet")
    except MovievecError as exc:
        raise FileInTheWayError(f"{path}: not a checkpoint to replace ({exc}); choose another "
                                f"path, or overwrite it") from None
    saved_steps = (header["optimizer"] or {}).get("iterations", 0)
    if saved_steps > net.steps_trained:
        raise FileInTheWayError(
            f"{path} holds more training ({_amount(header['epochs_trained'], saved_steps)}) "
            f"than this model ({_amount(net.epochs_trained, net.steps_trained)}); resume it, "
            f"or overwrite it")


def _amount(epochs: int, steps: int) -> str:
    """``"1 epoch, 18 steps"``."""
    return f"{epochs} epoch{'s' * (epochs != 1)}, {steps:,} step{'s' * (steps != 1)}"


# ---------------------------------------------------------------------- memory

def check_memory(net: RatingNet, batch_size: int, restore_best: bool = False) -> None:
    """Refuse, before training, a run whose parameters, optimizer state (twice with
    ``restore_best``, which keeps a copy) and one step's working memory together exceed this
    machine's RAM, saying how much it needs."""
    state = (1 + restore_best) * (
        3 * 4 * parameter_count(net.n_movies, net.n_users, net.dim, net.hidden)
        + 8 * (net.n_movies + net.n_users))  # parameters, two Adadelta averages, row steps
    step = step_memory(net, batch_size)
    checks.affordable(state + step, f"training with batches of {batch_size:,} ratings "
                                    f"({checks.human_bytes(step)} per step, "
                                    f"{checks.human_bytes(state)} of parameters and optimizer "
                                    f"state)", "use a smaller batch size")


def step_memory(net: RatingNet, batch_size: int) -> int:
    """About how many bytes one training step of ``batch_size`` ratings works in.

    Per rating, float32: every layer's input and output kept for backward and their
    gradients (about three copies of the concatenated embeddings and of each hidden layer),
    scratch of four widest rows, and the int64 row bookkeeping of the embedding update.
    An estimate for messages and checks, not an exact count.

    >>> step_memory(RatingNet(10, 10), 1024) // 1024
    4576
    """
    widest = max([2 * net.dim, *net.hidden])
    floats = 3 * 2 * net.dim + 3 * sum(net.hidden) + 4 * widest
    return batch_size * (4 * floats + 32)


@contextmanager
def _memory_errors_explained(net, batch_size):
    """A MemoryError while training becomes one saying what the step needed."""
    try:
        yield
    except MemoryError as exc:
        if isinstance(exc, MovievecError):
            raise
        raise NotEnoughMemoryError(
            f"out of memory while training with batches of {batch_size:,} ratings (about "
            f"{checks.human_bytes(step_memory(net, batch_size))} per step); use a smaller "
            f"batch size") from exc


def _check_arguments(engine, epochs, batch_size, seed, valid, patience, restore_best, resume,
                     checkpoint):
    checks.one_of(engine, tuple(ENGINES), "engine")
    epochs = checks.count(epochs, "epochs")
    batch_size = checks.positive_int(batch_size, "batch_size")
    seed = checks.count(seed, "seed")
    if patience is not None:
        checks.positive_int(patience, "patience")
    checks.one_of(restore_best, (False, True), "restore_best")
    for name, asked in (("patience", patience is not None), ("restore_best", restore_best)):
        if asked and valid is None:
            raise BadValueError(f"{name} needs validation ratings (valid=...)")
    if resume and checkpoint is None:
        raise BadValueError("resume=True needs the checkpoint=... path to resume from")
    return epochs, batch_size, seed


def _interrupted_summary(signum, checkpoint) -> str:
    name = signal.Signals(signum).name if signum is not None else "a signal"
    if checkpoint is None:
        return (f"interrupted ({name}); no checkpoint was asked for: the model in memory "
                f"holds the point reached")
    return f"interrupted ({name}); {checkpoint} holds the exact point reached"


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
        raise DivergedError(
            f"the loss became {losses[bad[0]]} in epoch {epoch}, step {first_batch + bad[0] + 1}; "
            "try a smaller learning rate or check the ratings")


def _checked_columns(net: RatingNet, data, name):
    """``(movies, users, ratings)`` of a `Ratings` (its values checked first, naming its
    store's files) or of a 3-tuple of arrays, checked against ``net``'s tables."""
    if all(hasattr(data, column) for column in ("movie", "user", "rating")):
        if hasattr(data, "check_values"):
            data.check_values()
        columns = data.movie, data.user, data.rating
    elif isinstance(data, (tuple, list)) and len(data) == 3:
        columns = data
    else:
        raise TypeError(f"{name} must be a Ratings or a (movies, users, ratings) tuple, "
                        f"got {type(data).__name__}")
    return net.check_batch(*columns)


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
