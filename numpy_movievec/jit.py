"""Numba compilation with an on-disk cache that degrades gracefully.

``@njit(cache=True)`` saves compiled machine code next to the source (or, when the package
directory is read-only, under ``~/.cache/numba`` or ``$NUMBA_CACHE_DIR``) so the next import
skips compilation. When no writable place exists at all (a read-only install with a read-only
home), Numba refuses to decorate the function and the import fails. `njit_cached` catches that
one case and compiles in memory instead, so the library still imports and runs, only slower
to start.
"""

from __future__ import annotations

import warnings

import numba


def njit_cached(function=None, **options):
    """``numba.njit(cache=True, **options)``, falling back to no cache when nothing is writable.

    Use it exactly like ``numba.njit``::

        @njit_cached
        def add(a, b):
            return a + b

        @njit_cached(parallel=True)
        def total(x): ...
    """
    if function is None:
        return lambda f: njit_cached(f, **options)
    try:
        return numba.njit(cache=True, **options)(function)
    except RuntimeError as exc:  # Numba found no directory it may write its cache to
        warnings.warn(
            f"compiling {function.__name__!r} without an on-disk cache ({exc}); "
            "set NUMBA_CACHE_DIR to a writable directory to keep compiled code",
            RuntimeWarning,
            stacklevel=2,
        )
        return numba.njit(**options)(function)
