"""REDCap interoperability: a REDCap Data Dictionary generated from the record models, and the reader
of a REDCap "Export records" CSV (raw data) into a `Registry`.

The REDCap project (docs/redcap.md says how to create it):

- `record_id` is our `patient_id`; it is the first field of the first instrument, `patient`.
- One instrument (form) per record type except `center`, named as the record type. The record types
  with one row per patient (`PATIENT_LEVEL`: patient, diagnosis, follow_up, death) are ordinary
  instruments; every other record type is a *repeating* instrument (`REPEATING_INSTRUMENTS`), one
  instance per record. Instance numbers carry no meaning: the record keys (relapse_number,
  cycle_number, ...) are variables of their own.
- Variable names are `<prefix>_<field>` with the fixed prefix of the record type (`PREFIXES`) and, when
  that would exceed REDCap's 26 characters, the short field name from `SHORT_FIELD_NAMES`. `patient_id`
  is never a variable of its own (it is `record_id`).
- The center is not an instrument: the patient's center is the variable `pat_center_id`, or the
  `center_id` given to `read_redcap_export` (the CLI's `--center`) when that variable is blank.
- Enumerations are dropdowns with numbered raw codes in the order of the enumeration's members:
  `1, <first code> | 2, <second code> | ...` (`RAW_CODES`). New members must therefore be appended at
  the end of an enumeration in `blinareg.records.vocabulary`, never inserted, or existing REDCap data
  would change meaning (a test pins the table).
- Dates are text fields validated `date_ymd` (raw export `YYYY-MM-DD`), booleans `yesno` (raw 1/0),
  integers `integer`, other numbers `number`, with min/max from the model's inclusive bounds.
"""

from __future__ import annotations

import csv
import dataclasses
import datetime as dt
import enum
import io
import os
import re
import typing
from pathlib import Path

import annotated_types
import pandas as pd

from blinareg.errors import UserError
from blinareg.exchange.tabular import _suggestion, format_float, sorted_by_key
from blinareg.records.models import RECORD_MODELS, RECORD_TYPES
from blinareg.records.problems import Problem
from blinareg.records.registry import Column, Registry, columns, frame_to_dicts, parse_rows

RECORD_ID = "record_id"
REPEAT_INSTRUMENT = "redcap_repeat_instrument"
REPEAT_INSTANCE = "redcap_repeat_instance"
# Columns REDCap may add to an export that carry nothing for the registry.
IGNORED_EXPORT_COLUMNS = ("redcap_data_access_group", "redcap_survey_identifier")

DICTIONARY_COLUMNS = (
    "Variable / Field Name", "Form Name", "Section Header", "Field Type", "Field Label",
    "Choices, Calculations, OR Slider Labels", "Field Note", "Text Validation Type OR Show Slider Number",
    "Text Validation Min", "Text Validation Max", "Identifier?", "Branching Logic (Show field only if...)",
    "Required Field?", "Custom Alignment", "Question Number (surveys only)", "Matrix Group Name",
    "Matrix Ranking?", "Field Annotation",
)

# Variable-name prefix of each record type's instrument (fixed: renaming one breaks existing projects).
PREFIXES: dict[str, str] = {
    "patient": "pat",
    "diagnosis": "dx",
    "genetic_finding": "gen",
    "relapse": "rel",
    "body_measurement": "body",
    "treatment_line": "tl",
    "blinatumomab_cycle": "cyc",
    "dose_segment": "dose",
    "interruption": "intr",
    "mrd_assessment": "mrd",
    "response_assessment": "resp",
    "adverse_event": "ae",
    "hsct": "hsct",
    "follow_up": "fu",
    "death": "death",
}
# (record type, field) -> the field part of the variable name, where `<prefix>_<field>` is too long.
SHORT_FIELD_NAMES: dict[tuple[str, str], str] = {
    ("relapse", "site_other_extramedullary"): "site_other_em",
}
PATIENT_LEVEL = ("patient", "diagnosis", "follow_up", "death")
INSTRUMENTS: tuple[str, ...] = tuple(m.record_type for m in RECORD_MODELS if m.record_type != "center")
REPEATING_INSTRUMENTS: tuple[str, ...] = tuple(name for name in INSTRUMENTS if name not in PATIENT_LEVEL)
_LEGAL_NAME = re.compile(r"[a-z][a-z0-9_]*")
MAX_NAME_LENGTH = 26


def variable_name(record_type: str, field: str) -> str:
    """The REDCap variable of a field (`record_id` for a patient id)."""
    if field == "patient_id":
        return RECORD_ID
    return f"{PREFIXES[record_type]}_{SHORT_FIELD_NAMES.get((record_type, field), field)}"


def _instrument_columns(record_type: str) -> list[Column]:
    return [c for c in columns(RECORD_TYPES[record_type]) if c.name != "patient_id"]


# variable -> (record type, column), over every instrument, in dictionary order (without record_id).
VARIABLES: dict[str, tuple[str, Column]] = {
    variable_name(name, c.name): (name, c) for name in INSTRUMENTS for c in _instrument_columns(name)
}


def _raw_codes(enum_type: type[enum.Enum]) -> dict[str, str]:
    return {str(number): member.value for number, member in enumerate(enum_type, start=1)}


def _enums() -> dict[str, type[enum.Enum]]:
    found: dict[str, type[enum.Enum]] = {}
    for name in INSTRUMENTS:
        for column in _instrument_columns(name):
            if column.enum is not None:
                found.setdefault(column.enum.__name__, column.enum)
    return found


# Enumeration class name -> {raw code: our code}: 1, 2, ... in member order (see the module docstring).
RAW_CODES: dict[str, dict[str, str]] = {name: _raw_codes(enum_type) for name, enum_type in sorted(_enums().items())}


def _choices(enum_type: type[enum.Enum]) -> str:
    return " | ".join(f"{raw}, {code}" for raw, code in RAW_CODES[enum_type.__name__].items())


def _bounds(record_type: str, field: str) -> tuple[str, str]:
    """Inclusive min/max of a numeric field (exclusive bounds are left to the import checks)."""
    info = RECORD_TYPES[record_type].model_fields[field]
    constraints: list[object] = list(info.metadata)
    pending = [info.annotation]
    while pending:
        annotation = pending.pop()
        origin = typing.get_origin(annotation)
        if origin is typing.Annotated:
            base, *extra = typing.get_args(annotation)
            pending.append(base)
            for item in extra:
                constraints.extend(getattr(item, "metadata", [item]))
        elif origin is not None:
            pending.extend(typing.get_args(annotation))
    low = high = ""
    for item in constraints:
        if isinstance(item, annotated_types.Ge):
            low = _number_text(item.ge)
        elif isinstance(item, annotated_types.Le):
            high = _number_text(item.le)
    return low, high


def _number_text(value: object) -> str:
    return format_float(value) if isinstance(value, float) else str(value)


# ---- data dictionary -------------------------------------------------------------------------------

def redcap_data_dictionary() -> str:
    """The REDCap Data Dictionary (CSV text, REDCap's upload format) of every instrument."""
    rows: list[dict[str, str]] = [{
        "Variable / Field Name": RECORD_ID, "Form Name": "patient", "Section Header": RECORD_TYPES["patient"].title,
        "Field Type": "text", "Field Label": "Pseudonymous study id (never a name or MRN)",
        "Field Note": "blinareg: patient.patient_id", "Required Field?": "y",
    }]
    for name in INSTRUMENTS:
        for position, column in enumerate(_instrument_columns(name)):
            row = {
                "Variable / Field Name": variable_name(name, column.name),
                "Form Name": name,
                "Section Header": RECORD_TYPES[name].title if position == 0 and name != "patient" else "",
                "Field Label": column.description or column.name,
                "Field Note": f"blinareg: {name}.{column.name}",
                # pat_center_id may come from --center instead.
                "Required Field?": "y" if column.required and column.name != "center_id" else "",
            }
            if column.enum is not None:
                row["Field Type"] = "dropdown"
                row["Choices, Calculations, OR Slider Labels"] = _choices(column.enum)
            elif column.kind == "bool":
                row["Field Type"] = "yesno"
            else:
                row["Field Type"] = "text"
                validation = {"date": "date_ymd", "int": "integer", "float": "number"}.get(column.kind, "")
                row["Text Validation Type OR Show Slider Number"] = validation
                if column.kind in ("int", "float"):
                    row["Text Validation Min"], row["Text Validation Max"] = _bounds(name, column.name)
            rows.append(row)
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=DICTIONARY_COLUMNS, restval="", lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return buffer.getvalue()


def write_redcap_dictionary(path: str | os.PathLike) -> Path:
    path = Path(path)
    try:
        path.write_text(redcap_data_dictionary(), encoding="utf-8")
    except OSError as error:
        raise UserError(f"{path}: cannot write: {error.strerror}") from None
    return path


# ---- export (for tests and for loading a registry into REDCap) -------------------------------------

def export_columns() -> list[str]:
    """The header of a raw REDCap export of this project (with the `<form>_complete` status fields)."""
    header = [RECORD_ID, REPEAT_INSTRUMENT, REPEAT_INSTANCE]
    for name in INSTRUMENTS:
        header += [variable_name(name, c.name) for c in _instrument_columns(name)]
        header.append(f"{name}_complete")
    return header


def _raw_value(column: Column, value: object) -> str:
    if value is None:
        return ""
    if column.enum is not None:
        code = value.value if isinstance(value, enum.Enum) else str(value)
        return _ENCODE[column.enum.__name__][code]
    if column.kind == "bool":
        return "1" if value else "0"
    if column.kind == "date":
        return value.isoformat()
    if column.kind == "float":
        return format_float(value)
    return str(value)


_ENCODE: dict[str, dict[str, str]] = {name: {code: raw for raw, code in table.items()} for name, table in RAW_CODES.items()}


def write_redcap_export(registry: Registry) -> str:
    """The registry as a REDCap "Export records" CSV (raw data): what REDCap exports, and what its
    Data Import Tool reads. Centers are only the patients' `pat_center_id`."""
    header = export_columns()
    patient_ids: set[str] = set()
    for name in INSTRUMENTS:
        patient_ids.update(registry[name]["patient_id"].tolist())
    base: dict[str, dict[str, str]] = {pid: {RECORD_ID: pid} for pid in patient_ids}
    repeating: dict[str, list[dict[str, str]]] = {pid: [] for pid in patient_ids}
    for name in INSTRUMENTS:
        model = RECORD_TYPES[name]
        instrument_columns = _instrument_columns(name)
        instance: dict[str, int] = {}
        for record in frame_to_dicts(model, sorted_by_key(model, registry[name])):
            pid = record["patient_id"]
            values = {variable_name(name, c.name): _raw_value(c, record[c.name]) for c in instrument_columns}
            values[f"{name}_complete"] = "2"
            if name in PATIENT_LEVEL:
                base[pid].update(values)
            else:
                instance[pid] = instance.get(pid, 0) + 1
                repeating[pid].append({RECORD_ID: pid, REPEAT_INSTRUMENT: name,
                                       REPEAT_INSTANCE: str(instance[pid]), **values})
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=header, restval="", lineterminator="\n")
    writer.writeheader()
    for pid in sorted(patient_ids):
        writer.writerow(base[pid])
        writer.writerows(repeating[pid])
    return buffer.getvalue()


# ---- import ----------------------------------------------------------------------------------------

@dataclasses.dataclass
class _Item:
    """One record on its way to parse_rows, and where it came from."""
    values: dict[str, object]
    where: str  # "export.csv record P1 instrument relapse instance 2"
    line: int  # CSV line (header = 1)
    variables: dict[str, str]  # field -> variable
    dropped: set[str] = dataclasses.field(default_factory=set)  # fields whose raw value was unreadable
    pending: list[Problem] = dataclasses.field(default_factory=list)  # their problems, key added at the end


def read_redcap_export(path: str | os.PathLike, *, center_id: str | None = None,
                       centers: pd.DataFrame | None = None) -> tuple[Registry, list[Problem]]:
    """Read a REDCap "Export records" CSV (raw data, not labels) into a registry, with every problem.

    `center_id` is the center of the patients whose `pat_center_id` is blank (a different non-blank
    value is a problem). Center records are made from the distinct center ids: taken from `centers`
    (e.g. the stored center table) when known there, else named as their id. The registry is meaningful
    only without error problems (a record type with errors is left empty).
    """
    path = Path(path)
    if not path.is_file():
        raise UserError(f"{path}: no such file" if not path.exists() else f"{path}: not a file")
    data = path.read_bytes()
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise UserError(f"{path}: not UTF-8 text (byte 0x{data[error.start]:02x}); export the CSV from REDCap "
                        f"again") from None
    source = path.name
    problems: list[Problem] = []
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        rows = list(reader)
    except csv.Error as error:
        raise UserError(f"{path}: not readable as CSV at line {reader.line_num} ({error})") from None
    if not rows or not any(cell.strip() for cell in rows[0]):
        raise UserError(f"{path}: empty file; expected a REDCap raw data export with a header row")
    header = [cell.strip() for cell in rows[0]]
    if header[0] != RECORD_ID:
        raise UserError(f"{path}: the first column is {header[0]!r}, not {RECORD_ID!r}; export the records of a "
                        f"project created from `blinareg redcap-dictionary` as CSV, raw data")
    if "redcap_event_name" in header:
        raise UserError(f"{path}: has redcap_event_name; longitudinal REDCap projects are not supported "
                        f"(create a classic project with repeating instruments, see docs/redcap.md)")

    known = {RECORD_ID, REPEAT_INSTRUMENT, REPEAT_INSTANCE, *IGNORED_EXPORT_COLUMNS}
    status_columns = {f"{name}_complete" for name in INSTRUMENTS} | {f"{name}_timestamp" for name in INSTRUMENTS}
    positions: list[tuple[int, str]] = []
    for position, name in enumerate(header):
        if name in VARIABLES:
            positions.append((position, name))
        elif name and name not in known and name not in status_columns:
            guess = _suggestion(name, VARIABLES)
            hint = f"; did you mean {guess!r}?" if guess else ""
            problems.append(Problem(record_type="redcap", field=name, value=None, source=source, row=1,
                                    reason=f"unknown REDCap variable {name!r}{hint} (its values are not "
                                           f"imported); the project must match `blinareg redcap-dictionary`"))
    index = {name: position for position, name in enumerate(header)}

    def cell(row: list[str], name: str) -> str:
        position = index.get(name)
        return row[position].strip() if position is not None and position < len(row) else ""

    items: dict[str, list[_Item]] = {name: [] for name in INSTRUMENTS}
    record_ids: dict[str, int] = {}
    seen: dict[tuple[str, str, str], int] = {}
    for line, row in enumerate(rows[1:], start=2):
        if not any(c.strip() for c in row):
            continue
        rid = cell(row, RECORD_ID)
        instrument = cell(row, REPEAT_INSTRUMENT)
        instance = cell(row, REPEAT_INSTANCE)
        where = f"{source} record {rid or '(blank)'}" + (f" instrument {instrument} instance {instance}"
                                                          if instrument else "")
        if len(row) > len(header):
            problems.append(_problem("redcap", rid, None, None, f"the row has {len(row)} values but the header "
                                                                 f"has {len(header)} columns", where, line))
            continue
        if not rid:
            problems.append(_problem("redcap", None, RECORD_ID, None, "record_id is blank", where, line))
            continue
        if instrument and instrument not in REPEATING_INSTRUMENTS:
            reason = (f"{instrument!r} is not a repeating instrument" if instrument in INSTRUMENTS else
                      f"unknown instrument {instrument!r}")
            problems.append(_problem("redcap", rid, REPEAT_INSTRUMENT, instrument, f"{reason}; repeating instruments: "
                                     f"{', '.join(REPEATING_INSTRUMENTS)}", where, line))
            continue
        if instrument and not re.fullmatch(r"[1-9][0-9]*", instance):
            problems.append(_problem(instrument, rid, REPEAT_INSTANCE, instance or None,
                                     "expected an instance number 1, 2, ...", where, line))
            continue
        if not instrument and instance:
            problems.append(_problem("redcap", rid, REPEAT_INSTANCE, instance, "an instance number without a "
                                     "repeating instrument", where, line))
            continue
        identity = (rid, instrument, instance)
        if identity in seen:
            problems.append(_problem(instrument or "redcap", rid, None, None,
                                     f"the same record, instrument and instance as line {seen[identity]}",
                                     where, line))
            continue
        seen[identity] = line
        record_ids.setdefault(rid, line)
        forms = (instrument,) if instrument else PATIENT_LEVEL
        found: dict[str, _Item] = {}
        for position, variable in positions:
            value = row[position].strip() if position < len(row) else ""
            if not value:
                continue
            record_type, column = VARIABLES[variable]
            if record_type not in forms:
                expected = (f"belongs to the repeating instrument {record_type}" if record_type in REPEATING_INSTRUMENTS
                            else f"belongs to the non-repeating instrument {record_type}")
                problems.append(_problem(record_type, rid, column.name, value,
                                         f"variable {variable} {expected}; it cannot have a value on this row",
                                         f"{where} variable {variable}", line))
                continue
            item = found.get(record_type)
            if item is None:
                item = found[record_type] = _Item({"patient_id": rid}, where if instrument else
                                                  f"{where} instrument {record_type}", line, {})
            converted, reason = _from_raw(column, value)
            item.variables[column.name] = variable
            if reason is not None:
                item.pending.append(_problem(record_type, rid, column.name, value, reason,
                                             f"{item.where} variable {variable}", line))
                item.dropped.add(column.name)
                continue
            item.values[column.name] = converted
        if not instrument and "patient" not in found:
            found["patient"] = _Item({"patient_id": rid}, f"{where} instrument patient", line, {})
        for record_type, item in found.items():
            items[record_type].append(item)

    # The patient's center: pat_center_id, else --center.
    for item in items["patient"]:
        own = item.values.get("center_id")
        if own is None and center_id is not None:
            item.values["center_id"] = center_id
        elif own is not None and center_id is not None and own != center_id:
            variable = variable_name("patient", "center_id")
            problems.append(_problem("patient", str(item.values["patient_id"]), "center_id", own,
                                     f"pat_center_id is {own!r} but the import is for center {center_id!r}",
                                     f"{item.where} variable {variable}", item.line))
        elif own is None:
            variable = variable_name("patient", "center_id")
            problems.append(_problem("patient", str(item.values["patient_id"]), "center_id", None,
                                     "no center: pat_center_id is blank and no center was given (--center)",
                                     f"{item.where} variable {variable}", item.line))
    tables: dict[str, pd.DataFrame] = {}
    for record_type, record_items in items.items():
        model = RECORD_TYPES[record_type]
        for item in record_items:
            key = ", ".join(f"{k}={item.values[k]}" for k in model.key
                            if k != "patient_id" and item.values.get(k) is not None)
            problems.extend(dataclasses.replace(problem, key=key or None) for problem in item.pending)
        frame, parsed = parse_rows(model, [item.values for item in record_items], source=source,
                                   first_row_number=0)
        for problem in parsed:
            if record_type == "patient" and problem.field == "center_id" and problem.value is None:
                continue  # reported above
            item = record_items[problem.row] if problem.row is not None else None
            if item is None:
                problems.append(problem)
                continue
            if problem.value is None and problem.field in item.dropped:
                continue  # already reported as an unreadable raw value
            variable = item.variables.get(problem.field or "") or (
                variable_name(record_type, problem.field) if problem.field in model.model_fields else None)
            where = item.where + (f" variable {variable}" if variable else "")
            problems.append(dataclasses.replace(problem, source=where, row=item.line))
        # Like parse_rows: a record type with any unreadable value is left empty, never half read.
        tables[record_type] = frame.iloc[0:0] if any(item.dropped for item in record_items) else frame
    tables["center"] = _centers(tables["patient"], centers)
    problems.sort(key=lambda p: p.row or 0)
    return Registry(tables), problems


def _centers(patients: pd.DataFrame, known: pd.DataFrame | None) -> pd.DataFrame:
    ids = sorted(set(patients["center_id"].dropna().tolist()))
    rows = []
    lookup = {} if known is None else {row["center_id"]: row for row in frame_to_dicts(RECORD_TYPES["center"], known)}
    for center in ids:
        rows.append(lookup.get(center) or {"center_id": center, "name": center, "country": None, "synthetic": False})
    return pd.DataFrame(rows, columns=[c.name for c in columns(RECORD_TYPES["center"])])


def _from_raw(column: Column, value: str) -> tuple[object, str | None]:
    """A raw REDCap value ready for parse_rows, or why it cannot be read."""
    if column.enum is not None:
        table = RAW_CODES[column.enum.__name__]
        code = table.get(value)
        if code is None:
            return value, (f"unknown raw code {value!r}; expected one of "
                           + ", ".join(f"{raw} ({code})" for raw, code in table.items()))
        return code, None
    if column.kind == "bool":
        if value not in ("0", "1"):
            return value, "expected 1 (yes) or 0 (no)"
        return value == "1", None
    if column.kind == "date":
        try:
            if not re.fullmatch(r"\d{4}-\d{2}-\d{2}", value):
                raise ValueError
            return dt.date.fromisoformat(value), None
        except ValueError:
            return value, "expected a date as YYYY-MM-DD (REDCap raw export of a date_ymd field)"
    return value, None


def _problem(record_type: str, patient_id: str | None, field: str | None, value: object, reason: str,
             source: str, row: int) -> Problem:
    return Problem(record_type=record_type, field=field, value=value, reason=reason, patient_id=patient_id,
                   source=source, row=row)

