"""njit_cached: cached compilation that still works when nothing can be cached."""

import pytest

from numpy_movievec.jit import njit_cached


def test_compiles_with_and_without_options():
    @njit_cached
    def add(a, b):
        return a + b

    @njit_cached(parallel=False)
    def twice(x):
        return 2 * x

    assert add(40, 2) == 42 and twice(21) == 42


def test_falls_back_to_no_cache_when_numba_has_nowhere_to_write():
    namespace = {}
    exec(compile("def square(x):\n    return x * x\n", "<generated>", "exec"), namespace)
    with pytest.warns(RuntimeWarning, match="without an on-disk cache"):
        square = njit_cached(namespace["square"])  # Numba cannot cache source it cannot find
    assert square(7) == 49
