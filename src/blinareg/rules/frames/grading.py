"""`rules.grade_adverse_event` applied to every adverse event of a registry frame.

The scalar rule is the one implementation: it is called once per distinct combination of grading
parameters (there are few), so the column-wise result cannot drift from it.
"""

from __future__ import annotations

import pandas as pd
from pandas._libs.missing import NAType

from blinareg.rules.errors import RuleInputError
from blinareg.rules.frames.dosing import completed_years
from blinareg.rules.frames.tables import Tables
from blinareg.rules.grading import grade_adverse_event
from blinareg.rules.ruleset import DEFAULT_RULES, RuleSet

__all__ = ["computed_adverse_event_grades"]

# --- adverse-event grades ---------------------------------------------------------------------------

_GRADED_TERMS = ("crs", "icans", "encephalopathy", "seizure", "tremor")
_PARAMETERS = (
    "temperature_c",
    "vasopressors",
    "vasopressin",
    "hypotension",
    "oxygen",
    "ice_score",
    "capd_score",
    "consciousness",
    "seizure",
    "motor",
    "cerebral_edema",
)


def computed_adverse_event_grades(registry: Tables, rules: RuleSet = DEFAULT_RULES) -> pd.DataFrame:
    """The grade each adverse event's recorded parameters give (`rules.grade_adverse_event`).

    Returns a frame on the adverse-event index with `computed_grade` (Int64, NA when the parameters do
    not determine a grade), `computed_reason` and `age_years` (completed years at onset, from the
    birth date; it selects ICE or CAPD for ICANS). Conventions: a missing hypotension value is unknown
    (every value is tried, as the rule does); the record has no "died of the event" field, so a
    recorded grade 5 (death from the event) is not recomputed (NA); CTCAE terms have no recorded
    finding, so they are not computed. The scalar rule is called once per distinct parameter set.
    """
    events = registry["adverse_event"]
    out = pd.DataFrame(index=events.index)
    out["computed_grade"] = pd.array([pd.NA] * len(events), dtype="Int64")
    out["computed_reason"] = pd.Series([None] * len(events), index=events.index, dtype=object)
    birth = events["patient_id"].map(
        registry["patient"].drop_duplicates("patient_id").set_index("patient_id")["birth_date"]
    )
    out["age_years"] = completed_years(birth, events["onset_date"]) if len(events) else pd.Series([], dtype=float)
    candidates = (
        events["term"].isin(["crs", "icans"])
        & (events["grading_system"] == "astct")
        & (events["grade"].astype("Int64") != 5)
    ).to_numpy(dtype=bool)
    if not candidates.any():
        return out
    sub = events.loc[candidates, ["term", "grading_system", *_PARAMETERS]].copy()
    sub["age_years"] = out.loc[candidates, "age_years"].where(sub["term"] == "icans")
    cols = list(sub.columns)
    keys = pd.DataFrame({c: sub[c].astype(object).where(sub[c].notna(), None) for c in cols})
    unique = keys.drop_duplicates()
    grades: list[int | NAType] = []
    reasons: list[str | None] = []
    for row in unique.itertuples(index=False):
        values = dict(zip(cols, row))
        try:
            result = grade_adverse_event(
                values["term"],
                values["grading_system"],
                temperature_c=_num(values["temperature_c"]),
                vasopressors=_int(values["vasopressors"]),
                vasopressin=_bool(values["vasopressin"]),
                hypotension=_bool(values["hypotension"]),
                oxygen=values["oxygen"],
                age_years=_num(values["age_years"]),
                ice_score=_int(values["ice_score"]),
                capd_score=_int(values["capd_score"]),
                consciousness=values["consciousness"],
                seizure=values["seizure"],
                motor=values["motor"],
                cerebral_edema=values["cerebral_edema"],
                rules=rules,
            )
        except RuleInputError as error:
            grades.append(pd.NA)
            reasons.append(f"not computable: {error}")
            continue
        grades.append(pd.NA if result is None else result.grade)
        reasons.append(None if result is None else result.reason)
    unique = unique.assign(
        _grade=pd.array(grades, dtype="Int64"), _reason=pd.Series(reasons, index=unique.index, dtype=object)
    )
    merged = keys.reset_index().merge(unique, on=cols, how="left").set_index("index")
    out.loc[merged.index, "computed_grade"] = merged["_grade"]
    out.loc[merged.index, "computed_reason"] = merged["_reason"]
    return out


def _num(value: float | None) -> float | None:
    return None if value is None else float(value)


def _int(value: float | None) -> int | None:
    return None if value is None else int(value)


def _bool(value: object) -> bool | None:
    return None if value is None else bool(value)
