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
import typing
from collections.abc import Iterable, Mapping
from pathlib import Path

import pandas as pd

from blinareg.errors import UserError
from blinareg.exchange.redcap import (
    REPEAT_INSTANCE,
    REPEAT_INSTRUMENT,
    SKIPPED_FORM_CHECK,
    STATUS_LEVELS,
    left_out_reason,
)
from blinareg.records.problems import Problem, Severity
from blinareg.records.registry import Registry

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
                codes = [
                    choice.split(",", 1)[0].strip() for choice in _value(row, _CHOICES).split("|") if choice.strip()
                ]
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
            raise UserError(
                f"{path}: not a REDCap Data Dictionary (no {_NAME[0]!r} and {_FORM[0]!r} columns); "
                f"download it from Project Setup -> Data Dictionary"
            )
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
        raise UserError(
            f"{source}: the first column is {header[0]!r}, but the project's record id field is "
            f"{dictionary.record_id!r}; export the records with this project's data dictionary"
        )
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
                problems.append(
                    Problem(
                        record_type=form,
                        field=column,
                        value=value,
                        patient_id=rid or None,
                        reason=str(error),
                        row=line,
                        source=f"{where_form} variable {column}",
                    )
                )
                continue
            if reason is None:
                continue
            for p in positions:
                cells[p] = ""
            problems.append(
                Problem(
                    record_type=form,
                    field=column,
                    value=value or None,
                    patient_id=rid or None,
                    reason=f"not imported: {reason}",
                    severity=Severity.WARNING,
                    row=line,
                    check=SKIPPED_FORM_CHECK,
                    source=where_form,
                )
            )
        rows.append((line, tuple(cells)))
    return ProjectSheet(header=header, rows=rows, problems=problems)


# Columns of a REDCap export that describe the export itself, not the center's data.
def _structural(name: str, forms: Iterable[str]) -> bool:
    if name in (REPEAT_INSTRUMENT, REPEAT_INSTANCE, "redcap_event_name", "redcap_survey_identifier"):
        return True
    return any(name in (f"{form}_complete", f"{form}_timestamp") for form in forms)


def project_sheets(
    sheet: ProjectSheet, dictionary: ProjectDictionary, sheet_names: tuple[str, ...], *, source: str
) -> tuple[dict[str, typing.Any], list[Problem]]:
    """The export split as a mapping reads sheets: the first mapping sheet holds the records' base rows
    (record id, data access group and the non-repeating forms); every further mapping sheet must be named
    as a repeating instrument and holds that instrument's rows (one per instance)."""
    from blinareg.exchange.mapping import Sheet

    header = sheet.header
    repeating = sheet_names[1:]
    for name in repeating:
        if name not in dictionary.forms:
            raise UserError(
                f"the mapping's sheet {name!r} is not an instrument of the REDCap project; name the "
                f"sheets after its repeating instruments ({', '.join(dictionary.forms)})"
            )
    instrument_at = header.index(REPEAT_INSTRUMENT) if REPEAT_INSTRUMENT in header else None
    keep_always = [0] + [p for p, name in enumerate(header) if name == "redcap_data_access_group"]

    def columns_for(forms: set[str] | None) -> list[int]:
        chosen = []
        for position, name in enumerate(header):
            if position in keep_always or _structural(name, dictionary.forms):
                continue
            form = dictionary.form_of_column.get(name)
            if forms is None and form in repeating:
                continue
            if forms is not None and form not in forms:
                continue
            chosen.append(position)
        # The data access group is a patient's (the base rows'); an instrument's rows repeat it.
        return (keep_always if forms is None else [0]) + chosen

    def cut(positions: list[int], rows: list[tuple[int, tuple[str, ...]]]) -> list[tuple[int, tuple[str, ...]]]:
        return [(line, tuple(cells[p] for p in positions)) for line, cells in rows]

    by_instrument: dict[str, list[tuple[int, tuple[str, ...]]]] = {}
    for line, cells in sheet.rows:
        instrument = cells[instrument_at] if instrument_at is not None else ""
        by_instrument.setdefault(instrument, []).append((line, cells))
    problems: list[Problem] = []
    for instrument, rows in by_instrument.items():
        if instrument and instrument not in repeating:
            problems.append(
                Problem(
                    record_type="redcap",
                    field=REPEAT_INSTRUMENT,
                    value=instrument,
                    severity=Severity.WARNING,
                    source=source,
                    row=rows[0][0],
                    reason=f"{len(rows)} row(s) of the repeating instrument {instrument!r} are not "
                    f"read: the mapping has no sheet {instrument!r}",
                )
            )
    base = columns_for(None)
    data_positions = [p for p in base if p not in keep_always]
    base_rows = []
    left_out: set[str] = set()
    for line, cells in by_instrument.get("", []):
        if any(cells[p] and not ("___" in header[p] and cells[p] == "0") for p in data_positions):
            base_rows.append((line, cells))
            continue
        left_out.add(cells[0])  # every non-repeating form left out (or never entered): no patient to hold the rest
        problems.append(
            Problem(
                record_type="patient",
                field=None,
                value=None,
                patient_id=cells[0] or None,
                severity=Severity.WARNING,
                source=f"{source} record {cells[0]}",
                row=line,
                check=SKIPPED_FORM_CHECK,
                reason=f"record {cells[0]} is not imported: none of its non-repeating forms is "
                f"left to import, so its repeating forms are left out with it",
            )
        )
    sheets = {
        sheet_names[0]: Sheet(
            name=sheet_names[0], source=source, header=[header[p] for p in base], rows=cut(base, base_rows)
        )
    }
    for name in repeating:
        positions = columns_for({name})
        rows = [(line, cells) for line, cells in by_instrument.get(name, []) if cells[0] not in left_out]
        sheets[name] = Sheet(
            name=name,
            source=f"{source} instrument {name}",
            header=[header[p] for p in positions],
            rows=cut(positions, rows),
        )
    return sheets, problems


def read_redcap_project(
    text: str,
    dictionary: ProjectDictionary,
    mapping_path: str | os.PathLike,
    *,
    source: str,
    status: str,
    centers: pd.DataFrame | None = None,
):
    """A center's own REDCap project through a mapping file: the `MappedImport` of its raw export, with the
    forms left out by their status reported first. Centers the patients name (e.g. through a value map of
    `redcap_data_access_group`) and the mapping does not define are taken from `centers` (the stored
    ones) or named as their id, as for a registry project."""
    from blinareg.exchange.mapping import apply_mapping, load_mapping
    from blinareg.exchange.redcap import _centers

    mapping = load_mapping(mapping_path)
    sheet = project_sheet(text, dictionary, source=source, status=status)
    sheets, problems = project_sheets(sheet, dictionary, mapping.sheets, source=source)
    result = apply_mapping(mapping, sheets)
    result.problems[:0] = [*sheet.problems, *problems]
    registry = result.registry
    defined = registry["center"]
    named = _centers(registry["patient"], centers)
    extra = named[~named["center_id"].isin(set(defined["center_id"]))]
    if not extra.empty:
        tables = dict(registry.tables)
        tables["center"] = pd.concat([defined, extra], ignore_index=True)
        result.registry = Registry(tables)
    return result


def read_redcap_project_file(
    path: str | os.PathLike,
    dictionary_path: str | os.PathLike,
    mapping_path: str | os.PathLike,
    *,
    status: str,
    centers: pd.DataFrame | None = None,
):
    path = Path(path)
    try:
        text = path.read_bytes().decode("utf-8-sig")
    except FileNotFoundError:
        raise UserError(f"{path}: no such file") from None
    except (OSError, UnicodeDecodeError) as error:
        raise UserError(f"{path}: cannot read the REDCap export ({error})") from None
    return read_redcap_project(
        text,
        ProjectDictionary.from_file(dictionary_path),
        mapping_path,
        source=path.name,
        status=status,
        centers=centers,
    )


def read_redcap_project_api(
    url: str,
    mapping_path: str | os.PathLike,
    *,
    status: str,
    centers: pd.DataFrame | None = None,
    token: str | None = None,
):
    """A center's own project pulled through the REDCap API (its dictionary from the API's metadata):
    (MappedImport, source)."""
    from blinareg.exchange.redcap_api import download_project

    download = download_project(url, token=token)
    dictionary = ProjectDictionary.from_rows(download.metadata, source=f"{download.source} (metadata)")
    return read_redcap_project(
        download.records_csv, dictionary, mapping_path, source=download.source, status=status, centers=centers
    ), download.source
