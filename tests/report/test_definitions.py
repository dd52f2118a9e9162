"""Clinical definitions of the report on small hand-made inputs (the right answer worked out in the comments)."""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd

from blinareg.report import ReportConfig, build_report
from blinareg.report.analyses import _adverse_events, _applicable, counts

from .conftest import fake_dataset


def test_classification_rows_separate_not_applicable_from_unknown():
    # Five patients: CR1 (no relapse), first relapse classified high risk, first relapse with the risk group
    # not recorded, second relapse, status unknown. IntReALL classifies a first relapse only:
    #   classifiable = patients 2, 3 (first relapse) and 5 (status unknown, may be first relapse) -> applicable
    #   not applicable = patient 1 (CR1) and patient 4 (second relapse) -> 2
    #   unknown = patients 3 and 5 -> 2; known = patient 2 -> 'high' 1/1 = 100% of classifiable, 1/5 = 20% of all.
    p = pd.DataFrame(
        {
            "relapse_status_at_blinatumomab": ["no_relapse", "first_relapse", "first_relapse", "second_relapse", None],
            "intreall_risk": [None, "high", None, None, None],
        }
    )
    block = counts(p["intreall_risk"], "intreall_risk", applicable=_applicable(p, "intreall_risk"))
    assert (block.denominator, block.total, block.not_applicable, block.unknown) == (1, 5, 2, 2)
    high = next(level for level in block.levels if level.level == "high")
    assert (high.n, high.percent, high.percent_of_all) == (1, 100.0, 20.0)
    assert block.not_applicable_reason == "not applicable (no relapse / not first relapse)"


def test_table1_has_a_not_applicable_row_with_the_percentage_of_all():
    report = build_report(fake_dataset(n=40, seed=3), ReportConfig(sections=frozenset({"cohort"})))
    table = next(t for t in report.tables if t.key == "table1_cohort")
    labels = [row.label for row in table.rows]
    start = labels.index("IntReALL risk group, n/N (%)")
    block = report.typed.cohort.overall.intreall_risk
    rows = table.rows[start + 1 : start + 1 + len(block.levels) + 2]
    assert any(r.label == "Not applicable (no relapse / not first relapse)" for r in rows)
    first = rows[0]
    assert f"/{block.denominator} (" in first.cells[0] and "% of all" in first.cells[0]


def test_adverse_events_count_only_treatment_emergent_events():
    # Three events of patient A; the one flagged not treatment-emergent (before the first infusion) is left
    # out and counted apart: 2 events in the table, 1 outside the window.
    ae = pd.DataFrame(
        {
            "patient_id": ["A", "A", "A"],
            "term": ["crs", "infection", "infection"],
            "grade": [2, 3, 2],
            "computed_grade": [2, np.nan, np.nan],
            "cycle_number": [1, 1, np.nan],
            "action_taken": ["none", "none", "none"],
            "treatment_emergent": [True, True, False],
        }
    )
    cycles = pd.DataFrame({"patient_id": ["A"], "cycle_number": [1]})
    result = _adverse_events(ae, 1, cycles, 0.95, "first infusion to 30 days after the last")
    assert result.events == 2 and result.outside_window == 1
    assert result.window == "treatment-emergent"
    infection = next(t for t in result.by_term if t.term == "infection")
    assert infection.events == 1 and infection.patients_grade3plus == 1


def test_a_comparison_runs_only_when_the_variable_was_recorded_often_enough():
    dataset = fake_dataset(n=60, seed=5)
    p = dataset.patients.copy()
    hsct = p["hsct_remission_status"].notna()
    # Keep the remission status of 2 transplanted patients only: far below the 50% threshold.
    keep = p.index[hsct][:2]
    p.loc[hsct & ~p.index.isin(keep), "hsct_remission_status"] = None
    sparse = dataclasses.replace(dataset, patients=p)
    report = build_report(sparse, ReportConfig(sections=frozenset({"outcomes"})))
    comparison = report.typed.outcomes.comparisons["remission_status_at_hsct"]
    assert comparison.note.startswith("not run: remission status at HSCT recorded in")
    assert "comparison_min_recorded" in comparison.note and not comparison.endpoints
    lenient = build_report(sparse, ReportConfig(sections=frozenset({"outcomes"}), comparison_min_recorded=0.0))
    assert lenient.typed.outcomes.comparisons["remission_status_at_hsct"].endpoints


def test_an_empty_group_is_not_drawn():
    dataset = fake_dataset(n=40, seed=11)
    config = ReportConfig.from_toml_mapping(
        {
            "comparisons": [
                {
                    "name": "Empty",
                    "variable": "indication_group",
                    "groups": {"A": ["bridging_to_hsct"], "B": ["mrd_clearance"]},
                    "endpoints": ["OS"],
                }
            ],
            "comparison_min_recorded": 0,
        }
    )
    report = build_report(dataset, config)
    curves = report.analysis.curves["os_empty"]
    assert [g.label for g in curves.groups] == ["B"]
    assert report.typed.outcomes.comparisons["empty"].endpoints["OS"].groups["A"].n == 0


def test_dose_steps_are_summarised_per_unit_and_relapses_by_salvage():
    # Two patients, cycle 1 induction step 1: A planned/delivered 9 mcg/day; B planned/delivered 5 mcg/m2/day.
    # The units are never mixed: two rows, each with its own median (9 and 5).
    from blinareg.report.analyses import _dose_steps

    frame = pd.DataFrame(
        {
            "patient_id": ["A", "A", "B", "B"],
            "cycle_number": [1, 1, 1, 1],
            "phase": ["induction"] * 4,
            "kind": ["planned", "delivered", "planned", "delivered"],
            "step": [1, 1, 1, 1],
            "start_day": [1] * 4,
            "days": [7, 7, 7, 6],
            "daily_dose": [9.0, 9.0, 5.0, 5.0],
            "unit": ["mcg/day", "mcg/day", "mcg/m2/day", "mcg/m2/day"],
        }
    )
    steps = _dose_steps(frame)
    assert [(d.unit, d.planned_daily_dose.median, d.delivered_daily_dose.median, d.days.median) for d in steps] == [
        ("mcg/day", 9.0, 9.0, 7.0),
        ("mcg/m2/day", 5.0, 5.0, 6.0),
    ]


def test_relapse_summary_counts_cd19_and_salvage_of_relapses_after_the_origin():
    from blinareg.report.analyses import _relapses, _Subset

    dataset = fake_dataset(n=20, seed=8)
    ids = dataset.patients["patient_id"].tolist()
    # Relapse 1 of patient 0 was before the origin (left out); patients 0 and 1 relapsed after it:
    # CD19 positive + CAR-T, CD19 negative + inotuzumab -> 2 relapses, 1 CAR-T, 1 inotuzumab.
    relapses = pd.DataFrame(
        {
            "patient_id": [ids[0], ids[0], ids[1]],
            "relapse_number": [1, 2, 1],
            "after_origin": [False, True, True],
            "cd19_status": ["positive", "positive", "negative"],
            "salvage_therapy": ["chemotherapy", "car_t", "inotuzumab"],
            "marrow_blasts_pct": [80.0, 40.0, 20.0],
        }
    )
    subset = _Subset(
        dataset.patients, dataset.time_to_event, dataset.cycles, dataset.mrd, dataset.adverse_events, relapses=relapses
    )
    summary = _relapses(subset, ReportConfig(), {})
    assert (summary.relapses, summary.patients) == (2, 2)
    assert {e.level: e.n for e in summary.salvage_therapy.levels} == {"car_t": 1, "inotuzumab": 1}
    assert {e.level: e.n for e in summary.cd19_status.levels} == {"positive": 1, "negative": 1}
    assert summary.marrow_blasts_pct.median == 30.0


def test_timeline_shows_every_relapse_with_blasts_doses_and_the_year_at_the_first_tick():
    from blinareg.report import patient_timeline
    from blinareg.report.figures import _date_tick

    dataset = fake_dataset(n=5, seed=2)
    pid = dataset.patients["patient_id"].iloc[0]
    # Two relapses (40% and 85% blasts) and a two-step cycle 1 (9 then 28 mcg/day), made by hand.
    relapses = pd.DataFrame(
        {
            "patient_id": [pid, pid],
            "relapse_number": [1, 2],
            "relapse_date": pd.to_datetime(["2019-05-01", "2020-02-01"]),
            "marrow_blasts_pct": [40.0, 85.0],
        }
    )
    steps = pd.DataFrame(
        {
            "patient_id": [pid, pid],
            "cycle_number": [1, 1],
            "kind": ["delivered", "delivered"],
            "step": [1, 2],
            "start_day": [1, 8],
            "daily_dose": [9.0, 28.0],
            "unit": ["mcg/day", "mcg/day"],
        }
    )
    timeline = patient_timeline(dataclasses.replace(dataset, relapses=relapses, dose_steps=steps), pid)
    texts = [t.get_text() for ax in timeline.figure.figure.axes for t in ax.texts]
    assert "R1 40% blasts" in texts and "R2 85% blasts" in texts
    if not dataset.cycles[dataset.cycles["patient_id"] == pid].empty:
        # One unit for every cycle: the numbers under the bar, the unit once beside the lane.
        assert "9 / 28" in texts
        ticks = [t.get_text() for ax in timeline.figure.figure.axes for t in ax.get_yticklabels()]
        assert "Course\n(mcg/day)" in ticks
    import matplotlib.dates as mdates

    value = mdates.date2num(pd.Timestamp("2021-03-01"))
    assert _date_tick(value, 0) == "Mar 2021" and _date_tick(value, 3) == "Mar"


def test_timeline_shows_every_response_assessment_with_its_blasts():
    from blinareg.report import patient_timeline

    dataset = fake_dataset(n=5, seed=2)
    pid = dataset.patients["patient_id"].iloc[0]
    responses = pd.DataFrame(
        {
            "patient_id": [pid, pid, pid],
            "assessment_date": pd.to_datetime(["2019-06-01", "2019-07-15", "2019-09-01"]),
            "cycle_number": pd.array([1, 2, None], dtype="Int64"),
            "category": ["no_response", "cri", "cr"],
            "marrow_blasts_pct": [40.0, 3.5, float("nan")],
        }
    )
    timeline = patient_timeline(dataclasses.replace(dataset, responses=responses), pid)
    texts = [t.get_text() for ax in timeline.figure.figure.axes for t in ax.texts]
    assert {"NR 40%", "CRi 3.5%", "CR"} <= set(texts)
    assert timeline.data["responses"] == [
        {"assessment_date": "2019-06-01", "cycle_number": 1, "category": "no_response", "marrow_blasts_pct": 40.0},
        {"assessment_date": "2019-07-15", "cycle_number": 2, "category": "cri", "marrow_blasts_pct": 3.5},
        {"assessment_date": "2019-09-01", "cycle_number": None, "category": "cr", "marrow_blasts_pct": None},
    ]
    # The window holds every assessment.
    low, high = timeline.figure.figure.axes[0].get_xlim()
    import matplotlib.dates as mdates

    assert low <= mdates.date2num(pd.Timestamp("2019-06-01")) and mdates.date2num(pd.Timestamp("2019-09-01")) <= high


def test_dose_labels_state_a_shared_unit_once_and_mixed_units_in_full():
    from blinareg.report.figures import _dose_labels

    steps = pd.DataFrame(
        {
            "cycle_number": [1, 1, 2],
            "kind": ["delivered"] * 3,
            "step": [1, 2, 1],
            "start_day": [1, 8, 1],
            "daily_dose": [5.0, 15.0, 15.0],
            "unit": ["mcg/m2/day", "mcg/m2/day", "mcg/m2/day"],
        }
    )
    assert _dose_labels(steps, [1, 2]) == ({1: "5 / 15", 2: "15"}, "mcg/m2/day")
    mixed = steps.assign(unit=["mcg/m2/day", "mcg/m2/day", "mcg/day"])
    assert _dose_labels(mixed, [1, 2]) == ({1: "5 / 15 mcg/m2/day", 2: "15 mcg/day"}, "")
