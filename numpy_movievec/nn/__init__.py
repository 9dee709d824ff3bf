"""The network: reference layers, RatingNet, and the Adadelta optimizer."""

from .layers import RowGradient
from .network import RatingNet
from .optim import Adadelta

__all__ = ["Adadelta", "RatingNet", "RowGradient"]
