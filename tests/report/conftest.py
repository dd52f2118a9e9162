"""Analysis datasets for the report tests.

`fake_dataset` builds an `AnalysisDataset` directly, with exactly the columns of the contract in
docs/architecture.md ("Analysis dataset"), so the report can be tested on cohorts shaped at will (no
events, one patient, empty subgroups) without the synthetic generator. `derived_dataset` goes through
`blinareg.synth` and `blinareg.derive` (the real pipeline) when those are available.
"""

from __future__ import annotations

import os
from types import MappingProxyType

import numpy as np
import pandas as pd
import pytest

os.environ.setdefault("MPLBACKEND", "Agg")

from blinareg.derive.core import PATIENT_COLUMNS as DERIVED_PATIENT_COLUMNS  # noqa: E402
from blinareg.derive.dataset import AnalysisDataset  # noqa: E402

# The contract's patient columns, in order, as derive publishes them.
PATIENT_COLUMNS = list(DERIVED_PATIENT_COLUMNS)
TTE_COLUMNS = ["patient_id", "PARAMCD", "PARAM", "ORIGIN", "STARTDT", "ADT", "AVAL", "CNSR", "EVNTDESC", "EVTCODE"]
CYCLE_COLUMNS = [
    "patient_id",
    "cycle_number",
    "phase",
    "indication",
    "start_date",
    "end_date",
    "infusion_days",
    "planned_dose_mcg",
    "delivered_dose_mcg",
    "dose_intensity",
    "interruptions",
    "early_stop_reason",
    "dose_deviations",
    "crs_max_grade",
    "neurotoxicity_events",
    "neurotoxicity_max_grade",
]
MRD_COLUMNS = [
    "patient_id",
    "assessment_date",
    "days_from_first_blinatumomab",
    "method",
    "method_group",
    "sample",
    "target",
    "fraction",
    "sensitivity",
    "status",
]
AE_COLUMNS = [
    "patient_id",
    "event_number",
    "term",
    "description",
    "grading_system",
    "grade",
    "onset_date",
    "resolution_date",
    "cycle_number",
    "serious",
    "action_taken",
    "temperature_c",
    "vasopressors",
    "vasopressin",
    "oxygen",
    "ice_score",
    "capd_score",
    "consciousness",
    "seizure",
    "motor",
    "cerebral_edema",
    "computed_grade",
]

DAY = pd.Timedelta(days=1)


def _bool(values) -> pd.Series:
    return pd.Series(values, dtype="boolean")


def fake_dataset(n: int = 60, seed: int = 1, *, events: bool = True, non_responder: str = "no_cr") -> AnalysisDataset:
    """A consistent analysis dataset of `n` patients; `events=False` gives no death, relapse or non-response."""
    rng = np.random.default_rng(seed)
    ids = [f"SYN-{i + 1:06d}" for i in range(n)]
    birth = pd.Timestamp("2005-01-01") + pd.to_timedelta(rng.integers(0, 4000, n), unit="D")
    diagnosis = birth + pd.to_timedelta(rng.integers(400, 3000, n), unit="D")
    indication = rng.choice(
        ["mrd_clearance", "chemotherapy_intolerance", "relapsed_refractory"], n, p=[0.35, 0.15, 0.5]
    )
    to_blina = np.where(indication == "relapsed_refractory", rng.integers(150, 1800, n), rng.integers(25, 400, n))
    first = diagnosis + pd.to_timedelta(to_blina, unit="D")
    relapses = np.where(indication == "relapsed_refractory", rng.choice([1, 2, 3], n, p=[0.8, 0.15, 0.05]), 0)
    status = np.array(["no_relapse", "first_relapse", "second_relapse", "third_or_later_relapse"])[relapses]
    relapsed = relapses > 0
    sites = rng.choice(
        ["BM", "CNS", "testis", "BM+CNS", "BM+testis", "BM+other EM"], n, p=[0.77, 0.02, 0.01, 0.12, 0.07, 0.01]
    )
    site_class = np.where(
        np.isin(sites, ["CNS", "testis"]),
        "isolated_extramedullary",
        np.where(sites == "BM", "isolated_marrow", "combined"),
    )
    timing = rng.choice(["very_early", "early", "late"], n)
    cycles = rng.choice([1, 2, 3, 4], n, p=[0.5, 0.25, 0.15, 0.1])
    if not events:
        cr = np.ones(n, dtype=bool)
    else:
        cr = rng.random(n) < 0.8
    bcr = rng.random(n) < 0.15
    flow_neg = cr & (rng.random(n) < 0.85)
    pcr_measured = bcr | (rng.random(n) < 0.3)
    pcr_neg = flow_neg & ~(bcr & (rng.random(n) < 0.6))
    baseline = np.where(indication == "chemotherapy_intolerance", np.nan, 10 ** rng.uniform(-4, -0.2, n))
    if not events:
        flow_neg = np.ones(n, dtype=bool)
        pcr_neg = np.ones(n, dtype=bool)
    hsct = cr & (rng.random(n) < 0.6)
    hsct_date = pd.Series(first + pd.to_timedelta(np.where(hsct, rng.integers(60, 150, n), 0), unit="D")).where(hsct)
    remission = np.where(hsct, np.where(relapsed, rng.choice(["CR2", "CR3+"], n, p=[0.85, 0.15]), "CR1"), None)
    ino = pd.Series(np.where(hsct, rng.random(n) < 0.35, False)).where(hsct).astype("boolean")
    follow = rng.integers(200, 1500, n).astype(float)
    cr_day = np.where(cr, rng.integers(25, 45, n), np.nan)
    relapse_day = np.where(cr & (rng.random(n) < 0.3) & events, cr_day + rng.integers(60, 700, n), np.nan)
    death_day = np.where(events & (rng.random(n) < 0.15), rng.integers(20, 1400, n), np.nan)
    death_day = np.where(
        np.isfinite(relapse_day) & events & (rng.random(n) < 0.6), relapse_day + rng.integers(30, 300, n), death_day
    )
    end_day = np.where(np.isfinite(death_day), death_day, np.maximum(follow, np.nan_to_num(relapse_day) + 1))
    death_day = np.where(np.isfinite(death_day), np.maximum(death_day, np.nan_to_num(relapse_day) + 1), np.nan)
    end_day = np.where(np.isfinite(death_day), death_day, end_day)

    def day(values) -> pd.Series:
        return pd.Series(first + pd.to_timedelta(np.nan_to_num(values), unit="D")).where(np.isfinite(values))

    infusion = cycles * 26 + rng.integers(-5, 3, n)
    planned = cycles * 28 * 28.0
    delivered = planned * rng.uniform(0.7, 1.0, n)
    crs = rng.choice([0, 1, 2, 3, 4], n, p=[0.5, 0.3, 0.12, 0.06, 0.02])
    icans = rng.choice([0, 1, 2, 3, 4], n, p=[0.8, 0.1, 0.05, 0.04, 0.01])
    early_stop = rng.random(n) < 0.1
    patients = pd.DataFrame(
        {
            "patient_id": ids,
            "center_id": "C1",
            "synthetic": _bool([True] * n),
            "sex": rng.choice(["female", "male"], n),
            "birth_date": birth,
            "diagnosis_date": diagnosis,
            "age_at_diagnosis_years": (diagnosis - birth).days / 365.25,
            "first_blinatumomab_date": first,
            "age_at_first_blinatumomab_years": (first - birth).days / 365.25,
            "immunophenotype": rng.choice(["B-I", "B-II", "B-III"], n),
            "genetics_bcr_abl1": _bool(bcr),
            "genetics_ph_like": _bool(rng.random(n) < 0.05),
            "genetics_kmt2a_r": _bool(rng.random(n) < 0.04),
            "genetics_etv6_runx1": _bool(rng.random(n) < 0.15),
            "genetics_tcf3_pbx1": _bool(rng.random(n) < 0.03),
            "genetics_high_hyperdiploidy": _bool(rng.random(n) < 0.2),
            "genetics_hypodiploidy": _bool(rng.random(n) < 0.02),
            "genetics_iamp21": _bool(rng.random(n) < 0.02),
            "genetics_other": _bool(rng.random(n) < 0.04),
            "relapses_before_blinatumomab": pd.Series(relapses, dtype="Int64"),
            "relapse_status_at_blinatumomab": status,
            "index_relapse_date": pd.Series(first - pd.to_timedelta(40, unit="D")).where(relapsed),
            "relapse_site_class": pd.Series(site_class, dtype=object).where(relapsed, None),
            "relapse_site_detail": pd.Series(sites, dtype=object).where(relapsed, None),
            "relapse_timing": pd.Series(timing, dtype=object).where(relapsed, None),
            "bfm_strategic_group": pd.Series(rng.choice(["S1", "S2", "S3", "S4"], n), dtype=object).where(
                relapsed, None
            ),
            "intreall_risk": pd.Series(rng.choice(["standard", "high"], n), dtype=object).where(relapsed, None),
            "indication_group": indication,
            "months_diagnosis_to_blinatumomab": to_blina / 30.4375,
            "prior_hsct": _bool(relapsed & (rng.random(n) < 0.3)),
            "baseline_mrd_fraction": baseline,
            "baseline_mrd_method": pd.Series(np.where(np.isfinite(baseline), "flow", None), dtype=object),
            "baseline_mrd_status": pd.Series(np.where(np.isfinite(baseline), "positive", None), dtype=object),
            "cycles": pd.Series(cycles, dtype="Int64"),
            "infusion_days": infusion.astype(float),
            "planned_dose_mcg": planned,
            "delivered_dose_mcg": delivered,
            "dose_intensity": delivered / planned,
            "interruptions": pd.Series(rng.choice([0, 0, 0, 1, 2], n), dtype="Int64"),
            "early_stop": _bool(early_stop),
            "early_stop_reason": pd.Series(
                np.where(early_stop, rng.choice(["toxicity", "cost", "progression"], n), None), dtype=object
            ),
            "dose_deviations": pd.Series(rng.choice([0, 0, 1], n), dtype="Int64"),
            "cr_after_cycle1": _bool(cr),
            "best_response": np.where(cr, "cr", "no_response"),
            "cr_achieved": _bool(cr),
            "cr_date": day(cr_day),
            "mrd_negative_after_cycle1_flow": _bool(flow_neg),
            "mrd_negative_after_cycle1_pcr": pd.Series(pcr_neg, dtype="boolean").where(pcr_measured),
            "mrd_negative_best_flow": _bool(flow_neg),
            "mrd_negative_best_pcr": pd.Series(pcr_neg, dtype="boolean").where(pcr_measured),
            "complete_mrd_response": _bool(flow_neg & (pcr_neg | ~pcr_measured)),
            "responder": _bool(cr if non_responder == "no_cr" else flow_neg & (pcr_neg | ~pcr_measured)),
            "crs_max_grade": pd.Series(crs, dtype="Int64"),
            "icans_max_grade": pd.Series(icans, dtype="Int64"),
            "neurotoxicity_max_grade": pd.Series(
                np.maximum(icans, rng.choice([0, 1, 2], n, p=[0.8, 0.15, 0.05])), dtype="Int64"
            ),
            "grade3plus_any": _bool((crs >= 3) | (icans >= 3)),
            "hsct_after_blinatumomab": _bool(hsct),
            "hsct_date": hsct_date,
            "hsct_remission_status": pd.Series(remission, dtype=object),
            "hsct_donor_type": pd.Series(np.where(hsct, "haploidentical", None), dtype=object),
            "inotuzumab_before_hsct": ino,
            "relapse_after_origin_date": day(relapse_day),
            "death_date": day(death_day),
            "death_cause": pd.Series(
                np.where(
                    np.isfinite(death_day), np.where(np.isfinite(relapse_day), "relapse_progression", "infection"), None
                ),
                dtype=object,
            ),
            "last_contact_date": day(end_day),
            "vital_status": np.where(np.isfinite(death_day), "dead", "alive"),
        }
    )[PATIENT_COLUMNS]

    tte_rows = []
    for i, pid in enumerate(ids):
        died = np.isfinite(death_day[i])
        rel = np.isfinite(relapse_day[i])
        end = float(end_day[i])

        def row(param, start_day, stop_day, cnsr, evtcode, desc):
            tte_rows.append(
                {
                    "patient_id": pid,
                    "PARAMCD": param,
                    "PARAM": param,
                    "ORIGIN": "first_blinatumomab",
                    "STARTDT": first[i] + start_day * DAY,
                    "ADT": first[i] + stop_day * DAY,
                    "AVAL": float(stop_day - start_day),
                    "CNSR": cnsr,
                    "EVNTDESC": desc,
                    "EVTCODE": evtcode,
                }
            )

        row("OS", 0, end, 0 if died else 1, 1 if died else 0, "death" if died else "censored")
        if not cr[i]:
            row("EFS", 0, 0, 0, 1, "no complete remission")
        else:
            stop = relapse_day[i] if rel else end
            ev = rel or died
            row("EFS", 0, stop, 0 if ev else 1, 1 if ev else 0, "relapse or death" if ev else "censored")
            start = cr_day[i]
            row("DFS", start, stop, 0 if ev else 1, 1 if ev else 0, "relapse or death" if ev else "censored")
            code = 1 if rel else (2 if died else 0)
            row("CIR", start, stop, 0 if code == 1 else 1, code, "relapse")
            code_nrm = 1 if (died and not rel) else (2 if rel else 0)
            row("NRM", start, stop, 0 if code_nrm == 1 else 1, code_nrm, "death without relapse")
        if rel:
            row("PROS", relapse_day[i], end, 0 if died else 1, 1 if died else 0, "death after relapse")
    tte = pd.DataFrame(tte_rows, columns=TTE_COLUMNS)
    tte["CNSR"] = tte["CNSR"].astype(int)
    tte["EVTCODE"] = tte["EVTCODE"].astype(int)

    cycle_rows = []
    for i, pid in enumerate(ids):
        for c in range(1, int(cycles[i]) + 1):
            start = first[i] + (c - 1) * 42 * DAY
            cycle_rows.append(
                {
                    "patient_id": pid,
                    "cycle_number": c,
                    "phase": "induction" if c <= 2 else "consolidation",
                    "indication": "relapsed_refractory",
                    "start_date": start,
                    "end_date": start + 27 * DAY,
                    "infusion_days": 28.0,
                    "planned_dose_mcg": 28 * 28.0,
                    "delivered_dose_mcg": 28 * 26.0,
                    "dose_intensity": 26 / 28,
                    "interruptions": int(rng.random() < 0.1),
                    "early_stop_reason": "toxicity" if (c == cycles[i] and early_stop[i]) else None,
                    "dose_deviations": 0,
                    "crs_max_grade": int(crs[i]) if c == 1 else 0,
                    "neurotoxicity_events": int(rng.random() < 0.1),
                    "neurotoxicity_max_grade": int(icans[i]) if c == 1 else 0,
                }
            )
    cycle_frame = pd.DataFrame(cycle_rows, columns=CYCLE_COLUMNS)

    mrd_rows = []
    for i, pid in enumerate(ids):
        if np.isfinite(baseline[i]):
            mrd_rows.append(
                {
                    "patient_id": pid,
                    "assessment_date": first[i] - 5 * DAY,
                    "days_from_first_blinatumomab": -5,
                    "method": "flow",
                    "method_group": "flow",
                    "sample": "BM",
                    "target": None,
                    "fraction": baseline[i],
                    "sensitivity": 1e-4,
                    "status": "positive",
                }
            )
        neg = bool(flow_neg[i])
        mrd_rows.append(
            {
                "patient_id": pid,
                "assessment_date": first[i] + 29 * DAY,
                "days_from_first_blinatumomab": 29,
                "method": "flow",
                "method_group": "flow",
                "sample": "BM",
                "target": None,
                "fraction": 0.0 if neg else 1e-3,
                "sensitivity": 1e-4,
                "status": "negative" if neg else "positive",
            }
        )
        if pcr_measured[i]:
            neg = bool(pcr_neg[i])
            mrd_rows.append(
                {
                    "patient_id": pid,
                    "assessment_date": first[i] + 29 * DAY,
                    "days_from_first_blinatumomab": 29,
                    "method": "rt_qpcr_fusion",
                    "method_group": "pcr",
                    "sample": "BM",
                    "target": "BCR::ABL1",
                    "fraction": 0.0 if neg else 5e-4,
                    "sensitivity": 1e-5,
                    "status": "negative" if neg else "positive",
                }
            )
    mrd = pd.DataFrame(mrd_rows, columns=MRD_COLUMNS)

    ae_rows = []
    for i, pid in enumerate(ids):
        number = 0
        for term, grade in (("crs", int(crs[i])), ("icans", int(icans[i]))):
            if grade > 0:
                number += 1
                ae_rows.append(
                    {
                        "patient_id": pid,
                        "event_number": number,
                        "term": term,
                        "grading_system": "astct",
                        "grade": grade,
                        "onset_date": first[i] + 2 * DAY,
                        "cycle_number": 1,
                        "serious": grade >= 3,
                        "action_taken": "interrupted" if grade == 3 else ("discontinued" if grade == 4 else "none"),
                        "computed_grade": grade,
                    }
                )
        if rng.random() < 0.4:
            number += 1
            ae_rows.append(
                {
                    "patient_id": pid,
                    "event_number": number,
                    "term": "fever",
                    "grading_system": "ctcae_v5",
                    "grade": 1,
                    "onset_date": first[i] + 1 * DAY,
                    "cycle_number": 1,
                    "serious": False,
                    "action_taken": "none",
                    "computed_grade": None,
                }
            )
    ae = pd.DataFrame(ae_rows, columns=AE_COLUMNS)

    metadata = MappingProxyType(
        {
            "origin": "first_blinatumomab",
            "non_responder": non_responder,
            "as_of": None,
            "conventions": ["EFS: failure to achieve CR is an event at day 0."],
            "unconfirmed_rules": [],
        }
    )
    return AnalysisDataset(patients.reset_index(drop=True), tte, cycle_frame, mrd, ae, metadata)


def one_patient_dataset() -> AnalysisDataset:
    return fake_dataset(n=1, seed=5)


@pytest.fixture(scope="session")
def dataset() -> AnalysisDataset:
    return fake_dataset(n=80, seed=3)


@pytest.fixture(scope="session")
def no_event_dataset() -> AnalysisDataset:
    return fake_dataset(n=12, seed=4, events=False)
