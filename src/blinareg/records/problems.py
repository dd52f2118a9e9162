"""A validation problem: which patient, record, field and value, and why."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from enum import StrEnum


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
        value = "" if self.value is None else f" = {self.value!r}"
        return f"{self.severity.value}: {where}{value}: {self.reason}{origin}"

    def to_dict(self) -> dict:
        data = asdict(self)
        data["severity"] = self.severity.value
        data["value"] = None if self.value is None else str(self.value)
        return data


def errors_only(problems: list[Problem]) -> list[Problem]:
    return [p for p in problems if p.severity is Severity.ERROR]
