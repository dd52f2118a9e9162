"""The statistician's and investigator's data-out routes (issues #11, #13): the de-identified export of the
caller's centers as a zip, and the outcomes report's results.json; on SQLite and PostgreSQL."""

from __future__ import annotations

import io
import json
import os
import re
import stat
import zipfile

import pandas as pd
import pytest

from blinareg.derive import derive
from blinareg.exchange.deidentify import DATES_TO_YEARS_NOTE, _shift_days, dates_to_years, pseudonym
from blinareg.report import build_report
from blinareg.report.render import results_json
from tests.exchange.test_deidentify import stored_identifiers
from tests.web.conftest import OTHER, OWN

EXPORT = "/api/v1/exports/deidentified"
RESULTS = "/api/v1/analysis/results"
KEY = bytes(range(32))
ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


def _zip_texts(body: bytes) -> dict[str, str]:
    with zipfile.ZipFile(io.BytesIO(body)) as archive:
        # latin-1 reads every byte (the SAS transport files too) without hiding any ASCII identifier.
        return {name: archive.read(name).decode("latin-1") for name in archive.namelist()}


def _key() -> bytes:
    with open(os.environ["BLINAREG_DEID_KEY_FILE"], "rb") as handle:
        return handle.read()


def _fixed_key() -> bytes:
    """The server's key file, made here with a fixed key (the route reuses it): a deterministic test."""
    path = os.environ["BLINAREG_DEID_KEY_FILE"]
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600), "wb") as handle:
        handle.write(KEY)
    return KEY


def _true_dates(registry, only: tuple[str, ...] | None = None) -> dict[str, set[str]]:
    """patient_id -> every date stored in that patient's records (ISO text), or only the `only` fields."""
    found: dict[str, set[str]] = {}
    for frame in registry.tables.values():
        if "patient_id" not in frame.columns:
            continue
        for column in frame.columns:
            if column.endswith("_date") and (only is None or column in only):
                for pid, value in zip(frame["patient_id"], frame[column]):
                    if pd.notna(value):
                        found.setdefault(pid, set()).add(pd.Timestamp(value).strftime("%Y-%m-%d"))
    return found


@pytest.mark.parametrize("format_", ["csv", "adam", "omop"])
def test_statistician_gets_a_deidentified_zip_of_own_center_without_identifiers(web, format_):
    key = _fixed_key()
    answer = web.client("statistician").get(EXPORT, params={"format": format_})
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"] == "application/zip"
    texts = _zip_texts(answer.content)
    assert "disclosure.txt" in texts and texts["disclosure.txt"].startswith("disclosure check: ")
    everything = "\n".join(texts.values())
    identifiers = stored_identifiers(web.registry)
    assert {OWN, OTHER} <= identifiers and len(identifiers) > 50
    assert [i for i in sorted(identifiers) if i in everything] == []

    own = {pseudonym(key, "patient", pid): pid for pid in web.patients(OWN)}
    other = {pseudonym(key, "patient", pid) for pid in web.patients(OTHER)}
    assert [p for p in other if p in everything] == []  # another center's patients are not in it
    assert all(p in everything for p in own)
    # No line about a patient holds one of that patient's true dates, unless by chance it is also one of
    # their dates moved by their (nonzero) shift. ADaM adds derived dates (moved too, and any of them may
    # fall on a true date by chance): there, the dates that identify, birth and diagnosis.
    true_dates = _true_dates(web.registry, only=("birth_date", "diagnosis_date") if format_ == "adam" else None)
    lines_checked = 0
    for line in everything.splitlines():
        for released, pid in own.items():
            if released in line:
                lines_checked += 1
                shift = pd.Timedelta(days=_shift_days(key, pid))
                moved = {(pd.Timestamp(d) + shift).strftime("%Y-%m-%d") for d in true_dates[pid]}
                assert set(ISO_DATE.findall(line)) & true_dates[pid] <= moved, (format_, pid, line)
    assert lines_checked >= len(own)  # OMOP names the pseudonym in person.csv only (person_id elsewhere)


def test_the_patient_count_and_the_audit_row(web):
    answer = web.client("investigator").get(EXPORT, params={"format": "csv"})
    assert answer.status_code == 200
    patient_csv = pd.read_csv(io.StringIO(_zip_texts(answer.content)["patient.csv"]))
    assert len(patient_csv) == len(web.patients(OWN))
    entry = web.store.audit_entries(action="export")[-1]
    assert (entry.actor, entry.record_type) == ("investigator", "deidentified csv")
    assert entry.after == {"format": "csv", "patients": len(web.patients(OWN))}


def test_same_request_twice_gives_identical_bytes_and_the_key_stays_private(web):
    client = web.client("statistician")
    first = client.get(EXPORT, params={"format": "adam"})
    second = client.get(EXPORT, params={"format": "adam"})
    assert first.status_code == second.status_code == 200
    assert first.content == second.content
    key_file = os.environ["BLINAREG_DEID_KEY_FILE"]
    assert stat.S_IMODE(os.stat(key_file).st_mode) == 0o600
    key = _key()
    assert key.hex() not in first.content.hex() and not [n for n in _zip_texts(first.content) if "key" in n]


def test_an_unknown_format_is_refused(web):
    answer = web.client("statistician").get(EXPORT, params={"format": "fhir"})
    assert answer.status_code == 422


def test_without_a_key_file_setting_the_export_says_what_to_set(web, monkeypatch):
    monkeypatch.delenv("BLINAREG_DEID_KEY_FILE")
    answer = web.client("statistician").get(EXPORT)
    assert answer.status_code == 503 and "BLINAREG_DEID_KEY_FILE" in answer.json()["detail"]
    assert web.store.audit_entries(action="export") == []


@pytest.mark.parametrize("role", ["data_manager", "auditor"])
def test_data_manager_and_auditor_get_403(web, role):
    client = web.client(role)
    assert client.get(EXPORT).status_code == 403
    assert client.get(RESULTS).status_code == 403
    assert web.store.audit_entries(action="export") == []


@pytest.mark.parametrize("role", ["statistician", "investigator"])
def test_results_equal_build_report_of_the_same_centers(web, role):
    answer = web.client(role).get(RESULTS)
    assert answer.status_code == 200, answer.text
    own_registry = web.store.load_registry(web.patients(OWN))
    expected = json.loads(results_json(build_report(derive(own_registry))))
    if role == "statistician":  # the same, every calendar date reduced to its year (and said so)
        expected = dates_to_years(expected)
        expected["meta"]["deidentified"] = DATES_TO_YEARS_NOTE
    assert answer.json() == expected
    assert answer.json()["meta"]["n_patients"] == len(web.patients(OWN))
    assert not re.search(r"SYN-\d{6}", answer.text)
    entry = web.store.audit_entries(action="report")[-1]
    assert (entry.actor, entry.record_type) == (role, "analysis results")


def test_the_statisticians_results_hold_no_calendar_date_and_the_investigators_do(web):
    full = web.client("investigator").get(RESULTS).json()
    meta = full["meta"]
    assert ISO_DATE.fullmatch(meta["data_cutoff"]) and ISO_DATE.fullmatch(meta["accrual_first"])
    assert "deidentified" not in meta

    answer = web.client("statistician").get(RESULTS)
    # No date nor year-month (a DOI such as 10.1182/blood-2017-08-798322 is not a date and stays).
    assert not re.search(r"(?<![\w-])\d{4}-\d{2}(?![\w])", answer.text)
    assert "blood-2017-08-798322" in answer.text
    reduced = answer.json()["meta"]
    for field in ("data_cutoff", "accrual_first", "accrual_last"):
        assert reduced[field] == meta[field][:4], field
    assert "reduced to its year" in reduced["deidentified"] and "deidentification.md" in reduced["deidentified"]
    # Times from the origin, counts and estimates are the same numbers.
    assert answer.json()["meta"]["n_patients"] == meta["n_patients"]
    assert {k: v for k, v in answer.json().items() if k not in ("meta", "text")} == dates_to_years(
        {k: v for k, v in full.items() if k not in ("meta", "text")}
    )
    details = [e.after["dates"] for e in web.store.audit_entries(action="report")[-2:]]
    assert details == ["full", "years"]


def test_dates_to_years_reduces_every_calendar_date_and_nothing_else():
    value = {
        "cutoff": "2023-06-30",
        "stamp": "2023-06-30T12:01:02+00:00",
        "month": "2021-03",
        "text": ["between 2019-01-05 and 2020-12-31.", "groups 18-29, 2010-2019, n=2019, P-2019-01-05x"],
        "number": 20190105,
        "nested": ({"as_of": "2024-02-29"},),
    }
    assert dates_to_years(value) == {
        "cutoff": "2023",
        "stamp": "2023",
        "month": "2021",
        "text": ["between 2019 and 2020.", "groups 18-29, 2010-2019, n=2019, P-2019-01-05x"],
        "number": 20190105,
        "nested": [{"as_of": "2024"}],
    }
