"""The clinical rules beside a form (issue #12): the panel a CRS/ICANS, cycle or relapse form shows.

The panels apply `blinareg.rules.entry` to what is typed in the form (read field by field, so a half
filled form still shows what its filled fields decide) and to the patient's stored records (age, weight,
the cycle's delivered doses and interruptions, the diagnosis dates). One `Panel` is built per form; the
page renders it (server-side, the "Check" button) and the JSON rule routes return it for the static
script (`static/rules.js`) to draw the same panel while the user types.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Mapping
from functools import cache
from typing import Any

import pandas as pd
from pydantic import TypeAdapter, ValidationError

from blinareg.records.models import RECORD_TYPES, Record
from blinareg.records.registry import Registry, frame_to_dicts
from blinareg.rules.entry import (
    CycleEntry,
    GradeEntry,
    RelapseEntry,
    assess_crs_entry,
    assess_cycle_entry,
    assess_icans_entry,
    assess_relapse_entry,
)
from blinareg.rules.errors import RuleInputError
from blinareg.rules.frames.dosing import cycle_body_measurements, label_cycle_numbers
from blinareg.rules.vocabulary import DoseDeviationKind
from blinareg.web.forms import choice_label, field_label

# The panel each record type's form shows, and the JSON rule route that computes it.
RULE_ROUTES = {"crs": "crs-grade", "icans": "icans-grade", "cycle": "cycle-plan", "relapse": "relapse-class"}
CYCLE_FORMS = ("blinatumomab_cycle", "dose_segment", "interruption")


@dataclasses.dataclass(frozen=True)
class Table:
    caption: str
    headers: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]
    row_classes: tuple[str, ...]  # "" or "deviates" / "interrupted" / "free": how a row is marked


@dataclasses.dataclass(frozen=True)
class Panel:
    """What a form shows beside the entered values: a headline, labelled lines, tables, notes, sources."""

    kind: str  # crs | icans | cycle | relapse | none
    title: str
    headline: str
    status: str  # agree | disagree | pending | info
    lines: tuple[tuple[str, str], ...] = ()
    tables: tuple[Table, ...] = ()
    notes: tuple[str, ...] = ()
    sources: tuple[str, ...] = ()
    reason_required: bool = False  # the recorded grade disagrees and no disagreement reason is given

    def to_json(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


# ---- reading what is typed, field by field ----------------------------------------------------------


@cache
def _adapter(record_type: str, name: str) -> TypeAdapter[Any]:
    annotation: Any = RECORD_TYPES[record_type].model_fields[name].annotation
    return TypeAdapter(annotation)


def entered(record_type: str, fields: Mapping[str, object]) -> tuple[dict[str, Any], dict[str, str]]:
    """(values, unread) of a partly filled form: each field read on its own by the model's type.

    An empty field or one with a missing-data code is None (not known); a value the model refuses is
    None too and listed in `unread` (field -> text), so that the panel can say it was set aside; the
    form's own reading (`forms.read_form`) reports it when the form is saved.
    """
    model = RECORD_TYPES[record_type]
    values: dict[str, Any] = {}
    unread: dict[str, str] = {}
    for name in model.model_fields:
        if name.endswith(("_missing", "_precision")):
            continue
        raw = fields.get(name)
        text = raw.strip() if isinstance(raw, str) else ""
        code = fields.get(name + "_missing")
        if not text or (isinstance(code, str) and code.strip()):
            values[name] = None
            continue
        try:
            values[name] = _adapter(record_type, name).validate_python(text)
        except ValidationError:
            values[name] = None
            unread[name] = text
    return values, unread


def _unread_notes(unread: Mapping[str, str], names: tuple[str, ...] | None = None) -> tuple[str, ...]:
    return tuple(
        f"{field_label(name)}: {text!r} is not read yet (not a valid value)"
        for name, text in unread.items()
        if names is None or name in names
    )


def _labels(names: tuple[str, ...]) -> str:
    return ", ".join(field_label(name) for name in names)


def _words(value: object) -> str:
    code = getattr(value, "value", value)
    return choice_label(str(code)) if isinstance(code, str) else str(code)


def _age_years(birth: object, when: object) -> float | None:
    if not isinstance(birth, dt.date) or not isinstance(when, dt.date):
        return None
    years = when.year - birth.year - ((when.month, when.day) < (birth.month, birth.day))
    return float(years)


def _first(frame: pd.DataFrame, record_type: str) -> dict[str, Any] | None:
    rows = frame_to_dicts(RECORD_TYPES[record_type], frame) if len(frame) else []
    return dict(rows[0]) if rows else None


# ---- CRS and ICANS ----------------------------------------------------------------------------------


def _grade_panel(entry: GradeEntry, title: str, extra_notes: tuple[str, ...]) -> Panel:
    if entry.computed_grade is None:
        headline, status = "Computed grade: not determined yet", "pending"
    elif entry.disagrees:
        headline, status = f"Computed grade {entry.computed_grade} (recorded {entry.recorded_grade})", "disagree"
    else:
        headline, status = f"Computed grade {entry.computed_grade}", "agree"
    lines = [("Recorded grade", "" if entry.recorded_grade is None else str(entry.recorded_grade))]
    lines.append(("Why", entry.reason))
    if entry.deciding:
        lines.append(("Deciding", _labels(entry.deciding)))
    if entry.missing:
        lines.append(("Not entered", _labels(entry.missing)))
    if entry.disagrees:
        lines.append(
            (
                "Disagreement",
                f"reason given: {entry.disagreement_reason}"
                if entry.disagreement_reason
                else "the recorded grade differs: give the disagreement reason to save it",
            )
        )
    unconfirmed = tuple(f"UNCONFIRMED rule used: {name}" for name in entry.unconfirmed_rules)
    return Panel(
        kind=entry.term,
        title=title,
        headline=headline,
        status=status,
        lines=tuple(lines),
        notes=entry.notes + extra_notes + unconfirmed,
        sources=(entry.source,),
        reason_required=entry.reason_required,
    )


def _refused(kind: str, title: str, error: Exception) -> Panel:
    """The panel when the rules refuse what is entered (e.g. an onset before the birth date)."""
    return Panel(kind, title, "Not computed", "pending", notes=(str(error),))


def crs_panel(fields: Mapping[str, object]) -> Panel:
    values, unread = entered("adverse_event", fields)
    return _crs_panel_of(values, _unread_notes(unread))


def _crs_panel_of(values: Mapping[str, Any], notes: tuple[str, ...] = ()) -> Panel:
    title = "ASTCT CRS grade"
    try:
        entry = assess_crs_entry(values)
    except RuleInputError as error:
        return _refused("crs", title, error)
    return _grade_panel(entry, title, notes)


def icans_panel(fields: Mapping[str, object], registry: Registry) -> Panel:
    values, unread = entered("adverse_event", fields)
    return _icans_panel_of(values, registry, _unread_notes(unread))


def _icans_panel_of(values: Mapping[str, Any], registry: Registry, notes: tuple[str, ...] = ()) -> Panel:
    patient = _first(registry["patient"], "patient") or {}
    age = _age_years(patient.get("birth_date"), values.get("onset_date"))
    title = "ASTCT ICANS grade"
    try:
        entry = assess_icans_entry(values, age_years=age)
    except RuleInputError as error:
        return _refused("icans", title, error)
    return _grade_panel(entry, title, notes)


def unexplained_disagreement(record: Record, registry: Registry) -> Panel | None:
    """The grade panel of a CRS/ICANS event whose recorded grade differs from the ASTCT grade its parameters
    give while no disagreement reason is given (it cannot be stored so); None when it can be stored. The one
    rule behind the adverse-event form and the JSON API; `registry`: the patient's stored records (the age
    decides ICE or CAPD)."""
    if record.record_type != "adverse_event":
        return None
    values = {
        name: getattr(record, name)
        for name in type(record).model_fields
        if not name.endswith(("_missing", "_precision"))
    }
    term = _plain(values.get("term"))
    if term == "crs":
        panel = _crs_panel_of(values)
    elif term == "icans":
        panel = _icans_panel_of(values, registry)
    else:
        return None
    return panel if panel.reason_required else None


def not_graded_panel(term: object) -> Panel:
    shown = _words(term) if term else "this term"
    return Panel(
        kind="none",
        title="Computed grade",
        headline="No computed grade",
        status="info",
        notes=(f"ASTCT grades are computed for CRS and ICANS; {shown} is graded as recorded.",),
    )


def adverse_event_panel(fields: Mapping[str, object], registry: Registry) -> Panel:
    term = str(fields.get("term") or "").strip()
    if term == "crs":
        return crs_panel(fields)
    if term == "icans":
        return icans_panel(fields, registry)
    return not_graded_panel(term)


# ---- blinatumomab cycles ----------------------------------------------------------------------------


def _with_typed(frame: pd.DataFrame, record_type: str, typed: dict[str, Any] | None) -> list[dict[str, Any]]:
    """The stored records of a type, the typed one in place of the stored one with its key (or added)."""
    model = RECORD_TYPES[record_type]
    rows = [dict(r) for r in frame_to_dicts(model, frame)] if len(frame) else []
    if typed is None:
        return rows
    key = tuple(typed.get(name) for name in model.key)
    rows = [r for r in rows if tuple(_plain(r.get(name)) for name in model.key) != tuple(map(_plain, key))]
    return [*rows, typed]


def _plain(value: object) -> object:
    return getattr(value, "value", value)


def _complete(record_type: str, values: Mapping[str, Any]) -> dict[str, Any] | None:
    """The typed record when every required field is read, else None (not yet part of the calendar)."""
    model = RECORD_TYPES[record_type]
    required = [name for name, info in model.model_fields.items() if info.is_required()]
    return dict(values) if all(values.get(name) is not None for name in required) else None


def cycle_context(
    record_type: str, fields: Mapping[str, object], registry: Registry
) -> tuple[dict[str, Any] | None, list[dict[str, Any]], list[dict[str, Any]], list[str]]:
    """(cycle, its delivered segments, its interruptions, notes) with the typed record in place."""
    values, unread = entered(record_type, fields)
    notes = list(_unread_notes(unread))
    number = values.get("cycle_number")
    cycles = _with_typed(
        registry["blinatumomab_cycle"],
        "blinatumomab_cycle",
        values if record_type == "blinatumomab_cycle" else None,
    )
    cycle = next((c for c in cycles if c.get("cycle_number") == number), None) if number is not None else None
    typed_segment = _complete("dose_segment", values) if record_type == "dose_segment" else None
    typed_break = _complete("interruption", values) if record_type == "interruption" else None
    segments = [
        s
        for s in _with_typed(registry["dose_segment"], "dose_segment", typed_segment)
        if s.get("cycle_number") == number and _plain(s.get("kind")) == "delivered"
    ]
    breaks = [
        i for i in _with_typed(registry["interruption"], "interruption", typed_break) if i.get("cycle_number") == number
    ]
    if record_type == "dose_segment" and typed_segment is None:
        notes.append("the dose segment joins the comparison once its dates, dose and unit are entered")
    return cycle, segments, breaks, notes


def _cycle_patient(
    cycle: dict[str, Any], registry: Registry
) -> tuple[float | None, float | None, float | None, float | None, int | None]:
    """(weight_kg, height_cm, bsa_m2, age_years, label cycle number) for a cycle, as the analysis doses it."""
    stored = registry["blinatumomab_cycle"]
    row = {name: _plain(cycle.get(name)) for name in ("patient_id", "cycle_number", "line_number", "phase")}
    row.update(indication=_plain(cycle.get("indication")), start_date=pd.Timestamp(cycle["start_date"]))
    others = stored[stored["cycle_number"] != cycle.get("cycle_number")] if len(stored) else stored
    frame = pd.concat([others, pd.DataFrame([row])], ignore_index=True) if len(others) else pd.DataFrame([row])
    frame["start_date"] = pd.to_datetime(frame["start_date"])
    label_number = label_cycle_numbers(frame).iloc[-1]
    measured = cycle_body_measurements(frame.iloc[[-1]], registry["body_measurement"]).iloc[0]
    patient = _first(registry["patient"], "patient") or {}
    age = _age_years(patient.get("birth_date"), cycle["start_date"])

    def number(value: Any) -> float | None:
        return None if value is None or pd.isna(value) else float(value)

    label = None if label_number is None or pd.isna(label_number) else int(label_number)
    return number(measured["weight_kg"]), number(measured["height_cm"]), number(measured["bsa_m2"]), age, label


def cycle_panel(record_type: str, fields: Mapping[str, object], registry: Registry) -> Panel:
    cycle, segments, breaks, notes = cycle_context(record_type, fields, registry)
    title = "Planned dose calendar"
    if cycle is None or not all(cycle.get(name) is not None for name in ("indication", "start_date", "cycle_number")):
        needed = (
            "its cycle number, indication and start date"
            if record_type == "blinatumomab_cycle"
            else ("the number of a stored cycle")
        )
        return Panel("cycle", title, "No calendar yet", "pending", notes=(f"enter {needed}", *notes))
    weight, height, bsa, age, label_number = _cycle_patient(cycle, registry)
    if weight is None:
        return Panel(
            "cycle",
            title,
            "No calendar yet",
            "pending",
            notes=("no weight measured on or before the cycle's start: add a weight and height record", *notes),
        )
    events = [
        e
        for e in (
            frame_to_dicts(RECORD_TYPES["adverse_event"], registry["adverse_event"])
            if len(registry["adverse_event"])
            else []
        )
        if _during(e, cycle)
    ]
    try:
        entry = assess_cycle_entry(
            cycle,
            weight_kg=weight,
            height_cm=height,
            bsa_m2=bsa,
            age_years=age,
            label_cycle=label_number or None,
            delivered=segments,
            interruptions=breaks,
            adverse_events=events,
        )
    except (RuleInputError, ValueError) as error:
        return _refused("cycle", title, error)
    return _cycle_panel(entry, cycle, weight, height, label_number, tuple(notes))


def _during(event: Mapping[str, Any], cycle: Mapping[str, Any]) -> bool:
    """An adverse event of the cycle: recorded with its cycle number, or without one and begun during it."""
    if event.get("cycle_number") is not None:
        return bool(event["cycle_number"] == cycle.get("cycle_number"))
    onset, start, end = event.get("onset_date"), cycle.get("start_date"), cycle.get("end_date")
    return onset is not None and start is not None and start <= onset and (end is None or onset <= end)


def _dose(value: float) -> str:
    return f"{value:g}"


def _cycle_panel(
    entry: CycleEntry,
    cycle: Mapping[str, Any],
    weight: float,
    height: float | None,
    label_number: int | None,
    notes: tuple[str, ...],
) -> Panel:
    plan = entry.plan
    deviating = [s for s in entry.segments if s.deviating]
    if deviating:
        headline, status = f"{len(deviating)} delivered dose segment(s) deviate from the plan", "disagree"
    elif entry.segments:
        headline, status = "Delivered doses follow the plan", "agree"
    else:
        headline, status = (
            f"Planned: {_dose(plan.step_dose_mcg_per_day)} → {_dose(plan.full_dose_mcg_per_day)} mcg/day",
            "info",
        )
    body = f"{_dose(weight)} kg" + (f", {_dose(height)} cm" if height is not None else "")
    if plan.bsa_m2 is not None:
        body += f", BSA {plan.bsa_m2:.2f} m²"
    lines = [
        ("Dosed by", body + (f", age {plan.age_years:g}" if plan.age_years is not None else "")),
        (
            "Label cycle",
            f"{_words(plan.indication)} cycle {plan.cycle}"
            + (
                f" (registry cycle {cycle.get('cycle_number')})"
                if label_number not in (None, cycle.get("cycle_number"))
                else ""
            ),
        ),
        (
            "Doses",
            f"step {_dose(plan.step_dose_mcg_per_day)}, full {_dose(plan.full_dose_mcg_per_day)} mcg/day"
            + (f" (step-up on day {entry.step_up_day})" if entry.step_up_day else ""),
        ),
        ("Treatment-free", _day_ranges(entry.treatment_free_days) or "none"),
        ("In hospital", _day_ranges(entry.hospitalization_days) or "none"),
    ]
    if entry.premedication:
        lines.append(("Premedication", "; ".join(f"day {day}: {text}" for day, text in entry.premedication)))
    tables = [_calendar(entry)]
    if entry.segments:
        tables.append(_segments(entry))
    if entry.interruptions:
        tables.append(_interruptions(entry))
    if entry.modifications:
        tables.append(_modifications(entry))
    unconfirmed = tuple(f"UNCONFIRMED rule used: {name}" for name in entry.unconfirmed_rules)
    sources = tuple(
        dict.fromkeys(
            [*(i.source for i in entry.interruptions if i.source), *(m.advice.source for m in entry.modifications)]
        )
    )
    return Panel(
        "cycle",
        "Planned dose calendar",
        headline,
        status,
        lines=tuple(lines),
        tables=tuple(tables),
        notes=entry.notes + notes + unconfirmed,
        sources=("Blincyto prescribing information (clinical-rules.md §1)", *sources),
    )


def _day_ranges(days: tuple[int, ...]) -> str:
    """`1-9, 30-43`: consecutive cycle days as ranges."""
    out: list[str] = []
    ordered = sorted(days)
    start = previous = None
    for day in [*ordered, None]:
        if day is not None and previous is not None and day == previous + 1:
            previous = day
            continue
        if start is not None:
            out.append(f"days {start}-{previous}" if start != previous else f"day {start}")
        start = previous = day
    return ", ".join(out)


def _calendar(entry: CycleEntry) -> Table:
    """The plan as runs of days with the same dose, setting and premedication (a compact calendar).

    A run is marked where a delivered segment deviates on its days (days without a delivered segment
    yet are not marked: the doses are entered segment by segment).
    """
    deviating_days = {
        day
        for d in entry.deviations
        if d.kind is not DoseDeviationKind.NOT_INFUSED
        for day in range(d.first_day, d.last_day + 1)
    }
    rows: list[tuple[str, ...]] = []
    classes: list[str] = []
    run: list[Any] = []

    def flush() -> None:
        first, last = run[0], run[-1]
        days = f"{first.day}" if first is last else f"{first.day}-{last.day}"
        start = "" if first.date is None else first.date.isoformat()
        if first.interrupted:
            dose, kind = "interrupted", "interrupted"
        elif not first.infusing:
            dose, kind = "treatment-free", "free"
        else:
            per_m2 = f" ({_dose(first.dose_per_m2)} mcg/m²/day)" if first.dose_per_m2 is not None else ""
            dose, kind = f"{_dose(first.dose_mcg_per_day)} mcg/day{per_m2}", ""
        marks = [
            m
            for m in ("in hospital" if first.hospitalized else "", "premedication" if first.premedication else "")
            if m
        ]
        if first.day in deviating_days:
            kind = "deviates"
            marks.append("delivered dose deviates")
        rows.append((days, start, dose, ", ".join(marks)))
        classes.append(kind)

    def same(a: Any, b: Any) -> bool:
        return (
            a.dose_mcg_per_day == b.dose_mcg_per_day
            and a.infusing == b.infusing
            and a.interrupted == b.interrupted
            and a.hospitalized == b.hospitalized
            and not b.premedication
            and (a.day in deviating_days) == (b.day in deviating_days)
        )

    for day in entry.planned_days:
        if run and not same(run[-1], day):
            flush()
            run = []
        run.append(day)
    if run:
        flush()
    return Table("Plan by day", ("Days", "From", "Dose", "Notes"), tuple(rows), tuple(classes))


def _segments(entry: CycleEntry) -> Table:
    rows = []
    classes = []
    for s in entry.segments:
        if s.deviating:
            mark = "deviates: " + "; ".join(d.message for d in s.deviations)
        else:
            mark = "as planned"
        difference = f"{s.largest_difference_mcg_per_day:+g}" if s.deviating else ""
        rows.append((f"{s.start.isoformat()} – {s.end.isoformat()}", f"{_dose(s.dose)} {s.unit}", difference, mark))
        classes.append("deviates" if s.deviating else "")
    headers = ("Delivered", "Dose", "Δ mcg/day", "Against the plan")
    return Table("Delivered doses", headers, tuple(rows), tuple(classes))


def _interruptions(entry: CycleEntry) -> Table:
    rows = []
    for i in entry.interruptions:
        if i.continues_cycle is None:
            outcome = i.reason
        elif i.continues_cycle:
            outcome = "the cycle continues"
        else:
            restart = i.new_cycle_start_date.isoformat() if i.new_cycle_start_date else "the restart day"
            outcome = f"a new cycle starts on {restart}"
        rows.append((f"{i.start.isoformat()} – {i.end.isoformat()}", str(i.days), outcome, i.reason))
    return Table(
        "Interruptions", ("Interrupted", "Days", "Outcome", "Why"), tuple(rows), tuple("interrupted" for _ in rows)
    )


def _modifications(entry: CycleEntry) -> Table:
    rows = []
    for m in entry.modifications:
        advice = m.advice
        what = _words(advice.action)
        if advice.restart_condition:
            what += f"; restart {advice.restart_condition}"
        if advice.restart_dose_mcg_per_day is not None:
            what += f" at {_dose(advice.restart_dose_mcg_per_day)} mcg/day"
        if advice.escalate_to_mcg_per_day is not None and advice.escalate_after_days is not None:
            what += f", then {_dose(advice.escalate_to_mcg_per_day)} mcg/day after {advice.escalate_after_days} days"
        if advice.steroid:
            what += f"; {advice.steroid}"
        event = f"#{m.event_number} " if m.event_number is not None else ""
        rows.append((f"{event}{_words(m.term)} grade {m.grade}", what, advice.reason, advice.source))
    return Table("Dose modification", ("Event", "Advice", "Why", "Source"), tuple(rows), tuple("" for _ in rows))


# ---- relapses ---------------------------------------------------------------------------------------


def relapse_panel(fields: Mapping[str, object], registry: Registry) -> Panel:
    values, unread = entered("relapse", fields)
    diagnosis = _first(registry["diagnosis"], "diagnosis") or {}
    try:
        entry = assess_relapse_entry(
            values,
            diagnosis_date=diagnosis.get("diagnosis_date"),
            end_of_frontline_date=diagnosis.get("frontline_end_date"),
        )
    except (RuleInputError, ValueError) as error:
        return _refused("relapse", "Relapse classification", error)
    return _relapse_panel(entry, _unread_notes(unread))


def _relapse_panel(entry: RelapseEntry, notes: tuple[str, ...]) -> Panel:
    site = entry.site
    if site.site_class is None:
        headline, status = "Not a relapse by these findings", "pending"
    elif entry.strategic_group is not None:
        headline, status = f"Strategic group {_words(entry.strategic_group.group)}", "info"
    else:
        headline, status = f"Site: {_words(site.site_class)}", "info"
    blasts = f"{entry.marrow_blasts_used_pct:g}% blasts" + (
        "" if entry.marrow_blasts_recorded else " (from the site flags)"
    )
    lines = [
        ("Marrow", f"{_words(entry.marrow_status)} ({blasts})"),
        ("Site", (_words(site.site_class) if site.site_class else "no relapse criteria met") + f" — {site.reason}"),
    ]
    sources = [site.source]
    for scheme, timing in (("BFM", entry.timing_bfm), ("COG", entry.timing_cog)):
        name = f"Timing ({scheme})"
        if timing is None:
            why = next((n.split(": ", 1)[1] for n in entry.notes if n.startswith(f"{scheme} timing: ")), None)
            if why and "end_of_frontline_date" in why:
                why = "enter the end of front-line therapy on the diagnosis record (" + why.split(" for ", 1)[-1] + ")"
            lines.append((name, f"not classified: {why}" if why else "needs the diagnosis and relapse dates"))
        else:
            lines.append((name, f"{_words(timing.timing)} — {timing.reason}"))
            sources.append(timing.source)
    for name, result in (("Strategic group", entry.strategic_group), ("IntReALL risk", entry.intreall)):
        if result is not None:
            group = _words(result.group) if result.group is not None else "not classified"
            lines.append((name, f"{group} — {result.reason}"))
            sources.append(result.source)
    unconfirmed = tuple(f"UNCONFIRMED rule used: {name}" for name in entry.unconfirmed_rules)
    timing_notes = ("BFM timing: ", "COG timing: ")  # shown on their timing's line
    return Panel(
        "relapse",
        "Relapse classification",
        headline,
        status,
        lines=tuple(lines),
        notes=tuple(n for n in entry.notes if not n.startswith(timing_notes)) + notes + unconfirmed,
        sources=tuple(dict.fromkeys(sources)),
    )


# ---- which panel a form shows -----------------------------------------------------------------------


def panel_names(record_type: str) -> tuple[str, ...]:
    """The panels (`RULE_ROUTES` keys) a record type's form shows; () for a form without one."""
    if record_type == "adverse_event":
        return ("crs", "icans")  # by the term chosen; other terms have no computed grade
    if record_type in CYCLE_FORMS:
        return ("cycle",)
    if record_type == "relapse":
        return ("relapse",)
    return ()


def has_panel(record_type: str) -> bool:
    return bool(panel_names(record_type))


def form_panel(record_type: str, fields: Mapping[str, object], registry: Registry) -> Panel | None:
    """The panel of a form as typed (None: this record type's form has no panel)."""
    if record_type == "adverse_event":
        return adverse_event_panel(fields, registry)
    if record_type in CYCLE_FORMS:
        return cycle_panel(record_type, fields, registry)
    if record_type == "relapse":
        return relapse_panel(fields, registry)
    return None
