"""Registry commands: `blinareg init | import | export | validate | summary | derive | redcap-dictionary`.

Thin wrappers over `blinareg.store`, `blinareg.exchange` and `blinareg.derive`. Every command takes
`--database URL` (default $BLINAREG_DATABASE_URL, else sqlite:///blinareg.sqlite). A user error (missing
file, uninitialized database, bad URL, invalid records) raises `blinareg.errors.UserError`: one line,
exit code 2, no traceback; before a validation failure every problem is printed to stderr, one a line.
`validate` exits 1 when the stored registry has errors. Progress bars go to stderr, only on a terminal.
"""

from __future__ import annotations

import csv
import io
import json
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import click

from blinareg.cli._options import database_option, non_responder_option, origin_option, path_option, progress
from blinareg.errors import UserError, ValidationFailed

if TYPE_CHECKING:
    from blinareg.records.problems import Problem

_PROBLEM_FIELDS = ("severity", "patient_id", "record_type", "key", "field", "value", "reason", "source", "row", "check")


_database_option = database_option  # one --database for every command (cli/_options.py)


def _open_store(database: str | None):
    from blinareg.store import Store

    return Store.open(database)


def _actor() -> str:
    return f"cli:{os.environ.get('USER') or os.environ.get('USERNAME') or 'unknown'}"


_progress = progress


def _echo_problems(problems: list[Problem]) -> None:
    for problem in problems:
        click.echo(str(problem), err=True)


def _has_errors(problems: list[Problem]) -> bool:
    from blinareg.records.problems import Severity

    return any(p.severity is Severity.ERROR for p in problems)


def _count_text(problems: list[Problem]) -> str:
    from blinareg.records.problems import Severity

    errors = sum(p.severity is Severity.ERROR for p in problems)
    return f"{errors} error(s), {len(problems) - errors} warning(s)"


# ---- init ------------------------------------------------------------------------------------------


@click.command("init")
@_database_option
@click.option(
    "--admin",
    "admin",
    metavar="NAME",
    help="Also create the web registry's first administrator NAME (password prompted, or $BLINAREG_ADMIN_PASSWORD).",
)
def init_command(database: str | None, admin: str | None) -> None:
    """Create the registry tables, or upgrade them to this version (safe to run again)."""
    with _open_store(database) as store:
        before = store.schema_revision()
        revision = store.init()
        state = (
            "already up to date"
            if before == revision
            else ("initialized" if before is None else f"upgraded from schema revision {before}")
        )
        click.echo(f"{store.url}: {state} (schema revision {revision})")
    if admin is not None:
        from blinareg.cli.web_commands import create_admin

        create_admin(database, admin)


# ---- import ----------------------------------------------------------------------------------------


@click.command("import")
@click.argument("path", type=click.Path(path_type=Path), required=False)
@_database_option
@click.option("--dry-run", is_flag=True, help="Validate against the stored registry; write nothing.")
@click.option("--redcap", is_flag=True, help="PATH is a REDCap 'Export records' CSV (raw data); see docs/redcap.md.")
@click.option(
    "--center",
    "center_id",
    metavar="ID",
    help="With --redcap: the center of the patients whose pat_center_id is blank.",
)
@path_option(
    "--map",
    "mapping_path",
    metavar="MAPPING.toml",
    file_only=True,
    help="PATH is the center's own sheet (.xlsx or .csv); read it through this mapping file "
    "(draft one with `blinareg map suggest`; docs/importing-your-data.md).",
)
@click.option(
    "--redcap-api",
    "redcap_api",
    metavar="URL",
    help="Pull the records of a live REDCap project through its API (token from $BLINAREG_REDCAP_TOKEN); no PATH.",
)
@click.option(
    "--redcap-status",
    "redcap_status",
    type=click.Choice(["complete", "unverified", "all"]),
    default=None,
    help="With --redcap/--redcap-api: import forms marked complete only, complete or unverified "
    "(default), or all; every form left out is reported.",
)
@path_option(
    "--dag-map",
    "dag_map_file",
    metavar="FILE",
    help="With --redcap/--redcap-api: REDCap data access group -> center id (.toml or .csv); "
    "default: the DAG name is the center id.",
)
@click.option(
    "--format",
    "format_",
    type=click.Choice(["fhir"]),
    default=None,
    help="fhir: PATH is a folder written by `blinareg export --format fhir` (docs/fhir.md).",
)
@path_option(
    "--redcap-dictionary",
    "redcap_dictionary",
    metavar="FILE",
    file_only=True,
    help="With --redcap --map: the Data Dictionary (CSV) of the center's own REDCap "
    "project, whose export PATH is read through the mapping (docs/redcap.md).",
)
def import_command(
    path: Path | None,
    database: str | None,
    dry_run: bool,
    redcap: bool,
    center_id: str | None,
    mapping_path: Path | None = None,
    redcap_api: str | None = None,
    redcap_status: str | None = None,
    dag_map_file: Path | None = None,
    format_: str | None = None,
    redcap_dictionary: Path | None = None,
) -> None:
    """Import a registry from a folder of <record_type>.csv files or an .xlsx workbook.

    With --map, PATH is the center's own spreadsheet, read through a mapping file.

    With --redcap, PATH is a REDCap raw-data export of a project made from `blinareg redcap-dictionary`.
    The patients in PATH replace all their stored records; other patients stay as they are. Nothing is
    written when any record has an error; every problem is listed.
    """
    from blinareg.exchange import read_registry

    if redcap_api is not None and (path is not None or redcap):
        raise click.UsageError("--redcap-api pulls the records itself: give no PATH and no --redcap")
    if path is None and redcap_api is None:
        raise click.UsageError("missing PATH (a registry folder, a workbook, or a REDCap export with --redcap)")
    any_redcap = redcap or redcap_api is not None
    if center_id is not None and not any_redcap:
        raise click.UsageError("--center is only used with --redcap (a registry folder names each patient's center)")
    if mapping_path is not None and redcap and redcap_dictionary is None:
        raise click.UsageError(
            "--redcap --map reads the export of a center's own REDCap project: give its Data "
            "Dictionary with --redcap-dictionary"
        )
    if redcap_dictionary is not None and (mapping_path is None or not redcap):
        raise click.UsageError("--redcap-dictionary is only used with --redcap and --map")
    own_project = mapping_path is not None and any_redcap
    if own_project and (dag_map_file is not None or center_id is not None):
        raise click.UsageError(
            "with --map the mapping file gives the center (map redcap_data_access_group, or a "
            "constant); --dag-map and --center are for projects made by redcap-dictionary"
        )
    if (redcap_status is not None or dag_map_file is not None) and not any_redcap:
        raise click.UsageError("--redcap-status and --dag-map are only used with --redcap or --redcap-api")
    if path is not None and not path.exists():
        raise UserError(f"{path}: no such folder or file")  # before the database state: the first thing to fix
    mapped = None
    absent: list[str] = []
    with _open_store(database) as store:
        store.require_initialized()  # before reading a large file for nothing
        source = str(path)  # how messages and the audit trail name the input (an API URL never holds the token)
        if format_ is not None:
            if any_redcap or mapping_path is not None:
                raise click.UsageError(
                    "--format reads a standards export; it cannot be combined with --redcap or --map"
                )
            from blinareg.cli.standards_commands import import_standard

            registry, file_problems = import_standard(format_, path)
        elif own_project:
            from blinareg.exchange import redcap_project
            from blinareg.exchange.redcap import DEFAULT_STATUS_LEVEL

            level = redcap_status or DEFAULT_STATUS_LEVEL
            if redcap_api is not None:
                mapped, source = redcap_project.read_redcap_project_api(
                    redcap_api, mapping_path, status=level, centers=store.load_centers()
                )
            else:
                mapped = redcap_project.read_redcap_project_file(
                    path, redcap_dictionary, mapping_path, status=level, centers=store.load_centers()
                )
            from blinareg.exchange.redcap import hold_stored_patients

            registry, file_problems = hold_stored_patients(
                mapped.registry, mapped.problems, lambda ids: set(store.load_registry(ids)["patient"]["patient_id"])
            )
        elif mapping_path is not None:
            from blinareg.cli.mapping_commands import read_mapped_import

            mapped = read_mapped_import(path, mapping_path)
            registry, file_problems = mapped.registry, mapped.problems
        elif any_redcap:
            from blinareg.exchange.redcap import DEFAULT_STATUS_LEVEL, load_dag_map, read_redcap_export

            dag_map = load_dag_map(dag_map_file) if dag_map_file is not None else None
            options = dict(
                center_id=center_id,
                centers=store.load_centers(),
                dag_map=dag_map,
                status=redcap_status or DEFAULT_STATUS_LEVEL,
            )
            # Centers already stored keep their name, country and synthetic flag.
            if redcap_api is not None:
                from blinareg.exchange.redcap_api import read_redcap_api

                registry, file_problems, source = read_redcap_api(redcap_api, **options)
            else:
                registry, file_problems = read_redcap_export(path, **options)
            from blinareg.exchange.redcap import hold_stored_patients

            registry, file_problems = hold_stored_patients(
                registry, file_problems, lambda ids: set(store.load_registry(ids)["patient"]["patient_id"])
            )
        else:
            from blinareg.exchange.tabular import absent_record_types

            registry, file_problems = read_registry(path)
            absent = absent_record_types(path)
        if _has_errors(file_problems):
            _echo_problems(file_problems)
            raise ValidationFailed(file_problems, f"{source}: {_count_text(file_problems)}; nothing imported")
        try:
            with _progress("import", stages=("reading", "validating", "writing")) as update:
                result = store.import_registry(
                    registry, source=source, actor=_actor(), dry_run=dry_run, progress=update
                )
        except ValidationFailed as error:
            found = mapped.locate(error.problems) if mapped is not None else error.problems
            _echo_problems([*file_problems, *found])
            raise ValidationFailed(found, f"{source}: {_count_text(found)}; nothing imported") from None
        warnings = [*file_problems, *(mapped.locate(result.warnings) if mapped is not None else result.warnings)]
        _echo_problems(warnings)
        patients = result.patients_added + result.patients_replaced
        records = sum(n for name, n in result.records.items() if name != "center")
        verb = "would import" if dry_run else "imported"
        skipped = _skipped_forms_text(file_problems) if any_redcap else ""
        click.echo(
            f"{verb} {patients} patient(s) ({result.patients_added} new, {result.patients_replaced} "
            f"replaced), {records} record(s) and {len(registry['center'])} center(s) from {source} "
            f"into {store.url}; {len(warnings)} warning(s)"
            + skipped
            + ("; dry run: nothing written" if dry_run else "")
        )
        if absent and path is not None:
            click.echo(
                f"no {'sheet' if path.suffix.lower() == '.xlsx' else 'file'} for: {', '.join(absent)} "
                f"(read as no records of these types; the imported patients have none stored)"
            )


def _skipped_forms_text(problems: list[Problem]) -> str:
    from blinareg.exchange.redcap import SKIPPED_FORM_CHECK

    skipped = sum(p.check == SKIPPED_FORM_CHECK for p in problems)
    return f"; {skipped} REDCap form(s) or record(s) left out (listed above)" if skipped else ""


@click.command("redcap-dictionary")
@click.argument("out", type=click.Path(dir_okay=False, path_type=Path))
def redcap_dictionary_command(out: Path) -> None:
    """Write the REDCap Data Dictionary (CSV) of the registry to OUT; see docs/redcap.md."""
    from blinareg.exchange.redcap import (
        REPEATING_INSTRUMENTS,
        missing_data_codes_setting,
        redcap_field_count,
        write_redcap_dictionary,
    )

    written = write_redcap_dictionary(out)
    click.echo(
        f"wrote the REDCap data dictionary ({redcap_field_count()} fields) to {written}; in REDCap, make "
        f"these instruments repeating: {', '.join(REPEATING_INSTRUMENTS)}; and set the Missing Data Codes "
        f"(Additional customizations) to: {missing_data_codes_setting()}"
    )


# ---- export ----------------------------------------------------------------------------------------


@click.command("export")
@click.argument("path", type=click.Path(path_type=Path))
@_database_option
@click.option(
    "--format",
    "format_",
    type=click.Choice(["csv", "xlsx", "adam", "fhir", "omop", "redcap"]),
    default=None,
    help="csv: a folder of <record_type>.csv files; xlsx: one workbook; adam: CDISC ADaM (CSV + SAS "
    "transport, docs/adam.md); fhir: HL7 FHIR R4 bundles (docs/fhir.md); omop: OMOP CDM v5.4 tables "
    "(docs/omop.md); redcap: one CSV in REDCap's import format (docs/redcap.md). Default: from PATH.",
)
@origin_option
@non_responder_option
@click.option("--as-of", "as_of", metavar="YYYY-MM-DD", help="With --format adam: data cut-off date.")
@click.option("--studyid", default="BLINAREG", show_default=True, help="With --format adam: STUDYID.")
@path_option(
    "--dag-map",
    "dag_map_file",
    metavar="FILE",
    help="With --format redcap: also put each record in its center's data access group (the map of import --dag-map).",
)
@click.option(
    "--deidentify",
    is_flag=True,
    help="De-identify first: keyed pseudonyms, shifted dates, no free text (docs/deidentification.md).",
)
@path_option(
    "--key-file",
    "key_file",
    file_only=True,
    help="With --deidentify: the pseudonym key (created when missing); keep it outside the export.",
)
@click.option(
    "--dates",
    "date_mode",
    type=click.Choice(["shift", "days"]),
    default="shift",
    show_default=True,
    help="With --deidentify: shift each patient's dates, or set each diagnosis to 2000-01-01.",
)
@click.option(
    "--k",
    "k_anonymity",
    type=int,
    default=5,
    show_default=True,
    help="With --deidentify: report quasi-identifier combinations shared by fewer than K patients.",
)
def export_command(
    path: Path,
    database: str | None,
    format_: str | None,
    origin: str = "first_blinatumomab",
    non_responder: str = "no_cr",
    as_of: str | None = None,
    studyid: str = "BLINAREG",
    dag_map_file: Path | None = None,
    deidentify: bool = False,
    key_file: Path | None = None,
    date_mode: str = "shift",
    k_anonymity: int = 5,
) -> None:
    """Export the stored registry (every record type) to PATH."""
    from blinareg.exchange import write_registry

    if format_ is None:
        format_ = "xlsx" if path.suffix.lower() == ".xlsx" else "csv"
    if dag_map_file is not None and format_ != "redcap":
        raise click.UsageError("--dag-map is only used with --format redcap")
    if not deidentify and key_file is not None:
        raise click.UsageError("--key-file is only used with --deidentify")
    with _open_store(database) as store:
        registry = store.load_registry()
    risks = None
    if deidentify:
        from blinareg.cli.standards_commands import deidentify_for_export

        registry, risks = deidentify_for_export(registry, path, key_file=key_file, dates=date_mode, k=k_anonymity)
    if format_ in ("adam", "fhir", "omop"):
        from blinareg.cli.standards_commands import export_standard, report_risks

        export_standard(
            format_, path, registry, origin=origin, non_responder=non_responder, as_of=as_of, studyid=studyid
        )
        if risks is not None:
            report_risks(risks, k_anonymity, path)
        return
    from blinareg.exchange.tabular import writing

    if format_ == "redcap":
        from blinareg.exchange.redcap import center_groups, load_dag_map, write_redcap_export_file

        groups = center_groups(load_dag_map(dag_map_file)) if dag_map_file is not None else None
        written = write_redcap_export_file(registry, path, data_access_groups=groups)
    else:
        with writing(path):  # a parent that is a file, no permission, a full disk: one line, no traceback
            written = write_registry(registry, path, format=format_)
    click.echo(
        f"exported {len(registry['patient'])} patient(s), "
        f"{sum(registry.counts().values())} record(s) to {written} ({format_})"
    )
    if risks is not None:
        from blinareg.cli.standards_commands import report_risks

        report_risks(risks, k_anonymity, None)


# ---- validate --------------------------------------------------------------------------------------


def _problems_text(problems: list[Problem], output_format: str) -> str:
    if output_format == "json":
        return json.dumps([p.to_dict() for p in problems], indent=2, ensure_ascii=False) + "\n"
    if output_format == "csv":
        buffer = io.StringIO()
        writer = csv.DictWriter(buffer, fieldnames=_PROBLEM_FIELDS, lineterminator="\n")
        writer.writeheader()
        for problem in problems:
            row = problem.to_dict()
            writer.writerow({name: row[name] for name in _PROBLEM_FIELDS})
        return buffer.getvalue()
    lines = [str(p) for p in problems]
    patients = len({p.patient_id for p in problems if p.patient_id})
    lines.append(f"{_count_text(problems)} in {patients} patient(s)" if problems else "no problems found")
    return "\n".join(lines) + "\n"


@click.command("validate")
@_database_option
@click.option(
    "--format",
    "output_format",
    type=click.Choice(["text", "json", "csv"]),
    default="text",
    show_default=True,
    help="How to print the problems.",
)
@click.option("--output", type=click.Path(dir_okay=False, path_type=Path), help="Write the problems to FILE.")
def validate_command(database: str | None, output_format: str, output: Path | None) -> None:
    """Check every stored record (all patients); exit 1 when any error is found.

    Each problem names the patient, the record, the field, the value and the reason.
    """
    from blinareg.records.validation import validate

    with _open_store(database) as store:
        registry = store.load_registry()
    problems = validate(registry)
    text = _problems_text(problems, output_format)
    if output is None:
        click.echo(text, nl=False)
    else:
        try:
            output.write_text(text, encoding="utf-8")
        except OSError as error:
            raise UserError(f"{output}: cannot write: {error.strerror}") from None
        click.echo(f"{_count_text(problems)}; written to {output}", err=True)
    if _has_errors(problems):
        sys.exit(1)


# ---- summary ---------------------------------------------------------------------------------------


@click.command("summary")
@_database_option
def summary_command(database: str | None) -> None:
    """Records per type, patients per center (deleted patients apart), and whether the data are synthetic."""
    with _open_store(database) as store:
        summary = store.summary()
        url = store.url
    click.echo(f"registry: {url}")
    synthetic = {
        "yes": "yes (every center is synthetic; not real patients)",
        "no": "no (real data)",
        "mixed": "MIXED: synthetic and real centers in one registry",
        "empty": "no centers",
    }
    click.echo(f"synthetic: {synthetic[summary.synthetic]}")
    click.echo("records:")
    width = max(len(name) for name in summary.counts)
    for name, count in summary.counts.items():
        click.echo(f"  {name:<{width}}  {count:>9,}")
    if summary.deleted_patients:
        click.echo(f"  (not counted: {summary.deleted_patients:,} deleted patients and their records)")
    click.echo("patients per center:")
    for center_id, count in summary.patients_per_center.items():
        click.echo(f"  {center_id:<{width}}  {count:>9,}")
    for key, value in summary.meta.items():
        click.echo(f"{key.replace('_', ' ')}: {value}")


# ---- derive ----------------------------------------------------------------------------------------


@click.command("derive")
@click.argument("out_dir", type=click.Path(file_okay=False, path_type=Path))
@_database_option
@origin_option
@non_responder_option
@click.option("--as-of", "as_of", metavar="YYYY-MM-DD", help="Data cut-off date.")
@click.option(
    "--rules",
    "rules_file",
    type=click.Path(exists=True, dir_okay=False),
    help="A center's rule overrides (TOML); default: the reference rules.",
)
def derive_command(
    out_dir: Path, database: str | None, origin: str, non_responder: str, as_of: str | None, rules_file: str | None
) -> None:
    """Write the analysis dataset (one CSV per frame) to OUT_DIR."""
    from blinareg.derive import derive
    from blinareg.rules import DEFAULT_RULES

    rules = DEFAULT_RULES
    if rules_file is not None:
        from blinareg.cli.calculators import load_rules_file

        rules = load_rules_file(rules_file)
    if out_dir.exists() and not out_dir.is_dir():
        raise UserError(f"{out_dir} exists and is not a folder")
    with _open_store(database) as store:
        registry = store.load_registry()
    try:
        dataset = derive(registry, origin=origin, non_responder=non_responder, rules=rules, as_of=as_of)
    except ValueError as error:
        option = str(error).split("=", 1)[0].replace("_", "-")
        raise UserError(f"invalid value for --{option}: {error}") from None
    frames = dataset.to_frames()
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
        for name, frame in frames.items():
            frame.to_csv(out_dir / f"{name}.csv", index=False, date_format="%Y-%m-%d", lineterminator="\n")
    except OSError as error:
        raise UserError(f"{out_dir}: cannot write: {error.strerror}") from None
    click.echo(
        f"derived {len(dataset.patients)} patient(s), {len(dataset.time_to_event)} time-to-event row(s) "
        f"(origin {origin}) -> {out_dir}: " + ", ".join(f"{name}.csv" for name in frames)
    )
