"""Benchmark: `derive` and `validate` on a large registry (budget: derive <= 5 s, validate ~15 s at 100,000).

    .venv/bin/python benchmarks/derive_bench.py [--patients 100000] [--repeat 3] [--replicate]

The registry comes from `blinareg.synth.generate` when it exists; with --replicate (or when synth is
not available) it is the hand-built test cohort (tests/derive/cohort.py) replicated with new patient ids,
which exercises every derive path (cycles, doses, interruptions, MRD, responses, AEs, HSCT, deaths).
"""

from __future__ import annotations

import argparse
import inspect
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from blinareg.derive import derive  # noqa: E402
from blinareg.records.registry import Registry  # noqa: E402
from blinareg.records.validation import all_checks, validate  # noqa: E402


def replicated_registry(patients: int) -> Registry:
    """The test cohort copied until it has `patients` patients; copy k's ids get the suffix '-k'."""
    from tests.derive.cohort import cohort

    base = cohort()
    per_copy = len(base["patient"])
    copies = -(-patients // per_copy)
    tables = {}
    for name, frame in base.tables.items():
        if name == "center" or frame.empty:
            tables[name] = frame
            continue
        repeated = frame.loc[np.tile(frame.index.to_numpy(), copies)].reset_index(drop=True)
        suffix = np.repeat(np.arange(copies), len(frame)).astype(str)
        repeated["patient_id"] = repeated["patient_id"].to_numpy(dtype=object) + "-" + suffix
        # Shift every date by a few days per copy so that values are not all identical.
        shift = pd.to_timedelta(np.repeat(np.arange(copies) % 97, len(frame)), unit="D")
        for column in repeated.columns:
            if pd.api.types.is_datetime64_any_dtype(repeated[column]):
                repeated[column] = repeated[column] + shift
        tables[name] = repeated
    registry = Registry(tables)
    keep = registry["patient"]["patient_id"].iloc[:patients]
    return registry.subset(keep) if len(keep) < len(registry["patient"]) else registry


def synthetic_registry(patients: int, seed: int = 1) -> Registry | None:
    try:
        from blinareg.synth import generate  # type: ignore[attr-defined]
    except ImportError:
        return None
    parameters = inspect.signature(generate).parameters
    kwargs = {}
    if "seed" in parameters:
        kwargs["seed"] = seed
    name = next((n for n in ("n_patients", "patients", "n") if n in parameters), None)
    result = generate(**{name: patients}, **kwargs) if name else generate(patients, **kwargs)
    return result if isinstance(result, Registry) else getattr(result, "registry", result)


def timed(function, repeat: int) -> tuple[float, object]:
    best, value = float("inf"), None
    for _ in range(repeat):
        start = time.perf_counter()
        value = function()
        best = min(best, time.perf_counter() - start)
    return best, value


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--patients", type=int, default=20_000)  # minutes on a 2-core laptop
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--replicate", action="store_true", help="use the replicated test cohort, not synth")
    args = parser.parse_args()
    sys.stdout.reconfigure(line_buffering=True)  # print as it goes, also through a pipe

    start = time.perf_counter()
    registry = None if args.replicate else synthetic_registry(args.patients)
    source = "blinareg.synth.generate"
    if registry is None:
        registry = replicated_registry(args.patients)
        source = "replicated test cohort"
    print(f"registry: {source}, built in {time.perf_counter() - start:.1f} s")
    print("records: " + ", ".join(f"{k}={v:,}" for k, v in registry.counts().items() if v))

    seconds, dataset = timed(lambda: derive(registry), args.repeat)
    print(
        f"derive(origin=first_blinatumomab): {seconds:.2f} s (best of {args.repeat}); "
        f"{len(dataset.patients):,} patients, {len(dataset.time_to_event):,} TTE rows, "
        f"{len(dataset.cycles):,} cycles, {len(dataset.mrd):,} MRD rows"
    )
    seconds, _ = timed(lambda: derive(registry, origin="hsct", non_responder="no_complete_mrd_response"), 1)
    print(f"derive(origin=hsct, non_responder=no_complete_mrd_response): {seconds:.2f} s")

    per_check = []
    for check in all_checks():
        t0 = time.perf_counter()
        found = check(registry)
        per_check.append((time.perf_counter() - t0, check.__name__, len(found)))
    seconds, problems = timed(lambda: validate(registry), 1)
    print(f"validate: {seconds:.2f} s, {len(problems):,} problems")
    for took, name, count in sorted(per_check, reverse=True):
        print(f"  {name:<28} {took:6.2f} s  {count:>8,} problems")


if __name__ == "__main__":
    main()
