"""The clinical rules applied column-wise to whole record frames (pandas/NumPy), for validation and derive.

Each rule has one implementation: either the scalar function of `blinareg.rules` calls the column-wise
one here (`rules.arrays`: MRD status, the dose-day rule, the weight/BSA doses, written once for numbers and arrays),
or the column-wise one calls the scalar function once per distinct input (adverse-event grades,
BFM strategic group, IntReALL risk, calendar months). Not imported by `blinareg.rules` itself, so the
scalar calculators load without pandas.
"""

from blinareg.rules.frames.dosing import (
    DEVIATION_TEXT,
    CycleDoseComparison,
    classify_dose_days,
    completed_years,
    cycle_body_measurements,
    cycle_dose_comparison,
    label_cycle_numbers,
)
from blinareg.rules.frames.grading import computed_adverse_event_grades
from blinareg.rules.frames.mrd import mrd_status_codes, mrd_status_columns
from blinareg.rules.frames.relapse import classify_relapses, marrow_blasts_used, site_detail

__all__ = [
    "DEVIATION_TEXT", "CycleDoseComparison", "classify_dose_days", "completed_years", "cycle_body_measurements",
    "cycle_dose_comparison", "label_cycle_numbers", "computed_adverse_event_grades", "mrd_status_codes",
    "mrd_status_columns", "classify_relapses", "marrow_blasts_used", "site_detail",
]
