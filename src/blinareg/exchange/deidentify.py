"""De-identification of a registry before it leaves the center (docs/deidentification.md).

`deidentify(registry, key, dates="shift")` returns a new Registry in which:

- patient ids are keyed pseudonyms `P-<16 hex>` = HMAC-SHA256(key, patient_id); center ids and center
  names become `C-<8 hex>` (same key, same pseudonyms; without the key they cannot be reversed);
- dates move by one offset per patient, so every interval of a patient (and so every time-to-event
  value and age) is unchanged: `dates="shift"` shifts by 1 to 365 days, earlier or later, drawn from
  HMAC(key, patient_id) (the same key gives the same offsets); `dates="days"` moves each patient's
  diagnosis date (or, without one, the first date recorded) to 2000-01-01, so a date reads as days from
  that origin and no calendar time is left;
- ages of 90 and over (at diagnosis, or at the first date recorded) are set to 90, by moving the birth
  date, the Safe Harbor "90 or older" group;
- free text is removed (adverse-event descriptions, regimens, front-line protocols, MRD targets); the
  detail of an "other" genetic lesion, required by validation, becomes the text "removed";
- the country of a center is kept (a country is not a Safe Harbor identifier).

`disclosure_risks(registry, k)` lists the combinations of quasi-identifiers (age group at diagnosis, sex,
center, year of diagnosis) that fewer than k patients share.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import re
import secrets
import stat
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from blinareg.errors import UserError
from blinareg.records.models import RECORD_MODELS
from blinareg.records.registry import Registry, columns

__all__ = [
    "DATE_MODES",
    "FREE_TEXT",
    "deidentify",
    "dates_to_years",
    "disclosure_risks",
    "disclosure_summary",
    "release",
    "load_or_create_key",
    "pseudonym",
    "QUASI_IDENTIFIERS",
    "DisclosureRisk",
]

DATE_MODES = ("shift", "days")
MAX_SHIFT_DAYS = 365
DAYS_ORIGIN = pd.Timestamp("2000-01-01")
OLDEST_AGE = 90
# Free-text fields: removed (None), or replaced by REMOVED where validation requires a value.
FREE_TEXT = {
    ("adverse_event", "description"): None,
    ("treatment_line", "regimen"): None,
    ("diagnosis", "frontline_protocol"): None,
    ("mrd_assessment", "target"): None,
    ("genetic_finding", "detail"): "removed",
}
QUASI_IDENTIFIERS = ("age_group", "sex", "center_id", "diagnosis_year")
# (from, below, label) in whole years: the paediatric bands, 18-29, then decades to 89, then 90+.
_AGE_GROUPS = [
    (0, 1, "<1"),
    (1, 5, "1-4"),
    (5, 10, "5-9"),
    (10, 15, "10-14"),
    (15, 18, "15-17"),
    (18, 30, "18-29"),
    *((low, low + 10, f"{low}-{low + 9}") for low in range(30, 90, 10)),
    (90, 1000, "90+"),
]
_MIN_KEY_BYTES = 16


def _mac(key: bytes, text: str) -> bytes:
    return hmac.new(key, text.encode("utf-8"), hashlib.sha256).digest()


def pseudonym(key: bytes, kind: str, identifier: str) -> str:
    """`P-<16 hex>` for a patient, `C-<8 hex>` for a center."""
    digest = _mac(key, f"{kind}|{identifier}").hex()
    return f"P-{digest[:16]}" if kind == "patient" else f"C-{digest[:8]}"


def _shift_days(key: bytes, patient_id: str) -> int:
    draw = int.from_bytes(_mac(key, f"shift|{patient_id}")[:8], "big")
    magnitude = 1 + draw % MAX_SHIFT_DAYS  # never 0: a shifted date never equals the true one
    return magnitude if (draw >> 63) & 1 else -magnitude


def load_or_create_key(path: str | os.PathLike, export_dir: str | os.PathLike | None = None) -> tuple[bytes, bool]:
    """The key in `path` (created with 32 random bytes, mode 0600, when it does not exist); returns (key, created).

    The key must stay outside the export: a key file inside `export_dir` is refused."""
    path = Path(path)
    if export_dir is not None:
        target = Path(export_dir).resolve()
        if target == path.resolve().parent or target in path.resolve().parents:
            raise UserError(f"--key-file {path} is inside the export folder {export_dir}; keep the key outside it")
    if path.exists():
        try:
            key = path.read_bytes()
        except OSError as error:
            raise UserError(f"--key-file {path}: cannot read: {error.strerror}") from None
        if len(key) < _MIN_KEY_BYTES:
            raise UserError(f"--key-file {path}: a key needs at least {_MIN_KEY_BYTES} bytes, found {len(key)}")
        return key, False
    key = secrets.token_bytes(32)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, stat.S_IRUSR | stat.S_IWUSR)
        with os.fdopen(descriptor, "wb") as handle:
            handle.write(key)
    except OSError as error:
        raise UserError(f"--key-file {path}: cannot create: {error.strerror}") from None
    return key, True


def _first_dates(registry: Registry) -> pd.Series:
    """Per patient: the diagnosis date, else the earliest date recorded."""
    dated = []
    for model in RECORD_MODELS:
        if model.record_type in ("center", "patient"):
            continue
        frame = registry[model.record_type]
        for column in columns(model):
            if str(frame[column.name].dtype).startswith("datetime64"):
                dated.append(frame[["patient_id", column.name]].rename(columns={column.name: "day"}))
    days = pd.concat(dated, ignore_index=True).dropna() if dated else pd.DataFrame(columns=["patient_id", "day"])
    earliest = days.groupby("patient_id")["day"].min()
    diagnosis = registry["diagnosis"].drop_duplicates("patient_id").set_index("patient_id")["diagnosis_date"]
    return diagnosis.combine_first(earliest)


def deidentify(registry: Registry, key: bytes, *, dates: str = "shift") -> Registry:
    """A de-identified copy of `registry` (the original is not changed)."""
    if dates not in DATE_MODES:
        raise UserError(f"--dates {dates!r} must be one of {', '.join(DATE_MODES)}")
    if not isinstance(key, bytes) or len(key) < _MIN_KEY_BYTES:
        raise UserError(f"a de-identification key needs at least {_MIN_KEY_BYTES} bytes")
    patients = registry["patient"]["patient_id"].astype(str)
    first = _first_dates(registry)
    if dates == "shift":
        offsets = pd.Series({pid: _shift_days(key, pid) for pid in patients}, dtype="int64")
    else:
        anchor = first.reindex(patients.to_numpy())
        offsets = ((DAYS_ORIGIN - anchor).dt.days).fillna(0).astype("int64")
        offsets.index = patients.to_numpy()
    new_patient = {pid: pseudonym(key, "patient", pid) for pid in patients}
    centers = registry["center"]["center_id"].astype(str)
    new_center = {cid: pseudonym(key, "center", cid) for cid in centers}
    tables = {}
    for model in RECORD_MODELS:
        frame = registry[model.record_type].copy()
        if "patient_id" in frame.columns:
            shift = pd.to_timedelta(frame["patient_id"].map(offsets).fillna(0).astype("int64"), unit="D")
            for column in columns(model):
                if str(frame[column.name].dtype).startswith("datetime64"):
                    frame[column.name] = frame[column.name] + shift
            frame["patient_id"] = frame["patient_id"].map(new_patient)
        if "center_id" in frame.columns:
            frame["center_id"] = frame["center_id"].map(new_center)
        if model.record_type == "center":
            frame["name"] = frame["center_id"]
        for (record_type, name), replacement in FREE_TEXT.items():
            if record_type == model.record_type:
                frame[name] = frame[name].where(frame[name].isna(), replacement).astype(object)
                frame[name] = frame[name].where(frame[name].notna(), None)
        tables[model.record_type] = frame
    # Ages of 90 and over become 90: the birth date moves to 90 years before the (moved) first date.
    patient = tables["patient"]
    moved_first = patient["patient_id"].map(
        (first + pd.to_timedelta(first.index.map(offsets).fillna(0).astype("int64"), unit="D")).rename(
            index=new_patient
        )
    )
    oldest_birth = moved_first - pd.DateOffset(years=OLDEST_AGE)
    too_old = moved_first.notna() & (patient["birth_date"] < oldest_birth)
    patient.loc[too_old, "birth_date"] = oldest_birth[too_old]
    return Registry(tables)


@dataclass(frozen=True)
class DisclosureRisk:
    """A combination of quasi-identifiers shared by fewer than k patients."""

    age_group: str
    sex: str
    center_id: str
    diagnosis_year: str
    patients: int


def _age_group(years: float) -> str:
    if np.isnan(years):
        return "unknown"
    return next(label for low, high, label in _AGE_GROUPS if low <= years < high)


def disclosure_risks(registry: Registry, k: int = 5) -> list[DisclosureRisk]:
    """Combinations of (age group at diagnosis, sex, center, year of diagnosis) with fewer than k patients."""
    if isinstance(k, bool) or not isinstance(k, int) or k < 2:
        raise UserError(f"--k {k!r} must be an integer of at least 2")
    patient = registry["patient"].set_index("patient_id")
    first = _first_dates(registry).reindex(patient.index)
    age = (first - patient["birth_date"]).dt.days / 365.25
    frame = pd.DataFrame(
        {
            "age_group": age.map(_age_group),
            "sex": patient["sex"].astype(str),
            "center_id": patient["center_id"].astype(str),
            "diagnosis_year": first.dt.year.map(lambda y: "unknown" if pd.isna(y) else str(int(y))),
        }
    )
    counts = frame.groupby(list(QUASI_IDENTIFIERS)).size().reset_index(name="patients")
    small = counts[counts["patients"] < k].sort_values(list(QUASI_IDENTIFIERS))
    return [DisclosureRisk(**row) for row in small.to_dict("records")]


def release(
    registry: Registry, key: bytes, *, dates: str = "shift", k: int = 5
) -> tuple[Registry, list[DisclosureRisk]]:
    """The de-identified registry and its quasi-identifier combinations shared by fewer than k patients."""
    released = deidentify(registry, key, dates=dates)
    return released, disclosure_risks(released, k)


def disclosure_summary(risks: list[DisclosureRisk], k: int) -> str:
    """One sentence on the disclosure check (what `blinareg export --deidentify` prints and the web export ships)."""
    if not risks:
        return (
            "disclosure check: every combination of age group, sex, center and diagnosis year is shared by "
            f"at least {k} patients"
        )
    return (
        f"disclosure check: {len(risks)} combination(s) of age group, sex, center and diagnosis year are "
        f"shared by fewer than {k} patients"
    )


# A calendar date (YYYY-MM-DD), with or without a time after it, or a year-month (YYYY-MM); not part of a
# longer number.
_CALENDAR_DATE = re.compile(
    r"(?<![\w-])(\d{4})-(?:0[1-9]|1[0-2])(?:-\d{2}(?:[T ][0-9:.]+(?:Z|[+-]\d{2}:?\d{2})?)?)?(?![\w-])"
)
DATES_TO_YEARS_NOTE = (
    "De-identified (docs/deidentification.md): every calendar date (data cut-off, accrual, as-of, dates in "
    "the text) is reduced to its year, as HIPAA Safe Harbor allows; times are days or months from the "
    "analysis origin and are unchanged."
)


def dates_to_years(value: Any) -> Any:
    """`value` (parsed JSON: dicts, lists, strings, numbers) with every calendar date in every string
    reduced to its year ("2021-03-04" -> "2021"), e.g. a report's results.json for a recipient who must
    get no full date. Numbers (counts, estimates, days from the origin) are left as they are."""
    if isinstance(value, str):
        return _CALENDAR_DATE.sub(lambda match: match.group(1), value)
    if isinstance(value, dict):
        return {key: dates_to_years(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [dates_to_years(item) for item in value]
    return value
