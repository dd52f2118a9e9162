"""Time of the standards exports (ADaM CSV+XPT, FHIR bundles) for a synthetic cohort; prints seconds.

    .venv/bin/python benchmarks/standards_export_bench.py --patients 100000 --formats adam,fhir

Rough figures on a shared machine; the target of issue 13 is <= 60 s per format for 100,000 patients.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--patients", type=int, default=100_000)
    parser.add_argument("--formats", default="adam,fhir")
    args = parser.parse_args()
    from blinareg.derive import derive
    from blinareg.synth import generate

    start = time.perf_counter()
    registry = generate(args.patients, seed=1)
    print(f"synthetic cohort of {args.patients:,} patients: {time.perf_counter() - start:.1f} s")
    with tempfile.TemporaryDirectory() as folder:
        for format_ in args.formats.split(","):
            start = time.perf_counter()
            if format_ == "adam":
                from blinareg.exchange.adam import write_adam

                write_adam(registry, derive(registry), Path(folder) / "adam")
            elif format_ == "fhir":
                from blinareg.exchange.fhir import write_fhir

                write_fhir(registry, Path(folder) / "fhir")
            else:
                raise SystemExit(f"unknown format {format_}")
            print(f"export {format_} (derive included for adam): {time.perf_counter() - start:.1f} s")


if __name__ == "__main__":
    main()
