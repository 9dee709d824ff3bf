"""What every benchmark here records the same way: the machine, peak memory, child processes.

Each benchmark runs its measurements in fresh child processes (so a child's memory and thread
settings are its own) and writes a markdown report with a JSON twin. This module is imported
by those children too, so it imports nothing heavy at the top: Numba and the library are
loaded only by the functions that need them, in the parent.
"""

from __future__ import annotations

import datetime
import importlib.metadata
import json
import os
import platform
import shlex
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("numpy", "numba", "pandas", "torch", "keras")
BLAS_THREAD_VARIABLES = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")
THREAD_VARIABLES = (*BLAS_THREAD_VARIABLES, "NUMBA_NUM_THREADS", "NUMBA_THREADING_LAYER",
                    "OPENBLAS_CORETYPE")
BUSY_LOAD = 0.5  # a 1-minute load average above this before a run: not a quiet machine


# ---------------------------------------------------------------------- the machine

def machine_facts() -> dict:
    """What the numbers were measured on, taken at the start of a run.

    >>> facts = machine_facts()
    >>> facts["cores"] == os.cpu_count() and len(facts["load_average_before"]) == 3
    True
    """
    return {
        "cpu": _cpu_model(), "cores": os.cpu_count(), "ram_gb": _ram_gb(),
        "os": platform.platform(), "python": platform.python_version(),
        "packages": {name: package_version(name) for name in PACKAGES},
        "numba_threading_layer": numba_threading_layer(),
        "environment": {name: os.environ.get(name, "unset") for name in THREAD_VARIABLES},
        "commit": _commit(),
        "date": datetime.datetime.now().astimezone().isoformat(timespec="seconds"),
        "load_average_before": list(os.getloadavg()),
    }


def describe_machine(facts: dict, other_work: str = "") -> str:
    """One markdown paragraph: the machine, versions, settings, date and load averages.

    Call it after the run: it ends with the load average then. ``other_work`` names work run
    on purpose beside the measurements; without it, a 1-minute load above ``BUSY_LOAD``
    before the run is called out as a machine that was not quiet.

    >>> facts = {"cpu": "X", "cores": 2, "ram_gb": 8.0, "os": "Linux", "python": "3.11",
    ...          "packages": {"numpy": "2.0", "torch": None}, "numba_threading_layer": "omp",
    ...          "environment": {"OPENBLAS_CORETYPE": "unset"}, "commit": "abc1234",
    ...          "date": "2026-01-01", "load_average_before": [0.9, 0.2, 0.3]}
    >>> print(describe_machine(facts))  # doctest: +ELLIPSIS +NORMALIZE_WHITESPACE
    Machine: X, 2 cores, 8.0 GB RAM, Linux; Python 3.11, numpy 2.0, torch not installed;
    Numba threading layer omp; OPENBLAS_CORETYPE=unset. Code: commit abc1234. 2026-01-01.
    Load average (1, 5, 15 min) before: 0.90 0.20 0.30, after: ... The machine was not quiet ...
    """
    packages = ", ".join(f"{name} {version or 'not installed'}"
                         for name, version in facts["packages"].items())
    settings = ", ".join(f"{name}={value}" for name, value in facts["environment"].items())
    before = facts["load_average_before"]
    note = ""
    if other_work:
        note = f" Other work shared the machine on purpose: {other_work}."
    elif before[0] > BUSY_LOAD:
        note = (f" The machine was not quiet (1-minute load above {BUSY_LOAD} before the run): "
                "rates are lower bounds, times upper bounds.")
    return (f"Machine: {facts['cpu']}, {facts['cores']} cores, {facts['ram_gb']} GB RAM, "
            f"{facts['os']}; Python {facts['python']}, {packages}; Numba threading layer "
            f"{facts['numba_threading_layer']}; {settings}. Code: commit {facts['commit']}. "
            f"{facts['date']}. Load average (1, 5, 15 min) before: {_loads(before)}, "
            f"after: {_loads(os.getloadavg())}.{note}")


def numba_threading_layer() -> str:
    """The threading layer Numba picks here (it is known only once a parallel loop has run)."""
    try:
        import numba
    except ImportError:
        return "n/a (Numba not installed)"

    @numba.njit(parallel=True)
    def count(n):
        total = 0
        for i in numba.prange(n):
            total += 1
        return total

    count(2)
    return numba.threading_layer()


def _cpu_model():
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            return line.split(":", 1)[1].strip()
    return platform.processor() or platform.machine()


def _ram_gb():
    for line in Path("/proc/meminfo").read_text().splitlines():
        if line.startswith("MemTotal:"):
            return round(int(line.split()[1]) / 2**20, 1)
    return None


def package_version(package) -> str | None:
    """An installed package's version (None if it is not installed), without importing it.

    >>> package_version("numpy") is not None, package_version("no-such-package-here")
    (True, None)
    """
    try:
        return importlib.metadata.version(package)
    except importlib.metadata.PackageNotFoundError:
        return None


def _commit():
    """The checked-out commit, marked when the working tree has changes (a benchmark of
    uncommitted code must say so)."""
    def git(*args):
        return subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True)
    head = git("rev-parse", "--short", "HEAD")
    if head.returncode:
        return "unknown (not a git checkout)"
    changed = git("status", "--porcelain", "--untracked-files=no").stdout.strip()
    return head.stdout.strip() + (" + uncommitted changes" if changed else "")


def _loads(loads):
    return " ".join(f"{x:.2f}" for x in loads)


# ---------------------------------------------------------------------- peak memory

def peak_memory_mb() -> float:
    """This process's peak resident memory (VmHWM) since it started or since the last
    `reset_peak_memory`, in MB.

    Not ``ru_maxrss``: after a fork and exec it starts from the parent's peak, so a small
    child would report its parent's memory; and it cannot be reset.

    >>> peak_memory_mb() > 1
    True
    """
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("/proc/self/status has no VmHWM line: these benchmarks need Linux")


def reset_peak_memory() -> float:
    """Return the peak so far, then restart the high-water mark at the current resident size.

    Writing "5" to /proc/self/clear_refs resets VmHWM (Linux ≥ 4.0), so what follows is
    measured on its own: what stays resident counts, a one-off warm-up does not.

    >>> reset_peak_memory() >= peak_memory_mb()
    True
    """
    peak = peak_memory_mb()
    Path("/proc/self/clear_refs").write_text("5")
    return peak


# ---------------------------------------------------------------------- child processes

class ChildFailed(RuntimeError):
    """A benchmark step's process failed; the message ends with its last error line."""


def json_from_child(command, env=None, timeout=None) -> dict:
    """Run ``command`` (a fresh Python); return the JSON object on its last line of output.

    Raises `ChildFailed` if it exits non-zero or runs past ``timeout`` seconds, with the
    tail of its standard error kept in ``.stderr``.

    >>> import sys
    >>> json_from_child([sys.executable, "-c", "print('{\\"x\\": 1}')"])
    {'x': 1}
    """
    try:
        done = subprocess.run(command, capture_output=True, text=True, env=env, timeout=timeout)
    except subprocess.TimeoutExpired as expired:
        error = ChildFailed(f"timed out after {timeout:.0f} s")
        error.stderr = _text(expired.stderr)[-3000:]
        raise error from None
    if done.returncode:
        lines = done.stderr.strip().splitlines() or [f"exit status {done.returncode}"]
        error = ChildFailed(lines[-1])
        error.stderr = done.stderr[-3000:]
        raise error
    return json.loads(done.stdout.strip().splitlines()[-1])


def _text(output):
    return output.decode(errors="replace") if isinstance(output, bytes) else output or ""


def run_child(script, spec: dict, label: str, env: dict | None = None, timeout=None) -> dict:
    """Run ``script --child '<spec as JSON>'`` in a fresh Python, ``env`` added to this
    process's environment; return the JSON object it prints last (`json_from_child`).

    A failure does not stop the run: it is told on standard error under ``label`` and
    returned as ``{"error": its last error line, "stderr": the tail of its standard error}``.

    >>> import tempfile
    >>> with tempfile.TemporaryDirectory() as folder:
    ...     script = Path(folder, "child.py")
    ...     _ = script.write_text("import json, sys; print(json.loads(sys.argv[2])['x'] + 1)")
    ...     run_child(script, {"x": 1}, "example"), run_child(script, {}, "example")["error"]
    (2, "KeyError: 'x'")
    """
    command = [sys.executable, str(Path(script).resolve()), "--child", json.dumps(spec)]
    try:
        return json_from_child(command, {**os.environ, **(env or {})}, timeout)
    except ChildFailed as failure:
        print(f"  {label}: FAILED: {failure}\n{failure.stderr}", file=sys.stderr)
        return {"error": str(failure), "stderr": failure.stderr}


# ---------------------------------------------------------------------- reports

def markdown_row(values) -> str:
    """A markdown table row.

    >>> markdown_row(["a", 1, 2.5])
    '| a | 1 | 2.5 |'
    """
    return "| " + " | ".join(str(v) for v in values) + " |"


def markdown_table(header, rows, align: str = "") -> list[str]:
    """A markdown table's lines: the header, the alignment row, one line per row.

    ``align`` has a letter per column, ``l`` (left) or ``r`` (right); by default every
    column is right-aligned, as columns of numbers read best.

    >>> markdown_table(["step", "seconds"], [["parse", 1.5]], align="lr")
    ['| step | seconds |', '| --- | ---: |', '| parse | 1.5 |']
    """
    align = align or "r" * len(header)
    if len(align) != len(header) or set(align) - {"l", "r"}:
        raise ValueError(f"align needs an l or r for each of {len(header)} columns, not {align!r}")
    rule = ["---:" if side == "r" else "---" for side in align]
    return [markdown_row(header), markdown_row(rule), *(markdown_row(row) for row in rows)]


def command_line(script) -> str:
    """The command that started this run, ``script`` relative to the repository's root and
    the arguments quoted for a shell: what a reader types to run it again.

    >>> command_line(ROOT / "benchmarks" / "bench_x.py").split()[:2]
    ['python', 'benchmarks/bench_x.py']
    """
    words = [os.path.relpath(script, ROOT), *sys.argv[1:]]
    return "python " + " ".join(shlex.quote(word) for word in words)


def write_report(out, markdown: str, raw: dict | None = None) -> list[Path]:
    """Write the markdown report to ``out`` and, given ``raw``, its JSON beside it (same name,
    ``.json``), each to a temporary name first and renamed; return the paths written."""
    from numpy_movievec.archive import atomic_file
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    contents = {out: markdown}
    if raw is not None:
        contents[out.with_suffix(".json")] = json.dumps(raw, indent=1, default=str) + "\n"
    for path, text in contents.items():
        with atomic_file(path) as f:
            f.write(text.encode())
    return list(contents)
