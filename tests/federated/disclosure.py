"""The privacy check every aggregate produced in the tests goes through."""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from typing import Any

DATE = re.compile(r"\d{4}-\d{2}-\d{2}|\d{2}/\d{2}/\d{4}")


def _released_counts(content: dict[str, Any]) -> Iterable[int]:
    for block in content["endpoints"].values():
        if "counts" in block:
            yield from block["counts"]["n"]
    for section in content["categorical"].values():
        for variable in section.values():
            yield from variable["totals"].values()
            for counts in variable["groups"].values():
                yield from (value for value in counts.values() if isinstance(value, int))


def assert_discloses_nothing(content: dict[str, Any], patient_ids: Iterable[str], min_cell: int) -> None:
    """No patient id, no date, and no released count from 1 to K - 1 anywhere in the aggregate."""
    text = json.dumps(content)
    leaked = [pid for pid in patient_ids if pid in text]
    assert not leaked, f"patient ids in the aggregate: {leaked[:3]}"
    assert not DATE.search(text), f"a date in the aggregate: {DATE.search(text)}"
    small = [n for n in _released_counts(content) if 0 < n < min_cell]
    assert not small, f"released counts below K = {min_cell}: {small[:5]}"
    assert content["discloses"] and content["min_cell"] == min_cell
