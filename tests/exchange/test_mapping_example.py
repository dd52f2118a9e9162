"""Acceptance: the example center sheet (tests/data/center_sheet.xlsx, written by make_center_sheet.py)
goes in through `blinareg map suggest` + the reviewed mapping (tests/data/center_mapping.toml) with no
value invented, and the numbers of its analysis are the ones worked out by hand from the sheet.
"""

from __future__ import annotations

import datetime as dt
import tomllib
from pathlib import Path

import numpy as np
import pytest

from blinareg.cli.main import main
from blinareg.derive import derive
from blinareg.exchange.mapping import (
    apply_mapping,
    load_mapping,
    parse_mapping,
    read_mapped,
    read_sheets,
)
from blinareg.exchange.suggest import suggest_column, suggest_mapping
from blinareg.records.problems import Severity
from blinareg.records.validation import validate
from blinareg.stats import kaplan_meier
from tests.data import make_center_sheet

DATA = Path(__file__).parents[1] / "data"
SHEET = DATA / "center_sheet.xlsx"
MAPPING = DATA / "center_mapping.toml"


def test_committed_sheet_is_what_the_generator_writes(tmp_path):
    assert make_center_sheet.write(tmp_path / "sheet.xlsx").read_bytes() == SHEET.read_bytes()


def test_suggest_drafts_the_mapping_from_names_and_values():
    draft = suggest_mapping(SHEET)
    mapping = parse_mapping(tomllib.loads(draft), "draft.toml")  # the draft itself is a valid mapping
    rules = {(r.column, r.instance): r for r in mapping.rules}
    assert mapping.id_columns == {"Patients": "Study ID"}
    assert rules[("Sex", None)].values == {"m": "male", "f": "female"}
    assert rules[("Donor", 1)].values["haplo"] == "haploidentical"
    assert rules[("Cytogenetics", None)].values["bcr-abl1"] == "BCR::ABL1"
    assert rules[("Cytogenetics", None)].values["normal"] == {}  # no lesion: no record, not a made-up one
    assert rules[("Status at HSCT", 1)].values["cr3"] == "CR3+"
    assert rules[("Conditioning", 1)].values["n/k"] == "unknown"
    mrd = rules[("MRD C1", None)]
    assert (mrd.field, mrd.unit, mrd.when_number) == ("fraction", "percent", {"detected": True})
    assert mrd.values["neg"] == {"detected": False}
    assert mrd.values["<0.01%"] == {"detected": False, "sensitivity": 0.0001}
    assert rules[("cycle1_dose", 1)].step_days == (1, 8)  # '5->15'
    assert rules[("DOB", None)].date_format == "DD.MM.YYYY"
    assert rules[("Last contact", None)].date_format == "DD/MM/YYYY"
    assert rules[("cycle1_start", 1)].date_format is None  # real date cells need no format
    assert (rules[("relapse2_date", 2)].record_type, rules[("relapse2_site", 2)].values["bm"]) == (
        "relapse",
        {"site_bone_marrow": True},
    )
    assert rules[("WBC at dx (/µl)", None)].unit == "/uL"
    assert mapping.ignored == {"Patients": frozenset({"Comment"})}
    ambiguous = suggest_column("relapse1_date", ["01/02/2020", "03/04/2020"])  # day/month or month/day?
    assert ambiguous.confidence == "partial" and any(n.startswith("CHECK: every date reads") for n in ambiguous.notes)
    american = suggest_column("relapse1_date", ["01/02/2020", "12/31/2020"])
    assert american.options["date_format"] == "MM/DD/YYYY"
    assert '# "mrd_assessment.method" = "flow"' in draft  # not in the sheet: left for the data manager


def test_unreviewed_draft_says_what_is_missing_instead_of_inventing(tmp_path):
    draft = tmp_path / "draft.toml"
    draft.write_text(suggest_mapping(SHEET), encoding="utf-8")
    result = read_mapped(SHEET, draft)
    reasons = {(p.record_type, p.field) for p in result.problems if p.severity is Severity.ERROR}
    assert ("patient", "center_id") in reasons  # the center is not in the sheet
    assert ("mrd_assessment", "method") in reasons and ("adverse_event", "grading_system") in reasons
    assert ("dose_segment", "unit") in reasons
    assert result.registry.counts()["patient"] == 0  # nothing half-read


def test_reviewed_mapping_differs_from_the_draft_only_in_reviewed_lines():
    draft = suggest_mapping(SHEET).splitlines()
    reviewed = MAPPING.read_text(encoding="utf-8").splitlines()
    added = [line for line in reviewed if line not in draft]
    assert added and all(
        "reviewed" in line
        or "REVIEWED" in line
        or not line.strip()
        or line.startswith(("[[column]]", "column = ", "field = ", "date_format = ", "#"))
        for line in added
    ), added


def _registry():
    # The sheet imports as it is: 'n/k' conditioning is the code unknown, '2014' a year-only date and MRD
    # 'pos' without a fraction a detected result whose fraction is unknown.
    result = read_mapped(SHEET, MAPPING)
    assert [p for p in result.problems if p.severity is Severity.ERROR] == []
    return result


def test_example_sheet_numbers_worked_out_by_hand():
    result = _registry()
    registry = result.registry
    assert [str(p) for p in validate(registry) if p.severity is Severity.ERROR] == []
    counts = registry.counts()
    # 30 rows = 30 patients of one center; 15 lesions (rows with BCR-ABL1, KMT2A or ETV6-RUNX1: number % 6 in
    # 1, 2, 3 -> 5 each); relapses: 18 R/R patients x 1 before blinatumomab + HD-03's earlier one + HD-07 and
    # HD-26 after it = 21; cycles: 30 first + 24 second (every CR/CRi patient) = 54; dose segments: 18 R/R first
    # cycles x 2 steps (5->15) + 12 MRD first cycles + 24 second cycles = 72; MRD results: the 24 CR/CRi rows;
    # CRS grade > 0: rows 1, 2, 5, 9, 15, 17, 19, 23 = 8; HSCT: rows 1, 2, 3, 9, 19, 20 = 6; deaths: 7.
    assert {
        k: counts[k]
        for k in (
            "center",
            "patient",
            "genetic_finding",
            "relapse",
            "blinatumomab_cycle",
            "dose_segment",
            "mrd_assessment",
            "adverse_event",
            "hsct",
            "death",
        )
    } == {
        "center": 1,
        "patient": 30,
        "genetic_finding": 15,
        "relapse": 21,
        "blinatumomab_cycle": 54,
        "dose_segment": 72,
        "mrd_assessment": 24,
        "adverse_event": 8,
        "hsct": 6,
        "death": 7,
    }
    # 0 invented values: no body measurement, treatment line or interruption (the sheet has none), no
    # resolution date for CRS, no frontline dates.
    assert counts["body_measurement"] == counts["treatment_line"] == counts["interruption"] == 0
    assert registry["adverse_event"]["resolution_date"].isna().all()
    # The step-up: HD-01 starts 2019-01-24 -> 5 mcg/m2/day days 1-7 (to 01-30), 15 from day 8 (01-31) to 02-20.
    steps = registry["dose_segment"].query("patient_id == 'HD-01' and cycle_number == 1").sort_values("start_date")
    assert [
        (str(a.date()), str(b.date()), d)
        for a, b, d in steps[["start_date", "end_date", "dose"]].itertuples(index=False)
    ] == [("2019-01-24", "2019-01-30", 5.0), ("2019-01-31", "2019-02-20", 15.0)]
    # Units: WBC 3500 /µl -> 3.5 x10^9/L; MRD '0.5%' (HD-08) -> fraction 0.005; blasts '2%' and 1.5 stay percent.
    diagnosis = registry["diagnosis"].set_index("patient_id")
    assert diagnosis.loc["HD-01", "wbc_per_nl"] == 3.5
    mrd = registry["mrd_assessment"].set_index("patient_id")
    assert mrd.loc["HD-08", "fraction"] == 0.005 and bool(mrd.loc["HD-08", "detected"])
    assert not bool(mrd.loc["HD-05", "detected"]) and mrd.loc["HD-05", "sensitivity"] == 0.0001
    response = registry["response_assessment"].set_index("patient_id")
    assert response.loc["HD-01", "marrow_blasts_pct"] == 2.0 and response.loc["HD-02", "marrow_blasts_pct"] == 1.5
    assert registry["hsct"].set_index("patient_id").loc["HD-01", "donor_type"] == "haploidentical"
    assert registry["patient"].set_index("patient_id").loc["HD-01", "birth_date"] == np.datetime64("2007-02-08")

    dataset = derive(registry)
    patients = dataset.patients.set_index("patient_id")
    # Response after cycle 1: CR in rows 1-10 and 19-30 (22), CRi in 11-12 (2); CR/CRi 24 of 30.
    assert (patients["best_response"] == "cr").sum() == 22 and (patients["best_response"] == "cri").sum() == 2
    assert int(patients["cr_achieved"].sum()) == 24
    # Indication: 18 R/R, 12 MRD-positive.
    assert patients["indication_group"].value_counts().to_dict() == {"relapsed_refractory": 18, "mrd_clearance": 12}
    # Flow MRD negative after cycle 1: 'neg' (rows 1-4, 19-22, 28: 9) + '<0.01%' (5, 6, 23-25, 29: 6) = 15 of the
    # 24 assessed; positive: 7 with a fraction + the two 'pos' without one (HD-07, HD-26), stored as detected
    # with the fraction unknown, which the MRD rule counts as positive (detected, not quantified) = 9.
    flow = patients["mrd_negative_after_cycle1_flow"]
    assert int(flow.sum()) == 15 and int((flow == False).sum()) == 9  # noqa: E712 (a nullable boolean)
    assert int(flow.notna().sum()) == 24
    # OS at 12 months from the first blinatumomab day. Deaths at days 60 (HD-15), 90 (HD-17), 150 (HD-16),
    # 200 (HD-18), 250 (HD-13), 300 (HD-09); HD-14 censored at day 100; everyone else followed > 400 days.
    # S = 29/30 * 28/29 * (censoring at 100 leaves 27) 26/27 * 25/26 * 24/25 * 23/24 = (28/30)(23/27) = 644/810.
    os_rows = dataset.time_to_event.query("PARAMCD == 'OS'")
    assert len(os_rows) == 30 and int((os_rows["CNSR"] == 0).sum()) == 7
    fit = kaplan_meier(os_rows["AVAL"].to_numpy(), 1 - os_rows["CNSR"].to_numpy())
    at_365 = fit.survival[np.searchsorted(fit.time, 365.0, side="right") - 1]
    assert at_365 == pytest.approx(644 / 810, abs=1e-12)


def test_example_sheet_imports_as_it_is_through_the_cli(tmp_path, capsys):
    url = f"sqlite:///{tmp_path / 'registry.sqlite'}"

    def run(*args: str) -> int:
        try:
            main(list(args))
        except SystemExit as error:
            return error.code if isinstance(error.code, int) else 1
        return 0

    assert run("init", "--database", url) == 0
    code = run("import", str(SHEET), "--map", str(MAPPING), "--database", url)
    out, err = capsys.readouterr()
    assert code == 0, err
    assert "imported 30 patient(s)" in out
    from blinareg.store import Store

    with Store.open(url) as store:
        registry = store.load_registry()
    assert len(registry["patient"]) == 30
    hsct = registry["hsct"].set_index("patient_id")
    # Stored as such, not as a made-up regimen: the field empty, its missing-data code 'unknown'.
    assert hsct.loc["HD-03", "conditioning"] is None and str(hsct.loc["HD-03", "conditioning_missing"]) == "unknown"
    diagnosis = registry["diagnosis"].set_index("patient_id")
    assert str(diagnosis.loc["HD-05", "diagnosis_date_precision"]) == "year"  # '2014': a year, not a day
    assert dt.date(2014, 1, 1) not in {d.date() for d in diagnosis.drop(index=["HD-05", "HD-06"])["diagnosis_date"]}
