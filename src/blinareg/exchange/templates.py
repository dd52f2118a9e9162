"""Empty import templates for a data manager: header-only CSVs, or a workbook with pick lists.

The workbook has one sheet per record type (bold, frozen header; date columns formatted YYYY-MM-DD)
with drop-down lists on code and boolean columns, fed from a hidden `_lists` sheet. Read back with
`read_registry`, an untouched template is an empty registry without problems.
"""

from __future__ import annotations

import os
from pathlib import Path

from openpyxl import Workbook
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter, quote_sheetname
from openpyxl.worksheet.datavalidation import DataValidation

from blinareg.errors import UserError
from blinareg.exchange._workbook import LISTS_SHEET, README_SHEET, replace_file_atomically, save_deterministic
from blinareg.exchange.tabular import FORMATS, write_registry
from blinareg.records.models import RECORD_MODELS
from blinareg.records.registry import Registry, columns

_LAST_ROW = 1_048_576


def write_templates(path: str | os.PathLike, format: str = "csv") -> Path:
    """Write empty templates: a folder of header-only CSVs (csv) or one workbook (xlsx); returns the path."""
    path = Path(path)
    if format not in FORMATS:
        raise UserError(f"unknown template format {format!r}; use one of {', '.join(FORMATS)}")
    if format == "csv":
        return write_registry(Registry(), path, format="csv")
    if path.suffix.lower() != ".xlsx":
        raise UserError(f"{path}: an XLSX template needs a file name ending in .xlsx")
    if path.exists() and not path.is_file():
        raise UserError(f"{path} exists and is not a file")
    path.parent.mkdir(parents=True, exist_ok=True)
    workbook = _template_workbook()
    replace_file_atomically(lambda temp: save_deterministic(workbook, temp), path)
    return path


def _template_workbook() -> Workbook:
    workbook = Workbook()
    readme = workbook.active
    readme.title = README_SHEET
    for line in (["blinareg import template"],
                 ["Fill in one sheet per record type, one record per row; keep the column names in row 1."],
                 ["Dates as date cells or YYYY-MM-DD, booleans TRUE/FALSE, blank = missing; code columns have "
                  "drop-down lists. Columns are described in docs/data-dictionary.md."],
                 ["This README sheet and the hidden _lists sheet are ignored on import."]):
        readme.append(line)
    lists = workbook.create_sheet(LISTS_SHEET)
    lists.sheet_state = "hidden"
    bold = Font(bold=True)
    list_column = 0
    ranges: dict[str, str] = {}
    for model in RECORD_MODELS:
        sheet = workbook.create_sheet(model.record_type)
        sheet.freeze_panes = "A2"
        for index, column in enumerate(columns(model), start=1):
            cell = sheet.cell(row=1, column=index, value=column.name)
            cell.font = bold
            letter = get_column_letter(index)
            sheet.column_dimensions[letter].width = max(12, len(column.name) + 2)
            if column.kind == "date":
                sheet.column_dimensions[letter].number_format = "yyyy-mm-dd"
            choices = ([m.value for m in column.enum] if column.enum is not None
                       else ["TRUE", "FALSE"] if column.kind == "bool" else None)
            if choices is None:
                continue
            name = column.enum.__name__ if column.enum is not None else "boolean"
            if name not in ranges:
                list_column += 1
                list_letter = get_column_letter(list_column)
                lists.cell(row=1, column=list_column, value=name)
                for row, choice in enumerate(choices, start=2):
                    lists.cell(row=row, column=list_column, value=choice)
                ranges[name] = (f"{quote_sheetname(LISTS_SHEET)}!${list_letter}$2:"
                                f"${list_letter}${len(choices) + 1}")
            message = f"Choose one of: {', '.join(choices)}"
            validation = DataValidation(type="list", formula1=ranges[name], allow_blank=True, showErrorMessage=True,
                                        errorTitle=column.name[:32],
                                        error=message if len(message) <= 255 else "Choose a value from the list")
            validation.add(f"{letter}2:{letter}{_LAST_ROW}")
            sheet.add_data_validation(validation)
    return workbook
