"""The column dictionary (docs/data-dictionary.md), generated from the record models.

Regenerate after changing a model:
    python -c "from blinareg.exchange import write_dictionary; write_dictionary('docs/data-dictionary.md')"
(tests/exchange/test_dictionary.py fails while the committed file differs from the models).

Types, ranges, requiredness, defaults and codes come from the pydantic fields; units follow the
field-name convention of the models (`_pct` %, `_kg` kg, `_cm` cm, `_per_nl` x10^9/L, `temperature_c` °C).
"""

from __future__ import annotations

import enum
import os
import typing
from pathlib import Path

import annotated_types
from pydantic import StringConstraints
from pydantic.fields import FieldInfo
from pydantic_core import PydanticUndefined

from blinareg.records.models import RECORD_MODELS, Record
from blinareg.records.registry import Column, columns

_KIND_NAMES = {"date": "date (YYYY-MM-DD)", "bool": "boolean", "int": "integer", "float": "number", "text": "text"}
_UNIT_SUFFIXES = (("_pct", "%"), ("_kg", "kg"), ("_cm", "cm"), ("_per_nl", "x10^9/L"), ("temperature_c", "°C"))

FORMAT_RULES = """\
## File format

- A registry travels as a folder with one `<record_type>.csv` file per record type (a missing file means
  no records of that type) or as one `.xlsx` workbook with one sheet per record type, named the same.
  A workbook's `README` and `_lists` sheets are ignored on import.
- Row 1 holds the column names below (any order on import). Unknown columns, missing required columns,
  unknown file or sheet names are reported, with the right name when it can be guessed.
- CSV files are UTF-8 (a byte-order mark is accepted), comma-separated, with `"` quoting.
- Dates are `YYYY-MM-DD` (in a workbook, date cells work too). Booleans: `true`/`false` (also yes/no, 1/0).
  Numbers use a `.` decimal point. A blank cell is a missing value.
- Missing data, recorded honestly (`blinareg.records.missing`): where a center does not know a value, a
  field listed with codes below takes `unknown`, `not_done` or `not_applicable` instead (and an MRD
  `fraction` takes `positive_not_quantifiable`); a date field marked "partial allowed" takes `YYYY` or
  `YYYY-MM` when only the year or month is known. Both are stored as such (never as a made-up value) and
  written back the same way on export.
- Every problem is reported with file (or sheet), row, column and value; nothing is stored while any
  error remains.
- Export writes every record type, rows sorted by the key, so that export -> import -> export gives
  identical files.
"""


def dictionary_markdown() -> str:
    """The whole dictionary as Markdown."""
    lines = [
        "# Data dictionary",
        "",
        "<!-- Generated from blinareg.records.models by blinareg.exchange.dictionary; do not edit by hand. -->",
        '<!-- Regenerate: python -c "from blinareg.exchange import write_dictionary; '
        "write_dictionary('docs/data-dictionary.md')\" -->",
        "",
        FORMAT_RULES,
        "## Record types",
        "",
        "| Record type | File | Key | Title |",
        "|---|---|---|---|",
    ]
    for model in RECORD_MODELS:
        lines.append(
            f"| [`{model.record_type}`](#{model.record_type}) | `{model.record_type}.csv` | "
            f"{_key_text(model)} | {_cell(model.title)} |"
        )
    for model in RECORD_MODELS:
        lines += [
            "",
            f"## {model.record_type}",
            "",
            f"{model.title}.",
            "",
            f"Key: {_key_text(model)}.",
            "",
            "| Column | Type | Required | Allowed values | Description |",
            "|---|---|---|---|---|",
        ]
        for column in columns(model):
            info = model.model_fields[column.name]
            lines.append(
                f"| `{column.name}` | {_cell(_type_text(column, info))} | {_required_text(column, info)} | "
                f"{_allowed_text(column)} | {_cell(_description(model, column))} |"
            )
    return "\n".join(lines) + "\n"


def write_dictionary(path: str | os.PathLike) -> Path:
    """Write the dictionary to `path` (normally docs/data-dictionary.md); returns the path."""
    path = Path(path)
    path.write_text(dictionary_markdown(), encoding="utf-8", newline="\n")
    return path


def _description(model: type[Record], column: Column) -> str:
    """The field's description; else its vocabulary's docstring; else, for patient_id, the reference."""
    if column.description:
        return column.description
    if column.enum is not None and column.enum.__dict__.get("__doc__"):
        return " ".join(column.enum.__doc__.split())
    if column.name == "patient_id" and model.record_type != "patient":
        return "The patient (`patient.patient_id`)"
    return ""


def _key_text(model: type[Record]) -> str:
    return ", ".join(f"`{name}`" for name in model.key)


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def _constraints(info: FieldInfo) -> list[object]:
    """Constraint objects on a field, including those inside Optional[Annotated[...]]."""
    found: list[object] = list(info.metadata)
    pending = [info.annotation]
    while pending:
        annotation = pending.pop()
        for argument in typing.get_args(annotation):
            if isinstance(argument, FieldInfo):
                found += argument.metadata
            elif isinstance(argument, (StringConstraints, annotated_types.BaseMetadata)):
                found.append(argument)
            else:
                pending.append(argument)
    return found


def field_unit(name: str) -> str | None:
    """The unit of a field, from the models' field-name convention (`weight_kg` -> kg); None without one."""
    return next((unit for suffix, unit in _UNIT_SUFFIXES if name.endswith(suffix)), None)


def _type_text(column: Column, info: FieldInfo) -> str:
    text = "code" if column.enum is not None else _KIND_NAMES[column.kind]
    if column.partial_date:
        text = "date (YYYY-MM-DD; partial allowed: YYYY-MM, YYYY)"
    details = []
    bounds = {type(c).__name__: c for c in _constraints(info) if isinstance(c, annotated_types.BaseMetadata)}
    low = bounds.get("Ge") or bounds.get("Gt")
    high = bounds.get("Le") or bounds.get("Lt")
    if low is not None:
        details.append(f">= {low.ge}" if hasattr(low, "ge") else f"> {low.gt}")
    if high is not None:
        details.append(f"<= {high.le}" if hasattr(high, "le") else f"< {high.lt}")
    for constraint in _constraints(info):
        if isinstance(constraint, StringConstraints):
            if constraint.pattern:
                details.append(f"pattern `{constraint.pattern}`")
            if constraint.max_length:
                details.append(f"max {constraint.max_length} characters")
    unit = field_unit(column.name)
    if unit:
        text += f", {unit}"
    if details:
        text += " (" + ", ".join(details) + ")"
    return text


def _required_text(column: Column, info: FieldInfo) -> str:
    if column.required:
        return "yes (or a missing-data code)" if column.codes else "yes"
    default = info.default
    if default is None or default is PydanticUndefined:
        return "no"
    if isinstance(default, enum.Enum):
        default = default.value
    elif isinstance(default, bool):
        default = "true" if default else "false"
    return f"no (default `{default}`)"


def _allowed_text(column: Column) -> str:
    text = ""
    if column.enum is not None:
        text = ", ".join(f"`{_cell(member.value)}`" for member in column.enum)
    elif column.kind == "bool":
        text = "`true`, `false`"
    if column.codes:
        codes = ", ".join(f"`{code}`" for code in column.codes)
        text = f"{text}; missing-data codes: {codes}" if text else f"missing-data codes: {codes}"
    return text
