"""How many threads the Numba engine trains on: a fixed count, or one it keeps choosing.

The kernels deal work out by shard and by row owner, never by thread, so a model trained on
one thread is bit-identical to one trained on two. That makes it safe to change the thread
count between two stretches of batches — and worth it: on a machine where another program
holds a core, every barrier of a two-thread step waits for a descheduled thread, and one
thread is faster than two. `ThreadTuner` measures instead of guessing.
"""

from __future__ import annotations

from contextlib import contextmanager

import numba


@contextmanager
def numba_threads(threads: int | None):
    """Run the block with ``threads`` Numba threads (None: leave the setting alone).

    Numba fixes its ceiling, ``NUMBA_NUM_THREADS`` (default: the core count), at import; only
    fewer threads can be asked for later.

    >>> with numba_threads(1):
    ...     numba.get_num_threads()
    1
    """
    if threads is None:
        yield
        return
    check_threads(threads)
    previous = numba.get_num_threads()
    numba.set_num_threads(threads)
    try:
        yield
    finally:
        numba.set_num_threads(previous)


def check_threads(threads) -> None:
    """Raise ValueError unless ``threads`` is "auto" or a count Numba can run."""
    ceiling = numba.config.NUMBA_NUM_THREADS
    if threads == "auto":
        return
    if isinstance(threads, bool) or not isinstance(threads, int) or not 1 <= threads <= ceiling:
        raise ValueError(f"threads must be 'auto' or a whole number from 1 to {ceiling} "
                         f"(NUMBA_NUM_THREADS), got {threads!r}")


class ThreadTuner:
    """Chooses the thread count for each stretch of work by timing stretches (``threads="auto"``).

    The candidates are the most threads Numba allows and, halving, down to one. The tuner
    first times a short *probe* with each candidate and keeps the fastest. From then on it
    re-probes the others now and then — after `first_interval` stretches, then twice as long
    each time the choice holds (up to `max_interval`) — and at once when the chosen count's
    rate falls below `slowdown` times what it measured, e.g. when another program starts.

    Use it by asking for a plan, running it, and reporting each piece's time::

        for threads, n_batches in tuner.plan(n_batches):
            started = time.perf_counter()
            ...run n_batches with `threads`...
            tuner.record(threads, n_batches, time.perf_counter() - started)

    >>> tuner = ThreadTuner(candidates=[2, 1])
    >>> tuner.plan(64)  # first: a probe of each candidate, then the rest with the first
    [(2, 8), (1, 8), (2, 48)]
    >>> tuner.record(2, 8, 0.010); tuner.record(1, 8, 0.008); tuner.choice
    1
    """

    probe_fraction = 8  # a probe is 1/8 of a stretch (at least one batch)
    first_interval = 4
    max_interval = 64
    slowdown = 0.7

    def __init__(self, candidates=None):
        if candidates is None:
            candidates = halving(numba.config.NUMBA_NUM_THREADS)
        self.candidates = list(candidates)
        self.choice = self.candidates[0]
        self.rates: dict[int, float] = {}  # batches per second, as last measured
        self.chosen_rate = None  # the choice's rate when it was chosen
        self.interval = self.first_interval
        self.until_probe = 0  # stretches until the next probe of the other candidates

    def plan(self, n_batches: int) -> list[tuple[int, int]]:
        """``[(threads, n_batches), ...]`` pieces that together run ``n_batches`` batches."""
        pieces = []
        if self.until_probe <= 0 and len(self.candidates) > 1:
            probe = max(1, n_batches // self.probe_fraction)
            others = [c for c in self.candidates if c != self.choice or not self.rates]
            for threads in others:
                if n_batches > 0:
                    pieces.append((threads, min(probe, n_batches)))
                    n_batches -= pieces[-1][1]
            self.until_probe = self.interval
        self.until_probe -= 1
        if n_batches > 0:
            pieces.append((self.choice, n_batches))
        return pieces

    def record(self, threads: int, n_batches: int, seconds: float) -> None:
        """Take a piece's measured time into account (pieces of 0 batches are ignored)."""
        if n_batches <= 0 or seconds <= 0:
            return
        rate = n_batches / seconds
        self.rates[threads] = rate
        if threads == self.choice and self.chosen_rate is not None:
            if rate < self.slowdown * self.chosen_rate:  # the machine changed: look again
                self.until_probe, self.interval = 0, self.first_interval
            return
        if len(self.rates) < len(self.candidates):
            return  # still measuring the candidates
        best = max(self.rates, key=self.rates.get)
        if best != self.choice or self.chosen_rate is None:
            self.interval = self.first_interval if best != self.choice else self.interval
            self.choice = best
        else:
            self.interval = min(2 * self.interval, self.max_interval)
        self.chosen_rate = self.rates[best]

    def __repr__(self) -> str:
        rates = ", ".join(f"{t}: {r:,.0f}" for t, r in sorted(self.rates.items()))
        return f"ThreadTuner(choice={self.choice}, batches/s by threads {{{rates}}})"


def halving(n: int) -> list[int]:
    """``n``, ``n // 2``, ... down to 1: the thread counts worth trying on ``n`` cores.

    >>> halving(8), halving(2), halving(1)
    ([8, 4, 2, 1], [2, 1], [1])
    """
    counts = [n]
    while counts[-1] > 1:
        counts.append(counts[-1] // 2)
    return counts


class FixedThreads:
    """The same count every time (``threads=<int>``), with `ThreadTuner`'s interface."""

    def __init__(self, threads: int):
        check_threads(threads)
        self.choice = threads

    def plan(self, n_batches: int) -> list[tuple[int, int]]:
        return [(self.choice, n_batches)]

    def record(self, threads: int, n_batches: int, seconds: float) -> None:
        pass


def thread_policy(threads):
    """`ThreadTuner` for ``"auto"``, `FixedThreads` for a count."""
    check_threads(threads)
    return ThreadTuner() if threads == "auto" else FixedThreads(threads)
