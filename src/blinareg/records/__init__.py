"""Typed record models, the in-memory registry and validation. No I/O."""

from blinareg.records.models import RECORD_MODELS, RECORD_TYPES, Record
from blinareg.records.problems import Problem, Severity
from blinareg.records.registry import Registry, columns, frame_to_dicts, parse_rows
from blinareg.records.validation import validate

__all__ = [
    "RECORD_MODELS",
    "RECORD_TYPES",
    "Record",
    "Problem",
    "Severity",
    "Registry",
    "columns",
    "frame_to_dicts",
    "parse_rows",
    "validate",
]
