"""Draft a mapping file from a center's sheet: `blinareg map suggest SHEET.xlsx > mapping.toml`.

Each of the center's columns is matched to a registry field by its name (the field's own name, a
synonym, or a close spelling) and by the values found in it (`M/F`, `haplo`, `BCR-ABL1`, `neg`,
`<0.01%`, `CR3`, `5->15`). The draft says how sure each match is, declares the date format it saw
(ambiguous ones are marked CHECK, never chosen silently), and lists what it could not map. It is a
draft for a data manager to review, never applied unreviewed: facts the sheet does not hold (the MRD
method, the dose unit, the grading system) are left as commented-out constants to fill in.
"""

from __future__ import annotations

import datetime as dt
import difflib
import json
import re
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from blinareg.exchange.mapping import (
    MISSING_CODES,
    NUMBER_FIELDS,
    Sheet,
    _blank,
    _model_columns,
    _normalized,
    field_unit,
    read_sheet_names,
    read_sheets,
    text_date_format,
)
from blinareg.records.models import RECORD_MODELS
from blinareg.records.registry import columns

# Normalized column-name stems -> registry field. `{n}` stems are repeated groups (relapse1_date).
SYNONYMS: dict[str, str] = {
    "study_id": "patient.patient_id",
    "patient_id": "patient.patient_id",
    "pid": "patient.patient_id",
    "subject_id": "patient.patient_id",
    "id": "patient.patient_id",
    "upn": "patient.patient_id",
    "sex": "patient.sex",
    "gender": "patient.sex",
    "dob": "patient.birth_date",
    "date_of_birth": "patient.birth_date",
    "birth_date": "patient.birth_date",
    "birthdate": "patient.birth_date",
    "diagnosis_date": "diagnosis.diagnosis_date",
    "dx_date": "diagnosis.diagnosis_date",
    "date_of_diagnosis": "diagnosis.diagnosis_date",
    "initial_diagnosis": "diagnosis.diagnosis_date",
    "immunophenotype": "diagnosis.immunophenotype",
    "egil": "diagnosis.immunophenotype",
    "cns_status": "diagnosis.cns_status",
    "cns": "diagnosis.cns_status",
    "wbc": "diagnosis.wbc_per_nl",
    "wbc_at_dx": "diagnosis.wbc_per_nl",
    "leukocytes": "diagnosis.wbc_per_nl",
    "frontline_protocol": "diagnosis.frontline_protocol",
    "protocol": "diagnosis.frontline_protocol",
    "cytogenetics": "genetic_finding.lesion",
    "genetics": "genetic_finding.lesion",
    "lesion": "genetic_finding.lesion",
    "molecular": "genetic_finding.lesion",
    "karyotype": "genetic_finding.lesion",
    "indication": "blinatumomab_cycle.indication",
    "cycle{n}_start": "blinatumomab_cycle.start_date",
    "cycle{n}_end": "blinatumomab_cycle.end_date",
    "cycle{n}_type": "blinatumomab_cycle.phase",
    "cycle{n}_phase": "blinatumomab_cycle.phase",
    "cycle{n}_dose": "dose_segment.dose",
    "blina{n}_start": "blinatumomab_cycle.start_date",
    "blina{n}_end": "blinatumomab_cycle.end_date",
    "c{n}_start": "blinatumomab_cycle.start_date",
    "c{n}_end": "blinatumomab_cycle.end_date",
    "c{n}_dose": "dose_segment.dose",
    "response": "response_assessment.category",
    "response_c1": "response_assessment.category",
    "response_date": "response_assessment.assessment_date",
    "bm_blasts": "response_assessment.marrow_blasts_pct",
    "blasts": "response_assessment.marrow_blasts_pct",
    "bm_blasts_c1": "response_assessment.marrow_blasts_pct",
    "mrd": "mrd_assessment",
    "mrd_c1": "mrd_assessment",
    "mrd_date": "mrd_assessment.assessment_date",
    "crs": "adverse_event.grade",
    "crs_grade": "adverse_event.grade",
    "crs_onset": "adverse_event.onset_date",
    "relapse{n}_date": "relapse.relapse_date",
    "relapse{n}_site": "relapse",
    "relapse{n}_blasts": "relapse.marrow_blasts_pct",
    "hsct_date": "hsct.hsct_date",
    "sct_date": "hsct.hsct_date",
    "transplant_date": "hsct.hsct_date",
    "donor": "hsct.donor_type",
    "donor_type": "hsct.donor_type",
    "conditioning": "hsct.conditioning",
    "status_at_hsct": "hsct.remission_status",
    "disease_status_at_hsct": "hsct.remission_status",
    "remission_status": "hsct.remission_status",
    "agvhd": "hsct.acute_gvhd_max_grade",
    "cgvhd": "hsct.chronic_gvhd",
    "status": "follow_up.vital_status",
    "vital_status": "follow_up.vital_status",
    "last_contact": "follow_up.last_contact_date",
    "last_follow_up": "follow_up.last_contact_date",
    "last_fu": "follow_up.last_contact_date",
    "date_of_death": "death.death_date",
    "death_date": "death.death_date",
    "cause_of_death": "death.cause",
    "weight": "body_measurement.weight_kg",
    "height": "body_measurement.height_cm",
}

# Center spellings (normalized) -> registry value, per field; "{}" means "no record from this cell".
VALUE_SYNONYMS: dict[str, dict[str, object]] = {
    "patient.sex": {"m": "male", "f": "female", "w": "female", "male": "male", "female": "female"},
    "diagnosis.immunophenotype": {
        "pro-b": "B-I",
        "b-i": "B-I",
        "common": "B-II",
        "c-all": "B-II",
        "b-ii": "B-II",
        "pre-b": "B-III",
        "b-iii": "B-III",
        "mature b": "B-IV",
        "b-iv": "B-IV",
    },
    "genetic_finding.lesion": {
        "bcr-abl1": "BCR::ABL1",
        "bcr-abl": "BCR::ABL1",
        "bcr::abl1": "BCR::ABL1",
        "ph+": "BCR::ABL1",
        "t(9;22)": "BCR::ABL1",
        "kmt2a": "KMT2A-r",
        "mll": "KMT2A-r",
        "kmt2a-r": "KMT2A-r",
        "etv6-runx1": "ETV6::RUNX1",
        "tel-aml1": "ETV6::RUNX1",
        "tcf3-pbx1": "TCF3::PBX1",
        "hyperdiploid": "high_hyperdiploidy",
        "hypodiploid": "hypodiploidy",
        "iamp21": "iAMP21",
        "ph-like": "Ph-like",
        "normal": {},
        "none": {},
        "neg": {},
    },
    "blinatumomab_cycle.indication": {
        "r/r": "relapsed_refractory",
        "relapsed": "relapsed_refractory",
        "refractory": "relapsed_refractory",
        "mrd+": "mrd_positive",
        "mrd": "mrd_positive",
        "consolidation": "consolidation",
    },
    "blinatumomab_cycle.phase": {
        "ind": "induction",
        "induction": "induction",
        "cons": "consolidation",
        "consolidation": "consolidation",
        "cont": "continued",
    },
    "response_assessment.category": {
        "cr": "cr",
        "cri": "cri",
        "crh": "crh",
        "pr": "pr",
        "nr": "no_response",
        "sd": "no_response",
        "pd": "progression",
        "progression": "progression",
    },
    "hsct.donor_type": {
        "haplo": "haploidentical",
        "haploidentical": "haploidentical",
        "msd": "msd",
        "sib": "msd",
        "mud": "mud",
        "mmud": "mmud",
        "cord": "cord",
        "cb": "cord",
        "auto": "autologous",
    },
    "hsct.conditioning": {
        "tbi": "tbi_based",
        "tbi-based": "tbi_based",
        "chemo": "chemotherapy_only",
        "chemotherapy": "chemotherapy_only",
    },
    "hsct.remission_status": {
        "cr1": "CR1",
        "cr2": "CR2",
        "cr3": "CR3+",
        "cr4": "CR3+",
        "cr3+": "CR3+",
        "nr": "not_in_CR",
        "not in cr": "not_in_CR",
        "active": "not_in_CR",
    },
    "follow_up.vital_status": {"alive": "alive", "dead": "dead", "deceased": "dead", "died": "dead", "†": "dead"},
    "death.cause": {
        "relapse": "relapse_progression",
        "progression": "relapse_progression",
        "infection": "infection",
        "sepsis": "infection",
        "gvhd": "gvhd",
        "trm": "treatment_toxicity",
        "toxicity": "treatment_toxicity",
        "other": "other",
    },
    "relapse": {
        "bm": {"site_bone_marrow": True},
        "cns": {"site_bone_marrow": False, "site_cns": True},
        "bm+cns": {"site_bone_marrow": True, "site_cns": True},
        "testis": {"site_bone_marrow": False, "site_testis": True},
        "bm+testis": {"site_bone_marrow": True, "site_testis": True},
        "emd": {"site_bone_marrow": False, "site_other_extramedullary": True},
    },
    "mrd_assessment": {
        "neg": {"detected": False},
        "negative": {"detected": False},
        "pos": {"detected": True, "fraction": "unknown"},
        "positive": {"detected": True, "fraction": "unknown"},
    },
    "adverse_event.grade": {"0": {}, "no": {}, "none": {}},
}
MISSING_SPELLINGS = {
    "unk": "unknown",
    "unknown": "unknown",
    "n/k": "unknown",
    "nk": "unknown",
    "?": "unknown",
    "not known": "unknown",
    "n.d.": "not_done",
    "nd": "not_done",
    "not done": "not_done",
}
_BELOW = re.compile(r"^<\s*(\d+(?:\.\d+)?)\s*(%?)$")
_STEPS = re.compile(r"^\d+(\.\d+)?\s*(->|→|>)\s*\d+(\.\d+)?(\s*(->|→|>)\s*\d+(\.\d+)?)*$")


def _stem(name: str) -> str:
    text = name.casefold().replace("µ", "u")
    text = re.sub(r"\(.*?\)", " ", text)
    return re.sub(r"[^a-z0-9+]+", "_", text).strip("_")


@dataclass
class Suggestion:
    column: str
    target: str | None
    confidence: str
    instance: int | None = None
    options: dict[str, object] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)


def _match_name(name: str) -> tuple[str | None, int | None, str]:
    stem = _stem(name)
    if stem in SYNONYMS:
        return SYNONYMS[stem], None, f"name matches {stem!r}"
    group = re.fullmatch(r"([a-z]+?)_?(\d{1,2})_?([a-z_]*)", stem)
    if group:
        base, number, rest = group.groups()
        key = f"{base}{{n}}" + (f"_{rest}" if rest else "")
        if key in SYNONYMS:
            return SYNONYMS[key], int(number), f"repeated group {base}{{n}}_{rest}, instance {number}"
    fields = {
        c.name: f"{m.record_type}.{c.name}" for m in RECORD_MODELS for c in columns(m) if c.name not in ("patient_id",)
    }
    if stem in fields and list(fields).count(stem) == 1:
        return fields[stem], None, "the registry field's own name"
    guess = difflib.get_close_matches(stem, list(SYNONYMS), n=1, cutoff=0.8)
    if guess and "{n}" not in guess[0]:
        return SYNONYMS[guess[0]], None, f"guess: the name is close to {guess[0]!r}"
    return None, None, ""


def _values(sheet: Sheet, position: int) -> list[object]:
    return [cells[position] for _, cells in sheet.rows if position < len(cells) and not _blank(cells[position])]


def suggest_column(name: str, values: list[object]) -> Suggestion:
    target, instance, why = _match_name(name)
    if target is None:
        return Suggestion(name, None, "none", notes=["no registry field matches the name"])
    confidence = "guess" if why.startswith("guess") else "high"
    suggestion = Suggestion(name, target, confidence, instance, notes=[why])
    record_type, _, field_name = target.partition(".")
    column = _model_columns(record_type).get(field_name) if field_name else None
    distinct = list(dict.fromkeys(values))
    known = VALUE_SYNONYMS.get(target, {})
    value_map: dict[str, object] = {}
    unmapped: list[str] = []
    if record_type in NUMBER_FIELDS and suggestion.instance is None:
        # One column per patient for a repeatable record: its first one. Said, so that it gets reviewed.
        suggestion.instance = 1
        if record_type != "blinatumomab_cycle":
            suggestion.notes.append(
                f"CHECK: read as the patient's first {record_type.replace('_', ' ')} ({NUMBER_FIELDS[record_type]} = 1)"
            )
    if column is not None and column.kind == "date":
        _suggest_date(suggestion, distinct)
        return suggestion
    numbers = [v for v in distinct if isinstance(v, (int, float)) and not isinstance(v, bool)]
    for value in distinct:
        text = str(int(value)) if isinstance(value, float) and value.is_integer() else str(value).strip()
        key = _normalized(text)
        if key in known:
            value_map[text] = known[key]
        elif key in MISSING_SPELLINGS:
            value_map[text] = MISSING_SPELLINGS[key]
        elif column is not None and column.enum is not None:
            codes = {m.value.casefold(): m.value for m in column.enum}
            if key not in codes:
                unmapped.append(text)
        elif target == "mrd_assessment":
            below = _BELOW.match(text)
            if below:
                limit = float(below.group(1)) / (100 if below.group(2) else 1)
                value_map[text] = {"detected": False, "sensitivity": float(f"{limit:.12g}")}
            elif not re.fullmatch(r"\d+(\.\d+)?\s*%?", text):
                unmapped.append(text)
        elif target == "dose_segment.dose" and _STEPS.match(text):
            suggestion.options["step_days"] = [1, 8]
        elif target == "relapse" or (
            column is not None and column.kind in ("int", "float") and not re.fullmatch(r"[+-]?\d+(\.\d+)?\s*%?", text)
        ):
            unmapped.append(text)
    if target == "mrd_assessment":
        suggestion.target = "mrd_assessment.fraction"
        percent = any("%" in str(v) for v in distinct) or any(v > 1 for v in numbers)
        suggestion.options["unit"] = "percent" if percent else "fraction"
        suggestion.options["when_number"] = {"detected": True}
        suggestion.notes.append(
            "MRD results: numbers are the leukemic fraction"
            + (" in percent" if percent else "")
            + "; text results mapped below"
        )
    if target == "adverse_event.grade" and "crs" in _stem(name):
        suggestion.options["set"] = {"term": "crs"}
    if target == "dose_segment.dose":
        suggestion.options.setdefault("set", {})["kind"] = "planned"
        suggestion.notes.append(
            'CHECK: add the dose unit to set (unit = "mcg/m2/day" or "mcg/day"); the sheet does not say it'
        )
        if "step_days" in suggestion.options:
            suggestion.notes.append(
                "values such as 5->15 are a step-up: step_days = [1, 8] is the label's day-8 step; CHECK your protocol"
            )
    if column is not None and field_unit(record_type, field_name) and numbers + [v for v in distinct if "%" in str(v)]:
        _suggest_unit(suggestion, name, record_type, field_name, distinct)
    if value_map:
        suggestion.options["values"] = value_map
    if unmapped:
        suggestion.confidence = "partial"
        suggestion.notes.append(
            "could not map the values "
            + ", ".join(map(repr, unmapped[:10]))
            + ("; add them to values" if not column or column.enum else "")
        )
    return suggestion


def _suggest_unit(suggestion: Suggestion, name: str, record_type: str, field_name: str, values: list) -> None:
    stored = field_unit(record_type, field_name)
    numbers = [float(str(v).rstrip("% ")) for v in values if re.fullmatch(r"\s*\d+(\.\d+)?\s*%?\s*", str(v))]
    stem = name.casefold().replace("µ", "u")
    if stored == "10^9/L" and ("/ul" in stem or (numbers and max(numbers) > 2000)):
        suggestion.options["unit"] = "/uL"
        suggestion.notes.append("WBC per µl: divided by 1000 into 10^9/L")
    elif stored == "percent" and numbers and max(numbers) <= 1 and not any("%" in str(v) for v in values):
        suggestion.notes.append('CHECK: every value is at most 1; if they are fractions, set unit = "fraction"')
    elif stored == "cm" and numbers and max(numbers) < 3:
        suggestion.options["unit"] = "m"
        suggestion.notes.append("heights below 3: read as metres")


def _suggest_date(suggestion: Suggestion, values: list[object]) -> None:
    formats = Counter()
    for value in values:
        if isinstance(value, (dt.date, dt.datetime)):
            formats["date cell"] += 1
        elif isinstance(value, (int, float)) and not isinstance(value, bool):
            formats["excel"] += 1
        else:
            text = str(value).strip()
            if re.fullmatch(r"\d{4}(-\d{2})?", text):
                formats["partial"] += 1
                continue
            formats[text_date_format(text) or "unreadable"] += 1
    text_formats = {f for f in formats if f not in ("date cell", "partial")}
    if formats["partial"]:
        suggestion.notes.append(f"{formats['partial']} partial date(s) (year or year-month only), kept as such")
    if "DD/MM/YYYY?" in text_formats and ("MM/DD/YYYY" in text_formats):
        text_formats.discard("DD/MM/YYYY?")
    elif "DD/MM/YYYY?" in text_formats:
        text_formats.discard("DD/MM/YYYY?")
        text_formats.add("DD/MM/YYYY")
        if "DD/MM/YYYY" not in formats:
            suggestion.notes.append("CHECK: every date reads as day/month and as month/day; DD/MM/YYYY assumed")
            suggestion.confidence = "partial"
    text_formats.discard("YYYY-MM-DD")
    if "unreadable" in text_formats:
        suggestion.notes.append("CHECK: some values are not dates in any known format")
        suggestion.confidence = "partial"
        text_formats.discard("unreadable")
    if len(text_formats) == 1:
        suggestion.options["date_format"] = text_formats.pop()
    elif len(text_formats) > 1:
        suggestion.notes.append(
            f"CHECK: dates in several formats ({', '.join(sorted(text_formats))}); declare one "
            f"and correct the others in the sheet"
        )
        suggestion.confidence = "partial"


# ---- writing the TOML draft -------------------------------------------------------------------------


def _toml(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, dict):
        return (
            "{ " + ", ".join(f"{json.dumps(str(k), ensure_ascii=False)} = {_toml(v)}" for k, v in value.items()) + " }"
            if value
            else "{}"
        )
    if isinstance(value, list):
        return "[" + ", ".join(_toml(v) for v in value) + "]"
    return json.dumps(str(value), ensure_ascii=False)


_CONSTANT_HINTS = {
    "patient": [('"patient.center_id"', '"CENTER-ID"', "required: your center's id")],
    "center": [
        ('"center.center_id"', '"CENTER-ID"', "your center: id, name, country"),
        ('"center.name"', '"Center name"', ""),
        ('"center.country"', '"DE"', ""),
    ],
    "blinatumomab_cycle": [],
    "mrd_assessment": [
        ('"mrd_assessment.method"', '"flow"', "not in the sheet: your lab's method"),
        ('"mrd_assessment.sample"', '"BM"', "BM or PB"),
        ('"mrd_assessment.sensitivity"', "0.0001", "only if the lab states it for every result"),
    ],
    "adverse_event": [('"adverse_event.grading_system"', '"astct"', "the grading system the center used")],
}


def suggest_mapping(path: str | Path, sheets: list[str] | None = None) -> str:
    """The draft mapping file (TOML text) for the center's workbook or CSV file."""
    path = Path(path)
    if path.suffix.lower() == ".xlsx" and not sheets:
        sheets = read_sheet_names(path)[:1]
    read = read_sheets(path, wanted=sheets if path.suffix.lower() == ".xlsx" else None)
    sheet_names = list(read) if path.suffix.lower() == ".xlsx" else [""]
    lines = [
        f"# blinareg mapping for {path.name}, drafted by `blinareg map suggest`.",
        "# REVIEW EVERY ENTRY before importing; 'confidence' says how each match was made:",
        "#   high = the name or a synonym matched; guess = a close spelling; partial = some values or",
        "#   dates need a decision (see CHECK). Missing-data codes: unknown, not_done, not_applicable.",
        "# Apply it with: blinareg import " + path.name + " --map mapping.toml --dry-run",
        "",
    ]
    suggestions: list[tuple[str, Suggestion]] = []
    unmapped: dict[str, list[str]] = {}
    id_columns: dict[str, str] = {}
    for sheet_name, sheet in read.items():
        for position, name in enumerate(sheet.header):
            if not name:
                continue
            suggestion = suggest_column(name, _values(sheet, position))
            if suggestion.target == "patient.patient_id" and sheet_name not in id_columns:
                id_columns[sheet_name] = name
                continue
            if suggestion.target is None:
                unmapped.setdefault(sheet_name, []).append(name)
            else:
                suggestions.append((sheet_name, suggestion))
    lines.append("[source]")
    if path.suffix.lower() == ".xlsx":
        lines.append(f"sheets = {_toml(sheet_names)}")
    if len(set(id_columns.values())) <= 1 and id_columns:
        lines.append(f"id_column = {_toml(next(iter(id_columns.values())))}")
    elif id_columns:
        lines.append(f"id_column = {_toml(id_columns)}")
    else:
        lines.append('id_column = "CHECK: the study-id column"  # no column looks like a study id')
    lines.append("")
    used = {s.target.split(".")[0] for _, s in suggestions} | {"patient", "center"}
    lines.append("[constants]")
    lines.append("# Values the sheet does not hold but every record of a type shares. Uncomment and fill in.")
    for record_type in ("center", "patient", "mrd_assessment", "adverse_event"):
        if record_type in used:
            for key, value, note in _CONSTANT_HINTS[record_type]:
                lines.append(f"# {key} = {value}" + (f"  # {note}" if note else ""))
    if any(s.target.startswith("blinatumomab_cycle") for _, s in suggestions):
        lines.append("# cycle phase: the first cycle's start column has set = { phase = ... } below; CHECK it")
    lines.append("")
    first_cycles = [s for _, s in suggestions if s.target == "blinatumomab_cycle.start_date"]
    for sheet_name, suggestion in suggestions:
        if suggestion.target == "blinatumomab_cycle.indication" and suggestion.instance is None and first_cycles:
            suggestion.instance = 1
        lines.extend(_entry_lines(sheet_name, suggestion, len(read) > 1))
    first_cycles = [s for _, s in suggestions if s.target == "blinatumomab_cycle.start_date"]
    has_phase = {s.instance for _, s in suggestions if s.target == "blinatumomab_cycle.phase"} | {1}
    missing_phase = [s for s in first_cycles if s.instance not in has_phase]
    for sheet_name, suggestion in suggestions:
        if suggestion.target == "blinatumomab_cycle.indication":
            for cycle in sorted({s.instance for s in first_cycles if s.instance and s.instance > 1}):
                extra = Suggestion(
                    suggestion.column,
                    suggestion.target,
                    suggestion.confidence,
                    cycle,
                    dict(suggestion.options, attaches=True),
                    [f"the same column for cycle {cycle} (adds to the cycle, does not create it)"],
                )
                lines.extend(_entry_lines(sheet_name, extra, len(read) > 1))
    if missing_phase:
        lines.append(
            "# CHECK: no phase column for cycle(s) "
            + ", ".join(str(s.instance) for s in missing_phase)
            + '; add set = { phase = "induction" } (or consolidation) to their start column'
        )
        lines.append("")
    lines.append("[ignore]")
    lines.append(
        "# Columns not imported. Could not map: "
        + (", ".join(f"{c!r}" for names in unmapped.values() for c in names) or "none")
        + ". Map them above or keep them here."
    )
    ignored = [c for names in unmapped.values() for c in names]
    lines.append(f"columns = {_toml(ignored)}")
    return "\n".join(lines) + "\n"


def _entry_lines(sheet_name: str, suggestion: Suggestion, several_sheets: bool) -> list[str]:
    lines = ["[[column]]", f"column = {_toml(suggestion.column)}"]
    if several_sheets:
        lines.append(f"sheet = {_toml(sheet_name)}")
    target = suggestion.target
    record_type = target.split(".")[0]
    lines.append(f"field = {_toml(target)}")
    if suggestion.instance is not None:
        lines.append(f"instance = {suggestion.instance}")
    if record_type == "blinatumomab_cycle" and target.endswith("start_date") and suggestion.instance == 1:
        suggestion.options.setdefault("set", {"phase": "induction"})
        suggestion.notes.append("CHECK: the first cycle is set to phase induction")
    for key in ("date_format", "unit", "step_days", "attaches", "set", "when_number", "values"):
        if key in suggestion.options:
            lines.append(f"{key} = {_toml(suggestion.options[key])}")
    lines.append(f"confidence = {_toml(suggestion.confidence)}")
    for note in suggestion.notes:
        lines.append(f"# {note}")
    number_field = NUMBER_FIELDS.get(record_type)
    if suggestion.instance is not None and number_field:
        lines.append(f"# instance {suggestion.instance} sets {record_type}.{number_field} = {suggestion.instance}")
    lines.append("")
    return lines


__all__ = ["MISSING_CODES", "suggest_column", "suggest_mapping"]
