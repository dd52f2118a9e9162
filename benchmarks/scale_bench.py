"""Estimators pushed down into DuckDB and Spark on ADTTE Parquet of 10^6..10^8 rows, against pandas + blinareg.stats
and lifelines.

    python benchmarks/scale_bench.py [--sizes 1e6,1e7] [--engines duckdb,spark,pandas,lifelines] [--tasks km,cif]
                                     [--keep DIR]

For each size an ADTTE Parquet file is written (half the rows OS, half CIR; three arms in ARM; whole-day
times up to 10 years, so the count table stays small while the rows grow), then every engine runs two
tasks, each in its own child process:

- km: Kaplan-Meier per arm + the log-rank test of OS;
- cif: the cumulative incidence of relapse per arm + Gray's test of CIR (lifelines: Aalen-Johansen per
  arm only, it has no Gray's test; skipped above PEER_LIMITS rows, where one run takes minutes).

duckdb and spark (local[2]) count inside the engine (blinareg.pushdown) and finish in NumPy; pandas reads
the endpoint's rows into memory and runs blinareg.stats; lifelines likewise. Each child prints its
work time (wall, reading included; Python start-up and imports excluded; Spark's session start reported on
its own), its CPU time (user + system of the child, and for Spark of the JVM too, session start included),
its peak memory (the child's maximum RSS; for Spark plus the JVM's, reaped by the child), and a check value
(the log-rank or Gray chi-square) so the engines can be seen to agree. Each line also gives the machine's
1-minute load average when the run ended: on a shared machine wall time is stretched by the load, CPU time
much less, so read CPU times and ratios, not absolute wall times.

pandas and lifelines hold the endpoint's rows in memory. Before running them at a size, their peak memory is
estimated from their peak at the largest smaller size run (linear in the rows, plus the fixed start) and
compared with the memory the machine has available now; when it would not fit, the run is skipped and the
estimate printed. Targets: peak memory <= 2 GB at 10^8 rows in DuckDB, time growing linearly with the rows.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "src"), str(ROOT)]

ENGINES = ("duckdb", "spark", "pandas", "lifelines")
TASKS = ("km", "cif")
ENDPOINT = {"km": "OS", "cif": "CIR"}
# pandas loads the rows into memory; above this it would need several GB (run it with --pandas-max).
PANDAS_MAX = 10**8
# lifelines' Aalen-Johansen jitters tied times and takes minutes at 10^6 rows; its Kaplan-Meier and log-rank
# scale like pandas (run it at 10^8 with --lifelines-max 1e8 when there is time: tens of minutes).
PEER_LIMITS = {("lifelines", "km"): 10**7, ("lifelines", "cif"): 10**5}
# Peak memory with no data loaded (Python, NumPy, pandas, pyarrow imported), MB: the fixed part of the estimate.
BASE_MB = 250.0
# Keep this share of the available memory free for the machine's other users.
MEMORY_HEADROOM = 0.8
CHUNK_PATIENTS = 1_000_000


def write_adtte(path: Path, rows: int, seed: int = 1) -> None:
    """rows/2 patients, each with an OS and a CIR row, written chunk by chunk (bounded memory)."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.parquet as pq

    rng = np.random.default_rng(seed)
    patients = rows // 2
    writer = None
    arms = np.array(["A", "B", "C"])
    try:
        for start in range(0, patients, CHUNK_PATIENTS):
            n = min(CHUNK_PATIENTS, patients - start)
            arm = rng.integers(0, 3, n)
            scale = np.array([900.0, 1100.0, 1300.0])[arm]
            relapse = rng.exponential(scale * 2.0)
            death_without = rng.exponential(scale * 6.0)
            censor = rng.uniform(30.0, 3650.0, n)
            death = np.minimum(death_without, relapse + rng.exponential(400.0, n))
            os_time = np.ceil(np.minimum(death, censor))
            first = np.minimum(np.minimum(relapse, death_without), censor)
            cir_code = np.where(first == censor, 0, np.where(first == relapse, 1, 2)).astype(np.int8)
            ids = np.arange(start, start + n, dtype=np.int64)
            table = pa.table(
                {
                    "USUBJID": np.concatenate([ids, ids]),
                    "PARAMCD": pa.array(np.repeat(["OS", "CIR"], n)).dictionary_encode(),
                    "AVAL": np.concatenate([os_time, np.ceil(first)]),
                    "CNSR": np.concatenate([(death > censor).astype(np.int8), (cir_code != 1).astype(np.int8)]),
                    "EVTCODE": np.concatenate([(death <= censor).astype(np.int8), cir_code]),
                    "ARM": pa.array(np.concatenate([arms[arm], arms[arm]])).dictionary_encode(),
                }
            )
            if writer is None:
                writer = pq.ParquetWriter(path, table.schema)
            writer.write_table(table, row_group_size=CHUNK_PATIENTS)
    finally:
        if writer is not None:
            writer.close()


# ---- one run (in a child process) --------------------------------------------------------------------


def _cpu_seconds() -> float:
    """User + system CPU of this process and its reaped children (the JVM of a Spark run)."""
    own = resource.getrusage(resource.RUSAGE_SELF)
    reaped = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + reaped.ru_utime + reaped.ru_stime


def _request(task: str):
    from blinareg.pushdown.counting import CountRequest

    return CountRequest(ENDPOINT[task], competing=task == "cif", by="ARM")


def _check_value(test) -> float:
    return float(test.statistic)


def run_duckdb(path: str, task: str) -> dict:
    from blinareg.pushdown.engines import count_duckdb
    from blinareg.pushdown.estimate import finish

    start, cpu_start = time.perf_counter(), _cpu_seconds()
    request = _request(task)
    counts = count_duckdb(request, path, threads=2)
    counted = time.perf_counter()
    estimate = finish(request, counts)
    return {
        "seconds": time.perf_counter() - start,
        "cpu_start": cpu_start,
        "count_seconds": counted - start,
        "count_rows": int(counts.frame.shape[0]),
        "check": _check_value(estimate.test),
    }


def run_spark(path: str, task: str) -> dict:
    from blinareg.pushdown.estimate import finish
    from blinareg.pushdown.spark import count_spark, local_session, read_table

    begin, cpu_start = time.perf_counter(), _cpu_seconds()
    session = local_session("local[2]", app_name="blinareg-scale-bench", memory="2g")
    jvm = session.sparkContext._gateway.proc  # reaped below, so that its peak RSS counts as this child's
    start = time.perf_counter()
    request = _request(task)
    counts = count_spark(request, read_table(session, path))
    counted = time.perf_counter()
    estimate = finish(request, counts)
    out = {
        "seconds": time.perf_counter() - start,
        "count_seconds": counted - start,
        "session_seconds": start - begin,
        "cpu_start": cpu_start,
        "count_rows": int(counts.frame.shape[0]),
        "check": _check_value(estimate.test),
    }
    session.stop()
    if jvm is not None:
        jvm.stdin.close()
        jvm.wait(timeout=120)
    return out


def _read_rows(path: str, task: str):
    import pandas as pd

    columns = ["AVAL", "CNSR", "EVTCODE", "ARM"]
    return pd.read_parquet(path, columns=columns, filters=[("PARAMCD", "==", ENDPOINT[task])])


def run_pandas(path: str, task: str) -> dict:
    import numpy as np

    from blinareg.stats import cumulative_incidence, gray_test, kaplan_meier, logrank_test

    start, cpu_start = time.perf_counter(), _cpu_seconds()
    rows = _read_rows(path, task)
    loaded = time.perf_counter()
    t = rows["AVAL"].to_numpy(dtype=float)
    arm = rows["ARM"].astype(str).to_numpy()
    if task == "km":
        event = (rows["CNSR"].to_numpy() == 0).astype(np.int8)
        for level in np.unique(arm):
            kaplan_meier(t[arm == level], event[arm == level])
        test = logrank_test(t, event, arm)
    else:
        code = rows["EVTCODE"].to_numpy(dtype=np.int8)
        for level in np.unique(arm):
            cumulative_incidence(t[arm == level], code[arm == level], cause=1)
        test = gray_test(t, code, arm, cause=1)
    return {
        "seconds": time.perf_counter() - start,
        "cpu_start": cpu_start,
        "load_seconds": loaded - start,
        "check": _check_value(test),
    }


def run_lifelines(path: str, task: str) -> dict:
    import warnings

    import numpy as np
    from lifelines import AalenJohansenFitter, KaplanMeierFitter
    from lifelines.statistics import multivariate_logrank_test

    start, cpu_start = time.perf_counter(), _cpu_seconds()
    rows = _read_rows(path, task)
    loaded = time.perf_counter()
    t = rows["AVAL"].to_numpy(dtype=float)
    arm = rows["ARM"].astype(str).to_numpy()
    check = None
    if task == "km":
        event = (rows["CNSR"].to_numpy() == 0).astype(np.int8)
        for level in np.unique(arm):
            KaplanMeierFitter().fit(t[arm == level], event[arm == level])
        check = float(multivariate_logrank_test(t, arm, event).test_statistic)
    else:
        code = rows["EVTCODE"].to_numpy(dtype=np.int8)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # lifelines warns that it jitters tied times
            for level in np.unique(arm):
                AalenJohansenFitter(calculate_variance=True, seed=0).fit(
                    t[arm == level], code[arm == level], event_of_interest=1
                )
    return {
        "seconds": time.perf_counter() - start,
        "cpu_start": cpu_start,
        "load_seconds": loaded - start,
        "check": check,
    }


RUNNERS = {"duckdb": run_duckdb, "spark": run_spark, "pandas": run_pandas, "lifelines": run_lifelines}


def child(engine: str, path: str, task: str) -> None:
    out = RUNNERS[engine](path, task)
    # From where the runner started its wall clock (imports excluded from both); for Spark the JVM's CPU
    # (counted once the JVM is reaped) is its whole life, session start included.
    out["cpu_seconds"] = _cpu_seconds() - out.pop("cpu_start")
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    reaped = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss  # the JVM of a Spark run
    out["peak_mb"] = (own + reaped) / 1024.0
    print("RESULT " + json.dumps(out), flush=True)


# ---- the runner -----------------------------------------------------------------------------------------


def _available_mb() -> float | None:
    """MemAvailable of /proc/meminfo in MB (None where there is no /proc)."""
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemAvailable:"):
                return int(line.split()[1]) / 1024.0
    except OSError:
        return None
    return None


def _estimated_peak_mb(rows: list[dict], engine: str, task: str, size: int) -> float | None:
    """Peak memory at `size` extrapolated linearly from the largest smaller size this engine ran."""
    before = [r for r in rows if r["engine"] == engine and r["task"] == task and r["size"] < size and "error" not in r]
    if not before:
        return None
    last = max(before, key=lambda r: r["size"])
    return BASE_MB + max(last["peak_mb"] - BASE_MB, 0.0) * size / last["size"]


def _fits(rows: list[dict], engine: str, task: str, size: int) -> tuple[bool, str]:
    estimate = _estimated_peak_mb(rows, engine, task, size)
    available = _available_mb()
    if estimate is None or available is None:
        return True, "no estimate (no smaller size run)"
    text = f"estimated peak {estimate:,.0f} MB, {available:,.0f} MB available"
    return estimate <= MEMORY_HEADROOM * available, text


def _run_child(engine: str, path: Path, task: str, log: Path) -> dict:
    command = [sys.executable, __file__, "--child", engine, str(path), task]
    with open(log, "w") as output:  # a file, not a pipe: a full pipe would stall a chatty child
        result = subprocess.run(command, stdout=output, stderr=subprocess.STDOUT, check=False)
    text = log.read_text(errors="replace")
    line = next((line for line in text.splitlines() if line.startswith("RESULT ")), None)
    if result.returncode != 0 or line is None:
        tail = "\n".join(text.splitlines()[-5:])
        return {"error": f"exit {result.returncode}: {tail}"}
    return json.loads(line.removeprefix("RESULT "))


def _sizes(text: str) -> list[int]:
    return [int(float(part)) for part in text.split(",") if part.strip()]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1e6,1e7", help="ADTTE rows, comma-separated (e.g. 1e6,1e7,1e8)")
    parser.add_argument("--engines", default=",".join(ENGINES))
    parser.add_argument("--tasks", default=",".join(TASKS), help="km, cif or both")
    parser.add_argument("--pandas-max", type=float, default=PANDAS_MAX, help="largest size run with pandas")
    parser.add_argument(
        "--lifelines-max", type=float, default=PEER_LIMITS[("lifelines", "km")], help="largest size run with lifelines"
    )
    parser.add_argument("--keep", type=Path, help="write the Parquet files here and keep them")
    args = parser.parse_args(argv)
    engines = [e.strip() for e in args.engines.split(",") if e.strip()]
    unknown = set(engines) - set(ENGINES)
    if unknown:
        parser.error(f"unknown engines {sorted(unknown)}; choose from {', '.join(ENGINES)}")
    with tempfile.TemporaryDirectory(prefix="blinareg-scale-bench-") as work:
        folder = args.keep or Path(work)
        folder.mkdir(parents=True, exist_ok=True)
        rows_out: list[dict] = []
        limits = PEER_LIMITS | {("lifelines", "km"): int(args.lifelines_max)}
        print(
            f"{os.cpu_count()} cores; load average {_load()} at the start (other processes share the machine: "
            "wall times are stretched by their load, CPU times much less)",
            flush=True,
        )
        for size in _sizes(args.sizes):
            path = folder / f"adtte_{size}.parquet"
            start = time.perf_counter()
            if not path.exists():
                write_adtte(path, size)
            print(
                f"\nADTTE {size:,} rows ({path.stat().st_size / 2**20:.0f} MB Parquet), "
                f"ready in {time.perf_counter() - start:.1f} s",
                flush=True,
            )
            for task in [t.strip() for t in args.tasks.split(",") if t.strip() in TASKS]:
                for engine in engines:
                    limit = limits.get((engine, task))
                    if engine == "pandas" and size > args.pandas_max:
                        print(f"  {task:3s} {engine:9s} skipped (loads the rows: above --pandas-max)", flush=True)
                        continue
                    if limit is not None and size > limit:
                        print(
                            f"  {task:3s} {engine:9s} skipped (above {limit:,} rows one run takes minutes)", flush=True
                        )
                        continue
                    if engine in ("pandas", "lifelines"):
                        fits, memory = _fits(rows_out, engine, task, size)
                        if not fits:
                            print(f"  {task:3s} {engine:9s} skipped: would not fit in memory ({memory})", flush=True)
                            continue
                        print(f"  {task:3s} {engine:9s} running ({memory})", flush=True)
                    else:
                        print(f"  {task:3s} {engine:9s} running", flush=True)
                    result = _run_child(engine, path, task, Path(work) / f"{engine}-{task}-{size}.log")
                    rows_out.append({"size": size, "task": task, "engine": engine, **result})
                    print("  " + _line(task, engine, result), flush=True)
        _ratios(rows_out)
    return 0


def _load() -> str:
    return f"{os.getloadavg()[0]:.1f}" if hasattr(os, "getloadavg") else "unknown"


def _line(task: str, engine: str, result: dict) -> str:
    if "error" in result:
        return f"{task:3s} {engine:9s} FAILED {result['error']}"
    extra = []
    for key, name in (("count_seconds", "count"), ("load_seconds", "read"), ("session_seconds", "session start")):
        if key in result:
            extra.append(f"{name} {result[key]:.2f} s")
    if "count_rows" in result:
        extra.append(f"{result['count_rows']:,} count rows")
    check = "" if result.get("check") is None else f"  chi-square {result['check']:.6f}"
    return (
        f"{task:3s} {engine:9s} {result['seconds']:8.2f} s wall  {result['cpu_seconds']:8.2f} s CPU  "
        f"peak {result['peak_mb']:7.0f} MB  ({', '.join(extra)}){check}  [load {_load()}]"
    )


def _ratios(rows: list[dict]) -> None:
    ok = [r for r in rows if "error" not in r]
    print("\nRatios (wall and CPU time of the engine / those of duckdb, same size and task; growth: wall time at")
    print("this size / wall time at the previous size, for 10x the rows)")
    for row in ok:
        duck = next(
            (r for r in ok if r["engine"] == "duckdb" and r["size"] == row["size"] and r["task"] == row["task"]), None
        )
        before = [
            r for r in ok if r["engine"] == row["engine"] and r["task"] == row["task"] and r["size"] < row["size"]
        ]
        vs_duck = (
            f"{row['seconds'] / duck['seconds']:6.1f}x duckdb wall, {row['cpu_seconds'] / duck['cpu_seconds']:6.1f}x CPU"
            if duck
            else ""
        )
        growth = f"  growth {row['seconds'] / before[-1]['seconds']:5.1f}x" if before else ""
        print(f"  {row['size']:>11,} {row['task']:3s} {row['engine']:9s} {vs_duck}{growth}")


if __name__ == "__main__":
    if len(sys.argv) == 5 and sys.argv[1] == "--child":
        child(sys.argv[2], sys.argv[3], sys.argv[4])
        sys.exit(0)
    sys.exit(main())
