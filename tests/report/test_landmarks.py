"""Landmarks after the last follow-up time: 0 (or the final incidence) when every patient had an event, as R's
summary(..., extend = TRUE) gives (fixture: reference/landmarks.json from reference/make_landmarks.R);
"not estimable" only where follow-up ends before the landmark with patients still event-free."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from blinareg.report.analyses import _cif, _km
from blinareg.report.config import ReportConfig

FIXTURE = json.loads((Path(__file__).parent / "reference" / "landmarks.json").read_text())
CONFIG = ReportConfig(landmarks_months=(12.0, 24.0), rmst_horizon_months=None)


def _km_rows(case):
    event = np.array(case["event"], dtype=int)
    return pd.DataFrame({"AVAL": case["time"], "CNSR": 1 - event, "EVTCODE": event})


def _cif_rows(case):
    code = np.array(case["code"], dtype=int)
    return pd.DataFrame({"AVAL": case["time"], "CNSR": (code == 0).astype(int), "EVTCODE": code})


def test_km_after_everyone_died_is_zero_as_r_extend():
    case = FIXTURE["km_all_died"]
    assert case["landmarks_days"] == [12 * 30.4375, 24 * 30.4375]
    summary, _ = _km(_km_rows(case), CONFIG)
    for point, surv, at_risk in zip(summary.landmarks, case["surv"], case["n_risk"]):
        assert point.estimate == pytest.approx(surv) == 0.0
        assert point.n_at_risk == at_risk == 0
        assert point.lower is None and point.upper is None  # R: NA (log-log undefined at 0)
        assert "every patient had an event" in point.note


def test_km_where_follow_up_ends_before_the_landmark_is_not_estimable():
    case = FIXTURE["km_last_censored"]
    summary, _ = _km(_km_rows(case), CONFIG)
    # R extends the curve (0.3) although the last patient was censored at day 300: the report refuses.
    assert case["surv"][0] == pytest.approx(0.3)
    for point in summary.landmarks:
        assert point.estimate is None and point.note.startswith("not estimable (follow-up shorter than")


def test_km_within_follow_up_equals_r():
    case = FIXTURE["km_long"]
    summary, _ = _km(_km_rows(case), CONFIG)
    for i, point in enumerate(summary.landmarks):
        assert point.estimate == pytest.approx(case["surv"][i], rel=1e-10)
        assert point.lower == pytest.approx(case["lower"][i], rel=1e-8)
        assert point.upper == pytest.approx(case["upper"][i], rel=1e-8)
        assert point.n_at_risk == case["n_risk"][i]


def test_cif_after_everyone_had_an_event_is_final_as_r_extend():
    case = FIXTURE["cif_all_events"]
    summary, _ = _cif(_cif_rows(case), CONFIG)
    # Hand check: 3 relapses among 5 patients and no censoring -> 3/5 = 0.6.
    for point, expected in zip(summary.landmarks, case["cif_cause1"]):
        assert point.estimate == pytest.approx(expected, rel=1e-12) == pytest.approx(0.6)
        assert "every patient had an event" in point.note


def test_cif_where_follow_up_ends_before_the_landmark_is_not_estimable():
    case = FIXTURE["cif_last_censored"]
    summary, _ = _cif(_cif_rows(case), CONFIG)
    for point in summary.landmarks:
        assert point.estimate is None and point.note.startswith("not estimable")
