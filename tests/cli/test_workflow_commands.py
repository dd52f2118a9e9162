"""`blinareg queries ...`, `blinareg freeze ...` and `blinareg report --freeze` through the real entry point."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from blinareg.cli.main import main
from blinareg.records import models as m
from blinareg.records.registry import Registry
from blinareg.store import Store
from tests.cli.test_registry_commands import assert_user_error
from tests.store.factories import registry_of


def _disagreeing(registry: Registry) -> Registry:
    """P1's CRS recorded as grade 3 where its parameters give grade 1: one validation warning."""
    records = []
    for record_type in registry.tables:
        for record in registry.records(record_type):
            if isinstance(record, m.AdverseEvent) and record.patient_id == "P1":
                record = record.model_copy(update={"grade": 3, "hypotension": False, "vasopressin": False})
            records.append(record)
    return Registry.from_records(records)


@pytest.fixture
def db(sqlite_url, run, monkeypatch):
    monkeypatch.setenv("BLINAREG_DATABASE_URL", sqlite_url)
    monkeypatch.setenv("MPLBACKEND", "Agg")
    with Store.open(sqlite_url) as store:
        store.init()
        store.import_registry(_disagreeing(registry_of("P1", "P2", "P3", centers=("C1", "C2"))), source="seed")
    return sqlite_url


def test_queries_list_acknowledge_raise_resolve(db, run):
    code, out, err = run("queries", "list")
    assert code == 0 and "1 query" in err
    assert "open" in out and "P1 adverse_event[event_number=1].grade = '3'" in out
    query_id = int(out.split()[0])
    assert (
        run("queries", "acknowledge", query_id, "--reason", "grade 3 confirmed by the physician", "--by", "dm")[0] == 0
    )
    code, out, _ = run("queries", "list", "--status", "acknowledged", "--json")
    (row,) = [json.loads(line) for line in out.splitlines()]
    assert (row["id"], row["acknowledged_by"], row["acknowledged_reason"]) == (
        query_id,
        "dm",
        "grade 3 confirmed by the physician",
    )
    code, out, _ = run(
        "queries",
        "raise",
        "--patient",
        "P2",
        "--record-type",
        "relapse",
        "--key",
        "relapse_number=1",
        "--field",
        "marrow_blasts_pct",
        "--text",
        "check the marrow report",
        "--by",
        "monitor",
    )
    assert code == 0 and out.strip() == f"query {query_id + 1} raised"
    code, out, _ = run("queries", "list", "--user", "monitor")
    assert "P2 relapse[relapse_number=1].marrow_blasts_pct: check the marrow report" in out
    assert run("queries", "list", "--center", "C2")[1].count("\n") == 1  # P2 is the C2 patient
    assert run("queries", "list", "--patient", "P3")[1] == ""
    assert run("queries", "resolve", query_id + 1, "--by", "dm")[0] == 0
    assert_user_error(run("queries", "resolve", query_id, "--by", "dm"), "resolved by correcting the record")
    assert_user_error(run("queries", "acknowledge", 99, "--reason", "x", "--by", "dm"), "no data query with id 99")


def _report(run, out: Path, *extra: object, formats: str = "json") -> dict[str, bytes]:
    code, stdout, stderr = run("report", "--out", out, "--formats", formats, *extra)
    assert code == 0, stderr
    return {p.name: p.read_bytes() for p in sorted(out.iterdir()) if p.is_file()}


def test_a_report_from_a_freeze_is_byte_identical_after_later_edits(db, run, tmp_path):
    code, out, _ = run("freeze", "create", "--name", "interim", "--by", "investigator")
    assert code == 0 and out.startswith("freeze 1 created: analysis freeze 1 'interim' (SHA-256 ")
    first = _report(run, tmp_path / "first", "--freeze", 1, formats="json,html,docx")
    with Store.open(db) as store:
        relapse = store.load_registry(["P1"]).records("relapse")[0]
        store.edit_record(relapse.model_copy(update={"marrow_blasts_pct": 90.0, "site_cns": False}), actor="dm")
        store.delete_record("patient", "P3", actor="dm")
    again = _report(run, tmp_path / "again", "--freeze", 1, formats="json,html,docx")
    live = _report(run, tmp_path / "live")
    assert again == first
    assert live["results.json"] != first["results.json"]
    results = json.loads(first["results.json"])
    sha = json.loads(run("freeze", "show", 1)[1])["content_sha256"]
    assert results["meta"]["freeze"]["freeze_id"] == 1 and results["meta"]["freeze"]["content_sha256"] == sha
    assert results["meta"]["n_patients"] == 3 and json.loads(live["results.json"])["meta"]["n_patients"] == 2
    html = first["report.html"].decode()
    assert f"analysis freeze 1 (SHA-256 {sha})" in html  # the line under the title
    assert f'@bottom-left {{ content: "Analysis freeze 1, SHA-256 {sha}"' in html  # every PDF page's footer
    assert f"The analysis used analysis freeze 1 (&#39;interim&#39;" in html  # the methods
    assert "freeze" not in json.loads(live["results.json"])["meta"]


def test_the_report_states_acknowledged_warnings_as_frozen(db, run, tmp_path):
    query_id = int(run("queries", "list")[1].split()[0])
    run("queries", "acknowledge", query_id, "--reason", "confirmed", "--by", "dm")
    run("freeze", "create", "--name", "with ack", "--by", "inv")
    with Store.open(db) as store:  # corrected after the freeze: the live report no longer has it
        event = store.load_registry(["P1"]).records("adverse_event")[0]
        store.edit_record(event.model_copy(update={"grade": 1}), actor="dm")
    frozen = json.loads(_report(run, tmp_path / "frozen", "--freeze", 1, formats="json,html")["results.json"])["meta"]
    live = json.loads(_report(run, tmp_path / "live")["results.json"])["meta"]
    assert frozen["data_queries"]["acknowledged_warnings"] == 1 and frozen["data_queries"]["open"] == 0
    assert live["data_queries"] == {
        "open": 0,
        "acknowledged": 0,
        "resolved": 1,
        "acknowledged_warnings": 0,
        "open_manual": 0,
    }
    html = (tmp_path / "frozen" / "report.html").read_text()
    assert "Data quality: 1 validation warning was acknowledged by the data manager and not corrected" in html


def test_freeze_as_of_is_the_data_cutoff_of_the_analysis(db, run, tmp_path):
    run("freeze", "create", "--name", "cut", "--as-of", "2021-09-01", "--by", "inv")
    run("freeze", "create", "--name", "uncut", "--by", "inv")
    cut = json.loads(_report(run, tmp_path / "cut", "--freeze", 1)["results.json"])["meta"]
    uncut = json.loads(_report(run, tmp_path / "uncut", "--freeze", 2)["results.json"])["meta"]
    assert (cut["as_of"], cut["data_cutoff"]) == ("2021-09-01", "2021-09-01")
    assert uncut["as_of"] is None and uncut["data_cutoff"] == "2023-06-07"  # the latest last contact recorded


def test_freeze_list_show_verify_and_errors(db, run):
    assert run("freeze", "create", "--name", "C1", "--centers", "C1", "--by", "inv")[0] == 0
    code, out, _ = run("freeze", "list")
    assert code == 0 and "'C1'  C1  sha256:" in out and out.startswith("   1  ")
    shown = json.loads(run("freeze", "show", 1)[1])
    assert shown["centers"] == ["C1"] and shown["record_counts"]["patient"] == 2 and "content" not in shown
    code, out, _ = run("freeze", "verify", 1)
    assert code == 0 and out.strip() == f"freeze 1: OK sha256:{shown['content_sha256']}"
    assert_user_error(run("freeze", "create", "--name", "x", "--centers", "C7", "--by", "inv"), "no stored center 'C7'")
    assert_user_error(run("freeze", "show", 5), "no analysis freeze with id 5")
    assert_user_error(run("report", "--freeze", 5, "--out", "unused"), "no analysis freeze with id 5")
    code, _, err = run("freeze", "create", "--name", "x", "--as-of", "2021-13-01", "--by", "inv")
    assert code == 2 and "is not a date" in err
