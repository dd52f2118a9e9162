"""Import templates for a data manager: CSVs, or a workbook with pick lists and a README sheet.

The workbook has one sheet per record type (bold, frozen header; date columns formatted YYYY-MM-DD)
with drop-down lists on code and boolean columns, fed from a hidden `_lists` sheet. Read back with
`read_registry`, an untouched empty template is an empty registry without problems; with
`example=True` every sheet holds the rows of one filled, synthetic example patient (EXAMPLE-001 of the
synthetic center EXAMPLE), which validates without problems and is to be deleted before real data go in.
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
import datetime as dt

from blinareg.records.models import (
    RECORD_MODELS,
    AdverseEvent,
    BlinatumomabCycle,
    BodyMeasurement,
    Center,
    Diagnosis,
    DoseSegment,
    FollowUp,
    GeneticFinding,
    Hsct,
    MrdAssessment,
    Patient,
    Record,
    Relapse,
    ResponseAssessment,
    TreatmentLine,
)
from blinareg.records.registry import Registry, columns, frame_to_dicts

_LAST_ROW = 1_048_576


EXAMPLE_PATIENT = "EXAMPLE-001"


def example_records() -> list[Record]:
    """One synthetic patient filled in on every common sheet: relapsed, one blinatumomab cycle, HSCT."""
    d = dt.date
    p = EXAMPLE_PATIENT
    return [
        Center(center_id="EXAMPLE", name="Example center (synthetic; delete before use)", country="DE", synthetic=True),
        Patient(patient_id=p, center_id="EXAMPLE", sex="female", birth_date=d(2012, 4, 1)),
        Diagnosis(
            patient_id=p,
            diagnosis_date=d(2018, 3, 5),
            immunophenotype="B-II",
            cns_status="CNS1",
            wbc_per_nl=12.5,
            frontline_protocol="AIEOP-BFM ALL 2017",
            frontline_start_date=d(2018, 3, 7),
            frontline_end_date=d(2020, 3, 5),
        ),
        GeneticFinding(patient_id=p, lesion="ETV6::RUNX1"),
        Relapse(
            patient_id=p, relapse_number=1, relapse_date=d(2021, 6, 1), site_bone_marrow=True, marrow_blasts_pct=45
        ),
        BodyMeasurement(patient_id=p, measurement_date=d(2021, 6, 28), weight_kg=32, height_cm=138),
        TreatmentLine(
            patient_id=p,
            line_number=1,
            treatment_type="blinatumomab",
            intent="relapsed_refractory",
            start_date=d(2021, 7, 1),
            end_date=d(2021, 7, 28),
            regimen="blinatumomab",
        ),
        BlinatumomabCycle(
            patient_id=p,
            cycle_number=1,
            line_number=1,
            phase="induction",
            indication="relapsed_refractory",
            start_date=d(2021, 7, 1),
            end_date=d(2021, 7, 28),
        ),
        # Delivered: the step dose for the first week, then the full dose.
        *(
            DoseSegment(
                patient_id=p,
                cycle_number=1,
                kind="delivered",
                start_date=start,
                end_date=end,
                dose=dose,
                unit="mcg/m2/day",
            )
            for start, end, dose in ((d(2021, 7, 1), d(2021, 7, 7), 5), (d(2021, 7, 8), d(2021, 7, 28), 15))
        ),
        MrdAssessment(
            patient_id=p, assessment_date=d(2021, 7, 29), sample="BM", method="flow", detected=False, sensitivity=0.0001
        ),
        ResponseAssessment(
            patient_id=p, assessment_date=d(2021, 7, 29), category="cr", cycle_number=1, marrow_blasts_pct=1
        ),
        AdverseEvent(
            patient_id=p,
            event_number=1,
            term="crs",
            grading_system="astct",
            grade=1,
            onset_date=d(2021, 7, 2),
            resolution_date=d(2021, 7, 3),
            cycle_number=1,
            temperature_c=38.6,
            vasopressors=0,
            oxygen="none",
        ),
        Hsct(
            patient_id=p,
            hsct_number=1,
            hsct_date=d(2021, 9, 15),
            donor_type="mud",
            conditioning="tbi_based",
            remission_status="CR2",
            acute_gvhd_max_grade=1,
            chronic_gvhd="none",
        ),
        FollowUp(patient_id=p, last_contact_date=d(2023, 1, 10), vital_status="alive"),
    ]


def write_templates(path: str | os.PathLike, format: str = "csv", *, example: bool = False) -> Path:
    """Write templates: a folder of CSVs (csv) or one workbook (xlsx); returns the path.

    Header only, or with `example` the rows of one synthetic example patient.
    """
    path = Path(path)
    if format not in FORMATS:
        raise UserError(f"unknown template format {format!r}; use one of {', '.join(FORMATS)}")
    registry = Registry.from_records(example_records()) if example else Registry()
    if format == "csv":
        return write_registry(registry, path, format="csv")
    if path.suffix.lower() != ".xlsx":
        raise UserError(f"{path}: an XLSX template needs a file name ending in .xlsx")
    if path.exists() and not path.is_file():
        raise UserError(f"{path} exists and is not a file")
    workbook = _template_workbook(registry if example else None)
    path.parent.mkdir(parents=True, exist_ok=True)
    replace_file_atomically(lambda temp: save_deterministic(workbook, temp), path)
    return path


def _template_workbook(example: Registry | None = None) -> Workbook:
    workbook = Workbook()
    readme = workbook.active
    readme.title = README_SHEET
    for line in (
        ["blinareg import template"],
        ["Fill in one sheet per record type, one record per row; keep the column names in row 1."],
        [
            "Dates as date cells or YYYY-MM-DD, booleans TRUE/FALSE, blank = missing; code columns have "
            "drop-down lists. Columns are described in docs/data-dictionary.md."
        ],
        ["This README sheet and the hidden _lists sheet are ignored on import."],
        *(
            [
                [
                    "Row 2 of each sheet is a filled EXAMPLE patient (synthetic center EXAMPLE): delete those rows "
                    "before entering real data."
                ]
            ]
            if example is not None
            else []
        ),
        [
            "A center's own sheet (one row per patient) is imported with a mapping instead: "
            "blinareg map suggest SHEET.xlsx > mapping.toml (docs/importing-your-data.md)."
        ],
    ):
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
            if example is not None:
                for row, record in enumerate(frame_to_dicts(model, example[model.record_type]), start=2):
                    value = record[column.name]
                    target = sheet.cell(row=row, column=index, value=value)
                    if isinstance(value, dt.date):
                        target.number_format = "yyyy-mm-dd"
            letter = get_column_letter(index)
            sheet.column_dimensions[letter].width = max(12, len(column.name) + 2)
            if column.kind == "date":
                sheet.column_dimensions[letter].number_format = "yyyy-mm-dd"
            choices = (
                [m.value for m in column.enum]
                if column.enum is not None
                else ["TRUE", "FALSE"]
                if column.kind == "bool"
                else None
            )
            if choices is None:
                continue
            name = column.enum.__name__ if column.enum is not None else "boolean"
            if name not in ranges:
                list_column += 1
                list_letter = get_column_letter(list_column)
                lists.cell(row=1, column=list_column, value=name)
                for row, choice in enumerate(choices, start=2):
                    lists.cell(row=row, column=list_column, value=choice)
                ranges[name] = f"{quote_sheetname(LISTS_SHEET)}!${list_letter}$2:${list_letter}${len(choices) + 1}"
            message = f"Choose one of: {', '.join(choices)}"
            validation = DataValidation(
                type="list",
                formula1=ranges[name],
                allow_blank=True,
                showErrorMessage=True,
                errorTitle=column.name[:32],
                error=message if len(message) <= 255 else "Choose a value from the list",
            )
            validation.add(f"{letter}2:{letter}{_LAST_ROW}")
            sheet.add_data_validation(validation)
    return workbook
