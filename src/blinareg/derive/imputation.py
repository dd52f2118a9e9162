"""Partial dates -> analysis dates: the stated, configurable imputation rule and its ADaM flags.

A partial date is stored as the first day of its known period with a precision (`year`, `month`;
`blinareg.records.missing`). The analysis needs a day, so derive imputes one:

- year and month known (`2017-07`): day `month_day` (default 15, mid-month);
- only the year known (`2017`): `year_month`/`year_day` (default 1 July, mid-year);
- but never earlier than a known earlier event of the patient that lies inside the same period (a
  relapse charted `2017-07` after a diagnosis on 2017-07-20 is imputed 2017-07-20, not 2017-07-15;
  a death charted `2021` is not imputed before any other dated record), and never past the end of the
  period. A death charted `2021` of a patient whose last contact (= the death date for a dead patient)
  lies in 2021 is analysed at that last contact date.

The defaults are the mid-point convention of the CDISC ADaM examples and of registry analyses (the
EBMT/CIBMTR registries ask for full dates and have no published imputation convention to cite), so
they are stated in metadata["conventions"] and can be changed (`DateImputationRule`). The flag is
ADaM's date imputation flag: "D" the day was imputed, "M" month and day; "Y" is used for a date that
is derived altogether (GVHD onset). A code such as `unknown` for a date is never imputed: it stays
missing.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from blinareg.records.models import RECORD_TYPES
from blinareg.records.missing import PARTIAL_DATE_FIELDS, count_codes, precision_column
from blinareg.rules.frames.tables import Tables

__all__ = [
    "DateImputationRule",
    "DEFAULT_DATE_IMPUTATION",
    "impute_partial_dates",
    "flag_column",
    "imputation_sentence",
    "missing_data_metadata",
]

FLAG_SUFFIX = "_ADTF"


@dataclass(frozen=True)
class DateImputationRule:
    """Which day a partial date is analysed as (see the module docstring)."""

    month_day: int = 15
    year_month: int = 7
    year_day: int = 1

    def __post_init__(self) -> None:
        if not 1 <= self.month_day <= 28:
            raise ValueError(f"month_day={self.month_day!r} must be 1-28 (a day every month has)")
        if not 1 <= self.year_month <= 12:
            raise ValueError(f"year_month={self.year_month!r} must be 1-12")
        if not 1 <= self.year_day <= 28:
            raise ValueError(f"year_day={self.year_day!r} must be 1-28")


DEFAULT_DATE_IMPUTATION = DateImputationRule()

_MONTHS = (
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
)


def imputation_sentence(rule: DateImputationRule) -> str:
    return (
        f"Partial dates: a date known to the month is analysed as day {rule.month_day} of that month, a date "
        f"known to the year as {rule.year_day} {_MONTHS[rule.year_month - 1]}, but never before a known earlier "
        "event of the patient in the same period nor after the period; imputed event and censoring dates are "
        "flagged in ADTF (D day imputed, M month and day imputed, Y the whole date derived) and counted per "
        "endpoint; dates recorded as unknown are not imputed."
    )


def flag_column(field: str) -> str:
    return field + FLAG_SUFFIX


def _earlier_events(tables: dict[str, pd.DataFrame], record_type: str, field: str) -> list[tuple[str, str]]:
    """The known events that come before `record_type.field` for the same patient."""
    if (record_type, field) == ("patient", "birth_date"):
        return []
    if (record_type, field) == ("diagnosis", "diagnosis_date"):
        return [("patient", "birth_date")]
    if record_type == "death":
        # A death comes after every dated record of the patient and after the last contact.
        return [(name, date) for name, model in RECORD_TYPES.items() for date in model.event_dates] + [
            ("follow_up", "last_contact_date")
        ]
    return [("patient", "birth_date"), ("diagnosis", "diagnosis_date")]


def _patient_max(
    tables: dict[str, pd.DataFrame],
    sources: list[tuple[str, str]],
    patient_ids: pd.Series,
    low: pd.Series,
    high: pd.Series,
) -> pd.Series:
    """Per row: the latest source date of the row's patient that falls inside [low, high] (NaT if none)."""
    pieces = []
    for name, date in sources:
        frame = tables.get(name)
        if frame is None or frame.empty or date not in frame.columns:
            continue
        exact = (
            frame[precision_column(date)].isna()
            if precision_column(date) in frame.columns
            else pd.Series(True, index=frame.index)
        )
        pieces.append(frame.loc[exact, ["patient_id", date]].rename(columns={date: "_date"}).dropna())
    if not pieces:
        return pd.Series(pd.NaT, index=patient_ids.index, dtype="datetime64[ns]")
    known = pd.concat(pieces, ignore_index=True)
    rows = pd.DataFrame(
        {
            "patient_id": patient_ids.to_numpy(),
            "_low": low.to_numpy(),
            "_high": high.to_numpy(),
            "_row": np.arange(len(patient_ids)),
        }
    )
    joined = rows.merge(known, on="patient_id", how="inner")
    inside = joined[(joined["_date"] >= joined["_low"]) & (joined["_date"] <= joined["_high"])]
    latest = inside.groupby("_row")["_date"].max()
    out = pd.Series(pd.NaT, index=range(len(patient_ids)), dtype="datetime64[ns]")
    out.loc[latest.index] = latest.to_numpy()
    out.index = patient_ids.index
    return out


def impute_partial_dates(
    tables: dict[str, pd.DataFrame], rule: DateImputationRule = DEFAULT_DATE_IMPUTATION
) -> tuple[dict[str, pd.DataFrame], dict[str, dict[str, int]]]:
    """Tables (record type -> frame) with partial dates replaced by their analysis dates.

    Each partial-date field gets a flag column `<field>_ADTF` (None, "D" or "M"). Returns the new
    tables and {record type: {field: number of dates imputed}}. The input frames are not changed.
    """
    out = dict(tables)
    counts: dict[str, dict[str, int]] = {}
    # Fields in record order, so that an imputed diagnosis date is known before the relapse dates.
    for record_type, fields in PARTIAL_DATE_FIELDS.items():
        frame = out.get(record_type)
        if frame is None:
            continue
        frame = frame.copy()
        for field in fields:
            precision = frame[precision_column(field)]
            year = (precision == "year").to_numpy(dtype=bool)
            month = (precision == "month").to_numpy(dtype=bool)
            # ADaM date imputation flags: M (month and day imputed), D (day imputed), None (none).
            flags = np.full(len(frame), None, dtype=object)
            flags[month] = "D"
            flags[year] = "M"
            frame[flag_column(field)] = flags
            if not (year.any() or month.any()):
                continue
            first = frame[field]
            low = first.where(year | month)
            high = (first + pd.offsets.YearEnd(0)).where(year, (first + pd.offsets.MonthEnd(0)).where(month))
            target = first.copy()
            target[month] = first[month] + pd.to_timedelta(rule.month_day - 1, unit="D")
            target[year] = pd.to_datetime(
                pd.DataFrame({"year": first[year].dt.year, "month": rule.year_month, "day": rule.year_day})
            )
            partial = year | month
            rows = frame.loc[partial]
            if (
                record_type == "treatment_line"
                and field == "end_date"
                or (record_type == "adverse_event" and field == "resolution_date")
            ):
                start = "start_date" if record_type == "treatment_line" else "onset_date"
                floor = rows[start].where((rows[start] >= low[partial]) & (rows[start] <= high[partial]))
            else:
                floor = _patient_max(
                    out, _earlier_events(out, record_type, field), rows["patient_id"], low[partial], high[partial]
                )
            chosen = pd.concat([target[partial], floor], axis=1).max(axis=1)
            chosen = pd.concat([chosen, high[partial]], axis=1).min(axis=1)
            if record_type == "death":
                # A dead patient's last contact date is the death date (follow-up record): inside the
                # charted period it is the death day itself, not an imputation.
                contact = _patient_max(
                    out, [("follow_up", "last_contact_date")], rows["patient_id"], low[partial], high[partial]
                )
                chosen = contact.where(contact.notna(), chosen)
            frame.loc[partial, field] = chosen.astype("datetime64[ns]")
            counts.setdefault(record_type, {})[field] = int(partial.sum())
            out[record_type] = frame
        out[record_type] = frame
    return out, counts


def missing_data_metadata(
    registry: Tables, time_to_event: pd.DataFrame, imputed_fields: dict[str, dict[str, int]], rule: DateImputationRule
) -> dict[str, object]:
    """metadata["missing_data"] (codes per record type and field), ["imputed_dates"] (ADTF rows per
    PARAMCD), ["partial_dates"] (partial dates per record type and field) and the imputation sentence."""
    flagged = time_to_event[time_to_event["ADTF"].notna()]
    per_paramcd = {code: int(n) for code, n in flagged.groupby("PARAMCD", sort=False).size().items()}
    return {
        "missing_data": count_codes(registry),
        "partial_dates": imputed_fields,
        "imputed_dates": {code: per_paramcd.get(code, 0) for code in time_to_event["PARAMCD"].unique()},
        "date_imputation_rule": imputation_sentence(rule),
    }
