"""`blinareg init | import | export | validate | summary | derive` through the real entry point (SQLite and PostgreSQL)."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest
import sqlalchemy as sa

from blinareg.cli.main import main
from blinareg.exchange import write_registry
from tests.store.factories import registry_of


def assert_user_error(result: tuple[int, str, str], *needles: str) -> None:
    code, out, err = result
    assert code == 2, (out, err)
    assert "Traceback" not in out + err
    last = err.strip().splitlines()[-1]
    assert last.startswith("blinareg: error: "), err
    for needle in needles:
        assert needle in last, last


@pytest.fixture
def db(database_url, run):
    assert run("init", "--database", database_url)[0] == 0
    return database_url


@pytest.fixture
def folder(tmp_path) -> Path:
    return write_registry(
        registry_of("P1", "P2", "P3", centers=("C1", "C2"), dead=("P3",)), tmp_path / "batch", format="csv"
    )


def _files(path: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(path.iterdir())}


def test_init_then_init_again(database_url, run):
    code, out, _ = run("init", "--database", database_url)
    assert code == 0 and "initialized (schema revision" in out
    code, out, _ = run("init", "--database", database_url)
    assert code == 0 and "already up to date" in out


def test_commands_on_an_uninitialized_database_say_run_init(database_url, run, folder, tmp_path):
    for args in (
        ["summary"],
        ["validate"],
        ["export", tmp_path / "out"],
        ["import", folder],
        ["derive", tmp_path / "d"],
    ):
        assert_user_error(run(*args, "--database", database_url), "not initialized", "run `blinareg init` first")


def test_bad_database_urls_are_one_line_errors(run, tmp_path):
    assert_user_error(run("summary", "--database", "mysql://u@h/db"), "unsupported database 'mysql'")
    # A value without "://" is a SQLite file path, in every command (as `report` always took it).
    assert_user_error(run("summary", "--database", str(tmp_path / "plain.sqlite")), "not initialized")
    assert_user_error(run("init", "--database", f"sqlite:///{tmp_path}/missing/dir/x.sqlite"), "cannot connect to")


def test_database_url_from_the_environment(sqlite_url, run, monkeypatch, folder):
    monkeypatch.setenv("BLINAREG_DATABASE_URL", sqlite_url)
    assert run("init")[0] == 0
    assert run("import", folder)[0] == 0
    code, out, _ = run("summary")
    assert code == 0 and sqlite_url in out


def test_import_export_round_trip_is_byte_identical(db, run, folder, tmp_path):
    code, out, err = run("import", folder, "--database", db)
    assert code == 0, err
    assert "imported 3 patient(s) (3 new, 0 replaced)" in out and "2 center(s)" in out
    code, out, _ = run("export", tmp_path / "exported", "--database", db)
    assert code == 0 and "exported 3 patient(s)" in out
    assert _files(tmp_path / "exported") == _files(folder)
    # XLSX: import the workbook again (replaces the same patients), export, compare the CSVs.
    assert run("export", tmp_path / "registry.xlsx", "--database", db)[0] == 0
    code, out, _ = run("import", tmp_path / "registry.xlsx", "--database", db)
    assert code == 0 and "(0 new, 3 replaced)" in out
    assert run("export", tmp_path / "again", "--format", "csv", "--database", db)[0] == 0
    assert _files(tmp_path / "again") == _files(folder)


def test_import_with_a_bad_row_lists_the_problem_and_stores_nothing(db, run, folder):
    relapse = folder / "relapse.csv"
    lines = relapse.read_text().splitlines()
    header = lines[0].split(",")
    cells = lines[2].split(",")  # P2's relapse
    cells[header.index("relapse_date")] = "2018-01-02"  # after birth, before diagnosis (2018-01-13)
    lines[2] = ",".join(cells)
    relapse.write_text("\n".join(lines) + "\n")
    code, out, err = run("import", folder, "--database", db)
    assert_user_error((code, out, err), "1 error(s)", "nothing imported")
    assert (
        "error: relapse[P2, relapse_number=1].relapse_date = '2018-01-02': relapse_date is on or before the "
        "patient's diagnosis date (2018-01-13)" in err
    )
    assert "  patient                      0" in run("summary", "--database", db)[1]


def test_import_with_an_unreadable_value_names_file_and_row(db, run, folder):
    patient = folder / "patient.csv"
    patient.write_text(patient.read_text().replace("P2,C2,female", "P2,C2,femme"))
    code, out, err = run("import", folder, "--database", db)
    assert_user_error((code, out, err), "nothing imported")
    assert "patient[P2].sex = 'femme'" in err and "patient.csv row 3" in err


def test_import_of_a_missing_path(db, run, tmp_path):
    assert_user_error(run("import", tmp_path / "nope", "--database", db), "nope", "no such folder or file")


def test_dry_run_writes_nothing(db, run, folder):
    code, out, _ = run("import", folder, "--dry-run", "--database", db)
    assert code == 0 and "would import 3 patient(s)" in out and "dry run: nothing written" in out
    assert "  patient                      0" in run("summary", "--database", db)[1]


def _break_a_stored_relapse(url: str) -> None:
    """Stored data that a newer check would refuse: written behind the store's back."""
    engine = sa.create_engine(url)
    with engine.begin() as connection:
        connection.execute(sa.text("UPDATE relapse SET relapse_date = '2018-01-02' WHERE patient_id = 'P2'"))
    engine.dispose()


def test_validate_clean_and_with_errors_in_every_format(db, run, folder, tmp_path):
    run("import", folder, "--database", db)
    code, out, _ = run("validate", "--database", db)
    assert (code, out) == (0, "no problems found\n")
    _break_a_stored_relapse(db)
    code, out, _ = run("validate", "--database", db)
    assert code == 1
    assert "error: relapse[P2, relapse_number=1].relapse_date = '2018-01-02'" in out
    assert out.strip().splitlines()[-1].startswith("1 error(s), 0 warning(s) in 1 patient(s)")
    code, out, _ = run("validate", "--format", "json", "--database", db)
    problems = json.loads(out)
    assert code == 1
    assert {(p["patient_id"], p["record_type"], p["field"], p["value"], p["severity"]) for p in problems} >= {
        ("P2", "relapse", "relapse_date", "2018-01-02", "error")
    }
    target = tmp_path / "problems.csv"
    code, _, err = run("validate", "--format", "csv", "--output", target, "--database", db)
    assert code == 1 and "written to" in err
    rows = list(csv.DictReader(target.open()))
    assert any(
        r["patient_id"] == "P2" and r["field"] == "relapse_date" and r["value"] == "2018-01-02" and r["reason"]
        for r in rows
    )


def test_summary(db, run, folder):
    run("import", folder, "--database", db)
    code, out, _ = run("summary", "--database", db)
    assert code == 0
    assert "synthetic: no (real data)" in out
    assert "  patient                      3" in out and "  death                        1" in out
    assert "  C1                           2" in out and "  C2                           1" in out
    assert f"last import source: {folder}" in out


def test_derive_writes_every_frame(db, run, folder, tmp_path):
    run("import", folder, "--database", db)
    out_dir = tmp_path / "analysis"
    code, out, err = run("derive", out_dir, "--origin", "hsct", "--database", db)
    assert code == 0, err
    names = {p.name for p in out_dir.iterdir()}
    assert names == {
        "patients.csv",
        "time_to_event.csv",
        "cycles.csv",
        "mrd.csv",
        "adverse_events.csv",
        "relapses.csv",
        "dose_steps.csv",
        "hsct_time_to_event.csv",
        "responses.csv",
        "metadata.csv",
    }
    patients = list(csv.DictReader((out_dir / "patients.csv").open()))
    assert [p["patient_id"] for p in patients] == ["P1", "P2", "P3"]
    events = list(csv.DictReader((out_dir / "time_to_event.csv").open()))
    assert {e["ORIGIN"] for e in events} == {"hsct"}
    code, _, err = run("derive", out_dir, "--origin", "birthday", "--database", db)  # a click usage error
    assert code == 2 and "Invalid value for '--origin': 'birthday' is not one of" in err and "Traceback" not in err


def test_database_option_takes_a_plain_file_path_everywhere(run, folder, tmp_path):
    path = str(tmp_path / "plain-path.sqlite")
    assert run("init", "--database", path)[0] == 0
    code, out, err = run("import", folder, "--database", path)
    assert code == 0, err
    code, out, _ = run("summary", "--database", path)
    assert code == 0 and "plain-path.sqlite" in out


def test_origin_has_one_spelling_and_accepts_hyphens(db, run, folder, tmp_path):
    assert run("import", folder, "--database", db)[0] == 0
    for spelling in ("first_blinatumomab", "first-blinatumomab"):
        code, out, err = run("derive", str(tmp_path / spelling), "--database", db, "--origin", spelling)
        assert code == 0, err
        assert "origin first_blinatumomab" in out
    code, _, err = run("derive", str(tmp_path / "bad"), "--database", db, "--origin", "first")
    assert code == 2 and "'first' is not one of" in err and "first_blinatumomab" in err


def test_missing_path_is_reported_before_the_database_state(run, tmp_path):
    # The database is not initialized either; the missing file is what the user must fix first.
    code, _, err = run("import", str(tmp_path / "no-such-folder"), "--database", str(tmp_path / "new.sqlite"))
    assert code == 2
    assert "no-such-folder: no such folder or file" in err and "not initialized" not in err


def test_a_mistyped_command_gets_a_suggestion(run):
    code, _, err = run("reprot")
    assert code == 2
    assert "No such command 'reprot'" in err and "Did you mean" in err and "report" in err
