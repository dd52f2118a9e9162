"""REDCap round trip: write a synthetic cohort in REDCap's raw export format and read it back.

    .venv/bin/python benchmarks/redcap_bench.py [PATIENTS ...]

Prints rows, seconds and rows per second for the export and the import (status filter, DAG and
checkbox handling, record parsing). Wall-clock on a possibly shared machine: rough figures.
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

from blinareg.exchange.redcap import read_redcap_export, write_redcap_export
from blinareg.synth import generate


def run(patients: int) -> None:
    registry = generate(patients, seed=3)
    start = time.perf_counter()
    text = write_redcap_export(registry)
    written = time.perf_counter() - start
    rows = text.count("\n") - 1
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "export.csv"
        path.write_text(text, encoding="utf-8")
        start = time.perf_counter()
        again, problems = read_redcap_export(path, centers=registry["center"])
        read = time.perf_counter() - start
    assert not problems and len(again["patient"]) == patients
    print(
        f"{patients:>7,} patients, {rows:>9,} export rows: write {written:6.1f} s ({rows / written:>8,.0f} rows/s), "
        f"read {read:6.1f} s ({rows / read:>8,.0f} rows/s)"
    )


if __name__ == "__main__":
    for size in [int(a) for a in sys.argv[1:]] or [500, 2000]:
        run(size)
