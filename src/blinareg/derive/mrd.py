"""MRD measurements: status of each one (column-wise `rules.mrd_status`) and per-patient summaries.

Methods are never merged (clinical-rules.md §4): summaries are per method group, flow cytometry
("flow") and PCR ("pcr" = RT-qPCR of a fusion transcript or Ig/TCR qPCR); NGS and IHC keep their own
groups in the `mrd` frame.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from blinareg.rules import RuleSet
from blinareg.rules.frames.mrd import mrd_status_columns

__all__ = ["METHOD_GROUP", "mrd_frame", "public_mrd"]

METHOD_GROUP = {"flow": "flow", "rt_qpcr_fusion": "pcr", "ig_tcr_qpcr": "pcr", "ngs": "ngs", "ihc": "ihc"}
_METHOD_ORDER = {"flow": 0, "ig_tcr_qpcr": 1, "rt_qpcr_fusion": 2, "ngs": 3, "ihc": 4}
_SAMPLE_ORDER = {"BM": 0, "PB": 1}


def mrd_frame(measurements: pd.DataFrame, first_blinatumomab: pd.Series, rules: RuleSet) -> pd.DataFrame:
    """One row per MRD measurement, sorted by patient and date.

    Columns: patient_id, assessment_date, days_from_first_blinatumomab (float, NaN without
    blinatumomab), method, method_group, sample, target, detected, fraction (0 when not detected),
    positive_not_quantifiable (bool), sensitivity, status (positive / negative / not_evaluable),
    complete_mrd_response (bool).
    """
    m = measurements
    detected = m["detected"].astype("boolean").fillna(True).to_numpy(dtype=bool)
    value, status, complete = mrd_status_columns(
        m["fraction"].to_numpy(dtype=float), detected, m["sensitivity"].to_numpy(dtype=float), rules
    )
    first = m["patient_id"].map(first_blinatumomab)
    out = pd.DataFrame(
        {
            "patient_id": m["patient_id"].to_numpy(),
            "assessment_date": m["assessment_date"].to_numpy(),
            "days_from_first_blinatumomab": ((m["assessment_date"] - first).dt.days).astype(float).to_numpy(),
            "method": m["method"].to_numpy(),
            "method_group": m["method"].map(METHOD_GROUP).to_numpy(),
            "sample": m["sample"].to_numpy(),
            "target": m["target"].to_numpy(),
            "detected": detected,
            "fraction": value,
            # Detected below the quantification limit (missing-data code of the fraction).
            "positive_not_quantifiable": (m["fraction_missing"] == "positive_not_quantifiable").to_numpy(dtype=bool)
            if "fraction_missing" in m.columns
            else np.zeros(len(m), dtype=bool),
            "sensitivity": m["sensitivity"].to_numpy(dtype=float),
            "status": status,
            "complete_mrd_response": complete,
        }
    )
    out["_sample_order"] = out["sample"].map(_SAMPLE_ORDER).fillna(9)
    out["_method_order"] = out["method"].map(_METHOD_ORDER).fillna(9)
    out = out.sort_values(["patient_id", "assessment_date", "_sample_order", "_method_order"], kind="stable")
    return out.reset_index(drop=True)


def public_mrd(frame: pd.DataFrame) -> pd.DataFrame:
    return frame.drop(columns=["_sample_order", "_method_order"])
