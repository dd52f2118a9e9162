"""The typed results: frozen, JSON-ready through to_json (optional notes left out while None), and the same
numbers in results.json, the tables and the typed objects."""

from __future__ import annotations

import dataclasses
import json

import pytest

from blinareg.report import ReportConfig, build_report
from blinareg.report.results import Landmark, NoPatients, Proportion, to_json

from .conftest import fake_dataset


def test_to_json_leaves_out_empty_optional_fields_only():
    assert to_json(Landmark(12.0, 0.5, 0.4, 0.6)) == {"months": 12.0, "estimate": 0.5, "lower": 0.4, "upper": 0.6}
    assert to_json(Landmark(12.0, None, None, None, note="not estimable")) == {
        "months": 12.0,
        "estimate": None,
        "lower": None,
        "upper": None,
        "note": "not estimable",
    }
    assert to_json(NoPatients()) == {"n": 0, "note": "no patients"}


def test_results_are_frozen():
    with pytest.raises(dataclasses.FrozenInstanceError):
        Proportion(1, 2, 0.5, 0.1, 0.9).x = 3  # type: ignore[misc]


def test_typed_results_json_and_tables_agree():
    report = build_report(fake_dataset(n=30, seed=12), ReportConfig())
    typed = report.typed.response.overall.cr_achieved
    assert report.results["response"]["overall"]["cr_achieved"]["x"] == typed.x
    assert report.typed["response"] == report.results["response"]  # mapping access in the file's layout
    assert "models" not in report.typed and "outcomes" in report.typed
    table = next(t for t in report.tables if t.key == "table3_response")
    row = next(r for r in table.rows if r.label == "CR/CRh/CRi (best response)")
    assert row.cells[0].startswith(f"{typed.x}/{typed.n} (")
    json.dumps(report.results, allow_nan=False)


def test_the_appendix_drops_dataset_column_names_from_the_convention_sentences():
    from blinareg.report.render import _without_internal_names

    text = "Times in days (AVAL) from the start (STARTDT); relapse (EVTCODE 1); CR counts (cr_achieved)."
    assert _without_internal_names(text) == "Times in days from the start; relapse; CR counts."
    assert _without_internal_names("CRS (ASTCT) and MRD (flow)") == "CRS (ASTCT) and MRD (flow)"
