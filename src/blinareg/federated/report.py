"""The pooled report of a federated analysis: report.html, report.pdf, report.docx, results.json, figures/.

Figures are drawn by the patient-level report's own `curve_figure` (Kaplan-Meier or cumulative
incidence with numbers at risk) from the pooled counts; numbers are formatted by its formatters; the PDF
is written by its `write_pdf`. The pooled results hold counts, not patients, so the sections are the
ones counts support: Table 1, response and toxicity counts (exact intervals), the time-to-event
endpoints (curves, landmarks, medians, log-rank or Gray's test by group, stratified by center, and
across centers) and what each center's file disclosed and how coarsening affects the estimates.
"""

from __future__ import annotations

import base64
import html
import json
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from blinareg.federated.aggregate import COMPETING_ENDPOINTS, table_from_json
from blinareg.federated.pool import centers_as_groups, groups_only, merged_levels
from blinareg.stats import CountTable, cumulative_incidence_from_counts, kaplan_meier_from_counts

__all__ = ["pooled_tables", "pooled_figures", "write_pooled_report"]

TITLE = "Pooled outcomes report (federated analysis)"
ENDPOINT_NAMES = {
    "OS": "Overall survival",
    "EFS": "Event-free survival",
    "CIR": "Cumulative incidence of relapse",
    "NRM": "Non-relapse mortality",
}
TEST_NAMES = {
    "logrank_groups": "log-rank across groups",
    "logrank_groups_stratified_by_center": "log-rank across groups, stratified by center",
    "logrank_centers": "log-rank across centers",
    "gray_groups": "Gray's test across groups",
    "gray_groups_stratified_by_center": "Gray's test across groups, stratified by center",
    "gray_centers": "Gray's test across centers",
}


def _formatters() -> Any:
    from blinareg.report import tables

    return tables


def _cell(cell: dict[str, Any], total: int) -> str:
    fmt = _formatters()
    if not cell["exact"]:
        return f"{cell['low']}{fmt.DASH}{cell['high']} (range)"
    if "proportion" not in cell:
        return str(fmt.fmt_n_pct(cell["low"], total))
    return f"{fmt.fmt_n_pct(cell['n'], total)}; 95% CI {fmt.fmt_ci(cell['lower'], cell['upper'])}"


def _categorical_table(results: dict[str, Any], section: str, key: str, title: str) -> Any:
    fmt = _formatters()
    groups = results["groups"]
    variables = results["categorical"].get(section, {})
    columns = ("Characteristic", *[f"{fmt.label(g)} (N = {_group_total(variables, g)})" for g in groups])
    rows = []
    for name, by_group in variables.items():
        rows.append(fmt.Row(fmt.label(name), tuple("" for _ in groups), 0, True))
        levels = next(iter(by_group.values()))["levels"]
        for level in levels:
            cells = tuple(_cell(by_group[g]["levels"][level], by_group[g]["total"]) for g in groups)
            rows.append(fmt.Row(fmt.label(level), cells, 1))
    notes = (
        "n/N (%); exact (Clopper-Pearson) 95% confidence intervals where every center released the count.",
        f"A count released as '<K' (K = {results['min_cell']}) by some center is pooled as a range.",
    )
    return fmt.Table(key, section, title, columns, tuple(rows), notes)


def _group_total(variables: dict[str, Any], group: str) -> int | str:
    for by_group in variables.values():
        return int(by_group[group]["total"])
    return "?"


def _endpoint_table(results: dict[str, Any]) -> Any:
    fmt = _formatters()
    months = results["landmark_months"]
    columns = ("Endpoint", "Patients", "Events", *[f"{m:g} months (95% CI)" for m in months], "Median, months (95% CI)")
    rows = []
    notes = []
    for endpoint, pooled in results["endpoints"].items():
        if "overall" not in pooled:
            rows.append(
                fmt.Row(ENDPOINT_NAMES.get(endpoint, endpoint), ("not released by any center",) * (len(columns) - 1))
            )
            continue
        rows.append(fmt.Row(ENDPOINT_NAMES.get(endpoint, endpoint), tuple("" for _ in columns[1:]), 0, True))
        parts = [("All patients", pooled["overall"])] + [(fmt.label(g), b) for g, b in pooled["groups"].items()]
        parts += [(f"Center {c}", b) for c, b in pooled["centers_as_groups"].items()]
        for name, block in parts:
            landmarks = [
                f"{fmt.fmt_pct(mark['estimate'])} ({fmt.fmt_ci(mark['lower'], mark['upper'])})"
                for mark in block.get("landmarks", [])
            ] or ["no events"] * len(months)
            median_text = _median_text(block.get("median_months"))
            rows.append(fmt.Row(name, (str(block["n"]), str(block["events"]), *landmarks, median_text), 1))
        for key, test in pooled["tests"].items():
            notes.append(f"{ENDPOINT_NAMES.get(endpoint, endpoint)}: {TEST_NAMES[key]} {fmt.fmt_p(test['p_value'])}.")
        notes.append(f"{ENDPOINT_NAMES.get(endpoint, endpoint)}: {pooled['coarsening']['statement']}")
    return fmt.Table(
        "endpoints", "outcomes", "Time-to-event endpoints (pooled counts)", columns, tuple(rows), tuple(notes)
    )


def _median_text(median: dict[str, Any] | None) -> str:
    fmt = _formatters()
    if median is None:
        return "not applicable"
    if median["median"] is None:
        return "not reached"
    return f"{fmt.fmt_num(median['median'])} ({_months(median['lower'])}{fmt.DASH}{_months(median['upper'])})"


def _months(value: float | None) -> str:
    return "NE" if value is None else f"{value:.1f}"


def pooled_tables(results: dict[str, Any]) -> list[Any]:
    """Table 1, response, toxicity and the endpoints table of the pooled results, numbered."""
    tables = [
        _categorical_table(results, "table1", "table1", "Patient characteristics (pooled counts)"),
        _categorical_table(results, "response", "response", "Response (pooled counts)"),
        _categorical_table(results, "toxicity", "toxicity", "Toxicity: maximum grade per patient (pooled counts)"),
        _endpoint_table(results),
    ]
    fmt = _formatters()
    return [
        fmt.Table(t.key, t.section, t.title, t.columns, t.rows, t.notes, f"Table {i}")
        for i, t in enumerate(tables, start=1)
    ]


def _pooled_counts(aggregates: Sequence[dict[str, Any]], endpoint: str) -> CountTable | None:
    blocks = [a["endpoints"][endpoint] for a in aggregates if "counts" in a["endpoints"].get(endpoint, {})]
    return CountTable.combine([table_from_json(b["counts"]) for b in blocks]) if blocks else None


def _curve_group(table: CountTable, label: str, endpoint: str, group: str | None) -> Any:
    from blinareg.report.analyses import CurveGroup

    part = table if group is None else table.select(group=group)
    times = np.repeat(part.time, part.n)
    censored = np.repeat(part.status == 0, part.n)
    events = int(part.n[part.status == 1].sum())
    result: Any = None
    if endpoint not in COMPETING_ENDPOINTS:
        result = kaplan_meier_from_counts(table, group=group)
    elif events:
        result = cumulative_incidence_from_counts(table, 1, group=group)
    return CurveGroup(label, part.total, events, result, times=times, censored=censored)


def pooled_figures(aggregates: Sequence[dict[str, Any]], results: dict[str, Any]) -> list[Any]:
    """One curve figure per endpoint (by group when split) and one by center."""
    from blinareg.report.analyses import CurveSet
    from blinareg.report.figures import FigureSpec, curve_figure

    figures = []
    for endpoint, pooled in results["endpoints"].items():
        table = _pooled_counts(aggregates, endpoint)
        if table is None:
            continue
        kind = "cif" if endpoint in COMPETING_ENDPOINTS else "km"
        name = ENDPOINT_NAMES.get(endpoint, endpoint)
        prefix = "gray" if kind == "cif" else "logrank"
        splits: list[tuple[str, CountTable, str | None]] = [("centers", centers_as_groups(table), f"{prefix}_centers")]
        # Levels a center released merged are no group: their patients are drawn in the center figure only.
        grouped = groups_only(table, merged_levels([a["endpoints"].get(endpoint, {}) for a in aggregates]))
        if grouped is not None and len(grouped.group_levels) > 1:
            splits.insert(0, ("groups", grouped, f"{prefix}_groups"))
        for split, counts, test_key in splits:
            groups = [_curve_group(counts, level, endpoint, level) for level in counts.group_levels]
            test = pooled["tests"].get(test_key or "")
            curves = CurveSet(
                key=f"{endpoint.lower()}_{split}",
                endpoint=endpoint,
                kind=kind,
                title=f"{name} by {'center' if split == 'centers' else str(results['by']).replace('_', ' ')}",
                groups=tuple(groups),
                test_name=("log-rank" if kind == "km" else "gray") if test else None,
                p_value=None if test is None else test["p_value"],
            )
            caption = f"{curves.title}, pooled from the centers' counts " + (
                "(Kaplan-Meier, 95% log-log confidence band)." if kind == "km" else "(Aalen-Johansen)."
            )
            figures.append(FigureSpec(curves.key, caption, _drawer(curves, curve_figure)))
    return figures


def _drawer(curves: Any, draw: Callable[[Any], Any]) -> Callable[[], Any]:
    """The figure drawn on first use (as the report's figures are)."""
    return lambda: draw(curves)


def _html(results: dict[str, Any], tables: list[Any], figures: list[tuple[Any, dict[str, bytes]]]) -> str:
    parts = [
        "<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>",
        f"<title>{html.escape(TITLE)}</title>",
        "<style>body{font-family:sans-serif;font-size:10pt;max-width:190mm;margin:auto}"
        "table{border-collapse:collapse;margin:6pt 0}th,td{border-bottom:1px solid #999;padding:2pt 6pt;"
        "text-align:left;vertical-align:top}td.level{padding-left:16pt}tr.heading td{font-weight:bold}"
        ".note{font-size:8.5pt;color:#333}.banner{background:#fff3cd;padding:6pt}img{max-width:100%}</style>",
        "</head><body>",
        f"<h1>{html.escape(TITLE)}</h1>",
    ]
    if results.get("synthetic"):
        parts.append("<p class='banner'>Synthetic data: every center's file comes from a synthetic registry.</p>")
    split = html.escape(str(results["by"] or "none"))
    parts.append(
        f"<p>Centers: {html.escape(', '.join(results['centers']))}. Split by: {split}. "
        "Every number below was computed from counts the centers released; no patient-level data left a center.</p>"
    )
    for table in tables:
        parts.append(f"<h2>{html.escape(table.number)}. {html.escape(table.title)}</h2><table><thead><tr>")
        parts.extend(f"<th>{html.escape(c)}</th>" for c in table.columns)
        parts.append("</tr></thead><tbody>")
        for row in table.rows:
            kind = " class='heading'" if row.heading else ""
            first = f"<td{' class=level' if row.level else ''}>{html.escape(row.label)}</td>"
            cells = "".join(f"<td>{html.escape(c)}</td>" for c in row.cells)
            parts.append(f"<tr{kind}>{first}{cells}</tr>")
        parts.append("</tbody></table>")
        parts.extend(f"<p class='note'>{html.escape(note)}</p>" for note in table.notes)
    for number, (spec, files) in enumerate(figures, start=1):
        data = base64.b64encode(files["png"]).decode("ascii")
        parts.append(
            f"<figure><img alt='{html.escape(spec.caption)}' src='data:image/png;base64,{data}'>"
            f"<figcaption>Figure {number}. {html.escape(spec.caption)}</figcaption></figure>"
        )
    parts.append("<h2>What each center disclosed</h2>")
    parts.extend(f"<p class='note'>{html.escape(text)}</p>" for text in dict.fromkeys(results["discloses"]))
    parts.append("</body></html>")
    return "\n".join(parts)


def _docx(results: dict[str, Any], tables: list[Any], figures: list[tuple[Any, dict[str, bytes]]], path: Path) -> None:
    import io

    from docx import Document
    from docx.shared import Mm, Pt

    document = Document()
    style = document.styles["Normal"]
    style.font.name = "Arial"
    style.font.size = Pt(9)
    document.add_heading(TITLE, level=1)
    if results.get("synthetic"):
        document.add_paragraph("Synthetic data: every center's file comes from a synthetic registry.")
    document.add_paragraph(f"Centers: {', '.join(results['centers'])}.")
    for table in tables:
        document.add_heading(f"{table.number}. {table.title}", level=2)
        grid = document.add_table(rows=1, cols=len(table.columns))
        for cell, text in zip(grid.rows[0].cells, table.columns, strict=True):
            cell.text = text
        for row in table.rows:
            cells = grid.add_row().cells
            cells[0].text = ("    " if row.level else "") + row.label
            for cell, text in zip(cells[1:], row.cells, strict=False):
                cell.text = text
        for note in table.notes:
            document.add_paragraph(note)
    for number, (spec, files) in enumerate(figures, start=1):
        document.add_picture(io.BytesIO(files["png"]), width=Mm(160))
        document.add_paragraph(f"Figure {number}. {spec.caption}")
    document.add_heading("What each center disclosed", level=2)
    for text in dict.fromkeys(results["discloses"]):
        document.add_paragraph(text)
    document.save(str(path))


def write_pooled_report(
    aggregates: Sequence[dict[str, Any]], results: dict[str, Any], out_dir: str | Path
) -> list[Path]:
    """report.html, report.pdf, report.docx, results.json and figures/<key>.{png,svg,pdf} in `out_dir`."""
    from blinareg.report.figures import render_figure
    from blinareg.report.render import write_pdf

    out = Path(out_dir)
    (out / "figures").mkdir(parents=True, exist_ok=True)
    tables = pooled_tables(results)
    rendered = [(spec, render_figure(spec.figure)) for spec in pooled_figures(aggregates, results)]
    written = []
    for spec, files in rendered:
        for fmt in ("png", "svg", "pdf"):
            path = out / "figures" / f"{spec.key}.{fmt}"
            path.write_bytes(files[fmt])
            written.append(path)
    page = _html(results, tables, rendered)
    (out / "report.html").write_text(page, encoding="utf-8")
    write_pdf(page, out / "report.pdf")
    _docx(results, tables, rendered, out / "report.docx")
    payload = results | {
        "tables": [{"key": t.key, "number": t.number, "title": t.title} for t in tables],
        "figures": [
            {"key": s.key, "number": f"Figure {i}", "caption": s.caption} for i, (s, _) in enumerate(rendered, 1)
        ],
    }
    (out / "results.json").write_text(json.dumps(payload, indent=1, allow_nan=False) + "\n", encoding="utf-8")
    written.extend(out / name for name in ("report.html", "report.pdf", "report.docx", "results.json"))
    return written
