"""Getting a center's data in: `blinareg template PATH`, `blinareg map suggest SHEET`, and the reading
behind `blinareg import SHEET --map mapping.toml` (docs/importing-your-data.md).

Heavy modules (openpyxl, pandas, the record models) load inside the commands, so `blinareg --help`
stays fast.
"""

from __future__ import annotations

import sys
from pathlib import Path

import click

from blinareg.cli._options import path_option


@click.command("template")
@click.argument("path", type=click.Path(path_type=Path))
@click.option(
    "--format",
    "format_",
    type=click.Choice(["xlsx", "csv"]),
    default=None,
    help="xlsx: one workbook with drop-down lists and a README sheet; csv: a folder of CSV files. "
    "Default: xlsx when PATH ends in .xlsx, else csv.",
)
@click.option(
    "--example/--no-example",
    default=True,
    show_default=True,
    help="Fill in one synthetic example patient (EXAMPLE-001; delete it before entering real data).",
)
def template_command(path: Path, format_: str | None, example: bool) -> None:
    """Write the import template: one sheet (or CSV file) per record type."""
    from blinareg.exchange.tabular import writing
    from blinareg.exchange.templates import write_templates

    if format_ is None:
        format_ = "xlsx" if path.suffix.lower() == ".xlsx" else "csv"
    with writing(path):
        written = write_templates(path, format_, example=example)
    what = "with one synthetic example patient, EXAMPLE-001" if example else "empty"
    click.echo(f"wrote the {format_} import template ({what}) to {written}; columns: docs/data-dictionary.md")


@click.group("map")
def map_group() -> None:
    """Map a center's own spreadsheet (one row per patient) to registry fields."""


@map_group.command("suggest")
@click.argument("sheet_file", metavar="SHEET", type=click.Path(path_type=Path))
@click.option(
    "--sheet",
    "sheets",
    multiple=True,
    metavar="NAME",
    help="Workbook sheet(s) to map, joined on the study id (default: the first sheet). Repeatable.",
)
@path_option(
    "--output",
    "-o",
    file_only=True,
    help="Write the draft to FILE instead of standard output.",
)
def suggest_command(sheet_file: Path, sheets: tuple[str, ...], output: Path | None) -> None:
    """Draft a mapping file (TOML) from SHEET's columns and values; review it, then
    `blinareg import SHEET --map mapping.toml --dry-run`."""
    from blinareg.errors import UserError
    from blinareg.exchange.suggest import suggest_mapping

    text = suggest_mapping(sheet_file, list(sheets) or None)
    if output is None:
        sys.stdout.write(text)
        return
    try:
        output.write_text(text, encoding="utf-8")
    except OSError as error:
        raise UserError(f"{output}: cannot write: {error.strerror}") from None
    click.echo(f"wrote the draft mapping to {output}; review every entry (CHECK marks what needs a decision)", err=True)


def read_mapped_import(path: Path, mapping_path: Path):
    """The registry batch and its problems for `blinareg import PATH --map MAPPING`."""
    from blinareg.exchange.mapping import read_mapped

    return read_mapped(path, mapping_path)
