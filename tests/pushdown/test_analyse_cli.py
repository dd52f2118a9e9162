"""`blinareg analyse --source duckdb:...`: the printed summary and results.json hold the patient-level
estimates (to 1e-12), and the figure is written."""

from __future__ import annotations

import json

import numpy as np
import pytest
from click.testing import CliRunner

from blinareg.cli.main import cli
from blinareg.errors import UserError
from blinareg.report.config import DAYS_PER_MONTH
from blinareg.stats import cumulative_incidence, kaplan_meier, logrank_test
from tests.pushdown.checks import TOLERANCE, synthetic_adam, write_files

pytest.importorskip("duckdb")


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    adtte, adsl = synthetic_adam(200, seed=6)
    return adtte, adsl, write_files(tmp_path_factory.mktemp("adam"), adtte, adsl)["parquet"]


def _values(points, name):
    """A landmark field as numbers (results.json writes a non-finite value as null)."""
    return [np.nan if p[name] is None else p[name] for p in points]


def _run(*args: str):
    return CliRunner().invoke(cli, ["analyse", *args], catch_exceptions=False)


def test_os_by_indication_group(files, tmp_path):
    adtte, adsl, (adtte_path, adsl_path) = files
    out = tmp_path / "out"
    result = _run(
        "--source",
        f"duckdb:{adtte_path}",
        "--endpoint",
        "OS",
        "--by",
        "INDGRP",
        "--adsl",
        str(adsl_path),
        "--out",
        str(out),
    )
    assert result.exit_code == 0, result.output
    written = json.loads((out / "results.json").read_text())
    rows = adtte[adtte["PARAMCD"] == "OS"].merge(adsl[["USUBJID", "INDGRP"]], on="USUBJID")
    event = (rows["CNSR"] == 0).to_numpy(dtype=int)
    time = rows["AVAL"].to_numpy(dtype=float)
    labels = rows["INDGRP"].to_numpy(dtype=str)
    assert sorted(written["groups"]) == sorted(set(labels))
    for label, summary in written["groups"].items():
        members = labels == label
        km = kaplan_meier(time[members], event[members])
        at = km.at(np.array([12.0, 24.0]) * DAYS_PER_MONTH)
        assert summary["n"] == members.sum() and summary["events"] == event[members].sum()
        np.testing.assert_allclose(_values(summary["landmarks"], "estimate"), at.survival, **TOLERANCE)
        np.testing.assert_allclose(_values(summary["landmarks"], "lower"), at.lower, **TOLERANCE)
        assert f"  {label}: n = {members.sum()}, events = {event[members].sum()}" in result.output
    test = logrank_test(time, event, labels)
    np.testing.assert_allclose(written["test"]["p_value"], test.p_value, **TOLERANCE)
    assert f"log-rank test: chi-square {test.statistic:.3f}, df {test.df}" in result.output
    assert (out / "os_pushdown.png").read_bytes().startswith(b"\x89PNG")
    assert written["source"] == f"duckdb:{adtte_path}" and written["method"] == "kaplan_meier"


def test_cumulative_incidence_of_relapse(files, tmp_path):
    adtte, adsl, (adtte_path, _) = files
    result = _run("--source", f"duckdb:{adtte_path}", "--endpoint", "cir", "--out", str(tmp_path))
    assert result.exit_code == 0, result.output
    written = json.loads((tmp_path / "results.json").read_text())
    rows = adtte[adtte["PARAMCD"] == "CIR"]
    cif = cumulative_incidence(rows["AVAL"].to_numpy(dtype=float), rows["EVTCODE"].to_numpy(dtype=int), cause=1)
    at = cif.at(np.array([12.0, 24.0]) * DAYS_PER_MONTH)
    (summary,) = written["groups"].values()
    np.testing.assert_allclose(_values(summary["landmarks"], "estimate"), at.estimate, **TOLERANCE)
    assert summary["competing_events"] == int((rows["EVTCODE"] == 2).sum())
    assert written["method"] == "cumulative_incidence" and "test" in written and written["test"] is None
    assert "Cumulative incidence of CIR" in result.output


def test_bad_source_and_an_endpoint_without_rows(files):
    _, _, (adtte_path, _) = files
    with pytest.raises(UserError, match="expected duckdb:FILE, spark:PATH or a database URL"):
        _run("--source", "parquet:x", "--endpoint", "OS")
    with pytest.raises(UserError, match="no rows with PARAMCD = XYZ"):
        _run("--source", f"duckdb:{adtte_path}", "--endpoint", "XYZ")
    with pytest.raises(UserError, match="--table names a table of a database source"):
        _run("--source", f"duckdb:{adtte_path}", "--endpoint", "OS", "--table", "adtte")


def test_figure_from_counts_shows_the_patient_level_numbers_at_risk(files):
    """The number-at-risk table (at risk, cumulative events; censored) drawn from counts equals the one
    drawn from the patient rows, for Kaplan-Meier and for the cumulative incidence (counted, not from `at`)."""
    from dataclasses import replace

    from blinareg.pushdown.counting import CountRequest
    from blinareg.pushdown.engines import count_duckdb
    from blinareg.pushdown.estimate import finish
    from blinareg.pushdown.results import summarise
    from blinareg.report.config import ReportConfig
    from blinareg.report.figures import curve_figure

    adtte, adsl, paths = files
    for request in (CountRequest("OS", by="INDGRP"), CountRequest("CIR", competing=True, by="INDGRP")):
        _, curves = summarise(finish(request, count_duckdb(request, *paths)), "test", ReportConfig())
        rows = adtte[adtte["PARAMCD"] == request.endpoint].merge(adsl[["USUBJID", "INDGRP"]], on="USUBJID")
        patient_groups = []
        for group in curves.groups:
            members = rows[rows["INDGRP"] == group.label]
            censored = (members["CNSR"] == 1) & (members["EVTCODE"] == 0)
            patient_groups.append(
                replace(group, times=members["AVAL"].to_numpy(dtype=float), censored=censored.to_numpy(), counts=None)
            )
        from_rows = replace(curves, groups=tuple(patient_groups))
        texts = [[t.get_text() for t in curve_figure(c).axes[1].texts] for c in (curves, from_rows)]
        assert texts[0] == texts[1] and len(texts[0]) > 3
