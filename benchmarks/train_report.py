"""``bench_train.py``'s vocabulary and its report: the variants it compares, what a run
measured, issue 8's targets judged on it, and the markdown tables.

``bench_train.py`` measures; this module only reads what it measured.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from benchmarks._common import describe_machine, markdown_table

VARIANTS = {
    "numpy": "our reference engine: one NumPy step per batch",
    "numba": "our compiled engine",
    "torch-adadelta": "`TorchRatingNet` + `torch.optim.Adadelta(lr=1, rho=0.95, eps=1e-7)`, "
                      "dense embedding gradients: the seed's recipe, translated",
    "torch-sparseadam": "sparse embedding gradients + `SparseAdam`, `Adam` for the dense "
                        "layers: the usual way to make big embeddings fast in PyTorch",
    "torch-compile": "torch-sparseadam with the dense layers compiled by `torch.compile` "
                     "(inductor cannot make sparse gradients, so the lookups stay eager)",
    "keras": "the seed's own Keras code (Keras 3 on the PyTorch backend, eager) and its "
             "`train_on_batch`",
}
OURS = ("numpy", "numba")  # timed through engine.train_batches, the loop fit() runs
PEERS = tuple(name for name in VARIANTS if name not in OURS)
ONLY_AT = {"keras": (32, 1024)}  # batch sizes a slow variant runs at


def netflix_sizes():
    """(ratings, movies, users) of the Netflix Prize, from the package: imported only when
    asked, as the PyTorch and Keras cells import this module's variants and must not load
    Numba."""
    from numpy_movievec.data.synthetic import NETFLIX_MOVIES, NETFLIX_RATINGS, NETFLIX_USERS
    return NETFLIX_RATINGS, NETFLIX_MOVIES, NETFLIX_USERS


class Measured:
    """A run's cells and epoch, looked up the way the tables and the targets ask."""

    def __init__(self, cells, epoch, contended):
        self.results = {(c["variant"], c["batch_size"], c["threads"]): c["result"]
                        for c in cells}
        self.epoch = epoch
        self.load = "contended" if contended else "quiet"

    def rate(self, variant, batch_size, threads):
        return self.results.get((variant, batch_size, threads), {}).get("rate")

    def versus_peers(self, batch_size, threads=2):
        """Numba at ``threads`` over the fastest PyTorch or Keras cell at this batch size."""
        peers = [result.get("rate") for (variant, batch, _), result in self.results.items()
                 if variant in PEERS and batch == batch_size]
        fastest = max(filter(None, peers), default=None)
        return ratio(self.rate("numba", batch_size, threads), fastest)

    def default_gain(self, batch_size):
        """Numba with the default threads ("auto") over Numba with one thread."""
        return ratio(self.rate("numba", batch_size, "auto"), self.rate("numba", batch_size, 1))

    def netflix_epoch(self, key):
        """``key`` of the full epoch's result, if it was the 100M-rating epoch at batch 1024."""
        epoch = self.epoch or {}
        if epoch.get("ratings") == netflix_sizes()[0] and epoch.get("batch_size") == 1024:
            return epoch.get(key)
        return None


def ratio(a, b):
    return a / b if a and b else None


@dataclass(frozen=True)
class Target:
    """One of issue 8's targets: what to read from a run, and the bound it must meet."""

    name: str
    measure: Callable[[Measured], float | None]
    sense: str  # "≥" or "≤"
    bound: float
    unit: str  # "ratings/s", "×", "s" or "GB"
    load: str = "quiet"  # the run it is judged on: "quiet" or "contended"

    def evaluate(self, measured):
        """The target's row of the targets table: name, goal, measured, met."""
        value = self.measure(measured)
        goal = f"{self.sense} {show(self.bound, self.unit, bound=True)}"
        if value is None:
            return [self.name, goal, "not measured", ""]
        if self.load != measured.load:
            return [self.name, goal, show(value, self.unit), f"n/a: judged on a {self.load} run"]
        met = value >= self.bound if self.sense == "≥" else value <= self.bound
        return [self.name, goal, show(value, self.unit), "yes" if met else "no"]


TARGETS = (
    Target("numba, batch 1024, 2 threads", lambda m: m.rate("numba", 1024, 2),
           "≥", 1.6e6, "ratings/s"),
    *(Target(f"numba (2 threads) ÷ fastest PyTorch/Keras cell, batch {batch}",
             lambda m, batch=batch: m.versus_peers(batch), "≥", times, "×")
      for batch, times in ((32, 20), (1024, 5), (4096, 5))),
    Target("numba, default threads ÷ 1 thread, batch 1024", lambda m: m.default_gain(1024),
           "≥", 1.8, "×"),
    Target("numba, default threads ÷ 1 thread, batch 1024, one core busy",
           lambda m: m.default_gain(1024), "≥", 0.9, "×", load="contended"),
    Target("100M-rating fit() epoch, batch 1024", lambda m: m.netflix_epoch("seconds"),
           "≤", 63, "s"),
    Target("peak memory of that epoch", lambda m: ratio(m.netflix_epoch("peak_rss_mb"), 1024),
           "≤", 3, "GB"),  # MB → GB
)


def show(value, unit, bound=False):
    """``value`` in ``unit`` as the tables show it (a target's bound, briefly)."""
    if value is None:
        return ""
    if bound:
        return {"ratings/s": f"{value / 1e6:g}M ratings/s", "×": f"{value:g}×"}.get(
            unit, f"{value:g} {unit}")
    return {"ratings/s": f"{value:,.0f}", "×": f"{value:.2f}×", "s": f"{value:.1f} s",
            "GB": f"{value:.2f} GB"}[unit]


# ---------------------------------------------------------------------- the tables

def cells_table(args, measured, field, versus_peers=False):
    """One row per (batch size, threads), one column per variant: its ``result[field]``."""
    rows = []
    for batch_size in args.batch_sizes:
        for threads in args.threads:
            row = [batch_size, threads, *(cell_text(measured.results.get((v, batch_size, threads)),
                                                    field) for v in args.variants)]
            if versus_peers:
                row.append(show(measured.versus_peers(batch_size, threads), "×"))
            rows.append(row)
    return markdown_table(["batch", "threads", *args.variants,
                           *["numba ÷ fastest peer"] * versus_peers], rows)


def cell_text(result, field):
    if result is None:
        return "—"
    if "error" in result:
        return "failed: " + result["error"][:80].replace("|", "/")
    return f"{result[field]:,.0f}"


def threads_table(args, measured):
    """Numba with 1 and 2 threads and the default ("auto"), per batch size."""
    rows = []
    for batch_size in args.batch_sizes:
        one, two, default = (measured.rate("numba", batch_size, t) for t in (1, 2, "auto"))
        trips = measured.results.get(("numba", batch_size, 2), {}).get("round_trips_ns", ())
        rows.append([batch_size, *(show(rate, "ratings/s") for rate in (one, two, default)),
                     show(ratio(default, one), "×"), show(ratio(two, one), "×"),
                     ", ".join(f"{ns:.0f}" for ns in trips)])
    return markdown_table(["batch", "1 thread", "2 threads", "default (auto)", "default ÷ 1",
                           "2 ÷ 1", "round trips before the 2-thread cell (ns)"], rows)


def far_apart(measured):
    """How many cells started with the two cores far apart (`core_latency.NEAR_NS`)."""
    from benchmarks.core_latency import NEAR_NS  # loads Numba, which the PyTorch cells must not
    trips = [ns for result in measured.results.values() for ns in result.get("round_trips_ns", ())
             if ns == ns]  # NaN: fewer than two cores
    if not trips:
        return "The cores' round trip was not measured."
    far = sum(ns >= NEAR_NS for ns in trips)
    return (f"The cores' round trip (`core_latency.py`) before each cell of each round: "
            f"{min(trips):.0f}–{max(trips):.0f} ns; {far} of {len(trips)} "
            f"cells started with it at {NEAR_NS} ns or more, the cores far apart, where two "
            "threads gain much less (`bench_second_core.md`).")


def epoch_table(epoch):
    if epoch is None or "error" in epoch:
        return [f"Failed: {epoch['error']}" if epoch else "Not run (add `--full-epoch`)."]
    return markdown_table(
        ["ratings", "batch", "threads", "epoch seconds", "ratings/s", "fit() wall seconds",
         "peak memory (GB)", "train RMSE"],
        [[f"{epoch['ratings']:,}", epoch["batch_size"], epoch["threads"],
          f"{epoch['seconds']:.1f}", f"{epoch['rate']:,.0f}", f"{epoch['fit_wall_seconds']:.1f}",
          f"{epoch['peak_rss_mb'] / 1024:.2f}", f"{epoch['train_rmse']:.4f}"]])


def markdown(args, facts, measured, method, command, seconds, other_work):
    """The whole report of a run: ``method`` is the paragraph that says how it measured,
    ``other_work`` what ran beside it on purpose (``--contended``)."""
    busy = ", one core kept busy" if args.contended else ""
    lines = [f"# Training throughput: our engines, PyTorch and the seed's Keras code{busy}", ""]
    if args.quick:
        lines += ["**QUICK SMOKE TEST: tiny tables and time boxes; the numbers mean nothing.**", ""]
    lines += [describe_machine(facts, other_work), "",
              f"Command: `{command}` ({seconds / 60:.1f} min in all).", ""]
    if args.skipped:
        lines += [f"Not run (not installed): {', '.join(args.skipped)}.", ""]
    if measured.results:
        lines += [
            "Variants:", "", *(f"- **{name}**: {VARIANTS[name]}"
                               + (f" (batch {', '.join(map(str, ONLY_AT[name]))} only)"
                                  if name in ONLY_AT else "") for name in args.variants), "",
            method, "",
            f"## Ratings per second (median of {args.repeats * args.rounds} passes)", "",
            "\"numba ÷ fastest peer\": numba at this thread count over the fastest PyTorch or "
            "Keras cell at this batch size (any thread count). —: not run at this batch size.",
            "", *cells_table(args, measured, "rate", versus_peers=True), "",
            f"## Default threads against one thread (numba{busy})", "",
            *threads_table(args, measured), "", far_apart(measured), "",
            "## Peak memory per cell (MB)", "",
            "VmHWM of the cell's process during the timed passes (reset after the warm-up): "
            "interpreter and libraries (the PyTorch and Keras cells do not load Numba), model, "
            "optimizer state, the data pages touched, the shuffled order or gathered tensors.",
            "", *cells_table(args, measured, "peak_rss_mb"), ""]
    targets = [target.evaluate(measured) for target in TARGETS]
    lines += ["## One full epoch (`mv.fit`, Numba engine, data memory-mapped from a store)", "",
              *epoch_table(measured.epoch), "", "## Targets (issue 8)", "",
              *markdown_table(["target", "goal", "measured", "met"], targets, align="llrl")]
    return "\n".join(lines) + "\n"
