"""The `blinareg` command: one click group; each command lives in its own module."""

from __future__ import annotations

import difflib
import importlib
import sys

import click

from blinareg import __version__

# command name -> (module, attribute). Modules load lazily: a command's module (and what it imports:
# pandas, scipy, SQLAlchemy, matplotlib) loads only when that command runs or shows its own help.
_COMMANDS: dict[str, tuple[str, str]] = {
    "init": ("blinareg.cli.registry_commands", "init_command"),
    "import": ("blinareg.cli.registry_commands", "import_command"),
    "export": ("blinareg.cli.registry_commands", "export_command"),
    "validate": ("blinareg.cli.registry_commands", "validate_command"),
    "summary": ("blinareg.cli.registry_commands", "summary_command"),
    "demo": ("blinareg.cli.synth_commands", "demo_command"),
    "synth": ("blinareg.cli.synth_commands", "synth_command"),
    "derive": ("blinareg.cli.registry_commands", "derive_command"),
    "redcap-dictionary": ("blinareg.cli.registry_commands", "redcap_dictionary_command"),
    "dose": ("blinareg.cli.calculators", "dose_command"),
    "grade": ("blinareg.cli.calculators", "grade_group"),
    "classify": ("blinareg.cli.calculators", "classify_group"),
    "report": ("blinareg.cli.report_commands", "report_command"),
    "template": ("blinareg.cli.mapping_commands", "template_command"),
    "map": ("blinareg.cli.mapping_commands", "map_group"),
    "analyse": ("blinareg.cli.analyse_commands", "analyse_command"),
    "aggregate": ("blinareg.cli.federated_commands", "aggregate_command"),
    "pool": ("blinareg.cli.federated_commands", "pool_command"),
    "federated-cox": ("blinareg.cli.federated_commands", "federated_cox_group"),
    "queries": ("blinareg.cli.workflow_commands", "queries_group"),
    "freeze": ("blinareg.cli.workflow_commands", "freeze_group"),
    "serve": ("blinareg.cli.web_commands", "serve_command"),
    "user": ("blinareg.cli.web_commands", "user_group"),
}


# command name -> its one-line help in `blinareg --help`, so listing the commands loads none of them.
# A command missing here is loaded to list it (slower, still correct); tests/cli/test_startup.py checks
# that each line is the command's own short help.
_SHORT_HELP: dict[str, str] = {
    "init": "Create the registry tables, or upgrade them to this version (safe to run again).",
    "import": "Import a registry from a folder of <record_type>.csv files or an .xlsx workbook.",
    "export": "Export the stored registry (every record type) to PATH.",
    "validate": "Check every stored record (all patients); exit 1 when any error is found.",
    "summary": "Records per type, patients per center (deleted patients apart), and whether the data are synthetic.",
    "demo": "Build the SYNTHETIC demo registry in SQLite and write its full report.",
    "synth": "Generate a SYNTHETIC registry (never real patients) and write it to --out or import it into --database.",
    "derive": "Write the analysis dataset (one CSV per frame) to OUT_DIR.",
    "redcap-dictionary": "Write the REDCap Data Dictionary (CSV) of the registry to OUT; see docs/redcap.md.",
    "dose": "Print the day-by-day blinatumomab calendar of one cycle (or of all cycles).",
    "grade": "Grade CRS and ICANS (ASTCT 2019) or encephalopathy, seizure and tremor (CTCAE v5).",
    "classify": "Classify relapses, marrow status, MRD and response.",
    "report": "Write the outcomes report of the registry (or one patient's timeline with --patient).",
    "analyse": "Estimate one endpoint inside the engine that holds the data, and print the summary.",
    "aggregate": "Write this center's counts (no patient-level data) for a federated analysis to --out.",
    "pool": "Pool center aggregates: KM, cumulative incidence, tests and tables from the counts.",
    "federated-cox": "Cox model stratified by center, fitted over files (init, center, step; see docs/scale.md).",
    "queries": "Data queries: validation problems of stored records and monitors' questions.",
    "freeze": "Analysis freezes: the exact record set a report is regenerated from.",
    "serve": "Run the web registry (pages and JSON API) on the registry database.",
    "user": "Manage the web registry's users: add, passwd, role, centers, disable, enable, unlock, list.",
}


class LazyGroup(click.Group):
    """A click group whose commands are imported on first use; `--help` lists them from `_SHORT_HELP`."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(_COMMANDS)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        return self._load(cmd_name)

    def resolve_command(
        self, ctx: click.Context, args: list[str]
    ) -> tuple[str | None, click.Command | None, list[str]]:
        name = click.utils.make_str(args[0])
        if name not in _COMMANDS and not name.startswith("-") and not ctx.resilient_parsing:
            close = difflib.get_close_matches(name, list(_COMMANDS), n=3, cutoff=0.6)
            hint = f" Did you mean {' or '.join(repr(c) for c in close)}?" if close else ""
            ctx.fail(f"No such command {name!r}.{hint}")
        return super().resolve_command(ctx, args)

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        rows = []
        for name in self.list_commands(ctx):
            short = _SHORT_HELP.get(name)
            if short is None:
                command = self._load(name)
                if command is None or command.hidden:
                    continue
                short = command.get_short_help_str(limit=formatter.width - 6 - max(map(len, _COMMANDS)))
            rows.append((name, short))
        if rows:
            with formatter.section("Commands"):
                formatter.write_dl(rows)

    @staticmethod
    def _load(name: str) -> click.Command | None:
        target = _COMMANDS.get(name)
        if target is None:
            return None
        module_name, attribute = target
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as error:
            if error.name == module_name:
                return None
            raise
        return getattr(module, attribute, None)


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="blinareg")
def cli() -> None:
    """blinareg: registry and outcomes analysis for B-ALL treated with blinatumomab."""


def main(argv: list[str] | None = None) -> None:
    """Entry point. User errors (click.ClickException, blinareg.errors.UserError) print one line."""
    from blinareg.errors import UserError

    try:
        cli.main(args=argv, prog_name="blinareg", standalone_mode=False)
    except click.exceptions.Abort:
        click.echo("aborted", err=True)
        sys.exit(130)
    except click.ClickException as error:
        error.show()
        sys.exit(error.exit_code)
    except UserError as error:
        click.echo(f"blinareg: error: {error}", err=True)
        sys.exit(2)
    except SystemExit:
        raise
    except BrokenPipeError:
        sys.exit(1)


if __name__ == "__main__":
    main()
