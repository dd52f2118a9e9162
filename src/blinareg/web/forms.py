"""Record forms generated from the record models, and submitted forms read like a CSV row.

`form_spec(record_type)` describes one form: per field its label, help text (the model's description),
unit, input kind, the enumeration as (code, readable label) choices, the missing-data codes the field
accepts, and whether a partial date (`YYYY`, `YYYY-MM`) is allowed. The specifications come from
`blinareg.records.registry.columns` (the same columns a CSV file has), so a new model field appears in
its form without touching this module.

`read_form(record_type, submitted)` turns submitted text into a record through
`blinareg.exchange.tabular.parse_text_record`, the CSV importer's own reading: the browser and the
importer accept exactly the same values. A missing-data code is chosen in a separate select beside the
field (`<field>_missing`, the companion's name) and handed over in the field's own cell, as in a file.
Every problem comes back on its field (`FormResult.errors`), or on the form when it names no field.
"""

from __future__ import annotations

import datetime as dt
import enum
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import annotated_types
from pydantic.fields import FieldInfo

from blinareg.derive.labels import VALUE_LABELS
from blinareg.exchange.dictionary import field_unit
from blinareg.exchange.tabular import format_float, parse_text_record
from blinareg.records.models import MISSING_SUFFIX, PRECISION_SUFFIX, RECORD_MODELS, RECORD_TYPES, Record
from blinareg.records.problems import Problem, Severity, value_text
from blinareg.records.registry import Column, columns, frame_to_dicts
from blinareg.records.vocabulary import DatePrecision, MissingCode

__all__ = [
    "Choice",
    "FieldSpec",
    "FormSpec",
    "FormResult",
    "FORM_RECORD_TYPES",
    "form_spec",
    "read_form",
    "initial_values",
    "stored_values",
    "problems_by_field",
    "field_label",
    "choice_label",
]

# The record types a patient's page lists and edits, in the order of a patient's course.
FORM_RECORD_TYPES: tuple[str, ...] = tuple(m.record_type for m in RECORD_MODELS if m.record_type != "center")

# Words a field name is written with, where plain capitalisation would be wrong.
_ABBREVIATIONS = {
    "wbc": "WBC",
    "cns": "CNS",
    "cd19": "CD19",
    "mrd": "MRD",
    "hsct": "HSCT",
    "gvhd": "GVHD",
    "ice": "ICE",
    "capd": "CAPD",
    "id": "ID",
}
_UNIT_NAME_SUFFIXES = ("_pct", "_kg", "_cm", "_per_nl", "_c")
_MISSING_CODE_LABELS = {
    MissingCode.UNKNOWN.value: "Unknown",
    MissingCode.NOT_DONE.value: "Not done",
    MissingCode.NOT_APPLICABLE.value: "Not applicable",
    MissingCode.POSITIVE_NOT_QUANTIFIABLE.value: "Positive, not quantifiable",
}
_BOOLEAN_CHOICES = (("true", "Yes"), ("false", "No"))
# Codes whose report label means something else in a form (the report's "BM" is an isolated marrow
# relapse; an MRD sample "BM" is bone marrow), and acronyms plain capitalisation would spoil.
_FORM_LABELS = {
    ("MrdSample", "BM"): "Bone marrow",
    ("MrdSample", "PB"): "Peripheral blood",
    ("GradingSystem", "astct"): "ASTCT",
    ("GradingSystem", "ctcae_v5"): "CTCAE v5",
}
_FORM_SOURCE = "form"


@dataclass(frozen=True)
class Choice:
    value: str
    label: str


@dataclass(frozen=True)
class FieldSpec:
    name: str
    label: str
    help: str
    kind: str  # date, bool, int, float, text (as registry.Column.kind)
    required: bool
    unit: str | None = None
    choices: tuple[Choice, ...] = ()  # enumeration or yes/no: a select
    codes: tuple[Choice, ...] = ()  # the missing-data codes the field accepts
    partial_date: bool = False
    key: bool = False  # part of the record's natural key: fixed once the record exists
    minimum: float | None = None
    maximum: float | None = None
    max_length: int | None = None
    default: str = ""

    @property
    def code_name(self) -> str:
        """The form input holding the field's missing-data code (the model's companion field)."""
        return self.name + MISSING_SUFFIX

    @property
    def is_select(self) -> bool:
        return bool(self.choices)

    @property
    def input_mode(self) -> str:
        """The on-screen keyboard a touch device shows (inputs stay text: same parsing as a CSV cell)."""
        return {"int": "numeric", "float": "decimal"}.get(self.kind, "text")

    @property
    def placeholder(self) -> str:
        if self.kind == "date":
            return "YYYY-MM-DD, YYYY-MM or YYYY" if self.partial_date else "YYYY-MM-DD"
        return ""

    @property
    def range_text(self) -> str:
        """`0 to 100`, `at least 1`, ...; empty when the model sets no bound."""
        low = None if self.minimum is None else _number_text(self.minimum)
        high = None if self.maximum is None else _number_text(self.maximum)
        if low is not None and high is not None:
            return f"{low} to {high}"
        if low is not None:
            return f"at least {low}"
        return f"at most {high}" if high is not None else ""


@dataclass(frozen=True)
class FormSpec:
    record_type: str
    title: str
    key: tuple[str, ...]
    fields: tuple[FieldSpec, ...]

    def field(self, name: str) -> FieldSpec:
        for spec in self.fields:
            if spec.name == name:
                return spec
        raise KeyError(f"{self.record_type} has no field {name!r}")

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(spec.name for spec in self.fields)


@dataclass
class FormResult:
    """A submitted form: what was typed (to show it again), the record when it reads, and the problems."""

    record_type: str
    values: dict[str, str]
    codes: dict[str, str]
    record: Record | None = None
    errors: dict[str, list[str]] = field(default_factory=dict)
    form_errors: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.record is not None and not self.errors and not self.form_errors

    def add_problems(self, problems: Iterable[Problem]) -> list[Problem]:
        """Put the problems naming a field of this form on that field; return the others (for the page)."""
        return _distribute(self, problems)


def choice_label(code: str) -> str:
    """The words shown for a stored code: `msd` -> `Matched sibling`, `low_flow` -> `Low flow`."""
    if code in VALUE_LABELS:
        return VALUE_LABELS[code]
    if code in _MISSING_CODE_LABELS:
        return _MISSING_CODE_LABELS[code]
    text = code.replace("_", " ")
    return text[:1].upper() + text[1:] if text.islower() else text


def field_label(name: str) -> str:
    """The words for a field name, its unit left to the unit column: `marrow_blasts_pct` -> `Marrow blasts`."""
    stem = name
    for suffix in _UNIT_NAME_SUFFIXES:
        if field_unit(name) and stem.endswith(suffix):
            stem = stem[: -len(suffix)]
            break
    words = [_ABBREVIATIONS.get(word, word) for word in stem.split("_")]
    text = " ".join(words)
    return text[:1].upper() + text[1:]


def _number_text(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else format_float(float(value))


def _bounds(info: FieldInfo) -> tuple[float | None, float | None, int | None]:
    """(minimum, maximum, max length) of a field, including those inside Optional[Annotated[...]]."""
    found: list[Any] = list(info.metadata)
    pending: list[Any] = [info.annotation]
    while pending:
        annotation = pending.pop()
        for argument in getattr(annotation, "__args__", ()) or ():
            if isinstance(argument, FieldInfo):
                found += argument.metadata
            else:
                pending.append(argument)
        for item in getattr(annotation, "__metadata__", ()) or ():
            found += item.metadata if isinstance(item, FieldInfo) else [item]
    low = high = None
    length = None
    for item in found:
        if isinstance(item, (annotated_types.Ge, annotated_types.Gt)):
            low = float(getattr(item, "ge", getattr(item, "gt", 0)))
        elif isinstance(item, (annotated_types.Le, annotated_types.Lt)):
            high = float(getattr(item, "le", getattr(item, "lt", 0)))
        elif getattr(item, "max_length", None):
            length = int(item.max_length)
    return low, high, length


def _default_text(info: FieldInfo) -> str:
    default = info.default
    if isinstance(default, bool):
        return "true" if default else "false"
    if isinstance(default, enum.Enum):
        return str(default.value)
    if isinstance(default, (int, float, str)) and not isinstance(default, bool):
        return str(default)
    return ""


def _field_spec(model: type[Record], column: Column) -> FieldSpec:
    info = model.model_fields[column.name]
    low, high, length = _bounds(info)
    if column.enum is not None:
        vocabulary = column.enum.__name__
        choices = tuple(
            Choice(
                str(member.value), _FORM_LABELS.get((vocabulary, str(member.value))) or choice_label(str(member.value))
            )
            for member in column.enum
        )
    elif column.kind == "bool":
        choices = tuple(Choice(value, label) for value, label in _BOOLEAN_CHOICES)
    else:
        choices = ()
    return FieldSpec(
        name=column.name,
        label=field_label(column.name),
        help=column.description or _enum_help(column),
        kind=column.kind,
        required=column.required,
        unit=field_unit(column.name),
        choices=choices,
        codes=tuple(Choice(code, choice_label(code)) for code in column.codes),
        partial_date=column.partial_date,
        key=column.name in model.key,
        minimum=low,
        maximum=high,
        max_length=length,
        default=_default_text(info),
    )


def _enum_help(column: Column) -> str:
    doc = column.enum.__dict__.get("__doc__") if column.enum is not None else None
    return " ".join(doc.split()) if doc else ""


_SPECS: dict[str, FormSpec] = {}


def form_spec(record_type: str) -> FormSpec:
    """The form of a record type (KeyError for an unknown type)."""
    spec = _SPECS.get(record_type)
    if spec is None:
        model = RECORD_TYPES[record_type]
        spec = _SPECS[record_type] = FormSpec(
            record_type=record_type,
            title=model.title,
            key=model.key,
            fields=tuple(_field_spec(model, column) for column in columns(model)),
        )
    return spec


def read_form(
    record_type: str, submitted: Mapping[str, object], *, fixed: Mapping[str, str] | None = None
) -> FormResult:
    """Read a submitted form into a record of `record_type`, every problem on its field.

    `fixed` holds values the page decides rather than the form (the patient of the page, the key of a
    record being edited); they replace whatever was submitted under those names.
    """
    spec = form_spec(record_type)
    values: dict[str, str] = {}
    codes: dict[str, str] = {}
    for item in spec.fields:
        raw = submitted.get(item.name)
        values[item.name] = raw.strip() if isinstance(raw, str) else ""
        code = submitted.get(item.code_name)
        if item.codes and isinstance(code, str) and code.strip():
            codes[item.name] = code.strip()
    for name, value in (fixed or {}).items():
        values[name] = value
        codes.pop(name, None)
    result = FormResult(record_type, values, codes)
    cells: dict[str, str] = {}
    for item in spec.fields:
        value, code = values[item.name], codes.get(item.name)
        # A wrong choice of code is reported on its own; the value is still read, so that every other
        # problem of the form shows at once.
        if code is not None and code not in {choice.value for choice in item.codes}:
            result.errors.setdefault(item.name, []).append(f"{code!r} is not a missing-data code this field accepts")
        elif code is not None and value:
            result.errors.setdefault(item.name, []).append(
                f"give either a value ({value}) or a missing-data code ({choice_label(code)}), not both"
            )
        cells[item.name] = code if code is not None and not result.errors.get(item.name) else value
    model = RECORD_TYPES[record_type]
    frame, problems = parse_text_record(model, cells, source=_FORM_SOURCE)
    if problems or result.errors:
        result.add_problems(p for p in problems if p.field not in result.errors or p.value)
        return result
    if frame.empty:
        result.form_errors.append("the form is empty")
        return result
    result.record = model.model_validate(frame_to_dicts(model, frame)[0])
    return result


def initial_values(record_type: str, fixed: Mapping[str, str] | None = None) -> dict[str, str]:
    """The values a new record's form opens with: the model's defaults, and what the page fixes."""
    values = {item.name: item.default for item in form_spec(record_type).fields if item.default}
    values.update(fixed or {})
    return values


def stored_values(record: Record | Mapping[str, Any]) -> tuple[dict[str, str], dict[str, str]]:
    """(values, codes) of a stored record as its form shows them: the text a CSV cell would hold."""
    data = dict(record)
    values: dict[str, str] = {}
    codes: dict[str, str] = {}
    for name in list(data):
        if name.endswith(MISSING_SUFFIX) or name.endswith(PRECISION_SUFFIX):
            continue
        value = data[name]
        code = data.get(name + MISSING_SUFFIX)
        if code is not None:
            codes[name] = str(code.value if isinstance(code, enum.Enum) else code)
        values[name] = _cell_text(value, data.get(name + PRECISION_SUFFIX))
    return values, codes


def _cell_text(value: object, precision: object) -> str:
    if value is None:
        return ""
    if isinstance(precision, enum.Enum):
        precision = precision.value
    if isinstance(value, dt.datetime):
        value = value.date()
    if isinstance(value, dt.date):
        if precision == DatePrecision.YEAR.value:
            return f"{value.year:04d}"
        if precision == DatePrecision.MONTH.value:
            return f"{value.year:04d}-{value.month:02d}"
        return value.isoformat()
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return format_float(value)
    if isinstance(value, enum.Enum):
        return str(value.value)
    return str(value)


def problems_by_field(
    record_type: str, problems: Sequence[Problem], *, key: Mapping[str, object] | None = None
) -> tuple[dict[str, list[str]], list[Problem]]:
    """Split problems into those on a field of this record (by field name) and all the others.

    With `key`, a problem belongs to this record only when it names this record type and its key text
    matches (`relapse_number=2`); cross-record problems about other records stay on the page.
    """
    names = set(form_spec(record_type).names)
    wanted_key = None
    if key is not None:
        wanted_key = ", ".join(f"{k}={value_text(v)}" for k, v in key.items() if k != "patient_id") or None
    on_fields: dict[str, list[str]] = {}
    others: list[Problem] = []
    for problem in problems:
        mine = problem.record_type == record_type and problem.field in names
        if mine and wanted_key is not None and problem.key not in (None, wanted_key):
            mine = False
        if mine and problem.field is not None:
            text = problem.reason if problem.severity is Severity.ERROR else f"warning: {problem.reason}"
            on_fields.setdefault(problem.field, []).append(text)
        else:
            others.append(problem)
    return on_fields, others


def _distribute(result: FormResult, problems: Iterable[Problem]) -> list[Problem]:
    on_fields, others = problems_by_field(result.record_type, list(problems))
    for name, reasons in on_fields.items():
        result.errors.setdefault(name, []).extend(reasons)
    result.form_errors.extend(_problem_sentence(problem) for problem in others)
    return others


def _problem_sentence(problem: Problem) -> str:
    """A problem as one sentence for the page: what, which record and field, the value, why."""
    text = str(problem)
    return re.sub(r" \(form row \d+\)$", "", text)
