"""The database's column constraints, checked on registry frames before anything is written.

The tables refuse missing required values, unknown codes, out-of-range numbers and over-long text
(`blinareg.store.schema`). Records parsed with `blinareg.records.parse_rows` already satisfy these, but a
registry built in code may not; this turns every violation into a `Problem` naming the patient, record,
field and value instead of letting the database fail on the first one with its own message.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np

from blinareg.records.models import RECORD_TYPES
from blinareg.records.problems import Problem
from blinareg.records.registry import Registry, storage_columns
from blinareg.records.validation import problems_where
from blinareg.store.schema import RECORD_TABLES, enum_codes, field_constraints, numeric_bounds

CHECK_NAME = "database_constraints"
_COMPARE = {">=": np.greater_equal, ">": np.greater, "<=": np.less_equal, "<": np.less}


def constraint_problems(registry: Registry, record_types: Iterable[str] | None = None) -> list[Problem]:
    """Every violation in the frames of `record_types` (default: all)."""
    problems: list[Problem] = []
    wanted = set(RECORD_TYPES if record_types is None else record_types)
    for record_type, model in RECORD_TYPES.items():
        if record_type not in wanted:
            continue
        frame = registry[record_type]
        if frame.empty:
            continue
        table = RECORD_TABLES[record_type]
        for column in storage_columns(model):
            values = frame[column.name]
            present = values.notna().to_numpy()
            if not table.c[column.name].nullable and not present.all():
                problems += problems_where(
                    record_type, frame, ~present, column.name, "a value is required", check_name=CHECK_NAME
                )
            if column.enum is not None:
                codes = enum_codes(column)
                unknown = present & ~values.isin(codes).to_numpy()
                problems += problems_where(
                    record_type,
                    frame,
                    unknown,
                    column.name,
                    "unknown code; expected one of " + ", ".join(codes),
                    check_name=CHECK_NAME,
                )
            elif column.kind in ("int", "float"):
                bounds = numeric_bounds(field_constraints(model, column.name))
                if bounds:
                    numbers = values.to_numpy(dtype=float, na_value=np.nan)
                    inside = np.ones(len(frame), dtype=bool)
                    for operator, limit in bounds:
                        inside &= _COMPARE[operator](numbers, limit)
                    text = " and ".join(f"{operator} {limit}" for operator, limit in bounds)
                    problems += problems_where(
                        record_type,
                        frame,
                        present & ~inside,
                        column.name,
                        f"outside the allowed range ({text})",
                        check_name=CHECK_NAME,
                    )
            elif column.kind == "text":
                length = getattr(table.c[column.name].type, "length", None)
                if length and present.any():
                    too_long = present & (values.str.len().to_numpy(dtype=float, na_value=0.0) > length)
                    problems += problems_where(
                        record_type,
                        frame,
                        too_long,
                        column.name,
                        f"longer than {length} characters",
                        check_name=CHECK_NAME,
                    )
    return problems
