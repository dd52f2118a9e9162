"""What the pages and the API both do: sign in and out, create, update and delete records.

One function per action, shared by the HTML forms and the JSON API, raising typed errors that each
turns into its own response: `NotFound` (404), `Conflict` (409, with stored and submitted values),
`ValidationFailed` (422, every problem), `ReasonRequired` (422), `NotAllowed` (403).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pydantic import ValidationError

from blinareg.errors import ValidationFailed
from blinareg.records.models import RECORD_TYPES, Record
from blinareg.records.problems import Problem, Severity
from blinareg.store import Store
from blinareg.store.scoped import CenterScope, Conflict, NotAllowed, NotFound, ReasonRequired
from blinareg.web.bedside import unexplained_disagreement
from blinareg.web.deps import Principal
from blinareg.web.security import SecuritySettings, new_token, token_hash, verify_password

__all__ = [
    "Conflict",
    "NotAllowed",
    "NotFound",
    "ReasonRequired",
    "ValidationFailed",
    "create_record",
    "delete_record",
    "sign_in",
    "sign_out",
    "update_record",
]

STORED_INT = 2**31 - 1  # the database's INTEGER


def sign_in(store: Store, settings: SecuritySettings, username: str, password: str) -> str | None:
    """A new session token for a right password of an active, unlocked user; None otherwise (audited)."""
    user = store.accounts.get(username)
    ok = verify_password(store.accounts.password_hash(username) if user else None, password)
    if user is None or not ok or user.disabled or user.locked:
        store.accounts.record_failure(username, limit=settings.lockout_failures, window=settings.lockout_window)
        return None
    token = new_token()
    store.accounts.create_session(user, token_hash(token), new_token())
    return token


def sign_out(store: Store, principal: Principal) -> None:
    if principal.session_hash is not None:
        store.accounts.end_session(principal.session_hash)


def build_record(record_type: str, data: Mapping[str, object]) -> Record:
    """A record model from submitted values; every field problem at once as ValidationFailed."""
    model = RECORD_TYPES.get(record_type)
    if model is None:
        raise NotFound(f"no record type {record_type!r}")
    try:
        record = model.model_validate(dict(data))
    except ValidationError as error:
        raise ValidationFailed(
            [
                Problem(
                    record_type=record_type,
                    field=".".join(str(part) for part in item["loc"]) or None,
                    value=_shown(item.get("input")),
                    reason=item["msg"],
                    patient_id=_shown(data.get("patient_id")),
                    severity=Severity.ERROR,
                )
                for item in error.errors(include_url=False)
            ]
        ) from None
    too_large = [
        Problem(
            record_type,
            name,
            str(value),
            f"outside what the database stores (±{STORED_INT})",
            _shown(data.get("patient_id")),
        )
        for name, value in record
        if isinstance(value, int) and not isinstance(value, bool) and abs(value) > STORED_INT
    ]
    if too_large:
        raise ValidationFailed(too_large)
    return record


def _shown(value: object) -> str | None:
    return None if value is None or isinstance(value, (dict, list)) else str(value)


def create_record(
    scope: CenterScope, record_type: str, data: Mapping[str, object]
) -> tuple[dict[str, Any], tuple[Problem, ...]]:
    """Store a new record (its key must be new); returns the stored values and the warnings."""
    return scope.save(_explained(scope, build_record(record_type, data)), version=None)


def update_record(
    scope: CenterScope, record_type: str, data: Mapping[str, object], *, version: int, reason: str | None
) -> tuple[dict[str, Any], tuple[Problem, ...]]:
    """Save a changed record opened at `version`; Conflict if someone saved it since."""
    return scope.save(_explained(scope, build_record(record_type, data)), version=version, reason=reason)


def _explained(scope: CenterScope, record: Record) -> Record:
    """The record, unless it is a CRS/ICANS event whose recorded grade disagrees with the computed ASTCT grade
    without a disagreement reason (ValidationFailed naming that field; the form shows it under the field)."""
    if record.record_type != "adverse_event":
        return record
    patient_id = str(record.patient_id)  # type: ignore[attr-defined]
    registry = scope.patient_registry(patient_id)  # NotFound for a patient outside the scope
    panel = unexplained_disagreement(record, registry)
    if panel is None:
        return record
    raise ValidationFailed(
        [
            Problem(
                record_type="adverse_event",
                field="disagreement_reason",
                value=None,
                reason=f"{panel.headline}: the recorded grade differs from the ASTCT grade its parameters give; "
                "give the disagreement reason, or correct the grade or the parameters",
                patient_id=patient_id,
                key=f"event_number={getattr(record, 'event_number', None)}",
            )
        ]
    )


def delete_record(scope: CenterScope, record_type: str, key: object, *, version: int, reason: str | None) -> None:
    """Delete a record opened at `version` (a patient: soft delete an administrator can undo)."""
    scope.delete(record_type, key, version=version, reason=reason)
