"""ThreadTuner on a simulated machine: it finds the faster thread count, follows a change, and
spends little time on the slower one. (That changing the count changes no result is tested in
test_kernels.py.)"""

import numba
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from numpy_movievec.nn.threads import FixedThreads, ThreadTuner, check_threads, thread_policy


MS = 1e-3  # a batch of 1024 ratings takes about a millisecond on two cores


def run(tuner, seconds_per_batch, stretches, batches=256):
    """Drive ``tuner`` for ``stretches`` calls on a machine where a batch on t threads takes
    ``seconds_per_batch(stretch, t)``; returns the batches run on each thread count."""
    done = {}
    for stretch in range(stretches):
        pieces = tuner.run(batches, lambda threads, n: n * seconds_per_batch(stretch, threads))
        assert sum(n for _, n in pieces) == batches and all(n > 0 for _, n in pieces)
        for threads, n in pieces:
            done[threads] = done.get(threads, 0) + n
    return done


@pytest.mark.parametrize("fast, slow", [(2, 1), (1, 2)])
def test_the_tuner_settles_on_the_faster_count(fast, slow):
    tuner = ThreadTuner(candidates=[2, 1])
    done = run(tuner, lambda stretch, t: (1.0 if t == fast else 1.8) * MS, stretches=400)
    assert tuner.choice == fast
    assert done[slow] < 0.02 * done[fast]  # probes cost little once it has settled


def one_batch_stretches(tuner, seconds_per_batch, stretches):
    """The count each of ``stretches`` one-batch stretches trained on (a time-boxed loop starts
    with such stretches)."""
    return [tuner.run(1, seconds_per_batch)[0][0] for _ in range(stretches)]


def test_one_batch_stretches_do_not_leave_a_busy_machine_on_two_threads():
    tuner = ThreadTuner(candidates=[2, 1])
    busy = lambda threads, n: n * (3.0 if threads == 2 else 1.0) * MS  # noqa: E731
    counts = one_batch_stretches(tuner, busy, 60)
    assert counts[:2] == [2, 1]  # each count at once, not a second later
    assert counts.count(2) <= 3 and tuner.choice == 1
    assert tuner.next_probe > tuner.clock  # the round ended: it has decided


def test_one_slow_first_batch_does_not_decide():
    """Two threads are faster, but their very first batch is slow (threads waking up): the
    tuner keeps timing both until it knows, then settles on two."""
    tuner = ThreadTuner(candidates=[2, 1])
    first = [True]

    def quiet(threads, n):
        slow_start, first[0] = first[0], False
        return n * (0.55 if threads == 2 else 1.0) * MS + (5 * MS if slow_start else 0)

    counts = one_batch_stretches(tuner, quiet, 200)
    assert tuner.choice == 2 and tuner.next_probe > tuner.clock
    assert counts[-100:] == [2] * 100
    assert counts.count(1) <= 40  # about probe_seconds / 2 of one thread, not a whole interval


def test_hiccups_of_the_machine_do_not_drive_the_choice_away():
    """Short stretches (as a time-boxed caller makes) on a machine whose timings jitter and
    where one piece of work in a hundred takes three times as long (the host was busy for a
    moment): the tuner stays on the faster count. Judged on the rate of single stretches, it
    spent over a third of the batches on the slower one."""
    rng = np.random.default_rng(0)

    def jittery(stretch, threads):
        hiccup = 3.0 if rng.random() < 0.01 else 1.0
        return (0.55 if threads == 2 else 1.0) * MS * hiccup * rng.lognormal(0, 0.15)

    done = run(ThreadTuner(candidates=[2, 1]), jittery, stretches=3000, batches=32)
    assert done[1] < 0.05 * (done[1] + done[2])


def test_the_tuner_follows_a_machine_that_gets_busy():
    # quiet: two threads are faster; from stretch 50 on another program holds a core and two
    # threads wait at every barrier (the measured pattern): one thread is faster
    tuner = ThreadTuner(candidates=[2, 1])
    busy_from = 50

    def seconds_per_batch(stretch, threads):
        if stretch < busy_from:
            return (0.55 if threads == 2 else 1.0) * MS
        return (3.0 if threads == 2 else 1.0) * MS

    run(tuner, seconds_per_batch, stretches=busy_from)
    assert tuner.choice == 2
    done = run(tuner, lambda stretch, t: seconds_per_batch(busy_from + stretch, t), stretches=300)
    assert tuner.choice == 1
    assert done[2] < 0.05 * done[1]


def test_the_tuner_looks_again_when_its_choice_slows_down():
    tuner = ThreadTuner(candidates=[2, 1])
    run(tuner, lambda stretch, t: (1.0 if t == 2 else 2.0) * MS, stretches=1000)  # settled on 2
    assert tuner.interval == tuner.max_interval
    tuner.next_probe = tuner.clock + 100  # not due for a while, until the choice slows down a lot:
    assert tuner.run(64, lambda threads, n: n * 3.0 * MS) == [(2, 64)]
    # ... so the next stretch probes one thread at once, finds it faster now, and stays there
    pieces = tuner.run(64, lambda threads, n: n * (3.0 if threads == 2 else 1.0) * MS)
    assert [t for t, _ in pieces] == [1] and tuner.choice == 1


def test_a_probe_of_a_much_slower_count_stops_early():
    tuner = ThreadTuner(candidates=[2, 1])
    run(tuner, lambda stretch, t: (1.0 if t == 1 else 10.0) * MS, stretches=1)  # settled on 1
    tuner.next_probe = tuner.clock  # a probe is due
    pieces = tuner.run(256, lambda threads, n: n * (1.0 if threads == 1 else 10.0) * MS)
    # a probe is 50 ms at one thread's rate: 50 batches; two threads gave up after a quarter
    assert pieces[0] == (2, 13)


@settings(max_examples=50, deadline=None)
@given(rates=st.lists(st.floats(0.1, 10), min_size=20, max_size=20),
       batches=st.lists(st.integers(1, 500), min_size=20, max_size=20))
def test_pieces_cover_each_stretch_in_order(rates, batches):
    tuner = ThreadTuner(candidates=[4, 2, 1])
    for rate, n in zip(rates, batches):
        trained = []
        pieces = tuner.run(n, lambda threads, count: trained.append(threads)
                           or count * MS / (rate * threads))
        assert [t for t, _ in pieces] == [t for i, t in enumerate(trained)
                                          if i == 0 or trained[i - 1] != t]  # runs, in order
        assert sum(count for _, count in pieces) == n
        assert all(count > 0 and threads in (4, 2, 1) for threads, count in pieces)


def test_a_fixed_count_is_kept():
    policy = thread_policy(1)
    assert isinstance(policy, FixedThreads) and policy.run(10, lambda t, n: None) == [(1, 10)]
    assert isinstance(thread_policy("auto"), ThreadTuner)


@pytest.mark.parametrize("threads", [0, -2, 1.5, True, "two", None,
                                     numba.config.NUMBA_NUM_THREADS + 1])
def test_bad_thread_settings_are_refused(threads):
    with pytest.raises(ValueError, match="threads"):
        check_threads(threads)
