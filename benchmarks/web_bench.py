"""Web registry benchmark: `blinareg serve` on a 10,000-patient SYNTHETIC registry, 50 concurrent clients.

    python benchmarks/web_bench.py [--patients 10000] [--clients 50] [--seconds 30] [--workers 2]
                                   [--backends sqlite,postgresql] [--postgres-url URL]

For each backend: the registry (`blinareg.synth.generate`, 4 centers) is imported into a fresh database,
a data manager of every center gets an API token, and `blinareg serve --workers N` runs in its own
processes on loopback. The clients (threads of this process, one keep-alive HTTP connection each) run a mix for
--seconds: 45% patient list (a page of 50 at a random offset), 45% patient page (one patient), 10% record
save (open a diagnosis, then PUT it with its row_version and a reason). Each client saves its own
patients' records, and every client also saves one shared record, where conflicts (409) are expected.

Printed: p50 and p95 latency per kind, throughput, errors (any status other than 200, and 409 on the
shared record), and lost updates: per saved record, the stored row_version must be 1 + the saves that
got 200 and its value the last accepted one. Targets: p95 <= 100 ms (reads), <= 200 ms (saves), 0 errors,
0 lost updates. PostgreSQL: --postgres-url, $BLINAREG_BENCH_POSTGRES_URL or $BLINAREG_TEST_POSTGRES_URL;
the benchmark works in a private schema it drops afterwards.
"""

from __future__ import annotations

import argparse
import os
import random
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

TARGET_READ_P95_MS = 100.0
TARGET_SAVE_P95_MS = 200.0


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _prepare(url: str, patients: int, role: str = "data_manager") -> tuple[str, list[str]]:
    from blinareg.store import Store
    from blinareg.synth import generate
    from blinareg.web.security import new_token, token_hash

    registry = generate(patients, seed=11, centers=4)
    with Store.open(url) as store:
        store.init()
        start = time.perf_counter()
        store.import_registry(registry, source="web benchmark (synthetic)", actor="bench")
        print(f"  imported {patients} patients in {time.perf_counter() - start:.1f} s")
        centers = sorted(registry["center"]["center_id"])
        # A benchmark user: the password is never used (the clients sign in by API token).
        user = store.accounts.add(
            "bench", "$argon2id$v=19$m=65536,t=3,p=4$YmVuY2hzYWx0$unused", role, centers, actor="bench"
        )
        token = new_token()
        store.accounts.add_token(user, "bench", token_hash(token))
    return token, sorted(registry["patient"]["patient_id"])


def _serve(url: str, port: int, workers: int) -> subprocess.Popen[bytes]:
    blinareg = Path(sys.executable).with_name("blinareg")
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    server = subprocess.Popen(
        [str(blinareg), "serve", "--database", url, "--port", str(port), "--workers", str(workers)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return server
        except OSError:
            time.sleep(0.2)
    server.kill()
    raise RuntimeError("blinareg serve did not start")


def _client(
    base: str, token: str, ids: list[str], own: list[str], shared: str, stop: float, results: dict, lock: threading.Lock
) -> None:
    import httpx

    rng = random.Random(hash(tuple(own)))
    saves: dict[str, list[str]] = defaultdict(list)  # patient -> accepted values, in order
    timings: dict[str, list[float]] = defaultdict(list)
    errors: list[str] = []
    conflicts = 0
    with httpx.Client(base_url=base, headers={"Authorization": f"Bearer {token}"}, timeout=30) as http:
        n = 0
        while time.monotonic() < stop:
            n += 1
            try:
                kind = _one_call(http, rng, n, ids, own, shared, saves, timings, errors)
            except httpx.HTTPError as error:  # a timeout (30 s) or a dropped connection is an error too
                errors.append(f"{type(error).__name__}: {error}")
                continue
            if kind == "conflict":
                conflicts += 1
    with lock:
        for kind, values in timings.items():
            results["timings"][kind].extend(values)
        results["errors"].extend(errors)
        results["conflicts"] += conflicts
        for patient, values in saves.items():
            results["saves"][patient].extend(values)


def _one_call(http, rng, n, ids, own, shared, saves, timings, errors) -> str:  # noqa: ANN001
    """One call of the mix; returns its kind ("conflict" for a 409 on the shared record)."""
    draw = rng.random()
    start = time.perf_counter()
    if draw < 0.45:
        kind = "patient list"
        answer = http.get("/api/v1/patient", params={"offset": rng.randrange(0, max(1, len(ids) - 50)), "limit": 50})
        ok = answer.status_code == 200
    elif draw < 0.90:
        kind = "patient page"
        answer = http.get(f"/api/v1/patient/{rng.choice(ids)}")
        ok = answer.status_code == 200
    else:
        kind = "save"
        patient = shared if n % 5 == 0 else rng.choice(own)
        opened_answer = http.get(f"/api/v1/diagnosis/{patient}")
        if opened_answer.status_code != 200:
            errors.append(f"open for save: {opened_answer.status_code} {opened_answer.text[:100]}")
            return kind
        opened = opened_answer.json()
        value = f"bench {uuid.uuid4().hex[:8]}"
        answer = http.put(
            f"/api/v1/diagnosis/{patient}",
            json={**opened, "frontline_protocol": value, "change_reason": "benchmark"},
        )
        ok = answer.status_code == 200 or (answer.status_code == 409 and patient == shared)
        if answer.status_code == 200:
            saves[patient].append(value)
    timings[kind].append((time.perf_counter() - start) * 1000)
    if not ok:
        errors.append(f"{kind}: {answer.status_code} {answer.text[:100]}")
    return "conflict" if answer.status_code == 409 else kind


def _lost_updates(base: str, token: str, saves: dict[str, list[str]]) -> int:
    """Records whose stored version or value disagrees with the saves that were accepted."""
    import httpx

    lost = 0
    with httpx.Client(base_url=base, headers={"Authorization": f"Bearer {token}"}) as http:
        for patient, values in saves.items():
            stored = http.get(f"/api/v1/diagnosis/{patient}").json()
            if stored["row_version"] != 1 + len(values) or stored["frontline_protocol"] not in values:
                lost += 1
    return lost


def _percentile(values: list[float], q: float) -> float:
    return statistics.quantiles(values, n=100, method="inclusive")[q - 1] if len(values) > 1 else (values or [0.0])[0]


def run(url: str, label: str, patients: int, clients: int, seconds: float, workers: int) -> bool:
    print(f"{label}: {patients} patients, {clients} clients, {seconds:.0f} s, {workers} server process(es)")
    token, ids = _prepare(url, patients)
    port = _free_port()
    server = _serve(url, port, workers)
    base = f"http://127.0.0.1:{port}"
    try:
        results: dict = {"timings": defaultdict(list), "errors": [], "conflicts": 0, "saves": defaultdict(list)}
        lock = threading.Lock()
        rng = random.Random(5)
        pool = rng.sample(ids, clients * 20 + 1)
        shared = pool[-1]
        stop = time.monotonic() + seconds
        threads = [
            threading.Thread(
                target=_client, args=(base, token, ids, pool[i * 20 : (i + 1) * 20], shared, stop, results, lock)
            )
            for i in range(clients)
        ]
        started = time.perf_counter()
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        elapsed = time.perf_counter() - started
        lost = _lost_updates(base, token, results["saves"])
    finally:
        server.terminate()
        server.wait(timeout=30)
    total = sum(len(v) for v in results["timings"].values())
    passed = not results["errors"] and lost == 0
    for kind in ("patient list", "patient page", "save"):
        values = results["timings"][kind]
        if not values:
            continue
        p50, p95 = _percentile(values, 50), _percentile(values, 95)
        target = TARGET_SAVE_P95_MS if kind == "save" else TARGET_READ_P95_MS
        passed &= p95 <= target
        print(
            f"  {kind:13} n={len(values):6}  p50 {p50:7.1f} ms  p95 {p95:7.1f} ms  (target p95 <= {target:.0f} ms: {'ok' if p95 <= target else 'MISSED'})"
        )
    print(
        f"  throughput {total / elapsed:.0f} requests/s; errors {len(results['errors'])}; conflicts on the shared record {results['conflicts']}; lost updates {lost}"
    )
    for error in results["errors"][:5]:
        print(f"    {error}")
    return passed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--patients", type=int, default=10_000)
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--backends", default="sqlite,postgresql")
    parser.add_argument("--workers", type=int, default=2, help="blinareg serve --workers")
    parser.add_argument(
        "--postgres-url",
        default=os.environ.get("BLINAREG_BENCH_POSTGRES_URL") or os.environ.get("BLINAREG_TEST_POSTGRES_URL"),
    )
    args = parser.parse_args()
    ok = True
    with tempfile.TemporaryDirectory() as folder:
        for backend in args.backends.split(","):
            if backend == "sqlite":
                ok &= run(
                    f"sqlite:///{Path(folder) / 'web-bench.sqlite'}",
                    "SQLite",
                    args.patients,
                    args.clients,
                    args.seconds,
                    args.workers,
                )
            elif backend == "postgresql":
                if not args.postgres_url:
                    print("PostgreSQL: skipped (no --postgres-url)")
                    continue
                import sqlalchemy as sa

                schema = f"web_bench_{uuid.uuid4().hex[:12]}"
                admin = sa.create_engine(args.postgres_url, isolation_level="AUTOCOMMIT")
                with admin.connect() as connection:
                    connection.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
                try:
                    sep = "&" if "?" in args.postgres_url else "?"
                    ok &= run(
                        f"{args.postgres_url}{sep}options=-csearch_path%3D{schema}",
                        "PostgreSQL",
                        args.patients,
                        args.clients,
                        args.seconds,
                        args.workers,
                    )
                finally:
                    with admin.connect() as connection:
                        connection.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))
                    admin.dispose()
    print("all targets met" if ok else "some targets missed (figures measured on this machine, possibly under load)")


if __name__ == "__main__":
    main()
