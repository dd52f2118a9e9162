"""The schema family of each record type, generated from `blinareg.records.models` (one source of truth).

- `Create`: the record model itself (every field, its validators, `extra="forbid"`);
- `Update`: the record plus `row_version` (the version that was opened) and `change_reason` (why
  it changes; `reason` is a field of some records);
- `Public`: the record plus its stored `row_version`, as the API answers it.

The pages' forms and the JSON API validate with the same models, then call the same services.
"""

from __future__ import annotations

import functools
import typing
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, Field, create_model

from blinareg.records.models import RECORD_MODELS, RECORD_TYPES, Record

# Record types the web and API write; centers come from imports (and are listed read-only).
EDITABLE_TYPES: tuple[str, ...] = tuple(m.record_type for m in RECORD_MODELS if m.record_type != "center")


@dataclass(frozen=True)
class SchemaFamily:
    record_type: str
    create: type[Record]
    update: type[BaseModel]
    public: type[BaseModel]
    key: tuple[str, ...]

    def key_types(self) -> dict[str, Any]:
        """Each key field's Python type (str, int, date or an enumeration), for path parameters."""
        return {name: _plain_type(self.create.model_fields[name].annotation) for name in self.key}


def _plain_type(annotation: Any) -> Any:
    while typing.get_origin(annotation) is typing.Annotated:
        annotation = typing.get_args(annotation)[0]
    return annotation


def _camel(record_type: str) -> str:
    return "".join(part.capitalize() for part in record_type.split("_"))


@functools.cache
def schema_family(record_type: str) -> SchemaFamily:
    model = RECORD_TYPES[record_type]
    name = _camel(record_type)
    update = create_model(
        f"{name}Update",
        __base__=model,
        __doc__=f"A changed {record_type}: every field, the version that was opened and why it changes.",
        row_version=(int, Field(ge=1, description="The row_version the record had when it was opened")),
        change_reason=(str, Field(min_length=1, max_length=2000, description="Why data already entered changes")),
    )
    public = create_model(
        f"{name}Public",
        __base__=model,
        __doc__=f"A stored {record_type} with its version.",
        row_version=(int, Field(ge=1, description="Incremented by every update")),
    )
    return SchemaFamily(record_type, model, update, public, tuple(model.key))


def record_fields(payload: BaseModel, family: SchemaFamily) -> dict[str, Any]:
    """The record fields of a Create/Update payload (without row_version and change_reason)."""
    return {name: getattr(payload, name) for name in family.create.model_fields}


class Page(BaseModel):
    total: int = Field(description="Records matching the filters")
    offset: int
    limit: int
    items: list[dict[str, Any]]


class ProblemOut(BaseModel):
    record_type: str
    field: str | None
    value: str | None
    reason: str
    patient_id: str | None = None
    key: str | None = None
    severity: str


class ProblemsOut(BaseModel):
    detail: str
    problems: list[ProblemOut]


class ConflictOut(BaseModel):
    detail: str
    stored_version: int
    stored: dict[str, Any]
    submitted: dict[str, Any]


class TokenCreate(BaseModel):
    name: str = Field(min_length=1, max_length=100, description="What the token is for")


class TokenCreated(BaseModel):
    token_id: int
    name: str
    token: str = Field(description="Shown once: store it now; the registry keeps only its hash")


class TokenOut(BaseModel):
    token_id: int
    name: str
    created_at: str
    last_used_at: str | None
    revoked_at: str | None


class UserOut(BaseModel):
    username: str
    role: str
    centers: list[str]
    disabled: bool
    locked: bool


class UserCreate(BaseModel):
    username: str = Field(min_length=1, max_length=100)
    password: str = Field(min_length=1, max_length=1000)
    role: str
    centers: list[str] = []


class UserChange(BaseModel):
    role: str | None = None
    centers: list[str] | None = None
    disabled: bool | None = None
    unlock: bool = False
    password: str | None = Field(default=None, max_length=1000)


class Reason(BaseModel):
    change_reason: str = Field(min_length=1, max_length=2000)
