"""Full report (every section, every format) on a demo-size registry and on 10,000 patients.

Each size runs in its own subprocess (synth -> derive -> build_report -> write_report) so that the peak
memory (ru_maxrss) is that of one report. Prints seconds per stage and the peak resident memory.

    .venv/bin/python benchmarks/report_bench.py [--sizes 250,10000]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile

CHILD = r"""
import json, resource, sys, time, os
os.environ.setdefault("MPLBACKEND", "Agg")
from blinareg.synth import generate
from blinareg.derive import derive
from blinareg.report import ReportConfig, build_report, write_report
n, out = int(sys.argv[1]), sys.argv[2]
t0 = time.perf_counter(); registry = generate(n, seed=1)
t1 = time.perf_counter(); dataset = derive(registry)
t2 = time.perf_counter(); report = build_report(dataset, ReportConfig())
t3 = time.perf_counter(); paths = write_report(report, out)
t4 = time.perf_counter()
print(json.dumps({"n": n, "synth_s": t1 - t0, "derive_s": t2 - t1, "build_s": t3 - t2, "write_s": t4 - t3,
                  "report_s": t4 - t2, "files": len(paths), "figures": len(report.figures),
                  "peak_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
                  "peak_children_mib": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024}))
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sizes", default="250,10000")
    args = parser.parse_args()
    print(f"{'patients':>9} {'synth s':>8} {'derive s':>9} {'build s':>8} {'write s':>8} {'report s':>9} "
          f"{'figures':>7} {'peak MiB':>9} {'workers MiB':>11}")
    for size in (int(float(s)) for s in args.sizes.split(",")):
        with tempfile.TemporaryDirectory() as out:
            result = subprocess.run([sys.executable, "-c", CHILD, str(size), out], capture_output=True, text=True,
                                    env={**os.environ, "MPLBACKEND": "Agg"}, check=True)
        r = json.loads(result.stdout.strip().splitlines()[-1])
        print(f"{r['n']:>9} {r['synth_s']:>8.2f} {r['derive_s']:>9.2f} {r['build_s']:>8.2f} {r['write_s']:>8.2f} "
              f"{r['report_s']:>9.2f} {r['figures']:>7} {r['peak_mib']:>9.0f} {r['peak_children_mib']:>11.0f}")
    print("report s = build_report + write_report (HTML, PDF, DOCX, results.json, figures in PNG/SVG/PDF).")


if __name__ == "__main__":
    main()
