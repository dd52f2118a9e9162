"""An import never loses data: unreadable inputs are errors naming them, and every malformed input leaves
the store exactly as it was (an export before and after is byte-identical), with no Python traceback."""

from __future__ import annotations

import builtins
import os
from pathlib import Path

import pytest
from openpyxl import Workbook

from blinareg.cli.main import main
from tests.data import make_center_sheet
from tests.exchange.factories import csv_folder, folder_bytes


@pytest.fixture
def stored(tmp_path, run, monkeypatch):
    """A store holding the full factory registry; returns (the registry folder, export())."""
    monkeypatch.setenv("BLINAREG_DATABASE_URL", f"sqlite:///{tmp_path / 'registry.sqlite'}")
    folder = csv_folder(tmp_path)
    assert run("init")[0] == 0
    code, out, err = run("import", folder)
    assert code == 0, err
    exports = iter(range(1000))

    def export() -> dict[str, bytes]:
        target = tmp_path / f"export-{next(exports)}"
        code, _, err = run("export", target)
        assert code == 0, err
        return folder_bytes(target)

    return folder, export


def assert_refused(result, *needles) -> None:
    code, out, err = result
    assert code == 2, (out, err)
    assert "Traceback" not in out + err
    for needle in needles:
        assert needle in err, err


@pytest.mark.parametrize("kind", ["directory", "broken symlink", "symlink loop"])
def test_unreadable_relapse_file_is_an_error_naming_it(stored, run, kind, tmp_path):
    folder, export = stored
    before = export()
    relapse = folder / "relapse.csv"
    relapse.unlink()
    if kind == "directory":
        relapse.mkdir()
    elif kind == "broken symlink":
        relapse.symlink_to(tmp_path / "nowhere.csv")
    else:
        relapse.symlink_to(relapse)
    expected = {
        "directory": "is a folder",
        "broken symlink": "broken symbolic link",
        "symlink loop": "symbolic link loop",
    }[kind]
    result = run("import", folder)
    assert_refused(result, "relapse.csv", expected)
    assert export() == before  # the patients' relapses were not replaced by none


def test_file_without_read_permission_is_an_error_naming_it(stored, run, monkeypatch):
    # Tests may run as root, who can read anything: the permission error is simulated at open().
    folder, export = stored
    before = export()
    real_open = builtins.open

    def refusing_open(file, *args, **kwargs):
        if isinstance(file, (str, os.PathLike)) and Path(file).name == "relapse.csv" and Path(file).parent == folder:
            raise PermissionError(13, "Permission denied", str(file))
        return real_open(file, *args, **kwargs)

    with monkeypatch.context() as patched:
        patched.setattr(builtins, "open", refusing_open)
        patched.setattr(Path, "read_bytes", lambda self: refusing_open(self, "rb").read())
        assert_refused(run("import", folder), "relapse.csv", "Permission denied")
    assert export() == before


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads files without read permission")
def test_file_without_read_permission_for_real(stored, run):
    folder, export = stored
    before = export()
    (folder / "relapse.csv").chmod(0)
    assert_refused(run("import", folder), "relapse.csv", "ermission denied")
    assert export() == before


def test_absent_file_means_no_records_and_the_summary_says_so(stored, run):
    folder, export = stored
    (folder / "interruption.csv").unlink()
    code, out, err = run("import", folder, "--dry-run")
    assert code == 0, err
    assert "no file for: interruption (read as no records of these types" in out


def _edit(folder: Path, name: str, text: str | bytes) -> None:
    data = text.encode("utf-8") if isinstance(text, str) else text
    (folder / name).write_bytes(data)


def _patient_text(folder: Path) -> str:
    return (folder / "patient.csv").read_text(encoding="utf-8")


MALFORMED = {
    "wrong type": lambda f: _edit(
        f, "body_measurement.csv", (f / "body_measurement.csv").read_text() + "P1,2018-07-01,thirty,\n"
    ),
    "impossible date": lambda f: _edit(f, "patient.csv", _patient_text(f).replace("2010-03-01", "2010-02-30")),
    "semicolons": lambda f: _edit(f, "patient.csv", _patient_text(f).replace(",", ";")),
    "tabs": lambda f: _edit(f, "patient.csv", _patient_text(f).replace(",", "\t")),
    "latin-1": lambda f: _edit(
        f, "patient.csv", (_patient_text(f) + "P9,C1,male,2001-01-01\n").replace("P9", "Pé").encode("latin-1")
    ),
    "duplicate key": lambda f: _edit(f, "patient.csv", _patient_text(f) + _patient_text(f).splitlines()[1] + "\n"),
    "duplicate column": lambda f: _edit(
        f,
        "patient.csv",
        _patient_text(f)
        .replace("birth_date", "birth_date,sex", 1)
        .replace("\nP1,C1,male,2010-03-01", "\nP1,C1,male,2010-03-01,male"),
    ),
    "orphan": lambda f: _edit(f, "follow_up.csv", (f / "follow_up.csv").read_text() + "P404,2021-01-01,alive\n"),
    "huge cell": lambda f: _edit(
        f,
        "diagnosis.csv",
        (f / "diagnosis.csv").read_text().replace("AIEOP", "x" * 1_000_000, 1)
        if "AIEOP" in (f / "diagnosis.csv").read_text()
        else (f / "diagnosis.csv").read_text().replace("\nP3,", "\nP3" + "x" * 1_000_000 + ",", 1),
    ),
    "unknown file": lambda f: _edit(f, "relapses.csv", "patient_id\n"),
    "empty file": lambda f: _edit(f, "death.csv", ""),
    "binary garbage": lambda f: _edit(f, "patient.csv", bytes(range(256)) * 10),
    "unclosed quote": lambda f: _edit(f, "patient.csv", _patient_text(f) + '"P7,C1,male,2001-01-01\n'),
}


@pytest.mark.parametrize("case", list(MALFORMED))
def test_malformed_folder_changes_nothing(stored, run, case):
    folder, export = stored
    before = export()
    MALFORMED[case](folder)
    code, out, err = run("import", folder)
    assert code == 2, (case, out, err)
    assert "Traceback" not in out + err
    assert "nothing imported" in err or "blinareg: error:" in err
    assert export() == before


@pytest.mark.parametrize("case", ["bom", "crlf"])
def test_bom_and_crlf_are_read_like_plain_csv(stored, run, case):
    folder, export = stored
    before = export()
    for path in folder.iterdir():
        data = path.read_bytes()
        if case == "bom":
            path.write_bytes(b"\xef\xbb\xbf" + data)
        elif b'"' not in data:  # a line break inside a quoted cell is part of the value, not a line end
            path.write_bytes(data.replace(b"\n", b"\r\n"))
    code, out, err = run("import", folder)
    assert code == 0, err
    assert export() == before  # the same records, replaced by themselves


def test_workbook_formula_without_saved_result_is_an_error(stored, run, tmp_path):
    _, export = stored
    before = export()
    workbook = Workbook()
    sheet = workbook.active
    sheet.title = "patient"
    sheet.append(["patient_id", "center_id", "sex", "birth_date"])
    sheet.append(["P1", "C1", "male", "=DATE(2010,3,1)"])
    path = tmp_path / "formulas.xlsx"
    workbook.save(path)
    assert_refused(run("import", path), "formulas without a saved result", "D2 (=DATE(2010,3,1))")
    assert export() == before


@pytest.mark.parametrize("content", [b"", b"PK\x03\x04 not really a zip", b"patient_id,center_id\n"])
def test_unreadable_workbook_is_an_error(stored, run, tmp_path, content):
    _, export = stored
    before = export()
    path = tmp_path / "broken.xlsx"
    path.write_bytes(content)
    assert_refused(run("import", path), "broken.xlsx", "not a readable .xlsx workbook")
    assert export() == before


def _center_sheet(tmp_path) -> Path:
    return make_center_sheet.write(tmp_path / "center.xlsx")


MAPPING = Path(__file__).parents[1] / "data" / "center_mapping.toml"


@pytest.mark.parametrize(
    "case",
    [
        "mapping error",
        "not toml",
        "missing sheet",
        "latin-1 csv",
        "semicolon csv",
        "folder",
        "formula",
        "unknown column",
    ],
)
def test_malformed_mapped_import_changes_nothing(stored, run, tmp_path, case):
    _, export = stored
    before = export()
    sheet = _center_sheet(tmp_path)
    mapping = tmp_path / "mapping.toml"
    text = MAPPING.read_text(encoding="utf-8")
    needle = {
        "mapping error": "patient.sexx",
        "not toml": "not valid TOML",
        "missing sheet": "no sheet 'Patient'",
        "latin-1 csv": "not utf-8 text",
        "semicolon csv": "separated by ';'",
        "folder": "is a folder",
        "formula": "formulas without a saved result",
        "unknown column": "does not have",
    }[case]
    if case == "mapping error":
        text = text.replace('field = "patient.sex"', 'field = "patient.sexx"')
    elif case == "not toml":
        text = "[source"
    elif case == "missing sheet":
        text = text.replace('sheets = ["Patients"]', 'sheets = ["Patient"]')
    elif case in ("latin-1 csv", "semicolon csv"):
        sheet = tmp_path / "center.csv"
        separator = ";" if case == "semicolon csv" else ","
        sheet.write_bytes(
            f"Study ID{separator}Sex\nHD-01{separator}M\nHé{separator}F\n".encode(
                "latin-1" if case == "latin-1 csv" else "utf-8"
            )
        )
        text = text.replace('sheets = ["Patients"]\n', "")
    elif case == "folder":
        sheet = tmp_path
    elif case == "formula":
        from openpyxl import load_workbook

        workbook = load_workbook(sheet)
        workbook["Patients"]["B2"] = '=IF(TRUE,"M","F")'
        workbook.save(sheet)
    elif case == "unknown column":
        text = text.replace('column = "Donor"', 'column = "Donor type"')
    mapping.write_text(text, encoding="utf-8")
    code, out, err = run("import", sheet, "--map", mapping)
    assert code == 2, (out, err)
    assert "Traceback" not in out + err
    assert needle.lower() in err.lower(), err
    assert export() == before


def test_export_and_template_to_an_impossible_place_are_one_line_errors(stored, run, tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("x")
    for args in (
        ("export", blocker / "out"),
        ("export", blocker / "out.xlsx"),
        ("template", blocker / "t.xlsx"),
        ("template", blocker / "t"),
    ):
        assert_refused(run(*args), "cannot write")
