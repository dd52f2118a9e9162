"""De-identified export: keyed pseudonyms, per-patient date shifts that keep every interval, no free text,
ages 90+ grouped, the disclosure check, no stored identifier in any export format, and the same analysis."""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
import stat

import pandas as pd
import pytest

from blinareg.derive import derive
from blinareg.errors import UserError
from blinareg.exchange.deidentify import (
    DAYS_ORIGIN,
    FREE_TEXT,
    deidentify,
    disclosure_risks,
    load_or_create_key,
    pseudonym,
)
from blinareg.records.models import RECORD_MODELS, Diagnosis, FollowUp, Patient
from blinareg.records.registry import Registry, columns
from blinareg.records.validation import validate
from tests.exchange.factories import full_records, full_registry

KEY = bytes(range(32))


@pytest.fixture(scope="module")
def synthetic():
    from blinareg.synth import generate

    return generate(150, seed=11)


def _dates_by_patient(registry: Registry) -> dict[str, list[pd.Timestamp]]:
    out: dict[str, list] = {}
    for model in RECORD_MODELS:
        frame = registry[model.record_type]
        if "patient_id" not in frame.columns:
            continue
        for column in columns(model):
            if str(frame[column.name].dtype).startswith("datetime64"):
                for pid, day in zip(frame["patient_id"], frame[column.name]):
                    out.setdefault(pid, []).append(day)
    return out


def test_pseudonyms_are_keyed_hmacs():
    expected = "P-" + hmac.new(KEY, b"patient|P1", hashlib.sha256).hexdigest()[:16]
    assert pseudonym(KEY, "patient", "P1") == expected
    assert pseudonym(KEY, "patient", "P1") == pseudonym(bytes(KEY), "patient", "P1")  # same key, same pseudonym
    assert pseudonym(b"another key of 16+ bytes", "patient", "P1") != expected
    released = deidentify(full_registry(), KEY)
    assert sorted(released["patient"]["patient_id"]) == sorted(pseudonym(KEY, "patient", p) for p in ("P1", "P2", "P3"))
    assert released["center"][["center_id", "name"]].values.tolist() == [[pseudonym(KEY, "center", "C1")] * 2]
    assert released["center"]["country"].tolist() == ["DE"]


def test_date_shift_is_one_nonzero_offset_per_patient(synthetic):
    released = deidentify(synthetic, KEY)
    before, after = _dates_by_patient(synthetic), _dates_by_patient(released)
    offsets = set()
    for pid, days in before.items():
        moved = after[pseudonym(KEY, "patient", pid)]
        shifts = {(b - a).days for a, b in zip(days, moved) if pd.notna(a)}
        assert len(shifts) == 1, pid  # every date of the patient moves by the same number of days
        shift = shifts.pop()
        assert 1 <= abs(shift) <= 365
        offsets.add(shift)
    assert len(offsets) > 50  # offsets differ between patients
    assert deidentify(synthetic, KEY)["patient"].equals(released["patient"])  # same key, same offsets


def test_days_mode_puts_every_diagnosis_on_the_origin(synthetic):
    released = deidentify(synthetic, KEY, dates="days")
    assert (released["diagnosis"]["diagnosis_date"] == DAYS_ORIGIN).all()
    assert not [p for p in validate(released) if p.severity == "error"]


def test_free_text_removed_and_registry_still_valid():
    released = deidentify(full_registry(), KEY)
    for (record_type, name), replacement in FREE_TEXT.items():
        values = set(released[record_type][name].dropna())
        assert values <= ({replacement} if replacement else set()), (record_type, values)
    assert released["genetic_finding"]["detail"].dropna().tolist() == ["removed"]  # lesion "other" needs a detail
    assert not [p for p in validate(released) if p.severity == "error"]


def test_ages_of_90_and_over_become_90():
    records = [r for r in full_records() if getattr(r, "patient_id", None) != "P3"]
    records += [
        Patient(patient_id="P3", center_id="C1", sex="female", birth_date=dt.date(1925, 6, 1)),
        Diagnosis(patient_id="P3", diagnosis_date=dt.date(2021, 1, 4)),
        FollowUp(patient_id="P3", last_contact_date=dt.date(2022, 2, 2), vital_status="alive"),
    ]
    released = deidentify(Registry.from_records(records), KEY).tables
    old = released["patient"].set_index("patient_id").loc[pseudonym(KEY, "patient", "P3")]
    diagnosis = released["diagnosis"].set_index("patient_id").loc[pseudonym(KEY, "patient", "P3"), "diagnosis_date"]
    # Born 1925-06-01, diagnosed 2021-01-04 at 95: now exactly 90 at the (shifted) diagnosis.
    assert old["birth_date"] == diagnosis - pd.DateOffset(years=90)
    young = released["patient"].set_index("patient_id").loc[pseudonym(KEY, "patient", "P1"), "birth_date"]
    young_dx = released["diagnosis"].set_index("patient_id").loc[pseudonym(KEY, "patient", "P1"), "diagnosis_date"]
    assert (young_dx - young).days == (dt.date(2015, 1, 10) - dt.date(2010, 3, 1)).days  # unchanged below 90


def test_disclosure_check_lists_small_combinations():
    released = deidentify(full_registry(), KEY)
    risks = disclosure_risks(released, k=5)
    # Three patients, each alone in its combination: P1 male 4 y (2015), P2 female 14 y (2020), P3 unknown 19 y.
    assert sorted((r.sex, r.age_group, r.patients) for r in risks) == [
        ("female", "10-14", 1),
        ("male", "1-4", 1),
        ("unknown", "18-29", 1),
    ]
    assert disclosure_risks(released, k=2) == risks
    with pytest.raises(UserError, match="--k"):
        disclosure_risks(released, k=1)


def test_key_file_created_private_reused_and_kept_outside(tmp_path):
    key, created = load_or_create_key(tmp_path / "keys" / "site.key")
    assert created and len(key) == 32
    assert stat.S_IMODE((tmp_path / "keys" / "site.key").stat().st_mode) == 0o600
    assert load_or_create_key(tmp_path / "keys" / "site.key") == (key, False)
    (tmp_path / "short.key").write_bytes(b"abc")
    with pytest.raises(UserError, match="at least 16 bytes"):
        load_or_create_key(tmp_path / "short.key")
    with pytest.raises(UserError, match="inside the export folder"):
        load_or_create_key(tmp_path / "out" / "site.key", export_dir=tmp_path / "out")


def stored_identifiers(registry: Registry) -> set[str]:
    found = (
        set(registry["patient"]["patient_id"]) | set(registry["center"]["center_id"]) | set(registry["center"]["name"])
    )
    for (record_type, name), _ in FREE_TEXT.items():
        if name != "target":  # MRD targets are gene names that also appear as codes (e.g. BCR::ABL1)
            found |= {v for v in registry[record_type][name].dropna() if len(v) >= 6}
    return found


@pytest.mark.parametrize("format_", ["csv", "adam", "fhir", "omop"])
def test_no_stored_identifier_in_any_deidentified_export(tmp_path, synthetic, format_):
    from blinareg.exchange import write_registry
    from blinareg.exchange.adam import write_adam
    from blinareg.exchange.fhir import write_fhir
    from blinareg.exchange.omop import write_omop

    released = deidentify(synthetic, KEY)
    out = tmp_path / "out"
    if format_ == "csv":
        write_registry(released, out, format="csv")
    elif format_ == "adam":
        write_adam(released, derive(released), out)
    elif format_ == "fhir":
        write_fhir(released, out)
    else:
        write_omop(released, out)
    text = "\n".join(
        p.read_text(encoding="utf-8")
        for p in sorted(out.rglob("*"))
        if p.is_file() and p.suffix in (".csv", ".json", ".md")
    )
    identifiers = stored_identifiers(synthetic)
    assert len(identifiers) > 150
    assert [i for i in identifiers if i in text] == []
    # No patient's true birth date or diagnosis date is in that patient's released record.
    births = synthetic["patient"].set_index("patient_id")["birth_date"]
    moved = released["patient"].set_index("patient_id")["birth_date"]
    assert all(moved[pseudonym(KEY, "patient", pid)] != day for pid, day in births.items())
    if format_ == "fhir":
        for pid, day in births.items():
            bundle = json.loads((out / "patients" / f"{pseudonym(KEY, 'patient', pid)}.json").read_text())
            assert day.strftime("%Y-%m-%d") not in json.dumps(bundle)


def test_analysis_of_the_deidentified_export_equals_the_original(synthetic):
    from blinareg.report.analyses import analyse
    from blinareg.report.config import ReportConfig
    from blinareg.report.results import to_json

    config = ReportConfig(by="indication_group", sections=frozenset({"outcomes", "response", "safety", "exposure"}))
    original = to_json(analyse(derive(synthetic), config).results)  # as in results.json
    released = to_json(analyse(derive(deidentify(synthetic, KEY)), config).results)
    for section in ("outcomes", "response", "safety", "exposure"):
        assert _canonical(released[section]) == _canonical(original[section]), section


def _canonical(value):
    """Lists of records in a fixed order: rows that tie in the report's sort (e.g. dose steps with equal
    patient counts) follow the patient ids, which the pseudonyms change."""
    if isinstance(value, dict):
        return {key: _canonical(item) for key, item in value.items()}
    if isinstance(value, list):
        items = [_canonical(item) for item in value]
        if items and all(isinstance(item, dict) for item in items):
            return sorted(items, key=lambda item: json.dumps(item, sort_keys=True))
        return items
    return value


def test_cli_deidentified_adam_export(tmp_path, capsys):
    from blinareg.cli.main import main
    from blinareg.exchange import write_registry

    url = f"sqlite:///{tmp_path / 'r.sqlite'}"
    write_registry(full_registry(), tmp_path / "in", format="csv")
    main(["init", "--database", url])
    main(["import", str(tmp_path / "in"), "--database", url])
    main(
        [
            "export",
            str(tmp_path / "adam"),
            "--format",
            "adam",
            "--deidentify",
            "--key-file",
            str(tmp_path / "site.key"),
            "--database",
            url,
        ]
    )
    captured = capsys.readouterr()
    assert "created the key" in captured.err and "3 combination(s)" in captured.err
    adsl = (tmp_path / "adam" / "adsl.csv").read_text(encoding="utf-8")
    assert "P-" in adsl and ",P1," not in adsl and "Synthetic Center 1" not in adsl
    assert (tmp_path / "adam" / "disclosure.csv").read_text(encoding="utf-8").count("\n") == 4
    with pytest.raises(SystemExit) as exit_:
        main(
            [
                "export",
                str(tmp_path / "adam2"),
                "--format",
                "adam",
                "--deidentify",
                "--key-file",
                str(tmp_path / "adam2" / "k.key"),
                "--database",
                url,
            ]
        )
    assert exit_.value.code == 2 and "inside the export folder" in capsys.readouterr().err
