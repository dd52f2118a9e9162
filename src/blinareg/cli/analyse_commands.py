"""`blinareg analyse`: one endpoint estimated where the data live (DuckDB, Spark, PostgreSQL) from counts."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click

from blinareg.cli._options import origin_option
from blinareg.errors import UserError

__all__ = ["analyse_command"]


@click.command("analyse")
@click.option(
    "--source",
    required=True,
    metavar="SOURCE",
    help="duckdb:FILE.parquet|FILE.csv|FOLDER (ADTTE files), spark:PATH (Parquet or CSV), or a database URL "
    "(postgresql://...): its ADTTE --table, or without --table the registry itself (derived with --origin).",
)
@click.option(
    "--endpoint", required=True, metavar="PARAMCD", help="The endpoint (PARAMCD): OS, EFS, DFS, CIR, NRM, ..."
)
@click.option(
    "--by", "by", metavar="VAR", help="Compare groups of this variable (of ADTTE, or of ADSL joined on USUBJID)."
)
@click.option("--strata", metavar="VAR", help="Stratify the test by this variable.")
@click.option(
    "--adsl", metavar="FILE|TABLE", help="The ADSL file (duckdb, spark) or table (database) to join for --by/--strata."
)
@click.option("--table", metavar="TABLE", help="The ADTTE table of a database source ([schema.]table).")
@click.option(
    "--out", "out_dir", type=click.Path(path_type=Path, file_okay=False), help="Write results.json and the figure here."
)
@click.option(
    "--spark-master",
    default="local[2]",
    show_default=True,
    metavar="MASTER",
    help="The Spark master of a spark: source (local[N], yarn, spark://HOST:PORT, k8s://...).",
)
@origin_option
def analyse_command(
    source: str,
    endpoint: str,
    by: str | None,
    strata: str | None,
    adsl: str | None,
    table: str | None,
    out_dir: Path | None,
    spark_master: str,
    origin: str,
) -> None:
    """Estimate one endpoint inside the engine that holds the data, and print the summary.

    The engine counts subjects per (group, time, status) in one GROUP BY; Kaplan-Meier with the
    log-rank test (or the cumulative incidence with Gray's test for CIR and NRM) is finished from the
    counts, equal to the patient-level estimators. See docs/scale.md.
    """
    from blinareg.pushdown.counting import CountRequest
    from blinareg.pushdown.estimate import finish
    from blinareg.pushdown.results import summarise, summary_lines
    from blinareg.pushdown.sources import count_source, parse_source
    from blinareg.report.config import CIF_ENDPOINTS, ReportConfig

    parsed = parse_source(source)
    request = CountRequest(
        endpoint.strip().upper(), competing=endpoint.strip().upper() in CIF_ENDPOINTS, by=by, strata=strata
    )
    counts = count_source(parsed, request, adsl=adsl, table=table, origin=origin, spark_master=spark_master)
    config = ReportConfig()
    results, curves = summarise(finish(request, counts, conf_level=config.conf_level), parsed.display, config)
    for line in summary_lines(results):
        click.echo(line)
    if out_dir is not None:
        _write(out_dir, results.json(), curves)


def _write(out_dir: Path, results: dict[str, Any], curves: Any) -> None:
    from blinareg.report.figures import curve_figure, render_figure

    figure = render_figure(curve_figure(curves))
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
        (out_dir / "results.json").write_text(json.dumps(results, indent=2, allow_nan=False) + "\n", encoding="utf-8")
        for extension in ("png", "svg", "pdf"):
            (out_dir / f"{curves.key}.{extension}").write_bytes(figure[extension])
    except OSError as error:
        raise UserError(f"{out_dir}: cannot write: {error.strerror}") from None
    click.echo(f"wrote {out_dir / 'results.json'} and {curves.key}.png/.svg/.pdf")
