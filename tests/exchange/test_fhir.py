"""FHIR export/import: bundles validate (fhir.resources, R4B models), codes are the sourced ones, the
hand-made registry's values land in the right elements, and import gives back the same registry."""

from __future__ import annotations

import json

import pandas as pd
import pytest
from fhir.resources.R4B.bundle import Bundle

from blinareg.errors import UserError
from blinareg.exchange import fhir
from blinareg.exchange.fhir import CODES, read_fhir, write_fhir
from blinareg.exchange.tabular import sorted_by_key
from blinareg.records.models import RECORD_MODELS
from tests.exchange.factories import full_registry

STANDARD_SYSTEMS = {fhir.SNOMED, fhir.LOINC, fhir.ICD10, fhir.ICDO3, fhir.RXNORM}


def _assert_same_registry(expected, actual) -> None:
    for model in RECORD_MODELS:
        pd.testing.assert_frame_equal(
            sorted_by_key(model, expected[model.record_type]),
            sorted_by_key(model, actual[model.record_type]),
            obj=model.record_type,
        )


@pytest.fixture(scope="module")
def synthetic():
    from blinareg.synth import generate

    return generate(120, seed=8)


@pytest.fixture(scope="module")
def hand_bundles():
    return dict(fhir.patient_bundles(full_registry()))


def _resources(bundle, resource_type=None, record_type=None):
    out = [e["resource"] for e in bundle["entry"]]
    if resource_type:
        out = [r for r in out if r["resourceType"] == resource_type]
    if record_type:
        out = [r for r in out if fhir._record_type(r) == record_type]
    return out


def _ext(resource, record_type, name):
    return fhir._extensions_of(resource, record_type).get(name)


def test_every_bundle_validates_and_uses_only_sourced_codes(tmp_path, synthetic):
    out, count = write_fhir(synthetic, tmp_path / "fhir")
    assert count == 120
    sourced = {(system, code) for system, code, _, _ in CODES.values()}
    files = [out / "organizations.json", *sorted((out / "patients").glob("*.json"))]
    assert len(files) == 121
    seen = set()
    for file in files:
        text = file.read_text(encoding="utf-8")
        Bundle.model_validate_json(text)  # raises on any element fhir.resources does not accept

        def walk(node):
            if isinstance(node, dict):
                if node.get("system") in STANDARD_SYSTEMS and "code" in node:
                    seen.add((node["system"], node["code"]))
                for value in node.values():
                    walk(value)
            elif isinstance(node, list):
                for value in node:
                    walk(value)

        walk(json.loads(text))
    assert seen <= sourced, seen - sourced
    assert {
        ("http://snomed.info/sct", "277571004"),
        ("http://loinc.org", "97509-4"),
        ("http://snomed.info/sct", "260415000"),
    } <= seen


def test_hand_made_registry_values_in_their_elements(hand_bundles):
    p1, p2 = hand_bundles["P1"], hand_bundles["P2"]
    patient = _resources(p1, "Patient")[0]
    assert (patient["gender"], patient["birthDate"]) == ("male", "2010-03-01")
    assert patient["meta"]["profile"] == [fhir.MCODE + "mcode-cancer-patient"]
    assert "deceasedDateTime" not in patient and _ext(patient, "follow_up", "vital_status") == "alive"
    assert _resources(p2, "Patient")[0]["deceasedDateTime"] == "2021-03-03"
    assert _ext(_resources(p2, "Patient")[0], "death", "cause") == "infection"
    diagnosis = _resources(p1, record_type="diagnosis")[0]
    assert diagnosis["onsetDateTime"] == "2015-01-10"
    assert diagnosis["code"]["coding"][0]["code"] == "277571004"
    findings = _resources(p1, record_type="genetic_finding")
    assert sorted(f["valueCodeableConcept"]["coding"][0]["code"] for f in findings) == ["ETV6::RUNX1", "other"]
    assert {d["reference"] for d in diagnosis["evidence"][0]["detail"]} == {f"urn:uuid:{f['id']}" for f in findings}
    relapses = {r["onsetDateTime"]: r for r in _resources(p1, record_type="relapse")}
    assert relapses["2018-05-02"]["clinicalStatus"]["coding"][0]["code"] == "relapse"
    assert [s["text"] for s in relapses["2018-05-02"]["bodySite"]] == ["bone marrow", "central nervous system"]
    # Flow MRD not detected at 1e-4 on 2018-06-29 (P1); RT-qPCR detected 1.2345678901234567e-05 (P2).
    flow = _resources(p1, record_type="mrd_assessment")[0]
    assert flow["valueCodeableConcept"]["coding"][0]["code"] == "260415000"
    assert flow["component"][0]["valueQuantity"]["value"] == 1e-4 and flow["effectiveDateTime"] == "2018-06-29"
    pcr = [
        m for m in _resources(p2, record_type="mrd_assessment") if m["method"]["coding"][0]["code"] == "rt_qpcr_fusion"
    ]
    assert pcr[0]["valueQuantity"]["value"] == 1.2345678901234567e-05
    cycle = _resources(p1, record_type="blinatumomab_cycle")[0]
    assert cycle["effectivePeriod"] == {"start": "2018-06-01", "end": "2018-06-28"}
    assert cycle["medicationCodeableConcept"]["coding"][0]["system"] == fhir.RXNORM
    segments = _resources(p1, record_type="dose_segment")
    assert [
        (s["effectivePeriod"]["start"], s["dosage"]["rateQuantity"]["value"], s["dosage"]["rateQuantity"]["code"])
        for s in segments
    ] == [("2018-06-01", 5.0, "ug/m2/d"), ("2018-06-08", 15.0, "ug/m2/d")]
    assert all(s["partOf"] == [{"reference": f"urn:uuid:{cycle['id']}"}] for s in segments)
    interruption = _resources(p1, record_type="interruption")[0]
    assert (interruption["status"], interruption["statusReason"][0]["text"]) == ("on-hold", "crs")
    crs = [a for a in _resources(p1, "AdverseEvent") if a["event"]["text"] == "crs"][0]
    assert (_ext(crs, "adverse_event", "grade"), _ext(crs, "adverse_event", "grading_system")) == (2, "astct")
    assert crs["seriousness"]["coding"][0]["code"] == "serious" and crs["date"] == "2018-06-02"
    assert crs["suspectEntity"][0]["instance"]["reference"] == f"urn:uuid:{cycle['id']}"
    response = _resources(p1, record_type="response_assessment")[0]
    assert response["code"]["coding"][0]["code"] == "97509-4"
    assert [c["code"] for c in response["valueCodeableConcept"]["coding"]] == ["103338009", "cr"]
    assert response["focus"] == [{"reference": f"urn:uuid:{diagnosis['id']}"}]
    hsct = _resources(p1, "Procedure")[0]
    assert hsct["performedDateTime"] == "2018-08-15" and _ext(hsct, "hsct", "remission_status") == "CR2"


@pytest.mark.parametrize("which", ["hand", "synthetic"])
def test_import_gives_back_the_same_registry(tmp_path, synthetic, which):
    registry = full_registry() if which == "hand" else synthetic
    out, _ = write_fhir(registry, tmp_path / "fhir")
    back, problems = read_fhir(out)
    assert problems == []
    _assert_same_registry(registry, back)
    again, _ = write_fhir(back, tmp_path / "again")
    for file in out.rglob("*.json"):
        assert (again / file.relative_to(out)).read_bytes() == file.read_bytes(), file


def test_import_problems_name_the_file_and_entry(tmp_path):
    out, _ = write_fhir(full_registry(), tmp_path / "fhir")
    p1 = out / "patients" / "P1.json"
    bundle = json.loads(p1.read_text(encoding="utf-8"))
    bundle["entry"][0]["resource"]["gender"] = "robot"
    bundle["entry"].append({"resource": {"resourceType": "Observation", "status": "final", "code": {"text": "x"}}})
    p1.write_text(json.dumps(bundle), encoding="utf-8")
    (out / "patients" / "P2.json").write_text("{ not json", encoding="utf-8")
    _, problems = read_fhir(out)
    text = [str(p) for p in problems]
    assert any("P2.json" in t and "cannot read the JSON" in t for t in text), text
    assert any("P1.json" in t and "has no urn:blinareg:<record_type> identifier" in t for t in text), text
    assert any("patient" in t and "'robot'" in t and "P1.json entry 1" in t for t in text), text
    with pytest.raises(UserError, match="a FHIR import is a folder"):
        read_fhir(tmp_path / "missing")


def test_failed_fhir_export_leaves_nothing(tmp_path, monkeypatch):
    registry = full_registry()

    def broken(registry):
        yield "P1", {"resourceType": "Bundle"}
        raise OSError(5, "Input/output error")

    monkeypatch.setattr(fhir, "patient_bundles", broken)
    with pytest.raises(UserError, match="cannot write: Input/output error"):
        write_fhir(registry, tmp_path / "fhir")
    assert list(tmp_path.iterdir()) == []


def test_cli_export_and_import_fhir(tmp_path, capsys):
    from blinareg.cli.main import main
    from blinareg.exchange import write_registry

    source = f"sqlite:///{tmp_path / 'a.sqlite'}"
    target = f"sqlite:///{tmp_path / 'b.sqlite'}"
    write_registry(full_registry(), tmp_path / "in", format="csv")
    for args in (
        ["init", "--database", source],
        ["import", tmp_path / "in", "--database", source],
        ["export", tmp_path / "fhir", "--format", "fhir", "--database", source],
        ["init", "--database", target],
        ["import", tmp_path / "fhir", "--format", "fhir", "--database", target],
        ["export", tmp_path / "out", "--database", target],
    ):
        main([str(a) for a in args])
    out = capsys.readouterr().out
    assert "exported 3 FHIR R4 Bundle(s)" in out and "imported 3 patient(s)" in out
    for file in (tmp_path / "in").iterdir():
        assert (tmp_path / "out" / file.name).read_bytes() == file.read_bytes(), file.name


def test_resource_ids_are_name_based_uuids_of_the_record_keys(hand_bundles):
    import uuid

    for bundle in hand_bundles.values():
        for resource in _resources(bundle):
            record_type = fhir._record_type(resource)
            key = next(i["value"] for i in fhir._identifiers(resource) if i["system"] == f"urn:blinareg:{record_type}")
            assert resource["id"] == str(uuid.uuid5(fhir._NAMESPACE, f"{record_type}|{key}"))
    for name in ("", "bundle|patient|P1", "\u00e9|x"):
        assert fhir._uuid5(name) == str(uuid.uuid5(fhir._NAMESPACE, name))


def test_bundle_files_are_the_compact_json_of_the_bundles(tmp_path, synthetic):
    write_fhir(synthetic, tmp_path / "fhir")
    for patient_id, bundle in fhir.patient_bundles(synthetic):
        text = (tmp_path / "fhir" / "patients" / f"{patient_id}.json").read_text(encoding="utf-8")
        assert text == json.dumps(bundle, separators=(",", ":")) + "\n"
