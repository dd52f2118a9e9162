"""A validation problem: which patient, record, field and value, and why."""

from __future__ import annotations

import datetime as dt
from dataclasses import asdict, dataclass
from enum import Enum, StrEnum


class Severity(StrEnum):
    ERROR = "error"  # the record cannot be stored as it is
    WARNING = "warning"  # stored, but worth a look (e.g. a dose outside the label's range)


@dataclass(frozen=True)
class Problem:
    record_type: str
    field: str | None
    value: object
    reason: str
    patient_id: str | None = None
    key: str | None = None  # the record's key besides patient_id, e.g. "relapse_number=2"
    severity: Severity = Severity.ERROR
    source: str | None = None  # file or sheet the row came from
    row: int | None = None  # line or spreadsheet row in that source
    check: str | None = None  # name of the cross-record check that found it
    # Problems that follow from this one (e.g. every record "before" one wrong diagnosis date), folded
    # under it so that one wrong value gives one problem.
    consequences: tuple[str, ...] = ()

    def __str__(self) -> str:
        where = self.record_type
        ids = ", ".join(x for x in (self.patient_id, self.key) if x)
        if ids:
            where += f"[{ids}]"
        if self.field:
            where += f".{self.field}"
        origin = ""
        if self.source:
            origin = f" ({self.source}" + (f" row {self.row}" if self.row else "") + ")"
        elif self.row:
            origin = f" (row {self.row})"
        value = "" if self.value is None else f" = {value_text(self.value)!r}"
        text = f"{self.severity.value}: {where}{value}: {self.reason}{origin}"
        return text + "".join(f"\n    - {line}" for line in self.consequences)

    def to_dict(self) -> dict[str, object]:
        data = asdict(self)
        data["severity"] = self.severity.value
        data["value"] = None if self.value is None else value_text(self.value)
        data["consequences"] = list(self.consequences)
        return data


def value_text(value: object) -> str:
    """A value as the data manager typed it: `2021-04-29`, never `datetime.datetime(2021, 4, 29, 0, 0)`."""
    if isinstance(value, dt.datetime):  # also pandas.Timestamp
        return value.date().isoformat() if (value.hour, value.minute, value.second) == (0, 0, 0) else value.isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, Enum):
        return str(value.value)
    if isinstance(value, float) and value.is_integer():
        return str(int(value)) if abs(value) < 1e15 else str(value)
    return str(value)


def errors_only(problems: list[Problem]) -> list[Problem]:
    return [p for p in problems if p.severity is Severity.ERROR]
