"""numpy_movievec: movie and user embeddings learned from ratings by a hand-written network.

>>> import numpy_movievec as mv
>>> r = mv.synthetic(n_ratings=5_000, seed=0)          # Netflix-shaped, with planted pairs
>>> train, valid = r.split(valid_fraction=0.1, seed=0)
>>> net = mv.RatingNet(r.n_movies, r.n_users)           # Embedding(40) x 2, Dense(64) x 3
>>> history = mv.fit(net, train, valid, epochs=1, progress=False)
>>> len(history.valid_rmse)
1
>>> len(net.movie_vectors(ratings=r).most_similar("Yojimbo", topn=3))
3

Every error raised on purpose (a bad file or value, an unknown title, a size that cannot
work) is a `MovievecError` and also the usual ValueError, KeyError, FileNotFoundError, ...;
see ``numpy_movievec/checks.py`` and ``docs/bad-input-and-faults.md``.
"""

from .checks import MovievecError
from .data import (Ratings, SyntheticTruth, load_csv, load_movielens, load_netflix, synthetic,
                   write_movielens, write_netflix)
from .nn import Adadelta, RatingNet
from .train import History, fit
from .vectors import (AmbiguousTitleError, CounterpartEvaluation, MovieLookupError,
                      MovieVectors, PairRanks)

__version__ = "0.1.0"

__all__ = ["Adadelta", "AmbiguousTitleError", "CounterpartEvaluation", "History",
           "MovieLookupError", "MovieVectors", "MovievecError", "PairRanks", "RatingNet",
           "Ratings", "SyntheticTruth", "fit", "load_csv", "load_movielens", "load_netflix",
           "synthetic", "write_movielens", "write_netflix"]
