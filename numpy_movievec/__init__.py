"""numpy_movievec: movie and user embeddings learned from ratings by a hand-written network."""

from .nn import Adadelta, RatingNet
from .train import History, fit

__version__ = "0.1.0"

__all__ = ["Adadelta", "History", "RatingNet", "fit"]
