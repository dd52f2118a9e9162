"""`blinareg redcap-dictionary` and `blinareg import --redcap` through the click group (SQLite)."""

from __future__ import annotations

import csv

import pytest
from click.testing import CliRunner

from blinareg.cli.main import cli
from blinareg.errors import ValidationFailed
from blinareg.exchange.redcap import read_redcap_export, redcap_data_dictionary, write_redcap_export
from blinareg.store import Store
from tests.exchange.factories import assert_same_registry
from tests.store.factories import registry_of


@pytest.fixture
def runner():
    return CliRunner()


@pytest.fixture
def db(sqlite_url, runner):
    result = runner.invoke(cli, ["init", "--database", sqlite_url])
    assert result.exit_code == 0, result.output
    return sqlite_url


def test_redcap_dictionary_command_writes_the_dictionary(runner, tmp_path):
    out = tmp_path / "dictionary.csv"
    result = runner.invoke(cli, ["redcap-dictionary", str(out)])
    assert result.exit_code == 0, result.output
    assert out.read_text(encoding="utf-8") == redcap_data_dictionary()
    assert "make these instruments repeating: genetic_finding, relapse" in result.output
    assert "Missing Data Codes (Additional customizations) to: unknown, Unknown | not_done" in result.output
    fields = len(list(csv.DictReader(redcap_data_dictionary().splitlines())))
    assert f"the REDCap data dictionary ({fields} fields)" in result.output


def test_import_a_redcap_export_with_center_option(runner, db, tmp_path):
    registry = registry_of("P1", "P2", centers=("C1",), dead=("P2",))
    text = write_redcap_export(registry)
    rows = list(csv.DictReader(text.splitlines()))
    for row in rows:
        row["pat_center_id"] = ""
    path = tmp_path / "export.csv"
    with open(path, "w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]), lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)

    result = runner.invoke(cli, ["import", str(path), "--redcap", "--center", "C1", "--database", db])
    assert result.exit_code == 0, result.output
    assert "imported 2 patient(s) (2 new, 0 replaced)" in result.output
    with Store.open(db) as store:
        stored = store.load_registry()
    expected, problems = read_redcap_export(path, center_id="C1")
    assert problems == []
    assert_same_registry(expected, stored)
    for name in ("patient", "relapse", "blinatumomab_cycle", "death"):
        assert len(stored[name]) == len(registry[name]), name


def test_import_keeps_the_stored_center_name(runner, db, tmp_path):
    registry = registry_of("P1", centers=("C1",))
    folder = tmp_path / "folder"
    from blinareg.exchange import write_registry

    write_registry(registry, folder, format="csv")
    assert runner.invoke(cli, ["import", str(folder), "--database", db]).exit_code == 0
    path = tmp_path / "export.csv"
    path.write_text(write_redcap_export(registry), encoding="utf-8")
    result = runner.invoke(cli, ["import", str(path), "--redcap", "--database", db])
    assert result.exit_code == 0, result.output
    with Store.open(db) as store:
        stored = store.load_registry()
    assert stored["center"].equals(registry["center"])


def test_import_redcap_problems_store_nothing(runner, db, tmp_path):
    rows = list(csv.DictReader(write_redcap_export(registry_of("P1", centers=("C1",))).splitlines()))
    rows[0]["pat_sex"] = "9"
    path = tmp_path / "export.csv"
    with open(path, "w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]), lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
    result = runner.invoke(cli, ["import", str(path), "--redcap", "--database", db])
    assert isinstance(result.exception, ValidationFailed), result.output  # main() turns it into exit code 2
    assert "record P1 instrument patient variable pat_sex" in result.output
    assert "unknown raw code '9'" in result.output
    with Store.open(db) as store:
        assert store.load_registry()["patient"].empty


def test_center_without_redcap_is_a_usage_error(runner, db, tmp_path):
    result = runner.invoke(cli, ["import", str(tmp_path), "--center", "C1", "--database", db])
    assert result.exit_code == 2
    assert "--center is only used with --redcap" in result.output
