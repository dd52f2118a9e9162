"""A center's existing REDCap project, with its own data dictionary: its raw export as a sheet.

A project that was not created from `blinareg redcap-dictionary` has its own variable names; its raw
records export is then read like a center's spreadsheet, through a mapping file (the same format as a
spreadsheet's, `blinareg.exchange.mapping`). REDCap's own structure is handled here, before the mapping:

- The project's data dictionary (the Data Dictionary CSV, or the API's metadata) says which variable
  belongs to which form, and which variables are checkboxes (exported as `<variable>___<code>`).
- Form status: every form of a row whose `<form>_complete` is not accepted by the status level
  (`blinareg.exchange.redcap.STATUS_LEVELS`) has its cells blanked, and each such form is reported as a
  warning naming the record, form, instance and status. A form with no data is no form.
- The data access group stays a column (`redcap_data_access_group`) the mapping can map to the center
  (a value map from group names to center ids, or a constant).

The result is a `ProjectSheet`: a header and numbered rows (CSV line numbers) as a spreadsheet reader
returns them, plus the warnings.
"""

from __future__ import annotations

import csv
import dataclasses
import io
import os
from collections.abc import Iterable, Mapping
from pathlib import Path

from blinareg.errors import UserError
from blinareg.exchange.redcap import (
    REPEAT_INSTANCE, REPEAT_INSTRUMENT, SKIPPED_FORM_CHECK, STATUS_LEVELS, left_out_reason,
)
from blinareg.records.problems import Problem, Severity

# The Data Dictionary CSV's columns and the API metadata's keys for the same things.
_NAME = ("Variable / Field Name", "field_name")
_FORM = ("Form Name", "form_name")
_TYPE = ("Field Type", "field_type")
_CHOICES = ("Choices, Calculations, OR Slider Labels", "select_choices_or_calculations")
# Field types that hold no data in an export.
_NO_DATA_TYPES = ("descriptive",)


@dataclasses.dataclass(frozen=True)
class ProjectDictionary:
    """Which export columns belong to which form of a REDCap project."""
    record_id: str
    form_of_column: dict[str, str]  # export column -> form
    forms: tuple[str, ...]

    @classmethod
    def from_rows(cls, rows: Iterable[Mapping[str, str]], *, source: str) -> "ProjectDictionary":
        form_of: dict[str, str] = {}
        forms: list[str] = []
        record_id = ""
        for number, row in enumerate(rows, start=2):
            name, form, kind = (_value(row, key) for key in (_NAME, _FORM, _TYPE))
            if not name or not form:
                raise UserError(f"{source} row {number}: a field without a variable name or form name")
            if not record_id:
                record_id = name
            if form not in forms:
                forms.append(form)
            if kind in _NO_DATA_TYPES:
                continue
            if kind == "checkbox":
                codes = [choice.split(",", 1)[0].strip() for choice in _value(row, _CHOICES).split("|")
                         if choice.strip()]
                if not codes:
                    raise UserError(f"{source} row {number}: checkbox {name} has no choices")
                for code in codes:
                    # REDCap's export column: the code lower-cased, '.' and '-' as '_'.
                    form_of[f"{name}___{code.lower().replace('.', '_').replace('-', '_')}"] = form
            else:
                form_of[name] = form
        if not record_id:
            raise UserError(f"{source}: the data dictionary has no fields")
        return cls(record_id=record_id, form_of_column=form_of, forms=tuple(forms))

    @classmethod
    def from_file(cls, path: str | os.PathLike) -> "ProjectDictionary":
        path = Path(path)
        try:
            text = path.read_text(encoding="utf-8-sig")
        except FileNotFoundError:
            raise UserError(f"{path}: no such data dictionary file") from None
        except (OSError, UnicodeDecodeError) as error:
            raise UserError(f"{path}: cannot read the data dictionary ({error})") from None
        reader = csv.DictReader(io.StringIO(text, newline=""))
        if not reader.fieldnames or _NAME[0] not in reader.fieldnames or _FORM[0] not in reader.fieldnames:
            raise UserError(f"{path}: not a REDCap Data Dictionary (no {_NAME[0]!r} and {_FORM[0]!r} columns); "
                            f"download it from Project Setup -> Data Dictionary")
        return cls.from_rows(list(reader), source=path.name)


def _value(row: Mapping[str, str], keys: tuple[str, str]) -> str:
    for key in keys:
        if key in row and row[key] is not None:
            return str(row[key]).strip()
    return ""


@dataclasses.dataclass
class ProjectSheet:
    header: list[str]
    rows: list[tuple[int, tuple[str, ...]]]  # (CSV line, cells), forms left out blanked
    problems: list[Problem]


def project_sheet(text: str, dictionary: ProjectDictionary, *, source: str, status: str) -> ProjectSheet:
    """The raw records export of a project as a sheet, with the forms the status level leaves out blanked."""
    if status not in STATUS_LEVELS:
        raise UserError(f"unknown form status level {status!r}; use one of {', '.join(STATUS_LEVELS)}")
    try:
        table = list(csv.reader(io.StringIO(text, newline="")))
    except csv.Error as error:
        raise UserError(f"{source}: not readable as CSV ({error})") from None
    if not table or not any(c.strip() for c in table[0]):
        raise UserError(f"{source}: empty; expected a REDCap raw data export with a header row")
    header = [c.strip() for c in table[0]]
    if header[0] != dictionary.record_id:
        raise UserError(f"{source}: the first column is {header[0]!r}, but the project's record id field is "
                        f"{dictionary.record_id!r}; export the records with this project's data dictionary")
    status_column = {form: f"{form}_complete" for form in dictionary.forms}
    columns_of: dict[str, list[int]] = {}
    for position, name in enumerate(header):
        form = dictionary.form_of_column.get(name)
        if form is not None and position > 0:
            columns_of.setdefault(form, []).append(position)
    index = {name: position for position, name in enumerate(header)}
    checkbox_columns = {p for p, name in enumerate(header) if "___" in name}
    problems: list[Problem] = []
    rows: list[tuple[int, tuple[str, ...]]] = []
    for line, raw in enumerate(table[1:], start=2):
        if not any(c.strip() for c in raw):
            continue
        cells = [c.strip() for c in raw] + [""] * (len(header) - len(raw))
        rid = cells[0]
        instrument = cells[index[REPEAT_INSTRUMENT]] if REPEAT_INSTRUMENT in index else ""
        instance = cells[index[REPEAT_INSTANCE]] if REPEAT_INSTANCE in index else ""
        where = f"{source} record {rid or '(blank)'}"
        for form, positions in columns_of.items():
            if instrument and form != instrument:
                continue
            if not any(cells[p] and not (p in checkbox_columns and cells[p] == "0") for p in positions):
                continue  # nothing entered in this form on this row
            column = status_column[form]
            value = cells[index[column]] if column in index else None
            where_form = f"{where} instrument {form}" + (f" instance {instance}" if instance else "")
            try:
                reason = left_out_reason(form, value, status)
            except ValueError as error:
                problems.append(Problem(record_type=form, field=column, value=value, patient_id=rid or None,
                                        reason=str(error), row=line, source=f"{where_form} variable {column}"))
                continue
            if reason is None:
                continue
            for p in positions:
                cells[p] = ""
            problems.append(Problem(
                record_type=form, field=column, value=value or None, patient_id=rid or None,
                reason=f"not imported: {reason}", severity=Severity.WARNING, row=line, check=SKIPPED_FORM_CHECK,
                source=where_form))
        rows.append((line, tuple(cells)))
    return ProjectSheet(header=header, rows=rows, problems=problems)
