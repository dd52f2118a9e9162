"""A center's own spreadsheet in, through a declarative TOML mapping (see docs/importing-your-data.md).

A mapping file says, for each of the center's columns, which registry field it fills and how its cells
are read: a value map (`M` -> `male`), a unit (percent or fraction, m or cm, ...), a date format declared
per column (`DD.MM.YYYY`, `DD/MM/YYYY`, `excel` serials; never guessed), a repeated-group instance
(`relapse2_date` -> relapse number 2) and record constants. Constants (center, grading system) fill a
field of every record of a type. Several sheets are joined on the study id.

The mapped rows are untyped field dicts handed to `blinareg.records.registry.parse_rows`, like a CSV
import; dates become `datetime.date`, partial dates `YYYY`/`YYYY-MM` strings and missing-data codes the
strings `unknown`, `not_done`, `not_applicable` (the records package types them). Every problem names
the center's own file, sheet, row, column and value, and the registry field it maps to.
"""

from __future__ import annotations

import csv
import dataclasses
import datetime as dt
import difflib
import functools
import io
import math
import os
import re
import tomllib
from collections.abc import Iterable, Iterator, Mapping as MappingABC
from dataclasses import dataclass, field
from pathlib import Path

from blinareg.errors import UserError
from blinareg.records.models import RECORD_MODELS, RECORD_TYPES
from blinareg.records.problems import Problem, Severity
from blinareg.records.registry import _BLANK as BLANK_SPELLINGS
from blinareg.records.registry import Column, Registry, columns, parse_rows

MISSING_CODES = ("unknown", "not_done", "not_applicable")

# Record types with a number in their key: a repeated group's instance sets it (relapse2_* -> 2).
NUMBER_FIELDS = {
    "relapse": "relapse_number",
    "treatment_line": "line_number",
    "blinatumomab_cycle": "cycle_number",
    "dose_segment": "cycle_number",
    "interruption": "cycle_number",
    "hsct": "hsct_number",
    "adverse_event": "event_number",
}
# One record per patient: no instances.
SINGLE_RECORD_TYPES = ("patient", "diagnosis", "follow_up", "death")

# Declared date formats -> (day, month, year) group order and separator.
DATE_FORMATS = {
    "YYYY-MM-DD": ("ymd", "-"),
    "DD.MM.YYYY": ("dmy", "."),
    "DD/MM/YYYY": ("dmy", "/"),
    "MM/DD/YYYY": ("mdy", "/"),
    "DD-MM-YYYY": ("dmy", "-"),
    "YYYY/MM/DD": ("ymd", "/"),
    "excel": ("excel", ""),
}
_EXCEL_EPOCH = dt.date(1899, 12, 30)  # Excel's 1900 date system, with its 1900-02-29 quirk absorbed

# A column unit -> (field unit, factor to multiply by).
UNITS = {
    "percent": {"percent": 1.0, "fraction": 0.01},
    "fraction": {"fraction": 1.0, "percent": 100.0},
    "cm": {"cm": 1.0},
    "m": {"cm": 100.0},
    "mm": {"cm": 0.1},
    "kg": {"kg": 1.0},
    "g": {"kg": 0.001},
    "10^9/L": {"10^9/L": 1.0},
    "/nL": {"10^9/L": 1.0},
    "/uL": {"10^9/L": 0.001},
    "/µL": {"10^9/L": 0.001},
}
_STEP_SEPARATOR = re.compile(r"\s*(?:->|→|>|/|-)\s*")


def field_unit(record_type: str, name: str) -> str | None:
    """The unit a numeric field is stored in, or None when it has none that converts."""
    if name.endswith("_pct"):
        return "percent"
    if record_type == "mrd_assessment" and name in ("fraction", "sensitivity"):
        return "fraction"
    return {"height_cm": "cm", "weight_kg": "kg", "wbc_per_nl": "10^9/L"}.get(name)


class MappingError(UserError):
    """The mapping file itself is wrong; `problems` lists every mistake in it."""

    def __init__(self, path: str, problems: list[str]) -> None:
        self.problems = problems
        super().__init__(f"{path}: {len(problems)} problem(s) in the mapping file:\n  " + "\n  ".join(problems))


# ---- the mapping file ------------------------------------------------------------------------------


@dataclass(frozen=True)
class ColumnRule:
    column: str
    sheet: str
    record_type: str
    field: str | None  # None: the value map alone says which fields a cell fills
    instance: int | None = None
    values: dict[str, object] = field(default_factory=dict)  # normalized cell text -> value or {field: value}
    date_format: str | None = None
    unit: str | None = None
    set: dict[str, object] = field(default_factory=dict)  # fields set on the record when the cell is not blank
    step_days: tuple[int, ...] | None = None  # dose step-up "5->15": first day of each step in the cycle
    when_number: dict[str, object] = field(default_factory=dict)  # fields set when the cell is a number
    attaches: bool = False  # only adds to a record that other columns create (one column for every cycle)

    @property
    def target(self) -> str:
        return f"{self.record_type}.{self.field}" if self.field else self.record_type


@dataclass(frozen=True)
class Mapping:
    path: str
    sheets: tuple[str, ...]
    id_columns: dict[str, str]
    header_row: int
    delimiter: str
    encoding: str
    constants: dict[str, dict[str, object]]
    rules: tuple[ColumnRule, ...]
    ignored: dict[str, frozenset[str]]


def _normalized(text: object) -> str:
    if isinstance(text, float) and text.is_integer():
        text = int(text)
    return str(text).strip().casefold()


@functools.cache
def _model_columns(record_type: str) -> dict[str, Column]:
    return {c.name: c for c in columns(RECORD_TYPES[record_type])}


def _close(name: str, choices: Iterable[str]) -> str:
    guess = difflib.get_close_matches(name, list(choices), n=1, cutoff=0.6)
    return f"; did you mean {guess[0]!r}?" if guess else ""


def _field_hint(target: str) -> str:
    """'; did you mean ...?' for a mistyped field, by synonym (patient.gender -> patient.sex) or spelling."""
    from blinareg.exchange.suggest import SYNONYMS  # here: suggest imports this module

    stem = re.sub(r"[^a-z0-9]+", "_", target.rpartition(".")[2].casefold())
    known = SYNONYMS.get(stem)
    if known and "." in known:
        return f"; did you mean {known!r}?"
    return _close(target, _all_fields())


def _all_fields() -> list[str]:
    return [f"{m.record_type}.{c.name}" for m in RECORD_MODELS for c in columns(m)]


def _check_value(record_type: str, name: str, value: object) -> str | None:
    """Why `value` cannot go into field `record_type.name`, or None."""
    column = _model_columns(record_type).get(name)
    if column is None:
        return f"unknown field {record_type}.{name}{_field_hint(f'{record_type}.{name}')}"
    if (
        isinstance(value, str)
        and value in MISSING_CODES
        and not (column.enum and value in {m.value for m in column.enum})
    ):
        return None
    if column.enum is not None:
        codes = [m.value for m in column.enum]
        if value not in codes:
            return (
                f"{value!r} is not a code of {record_type}.{name}{_close(str(value), codes)} "
                f"(codes: {', '.join(codes)}; or {', '.join(MISSING_CODES)})"
            )
        return None
    if column.kind == "bool" and not isinstance(value, bool):
        return f"{record_type}.{name} is true/false, not {value!r}"
    if column.kind in ("int", "float") and (isinstance(value, bool) or not isinstance(value, (int, float))):
        return f"{record_type}.{name} is a number, not {value!r}"
    if column.kind == "int" and isinstance(value, float) and not value.is_integer():
        return f"{record_type}.{name} is a whole number, not {value!r}"
    if column.kind == "date":
        if isinstance(value, dt.date):
            return None
        if not (isinstance(value, str) and _parse_iso(value) is not None):
            return f"{record_type}.{name} is a date (YYYY-MM-DD, YYYY-MM or YYYY), not {value!r}"
    if column.kind == "text" and not isinstance(value, str):
        return f"{record_type}.{name} is text, not {value!r}"
    return None


def load_mapping(path: str | os.PathLike) -> Mapping:
    """Read and check a mapping file; raises MappingError listing every mistake in it."""
    path = Path(path)
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise UserError(f"{path}: no such mapping file") from None
    except (OSError, UnicodeDecodeError) as error:
        raise UserError(f"{path}: cannot read the mapping file ({error})") from None
    except tomllib.TOMLDecodeError as error:
        raise UserError(f"{path}: not valid TOML ({error})") from None
    return parse_mapping(data, str(path.name))


def parse_mapping(data: MappingABC, mapping_name: str = "mapping.toml") -> Mapping:
    problems: list[str] = []
    known_top = {"source", "constants", "column", "ignore"}
    for key in data:
        if key not in known_top:
            problems.append(
                f"unknown section [{key}]{_close(key, known_top)} (sections: {', '.join(sorted(known_top))})"
            )
    source = data.get("source", {})
    sheets = source.get("sheets") or []
    if isinstance(sheets, str):
        sheets = [sheets]
    id_column = source.get("id_column")
    id_columns: dict[str, str] = {}
    if isinstance(id_column, str):
        id_columns = {sheet: id_column for sheet in sheets} if sheets else {"": id_column}
    elif isinstance(id_column, MappingABC):
        id_columns = {str(k): str(v) for k, v in id_column.items()}
    else:
        problems.append(
            "[source] id_column is required: the center's study-id column (one name, or a table "
            "sheet = column when the sheets name it differently)"
        )
    if not sheets:
        sheets = [s for s in id_columns if s] or [""]
    for sheet in sheets:
        if sheet not in id_columns and "" in id_columns:
            id_columns[sheet] = id_columns[""]
        if sheet not in id_columns:
            problems.append(f"[source] id_column names no study-id column for sheet {sheet!r}")
    header_row = source.get("header_row", 1)
    if not isinstance(header_row, int) or header_row < 1:
        problems.append(f"[source] header_row must be a row number (1 or more), not {header_row!r}")
        header_row = 1
    delimiter = source.get("delimiter", ",")
    if not isinstance(delimiter, str) or len(delimiter) != 1:
        problems.append(f"[source] delimiter must be one character, not {delimiter!r}")
        delimiter = ","
    encoding = source.get("encoding", "utf-8")
    try:
        "".encode(encoding)
    except (LookupError, TypeError):
        problems.append(f"[source] encoding {encoding!r} is not a known text encoding (e.g. utf-8, latin-1, cp1252)")
        encoding = "utf-8"

    constants: dict[str, dict[str, object]] = {}
    for target, value in data.get("constants", {}).items():
        record_type, _, name = str(target).partition(".")
        if record_type not in RECORD_TYPES or not name:
            problems.append(f"[constants] {target!r}: not a registry field (record_type.field){_field_hint(target)}")
            continue
        reason = _check_value(record_type, name, value)
        if reason:
            problems.append(f"[constants] {target}: {reason}")
            continue
        constants.setdefault(record_type, {})[name] = value

    rules: list[ColumnRule] = []
    for number, entry in enumerate(data.get("column", []), start=1):
        rule, entry_problems = _parse_rule(entry, number, sheets[0])
        problems += entry_problems
        if rule is not None:
            if rule.sheet not in sheets:
                problems.append(
                    f"[[column]] {number} ({rule.column!r}): sheet {rule.sheet!r} is not in [source] "
                    f"sheets ({', '.join(map(repr, sheets))})"
                )
            rules.append(rule)
    seen: dict[tuple[str, str, int | None], str] = {}
    for rule in rules:
        if rule.field is None:
            continue
        key = (rule.target, rule.sheet, rule.instance)
        if key in seen and rule.step_days is None:
            problems.append(
                f"columns {seen[key]!r} and {rule.column!r} both map to {rule.target}"
                + (f" instance {rule.instance}" if rule.instance else "")
                + "; give them different instances, or map one of them"
            )
        seen[key] = rule.column
    ignore = data.get("ignore", {})
    ignored_list = ignore.get("columns", []) if isinstance(ignore, MappingABC) else []
    ignored: dict[str, frozenset[str]] = {}
    if isinstance(ignored_list, MappingABC):
        ignored = {str(k): frozenset(map(str, v)) for k, v in ignored_list.items()}
    else:
        ignored = {sheet: frozenset(map(str, ignored_list)) for sheet in sheets}
    if problems:
        raise MappingError(mapping_name, problems)
    return Mapping(
        path=mapping_name,
        sheets=tuple(sheets),
        id_columns=id_columns,
        header_row=header_row,
        delimiter=delimiter,
        encoding=encoding,
        constants=constants,
        rules=tuple(rules),
        ignored=ignored,
    )


_RULE_KEYS = {
    "column",
    "sheet",
    "field",
    "instance",
    "values",
    "date_format",
    "unit",
    "set",
    "step_days",
    "when_number",
    "attaches",
    "confidence",
    "note",
}


def _parse_rule(entry: MappingABC, number: int, default_sheet: str) -> tuple[ColumnRule | None, list[str]]:
    problems: list[str] = []
    column = entry.get("column")
    label = f"[[column]] {number}" + (f" ({column!r})" if column else "")
    if not isinstance(column, str) or not column.strip():
        return None, [f"{label}: 'column' (the center's column name) is required"]
    for key in entry:
        if key not in _RULE_KEYS:
            problems.append(f"{label}: unknown key {key!r}{_close(key, _RULE_KEYS)}")
    target = entry.get("field")
    if not isinstance(target, str):
        return None, [
            *problems,
            f"{label}: 'field' is required (record_type.field, or record_type when the value map names the fields)",
        ]
    record_type, _, name = target.partition(".")
    if record_type not in RECORD_TYPES:
        return None, [*problems, f"{label}: unknown field {target!r}{_field_hint(target)}"]
    model_columns = _model_columns(record_type)
    if name and name not in model_columns:
        return None, [*problems, f"{label}: unknown field {target!r}{_field_hint(target)}"]
    column_info = model_columns.get(name)
    instance = entry.get("instance")
    if instance is not None:
        if not isinstance(instance, int) or isinstance(instance, bool) or not 1 <= instance <= 99:
            problems.append(f"{label}: instance must be a number 1-99, not {instance!r}")
            instance = None
        elif record_type in SINGLE_RECORD_TYPES:
            problems.append(f"{label}: {record_type} is one record per patient; it has no instances")
    date_format = entry.get("date_format")
    if date_format is not None:
        if date_format not in DATE_FORMATS:
            problems.append(
                f"{label}: unknown date_format {date_format!r}{_close(str(date_format), DATE_FORMATS)} "
                f"(formats: {', '.join(DATE_FORMATS)})"
            )
        elif column_info is None or column_info.kind != "date":
            problems.append(f"{label}: date_format is for date fields; {target} is not a date")
    unit = entry.get("unit")
    if unit is not None:
        stored = field_unit(record_type, name) if name else None
        if stored is None:
            problems.append(f"{label}: {target} has no unit to convert from; remove 'unit'")
        elif unit not in UNITS or stored not in UNITS[unit]:
            choices = [u for u, targets in UNITS.items() if stored in targets]
            problems.append(
                f"{label}: unit {unit!r} cannot be converted to {target} ({stored}); use one of {', '.join(choices)}"
            )
    values: dict[str, object] = {}
    for text, value in (entry.get("values") or {}).items():
        if isinstance(value, MappingABC):
            for sub, sub_value in value.items():
                reason = _check_value(record_type, sub, sub_value)
                if reason:
                    problems.append(f"{label}: value map {text!r}: {reason}")
        elif not name:
            problems.append(
                f"{label}: value map {text!r} -> {value!r} needs a field; map to a table of fields "
                f"({{field = value, ...}}) or give 'field' as record_type.field"
            )
        else:
            reason = _check_value(record_type, name, value)
            if reason:
                problems.append(f"{label}: value map {text!r}: {reason}")
        values[_normalized(text)] = value
    fixed = dict(entry.get("set") or {})
    when_number = dict(entry.get("when_number") or {})
    for table_name, table in (("set", fixed), ("when_number", when_number)):
        for sub, sub_value in table.items():
            reason = _check_value(record_type, sub, sub_value)
            if reason:
                problems.append(f"{label}: {table_name} {sub}: {reason}")
    step_days = entry.get("step_days")
    if step_days is not None:
        if (record_type, name) != ("dose_segment", "dose"):
            problems.append(f"{label}: step_days is for dose_segment.dose (a step-up such as 5->15)")
        elif (
            not isinstance(step_days, list)
            or not step_days
            or step_days[0] != 1
            or any(not isinstance(d, int) or d < 1 for d in step_days)
            or step_days != sorted(set(step_days))
        ):
            problems.append(
                f"{label}: step_days must list the first cycle day of each dose step, starting at 1 "
                f"(e.g. [1, 8]), not {step_days!r}"
            )
        else:
            step_days = tuple(step_days)
    if problems:
        return None, problems
    return ColumnRule(
        column=column.strip(),
        sheet=entry.get("sheet", default_sheet),
        record_type=record_type,
        field=name or None,
        instance=instance,
        values=values,
        date_format=date_format,
        unit=unit,
        set=fixed,
        step_days=step_days,
        when_number=when_number,
        attaches=bool(entry.get("attaches", False)),
    ), problems


# ---- reading the center's sheets ------------------------------------------------------------------


@dataclass
class Sheet:
    name: str
    source: str  # how problems name it: "site.xlsx sheet Patients" or "site.csv"
    header: list[str]
    rows: list[tuple[int, tuple]]  # (spreadsheet row number, cells)


def read_sheets(
    path: str | os.PathLike,
    *,
    wanted: Iterable[str] | None = None,
    header_row: int = 1,
    delimiter: str = ",",
    encoding: str = "utf-8",
) -> dict[str, Sheet]:
    """The sheets of a workbook (or the one table of a CSV file), with the header at `header_row`."""
    path = Path(path)
    if path.is_dir():
        raise UserError(f"{path} is a folder; a mapped import reads one .xlsx workbook or one .csv file")
    suffix = path.suffix.lower()
    if suffix == ".csv":
        return {"": _read_csv_sheet(path, header_row, delimiter, encoding)}
    if suffix != ".xlsx":
        raise UserError(f"{path}: a mapped import reads an .xlsx workbook or a .csv file")
    from openpyxl import load_workbook

    try:
        workbook = load_workbook(path, read_only=True, data_only=True)
    except FileNotFoundError:
        raise UserError(f"{path}: no such file") from None
    except Exception as error:  # zipfile, XML and openpyxl errors for files that are not workbooks
        raise UserError(f"{path}: not a readable .xlsx workbook ({type(error).__name__}: {error})") from None
    sheets: dict[str, Sheet] = {}
    try:
        names = list(workbook.sheetnames)
        wanted = list(wanted) if wanted is not None else names
        from blinareg.exchange._workbook import formulas_without_value
        from blinareg.exchange.tabular import _formula_reason

        for name, cells in formulas_without_value(path, wanted).items():
            raise UserError(f"{path} sheet {name}: {_formula_reason(cells)}")
        for name in wanted:
            if name not in names:
                raise UserError(
                    f"{path}: no sheet {name!r}{_close(name, names)} (sheets: {', '.join(map(repr, names))})"
                )
            worksheet = workbook[name]
            worksheet.reset_dimensions()
            sheets[name] = _sheet_from_rows(
                name, f"{path.name} sheet {name}", worksheet.iter_rows(values_only=True), header_row
            )
    finally:
        workbook.close()
    return sheets


def _read_csv_sheet(path: Path, header_row: int, delimiter: str, encoding: str) -> Sheet:
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise UserError(f"{path}: no such file") from None
    except OSError as error:
        raise UserError(f"{path}: cannot be read ({error.strerror or error})") from None
    try:
        text = data.decode("utf-8-sig" if encoding.lower().replace("_", "-") in ("utf-8", "utf8") else encoding)
    except UnicodeDecodeError as error:
        line = data[: error.start].count(b"\n") + 1
        raise UserError(
            f"{path}: not {encoding} text (byte 0x{data[error.start]:02x} on line {line}); save it as "
            f"'CSV UTF-8' or declare its encoding in the mapping ([source] encoding = \"latin-1\")"
        ) from None
    try:
        rows = list(csv.reader(io.StringIO(text, newline=""), delimiter=delimiter))
    except csv.Error as error:
        raise UserError(f"{path}: not readable as CSV ({error})") from None
    if rows and len(rows[0]) == 1 and delimiter == "," and any(s in rows[0][0] for s in ";\t"):
        found = ";" if ";" in rows[0][0] else "tab"
        raise UserError(
            f"{path}: the columns are separated by {found!r}, not ','; declare it in the mapping "
            f'([source] delimiter = "{";" if found == ";" else chr(92) + "t"}")'
        )
    return _sheet_from_rows(path.stem, path.name, iter(rows), header_row)


def _sheet_from_rows(name: str, source: str, rows: Iterator[tuple], header_row: int) -> Sheet:
    header: list[str] = []
    body: list[tuple[int, tuple]] = []
    for number, row in enumerate(rows, start=1):
        if number < header_row:
            continue
        if number == header_row:
            header = ["" if c is None else str(c).strip() for c in row]
            continue
        if any(not _blank(c) for c in row):
            body.append((number, tuple(row)))
    return Sheet(name=name, source=source, header=header, rows=body)


def _blank(value: object) -> bool:
    if value is None:
        return True
    if isinstance(value, float) and math.isnan(value):
        return True
    return isinstance(value, str) and value.strip().lower() in BLANK_SPELLINGS


# ---- applying the mapping -------------------------------------------------------------------------


@dataclass(frozen=True)
class Origin:
    """Where a mapped value came from: the center's sheet, row, column and cell."""

    source: str
    row: int | None
    column: str | None
    value: object

    def where(self) -> str:
        return f"{self.source} column {self.column!r}" if self.column else self.source


@dataclass
class MappedImport:
    registry: Registry
    problems: list[Problem]
    # (record_type, patient_id, key text) -> origin of the record, for cross-record problems.
    record_origins: dict[tuple[str, str | None, str | None], Origin]
    patient_origins: dict[str, Origin]

    field_origins: dict[tuple[str, str | None, str | None, str], Origin] = field(default_factory=dict)

    def locate(self, problems: Iterable[Problem]) -> list[Problem]:
        """Point problems found after mapping (validation across records) at the center's sheet, row, column
        and value: the cell the problem's field came from, else the row of its record or patient."""
        located = []
        for problem in problems:
            if problem.source is None:
                record = (problem.record_type, problem.patient_id, problem.key)
                origin = self.field_origins.get((*record, problem.field or ""))
                if origin is not None:
                    problem = dataclasses.replace(problem, source=origin.where(), row=origin.row, value=origin.value)
                else:
                    origin = self.record_origins.get(record) or self.patient_origins.get(problem.patient_id or "")
                    if origin is not None:
                        problem = dataclasses.replace(problem, source=origin.source, row=origin.row)
            located.append(problem)
        return located


@dataclass
class _Draft:
    """One record being built from one row: field values and where each came from."""

    record_type: str
    origin: Origin
    values: dict[str, object] = field(default_factory=dict)
    origins: dict[str, Origin] = field(default_factory=dict)
    filled: bool = False  # some cell (not only a constant) gave it a value
    failed: set[str] = field(default_factory=set)  # fields whose cell was reported unreadable


def _parse_iso(text: str) -> dt.date | str | None:
    """A full ISO date, or a partial one ('2017', '2017-07') as text, or None."""
    match = re.fullmatch(r"(\d{4})(?:-(\d{2})(?:-(\d{2}))?)?", text)
    if not match:
        return None
    year, month, day = match.groups()
    try:
        if day:
            return dt.date(int(year), int(month), int(day))
        if month:
            dt.date(int(year), int(month), 1)
            return f"{year}-{month}"
        dt.date(int(year), 1, 1)
        return year
    except ValueError:
        return None


def _date_pattern(date_format: str) -> tuple[re.Pattern, re.Pattern, re.Pattern, str]:
    order, sep = DATE_FORMATS[date_format]
    s = re.escape(sep)
    full = {
        "dmy": rf"(\d{{1,2}}){s}(\d{{1,2}}){s}(\d{{4}})",
        "mdy": rf"(\d{{1,2}}){s}(\d{{1,2}}){s}(\d{{4}})",
        "ymd": rf"(\d{{4}}){s}(\d{{1,2}}){s}(\d{{1,2}})",
    }[order]
    month = rf"(\d{{4}}){s}(\d{{1,2}})" if order == "ymd" else rf"(\d{{1,2}}){s}(\d{{4}})"
    return re.compile(full), re.compile(month), re.compile(r"(\d{4})"), order


_PATTERNS = {name: _date_pattern(name) for name in DATE_FORMATS if name != "excel"}


def text_date_format(text: str) -> str | None:
    """The declared format a text date is written in, when it can only be one ('31.08.2025' -> DD.MM.YYYY)."""
    text = text.strip()
    if _parse_iso(text) is not None:
        return "YYYY-MM-DD"
    for name in ("DD.MM.YYYY", "DD-MM-YYYY", "YYYY/MM/DD"):
        if _PATTERNS[name][0].fullmatch(text):
            return name
    match = _PATTERNS["DD/MM/YYYY"][0].fullmatch(text)
    if match:
        first, second = int(match.group(1)), int(match.group(2))
        if first > 12 >= second:
            return "DD/MM/YYYY"
        if second > 12 >= first:
            return "MM/DD/YYYY"
        return "DD/MM/YYYY?"  # ambiguous: the caller asks the data manager
    return None


def _read_date(value: object, date_format: str | None) -> tuple[object, str | None]:
    """A date, a partial date ('YYYY', 'YYYY-MM'), or the reason it cannot be read."""
    if isinstance(value, dt.datetime):
        return value.date(), None
    if isinstance(value, dt.date):
        return value, None
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        if date_format != "excel":
            return None, (
                "a number in a date column; if the column holds Excel serial dates, declare "
                'date_format = "excel" for it'
            )
        if not float(value).is_integer() or not 1 <= value <= 2958465:
            return None, "not an Excel serial date (a whole number of days)"
        return _EXCEL_EPOCH + dt.timedelta(days=int(value)), None
    text = str(value).strip()
    iso = _parse_iso(text)
    if iso is not None:
        return iso, None
    if date_format is None or date_format == "excel":
        guess = text_date_format(text)
        hint = (
            f'; declare its format, e.g. date_format = "{guess.rstrip("?")}"'
            if guess
            else "; write it as YYYY-MM-DD or declare the column's date_format"
        )
        return None, f"a text date, but the mapping declares no date_format for this column{hint}"
    full, month_year, year_only, order = _PATTERNS[date_format]
    match = full.fullmatch(text)
    if match:
        a, b, c = (int(g) for g in match.groups())
        year, month, day = {"dmy": (c, b, a), "mdy": (c, a, b), "ymd": (a, b, c)}[order]
        try:
            return dt.date(year, month, day), None
        except ValueError as error:
            return None, f"not a real date ({error})"
    match = month_year.fullmatch(text)
    if match:
        a, b = (int(g) for g in match.groups())
        year, month = (a, b) if order == "ymd" else (b, a)
        if 1 <= month <= 12:
            return f"{year:04d}-{month:02d}", None
    if year_only.fullmatch(text):
        return text, None
    return None, f"not a date in the declared format {date_format}"


_NUMBER = re.compile(r"[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?")


def _read_number(value: object, rule: ColumnRule, column: Column) -> tuple[object, str | None]:
    stored = field_unit(rule.record_type, column.name)
    unit = rule.unit or stored
    if isinstance(value, bool):
        return None, "TRUE/FALSE in a number column"
    if isinstance(value, (int, float)):
        number = float(value)
    else:
        text = str(value).strip().replace("\u00a0", " ")
        if text.endswith("%"):
            if unit != "percent":
                return None, (
                    f"a percentage, but the column's values are read as {unit or 'plain numbers'}; "
                    f'declare unit = "percent" for the column or map the value'
                )
            text = text[:-1].strip()
        if not _NUMBER.fullmatch(text):
            hint = (
                "; a decimal comma? write 0.5, not 0,5"
                if re.fullmatch(r"\d+,\d+", text)
                else ('; map it in the column\'s values (e.g. "<0.01%" = {...})' if re.match(r"[<>≤≥]", text) else "")
            )
            return None, f"not a number{hint}"
        number = float(text)
    if unit and stored and unit != stored:
        number = number * UNITS[unit][stored]
        number = float(f"{number:.12g}")  # 0.5 * 0.01 is 0.005, not 0.005000000000000001
    if column.kind == "int":
        if not number.is_integer():
            return None, "not a whole number"
        return int(number), None
    return number, None


def _read_cell(value: object, rule: ColumnRule, column: Column) -> tuple[object, str | None]:
    if column.kind == "date":
        return _read_date(value, rule.date_format)
    if column.kind in ("int", "float"):
        return _read_number(value, rule, column)
    if column.kind == "bool":
        if isinstance(value, bool):
            return value, None
        text = _normalized(value)
        if text in ("true", "yes", "y", "1", "t", "on"):
            return True, None
        if text in ("false", "no", "n", "0", "f", "off"):
            return False, None
        return None, "not yes/no; map the center's spellings in the column's values (e.g. ja = true)"
    text = (
        value
        if isinstance(value, str)
        else (str(int(value)) if isinstance(value, float) and value.is_integer() else str(value))
    )
    text = text.strip()
    if column.enum is not None:
        codes = {m.value.casefold(): m.value for m in column.enum}
        code = codes.get(text.casefold())
        if code is not None:
            return code, None
        if text in MISSING_CODES:
            return text, None
        return None, (
            f"not a code of {rule.record_type}.{column.name}{_close(text, codes.values())}; add it to "
            f"the column's values (codes: {', '.join(codes.values())})"
        )
    return text, None


def _dose_steps(value: object) -> list[float] | None:
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return [float(value)]
    parts = _STEP_SEPARATOR.split(str(value).strip())
    try:
        return [float(p) for p in parts if p]
    except ValueError:
        return None


class _Builder:
    """Applies a mapping to the center's sheets, row by row, into untyped record rows."""

    def __init__(self, mapping: Mapping, sheets: dict[str, Sheet]) -> None:
        self.mapping = mapping
        self.sheets = sheets
        self.problems: list[Problem] = []
        self.drafts: dict[tuple[str, str, object], _Draft] = {}  # (patient, record_type, instance)
        self.patient_origins: dict[str, Origin] = {}
        self._pending_steps: list[tuple] = []

    def problem(
        self,
        record_type: str,
        field_name: str | None,
        origin: Origin,
        reason: str,
        *,
        patient_id: str | None = None,
        severity: Severity = Severity.ERROR,
        instance: object = None,
    ) -> None:
        number_field = NUMBER_FIELDS.get(record_type)
        key = f"{number_field}={instance}" if number_field and isinstance(instance, int) else None
        self.problems.append(
            Problem(
                record_type=record_type,
                field=field_name,
                value=origin.value,
                reason=reason,
                patient_id=patient_id,
                key=key,
                severity=severity,
                source=origin.where(),
                row=origin.row,
            )
        )

    def run(self) -> None:
        positions = {name: self._positions(sheet) for name, sheet in self.sheets.items()}
        main = self.mapping.sheets[0]
        for index, name in enumerate(self.mapping.sheets):
            if positions[name] is None:
                continue
            id_position, rule_positions = positions[name]
            sheet = self.sheets[name]
            id_column = self.mapping.id_columns[name]
            occurrences: dict[str, int] = {}
            for number, cells in sheet.rows:
                raw_id = cells[id_position] if id_position < len(cells) else None
                id_origin = Origin(sheet.source, number, id_column, raw_id)
                if _blank(raw_id):
                    self.problem("patient", "patient_id", id_origin, "the row has values but no study id")
                    continue
                patient_id = _normalized_id(raw_id)
                occurrences[patient_id] = occurrence = occurrences.get(patient_id, 0) + 1
                if index == 0:
                    if occurrence > 1:
                        first = self.patient_origins[patient_id].row
                        self.problem(
                            "patient",
                            "patient_id",
                            id_origin,
                            f"study id {patient_id!r} is also in row "
                            f"{first}; sheet {name or sheet.source} holds one row per patient",
                            patient_id=patient_id,
                        )
                        continue
                    self.patient_origins[patient_id] = id_origin
                    patient = self._draft(patient_id, "patient", None, id_origin)
                    patient.values["patient_id"] = patient_id
                    patient.origins["patient_id"] = id_origin
                    patient.filled = True
                elif patient_id not in self.patient_origins:
                    self.problem(
                        "patient",
                        "patient_id",
                        id_origin,
                        f"study id {patient_id!r} is not in sheet {main!r} (the patients' sheet)",
                        patient_id=patient_id,
                    )
                    continue
                for position, rule in rule_positions:
                    value = cells[position] if position < len(cells) else None
                    if _blank(value):
                        continue
                    instance = rule.instance if rule.instance is not None or index == 0 else occurrence
                    self._apply(patient_id, rule, instance, Origin(sheet.source, number, rule.column, value))

    def _positions(self, sheet: Sheet) -> tuple[int, list[tuple[int, ColumnRule]]] | None:
        header = sheet.header
        id_column = self.mapping.id_columns[sheet.name if sheet.name in self.mapping.id_columns else ""]
        where = Origin(sheet.source, self.mapping.header_row, None, None)
        if not any(header):
            self.problem(
                "patient",
                None,
                where,
                f"no column names in row {self.mapping.header_row} (the header "
                f"row; set [source] header_row when the names are in another row)",
            )
            return None
        duplicates = {name for name in header if name and header.count(name) > 1}
        ok = True
        mapped = {rule.column for rule in self.mapping.rules if rule.sheet == sheet.name} | {id_column}
        for name in sorted(duplicates & mapped):
            self.problem(
                "patient",
                None,
                Origin(sheet.source, self.mapping.header_row, name, None),
                "the column name appears more than once in the header; rename one of them",
            )
            ok = False
        if id_column not in header:
            self.problem("patient", "patient_id", where, f"no study-id column {id_column!r}{_close(id_column, header)}")
            return None
        rule_positions = []
        for rule in self.mapping.rules:
            if rule.sheet != sheet.name:
                continue
            if rule.column not in header:
                self.problem(
                    rule.record_type,
                    rule.field,
                    where,
                    f"the mapping names column {rule.column!r}, which the sheet does not have"
                    f"{_close(rule.column, header)}",
                )
                ok = False
                continue
            rule_positions.append((header.index(rule.column), rule))
        ignored = self.mapping.ignored.get(sheet.name, frozenset()) | self.mapping.ignored.get("", frozenset())
        for position, name in enumerate(header):
            if not name or name in mapped or name in ignored:
                continue
            first = next(
                (
                    (n, cells[position])
                    for n, cells in sheet.rows
                    if position < len(cells) and not _blank(cells[position])
                ),
                None,
            )
            if first is not None:
                self.problem(
                    "patient",
                    None,
                    Origin(sheet.source, first[0], name, first[1]),
                    "the column holds values but is neither mapped nor listed under [ignore] columns; "
                    "map it, or ignore it on purpose",
                )
                ok = False
        if not ok:
            return None
        return header.index(id_column), rule_positions

    def _draft(self, patient_id: str, record_type: str, instance: object, origin: Origin) -> _Draft:
        key = (patient_id, record_type, instance)
        draft = self.drafts.get(key)
        if draft is None:
            draft = self.drafts[key] = _Draft(record_type, origin)
        return draft

    def _set(
        self, draft: _Draft, patient_id: str, name: str, value: object, origin: Origin, *, fills: bool = True
    ) -> None:
        previous = draft.origins.get(name)
        if previous is not None and draft.values.get(name) != value and previous.column != origin.column:
            self.problem(
                draft.record_type,
                name,
                origin,
                f"conflicts with column {previous.column!r} ({previous.value!r}), which maps to the same field",
                patient_id=patient_id,
            )
            return
        draft.values[name] = value
        draft.origins[name] = origin
        draft.filled = draft.filled or fills

    def _apply(self, patient_id: str, rule: ColumnRule, instance: int | None, origin: Origin) -> None:
        value = origin.value
        mapped = rule.values.get(_normalized(value), _UNMAPPED) if rule.values else _UNMAPPED
        if (rule.record_type, rule.field) == ("dose_segment", "dose") and mapped is _UNMAPPED:
            self._apply_steps(patient_id, rule, instance, origin)
            return
        draft = self._draft(patient_id, rule.record_type, instance, origin)
        fills = not rule.attaches
        if mapped is not _UNMAPPED:
            if isinstance(mapped, MappingABC):
                if not mapped:
                    return  # mapped to nothing on purpose (e.g. 'neg' for a genetic lesion)
                for name, sub in mapped.items():
                    self._set(draft, patient_id, name, sub, origin, fills=fills)
            else:
                self._set(draft, patient_id, rule.field, mapped, origin, fills=fills)
            extra = rule.set
        elif rule.field is None:
            self.problem(
                rule.record_type,
                None,
                origin,
                f"not in the column's value map (values: {', '.join(map(repr, rule.values))})",
                patient_id=patient_id,
            )
            return
        else:
            column = _model_columns(rule.record_type)[rule.field]
            typed, reason = _read_cell(value, rule, column)
            if reason is not None:
                self.problem(rule.record_type, rule.field, origin, reason, patient_id=patient_id, instance=instance)
                draft.failed.add(rule.field)
                draft.filled = draft.filled or fills
                return
            self._set(draft, patient_id, rule.field, typed, origin, fills=fills)
            extra = {**rule.set, **(rule.when_number if column.kind in ("int", "float") else {})}
        for name, sub in extra.items():
            if name not in draft.values:
                self._set(draft, patient_id, name, sub, origin, fills=fills)

    def _apply_steps(self, patient_id: str, rule: ColumnRule, instance: int | None, origin: Origin) -> None:
        doses = _dose_steps(origin.value)
        if doses is None:
            self.problem(
                "dose_segment", "dose", origin, "not a daily dose or a step-up such as 5->15", patient_id=patient_id
            )
            return
        if len(doses) > len(rule.step_days or (1,)):
            self.problem(
                "dose_segment",
                "dose",
                origin,
                f"{len(doses)} dose steps, but the mapping gives "
                f"{len(rule.step_days or (1,))} step start day(s); declare step_days for the column (e.g. "
                f"step_days = [1, 8])",
                patient_id=patient_id,
            )
            return
        self._pending_steps.append((patient_id, rule, instance, origin, doses))

    def finish_steps(self) -> None:
        """Dose steps become dated segments once the cycle's start and end dates are known."""
        for patient_id, rule, instance, origin, doses in self._pending_steps:
            cycle = self.drafts.get((patient_id, "blinatumomab_cycle", instance))
            start = cycle.values.get("start_date") if cycle else None
            end = cycle.values.get("end_date") if cycle else None
            if not isinstance(start, dt.date) or not isinstance(end, dt.date):
                self.problem(
                    "dose_segment",
                    "start_date",
                    origin,
                    f"dose steps need the full start and end dates of blinatumomab cycle {instance} "
                    f"(map the cycle's date columns with the same instance)",
                    patient_id=patient_id,
                )
                continue
            step_days = rule.step_days or (1,)
            for step, dose in enumerate(doses):
                first = start + dt.timedelta(days=step_days[step] - 1)
                last = start + dt.timedelta(days=step_days[step + 1] - 2) if step + 1 < len(doses) else end
                if first > end or last < first:
                    self.problem(
                        "dose_segment",
                        "start_date",
                        origin,
                        f"dose step {step + 1} starts on cycle day "
                        f"{step_days[step]}, after the cycle's end {end.isoformat()}",
                        patient_id=patient_id,
                    )
                    break
                draft = self._draft(patient_id, "dose_segment", (instance, step), origin)
                for name, value in {"dose": dose, "start_date": first, "end_date": min(last, end), **rule.set}.items():
                    self._set(draft, patient_id, name, value, origin)

    def drafts_by_type(self) -> dict[str, list[tuple[str, object, _Draft]]]:
        grouped: dict[str, list[tuple[str, object, _Draft]]] = {}
        for (patient_id, record_type, instance), draft in self.drafts.items():
            if draft.filled:
                grouped.setdefault(record_type, []).append((patient_id, instance, draft))
        return grouped


_UNMAPPED = object()


def _key_value(value: object) -> str:
    return value.isoformat() if isinstance(value, dt.date) else str(value)


def _normalized_id(value: object) -> str:
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return str(value).strip()


def apply_mapping(mapping: Mapping, sheets: dict[str, Sheet]) -> MappedImport:
    """Turn the center's sheets into a registry batch; every problem points at the center's cell."""
    builder = _Builder(mapping, sheets)
    builder.run()
    builder.finish_steps()
    tables = {}
    record_origins: dict[tuple[str, str | None, str | None], Origin] = {}
    field_origins: dict[tuple[str, str | None, str | None, str], Origin] = {}
    problems = builder.problems
    constant_source = f"{mapping.path} [constants]"
    centers = mapping.constants.get("center")
    if centers:
        frame, parsed = parse_rows(RECORD_TYPES["center"], [centers], source=constant_source, first_row_number=0)
        tables["center"] = frame
        problems += [dataclasses.replace(p, row=None) for p in parsed]
    grouped = builder.drafts_by_type()
    for model in RECORD_MODELS[1:]:
        record_type = model.record_type
        entries = sorted(grouped.get(record_type, []), key=lambda e: (e[2].origin.row or 0, str(e[1])))
        items: list[dict] = []
        origins: list[_Draft] = []
        number_field = NUMBER_FIELDS.get(record_type)
        for patient_id, instance, draft in entries:
            values = {**mapping.constants.get(record_type, {}), **draft.values, "patient_id": patient_id}
            number = instance[0] if isinstance(instance, tuple) else instance
            if number_field and number_field not in draft.values and number is not None:
                values[number_field] = number
            items.append(values)
            origins.append(draft)
        if not items:
            continue
        frame, parsed = parse_rows(model, items, source=None, first_row_number=0)
        for problem in parsed:
            draft = origins[problem.row] if problem.row is not None else None
            if draft is None:
                problems.append(problem)
                continue
            if problem.value is None and problem.field in draft.failed:
                continue  # "required" after its cell was already reported unreadable
            origin = draft.origins.get(problem.field or "")
            if origin is None:
                if problem.field in mapping.constants.get(record_type, {}):
                    origin = Origin(constant_source, None, None, problem.value)
                else:
                    mapped_columns = sorted(
                        {
                            r.column
                            for r in mapping.rules
                            if r.record_type == record_type
                            and (
                                r.field == problem.field
                                or any(isinstance(v, MappingABC) and problem.field in v for v in r.values.values())
                            )
                        }
                    )
                    column = mapped_columns[0] if len(mapped_columns) == 1 else None
                    origin = Origin(draft.origin.source, draft.origin.row, column, None)
                    if problem.field and not mapped_columns and problem.value is None:
                        problem = dataclasses.replace(
                            problem,
                            reason=f"{problem.reason}; no column of the sheet is "
                            f"mapped to {record_type}.{problem.field}",
                        )
            problems.append(
                dataclasses.replace(
                    problem,
                    source=origin.where(),
                    row=origin.row,
                    value=origin.value if origin.value is not None else problem.value,
                )
            )
        tables[record_type] = frame
        for values, draft in zip(items, origins):
            key = ", ".join(
                f"{k}={_key_value(values[k])}" for k in model.key if k != "patient_id" and values.get(k) is not None
            )
            record_origins[(record_type, values["patient_id"], key or None)] = draft.origin
            for name, origin in draft.origins.items():
                field_origins[(record_type, values["patient_id"], key or None, name)] = origin
    problems.sort(key=lambda p: (p.source or "", p.row or 0))
    has_errors = any(p.severity is Severity.ERROR for p in problems)
    registry = Registry({} if has_errors else tables)
    return MappedImport(registry, problems, record_origins, builder.patient_origins, field_origins)


def read_mapped(path: str | os.PathLike, mapping_path: str | os.PathLike) -> MappedImport:
    """Read the center's workbook (or CSV file) through a mapping file."""
    mapping = load_mapping(mapping_path)
    path = Path(path)
    is_csv = path.suffix.lower() == ".csv"
    if is_csv and len(mapping.sheets) > 1:
        raise UserError(
            f"{path}: a CSV file is one sheet, but the mapping joins {len(mapping.sheets)} sheets; import the workbook"
        )
    if not is_csv and mapping.sheets == ("",):
        mapping = _named_sheet(mapping, _first_sheet_name(path))
    sheets = read_sheets(
        path,
        wanted=None if is_csv else mapping.sheets,
        header_row=mapping.header_row,
        delimiter=mapping.delimiter,
        encoding=mapping.encoding,
    )
    if is_csv:
        (sheet,) = sheets.values()
        sheet.name = mapping.sheets[0]
        sheets = {sheet.name: sheet}
    return apply_mapping(mapping, sheets)


def _first_sheet_name(path: Path) -> str:
    return next(iter(read_sheet_names(path)))


def read_sheet_names(path: Path) -> list[str]:
    from openpyxl import load_workbook

    if path.is_dir():
        raise UserError(f"{path} is a folder; a mapped import reads one .xlsx workbook or one .csv file")
    try:
        workbook = load_workbook(path, read_only=True)
    except FileNotFoundError:
        raise UserError(f"{path}: no such file") from None
    except Exception as error:  # zipfile, XML and openpyxl errors for files that are not workbooks
        raise UserError(f"{path}: not a readable .xlsx workbook ({type(error).__name__}: {error})") from None
    names = list(workbook.sheetnames)
    workbook.close()
    return names


def _named_sheet(mapping: Mapping, name: str) -> Mapping:
    """A mapping written without sheet names, applied to the first sheet of a workbook."""
    return dataclasses.replace(
        mapping,
        sheets=(name,),
        id_columns={name: mapping.id_columns[""]},
        rules=tuple(dataclasses.replace(r, sheet=name) if r.sheet == "" else r for r in mapping.rules),
        ignored={name: mapping.ignored.get("", frozenset())},
    )


__all__ = [
    "DATE_FORMATS",
    "MISSING_CODES",
    "MappedImport",
    "Mapping",
    "MappingError",
    "apply_mapping",
    "load_mapping",
    "parse_mapping",
    "read_mapped",
    "read_sheets",
    "text_date_format",
]
