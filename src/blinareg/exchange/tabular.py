"""The registry exchange format: a folder of CSV files or one XLSX workbook, one table per record type.

Format (the same rules head docs/data-dictionary.md):

- A folder with one `<record_type>.csv` per record type (no file = no records of that type), or one
  `.xlsx` workbook with one sheet per record type, named the same. A workbook's `README` and `_lists`
  sheets are skipped on import.
- First row: the column names, i.e. the record model's field names (any order on import; model order on
  export). Every record type is exported, header only when it has no records.
- CSV: UTF-8 (a byte-order mark is accepted on import, never written), comma-separated, `"` quoting,
  `\\n` line ends on export.
- Dates `YYYY-MM-DD`; in a workbook real date cells are accepted too (and exported as date cells).
- Booleans are exported as `true`/`false`; import accepts true/false, yes/no, 1/0, t/f, y/n, on/off in
  any case (pydantic's lax boolean parsing).
- Numbers use a `.` decimal point. Floats are exported in the shortest positional form that reads back
  to the same double (`0.00001`, `12.0`, `0.30000000000000004`), integers without decimals.
- A blank cell is a missing value (on import also NA, N/A, null, none, nan).
- Export sorts rows by the record key, so export -> import -> export is byte-identical, for CSV and
  XLSX (fixed workbook timestamps).

Field parsing is `blinareg.records.registry.parse_rows`; this module only reads cells, checks headers
and file names, and points every problem at its file (or sheet) and spreadsheet row (header = row 1).
"""

from __future__ import annotations

import contextlib
import csv
import dataclasses
import datetime as dt
import difflib
import errno
import gc
import io
import os
import re
import shutil
import stat
import tempfile
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path

import numpy as np
import pandas as pd
from openpyxl import Workbook, load_workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from openpyxl.styles import Font

from blinareg.errors import UserError
from blinareg.exchange.export_folder import move_into_place
from blinareg.exchange._workbook import (
    AUXILIARY_SHEETS,
    MAX_DATA_ROWS,
    README_SHEET,
    formulas_without_value,
    replace_file_atomically,
    save_deterministic,
)
from blinareg.records.models import RECORD_MODELS, RECORD_TYPES, Record
from blinareg.records.problems import Problem
from blinareg.records.registry import _BLANK as MISSING_SPELLINGS  # the blank spellings parse_rows skips
from blinareg.records.missing import MissingCode, written_cells
from blinareg.records.registry import Column, Registry, columns, parse_rows

FORMATS = ("csv", "xlsx")
_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
_PARTIAL_DATE = re.compile(r"\d{4}(-\d{2})?")
_MISSING_CODES = frozenset(code.value for code in MissingCode)
_EXPECTED_FILES = ", ".join(f"{m.record_type}.csv" for m in RECORD_MODELS)


# ---- reading ---------------------------------------------------------------------------------------


def read_registry(path: str | os.PathLike) -> tuple[Registry, list[Problem]]:
    """Read a CSV folder or an XLSX workbook. Returns the registry and every problem in every file.

    The registry is only meaningful when no problem is an error (a table with errors is left empty).
    Raises `UserError` when `path` is neither a folder nor a readable `.xlsx` workbook.
    """
    path = Path(path)
    if path.is_dir():
        reader = _read_csv_folder
    elif path.is_file() and path.suffix.lower() == ".xlsx":
        reader = _read_workbook
    elif not path.exists():
        raise UserError(f"{path}: no such folder or file")
    elif path.suffix.lower() == ".csv":
        raise UserError(
            f"{path}: a registry is a folder of <record_type>.csv files; put this file in a "
            f"folder, named as its record type ({_EXPECTED_FILES}), and import the folder"
        )
    else:
        raise UserError(f"{path}: expected a folder of <record_type>.csv files or an .xlsx workbook")
    with _collector_paused():
        tables, problems = reader(path)
        return Registry(tables), problems


@contextlib.contextmanager
def _collector_paused() -> Iterator[None]:
    """Pause the cyclic garbage collector while millions of acyclic row objects are built.

    Its full collections rescan the growing heap again and again: with it running, reading 2.4 million
    rows takes about 70% more CPU time. Reference counting still frees everything as usual.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def _read_csv_folder(folder: Path) -> tuple[dict[str, pd.DataFrame], list[Problem]]:
    tables: dict[str, pd.DataFrame] = {}
    problems: list[Problem] = []
    found: dict[str, Path] = {}
    try:
        entries = sorted(folder.iterdir())
    except OSError as error:
        raise UserError(f"{folder}: cannot list the folder ({error.strerror or error})") from None
    for entry in entries:
        if entry.name.startswith((".", "~$")) or entry.suffix.lower() != ".csv":
            continue
        stem = entry.name[: -len(entry.suffix)]
        if entry.suffix == ".csv" and stem in RECORD_TYPES:
            found[stem] = entry
        elif _is_regular_file(entry):
            problems.append(_unknown_name(entry.name, what="file", suffix=".csv", source=entry.name))
    for model in RECORD_MODELS:
        entry = found.get(model.record_type)
        if entry is None:
            continue
        unreadable = _unreadable_reason(entry)
        if unreadable is not None:
            # Never "no records": the imported patients' stored records of this type would be replaced by none.
            problems.append(
                _file_problem(
                    model,
                    entry.name,
                    f"{unreadable}; nothing was imported, because reading "
                    f"it as 'no {model.record_type} records' would delete "
                    f"the stored ones of the imported patients",
                )
            )
            continue
        try:
            header, rows, file_problems = _load_csv(model, entry)
        except OSError as error:
            problems.append(_file_problem(model, entry.name, f"cannot be read ({error.strerror or error})"))
            continue
        if header is not None:
            frame, table_problems = _parse_table(model, entry.name, header, rows, cells_typed=False)
            tables[model.record_type] = frame
            problems += table_problems
        problems += file_problems  # after parsing: a CSV syntax error is found while the rows are read
    return tables, problems


def _is_regular_file(entry: Path) -> bool:
    try:
        return entry.is_file()
    except OSError:
        return False


def _unreadable_reason(entry: Path) -> str | None:
    """Why a `<record_type>.csv` entry is not a readable file, or None when it is one."""
    try:
        target = entry.stat()  # follows symlinks: ELOOP for a loop, ENOENT for a dangling link
    except OSError as error:
        if entry.is_symlink():
            kind = "a symbolic link loop" if error.errno == errno.ELOOP else "a broken symbolic link"
            return f"is {kind} ({error.strerror})"
        return f"cannot be read ({error.strerror or error})"
    if stat.S_ISDIR(target.st_mode):
        return "is a folder, not a CSV file"
    if not stat.S_ISREG(target.st_mode):
        return "is not a regular file"
    try:
        with open(entry, "rb"):
            pass
    except OSError as error:
        return f"cannot be read ({error.strerror or error})"
    return None


def absent_record_types(path: str | os.PathLike) -> list[str]:
    """Record types with no file (folder) or no sheet (workbook) in `path`: "no records of that type"."""
    path = Path(path)
    if path.is_dir():
        present = {entry.name[:-4] for entry in path.iterdir() if entry.name.endswith(".csv")}
    else:
        try:
            workbook = load_workbook(path, read_only=True)
        except Exception:  # the import itself reports an unreadable workbook
            return []
        present = set(workbook.sheetnames)
        workbook.close()
    return [m.record_type for m in RECORD_MODELS if m.record_type not in present]


def _load_csv(model: type[Record], path: Path) -> tuple[list[str] | None, Iterator[list[str]], list[Problem]]:
    """Header and a row iterator; a CSV syntax error ends the iterator and adds a problem."""
    problems: list[Problem] = []
    source = path.name
    data = path.read_bytes()
    if not data.strip():
        problems.append(
            _file_problem(
                model,
                source,
                "the file is empty; it needs at least the header row "
                "(the column names), even when there are no records",
            )
        )
        return None, iter(()), problems
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        line = data[: error.start].count(b"\n") + 1
        problems.append(
            _file_problem(
                model,
                source,
                f"not UTF-8 text (byte 0x{data[error.start]:02x} on line {line}); save the file as 'CSV UTF-8'",
            )
        )
        return None, iter(()), problems
    reader = csv.reader(io.StringIO(text, newline=""))

    def rows() -> Iterator[list[str]]:
        try:
            yield from reader
        except csv.Error as error:
            problems.append(
                _file_problem(
                    model,
                    source,
                    f"not readable as CSV at line {reader.line_num} ({error}); the rows after it were not read",
                )
            )

    iterator = rows()
    header = next(iterator, None)
    if header is None:
        return None, iter(()), problems
    if len(header) == 1 and ";" in header[0]:
        problems.append(
            _file_problem(
                model,
                source,
                "the file is separated by ';' but must be comma-separated; save it as 'CSV UTF-8 (comma delimited)'",
                row=1,
            )
        )
        return None, iter(()), problems
    return header, iterator, problems


def _read_workbook(path: Path) -> tuple[dict[str, pd.DataFrame], list[Problem]]:
    try:
        workbook = load_workbook(path, read_only=True, data_only=True)
    except Exception as error:  # openpyxl raises zipfile, KeyError, XML and its own errors for bad files
        raise UserError(f"{path}: not a readable .xlsx workbook ({type(error).__name__}: {error})") from error
    tables: dict[str, pd.DataFrame] = {}
    problems: list[Problem] = []
    try:
        names = list(workbook.sheetnames)
        for name, cells in formulas_without_value(path, [n for n in names if n in RECORD_TYPES]).items():
            problems.append(_file_problem(RECORD_TYPES[name], f"{path.name} sheet {name}", _formula_reason(cells)))
        for name in names:
            if name not in RECORD_TYPES and name not in AUXILIARY_SHEETS:
                problems.append(_unknown_name(name, what="sheet", suffix="", source=f"{path.name} sheet {name}"))
        for model in RECORD_MODELS:
            if model.record_type not in names:
                continue
            source = f"{path.name} sheet {model.record_type}"
            sheet = workbook[model.record_type]
            sheet.reset_dimensions()
            rows = sheet.iter_rows(values_only=True)
            header = next(rows, None)
            if header is None or all(_blank(cell) for cell in header):
                problems.append(
                    _file_problem(model, source, "the sheet has no header row (the column names in row 1)", row=1)
                )
                continue
            frame, table_problems = _parse_table(model, source, list(header), rows, cells_typed=True)
            tables[model.record_type] = frame
            problems += table_problems
    finally:
        workbook.close()
    return tables, problems


def _formula_reason(cells: list[tuple[str, str]]) -> str:
    shown = ", ".join(f"{cell} ({formula})" for cell, formula in cells[:5])
    more = f" and {len(cells) - 5} more" if len(cells) > 5 else ""
    return (
        f"cells hold formulas without a saved result: {shown}{more}; open the workbook in Excel or "
        f"LibreOffice and save it (or paste the values) so that the results are stored"
    )


def _parse_table(
    model: type[Record], source: str, header: Sequence[object], rows: Iterable[Sequence[object]], *, cells_typed: bool
) -> tuple[pd.DataFrame, list[Problem]]:
    """Check the header, turn rows into field dicts, and let parse_rows type them.

    `cells_typed`: workbook cells (numbers, dates, booleans, None) rather than CSV strings.
    """
    model_columns = {c.name: c for c in columns(model)}
    problems: list[Problem] = []
    fields: list[tuple[int, str]] = []
    seen: set[str] = set()
    for position, cell in enumerate(header):
        name = "" if cell is None else str(cell).strip()
        if not name:
            continue
        if name in seen:
            problems.append(
                _file_problem(
                    model, source, f"column {name!r} appears more than once; the first one is read", field=name, row=1
                )
            )
        elif name not in model_columns:
            problems.append(_file_problem(model, source, _unknown_column_reason(model, name), field=name, row=1))
        else:
            fields.append((position, name))
        seen.add(name)
    missing = [c.name for c in model_columns.values() if c.required and c.name not in seen]
    for name in missing:
        problems.append(
            _file_problem(model, source, f"required column {name!r} is missing from the header", field=name, row=1)
        )

    width = len(header)
    named = {position for position, _ in fields} | {p for p, c in enumerate(header) if not _blank(c)}
    unnamed = [p for p in range(width) if p not in named]
    names = [n for _, n in fields]
    aligned = [p for p, _ in fields] == list(range(width))  # every header cell is a known column
    checked = [(n, model_columns[n]) for _, n in fields if cells_typed or model_columns[n].kind == "date"]
    iso_date = _ISO_DATE.fullmatch
    items: list[dict] = []
    row_numbers: list[int] = []
    dropped: set[tuple[int, str]] = set()
    unnamed_reported: set[int] = set()
    for number, row in enumerate(rows, start=2):
        length = len(row)
        if not length or (_blank(row[0]) and all(_blank(cell) for cell in row)):
            continue
        if length < width and not cells_typed:
            item = {n: row[p] for p, n in fields if p < length}
            problems.append(
                _row_problem(
                    model,
                    item,
                    None,
                    None,
                    f"the row has {length} values but the header has {width} columns",
                    source,
                    number,
                )
            )
            continue
        if unnamed or length > width:
            for position in [*unnamed, *range(width, length)]:
                if position < length and position not in unnamed_reported and not _blank(row[position]):
                    unnamed_reported.add(position)
                    problems.append(
                        _file_problem(
                            model,
                            source,
                            f"column {position + 1} holds values (first in row {number}) but has no name in the header",
                            row=number,
                        )
                    )
        if aligned and length == width:
            # Empty CSV cells are left out here: parse_rows would skip them, one by one, anyway.
            item = dict(zip(names, row)) if cells_typed else {n: v for n, v in zip(names, row) if v}
        else:
            item = {n: row[p] for p, n in fields if p < length}
        for name, column in checked:
            value = item.get(name)
            if value is None or (not cells_typed and iso_date(value)):
                continue
            value, reason = _prepare_cell(column, value)
            if reason is None:
                item[name] = value
            else:
                problems.append(_row_problem(model, item, name, item[name], reason, source, number))
                del item[name]
                dropped.add((len(items), name))
        items.append(item)
        row_numbers.append(number)

    frame, parsed = parse_rows(model, items, source=source, first_row_number=0)
    missing_set = set(missing)
    for problem in parsed:
        if (
            problem.value is None
            and problem.field is not None
            and (problem.field in missing_set or (problem.row, problem.field) in dropped)
        ):
            continue  # already reported as a missing column or an unreadable cell
        row = None if problem.row is None else row_numbers[problem.row]
        problems.append(dataclasses.replace(problem, row=row))
    problems.sort(key=lambda p: p.row or 0)
    if not parsed:  # where each record came from, for cross-record problems (Registry.origins)
        frame.attrs["origin"] = (source, [row_numbers[i] for i in range(len(frame))])
    return frame, problems


def parse_text_record(model: type[Record], cells: dict[str, str], *, source: str) -> tuple[pd.DataFrame, list[Problem]]:
    """One record typed in as text (a web form), read exactly as a CSV row of the same cells.

    The same strict dates, missing-data codes and partial dates as a CSV import: the web and the
    importer accept the same values. Problems carry row 2 (the data row of a one-row CSV).
    """
    names = list(cells)
    return _parse_table(model, source, names, [[cells[name] for name in names]], cells_typed=False)


def _prepare_cell(column: Column, value: object) -> tuple[object, str | None]:
    """A cell ready for parse_rows, or the reason it cannot be read (strict dates; workbook cell types)."""
    if column.kind == "date":
        if isinstance(value, (dt.date, dt.datetime)):
            return value, None
        if isinstance(value, str):
            text = value.strip()
            if (
                not text
                or text.lower() in MISSING_SPELLINGS
                or _ISO_DATE.fullmatch(text)
                or _PARTIAL_DATE.fullmatch(text)
                or text.lower() in _MISSING_CODES
            ):
                return value, None  # parse_rows decides whether the field takes a partial date or a code
            return value, "expected a date as YYYY-MM-DD (or YYYY-MM, YYYY where a partial date is allowed)"
        if isinstance(value, int) and not isinstance(value, bool) and 1000 <= value <= 9999:
            return str(value), None  # a year typed as a number: a partial date
        return value, "expected a date cell or YYYY-MM-DD text"
    if isinstance(value, bool) and column.kind in ("int", "float"):
        return value, "expected a number, not TRUE/FALSE"
    if column.kind == "text" and isinstance(value, (int, float)) and not isinstance(value, bool):
        if isinstance(value, float) and value.is_integer():
            return str(int(value)), None
        return str(value), None
    return value, None


def _blank(value: object) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def _suggestion(name: str, choices: Iterable[str]) -> str | None:
    normalized = re.sub(r"[\s\-]+", "_", name.strip().lower())
    matches = difflib.get_close_matches(normalized, list(choices), n=1, cutoff=0.6)
    return matches[0] if matches else None


def _unknown_name(name: str, *, what: str, suffix: str, source: str) -> Problem:
    stem = name[: -len(suffix)] if suffix and name.lower().endswith(suffix) else name
    guess = _suggestion(stem, RECORD_TYPES)
    hint = f"; did you mean {guess + suffix!r}?" if guess else "."
    expected = ", ".join(m.record_type + suffix for m in RECORD_MODELS)
    return Problem(
        record_type=guess or stem,
        field=None,
        value=None,
        source=source,
        reason=f"unknown {what} name {name!r}{hint} Each {what} is named after its record type: {expected}",
    )


def _unknown_column_reason(model: type[Record], name: str) -> str:
    guess = _suggestion(name, model.model_fields)
    hint = f"; did you mean {guess!r}?" if guess else "."
    return f"unknown column {name!r} for {model.record_type}{hint} Columns: {', '.join(model.model_fields)}"


def _file_problem(
    model: type[Record], source: str, reason: str, *, field: str | None = None, row: int | None = None
) -> Problem:
    return Problem(record_type=model.record_type, field=field, value=None, reason=reason, source=source, row=row)


def _row_problem(
    model: type[Record], item: dict, field: str | None, value: object, reason: str, source: str, row: int
) -> Problem:
    patient = item.get("patient_id")
    patient = patient.strip() if isinstance(patient, str) and patient.strip() else None
    key = ", ".join(f"{k}={item[k]}" for k in model.key if k != "patient_id" and not _blank(item.get(k)))
    return Problem(
        record_type=model.record_type,
        field=field,
        value=value,
        reason=reason,
        patient_id=patient,
        key=key or None,
        source=source,
        row=row,
    )


# ---- writing ---------------------------------------------------------------------------------------


def write_registry(registry: Registry, path: str | os.PathLike, *, format: str | None = None) -> Path:
    """Write every record type to a CSV folder or an XLSX workbook, atomically; returns the path.

    `format` is "csv" or "xlsx"; None picks "xlsx" for a path ending in .xlsx and "csv" otherwise.
    An existing target is replaced only when it is a workbook (xlsx) or a folder holding nothing but
    `<record_type>.csv` files (csv): a failed export leaves the old target as it was.
    """
    path = Path(path)
    chosen = _format_for(path, format)
    tables = {m.record_type: sorted_by_key(m, registry[m.record_type]) for m in RECORD_MODELS}
    path.parent.mkdir(parents=True, exist_ok=True)
    if chosen == "csv":
        _write_csv_folder(tables, path)
    else:
        _write_workbook(tables, path)
    return path


@contextlib.contextmanager
def writing(path: Path) -> Iterator[None]:
    """For commands: an operating-system error while writing `path` (a parent that is a file, no permission,
    a full disk) becomes a one-line user error. The writers replace a target only by a complete file or
    folder, so nothing is half-written; they raise the OSError itself for callers that handle it."""
    try:
        yield
    except OSError as error:
        where = error.filename or path
        raise UserError(f"{path}: cannot write ({error.strerror or error}: {where})") from None


def sorted_by_key(model: type[Record], frame: pd.DataFrame) -> pd.DataFrame:
    """Rows in key order (stable, so records with equal keys keep their order)."""
    if frame.empty:
        return frame.reset_index(drop=True)
    return frame.sort_values(list(model.key), kind="mergesort", na_position="last").reset_index(drop=True)


def _format_for(path: Path, format: str | None) -> str:
    if format is None:
        return "xlsx" if path.suffix.lower() == ".xlsx" else "csv"
    if format not in FORMATS:
        raise UserError(f"unknown export format {format!r}; use one of {', '.join(FORMATS)}")
    if format == "xlsx" and path.suffix.lower() != ".xlsx":
        raise UserError(f"{path}: an XLSX export needs a file name ending in .xlsx")
    if format == "csv" and path.suffix.lower() == ".xlsx":
        raise UserError(f"{path}: a CSV export is a folder; choose a folder name, or format xlsx")
    return format


def format_float(value: float) -> str:
    """Shortest positional text that reads back to the same double: 12.0, 0.00001, 0.30000000000000004."""
    return np.format_float_positional(value, unique=True, trim="0")


def _column_text(column: Column, series: pd.Series) -> list[str]:
    if column.kind == "date":
        text = np.datetime_as_string(series.to_numpy(dtype="datetime64[ns]").astype("datetime64[D]"), unit="D")
        return ["" if v == "NaT" else v for v in text.tolist()]
    if column.kind == "bool":
        return ["" if v is pd.NA else ("true" if v else "false") for v in series.astype(object)]
    if column.kind == "int":
        return ["" if v is pd.NA else str(int(v)) for v in series.astype(object)]
    if column.kind == "float":
        return ["" if v != v else format_float(v) for v in series.to_numpy(dtype=float).tolist()]
    return ["" if v is None else str(v) for v in series.tolist()]


def _write_csv(model: type[Record], frame: pd.DataFrame, target: Path) -> None:
    cols = columns(model)
    # Missing-data codes and partial dates are written in the field's own cell (blinareg.records.missing).
    texts = [written_cells(model, frame, c.name, _column_text(c, frame[c.name])) for c in cols]
    with open(target, "w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow([c.name for c in cols])
        writer.writerows(zip(*texts))


def _write_csv_folder(tables: dict[str, pd.DataFrame], path: Path) -> None:
    expected = {f"{name}.csv" for name in RECORD_TYPES}
    if path.exists():
        if not path.is_dir():
            raise UserError(f"{path} exists and is not a folder; a CSV export is a folder of <record_type>.csv files")
        others = sorted(p.name for p in path.iterdir() if p.name not in expected)
        if others:
            raise UserError(
                f"{path} holds files that are not part of a registry export ({', '.join(others[:5])}); "
                f"export to a new or empty folder"
            )
    temp = Path(tempfile.mkdtemp(dir=path.parent, prefix=f".{path.name}.tmp-"))
    try:
        for record_type, frame in tables.items():
            _write_csv(RECORD_TYPES[record_type], frame, temp / f"{record_type}.csv")
        move_into_place(temp, path)
    except BaseException:
        shutil.rmtree(temp, ignore_errors=True)
        raise


def _number_cell(sheet, text: str) -> WriteOnlyCell:
    """A numeric cell holding `text` verbatim (openpyxl itself writes floats with only 16 digits)."""
    cell = WriteOnlyCell(sheet, value=text)
    cell.data_type = "n"
    return cell


def _text_cell(sheet, text: str) -> WriteOnlyCell:
    """A string cell, even when the text starts with '=' (openpyxl would write a formula)."""
    cell = WriteOnlyCell(sheet, value=text)
    cell.data_type = "s"
    return cell


def _column_cells(column: Column, frame: pd.DataFrame, sheet) -> list:
    series = frame[column.name]
    if column.kind == "date":
        return series.to_numpy(dtype="datetime64[ns]").astype("datetime64[D]").astype(object).tolist()
    if column.kind == "bool":
        return [None if v is pd.NA else bool(v) for v in series.astype(object)]
    if column.kind == "int":
        return [None if v is pd.NA else int(v) for v in series.astype(object)]
    if column.kind == "float":
        return [None if v != v else _number_cell(sheet, format_float(v)) for v in series.to_numpy(dtype=float).tolist()]
    return [
        None if value is None else _text_cell(sheet, value) if value.startswith("=") else value
        for value in map(_optional_str, series.tolist())
    ]


def _optional_str(value: object) -> str | None:
    return None if value is None else str(value)


def _check_workbook_text(tables: dict[str, pd.DataFrame]) -> None:
    """Excel refuses control characters; say where one is before anything is written."""
    for record_type, frame in tables.items():
        for column in columns(RECORD_TYPES[record_type]):
            if column.kind != "text":
                continue
            for row, value in enumerate(frame[column.name].tolist(), start=2):
                if value is not None and ILLEGAL_CHARACTERS_RE.search(str(value)):
                    raise UserError(
                        f"cannot write {record_type} row {row} column {column.name!r} to XLSX: the "
                        f"text {value!r} holds a control character Excel does not allow"
                    )


def _write_workbook(tables: dict[str, pd.DataFrame], path: Path) -> None:
    if path.exists() and not path.is_file():
        raise UserError(f"{path} exists and is not a file")
    for record_type, frame in tables.items():
        if len(frame) > MAX_DATA_ROWS:
            raise UserError(
                f"{record_type} has {len(frame):,} records, more than an XLSX sheet holds "
                f"({MAX_DATA_ROWS:,}); export as CSV"
            )
    _check_workbook_text(tables)
    workbook = Workbook(write_only=True)
    readme = workbook.create_sheet(README_SHEET)
    for line in _readme_lines(tables):
        readme.append(line)
    bold = Font(bold=True)
    for record_type, frame in tables.items():
        model = RECORD_TYPES[record_type]
        sheet = workbook.create_sheet(record_type)
        sheet.freeze_panes = "A2"
        header = []
        for column in columns(model):
            cell = WriteOnlyCell(sheet, value=column.name)
            cell.font = bold
            header.append(cell)
        sheet.append(header)
        cells = [written_cells(model, frame, c.name, _column_cells(c, frame, sheet)) for c in columns(model)]
        for row in zip(*cells):
            sheet.append(row)
    replace_file_atomically(lambda temp: save_deterministic(workbook, temp), path)


def _readme_lines(tables: dict[str, pd.DataFrame]) -> list[list]:
    lines: list[list] = [
        ["blinareg registry export"],
        [
            "One sheet per record type; row 1 holds the column names. Dates are date cells, booleans TRUE/FALSE, "
            "a blank cell is a missing value. Columns are described in docs/data-dictionary.md."
        ],
        ["This README sheet is ignored on import."],
        [],
        ["sheet", "records", "key", "title"],
    ]
    for model in RECORD_MODELS:
        lines.append([model.record_type, len(tables[model.record_type]), ", ".join(model.key), model.title])
    return lines
