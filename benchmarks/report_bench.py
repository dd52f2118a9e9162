"""Full report (every section, every format) on a demo-size registry and on 10,000 patients.

Each size runs in its own subprocess (synth -> derive -> build_report -> write_report) so that the peak
memory (ru_maxrss) is that of one report. Prints seconds per stage, the CPU seconds of the report (this
process and its figure workers), and the peak resident memory of the process and of its largest worker.
With --cli, also times `blinareg report` end to end (start-up, loading the registry from SQLite, derive,
report) on a SQLite registry of each size built beforehand.

The machine may be shared: wall times vary with the load, so each measurement is repeated (--repeat) and
the best and the median are shown; CPU seconds vary less.

    .venv/bin/python benchmarks/report_bench.py [--sizes 250,10000] [--repeat 3] [--cli]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

CHILD = r"""
import json, resource, sys, time, os
os.environ.setdefault("MPLBACKEND", "Agg")
from blinareg.synth import generate
from blinareg.derive import derive
from blinareg.report import ReportConfig, build_report, write_report
n, out = int(sys.argv[1]), sys.argv[2]
t0 = time.perf_counter(); registry = generate(n, seed=1)
t1 = time.perf_counter(); dataset = derive(registry)
del registry  # the report needs only the analysis dataset (as `blinareg report` does)
t2 = time.perf_counter(); c2 = time.process_time(); report = build_report(dataset, ReportConfig())
t3 = time.perf_counter(); paths = write_report(report, out)
t4 = time.perf_counter(); c4 = time.process_time()
children = resource.getrusage(resource.RUSAGE_CHILDREN)
print(json.dumps({"n": n, "synth_s": t1 - t0, "derive_s": t2 - t1, "build_s": t3 - t2, "write_s": t4 - t3,
                  "report_s": t4 - t2, "report_cpu_s": c4 - c2 + children.ru_utime + children.ru_stime,
                  "files": len(paths), "figures": len(report.figures),
                  "html_mb": os.path.getsize(os.path.join(out, "report.html")) / 2**20,
                  "peak_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
                  "peak_children_mib": children.ru_maxrss / 1024}))
"""

SETUP = r"""
import sys
from blinareg.store import Store
from blinareg.synth import generate
store = Store.open(sys.argv[2])
store.init()
store.import_registry(generate(int(sys.argv[1]), seed=2025), source="benchmark")
"""


def _in_process(size: int, repeat: int) -> None:
    runs = []
    for _ in range(repeat):
        with tempfile.TemporaryDirectory() as out:
            result = subprocess.run(
                [sys.executable, "-c", CHILD, str(size), out],
                capture_output=True,
                text=True,
                env={**os.environ, "MPLBACKEND": "Agg"},
                check=True,
            )
        runs.append(json.loads(result.stdout.strip().splitlines()[-1]))
    best = min(runs, key=lambda r: r["report_s"])
    median = statistics.median(r["report_s"] for r in runs)
    cpu = min(r["report_cpu_s"] for r in runs)
    print(
        f"{size:>9} {best['synth_s']:>8.2f} {best['derive_s']:>9.2f} {best['build_s']:>8.2f} "
        f"{best['write_s']:>8.2f} {best['report_s']:>9.2f} {median:>9.2f} {cpu:>8.2f} {best['figures']:>7} "
        f"{max(r['peak_mib'] for r in runs):>9.0f} {max(r['peak_children_mib'] for r in runs):>11.0f} "
        f"{best['html_mb']:>7.1f}"
    )


def _cli(size: int, repeat: int) -> None:
    with tempfile.TemporaryDirectory() as folder:
        url = f"sqlite:///{Path(folder) / 'registry.sqlite'}"
        subprocess.run([sys.executable, "-c", SETUP, str(size), url], check=True, capture_output=True)
        command = [
            str(Path(sys.executable).with_name("blinareg")),
            "report",
            "--database",
            url,
            "--out",
            str(Path(folder) / "report"),
        ]
        if not Path(command[0]).exists():  # no console script next to this interpreter
            command[:1] = [sys.executable, "-c", "from blinareg.cli.main import main; main()"]
        walls, cpus, peaks = [], [], []
        for _ in range(repeat):
            # Each run in a fresh grandchild, so that RUSAGE_CHILDREN of that process is this run's alone.
            probe = (
                f"import resource, subprocess, sys, time; t = time.perf_counter(); "
                f"subprocess.run({command!r}, check=True, stdout=subprocess.DEVNULL, "
                f"env={{**__import__('os').environ, 'MPLBACKEND': 'Agg'}}); "
                f"r = resource.getrusage(resource.RUSAGE_CHILDREN); "
                f"print(time.perf_counter() - t, r.ru_utime + r.ru_stime, r.ru_maxrss / 1024)"
            )
            out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
            wall, cpu, peak = (float(v) for v in out.stdout.split())
            walls.append(wall), cpus.append(cpu), peaks.append(peak)
        print(f"{size:>9} {min(walls):>9.2f} {statistics.median(walls):>9.2f} {min(cpus):>8.2f} {max(peaks):>9.0f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="250,10000")
    parser.add_argument("--repeat", type=int, default=3, help="runs per size (best and median shown)")
    parser.add_argument("--cli", action="store_true", help="also time `blinareg report` end to end")
    args = parser.parse_args()
    sys.stdout.reconfigure(line_buffering=True)  # print as it goes, also through a pipe
    sizes = [int(float(s)) for s in args.sizes.split(",")]
    print(
        f"{'patients':>9} {'synth s':>8} {'derive s':>9} {'build s':>8} {'write s':>8} {'report s':>9} "
        f"{'median s':>9} {'CPU s':>8} {'figures':>7} {'peak MiB':>9} {'workers MiB':>11} {'HTML MB':>7}"
    )
    for size in sizes:
        _in_process(size, args.repeat)
    print(
        "report s = build_report + write_report (HTML, PDF, DOCX, results.json, figures in PNG/SVG/PDF), best "
        "run;\nCPU s = CPU seconds of the report in this process and its figure workers; peak MiB = resident "
        "memory of\nthe process (synth and derive included); workers MiB = that of the largest figure worker; HTML MB = "
        "size of report.html."
    )
    if args.cli:
        print(
            f"\n`blinareg report` end to end (SQLite registry)\n{'patients':>9} {'best s':>9} {'median s':>9} "
            f"{'CPU s':>8} {'peak MiB':>9}"
        )
        for size in sizes:
            _cli(size, args.repeat)
        print("CPU s = user + system seconds of the command and its workers; peak MiB = largest process.")


if __name__ == "__main__":
    main()
