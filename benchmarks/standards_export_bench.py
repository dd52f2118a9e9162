"""Time of the standards exports for a synthetic cohort: ADaM CSV+XPT (with and without derive), FHIR
bundles, OMOP tables, and a de-identified OMOP export (deidentify + disclosure check + OMOP).

    .venv/bin/python benchmarks/standards_export_bench.py --patients 100000 --formats adam,fhir,omop,deid

Prints wall and CPU seconds of each export and the peak resident memory of the process so far. The machine
may be shared: wall seconds then grow with the load, CPU seconds much less. The target of issue 13 is
<= 60 s per format for 100,000 patients.
"""

from __future__ import annotations

import argparse
import resource
import sys
import tempfile
import time
from pathlib import Path

FORMATS = ("adam", "fhir", "omop", "deid")


def _export(format_: str, registry, folder: Path) -> str:
    """Run one export into `folder`; returns a note on what the time includes."""
    if format_ == "adam":
        from blinareg.derive import derive
        from blinareg.exchange.adam import write_adam

        start = time.process_time()
        dataset = derive(registry)
        derive_cpu = time.process_time() - start
        write_adam(registry, dataset, folder / "adam")
        return f"derive included ({derive_cpu:.1f} CPU s of it)"
    if format_ == "fhir":
        from blinareg.exchange.fhir import write_fhir

        write_fhir(registry, folder / "fhir")
        return "one JSON file per patient"
    if format_ == "omop":
        from blinareg.exchange.omop import write_omop

        write_omop(registry, folder / "omop")
        return ""
    if format_ == "deid":
        from blinareg.exchange.deidentify import deidentify, disclosure_risks
        from blinareg.exchange.omop import write_omop

        released = deidentify(registry, b"benchmark-key-of-32-bytes-length")
        disclosure_risks(released, 5)
        write_omop(released, folder / "deid")
        return "deidentify + disclosure check + OMOP"
    raise SystemExit(f"unknown format {format_}; formats: {', '.join(FORMATS)}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--patients", type=int, default=100_000)
    parser.add_argument("--formats", default="adam,fhir,omop,deid")
    args = parser.parse_args()
    sys.stdout.reconfigure(line_buffering=True)  # print as it goes, also through a pipe
    from blinareg.synth import generate

    start = time.perf_counter()
    registry = generate(args.patients, seed=1)
    print(f"synthetic cohort of {args.patients:,} patients: {time.perf_counter() - start:.1f} s")
    print(f"{'format':<7} {'wall s':>8} {'CPU s':>8} {'peak MiB':>9}  note")
    with tempfile.TemporaryDirectory() as folder:
        for format_ in args.formats.split(","):
            wall, cpu = time.perf_counter(), time.process_time()
            note = _export(format_, registry, Path(folder))
            wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
            peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
            print(f"{format_:<7} {wall:>8.1f} {cpu:>8.1f} {peak:>9.0f}  {note}")


if __name__ == "__main__":
    main()
