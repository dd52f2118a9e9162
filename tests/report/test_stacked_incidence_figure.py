"""The stacked relapse / non-relapse mortality figure draws the Aalen-Johansen estimates of R cmprsk.

tests/reference/stacked_cif.json (make_reference_stacked_cif.R): three hand-made cohorts ending with a
relapse of the last subject at risk, with a relapse and an NRM death tied at the last time, and with a
censoring. At each time the top of the stack is relapse + NRM = 1 - S(t) (S: all-cause Kaplan-Meier): it
legitimately reaches 100% when no one is left event-free, as tidycmprsk::ggcuminc's curves do; it is
not a step drawn past the data (the curves end at the last time).
"""

import json
from pathlib import Path

import numpy as np
import pytest

from blinareg.report.analyses import CurveGroup, CurveSet
from blinareg.report.config import DAYS_PER_MONTH
from blinareg.report.figures import competing_risks_figure
from blinareg.stats import cumulative_incidence

REFERENCE = json.loads((Path(__file__).resolve().parents[1] / "reference" / "stacked_cif.json").read_text())
COHORTS = ("last_relapse", "last_tied", "last_censored")


def _curves(case: dict, cause: int, endpoint: str) -> CurveSet:
    time = np.asarray(case["time"], dtype=float)
    code = np.asarray(case["cause"], dtype=int)
    group = CurveGroup(
        "All patients",
        n=time.size,
        events=int((code == cause).sum()),
        result=cumulative_incidence(time, code, cause=cause),
        times=time,
        censored=code == 0,
    )
    return CurveSet(f"{endpoint.lower()}_overall", endpoint, "cif", endpoint, (group,))


def _stack(name: str):
    case = REFERENCE[name]
    figure = competing_risks_figure(_curves(case, 1, "CIR"), _curves(case, 2, "NRM"))
    ax = figure.axes[0]
    top = next(line for line in ax.lines if line.get_gid() == "either_event")  # the upper line
    return case, ax, np.asarray(top.get_xdata(), dtype=float), np.asarray(top.get_ydata(), dtype=float)


@pytest.mark.parametrize("name", COHORTS)
def test_top_of_the_stack_is_relapse_plus_nrm_of_cmprsk_at_every_time(name):
    case, _, months, top = _stack(name)
    times = np.asarray(case["times"], dtype=float)
    np.testing.assert_allclose(months, np.r_[0.0, times / DAYS_PER_MONTH], rtol=1e-12)
    expected = np.asarray(case["relapse"]) + np.asarray(case["nrm"])
    np.testing.assert_allclose(top, np.r_[0.0, expected], rtol=1e-10, atol=1e-12)
    # Aalen-Johansen: relapse + NRM = 1 - all-cause Kaplan-Meier (R survival), at every time.
    np.testing.assert_allclose(top[1:], 1.0 - np.asarray(case["survival"]), rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize(("name", "last"), [("last_relapse", 1.0), ("last_tied", 1.0), ("last_censored", None)])
def test_the_stack_reaches_100_percent_only_when_no_one_is_left_event_free(name, last):
    case, ax, months, top = _stack(name)
    if last is None:  # last subject censored: flat at 1 - S(t) < 1 up to the last follow-up time
        last = 1.0 - case["survival"][-1]
        assert last < 1.0 and top[-2] == pytest.approx(last)
    assert top[-1] == pytest.approx(last)
    assert top.max() == pytest.approx(last)
    # The curve ends at the last observed time; the axis adds only its 1% margin.
    assert months[-1] == pytest.approx(max(case["time"]) / DAYS_PER_MONTH)
    assert ax.get_xlim()[1] == pytest.approx(months[-1] * 1.01)
    assert ax.get_ylim()[1] == pytest.approx(1.0 if last > 0.9 else np.ceil((last + 0.05) * 10) / 10)


@pytest.mark.parametrize("name", COHORTS)
def test_relapse_line_is_the_relapse_incidence_up_to_its_last_step(name):
    case, ax, months, _ = _stack(name)
    relapse = next(line for line in ax.lines if line.get_gid() == "relapse")
    np.testing.assert_allclose(relapse.get_xdata(), months, rtol=1e-12)
    # A step at the last time has no width to fill: the line shows it (0.351 -> 0.557 in last_relapse).
    np.testing.assert_allclose(relapse.get_ydata(), np.r_[0.0, case["relapse"]], rtol=1e-10, atol=1e-12)
    relapse_band = ax.collections[0].get_paths()[0].vertices
    # fill_between(step="post") traces the upper edge of the relapse band through every (time, relapse) step.
    for t, value in zip(np.asarray(case["times"], dtype=float)[:-1] / DAYS_PER_MONTH, case["relapse"][:-1]):
        on_time = np.isclose(relapse_band[:, 0], t)
        assert np.isclose(relapse_band[on_time, 1], value).any(), (t, value)


@pytest.mark.parametrize(("name", "noted"), [("last_relapse", True), ("last_tied", True), ("last_censored", False)])
def test_caption_says_why_the_curves_end_at_100_percent(name, noted):
    from blinareg.report.analyses import Analysis
    from blinareg.report.figures import build_figures

    case = REFERENCE[name]
    analysis = Analysis(
        results=_minimal_results(),
        curves={"cir_overall": _curves(case, 1, "CIR"), "nrm_overall": _curves(case, 2, "NRM")},
    )
    spec = next(f for f in build_figures(analysis) if f.key == "figure_competing_risks")
    note = "At 12.0 months the last patients at risk had an event"
    assert (note in spec.caption) is noted, spec.caption


def _minimal_results():
    """The typed results of a report with no section but outcomes (build_figures reads only a few fields)."""
    from blinareg.report import ReportConfig, build_report

    from .conftest import fake_dataset

    return build_report(fake_dataset(n=20, seed=1), ReportConfig(sections=frozenset({"outcomes"}))).typed
