"""`blinareg aggregate`, `pool` and `federated-cox` over files, end to end, on a SYNTHETIC registry."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

import pandas as pd
import pytest
from click.testing import CliRunner

from blinareg.cli.main import cli, main
from blinareg.store import Store
from tests.federated.disclosure import assert_discloses_nothing

REFERENCE = Path(__file__).resolve().parents[1] / "reference"
CENTERS = ("SYN-C01", "SYN-C02", "SYN-C03")


def _run(*args: str):
    result = CliRunner().invoke(cli, [str(a) for a in args], catch_exceptions=False)
    return result


def test_aggregate_each_center_then_pool_into_a_report(tmp_path):
    database = f"sqlite:///{tmp_path / 'registry.sqlite'}"
    assert _run("synth", "--patients", "240", "--seed", "4", "--centers", "3", "--database", database).exit_code == 0
    files = []
    outputs = []
    for center in CENTERS:
        out = tmp_path / "outbox" / f"{center}.json"
        result = _run(
            "aggregate", "--database", database, "--center", center, "--grid", "week", "--by", "indication_group",
            "--out", out,
        )  # fmt: skip
        assert result.exit_code == 0, result.output
        assert f"of {center} -> {out}" in result.output
        outputs.append(result.output)
        files.append(out)
    # In these small centers some indication group has 1..4 deaths: it is released merged, and said so.
    assert any("OS: center" in output and "merged" in output for output in outputs), outputs
    with Store.open(database) as store:
        patient_ids = store.load_registry().tables["patient"]["patient_id"]
    # The privacy check reads every aggregate file this test wrote.
    for path in (tmp_path / "outbox").glob("*.json"):
        assert_discloses_nothing(json.loads(path.read_text()), patient_ids, 5)

    report = tmp_path / "pooled"
    result = _run("pool", *files, "--out", tmp_path / "pooled.json", "--report", report)
    assert result.exit_code == 0, result.output
    pooled = json.loads((tmp_path / "pooled.json").read_text())
    assert pooled["centers"] == list(CENTERS) and pooled["synthetic"]
    for name in ("report.html", "report.pdf", "report.docx", "results.json"):
        assert (report / name).stat().st_size > 0
    assert (report / "report.pdf").read_bytes().startswith(b"%PDF")
    assert zipfile.is_zipfile(report / "report.docx")
    page = (report / "report.html").read_text()
    assert "Table 1. Patient characteristics" in page and "What each center disclosed" in page
    assert "not in the groups&#x27; results or the tests across groups" in page
    results = json.loads((report / "results.json").read_text())
    released = [name for name, block in results["endpoints"].items() if "overall" in block]
    assert {f["key"] for f in results["figures"]} >= {f"{name.lower()}_centers" for name in released}
    for figure in results["figures"]:
        assert (report / "figures" / f"{figure['key']}.png").exists()


def test_pool_errors_print_one_line_through_main(tmp_path, capsys):
    bogus = tmp_path / "bogus.json"
    bogus.write_text('{"schema": "something else"}')
    for args, message in (
        (["pool", str(bogus), "--out", str(tmp_path / "p.json")], f"{bogus}: not a blinareg aggregate"),
        (["pool", str(bogus)], "pool: give --out FILE and/or --report DIR"),
        (
            ["pool", str(tmp_path / "missing.json"), "--out", str(tmp_path / "p.json")],
            f"{tmp_path / 'missing.json'}: file not found",
        ),
    ):
        with pytest.raises(SystemExit) as exit_:
            main(args)
        assert exit_.value.code == 2
        err = capsys.readouterr().err
        assert err.strip().startswith(f"blinareg: error: {message}") and "Traceback" not in err
    assert not (tmp_path / "p.json").exists()


def test_pool_names_the_file_whose_aggregate_lacks_a_field(tmp_path, capsys):
    database = f"sqlite:///{tmp_path / 'registry.sqlite'}"
    assert _run("synth", "--patients", "120", "--seed", "4", "--centers", "2", "--database", database).exit_code == 0
    good, cut = tmp_path / "SYN-C01.json", tmp_path / "SYN-C02.json"
    for center, out in (("SYN-C01", good), ("SYN-C02", cut)):
        assert _run("aggregate", "--database", database, "--center", center, "--out", out).exit_code == 0
    content = json.loads(cut.read_text())
    del content["categorical"]
    cut.write_text(json.dumps(content))
    with pytest.raises(SystemExit) as exit_:
        main(["pool", str(good), str(cut), "--out", str(tmp_path / "p.json")])
    assert exit_.value.code == 2
    err = capsys.readouterr().err
    assert f"{cut}: not a complete aggregate: field 'categorical' is missing" in err and "Traceback" not in err
    assert not (tmp_path / "p.json").exists()


def test_federated_cox_over_files_equals_r(tmp_path):
    data = pd.read_csv(REFERENCE / "data" / "federated_cox.csv")
    expected = json.loads((REFERENCE / "federated.json").read_text())["efron"]
    for center, rows in data.groupby("center"):
        rows.to_csv(tmp_path / f"{center}.csv", index=False)
    coef = tmp_path / "round0.json"
    assert _run("federated-cox", "init", "--covariates", "x1,x2", "--out", coef).exit_code == 0
    for round_number in range(1, 10):
        contributions = []
        for center in sorted(data["center"].unique()):
            out = tmp_path / f"{center}_round{round_number - 1}.json"
            result = _run(
                "federated-cox",
                "center",
                "--coef",
                coef,
                "--data",
                tmp_path / f"{center}.csv",
                "--center",
                center,
                "--time",
                "t",
                "--event",
                "e",
                "--out",
                out,
            )
            assert result.exit_code == 0, result.output
            contributions.append(out)
        coef_next = tmp_path / f"round{round_number}.json"
        result = _run("federated-cox", "step", *contributions, "--coef", coef, "--out", coef_next)
        assert result.exit_code == 0, result.output
        coef = coef_next
        state = json.loads(coef.read_text())
        if state["status"] != "evaluate":
            break
    assert state["status"] == "converged" and "converged after 3 iteration(s)" in result.output
    coefficients = [row["coef"] for row in state["result"]["coefficients"]]
    assert abs(coefficients[0] - expected["coef"][0]) < 1e-8 and abs(coefficients[1] - expected["coef"][1]) < 1e-8
