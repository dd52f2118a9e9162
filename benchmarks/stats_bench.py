"""Benchmark table for blinareg.stats: our estimators, Python peers, R, and a bare sort, side by side.

    python benchmarks/stats_bench.py [--sizes 1e4,1e5] [--quick] [--no-r]   (the full comparison: --sizes 1e5,1e6,1e7)

Runs every benchmarks/bench_*.py module listed in MODULES that exists; each defines
`run(sizes, *, quick, with_r) -> list[dict]` with rows (task, n, ties, implementation, seconds,
peak_mb, note). Rows are printed grouped per (task, n, ties) with two ratios: seconds / one
`np.argsort` of the same times (the "sort of the times" rows of that n and ties), and seconds /
the fastest peer (any implementation other than blinareg and the sorts). Timings are figures to
read, not tests. Also reports the peak memory of Kaplan-Meier at the largest size, measured in a
fresh subprocess.
"""

from __future__ import annotations

import argparse
import importlib
import subprocess
import sys
import warnings
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "src")]

MODULES = ("benchmarks.bench_nonparametric", "benchmarks.bench_regression")
OURS = "blinareg"  # rows whose implementation starts with this are ours
SORT_IMPLEMENTATIONS = ("np.argsort", "np.sort")

# VmHWM (peak resident set of this process image) rather than ru_maxrss, which Linux carries over
# from the parent across fork and exec.
MEMORY_PROBE = """
import sys, tracemalloc
sys.path[:0] = {paths!r}
from benchmarks._data import make_data
from blinareg.stats import kaplan_meier

def high_water_mb():
    for line in open("/proc/self/status"):
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")

data = make_data({n}, "continuous")
time, event = data["time"], data["event"]
del data
before = high_water_mb()
tracemalloc.start()
fit = kaplan_meier(time, event)
traced = tracemalloc.get_traced_memory()[1] / 2**20
tracemalloc.stop()
print(before, high_water_mb(), traced)
"""


def _parse_sizes(text: str) -> list[int]:
    return [int(float(part)) for part in text.split(",") if part.strip()]


def _format_seconds(seconds) -> str:
    return "-" if seconds is None else f"{seconds:9.3f}"


def _format_ratio(value) -> str:
    return "" if value is None else f"{value:7.2f}x"


def print_table(rows: list[dict]) -> None:
    sort_times = {
        (row["n"], row["ties"]): row["seconds"]
        for row in rows
        if row["implementation"] == "np.argsort" and row["seconds"] is not None
    }
    groups: dict[tuple, list[dict]] = defaultdict(list)
    for row in rows:
        groups[(row["task"], row["n"], row["ties"])].append(row)
    header = f"{'implementation':<18} {'seconds':>9} {'/argsort':>8} {'/best peer':>10} {'peak MB':>8}  note"
    for (task, n, ties), members in sorted(groups.items(), key=lambda item: (item[0][1], item[0][0], item[0][2])):
        argsort = sort_times.get((n, ties))
        peers = [
            r["seconds"]
            for r in members
            if not r["implementation"].startswith(OURS)
            and r["implementation"] not in SORT_IMPLEMENTATIONS
            and r["seconds"] is not None
        ]
        best_peer = min(peers) if peers else None
        print(f"\n== {task} | n = {n:,} | {ties}")
        print(header)
        for row in sorted(members, key=lambda r: (r["seconds"] is None, r["seconds"] or 0)):
            seconds = row["seconds"]
            versus_sort = seconds / argsort if seconds is not None and argsort else None
            versus_peer = seconds / best_peer if seconds is not None and best_peer else None
            peak = "" if row["peak_mb"] is None else f"{row['peak_mb']:8.0f}"
            print(
                f"{row['implementation']:<18} {_format_seconds(seconds)} {_format_ratio(versus_sort):>8} "
                f"{_format_ratio(versus_peer):>10} {peak:>8}  {row['note']}"
            )


def measure_km_memory(n: int) -> tuple[float, float, float]:
    """Fresh process: (peak RSS MB with the data, peak RSS MB after Kaplan-Meier, MB allocated by it)."""
    probe = MEMORY_PROBE.format(paths=[str(ROOT), str(ROOT / "src")], n=n)
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    before, after, traced = (float(v) for v in done.stdout.split())
    return before, after, traced


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    # The defaults finish in a few minutes on a 2-core laptop; the peers need much longer at 1e6 and 1e7.
    parser.add_argument("--sizes", default="1e4,1e5", help="comma-separated n, e.g. 1e5,1e6,1e7")
    parser.add_argument("--quick", action="store_true", help="one repetition, no memory tracing at 1e7")
    parser.add_argument("--no-r", action="store_true", help="skip the R timings")
    args = parser.parse_args(argv)
    sizes = _parse_sizes(args.sizes)
    sys.stdout.reconfigure(line_buffering=True)  # print as it goes, also through a pipe

    rows: list[dict] = []
    for name in MODULES:
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as error:
            if error.name == name:
                print(f"({name} not present; skipped)")
                continue
            raise
        print(f"{name}: sizes {', '.join(f'{n:,}' for n in sizes)} ...")
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            module_rows = module.run(sizes, quick=args.quick, with_r=not args.no_r)
        print_table(module_rows)  # each module's table as soon as it is measured
        rows.extend(module_rows)

    largest = max(sizes)
    before, after, traced = measure_km_memory(largest)
    print(
        f"\nKaplan-Meier at n = {largest:,} (continuous), fresh process: peak RSS {before:,.0f} MB with the data "
        f"(incl. the 5 covariates), {after:,.0f} MB after the fit; peak allocated by kaplan_meier itself "
        f"(tracemalloc, result included): {traced:,.0f} MB."
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
