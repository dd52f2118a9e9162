"""The calculator commands through the real CLI group: output, exit codes, one-line errors."""

from __future__ import annotations

import pytest
from click.testing import CliRunner

from blinareg.cli.main import cli


def run(*args: str):
    return CliRunner().invoke(cli, list(args))


def assert_one_line_error(result, *needles: str) -> None:
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output
    assert not isinstance(result.exception, Exception) or isinstance(result.exception, SystemExit)
    error_lines = [line for line in result.output.splitlines() if line.startswith("Error:")]
    assert len(error_lines) == 1, result.output
    for needle in needles:
        assert needle in error_lines[0], error_lines[0]


# --- dose -------------------------------------------------------------------------------------------


def test_dose_issue_example():
    result = run("dose", "--weight", "30", "--height", "130", "--indication", "rr", "--cycle", "1")
    assert result.exit_code == 0, result.output
    out = result.output
    assert "relapsed/refractory" in out and "Cycle 1 (induction), 42 days" in out
    assert "BSA 1.041 m2" in out
    lines = out.splitlines()
    day7 = next(line for line in lines if line.strip().startswith("7 "))
    day8 = next(line for line in lines if line.strip().startswith("8 "))
    assert "5.20" in day7 and "infusing" in day7 and "yes" in day7  # 5 mcg/m2 x 1.041
    assert "15.61" in day8 and "dexamethasone" in day8  # step-up with premedication
    assert "treatment-free (14 days)" in out
    assert "UNCONFIRMED" not in out


def test_dose_with_start_date_and_adult():
    result = run(
        "dose", "--weight", "70", "--indication", "mrd", "--cycle", "2", "--start", "2024-03-01", "--age", "40"
    )
    assert result.exit_code == 0, result.output
    assert "2024-03-01" in result.output and "28.00" in result.output
    assert "prednisone 100 mg" in result.output
    assert "2024-03-29 to 2024-04-11" in result.output
    assert "UNCONFIRMED rule adult_age_years" in result.output  # the adult/child boundary was used


def test_dose_all_cycles():
    result = run("dose", "--weight", "70", "--indication", "rr", "--start", "2024-01-01")
    assert result.exit_code == 0, result.output
    assert result.output.count("Cycle ") == 9 and "Cycle 9 (continued), 84 days" in result.output


def test_dose_consolidation_says_unconfirmed():
    result = run("dose", "--weight", "70", "--indication", "consolidation", "--cycle", "1")
    assert result.exit_code == 0, result.output
    assert "UNCONFIRMED rule consolidation_cycles = 4" in result.output
    assert "E1910" in result.output


@pytest.mark.parametrize(
    ("args", "needles"),
    [
        (("--weight", "-3", "--indication", "rr", "--cycle", "1"), ("--weight", "weight_kg=-3", "> 0 and <= 350 kg")),
        (("--weight", "30", "--indication", "rr", "--cycle", "1"), ("--height", "height_cm", "required")),
        (("--weight", "70", "--indication", "rr", "--cycle", "10"), ("--cycle", "1 to 9")),
        (("--weight", "70", "--indication", "rr", "--cycle", "3", "--phase", "induction"), ("--phase",)),
        (("--weight", "70", "--indication", "xx", "--cycle", "1"), ("--indication",)),
    ],
)
def test_dose_bad_input(args, needles):
    assert_one_line_error(run("dose", *args), *needles)


# --- --rules ----------------------------------------------------------------------------------------


def test_rules_file_overrides(tmp_path):
    path = tmp_path / "center.toml"
    path.write_text('[center]\nname = "X"\n\n[rules]\nconsolidation_cycles = { value = 1, source = "SOP 7" }\n')
    ok = run("dose", "--weight", "70", "--indication", "consolidation", "--cycle", "1", "--rules", str(path))
    assert ok.exit_code == 0 and "source: SOP 7" in ok.output
    assert_one_line_error(
        run("dose", "--weight", "70", "--indication", "consolidation", "--cycle", "2", "--rules", str(path)),
        "--cycle",
        "1 to 1",
    )


def test_rules_file_top_level_table(tmp_path):
    path = tmp_path / "rules.toml"
    path.write_text("capd_age_cutoff_inclusive = true\n")
    result = run("grade", "icans", "--age", "12", "--capd", "9", "--rules", str(path))
    assert result.exit_code == 0, result.output
    assert "ICANS (ASTCT, CAPD): grade 3" in result.output
    assert "UNCONFIRMED rule capd_age_cutoff_inclusive = True" in result.output


@pytest.mark.parametrize(
    ("text", "needles"),
    [
        ("capd_age_cuttoff_years = 12\n", ("--rules", "capd_age_cuttoff_years", "not a known rule")),
        ("[rules]\nbfm_s3_s4_split = 'x'\n", ("--rules", "bfm_s3_s4_split", "alrez_bfm")),
        ("this is not toml", ("--rules", "not valid TOML")),
    ],
)
def test_rules_file_errors(tmp_path, text, needles):
    path = tmp_path / "bad.toml"
    path.write_text(text)
    assert_one_line_error(run("classify", "marrow", "30", "--rules", str(path)), *needles)


# --- grade ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (("--temperature", "37.9"), "no CRS"),
        (("--temperature", "38.0"), "grade 1"),
        (("--temperature", "39", "--flow", "6"), "grade 2"),
        (("--temperature", "39", "--flow", "6.5"), "grade 3"),
        (("--temperature", "39", "--vasopressors", "2"), "grade 4"),
        (("--fever-masked", "--oxygen", "cpap_bipap"), "grade 4"),
    ],
)
def test_grade_crs(args, expected):
    result = run("grade", "crs", *args)
    assert result.exit_code == 0, result.output
    assert result.output.startswith(f"CRS (ASTCT): {expected}")


@pytest.mark.parametrize(
    ("args", "needles"),
    [
        (("--temperature", "60"), ("--temperature", "temperature_c=60", ">= 25 and <= 45 C")),
        (("--temperature", "39", "--oxygen", "low_flow", "--flow", "8"), ("--flow", "low-flow is <= 6 L/min")),
        ((), ("--temperature",)),
    ],
)
def test_grade_crs_bad_input(args, needles):
    assert_one_line_error(run("grade", "crs", *args), *needles)


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (("--age", "30", "--ice", "7"), "ICANS (ASTCT, ICE): grade 1"),
        (("--age", "30", "--ice", "6"), "ICANS (ASTCT, ICE): grade 2"),
        (("--age", "30", "--ice", "10"), "ICANS (ASTCT, ICE): no ICANS"),
        (("--age", "11", "--capd", "8"), "ICANS (ASTCT, CAPD): grade 1"),
        (("--age", "11", "--capd", "9"), "ICANS (ASTCT, CAPD): grade 3"),
        (("--age", "12", "--ice", "9", "--seizure", "prolonged"), "ICANS (ASTCT, ICE): grade 4"),
    ],
)
def test_grade_icans(args, expected):
    result = run("grade", "icans", *args)
    assert result.exit_code == 0, result.output
    assert result.output.startswith(expected)
    assert "UNCONFIRMED rule capd_age_cutoff" in result.output


@pytest.mark.parametrize(
    ("args", "needles"),
    [
        (("--age", "30", "--ice", "11"), ("--ice", "ice_score=11", ">= 0 and <= 10")),
        (("--age", "11", "--ice", "8"), ("--ice", "CAPD")),
        (
            (
                "--age",
                "30",
            ),
            ("--ice", "required"),
        ),
    ],
)
def test_grade_icans_bad_input(args, needles):
    assert_one_line_error(run("grade", "icans", *args), *needles)


def test_grade_ctcae():
    result = run("grade", "ctcae", "seizure", "brief_generalized")
    assert result.exit_code == 0 and result.output.startswith("seizure (CTCAE v5): grade 2")
    assert_one_line_error(run("grade", "ctcae", "tremor", "death"), "FINDING", "tremor")


# --- classify ---------------------------------------------------------------------------------------


def test_classify_relapse_full():
    result = run(
        "classify",
        "relapse",
        "--diagnosis",
        "2020-01-15",
        "--relapse",
        "2021-07-15",
        "--end-of-therapy",
        "2022-06-01",
        "--marrow-blasts",
        "60",
        "--lineage",
        "b",
    )
    assert result.exit_code == 0, result.output
    out = result.output
    assert "Timing (BFM): early" in out and "Site: isolated_marrow; marrow M3" in out
    assert "BFM strategic group: S3" in out and "IntReALL risk: high" in out
    assert "UNCONFIRMED rule bfm_s3_s4_split" in out


def test_classify_relapse_timing_only():
    result = run("classify", "relapse", "--diagnosis", "2020-01-15", "--relapse", "2021-07-14")
    assert result.exit_code == 0 and "Timing (BFM): very_early" in result.output
    cog = run("classify", "relapse", "--diagnosis", "2020-01-15", "--relapse", "2023-01-15", "--scheme", "cog")
    assert "Timing (COG): late" in cog.output


@pytest.mark.parametrize(
    ("args", "needles"),
    [
        (
            ("--diagnosis", "2020-01-15", "--relapse", "2021-01-01", "--end-of-therapy", "2019-01-01"),
            ("--end-of-therapy", "must not be before diagnosis_date"),
        ),
        (("--diagnosis", "2020-01-15", "--relapse", "2021-08-01"), ("--end-of-therapy", "required")),
        (("--diagnosis", "2020-01-15", "--relapse", "2019-08-01"), ("--relapse", "after diagnosis_date")),
        (("--diagnosis", "2020-01-15", "--relapse", "2021-01-01", "--marrow-blasts", "120"), ("--marrow-blasts",)),
        (("--diagnosis", "15/01/2020", "--relapse", "2021-01-01"), ("--diagnosis",)),
    ],
)
def test_classify_relapse_bad_input(args, needles):
    assert_one_line_error(run("classify", "relapse", *args), *needles)


@pytest.mark.parametrize(("blasts", "status"), [("4.9", "M1"), ("5", "M2"), ("24.9", "M2"), ("25", "M3")])
def test_classify_marrow(blasts, status):
    result = run("classify", "marrow", blasts)
    assert result.exit_code == 0 and result.output.startswith(f"Marrow: {status}")


def test_classify_mrd():
    assert run("classify", "mrd", "1e-4", "--sensitivity", "1e-5").output.startswith("MRD: positive")
    assert run("classify", "mrd", "0", "--sensitivity", "1e-5").output.startswith(
        "MRD: negative; complete MRD response"
    )
    assert_one_line_error(run("classify", "mrd", "2"), "VALUE", "value=2")


def test_classify_response():
    result = run("classify", "response", "--blasts", "3", "--anc", "800", "--platelets", "60000")
    assert result.exit_code == 0 and result.output.startswith("Response: crh")
    cri = run("classify", "response", "--blasts", "3", "--anc", "100", "--platelets", "10000")
    assert cri.output.startswith("Response: cri") and "UNCONFIRMED rule cri_requires_one_recovered_count" in cri.output
    assert_one_line_error(run("classify", "response", "--blasts", "3", "--anc", "-1", "--platelets", "1"), "--anc")


def test_help_lists_calculators():
    result = run("--help")
    assert result.exit_code == 0
    for name in ("dose", "grade", "classify"):
        assert name in result.output
    assert set(run("grade", "--help").output.split()) >= {"crs", "icans", "ctcae"}
    assert set(run("classify", "--help").output.split()) >= {"relapse", "marrow", "mrd", "response"}
