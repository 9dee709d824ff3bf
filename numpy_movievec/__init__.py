"""numpy_movievec: movie and user embeddings learned from ratings by a hand-written network.

>>> import numpy_movievec as mv
>>> r = mv.synthetic(n_ratings=5_000, seed=0)                 # doctest: +SKIP
>>> net = mv.RatingNet(r.n_movies, r.n_users)                # doctest: +SKIP
>>> history = mv.fit(net, *r.split(valid_fraction=0.1))      # doctest: +SKIP
>>> net.movie_vectors(ratings=r).most_similar("Yojimbo")     # doctest: +SKIP
"""

from .nn import Adadelta, RatingNet
from .train import History, fit
from .vectors import MovieLookupError, MovieVectors

__version__ = "0.1.0"

__all__ = ["Adadelta", "History", "MovieLookupError", "MovieVectors", "RatingNet", "fit"]
