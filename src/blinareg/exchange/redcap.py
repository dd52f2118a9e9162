"""REDCap interoperability: a REDCap Data Dictionary generated from the record models, the reader of a
REDCap "Export records" CSV (raw data) into a `Registry`, and the writer of REDCap's import format.

The REDCap project (docs/redcap.md says how to create it):

- `record_id` is our `patient_id`; it is the first field of the first instrument, `patient`.
- One instrument (form) per record type except `center`, named as the record type. The record types
  with one row per patient (`PATIENT_LEVEL`: patient, diagnosis, follow_up, death) are ordinary
  instruments; every other record type is a *repeating* instrument (`REPEATING_INSTRUMENTS`), one
  instance per record. Instance numbers carry no meaning: the record keys (relapse_number,
  cycle_number, ...) are variables of their own.
- Variable names are `<prefix>_<field>` with the fixed prefix of the record type (`PREFIXES`) and, when
  that would exceed REDCap's 26 characters, the short field name from `SHORT_FIELD_NAMES`. `patient_id`
  is never a variable of its own (it is `record_id`).
- Groups of yes/no fields that answer one question are one checkbox field (`CHECKBOXES`: the relapse
  sites are `rel_site`, exported as `rel_site___bone_marrow`, `rel_site___cns`, ...).
- The center is not an instrument: the patient's center is the variable `pat_center_id`, else the
  record's data access group (`redcap_data_access_group`, through a DAG map or as the center id
  itself), else the `center_id` given to `read_redcap_export` (the CLI's `--center`).
- Enumerations are dropdowns with numbered raw codes in the order of the enumeration's members:
  `1, <label of the first code> | 2, ...` (`RAW_CODES`; labels from `CHOICE_LABELS` are display only).
  New members must therefore be appended at the end of an enumeration in
  `blinareg.records.vocabulary`, never inserted, or existing REDCap data would change meaning (a test
  pins the table).
- Dates are text fields validated `date_ymd` (raw export `YYYY-MM-DD`), booleans `yesno` (raw 1/0),
  integers `integer`, other numbers `number`, with min/max from the model's inclusive bounds.
- Missing-data codes are REDCap project-level Missing Data Codes with the registry's own spellings
  (`MISSING_DATA_CODES`), so a raw export holds `unknown`, `not_done` or `not_applicable` as the cell
  text, which the record parser reads.
- Each instrument's status `<form>_complete` (0 Incomplete, 1 Unverified, 2 Complete) decides whether
  the form is imported (`STATUS_LEVELS`); a skipped form is reported, never half imported.
"""

from __future__ import annotations

import csv
import dataclasses
import datetime as dt
import enum
import io
import itertools
import os
import re
import typing
from collections.abc import Mapping
from pathlib import Path

import annotated_types
import pandas as pd

from blinareg.errors import UserError
from blinareg.exchange.tabular import _suggestion, format_float, sorted_by_key
from blinareg.records.models import RECORD_MODELS, RECORD_TYPES
from blinareg.records.problems import Problem, Severity
from blinareg.records.registry import Column, Registry, columns, frame_to_dicts, parse_rows

RECORD_ID = "record_id"
REPEAT_INSTRUMENT = "redcap_repeat_instrument"
REPEAT_INSTANCE = "redcap_repeat_instance"
DATA_ACCESS_GROUP = "redcap_data_access_group"
# Columns REDCap may add to an export that carry nothing for the registry.
IGNORED_EXPORT_COLUMNS = ("redcap_survey_identifier",)

DICTIONARY_COLUMNS = (
    "Variable / Field Name",
    "Form Name",
    "Section Header",
    "Field Type",
    "Field Label",
    "Choices, Calculations, OR Slider Labels",
    "Field Note",
    "Text Validation Type OR Show Slider Number",
    "Text Validation Min",
    "Text Validation Max",
    "Identifier?",
    "Branching Logic (Show field only if...)",
    "Required Field?",
    "Custom Alignment",
    "Question Number (surveys only)",
    "Matrix Group Name",
    "Matrix Ranking?",
    "Field Annotation",
)

# Variable-name prefix of each record type's instrument (fixed: renaming one breaks existing projects).
PREFIXES: dict[str, str] = {
    "patient": "pat",
    "diagnosis": "dx",
    "genetic_finding": "gen",
    "relapse": "rel",
    "body_measurement": "body",
    "treatment_line": "tl",
    "blinatumomab_cycle": "cyc",
    "dose_segment": "dose",
    "interruption": "intr",
    "mrd_assessment": "mrd",
    "response_assessment": "resp",
    "adverse_event": "ae",
    "hsct": "hsct",
    "follow_up": "fu",
    "death": "death",
}
# (record type, field) -> the field part of the variable name, where `<prefix>_<field>` is too long.
SHORT_FIELD_NAMES: dict[tuple[str, str], str] = {
    ("relapse", "site_other_extramedullary"): "site_other_em",
}
PATIENT_LEVEL = ("patient", "diagnosis", "follow_up", "death")
# Forms every registry patient has (validation requires them): a record without one is not imported.
REQUIRED_FORMS = ("patient", "diagnosis", "follow_up")
INSTRUMENTS: tuple[str, ...] = tuple(m.record_type for m in RECORD_MODELS if m.record_type != "center")
REPEATING_INSTRUMENTS: tuple[str, ...] = tuple(name for name in INSTRUMENTS if name not in PATIENT_LEVEL)
_LEGAL_NAME = re.compile(r"[a-z][a-z0-9_]*")
MAX_NAME_LENGTH = 26

# REDCap's form status (`<form>_complete`), and which statuses each --redcap-status level imports.
FORM_STATUS = {"0": "Incomplete", "1": "Unverified", "2": "Complete"}
STATUS_LEVELS: dict[str, frozenset[str]] = {
    "complete": frozenset({"2"}),
    "unverified": frozenset({"1", "2"}),
    "all": frozenset({"0", "1", "2"}),
}
DEFAULT_STATUS_LEVEL = "unverified"
# Check name of the problems that report a form left out of an import.
SKIPPED_FORM_CHECK = "redcap_form_skipped"

# The project's Missing Data Codes (Project Setup -> Additional customizations), in REDCap's
# "code, label | ..." form. The codes are the registry's own missing-data spellings.
MISSING_DATA_CODES: tuple[tuple[str, str], ...] = (
    ("unknown", "Unknown"),
    ("not_done", "Not done"),
    ("not_applicable", "Not applicable"),
    ("positive_not_quantifiable", "Positive, not quantifiable"),
)
MISSING_CODES = frozenset(code for code, _ in MISSING_DATA_CODES)
NO_MISSING_TAG = "@NOMISSING"  # REDCap action tag: this field offers no missing-data code


@dataclasses.dataclass(frozen=True)
class Checkbox:
    """One REDCap checkbox field standing for several yes/no fields of a record type.

    REDCap exports a checkbox as one column per option, `<variable>___<code>` holding 1 or 0.
    """

    record_type: str
    variable: str
    label: str
    options: tuple[tuple[str, str, str], ...]  # (REDCap code, registry field, label)

    def column(self, code: str) -> str:
        return f"{self.variable}___{code}"


CHECKBOXES: tuple[Checkbox, ...] = (
    Checkbox(
        "relapse",
        "rel_site",
        "Sites involved (tick every one)",
        (
            ("bone_marrow", "site_bone_marrow", "Bone marrow (>= 5% blasts)"),
            ("cns", "site_cns", "CNS"),
            ("testis", "site_testis", "Testis"),
            ("other_em", "site_other_extramedullary", "Other extramedullary"),
        ),
    ),
)
_CHECKBOX_OF: dict[tuple[str, str], Checkbox] = {
    (box.record_type, field): box for box in CHECKBOXES for _, field, _ in box.options
}

# Display labels of the dropdown choices (REDCap shows them; the raw export holds the numbers).
# A code missing here is shown as itself with '_' as a space.
CHOICE_LABELS: dict[str, str] = {
    "female": "Female",
    "male": "Male",
    "other": "Other",
    "unknown": "Unknown",
    "mrd_clearance": "MRD clearance (MRD-positive CR)",
    "relapsed_refractory": "Relapsed / refractory",
    "chemotherapy_intolerance": "Chemotherapy intolerance",
    "consolidation": "Consolidation",
    "bridging_to_hsct": "Bridging to HSCT",
    "frontline": "Front-line",
    "blinatumomab": "Blinatumomab",
    "inotuzumab": "Inotuzumab ozogamicin",
    "chemotherapy": "Chemotherapy",
    "car_t": "CAR T cells",
    "hsct": "HSCT",
    "radiotherapy": "Radiotherapy",
    "crs": "Cytokine release syndrome (CRS)",
    "icans": "ICANS",
    "encephalopathy": "Encephalopathy",
    "seizure": "Seizure",
    "tremor": "Tremor",
    "other_neurotoxicity": "Other neurotoxicity",
    "fever": "Fever",
    "infection": "Infection",
    "cytopenia": "Cytopenia",
    "second_malignancy": "Second malignancy",
    "none": "None",
    "interrupted": "Infusion interrupted",
    "dose_reduced": "Dose reduced",
    "discontinued": "Discontinued",
    "focal": "Focal edema",
    "diffuse": "Diffuse edema",
    "mild": "Mild",
    "moderate": "Moderate",
    "severe": "Severe",
    "tbi_based": "TBI-based",
    "chemotherapy_only": "Chemotherapy only",
    "awakens_spontaneously": "Awakens spontaneously",
    "awakens_to_voice": "Awakens to voice",
    "awakens_to_touch": "Awakens only to tactile stimulus",
    "unarousable": "Unarousable",
    "normal": "Normal",
    "prephase": "Pre-phase",
    "induction": "Induction",
    "continued": "Continued therapy",
    "relapse_progression": "Relapse / progression",
    "gvhd": "GVHD",
    "treatment_toxicity": "Treatment toxicity",
    "msd": "Matched sibling donor",
    "mud": "Matched unrelated donor",
    "mmud": "Mismatched unrelated donor",
    "haploidentical": "Haploidentical",
    "cord": "Cord blood",
    "autologous": "Autologous",
    "planned": "Planned (prescribed)",
    "delivered": "Delivered (infused)",
    "mcg/day": "mcg/day",
    "mcg/m2/day": "mcg/m2/day",
    "mrd_positive": "MRD-positive",
    "toxicity": "Toxicity",
    "progression": "Progression",
    "cost": "Cost",
    "high_hyperdiploidy": "High hyperdiploidy",
    "hypodiploidy": "Hypodiploidy",
    "astct": "ASTCT (CRS, ICANS)",
    "ctcae_v5": "CTCAE v5",
    "deep_focal_weakness": "Deep focal motor weakness",
    "resolving": "Resolving (focal or generalized)",
    "prolonged": "Prolonged (> 5 min) or repetitive",
    "neurotoxicity": "Neurotoxicity",
    "other_toxicity": "Other toxicity",
    "technical": "Technical (line, pump)",
    "flow": "Flow cytometry",
    "rt_qpcr_fusion": "RT-qPCR of a fusion transcript",
    "ig_tcr_qpcr": "IG/TCR qPCR",
    "ngs": "NGS",
    "ihc": "Immunohistochemistry",
    "BM": "Bone marrow",
    "PB": "Peripheral blood",
    "low_flow": "Low-flow nasal cannula (<= 6 L/min)",
    "high_flow": "High-flow nasal cannula",
    "facemask": "Facemask",
    "non_rebreather": "Non-rebreather mask",
    "venturi": "Venturi mask",
    "cpap_bipap": "CPAP / BiPAP",
    "mechanical_ventilation": "Mechanical ventilation",
    "not_in_CR": "Not in CR",
    "cr": "CR",
    "crh": "CRh",
    "cri": "CRi",
    "pr": "Partial remission",
    "no_response": "No response",
    "alive": "Alive",
    "dead": "Dead",
}

# Direct identifiers (REDCap's "Identifier?" flag: left out of de-identified exports).
IDENTIFIERS: frozenset[tuple[str, str]] = frozenset({("patient", "birth_date")})


def variable_name(record_type: str, field: str) -> str:
    """The REDCap variable of a field (`record_id` for a patient id; the checkbox for a checkbox option)."""
    if field == "patient_id":
        return RECORD_ID
    box = _CHECKBOX_OF.get((record_type, field))
    if box is not None:
        return box.variable
    return f"{PREFIXES[record_type]}_{SHORT_FIELD_NAMES.get((record_type, field), field)}"


def export_column_name(record_type: str, field: str) -> str:
    """The column of a field in a raw export (`rel_site___cns` for a checkbox option)."""
    box = _CHECKBOX_OF.get((record_type, field))
    if box is not None:
        return box.column(next(code for code, name, _ in box.options if name == field))
    return variable_name(record_type, field)


def _instrument_columns(record_type: str) -> list[Column]:
    return [c for c in columns(RECORD_TYPES[record_type]) if c.name != "patient_id"]


# export column -> (record type, column), over every instrument, in dictionary order (without record_id).
VARIABLES: dict[str, tuple[str, Column]] = {
    export_column_name(name, c.name): (name, c) for name in INSTRUMENTS for c in _instrument_columns(name)
}


def _raw_codes(enum_type: type[enum.Enum]) -> dict[str, str]:
    return {str(number): member.value for number, member in enumerate(enum_type, start=1)}


def _enums() -> dict[str, type[enum.Enum]]:
    found: dict[str, type[enum.Enum]] = {}
    for name in INSTRUMENTS:
        for column in _instrument_columns(name):
            if column.enum is not None:
                found.setdefault(column.enum.__name__, column.enum)
    return found


# Enumeration class name -> {raw code: our code}: 1, 2, ... in member order (see the module docstring).
RAW_CODES: dict[str, dict[str, str]] = {name: _raw_codes(enum_type) for name, enum_type in sorted(_enums().items())}
_ENCODE: dict[str, dict[str, str]] = {
    name: {code: raw for raw, code in table.items()} for name, table in RAW_CODES.items()
}


def choice_label(code: str) -> str:
    return CHOICE_LABELS.get(code) or code.replace("_", " ")


def _choices(enum_type: type[enum.Enum]) -> str:
    return " | ".join(f"{raw}, {choice_label(code)}" for raw, code in RAW_CODES[enum_type.__name__].items())


def _raw(record_type: str, field: str, code: str) -> str:
    """The raw code of an enumeration value of a field (for branching logic)."""
    column = next(c for c in columns(RECORD_TYPES[record_type]) if c.name == field)
    assert column.enum is not None
    return _ENCODE[column.enum.__name__][code]


def _branching() -> dict[tuple[str, str], str]:
    """REDCap branching logic: (record type, field) -> show the field only if ..."""
    crs = f"[ae_term] = '{_raw('adverse_event', 'term', 'crs')}'"
    icans = f"[ae_term] = '{_raw('adverse_event', 'term', 'icans')}'"
    logic = {
        ("genetic_finding", "detail"): "[gen_lesion] <> ''",
        ("mrd_assessment", "fraction"): "[mrd_detected] = '1'",
    }
    for field in ("temperature_c", "vasopressors", "vasopressin", "hypotension", "oxygen"):
        logic[("adverse_event", field)] = crs
    for field in ("ice_score", "capd_score", "consciousness", "seizure", "motor", "cerebral_edema"):
        logic[("adverse_event", field)] = icans
    return logic


BRANCHING_LOGIC: dict[tuple[str, str], str] = _branching()


def accepts_missing_code(record_type: str, field: str) -> bool:
    """Whether the registry stores a missing-data code (`unknown`, ...) in this field.

    Decided by the record models: a field accepts a code only when the models say so.
    """
    return _model_accepts_missing(record_type, field)


def _model_accepts_missing(record_type: str, field: str) -> bool:
    from blinareg.records.missing import accepted_codes

    return bool(accepted_codes(record_type, field))


def _accepts_partial_date(record_type: str, field: str) -> bool:
    from blinareg.records.missing import accepts_partial_date

    return accepts_partial_date(record_type, field)


PARTIAL_DATE_NOTE = "YYYY-MM-DD; YYYY-MM or YYYY when only the month or the year is known"


def _bounds(record_type: str, field: str) -> tuple[str, str]:
    """Inclusive min/max of a numeric field (exclusive bounds are left to the import checks)."""
    info = RECORD_TYPES[record_type].model_fields[field]
    constraints: list[object] = list(info.metadata)
    pending = [info.annotation]
    while pending:
        annotation = pending.pop()
        origin = typing.get_origin(annotation)
        if origin is typing.Annotated:
            base, *extra = typing.get_args(annotation)
            pending.append(base)
            for item in extra:
                constraints.extend(getattr(item, "metadata", [item]))
        elif origin is not None:
            pending.extend(typing.get_args(annotation))
    low = high = ""
    for item in constraints:
        if isinstance(item, annotated_types.Ge):
            low = _number_text(item.ge)
        elif isinstance(item, annotated_types.Le):
            high = _number_text(item.le)
    return low, high


def _number_text(value: object) -> str:
    return format_float(value) if isinstance(value, float) else str(value)


# ---- data dictionary -------------------------------------------------------------------------------


def _annotation(record_type: str, fields: list[str]) -> str:
    """Field Annotation: the registry field(s), and @NOMISSING where no missing-data code is accepted."""
    text = "blinareg: " + ", ".join(f"{record_type}.{field}" for field in fields)
    if not all(accepts_missing_code(record_type, field) for field in fields):
        text += f" {NO_MISSING_TAG}"
    return text


def redcap_data_dictionary() -> str:
    """The REDCap Data Dictionary (CSV text, REDCap's upload format) of every instrument."""
    rows: list[dict[str, str]] = [
        {
            "Variable / Field Name": RECORD_ID,
            "Form Name": "patient",
            "Section Header": RECORD_TYPES["patient"].title,
            "Field Type": "text",
            "Field Label": "Pseudonymous study id (never a name or MRN)",
            "Required Field?": "y",
            "Field Annotation": f"blinareg: patient.patient_id {NO_MISSING_TAG}",
        }
    ]
    for name in INSTRUMENTS:
        for position, column in enumerate(_instrument_columns(name)):
            box = _CHECKBOX_OF.get((name, column.name))
            if box is not None and box.options[0][1] != column.name:
                continue  # one row per checkbox, at its first option
            row = {
                "Variable / Field Name": variable_name(name, column.name),
                "Form Name": name,
                "Section Header": RECORD_TYPES[name].title if position == 0 and name != "patient" else "",
                "Field Label": column.description or column.name,
                "Identifier?": "y" if (name, column.name) in IDENTIFIERS else "",
                "Branching Logic (Show field only if...)": BRANCHING_LOGIC.get((name, column.name), ""),
                # pat_center_id may come from the data access group or --center instead.
                "Required Field?": "y" if column.required and column.name != "center_id" else "",
                "Field Annotation": _annotation(name, [column.name]),
            }
            if box is not None:
                row["Field Type"] = "checkbox"
                row["Field Label"] = box.label
                row["Choices, Calculations, OR Slider Labels"] = " | ".join(
                    f"{code}, {label}" for code, _, label in box.options
                )
                row["Field Annotation"] = _annotation(name, [field for _, field, _ in box.options])
                row["Required Field?"] = "y"
            elif column.enum is not None:
                row["Field Type"] = "dropdown"
                row["Choices, Calculations, OR Slider Labels"] = _choices(column.enum)
            elif column.kind == "bool":
                row["Field Type"] = "yesno"
            else:
                row["Field Type"] = "text"
                validation = {"date": "date_ymd", "int": "integer", "float": "number"}.get(column.kind, "")
                if column.kind == "date" and _accepts_partial_date(name, column.name):
                    # date_ymd would refuse a partial date: plain text, the format told in the note.
                    validation = ""
                    row["Field Note"] = PARTIAL_DATE_NOTE
                row["Text Validation Type OR Show Slider Number"] = validation
                if column.kind in ("int", "float"):
                    row["Text Validation Min"], row["Text Validation Max"] = _bounds(name, column.name)
            rows.append(row)
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=DICTIONARY_COLUMNS, restval="", lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return buffer.getvalue()


def redcap_field_count() -> int:
    """Fields of the generated dictionary (record_id and one per checkbox included)."""
    return 1 + len({variable_name(name, c.name) for name in INSTRUMENTS for c in _instrument_columns(name)})


def missing_data_codes_setting() -> str:
    """The text of REDCap's Missing Data Codes setting for the project."""
    return " | ".join(f"{code}, {label}" for code, label in MISSING_DATA_CODES)


def write_redcap_dictionary(path: str | os.PathLike) -> Path:
    path = Path(path)
    try:
        path.write_text(redcap_data_dictionary(), encoding="utf-8")
    except OSError as error:
        raise UserError(f"{path}: cannot write: {error.strerror}") from None
    return path


# ---- export (REDCap's import format) ---------------------------------------------------------------


def export_columns(*, data_access_groups: bool = False) -> list[str]:
    """The header of a raw REDCap export of this project (with the `<form>_complete` status fields)."""
    header = [RECORD_ID, REPEAT_INSTRUMENT, REPEAT_INSTANCE]
    if data_access_groups:
        header.append(DATA_ACCESS_GROUP)
    for name in INSTRUMENTS:
        header += [export_column_name(name, c.name) for c in _instrument_columns(name)]
        header.append(f"{name}_complete")
    return header


def _raw_value(column: Column, value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, str) and value in MISSING_CODES:
        return value
    if column.enum is not None:
        code = value.value if isinstance(value, enum.Enum) else str(value)
        return _ENCODE[column.enum.__name__][code]
    if column.kind == "bool":
        return "1" if value else "0"
    if column.kind == "date":
        return value.isoformat() if isinstance(value, dt.date) else str(value)
    if column.kind == "float":
        return format_float(value)
    return str(value)


def write_redcap_export(registry: Registry, *, data_access_groups: Mapping[str, str] | None = None) -> str:
    """The registry as a REDCap "Export records" CSV (raw data): what REDCap exports, and what its
    Data Import Tool and API import read. Every form is marked Complete (2). Centers are the patients'
    `pat_center_id`; with `data_access_groups` (center id -> DAG unique name) each record is also put in
    its center's data access group (a center without one is an error)."""
    header = export_columns(data_access_groups=data_access_groups is not None)
    patient_ids: set[str] = set()
    for name in INSTRUMENTS:
        patient_ids.update(registry[name]["patient_id"].tolist())
    groups: dict[str, str] = {}
    if data_access_groups is not None:
        centers = dict(zip(registry["patient"]["patient_id"], registry["patient"]["center_id"]))
        for pid in sorted(patient_ids):
            center = centers.get(pid)
            if center not in data_access_groups:
                raise UserError(f"patient {pid}: center {center!r} has no data access group in the DAG map")
            groups[pid] = data_access_groups[center]
    base: dict[str, dict[str, str]] = {pid: {RECORD_ID: pid} for pid in patient_ids}
    repeating: dict[str, list[dict[str, str]]] = {pid: [] for pid in patient_ids}
    from blinareg.records.missing import cell_overrides

    for name in INSTRUMENTS:
        model = RECORD_TYPES[name]
        instrument_columns = _instrument_columns(name)
        instance: dict[str, int] = {}
        frame = sorted_by_key(model, registry[name])
        # Missing-data codes and partial dates are written in the field's own cell, as REDCap holds them.
        overrides = {
            c.name: (None if (o := cell_overrides(model, frame, c.name)) is None else o.tolist())
            for c in instrument_columns
        }
        for position, record in enumerate(frame_to_dicts(model, frame)):
            pid = record["patient_id"]
            values = {
                export_column_name(name, c.name): (
                    _raw_value(c, record[c.name])
                    if overrides[c.name] is None or overrides[c.name][position] is None
                    else str(overrides[c.name][position])
                )
                for c in instrument_columns
            }
            values[f"{name}_complete"] = "2"
            if name in PATIENT_LEVEL:
                base[pid].update(values)
            else:
                instance[pid] = instance.get(pid, 0) + 1
                repeating[pid].append(
                    {RECORD_ID: pid, REPEAT_INSTRUMENT: name, REPEAT_INSTANCE: str(instance[pid]), **values}
                )
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=header, restval="", lineterminator="\n")
    writer.writeheader()
    for pid in sorted(patient_ids):
        rows = [base[pid], *repeating[pid]]
        if groups:
            for row in rows:
                row[DATA_ACCESS_GROUP] = groups[pid]
        writer.writerows(rows)
    return buffer.getvalue()


def write_redcap_export_file(
    registry: Registry, path: str | os.PathLike, *, data_access_groups: Mapping[str, str] | None = None
) -> Path:
    """`write_redcap_export` to a file, replaced atomically (a failed write leaves the old file)."""
    from blinareg.exchange._workbook import replace_file_atomically

    path = Path(path)
    if path.exists() and not path.is_file():
        raise UserError(f"{path} exists and is not a file; a REDCap export is one CSV file")
    text = write_redcap_export(registry, data_access_groups=data_access_groups)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        replace_file_atomically(lambda temp: Path(temp).write_text(text, encoding="utf-8"), path)
    except OSError as error:
        raise UserError(f"{path}: cannot write: {error.strerror}") from None
    return path


# ---- import ----------------------------------------------------------------------------------------


@dataclasses.dataclass
class _Form:
    """One form (instance) of a REDCap record, from one export row, before its values are typed."""

    record_id: str
    record_type: str
    line: int  # CSV line (header = 1)
    where: str  # "export.csv record P1 instrument relapse instance 2"
    raw: dict[str, tuple[str, str]]  # field -> (export column, raw text), non-blank cells only
    status: str | None  # the <form>_complete cell ("" when blank); None when the export has no such column
    skip: str | None = None  # why the form is left out of the import

    def number(self, field: str) -> int | None:
        """A key number (cycle_number, ...) as entered, or None when blank or not a number."""
        text = self.raw.get(field, ("", ""))[1]
        return int(text) if re.fullmatch(r"[0-9]{1,4}", text) else None

    def key_text(self) -> str | None:
        model = RECORD_TYPES[self.record_type]
        parts = []
        for k in model.key:
            if k != "patient_id" and k in self.raw:
                column, text = self.raw[k]
                value, reason = _from_raw(VARIABLES[column][1], text)
                parts.append(f"{k}={text if reason is not None or not isinstance(value, (str, dt.date)) else value}")
        return ", ".join(parts) or None

    def label(self) -> str:
        key = self.key_text()
        return f"{self.record_type}" + (f" ({key})" if key else "")


@dataclasses.dataclass
class _Item:
    """One record on its way to parse_rows, and where it came from."""

    values: dict[str, object]
    where: str  # "export.csv record P1 instrument relapse instance 2"
    line: int  # CSV line (header = 1)
    variables: dict[str, str]  # field -> export column
    dropped: set[str] = dataclasses.field(default_factory=set)  # fields whose raw value was unreadable
    pending: list[Problem] = dataclasses.field(default_factory=list)  # their problems, key added at the end


def read_redcap_export(
    path: str | os.PathLike,
    *,
    center_id: str | None = None,
    centers: pd.DataFrame | None = None,
    status: str = DEFAULT_STATUS_LEVEL,
    dag_map: Mapping[str, str] | None = None,
) -> tuple[Registry, list[Problem]]:
    """Read a REDCap "Export records" CSV file (raw data, not labels); see `read_redcap_csv`."""
    path = Path(path)
    if not path.is_file():
        raise UserError(f"{path}: no such file" if not path.exists() else f"{path}: not a file")
    data = path.read_bytes()
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise UserError(
            f"{path}: not UTF-8 text (byte 0x{data[error.start]:02x}); export the CSV from REDCap again"
        ) from None
    return read_redcap_csv(
        text, source=path.name, center_id=center_id, centers=centers, status=status, dag_map=dag_map, origin=str(path)
    )


def read_redcap_csv(
    text: str,
    *,
    source: str,
    center_id: str | None = None,
    centers: pd.DataFrame | None = None,
    status: str = DEFAULT_STATUS_LEVEL,
    dag_map: Mapping[str, str] | None = None,
    origin: str | None = None,
) -> tuple[Registry, list[Problem]]:
    """Read the text of a REDCap raw-data records export into a registry, with every problem.

    `status` (a key of `STATUS_LEVELS`) says which form statuses are imported; every other form that
    holds data is left out and reported as a warning (check `SKIPPED_FORM_CHECK`), and so are the forms
    that cannot be imported without it: a record whose patient, diagnosis, follow_up or death form is
    left out (or whose patient, diagnosis or follow_up form was never entered) is left out whole; a
    left-out treatment line takes its cycles, a left-out cycle the later cycles (numbers stay 1, 2, ...)
    and the records of those cycles, a left-out relapse the later relapses.

    The patient's center is `pat_center_id`, else its data access group (mapped by `dag_map`, DAG unique
    name -> center id, or the DAG name itself), else `center_id`; two of them disagreeing is an error.
    Center records are made from the distinct center ids: taken from `centers` (e.g. the stored center
    table) when known there, else named as their id. The registry is meaningful only without error
    problems (a record type with errors is left empty). `source` names the export in problems; `origin`
    (the file) in user errors.
    """
    if status not in STATUS_LEVELS:
        raise UserError(f"unknown form status level {status!r}; use one of {', '.join(STATUS_LEVELS)}")
    origin = origin or source
    problems: list[Problem] = []
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        rows = list(reader)
    except csv.Error as error:
        raise UserError(f"{origin}: not readable as CSV at line {reader.line_num} ({error})") from None
    if not rows or not any(cell.strip() for cell in rows[0]):
        raise UserError(f"{origin}: empty; expected a REDCap raw data export with a header row")
    header = [cell.strip() for cell in rows[0]]
    if len(header) == 1 and ";" in header[0]:
        raise UserError(
            f"{origin}: the columns are separated by ';' (the file was saved again by a spreadsheet "
            f"program); use the CSV exactly as REDCap exported it"
        )
    if header[0] != RECORD_ID:
        raise UserError(
            f"{origin}: the first column is {header[0]!r}, not {RECORD_ID!r}; export the records of a "
            f"project created from `blinareg redcap-dictionary` as CSV, raw data"
        )
    if "redcap_event_name" in header:
        raise UserError(
            f"{origin}: has redcap_event_name; longitudinal REDCap projects are not supported "
            f"(create a classic project with repeating instruments, see docs/redcap.md)"
        )

    known = {RECORD_ID, REPEAT_INSTRUMENT, REPEAT_INSTANCE, DATA_ACCESS_GROUP, *IGNORED_EXPORT_COLUMNS}
    status_columns = {f"{name}_complete" for name in INSTRUMENTS} | {f"{name}_timestamp" for name in INSTRUMENTS}
    positions: list[tuple[int, str]] = []
    seen_columns: set[str] = set()

    def header_problem(name: str, reason: str) -> None:
        problems.append(Problem(record_type="redcap", field=name, value=None, source=source, row=1, reason=reason))

    for position, name in enumerate(header):
        if name in seen_columns and name:
            header_problem(name, f"column {name!r} appears more than once; export the records again")
            continue
        seen_columns.add(name)
        if name in VARIABLES:
            positions.append((position, name))
        elif name and name not in known and name not in status_columns:
            guess = _suggestion(name, VARIABLES)
            hint = f"; did you mean {guess!r}?" if guess else ""
            header_problem(
                name,
                f"unknown REDCap variable {name!r}{hint} (its values are not imported); the project must match "
                "`blinareg redcap-dictionary`",
            )
    index = {name: position for position, name in enumerate(header)}
    variable_at: list[str | None] = [None] * len(header)
    for position, name in positions:
        variable_at[position] = name

    def cell(row: list[str], name: str) -> str:
        position = index.get(name)
        return row[position].strip() if position is not None and position < len(row) else ""

    forms: list[_Form] = []
    record_ids: dict[str, int] = {}
    record_groups: dict[str, tuple[str, int]] = {}  # record id -> (data access group, first line)
    seen: dict[tuple[str, str, str], int] = {}
    for line, row in enumerate(rows[1:], start=2):
        if not any(row) or not any(map(str.strip, row)):
            continue
        rid = cell(row, RECORD_ID)
        instrument = cell(row, REPEAT_INSTRUMENT)
        instance = cell(row, REPEAT_INSTANCE)
        where = f"{source} record {rid or '(blank)'}" + (
            f" instrument {instrument} instance {instance}" if instrument else ""
        )
        if len(row) > len(header):
            problems.append(
                _problem(
                    "redcap",
                    rid,
                    None,
                    None,
                    f"the row has {len(row)} values but the header has {len(header)} columns",
                    where,
                    line,
                )
            )
            continue
        if not rid:
            problems.append(_problem("redcap", None, RECORD_ID, None, "record_id is blank", where, line))
            continue
        if instrument and instrument not in REPEATING_INSTRUMENTS:
            reason = (
                f"{instrument!r} is not a repeating instrument"
                if instrument in INSTRUMENTS
                else f"unknown instrument {instrument!r}"
            )
            problems.append(
                _problem(
                    "redcap",
                    rid,
                    REPEAT_INSTRUMENT,
                    instrument,
                    f"{reason}; repeating instruments: {', '.join(REPEATING_INSTRUMENTS)}",
                    where,
                    line,
                )
            )
            continue
        if instrument and not re.fullmatch(r"[1-9][0-9]*", instance):
            problems.append(
                _problem(
                    instrument,
                    rid,
                    REPEAT_INSTANCE,
                    instance or None,
                    "expected an instance number 1, 2, ...",
                    where,
                    line,
                )
            )
            continue
        if not instrument and instance:
            problems.append(
                _problem(
                    "redcap",
                    rid,
                    REPEAT_INSTANCE,
                    instance,
                    "an instance number without a repeating instrument",
                    where,
                    line,
                )
            )
            continue
        identity = (rid, instrument, instance)
        if identity in seen:
            problems.append(
                _problem(
                    instrument or "redcap",
                    rid,
                    None,
                    None,
                    f"the same record, instrument and instance as line {seen[identity]}",
                    where,
                    line,
                )
            )
            continue
        seen[identity] = line
        record_ids.setdefault(rid, line)
        group = cell(row, DATA_ACCESS_GROUP)
        if group:
            first = record_groups.setdefault(rid, (group, line))
            if first[0] != group:
                problems.append(
                    _problem(
                        "redcap",
                        rid,
                        DATA_ACCESS_GROUP,
                        group,
                        f"line {first[1]} puts this record in data access group {first[0]!r}",
                        f"{where} variable {DATA_ACCESS_GROUP}",
                        line,
                    )
                )
        row_forms = (instrument,) if instrument else PATIENT_LEVEL
        found: dict[str, dict[str, tuple[str, str]]] = {}
        # Only the non-empty cells (most of a wide export's cells are empty; compress skips them in C).
        for position in itertools.compress(range(len(row)), row):
            variable = variable_at[position]
            if variable is None:
                continue
            value = row[position].strip()
            if not value:
                continue
            record_type, column = VARIABLES[variable]
            if record_type not in row_forms:
                if value == "0" and (record_type, column.name) in _CHECKBOX_OF:
                    continue  # REDCap writes unticked boxes on every row
                expected = (
                    f"belongs to the repeating instrument {record_type}"
                    if record_type in REPEATING_INSTRUMENTS
                    else f"belongs to the non-repeating instrument {record_type}"
                )
                problems.append(
                    _problem(
                        record_type,
                        rid,
                        column.name,
                        value,
                        f"variable {variable} {expected}; it cannot have a value on this row",
                        f"{where} variable {variable}",
                        line,
                    )
                )
                continue
            found.setdefault(record_type, {})[column.name] = (variable, value)
        for record_type in row_forms:
            raw = found.get(record_type, {})
            if not any(text != "0" or (record_type, field) not in _CHECKBOX_OF for field, (_, text) in raw.items()):
                continue  # nothing entered in this form (unticked boxes only)
            status_column = f"{record_type}_complete"
            forms.append(
                _Form(
                    rid,
                    record_type,
                    line,
                    where if instrument else f"{where} instrument {record_type}",
                    raw,
                    cell(row, status_column) if status_column in index else None,
                )
            )

    for form in forms:
        reason = _status_skip(form, status)
        if isinstance(reason, Problem):
            problems.append(reason)
        else:
            form.skip = reason
    problems += _leave_out_dependents(forms, record_ids)

    items: dict[str, list[_Item]] = {name: [] for name in INSTRUMENTS}
    for form in forms:
        if form.skip is not None:
            continue
        item = _Item({"patient_id": form.record_id}, form.where, form.line, {})
        for field, (variable, value) in form.raw.items():
            column = VARIABLES[variable][1]
            converted, reason = _from_raw(column, value)
            item.variables[field] = variable
            if reason is not None:
                item.pending.append(
                    _problem(
                        form.record_type,
                        form.record_id,
                        field,
                        value,
                        reason,
                        f"{form.where} variable {variable}",
                        form.line,
                    )
                )
                item.dropped.add(field)
                continue
            item.values[field] = converted
        items[form.record_type].append(item)

    problems += _assign_centers(items["patient"], record_groups, center_id, dag_map, source)
    tables: dict[str, pd.DataFrame] = {}
    for record_type, record_items in items.items():
        model = RECORD_TYPES[record_type]
        for item in record_items:
            key = ", ".join(
                f"{k}={item.values[k]}" for k in model.key if k != "patient_id" and item.values.get(k) is not None
            )
            problems.extend(dataclasses.replace(problem, key=key or None) for problem in item.pending)
        frame, parsed = parse_rows(model, [item.values for item in record_items], source=source, first_row_number=0)
        for problem in parsed:
            if record_type == "patient" and problem.field == "center_id" and problem.value is None:
                continue  # reported by _assign_centers
            item = record_items[problem.row] if problem.row is not None else None
            if item is None:
                problems.append(problem)
                continue
            if problem.value is None and problem.field in item.dropped:
                continue  # already reported as an unreadable raw value
            variable = item.variables.get(problem.field or "") or (
                export_column_name(record_type, problem.field) if problem.field in model.model_fields else None
            )
            where = item.where + (f" variable {variable}" if variable else "")
            problems.append(dataclasses.replace(problem, source=where, row=item.line))
        # Like parse_rows: a record type with any unreadable value is left empty, never half read.
        tables[record_type] = frame.iloc[0:0] if any(item.dropped for item in record_items) else frame
    tables["center"] = _centers(tables["patient"], centers)
    problems.sort(key=lambda p: p.row or 0)
    return Registry(tables), problems


def left_out_reason(form: str, status: str | None, level: str) -> str | None:
    """Why a form holding data is left out at a status level (None: it is imported).

    `status` is the `<form>_complete` cell, None when the export has no such column. Raises ValueError
    for a cell that is no form status.
    """
    column = f"{form}_complete"
    if status is None:
        if level == "all":
            return None
        return (
            f"the export has no {column} column (the form status), so the form's status is unknown; "
            f"export every field, or import with --redcap-status all"
        )
    status = status or "0"  # REDCap stores a form saved without a status as Incomplete
    if status not in FORM_STATUS:
        raise ValueError("expected a form status 0 (Incomplete), 1 (Unverified) or 2 (Complete)")
    if status in STATUS_LEVELS[level]:
        return None
    wanted = " or ".join(FORM_STATUS[s] for s in sorted(STATUS_LEVELS[level], reverse=True))
    return f"the form is {FORM_STATUS[status]} ({column} = {status}); this import takes {wanted} forms"


def _status_skip(form: _Form, level: str) -> str | None | Problem:
    """Why a form is left out for its status (None: imported), or the problem of an unreadable status."""
    try:
        return left_out_reason(form.record_type, form.status, level)
    except ValueError as error:
        column = f"{form.record_type}_complete"
        return _problem(
            form.record_type,
            form.record_id,
            column,
            form.status,
            str(error),
            f"{form.where} variable {column}",
            form.line,
        )


def _skip_problem(form: _Form, reason: str) -> Problem:
    column = f"{form.record_type}_complete"
    value = form.status if form.status else None
    return Problem(
        record_type=form.record_type,
        field=column,
        value=value,
        patient_id=form.record_id,
        key=form.key_text(),
        reason=f"not imported: {reason}",
        severity=Severity.WARNING,
        source=form.where,
        row=form.line,
        check=SKIPPED_FORM_CHECK,
    )


def _leave_out_dependents(forms: list[_Form], record_ids: Mapping[str, int]) -> list[Problem]:
    """Leave out the forms that cannot be imported without a left-out one; one warning per left-out form
    (or per record, when the whole record is left out)."""
    problems: list[Problem] = []
    by_record: dict[str, list[_Form]] = {}
    for form in forms:
        by_record.setdefault(form.record_id, []).append(form)
    for rid in record_ids:
        own = by_record.get(rid, [])
        entered = {f.record_type for f in own}
        whole = [f for f in own if f.record_type in PATIENT_LEVEL and f.skip is not None]
        absent = [name for name in REQUIRED_FORMS if name not in entered]
        if whole or absent:
            first = whole[0] if whole else (own[0] if own else None)
            because = [f"its {f.record_type} form is left out ({f.skip})" for f in whole]
            because += [f"its {name} form has not been entered" for name in absent]
            others = [f for f in own if f.skip is None and f not in whole]
            for form in own:
                form.skip = form.skip or "record left out"
            if first is None:
                continue
            reason = (
                f"record {rid} is not imported: " + "; ".join(because) + " (every registry patient needs "
                f"{', '.join(REQUIRED_FORMS)})"
                + (f"; {len(others)} other form(s) of the record are left out with it" if others else "")
            )
            problem = dataclasses.replace(_skip_problem(first, ""), reason=reason)
            if not whole:  # the cause is a form never entered, not this form's status
                problem = dataclasses.replace(problem, field=None, value=None)
            problems.append(problem)
            continue
        problems += [_skip_problem(f, f.skip) for f in own if f.skip is not None]

        def cascade(forms_of: list[_Form], reason: str) -> None:
            for form in forms_of:
                if form.skip is None:
                    form.skip = reason
                    problems.append(_skip_problem(form, reason))

        lines = {f.number("line_number") for f in own if f.record_type == "treatment_line" and f.skip is not None}
        cascade(
            [f for f in own if f.record_type == "blinatumomab_cycle" and f.number("line_number") in lines - {None}],
            "its treatment line is left out",
        )
        for record_type, number in (("blinatumomab_cycle", "cycle_number"), ("relapse", "relapse_number")):
            left = [f.number(number) for f in own if f.record_type == record_type and f.skip is not None]
            known = [n for n in left if n is not None]
            if known:
                first_left = min(known)
                cascade(
                    [f for f in own if f.record_type == record_type and (f.number(number) or 0) > first_left],
                    f"{record_type} {number}={first_left} is left out, and {number}s must stay 1, 2, ...",
                )
        cycles = {f.number("cycle_number") for f in own if f.record_type == "blinatumomab_cycle" and f.skip is not None}
        cycles.discard(None)
        cascade(
            [
                f
                for f in own
                if f.record_type in ("dose_segment", "interruption", "adverse_event", "response_assessment")
                and f.number("cycle_number") in cycles
            ],
            "its blinatumomab cycle is left out",
        )
    return problems


def hold_stored_patients(
    registry: Registry, problems: list[Problem], stored_among: typing.Callable[[list[str]], set[str]]
) -> tuple[Registry, list[Problem]]:
    """Keep stored patients whole while some of their forms are left out.

    An import replaces every stored record of the patients it holds; a patient imported "as far as it is
    complete" would lose the stored records of the forms now left out (a Complete relapse reopened for a
    correction). Such a patient, when already stored, is left out of the batch and stays exactly as
    stored, with a warning. `stored_among(ids)` returns the ids that are stored.
    """
    partial = sorted(
        {
            p.patient_id
            for p in problems
            if p.check == SKIPPED_FORM_CHECK and p.patient_id and p.patient_id in set(registry["patient"]["patient_id"])
        }
    )
    held = stored_among(partial) if partial else set()
    if not held:
        return registry, problems
    kept = [pid for pid in registry["patient"]["patient_id"].tolist() if pid not in held]
    notes = []
    for pid in sorted(held):
        first = next(p for p in problems if p.patient_id == pid and p.check == SKIPPED_FORM_CHECK)
        notes.append(
            dataclasses.replace(
                first,
                record_type="patient",
                field=None,
                value=None,
                key=None,
                reason=f"record {pid} is kept as stored (nothing of it is imported): "
                f"importing it without its left-out forms would delete their "
                f"stored records; import it again when they are Complete or "
                f"Unverified",
            )
        )
    return registry.subset(kept), [*problems, *notes]


def _assign_centers(
    patients: list[_Item],
    groups: Mapping[str, tuple[str, int]],
    center_id: str | None,
    dag_map: Mapping[str, str] | None,
    source: str,
) -> list[Problem]:
    """Set each patient's center_id: pat_center_id, else its data access group's center, else center_id."""
    problems: list[Problem] = []
    variable = variable_name("patient", "center_id")
    for item in patients:
        rid = str(item.values["patient_id"])
        own = item.values.get("center_id")
        group, group_line = groups.get(rid, ("", 0))
        from_group: str | None = None
        if group:
            if dag_map is None:
                from_group = group
            elif group in dag_map:
                from_group = dag_map[group]
            else:
                problems.append(
                    _problem(
                        "patient",
                        rid,
                        "center_id",
                        group,
                        f"data access group {group!r} is not in the DAG map "
                        f"(known: {', '.join(sorted(dag_map)) or 'none'})",
                        f"{source} record {rid} variable {DATA_ACCESS_GROUP}",
                        group_line,
                    )
                )
                continue
        candidates = [
            (f"pat_center_id is {own!r}", own),
            (f"data access group {group!r} is center {from_group!r}", from_group),
            (f"the import is for center {center_id!r} (--center)", center_id),
        ]
        given = [(text, value) for text, value in candidates if value is not None]
        if not given:
            problems.append(
                _problem(
                    "patient",
                    rid,
                    "center_id",
                    None,
                    "no center: pat_center_id is blank, the record is in no data access group, "
                    "and no center was given (--center)",
                    f"{item.where} variable {variable}",
                    item.line,
                )
            )
            continue
        disagree = [text for text, value in given if value != given[0][1]]
        if disagree:
            problems.append(
                _problem(
                    "patient",
                    rid,
                    "center_id",
                    given[0][1],
                    f"{given[0][0]} but {'; '.join(disagree)}",
                    f"{item.where} variable {variable}",
                    item.line,
                )
            )
            continue
        item.values["center_id"] = given[0][1]
    return problems


def load_dag_map(path: str | os.PathLike) -> dict[str, str]:
    """A DAG map file: data access group unique name -> center id.

    TOML (`[data_access_groups]` table, `dag_name = "CENTER"`) or CSV with the columns
    `redcap_data_access_group,center_id`.
    """
    path = Path(path)
    if not path.is_file():
        raise UserError(f"{path}: no such DAG map file")
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as error:
        raise UserError(f"{path}: cannot read the DAG map ({error})") from None
    mapping: dict[str, str] = {}
    if path.suffix.lower() == ".toml":
        import tomllib

        try:
            document = tomllib.loads(text)
        except tomllib.TOMLDecodeError as error:
            raise UserError(f"{path}: not valid TOML ({error})") from None
        table = document.get("data_access_groups")
        if not isinstance(table, dict) or set(document) - {"data_access_groups"}:
            raise UserError(f'{path}: expected one table [data_access_groups] of dag_name = "CENTER" lines')
        for group, center in table.items():
            if not isinstance(center, str) or not center.strip():
                raise UserError(f"{path}: data access group {group!r}: expected a center id in quotes, not {center!r}")
            mapping[group] = center.strip()
        return mapping
    if path.suffix.lower() != ".csv":
        raise UserError(f"{path}: a DAG map is a .toml or .csv file")
    rows = list(csv.reader(io.StringIO(text, newline="")))
    if not rows or [c.strip() for c in rows[0]] != [DATA_ACCESS_GROUP, "center_id"]:
        raise UserError(f"{path}: the header must be {DATA_ACCESS_GROUP},center_id")
    for number, row in enumerate(rows[1:], start=2):
        if not any(c.strip() for c in row):
            continue
        if len(row) != 2 or not row[0].strip() or not row[1].strip():
            raise UserError(f"{path} row {number}: expected a data access group and a center id, got {row!r}")
        group = row[0].strip()
        if group in mapping:
            raise UserError(f"{path} row {number}: data access group {group!r} is mapped twice")
        mapping[group] = row[1].strip()
    return mapping


def data_access_groups(path: str | os.PathLike) -> list[str]:
    """The data access groups named in a REDCap records export (its `redcap_data_access_group` column),
    sorted; none when the export has no such column. Read row by row: the export may be large."""
    path = Path(path)
    try:
        with open(path, encoding="utf-8-sig", newline="") as source:
            reader = csv.reader(source)
            header = [cell.strip() for cell in next(reader, [])]
            if DATA_ACCESS_GROUP not in header:
                return []
            column = header.index(DATA_ACCESS_GROUP)
            return sorted({row[column].strip() for row in reader if len(row) > column and row[column].strip()})
    except UnicodeDecodeError:
        raise UserError(f"{path.name}: not UTF-8 text; export the CSV from REDCap again") from None
    except csv.Error as error:
        raise UserError(f"{path.name}: not readable as CSV ({error})") from None


def center_groups(dag_map: Mapping[str, str]) -> dict[str, str]:
    """A DAG map turned round: center id -> data access group (for an export)."""
    groups: dict[str, str] = {}
    for group, center in dag_map.items():
        if center in groups:
            raise UserError(
                f"center {center!r} has two data access groups in the DAG map ({groups[center]!r}, "
                f"{group!r}); an export puts each record in one"
            )
        groups[center] = group
    return groups


def _centers(patients: pd.DataFrame, known: pd.DataFrame | None) -> pd.DataFrame:
    ids = sorted(set(patients["center_id"].dropna().tolist()))
    rows = []
    lookup = {} if known is None else {row["center_id"]: row for row in frame_to_dicts(RECORD_TYPES["center"], known)}
    for center in ids:
        rows.append(lookup.get(center) or {"center_id": center, "name": center, "country": None, "synthetic": False})
    return pd.DataFrame(rows, columns=[c.name for c in columns(RECORD_TYPES["center"])])


_PARTIAL_DATE = re.compile(r"\d{4}(-\d{2})?")


def _from_raw(column: Column, value: str) -> tuple[object, str | None]:
    """A raw REDCap value ready for parse_rows, or why it cannot be read.

    Missing-data codes and partial dates (`YYYY`, `YYYY-MM`) are handed over as text: the record
    models decide where they are legal.
    """
    if value in MISSING_CODES:
        return value, None
    if column.enum is not None:
        table = RAW_CODES[column.enum.__name__]
        code = table.get(value)
        if code is None:
            return value, (
                f"unknown raw code {value!r}; expected one of "
                + ", ".join(f"{raw} ({code})" for raw, code in table.items())
            )
        return code, None
    if column.kind == "bool":
        if value not in ("0", "1"):
            return value, "expected 1 (yes) or 0 (no)"
        return value == "1", None
    if column.kind == "date":
        if _PARTIAL_DATE.fullmatch(value):
            return value, None
        try:
            if not re.fullmatch(r"\d{4}-\d{2}-\d{2}", value):
                raise ValueError
            return dt.date.fromisoformat(value), None
        except ValueError:
            return value, "expected a date as YYYY-MM-DD (REDCap raw export of a date_ymd field)"
    return value, None


def _problem(
    record_type: str, patient_id: str | None, field: str | None, value: object, reason: str, source: str, row: int
) -> Problem:
    return Problem(
        record_type=record_type, field=field, value=value, reason=reason, patient_id=patient_id, source=source, row=row
    )
