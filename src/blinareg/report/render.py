"""Writing a built report: results.json, self-contained HTML, PDF (WeasyPrint), DOCX, figure files.

The HTML embeds every figure (base64 SVG) and its CSS, and references nothing outside itself, so it
opens offline; the PDF is WeasyPrint's rendering of the same HTML, with the figures as 150-dpi PNGs
(WeasyPrint lays out raster images far faster than SVG). The DOCX holds every table (and the results
paragraph), formatted for pasting into a manuscript.

Speed: each figure is drawn once per format from one Figure (see `figures.render_figure`), in forked
worker processes when there are several CPUs; this process writes results.json and the DOCX while they
draw, and renders the PDF as soon as the rasters are in, while the workers write SVG and PDF.
"""

from __future__ import annotations

import base64
import io
import json
import multiprocessing
import os
from collections.abc import Iterable
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any

from jinja2 import Environment, PackageLoader, select_autoescape

from blinareg import __version__
from blinareg.report.figures import PNG_ZLIB, FigureSpec, render_raster, render_vectors
from blinareg.report.tables import Table

if TYPE_CHECKING:
    from blinareg.report import Report

__all__ = ["write_report", "render_html", "render_figures", "write_docx", "SECTION_TITLES"]

SECTION_TITLES = {
    "cohort": "1. Cohort",
    "exposure": "2. Blinatumomab exposure",
    "response": "3. Response",
    "safety": "4. Safety",
    "outcomes": "5. Outcomes",
    "models": "6. Regression models",
    "courses": "7. Patient courses",
}

# Figures rendered in worker processes (fork) read their specs from here.
_PENDING: list[FigureSpec] = []


def _raster_task(index: int) -> tuple[dict[str, bytes], tuple[float, ...]]:
    return render_raster(_PENDING[index].figure, preview=True)


def _vector_task(index: int, bounds: tuple[float, ...]) -> dict[str, bytes]:
    return render_vectors(_PENDING[index].figure, bounds)


def _cpu_count() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):  # pragma: no cover - not Linux
        return os.cpu_count() or 1


class _FigureJobs:
    """Every figure drawn once, in forked worker processes where there is more than one CPU.

    Each figure is drawn in two steps: the raster (PNG at 300 dpi, the 150-dpi preview for the PDF report
    and the saved area), then the vectors (SVG, PDF) of the same area. Every raster is queued before any
    vector, so the PDF report (which needs only the previews) can be rendered in this process while the
    workers still write SVG and PDF. Without workers the same steps run here, on demand.
    """

    def __init__(self, figures: list[FigureSpec], *, vectors: bool = True, processes: int | None = None) -> None:
        global _PENDING
        self.figures = list(figures)
        self.want_vectors = vectors
        self._rasters: list[Any] | None = None
        self._vectors: list[Any] | None = None
        self._pending_rasters: dict[int, Any] = {}
        self._pending_vectors: list[Any] = []
        self.pool = None
        workers = min(processes or _cpu_count(), len(self.figures))
        if workers > 1 and "fork" in multiprocessing.get_all_start_methods():
            _PENDING = self.figures
            self.pool = multiprocessing.get_context("fork").Pool(workers)
            # The tall swimmer plot takes longest: queued first, so that no worker waits for it at the end.
            order = sorted(range(len(self.figures)), key=lambda i: self.figures[i].key != "figure_swimmer")
            self._pending_rasters = {i: self.pool.apply_async(_raster_task, (i,)) for i in order}

    def rasters(self) -> list[tuple[dict[str, bytes], tuple[float, ...]]]:
        """(png and preview_png, saved area) of every figure."""
        if self._rasters is None:
            rasters, vectors = {}, {}
            if self.pool is None:
                rasters = {i: render_raster(spec.figure, preview=True) for i, spec in enumerate(self.figures)}
            for i, job in self._pending_rasters.items():
                rasters[i] = job.get()
                if self.want_vectors:  # queued behind the remaining rasters
                    vectors[i] = self.pool.apply_async(_vector_task, (i, rasters[i][1]))
            self._rasters = [rasters[i] for i in range(len(self.figures))]
            self._pending_vectors = [vectors[i] for i in range(len(self.figures))] if vectors else []
        return self._rasters

    def results(self) -> list[dict[str, bytes]]:
        """png, preview_png, svg and pdf of every figure (svg and pdf only when vectors were wanted)."""
        rasters = self.rasters()
        if self._vectors is None:
            if not self.want_vectors:
                self._vectors = [{} for _ in rasters]
            elif self.pool is None:
                self._vectors = [render_vectors(spec.figure, bounds)
                                 for spec, (_, bounds) in zip(self.figures, rasters)]
            else:
                self._vectors = [job.get() for job in self._pending_vectors]
        return [{**files, **vectors} for (files, _), vectors in zip(rasters, self._vectors)]

    def close(self) -> None:
        global _PENDING
        if self.pool is not None:
            self.pool.terminate()
            self.pool.join()
            self.pool = None
        _PENDING = []

    def __enter__(self) -> "_FigureJobs":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()


def render_figures(figures: list[FigureSpec], processes: int | None = None) -> list[dict[str, bytes]]:
    """PNG/SVG/PDF bytes of every figure (and 'preview_png', 150 dpi); in parallel (forked workers) where
    the platform allows."""
    with _FigureJobs(figures, processes=processes) as jobs:
        return jobs.results()


def _downscaled(png: bytes, factor: int = 2) -> bytes:
    """The 300-dpi PNG at 150 dpi (2 x 2 pixel mean): plenty for a printed A4 page, and fast for WeasyPrint."""
    from PIL import Image

    with Image.open(io.BytesIO(png)) as image:
        small = image.reduce(factor)
        buffer = io.BytesIO()
        small.save(buffer, format="PNG", dpi=(150, 150), **PNG_ZLIB)
    return buffer.getvalue()


def _json_default(value: Any) -> Any:
    if hasattr(value, "item"):
        return value.item()
    if hasattr(value, "isoformat"):
        return value.isoformat()
    raise TypeError(f"results.json: cannot serialise {type(value).__name__}")


def results_json(report: "Report") -> str:
    payload = dict(report.results)
    payload["text"] = {"paragraph": report.paragraph, "numbers_from": report.paragraph_keys}
    payload["tables"] = [{"key": t.key, "title": t.title} for t in report.tables]
    payload["figures"] = [{"key": f.key, "caption": f.caption} for f in report.figures]
    return json.dumps(payload, indent=1, allow_nan=False, default=_json_default, ensure_ascii=False)


def _environment() -> Environment:
    return Environment(loader=PackageLoader("blinareg.report", "templates"),
                       autoescape=select_autoescape(["html", "j2"]), trim_blocks=True, lstrip_blocks=True)


def _conventions(report: "Report") -> list[str]:
    meta = report.results["meta"]
    items = [
        f"Time origin: {meta['origin'].replace('_', ' ')}. Time is reported in months of 30.4375 days "
        "(365.25 / 12).",
        meta["non_responder_definition"],
        "Kaplan-Meier estimates with log-log pointwise 95% confidence intervals; median follow-up by the reverse "
        "Kaplan-Meier method; cumulative incidence of relapse and non-relapse mortality by the Aalen-Johansen "
        "estimator with the other as competing event; groups compared with the log-rank test (survival) or "
        "Gray's test (cumulative incidence).",
        "Proportions with exact (Clopper-Pearson) 95% confidence intervals. MRD negative: < 0.01% (1e-4); "
        "flow cytometry and PCR are reported separately.",
        f"High tumour load: baseline MRD >= {100 * meta['high_tumour_load_mrd_fraction']:g}% (report option).",
        "All numbers are computed by blinareg.stats and listed in results.json; "
        "a value that cannot be estimated is stated as such.",
    ]
    items += meta.get("conventions", [])
    items += [f"UNCONFIRMED rule used: {rule}" for rule in meta.get("unconfirmed_rules", [])]
    return items


def render_html(report: "Report", rendered: list[dict[str, bytes]] | None, *, image_format: str = "svg") -> str:
    """The self-contained HTML (figures as base64 `image_format`: 'svg' or 'png')."""
    meta = report.results["meta"]
    rendered = rendered if rendered is not None else render_figures(report.figures)
    by_section: dict[str, list[dict[str, Any]]] = {}
    for number, (spec, files) in enumerate(zip(report.figures, rendered), start=1):
        section = "courses" if spec.key == "figure_swimmer" else "outcomes"
        by_section.setdefault(section, []).append({
            "key": spec.key, "caption": spec.caption, "number": f"Figure {number}",
            "mime": "image/svg+xml" if image_format == "svg" else "image/png",
            "data": base64.b64encode(files["svg"] if image_format == "svg" else
                                     files.get("preview_png") or _downscaled(files["png"])).decode("ascii"),
            "tall": spec.key == "figure_swimmer",
        })
    sections = []
    for name, title in SECTION_TITLES.items():
        if name not in report.results and name not in by_section:
            continue
        note = None
        block = report.results.get(name)
        if isinstance(block, dict) and isinstance(block.get("overall"), dict) and block["overall"].get("note"):
            note = f"No results: {block['overall']['note']}."
        if name == "courses" and isinstance(block, dict):
            note = (f"Swimmer plot: {block.get('selection')}. One-patient timelines: blinareg report --patient ID."
                    if not block.get("note") else f"No swimmer plot: {block['note']}.")
        sections.append({"title": title, "note": note,
                         "tables": [t for t in report.tables if t.section == name],
                         "figures": by_section.get(name, [])})
    by_text = ""
    if meta.get("by"):
        groups = ", ".join(f"{g['label']} (n = {g['n']})" for g in meta["by_groups"])
        by_text = f" Split by {meta['by']}: {groups}."
        if meta.get("by_missing"):
            by_text += f" {meta['by_missing']} patient(s) with {meta['by']} missing are in no group."
    meta_line = (f"{meta['n_patients']} patients; origin: {meta['origin'].replace('_', ' ')}; data as of "
                 f"{meta.get('as_of') or 'the last recorded date'}; generated by blinareg {__version__} on "
                 f"{datetime.now(timezone.utc):%Y-%m-%d}.{by_text}")
    template = _environment().get_template("report.html.j2")
    return template.render(
        title=report.config.title, meta_line=meta_line, synthetic=meta.get("synthetic"),
        empty_note=meta.get("note"), paragraph=report.paragraph if report.config.enabled("text") else None,
        conventions=_conventions(report), sections=sections,
    )


def write_docx(report: "Report", path: Path) -> None:
    """Every table (and the results paragraph) as a Word document."""
    from docx import Document
    from docx.enum.section import WD_ORIENT
    from docx.oxml import OxmlElement
    from docx.oxml.ns import qn
    from docx.shared import Mm, Pt

    document = Document()
    section = document.sections[0]
    section.orientation = WD_ORIENT.LANDSCAPE
    section.page_width, section.page_height = Mm(297), Mm(210)
    for side in ("left_margin", "right_margin", "top_margin", "bottom_margin"):
        setattr(section, side, Mm(15))
    style = document.styles["Normal"]
    style.font.name = "Arial"
    style.font.size = Pt(9)
    document.add_heading(report.config.title, level=1)
    if report.results["meta"].get("synthetic"):
        document.add_paragraph("Synthetic data: generated registry, no real patients.")
    if report.paragraph and report.config.enabled("text"):
        document.add_heading("Results", level=2)
        document.add_paragraph(report.paragraph)

    def set_border(cell, edge: str, size: int) -> None:
        properties = cell._tc.get_or_add_tcPr()
        borders = properties.find(qn("w:tcBorders"))
        if borders is None:
            borders = OxmlElement("w:tcBorders")
            properties.append(borders)
        element = OxmlElement(f"w:{edge}")
        element.set(qn("w:val"), "single")
        element.set(qn("w:sz"), str(size))
        borders.append(element)

    for table in report.tables:
        document.add_heading(table.title, level=3)
        n_rows = len(table.rows) + 1
        grid = document.add_table(rows=n_rows, cols=len(table.columns))
        cells = grid._cells
        width = len(table.columns)
        for j, column in enumerate(table.columns):
            cell = cells[j]
            cell.text = column
            for run in cell.paragraphs[0].runs:
                run.font.bold = True
            set_border(cell, "top", 12)
            set_border(cell, "bottom", 8)
        for i, row in enumerate(table.rows, start=1):
            values = ((" " * 4 * row.level) + row.label, *row.cells)
            for j, value in enumerate(values[:width]):
                cell = cells[i * width + j]
                cell.text = value
                if row.heading and j == 0:
                    for run in cell.paragraphs[0].runs:
                        run.font.bold = True
                if i == n_rows - 1:
                    set_border(cell, "bottom", 12)
        for note in table.notes:
            paragraph = document.add_paragraph(note)
            for run in paragraph.runs:
                run.font.size = Pt(8)
    document.core_properties.title = report.config.title
    document.save(str(path))


def write_pdf(html: str, path: Path) -> None:
    from weasyprint import HTML

    HTML(string=html, base_url=None).write_pdf(str(path))


def write_report(report: "Report", out_dir: str | Path, formats: Iterable[str] | None = None) -> list[Path]:
    """Write the report's files into `out_dir`; returns the paths written.

    formats: any of html, pdf, docx, json, figures (default: the config's formats, all by default).
    Files: report.html, report.pdf, report.docx, results.json, figures/<key>.{png,svg,pdf}.

    Every figure is drawn once (in worker processes where there are several CPUs) and saved in every
    format from that drawing; results.json and the DOCX are written, and the PDF rendered, while the
    workers draw.
    """
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    wanted = set(formats) if formats is not None else set(report.config.formats)
    written: dict[str, list[Path]] = {}
    jobs = None
    if wanted & {"html", "pdf", "figures"} and report.figures:
        jobs = _FigureJobs(report.figures, vectors=bool(wanted & {"html", "figures"}))
    try:
        if "json" in wanted:
            path = out / "results.json"
            path.write_text(results_json(report), encoding="utf-8")
            written["json"] = [path]
        if "docx" in wanted:
            path = out / "report.docx"
            write_docx(report, path)
            written["docx"] = [path]
        if "pdf" in wanted:
            import weasyprint  # noqa: F401 (imported while the workers draw)

            previews = [files for files, _ in jobs.rasters()] if jobs is not None else []
            path = out / "report.pdf"
            write_pdf(render_html(report, previews, image_format="png"), path)
            written["pdf"] = [path]
        rendered = jobs.results() if jobs is not None and wanted & {"html", "figures"} else []
    finally:
        if jobs is not None:
            jobs.close()
    if "figures" in wanted:
        folder = out / "figures"
        folder.mkdir(exist_ok=True)
        written["figures"] = []
        for spec, files in zip(report.figures, rendered):
            for fmt in ("png", "svg", "pdf"):
                path = folder / f"{spec.key}.{fmt}"
                path.write_bytes(files[fmt])
                written["figures"].append(path)
    if "html" in wanted:
        path = out / "report.html"
        path.write_text(render_html(report, rendered), encoding="utf-8")
        written["html"] = [path]
    return [path for fmt in ("figures", "json", "html", "pdf", "docx") for path in written.get(fmt, [])]
