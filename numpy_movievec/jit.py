"""Numba helpers: compilation with an on-disk cache that degrades gracefully, and a prefetch.

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
from llvmlite import ir
from numba import types
from numba.core import cgutils
from numba.extending import intrinsic

CACHE_LINE_BYTES = 64


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


@intrinsic
def prefetch_row(typingctx, array, row):
    """Ask the CPU to start loading row ``row`` of a C-contiguous 2-D array into its caches
    (of a 1-D array: element ``row``, as in a table's per-row counters).

    Compiles to one ``prefetcht0`` per 64-byte cache line of the row (LLVM's ``llvm.prefetch``:
    read, keep in all cache levels). It changes no value and never faults, so it can be issued
    for many rows ahead of the loop that uses them; their trips to memory then overlap.
    """
    if not (isinstance(array, types.Array) and array.ndim in (1, 2) and array.layout == "C"
            and isinstance(row, types.Integer)):
        return None

    def codegen(context, builder, signature, args):
        i8p, i32, i64 = ir.IntType(8).as_pointer(), ir.IntType(32), ir.IntType(64)
        array_type, row_type = signature.args
        data = context.make_array(array_type)(context, builder, args[0])
        row_bytes = builder.extract_value(data.strides, 0)
        index = context.cast(builder, args[1], row_type, types.int64)
        start = builder.add(builder.ptrtoint(data.data, i64), builder.mul(index, row_bytes))
        itemsize = context.get_abi_sizeof(context.get_data_type(array_type.dtype))
        row_items = (builder.extract_value(data.shape, 1) if array_type.ndim == 2
                     else ir.Constant(i64, 1))
        n_bytes = builder.mul(row_items, ir.Constant(i64, itemsize))
        prefetch = cgutils.get_or_insert_function(
            builder.module, ir.FunctionType(ir.VoidType(), [i8p, i32, i32, i32]), "llvm.prefetch.p0")
        read, keep_everywhere, data_cache = (ir.Constant(i32, v) for v in (0, 3, 1))

        def fetch(offset):
            address = builder.inttoptr(builder.add(start, offset), i8p)
            builder.call(prefetch, [address, read, keep_everywhere, data_cache])

        line = ir.Constant(i64, CACHE_LINE_BYTES)
        with cgutils.for_range_slice(builder, ir.Constant(i64, 0), n_bytes, line) as (offset, _):
            fetch(offset)
        fetch(builder.sub(n_bytes, ir.Constant(i64, 1)))  # the last line, when the row straddles one
        return context.get_dummy_value()

    return types.void(array, row), codegen
