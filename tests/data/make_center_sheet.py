"""Writes tests/data/center_sheet.xlsx: a synthetic center's own wide sheet (one row per patient).

Synthetic: no real patient. It has the usual mess of a center's sheet: dates as text in two formats
(DOB `31.08.2011`, the others `31/08/2019`), real date cells for the cycles, year-only diagnosis dates,
`neg` / `<0.01%` / `pos` / `0.5%` MRD, percent blasts as text and as numbers, `haplo`, `CR3`, `5->15`
step-up doses, `n/k` for an unknown conditioning, CRS grade 0 for "no CRS", relapse columns repeated per
relapse. The rows are written out below so that tests can work out their numbers by hand from them.

Run `python tests/data/make_center_sheet.py` to rewrite the file (byte-identical each time).
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from openpyxl import Workbook

from blinareg.exchange._workbook import save_deterministic

HERE = Path(__file__).parent
SHEET = HERE / "center_sheet.xlsx"

HEADER = [
    "Study ID",
    "Sex",
    "DOB",
    "Diagnosis date",
    "Immunophenotype",
    "Cytogenetics",
    "WBC at dx (/µl)",
    "Indication",
    "cycle1_start",
    "cycle1_end",
    "cycle1_dose",
    "cycle2_start",
    "cycle2_end",
    "cycle2_type",
    "cycle2_dose",
    "Response C1",
    "Response date",
    "BM blasts C1",
    "MRD C1",
    "CRS grade",
    "CRS onset",
    "relapse1_date",
    "relapse1_site",
    "relapse2_date",
    "relapse2_site",
    "HSCT date",
    "Donor",
    "Conditioning",
    "Status at HSCT",
    "Status",
    "Last contact",
    "Date of death",
    "Cause of death",
    "Comment",
]

# Per patient (number 1-30): response after cycle 1, blasts, MRD after cycle 1, CRS grade, death day or
# None, last contact day (days after the first blinatumomab day), cause of death, HSCT (day, donor,
# conditioning, status), relapse after blinatumomab (day, site).
# Patients 1-18: relapsed/refractory (relapse 1 was 30 days before blinatumomab; patient 3 relapsed twice,
# 400 and 30 days before); 19-30: MRD-positive in CR1.
PATIENTS = {
    1: ("CR", "2%", "neg", 1, None, 420, None, (80, "haplo", "TBI", "CR2"), None),
    2: ("CR", 1.5, "neg", 2, None, 440, None, (85, "MSD", "chemo", "CR2"), None),
    3: ("CR", "3%", "neg", 0, None, 460, None, (95, "MUD", "n/k", "CR3"), None),
    4: ("CR", "1%", "neg", 0, None, 480, None, None, None),
    5: ("CR", "2%", "<0.01%", 1, None, 500, None, None, None),
    6: ("CR", 4, "<0.01%", 0, None, 520, None, None, None),
    7: ("CR", "2%", "pos", 0, 500, 500, "relapse", None, (300, "BM")),
    8: ("CR", "3%", "0.5%", 0, None, 560, None, None, None),
    9: ("CR", "1%", "1.2%", 1, 300, 300, "infection", (90, "MUD", "TBI", "CR2"), None),
    10: ("CR", "2%", 0.3, 0, None, 600, None, None, None),
    11: ("CRi", "4%", "0.05%", 0, None, 620, None, None, None),
    12: ("CRi", "3%", "2%", 0, None, 640, None, None, None),
    13: ("PR", "15%", None, 0, 250, 250, "relapse", None, None),
    14: ("PR", 12, None, 0, None, 100, None, None, None),
    15: ("NR", "40%", None, 2, 60, 60, "relapse", None, None),
    16: ("NR", "55%", None, 0, 150, 150, "relapse", None, None),
    17: ("PD", "80%", None, 3, 90, 90, "relapse", None, None),
    18: ("PD", 85, None, 0, 200, 200, "relapse", None, None),
    19: ("CR", "0%", "neg", 1, None, 420, None, (100, "haplo", "n/k", "CR1"), None),
    20: ("CR", "1%", "neg", 0, None, 440, None, (110, "MSD", "TBI", "CR1"), None),
    21: ("CR", "1%", "neg", 0, None, 460, None, None, None),
    22: ("CR", "0%", "neg", 0, None, 480, None, None, None),
    23: ("CR", "1%", "<0.01%", 1, None, 500, None, None, None),
    24: ("CR", "2%", "<0.01%", 0, None, 520, None, None, None),
    25: ("CR", "1%", "<0.01%", 0, None, 540, None, None, None),
    26: ("CR", "2%", "pos", 0, None, 600, None, None, (200, "BM+CNS")),
    27: ("CR", "1%", "0.02%", 0, None, 580, None, None, None),
    28: ("CR", "0%", "neg", 0, None, 600, None, None, None),
    29: ("CR", "1%", "<0.01%", 0, None, 620, None, None, None),
    30: ("CR", "2%", "0.1%", 0, None, 640, None, None, None),
}
IMMUNO = ["common", "pre-B", "common", "pro-B", "", "common"]
CYTO = ["normal", "BCR-ABL1", "KMT2A", "ETV6-RUNX1", "normal", ""]
CAUSES = {"relapse": "relapse", "infection": "infection"}


def dmy(day: dt.date, separator: str) -> str:
    return f"{day.day:02d}{separator}{day.month:02d}{separator}{day.year}"


def rows() -> list[list]:
    out = []
    for number, (response, blasts, mrd, crs, death, last, cause, hsct, relapse) in PATIENTS.items():
        rr = number <= 18
        start = dt.date(2019, 1, 7) + dt.timedelta(days=17 * number)
        end = start + dt.timedelta(days=27)
        day = lambda d: start + dt.timedelta(days=d)  # noqa: E731
        two_cycles = response in ("CR", "CRi")
        birth = dt.date(2006 + number % 9, 1 + number % 12, 1 + (number * 7) % 28)
        diagnosis = dmy(start - dt.timedelta(days=730 if rr else 120), "/")
        if number in (5, 6):
            diagnosis = str(start.year - 5)  # the chart only says the year
        relapse1 = (dmy(day(-30), "/"), "BM" if number % 4 else "BM+CNS") if rr else (None, None)
        relapse_after = (dmy(day(relapse[0]), "/"), relapse[1]) if relapse else (None, None)
        relapse_columns = [*relapse1, *relapse_after] if rr else [*relapse_after, None, None]
        if number == 3:  # a second relapse before blinatumomab: in CR3 at the transplant
            relapse_columns = [dmy(day(-400), "/"), "BM", dmy(day(-30), "/"), "BM"]
        out.append(
            [
                f"HD-{number:02d}",
                "M" if number % 2 else "F",
                dmy(birth, "."),
                diagnosis,
                IMMUNO[number % 6] or None,
                CYTO[number % 6] or None,
                1000 * (2 + number % 7) + 500,
                "R/R" if rr else "MRD+",
                start,
                end,
                "5->15" if rr else "15",
                start + dt.timedelta(days=42) if two_cycles else None,
                start + dt.timedelta(days=69) if two_cycles else None,
                ("ind" if rr else "cons") if two_cycles else None,
                "15" if two_cycles else None,
                response,
                dmy(day(29), "/"),
                blasts,
                mrd,
                crs,
                dmy(day(2), "/") if crs else None,
                *relapse_columns,
                dmy(day(hsct[0]), "/") if hsct else None,
                *(hsct[1:] if hsct else (None, None, None)),
                "dead" if death else "alive",
                dmy(day(last), "/"),
                dmy(day(death), "/") if death else None,
                CAUSES.get(cause) if cause else None,
                "lost to follow-up" if number == 14 else None,
            ]
        )
    return out


def write(path: Path = SHEET) -> Path:
    workbook = Workbook()
    sheet = workbook.active
    sheet.title = "Patients"
    sheet.append(HEADER)
    for row in rows():
        sheet.append(row)
    for cell in sheet["I"][1:] + sheet["J"][1:] + sheet["L"][1:] + sheet["M"][1:]:
        cell.number_format = "dd.mm.yyyy"
    notes = workbook.create_sheet("Notes")
    notes.append(["Blinatumomab cohort, pediatric unit (synthetic example; not real patients)"])
    notes.append(["MRD: flow cytometry on bone marrow, laboratory sensitivity 10^-4 (0.01%)."])
    notes.append(["Doses in mcg/m2/day; R/R first cycles step up on day 8 (5->15)."])
    notes.append(["CRS graded by ASTCT consensus; 0 = no CRS."])
    save_deterministic(workbook, path)
    return path


if __name__ == "__main__":
    print(write())
