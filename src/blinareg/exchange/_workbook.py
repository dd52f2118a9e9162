"""XLSX plumbing shared by the registry export and the templates: byte-identical workbooks.

openpyxl stamps the save time into `docProps/core.xml` and every zip entry, so two saves of the same
data differ. `save_deterministic` saves, then rewrites the package with fixed document properties and
fixed zip entry times, in openpyxl's entry order.
"""

from __future__ import annotations

import datetime as dt
import os
import tempfile
import zipfile
from pathlib import Path

from openpyxl import Workbook
from openpyxl.packaging.core import DocumentProperties
from openpyxl.xml.functions import tostring

FIXED_TIME = dt.datetime(2000, 1, 1)
_ZIP_TIME = (2000, 1, 1, 0, 0, 0)
_CORE = "docProps/core.xml"

# Sheets blinareg writes besides the record sheets; the reader skips them.
README_SHEET = "README"
LISTS_SHEET = "_lists"
AUXILIARY_SHEETS = (README_SHEET, LISTS_SHEET)

MAX_DATA_ROWS = 1_048_576 - 1  # an Excel sheet has 1,048,576 rows, one of them the header


def _core_properties() -> bytes:
    properties = DocumentProperties(creator="blinareg", created=FIXED_TIME, modified=FIXED_TIME)
    return tostring(properties.to_tree())


def save_deterministic(workbook: Workbook, target: Path) -> None:
    """Save `workbook` to `target` (a new file) with fixed timestamps everywhere."""
    workbook.properties.creator = "blinareg"
    workbook.properties.created = FIXED_TIME
    handle, raw_name = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.raw-", suffix=".xlsx")
    os.close(handle)
    raw = Path(raw_name)
    try:
        workbook.save(raw)
        with zipfile.ZipFile(raw) as source, zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as package:
            for entry in source.infolist():
                data = _core_properties() if entry.filename == _CORE else source.read(entry)
                info = zipfile.ZipInfo(entry.filename, date_time=_ZIP_TIME)
                info.compress_type = zipfile.ZIP_DEFLATED
                info.external_attr = 0o644 << 16
                package.writestr(info, data)
    finally:
        raw.unlink(missing_ok=True)


def replace_file_atomically(write, path: Path) -> None:
    """Call `write(temporary_path)` and move the result onto `path` only when it succeeded."""
    handle, temp_name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.tmp-", suffix=path.suffix)
    os.close(handle)
    temp = Path(temp_name)
    try:
        temp.unlink()
        write(temp)
        os.replace(temp, path)
    except BaseException:
        temp.unlink(missing_ok=True)
        raise


def formulas_without_value(path: Path, sheet_names: list[str]) -> dict[str, list[tuple[str, str]]]:
    """Formula cells with no saved result, per sheet: (cell, formula).

    openpyxl reads a formula cell as the value Excel last computed and saved. A workbook written by a
    program that does not compute formulas has none, and the cell would read as blank: a value lost
    without a word. Fast path: no worksheet XML holds a formula element.
    """
    import re

    from openpyxl import load_workbook

    formula_tag = re.compile(rb"<(?:\w+:)?f[ >/]")
    try:
        with zipfile.ZipFile(path) as package:
            has_formulas = any(
                formula_tag.search(package.read(name))
                for name in package.namelist()
                if name.startswith("xl/worksheets/") and name.endswith(".xml")
            )
    except (OSError, zipfile.BadZipFile):
        return {}
    if not has_formulas:
        return {}
    formulas = load_workbook(path, read_only=True, data_only=False)
    values = load_workbook(path, read_only=True, data_only=True)
    found: dict[str, list[tuple[str, str]]] = {}
    try:
        for name in sheet_names:
            if name not in formulas.sheetnames:
                continue
            for formula_row, value_row in zip(formulas[name].iter_rows(), values[name].iter_rows(values_only=True)):
                for cell, value in zip(formula_row, value_row):
                    if getattr(cell, "data_type", None) == "f" and value is None:
                        found.setdefault(name, []).append((cell.coordinate, str(cell.value)))
    finally:
        formulas.close()
        values.close()
    return found
