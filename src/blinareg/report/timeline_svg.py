"""One patient's course as an SVG drawn in Python: the web's timeline page.

The same rows as the report's timeline figure (`blinareg.report.patient_course`, the patient's rows of
the analysis dataset): MRD per method on a log scale (filled: detected; open: not detected, drawn at the
assay sensitivity), blinatumomab cycles with the delivered daily dose of each step and their
interruptions, response assessments with marrow blasts, adverse events by grade, relapses with marrow
blasts, CR, HSCT, death or last contact. Every mark carries a `<title>` (the browser's own tooltip: the
values on hover, no script), and the drawing has no inline style, so it passes a strict CSP and prints.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from html import escape
from typing import Any

import pandas as pd

from blinareg.derive.labels import value_label
from blinareg.report.figures import MRD_COLOURS, MRD_NAMES, OKABE_ITO, _cycle_doses

__all__ = ["timeline_svg", "TimelineLayout"]

MRD_THRESHOLD = 1e-4
LAST_CONTACT_WITHIN_DAYS = 90
GRADE_COLOURS = {1: "#9ecae1", 2: "#4292c6", 3: OKABE_ITO[1], 4: "#b2182b", 5: "#000000"}


@dataclass
class TimelineLayout:
    width: int = 960
    left: int = 150
    right: int = 20
    top: int = 34
    mrd_height: int = 200
    lane_height: int = 34
    ae_height: int = 80

    @property
    def plot_width(self) -> int:
        return self.width - self.left - self.right


@dataclass
class _Canvas:
    layout: TimelineLayout
    start: pd.Timestamp
    end: pd.Timestamp
    parts: list[str] = field(default_factory=list)

    def x(self, when: Any) -> float:
        span = max((self.end - self.start).days, 1)
        return self.layout.left + self.layout.plot_width * (pd.Timestamp(when) - self.start).days / span

    def add(self, element: str, title: str | None = None) -> None:
        if title is None:
            self.parts.append(element)
        else:
            # <title> as the first child: the browser's native tooltip for the mark.
            tag = element[1 : element.index(" ")]
            opening = element[:-2] + ">" if element.endswith("/>") else element
            self.parts.append(f"{opening}<title>{escape(title)}</title></{tag}>")

    def text(self, x: float, y: float, words: str, *, anchor: str = "start", size: float = 11, cls: str = "") -> None:
        extra = f' class="{cls}"' if cls else ""
        self.parts.append(
            # Labels let the pointer through to the mark beneath, whose title is the tooltip.
            f'<text x="{x:.1f}" y="{y:.1f}" font-size="{size}" text-anchor="{anchor}" pointer-events="none"{extra}>'
            f"{escape(words)}</text>"
        )


def _day(value: Any) -> str:
    return "" if value is None or pd.isna(value) else pd.Timestamp(value).strftime("%Y-%m-%d")


def _dated_mark(
    patient: pd.Series, column: str, shape: str, label: str, *, detail: tuple[str, str]
) -> list[tuple[Any, str, str, str]]:
    """The mark of a dated event of the patient (none when the date is absent): (date, shape class, short
    label, tooltip); the tooltip adds the `detail` column's value, formatted, when it is recorded."""
    if not _present(patient.get(column)):
        return []
    detail_column, detail_format = detail
    extra = patient.get(detail_column)
    tooltip = f"{label}: {_day(patient[column])}"
    if _present(extra):
        tooltip += f" ({detail_format.format(value_label(extra))})"
    return [(patient[column], shape, label, tooltip)]


def _present(value: Any) -> bool:
    return value is not None and not (isinstance(value, float) and math.isnan(value)) and not pd.isna(value)


def _window(course: Any) -> tuple[pd.Timestamp, pd.Timestamp]:
    dates: list[pd.Timestamp] = []
    patient = course.patient
    for column in (
        "index_relapse_date",
        "first_blinatumomab_date",
        "cr_date",
        "hsct_date",
        "relapse_after_origin_date",
        "death_date",
    ):
        if _present(patient.get(column)):
            dates.append(pd.Timestamp(patient[column]))
    for frame, columns in (
        (course.cycles, ("start_date", "end_date")),
        (course.mrd, ("assessment_date",)),
        (course.relapses, ("relapse_date",)),
        (course.responses, ("assessment_date",)),
        (course.adverse_events, ("onset_date",)),
    ):
        if frame is None or frame.empty:
            continue
        for column in columns:
            if column in frame.columns:
                dates += [pd.Timestamp(d) for d in frame[column] if _present(d)]
    if not dates:
        today = pd.Timestamp("2000-01-01")
        return today, today + pd.Timedelta(days=365)
    start, end = min(dates), max(dates)
    # As the report's figure: the window ends shortly after the course's last event, not at a distant
    # last contact (that one is drawn at the right edge, with its date in words).
    contact = patient.get("last_contact_date")
    if _present(contact) and pd.Timestamp(contact) <= end + pd.Timedelta(days=LAST_CONTACT_WITHIN_DAYS):
        end = max(end, pd.Timestamp(contact))
    pad = pd.Timedelta(days=max(14, (end - start).days // 30))
    return start - pad, end + pad


def _log_y(value: float, top: float, height: float, low: float, high: float) -> float:
    share = (math.log10(high) - math.log10(max(value, low))) / (math.log10(high) - math.log10(low))
    return top + height * min(max(share, 0.0), 1.0)


def _axis(canvas: _Canvas, y_bottom: float) -> None:
    """Date ticks (months or years, by span) along the bottom and faint lines across every lane."""
    layout = canvas.layout
    span_days = (canvas.end - canvas.start).days
    frequency, label = ("MS", "%Y-%m") if span_days <= 900 else ("YS", "%Y")
    ticks = pd.date_range(canvas.start, canvas.end, freq=frequency)
    step = max(1, math.ceil(len(ticks) / 12))
    for tick in ticks[::step]:
        x = canvas.x(tick)
        canvas.add(f'<line x1="{x:.1f}" y1="{layout.top}" x2="{x:.1f}" y2="{y_bottom}" class="grid"/>')
        canvas.text(x, y_bottom + 14, tick.strftime(label), anchor="middle", size=10)


def _mrd(canvas: _Canvas, mrd: pd.DataFrame) -> None:
    layout = canvas.layout
    top, height = layout.top, layout.mrd_height
    fractions = pd.to_numeric(mrd["fraction"], errors="coerce") if not mrd.empty else pd.Series(dtype=float)
    sensitivities = pd.to_numeric(mrd["sensitivity"], errors="coerce") if not mrd.empty else pd.Series(dtype=float)
    values = [v for v in list(fractions) + list(sensitivities) if _present(v) and v > 0]
    low = min([MRD_THRESHOLD / 10, *(v / 3 for v in values)])
    high = 1.0
    canvas.add(f'<rect x="{layout.left}" y="{top}" width="{layout.plot_width}" height="{height}" class="frame"/>')
    for exponent in range(math.floor(math.log10(low)) + 1, 1):
        y = _log_y(10.0**exponent, top, height, low, high)
        canvas.add(
            f'<line x1="{layout.left}" y1="{y:.1f}" x2="{layout.left + layout.plot_width}" y2="{y:.1f}" class="grid"/>'
        )
        canvas.text(layout.left - 6, y + 4, f"{100 * 10.0**exponent:g}%", anchor="end", size=10)
    y = _log_y(MRD_THRESHOLD, top, height, low, high)
    canvas.add(
        f'<line x1="{layout.left}" y1="{y:.1f}" x2="{layout.left + layout.plot_width}" y2="{y:.1f}" '
        'class="threshold"/>',
        "MRD negativity threshold: 0.01% (1e-4)",
    )
    canvas.text(12, top + 14, "MRD (log scale)", size=11, cls="lane")
    if mrd.empty:
        canvas.text(
            layout.left + layout.plot_width / 2, top + height / 2, "No MRD measurement recorded", anchor="middle"
        )
        return
    for group, rows in mrd.groupby("method_group", sort=True):
        colour = MRD_COLOURS.get(str(group), "#555555")
        points = []
        for _, row in rows.sort_values("assessment_date").iterrows():
            fraction: Any = row.get("fraction")
            sensitivity: Any = row.get("sensitivity")
            detected = _present(fraction) and float(fraction) > 0
            status = str(row.get("status") or "")
            value = float(fraction) if detected else (float(sensitivity) if _present(sensitivity) else MRD_THRESHOLD)
            x, y = canvas.x(row["assessment_date"]), _log_y(value, top, height, low, high)
            points.append((x, y))
            words = (
                f"{_day(row['assessment_date'])} · {MRD_NAMES.get(str(group), str(group))}"
                f" ({value_label(row.get('method'))}, {value_label(row.get('sample'))}): "
            )
            if detected:
                words += f"detected, {100 * float(fraction):.4g}%"
            elif status == "positive" or (not detected and not _present(fraction) and status != "negative"):
                words += f"{value_label(status) or 'not quantified'}"
            else:
                words += "not detected"
            if _present(sensitivity):
                words += f" (sensitivity {float(sensitivity):.0e})"
            fill = colour if detected else "#ffffff"
            canvas.add(
                f'<circle cx="{x:.1f}" cy="{y:.1f}" r="5" fill="{fill}" stroke="{colour}" stroke-width="1.6"/>', words
            )
        if len(points) > 1:
            path = " ".join(f"{x:.1f},{y:.1f}" for x, y in points)
            canvas.parts.insert(0, f'<polyline points="{path}" fill="none" stroke="{colour}" stroke-width="1.2"/>')


def _cycles(canvas: _Canvas, course: Any, top: float) -> None:
    layout = canvas.layout
    canvas.text(12, top + layout.lane_height / 2 + 4, "Blinatumomab", cls="lane")
    for row_number, (_, cycle) in enumerate(course.cycles.iterrows()):
        if not (_present(cycle.get("start_date")) and _present(cycle.get("end_date"))):
            continue
        x1, x2 = canvas.x(cycle["start_date"]), canvas.x(pd.Timestamp(cycle["end_date"]) + pd.Timedelta(days=1))
        number = int(cycle["cycle_number"])
        doses = _cycle_doses(course.dose_steps, number)
        interruptions = int(cycle["interruptions"]) if _present(cycle.get("interruptions")) else 0
        words = (
            f"Cycle {number}: {_day(cycle['start_date'])} to {_day(cycle['end_date'])}"
            + (f", {int(cycle['infusion_days'])} infusion days" if _present(cycle.get("infusion_days")) else "")
            + (f"; delivered daily dose by step {doses}" if doses else "")
            + (
                f"; dose intensity {float(cycle['dose_intensity']):.0%}"
                if _present(cycle.get("dose_intensity"))
                else ""
            )
            + f"; {interruptions} interruption{'s' if interruptions != 1 else ''}"
            + (
                f"; stopped early: {value_label(cycle['early_stop_reason'])}"
                if _present(cycle.get("early_stop_reason"))
                else ""
            )
        )
        canvas.add(
            f'<rect x="{x1:.1f}" y="{top + 4}" width="{max(x2 - x1, 2):.1f}" height="{layout.lane_height - 14}" '
            f'class="cycle{" interrupted" if interruptions else ""}"/>',
            words,
        )
        canvas.text(
            (x1 + x2) / 2,
            top + layout.lane_height / 2 + 1,
            f"C{number}" + ("*" * min(interruptions, 3)),
            anchor="middle",
            size=10,
        )
        if doses:
            canvas.text(
                (x1 + x2) / 2,
                top + layout.lane_height + 6 + 10 * (row_number % 2),
                doses,
                anchor="middle",
                size=9,
                cls="dose",
            )


def _responses(canvas: _Canvas, responses: Any, top: float) -> None:
    canvas.text(12, top + 18, "Response", cls="lane")
    if responses is None:
        return
    for _, row in responses.iterrows():
        if not _present(row.get("assessment_date")):
            continue
        x = canvas.x(row["assessment_date"])
        category = str(row.get("category") or "")
        blasts = row.get("marrow_blasts_pct")
        words = (
            f"{_day(row['assessment_date'])}: {value_label(category)}"
            + (f", marrow blasts {float(blasts):g}%" if _present(blasts) else "")
            + (f" (after cycle {int(row['cycle_number'])})" if _present(row.get("cycle_number")) else "")
        )
        canvas.add(f'<rect x="{x - 2:.1f}" y="{top + 6}" width="4" height="18" class="response"/>', words)
        canvas.text(x, top + 6, category.upper()[:4], anchor="middle", size=8)


def _adverse_events(canvas: _Canvas, events: pd.DataFrame, top: float) -> None:
    layout = canvas.layout
    canvas.text(12, top + 14, "Adverse events", cls="lane")
    canvas.text(12, top + 28, "(grade 1 low, 5 high)", size=9)
    for grade in range(1, 6):
        y = top + layout.ae_height - 8 - (grade - 1) * (layout.ae_height - 16) / 4
        canvas.text(layout.left - 6, y + 3, f"G{grade}", anchor="end", size=9)
    if events is None or events.empty:
        return
    for _, event in events.iterrows():
        if not (_present(event.get("grade")) and _present(event.get("onset_date"))):
            continue
        grade = int(event["grade"])
        x = canvas.x(event["onset_date"])
        y = top + layout.ae_height - 8 - (grade - 1) * (layout.ae_height - 16) / 4
        computed: Any = event.get("computed_grade")
        words = (
            f"{_day(event['onset_date'])}: {value_label(event.get('term'))} grade {grade}"
            + (f" (computed {int(computed)})" if _present(computed) and int(computed) != grade else "")
            + (f", resolved {_day(event['resolution_date'])}" if _present(event.get("resolution_date")) else "")
            + (", serious" if _present(event.get("serious")) and bool(event.get("serious")) else "")
            + (f", cycle {int(event['cycle_number'])}" if _present(event.get("cycle_number")) else "")
        )
        canvas.add(
            f'<rect x="{x - 5:.1f}" y="{y - 5:.1f}" width="10" height="10" fill="{GRADE_COLOURS[grade]}" class="ae"/>',
            words,
        )


def _events(canvas: _Canvas, course: Any, top: float) -> None:
    layout = canvas.layout
    canvas.text(12, top + 18, "Events", cls="lane")
    y = top + 14
    patient = course.patient
    marks: list[tuple[Any, str, str, str]] = []  # (date, shape class, short label, tooltip)
    relapses = course.relapses
    if relapses is not None and not relapses.empty:
        for _, relapse in relapses.sort_values("relapse_number").iterrows():
            if not _present(relapse.get("relapse_date")):
                continue
            blasts = relapse.get("marrow_blasts_pct")
            text = f"Relapse {int(relapse['relapse_number'])}: {_day(relapse['relapse_date'])}" + (
                f", marrow blasts {float(blasts):g}%" if _present(blasts) else ", marrow blasts not recorded"
            )
            marks.append((relapse["relapse_date"], "relapse", f"R{int(relapse['relapse_number'])}", text))
    else:
        for column, words in (("index_relapse_date", "Relapse (index)"), ("relapse_after_origin_date", "Relapse")):
            if _present(patient.get(column)):
                marks.append((patient[column], "relapse", "R", f"{words}: {_day(patient[column])}"))
    if _present(patient.get("cr_date")):
        marks.append((patient["cr_date"], "cr", "CR", f"Complete remission: {_day(patient['cr_date'])}"))
    marks.extend(_dated_mark(patient, "hsct_date", "hsct", "HSCT", detail=("hsct_donor_type", "{} donor")))
    death = _dated_mark(patient, "death_date", "death", "Death", detail=("death_cause", "{}"))
    marks.extend(death)
    if not death and _present(patient.get("last_contact_date")):
        contact = pd.Timestamp(patient["last_contact_date"])
        shown = min(contact, canvas.end)  # a distant last contact sits at the right edge
        marks.append(
            (
                shown,
                "contact",
                "Last contact" if shown == contact else f"Last contact {_day(contact)} →",
                f"Alive at last contact: {_day(contact)}",
            )
        )
    for row, (when, shape, short, words) in enumerate(sorted(marks, key=lambda m: pd.Timestamp(m[0]))):
        x = canvas.x(when)
        canvas.add(f'<line x1="{x:.1f}" y1="{layout.top}" x2="{x:.1f}" y2="{top + 6}" class="event-line {shape}"/>')
        canvas.add(f'<circle cx="{x:.1f}" cy="{y:.1f}" r="6" class="event {shape}"/>', words)
        near_edge = x > layout.left + layout.plot_width - 60  # keep the label inside the drawing
        canvas.text(
            x + (6 if near_edge else 0), y + 20 + 10 * (row % 2), short, anchor="end" if near_edge else "middle", size=9
        )


def timeline_svg(course: Any, layout: TimelineLayout | None = None) -> str:
    """The SVG (a string) of one patient's course (`blinareg.report.patient_course`)."""
    layout = layout or TimelineLayout()
    start, end = _window(course)
    canvas = _Canvas(layout, start, end)
    _mrd(canvas, course.mrd)
    lanes_top = layout.top + layout.mrd_height + 12
    _responses(canvas, course.responses, lanes_top)
    cycles_top = lanes_top + 32
    _cycles(canvas, course, cycles_top)
    ae_top = cycles_top + layout.lane_height + 30
    _adverse_events(canvas, course.adverse_events, ae_top)
    events_top = ae_top + layout.ae_height + 8
    _events(canvas, course, events_top)
    bottom = events_top + 54
    _axis(canvas, bottom)
    height = bottom + 24
    legend = (
        f'<g class="legend" transform="translate({layout.left},14)">'
        + "".join(
            f'<circle cx="{i * 120}" cy="0" r="5" fill="{MRD_COLOURS[g]}"/>'
            f'<text x="{i * 120 + 9}" y="4" font-size="10">{escape(MRD_NAMES[g])}</text>'
            for i, g in enumerate(MRD_COLOURS)
        )
        + '<circle cx="480" cy="0" r="5" fill="#ffffff" stroke="#555555"/>'
        + '<text x="489" y="4" font-size="10">not detected (at assay sensitivity)</text></g>'
    )
    title = f"Course of patient {course.patient_id}"
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" class="timeline" viewBox="0 0 {layout.width} {height}" '
        f'width="{layout.width}" height="{height}" role="img" aria-labelledby="timeline-title" '
        'font-family="DejaVu Sans, sans-serif">'
        f'<title id="timeline-title">{escape(title)}</title>' + legend + "".join(canvas.parts) + "</svg>"
    )
