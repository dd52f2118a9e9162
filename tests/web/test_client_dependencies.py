"""The test client the web tests use comes without a deprecation warning: starlette's TestClient runs on
httpx2 (a test dependency) and warns when it has to fall back on httpx."""

from __future__ import annotations

import subprocess
import sys


def test_the_test_client_imports_without_a_warning():
    imported = subprocess.run(
        [sys.executable, "-W", "error", "-c", "import fastapi.testclient, starlette.testclient"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert imported.returncode == 0, imported.stderr[-2000:]
    assert imported.stderr == ""
