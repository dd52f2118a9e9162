"""Building Problems from frames, shared by the cross-record and the clinical-rule checks."""

from __future__ import annotations

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike

from blinareg.records.missing import date_text
from blinareg.records.models import RECORD_TYPES
from blinareg.records.problems import Problem, Severity

__all__ = ["problems_where", "warning_per_row"]


def _key_text(record_type: str, frame: pd.DataFrame) -> pd.Series:
    names = [k for k in RECORD_TYPES[record_type].key if k != "patient_id"]
    if not names:
        return pd.Series([None] * len(frame), index=frame.index, dtype=object)
    parts = []
    for name in names:
        values = frame[name]
        if pd.api.types.is_datetime64_any_dtype(values):
            values = values.dt.strftime("%Y-%m-%d")
        parts.append(name + "=" + values.astype(str))
    text = parts[0]
    for part in parts[1:]:
        text = text + ", " + part
    return text


def day_text(series: pd.Series) -> pd.Series:
    """Dates as `YYYY-MM-DD` for a problem's reason; `?` where missing."""
    text: pd.Series = series.dt.strftime("%Y-%m-%d").fillna("?")
    return text


def problems_where(
    record_type: str,
    frame: pd.DataFrame,
    mask: ArrayLike,
    field: str,
    reason: str | pd.Series,
    *,
    severity: Severity = Severity.ERROR,
    check_name: str | None = None,
) -> list[Problem]:
    """One Problem per row of `frame` where `mask` holds; `reason` is a string or a Series of strings."""
    mask = np.asarray(mask, dtype=bool)
    if not mask.any():
        return []
    rows = frame[mask]
    keys = _key_text(record_type, rows)
    reasons = reason[mask] if isinstance(reason, pd.Series) else pd.Series([reason] * len(rows), index=rows.index)
    values = rows[field]
    if pd.api.types.is_datetime64_any_dtype(values):
        values = date_text(rows, field)  # `2017-07` for a partial date, never a Timestamp repr
    patient = rows["patient_id"] if "patient_id" in rows.columns else pd.Series([None] * len(rows), index=rows.index)
    return [
        Problem(
            record_type=record_type,
            field=field,
            value=v,
            reason=r,
            patient_id=p,
            key=k,
            severity=severity,
            check=check_name,
        )
        for p, k, v, r in zip(patient, keys, values, reasons)
    ]


def warning_per_row(
    record_type: str, frame: pd.DataFrame, field: str, reason: pd.Series, check_name: str | None = None
) -> list[Problem]:
    """A warning about `field` for every row of `frame` (already cut to the rows in question)."""
    every_row = np.ones(len(frame), dtype=bool)
    return problems_where(
        record_type, frame, every_row, field, reason, severity=Severity.WARNING, check_name=check_name
    )
