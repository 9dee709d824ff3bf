"""Time and peak memory of the data path at Netflix scale: generate, write, parse, save, load.

    python benchmarks/bench_data.py [--ratings 100480507] [--workdir /tmp] [--repeats 5]

Each step runs in a fresh subprocess, so its peak memory (VmHWM, which includes the
interpreter and the imported libraries) is its own. Generating and parsing run once; loading
the store is the median of ``--repeats`` runs. Files go to a temporary folder under
``--workdir`` (100M ratings take about 2.5 GB per Netflix layout and 0.9 GB of store) and are
deleted afterwards. The Netflix files are parsed right after they are written, so they are
read from the page cache, not the disk. Prints a markdown table and writes it, with the
machine's conditions, to benchmarks/results/bench_data.md (raw numbers beside it, .json).
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from benchmarks._common import (ChildFailed, command_line, describe_machine,  # noqa: E402
                                json_from_child, machine_facts, markdown_table, peak_memory_mb,
                                write_report)

RESULTS = Path(__file__).resolve().parent / "results" / "bench_data.md"
LAYOUTS = ("combined", "training_set")
PARSER_RATINGS = 5_000_000  # size of the Numba-against-pandas parser comparison


# ---------------------------------------------------------------------- steps (in a child)

def step_generate(n_ratings, work: Path, repeats):
    from numpy_movievec.data import synthetic
    start = time.perf_counter()
    ratings = synthetic(n_ratings, seed=0)
    generated = time.perf_counter()
    ratings.save(work / "store")
    return {"generate": generated - start, "save store": time.perf_counter() - generated}


def step_write(n_ratings, work: Path, repeats, layout):
    from numpy_movievec.data import Ratings, write_netflix
    ratings = Ratings.load(work / "store")
    start = time.perf_counter()
    write_netflix(ratings, work / layout, layout=layout)
    seconds = time.perf_counter() - start
    size = sum(f.stat().st_size for f in (work / layout).rglob("*") if f.is_file())
    return {f"write {layout}": seconds, "bytes": size}


def step_parse(n_ratings, work: Path, repeats, layout):
    from numpy_movievec.data import load_netflix
    start = time.perf_counter()
    ratings = load_netflix(work / layout)
    seconds = time.perf_counter() - start
    assert len(ratings) == n_ratings, (len(ratings), n_ratings)
    return {f"parse {layout}": seconds}


def step_load(n_ratings, work: Path, repeats, variant):
    from numpy_movievec.data import Ratings
    runs = []
    for _ in range(repeats):
        start = time.perf_counter()
        ratings = Ratings.load(work / "store", mmap=(variant == "mmap"))
        runs.append(time.perf_counter() - start)
        assert len(ratings) == n_ratings
        del ratings
    return {"load store": statistics.median(runs)}


def step_warm_up(n_ratings, work: Path, repeats):
    """Compile (or load from Numba's cache) every kernel on a small data set."""
    from numpy_movievec.data import Ratings, load_netflix, synthetic, write_netflix
    ratings = synthetic(20_000, seed=0)
    Ratings.load(ratings.save(work / "warm-up-store"))
    write_netflix(ratings, work / "warm-up-files")
    load_netflix(work / "warm-up-files")
    return {}


def step_parsers(n_ratings, work: Path, repeats):
    """load_netflix against the pandas way (read_csv, then forward-fill the movie headers)."""
    import numpy as np
    import pandas as pd
    from numpy_movievec.data import load_netflix, synthetic, write_netflix
    folder = write_netflix(synthetic(PARSER_RATINGS, seed=0), work / "parsers")
    start = time.perf_counter()
    load_netflix(folder)
    numba_seconds = time.perf_counter() - start
    start = time.perf_counter()
    for file in sorted(folder.glob("combined_data_*.txt")):
        frame = pd.read_csv(file, header=None, names=["customer", "rating"], usecols=[0, 1])
        is_header = frame["rating"].isna().to_numpy()
        movie = pd.Series(np.where(is_header, frame["customer"].str[:-1], None)).ffill()
        rows = ~is_header
        movie[rows].to_numpy().astype(np.int32)
        frame["customer"].to_numpy()[rows].astype(np.int32)
        frame["rating"].to_numpy()[rows].astype(np.int8)
    pandas_seconds = time.perf_counter() - start
    shutil.rmtree(folder)
    return {"numba": numba_seconds, "pandas": pandas_seconds}


STEPS = {"warm_up": step_warm_up, "generate": step_generate, "write": step_write,
         "parse": step_parse, "load": step_load, "parsers": step_parsers}


def run_child(args):
    results = STEPS[args.step](args.ratings, Path(args.work), args.repeats,
                               *([args.layout] if args.layout else []))
    results["peak_rss_mb"] = peak_memory_mb()
    print(json.dumps(results))


# ---------------------------------------------------------------------- the parent

def run_step(args, work, step, layout=None):
    """Run one step in a fresh Python; ``layout`` is its variant (a layout, or mmap/copy)."""
    command = [sys.executable, __file__, "--step", step, "--work", str(work),
               "--ratings", str(args.ratings), "--repeats", str(args.repeats)]
    if layout:
        command += ["--layout", layout]
    try:
        result = json_from_child(command)
    except ChildFailed as failure:
        sys.exit(f"step {step} failed:\n{failure.stderr}")
    print(f"  {step} {layout or ''}: {result}", file=sys.stderr)
    return result


def measure(args, work):
    rows = []  # (step, seconds, peak MB or None, target)
    run_step(args, work, "warm_up")
    generated = run_step(args, work, "generate")
    rows.append(("generate synthetic ratings", generated["generate"], generated["peak_rss_mb"],
                 "≤ 60 s"))
    rows.append(("save store (same process)", generated["save store"], None, ""))
    sizes = {}
    for layout in LAYOUTS:
        written = run_step(args, work, "write", layout)
        sizes[layout] = written["bytes"]
        rows.append((f"write Netflix files, {layout} layout ({written['bytes'] / 1e9:.2f} GB)",
                     written[f"write {layout}"], written["peak_rss_mb"], "informational"))
        parsed = run_step(args, work, "parse", layout)
        rows.append((f"parse them with load_netflix ({layout})", parsed[f"parse {layout}"],
                     parsed["peak_rss_mb"], "≤ 90 s, ≤ 4 GB"))
        shutil.rmtree(work / layout)
    for variant, target in (("mmap", "≤ 1 s"), ("copy", "")):
        loaded = run_step(args, work, "load", variant)
        rows.append((f"load store, mmap={variant == 'mmap'} (median of {args.repeats})",
                     loaded["load store"], loaded["peak_rss_mb"], target))
    parsers = run_step(args, work, "parsers")
    for parser in ("numba", "pandas"):
        name = ("load_netflix (Numba parser)" if parser == "numba"
                else "pandas read_csv + forward fill")
        rows.append((f"{PARSER_RATINGS:,} ratings, combined layout: {name}", parsers[parser],
                     None, "why Numba"))
    store_bytes = sum(f.stat().st_size for f in (work / "store").iterdir())
    return rows, store_bytes


def markdown(args, rows, store_bytes, facts, command, seconds):
    table = [[name, f"{secs:.2f}", "" if peak_mb is None else f"{peak_mb / 1024:.2f}", target]
             for name, secs, peak_mb, target in rows]
    lines = [
        "# Data path timings",
        "",
        f"{args.ratings:,} synthetic ratings (`synthetic(seed=0)`), "
        f"store {store_bytes / 1e9:.2f} GB.",
        describe_machine(facts),
        f"Command: `{command}` (total {seconds / 60:.1f} min). Peak RSS per step, from a "
        "fresh process each (includes ~0.2 GB of interpreter and libraries); files parsed "
        "from the page cache.",
        "",
        *markdown_table(["step", "seconds", "peak RSS (GB)", "target"], table, align="lrrl"),
    ]
    return "\n".join(lines) + "\n"


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ratings", type=int, default=100_480_507)
    parser.add_argument("--workdir", default=tempfile.gettempdir())
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--out", default=str(RESULTS))
    parser.add_argument("--step", help=argparse.SUPPRESS)
    parser.add_argument("--work", help=argparse.SUPPRESS)
    parser.add_argument("--layout", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.step:
        return run_child(args)

    command, facts = command_line(__file__), machine_facts()
    start = time.perf_counter()
    work = Path(tempfile.mkdtemp(prefix="bench_data.", dir=args.workdir))
    try:
        rows, store_bytes = measure(args, work)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    seconds = time.perf_counter() - start
    table = markdown(args, rows, store_bytes, facts, command, seconds)
    print(table)
    write_report(args.out, table, {"machine": facts, "config": vars(args), "seconds": seconds,
                                   "store_bytes": store_bytes, "rows": rows})


if __name__ == "__main__":
    main()
