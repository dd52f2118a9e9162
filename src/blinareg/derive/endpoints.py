"""Time-to-event rows (ADaM ADTTE shape), column-wise over patients.

One row per patient and parameter: STARTDT (the row's time zero), ADT (event or censoring date),
AVAL = ADT - STARTDT in days (float), CNSR (0 an event of any cause was observed, 1 censored),
EVTCODE (0 censored, 1 event of interest, 2 competing event), EVNTDESC, ADTF (ADaM date imputation
flag of ADT: None, "D" day imputed, "M" month and day imputed, from a partial date
(`blinareg.derive.imputation`); "Y" the whole date derived: GVHD without a recorded date). Definitions: clinical-rules.md §5 and docs/analysis-dataset.md.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from blinareg.derive.dataset import PARAMCDS
from blinareg.rules import DEFAULT_RULES, RuleSet

__all__ = ["time_to_event_rows", "first_after", "TTE_COLUMNS"]

TTE_COLUMNS = [
    "patient_id",
    "PARAMCD",
    "PARAM",
    "ORIGIN",
    "STARTDT",
    "ADT",
    "AVAL",
    "CNSR",
    "EVNTDESC",
    "EVTCODE",
    "ADTF",
]
_NAT = np.datetime64("NaT", "ns")
_MAX = np.datetime64("2262-01-01", "ns")


def first_after(
    events: pd.DataFrame, date_column: str, start: pd.Series, *, cutoff: pd.Timestamp | None, inclusive: bool = False
) -> pd.Series:
    """Per patient (index of `start`): the earliest `date_column` of `events` strictly after the
    patient's start date (on or after when `inclusive`), and not after `cutoff`."""
    if events.empty or start.dropna().empty:
        return pd.Series(pd.NaT, index=start.index, dtype="datetime64[ns]")
    frame = events[["patient_id", date_column]].dropna()
    frame = frame.assign(_start=frame["patient_id"].map(start))
    keep = (frame[date_column] >= frame["_start"]) if inclusive else (frame[date_column] > frame["_start"])
    if cutoff is not None:
        keep &= frame[date_column] <= cutoff
    first = frame.loc[keep.fillna(False)].groupby("patient_id")[date_column].min()
    return first.reindex(start.index).astype("datetime64[ns]")


def flag_at(events: pd.DataFrame, date_column: str, chosen: pd.Series) -> pd.Series:
    """Per patient (index of `chosen`): the ADTF of the `events` row whose date is the chosen date."""
    flag = date_column + "_ADTF"
    if flag not in events.columns or events.empty:
        return pd.Series(None, index=chosen.index, dtype=object)
    flagged = events.loc[events[flag].notna(), ["patient_id", date_column, flag]]
    if flagged.empty:
        return pd.Series(None, index=chosen.index, dtype=object)
    wanted = pd.DataFrame({"patient_id": chosen.index, date_column: chosen.to_numpy()})
    found = wanted.merge(
        flagged.drop_duplicates(["patient_id", date_column]), on=["patient_id", date_column], how="left"
    )[flag]
    return pd.Series(found.to_numpy(dtype=object), index=chosen.index).where(lambda f: f.notna(), None)


def _flags(flag: object, index: pd.Index) -> np.ndarray:
    if isinstance(flag, pd.Series):
        return flag.reindex(index).to_numpy(dtype=object)
    return np.full(len(index), flag, dtype=object)


def _rows(
    paramcd: str,
    origin_label: str,
    start: pd.Series,
    censor: pd.Series,
    censor_desc: pd.Series,
    candidates: Sequence[tuple[pd.Series, int, str, object]],
) -> pd.DataFrame:
    """Rows for patients with a start date: the earliest candidate event (ties: list order) or censoring.

    `candidates`: (date per patient, EVTCODE, EVNTDESC, ADTF) - NaT means no such event; ADTF is one
    flag for all patients or a Series per patient (None: the date is complete). Censoring dates (last
    contact, data cut-off) are complete dates.
    """
    has = start.notna().to_numpy()
    ids = start.index.to_numpy()[has]
    s = start.to_numpy(dtype="datetime64[ns]")[has]
    c = censor.to_numpy(dtype="datetime64[ns]")[has]
    cdesc = censor_desc.to_numpy(dtype=object)[has]
    if candidates:
        dates = np.stack(
            [d.reindex(start.index).to_numpy(dtype="datetime64[ns]")[has] for d, _, _, _ in candidates], axis=1
        )
        filled = np.where(np.isnat(dates), _MAX, dates)
        which = np.argmin(filled, axis=1)
        chosen = filled[np.arange(len(ids)), which]
        event = chosen < _MAX
        codes = np.array([code for _, code, _, _ in candidates])[which]
        descs = np.array([desc for _, _, desc, _ in candidates], dtype=object)[which]
        flags = np.stack([_flags(f, start.index)[has] for _, _, _, f in candidates], axis=1)
        imputed = flags[np.arange(len(ids)), which]
    else:
        event = np.zeros(len(ids), dtype=bool)
        chosen = np.full(len(ids), _NAT)
        codes = np.zeros(len(ids), dtype=int)
        descs = np.full(len(ids), None, dtype=object)
        imputed = np.full(len(ids), None, dtype=object)
    adt = np.where(event, chosen, c)
    adt = np.where(np.isnat(adt) | (adt < s), s, adt)  # never before the start (bad follow-up data)
    aval = (adt - s) / np.timedelta64(1, "D")
    return pd.DataFrame(
        {
            "patient_id": ids,
            "PARAMCD": paramcd,
            "PARAM": PARAMCDS[paramcd],
            "ORIGIN": origin_label,
            "STARTDT": s,
            "ADT": adt,
            "AVAL": aval.astype(float),
            "CNSR": np.where(event, 0, 1).astype(int),
            "EVNTDESC": np.where(event, descs, cdesc),
            "EVTCODE": np.where(event, codes, 0).astype(int),
            "ADTF": np.where(event, imputed, None),
        }
    )


def time_to_event_rows(
    p: pd.DataFrame,
    registry_tables: dict[str, pd.DataFrame],
    *,
    origin: str,
    non_responder: str,
    as_of: pd.Timestamp | None,
    rules: RuleSet | None = None,
) -> pd.DataFrame:
    """All ADTTE rows. `p` is the patients frame indexed by patient_id with origin_date, cr_date,
    cr_achieved, responder, hsct_date, hsct_remission_status, hsct_acute_gvhd_max_grade,
    hsct_chronic_gvhd, death_date, last_contact_date, first_blinatumomab_date. `rules` gives
    `acute_gvhd_window_days` (GRFS)."""
    rules = DEFAULT_RULES if rules is None else rules
    t0 = p["origin_date"].copy()
    if as_of is not None:
        t0 = t0.where(t0 <= as_of)
    death = p["death_date"]
    if as_of is not None:
        death = death.where(death <= as_of)
    last = p["last_contact_date"].fillna(p["death_date"])
    censor = last if as_of is None else last.where(last <= as_of, as_of).where(last.notna(), as_of)
    censor_desc = pd.Series("censored at last contact", index=p.index, dtype=object)
    if as_of is not None:
        censor_desc = censor_desc.where(~(last.isna() | (last > as_of)), "censored at data cut-off (as_of)")
    relapses = registry_tables["relapse"]
    death_flag = p["death_date_ADTF"] if "death_date_ADTF" in p.columns else None
    malignancies = registry_tables["adverse_event"]
    malignancies = malignancies[malignancies["term"] == "second_malignancy"]
    frames = []

    # OS: death from any cause.
    frames.append(_rows("OS", origin, t0, censor, censor_desc, [(death.where(death >= t0), 1, "death", death_flag)]))

    # EFS: relapse, death, second malignancy; non-response at time 0 for the treatment origins.
    relapse_after_t0 = first_after(relapses, "relapse_date", t0, cutoff=as_of)
    malignancy_after_t0 = first_after(malignancies, "onset_date", t0, cutoff=as_of)
    failure_applies = origin in ("first_blinatumomab", "relapse")
    # A nullable boolean: `== False` keeps unknown responders out of the failures.
    not_responder = (p["responder"].astype("boolean") == False).fillna(False)  # noqa: E712
    failed = not_responder if failure_applies else pd.Series(False, index=p.index)
    failure_desc = (
        "failure to achieve CR (CR, CRh or CRi)"
        if non_responder == "no_cr"
        else "failure to achieve a complete MRD response"
    )
    frames.append(
        _rows(
            "EFS",
            origin,
            t0,
            censor,
            censor_desc,
            [
                (t0.where(failed), 1, failure_desc, None),
                (relapse_after_t0, 1, "relapse", flag_at(relapses, "relapse_date", relapse_after_t0)),
                (death.where(death >= t0), 1, "death", death_flag),
                (malignancy_after_t0, 1, "second malignancy", flag_at(malignancies, "onset_date", malignancy_after_t0)),
            ],
        )
    )

    # DFS / CIR / NRM: patients in CR, from the CR date (origin hsct: from HSCT in CR).
    if origin == "hsct":
        in_cr = p["hsct_remission_status"].isin(["CR1", "CR2", "CR3+"])
        s_cr = t0.where(in_cr)
        cr_label = "hsct"
    else:
        in_cr = p["cr_achieved"].astype("boolean").fillna(False) & p["cr_date"].notna() & t0.notna()
        s_cr = pd.concat([p["cr_date"], t0], axis=1).max(axis=1).where(in_cr)
        cr_label = "cr"
    relapse_after_cr = first_after(relapses, "relapse_date", s_cr, cutoff=as_of)
    relapse_cr_flag = flag_at(relapses, "relapse_date", relapse_after_cr)
    death_after_cr = death.where(death >= s_cr)
    death_without_relapse = death_after_cr.where(relapse_after_cr.isna() | (death_after_cr < relapse_after_cr))
    frames.append(
        _rows(
            "DFS",
            cr_label,
            s_cr,
            censor,
            censor_desc,
            [(relapse_after_cr, 1, "relapse", relapse_cr_flag), (death_after_cr, 1, "death", death_flag)],
        )
    )
    # CIR and NRM: the same two competing events, each one the event of interest (code 1) of one endpoint.
    competing = [
        (relapse_after_cr, "relapse", relapse_cr_flag),
        (death_without_relapse, "death without relapse", death_flag),
    ]
    for paramcd, interest in (("CIR", "relapse"), ("NRM", "death without relapse")):
        events = [(date, 1 if name == interest else 2, name, flag) for date, name, flag in competing]
        frames.append(_rows(paramcd, cr_label, s_cr, censor, censor_desc, events))

    # PROS: from the first relapse after the origin to death.
    frames.append(
        _rows(
            "PROS",
            "relapse_after_origin",
            relapse_after_t0,
            censor,
            censor_desc,
            [(death.where(death >= relapse_after_t0), 1, "death", death_flag)],
        )
    )

    # GRFS: from HSCT (origin hsct only).
    if origin == "hsct":
        relapse_after_hsct = relapse_after_t0
        acute = p["hsct_acute_gvhd_max_grade"].astype("Float64").fillna(0).to_numpy(dtype=float) >= 3
        chronic = p["hsct_chronic_gvhd"].isin(["moderate", "severe"]).to_numpy()
        end = censor.where(censor.notna(), t0)
        acute_date = (
            pd.concat([t0 + pd.Timedelta(days=rules.acute_gvhd_window_days.value), end], axis=1)
            .min(axis=1)
            .where(acute)
        )
        chronic_date = end.where(chronic)
        frames.append(
            _rows(
                "GRFS",
                "hsct",
                t0,
                censor,
                censor_desc,
                [
                    (relapse_after_hsct, 1, "relapse", flag_at(relapses, "relapse_date", relapse_after_hsct)),
                    (death.where(death >= t0), 1, "death", death_flag),
                    (acute_date.where(acute_date >= t0), 1, "grade 3-4 acute GVHD (date imputed)", "Y"),
                    (
                        chronic_date.where(chronic_date >= t0),
                        1,
                        "chronic GVHD needing systemic therapy (date imputed)",
                        "Y",
                    ),
                ],
            )
        )
    out = pd.concat(frames, ignore_index=True)
    out["STARTDT"] = pd.to_datetime(out["STARTDT"])
    out["ADT"] = pd.to_datetime(out["ADT"])
    order = {code: i for i, code in enumerate(PARAMCDS)}
    out = out.assign(_o=out["PARAMCD"].map(order)).sort_values(["patient_id", "_o"], kind="stable")
    return out.drop(columns="_o").reset_index(drop=True)[TTE_COLUMNS]
