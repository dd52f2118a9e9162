"""The outcomes report: every analysis the real-world blinatumomab studies publish.

    report = build_report(dataset, ReportConfig(by="indication_group"))   # compute (no I/O)
    paths = write_report(report, "report/")                               # HTML, PDF, DOCX, JSON, figures

`build_report` computes every number once (`analyses`, from `blinareg.stats`), then formats tables
(`tables`), the results paragraph (`text`) and figures (`figures`) from those results; `write_report`
renders them (`render`). `patient_timeline` draws one patient's course with MRD on a log scale.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from blinareg.errors import UserError
from blinareg.report.analyses import Analysis, DatasetLike, analyse
from blinareg.report.config import ReportConfig, ReportConfigError
from blinareg.report.results import ReportResults
from blinareg.report.figures import FigureSpec, build_figures, patient_timeline_figure, render_figure
from blinareg.report.tables import Table, build_tables
from blinareg.report.text import results_paragraph

__all__ = [
    "Report",
    "ReportConfig",
    "ReportConfigError",
    "build_report",
    "write_report",
    "patient_timeline",
    "PatientTimeline",
    "PatientCourse",
    "patient_course",
    "write_patient_timeline",
]


@dataclass(frozen=True, eq=False)
class Report:
    """A computed report: typed results (`typed`), tables, figures and the results paragraph.

    `results` is the JSON-ready mapping of the typed results (results.json, less the text, tables and
    figure lists), kept for readers of the file's layout."""

    config: ReportConfig
    typed: ReportResults
    results: dict[str, Any]
    tables: list[Table]
    figures: list[FigureSpec]
    paragraph: str
    paragraph_keys: list[str]
    analysis: Analysis = field(repr=False)


def build_report(dataset: DatasetLike, config: ReportConfig | None = None) -> Report:
    """Compute every section of the report from an analysis dataset (no files are written)."""
    config = config or ReportConfig()
    analysis = analyse(dataset, config)
    tables = build_tables(analysis.results)
    figures = build_figures(analysis, censor_marks_max=config.censor_marks_max)
    if config.enabled("text"):
        paragraph, keys = results_paragraph(analysis.results)
    else:
        paragraph, keys = "", []
    return Report(
        config=config,
        typed=analysis.results,
        results=analysis.json(),
        tables=tables,
        figures=figures,
        paragraph=paragraph,
        paragraph_keys=keys,
        analysis=analysis,
    )


def write_report(
    report: Report, out_dir: str | Path, formats: Any = None, *, progress: Callable[[str], None] | None = None
) -> list[Path]:
    """Write report.html, report.pdf, report.docx, results.json and figures/ into `out_dir`.

    progress: called after each figure and each file (see `blinareg.report.render.report_steps`)."""
    from blinareg.report.render import write_report as _write

    return _write(report, out_dir, formats, progress=progress)


@dataclass(frozen=True)
class PatientTimeline:
    patient_id: str
    figure: FigureSpec
    data: dict[str, Any]


@dataclass(frozen=True)
class PatientCourse:
    """One patient's rows of the analysis dataset: what the timeline figure (report) and the timeline page
    (web, `blinareg.report.timeline_svg`) both draw."""

    patient_id: str
    patient: Any  # the patients row (pd.Series)
    cycles: Any
    mrd: Any
    relapses: Any  # None when the dataset has no relapses frame
    dose_steps: Any
    responses: Any
    adverse_events: Any


def patient_course(dataset: DatasetLike, patient_id: str) -> PatientCourse:
    """The patient's rows of every frame of the analysis dataset (UserError when not in it)."""
    patients = dataset.patients
    rows = patients[patients["patient_id"] == patient_id]
    if rows.empty:
        raise UserError(f"unknown patient {patient_id!r}: not in the registry")
    events = dataset.adverse_events
    return PatientCourse(
        patient_id=patient_id,
        patient=rows.iloc[0],
        cycles=dataset.cycles[dataset.cycles["patient_id"] == patient_id].sort_values("cycle_number"),
        mrd=dataset.mrd[dataset.mrd["patient_id"] == patient_id].sort_values("assessment_date"),
        relapses=_patient_rows(
            dataset, "relapses", patient_id, ("relapse_number", "relapse_date", "marrow_blasts_pct")
        ),
        dose_steps=_patient_rows(
            dataset, "dose_steps", patient_id, ("cycle_number", "kind", "step", "start_day", "daily_dose", "unit")
        ),
        responses=_patient_rows(
            dataset, "responses", patient_id, ("assessment_date", "cycle_number", "category", "marrow_blasts_pct")
        ),
        adverse_events=events[events["patient_id"] == patient_id] if "patient_id" in events.columns else events,
    )


def patient_timeline(dataset: DatasetLike, patient_id: str) -> PatientTimeline:
    """One patient's course: blinatumomab cycles, MRD per method (log scale), response assessments with
    marrow blasts, CR, HSCT, every relapse, death."""
    import pandas as pd

    course = patient_course(dataset, patient_id)
    patient, cycles, mrd, responses = course.patient, course.cycles, course.mrd, course.responses
    figure = patient_timeline_figure(
        patient, cycles, mrd, relapses=course.relapses, dose_steps=course.dose_steps, responses=responses
    )
    caption = (
        f"Course of patient {patient_id}: blinatumomab cycles (bars, with the delivered daily dose of each "
        "step), MRD by method on a log scale (open markers: not detected, drawn at the assay sensitivity), "
        "every response assessment (ticks at the top: response and marrow blasts; NR no response, PD "
        "progression), every relapse with its marrow blasts, and CR, HSCT and death."
    )

    def iso(value: Any) -> str | None:
        return None if value is None or (not isinstance(value, str) and value != value) else str(value)[:10]

    data = {
        "patient_id": patient_id,
        "events": {
            column: iso(patient.get(column))
            for column in (
                "diagnosis_date",
                "index_relapse_date",
                "first_blinatumomab_date",
                "cr_date",
                "hsct_date",
                "relapse_after_origin_date",
                "death_date",
                "last_contact_date",
            )
        },
        "cycles": [
            {
                "cycle_number": int(c["cycle_number"]),
                "start_date": iso(c["start_date"]),
                "end_date": iso(c["end_date"]),
                "phase": c.get("phase"),
            }
            for _, c in cycles.iterrows()
        ],
        "mrd": [
            {
                "assessment_date": iso(m["assessment_date"]),
                "method": m.get("method"),
                "method_group": m.get("method_group"),
                "sample": m.get("sample"),
                "fraction": None if m.get("fraction") != m.get("fraction") else m.get("fraction"),
                "sensitivity": None if m.get("sensitivity") != m.get("sensitivity") else m.get("sensitivity"),
                "status": m.get("status"),
            }
            for _, m in mrd.iterrows()
        ],
        "responses": [
            {
                "assessment_date": iso(r["assessment_date"]),
                "cycle_number": None if pd.isna(r["cycle_number"]) else int(r["cycle_number"]),
                "category": r["category"],
                "marrow_blasts_pct": None if pd.isna(r["marrow_blasts_pct"]) else float(r["marrow_blasts_pct"]),
            }
            for _, r in (responses.iterrows() if responses is not None else ())
        ],
    }
    return PatientTimeline(patient_id, FigureSpec(f"patient_{patient_id}", caption, figure), data)


def _patient_rows(dataset: DatasetLike, name: str, patient_id: str, columns: tuple[str, ...]) -> Any:
    frame = getattr(dataset, name, None)
    if frame is None or "patient_id" not in getattr(frame, "columns", ()) or not set(columns) <= set(frame.columns):
        return None
    return frame[frame["patient_id"] == patient_id]


def write_patient_timeline(timeline: PatientTimeline, out_dir: str | Path) -> list[Path]:
    """patient_<ID>.png (300 dpi), .svg, .pdf and .json (the plotted values) in `out_dir`."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    safe = "".join(ch if ch.isalnum() or ch in "-_" else "_" for ch in timeline.patient_id)
    files = render_figure(timeline.figure.figure)
    written = []
    for fmt in ("png", "svg", "pdf"):
        path = out / f"patient_{safe}.{fmt}"
        path.write_bytes(files[fmt])
        written.append(path)
    path = out / f"patient_{safe}.json"
    path.write_text(json.dumps(timeline.data, indent=1, default=str), encoding="utf-8")
    written.append(path)
    return written
