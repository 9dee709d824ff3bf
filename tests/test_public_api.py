"""The names ``import numpy_movievec as mv`` offers: exactly ``__all__``, each one real."""

import types

import numpy_movievec as mv


def test_all_lists_every_public_name_once_and_each_exists():
    assert mv.__all__ == sorted(set(mv.__all__))
    missing = [name for name in mv.__all__ if not hasattr(mv, name)]
    assert missing == []
    public = {name for name, value in vars(mv).items()
              if not name.startswith("_") and not isinstance(value, types.ModuleType)}
    assert public == set(mv.__all__)


def test_the_query_errors_and_results_are_exported():
    assert issubclass(mv.AmbiguousTitleError, mv.MovieLookupError)
    assert issubclass(mv.MovieLookupError, KeyError)
    assert issubclass(mv.MovieLookupError, mv.MovievecError)
    vecs = mv.MovieVectors([[1, 0, 0], [1, 1, 0], [0, 0, 1], [0, 1, 1]],
                           titles=["Ringu", "The Ring", "Yojimbo", "A Fistful of Dollars"])
    evaluation = vecs.evaluate_counterparts([("Yojimbo", "A Fistful of Dollars")],
                                            via=("Ringu", "The Ring"))
    assert isinstance(evaluation, mv.CounterpartEvaluation)
    assert isinstance(evaluation.results[0], mv.PairRanks)
