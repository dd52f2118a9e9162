"""The ADaM export reproduces the report: R on the exported ADTTE = blinareg.stats = the report's numbers.

1. tests/reference/adam.json holds what R survival/cmprsk give on a committed ADTTE exported by blinareg
   (tests/reference/make_reference_adam.R); blinareg.stats on the same file gives the same numbers.
2. The report's results (KM, CIF, log-rank, Gray) are rebuilt from the ADTTE read back from the XPT
   file of an export, so the ADaM export alone reproduces every outcome analysis of the report.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest

from blinareg.exchange.adam import read_adam_csv, read_xpt, write_adam
from blinareg.stats import cumulative_incidence, gray_test, kaplan_meier, logrank_test

REFERENCE = Path(__file__).resolve().parents[1] / "reference"
RTOL = 1e-8


def _close(actual, expected, rtol=RTOL):
    actual = np.asarray(actual, dtype=float)
    expected = np.asarray([np.nan if v in (None, "NA") else v for v in np.atleast_1d(expected)], dtype=float)
    assert actual.shape == expected.shape
    np.testing.assert_allclose(actual, expected, rtol=rtol, atol=1e-12, equal_nan=True)


@pytest.fixture(scope="module")
def reference():
    r = json.loads((REFERENCE / "adam.json").read_text(encoding="utf-8"))
    adtte = read_adam_csv("ADTTE", REFERENCE / "data" / "adam_adtte.csv")
    adsl = read_adam_csv("ADSL", REFERENCE / "data" / "adam_adsl.csv")
    return r, adtte.merge(adsl[["USUBJID", "INDGRP"]], on="USUBJID", how="left")


def test_r_read_the_export_as_intended(reference):
    r, adtte = reference
    assert r["checks"]["rows"] == len(adtte)
    assert r["checks"]["max_abs_aval_minus_dates"] == 0  # ISO dates read by as.Date give AVAL back
    assert r["checks"]["flag_values"] == ["N", "Y"]
    assert r["checks"]["competing_flag_matches_evtcode"] is True


@pytest.mark.parametrize("code", ["OS", "EFS", "DFS", "PROS"])
def test_kaplan_meier_and_logrank_equal_r_survfit(reference, code):
    r, adtte = reference
    expected = r["km"][code]
    rows = adtte[adtte["PARAMCD"] == code]
    time = rows["AVAL"].to_numpy()
    event = (rows["CNSR"].to_numpy() == 0).astype(int)
    assert (len(rows), int(event.sum())) == (expected["n"], expected["events"])
    km = kaplan_meier(time, event)
    _close(km.time, expected["time"])
    _close(km.n_at_risk, expected["n_risk"])
    _close(km.survival, expected["surv"])
    _close(km.std_err, expected["std_err"])
    _close(km.lower, expected["lower"])
    _close(km.upper, expected["upper"])
    at = km.at(np.array(r["landmarks_days"]))
    _close(at.survival, expected["landmark_surv"])
    _close(at.lower, expected["landmark_lower"])
    _close(at.upper, expected["landmark_upper"])
    for ours, theirs in (
        (km.median, expected["median"]),
        (km.median_lower, expected["median_lower"]),
        (km.median_upper, expected["median_upper"]),
    ):
        assert (ours is None) == (theirs in (None, "NA")), (ours, theirs)
        if ours is not None:
            assert math.isclose(ours, theirs, rel_tol=RTOL)
    grouped = rows[rows["INDGRP"].notna()]
    test = logrank_test(
        grouped["AVAL"].to_numpy(),
        (grouped["CNSR"].to_numpy() == 0).astype(int),
        grouped["INDGRP"].to_numpy(dtype=object),
    )
    assert list(test.groups) == expected["logrank_groups"]
    assert math.isclose(test.statistic, expected["logrank_chisq"], rel_tol=RTOL)
    assert test.df == expected["logrank_df"]
    assert math.isclose(test.p_value, expected["logrank_p"], rel_tol=1e-6)


@pytest.mark.parametrize("code", ["CIR", "NRM"])
def test_cumulative_incidence_and_gray_equal_r_cmprsk(reference, code):
    r, adtte = reference
    expected = r["cif"][code]
    rows = adtte[adtte["PARAMCD"] == code]
    time, evtcode = rows["AVAL"].to_numpy(), rows["EVTCODE"].to_numpy().astype(int)
    assert (len(rows), int((evtcode == 1).sum()), int((evtcode == 2).sum())) == (
        expected["n"],
        expected["events"],
        expected["competing"],
    )
    cif = cumulative_incidence(time, evtcode, cause=1)
    # cuminc's step function lists each time twice (before and after the jump); its last value per time
    # is the estimate at that time.
    r_time, r_est, r_var = (np.asarray(expected[k], dtype=float) for k in ("time", "est", "var"))
    last = np.r_[r_time[1:] != r_time[:-1], True]
    at = cif.at(r_time[last])
    _close(at.estimate, r_est[last])
    _close(at.variance, r_var[last], rtol=1e-7)
    landmarks = cif.at(np.array(r["landmarks_days"]))
    _close(landmarks.estimate, expected["landmark_est"])
    _close(landmarks.variance, expected["landmark_var"], rtol=1e-7)
    grouped = rows[rows["INDGRP"].notna()]
    test = gray_test(
        grouped["AVAL"].to_numpy(),
        grouped["EVTCODE"].to_numpy().astype(int),
        grouped["INDGRP"].to_numpy(dtype=object),
        cause=1,
    )
    assert list(test.groups) == expected["gray_groups"]
    assert math.isclose(test.statistic, expected["gray_stat"], rel_tol=1e-7)
    assert test.df == expected["gray_df"]
    assert math.isclose(test.p_value, expected["gray_p"], rel_tol=1e-6)


# ---- the report from the export alone -------------------------------------------------------------


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    from blinareg.derive import derive
    from blinareg.synth import generate

    registry = generate(160, seed=21)
    dataset = derive(registry)
    out = write_adam(registry, dataset, tmp_path_factory.mktemp("adam") / "adam")
    adtte, _ = read_xpt(out / "adtte.xpt")
    adsl, _ = read_xpt(out / "adsl.xpt")
    return dataset, adtte.merge(adsl[["USUBJID", "INDGRP"]], on="USUBJID", how="left")


def test_report_outcomes_are_rebuilt_from_the_xpt_adtte(exported):
    from blinareg.report.analyses import analyse
    from blinareg.report.config import ReportConfig
    from blinareg.report.results import to_json

    dataset, adtte = exported
    config = ReportConfig(by="indication_group", comparisons=(), sections=frozenset({"outcomes"}))
    results = to_json(analyse(dataset, config).results)["outcomes"]  # as in results.json
    landmarks = np.array(config.landmarks_months) * 365.25 / 12
    checked = 0
    for code, summary in results["overall"].items():
        rows = adtte[adtte["PARAMCD"] == code]
        assert summary["n"] == len(rows)
        if summary["n"] == 0 or summary.get("events", 0) == 0:
            continue
        time = rows["AVAL"].to_numpy()
        if code in ("CIR", "NRM"):
            at = cumulative_incidence(time, rows["EVTCODE"].to_numpy().astype(int), cause=1).at(landmarks)
            ours = at.estimate
        else:
            at = kaplan_meier(time, (rows["CNSR"].to_numpy() == 0).astype(int)).at(landmarks)
            ours = at.survival
        for point, value in zip(summary["landmarks"], ours):
            if point["estimate"] is not None:
                assert math.isclose(point["estimate"], value, rel_tol=1e-12), (code, point)
                checked += 1
        test = results["by_test"][code]
        if test["statistic"] is None:
            continue
        grouped = rows[rows["INDGRP"].notna()]
        labels = grouped["INDGRP"].to_numpy(dtype=object)
        if code in ("CIR", "NRM"):
            ours_test = gray_test(
                grouped["AVAL"].to_numpy(), grouped["EVTCODE"].to_numpy().astype(int), labels, cause=1
            )
        else:
            ours_test = logrank_test(grouped["AVAL"].to_numpy(), (grouped["CNSR"].to_numpy() == 0).astype(int), labels)
        assert math.isclose(test["statistic"], ours_test.statistic, rel_tol=1e-10), code
        assert math.isclose(test["p_value"], ours_test.p_value, rel_tol=1e-10), code
        checked += 1
    assert checked >= 10  # OS, EFS, DFS, CIR, NRM landmarks and tests were all compared
