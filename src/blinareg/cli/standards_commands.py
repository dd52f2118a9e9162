"""`blinareg export --format adam|fhir ...` and `blinareg import --format fhir`: the standards exports.

Called from `registry_commands.export_command` / `import_command`; the heavy modules (pyreadstat,
fhir.resources) are imported only here, when such a format is asked for.
"""

from __future__ import annotations

from pathlib import Path

import click

from blinareg.errors import UserError

STANDARD_EXPORT_FORMATS = ("adam", "fhir")
STANDARD_IMPORT_FORMATS = ("fhir",)


def _derive(registry, origin: str, non_responder: str, as_of: str | None):
    from blinareg.derive import derive

    try:
        return derive(registry, origin=origin, non_responder=non_responder, as_of=as_of)
    except ValueError as error:
        option = str(error).split("=", 1)[0].replace("_", "-")
        raise UserError(f"invalid value for --{option}: {error}") from None


def export_standard(format_: str, path: Path, registry, *, origin: str, non_responder: str, as_of: str | None,
                    studyid: str) -> None:
    """Write `registry` to PATH in a standards format and say what was written."""
    if format_ == "adam":
        from blinareg.exchange.adam import write_adam

        dataset = _derive(registry, origin, non_responder, as_of)
        written = write_adam(registry, dataset, path, studyid=studyid)
        click.echo(f"exported ADaM ADSL ({len(dataset.patients)} subject(s)), ADTTE "
                   f"({len(dataset.time_to_event)} row(s)), ADAE, ADRS as CSV and SAS transport v5, with "
                   f"define.md/define.csv (origin {origin}) -> {written}")
    elif format_ == "fhir":
        from blinareg.exchange.fhir import write_fhir

        written, count = write_fhir(registry, path)
        click.echo(f"exported {count} FHIR R4 Bundle(s), one per patient -> {written}")
    else:  # pragma: no cover - click's Choice guards this
        raise UserError(f"unknown export format {format_!r}")


def import_standard(format_: str, path: Path):
    """Read a standards export back into a Registry (problems as a list, like read_registry)."""
    if format_ == "fhir":
        from blinareg.exchange.fhir import read_fhir

        return read_fhir(path)
    raise UserError(f"unknown import format {format_!r}")  # pragma: no cover
