"""How many threads the Numba engine trains on: a fixed count, or one it keeps choosing.

The kernels deal work out by shard and by row owner, never by thread, so a model trained on
one thread is bit-identical to one trained on two. That makes it safe to change the thread
count between two stretches of batches — and worth it: on a machine where another program
holds a core, every barrier of a two-thread step waits for a descheduled thread, and one
thread is faster than two (measured: several times faster). `ThreadTuner` measures instead
of guessing.
"""

from __future__ import annotations

import time
from contextlib import contextmanager

import numba

from ..checks import BadValueError


@contextmanager
def numba_threads(threads: int):
    """Run the block with ``threads`` Numba threads, then restore the setting.

    Numba fixes its ceiling, ``NUMBA_NUM_THREADS`` (default: the core count), at import; only
    fewer threads can be asked for later.

    >>> with numba_threads(1):
    ...     numba.get_num_threads()
    1
    """
    check_threads(threads)
    previous = numba.get_num_threads()
    numba.set_num_threads(threads)
    try:
        yield
    finally:
        numba.set_num_threads(previous)


def check_threads(threads) -> None:
    """Raise `BadValueError` (a ValueError) unless ``threads`` is "auto" or a count Numba can run."""
    ceiling = numba.config.NUMBA_NUM_THREADS
    if threads == "auto":
        return
    if isinstance(threads, bool) or not isinstance(threads, int) or not 1 <= threads <= ceiling:
        raise BadValueError(f"threads must be 'auto' or a whole number from 1 to {ceiling} "
                            f"(NUMBA_NUM_THREADS), got {threads!r}")


class ThreadTuner:
    """Chooses the thread count for each stretch of work by timing it (``threads="auto"``).

    The candidates are the most threads Numba allows and, halving, down to one. `run` trains a
    stretch of batches in pieces: when a probe is due, a short piece with each other candidate
    (about `probe_seconds` of work, or 1/`probe_fraction` of the stretch before any rate is
    known), then the rest with whichever count has been fastest. A probe is cut short once it
    runs at less than `give_up` times the choice's rate: on a busy machine two threads can be
    several times slower than one, and a probe must stay cheap.

    Time is measured in seconds of training (what the pieces report), not in calls, so the
    rhythm does not depend on how long a stretch is. A round of probes ends when every
    candidate has been timed for at least `probe_seconds` / 2 (or given up on): when stretches
    are only a few batches long, a round spans several of them, training meanwhile on the
    count fastest so far — a decision is never taken on one batch's timing, nor put off while
    the slow count trains. Rounds come again after `first_interval` seconds, then twice as long
    each time the choice holds (up to `max_interval`), and at once when the chosen count's rate
    falls below `slowdown` times what it measured — e.g. when another program starts — if
    fewer threads remain to try. The chosen count's rate is taken over about its last `memory`
    seconds of training, not from the last stretch alone: on a shared machine a stretch of a
    few milliseconds is now and then several times slower than the next, and such a hiccup
    must not decide.

    >>> tuner = ThreadTuner(candidates=[2, 1])
    >>> seconds_per_batch = {2: 0.010, 1: 0.008}  # a busy machine: one thread is faster
    >>> tuner.run(256, lambda threads, n: seconds_per_batch[threads] * n)  # time it took
    [(2, 16), (1, 240)]
    >>> tuner.choice
    1
    """

    probe_fraction = 16
    probe_seconds = 0.05
    probe_steps = 4  # a probe runs in this many pieces, so that it can stop early
    give_up = 0.5
    first_interval = 1.0  # seconds of training
    max_interval = 32.0
    slowdown = 0.7
    memory = 0.1  # seconds of training after which a stretch weighs half in the choice's rate

    def __init__(self, candidates=None):
        if candidates is None:
            candidates = halving(numba.config.NUMBA_NUM_THREADS)
        self.candidates = list(candidates)
        self.choice = self.candidates[0]
        self.rates: dict[int, float] = {}  # batches per second, as last measured
        self.chosen_rate = None  # the choice's rate when it was last confirmed
        self.interval = self.first_interval
        self.clock = 0.0  # seconds trained so far
        self.next_probe = 0.0  # the clock reading at which to probe again
        self.timed = {}  # threads -> [batches, seconds] trained in the current round of probes
        self.given_up = set()  # counts whose probe was cut short in this round
        self.recent = (self.choice, 0.0, 0.0)  # (threads, batches, seconds), older ones fading

    def run(self, n_batches: int, train) -> list[tuple[int, int]]:
        """Train ``n_batches`` in pieces by calling ``train(threads, count)`` for each, in order;
        returns ``(threads, batches)`` runs. ``train`` may return the piece's seconds (else
        they are timed)."""
        pieces = []

        def piece(threads, count):
            started = time.perf_counter()
            seconds = train(threads, count)
            if seconds is None:
                seconds = time.perf_counter() - started
            self.clock += seconds
            batches_and_seconds = self.timed.setdefault(threads, [0, 0.0])
            batches_and_seconds[0] += count
            batches_and_seconds[1] += seconds
            if pieces and pieces[-1][0] == threads:
                pieces[-1] = (threads, pieces[-1][1] + count)
            else:
                pieces.append((threads, count))
            return seconds

        if self._round_open():
            probe = self._probe_size(n_batches)
            for threads in sorted(self.candidates, key=self._seconds_timed):  # least known first
                left = n_batches - sum(count for _, count in pieces)
                if not self._timed_enough(threads) and left > 0:
                    self._probe(threads, min(probe, left), piece)
            self._end_round_if_timed()
        rest = n_batches - sum(count for _, count in pieces)
        if rest > 0:
            self._observe_choice(rest, piece(self.choice, rest))
            if self._round_open():  # the rest may have timed the choice enough
                self._end_round_if_timed()
        return pieces

    def _round_open(self) -> bool:
        return self.clock >= self.next_probe and len(self.candidates) > 1

    def _end_round_if_timed(self):
        """Choose and schedule the next round once every count is timed; until then (a short
        stretch), go on with the fastest so far."""
        if all(self._timed_enough(threads) for threads in self.candidates):
            self._choose()
            self.next_probe = self.clock + self.interval
            self.timed, self.given_up = {}, set()
        else:
            self.choice = max(self.rates, key=self.rates.get)

    def _timed_enough(self, threads) -> bool:
        """Whether this round knows ``threads``' rate well enough to choose."""
        if threads == self.choice and self.chosen_rate is not None:
            return True  # a settled choice is timed by every stretch it trains
        return threads in self.given_up or self._seconds_timed(threads) >= self.probe_seconds / 2

    def _seconds_timed(self, threads) -> float:
        return self.timed.get(threads, (0, 0.0))[1]

    def _probe_size(self, n_batches):
        """Batches for one probe: about `probe_seconds` at the choice's rate, at most a
        quarter of the stretch; 1/`probe_fraction` of it while no rate is known."""
        if self.choice not in self.rates:
            return max(1, n_batches // self.probe_fraction)
        return max(1, min(round(self.rates[self.choice] * self.probe_seconds), n_batches // 4))

    def _probe(self, threads, n_batches, piece):
        """Time ``threads`` on up to ``n_batches``, stopping early if clearly slower."""
        step = max(1, -(-n_batches // self.probe_steps))
        done, seconds = 0, 0.0
        while done < n_batches:
            count = min(step, n_batches - done)
            seconds += piece(threads, count)
            done += count
            incumbent = self.rates.get(self.choice) if threads != self.choice else None
            if incumbent and done / seconds < self.give_up * incumbent:
                self.given_up.add(threads)
                break
        batches, seconds = self.timed[threads]  # this probe and any before it in the round
        self.rates[threads] = batches / max(seconds, 1e-12)

    def _observe_choice(self, batches, seconds):
        """Update the choice's rate with a stretch it trained: over about the last `memory`
        seconds of its training (a stretch can be a few milliseconds, and one that a hiccup
        of the machine slowed must neither drive the choice away nor call a round), then look
        again at once if the rate has fallen well below what it was when chosen."""
        threads, old_batches, old_seconds = self.recent
        fading = 0.5 ** (seconds / self.memory) if threads == self.choice else 0.0
        self.recent = (self.choice, old_batches * fading + batches,
                       old_seconds * fading + seconds)
        rate = self.recent[1] / max(self.recent[2], 1e-12)
        self.rates[self.choice] = rate
        fewer = [c for c in self.candidates if c < self.choice]
        if self.chosen_rate is not None and rate < self.slowdown * self.chosen_rate and fewer:
            self.next_probe, self.interval = self.clock, self.first_interval  # machine changed

    def _choose(self):
        """Take the fastest count measured; back off from probing while the choice holds."""
        best = max(self.rates, key=self.rates.get)
        if best == self.choice and self.chosen_rate is not None:
            self.interval = min(2 * self.interval, self.max_interval)
        else:
            self.interval = self.first_interval
        self.choice, self.chosen_rate = best, self.rates[best]

    def __repr__(self) -> str:
        rates = ", ".join(f"{t}: {r:,.1f}" for t, r in sorted(self.rates.items()))
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

    def run(self, n_batches: int, train) -> list[tuple[int, int]]:
        train(self.choice, n_batches)
        return [(self.choice, n_batches)]


def thread_policy(threads):
    """`ThreadTuner` for ``"auto"``, `FixedThreads` for a count."""
    check_threads(threads)
    return ThreadTuner() if threads == "auto" else FixedThreads(threads)
