"""Cold start: seconds from ``movievec demo`` to its first progress line, with no compiled code.

    python benchmarks/bench_cold_start.py              # 3 runs
    python benchmarks/bench_cold_start.py --runs 5

A first run of the library compiles its Numba kernels (then caches them on disk). This times
what a new user waits for: each run starts ``movievec demo`` in a pseudo-terminal (so the
progress line is drawn, as on a terminal) with ``NUMBA_CACHE_DIR`` set to a new empty folder,
and reads its output until the first line of epoch 1's progress appears; then the demo is
stopped. The time includes starting Python, generating the demo's 1M ratings (and compiling
the generator), compiling the training kernel and training the first stretch of batches.

Results: markdown on stdout and in benchmarks/results/bench_cold_start.md (``--out``), the
raw numbers in the .json beside it.
"""

from __future__ import annotations

import argparse
import os
import pty
import re
import select
import signal
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from benchmarks._common import (command_line, describe_machine, machine_facts,  # noqa: E402
                                markdown_table, write_report)

RESULTS = ROOT / "benchmarks" / "results" / "bench_cold_start.md"
FIRST_PROGRESS = re.compile(rb"epoch 1:.*ratings/s")  # the progress line of train.ProgressLine
TIMEOUT = 300  # seconds


def seconds_to_first_progress(command, env) -> float:
    """Run ``command`` in a pseudo-terminal; the seconds until its first progress line."""
    started = time.perf_counter()
    pid, terminal = pty.fork()
    if pid == 0:  # the child: become the command
        os.execvpe(command[0], command, env)
    output = b""
    try:
        while time.perf_counter() - started < TIMEOUT:
            ready, _, _ = select.select([terminal], [], [], 1.0)
            if not ready:
                continue
            try:
                chunk = os.read(terminal, 4096)
            except OSError:  # the child closed the terminal: it ended
                break
            output += chunk
            if FIRST_PROGRESS.search(output):
                return time.perf_counter() - started
        raise RuntimeError(f"no progress line within {TIMEOUT} s; the demo printed:\n"
                           f"{output.decode(errors='replace')[-2000:]}")
    finally:
        os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
        os.close(terminal)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3, help="cold runs (default 3)")
    parser.add_argument("--out", default=RESULTS, help="markdown report (JSON beside it)")
    args = parser.parse_args(argv)
    facts = machine_facts()
    movievec = Path(sys.executable).with_name("movievec")
    seconds = []
    with tempfile.TemporaryDirectory(prefix="cold_start.") as work:
        for run in range(args.runs):
            cache, out = Path(work, f"cache{run}"), Path(work, f"demo{run}")
            cache.mkdir()
            out.mkdir()
            env = {**os.environ, "NUMBA_CACHE_DIR": str(cache)}
            seconds.append(seconds_to_first_progress(
                [str(movievec), "demo", "--out", str(out)], env))
            print(f"run {run + 1}: first progress line after {seconds[-1]:.1f} s",
                  file=sys.stderr)
    facts["load_average_after"] = list(os.getloadavg())
    command = command_line(__file__)
    median = statistics.median(seconds)
    markdown = "\n".join([
        "# Cold start: `movievec demo` to its first progress line, nothing compiled yet",
        "",
        f"Command: `{command}`. Each run: a new empty `NUMBA_CACHE_DIR`, the demo in a "
        "pseudo-terminal, the clock stopped at the first progress line of epoch 1.",
        "",
        describe_machine(facts),
        "",
        *markdown_table(["runs", "seconds (each)", "median", "target"],
                        [[len(seconds), ", ".join(f"{s:.1f}" for s in seconds), f"{median:.1f}",
                          "≤ 20 s"]], align="rlrl"),
        "",
    ])
    print(markdown)
    write_report(args.out, markdown, {"machine": facts, "command": command, "seconds": seconds})


if __name__ == "__main__":
    main()
