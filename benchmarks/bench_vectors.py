"""How long a MovieVectors query takes over a million vectors (and why top-k uses argpartition).

    python benchmarks/bench_vectors.py [--movies 1000000] [--dim 40] [--repeats 20] [--out FILE]

Prints a markdown table and writes it to benchmarks/results/bench_vectors.md (or ``--out``),
with the machine's conditions and a JSON twin beside it. Times are the
median of ``--repeats`` runs after one warm-up run, so one-off costs (unit vectors, the title
index) are reported on their own rows.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from benchmarks._common import (command_line, describe_machine, machine_facts,  # noqa: E402
                                markdown_table, write_report)
from numpy_movievec.vectors import MovieVectors, top_k  # noqa: E402

RESULTS = Path(__file__).resolve().parent / "results" / "bench_vectors.md"


def median_ms(function, repeats) -> float:
    function()  # warm-up: caches, page faults
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        function()
        times.append(time.perf_counter() - start)
    return 1000 * statistics.median(times)


def once_ms(function) -> float:
    start = time.perf_counter()
    function()
    return 1000 * (time.perf_counter() - start)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--movies", type=int, default=1_000_000)
    parser.add_argument("--dim", type=int, default=40)
    parser.add_argument("--repeats", type=int, default=20)
    parser.add_argument("--out", default=str(RESULTS), help="markdown report (JSON beside it)")
    args = parser.parse_args()
    facts = machine_facts()

    rng = np.random.default_rng(0)
    matrix = rng.normal(size=(args.movies, args.dim)).astype(np.float32)
    titles = [f"Movie {i}" for i in range(args.movies)]
    counts = rng.integers(1, 100_000, size=args.movies)
    rows = []

    vecs = MovieVectors(matrix, titles=titles, counts=counts)
    rows.append(("unit vectors, computed once (first query)", once_ms(lambda: vecs.unit_vectors)))
    rows.append(("title index, built once (first title query)", once_ms(lambda: vecs.index("Movie 7"))))
    queries = [
        ("most_similar(int id, topn=10)", lambda: vecs.most_similar(123, topn=10)),
        ("most_similar(title, topn=10)", lambda: vecs.most_similar("movie 123", topn=10)),
        ("most_similar(title, topn=100)", lambda: vecs.most_similar("Movie 123", topn=100)),
        ("most_similar(title, min_count=1000)",
         lambda: vecs.most_similar("Movie 123", min_count=1000)),
        ("most_similar(title, restrict=20000)",
         lambda: vecs.most_similar("Movie 123", restrict=20000)),
    ]
    for method in ("3cosadd", "3cosmul", "offset"):
        queries.append((f"counterpart(method={method!r})",
                        lambda m=method: vecs.counterpart("Movie 1", via=("Movie 2", "Movie 3"),
                                                          method=m)))
    rows += [(label, median_ms(query, args.repeats)) for label, query in queries]

    scores = vecs.unit_vectors @ vecs.unit_vectors[123]
    rows.append(("  of which: cosines, one matrix-vector product",
                 median_ms(lambda: vecs.unit_vectors @ vecs.unit_vectors[123], args.repeats)))
    rows.append(("  of which: top 10 by argpartition", median_ms(lambda: top_k(scores, 10), args.repeats)))
    rows.append(("  for comparison: top 10 by a full argsort",
                 median_ms(lambda: np.argsort(-scores)[:10], args.repeats)))

    report = render(args, rows, facts)
    print(report)
    write_report(args.out, report, {"machine": facts, "config": vars(args), "rows_ms": rows})


def render(args, rows, facts) -> str:
    lines = [
        "# MovieVectors query timings",
        "",
        f"{args.movies:,} random float32 vectors × {args.dim} dims, with titles and rating counts. "
        f"Median of {args.repeats} runs after a warm-up.",
        describe_machine(facts),
        f"Command: `{command_line(__file__)}`",
        "",
        *markdown_table(["operation", "ms"], [[label, f"{ms:.1f}"] for label, ms in rows],
                        align="lr"),
        "",
    ]
    return "\n".join(lines)


if __name__ == "__main__":
    main()
