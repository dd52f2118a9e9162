"""Data queries on the web (issue #12): per center and per user (`/queries`), per patient (the patient page).

A data manager acknowledges an open query with a reason (the value is right as it is); a monitor raises
a query on any field of a stored record of a patient of their centers and resolves manual queries. Every
change goes through `blinareg.store.queries` (audited in the transaction of the change). Only queries
of the live patients of the caller's centers are shown or changed: another center's query answers 404,
exactly like an absent one.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterable, Mapping
from urllib.parse import quote, urlencode

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from blinareg.errors import UserError
from blinareg.records.check_tools import _key_text  # the key text validation and queries use
from blinareg.records.models import RECORD_TYPES
from blinareg.store.queries import DataQueries, DataQuery
from blinareg.store.schema import QUERY_STATUSES
from blinareg.store.scoped import CenterScope
from blinareg.web.deps import PATIENT_READERS, PATIENT_WRITERS, Principal, require_roles, scoped_data
from blinareg.web.forms import FORM_RECORD_TYPES, field_label, form_spec
from blinareg.web.pages.rendering import form_text, render

router = APIRouter(include_in_schema=False)

QUERY_READERS = PATIENT_READERS
QUERY_RAISERS = ("monitor",)
QUERY_ACKNOWLEDGERS = PATIENT_WRITERS
QUERY_RESOLVERS = (*PATIENT_WRITERS, *QUERY_RAISERS)  # manual queries only (validation ones: by a correction)

readers = require_roles(*QUERY_READERS)
raisers = require_roles(*QUERY_RAISERS)
acknowledgers = require_roles(*QUERY_ACKNOWLEDGERS)
resolvers = require_roles(*QUERY_RESOLVERS)

RECORD_SEPARATOR = "|"  # "relapse|relapse_number=1": a record of the patient in the raise form


@dataclasses.dataclass(frozen=True)
class QueryRow:
    """One query as the pages show it."""

    query: DataQuery
    record: str  # "relapse (relapse_number=1)"
    field: str
    reopened: int  # times re-opened after an acknowledgement (from the audit trail)
    record_link: str | None  # the record's edit form (data managers)
    can_acknowledge: bool
    can_resolve: bool


def _visible_patients(scope: CenterScope) -> set[str]:
    return set(scope.patient_ids())


def _key_fields(record_key: str) -> dict[str, str]:
    """`cycle_number=1, kind=delivered` -> {"cycle_number": "1", "kind": "delivered"}."""
    out = {}
    for part in record_key.split(", ") if record_key else ():
        name, _, value = part.partition("=")
        out[name] = value
    return out


def _record_link(query: DataQuery) -> str | None:
    from blinareg.web.pages.records import record_link

    if query.patient_id is None or query.record_type not in FORM_RECORD_TYPES:
        return None
    values = _key_fields(query.record_key)
    if any(name not in values for name in RECORD_TYPES[query.record_type].key if name != "patient_id"):
        return None
    return record_link(query.patient_id, query.record_type, values)


def query_rows(scope: CenterScope, queries: Iterable[DataQuery], role: str) -> list[QueryRow]:
    """The queries with their record, field, re-open count and what the caller may do with each."""
    listed = list(queries)
    reopened = DataQueries(scope.store).reopen_counts(sorted({q.patient_id for q in listed if q.patient_id}))
    rows = []
    for q in listed:
        record = q.record_type.replace("_", " ") + (f" ({q.record_key})" if q.record_key else "")
        rows.append(
            QueryRow(
                query=q,
                record=record,
                field=field_label(q.field) if q.field else "",
                reopened=reopened.get(q.id, 0),
                record_link=_record_link(q) if role in PATIENT_WRITERS else None,
                can_acknowledge=role in QUERY_ACKNOWLEDGERS and q.status == "open",
                can_resolve=role in QUERY_RESOLVERS and q.origin == "manual" and q.status != "resolved",
            )
        )
    return rows


def patient_queries(scope: CenterScope, patient_id: str, role: str) -> list[QueryRow]:
    """A patient's queries (open and acknowledged first, then resolved), for the patient page."""
    found = DataQueries(scope.store).list(patient_id=patient_id)
    order = {"open": 0, "acknowledged": 1, "resolved": 2}
    return query_rows(scope, sorted(found, key=lambda q: (order.get(q.status, 3), q.id)), role)


def _local(target: str, fallback: str) -> str:
    """A redirect target from a form: a path of this site only."""
    return target if target.startswith("/") and not target.startswith("//") and "\\" not in target else fallback


@router.get("/queries", response_class=HTMLResponse)
def queries_page(
    request: Request,
    patient: str = "",
    center: str = "",
    user: str = "",
    status: str = "",
    principal: Principal = Depends(readers),
    scope: CenterScope = Depends(scoped_data),
    error: str | None = None,
) -> HTMLResponse:
    filters = {"patient": patient.strip(), "center": center, "user": user.strip(), "status": status}
    problems = []
    if status and status not in QUERY_STATUSES:
        problems.append(f"status {status!r}: expected one of {', '.join(QUERY_STATUSES)}")
        status = ""
    if center and center not in scope.centers:
        problems.append(f"center {center!r} is not one of your centers")
    found: list[DataQuery] = []
    if not problems:
        # One center at a time in SQL (not the whole registry's queries); a named patient directly.
        centers = [center or None] if filters["patient"] or center else sorted(scope.centers)
        for center_id in centers:
            found += DataQueries(scope.store).list(
                patient_id=filters["patient"] or None,
                center_id=center_id or None,
                user=filters["user"] or None,
                status=status or None,
            )
        found.sort(key=lambda q: q.id)
    visible = _visible_patients(scope)
    shown = [q for q in found if q.patient_id in visible]
    counts = {name: sum(q.status == name for q in shown) for name in QUERY_STATUSES}
    here = "/queries" + ("?" + urlencode({k: v for k, v in filters.items() if v}) if any(filters.values()) else "")
    return render(
        request,
        "queries.html",
        {
            "rows": query_rows(scope, shown, principal.user.role),
            "filters": filters,
            "counts": counts,
            "centers": sorted(scope.centers),
            "statuses": QUERY_STATUSES,
            "problems": problems + ([error] if error else []),
            "here": here,
            "me": principal.user.username,
        },
    )


def _query_of_scope(scope: CenterScope, query_id: int) -> DataQuery:
    """A query of a live patient of the caller's centers (404 otherwise, as for an absent one)."""
    try:
        query = DataQueries(scope.store).get(query_id)
    except UserError:
        raise HTTPException(status_code=404, detail=f"no data query with id {query_id}") from None
    if query.patient_id is None or query.patient_id not in _visible_patients(scope):
        raise HTTPException(status_code=404, detail=f"no data query with id {query_id}")
    return query


QueryChange = Callable[[DataQueries, Mapping[str, str], str], None]  # (queries, submitted form, actor)


async def _change_query(
    request: Request, query_id: int, principal: Principal, scope: CenterScope, change: QueryChange
) -> Response:
    """Apply a change to a query of the caller's centers; back where the form was (a local `next`), or the
    patient's queries with the error (no reason, not open, ...)."""
    query = _query_of_scope(scope, query_id)
    submitted = await form_text(request)
    try:
        change(DataQueries(scope.store), submitted, principal.user.username)
    except UserError as error:
        return queries_page(request, patient=query.patient_id or "", principal=principal, scope=scope, error=str(error))
    fallback = f"/queries?patient={quote(query.patient_id or '', safe='')}"
    return RedirectResponse(_local(submitted.get("next", ""), fallback), status_code=303)


@router.post("/queries/{query_id}/acknowledge", response_class=HTMLResponse)
async def acknowledge_query(
    request: Request,
    query_id: int,
    principal: Principal = Depends(acknowledgers),
    scope: CenterScope = Depends(scoped_data),
) -> Response:
    def acknowledge(queries: DataQueries, submitted: Mapping[str, str], actor: str) -> None:
        queries.acknowledge(query_id, reason=submitted.get("reason", ""), actor=actor)

    return await _change_query(request, query_id, principal, scope, acknowledge)


@router.post("/queries/{query_id}/resolve", response_class=HTMLResponse)
async def resolve_query(
    request: Request,
    query_id: int,
    principal: Principal = Depends(resolvers),
    scope: CenterScope = Depends(scoped_data),
) -> Response:
    def resolve(queries: DataQueries, _submitted: Mapping[str, str], actor: str) -> None:
        queries.resolve(query_id, actor=actor)

    return await _change_query(request, query_id, principal, scope, resolve)


# ---- a monitor raises a query ----------------------------------------------------------------------


def _patient_records(scope: CenterScope, patient_id: str) -> list[tuple[str, str, str]]:
    """(value, label, record type) of each stored record of the patient, in form order."""
    scope.get("patient", {"patient_id": patient_id})  # 404 for another center's patient
    registry = scope.store.load_registry([patient_id])
    out = []
    for record_type in FORM_RECORD_TYPES:
        frame = registry[record_type]
        if frame.empty:
            continue
        for key in _key_text(record_type, frame):
            key_text = "" if key is None else str(key)
            label = form_spec(record_type).title + (f" ({key_text})" if key_text else "")
            out.append((f"{record_type}{RECORD_SEPARATOR}{key_text}", label, record_type))
    return out


def _raise_form(
    request: Request,
    scope: CenterScope,
    patient_id: str,
    *,
    record: str = "",
    field: str = "",
    text: str = "",
    error: str | None = None,
) -> HTMLResponse:
    records = _patient_records(scope, patient_id)
    chosen_type = record.partition(RECORD_SEPARATOR)[0] if record else ""
    types = [chosen_type] if chosen_type in RECORD_TYPES else list(dict.fromkeys(t for _, _, t in records))
    field_groups = [(form_spec(t).title, [(f"{t}.{f.name}", f.label) for f in form_spec(t).fields]) for t in types]
    return render(
        request,
        "query_raise.html",
        {
            "patient_id": patient_id,
            "records": records,
            "field_groups": field_groups,
            "record": record,
            "field": field,
            "text": text,
            "error": error,
            "queries": patient_queries(scope, patient_id, "monitor"),
        },
    )


@router.get("/patients/{patient_id}/queries/new", response_class=HTMLResponse)
def raise_query_form(
    request: Request,
    patient_id: str,
    record: str = "",
    _monitor: Principal = Depends(raisers),
    scope: CenterScope = Depends(scoped_data),
) -> HTMLResponse:
    return _raise_form(request, scope, patient_id, record=record)


@router.post("/patients/{patient_id}/queries/new", response_class=HTMLResponse)
async def raise_query(
    request: Request,
    patient_id: str,
    principal: Principal = Depends(raisers),
    scope: CenterScope = Depends(scoped_data),
) -> Response:
    scope.get("patient", {"patient_id": patient_id})  # 404 for another center's patient
    submitted = await form_text(request)
    record, field, text = submitted.get("record", ""), submitted.get("field", ""), submitted.get("text", "")
    record_type, _, record_key = record.partition(RECORD_SEPARATOR)
    field_type, _, field_name = field.rpartition(".")
    again = {"record": record, "field": field, "text": text}
    if not record_type:
        return _raise_form(request, scope, patient_id, **again, error="choose the record the query is about")
    if field and field_type != record_type:
        error = f"the field {field!r} is not a field of the chosen record ({record_type})"
        return _raise_form(request, scope, patient_id, **again, error=error)
    try:
        DataQueries(scope.store).raise_query(
            patient_id=patient_id,
            record_type=record_type,
            record_key=record_key,
            field=field_name,
            text=text,
            actor=principal.user.username,
        )
    except UserError as error:
        return _raise_form(request, scope, patient_id, **again, error=str(error))
    return RedirectResponse(f"/patients/{quote(patient_id, safe='')}#queries", status_code=303)
