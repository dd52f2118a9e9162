"""The clinical rules at data entry as JSON (issue #12): what a form's panel shows for the values typed.

`POST /api/v1/patients/{patient_id}/rules/{crs-grade|icans-grade|cycle-plan|relapse-class}` with the
form's fields as typed (`{"record_type": ..., "fields": {name: text}}`) answers the panel
(`blinareg.web.bedside.Panel`): the static script `rules.js` draws it while the user types, and the
pages draw the same panel server-side. The patient's stored records (age, weight, the cycle's delivered
doses and interruptions, the diagnosis dates) come through the caller's center scope: another center's
patient answers 404 like an absent one. Nothing is stored.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException
from pydantic import BaseModel, Field, StringConstraints

from blinareg.records.registry import Registry
from blinareg.store.scoped import CenterScope
from blinareg.web import bedside
from blinareg.web.deps import PATIENT_READERS, require_roles, scoped_data

router = APIRouter(prefix="/api/v1")
readers = require_roles(*PATIENT_READERS)

FieldText = Annotated[str, StringConstraints(max_length=2000)]


class RuleRequest(BaseModel):
    record_type: str | None = Field(
        None,
        max_length=40,
        description="The form's record type (cycle-plan: blinatumomab_cycle, dose_segment, interruption)",
    )
    fields: dict[str, FieldText] = Field(default_factory=dict, max_length=200, description="The form's fields as typed")


class TableOut(BaseModel):
    caption: str
    headers: list[str]
    rows: list[list[str]]
    row_classes: list[str]


class PanelOut(BaseModel):
    kind: str
    title: str
    headline: str
    status: str = Field(description="agree | disagree | pending | info")
    lines: list[tuple[str, str]]
    tables: list[TableOut]
    notes: list[str]
    sources: list[str]
    reason_required: bool


_ERRORS: dict[int | str, dict[str, str]] = {
    401: {"description": "Not signed in"},
    403: {"description": "The role does not allow it"},
    404: {"description": "No such patient visible to the caller"},
}


def patient_registry(scope: CenterScope, patient_id: str) -> Registry:
    """The stored records of one patient of the caller's centers (404 otherwise)."""
    scope.get("patient", {"patient_id": patient_id})  # NotFound (404) for another center's patient
    return scope.store.load_registry([patient_id])


def _fields(body: RuleRequest, patient_id: str) -> dict[str, str]:
    """The typed fields, the patient being the one of the path (whatever the body says)."""
    return {**body.fields, "patient_id": patient_id}


def _answer(panel: bedside.Panel) -> PanelOut:
    return PanelOut.model_validate(panel.to_json())


_OPTIONS = {"response_model": PanelOut, "responses": _ERRORS, "tags": ["rules"], "dependencies": [Depends(readers)]}


@router.post("/patients/{patient_id}/rules/crs-grade", **_OPTIONS)  # type: ignore[arg-type]
def crs_grade(patient_id: str, body: RuleRequest, scope: CenterScope = Depends(scoped_data)) -> PanelOut:
    """ASTCT CRS grade of the typed temperature, hypotension, vasopressors, vasopressin and oxygen."""
    patient_registry(scope, patient_id)
    return _answer(bedside.crs_panel(_fields(body, patient_id)))


@router.post("/patients/{patient_id}/rules/icans-grade", **_OPTIONS)  # type: ignore[arg-type]
def icans_grade(patient_id: str, body: RuleRequest, scope: CenterScope = Depends(scoped_data)) -> PanelOut:
    """ASTCT ICANS grade (ICE or CAPD by the age at onset, consciousness, seizure, motor, edema)."""
    return _answer(bedside.icans_panel(_fields(body, patient_id), patient_registry(scope, patient_id)))


@router.post("/patients/{patient_id}/rules/cycle-plan", **_OPTIONS)  # type: ignore[arg-type]
def cycle_plan(patient_id: str, body: RuleRequest, scope: CenterScope = Depends(scoped_data)) -> PanelOut:
    """The cycle's planned calendar, the delivered segments marked, interruptions and dose advice."""
    record_type = body.record_type or "blinatumomab_cycle"
    if record_type not in bedside.CYCLE_FORMS:
        raise HTTPException(422, f"record_type {record_type!r}: expected one of {', '.join(bedside.CYCLE_FORMS)}")
    return _answer(bedside.cycle_panel(record_type, _fields(body, patient_id), patient_registry(scope, patient_id)))


@router.post("/patients/{patient_id}/rules/relapse-class", **_OPTIONS)  # type: ignore[arg-type]
def relapse_class(patient_id: str, body: RuleRequest, scope: CenterScope = Depends(scoped_data)) -> PanelOut:
    """Relapse timing (BFM, COG), marrow status, site class, strategic group and IntReALL risk."""
    return _answer(bedside.relapse_panel(_fields(body, patient_id), patient_registry(scope, patient_id)))
