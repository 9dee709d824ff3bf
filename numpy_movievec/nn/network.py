"""RatingNet: the seed's network, built from the reference layers in ``layers.py``.

    movie id ─ Embedding(n_movies, dim) ┐
                                        ├ concat (2 dim) ─ [Dense h ─ ReLU] × k ─ Dense 1 ─ rating
    user id  ─ Embedding(n_users, dim)  ┘

``forward`` and ``backward`` below are the whole model: a flat sequence of layer calls that reads
top to bottom, then the same sequence in reverse. No autograd, no framework. How this fits with
the rest of the library: ``docs/architecture.md``.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from .. import archive, checks
from ..checks import BadValueError
from ..vectors import MovieVectors, metadata_from_arrays
from .layers import Concatenate, Dense, Embedding, L2Penalty, MeanSquaredError, ReLU, RowGradient
from .optim import Adadelta

EMBEDDING_INIT_LIMIT = 0.05  # Keras' default: embeddings uniform in (-0.05, 0.05)
PREDICT_CHUNK = 1 << 16  # predictions are made this many at a time, to bound memory
HEADER_FIELDS = {"config": dict, "epochs_trained": int, "optimizer": (dict, type(None))}
CONFIG_KEYS = ("n_movies", "n_users", "dim", "hidden", "seed")
OPTIONAL_CONFIG = {"l2": 0.0}  # absent from files written before it existed
# Where an interrupted epoch stopped (written since the first checkpoints; absent = none).
PARTIAL_EPOCH_KEYS = ("epoch", "seed", "batch_size", "n_ratings", "batches_done",
                      "squared_error")


class ForwardCache(NamedTuple):
    """What ``RatingNet.backward`` needs from the forward pass, layer by layer."""

    movie: object
    user: object
    concat: object
    penalty_cache: object
    penalty: float  # the L2 penalty of the batch's embedding vectors (0 without l2)
    hidden: list  # one (dense cache, relu cache) pair per hidden layer
    output: object


class BestEpoch(NamedTuple):
    """The best validation epoch `fit` has seen, on one set of validation ratings.

    ``params`` and ``optimizer`` are that epoch's state, kept for ``fit(restore_best=True)``;
    None when nothing is kept, or when the model itself is at that epoch.
    """

    epoch: int
    valid_rmse: float
    valid_data: str  # a fingerprint of the validation ratings it was measured on
    params: dict | None = None
    optimizer: Adadelta | None = None


class RatingNet:
    """Movie and user embeddings, concatenated, through ReLU layers to one predicted rating.

    Parameters are float32 arrays in ``params``, named and ordered as ``docs/architecture.md``
    fixes:
    ``movie_embedding`` (n_movies, dim), ``user_embedding`` (n_users, dim), then for each
    hidden layer k ``dense_{k}.weight`` (n_in, n_out) and ``dense_{k}.bias`` (n_out,), then
    ``output.weight`` (h_last, 1) and ``output.bias`` (1,). Initialised as Keras does:
    embeddings uniform(-0.05, 0.05), weights Glorot-uniform, biases zero.

    ``l2`` > 0 adds weight decay on the embedding vectors each batch uses (`L2Penalty`): the
    loss becomes ``MSE + (l2/B) Σ_b (|movie_b|² + |user_b|²)``. 0, the default, is the seed.

    >>> net = RatingNet(n_movies=3, n_users=4, dim=2, hidden=(5,), seed=0)
    >>> [(name, p.shape) for name, p in net.params.items()]  # doctest: +NORMALIZE_WHITESPACE
    [('movie_embedding', (3, 2)), ('user_embedding', (4, 2)), ('dense_0.weight', (4, 5)),
     ('dense_0.bias', (5,)), ('output.weight', (5, 1)), ('output.bias', (1,))]
    >>> net.predict([0, 2], [3, 3]).shape
    (2,)
    """

    def __init__(self, n_movies: int, n_users: int, dim: int = 40, hidden=(64, 64, 64), seed=0,
                 l2: float = 0.0):
        n_movies = checks.positive_int(n_movies, "n_movies")
        n_users = checks.positive_int(n_users, "n_users")
        dim = checks.positive_int(dim, "dim")
        hidden = tuple(checks.positive_int(width, "hidden layer width") for width in hidden)
        checks.affordable(4 * parameter_count(n_movies, n_users, dim, hidden),
                          f"RatingNet({n_movies:,} movies, {n_users:,} users, dim {dim})",
                          "use a smaller dim, or fewer movies or users")
        self.n_movies, self.n_users, self.dim, self.hidden = n_movies, n_users, dim, hidden
        self.seed = checks.count(seed, "seed")
        self.l2 = checks.non_negative(l2, "l2")
        self.params = _keras_initial_params(n_movies, n_users, dim, hidden, seed)
        self.optimizer: Adadelta | None = None  # set by fit(); saved with the model
        self.epochs_trained = 0
        self.partial_epoch: dict | None = None  # where an interrupted fit() stopped, if it did
        self.trained_with: dict = {}  # fit's settings (seed, batch size, data), checked on resume
        self.catalogue: dict | None = None  # titles, ids, counts of the movies, once saved with them
        self.training_counts: np.ndarray | None = None  # ratings per movie fit trained on
        self.best: BestEpoch | None = None  # fit's best validation epoch, for patience/restore

    @property
    def config(self) -> dict:
        """The constructor's arguments, enough to build the same architecture again."""
        return dict(n_movies=self.n_movies, n_users=self.n_users, dim=self.dim,
                    hidden=list(self.hidden), seed=self.seed, l2=self.l2)

    def __repr__(self) -> str:
        l2 = f", l2={self.l2}" if self.l2 else ""
        return (f"RatingNet(n_movies={self.n_movies}, n_users={self.n_users}, dim={self.dim}, "
                f"hidden={self.hidden}{l2}, epochs_trained={self.epochs_trained})")

    def describe(self) -> dict:
        """What this model is, as plain JSON-ready values: sizes, training so far, optimizer.

        >>> RatingNet(3, 4, dim=2, hidden=(5,)).describe()["parameters"]
        45
        """
        catalogue = self.catalogue or {}
        titles = catalogue.get("titles")
        return {
            "kind": "RatingNet", "movies": self.n_movies, "users": self.n_users,
            "dim": self.dim, "hidden": list(self.hidden), "l2": self.l2,
            "parameters": sum(p.size for p in self.params.values()),
            "epochs_trained": self.epochs_trained,
            "interrupted_epoch": None if self.partial_epoch is None else {
                "epoch": self.partial_epoch["epoch"],
                "batches_done": self.partial_epoch["batches_done"]},
            "optimizer": None if self.optimizer is None else {
                "name": "Adadelta", "lr": self.optimizer.lr, "rho": self.optimizer.rho,
                "eps": self.optimizer.eps, "steps": self.optimizer.iterations},
            "trained_with": self.trained_with or None,
            "movies_with_titles": 0 if titles is None else sum(t is not None for t in titles),
            "rating_counts": self._catalogue(None).get("counts") is not None,
            "best_epoch": None if self.best is None else {
                "epoch": self.best.epoch, "valid_rmse": round(self.best.valid_rmse, 4)},
        }

    @property
    def steps_trained(self) -> int:
        """Optimizer steps taken so far: the amount of training this model holds."""
        return 0 if self.optimizer is None else self.optimizer.iterations

    # -- the model, forward and backward ---------------------------------------------------

    def forward(self, movies, users):
        """Predicted ratings (B,) for the pairs (movies[b], users[b]), and the cache for backward.

        Expects checked int arrays; `predict` is the friendly entry point.
        """
        p = self.params
        movie_vecs, movie_cache = Embedding.forward(p["movie_embedding"], movies)  # (B, dim)
        user_vecs, user_cache = Embedding.forward(p["user_embedding"], users)  # (B, dim)
        x, concat_cache = Concatenate.forward(movie_vecs, user_vecs)  # (B, 2 dim)
        penalty, penalty_cache = L2Penalty.forward(x, self.l2)
        hidden_caches = []
        for k in range(len(self.hidden)):
            x, dense_cache = Dense.forward(x, p[f"dense_{k}.weight"], p[f"dense_{k}.bias"])  # (B, h_k)
            x, relu_cache = ReLU.forward(x)
            hidden_caches.append((dense_cache, relu_cache))
        out, output_cache = Dense.forward(x, p["output.weight"], p["output.bias"])  # (B, 1)
        cache = ForwardCache(movie_cache, user_cache, concat_cache, penalty_cache, penalty,
                             hidden_caches, output_cache)
        return out[:, 0], cache

    def backward(self, dprediction, cache: ForwardCache) -> dict:
        """Gradients of every parameter from dL/dprediction (B,): `forward` read backwards.

        The embedding gradients come back as `RowGradient` (only the batch's rows).
        """
        grads = {}
        dx, grads["output.weight"], grads["output.bias"] = Dense.backward(
            dprediction[:, None], cache.output)  # dx: (B, h_last)
        for k in reversed(range(len(self.hidden))):
            dense_cache, relu_cache = cache.hidden[k]
            dx = ReLU.backward(dx, relu_cache)
            dx, grads[f"dense_{k}.weight"], grads[f"dense_{k}.bias"] = Dense.backward(
                dx, dense_cache)  # dx: (B, h_{k-1}) or (B, 2 dim)
        dx = dx + L2Penalty.backward(cache.penalty_cache)  # the penalty's share, if any
        dmovie_vecs, duser_vecs = Concatenate.backward(dx, cache.concat)  # (B, dim) each
        grads["movie_embedding"] = Embedding.backward(dmovie_vecs, cache.movie)
        grads["user_embedding"] = Embedding.backward(duser_vecs, cache.user)
        return {name: grads[name] for name in self.params}  # in the order of params

    def loss_and_grads(self, movies, users, ratings, sparse: bool = False):
        """The loss on one batch and the gradient of every parameter.

        The reference path: forward, loss, backward. The loss is the mean squared error, plus
        the `L2Penalty` when ``l2`` > 0. Gradients have the keys and shapes of ``params``;
        embedding gradients are dense (zero outside the batch's rows) unless ``sparse=True``,
        which returns them as `RowGradient`.

        >>> net = RatingNet(n_movies=3, n_users=4, dim=2, hidden=(5,))
        >>> loss, grads = net.loss_and_grads([0, 1, 1], [2, 3, 0], [4, 5, 3])
        >>> grads["movie_embedding"].shape
        (3, 2)
        """
        movies, users, ratings = self.check_batch(movies, users, ratings)
        squared_error, penalty, grads = self.terms_and_grads(movies, users, ratings, sparse)
        return squared_error + penalty, grads

    def terms_and_grads(self, movies, users, ratings, sparse: bool = True):
        """``(mean squared error, L2 penalty, grads)`` on one batch of checked arrays.

        The two terms apart, for training to report the error alone (its RMSE).
        """
        prediction, cache = self.forward(movies, users)
        squared_error, mse_cache = MeanSquaredError.forward(prediction,
                                                            ratings.astype(prediction.dtype))
        grads = self.backward(MeanSquaredError.backward(mse_cache), cache)
        if not sparse:
            grads = {name: _dense(g, self.params[name]) for name, g in grads.items()}
        return squared_error, cache.penalty, grads

    def predict(self, movies, users) -> np.ndarray:
        """Predicted ratings, float32, for each (movie, user) pair of dense indices.

        >>> RatingNet(n_movies=2, n_users=2, dim=2, hidden=()).predict([1], [0]).dtype
        dtype('float32')
        """
        movies, users, _ = self.check_batch(movies, users)
        out = np.empty(len(movies), dtype=self.params["output.bias"].dtype)
        for start in range(0, len(movies), PREDICT_CHUNK):
            chunk = slice(start, start + PREDICT_CHUNK)
            out[chunk] = self.forward(movies[chunk], users[chunk])[0]
        return out

    # -- input checks ------------------------------------------------------------------------

    def check_batch(self, movies, users, ratings=None):
        """Return (movies, users, ratings) as arrays, or raise ValueError naming what is wrong.

        Ids must be integers within the tables, all arrays one-dimensional and of one length,
        ratings real and finite.
        """
        movies, _ = checks.dense_indices(movies, "movie", self.n_movies)
        users, _ = checks.dense_indices(users, "user", self.n_users)
        if len(movies) != len(users):
            raise BadValueError(f"got {len(movies)} movie ids but {len(users)} user ids")
        if ratings is not None:
            ratings = checks.finite_numbers(ratings, "rating", len(movies))
        return movies, users, ratings

    # -- the movie vectors ------------------------------------------------------------------

    def movie_vectors(self, titles=None, ratings=None) -> MovieVectors:
        """The learned movie embeddings as `MovieVectors`, ready for neighbour queries.

        Pass the ``titles`` by dense movie index, or a `Ratings` whose catalogue (titles,
        original ids, years) should come along; explicit ``titles`` win. Without either, a
        model loaded from a file saved with its catalogue brings that. The counts are the
        ratings `fit` trained each movie on (``training_counts``), so movies that never
        received a gradient are left out of answers; only a model without them (never fit,
        or saved before fit recorded them) takes the counts of ``ratings``.

        >>> vecs = RatingNet(3, 4, dim=2).movie_vectors(titles=["Ringu", "The Ring", "Yojimbo"])
        >>> vecs
        MovieVectors(3 movies × 2 dims, with titles)
        """
        catalogue = self._catalogue(ratings)
        if titles is not None:
            catalogue["titles"] = titles
        return MovieVectors(self.params["movie_embedding"], **catalogue)

    def _catalogue(self, ratings) -> dict:
        """MovieVectors keywords for the movies: from ``ratings``, else the loaded catalogue;
        the training counts, once fit has recorded them."""
        if ratings is None:
            catalogue = dict(self.catalogue or {})
        else:
            catalogue = dict(titles=ratings.titles, movie_ids=ratings.movie_ids,
                             counts=ratings.movie_counts, years=getattr(ratings, "years", None))
        if self.training_counts is not None:
            catalogue["counts"] = self.training_counts
        return catalogue

    # -- saving ------------------------------------------------------------------------------

    def save(self, path, ratings=None):
        """Save parameters, optimizer state and config to ``path`` (.npz, no pickle).

        With ``ratings`` (a `Ratings`), its movie catalogue — titles, original ids, rating
        counts, years — is stored too, in the layout of ``vectors.py``, so
        `MovieVectors.load` can answer title queries from the model file alone; without, the
        catalogue the model was loaded with (if any) is kept. The file is written to a
        temporary name and renamed.

        >>> import tempfile, os
        >>> path = os.path.join(tempfile.mkdtemp(), "model.npz")
        >>> RatingNet(3, 4, dim=2).save(path)
        >>> RatingNet.load(path).dim
        2
        """
        arrays = {f"params/{name}": value for name, value in self.params.items()}
        header = dict(config=self.config, epochs_trained=self.epochs_trained, optimizer=None,
                      partial_epoch=self.partial_epoch, trained_with=self.trained_with)
        if self.optimizer is not None:
            header["optimizer"], state = self.optimizer.state_dict()
            arrays.update({f"optimizer/{key}": value for key, value in state.items()})
        catalogue = self._catalogue(ratings)
        if self.training_counts is not None:
            arrays["training_counts"] = self.training_counts
            catalogue["counts"] = None  # stored once, as training_counts
        if any(value is not None for value in catalogue.values()):
            vectors = MovieVectors(self.params["movie_embedding"], **catalogue)
            arrays.update(vectors.metadata_arrays())
        if self.best is not None:
            header["best"], best_arrays = _best_entries(self.best)
            arrays.update(best_arrays)
        archive.save_npz(path, "RatingNet", arrays, **header)

    def file_size(self, ratings=None) -> int:
        """At most how many bytes `save` writes once trained: parameters, the optimizer's two
        averages and row steps, the movie catalogue of ``ratings``, the header."""
        params = sum(p.nbytes for p in self.params.values())
        row_steps = 8 * (self.n_movies + self.n_users)
        titles = 0 if ratings is None else self.n_movies * (
            4 * max((len(t) for t in ratings.titles if t), default=0) + 8 + 8 + 4)
        return 3 * params + row_steps + titles + 8 * self.n_movies + (1 << 16)

    @classmethod
    def load(cls, path) -> "RatingNet":
        """Load a model written by `save`, with its optimizer state (training can go on) and
        the movie catalogue it was saved with. A damaged or foreign file is a ValueError
        naming it."""
        header, arrays = archive.load_npz(path, "RatingNet", fields=HEADER_FIELDS)
        saved_config = header["config"]
        config = {**OPTIONAL_CONFIG, **saved_config}
        if (sorted(config) != sorted([*CONFIG_KEYS, *OPTIONAL_CONFIG])
                or not isinstance(config["hidden"], list)):
            raise BadValueError(f"{path}: the model's config must have the entries "
                                f"{', '.join(CONFIG_KEYS)}; it has {saved_config}")
        try:
            net = cls(**config)
        except BadValueError as exc:
            raise BadValueError(f"{path}: {exc}") from None
        net.params = _saved_params(arrays, "params/", net.params, path)
        if header["optimizer"] is not None:
            net.optimizer = _saved_optimizer(header["optimizer"], arrays, net.params, path)
        net.epochs_trained = header["epochs_trained"]
        net.partial_epoch = _saved_partial_epoch(header.get("partial_epoch"), path)
        net.trained_with = header.get("trained_with") or {}
        if not isinstance(net.trained_with, dict):
            raise BadValueError(f"{path}: header entry 'trained_with' must be an object")
        catalogue = metadata_from_arrays(arrays)
        if any(value is not None for value in catalogue.values()):
            net.catalogue = catalogue
        net.training_counts = _saved_counts(arrays.get("training_counts"), net.n_movies, path)
        net.best = _saved_best(header.get("best"), arrays, net.params, path)
        return net


def parameter_count(n_movies, n_users, dim, hidden) -> int:
    """Number of parameters (floats) of a RatingNet of these sizes.

    >>> parameter_count(3, 4, 2, (5,))
    45
    """
    widths = [2 * dim, *hidden, 1]
    dense = sum(n_in * n_out + n_out for n_in, n_out in zip(widths[:-1], widths[1:]))
    return (n_movies + n_users) * dim + dense


def _saved_params(arrays, prefix, expected, path, whose="") -> dict:
    """The parameters saved under ``prefix``, each checked against ``expected``'s shape."""
    params = {}
    for name, like in expected.items():
        saved = arrays.get(f"{prefix}{name}")
        if saved is None or saved.shape != like.shape or saved.dtype.kind != "f":
            raise BadValueError(f"{path}: parameter {name!r}{whose} is missing or has the "
                                f"wrong shape or dtype")
        params[name] = saved.astype(like.dtype, copy=False)
    return params


def _saved_counts(counts, n_movies, path) -> np.ndarray | None:
    """Saved training counts, checked: n_movies whole numbers >= 0, or None."""
    if counts is None:
        return None
    if counts.shape != (n_movies,) or counts.dtype.kind not in "iu" or (counts < 0).any():
        raise BadValueError(f"{path}: 'training_counts' must hold {n_movies} whole numbers "
                            f">= 0; it has shape {counts.shape}, dtype {counts.dtype}")
    return counts.astype(np.int64, copy=False)


def _best_entries(best: BestEpoch) -> tuple:
    """The header entry and the arrays (its state under ``best/``) that save ``best``."""
    entry = dict(epoch=best.epoch, valid_rmse=best.valid_rmse, valid_data=best.valid_data,
                 with_state=best.params is not None, optimizer=None)
    arrays = {}
    if best.params is not None:
        arrays.update({f"best/params/{name}": value for name, value in best.params.items()})
    if best.params is not None and best.optimizer is not None:
        entry["optimizer"], state = best.optimizer.state_dict()
        arrays.update({f"best/optimizer/{key}": value for key, value in state.items()})
    return entry, arrays


def _saved_best(entry, arrays, like, path) -> BestEpoch | None:
    """The saved best epoch, checked, with its state when it was saved with one."""
    if entry is None:
        return None
    types = dict(epoch=int, valid_rmse=float, valid_data=str, with_state=bool,
                 optimizer=(dict, type(None)))
    if not isinstance(entry, dict) or sorted(entry) != sorted(types) or not all(
            isinstance(entry[key], kind) for key, kind in types.items()):
        raise BadValueError(f"{path}: header entry 'best' must be null or have the entries "
                            f"{', '.join(types)}; got {entry!r}")
    best = BestEpoch(entry["epoch"], entry["valid_rmse"], entry["valid_data"])
    if not entry["with_state"]:
        return best
    params = _saved_params(arrays, "best/params/", like, path, " of the best epoch")
    optimizer = None if entry["optimizer"] is None else _saved_optimizer(
        entry["optimizer"], {key.removeprefix("best/"): value for key, value in arrays.items()
                             if key.startswith("best/optimizer/")}, params, path)
    return best._replace(params=params, optimizer=optimizer)


def _saved_partial_epoch(partial, path) -> dict | None:
    """The saved point an interrupted epoch reached, checked: None, or all its entries."""
    if partial is None:
        return None
    if not isinstance(partial, dict) or sorted(partial) != sorted(PARTIAL_EPOCH_KEYS):
        raise BadValueError(f"{path}: header entry 'partial_epoch' must be null or have the "
                            f"entries {', '.join(PARTIAL_EPOCH_KEYS)}; got {partial!r}")
    return partial


def _saved_optimizer(config, arrays, params, path) -> Adadelta:
    """The optimizer saved in a model file, after checking its state fits the parameters."""
    state = {key[len("optimizer/"):]: value for key, value in arrays.items()
             if key.startswith("optimizer/")}
    for key, value in state.items():
        name, _, slot = key.rpartition("/")
        expected = params[name].shape if name in params else None
        if slot == "row_step" and expected is not None:
            expected = expected[:1]
        if expected is None or value.shape != expected:
            raise BadValueError(f"{path}: optimizer state {key!r} does not fit the model")
    try:
        return Adadelta.from_state_dict(config, state)
    except (TypeError, ValueError, KeyError) as exc:  # what the saved config can get wrong
        raise BadValueError(f"{path}: unreadable optimizer settings {config} ({exc})") from None


def _keras_initial_params(n_movies, n_users, dim, hidden, seed) -> dict:
    """Parameters initialised as Keras 2 does, float32, from one seeded generator."""
    rng = np.random.default_rng(seed)
    params = {
        "movie_embedding": _uniform(rng, EMBEDDING_INIT_LIMIT, (n_movies, dim)),
        "user_embedding": _uniform(rng, EMBEDDING_INIT_LIMIT, (n_users, dim)),
    }
    widths = [2 * dim, *hidden, 1]
    names = [f"dense_{k}" for k in range(len(hidden))] + ["output"]
    for name, n_in, n_out in zip(names, widths[:-1], widths[1:]):
        glorot_limit = np.sqrt(6 / (n_in + n_out))
        params[f"{name}.weight"] = _uniform(rng, glorot_limit, (n_in, n_out))
        params[f"{name}.bias"] = np.zeros(n_out, dtype=np.float32)
    return params


def _uniform(rng, limit, shape) -> np.ndarray:
    return rng.uniform(-limit, limit, size=shape).astype(np.float32)


def _dense(grad, param):
    return grad.to_dense(len(param)) if isinstance(grad, RowGradient) else grad
