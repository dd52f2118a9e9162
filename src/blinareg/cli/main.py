"""The `blinareg` command: one click group; each command lives in its own module."""

from __future__ import annotations

import importlib
import sys

import click

from blinareg import __version__

# command name -> (module, attribute). Modules load lazily so `blinareg --help` stays fast.
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
}


class LazyGroup(click.Group):
    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(name for name in _COMMANDS if self._load(name) is not None)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        return self._load(cmd_name)

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
