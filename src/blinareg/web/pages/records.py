"""Patient pages: the patient list, a patient's records and problems, and a form for every record type.

Every read and write goes through the signed-in user's `CenterScope` (`Depends(scoped_data)`), so a
patient of another center is simply not found. Creating and changing records uses the same service
functions as the JSON API (`blinareg.web.services`); a submitted form is read by
`blinareg.web.forms.read_form`, exactly as the importer reads a CSV row.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping
from typing import Any
from urllib.parse import quote, urlencode

import pandas as pd
from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from blinareg.errors import ValidationFailed
from blinareg.records.models import RECORD_TYPES
from blinareg.records.problems import Problem, Severity
from blinareg.store.schema import ROW_VERSION
from blinareg.store.scoped import CenterScope, Conflict, NotAllowed, NotFound, ReasonRequired
from blinareg.web import bedside, services
from blinareg.web.deps import PATIENT_READERS, PATIENT_WRITERS, Principal, require_roles, scoped_data
from blinareg.web.forms import (
    FORM_RECORD_TYPES,
    Choice,
    FormResult,
    FormSpec,
    choice_label,
    form_spec,
    initial_values,
    problems_by_field,
    read_form,
    stored_values,
)
from blinareg.web.pages.queries import QUERY_RAISERS, patient_queries
from blinareg.web.pages.rendering import form_text, render, shown

router = APIRouter(include_in_schema=False)  # pages; the API has its own schema

readers = require_roles(*PATIENT_READERS)
writers = require_roles(*PATIENT_WRITERS)

PAGE_SIZE = 50
# The submit button that re-draws a form's rules panel without saving (the panel without JavaScript).
ACTION_FIELD, CHECK = "action", "check"
# What the list shows for a patient without a follow-up record.
NO_FOLLOW_UP = "no_follow_up"
MAX_PAGE_NUMBER = 1_000_000


# ---- the patient list ------------------------------------------------------------------------------


@router.get("/patients", response_class=HTMLResponse)
def patient_list(
    request: Request,
    q: str = "",
    center: str = "",
    indication: str = "",
    status: str = "",
    page: int = 1,
    principal: Principal = Depends(readers),
    scope: CenterScope = Depends(scoped_data),
) -> HTMLResponse:
    vital_status = None if status == NO_FOLLOW_UP else status

    def overview(number: int) -> tuple[list[dict[str, Any]], int, int]:
        return scope.patient_overview(
            search=q,
            center_id=center,
            indication=indication,
            vital_status=vital_status,
            offset=(number - 1) * PAGE_SIZE,
            limit=PAGE_SIZE,
        )

    asked = min(max(page, 1), MAX_PAGE_NUMBER)  # an absurd page number must not overflow the SQL OFFSET
    rows, total, matching = overview(asked)
    pages = max(1, math.ceil(matching / PAGE_SIZE))
    page = min(asked, pages)
    if page != asked:  # past the last page: show the last one
        rows, total, matching = overview(page)
    filters = {"q": q, "center": center, "indication": indication, "status": status}

    def page_link(number: int) -> str:
        return "/patients?" + urlencode({**{k: v for k, v in filters.items() if v}, "page": number})

    return render(
        request,
        "patients.html",
        {
            "rows": [_overview_row(row) for row in rows],
            "total": total,
            "matching": matching,
            "page": page,
            "pages": pages,
            "previous_link": page_link(page - 1) if page > 1 else None,
            "next_link": page_link(page + 1) if page < pages else None,
            "filters": filters,
            "centers": sorted(scope.centers),
            "indications": _options("treatment_line", "intent"),
            "statuses": [*_options("follow_up", "vital_status"), Choice(NO_FOLLOW_UP, "No follow-up recorded")],
            "can_write": principal.user.role in PATIENT_WRITERS,
        },
    )


def _overview_row(row: Mapping[Any, Any]) -> dict[str, str]:
    def date(value: Any) -> str:
        return "" if value is None or pd.isna(value) else pd.Timestamp(value).date().isoformat()

    indication = row.get("indication")
    return {
        "patient_id": str(row["patient_id"]),
        "center_id": str(row["center_id"]),
        "sex": choice_label(str(row["sex"])),
        "diagnosis_date": date(row.get("diagnosis_date")),
        "indication": choice_label(str(indication)) if isinstance(indication, str) else "",
        "status": choice_label(str(row["vital_status"])) if row["vital_status"] is not None else "no follow-up",
        "last_contact_date": date(row.get("last_contact_date")),
    }


def _options(record_type: str, name: str) -> list[Choice]:
    return list(form_spec(record_type).field(name).choices)


# ---- one patient -----------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class RecordRow:
    cells: list[str]
    edit_link: str
    query_link: str = ""  # a monitor raises a data query on the record here


@dataclasses.dataclass(frozen=True)
class RecordGroup:
    record_type: str
    title: str
    headers: list[str]
    rows: list[RecordRow]
    new_link: str


def record_path(record_type: str, values: Mapping[str, Any]) -> str:
    """The URL of one record of a patient: `/patients/P1/relapse/2` (the key's fields in key order)."""
    model = RECORD_TYPES[record_type]
    stored, _ = stored_values({name: values.get(name) for name in model.key})
    parts = [quote(stored[name], safe="") for name in model.key if name != "patient_id"]
    return "/".join([f"/patients/{quote(str(values['patient_id']), safe='')}/{record_type}", *parts])


def record_link(patient_id: str, record_type: str, values: Mapping[str, Any]) -> str:
    return record_path(record_type, {**values, "patient_id": patient_id}) + "/edit"


def _patient_records(scope: CenterScope, patient_id: str) -> dict[str, list[dict[str, Any]]]:
    records = {}
    for record_type in FORM_RECORD_TYPES:
        filters = {"patient_id": patient_id}
        page = scope.list_records(record_type, filters=filters, limit=10_000)
        records[record_type] = page.rows
    return records


def displayed_values(spec: FormSpec, values: Mapping[str, Any]) -> dict[str, str]:
    """A stored record's values as the pages show them: choices by their labels, codes in words."""
    texts, codes = stored_values({k: v for k, v in values.items() if k != ROW_VERSION})
    out = {}
    for f in spec.fields:
        text = texts.get(f.name, "")
        if f.choices and text:
            text = next((c.label for c in f.choices if c.value == text), text)
        out[f.name] = shown(text, codes.get(f.name))
    return out


def _group(patient_id: str, record_type: str, rows: list[dict[str, Any]]) -> RecordGroup:
    spec = form_spec(record_type)
    fields = [f for f in spec.fields if f.name != "patient_id"]
    table_rows = []
    for values in rows:
        texts = displayed_values(spec, values)
        cells = [texts[f.name] for f in fields]
        table_rows.append(
            RecordRow(cells, record_link(patient_id, record_type, values), _query_link(patient_id, record_type, values))
        )
    headers = [f.label + (f" ({f.unit})" if f.unit else "") for f in fields]
    return RecordGroup(record_type, spec.title, headers, table_rows, f"/patients/{patient_id}/{record_type}/new")


def _query_link(patient_id: str, record_type: str, values: Mapping[str, Any]) -> str:
    """The raise-a-query form with this record chosen (`record=relapse|relapse_number=1`)."""
    names = [name for name in RECORD_TYPES[record_type].key if name != "patient_id"]
    texts, _ = stored_values({name: values.get(name) for name in names})
    key = ", ".join(f"{name}={texts[name]}" for name in names)
    return f"/patients/{quote(patient_id, safe='')}/queries/new?" + urlencode({"record": f"{record_type}|{key}"})


def _problem_link(patient_id: str, problem: Problem, records: Mapping[str, list[dict[str, Any]]]) -> str | None:
    """The edit form of the record a problem names, when it names one of this patient's records."""
    if problem.record_type not in records:
        return None
    for values in records[problem.record_type]:
        key = {name: values[name] for name in RECORD_TYPES[problem.record_type].key}
        own, _ = problems_by_field(problem.record_type, [problem], key=key)
        if own or problem.key is None:
            return record_link(patient_id, problem.record_type, values)
    return None


def _get(scope: CenterScope, record_type: str, key: Mapping[str, object]) -> dict[str, Any]:
    try:
        return scope.get(record_type, dict(key))
    except NotFound as error:
        raise HTTPException(status_code=404, detail=str(error)) from None


# ---- record forms ----------------------------------------------------------------------------------


def _spec_for(record_type: str, scope: CenterScope) -> FormSpec:
    """The form of a record type; a patient's center is chosen among the user's own centers."""
    if record_type not in FORM_RECORD_TYPES:
        raise HTTPException(status_code=404, detail=f"no record type {record_type!r}")
    spec = form_spec(record_type)
    if record_type != "patient":
        return spec
    centers = tuple(Choice(center, center) for center in sorted(scope.centers))
    fields = tuple(dataclasses.replace(f, choices=centers) if f.name == "center_id" else f for f in spec.fields)
    return dataclasses.replace(spec, fields=fields)


def _form_page(
    request: Request,
    *,
    spec: FormSpec,
    patient_id: str | None,
    values: Mapping[str, str],
    codes: Mapping[str, str],
    errors: Mapping[str, list[str]],
    page_problems: list[str],
    version: int | None,
    reason: str = "",
    reason_error: str | None = None,
    conflict: list[tuple[str, str, str]] | None = None,
    scope: CenterScope | None = None,
) -> HTMLResponse:
    editing = version is not None
    locked = tuple(spec.key) if editing else (("patient_id",) if patient_id and spec.record_type != "patient" else ())
    if editing:
        action = record_path(spec.record_type, {**values, "patient_id": patient_id}) + "/edit"
    elif spec.record_type == "patient":
        action = "/patients/new"
    else:
        action = f"/patients/{patient_id}/{spec.record_type}/new"
    return render(
        request,
        "record_form.html",
        {
            "spec": spec,
            "patient_id": patient_id,
            "values": values,
            "codes": codes,
            "errors": errors,
            "page_problems": page_problems,
            "locked": locked,
            "row_version": version,
            "reason": reason,
            "reason_error": reason_error,
            "conflict": conflict,
            "action": action,
            "delete_action": action.removesuffix("/edit") + "/delete" if editing else None,
            **_panel_context(spec.record_type, patient_id, values, codes, scope),
        },
    )


def _panel_context(
    record_type: str,
    patient_id: str | None,
    values: Mapping[str, str],
    codes: Mapping[str, str],
    scope: CenterScope | None,
) -> dict[str, Any]:
    """The clinical-rules panel beside a form (CRS/ICANS, cycle, relapse) and the JSON route that redraws it."""
    if scope is None or patient_id is None or not bedside.has_panel(record_type):
        return {"panel": None, "rules_urls": None}
    registry = scope.store.load_registry([patient_id])
    panel = bedside.form_panel(record_type, _panel_fields(values, codes), registry)
    base = f"/api/v1/patients/{quote(patient_id, safe='')}/rules/"
    names = bedside.panel_names(record_type)
    return {"panel": panel, "rules_urls": {name: base + bedside.RULE_ROUTES[name] for name in names}}


def _panel_fields(values: Mapping[str, str], codes: Mapping[str, str]) -> dict[str, str]:
    return {**values, **{name + "_missing": code for name, code in codes.items()}}


@router.get("/patients/new", response_class=HTMLResponse)
def new_patient_form(
    request: Request, _writer: Principal = Depends(writers), scope: CenterScope = Depends(scoped_data)
) -> HTMLResponse:
    centers = sorted(scope.centers)
    fixed = {"center_id": centers[0]} if len(centers) == 1 else {}
    values = initial_values("patient", fixed)
    return _form_page(
        request,
        spec=_spec_for("patient", scope),
        patient_id=None,
        values=values,
        codes={},
        errors={},
        page_problems=[],
        version=None,
    )


@router.post("/patients/new", response_class=HTMLResponse)
async def create_patient(
    request: Request, _writer: Principal = Depends(writers), scope: CenterScope = Depends(scoped_data)
) -> Response:
    submitted = await form_text(request)
    result = read_form("patient", submitted)
    return _save(request, scope, _spec_for("patient", scope), result, patient_id=None, version=None)


# Declared after /patients/new, which it would otherwise take for a patient called 'new'.
@router.get("/patients/{patient_id}", response_class=HTMLResponse)
def patient_page(
    request: Request,
    patient_id: str,
    principal: Principal = Depends(readers),
    scope: CenterScope = Depends(scoped_data),
) -> HTMLResponse:
    patient = _get(scope, "patient", {"patient_id": patient_id})
    records = _patient_records(scope, patient_id)
    problems = scope.store.patient_problems(patient_id)
    groups = [_group(patient_id, record_type, records[record_type]) for record_type in FORM_RECORD_TYPES[1:]]
    return render(
        request,
        "patient.html",
        {
            "patient": patient,
            "patient_id": patient_id,
            "patient_link": record_link(patient_id, "patient", patient),
            "groups": groups,
            "problems": [(p, _problem_link(patient_id, p, records)) for p in problems],
            "errors": sum(p.severity is Severity.ERROR for p in problems),
            "can_write": principal.user.role in PATIENT_WRITERS,
            "facts": displayed_values(form_spec("patient"), patient),
            "queries": patient_queries(scope, patient_id, principal.user.role),
            "can_raise": principal.user.role in QUERY_RAISERS,
        },
    )


def _key_of(request: Request, record_type: str) -> dict[str, str]:
    """The record a URL names: its key fields, from the path."""
    return {name: str(request.path_params[name]) for name in RECORD_TYPES[record_type].key}


def _stored_form(
    request: Request, scope: CenterScope, record_type: str, key: Mapping[str, str], problems: list[str]
) -> HTMLResponse:
    """The edit form with the record as stored now (after a refused save or delete)."""
    stored = _get(scope, record_type, key)
    version = int(stored.pop(ROW_VERSION))
    values, codes = stored_values(stored)
    return _form_page(
        request,
        spec=_spec_for(record_type, scope),
        patient_id=key["patient_id"],
        values=values,
        codes=codes,
        errors={},
        page_problems=problems,
        version=version,
        scope=scope,
    )


async def _submitted_change(
    request: Request, scope: CenterScope, record_type: str
) -> tuple[dict[str, str], dict[str, str], int | None]:
    """A change (edit or delete) of a stored record: its key (404 when absent or of another center), the
    submitted fields and the row_version the form was opened at (None when the form lacks it)."""
    key = _key_of(request, record_type)
    _get(scope, record_type, key)
    submitted = await form_text(request)
    return key, submitted, _version(submitted)


def _version(submitted: Mapping[str, str]) -> int | None:
    try:
        return int(submitted.get(ROW_VERSION, ""))
    except ValueError:
        return None


_NO_VERSION = "The form did not say which version of the record it was opened at; it now shows the record as stored."


def _register(record_type: str) -> None:
    """The pages of one record type: new (not for the patient, see /patients/new), edit and delete.

    One set of literal paths per record type, with the record's key in the path, so that the access
    matrix (tests/web/test_access_matrix.py) reaches every type's pages as it reaches its API routes.
    """
    model = RECORD_TYPES[record_type]
    base = f"/patients/{{patient_id}}/{record_type}"
    one = base + "".join(f"/{{{name}}}" for name in model.key[1:])
    options: dict[str, Any] = {"response_class": HTMLResponse}

    if record_type != "patient":

        @router.get(base + "/new", name=f"new_{record_type}_form", **options)
        def new_form(
            request: Request,
            patient_id: str,
            _writer: Principal = Depends(writers),
            scope: CenterScope = Depends(scoped_data),
        ) -> HTMLResponse:
            _get(scope, "patient", {"patient_id": patient_id})
            return _form_page(
                request,
                spec=_spec_for(record_type, scope),
                patient_id=patient_id,
                values=initial_values(record_type, {"patient_id": patient_id}),
                codes={},
                errors={},
                page_problems=[],
                version=None,
                scope=scope,
            )

        @router.post(base + "/new", name=f"create_{record_type}", **options)
        async def create(
            request: Request,
            patient_id: str,
            _writer: Principal = Depends(writers),
            scope: CenterScope = Depends(scoped_data),
        ) -> Response:
            _get(scope, "patient", {"patient_id": patient_id})
            submitted = await form_text(request)
            result = read_form(record_type, submitted, fixed={"patient_id": patient_id})
            spec = _spec_for(record_type, scope)
            check = submitted.get(ACTION_FIELD) == CHECK
            return _save(request, scope, spec, result, patient_id=patient_id, version=None, check=check)

    @router.get(one + "/edit", name=f"edit_{record_type}_form", **options)
    def edit_form(
        request: Request, _writer: Principal = Depends(writers), scope: CenterScope = Depends(scoped_data)
    ) -> HTMLResponse:
        return _stored_form(request, scope, record_type, _key_of(request, record_type), [])

    @router.post(one + "/edit", name=f"update_{record_type}", **options)
    async def update(
        request: Request, _writer: Principal = Depends(writers), scope: CenterScope = Depends(scoped_data)
    ) -> Response:
        key, submitted, version = await _submitted_change(request, scope, record_type)
        if version is None:
            return _stored_form(request, scope, record_type, key, [_NO_VERSION])
        result = read_form(record_type, submitted, fixed=key)
        spec = _spec_for(record_type, scope)
        return _save(
            request,
            scope,
            spec,
            result,
            patient_id=key["patient_id"],
            version=version,
            reason=submitted.get("reason", ""),
            check=submitted.get(ACTION_FIELD) == CHECK,
        )

    @router.post(one + "/delete", name=f"delete_{record_type}", **options)
    async def delete(
        request: Request, _writer: Principal = Depends(writers), scope: CenterScope = Depends(scoped_data)
    ) -> Response:
        key, submitted, version = await _submitted_change(request, scope, record_type)
        if version is None:
            return _stored_form(request, scope, record_type, key, [_NO_VERSION])
        try:
            services.delete_record(scope, record_type, key, version=version, reason=submitted.get("reason", ""))
        except NotFound as error:
            raise HTTPException(status_code=404, detail=str(error)) from None
        except ReasonRequired as error:
            return _stored_form(request, scope, record_type, key, [str(error)])
        except Conflict:
            return _stored_form(
                request,
                scope,
                record_type,
                key,
                ["Someone else saved this record after you opened it; nothing was deleted. It is shown as stored now."],
            )
        if record_type == "patient":
            return RedirectResponse("/patients", status_code=303)
        return RedirectResponse(f"/patients/{quote(key['patient_id'], safe='')}", status_code=303)


for _record_type in FORM_RECORD_TYPES:
    _register(_record_type)


def _save(
    request: Request,
    scope: CenterScope,
    spec: FormSpec,
    result: FormResult,
    *,
    patient_id: str | None,
    version: int | None,
    reason: str = "",
    check: bool = False,
) -> Response:
    """Store a read form through the shared service functions; else the form again, saying why (200:
    the page answers; the status of the record is in what it says)."""

    def again(
        page_problems: list[str],
        *,
        reason_error: str | None = None,
        conflict: list[tuple[str, str, str]] | None = None,
        at_version: int | None = version,
    ) -> HTMLResponse:
        return _form_page(
            request,
            spec=spec,
            patient_id=patient_id,
            values=result.values,
            codes=result.codes,
            errors=result.errors,
            page_problems=page_problems,
            version=at_version,
            reason=reason,
            reason_error=reason_error,
            conflict=conflict,
            scope=scope,
        )

    if check:  # the "Check" button: the form again with its rules panel, nothing stored
        return again(result.form_errors)
    if not result.ok or result.record is None:
        return again(result.form_errors)
    record = result.record
    data = dict(record)
    try:
        if version is None:
            services.create_record(scope, spec.record_type, data)
        else:
            services.update_record(scope, spec.record_type, data, version=version, reason=reason)
    except ReasonRequired as error:
        return again([], reason_error=str(error))
    except ValidationFailed as error:
        key = {name: getattr(record, name) for name in spec.key}
        on_fields, others = problems_by_field(spec.record_type, error.problems, key=key)
        for name, texts in on_fields.items():
            result.errors.setdefault(name, []).extend(texts)
        return again([str(p) for p in others if p.severity is Severity.ERROR or p.field is None])
    except Conflict as error:
        if version is None:
            return again([f"{error} A record with this key exists already: open it from the patient's page."])
        return again(
            [
                "Someone else saved this record after you opened it. Nothing was overwritten. "
                "Compare the values below; to keep yours, give a reason and save again."
            ],
            conflict=_conflict_rows(spec, error),
            at_version=error.stored_version,
        )
    except NotAllowed as error:
        return again([str(error)])
    except NotFound as error:
        raise HTTPException(status_code=404, detail=str(error)) from None
    target = str(record.patient_id)  # type: ignore[attr-defined]
    return RedirectResponse(f"/patients/{quote(target, safe='')}", status_code=303)


def _conflict_rows(spec: FormSpec, error: Conflict) -> list[tuple[str, str, str]]:
    """(field, stored value, your value) of every field where the two differ."""
    theirs, mine = displayed_values(spec, error.stored), displayed_values(spec, error.submitted)
    return [(f.label, theirs[f.name], mine[f.name]) for f in spec.fields if theirs[f.name] != mine[f.name]]
