"""`blinareg import --redcap-status/--dag-map/--redcap-api` and `blinareg export --format redcap` (SQLite)."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
from click.testing import CliRunner

from blinareg.cli.main import cli
from blinareg.exchange.redcap import load_dag_map, read_redcap_export
from blinareg.store import Store
from tests.exchange.factories import assert_same_registry
from tests.exchange.redcap_standin import RedcapStandIn

DATA = Path(__file__).resolve().parents[1] / "data"
EXPORT = DATA / "redcap_export_dags.csv"
DAG_MAP = DATA / "redcap_dag_map.toml"
TOKEN = "0123456789ABCDEF0123456789ABCDEF"


@pytest.fixture
def runner():
    return CliRunner(mix_stderr=False) if "mix_stderr" in CliRunner.__init__.__code__.co_varnames else CliRunner()


@pytest.fixture
def db(sqlite_url, runner):
    result = runner.invoke(cli, ["init", "--database", sqlite_url])
    assert result.exit_code == 0, result.output
    return sqlite_url


def _all_output(result) -> str:
    """stdout, stderr and a user error's message (main() prints it; the click test runner keeps it)."""
    text = result.output + ("" if result.exception is None else str(result.exception))
    try:
        text += result.stderr
    except ValueError:
        pass
    return text


def test_import_with_status_and_dag_map_then_export_round_trip(runner, db, tmp_path):
    result = runner.invoke(cli, ["import", str(EXPORT), "--redcap", "--dag-map", str(DAG_MAP), "--database", db])
    assert result.exit_code == 0, _all_output(result)
    output = _all_output(result)
    assert "imported 4 patient(s) (4 new, 0 replaced)" in output and "2 center(s)" in output
    assert "7 REDCap form(s) or record(s) left out" in output
    assert "relapse[P02, relapse_number=1].relapse_complete = '0': not imported" in output
    with Store.open(db) as store:
        stored = store.load_registry()
    expected, _ = read_redcap_export(EXPORT, dag_map=load_dag_map(DAG_MAP))
    assert_same_registry(expected, stored)

    out = tmp_path / "out.csv"
    result = runner.invoke(cli, ["export", str(out), "--format", "redcap", "--dag-map", str(DAG_MAP),
                                 "--database", db])
    assert result.exit_code == 0, _all_output(result)
    again, problems = read_redcap_export(out, dag_map=load_dag_map(DAG_MAP), centers=stored["center"])
    assert problems == []
    assert_same_registry(stored, again)
    assert "redcap_data_access_group" in out.read_text(encoding="utf-8").splitlines()[0]

    # Import -> export -> import into a fresh database gives the same registry.
    other = f"sqlite:///{tmp_path / 'other.sqlite'}"
    assert runner.invoke(cli, ["init", "--database", other]).exit_code == 0
    result = runner.invoke(cli, ["import", str(out), "--redcap", "--dag-map", str(DAG_MAP), "--database", other])
    assert result.exit_code == 0, _all_output(result)
    with Store.open(other) as store:
        assert_same_registry(stored, store.load_registry())


def test_complete_level_from_the_command_line(runner, db):
    result = runner.invoke(cli, ["import", str(EXPORT), "--redcap", "--redcap-status", "complete", "--dag-map",
                                 str(DAG_MAP), "--database", db, "--dry-run"])
    assert result.exit_code == 0, _all_output(result)
    assert "would import 3 patient(s)" in _all_output(result)


def test_redcap_options_need_redcap(runner, db, tmp_path):
    result = runner.invoke(cli, ["import", str(tmp_path), "--redcap-status", "all", "--database", db])
    assert result.exit_code == 2 and "only used with --redcap" in _all_output(result)
    result = runner.invoke(cli, ["import", "--database", db])
    assert result.exit_code == 2 and "missing PATH" in _all_output(result)
    result = runner.invoke(cli, ["export", str(tmp_path / "x"), "--dag-map", str(DAG_MAP), "--database", db])
    assert result.exit_code == 2 and "--dag-map is only used with --format redcap" in _all_output(result)


def test_import_through_the_api_never_stores_or_prints_the_token(runner, db, tmp_path, caplog):
    caplog.set_level(logging.DEBUG)
    server = RedcapStandIn(token=TOKEN, records_csv=EXPORT.read_text(encoding="utf-8")).start()
    try:
        result = runner.invoke(cli, ["import", "--redcap-api", server.url, "--dag-map", str(DAG_MAP),
                                     "--database", db], env={"BLINAREG_REDCAP_TOKEN": TOKEN})
        failed = runner.invoke(cli, ["import", "--redcap-api", server.url, "--database", db],
                               env={"BLINAREG_REDCAP_TOKEN": "FEDCBA9876543210FEDCBA9876543210"})
    finally:
        server.stop()
    output = _all_output(result)
    assert result.exit_code == 0, output
    assert f"imported 4 patient(s) (4 new, 0 replaced), " in output and f"from {server.url} into" in output
    assert all(r["token"] == TOKEN for r in server.requests[:2])
    assert failed.exit_code != 0
    assert "HTTP 403: You do not have permissions to use the API" in _all_output(failed)
    with Store.open(db) as store:
        entries = store.audit_entries()
        assert entries and {e.source for e in entries} == {server.url}
        assert len(store.load_registry()["patient"]) == 4
    for text in (output, _all_output(failed), caplog.text, repr(entries)):
        assert TOKEN not in text and "FEDCBA9876543210" not in text
    for path in tmp_path.rglob("*"):
        if path.is_file():
            assert TOKEN.encode() not in path.read_bytes(), path


def test_api_import_without_a_token(runner, db):
    result = runner.invoke(cli, ["import", "--redcap-api", "https://redcap.example.org/api/", "--database", db],
                           env={"BLINAREG_REDCAP_TOKEN": ""})
    assert result.exit_code != 0
    assert "needs the project's API token in the environment variable BLINAREG_REDCAP_TOKEN" in _all_output(result)
