"""Errors of the clinical rules, and the one declared table of legal input ranges.

Every public rule function checks its arguments here, once, before applying a rule. An impossible value
(a temperature of 60 C, an ICE score of 11, a negative weight) raises `RuleInputError`, which names the
argument, the value and the legal range, e.g. ``"temperature_c=60 is outside the legal range 25 to 45 C"``.
`RuleInputError` is both a `ValueError` and a `blinareg.errors.UserError`, so the CLI prints it as one
line. `RuleConfigError` is raised for a bad center rule configuration and names the key.

The ranges below are plausibility limits of the inputs, not clinical rules: they reject values that
cannot be a measurement of a living patient. Clinical thresholds live in `blinareg.rules.ruleset`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date, datetime
from enum import Enum
from typing import Literal, TypeVar, overload

from blinareg.errors import UserError

EnumT = TypeVar("EnumT", bound=Enum)

__all__ = [
    "RuleInputError",
    "RuleConfigError",
    "InputRange",
    "INPUT_RANGES",
    "check_number",
    "check_int",
    "check_date",
    "check_enum",
    "check_bool",
]


class RuleInputError(ValueError, UserError):
    """An argument of a rule function is missing, of the wrong type, or outside its legal range."""

    def __init__(self, argument: str, value: object, legal: str) -> None:
        self.argument = argument
        self.value = value
        self.legal = legal
        super().__init__(f"{argument}={_show(value)} {legal}")


def _show(value: object) -> str:
    """A value as it appears in a message: dates in ISO form, numbers without a trailing .0."""
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, float):
        return f"{value:g}"
    return repr(value)


class RuleConfigError(RuleInputError):
    """A center's rule configuration has an unknown key or a bad value; `argument` is the key."""


@dataclass(frozen=True)
class InputRange:
    """Legal range of one argument; `low_open`/`high_open` make a bound exclusive."""

    low: float
    high: float
    unit: str
    low_open: bool = False
    high_open: bool = False

    def contains(self, value: float) -> bool:
        above = value > self.low if self.low_open else value >= self.low
        below = value < self.high if self.high_open else value <= self.high
        return above and below

    def describe(self) -> str:
        low = f"> {_fmt(self.low)}" if self.low_open else f">= {_fmt(self.low)}"
        high = f"< {_fmt(self.high)}" if self.high_open else f"<= {_fmt(self.high)}"
        unit = f" {self.unit}" if self.unit else ""
        return f"{low} and {high}{unit}"


def _fmt(x: float) -> str:
    return f"{x:g}"


# Argument name -> legal range. The same names are used by every rule function and in the messages.
INPUT_RANGES: dict[str, InputRange] = {
    "weight_kg": InputRange(0.0, 350.0, "kg", low_open=True),
    "height_cm": InputRange(30.0, 272.0, "cm"),
    "bsa_m2": InputRange(0.0, 4.0, "m2", low_open=True),
    "age_years": InputRange(0.0, 125.0, "years"),
    "temperature_c": InputRange(25.0, 45.0, "C"),
    "vasopressors": InputRange(0, 10, "vasopressors (vasopressin not counted)"),
    "oxygen_flow_l_min": InputRange(0.0, 80.0, "L/min"),
    "ice_score": InputRange(0, 10, "(ICE score, integer)"),
    "capd_score": InputRange(0, 32, "(CAPD score, integer)"),
    "blasts_pct": InputRange(0.0, 100.0, "%"),
    "marrow_blasts_pct": InputRange(0.0, 100.0, "%"),
    "baseline_blasts_pct": InputRange(0.0, 100.0, "%"),
    "anc": InputRange(0.0, 200_000.0, "cells/uL"),
    "platelets": InputRange(0.0, 5_000_000.0, "/uL"),
    "value": InputRange(0.0, 1.0, "(MRD as a fraction: 1e-4 = 0.01%)"),
    "sensitivity": InputRange(0.0, 1.0, "(assay sensitivity as a fraction)", low_open=True),
    "threshold": InputRange(0.0, 1.0, "(MRD threshold as a fraction)", low_open=True),
    "cycle": InputRange(1, 99, "(cycle number)"),
    "cycles": InputRange(1, 99, "(number of cycles)"),
    "day": InputRange(1, 999, "(cycle day)"),
    "grade": InputRange(0, 5, "(grade)"),
    "seizure_count": InputRange(0, 1000, "seizures"),
    "days_to_resolve": InputRange(0, 366, "days"),
    "current_dose": InputRange(0.0, 100.0, "", low_open=True),
    "dose": InputRange(0.0, 100.0, ""),
}


@overload
def check_number(
    name: str, value: object, *, allow_none: Literal[False] = False, limits: InputRange | None = None
) -> float: ...
@overload
def check_number(name: str, value: object, *, allow_none: bool, limits: InputRange | None = None) -> float | None: ...
def check_number(
    name: str, value: object, *, allow_none: bool = False, limits: InputRange | None = None
) -> float | None:
    """`value` as a finite float inside the declared range of `name` (or `limits`); None when allowed."""
    if value is None:
        if allow_none:
            return None
        raise RuleInputError(name, value, "is required")
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise RuleInputError(name, value, "must be a number")
    number = float(value)
    if not math.isfinite(number):
        raise RuleInputError(name, value, "must be a finite number")
    bounds = limits or INPUT_RANGES[name]
    if not bounds.contains(number):
        raise RuleInputError(name, value, f"is outside the legal range {bounds.describe()}")
    return number


def check_int(name: str, value: object, *, limits: InputRange | None = None) -> int:
    """`value` as an int inside the declared range of `name` (or `limits`); bools and floats refused."""
    if value is None:
        raise RuleInputError(name, value, "is required")
    if isinstance(value, bool) or not isinstance(value, int):
        raise RuleInputError(name, value, "must be an integer")
    bounds = limits or INPUT_RANGES[name]
    if not bounds.contains(value):
        raise RuleInputError(name, value, f"is outside the legal range {bounds.describe()}")
    return value


def check_date(name: str, value: object) -> date:
    """`value` as a `datetime.date` (a datetime is refused: the rules work on calendar days)."""
    if isinstance(value, datetime) or not isinstance(value, date):
        raise RuleInputError(name, value, "must be a date (datetime.date)")
    return value


def check_enum(name: str, value: object, enum_type: type[EnumT]) -> EnumT:
    """`value` as a member of `enum_type`; its stored code (a string) is accepted too."""
    try:
        return enum_type(value)
    except ValueError:
        legal = ", ".join(member.value for member in enum_type)
        raise RuleInputError(name, value, f"is not one of: {legal}") from None


def check_bool(name: str, value: object) -> bool:
    if not isinstance(value, bool):
        raise RuleInputError(name, value, "must be true or false")
    return value
