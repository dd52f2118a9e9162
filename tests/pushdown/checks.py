"""Shared data and checks of the push-down tests: a synthetic ADaM export, a hand-made ADTTE, and the
comparison of an engine's counts and estimates with the in-memory ones."""

from __future__ import annotations

import numpy as np
import pandas as pd

from blinareg.exchange.adam import dataset_csv
from blinareg.pushdown.counting import CountRequest, count_in_memory, sorted_counts
from blinareg.pushdown.engines import Counts
from blinareg.pushdown.estimate import finish
from blinareg.stats import cumulative_incidence, gray_test, kaplan_meier, logrank_test

TOLERANCE = {"rtol": 1e-12, "atol": 1e-12}
KM_FIELDS = ("time", "n_at_risk", "n_events", "n_censored", "survival", "std_err", "lower", "upper")
CIF_FIELDS = ("time", "estimate", "variance", "lower", "upper")

# Requests every engine is checked on: overall, by an ADSL variable, by a flag, competing risks with strata.
REQUESTS = (
    CountRequest("OS"),
    CountRequest("OS", by="INDGRP"),
    CountRequest("EFS", by="CRFL"),
    CountRequest("CIR", competing=True, by="SEX", strata="INDGRP"),
    CountRequest("NRM", competing=True),
)


def synthetic_adam(n: int = 300, seed: int = 3) -> tuple[pd.DataFrame, pd.DataFrame]:
    """ADTTE and ADSL of a synthetic registry, as `blinareg export --format adam` builds them."""
    from blinareg.derive import derive
    from blinareg.exchange.adam import adam_datasets
    from blinareg.synth import generate

    registry = generate(n, seed=seed)
    frames = adam_datasets(registry, derive(registry))
    return frames["ADTTE"], frames["ADSL"]


def hand_adtte() -> tuple[pd.DataFrame, pd.DataFrame]:
    """Six patients, OS only: ties at day 10 (an event and a censoring), one patient without ARM."""
    adtte = pd.DataFrame(
        {
            "USUBJID": ["P1", "P2", "P3", "P4", "P5", "P6"],
            "PARAMCD": ["OS"] * 6,
            "AVAL": [10.0, 10.0, 10.0, 25.5, 40.0, 7.0],
            "CNSR": [0, 0, 1, 0, 1, 0],
            "EVTCODE": [1, 1, 0, 1, 0, 1],
        }
    )
    adsl = pd.DataFrame({"USUBJID": ["P1", "P2", "P3", "P4", "P5", "P6"], "ARM": ["A", "B", "A", "A", "B", None]})
    return adtte, adsl


# Hand-counted: by ARM, P6 (no ARM) left out; A has the event and the censoring at 10 and the event at 25.5.
HAND_COUNTS_BY_ARM = pd.DataFrame(
    {
        "stratum": ["all"] * 5,
        "group": ["A", "A", "A", "B", "B"],
        "time": [10.0, 10.0, 25.5, 10.0, 40.0],
        "status": [0, 1, 1, 1, 0],
        "n": [1, 1, 1, 1, 1],
    }
)


def write_files(folder, adtte: pd.DataFrame, adsl: pd.DataFrame) -> dict[str, tuple]:
    """ADTTE and ADSL as Parquet and as CSV (the ADaM export's text)."""
    files = {}
    # Microsecond timestamps, as data lakes write them (Spark does not read pandas' nanoseconds).
    adtte.to_parquet(folder / "adtte.parquet", coerce_timestamps="us")
    adsl.to_parquet(folder / "adsl.parquet", coerce_timestamps="us")
    files["parquet"] = (folder / "adtte.parquet", folder / "adsl.parquet")
    if "STUDYID" in adtte.columns:
        (folder / "adtte.csv").write_text(dataset_csv("ADTTE", adtte), encoding="utf-8")
        (folder / "adsl.csv").write_text(dataset_csv("ADSL", adsl), encoding="utf-8")
    else:
        adtte.to_csv(folder / "adtte.csv", index=False)
        adsl.to_csv(folder / "adsl.csv", index=False)
    files["csv"] = (folder / "adtte.csv", folder / "adsl.csv")
    return files


def assert_counts_equal(counts: Counts, request: CountRequest, adtte: pd.DataFrame, adsl: pd.DataFrame) -> None:
    """The engine's counts are exactly those of pandas (same keys, same numbers; float times bit for bit)."""
    pd.testing.assert_frame_equal(sorted_counts(counts.frame), sorted_counts(count_in_memory(request, adtte, adsl)))


def _patient_rows(request: CountRequest, adtte: pd.DataFrame, adsl: pd.DataFrame) -> pd.DataFrame:
    rows = adtte[adtte["PARAMCD"] == request.endpoint]
    wanted = [v for v in request.variables() if v not in rows.columns]
    if wanted:
        rows = rows.merge(adsl[["USUBJID", *wanted]], on="USUBJID")
    for variable in request.variables():
        rows = rows[rows[variable].notna()]
    return rows


def assert_estimates_equal(counts: Counts, request: CountRequest, adtte: pd.DataFrame, adsl: pd.DataFrame) -> None:
    """Curves per group and the test, finished from the counts, equal the patient-level estimators to 1e-12."""
    estimate = finish(request, counts)
    rows = _patient_rows(request, adtte, adsl)
    time = rows["AVAL"].to_numpy(dtype=float)
    labels = rows[request.by].astype(str).to_numpy() if request.by else np.full(time.size, "all")
    strata = None if request.strata is None else rows[request.strata].astype(str).to_numpy()
    if request.competing:
        code = rows["EVTCODE"].to_numpy(dtype=int)
    else:
        code = (rows["CNSR"].to_numpy(dtype=int) == 0).astype(int)
    assert sorted(estimate.curves) == sorted(set(labels.tolist()))
    for label, curve in estimate.curves.items():
        members = labels == label
        if request.competing:
            expected = cumulative_incidence(time[members], code[members], cause=1)
            fields = CIF_FIELDS
        else:
            expected = kaplan_meier(time[members], code[members])
            fields = KM_FIELDS
        for name in fields:
            np.testing.assert_allclose(getattr(curve, name), getattr(expected, name), err_msg=name, **TOLERANCE)
    if request.by is None:
        assert estimate.test is None
        return
    if request.competing:
        test = gray_test(time, code, labels, cause=1, strata=strata)
        np.testing.assert_allclose(estimate.test.score, test.score, **TOLERANCE)
    else:
        test = logrank_test(time, code, labels, strata=strata)
        np.testing.assert_allclose(estimate.test.observed, test.observed, **TOLERANCE)
        np.testing.assert_allclose(estimate.test.expected, test.expected, **TOLERANCE)
    np.testing.assert_allclose(estimate.test.variance, test.variance, **TOLERANCE)
    np.testing.assert_allclose(estimate.test.statistic, test.statistic, **TOLERANCE)
    np.testing.assert_allclose(estimate.test.p_value, test.p_value, **TOLERANCE)
