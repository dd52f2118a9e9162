"""Missing data, recorded honestly: missing-data codes and partial dates. No I/O.

A center often does not know a value: the conditioning of a transplant done elsewhere, the onset day
of an adverse event, the sensitivity of an outside lab's MRD assay, a relapse date charted as "07/2017".
blinareg records that as such instead of forcing an invented value:

- Missing-data codes (`MissingCode`): `unknown`, `not_done`, `not_applicable`, and for the MRD fraction
  `positive_not_quantifiable` (detected below the quantification limit). A field that accepts codes has
  a typed companion column `<field>_missing` (in the models, the registry frames and the database); the
  field itself is then empty. Which codes each field accepts: `CODE_FIELDS` / `accepted_codes`.
- Partial dates: `YYYY` or `YYYY-MM` in a date field listed in `PARTIAL_DATE_FIELDS`. The date column
  holds the first day of the known period and the companion `<date>_precision` says `year` or `month`
  (empty: the exact day). Derived analysis dates impute the rest by a stated rule
  (`blinareg.derive.imputation`), and flag it (ADaM `ADTF`).

In files (CSV, XLSX) and untyped rows the code or partial date is written in the field's own cell, so
an export -> import -> export round trip is byte-identical; `blinareg.records.registry.parse_rows` turns
the cell text into the companion columns, and `cell_overrides` turns them back into text.
"""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd

from blinareg.records.models import MISSING_SUFFIX, PRECISION_SUFFIX, RECORD_MODELS, Record, missing_spec
from blinareg.records.vocabulary import DatePrecision, MissingCode
from blinareg.rules.frames.tables import Tables

__all__ = [
    "MissingCode",
    "DatePrecision",
    "CODE_FIELDS",
    "PARTIAL_DATE_FIELDS",
    "accepted_codes",
    "accepts_code",
    "accepts_partial_date",
    "code_column",
    "precision_column",
    "codes",
    "precisions",
    "date_bounds",
    "date_text",
    "cell_overrides",
    "written_cells",
    "count_codes",
    "count_partial_dates",
]

# record type -> field -> the codes it accepts (every other field accepts none).
CODE_FIELDS: dict[str, dict[str, frozenset[MissingCode]]] = {
    model.record_type: {name: accepted for name, _, accepted in missing_spec(model).codes}
    for model in RECORD_MODELS
    if missing_spec(model).codes
}
# record type -> the date fields that may hold a partial date (year or year-month).
PARTIAL_DATE_FIELDS: dict[str, tuple[str, ...]] = {
    model.record_type: tuple(name for name, _ in missing_spec(model).partial_dates)
    for model in RECORD_MODELS
    if missing_spec(model).partial_dates
}


def accepted_codes(record_type: str, field: str) -> frozenset[MissingCode]:
    """The missing-data codes `record_type.field` accepts (empty: none)."""
    return CODE_FIELDS.get(record_type, {}).get(field, frozenset())


def accepts_code(record_type: str, field: str) -> bool:
    """True when `record_type.field` accepts at least one missing-data code."""
    return bool(accepted_codes(record_type, field))


def accepts_partial_date(record_type: str, field: str) -> bool:
    return field in PARTIAL_DATE_FIELDS.get(record_type, ())


def code_column(field: str) -> str:
    """The companion column holding the missing-data code of `field`."""
    return field + MISSING_SUFFIX


def precision_column(field: str) -> str:
    """The companion column holding the precision of the partial date `field`."""
    return field + PRECISION_SUFFIX


def codes(frame: pd.DataFrame, field: str) -> pd.Series:
    """The missing-data code of `field` per row (code text or None); all None if the field takes none."""
    name = code_column(field)
    if name in frame.columns:
        return frame[name]
    return pd.Series([None] * len(frame), index=frame.index, dtype=object)


def precisions(frame: pd.DataFrame, field: str) -> pd.Series:
    """The precision of the date `field` per row (`year`, `month`, or None for the exact day)."""
    name = precision_column(field)
    if name in frame.columns:
        return frame[name]
    return pd.Series([None] * len(frame), index=frame.index, dtype=object)


def date_bounds(frame: pd.DataFrame, field: str) -> tuple[pd.Series, pd.Series]:
    """(earliest, latest) day each (possibly partial) date of `field` can be; NaT where there is no date."""
    first = frame[field].astype("datetime64[ns]")
    precision = precisions(frame, field)
    year = (precision == DatePrecision.YEAR.value).to_numpy(dtype=bool)
    month = (precision == DatePrecision.MONTH.value).to_numpy(dtype=bool)
    last = first.copy()
    if year.any():
        last[year] = first[year] + pd.offsets.YearEnd(0)
    if month.any():
        last[month] = first[month] + pd.offsets.MonthEnd(0)
    return first, last


def date_text(frame: pd.DataFrame, field: str) -> pd.Series:
    """Dates as a data manager wrote them: `2017-07-14`, or `2017-07` / `2017` for partial dates; None if absent."""
    text = _partial_text(frame[field], precisions(frame, field))
    return text.astype(object).where(frame[field].notna(), None)


def _partial_text(dates: pd.Series, precision: pd.Series) -> pd.Series:
    text = dates.dt.strftime("%Y-%m-%d")
    year = precision == DatePrecision.YEAR.value
    month = precision == DatePrecision.MONTH.value
    partial: pd.Series = text.where(~year, text.str[:4]).where(~month, text.str[:7])
    return partial


def cell_overrides(model: type[Record], frame: pd.DataFrame, field: str) -> pd.Series | None:
    """What a file shows in `field`'s cell where it is not the plain value: the code, or the partial date.

    A Series of text (None where the cell shows the value as usual), or None when no row needs one.
    """
    spec = missing_spec(model)
    out: pd.Series | None = None
    if field in spec.accepted and code_column(field) in frame.columns:
        code = frame[code_column(field)]
        if code.notna().any():
            out = code.astype(object).where(code.notna(), None)
    if any(name == field for name, _ in spec.partial_dates) and precision_column(field) in frame.columns:
        precision = frame[precision_column(field)]
        if precision.notna().any():
            text = _partial_text(frame[field], precision).where(precision.notna(), None)
            out = text if out is None else out.where(out.notna(), text)
    return out


def written_cells(model: type[Record], frame: pd.DataFrame, field: str, cells: Sequence[object]) -> list[object]:
    """`cells` (one column as a writer formats it) with codes and partial dates written in their cells."""
    overrides = cell_overrides(model, frame, field)
    if overrides is None:
        return list(cells)
    return [cell if text is None else text for cell, text in zip(cells, overrides.tolist())]


def count_codes(registry: Tables) -> dict[str, dict[str, dict[str, int]]]:
    """{record type: {field: {code: number of records}}} for every code present in the registry."""
    out: dict[str, dict[str, dict[str, int]]] = {}
    for record_type, fields in CODE_FIELDS.items():
        frame = registry[record_type]
        for field in fields:
            values = codes(frame, field)
            present = values.dropna()
            if present.empty:
                continue
            counts = present.astype(str).value_counts()
            out.setdefault(record_type, {})[field] = {code: int(counts[code]) for code in sorted(counts.index)}
    return out


def count_partial_dates(registry: Tables) -> dict[str, dict[str, dict[str, int]]]:
    """{record type: {date field: {precision: number of records}}} for the partial dates present."""
    out: dict[str, dict[str, dict[str, int]]] = {}
    for record_type, fields in PARTIAL_DATE_FIELDS.items():
        frame = registry[record_type]
        for field in fields:
            present = precisions(frame, field).dropna()
            if present.empty:
                continue
            counts = present.astype(str).value_counts()
            out.setdefault(record_type, {})[field] = {p: int(counts[p]) for p in sorted(counts.index)}
    return out
