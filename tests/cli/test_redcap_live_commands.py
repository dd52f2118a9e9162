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
    result = runner.invoke(cli, ["export", str(out), "--format", "redcap", "--dag-map", str(DAG_MAP), "--database", db])
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
    result = runner.invoke(
        cli,
        [
            "import",
            str(EXPORT),
            "--redcap",
            "--redcap-status",
            "complete",
            "--dag-map",
            str(DAG_MAP),
            "--database",
            db,
            "--dry-run",
        ],
    )
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
        result = runner.invoke(
            cli,
            ["import", "--redcap-api", server.url, "--dag-map", str(DAG_MAP), "--database", db],
            env={"BLINAREG_REDCAP_TOKEN": TOKEN},
        )
        failed = runner.invoke(
            cli,
            ["import", "--redcap-api", server.url, "--database", db],
            env={"BLINAREG_REDCAP_TOKEN": "FEDCBA9876543210FEDCBA9876543210"},
        )
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
    result = runner.invoke(
        cli,
        ["import", "--redcap-api", "https://redcap.example.org/api/", "--database", db],
        env={"BLINAREG_REDCAP_TOKEN": ""},
    )
    assert result.exit_code != 0
    assert "needs the project's API token in the environment variable BLINAREG_REDCAP_TOKEN" in _all_output(result)


def test_a_stored_patient_with_a_reopened_form_stays_as_stored(runner, db, tmp_path):
    import csv

    rows = list(csv.DictReader(EXPORT.read_text(encoding="utf-8").splitlines()))
    complete = [dict(r) for r in rows]
    for row in complete:
        if row["record_id"] == "P02":  # every P02 form finished: relapse 1 is bone marrow, 40% blasts
            if row["redcap_repeat_instrument"] == "relapse" and row["redcap_repeat_instance"] == "1":
                row.update(rel_site___bone_marrow="1", rel_marrow_blasts_pct="40", relapse_complete="2")
    first = tmp_path / "first.csv"
    with open(first, "w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]), lineterminator="\n")
        writer.writeheader()
        writer.writerows(complete)
    result = runner.invoke(cli, ["import", str(first), "--redcap", "--dag-map", str(DAG_MAP), "--database", db])
    assert result.exit_code == 0, _all_output(result)
    with Store.open(db) as store:
        before = store.load_registry(["P02"])
    assert len(before["relapse"]) == 2
    # The committed export has P02's relapse 1 Incomplete again: P02 is kept as stored, and so is P05 (its
    # cycle 2 is still Incomplete); P01 and P06 are replaced.
    result = runner.invoke(cli, ["import", str(EXPORT), "--redcap", "--dag-map", str(DAG_MAP), "--database", db])
    output = _all_output(result)
    assert result.exit_code == 0, output
    assert "record P02 is kept as stored (nothing of it is imported)" in output
    assert "record P05 is kept as stored" in output
    assert "imported 2 patient(s) (0 new, 2 replaced)" in output
    with Store.open(db) as store:
        assert_same_registry(before, store.load_registry(["P02"]))


def test_an_own_project_through_a_mapping_from_a_file_and_from_the_api(runner, db, tmp_path):
    from tests.exchange.redcap_standin import metadata_of
    from tests.exchange.test_redcap_project import OWN_DICTIONARY, OWN_EXPORT, OWN_MAPPING

    for name, text in (("dictionary.csv", OWN_DICTIONARY), ("export.csv", OWN_EXPORT), ("mapping.toml", OWN_MAPPING)):
        (tmp_path / name).write_text(text, encoding="utf-8")
    args = [
        "import",
        str(tmp_path / "export.csv"),
        "--redcap",
        "--map",
        str(tmp_path / "mapping.toml"),
        "--database",
        db,
    ]
    result = runner.invoke(cli, args)
    assert result.exit_code != 0 and "give its Data Dictionary with --redcap-dictionary" in _all_output(result)
    result = runner.invoke(cli, [*args, "--redcap-dictionary", str(tmp_path / "dictionary.csv")])
    output = _all_output(result)
    assert result.exit_code == 0, output
    assert "imported 2 patient(s) (2 new, 0 replaced)" in output and "3 REDCap form(s) or record(s) left out" in output
    with Store.open(db) as store:
        from_file = store.load_registry()

    other = f"sqlite:///{tmp_path / 'other.sqlite'}"
    assert runner.invoke(cli, ["init", "--database", other]).exit_code == 0
    server = RedcapStandIn(token=TOKEN, records_csv=OWN_EXPORT, metadata=metadata_of(OWN_DICTIONARY)).start()
    try:
        result = runner.invoke(
            cli,
            ["import", "--redcap-api", server.url, "--map", str(tmp_path / "mapping.toml"), "--database", other],
            env={"BLINAREG_REDCAP_TOKEN": TOKEN},
        )
    finally:
        server.stop()
    assert result.exit_code == 0, _all_output(result)
    with Store.open(other) as store:
        assert_same_registry(from_file, store.load_registry())
