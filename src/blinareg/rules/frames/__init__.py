"""The clinical rules applied column-wise to whole record frames (pandas/NumPy), for validation and derive.

Each rule has one implementation: either the scalar function of `blinareg.rules` calls the column-wise
one here (`rules.arrays`: MRD status, the dose-day rule, the weight/BSA doses, written once for numbers and arrays),
or the column-wise one calls the scalar function once per distinct input (adverse-event grades,
BFM strategic group, IntReALL risk, calendar months). Not imported by `blinareg.rules` itself, so the
scalar calculators load without pandas.
"""

from __future__ import annotations

import importlib
from typing import Any

# name -> submodule. Loaded on first use, so that a scalar rule calling one column-wise function
# (`mrd_status` -> `mrd.mrd_status_codes`, NumPy only) does not import pandas with the others.
_SUBMODULE = {
    "DEVIATION_TEXT": "dosing",
    "CycleDoseComparison": "dosing",
    "classify_dose_days": "dosing",
    "completed_years": "dosing",
    "cycle_body_measurements": "dosing",
    "cycle_dose_comparison": "dosing",
    "label_cycle_numbers": "dosing",
    "computed_adverse_event_grades": "grading",
    "mrd_status_codes": "mrd",
    "mrd_status_columns": "mrd",
    "classify_relapses": "relapse",
    "marrow_blasts_used": "relapse",
    "site_detail": "relapse",
}


def __getattr__(name: str) -> Any:
    submodule = _SUBMODULE.get(name)
    if submodule is None:
        raise AttributeError(f"module 'blinareg.rules.frames' has no attribute {name!r}")
    return getattr(importlib.import_module(f"blinareg.rules.frames.{submodule}"), name)


__all__ = [
    "DEVIATION_TEXT",
    "CycleDoseComparison",
    "classify_dose_days",
    "completed_years",
    "cycle_body_measurements",
    "cycle_dose_comparison",
    "label_cycle_numbers",
    "computed_adverse_event_grades",
    "mrd_status_codes",
    "mrd_status_columns",
    "classify_relapses",
    "marrow_blasts_used",
    "site_detail",
]
