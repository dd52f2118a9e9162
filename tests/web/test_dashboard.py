"""The cohort dashboard's numbers on a four-patient registry whose answers were worked out by hand.

P1 relapsed/refractory: blinatumomab 1 Feb 2020, CR after cycle 1, flow MRD not detected, CRS grade 2,
   alive at 1 Feb 2022 (731 days).
P2 relapsed/refractory: blinatumomab 1 Apr 2020, no response, flow MRD 5% detected, CRS grade 1,
   died 1 Aug 2020 (122 days).
P3 MRD clearance: blinatumomab 1 Jan 2021, CR after cycle 1 (28 Jan), flow MRD not detected, ICANS
   grade 3, relapse 1 Jul 2021 (181 days after the first blinatumomab), died 1 Dec 2021 (334 days).
P4 MRD clearance: blinatumomab 1 Jun 2021, CR after cycle 1 (28 Jun), no MRD, alive 1 Jan 2023.

By hand: accrual 2020: 2, 2021: 2. CR 3/4; exact 95% CI: upper = 0.975^(1/4) (x = n - 1), lower solves
4p^3 - 3p^4 = 0.025 (P(X >= 3) for X ~ Bin(4, p)). CRS max grade: 0, 0, 1, 2 -> grade 1: 1, grade 2: 1,
any 2/4; ICANS grade 3: 1. OS (Kaplan-Meier): 4 at risk, death at 122 d -> 0.75; 3 at risk, death at
334 d -> 0.5; then censored. CIR (patients in CR: P1 from its CR on 28 Feb 2020; P3 and P4, treated for
MRD in hematological CR, from their first blinatumomab): relapse of P3 at 181 d among 3 -> 1/3.
"""

from __future__ import annotations

import datetime as dt
import threading
import time

import pytest

from blinareg.web.dashboard import DashboardCache, accrual_by_year, compute_dashboard
from tests.derive.factories import adverse, build, course, mrd, person, relapse, response

D = dt.date
DAYS_PER_MONTH = 365.25 / 12


def hand_registry():
    return build(
        person("P1", last_contact=D(2022, 2, 1)),
        relapse("P1", 1, D(2020, 1, 1)),
        course("P1", D(2020, 2, 1)),
        response("P1", D(2020, 2, 28), "cr", cycle=1),
        mrd("P1", D(2020, 2, 28)),
        adverse("P1", 1, "crs", 2, D(2020, 2, 2), cycle=1),
        person("P2", death=D(2020, 8, 1)),
        relapse("P2", 1, D(2020, 3, 1)),
        course("P2", D(2020, 4, 1)),
        response("P2", D(2020, 4, 28), "no_response", cycle=1),
        mrd("P2", D(2020, 4, 28), fraction=0.05),
        adverse("P2", 1, "crs", 1, D(2020, 4, 2), cycle=1),
        person("P3", death=D(2021, 12, 1)),
        course("P3", D(2021, 1, 1), intent="mrd_clearance", indication="mrd_positive"),
        response("P3", D(2021, 1, 28), "cr", cycle=1),
        mrd("P3", D(2021, 1, 28)),
        adverse("P3", 1, "icans", 3, D(2021, 1, 5), cycle=1),
        relapse("P3", 1, D(2021, 7, 1)),
        person("P4", last_contact=D(2023, 1, 1)),
        course("P4", D(2021, 6, 1), intent="mrd_clearance", indication="mrd_positive"),
        response("P4", D(2021, 6, 28), "cr", cycle=1),
    )


@pytest.fixture(scope="module")
def board():
    return compute_dashboard(hand_registry(), [("C1", 2, 1)])


def _exact_lower_3_of_4() -> float:
    low, high = 0.0, 1.0
    for _ in range(80):  # bisection on P(X >= 3) = 4p^3 - 3p^4, increasing in p
        mid = (low + high) / 2
        low, high = (mid, high) if 4 * mid**3 - 3 * mid**4 < 0.025 else (low, mid)
    return (low + high) / 2


def test_patients_accrual_and_indication(board):
    assert board.n_patients == 4 and board.treated == 4
    assert board.accrual == ((2020, 2, 2), (2021, 2, 4))
    assert dict((level, n) for level, n, _ in board.indication) == {"relapsed_refractory": 2, "mrd_clearance": 2}


def test_response_rate_with_its_exact_interval(board):
    cr = next(r for r in board.response if r.label.startswith("CR/CRh/CRi (best"))
    assert (cr.x, cr.n, cr.proportion) == (3, 4, 0.75)
    assert cr.upper == pytest.approx(0.975**0.25, abs=1e-9)
    assert cr.lower == pytest.approx(_exact_lower_3_of_4(), abs=1e-9)
    flow = next(r for r in board.response if r.label == "MRD negative (best), flow")
    assert (flow.x, flow.n) == (2, 3)  # P1 and P3 not detected, P2 detected, P4 not measured


def test_crs_and_icans_by_maximum_grade(board):
    crs = {row.grade: row.n for row in board.crs}
    assert crs[1] == 1 and crs[2] == 1 and crs.get(3, 0) == 0
    assert (board.crs_any.x, board.crs_any.n) == (2, 4)
    icans = {row.grade: row.n for row in board.icans}
    assert icans[3] == 1 and (board.icans_any.x, board.icans_any.n) == (1, 4)


def test_overall_survival_and_relapse_incidence_curves(board):
    curves = {c.kind: c for c in board.curves}
    os_curve, cir = curves["km"], curves["cif"]
    assert (os_curve.n, os_curve.events) == (4, 2)
    steps = dict(zip(os_curve.months, os_curve.estimate))
    assert steps[0.0] == 1.0
    assert steps[round(122 / DAYS_PER_MONTH, 3)] == pytest.approx(0.75)
    assert steps[round(334 / DAYS_PER_MONTH, 3)] == pytest.approx(0.5)
    assert (cir.n, cir.events) == (3, 1)
    incidence = dict(zip(cir.months, cir.estimate))
    assert incidence[round(181 / DAYS_PER_MONTH, 3)] == pytest.approx(1 / 3)
    assert max(cir.estimate) == pytest.approx(1 / 3)


def test_completeness_and_queries(board):
    rows = {r.record_type: r for r in board.completeness}
    assert (rows["death"].records, rows["death"].patients, rows["death"].patients_percent) == (2, 2, 50.0)
    assert (rows["mrd_assessment"].patients, rows["relapse"].records) == (3, 3)
    assert rows["hsct"].records == 0 and rows["hsct"].cells_filled_percent is None
    assert board.queries == (("C1", 2, 1),)


def test_accrual_fills_years_without_patients():
    import pandas as pd

    dates = pd.Series(pd.to_datetime(["2019-05-01", "2021-01-01", "2021-03-01", None]))
    assert accrual_by_year(dates) == ((2019, 1, 1), (2020, 0, 1), (2021, 2, 3))


def test_cache_computes_once_per_key_and_again_after_a_change(board):
    cache, calls = DashboardCache(), []

    def compute():
        calls.append(1)
        time.sleep(0.05)
        return board

    centers = frozenset({"C1"})
    threads = [threading.Thread(target=cache.get, args=(centers, 7, compute)) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(calls) == 1  # eight concurrent views, one computation
    assert cache.get(centers, 7, compute) is board and len(calls) == 1
    cache.get(centers, 8, compute)  # the registry changed
    assert len(calls) == 2
    cache.get(frozenset({"C1", "C2"}), 8, compute)  # another center set
    assert len(calls) == 3


def test_step_chart_draws_steps_and_merges_those_a_pixel_cannot_tell_apart():
    import re

    import numpy as np

    from blinareg.web.charts import Curve, step_chart

    small = step_chart([Curve("OS", [0.0, 10.0, 20.0], [1.0, 0.75, 0.5])], x_label="months", y_label="survival")
    # Plot from x 48 to 448 over 20 months, y 12 (100%) to 220 (0%): a drop at 10 and at 20 months.
    assert re.search(r'<polyline points="([^"]*)"', small).group(1) == (
        "48.0,12.0 248.0,12.0 248.0,64.0 448.0,64.0 448.0,116.0"
    )
    assert "<title>OS: 75.0% at 10.0 months</title>" in small
    times = np.sort(np.random.default_rng(1).uniform(0, 80, 5000))
    large = step_chart([Curve("OS", [0.0, *times], np.linspace(1, 0.4, 5001))], x_label="m", y_label="s")
    points = re.search(r'<polyline points="([^"]*)"', large).group(1).split(" ")
    assert len(points) <= 2 * 401 and len(large) < 40_000  # one column per pixel, not 10,000 points
