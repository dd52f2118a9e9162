"""The JSON API under /api/v1 (OpenAPI schema at /api/openapi.json).

Per record type `T` (every type but `center`, which is read-only): `GET /T` (a page, filters),
`POST /T` (create), `GET /T/{key...}`, `PUT /T/{key...}` (with `row_version` and `change_reason`; 409 when
someone saved it since), `DELETE /T/{key...}?version=&change_reason=` (a patient: soft delete). The routes are
generated from the record models, with the schema family of `blinareg.web.schemas`, and call the same
services as the pages. Plus: centers, validation problems, a summary report, the audit trail (auditor),
users (administrator), restoring deleted patients (administrator) and the caller's API tokens.
"""

from __future__ import annotations

import csv
import datetime as dt
import inspect
import io
import json
from collections.abc import Callable
from enum import Enum
from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends, HTTPException, Path, Query
from fastapi.responses import Response

from blinareg.records.problems import Severity
from blinareg.store import Store
from blinareg.store.scoped import CenterScope, NotFound
from blinareg.web import services
from blinareg.web.deps import (
    PATIENT_READERS,
    PATIENT_WRITERS,
    REPORT_RUNNERS,
    Principal,
    get_store,
    require_roles,
    scoped_data,
    signed_in,
)
from blinareg.web.schemas import (
    EDITABLE_TYPES,
    Page,
    ProblemOut,
    Reason,
    SchemaFamily,
    TokenCreate,
    TokenCreated,
    TokenOut,
    UserChange,
    UserCreate,
    UserOut,
    record_fields,
    schema_family,
)
from blinareg.web.security import hash_password, new_token, token_hash

router = APIRouter(prefix="/api/v1")

readers = require_roles(*PATIENT_READERS)
writers = require_roles(*PATIENT_WRITERS)
administrators = require_roles("administrator")
auditors = require_roles("auditor")
report_runners = require_roles(*REPORT_RUNNERS)

MAX_PAGE = 500
STORED_INT = 2**31 - 1  # the database's INTEGER
Offset = Annotated[int, Query(ge=0, le=10_000_000, description="Records to skip")]
Limit = Annotated[int, Query(ge=1, le=MAX_PAGE, description="Records per page")]
Scope = Annotated[CenterScope, Depends(scoped_data)]

_ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"description": "Not signed in"},
    403: {"description": "The role does not allow it"},
    404: {"description": "No such record visible to the caller"},
}


# ---- records, generated per type ---------------------------------------------------------------------


def _with_signature(function: Callable[..., Any], parameters: list[inspect.Parameter]) -> Callable[..., Any]:
    function.__signature__ = inspect.Signature(parameters)  # type: ignore[attr-defined]
    return function


def _key_parameters(family: SchemaFamily) -> list[inspect.Parameter]:
    return [
        inspect.Parameter(
            name,
            inspect.Parameter.KEYWORD_ONLY,
            annotation=Annotated[kind, Path(ge=-STORED_INT, le=STORED_INT) if kind is int else Path()],
        )
        for name, kind in family.key_types().items()
    ]


def _scope_parameter() -> inspect.Parameter:
    return inspect.Parameter("scope", inspect.Parameter.KEYWORD_ONLY, annotation=Scope)


def _payload_parameter(schema: type[Any]) -> inspect.Parameter:
    return inspect.Parameter("payload", inspect.Parameter.KEYWORD_ONLY, annotation=Annotated[schema, Body()])


def _check_path_key(family: SchemaFamily, path_key: dict[str, Any], fields: dict[str, Any]) -> None:
    for name, value in path_key.items():
        if fields.get(name) != value:
            raise HTTPException(
                422, f"{family.record_type}.{name} in the body ({fields.get(name)}) differs from the URL ({value})"
            )


def _add_record_routes(record_type: str) -> None:
    family = schema_family(record_type)
    base = f"/{record_type}"
    item = base + "".join(f"/{{{name}}}" for name in family.key)
    tags: list[str | Enum] = [record_type]

    def list_records(scope: Scope, offset: Offset = 0, limit: Limit = 50, patient_id: str | None = None) -> Page:
        page = scope.list_records(
            record_type, filters={"patient_id": patient_id} if patient_id else None, offset=offset, limit=limit
        )
        return Page(total=page.total, offset=page.offset, limit=page.limit, items=page.rows)

    router.add_api_route(
        base,
        list_records,
        methods=["GET"],
        response_model=Page,
        dependencies=[Depends(readers)],
        name=f"list_{record_type}",
        summary=f"List {record_type} records (a page)",
        tags=tags,
        responses=_ERRORS,
    )

    def create(**arguments: Any) -> Any:
        scope: CenterScope = arguments["scope"]
        stored, _warnings = services.create_record(scope, record_type, record_fields(arguments["payload"], family))
        return stored

    router.add_api_route(
        base,
        _with_signature(create, [_scope_parameter(), _payload_parameter(family.create)]),
        methods=["POST"],
        status_code=201,
        response_model=family.public,
        dependencies=[Depends(writers)],
        name=f"create_{record_type}",
        summary=f"Create a {record_type}",
        tags=tags,
        responses={**_ERRORS, 409: {"description": "Already stored"}, 422: {"description": "Validation problems"}},
    )

    def get_one(**arguments: Any) -> Any:
        scope: CenterScope = arguments.pop("scope")
        return scope.get(record_type, arguments)

    router.add_api_route(
        item,
        _with_signature(get_one, [*_key_parameters(family), _scope_parameter()]),
        methods=["GET"],
        response_model=family.public,
        dependencies=[Depends(readers)],
        name=f"get_{record_type}",
        summary=f"One {record_type}",
        tags=tags,
        responses=_ERRORS,
    )

    def update(**arguments: Any) -> Any:
        scope: CenterScope = arguments.pop("scope")
        payload = arguments.pop("payload")
        fields = record_fields(payload, family)
        _check_path_key(family, arguments, fields)
        stored, _warnings = services.update_record(
            scope, record_type, fields, version=payload.row_version, reason=payload.change_reason
        )
        return stored

    router.add_api_route(
        item,
        _with_signature(
            update,
            [
                *_key_parameters(family),
                _scope_parameter(),
                _payload_parameter(family.update),
            ],
        ),
        methods=["PUT"],
        response_model=family.public,
        dependencies=[Depends(writers)],
        name=f"update_{record_type}",
        summary=f"Save a changed {record_type} (row_version = the version opened; change_reason required)",
        tags=tags,
        responses={**_ERRORS, 409: {"description": "Changed since opened: both values, nothing overwritten"}},
    )

    def delete(**arguments: Any) -> Response:
        scope: CenterScope = arguments.pop("scope")
        version, reason = arguments.pop("version"), arguments.pop("change_reason")
        services.delete_record(scope, record_type, arguments, version=version, reason=reason)
        return Response(status_code=204)

    router.add_api_route(
        item,
        _with_signature(
            delete,
            [
                *_key_parameters(family),
                _scope_parameter(),
                inspect.Parameter(
                    "version", inspect.Parameter.KEYWORD_ONLY, annotation=Annotated[int, Query(ge=1, le=STORED_INT)]
                ),
                inspect.Parameter(
                    "change_reason",
                    inspect.Parameter.KEYWORD_ONLY,
                    annotation=Annotated[str, Query(min_length=1, max_length=2000)],
                ),
            ],
        ),
        methods=["DELETE"],
        status_code=204,
        response_class=Response,
        dependencies=[Depends(writers)],
        name=f"delete_{record_type}",
        summary=f"Delete a {record_type}"
        + (" (soft delete; an administrator can restore)" if record_type == "patient" else ""),
        tags=tags,
        responses={**_ERRORS, 409: {"description": "Changed since opened"}},
    )


for _record_type in EDITABLE_TYPES:
    _add_record_routes(_record_type)


@router.get("/center", dependencies=[Depends(readers)], tags=["center"], response_model=Page, responses=_ERRORS)
def list_centers(scope: Scope, offset: Offset = 0, limit: Limit = 50) -> Page:
    """The caller's centers."""
    page = scope.list_records("center", offset=offset, limit=limit)
    return Page(total=page.total, offset=page.offset, limit=page.limit, items=page.rows)


# ---- deleted patients (administrator) ---------------------------------------------------------------


@router.get("/deleted-patients", dependencies=[Depends(administrators)], tags=["patient"], response_model=Page)
def list_deleted_patients(scope: Scope, offset: Offset = 0, limit: Limit = 50) -> Page:
    """Soft-deleted patients of the caller's centers."""
    page = scope.list_records("patient", offset=offset, limit=limit, deleted=True)
    return Page(total=page.total, offset=page.offset, limit=page.limit, items=page.rows)


@router.post(
    "/deleted-patients/{patient_id}/restore",
    dependencies=[Depends(administrators)],
    tags=["patient"],
    status_code=204,
    response_class=Response,
    responses=_ERRORS,
)
def restore_patient(patient_id: str, payload: Reason, scope: Scope) -> Response:
    """Undo a patient's soft delete."""
    scope.restore(patient_id, reason=payload.change_reason)
    return Response(status_code=204)


# ---- validation problems and reports -----------------------------------------------------------------


@router.get("/problems", dependencies=[Depends(readers)], tags=["reports"], response_model=list[ProblemOut])
def list_problems(scope: Scope) -> list[ProblemOut]:
    """Every validation problem of the caller's patients."""
    from blinareg.records.validation import validate

    return [
        ProblemOut(
            record_type=p.record_type,
            field=p.field,
            value=None if p.value is None else str(p.value),
            reason=p.reason,
            patient_id=p.patient_id,
            key=p.key,
            severity=p.severity.value if isinstance(p.severity, Severity) else str(p.severity),
        )
        for p in validate(scope.registry())
    ]


@router.get("/reports/summary", dependencies=[Depends(report_runners)], tags=["reports"])
def summary_report(scope: Scope) -> dict[str, Any]:
    """Records per type and patients per center, of the caller's centers (no record-level identifiers)."""
    registry = scope.registry()
    patients = registry["patient"]
    result = {
        "records": registry.counts(),
        "patients_per_center": {str(k): int(v) for k, v in patients["center_id"].value_counts().sort_index().items()},
    }
    scope.log("report", "summary", {"patients": len(patients)})
    return result


# ---- audit trail (auditor) ----------------------------------------------------------------------------


AuditFilters = dict[str, Any]
AUDIT_CSV_COLUMNS = (
    "id",
    "at",
    "user",
    "action",
    "record_type",
    "patient_id",
    "center_id",
    "key",
    "before",
    "after",
    "reason",
    "source",
)


def _audit_filters(
    patient_id: str | None = None,
    user: str | None = None,
    center_id: str | None = None,
    record_type: str | None = None,
    since: dt.date | None = None,
    until: dt.date | None = None,
) -> AuditFilters:
    def start(day: dt.date | None) -> dt.datetime | None:
        return None if day is None else dt.datetime.combine(day, dt.time(), tzinfo=dt.UTC)

    return {
        "patient_id": patient_id,
        "actor": user,
        "center_id": center_id,
        "record_type": record_type,
        "since": start(since),
        "until": start(until + dt.timedelta(days=1)) if until is not None and until < dt.date.max else None,
    }


def _audit_row(entry: Any) -> dict[str, Any]:
    return {
        "id": entry.id,
        "at": entry.at.isoformat(),
        "user": entry.actor,
        "action": entry.action,
        "record_type": entry.record_type,
        "patient_id": entry.patient_id,
        "center_id": entry.center_id,
        "key": entry.record_key,
        "before": entry.before,
        "after": entry.after,
        "reason": entry.reason,
        "source": entry.source,
    }


@router.get("/audit", dependencies=[Depends(auditors)], tags=["audit"], response_model=Page)
def audit_trail(
    scope: Scope, filters: Annotated[AuditFilters, Depends(_audit_filters)], offset: Offset = 0, limit: Limit = 50
) -> Page:
    """Audit rows of the caller's centers (and sign-ins, account changes), newest first."""
    entries, total = scope.audit(**filters, offset=offset, limit=limit)
    return Page(total=total, offset=offset, limit=limit, items=[_audit_row(e) for e in entries])


@router.get("/audit/export.csv", dependencies=[Depends(auditors)], tags=["audit"], response_class=Response)
def audit_export(scope: Scope, filters: Annotated[AuditFilters, Depends(_audit_filters)]) -> Response:
    """The filtered audit trail as CSV (the export itself is audited)."""
    entries, total = scope.audit(**filters, limit=None)
    buffer = io.StringIO()
    columns = AUDIT_CSV_COLUMNS
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(columns)
    for entry in entries:
        row = _audit_row(entry)
        writer.writerow(
            [json.dumps(row[c], ensure_ascii=False) if isinstance(row[c], (dict, list)) else row[c] for c in columns]
        )
    scope.log("export", "audit_log", {"rows": total, "filters": {k: str(v) for k, v in filters.items() if v}})
    return Response(
        buffer.getvalue(),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": 'attachment; filename="audit_log.csv"'},
    )


# ---- users (administrator) -----------------------------------------------------------------------------


def _user_out(user: Any) -> UserOut:
    return UserOut(
        username=user.username, role=user.role, centers=list(user.centers), disabled=user.disabled, locked=user.locked
    )


@router.get("/users", dependencies=[Depends(administrators)], tags=["users"], response_model=list[UserOut])
def list_users(store: Annotated[Store, Depends(get_store)]) -> list[UserOut]:
    return [_user_out(u) for u in store.accounts.list_users()]


@router.post("/users", tags=["users"], response_model=UserOut, status_code=201)
def add_user(
    payload: UserCreate,
    store: Annotated[Store, Depends(get_store)],
    principal: Annotated[Principal, Depends(administrators)],
) -> UserOut:
    user = store.accounts.add(
        payload.username, hash_password(payload.password), payload.role, payload.centers, actor=principal.user.username
    )
    return _user_out(user)


@router.patch("/users/{username}", tags=["users"], response_model=UserOut, responses=_ERRORS)
def change_user(
    username: str,
    payload: UserChange,
    store: Annotated[Store, Depends(get_store)],
    principal: Annotated[Principal, Depends(administrators)],
) -> UserOut:
    accounts, actor = store.accounts, principal.user.username
    if accounts.get(username) is None:
        raise NotFound(f"no user {username!r}")
    if payload.password is not None:
        accounts.set_password(username, hash_password(payload.password), actor=actor)
    if payload.role is not None:
        accounts.set_role(username, payload.role, actor=actor)
    if payload.centers is not None:
        accounts.set_centers(username, payload.centers, actor=actor)
    if payload.disabled is not None:
        accounts.set_disabled(username, payload.disabled, actor=actor)
    if payload.unlock:
        accounts.unlock(username, actor=actor)
    user = accounts.get(username)
    assert user is not None
    return _user_out(user)


# ---- the caller ------------------------------------------------------------------------------------------


@router.get("/me", tags=["account"])
def me(principal: Annotated[Principal, Depends(signed_in)]) -> dict[str, Any]:
    """Who is signed in: user name, role and centers."""
    user = principal.user
    return {"username": user.username, "role": user.role, "centers": list(user.centers)}


@router.get("/tokens", tags=["account"], response_model=list[TokenOut])
def list_tokens(
    principal: Annotated[Principal, Depends(signed_in)], store: Annotated[Store, Depends(get_store)]
) -> list[TokenOut]:
    """The caller's API tokens (never the tokens themselves)."""
    return [
        TokenOut(
            token_id=t.token_id,
            name=t.name,
            created_at=t.created_at.isoformat(),
            last_used_at=t.last_used_at.isoformat() if t.last_used_at else None,
            revoked_at=t.revoked_at.isoformat() if t.revoked_at else None,
        )
        for t in store.accounts.tokens(principal.user)
    ]


@router.post("/tokens", tags=["account"], response_model=TokenCreated, status_code=201)
def create_token(
    payload: TokenCreate,
    principal: Annotated[Principal, Depends(signed_in)],
    store: Annotated[Store, Depends(get_store)],
) -> TokenCreated:
    """A new API token for the caller, shown once (only its hash is stored)."""
    token = new_token()
    token_id = store.accounts.add_token(principal.user, payload.name, token_hash(token))
    return TokenCreated(token_id=token_id, name=payload.name, token=token)


@router.delete("/tokens/{token_id}", tags=["account"], status_code=204, response_class=Response, responses=_ERRORS)
def revoke_token(
    token_id: Annotated[int, Path(ge=1, le=STORED_INT)],
    principal: Annotated[Principal, Depends(signed_in)],
    store: Annotated[Store, Depends(get_store)],
) -> Response:
    """Revoke one of the caller's API tokens."""
    if not store.accounts.revoke_token(principal.user, token_id):
        raise NotFound(f"no live API token {token_id}")
    return Response(status_code=204)
