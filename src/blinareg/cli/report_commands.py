"""`blinareg report`: the outcomes report (HTML, PDF, DOCX, results.json, figures) from the registry."""

from __future__ import annotations

import dataclasses
import os
import tomllib
from pathlib import Path
from types import MappingProxyType

import click

from blinareg.cli._options import database_option, database_url, origin_option, progress
from blinareg.errors import UserError

__all__ = ["report_command", "run_report", "load_config"]

DATABASE_URL_ENV = "BLINAREG_DATABASE_URL"


def load_config(config_path: str | Path | None):
    """ReportConfig from a TOML file (its [report] table, or the whole file), or the defaults."""
    from blinareg.report.config import ReportConfig

    if config_path is None:
        return ReportConfig()
    path = Path(config_path)
    try:
        with path.open("rb") as handle:
            mapping = tomllib.load(handle)
    except FileNotFoundError:
        raise UserError(f"--config: file not found: {path}") from None
    except tomllib.TOMLDecodeError as error:
        raise UserError(f"--config: {path} is not valid TOML: {error}") from None
    return ReportConfig.from_toml_mapping(mapping)


_database_url = database_url


def run_report(
    *,
    database_url: str | None,
    out_dir: str | Path,
    by: str | None = None,
    origin: str = "first_blinatumomab",
    config_path: str | Path | None = None,
    patient: str | None = None,
    formats: list[str] | None = None,
    freeze: int | None = None,
) -> list[Path]:
    """Load the registry, derive the analysis dataset, build and write the report; returns the files written.

    With `patient`, writes only that patient's timeline (patient_<ID>.png/.svg/.pdf/.json). With
    `freeze`, the records are the freeze's (not the live tables), analysed at its data cut-off.
    """
    from blinareg.derive import derive
    from blinareg.report import build_report, patient_timeline, write_patient_timeline
    from blinareg.report.config import normalise_origin
    from blinareg.store import Store

    config = load_config(config_path)
    changes = {"by": by}
    if origin is not None:
        changes["origin"] = normalise_origin(origin, "--origin")
    config = config.with_options(**changes)
    stages = ("loading", "deriving", "analysing", "writing")
    with progress("report", stages=stages) as update:
        update("loading", 0, 1)
        store = Store.open(_database_url(database_url))
        registry, as_of, provenance = _records_and_provenance(store, freeze)
        patients = registry.tables.get("patient")
        if patients is None or patients.empty:
            raise UserError(
                "the registry is empty: import data (blinareg import) or build the demo (blinareg demo) first"
            )
        update("deriving", 0, 1)
        dataset = derive(registry, origin=config.origin, non_responder=config.non_responder, as_of=as_of)
        del registry, patients  # the records are not needed after derive: free them before the report
        dataset = dataclasses.replace(dataset, metadata=MappingProxyType({**dataset.metadata, **provenance}))
        if patient is not None:
            update("writing", 0, 1)
            return write_patient_timeline(patient_timeline(dataset, patient), out_dir)
        update("analysing", 0, 1)
        report = build_report(dataset, config)
        return _write_with_progress(report, out_dir, formats, update)


def _records_and_provenance(store, freeze: int | None):  # noqa: ANN202
    """The records to report (live, or a freeze's), its data cut-off, and what the report cites about them:
    the freeze (id, name, hash) and the data queries' states (live, or as when the freeze was made)."""
    from blinareg.store.freezes import Freezes
    from blinareg.store.queries import DataQueries

    if freeze is None:
        return store.load_registry(), None, {"data_queries": DataQueries(store).counts().to_dict()}
    freezes = Freezes(store)
    facts = freezes.get(freeze)
    registry = freezes.registry(freeze)
    return registry, facts.as_of, {"freeze": facts.to_dict(), "data_queries": facts.query_counts}


def _write_with_progress(report, out_dir, formats, update) -> list[Path]:
    """write_report, advancing the "writing" stage after each figure and file (when the report counts them)."""
    from blinareg.report import write_report

    try:
        from blinareg.report.render import report_steps
    except ImportError:  # a report package without step counts: one uncounted stage
        update("writing", 0, 1)
        return write_report(report, out_dir, formats)
    total = report_steps(report, formats)
    done = 0
    update("writing", done, total)

    def step(_description: str) -> None:
        nonlocal done
        done += 1
        update("writing", done, total)

    return write_report(report, out_dir, formats, progress=step)


@click.command("report")
@click.option(
    "--out",
    "out_dir",
    default="report",
    show_default=True,
    type=click.Path(file_okay=False),
    help="Folder for report.html, report.pdf, report.docx, results.json and figures/.",
)
@click.option("--by", default=None, help="Split every section by this patient variable (e.g. indication_group).")
@origin_option
@click.option(
    "--config",
    "config_path",
    default=None,
    type=click.Path(dir_okay=False),
    help="report.toml: sections, landmarks, non-responder definition, comparisons, models.",
)
@database_option
@click.option("--patient", default=None, help="Write only this patient's timeline (MRD on a log scale).")
@click.option(
    "--freeze",
    "freeze",
    type=int,
    default=None,
    help="Report the records of this analysis freeze (blinareg freeze list), not the live registry.",
)
@click.option(
    "--formats",
    default="html,pdf,docx,json,figures",
    show_default=True,
    help="Comma-separated: html, pdf, docx, json, figures.",
)
def report_command(
    out_dir: str,
    by: str | None,
    origin: str,
    config_path: str | None,
    database: str | None,
    patient: str | None,
    freeze: int | None,
    formats: str,
) -> None:
    """Write the outcomes report of the registry (or one patient's timeline with --patient).

    \b
    report.toml (--config), a [report] table; every key is optional:
      by = "indication_group"          split every section (also --by)
      by_levels = ["mrd_clearance", ...]  the split's levels, in this order
      origin = "first-blinatumomab"    or hsct, diagnosis, relapse (also --origin)
      landmarks_months = [12, 24]      time points of the survival estimates
      rmst_horizon_months = 24         restricted mean survival time horizon
      non_responder = "no_cr"          or "no_complete_mrd_response"
      high_tumour_load_mrd = 0.05      baseline MRD fraction of "high tumour load"
      conf_level = 0.95
      comparison_min_recorded = 0.5    run a comparison only if its variable is
                                       recorded in this share of the patients
      swimmer_max_patients = 100       larger cohorts: a stated systematic sample
      censor_marks_max = 200           more censoring times: one '+' per 1/200 of
                                       the time axis (stated in the caption)
      table1_p_values = false          P column in Table 1 (with --by / by)
      title = "..."; formats = ["html", "pdf", "docx", "json", "figures"]
      [report.sections]  cohort/exposure/response/safety/outcomes/models/
                         courses/text = true|false
      [[report.comparisons]]  name, variable, groups = {label = [values]},
                              endpoints, population = {column = [values]},
                              timing = "origin" | "hsct"
      [[report.models]]  name, kind = "cox" | "fine_gray", endpoint,
                         covariates = [...], reference = {covariate = level},
                         strata = ["center_id"]  (Cox: a baseline hazard
                                                  per stratum),
                         ph_test = true  (Cox: proportional-hazards test,
                                          per covariate and global)
      [[report.subgroups]]  subgroup forest plot: name, endpoint (OS, EFS,
                            ...), variable, groups = {reference = [values],
                            compared = [values]}, subgroups = [columns]
                            (HR in each level, P for interaction)
    """
    os.environ.setdefault("MPLBACKEND", "Agg")
    wanted = [f.strip() for f in formats.split(",") if f.strip()]
    known = {"html", "pdf", "docx", "json", "figures"}
    bad = [f for f in wanted if f not in known]
    if bad:
        raise UserError(f"--formats: unknown format {bad[0]!r}; choose from {', '.join(sorted(known))}")
    paths = run_report(
        database_url=database,
        out_dir=out_dir,
        by=by,
        origin=origin,
        config_path=config_path,
        patient=patient,
        formats=wanted,
        freeze=freeze,
    )
    for path in paths:
        if path.suffix in (".html", ".pdf", ".docx", ".json") and path.parent == Path(out_dir):
            click.echo(str(path))
    figures = [p for p in paths if p.parent.name == "figures"]
    if figures:
        click.echo(f"{Path(out_dir) / 'figures'}/ ({len(figures)} files)")
    elif patient is not None:
        for path in paths:
            click.echo(str(path))
