"""HL7 FHIR R4 export and import: one Bundle (type collection) per patient, mCODE profiles where they apply.

Layout of an export folder (docs/fhir.md): `organizations.json` (a Bundle of the centers) and
`patients/<patient_id>.json` (one Bundle per patient). Each registry record becomes one resource:

| record | resource (profile) |
|---|---|
| center | Organization |
| patient (+ death, follow_up) | Patient (mCODE CancerPatient): gender, birthDate, deceasedDateTime |
| diagnosis | Condition (mCODE PrimaryCancerCondition): B-ALL (SNOMED CT, ICD-10, ICD-O-3), onset = diagnosis date, evidence = the genetic findings |
| genetic_finding | Observation (laboratory) |
| relapse | Condition, clinicalStatus `relapse`, bodySite = involved sites |
| body_measurement | Observation (vital-signs): body weight, body height (LOINC) |
| treatment_line | CarePlan |
| blinatumomab_cycle | MedicationAdministration (mCODE CancerRelatedMedicationAdministration), RxNorm blinatumomab |
| dose_segment | delivered: MedicationAdministration partOf the cycle (rate in UCUM); planned: MedicationRequest (plan) |
| interruption | MedicationAdministration, status on-hold, partOf the cycle |
| mrd_assessment | Observation (laboratory): fraction, or SNOMED CT "Not detected"; sensitivity as a component |
| response_assessment | Observation (mCODE CancerDiseaseStatus, LOINC 97509-4) |
| adverse_event | AdverseEvent: seriousness, suspect = the cycle; grade and grading system as extensions |
| hsct | Procedure |

Every resource carries an identifier whose system names its record type (`urn:blinareg:<record_type>`);
fields without a FHIR element are extensions `urn:blinareg:extension:<record_type>:<field>`, so that
`read_fhir` gives back the same registry. Codes are those we could source (docs/fhir.md lists each
source); a concept without a sourced code is text plus a blinareg code (`urn:blinareg:code:<vocabulary>`).
"""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import json
import os
import uuid
from collections import defaultdict
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from blinareg.errors import UserError
from blinareg.records.models import RECORD_MODELS, RECORD_TYPES
from blinareg.records.problems import Problem
from blinareg.records.registry import Registry, frame_to_dicts, parse_rows, storage_columns

__all__ = ["patient_bundles", "organizations_bundle", "write_fhir", "read_fhir", "CODES"]

MCODE = "http://hl7.org/fhir/us/mcode/StructureDefinition/"
SNOMED = "http://snomed.info/sct"
LOINC = "http://loinc.org"
UCUM = "http://unitsofmeasure.org"
ICD10 = "http://hl7.org/fhir/sid/icd-10"
ICDO3 = "http://terminology.hl7.org/CodeSystem/icd-o-3"
RXNORM = "http://www.nlm.nih.gov/research/umls/rxnorm"
OBS_CATEGORY = "http://terminology.hl7.org/CodeSystem/observation-category"
_NAMESPACE = uuid.UUID("5d0b7a4e-2f65-4b8e-9d1c-6b1f3c0a9e21")  # fixed: the same registry gives the same ids
_NAMESPACE_BYTES = _NAMESPACE.bytes

# Every standard code used, with where it was checked (docs/fhir.md repeats this table).
CODES = {
    "b_all_snomed": (
        SNOMED,
        "277571004",
        "B-cell acute lymphoblastic leukemia (disorder)",
        "mCODE STU4 example Condition primary-cancer-condition-brian-l",
    ),
    "b_all_icd10": (ICD10, "C91.0", "Acute lymphoblastic leukaemia", "SEER hematopoietic database, B-ALL/LBL NOS"),
    "b_all_icdo3": (ICDO3, "9811/3", "B lymphoblastic leukemia/lymphoma, NOS", "SEER hematopoietic database"),
    "blinatumomab_rxnorm_1": (RXNORM, "1597262", None, "openFDA NDC 55513-160 (BLINCYTO), openfda.rxcui"),
    "blinatumomab_rxnorm_2": (RXNORM, "1597267", None, "openFDA NDC 55513-160 (BLINCYTO), openfda.rxcui"),
    "disease_status": (LOINC, "97509-4", "Cancer disease progression", "mCODE CancerDiseaseStatus profile"),
    "full_remission": (SNOMED, "103338009", "In full remission (qualifier value)", "mCODE STU3 ConditionStatusTrendVS"),
    "partial_remission": (
        SNOMED,
        "103337004",
        "In partial remission (qualifier value)",
        "mCODE STU3 ConditionStatusTrendVS",
    ),
    "worsened": (SNOMED, "271299001", "Patient's condition worsened (finding)", "mCODE ConditionStatusTrendVS"),
    "not_detected": (
        SNOMED,
        "260415000",
        "Not detected (qualifier value)",
        "HL7 COVID-19 Library IG, Detected/Not-detected value set",
    ),
    "body_weight": (LOINC, "29463-7", "Body weight", "FHIR R4 vital signs profile (bodyweight)"),
    "body_height": (LOINC, "8302-2", "Body height", "FHIR R4 vital signs profile (bodyheight)"),
}
_RESPONSE_STATUS = {
    "cr": "full_remission",
    "crh": "full_remission",
    "cri": "full_remission",
    "pr": "partial_remission",
    "progression": "worsened",
}  # no_response: text only
_UCUM_RATE = {"mcg/day": "ug/d", "mcg/m2/day": "ug/m2/d"}
_SITES = {
    "site_bone_marrow": "bone marrow",
    "site_cns": "central nervous system",
    "site_testis": "testis",
    "site_other_extramedullary": "other extramedullary site",
}
_SAMPLES = {"BM": "bone marrow", "PB": "peripheral blood"}
_MRD_METHODS = {
    "flow": "flow cytometry",
    "rt_qpcr_fusion": "RT-qPCR of the fusion transcript",
    "ig_tcr_qpcr": "Ig/TCR qPCR",
    "ngs": "next-generation sequencing",
    "ihc": "immunohistochemistry",
}


def _coding(name: str) -> dict:
    system, code, display, _ = CODES[name]
    out = {"system": system, "code": code}
    if display:
        out["display"] = display
    return out


def _local(vocabulary: str, code: str, display: str | None = None) -> dict:
    out = {"system": f"urn:blinareg:code:{vocabulary}", "code": str(code)}
    if display:
        out["display"] = display
    return out


def _local_code(concept: dict | None, vocabulary: str) -> str | None:
    for coding in (concept or {}).get("coding", []):
        if coding.get("system") == f"urn:blinareg:code:{vocabulary}":
            return coding.get("code")
    return None


_B_ALL = {
    "coding": [_coding("b_all_snomed"), _coding("b_all_icd10"), _coding("b_all_icdo3")],
    "text": "B-cell acute lymphoblastic leukemia",
}
_BLINATUMOMAB = {
    "coding": [_coding("blinatumomab_rxnorm_1"), _coding("blinatumomab_rxnorm_2")],
    "text": "blinatumomab (BLINCYTO)",
}


# Elements that are the same in every resource of their kind, built once (the export makes millions of
# resources; nothing changes a resource's elements after it is built).
_LABORATORY = [{"coding": [{"system": OBS_CATEGORY, "code": "laboratory"}]}]
_VITAL_SIGNS = [{"coding": [{"system": OBS_CATEGORY, "code": "vital-signs"}]}]
_PROFILE_PATIENT = {"profile": [MCODE + "mcode-cancer-patient"]}
_PROFILE_PRIMARY_CANCER = {"profile": [MCODE + "mcode-primary-cancer-condition"]}
_PROFILE_MEDICATION = {"profile": [MCODE + "mcode-cancer-related-medication-administration"]}
_PROFILE_DISEASE_STATUS = {"profile": [MCODE + "mcode-cancer-disease-status"]}
_CONFIRMED = {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/condition-ver-status", "code": "confirmed"}]}
_RELAPSE_STATUS = {
    "coding": [{"system": "http://terminology.hl7.org/CodeSystem/condition-clinical", "code": "relapse"}]
}
_GENETIC_LESION_CODE = {"text": "Genetic lesion of the leukemia at diagnosis"}
_BODY_WEIGHT_CODE = {"coding": [_coding("body_weight")]}
_BODY_HEIGHT_CODE = {"coding": [_coding("body_height")]}
_DISEASE_STATUS_CODE = {"coding": [_coding("disease_status")]}
_NOT_DETECTED = {"coding": [_coding("not_detected")], "text": "not detected"}
_SENSITIVITY_CODE = {
    "coding": [_local("mrd", "sensitivity", "Assay sensitivity")],
    "text": "Assay sensitivity (fraction of cells)",
}
_HSCT_CODE = {"coding": [_local("procedure", "hsct")], "text": "Hematopoietic stem cell transplantation"}
_SERIOUSNESS = {
    serious: {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/adverse-event-seriousness", "code": code}]}
    for serious, code in ((True, "serious"), (False, "non-serious"))
}


def _iso(value: Any) -> str | None:
    return None if value is None else value.isoformat()


def _key(record_type: str, row: dict) -> str:
    return "|".join([str(row[name]) for name in _KEY_FIELDS[record_type]])


_KEY_FIELDS = {record_type: model.key for record_type, model in RECORD_TYPES.items()}


# The hex digit that carries the RFC 4122 variant, for each first hex digit of byte 8 of the hash.
_VARIANT_DIGIT = {digit: "89ab"[int(digit, 16) & 0x3] for digit in "0123456789abcdef"}


def _uuid5(name: str) -> str:
    """str(uuid.uuid5(_NAMESPACE, name)) straight from the SHA-1 hex digest (no UUID object, no byte
    fiddling: the export names every one of its millions of resources so)."""
    text = hashlib.sha1(_NAMESPACE_BYTES + name.encode("utf-8")).hexdigest()
    # hex digit 12 holds the version (5), hex digit 16 the variant bits (10xx)
    return f"{text[:8]}-{text[8:12]}-5{text[13:16]}-{_VARIANT_DIGIT[text[16]]}{text[17:20]}-{text[20:32]}"


def _uid(record_type: str, row: dict, key: str | None = None) -> str:
    return _uuid5(f"{record_type}|{_key(record_type, row) if key is None else key}")


@functools.cache
def _ext_url(record_type: str, name: str) -> str:
    return f"urn:blinareg:extension:{record_type}:{name}"


def _extension(record_type: str, name: str, value: Any) -> dict:
    url = _ext_url(record_type, name)
    if isinstance(value, bool):
        return {"url": url, "valueBoolean": value}
    if isinstance(value, int):
        return {"url": url, "valueInteger": value}
    if isinstance(value, float):
        return {"url": url, "valueDecimal": value}
    if isinstance(value, dt.date):
        return {"url": url, "valueDate": value.isoformat()}
    return {"url": url, "valueString": str(value)}


# The value element of an extension for the exact Python types a registry row holds; any other type
# (a subclass, a numpy scalar) goes through `_extension`, which gives the same element for these.
_VALUE_ELEMENT = {bool: "valueBoolean", int: "valueInteger", float: "valueDecimal", str: "valueString"}


@functools.cache
def _unmapped(record_type: str, mapped: tuple[str, ...]) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """(fields, extension urls) of the fields of `record_type` that `mapped` and patient_id leave over."""
    skip = {"patient_id", *mapped}
    names = tuple(c.name for c in storage_columns(RECORD_TYPES[record_type]) if c.name not in skip)
    return names, tuple(_ext_url(record_type, name) for name in names)


def _rest(record_type: str, row: dict, mapped: tuple[str, ...]) -> list[dict]:
    """Extensions for the fields that have no FHIR element (`mapped` ones do; patient_id is the subject)."""
    names, urls = _unmapped(record_type, mapped)
    out = []
    # Most fields of a row are empty (the _missing and _precision companions): skip those first.
    for index, value in enumerate([row[name] for name in names]):
        if value is None:
            continue
        kind = type(value)
        if kind is dt.date:
            out.append({"url": urls[index], "valueDate": value.isoformat()})
        elif kind in _VALUE_ELEMENT:
            out.append({"url": urls[index], _VALUE_ELEMENT[kind]: value})
        else:
            out.append(_extension(record_type, names[index], value))
    return out


def _base(resource_type: str, record_type: str, row: dict, mapped: tuple[str, ...], **fields: Any) -> dict:
    key = _key(record_type, row)
    identifier = {"system": _IDENTIFIER_SYSTEM[record_type], "value": key}
    resource = {
        "resourceType": resource_type,
        "id": _uuid5(f"{record_type}|{key}"),
        "identifier": identifier if resource_type in _SINGLE_IDENTIFIER else [identifier],
    }
    for name, value in fields.items():
        if value is not None:
            resource[name] = value
    extensions = _rest(record_type, row, mapped)
    if extensions:
        resource["extension"] = extensions
    return resource


_SINGLE_IDENTIFIER = {"AdverseEvent"}  # R4: AdverseEvent.identifier is 0..1, not a list
_IDENTIFIER_SYSTEM = {record_type: f"urn:blinareg:{record_type}" for record_type in RECORD_TYPES}


def _identifiers(resource: dict) -> list[dict]:
    found = resource.get("identifier") or []
    return [found] if isinstance(found, dict) else found


def _ref(uid: str) -> dict:
    return {"reference": f"urn:uuid:{uid}"}


# ---- records -> resources -------------------------------------------------------------------------


def _organization(row: dict) -> dict:
    return _base(
        "Organization",
        "center",
        row,
        ("center_id", "name", "country"),
        name=row["name"],
        address=[{"country": row["country"]}] if row["country"] else None,
    )


def _patient(row: dict, death: dict | None, follow_up: dict | None, center_uid: str | None) -> dict:
    resource = _base(
        "Patient",
        "patient",
        row,
        ("sex", "birth_date", "center_id"),
        meta=_PROFILE_PATIENT,
        gender=row["sex"],
        birthDate=_iso(row["birth_date"]),
        managingOrganization={"reference": f"Organization/{center_uid}"} if center_uid else None,
    )
    resource["identifier"].append({"system": "urn:blinareg:center", "value": row["center_id"]})
    extensions = resource.setdefault("extension", [])
    if death is not None:
        resource["deceasedDateTime"] = _iso(death["death_date"])
        extensions.extend(_rest("death", death, ("death_date",)))
    if follow_up is not None:
        extensions.extend(_rest("follow_up", follow_up, ()))
    if not extensions:
        del resource["extension"]
    return resource


def _diagnosis(row: dict, subject: dict, findings: list[str]) -> dict:
    return _base(
        "Condition",
        "diagnosis",
        row,
        ("diagnosis_date",),
        meta=_PROFILE_PRIMARY_CANCER,
        verificationStatus=_CONFIRMED,
        code=_B_ALL,
        subject=subject,
        onsetDateTime=_iso(row["diagnosis_date"]),
        evidence=[{"detail": [_ref(uid) for uid in findings]}] if findings else None,
    )


def _genetic_finding(row: dict, subject: dict) -> dict:
    concept = {"coding": [_local("genetic_lesion", row["lesion"])], "text": row["detail"] or row["lesion"]}
    return _base(
        "Observation",
        "genetic_finding",
        row,
        ("lesion",),
        status="final",
        category=_LABORATORY,
        code=_GENETIC_LESION_CODE,
        subject=subject,
        valueCodeableConcept=concept,
    )


def _relapse(row: dict, subject: dict) -> dict:
    sites = [
        {"coding": [_local("relapse_site", name, text)], "text": text} for name, text in _SITES.items() if row[name]
    ]
    return _base(
        "Condition",
        "relapse",
        row,
        ("relapse_date", *_SITES),
        clinicalStatus=_RELAPSE_STATUS,
        code=_B_ALL,
        subject=subject,
        onsetDateTime=_iso(row["relapse_date"]),
        bodySite=sites or None,
    )


def _quantity(value: float, unit: str, code: str) -> dict:
    return {"value": value, "unit": unit, "system": UCUM, "code": code}


def _body_measurement(row: dict, subject: dict) -> dict:
    components = None
    if row["height_cm"] is not None:
        components = [{"code": _BODY_HEIGHT_CODE, "valueQuantity": _quantity(row["height_cm"], "cm", "cm")}]
    return _base(
        "Observation",
        "body_measurement",
        row,
        ("measurement_date", "weight_kg", "height_cm"),
        status="final",
        category=_VITAL_SIGNS,
        code=_BODY_WEIGHT_CODE,
        subject=subject,
        effectiveDateTime=_iso(row["measurement_date"]),
        valueQuantity=_quantity(row["weight_kg"], "kg", "kg"),
        component=components,
    )


def _treatment_line(row: dict, subject: dict) -> dict:
    period = {"start": _iso(row["start_date"])}
    if row["end_date"] is not None:
        period["end"] = _iso(row["end_date"])
    return _base(
        "CarePlan",
        "treatment_line",
        row,
        ("start_date", "end_date", "regimen"),
        status="completed" if row["end_date"] is not None else "active",
        intent="plan",
        title=row["regimen"],
        category=[{"coding": [_local("treatment_type", row["treatment_type"])]}],
        subject=subject,
        period=period,
    )


def _cycle(row: dict, subject: dict) -> dict:
    reason = row["early_stop_reason"]
    return _base(
        "MedicationAdministration",
        "blinatumomab_cycle",
        row,
        ("start_date", "end_date", "early_stop_reason"),
        meta=_PROFILE_MEDICATION,
        status="stopped" if reason else "completed",
        statusReason=[{"coding": [_local("early_stop_reason", reason)], "text": reason}] if reason else None,
        medicationCodeableConcept=_BLINATUMOMAB,
        subject=subject,
        effectivePeriod={"start": _iso(row["start_date"]), "end": _iso(row["end_date"])},
    )


def _rate(row: dict) -> dict:
    return _quantity(row["dose"], row["unit"], _UCUM_RATE[row["unit"]])


def _dose_segment(row: dict, subject: dict, cycle_uid: str | None) -> dict:
    mapped = ("start_date", "end_date", "dose", "unit", "kind")
    period = {"start": _iso(row["start_date"]), "end": _iso(row["end_date"])}
    if row["kind"] == "planned":
        return _base(
            "MedicationRequest",
            "dose_segment",
            row,
            mapped,
            status="completed",
            intent="plan",
            medicationCodeableConcept=_BLINATUMOMAB,
            subject=subject,
            dosageInstruction=[
                {"timing": {"repeat": {"boundsPeriod": period}}, "doseAndRate": [{"rateQuantity": _rate(row)}]}
            ],
        )
    return _base(
        "MedicationAdministration",
        "dose_segment",
        row,
        mapped,
        status="completed",
        partOf=[_ref(cycle_uid)] if cycle_uid else None,
        medicationCodeableConcept=_BLINATUMOMAB,
        subject=subject,
        effectivePeriod=period,
        dosage={"rateQuantity": _rate(row)},
    )


def _interruption(row: dict, subject: dict, cycle_uid: str | None) -> dict:
    return _base(
        "MedicationAdministration",
        "interruption",
        row,
        ("start_date", "end_date", "reason"),
        status="on-hold",
        statusReason=[{"coding": [_local("interruption_reason", row["reason"])], "text": row["reason"]}],
        partOf=[_ref(cycle_uid)] if cycle_uid else None,
        medicationCodeableConcept=_BLINATUMOMAB,
        subject=subject,
        effectivePeriod={"start": _iso(row["start_date"]), "end": _iso(row["end_date"])},
    )


def _mrd(row: dict, subject: dict) -> dict:
    mapped: tuple[str, ...] = ("assessment_date", "sample", "method", "detected", "sensitivity")
    method = _local("mrd_method", row["method"], _MRD_METHODS[row["method"]])
    value: dict[str, Any] = {}
    if row["detected"]:
        value["valueQuantity"] = {"value": row["fraction"], "unit": "fraction of cells", "system": UCUM, "code": "1"}
        mapped += ("fraction",)
    else:
        value["valueCodeableConcept"] = _NOT_DETECTED
    components = None
    if row["sensitivity"] is not None:
        components = [
            {"code": _SENSITIVITY_CODE, "valueQuantity": {"value": row["sensitivity"], "system": UCUM, "code": "1"}}
        ]
    return _base(
        "Observation",
        "mrd_assessment",
        row,
        mapped,
        status="final",
        category=_LABORATORY,
        code={"coding": [method], "text": f"Minimal residual disease by {_MRD_METHODS[row['method']]}"},
        method={"coding": [method]},
        subject=subject,
        effectiveDateTime=_iso(row["assessment_date"]),
        bodySite={
            "coding": [_local("mrd_sample", row["sample"], _SAMPLES[row["sample"]])],
            "text": _SAMPLES[row["sample"]],
        },
        component=components,
        **value,
    )


def _response(row: dict, subject: dict, diagnosis_uid: str | None) -> dict:
    category = row["category"]
    codings = [_coding(_RESPONSE_STATUS[category])] if category in _RESPONSE_STATUS else []
    codings.append(_local("response_category", category))
    return _base(
        "Observation",
        "response_assessment",
        row,
        ("assessment_date", "category"),
        meta=_PROFILE_DISEASE_STATUS,
        status="final",
        code=_DISEASE_STATUS_CODE,
        subject=subject,
        focus=[_ref(diagnosis_uid)] if diagnosis_uid else None,
        effectiveDateTime=_iso(row["assessment_date"]),
        valueCodeableConcept={"coding": codings, "text": category},
    )


def _adverse_event(row: dict, subject: dict, cycle_uid: str | None) -> dict:
    return _base(
        "AdverseEvent",
        "adverse_event",
        row,
        ("onset_date", "term", "serious"),
        actuality="actual",
        event={"coding": [_local("adverse_event_term", row["term"])], "text": row["term"]},
        subject=subject,
        date=_iso(row["onset_date"]),
        seriousness=_SERIOUSNESS[bool(row["serious"])],
        suspectEntity=[{"instance": _ref(cycle_uid)}] if cycle_uid else None,
    )


def _hsct(row: dict, subject: dict) -> dict:
    return _base(
        "Procedure",
        "hsct",
        row,
        ("hsct_date",),
        status="completed",
        code=_HSCT_CODE,
        subject=subject,
        performedDateTime=_iso(row["hsct_date"]),
    )


# ---- bundles --------------------------------------------------------------------------------------


def _rows_by_patient(registry: Registry) -> dict[str, dict[str, list[dict]]]:
    by_patient: dict[str, dict[str, list[dict]]] = defaultdict(lambda: defaultdict(list))
    for model in RECORD_MODELS:
        if model.record_type == "center":
            continue
        for row in frame_to_dicts(model, registry[model.record_type]):
            by_patient[row["patient_id"]][model.record_type].append(row)
    return by_patient


def organizations_bundle(registry: Registry) -> dict:
    entries = [_organization(row) for row in frame_to_dicts(RECORD_TYPES["center"], registry["center"])]
    return _bundle("organizations", entries)


def _bundle(name: str, resources: list[dict]) -> dict:
    return {
        "resourceType": "Bundle",
        "id": _uuid5(f"bundle|{name}"),
        "type": "collection",
        "entry": [{"fullUrl": f"urn:uuid:{r['id']}", "resource": r} for r in resources],
    }


def _patient_bundle(patient_id: str, rows: dict[str, list[dict]], center_uids: dict[str, str]) -> dict:
    patient = rows["patient"][0]
    subject = _ref(_uid("patient", patient))
    first = lambda name: rows[name][0] if rows.get(name) else None  # noqa: E731
    resources = [_patient(patient, first("death"), first("follow_up"), center_uids.get(patient["center_id"]))]
    findings = [_genetic_finding(row, subject) for row in rows.get("genetic_finding", [])]
    diagnosis_uid = None
    if rows.get("diagnosis"):
        diagnosis = _diagnosis(rows["diagnosis"][0], subject, [f["id"] for f in findings])
        diagnosis_uid = diagnosis["id"]
        resources.append(diagnosis)
    resources += findings
    resources += [_relapse(row, subject) for row in rows.get("relapse", [])]
    resources += [_body_measurement(row, subject) for row in rows.get("body_measurement", [])]
    resources += [_treatment_line(row, subject) for row in rows.get("treatment_line", [])]
    cycles = {row["cycle_number"]: _cycle(row, subject) for row in rows.get("blinatumomab_cycle", [])}
    resources += list(cycles.values())
    cycle_uid = lambda number: cycles[number]["id"] if number in cycles else None  # noqa: E731
    resources += [_dose_segment(row, subject, cycle_uid(row["cycle_number"])) for row in rows.get("dose_segment", [])]
    resources += [_interruption(row, subject, cycle_uid(row["cycle_number"])) for row in rows.get("interruption", [])]
    resources += [_mrd(row, subject) for row in rows.get("mrd_assessment", [])]
    resources += [_response(row, subject, diagnosis_uid) for row in rows.get("response_assessment", [])]
    resources += [_adverse_event(row, subject, cycle_uid(row["cycle_number"])) for row in rows.get("adverse_event", [])]
    resources += [_hsct(row, subject) for row in rows.get("hsct", [])]
    return _bundle(f"patient|{patient_id}", resources)


def patient_bundles(registry: Registry) -> Iterable[tuple[str, dict]]:
    """(patient_id, Bundle) for every patient, in patient_id order."""
    centers = {
        row["center_id"]: _uid("center", row) for row in frame_to_dicts(RECORD_TYPES["center"], registry["center"])
    }
    by_patient = _rows_by_patient(registry)
    for patient_id in sorted(by_patient):
        rows = by_patient.pop(patient_id)  # done with them: a large export holds only the rows still to come
        if not rows.get("patient"):
            raise UserError(f"records of patient {patient_id!r} without a patient record; validate the registry first")
        yield patient_id, _patient_bundle(patient_id, rows, centers)


def write_fhir(registry: Registry, out_dir: str | os.PathLike) -> tuple[Path, int]:
    """Write organizations.json and patients/<patient_id>.json into `out_dir` (atomically)."""
    from blinareg.exchange.export_folder import export_folder
    from blinareg.exchange.tabular import _collector_paused

    out = Path(out_dir)
    count = 0
    with export_folder(out, "fhir") as temp:
        (temp / "organizations.json").write_text(
            json.dumps(organizations_bundle(registry), indent=1) + "\n", encoding="utf-8"
        )
        folder = str(temp / "patients")
        os.mkdir(folder)
        # A bundle is a tree (shared elements, no cycles): the circular-reference check only costs time.
        encode = json.JSONEncoder(separators=(",", ":"), check_circular=False).encode
        with _collector_paused():  # millions of acyclic rows and resources: nothing for it to find
            for patient_id, bundle in patient_bundles(registry):
                # 100,000 files: plain strings and os-level writes, no Path or file objects per file.
                _write_file(f"{folder}/{patient_id}.json", encode(bundle).encode("utf-8") + b"\n")
                count += 1
    return out, count


def _write_file(path: str, data: bytes) -> None:
    """Write `data` as the new file `path` (mode 0o666 less the umask, like open(path, "wb"))."""
    handle = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | getattr(os, "O_BINARY", 0), 0o666)
    try:
        view = memoryview(data)
        while view:
            view = view[os.write(handle, view) :]
    finally:
        os.close(handle)


# ---- resources -> records -------------------------------------------------------------------------


def _record_type(resource: dict) -> str | None:
    for identifier in _identifiers(resource):
        system = identifier.get("system", "")
        if system.startswith("urn:blinareg:") and system[len("urn:blinareg:") :] in RECORD_TYPES:
            return system[len("urn:blinareg:") :]
    return None


def _extensions_of(resource: dict, record_type: str) -> dict[str, Any]:
    prefix = f"urn:blinareg:extension:{record_type}:"
    out = {}
    for extension in resource.get("extension", []):
        url = extension.get("url", "")
        if url.startswith(prefix):
            values = [v for k, v in extension.items() if k.startswith("value")]
            out[url[len(prefix) :]] = values[0] if values else None
    return out


def _period(resource: dict, name: str = "effectivePeriod") -> tuple[Any, Any]:
    period = resource.get(name) or {}
    return period.get("start"), period.get("end")


def _read_patient(resource: dict) -> list[tuple[str, dict]]:
    center = next(
        (i["value"] for i in resource.get("identifier", []) if i.get("system") == "urn:blinareg:center"), None
    )
    rows = [
        (
            "patient",
            {
                "center_id": center,
                "sex": resource.get("gender"),
                "birth_date": resource.get("birthDate"),
                **_extensions_of(resource, "patient"),
            },
        )
    ]
    if resource.get("deceasedDateTime"):
        rows.append(("death", {"death_date": resource["deceasedDateTime"], **_extensions_of(resource, "death")}))
    follow_up = _extensions_of(resource, "follow_up")
    if follow_up:
        rows.append(("follow_up", follow_up))
    return rows


def _read_simple(resource: dict, record_type: str) -> dict:
    row = _extensions_of(resource, record_type)
    start, end = _period(resource)
    if record_type == "diagnosis":
        row["diagnosis_date"] = resource.get("onsetDateTime")
    elif record_type == "genetic_finding":
        row["lesion"] = _local_code(resource.get("valueCodeableConcept"), "genetic_lesion")
    elif record_type == "relapse":
        row["relapse_date"] = resource.get("onsetDateTime")
        present = {_local_code(site, "relapse_site") for site in resource.get("bodySite", [])}
        row.update({name: name in present for name in _SITES})
    elif record_type == "body_measurement":
        row["measurement_date"] = resource.get("effectiveDateTime")
        row["weight_kg"] = (resource.get("valueQuantity") or {}).get("value")
        for component in resource.get("component", []):
            if any(c.get("code") == CODES["body_height"][1] for c in component["code"].get("coding", [])):
                row["height_cm"] = component["valueQuantity"]["value"]
    elif record_type == "treatment_line":
        start, end = _period(resource, "period")
        row.update(start_date=start, end_date=end, regimen=resource.get("title"))
    elif record_type == "blinatumomab_cycle":
        reasons = resource.get("statusReason") or [None]
        row.update(start_date=start, end_date=end, early_stop_reason=_local_code(reasons[0], "early_stop_reason"))
    elif record_type == "dose_segment":
        if resource["resourceType"] == "MedicationRequest":
            instruction = resource["dosageInstruction"][0]
            bounds = instruction["timing"]["repeat"]["boundsPeriod"]
            start, end = bounds.get("start"), bounds.get("end")
            rate = instruction["doseAndRate"][0]["rateQuantity"]
            row["kind"] = "planned"
        else:
            rate = resource["dosage"]["rateQuantity"]
            row["kind"] = "delivered"
        row.update(start_date=start, end_date=end, dose=rate.get("value"), unit=rate.get("unit"))
    elif record_type == "interruption":
        row.update(
            start_date=start,
            end_date=end,
            reason=_local_code((resource.get("statusReason") or [None])[0], "interruption_reason"),
        )
    elif record_type == "mrd_assessment":
        row.update(
            assessment_date=resource.get("effectiveDateTime"),
            method=_local_code(resource.get("method"), "mrd_method"),
            sample=_local_code(resource.get("bodySite"), "mrd_sample"),
            detected="valueQuantity" in resource,
        )
        if row["detected"]:
            row["fraction"] = resource["valueQuantity"].get("value")
        for component in resource.get("component", []):
            if _local_code(component.get("code"), "mrd") == "sensitivity":
                row["sensitivity"] = component["valueQuantity"]["value"]
    elif record_type == "response_assessment":
        row.update(
            assessment_date=resource.get("effectiveDateTime"),
            category=_local_code(resource.get("valueCodeableConcept"), "response_category"),
        )
    elif record_type == "adverse_event":
        codes = (resource.get("seriousness") or {}).get("coding", [{}])
        row.update(
            onset_date=resource.get("date"),
            term=_local_code(resource.get("event"), "adverse_event_term"),
            serious=codes[0].get("code") == "serious",
        )
    elif record_type == "hsct":
        row["hsct_date"] = resource.get("performedDateTime")
    return row


def _read_bundle(
    path: Path, bundle: Any, rows: dict[str, list[dict]], sources: dict[str, list[str]], problems: list[Problem]
) -> None:
    source = str(path)

    def fail(reason: str, record_type: str = "patient") -> None:
        problems.append(Problem(record_type=record_type, field=None, value=None, reason=reason, source=source))

    if not isinstance(bundle, dict) or bundle.get("resourceType") != "Bundle":
        return fail("not a FHIR Bundle (resourceType must be 'Bundle')")
    resources = [entry.get("resource") for entry in bundle.get("entry", []) if isinstance(entry, dict)]
    patients = [r for r in resources if isinstance(r, dict) and r.get("resourceType") == "Patient"]
    if path.name != "organizations.json" and len(patients) != 1:
        return fail(f"a patient bundle must hold exactly one Patient, found {len(patients)}")
    patient_id = None
    patient_ref = None
    if patients:
        patient_id = next(
            (i.get("value") for i in patients[0].get("identifier", []) if i.get("system") == "urn:blinareg:patient"),
            None,
        )
        patient_ref = f"urn:uuid:{patients[0].get('id')}"
        if patient_id is None:
            return fail("the Patient has no identifier with system urn:blinareg:patient")
    for number, resource in enumerate(resources, start=1):
        if not isinstance(resource, dict):
            fail(f"entry {number} has no resource")
            continue
        record_type = _record_type(resource)
        if record_type is None:
            fail(
                f"entry {number} ({resource.get('resourceType')}) has no urn:blinareg:<record_type> identifier; "
                f"only bundles written by `blinareg export --format fhir` can be imported"
            )
            continue
        try:
            if record_type == "center":
                address = resource.get("address") or [{}]
                found = [
                    (
                        "center",
                        {
                            "center_id": resource["identifier"][0]["value"],
                            "name": resource.get("name"),
                            "country": address[0].get("country"),
                            **_extensions_of(resource, "center"),
                        },
                    )
                ]
            elif record_type == "patient":
                found = _read_patient(resource)
            else:
                subject = (resource.get("subject") or {}).get("reference")
                if subject != patient_ref:
                    fail(
                        f"entry {number} ({resource['resourceType']}) refers to {subject!r}, not to the bundle's "
                        f"Patient",
                        record_type,
                    )
                    continue
                found = [(record_type, _read_simple(resource, record_type))]
        except (KeyError, IndexError, TypeError, AttributeError) as error:
            fail(
                f"entry {number} ({resource.get('resourceType')}) is missing an element blinareg writes: {error}",
                record_type,
            )
            continue
        for name, row in found:
            if name != "center":
                row["patient_id"] = patient_id
            rows[name].append(row)
            sources[name].append(f"{source} entry {number}")


def read_fhir(path: str | os.PathLike) -> tuple[Registry, list[Problem]]:
    """Read a folder written by `write_fhir` back into a Registry (and every problem found)."""
    path = Path(path)
    if not path.is_dir():
        raise UserError(f"{path}: a FHIR import is a folder with organizations.json and patients/*.json")
    files = ([path / "organizations.json"] if (path / "organizations.json").is_file() else []) + sorted(
        (path / "patients").glob("*.json")
    )
    if not files:
        raise UserError(f"{path}: no organizations.json and no patients/*.json found")
    rows: dict[str, list[dict]] = defaultdict(list)
    sources: dict[str, list[str]] = defaultdict(list)
    problems: list[Problem] = []
    for file in files:
        try:
            bundle = json.loads(file.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
            problems.append(
                Problem(
                    record_type="patient",
                    field=None,
                    value=None,
                    reason=f"cannot read the JSON: {error}",
                    source=str(file),
                )
            )
            continue
        _read_bundle(file, bundle, rows, sources, problems)
    tables = {}
    for model in RECORD_MODELS:
        frame, found = parse_rows(
            model, rows.get(model.record_type, []), source=f"FHIR {model.record_type}", first_row_number=1
        )
        for problem in found:  # point at the bundle file and entry, not at a row number
            where = sources[model.record_type][problem.row - 1] if problem.row else problem.source
            problems.append(Problem(**{**problem.__dict__, "source": where, "row": None}))
        tables[model.record_type] = frame
    return Registry(tables), problems
