"""A synthetic cohort (every record type, realistic values) survives CSV and XLSX round trips exactly."""

from __future__ import annotations

import pytest

from blinareg.exchange import read_registry, write_registry
from blinareg.synth import generate
from tests.exchange.factories import assert_same_registry, folder_bytes


@pytest.fixture(scope="module")
def cohort():
    registry = generate(300, 7)
    assert all(n > 0 for n in registry.counts().values())
    return registry


def test_synthetic_csv_round_trip(tmp_path, cohort):
    write_registry(cohort, tmp_path / "first")
    again, problems = read_registry(tmp_path / "first")
    assert problems == []
    assert_same_registry(cohort, again)
    write_registry(again, tmp_path / "second")
    assert folder_bytes(tmp_path / "first") == folder_bytes(tmp_path / "second")


def test_synthetic_xlsx_round_trip(tmp_path, cohort):
    write_registry(cohort, tmp_path / "first.xlsx")
    again, problems = read_registry(tmp_path / "first.xlsx")
    assert problems == []
    assert_same_registry(cohort, again)
    write_registry(again, tmp_path / "second.xlsx")
    assert (tmp_path / "first.xlsx").read_bytes() == (tmp_path / "second.xlsx").read_bytes()
