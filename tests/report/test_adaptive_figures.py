"""Large cohorts: the swimmer plot shows a stated systematic sample above `swimmer_max_patients`, and the
censor marks of a curve are thinned above `censor_marks_max` distinct censoring times, said in the caption."""

from __future__ import annotations

import numpy as np
import pytest

from blinareg.report import ReportConfig, build_report
from blinareg.report.analyses import analyse
from blinareg.report.config import ReportConfigError
from blinareg.report.figures import censor_marks

from .conftest import fake_dataset

N = 80


@pytest.fixture(scope="module")
def dataset():
    return fake_dataset(n=N, seed=5)


def _course_patients(dataset, limit: int) -> list[str]:
    return analyse(dataset, ReportConfig(swimmer_max_patients=limit)).swimmer["patient_id"].tolist()


def test_swimmer_shows_every_patient_up_to_the_threshold(dataset):
    report = build_report(dataset, ReportConfig(swimmer_max_patients=N))
    assert report.typed.courses.selection == f"all {N} patients"
    assert len(_course_patients(dataset, N)) == N
    caption = next(f.caption for f in report.figures if f.key == "figure_swimmer")
    assert f"all {N} patients" in caption


def test_swimmer_above_the_threshold_is_a_stated_systematic_sample(dataset):
    report = build_report(dataset, ReportConfig(swimmer_max_patients=20))
    shown = _course_patients(dataset, 20)
    assert len(shown) == 20 and len(set(shown)) == 20
    expected = f"a systematic sample of 20 of {N} patients, evenly spaced over the ordering by follow-up"
    assert report.typed.courses.selection == expected
    assert expected in next(f.caption for f in report.figures if f.key == "figure_swimmer")
    # Evenly spaced over the ordering by follow-up: the longest and the shortest follow-up are both shown.
    everyone = analyse(dataset, ReportConfig(swimmer_max_patients=N)).swimmer
    assert shown[0] == everyone["patient_id"].iloc[0] and shown[-1] == everyone["patient_id"].iloc[-1]
    assert _course_patients(dataset, 20) == shown  # the same patients on every run


def test_censor_marks_up_to_the_threshold_are_every_censoring_time():
    months = np.array([3.0, 1.0, 2.0, 2.0, 5.5])
    assert censor_marks(months, 6.0, limit=4).tolist() == [1.0, 2.0, 3.0, 5.5]


def test_censor_marks_above_the_threshold_are_one_per_bin_of_the_axis():
    months = np.linspace(0.05, 9.95, 100)  # 100 distinct times over 10 months
    marks = censor_marks(months, 10.0, limit=10)
    # One mark at the middle of each tenth of the axis that holds a censoring (here: all ten).
    assert marks.tolist() == pytest.approx([0.5, 1.5, 2.5, 3.5, 4.5, 5.5, 6.5, 7.5, 8.5, 9.5])
    sparse = censor_marks(np.concatenate([months[:30], [9.9]]), 10.0, limit=10)
    assert sparse.tolist() == pytest.approx([0.5, 1.5, 2.5, 9.5])  # empty tenths get no mark
    at_the_end = censor_marks(np.append(months, 10.0), 10.0, limit=10)  # a time on the axis end: last tenth
    assert at_the_end.size == 10 and at_the_end[-1] == pytest.approx(9.5)


def _plus_marks(figure) -> int:
    return sum(line.get_xdata().size for ax in figure.axes for line in ax.get_lines() if line.get_marker() == "+")


def test_curve_captions_state_the_thinning_and_the_figures_draw_it(dataset):
    every = build_report(dataset, ReportConfig(censor_marks_max=1000))
    thinned = build_report(dataset, ReportConfig(censor_marks_max=5))
    os_every = next(f for f in every.figures if f.key == "figure_os_overall")
    os_thinned = next(f for f in thinned.figures if f.key == "figure_os_overall")
    assert "one mark per" not in os_every.caption
    assert "(one mark per 1/5 of the time axis with a censoring)" in os_thinned.caption
    assert _plus_marks(os_thinned.figure) <= 5 < _plus_marks(os_every.figure)


def test_censor_marks_threshold_is_report_config_data():
    assert ReportConfig().censor_marks_max == 200
    assert ReportConfig.from_toml_mapping({"report": {"censor_marks_max": 50}}).censor_marks_max == 50
    with pytest.raises(ReportConfigError, match="censor_marks_max"):
        ReportConfig.from_toml_mapping({"censor_marks_max": 0})
    with pytest.raises(ReportConfigError, match="censor_marks_max"):
        ReportConfig(censor_marks_max=0)
