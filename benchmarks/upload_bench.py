"""Browser-import upload benchmark: the server's memory while a large file is uploaded and checked.

    python benchmarks/upload_bench.py [--megabytes 60] [--limit-mb 100]

A SYNTHETIC registry (`blinareg.synth.generate`, 20 patients) goes into a fresh SQLite database; its CSV
files are zipped together with --megabytes of random bytes (an unrelated member the importer skips: the
size of a large center's export without the CPU cost of reading it). `blinareg serve`'s app runs under
uvicorn in its own process; a data manager signs in and posts the zip to /import (the dry run).

Printed: the upload's size, the answer, the server process's peak resident memory (VmHWM) before and after
the upload, their difference as a fraction of the upload's size (target <= 0.1: the upload streams to disk
in chunks and is never held whole in memory), and the server's CPU seconds and the wall time. A size over
--limit-mb shows the 413 refusal instead.
"""

from __future__ import annotations

import argparse
import os
import re
import socket
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

TARGET_MEMORY_FRACTION = 0.1
USER, PASSWORD = "bench_dm", "benchmark password 1"


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _registry_zip(work: Path, registry, megabytes: int) -> Path:  # noqa: ANN001
    from blinareg.exchange import write_registry

    write_registry(registry, work / "csv", format="csv")
    archive = work / "upload.zip"
    with zipfile.ZipFile(archive, "w") as bundle:
        for path in sorted((work / "csv").iterdir()):
            bundle.write(path, f"registry/{path.name}")
        with bundle.open("registry/padding.bin", "w") as out:
            for _ in range(megabytes):
                out.write(os.urandom(1024 * 1024))
    return archive


def _process_status(pid: int, key: str) -> int:
    found = re.search(rf"{key}:\s+(\d+)", Path(f"/proc/{pid}/status").read_text())
    assert found, key
    return int(found.group(1))


def _cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[-1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def main() -> None:
    import httpx

    from blinareg.store import Store
    from blinareg.synth import generate
    from blinareg.web.security import hash_password

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--megabytes", type=int, default=60)
    parser.add_argument("--limit-mb", type=int, default=100)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="blinareg-upload-bench-") as folder:
        work = Path(folder)
        url = f"sqlite:///{work / 'registry.sqlite'}"
        registry = generate(20, seed=3, centers=1)
        archive = _registry_zip(work, registry, args.megabytes)
        with Store.open(url) as store:
            store.init()
            store.import_registry(registry, source="upload benchmark", actor="bench")
            centers = list(store.load_centers()["center_id"])
            store.accounts.add(USER, hash_password(PASSWORD), "data_manager", centers, actor="bench")
        port = _free_port()
        env = dict(
            os.environ,
            BLINAREG_DATABASE_URL=url,
            BLINAREG_UPLOAD_DIR=str(work / "pending"),
            BLINAREG_MAX_UPLOAD_MB=str(args.limit_mb),
            PYTHONPATH=str(ROOT / "src"),
        )
        serve = (
            "import uvicorn; from blinareg.web.app import create_app; "
            f"uvicorn.run(create_app(), host='127.0.0.1', port={port}, log_level='warning', access_log=False)"
        )
        server = subprocess.Popen([sys.executable, "-c", serve], env=env)
        try:
            base = f"http://127.0.0.1:{port}"
            for _ in range(600):
                try:
                    httpx.get(f"{base}/login")
                    break
                except httpx.HTTPError:
                    time.sleep(0.1)
            with httpx.Client(base_url=base, timeout=600) as http:
                login = http.get("/login").text
                http.post("/login", data={"username": USER, "password": PASSWORD, "csrf_token": _csrf(login)})
                token = _csrf(http.get("/").text)
                peak_before, cpu_before, started = (
                    _process_status(server.pid, "VmHWM"),
                    _cpu_seconds(server.pid),
                    time.time(),
                )
                with open(archive, "rb") as upload:
                    answer = http.post(
                        "/import",
                        data={"csrf_token": token, "kind": "registry"},
                        files={"file": ("upload.zip", upload, "application/zip")},
                    )
                wall = time.time() - started
                peak_after, cpu = _process_status(server.pid, "VmHWM"), _cpu_seconds(server.pid) - cpu_before
        finally:
            server.terminate()
            server.wait()
        size = archive.stat().st_size
        outcome = "dry run shown" if "nothing stored yet" in answer.text else answer.text[:160]
        growth = (peak_after - peak_before) * 1024
        print(f"upload: {size / 2**20:.1f} MB (limit {args.limit_mb} MB); answer {answer.status_code}: {outcome}")
        print(f"server peak memory: {peak_before / 1024:.1f} MB before, {peak_after / 1024:.1f} MB after")
        print(f"peak memory growth / upload size: {growth / size:.3f} (target <= {TARGET_MEMORY_FRACTION})")
        print(f"server CPU: {cpu:.2f} s; wall: {wall:.2f} s (wall times depend on the machine's load)")


def _csrf(html: str) -> str:
    found = re.search(r'name="csrf_token" value="([^"]*)"', html)
    assert found, "no CSRF field on the page"
    return found.group(1)


if __name__ == "__main__":
    main()
