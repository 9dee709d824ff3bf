"""How long a cache line takes to go from one core to another and back (a "ping-pong").

On a virtual machine the host decides where the guest's cores run, and may move them. Two
cores that share a core complex (and its L3 cache) hand a line over several times faster than
two that do not. Every batch, our engine's second phase reads what the other core wrote in the
first, so its speed on two cores follows this latency: ``bench_second_core.py`` measures it
around each of its timings (results in ``benchmarks/results/bench_second_core.md``).

    >>> import numba
    >>> numba.config.NUMBA_NUM_THREADS < 2 or 0 < round_trip_ns(round_trips=1000) < 1e6
    True
"""

from __future__ import annotations

import time

import numba
import numpy as np
from llvmlite import ir
from numba import prange, types
from numba.extending import intrinsic

GIVE_UP_SPINS = 100_000_000  # a peer silent this long is not running beside us
NEAR_NS = 200  # a round trip under this: the cores share a core complex (see the module doc)


@intrinsic
def load_acquire(typingctx, array, index):
    """``array[index]`` of an int64 array, read atomically (acquire): never from a stale copy."""
    if not (isinstance(array, types.Array) and array.dtype == types.int64):
        return None

    def codegen(context, builder, signature, args):
        pointer = _element(context, builder, signature, args)
        return builder.load_atomic(pointer, "acquire", 8)

    return types.int64(array, index), codegen


@intrinsic
def store_release(typingctx, array, index, value):
    """``array[index] = value`` atomically (release): visible to the other core at once."""
    if not (isinstance(array, types.Array) and array.dtype == types.int64):
        return None

    def codegen(context, builder, signature, args):
        pointer = _element(context, builder, signature, args)
        value = context.cast(builder, args[2], signature.args[2], types.int64)
        builder.store_atomic(value, pointer, "release", 8)
        return context.get_dummy_value()

    return types.void(array, index, value), codegen


def _element(context, builder, signature, args):
    data = context.make_array(signature.args[0])(context, builder, args[0])
    index = context.cast(builder, args[1], signature.args[1], types.int64)
    return builder.gep(data.data, [index])


@numba.njit
def _wait_for(flag, value):
    for _ in range(GIVE_UP_SPINS):
        if load_acquire(flag, 0) == value:
            return True
    return False


@numba.njit(parallel=True, cache=True)
def _ping_pong(flag, round_trips):
    """Side 0 writes 1, 3, 5 ...; side 1 answers each with the next even number. Returns
    False if a side waited in vain (both ran on one core)."""
    answered = np.ones(2, dtype=np.bool_)
    for side in prange(2):
        for i in range(round_trips):
            if side == 0:
                store_release(flag, 0, 2 * i + 1)
                if not _wait_for(flag, 2 * i + 2):
                    answered[side] = False
                    break
            else:
                if not _wait_for(flag, 2 * i + 1):
                    answered[side] = False
                    break
                store_release(flag, 0, 2 * i + 2)
    return answered.all()


def round_trip_ns(round_trips=100_000) -> float:
    """Nanoseconds for one write to reach another core and its answer to come back, on two
    of Numba's threads (the median of three runs); ``nan`` on fewer than two cores, or if the
    two threads did not run at the same time."""
    if numba.config.NUMBA_NUM_THREADS < 2:
        return float("nan")
    previous = numba.get_num_threads()
    numba.set_num_threads(2)
    try:
        _ping_pong(np.zeros(8, dtype=np.int64), 10)  # compile or load, start the threads
        times = []
        for _ in range(3):
            started = time.perf_counter()
            answered = _ping_pong(np.zeros(8, dtype=np.int64), round_trips)
            times.append((time.perf_counter() - started) / round_trips * 1e9)
            if not answered:
                return float("nan")
        return float(np.median(times))
    finally:
        numba.set_num_threads(previous)
