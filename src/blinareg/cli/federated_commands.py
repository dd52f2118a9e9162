"""`blinareg aggregate`, `pool` and `federated-cox`: federated analysis over files (docs/scale.md)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click

from blinareg.cli._options import database_option, origin_option
from blinareg.errors import UserError

__all__ = ["aggregate_command", "pool_command", "federated_cox_group"]


def _read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise UserError(f"{path}: file not found") from None
    except json.JSONDecodeError as error:
        raise UserError(f"{path}: not valid JSON ({error})") from None


def _write_json(content: Any, path: Path) -> None:
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        # Written whole to a temporary name, then renamed: a failed write never leaves half a file.
        partial = path.with_name(path.name + ".partial")
        partial.write_text(json.dumps(content, indent=1, allow_nan=False) + "\n", encoding="utf-8")
        partial.replace(path)
    except OSError as error:
        raise UserError(f"{path}: cannot write: {error.strerror}") from None


def _split_list(value: str | None) -> list[str]:
    return [item.strip() for item in (value or "").split(",") if item.strip()]


@click.command("aggregate")
@database_option
@origin_option
@click.option("--out", "out", required=True, type=click.Path(dir_okay=False, path_type=Path), help="center.json")
@click.option("--endpoints", default="OS,EFS,CIR,NRM", show_default=True, help="Comma-separated endpoints.")
@click.option("--by", default=None, help="Split every count by this patient variable (e.g. indication_group).")
@click.option("--grid", type=click.Choice(["exact", "day", "week", "month"]), default="exact", show_default=True)
@click.option("--min-cell", "min_cell", type=int, default=5, show_default=True, help="Smallest count released (K).")
@click.option("--center", "centers", multiple=True, help="Aggregate only this center (repeatable); default all.")
def aggregate_command(
    database: str | None,
    origin: str,
    out: Path,
    endpoints: str,
    by: str | None,
    grid: str,
    min_cell: int,
    centers: tuple[str, ...],
) -> None:
    """Write this center's counts (no patient-level data) for a federated analysis to --out."""
    from blinareg.derive import derive
    from blinareg.federated import aggregate
    from blinareg.federated.aggregate import for_centers
    from blinareg.store import Store

    registry = Store.open(database).load_registry()
    dataset = derive(registry, origin=origin)
    if centers:
        dataset = for_centers(dataset, centers)
    content = aggregate(dataset, _split_list(endpoints), by=by, grid=grid, min_cell=min_cell)
    _write_json(content, out)
    released = [name for name, block in content["endpoints"].items() if "counts" in block]
    click.echo(
        f"aggregated {len(dataset.patients)} patient(s) of {', '.join(content['centers'])} -> {out} "
        f"(endpoints released: {', '.join(released) or 'none'})"
    )
    for name, block in content["endpoints"].items():
        for merge in block.get("merged_groups", []):
            what = "ungrouped" if merge["ungrouped"] else "with groups " + " + ".join(merge["groups"]) + " merged"
            click.echo(f"  {name}: center {merge['center']} released {what} (a group had 1 to K-1 exits of a status)")


@click.command("pool")
@click.argument("files", nargs=-1, required=True, type=click.Path(dir_okay=False, path_type=Path))
@click.option("--out", "out", type=click.Path(dir_okay=False, path_type=Path), help="pooled.json (the results).")
@click.option(
    "--report",
    "report_dir",
    type=click.Path(file_okay=False, path_type=Path),
    help="Folder for the pooled report (report.html, report.pdf, report.docx, results.json, figures/).",
)
def pool_command(files: tuple[Path, ...], out: Path | None, report_dir: Path | None) -> None:
    """Pool center aggregates: KM, cumulative incidence, tests and tables from the counts."""
    from blinareg.federated import check_aggregate, pool

    if out is None and report_dir is None:
        raise UserError("pool: give --out FILE and/or --report DIR")
    aggregates = [check_aggregate(_read_json(path), str(path)) for path in files]
    results = pool(aggregates)
    written = []
    if out is not None:
        _write_json(results, out)
        written.append(str(out))
    if report_dir is not None:
        from blinareg.federated.report import write_pooled_report

        written.extend(str(path) for path in write_pooled_report(aggregates, results, report_dir))
    click.echo(f"pooled {len(files)} aggregate(s), centers {', '.join(results['centers'])} -> {', '.join(written)}")


@click.group("federated-cox")
def federated_cox_group() -> None:
    """Cox model stratified by center, fitted over files (init, center, step; see docs/scale.md)."""


@federated_cox_group.command("init")
@click.option("--covariates", required=True, help="Comma-separated covariate column names.")
@click.option("--ties", type=click.Choice(["efron", "breslow"]), default="efron", show_default=True)
@click.option("--out", "out", required=True, type=click.Path(dir_okay=False, path_type=Path), help="round0.json")
def cox_init(covariates: str, ties: str, out: Path) -> None:
    """Write round 0 (coefficients 0) for the centers to evaluate."""
    from blinareg.federated import start_rounds

    _write_json(start_rounds(_split_list(covariates), ties), out)
    click.echo(f"round 0 -> {out}: send it to every center")


@federated_cox_group.command("center")
@click.option("--coef", "coef", required=True, type=click.Path(dir_okay=False, path_type=Path), help="Round file.")
@click.option("--data", "data", required=True, type=click.Path(dir_okay=False, path_type=Path), help="Center CSV.")
@click.option("--center", "center", required=True, help="This center's name.")
@click.option("--time", "time", default="time", show_default=True, help="Time column.")
@click.option("--event", "event", default="event", show_default=True, help="Event column (0/1).")
@click.option("--strata", default=None, help="A column of the center's own strata (default: one stratum).")
@click.option("--out", "out", required=True, type=click.Path(dir_okay=False, path_type=Path))
def cox_center(coef: Path, data: Path, center: str, time: str, event: str, strata: str | None, out: Path) -> None:
    """Evaluate this center's partial likelihood sums at the round's coefficients."""
    import pandas as pd

    from blinareg.federated import center_contribution

    try:
        frame = pd.read_csv(data)
    except FileNotFoundError:
        raise UserError(f"{data}: file not found") from None
    state = _read_json(coef)
    _write_json(center_contribution(frame, state, center=center, time=time, event=event, strata=strata), out)
    click.echo(f"{center}: round {state['round']} contribution -> {out}: send it to the coordinator")


@federated_cox_group.command("step")
@click.argument("contributions", nargs=-1, required=True, type=click.Path(dir_okay=False, path_type=Path))
@click.option("--coef", "coef", required=True, type=click.Path(dir_okay=False, path_type=Path), help="Round file.")
@click.option("--out", "out", required=True, type=click.Path(dir_okay=False, path_type=Path), help="Next round.")
def cox_step(contributions: tuple[Path, ...], coef: Path, out: Path) -> None:
    """Sum the centers' contributions and write the next round (or the fitted model)."""
    from blinareg.federated import coordinator_round

    state = coordinator_round(_read_json(coef), [_read_json(path) for path in contributions])
    _write_json(state, out)
    if state["status"] == "evaluate":
        click.echo(f"round {state['round']} -> {out}: send it to every center")
        return
    click.echo(f"{state['status']} after {state['result']['iterations']} iteration(s) -> {out}")
    for row in state["result"]["coefficients"]:
        click.echo(
            f"  {row['covariate']}: coef {row['coef']:.6g}, se {row['se']:.6g}, HR {row['hazard_ratio']:.4g} "
            f"({row['hr_lower']:.4g}-{row['hr_upper']:.4g}), p {row['p_value']:.4g}"
        )
