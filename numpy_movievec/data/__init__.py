"""Ratings data: the `Ratings` container and store, loaders, and the synthetic generator."""

from numpy_movievec.data.movielens import load_movielens, write_movielens
from numpy_movievec.data.netflix import load_netflix, read_movie_titles, write_netflix
from numpy_movievec.data.ratings import Ratings, check_store_destinations, dense_ids
from numpy_movievec.data.synthetic import SyntheticTruth, scaled_sizes, synthetic
from numpy_movievec.data.tables import load_csv

__all__ = ["Ratings", "SyntheticTruth", "check_store_destinations", "dense_ids", "load_csv",
           "load_movielens", "load_netflix", "read_movie_titles", "scaled_sizes", "synthetic",
           "write_movielens", "write_netflix"]
