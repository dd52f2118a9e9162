"""`blinareg --help` and the calculators start fast: they import none of the heavy libraries.

Timing is machine-dependent, so the tests check the cause instead: which modules a command loads.
(Measured on a loaded 2-core machine: `blinareg --help` about 0.07 s CPU, `dose`/`grade`/`classify`
about 0.1-0.2 s CPU, against about 1.5 s when every command module was imported for `--help`.)
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from blinareg.cli.main import _COMMANDS, _SHORT_HELP, LazyGroup, cli

HEAVY = ("pandas", "numpy", "scipy", "matplotlib", "sqlalchemy", "pydantic", "openpyxl", "alembic")

_PROBE = """
import json, sys
from blinareg.cli.main import main
try:
    main(sys.argv[1:])
except SystemExit:
    pass
sys.stdout.flush()
print("\\nMODULES=" + json.dumps(sorted({name.split('.')[0] for name in sys.modules})))
"""


def _modules_loaded_by(*argv: str) -> set[str]:
    result = subprocess.run([sys.executable, "-c", _PROBE, *argv], capture_output=True, text=True, check=False)
    line = next(line for line in result.stdout.splitlines() if line.startswith("MODULES="))
    return set(json.loads(line.removeprefix("MODULES=")))


@pytest.mark.parametrize(
    "argv",
    [
        ("--help",),
        ("--version",),
        ("dose", "--help"),
        ("dose", "--weight", "30", "--height", "130", "--indication", "rr", "--cycle", "1"),
        ("grade", "crs", "--temperature", "39.2", "--vasopressors", "1", "--oxygen", "low_flow"),
        ("grade", "icans", "--age", "10", "--capd", "12", "--consciousness", "awakens_to_voice"),
        ("classify", "mrd", "0.001"),
        (
            "classify",
            "relapse",
            "--diagnosis",
            "2019-01-10",
            "--relapse",
            "2020-03-01",
            "--end-of-therapy",
            "2021-01-10",
            "--marrow-blasts",
            "40",
            "--cns",
        ),
        ("report", "--help"),
        ("import", "--help"),
    ],
)
def test_fast_commands_import_no_heavy_library(argv: tuple[str, ...]) -> None:
    # The MRD rule and the daily doses have one (NumPy) implementation, `blinareg.rules.arrays`: those
    # calculators load NumPy (about 0.1 s), never pandas, SciPy or the rest.
    allowed = {"numpy"} if argv[:2] == ("classify", "mrd") or (argv[0] == "dose" and "--help" not in argv) else set()
    heavy = _modules_loaded_by(*argv) & set(HEAVY) - allowed
    assert not heavy, f"blinareg {' '.join(argv)} imported {sorted(heavy)}"


def test_the_probe_sees_heavy_imports(tmp_path) -> None:
    # The check above can fail: a command that opens the database is seen loading SQLAlchemy.
    assert "sqlalchemy" in _modules_loaded_by("summary", "--database", f"sqlite:///{tmp_path / 'empty.sqlite'}")


@pytest.mark.parametrize("name", sorted(_COMMANDS))
def test_short_help_table_matches_each_command(name: str) -> None:
    command = LazyGroup._load(name)
    assert command is not None
    if name in _SHORT_HELP:
        assert command.get_short_help_str(limit=1000) == _SHORT_HELP[name]


def test_group_help_lists_every_command() -> None:
    from click.testing import CliRunner

    result = CliRunner().invoke(cli, ["--help"], terminal_width=200)
    assert result.exit_code == 0
    for name in _COMMANDS:
        assert f"  {name} " in result.output
