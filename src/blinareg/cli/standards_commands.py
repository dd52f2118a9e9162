"""`blinareg export --format adam|fhir|omop ...` and `blinareg import --format fhir`: the standards exports.

Called from `registry_commands.export_command` / `import_command`; the heavy modules (pyreadstat,
fhir.resources) are imported only here, when such a format is asked for.
"""

from __future__ import annotations

from pathlib import Path

import click

from blinareg.errors import UserError

STANDARD_EXPORT_FORMATS = ("adam", "fhir", "omop")
STANDARD_IMPORT_FORMATS = ("fhir",)


def _derive(registry, origin: str, non_responder: str, as_of: str | None):
    from blinareg.derive import derive

    try:
        return derive(registry, origin=origin, non_responder=non_responder, as_of=as_of)
    except ValueError as error:
        option = str(error).split("=", 1)[0].replace("_", "-")
        raise UserError(f"invalid value for --{option}: {error}") from None


def export_standard(
    format_: str, path: Path, registry, *, origin: str, non_responder: str, as_of: str | None, studyid: str
) -> None:
    """Write `registry` to PATH in a standards format and say what was written."""
    if format_ == "adam":
        from blinareg.exchange.adam import write_adam

        dataset = _derive(registry, origin, non_responder, as_of)
        written = write_adam(registry, dataset, path, studyid=studyid)
        click.echo(
            f"exported ADaM ADSL ({len(dataset.patients)} subject(s)), ADTTE "
            f"({len(dataset.time_to_event)} row(s)), ADAE, ADRS as CSV and SAS transport v5, with "
            f"define.md/define.csv (origin {origin}) -> {written}"
        )
    elif format_ == "fhir":
        from blinareg.exchange.fhir import write_fhir

        written, count = write_fhir(registry, path)
        click.echo(f"exported {count} FHIR R4 Bundle(s), one per patient -> {written}")
    elif format_ == "omop":
        from blinareg.exchange.omop import write_omop

        written = write_omop(registry, path)
        click.echo(f"exported OMOP CDM v5.4 tables of {len(registry['patient'])} person(s) -> {written}")
    else:  # pragma: no cover - click's Choice guards this
        raise UserError(f"unknown export format {format_!r}")


def import_standard(format_: str, path: Path):
    """Read a standards export back into a Registry (problems as a list, like read_registry)."""
    if format_ == "fhir":
        from blinareg.exchange.fhir import read_fhir

        return read_fhir(path)
    raise UserError(f"unknown import format {format_!r}")  # pragma: no cover


def deidentify_for_export(registry, path: Path, *, key_file: Path | None, dates: str, k: int):
    """The de-identified registry and its disclosure risks; says where the key is (never in the export)."""
    import secrets

    from blinareg.exchange.deidentify import load_or_create_key, release

    if key_file is None:
        key = secrets.token_bytes(32)
        click.echo(
            "de-identify: no --key-file, a one-time key was used (the pseudonyms cannot be reproduced)", err=True
        )
    else:
        key, created = load_or_create_key(key_file, export_dir=path)
        click.echo(
            f"de-identify: {'created the key' if created else 'key from'} {key_file}; keep it outside the export",
            err=True,
        )
    return release(registry, key, dates=dates, k=k)


def report_risks(risks, k: int, folder: Path | None) -> None:
    """Print the quasi-identifier combinations shared by fewer than k patients (and write disclosure.csv)."""
    import csv
    from dataclasses import asdict, fields

    from blinareg.exchange.deidentify import DisclosureRisk, disclosure_summary

    if folder is not None and folder.is_dir():
        with open(folder / "disclosure.csv", "w", encoding="utf-8", newline="") as handle:
            writer = csv.DictWriter(handle, fieldnames=[f.name for f in fields(DisclosureRisk)], lineterminator="\n")
            writer.writeheader()
            writer.writerows(asdict(risk) for risk in risks)
    if not risks:
        click.echo(disclosure_summary(risks, k), err=True)
        return
    click.echo(
        disclosure_summary(risks, k)
        + (f" (all listed in {folder / 'disclosure.csv'})" if folder is not None and folder.is_dir() else ""),
        err=True,
    )
    for risk in risks[:20]:
        click.echo(
            f"  {risk.age_group}, {risk.sex}, {risk.center_id}, {risk.diagnosis_year}: {risk.patients} patient(s)",
            err=True,
        )
