"""Import and load-back benchmark of `blinareg.store`: a synthetic registry into SQLite and PostgreSQL.

    python benchmarks/import_bench.py [--patients 100000] [--seed 1] [--backends sqlite,postgresql]
                                      [--postgres-url URL]

The registry comes from `blinareg.synth.generate(n_patients, seed)` (every record type), generated once
in a subprocess and cached as a pickle next to the databases (a temporary folder). Each measured step
runs in its own fresh subprocess, started from this small driver (no pandas here, so what the child
inherits is negligible): the child reads the pickle, then times one call:

- import: `Store.init()` then `Store.import_registry(...)` into an empty database (time of the import
  call, split into the store's stages: reading stored records, validating, writing);
- load: `Store.load_registry()` of everything back;
- files (SQLite only): what a data manager runs, `blinareg import FOLDER` of the same registry written
  as CSV files by `blinareg.exchange.write_registry`: reading, parsing, validating and storing, timed as
  a whole command with its peak resident set.

Peak memory is the child's peak resident set: VmHWM from /proc/self/status, and ru_maxrss of the
child (RUSAGE_CHILDREN here after it exits). Both include the registry the child holds in memory.
PostgreSQL: the URL of --postgres-url, $BLINAREG_BENCH_POSTGRES_URL or $BLINAREG_TEST_POSTGRES_URL;
the benchmark works in a private schema it drops afterwards. Targets (SQLite, 100,000 patients):
import <= 60 s and <= 2 GB peak.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import textwrap
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PATHS = [str(ROOT / "src")]
TARGET_SECONDS = 60.0
TARGET_PEAK_MB = 2048.0

_PRELUDE = """
import json, pickle, resource, sys, time
sys.path[:0] = {paths!r}

def high_water_mb():
    for line in open("/proc/self/status"):
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
"""

_GENERATE = (
    _PRELUDE
    + """
from blinareg.synth import generate
start = time.perf_counter()
registry = generate({patients}, {seed})
seconds = time.perf_counter() - start
with open({pickle_path!r}, "wb") as handle:
    pickle.dump(registry, handle, protocol=pickle.HIGHEST_PROTOCOL)
print(json.dumps({{"seconds": seconds, "peak_mb": high_water_mb(), "counts": registry.counts()}}))
"""
)

_IMPORT = (
    _PRELUDE
    + """
from blinareg.store import Store
with open({pickle_path!r}, "rb") as handle:
    registry = pickle.load(handle)
store = Store.open({url!r})
store.init()
stages = {{}}
def progress(stage, done, total):
    stages.setdefault(stage, time.perf_counter())
start = time.perf_counter()
result = store.import_registry(registry, source="benchmark", progress=progress)
end = time.perf_counter()
store.close()
order = sorted(stages, key=stages.get)
split = {{stage: (stages[order[i + 1]] if i + 1 < len(order) else end) - stages[stage] for i, stage in enumerate(order)}}
print(json.dumps({{"seconds": end - start, "stages": split, "peak_mb": high_water_mb(),
                  "warnings": len(result.warnings), "patients": result.patients_added}}))
"""
)

_LOAD = (
    _PRELUDE
    + """
from blinareg.store import Store
store = Store.open({url!r})
start = time.perf_counter()
registry = store.load_registry()
seconds = time.perf_counter() - start
store.close()
print(json.dumps({{"seconds": seconds, "peak_mb": high_water_mb(), "rows": sum(registry.counts().values())}}))
"""
)


def _run_child(code: str) -> dict:
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    completed = subprocess.run([sys.executable, "-c", textwrap.dedent(code)], capture_output=True, text=True)
    if completed.returncode != 0:
        sys.stderr.write(completed.stderr)
        raise SystemExit(f"benchmark step failed (exit {completed.returncode})")
    result = json.loads(completed.stdout.strip().splitlines()[-1])
    after = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    result["ru_maxrss_mb"] = after / 1024 if after > before else None  # None: not above an earlier child
    return result


def _postgres_schema_url(base: str) -> tuple[str, callable]:
    """A private schema for the benchmark (created now, dropped by the returned function)."""
    import sqlalchemy as sa  # only when PostgreSQL is benchmarked

    schema = f"bench_{uuid.uuid4().hex[:12]}"
    admin = sa.create_engine(base.replace("postgresql://", "postgresql+psycopg://", 1), isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.exec_driver_sql(f'CREATE SCHEMA "{schema}"')

    def drop() -> None:
        with admin.connect() as connection:
            connection.exec_driver_sql(f'DROP SCHEMA "{schema}" CASCADE')
        admin.dispose()

    separator = "&" if "?" in base else "?"
    return f"{base}{separator}options=-csearch_path%3D{schema}", drop


def _line(step: str, result: dict, extra: str = "") -> str:
    rss = result.get("ru_maxrss_mb")
    rss_text = f"{rss:8.0f}" if rss is not None else "       -"
    return (
        f"  {step:<22} {result['seconds']:9.1f} s   peak {result['peak_mb']:8.0f} MB (ru_maxrss {rss_text} MB){extra}"
    )


_WRITE_CSV = """
import pickle, sys
sys.path[:0] = {paths}
from blinareg.exchange import write_registry
with open({pickle_path!r}, "rb") as handle:
    registry = pickle.load(handle)
write_registry(registry, {folder!r}, format="csv")
"""


def _import_files(work: str, pickle_path: str) -> dict:
    """`blinareg init` + `blinareg import FOLDER` as subprocesses; seconds and peak of the import."""
    import time

    folder = str(Path(work) / "csv")
    subprocess.run(
        [sys.executable, "-c", _WRITE_CSV.format(paths=PATHS, pickle_path=pickle_path, folder=folder)], check=True
    )
    url = f"sqlite:///{Path(work) / 'files.sqlite'}"
    command = [
        sys.executable,
        "-c",
        "import sys; sys.path[:0] = %r; from blinareg.cli.main import main; main()" % PATHS,
    ]
    subprocess.run(command + ["init", "--database", url], check=True, capture_output=True)
    start = time.perf_counter()
    child = subprocess.Popen(command + ["import", folder, "--database", url], stdout=subprocess.DEVNULL)
    _, status, usage = os.wait4(child.pid, 0)  # this child's own rusage, not the max over all children
    seconds = time.perf_counter() - start
    child.returncode = os.waitstatus_to_exitcode(status)
    if child.returncode != 0:
        raise SystemExit(f"blinareg import failed with exit code {child.returncode}")
    return {"seconds": seconds, "peak_mb": usage.ru_maxrss / 1024, "ru_maxrss_mb": usage.ru_maxrss / 1024}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--patients", type=int, default=20_000)  # minutes on a 2-core laptop
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--backends", default="sqlite,postgresql")
    parser.add_argument(
        "--postgres-url",
        default=os.environ.get("BLINAREG_BENCH_POSTGRES_URL") or os.environ.get("BLINAREG_TEST_POSTGRES_URL"),
    )
    args = parser.parse_args(argv)
    sys.stdout.reconfigure(line_buffering=True)  # print as it goes, also through a pipe
    backends = [b.strip() for b in args.backends.split(",") if b.strip()]

    with tempfile.TemporaryDirectory(prefix="blinareg-import-bench-") as work:
        pickle_path = str(Path(work) / "registry.pickle")
        generated = _run_child(
            _GENERATE.format(paths=PATHS, patients=args.patients, seed=args.seed, pickle_path=pickle_path)
        )
        rows = sum(generated["counts"].values())
        print(
            f"synthetic registry: {args.patients:,} patients, {rows:,} records "
            f"(generated in {generated['seconds']:.1f} s)"
        )
        print("  " + ", ".join(f"{name} {count:,}" for name, count in generated["counts"].items()))
        failed = False
        for backend in backends:
            cleanup = None
            if backend == "sqlite":
                url = f"sqlite:///{Path(work) / 'registry.sqlite'}"
            elif backend == "postgresql":
                if not args.postgres_url:
                    print(
                        "postgresql: skipped (no --postgres-url, $BLINAREG_BENCH_POSTGRES_URL or "
                        "$BLINAREG_TEST_POSTGRES_URL)"
                    )
                    continue
                url, cleanup = _postgres_schema_url(args.postgres_url)
            else:
                raise SystemExit(f"unknown backend {backend!r}; use sqlite and/or postgresql")
            try:
                imported = _run_child(_IMPORT.format(paths=PATHS, pickle_path=pickle_path, url=url))
                loaded = _run_child(_LOAD.format(paths=PATHS, url=url))
            finally:
                if cleanup:
                    cleanup()
            stages = ", ".join(f"{stage} {seconds:.1f} s" for stage, seconds in imported["stages"].items())
            print(f"{backend}:")
            print(_line("import", imported, f"   [{stages}]"))
            print(_line("load back", loaded, f"   [{loaded['rows']:,} records]"))
            if backend == "sqlite":
                files = _import_files(work, pickle_path)
                print(_line("blinareg import (CSV)", files))
                ok = imported["seconds"] <= TARGET_SECONDS and imported["peak_mb"] <= TARGET_PEAK_MB
                failed |= not ok
                print(
                    f"  target import <= {TARGET_SECONDS:.0f} s and <= {TARGET_PEAK_MB:.0f} MB: "
                    f"{'met' if ok else 'NOT MET'}"
                )
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
