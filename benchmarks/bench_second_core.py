"""What the second core adds, and what decides it: the Numba engine on 1 thread, 2 threads and
the default (``auto``), each round of timings bracketed by the cores' round-trip latency.

    python benchmarks/bench_second_core.py                 # 20 rounds -> benchmarks/results/
    python benchmarks/bench_second_core.py --rounds 3 --ratings 200000 --out /tmp/x.md

This machine's two-thread speed drifts between two levels within minutes while one thread's
hardly moves. Each round here times 1 thread, 2 threads and ``auto`` back to back (in an order
that rotates) and measures the core-to-core round trip (``core_latency.py``) before and after,
so each round can be put in the state the host had its two vCPUs in: "near" (a short round
trip: they share a core complex and its L3) or "far". A round whose two measurements disagree
is summed up apart, as "changed". The data are synthetic ratings with the Netflix Prize's
table sizes, as in ``bench_train.py``, trained at batch 1024 through ``engine.train_batches``,
the loop ``fit`` runs.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
import numpy_movievec as mv  # noqa: E402
from benchmarks._common import (command_line, describe_machine, machine_facts,  # noqa: E402
                                markdown_table, write_report)
from benchmarks.core_latency import NEAR_NS, round_trip_ns  # noqa: E402
from numpy_movievec.data.synthetic import NETFLIX_MOVIES, NETFLIX_USERS  # noqa: E402
from numpy_movievec.nn.engines import NumbaEngine  # noqa: E402

BATCH_SIZE = 1024
THREADS = (1, 2, "auto")  # "auto": fit's default, a ThreadTuner that keeps timing the counts


def rate(engine, order, seconds) -> float:
    """Ratings per second over whole batches of ``order`` (from its start, round and round)
    for about ``seconds``, in calls of a few dozen batches."""
    n_batches = len(order) // BATCH_SIZE
    per_call = min(32, n_batches)
    position = trained = 0
    started = time.perf_counter()
    while time.perf_counter() - started < seconds:
        if position + per_call > n_batches:
            position = 0
        engine.train_batches(order, BATCH_SIZE, position, per_call)
        position += per_call
        trained += per_call * BATCH_SIZE
    return trained / (time.perf_counter() - started)


def state(*round_trips) -> str:
    """"near", "far", or "changed" if the round trips around a measurement disagree."""
    states = {"near" if ns < NEAR_NS else "far" for ns in round_trips}
    return states.pop() if len(states) == 1 else "changed"


def measure(ratings, rounds, seconds) -> list[dict]:
    """``rounds`` rounds of (round trip, each of `THREADS` in turn, round trip); the order of
    the thread settings rotates from round to round. One engine per setting, all training
    the same network, each kept from round to round as ``fit`` keeps its engine."""
    net = mv.RatingNet(ratings.n_movies, ratings.n_users, seed=0)
    net.optimizer = mv.Adadelta()
    engines = {threads: NumbaEngine(net, net.optimizer, ratings.movie, ratings.user,
                                    ratings.rating, threads=threads) for threads in THREADS}
    order = np.random.default_rng(0).permutation(len(ratings))
    for engine in engines.values():  # load the compiled kernels, make the buffers
        engine.train_batches(order, BATCH_SIZE, 0, 4)
    results = []
    for number in range(rounds):
        before = round_trip_ns()
        turn = number % len(THREADS)
        rates = {str(threads): rate(engines[threads], order, seconds)
                 for threads in THREADS[turn:] + THREADS[:turn]}
        after = round_trip_ns()
        results.append({"time": time.strftime("%H:%M:%S"), "round_trip_ns": [before, after],
                        "state": state(before, after), "rates": rates})
        print("  ".join(round_row(results[-1])), file=sys.stderr)
    return results


def gains(rates) -> list[float]:
    """2 threads ÷ 1 and auto ÷ 1."""
    return [rates["2"] / rates["1"], rates["auto"] / rates["1"]]


def round_row(result) -> list:
    return [result["time"], *(f"{ns:.0f}" for ns in result["round_trip_ns"]), result["state"],
            *(f"{result['rates'][str(t)]:,.0f}" for t in THREADS),
            *(f"{gain:.2f}×" for gain in gains(result["rates"]))]


def markdown(facts, command, results, data) -> str:
    summary = []
    for name in ("near", "far", "changed"):
        rounds = [r for r in results if r["state"] == name]
        if rounds:
            summary.append([name, len(rounds), *(
                f"{statistics.median(r['rates'][str(t)] for r in rounds):,.0f}" for t in THREADS),
                *(f"{statistics.median(gains(r['rates'])[i] for r in rounds):.2f}×"
                  for i in range(2))])
    rates = ["1 thread", "2 threads", "auto (default)"]
    ratios = ["2 ÷ 1", "auto ÷ 1"]
    return "\n".join([
        "# The second core: 1 and 2 threads against the cores' round-trip latency", "",
        describe_machine(facts), "", f"Command: `{command}`.", "", data, "",
        f"## By state of the vCPUs (near: round trip under {NEAR_NS} ns before and after)", "",
        "Ratings per second and ratios: medians over the rounds in that state.", "",
        *markdown_table(["state", "rounds", *rates, *ratios], summary, align="lrrrrrr"), "",
        "## Every round", "",
        *markdown_table(["time", "round trip before (ns)", "after (ns)", "state", *rates,
                         *ratios], rows=[round_row(r) for r in results],
                        align="lrrlrrrrr"), ""])


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=20)
    parser.add_argument("--seconds", type=float, default=2.0,
                        help="time per thread count and round (default %(default)s)")
    parser.add_argument("--ratings", type=int, default=5_000_000,
                        help="synthetic ratings with Netflix-size tables (default %(default)s)")
    parser.add_argument("--store", help="train on this ratings store instead (memory-mapped)")
    parser.add_argument("--out", default=ROOT / "benchmarks" / "results" / "bench_second_core.md")
    args = parser.parse_args(argv)
    facts, command = machine_facts(), command_line(__file__)
    if args.store:
        ratings = mv.Ratings.load(args.store, mmap=True)
        data = f"Data: {len(ratings):,} ratings from `{args.store}`."
    else:
        ratings = mv.synthetic(args.ratings, n_movies=NETFLIX_MOVIES, n_users=NETFLIX_USERS,
                               seed=0)
        data = (f"Data: {len(ratings):,} synthetic ratings (seed 0) of {ratings.n_movies:,} "
                f"movies × {ratings.n_users:,} users.")
    data += (f" Batch {BATCH_SIZE}, about {args.seconds:g} s per thread count and round; the "
             "round trip is the median of three runs of 100,000 (`core_latency.round_trip_ns`).")
    results = measure(ratings, args.rounds, args.seconds)
    report = markdown(facts, command, results, data)
    print(report)
    paths = write_report(args.out, report, {"machine": facts, "command": command,
                                            "rounds": results, "near_ns": NEAR_NS})
    print("wrote " + " and ".join(map(str, paths)), file=sys.stderr)


if __name__ == "__main__":
    main()
