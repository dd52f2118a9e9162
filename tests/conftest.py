"""Fixtures shared by the whole suite: a fresh database per test on SQLite and on PostgreSQL."""

from __future__ import annotations

import os
import uuid

import pytest

POSTGRES_ENV = "BLINAREG_TEST_POSTGRES_URL"


def _postgres_base_url() -> str | None:
    url = os.environ.get(POSTGRES_ENV)
    if not url and os.environ.get("CI"):
        # CI must exercise PostgreSQL: scripts/test.sh starts one, so a missing URL is a setup bug.
        pytest.fail(f"{POSTGRES_ENV} is not set in CI; run the suite through scripts/test.sh")
    return url


@pytest.fixture
def sqlite_url(tmp_path) -> str:
    return f"sqlite:///{tmp_path / 'registry.sqlite'}"


@pytest.fixture
def postgres_url():
    """A URL whose search_path is a private schema, dropped afterwards, so tests never see each other."""
    base = _postgres_base_url()
    if not base:
        pytest.skip(f"{POSTGRES_ENV} not set")
    import sqlalchemy as sa

    schema = f"t_{uuid.uuid4().hex[:16]}"
    admin = sa.create_engine(base, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
    sep = "&" if "?" in base else "?"
    yield f"{base}{sep}options=-csearch_path%3D{schema}"
    with admin.connect() as conn:
        conn.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))
    admin.dispose()


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def database_url(request):
    """Every store/integration test runs once on SQLite and once on PostgreSQL."""
    return request.getfixturevalue("sqlite_url" if request.param == "sqlite" else "postgres_url")


@pytest.fixture
def run(capsys):
    """Run `blinareg ARGS...` as a user would (through `main`); returns (exit code, stdout, stderr)."""
    from blinareg.cli.main import main

    def invoke(*args: object) -> tuple[int, str, str]:
        try:
            main([str(a) for a in args])
            code = 0
        except SystemExit as exit_:
            code = exit_.code if isinstance(exit_.code, int) else 1
        out, err = capsys.readouterr()
        return code, out, err

    return invoke
