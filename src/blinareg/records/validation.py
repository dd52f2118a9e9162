"""Checks across records, column-wise on the registry frames.

Every check is a function `Registry -> list[Problem]` registered in `CHECKS`; `validate` runs them
all and returns every problem (never only the first). Field checks (ranges, enumerations, units)
already happened when the records were parsed (`blinareg.records.registry.parse_rows`).
Clinical-rule checks (recorded vs computed grade, delivered vs planned dose) come from
`blinareg.records.clinical_checks` (which does not import this module: no import cycle).
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Callable, Iterable, Mapping
from typing import TypeVar, cast

import numpy as np
import pandas as pd

from blinareg.records.check_tools import _key_text, day_text, problems_where, warning_per_row
from blinareg.records.clinical_checks import CLINICAL_CHECKS
from blinareg.records.missing import date_bounds, date_text
from blinareg.records.models import RECORD_TYPES
from blinareg.records.problems import Problem, Severity
from blinareg.records.registry import Registry

Check = Callable[[Registry], list[Problem]]
CHECKS: list[Check] = []  # the checks of this module, in order; the clinical ones follow (all_checks)


CheckFunction = TypeVar("CheckFunction", bound=Callable[..., list[Problem]])


def check(function: CheckFunction) -> CheckFunction:
    """Register `function` in CHECKS; each problem it finds without a check name gets the function's name."""
    name = function.__name__

    @functools.wraps(function)
    def named(registry: Registry, *args: object, **kwargs: object) -> list[Problem]:
        return [
            p if p.check is not None else dataclasses.replace(p, check=name)
            for p in function(registry, *args, **kwargs)
        ]

    CHECKS.append(named)
    return cast(CheckFunction, named)


def validate(
    registry: Registry, *, checks: list[Check] | None = None, other_patients: OtherPatients | None = None
) -> list[Problem]:
    """Every cross-record problem in the registry, errors first, then by patient.

    `other_patients`: for a partial registry , what the checks across patients need
    of the patients left out."""
    problems: list[Problem] = []
    for function in checks if checks is not None else all_checks():
        if function is mrd_unit_suspect:  # the one check across patients
            problems.extend(mrd_unit_suspect(registry, other_patients))
        else:
            problems.extend(function(registry))
    problems = locate(problems, registry)
    return sorted(problems, key=lambda p: (p.severity is not Severity.ERROR, p.patient_id or "", p.record_type))


def locate(problems: list[Problem], registry: Registry) -> list[Problem]:
    """Problems with the sheet (or file) and row of the record they concern, where `registry` knows them
    (records read from files: `Registry.origins`) and the problem does not say already."""
    index: dict[str, dict[tuple[object, object], tuple[str | None, int]]] = {}
    out = []
    for problem in problems:
        origin = registry.origins.get(problem.record_type)
        if origin is None or problem.row is not None:
            out.append(problem)
            continue
        if problem.record_type not in index:
            frame = registry[problem.record_type]
            keys = _key_text(problem.record_type, frame)
            owners = frame["patient_id"] if "patient_id" in frame.columns else frame["center_id"]
            source, rows = origin
            index[problem.record_type] = {
                (owner, key): (source, row) for owner, key, row in zip(owners.tolist(), keys.tolist(), rows)
            }
        found = index[problem.record_type].get((problem.patient_id, problem.key))
        if found is None and problem.record_type == "center":
            found = index[problem.record_type].get((problem.value, None))
        if found is None:
            out.append(problem)
        else:
            out.append(dataclasses.replace(problem, source=problem.source or found[0], row=found[1]))
    return out


def all_checks() -> list[Check]:
    return [*CHECKS, *CLINICAL_CHECKS]


# ---- identity and references -------------------------------------------------------------------


@check
def unique_keys(registry: Registry) -> list[Problem]:
    problems = []
    for record_type, model in RECORD_TYPES.items():
        frame = registry[record_type]
        duplicated = frame.duplicated(subset=list(model.key), keep="first").to_numpy()
        problems += problems_where(
            record_type,
            frame,
            duplicated,
            model.key[-1],
            f"duplicate {record_type} record for key ({', '.join(model.key)})",
        )
    return problems


@check
def references_exist(registry: Registry) -> list[Problem]:
    problems = []
    centers = set(registry["center"]["center_id"])
    patients = registry["patient"]
    problems += problems_where(
        "patient",
        patients,
        ~patients["center_id"].isin(centers).to_numpy(),
        "center_id",
        "no center with this center_id",
    )
    dates = _PatientDates.of(registry)
    for record_type, frame in registry.tables.items():
        if record_type in ("center", "patient") or frame.empty:
            continue
        problems += problems_where(
            record_type,
            frame,
            dates.codes(record_type) < 0,
            "patient_id",
            "no patient with this patient_id",
        )
    # (patient, number) pairs as one int64 key: hashing MultiIndex tuples was the slow part at 100k patients.

    def pair_keys(record_type: str, number: str) -> np.ndarray:
        codes = dates.codes(record_type).astype(np.int64)
        numbers = registry[record_type][number].to_numpy(dtype="float64", na_value=np.nan)
        return np.where(np.isnan(numbers), -1, codes * 1000 + np.nan_to_num(numbers).astype(np.int64))

    cycles = registry["blinatumomab_cycle"]
    cycle_keys = pair_keys("blinatumomab_cycle", "cycle_number")
    for record_type in ("dose_segment", "interruption", "adverse_event", "response_assessment"):
        frame = registry[record_type]
        has_cycle = frame["cycle_number"].notna().to_numpy()
        if not has_cycle.any():
            continue
        missing = has_cycle & ~np.isin(pair_keys(record_type, "cycle_number"), cycle_keys)
        problems += problems_where(
            record_type,
            frame,
            missing,
            "cycle_number",
            "no blinatumomab cycle with this cycle_number for the patient",
        )
    lines = registry["treatment_line"]
    has_line = cycles["line_number"].notna().to_numpy()
    if has_line.any():
        line_keys = pair_keys("treatment_line", "line_number")
        wanted = pair_keys("blinatumomab_cycle", "line_number")
        problems += problems_where(
            "blinatumomab_cycle",
            cycles,
            has_line & ~np.isin(wanted, line_keys),
            "line_number",
            "no treatment line with this line_number for the patient",
        )
        blinatumomab_lines = line_keys[(lines["treatment_type"] == "blinatumomab").to_numpy()]
        wrong = has_line & np.isin(wanted, line_keys) & ~np.isin(wanted, blinatumomab_lines)
        problems += problems_where(
            "blinatumomab_cycle",
            cycles,
            wrong,
            "line_number",
            "the treatment line is not a blinatumomab line",
        )
    return problems


@check
def one_per_patient(registry: Registry) -> list[Problem]:
    """Every patient has a diagnosis and a follow-up record."""
    problems = []
    patients = registry["patient"]
    for record_type in ("diagnosis", "follow_up"):
        present = patients["patient_id"].isin(set(registry[record_type]["patient_id"])).to_numpy()
        problems += problems_where(
            "patient",
            patients,
            ~present,
            "patient_id",
            f"patient has no {record_type} record",
        )
    return problems


# ---- chronology ------------------------------------------------------------------------------------


def _per_patient(registry: Registry, record_type: str, column: str) -> pd.Series:
    # Duplicate keys are reported by `unique_keys`; the other checks use the first record.
    frame = registry[record_type].drop_duplicates("patient_id")
    return frame.set_index("patient_id")[column]


class _PatientDates:
    """Per-patient bound dates as int64 arrays, looked up by integer patient position.

    Mapping string ids row by row (`Series.map`) for every record type and bound was the slowest part
    of validation at 100,000 patients; hashing each frame's ids once and indexing arrays is not.
    """

    _NAT = np.iinfo(np.int64).min

    _last: "tuple[tuple[int, ...], _PatientDates] | None" = None

    @classmethod
    def of(cls, registry: Registry) -> "_PatientDates":
        """One instance per registry state, shared by the checks of one `validate` call."""
        identity = tuple(id(frame) for frame in registry.tables.values())
        if cls._last is None or cls._last[0] != identity or cls._last[1].registry is not registry:
            cls._last = (identity, cls(registry))
        return cls._last[1]

    def __init__(self, registry: Registry) -> None:
        self.registry = registry
        self.index = pd.Index(registry["patient"]["patient_id"].drop_duplicates())
        self._codes: dict[str, np.ndarray] = {}

    def codes(self, record_type: str) -> np.ndarray:
        if record_type not in self._codes:
            self._codes[record_type] = self.index.get_indexer(self.registry[record_type]["patient_id"])
        return self._codes[record_type]

    def bound(self, record_type: str, column: str, reduce: str = "first", *, latest: bool = False) -> np.ndarray:
        """Per patient: the date (a partial date's first day, or its last day when `latest`)."""
        frame = self.registry[record_type]
        values = np.full(len(self.index) + 1, self._NAT, dtype=np.int64)  # last slot: unknown patient
        if not frame.empty:
            codes = self.codes(record_type)
            dates = _day_numbers(frame, column, latest=latest)
            keep = (codes >= 0) & (dates != self._NAT)
            if reduce == "min":
                order = np.argsort(dates[keep], kind="stable")[::-1]  # smallest written last wins
            else:
                order = np.arange(keep.sum())[::-1]  # first record written last wins
            values[codes[keep][order]] = dates[keep][order]
        return values

    def limits(self, record_type: str, bound: np.ndarray) -> np.ndarray:
        codes = self.codes(record_type).copy()
        codes[codes < 0] = len(self.index)
        limit: np.ndarray = bound[codes]
        return limit


def _day_numbers(frame: pd.DataFrame, field: str, *, latest: bool = False) -> np.ndarray:
    """A date column as int64 nanoseconds (NaT as int64 min); a partial date as its first or last day."""
    dates = date_bounds(frame, field)[1] if latest else frame[field]
    return dates.to_numpy(dtype="datetime64[ns]").view(np.int64)


def _compare(
    dates: _PatientDates,
    record_type: str,
    field: str,
    bound: tuple[np.ndarray, np.ndarray],
    *,
    after: bool,
    bound_name: str,
    check_name: str,
    strict: bool = False,
    severity: Severity = Severity.ERROR,
) -> list[Problem]:
    """Rows whose `field` is before (after=False) / after (after=True) the patient's `bound` date.

    `bound` is (earliest, latest) per patient. Partial dates conflict only when no day of theirs fits:
    a field is too early when its last possible day is before the bound's first possible day.
    """
    frame = dates.registry[record_type]
    if frame.empty:
        return []
    limit = dates.limits(record_type, bound[1] if after else bound[0])
    values = _day_numbers(frame, field, latest=not after)
    valid = (values != _PatientDates._NAT) & (limit != _PatientDates._NAT)
    if after:
        bad = (values >= limit) if strict else (values > limit)
        word = "on or after" if strict else "after"
    else:
        bad = (values <= limit) if strict else (values < limit)
        word = "on or before" if strict else "before"
    mask = valid & bad
    if not mask.any():
        return []
    limit_text = pd.Series(
        pd.to_datetime(np.where(mask, bound[0][_limit_rows(dates, record_type)], 0)), index=frame.index
    ).dt.strftime("%Y-%m-%d")
    reason = f"{field} is {word} the patient's {bound_name} (" + limit_text + ")"
    return problems_where(record_type, frame, mask, field, reason, severity=severity, check_name=check_name)


def _limit_rows(dates: _PatientDates, record_type: str) -> np.ndarray:
    codes = dates.codes(record_type).copy()
    codes[codes < 0] = len(dates.index)
    return codes


def _bounds(
    dates: _PatientDates, record_type: str, column: str, reduce: str = "first"
) -> tuple[np.ndarray, np.ndarray]:
    return dates.bound(record_type, column, reduce), dates.bound(record_type, column, reduce, latest=True)


# The record and field behind each patient-level bound date that chronology compares against.
_BOUND_FIELDS = {
    "birth date": ("patient", "birth_date"),
    "diagnosis date": ("diagnosis", "diagnosis_date"),
    "death date": ("death", "death_date"),
    "last contact date": ("follow_up", "last_contact_date"),
}


def _fold_by_bound(registry: Registry, problems: list[Problem]) -> list[Problem]:
    """One wrong date, one problem: when two or more records of a patient conflict with the same bound
    date (say a diagnosis date typed a year late), report that date once, its conflicts folded under it."""
    groups: dict[tuple[str | None, str], list[Problem]] = {}
    others = []
    for problem in problems:
        bound = next((name for name in _BOUND_FIELDS if f"the patient's {name} (" in problem.reason), None)
        if bound is None:
            others.append(problem)
        else:
            groups.setdefault((problem.patient_id, bound), []).append(problem)
    folded: dict[tuple[str | None, str], list[Problem]] = {}
    out = list(others)
    for (patient_id, bound), group in groups.items():
        # Two or more records against one date point at that date; conflicts of a single record (say its
        # two dates before the birth date) point at that record, which stays the problem.
        if len({(p.record_type, p.key) for p in group}) < 2:
            out.extend(group)
        else:
            folded[(patient_id, bound)] = group
    if not folded:
        return out
    # The folded date's own conflicts (a diagnosis date after the last contact) are folded under it too.
    targets = {(patient_id, *_BOUND_FIELDS[bound]): key for key in folded for patient_id, bound in [key]}
    kept = []
    for problem in out:
        key = None if problem.field is None else targets.get((problem.patient_id, problem.record_type, problem.field))
        if key is None or problem.check != "chronology":
            kept.append(problem)
        else:
            folded[key].insert(0, problem)
    out = kept
    for (patient_id, bound), group in folded.items():
        record_type, field = _BOUND_FIELDS[bound]
        frame = registry[record_type]
        rows = frame[frame["patient_id"] == patient_id].head(1)
        value = date_text(rows, field).iloc[0] if len(rows) else None
        out.append(
            Problem(
                record_type=record_type,
                field=field,
                value=value,
                patient_id=patient_id,
                check="chronology",
                reason=f"{len(group)} records of this patient conflict with this {bound}; check it first (the "
                f"conflicts are listed under it)",
                consequences=tuple(
                    f"{p.record_type}[{', '.join(x for x in (p.patient_id, p.key) if x)}].{p.field} "
                    f"= {p.value}: {p.reason}"
                    for p in group
                ),
            )
        )
    return out


@check
def chronology(registry: Registry) -> list[Problem]:
    """birth <= diagnosis <= relapse <= treatments; nothing after death; last contact >= every record."""
    problems = []
    dates = _PatientDates.of(registry)
    birth = _bounds(dates, "patient", "birth_date")
    diagnosis = _bounds(dates, "diagnosis", "diagnosis_date")
    death = _bounds(dates, "death", "death_date")
    last_contact = _bounds(dates, "follow_up", "last_contact_date")
    first_blin = _bounds(dates, "blinatumomab_cycle", "start_date", reduce="min")

    problems += _compare(
        dates,
        "relapse",
        "relapse_date",
        diagnosis,
        after=False,
        bound_name="diagnosis date",
        check_name="chronology",
        strict=True,
    )
    for record_type, model in RECORD_TYPES.items():
        for field in model.event_dates:  # the diagnosis date among them: compared with the birth date once
            problems += _compare(
                dates, record_type, field, birth, after=False, bound_name="birth date", check_name="chronology"
            )
            if record_type not in ("diagnosis", "relapse"):
                problems += _compare(
                    dates,
                    record_type,
                    field,
                    diagnosis,
                    after=False,
                    bound_name="diagnosis date",
                    check_name="chronology",
                )
            problems += _compare(
                dates, record_type, field, death, after=True, bound_name="death date", check_name="chronology"
            )
            problems += _compare(
                dates,
                record_type,
                field,
                last_contact,
                after=True,
                bound_name="last contact date",
                check_name="chronology",
            )
    problems += _compare(
        dates, "death", "death_date", diagnosis, after=False, bound_name="diagnosis date", check_name="chronology"
    )
    problems += _compare(
        dates, "death", "death_date", last_contact, after=True, bound_name="last contact date", check_name="chronology"
    )
    problems += _compare(
        dates,
        "death",
        "death_date",
        first_blin,
        after=False,
        bound_name="first blinatumomab infusion",
        check_name="chronology",
    )
    problems = _fold_by_bound(registry, problems)

    # Relapse numbers count up from 1 in date order.
    relapses = registry["relapse"].sort_values(["patient_id", "relapse_date"])
    expected = relapses.groupby("patient_id").cumcount() + 1
    out_of_order = (relapses["relapse_number"].astype(int) != expected).to_numpy()
    problems += problems_where(
        "relapse",
        relapses,
        out_of_order,
        "relapse_number",
        "relapse numbers must be 1, 2, ... in date order",
        check_name="chronology",
    )
    # Cycle numbers follow start dates, and cycles do not overlap.
    cycles = registry["blinatumomab_cycle"].sort_values(["patient_id", "start_date"])
    expected = cycles.groupby("patient_id").cumcount() + 1
    problems += problems_where(
        "blinatumomab_cycle",
        cycles,
        (cycles["cycle_number"].astype(int) != expected).to_numpy(),
        "cycle_number",
        "cycle numbers must be 1, 2, ... in start-date order",
        check_name="chronology",
    )
    previous_end = cycles.groupby("patient_id")["end_date"].shift()
    overlap = (previous_end.notna() & (cycles["start_date"] <= previous_end)).to_numpy()
    problems += problems_where(
        "blinatumomab_cycle",
        cycles,
        overlap,
        "start_date",
        "cycle starts before the previous cycle ended",
        check_name="chronology",
    )
    # Segments and interruptions lie inside their cycle.
    cycle_span = cycles.drop_duplicates(["patient_id", "cycle_number"]).set_index(["patient_id", "cycle_number"])[
        ["start_date", "end_date"]
    ]
    for record_type in ("dose_segment", "interruption"):
        frame = registry[record_type]
        if frame.empty or cycle_span.empty:
            continue
        joined = frame.join(cycle_span, on=["patient_id", "cycle_number"], rsuffix="_cycle")
        # An interruption ends on the restart day, which may be the day after the planned end.
        beyond = (joined["start_date"] < joined["start_date_cycle"]) | (
            joined["end_date"] > joined["end_date_cycle"] + pd.Timedelta(days=1 if record_type == "interruption" else 0)
        )
        outside = (beyond & joined["start_date_cycle"].notna()).to_numpy()
        if not outside.any():
            continue
        problems += problems_where(
            record_type,
            frame,
            outside,
            "start_date",
            "lies outside its cycle ("
            + day_text(joined["start_date_cycle"])
            + " to "
            + day_text(joined["end_date_cycle"])
            + ")",
            check_name="chronology",
        )
    return problems


@check
def vital_status(registry: Registry) -> list[Problem]:
    """A death record and follow-up vital status agree; a dead patient's last contact is the death date."""
    follow = registry["follow_up"]
    death = _per_patient(registry, "death", "death_date")
    has_death = follow["patient_id"].isin(death.index).to_numpy()
    dead = (follow["vital_status"] == "dead").to_numpy()

    def follow_up_problems(mask: np.ndarray, field: str, reason: str) -> list[Problem]:
        return problems_where("follow_up", follow, mask, field, reason)

    problems = follow_up_problems(
        dead & ~has_death, "vital_status", "vital status is dead but there is no death record"
    )
    problems += follow_up_problems(~dead & has_death, "vital_status", "a death is recorded but vital status is alive")
    # A partial death date (`2021`) only needs the last contact to fall inside it.
    deaths = registry["death"].drop_duplicates("patient_id").set_index("patient_id")
    earliest, latest = date_bounds(deaths, "death_date")
    contact = follow["last_contact_date"]
    differs = (
        has_death
        & ((contact < follow["patient_id"].map(earliest)) | (contact > follow["patient_id"].map(latest))).to_numpy()
    )
    problems += follow_up_problems(
        differs, "last_contact_date", "for a dead patient the last contact date must be the death date"
    )
    return problems


@check
def hsct_remission_status(registry: Registry) -> list[Problem]:
    """CR1 means no relapse before HSCT, CR2 one relapse, CR3+ two or more (relapse counts from records)."""
    hsct = registry["hsct"]
    relapses = registry["relapse"]
    if hsct.empty:
        return []
    merged = hsct[["patient_id", "hsct_number", "hsct_date"]].merge(
        relapses[["patient_id", "relapse_date"]], on="patient_id", how="left"
    )
    merged["before"] = (merged["relapse_date"] < merged["hsct_date"]).astype(int)
    count = merged.groupby(["patient_id", "hsct_number"])["before"].sum()
    prior = (
        pd.Series(list(zip(hsct["patient_id"], hsct["hsct_number"])), index=hsct.index).map(count).fillna(0).astype(int)
    )
    status = hsct["remission_status"]
    expected_min = status.map({"CR1": 0, "CR2": 1, "CR3+": 2})
    expected_max = status.map({"CR1": 0, "CR2": 1, "CR3+": 99})
    bad = (expected_min.notna() & ((prior < expected_min) | (prior > expected_max))).to_numpy()
    reason = (
        "remission status "
        + status.astype(str)
        + " but "
        + prior.astype(str)
        + " relapse(s) are recorded before the HSCT"
    )
    return problems_where("hsct", hsct, bad, "remission_status", reason)


@check
def legal_grades(registry: Registry) -> list[Problem]:
    """CTCAE v5 tremor has grades 1-3 only; other terms 1-5 (field range)."""
    events = registry["adverse_event"]
    bad = ((events["term"] == "tremor") & (events["grade"] > 3)).to_numpy()
    return problems_where("adverse_event", events, bad, "grade", "CTCAE v5 tremor is graded 1-3")


@check
def mrd_sensitivity(registry: Registry) -> list[Problem]:
    """A detected level below the assay's stated sensitivity is implausible."""
    mrd = registry["mrd_assessment"]
    bad = (
        mrd["detected"].fillna(False) & mrd["sensitivity"].notna() & (mrd["fraction"] < mrd["sensitivity"])
    ).to_numpy()
    return problems_where(
        "mrd_assessment",
        mrd,
        bad,
        "fraction",
        "detected fraction is below the assay sensitivity",
        severity=Severity.WARNING,
    )


@check
def death_from_disease_has_disease(registry: Registry) -> list[Problem]:
    """A death from relapse/progression needs a relapse or refractory disease somewhere in the record."""
    deaths = registry["death"]
    from_disease = (deaths["cause"] == "relapse_progression").to_numpy(dtype=bool)
    if not from_disease.any():
        return []
    responses = registry["response_assessment"]
    lines = registry["treatment_line"]
    with_disease = (
        set(registry["relapse"]["patient_id"])
        | set(responses.loc[responses["category"].isin(["no_response", "progression"]), "patient_id"])
        | set(lines.loc[lines["intent"] == "relapsed_refractory", "patient_id"])
    )
    bad = from_disease & ~deaths["patient_id"].isin(with_disease).to_numpy(dtype=bool)
    return problems_where(
        "death",
        deaths,
        bad,
        "cause",
        "death from relapse/progression, but no relapse and no refractory disease (a response of "
        "no_response or progression, or a relapsed_refractory treatment line) is recorded",
        severity=Severity.WARNING,
    )


_VERY_EARLY_MONTHS = 18  # BFM: a relapse < 18 months from diagnosis is very early without the end of therapy


@check
def relapse_timing_derivable(registry: Registry) -> list[Problem]:
    """Once per patient: BFM relapse timing needs the end of front-line therapy (clinical-rules.md §3).

    A relapse under 18 months from diagnosis is very early whatever the end of therapy; any later
    relapse is early or late by the end of front-line therapy, which the diagnosis record must give.
    """
    relapses = registry["relapse"]
    diagnosis = registry["diagnosis"].drop_duplicates("patient_id").set_index("patient_id")
    if relapses.empty or diagnosis.empty:
        return []
    diagnosed = relapses["patient_id"].map(diagnosis["diagnosis_date"])
    months = (
        (relapses["relapse_date"].dt.year - diagnosed.dt.year) * 12
        + relapses["relapse_date"].dt.month
        - diagnosed.dt.month
        - (relapses["relapse_date"].dt.day < diagnosed.dt.day).astype(int)
    )
    needs_end = relapses.loc[(months >= _VERY_EARLY_MONTHS).to_numpy(dtype=bool), "patient_id"].unique()
    frame = diagnosis.reset_index()
    frame = frame[frame["patient_id"].isin(needs_end) & frame["frontline_end_date"].isna()]
    if frame.empty:
        return []
    code = frame["frontline_end_date_missing"]
    why = np.where(code.notna(), "recorded as " + code.astype(str), "empty")
    reason = (
        "relapse timing (very early / early / late) cannot be derived for this patient: a relapse is 18 "
        "months or more after diagnosis, and the end of front-line therapy (frontline_end_date) is "
        + pd.Series(why, index=frame.index, dtype=str)
        + "; the analysis counts the timing as missing"
    )
    return warning_per_row("diagnosis", frame, "frontline_end_date", reason)


_UNIT_FACTOR = 100.0  # percent vs fraction
_MIN_OTHERS = 3


@dataclasses.dataclass(frozen=True)
class FlowValues:
    """Summary of some detected flow MRD fractions (> 0) of one center: how many, the lowest, the highest."""

    count: int
    low: float
    high: float


@dataclasses.dataclass(frozen=True)
class OtherPatients:
    """What the one check across patients (`mrd_unit_suspect`) needs of the patients left out of a
    partial registry, so that validating one patient's records gives exactly the problems the whole
    registry's validation gives for that patient: per center, their detected flow MRD fractions."""

    flow_mrd: Mapping[str, FlowValues]


def detected_flow_mrd(registry: Registry) -> pd.DataFrame:
    """The flow MRD rows `mrd_unit_suspect` compares (detected, with a fraction > 0)."""
    mrd = registry["mrd_assessment"]
    return mrd[
        (mrd["method"] == "flow")
        & mrd["detected"].fillna(False).astype(bool)
        & mrd["fraction"].notna()
        & (mrd["fraction"] > 0)
    ]


def other_patients_of(registry: Registry, patient_ids: Iterable[str]) -> OtherPatients:
    """The `OtherPatients` of a partial registry of `patient_ids`, from the whole `registry` (the store
    computes the same in SQL: `blinareg.store.store._other_patients`)."""
    flow = detected_flow_mrd(registry)
    centers = registry["patient"].drop_duplicates("patient_id").set_index("patient_id")["center_id"]
    flow = flow[~flow["patient_id"].isin(set(patient_ids))]
    center = flow["patient_id"].map(centers)
    out = {}
    for center_id, values in flow["fraction"].groupby(center.to_numpy()):
        out[str(center_id)] = FlowValues(len(values), float(values.min()), float(values.max()))
    return OtherPatients(out)


@check
def mrd_unit_suspect(registry: Registry, other_patients: OtherPatients | None = None) -> list[Problem]:
    """A detected flow MRD 100 times off the center's other flow values, where the other reading
    (percentage vs fraction) would fit them: a warning naming both readings.

    Typical: a center whose values are entered as percentages (0.05 meaning 0.05%, stored 0.0005) with one
    value typed as a fraction (0.05 = 5%), or the reverse. The range of the center's other values decides
    (`other_patients`: the center's values outside a partial registry).
    """
    outside = other_patients.flow_mrd if other_patients is not None else {}
    flow = detected_flow_mrd(registry)
    if flow.empty:
        return []
    center = flow["patient_id"].map(
        registry["patient"].drop_duplicates("patient_id").set_index("patient_id")["center_id"]
    )
    suspect = np.zeros(len(flow), dtype=bool)
    reasons = pd.Series("", index=flow.index, dtype=object)
    values = flow["fraction"].to_numpy(dtype=float)
    for center_id, group in pd.Series(np.arange(len(flow))).groupby(center.to_numpy()):
        positions = group.to_numpy()
        extra = outside.get(str(center_id))
        if len(positions) + (extra.count if extra else 0) <= _MIN_OTHERS:
            continue
        for position in positions:
            others = values[positions[positions != position]]
            bounds = [others.min(), others.max()] if len(others) else []
            if extra:
                bounds += [extra.low, extra.high]
            low, high, value = min(bounds), max(bounds), values[position]
            for factor, reading in (
                (1 / _UNIT_FACTOR, "typed as a fraction where the center's values are percentages"),
                (_UNIT_FACTOR, "typed as a percentage where the center's values are fractions"),
            ):
                other = value * factor
                outside_range = value > high * 10 if factor < 1 else value < low / 10
                if outside_range and low <= other <= high:
                    suspect[position] = True
                    reasons.iloc[position] = (
                        f"flow MRD {value:g} ({value * 100:g}%) is 100 times off this center's other flow values "
                        f"({low:g} to {high:g}); if {reading}, it is {other:g} ({other * 100:g}%)"
                    )
    return problems_where("mrd_assessment", flow, suspect, "fraction", reasons, severity=Severity.WARNING)
