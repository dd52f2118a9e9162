"""`blinareg synth` and `blinareg demo` through the real command group (store and exchange included)."""

from __future__ import annotations

import pandas as pd
import pytest
from click.testing import CliRunner

from blinareg.cli.main import cli, main
from blinareg.errors import UserError
from blinareg.exchange import read_registry
from blinareg.exchange.tabular import sorted_by_key
from blinareg.records import RECORD_TYPES, Severity, validate
from blinareg.store import Store
from blinareg.synth import generate


def _run(*args: str):
    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


def _user_error(result, needle: str) -> None:
    """A UserError (one line, exit code 2 through `main`) whose message names `needle`."""
    assert isinstance(result.exception, UserError), result.output
    assert needle in str(result.exception)


def _assert_same(first, second) -> None:
    for name, model in RECORD_TYPES.items():
        a = sorted_by_key(model, first[name]).reset_index(drop=True)
        b = sorted_by_key(model, second[name]).reset_index(drop=True)
        pd.testing.assert_frame_equal(a, b, check_exact=False, rtol=1e-12, obj=name)


@pytest.mark.parametrize("fmt, name", [("csv", "out"), ("xlsx", "out.xlsx")])
def test_synth_writes_files_that_read_back_equal(tmp_path, fmt, name):
    target = tmp_path / name
    result = _run("synth", "--patients", "40", "--seed", "3", "--out", str(target), "--format", fmt)
    assert result.exit_code == 0, result.output
    assert "40 SYNTHETIC patients" in result.output and str(target) in result.output
    registry, problems = read_registry(target)
    assert problems == []
    _assert_same(registry, generate(40, seed=3))
    if fmt == "csv":
        assert sorted(p.stem for p in target.iterdir()) == sorted(RECORD_TYPES)
    else:
        assert target.is_file()


def test_synth_imports_into_a_database(tmp_path):
    url = f"sqlite:///{tmp_path / 'synthetic.sqlite'}"
    result = _run("synth", "--patients", "60", "--seed", "9", "--centers", "2", "--database", url)
    assert result.exit_code == 0, result.output
    assert "SYNTHETIC" in result.output
    with Store.open(url) as store:
        stored = store.load_registry()
        summary = store.summary()
    assert summary.synthetic == "yes"
    assert set(summary.patients_per_center) == {"SYN-C01", "SYN-C02"}
    _assert_same(stored, generate(60, seed=9, centers=2))
    assert [p for p in validate(stored) if p.severity is Severity.ERROR] == []


def test_synth_needs_exactly_one_destination(tmp_path):
    neither = _run("synth", "--patients", "5")
    assert neither.exit_code == 2 and "exactly one of --out" in neither.output
    both = _run("synth", "--patients", "5", "--out", str(tmp_path / "o"), "--database", "sqlite:///x.sqlite")
    assert both.exit_code == 2 and "exactly one of --out" in both.output
    format_only = _run(
        "synth", "--patients", "5", "--database", f"sqlite:///{tmp_path / 'd.sqlite'}", "--format", "csv"
    )
    assert format_only.exit_code == 2 and "--format applies to --out only" in format_only.output
    zero = _run("synth", "--patients", "0", "--out", str(tmp_path / "o"))
    assert zero.exit_code == 2
    assert not (tmp_path / "o").exists()


def test_synth_options_reach_the_generator(tmp_path):
    target = tmp_path / "o"
    result = _run(
        "synth",
        "--patients",
        "30",
        "--seed",
        "4",
        "--start-year",
        "2018",
        "--as-of",
        "2024-12-31",
        "--out",
        str(target),
    )
    assert result.exit_code == 0, result.output
    registry, _ = read_registry(target)
    _assert_same(registry, generate(30, seed=4, start_year=2018, as_of=pd.Timestamp("2024-12-31").date()))
    assert registry["follow_up"]["last_contact_date"].max() <= pd.Timestamp("2024-12-31")


def test_synth_refuses_an_impossible_window(tmp_path):
    result = CliRunner().invoke(cli, ["synth", "--patients", "5", "--start-year", "2026", "--out", str(tmp_path / "o")])
    _user_error(result, "start_year 2026 leaves no time")
    assert not (tmp_path / "o").exists()


def test_user_errors_print_one_line_through_main(tmp_path, capsys):
    with pytest.raises(SystemExit) as exit_:
        main(["synth", "--patients", "5", "--start-year", "2026", "--out", str(tmp_path / "o")])
    assert exit_.value.code == 2
    err = capsys.readouterr().err
    assert err.strip().startswith("blinareg: error: start_year 2026") and "Traceback" not in err


def test_demo_builds_the_synthetic_registry_and_its_report(tmp_path):
    database = tmp_path / "demo" / "blinareg-demo.sqlite"
    report = tmp_path / "report"
    result = CliRunner().invoke(
        cli, ["demo", "--database", str(database), "--report", str(report), "--patients", "80", "--seed", "2025"]
    )
    assert "80 SYNTHETIC patients" in result.output
    assert database.is_file()
    with Store.open(f"sqlite:///{database}") as store:
        stored = store.load_registry()
        assert store.summary().synthetic == "yes"
    _assert_same(stored, generate(80, seed=2025))
    assert result.exit_code == 0, result.output
    assert report.is_dir() and any(report.iterdir())
    assert "report of the SYNTHETIC registry" in result.output


def test_demo_overwrites_its_own_file_but_not_other_files(tmp_path, monkeypatch):
    import blinareg.cli.report_commands as report_commands

    calls = []
    monkeypatch.setattr(report_commands, "run_report", lambda **kwargs: calls.append(kwargs))
    database = tmp_path / "demo.sqlite"
    for seed, patients in (("1", "30"), ("2", "20")):
        result = CliRunner().invoke(
            cli,
            [
                "demo",
                "--database",
                str(database),
                "--report",
                str(tmp_path / "r"),
                "--patients",
                patients,
                "--seed",
                seed,
            ],
        )
        assert result.exit_code == 0, result.output
        with Store.open(f"sqlite:///{database}") as store:
            assert store.summary().counts["patient"] == int(patients)
    assert calls == [{"database_url": f"sqlite:///{database}", "out_dir": tmp_path / "r"}] * 2
    precious = tmp_path / "notes.sqlite"
    precious.write_text("not a database")
    result = CliRunner().invoke(cli, ["demo", "--database", str(precious), "--report", str(tmp_path / "r")])
    _user_error(result, "refusing to overwrite")
    assert precious.read_text() == "not a database"
    # A real (non-synthetic) registry is never overwritten either.
    real = tmp_path / "real.sqlite"
    registry = generate(3, seed=1)
    registry.tables["center"] = registry["center"].assign(
        synthetic=pd.array([False] * len(registry["center"]), dtype="boolean")
    )
    with Store.open(f"sqlite:///{real}") as store:
        store.init()
        store.import_registry(registry, source="test")
    result = CliRunner().invoke(cli, ["demo", "--database", str(real), "--report", str(tmp_path / "r")])
    _user_error(result, "non-synthetic")
    with Store.open(f"sqlite:///{real}") as store:
        assert store.summary().counts["patient"] == 3


def test_demo_refuses_a_non_sqlite_url(tmp_path):
    result = CliRunner().invoke(cli, ["demo", "--database", "postgresql://localhost/x", "--report", str(tmp_path)])
    _user_error(result, "must be a SQLite file")


def test_synth_refuses_a_registry_with_non_synthetic_patients_and_changes_nothing(tmp_path):
    from blinareg.records import Registry
    from blinareg.records.models import Center
    from tests.records.factories import consistent_records

    url = f"sqlite:///{tmp_path / 'center.sqlite'}"
    records = [
        Center(center_id="C1", name="A real center", country="DE", synthetic=False) if isinstance(r, Center) else r
        for r in consistent_records()
    ]
    with Store.open(url) as store:
        store.init()
        store.import_registry(Registry.from_records(records), source="center data")
        before = store.load_registry()
    with pytest.raises(UserError, match=r"holds non-synthetic patients \(2 patients, synthetic: no\)"):
        _run("synth", "--patients", "20", "--seed", "1", "--database", url)
    with Store.open(url) as store:
        _assert_same(store.load_registry(), before)
        assert store.summary().synthetic == "no"
