"""Writing a built report: results.json, self-contained HTML, PDF (WeasyPrint), DOCX, figure files.

The HTML embeds every figure (base64 SVG) and its CSS, and references nothing outside itself, so it
opens offline; the PDF is WeasyPrint's rendering of the same HTML, with the figures as 150-dpi PNGs
(WeasyPrint lays out raster images far faster than SVG). The DOCX holds every table (and the results
paragraph), formatted for pasting into a manuscript.

Speed: each figure is drawn once per format from one Figure (see `figures.render_figure`); the PDF report
needs only the rasters, so SVG and PDF figures are drawn only for the HTML and the figure files.

Reproducible: the same registry and blinareg version give the same bytes in every file (no dates or random
ids: SVG ids from a fixed salt, no PDF creation dates, fixed DOCX zip times and core properties).
"""

from __future__ import annotations

import base64
import io
import json
import re
from collections.abc import Callable, Iterable
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any

from jinja2 import Environment, PackageLoader, select_autoescape

from blinareg import __version__
from blinareg.report.figures import PNG_ZLIB, FigureSpec, fixed_timestamps, render_raster, render_vectors
from blinareg.derive.labels import column_label
from blinareg.report.analyses import lower_first
from blinareg.report.results import NoPatients, to_json
from blinareg.report.tables import Table, label
from blinareg.report.text import methods_paragraphs, patients

if TYPE_CHECKING:
    from blinareg.report import Report

__all__ = ["write_report", "report_steps", "render_html", "render_figures", "write_docx", "SECTION_TITLES"]

SECTION_TITLES = {
    "cohort": "1. Cohort",
    "exposure": "2. Blinatumomab exposure",
    "response": "3. Response",
    "safety": "4. Safety",
    "outcomes": "5. Outcomes",
    "models": "6. Regression models",
    "courses": "7. Patient courses",
}


class _FigureJobs:
    """Every figure drawn once, on demand: the raster (PNG at 300 dpi, the 150-dpi preview for the PDF
    report, and the saved area), then, only when wanted, the vectors (SVG, PDF) of the same area.

    Serial, in this process: on the shared 2-core machines the report runs on, forked figure workers saved
    little and cost a module-level pool (and a copy of the process per worker), so there are none.
    """

    def __init__(
        self, figures: list[FigureSpec], *, vectors: bool = True, progress: Callable[[str], None] | None = None
    ) -> None:
        self.figures = list(figures)
        self.want_vectors = vectors
        self.progress = progress
        self._rasters: list[tuple[dict[str, bytes], tuple[float, ...]]] | None = None
        self._vectors: list[dict[str, bytes]] | None = None

    def rasters(self) -> list[tuple[dict[str, bytes], tuple[float, ...]]]:
        """(png and preview_png, saved area) of every figure."""
        if self._rasters is None:
            self._rasters = []
            for spec in self.figures:
                self._rasters.append(render_raster(spec.figure, preview=True))
                if self.progress is not None:
                    self.progress(f"figure {spec.key}")
        return self._rasters

    def results(self) -> list[dict[str, bytes]]:
        """png, preview_png, svg and pdf of every figure (svg and pdf only when vectors were wanted)."""
        rasters = self.rasters()
        if self._vectors is None:
            if not self.want_vectors:
                self._vectors = [{} for _ in rasters]
            else:
                self._vectors = [
                    render_vectors(spec.figure, bounds) for spec, (_, bounds) in zip(self.figures, rasters)
                ]
        return [{**files, **vectors} for (files, _), vectors in zip(rasters, self._vectors)]


def render_figures(figures: list[FigureSpec]) -> list[dict[str, bytes]]:
    """PNG/SVG/PDF bytes of every figure (and 'preview_png', 150 dpi)."""
    return _FigureJobs(figures).results()


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
    payload = to_json(report.typed)
    payload["text"] = {"paragraph": report.paragraph, "numbers_from": report.paragraph_keys}
    payload["tables"] = [{"key": t.key, "number": t.number, "title": t.title} for t in report.tables]
    payload["figures"] = [
        {"key": f.key, "number": f"Figure {i}", "caption": f.caption} for i, f in enumerate(report.figures, start=1)
    ]
    return json.dumps(payload, indent=1, allow_nan=False, default=_json_default, ensure_ascii=False)


HTML_SVG_BUDGET = 3_000_000  # bytes of embedded SVG above which the HTML embeds PNGs (HTML <= 5 MB)


def _environment() -> Environment:
    return Environment(
        loader=PackageLoader("blinareg.report", "templates"),
        autoescape=select_autoescape(["html", "j2"]),
        trim_blocks=True,
        lstrip_blocks=True,
    )


def _appendix(report: "Report") -> list[str]:
    """The dataset's own conventions and every UNCONFIRMED rule the analysis used, listed once."""
    meta = report.typed.meta
    items = [_without_internal_names(text) for text in meta.conventions]
    items += [_without_internal_names(text) for text in meta.data_completeness]
    items += [f"Unconfirmed rule: {rule}" for rule in meta.unconfirmed_rules]
    return items


# "(AVAL)", "(EVTCODE 1)", "(cr_achieved)": dataset column names in the dataset's own convention sentences;
# a manuscript reader needs the words around them only.
_ADAM_NAMES = "AVAL|STARTDT|EVTCODE|CNSR|PARAMCD|PARAM|ADTF|ADT|EVNTDESC|ORIGIN"
_INTERNAL_NAME = re.compile(rf"\s*\((?:(?:{_ADAM_NAMES})(?:\s+\d+)?|[a-z0-9]+(?:_[a-z0-9]+)+(?:\s*=\s*\w+)?)\)")


def _without_internal_names(text: str) -> str:
    return _INTERNAL_NAME.sub("", text)


def _section_note(report: "Report", name: str) -> str | None:
    block = getattr(report.typed, name, None)
    if name == "courses" and block is not None:
        if block.note:
            return f"No swimmer plot: {block.note}."
        return f"Swimmer plot: {block.selection}. One-patient timelines: blinareg report --patient ID."
    overall = getattr(block, "overall", None)
    if isinstance(overall, NoPatients):
        return f"No results: {overall.note}."
    return None


def _meta_line(report: "Report") -> str:
    meta = report.typed.meta
    by_text = ""
    if meta.by:
        groups = ", ".join(f"{label(g.value)} (n = {g.n})" for g in meta.by_groups)
        by_text = f" Split by {lower_first(column_label(meta.by))}: {groups}."
        if meta.by_missing:
            by_text += (
                f" {patients(meta.by_missing)} with {lower_first(column_label(meta.by))} not recorded "
                f"{'is' if meta.by_missing == 1 else 'are'} in no group."
            )
    accrual = (
        f"; accrual (first blinatumomab) {meta.accrual_first} to {meta.accrual_last}" if meta.accrual_first else ""
    )
    cutoff = meta.data_cutoff or meta.as_of or "the last recorded date"
    source = f"; analysis freeze {meta.freeze.freeze_id} (SHA-256 {meta.freeze.content_sha256})" if meta.freeze else ""
    return (
        f"{patients(meta.n_patients)}{accrual}; data cut-off {cutoff}{source}; "
        f"generated by blinareg {__version__}.{by_text}"
    )


def render_html(report: "Report", rendered: list[dict[str, bytes]] | None, *, image_format: str = "svg") -> str:
    """The self-contained HTML (figures as base64 `image_format`: 'svg' or 'png')."""
    meta = report.typed.meta
    rendered = rendered if rendered is not None else render_figures(report.figures)
    raster_note = None
    if image_format == "svg" and sum(len(files.get("svg", b"")) for files in rendered) > HTML_SVG_BUDGET:
        # Large cohorts: curves with tens of thousands of steps make SVGs of megabytes; the HTML then embeds
        # the 150-dpi PNGs (the SVG files are still written in figures/) and says so.
        image_format = "png"
        raster_note = (
            "Figures are embedded as 150-dpi images to keep this file small; vector versions (SVG, "
            "PDF) are in the figures folder."
        )
    by_section: dict[str, list[dict[str, Any]]] = {}
    for number, (spec, files) in enumerate(zip(report.figures, rendered), start=1):
        section = spec.section
        by_section.setdefault(section, []).append(
            {
                "key": spec.key,
                "caption": spec.caption,
                "number": f"Figure {number}",
                "mime": "image/svg+xml" if image_format == "svg" else "image/png",
                "data": base64.b64encode(
                    files["svg"] if image_format == "svg" else files.get("preview_png") or _downscaled(files["png"])
                ).decode("ascii"),
                "tall": spec.key == "figure_swimmer",
            }
        )
    sections = []
    for name, title in SECTION_TITLES.items():
        if getattr(report.typed, name, None) is None and name not in by_section:
            continue
        sections.append(
            {
                "title": title,
                "note": _section_note(report, name),
                "tables": [t for t in report.tables if t.section == name],
                "figures": by_section.get(name, []),
            }
        )
    template = _environment().get_template("report.html.j2")
    return template.render(
        title=report.config.title,
        meta_line=_meta_line(report),
        page_footer=None
        if meta.freeze is None
        else f"Analysis freeze {meta.freeze.freeze_id}, SHA-256 {meta.freeze.content_sha256}",
        synthetic=meta.synthetic,
        synthetic_banner=synthetic_banner(meta),
        empty_note=meta.note if raster_note is None else " ".join(x for x in (meta.note, raster_note) if x),
        paragraph=report.paragraph if report.config.enabled("text") else None,
        methods=methods_paragraphs(report.typed),
        appendix=_appendix(report),
        sections=sections,
    )


def write_docx(report: "Report", path: Path, rendered: list[dict[str, bytes]] | None = None) -> None:
    """A manuscript-ready Word document, portrait A4: title, results paragraph, methods in words, every
    table with its numbered title and footnotes, every figure with its numbered caption, and an appendix
    listing the dataset's conventions and the unconfirmed rules once."""
    from docx import Document
    from docx.enum.section import WD_ORIENT
    from docx.oxml import OxmlElement
    from docx.oxml.ns import qn
    from docx.shared import Mm, Pt

    document = Document()
    section = document.sections[0]
    section.orientation = WD_ORIENT.PORTRAIT
    section.page_width, section.page_height = Mm(210), Mm(297)
    for side in ("left_margin", "right_margin", "top_margin", "bottom_margin"):
        setattr(section, side, Mm(20))
    style = document.styles["Normal"]
    style.font.name = "Arial"
    style.font.size = Pt(9)
    document.add_heading(report.config.title, level=1)
    document.add_paragraph(_meta_line(report))
    if report.typed.meta.synthetic:
        document.add_paragraph(synthetic_banner(report.typed.meta))
    if report.paragraph and report.config.enabled("text"):
        document.add_heading("Results", level=2)
        document.add_paragraph(report.paragraph)
    document.add_heading("Methods", level=2)
    for text in methods_paragraphs(report.typed):
        document.add_paragraph(text)

    def set_border(cell: Any, edge: str, size: int) -> None:
        properties = cell._tc.get_or_add_tcPr()
        borders = properties.find(qn("w:tcBorders"))
        if borders is None:
            borders = OxmlElement("w:tcBorders")
            properties.append(borders)
        element = OxmlElement(f"w:{edge}")
        element.set(qn("w:val"), "single")
        element.set(qn("w:sz"), str(size))
        borders.append(element)

    def repeat_header(row: Any) -> None:
        # A long table split over pages repeats its header row on each page.
        properties = row._tr.get_or_add_trPr()
        element = OxmlElement("w:tblHeader")
        element.set(qn("w:val"), "true")
        properties.append(element)

    document.add_heading("Tables", level=2)
    for table in report.tables:
        heading = document.add_paragraph()
        run = heading.add_run(f"{table.number}. ")
        run.bold = True
        heading.add_run(table.title)
        n_rows = len(table.rows) + 1
        grid = document.add_table(rows=n_rows, cols=len(table.columns))
        cells = grid._cells
        width = len(table.columns)
        repeat_header(grid.rows[0])
        for j, column in enumerate(table.columns):
            cell = cells[j]
            cell.text = column
            for run in cell.paragraphs[0].runs:
                run.font.bold = True
                run.font.size = Pt(8)
            set_border(cell, "top", 12)
            set_border(cell, "bottom", 8)
        for i, row in enumerate(table.rows, start=1):
            values = ((" " * 4 * row.level) + row.label, *row.cells)
            for j, value in enumerate(values[:width]):
                cell = cells[i * width + j]
                cell.text = value
                for run in cell.paragraphs[0].runs:
                    run.font.size = Pt(8)
                    if row.heading and j == 0:
                        run.font.bold = True
                if i == n_rows - 1:
                    set_border(cell, "bottom", 12)
        for note in table.notes:
            paragraph = document.add_paragraph(note)
            for run in paragraph.runs:
                run.font.size = Pt(7.5)
    if rendered:
        document.add_heading("Figures", level=2)
        for number, (spec, files) in enumerate(zip(report.figures, rendered), start=1):
            image = files.get("preview_png") or files["png"]
            height = _png_size_mm(image)[1] * (170 / max(_png_size_mm(image)[0], 1))
            if height > 230:
                document.add_picture(io.BytesIO(image), height=Mm(230))
            else:
                document.add_picture(io.BytesIO(image), width=Mm(170))
            caption = document.add_paragraph()
            run = caption.add_run(f"Figure {number}. ")
            run.bold = True
            caption.add_run(spec.caption)
    appendix = _appendix(report)
    if appendix:
        document.add_heading("Appendix: conventions and unconfirmed rules", level=2)
        for item in appendix:
            document.add_paragraph(item, style="List Bullet")
    properties = document.core_properties
    properties.title = report.config.title
    # The template's own dates and author would make every DOCX differ: fixed, like the zip entries.
    properties.author = properties.last_modified_by = f"blinareg {__version__}"
    properties.created = properties.modified = _FIXED_TIME
    properties.revision = 1
    buffer = io.BytesIO()
    document.save(buffer)
    path.write_bytes(_fixed_zip_times(buffer.getvalue()))


_FIXED_TIME = datetime(2000, 1, 1, tzinfo=timezone.utc)


def _fixed_zip_times(data: bytes) -> bytes:
    """The same zip with every entry dated 1980-01-01 (the zip epoch), in the same order: reproducible bytes."""
    import zipfile

    source = zipfile.ZipFile(io.BytesIO(data))
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as target:
        for item in source.infolist():
            entry = zipfile.ZipInfo(item.filename, date_time=(1980, 1, 1, 0, 0, 0))
            entry.compress_type = zipfile.ZIP_DEFLATED
            entry.external_attr = 0o600 << 16
            target.writestr(entry, source.read(item.filename))
    return buffer.getvalue()


def _png_size_mm(png: bytes) -> tuple[float, float]:
    from PIL import Image

    with Image.open(io.BytesIO(png)) as image:
        dpi = image.info.get("dpi", (150, 150))[0] or 150
        return image.width / dpi * 25.4, image.height / dpi * 25.4


def write_pdf(html: str, path: Path) -> None:
    from weasyprint import HTML

    with fixed_timestamps():
        path.write_bytes(HTML(string=html, base_url=None).write_pdf())


def write_report(
    report: "Report",
    out_dir: str | Path,
    formats: Iterable[str] | None = None,
    *,
    progress: Callable[[str], None] | None = None,
) -> list[Path]:
    """Write the report's files into `out_dir`; returns the paths written.

    formats: any of html, pdf, docx, json, figures (default: the config's formats, all by default).
    Files: report.html, report.pdf, report.docx, results.json, figures/<key>.{png,svg,pdf}.
    progress: called with a short description after each step (each figure, each file), e.g. to drive
    the CLI's progress bar; `report_steps(report, formats)` says how many calls to expect.

    Every figure is drawn once and saved in every format from that drawing.
    """
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    wanted = set(formats) if formats is not None else set(report.config.formats)
    step = progress or (lambda _text: None)
    written: dict[str, list[Path]] = {}
    jobs = None
    if wanted & {"html", "pdf", "figures", "docx"} and report.figures:
        jobs = _FigureJobs(report.figures, vectors=bool(wanted & {"html", "figures"}), progress=step)
    if "json" in wanted:
        path = out / "results.json"
        path.write_text(results_json(report), encoding="utf-8")
        written["json"] = [path]
        step("results.json")
    if "docx" in wanted:
        path = out / "report.docx"
        write_docx(report, path, [files for files, _ in jobs.rasters()] if jobs is not None else None)
        written["docx"] = [path]
        step("report.docx")
    if "pdf" in wanted:
        previews = [files for files, _ in jobs.rasters()] if jobs is not None else []
        path = out / "report.pdf"
        write_pdf(render_html(report, previews, image_format="png"), path)
        written["pdf"] = [path]
        step("report.pdf")
    rendered = jobs.results() if jobs is not None and wanted & {"html", "figures"} else []
    if "figures" in wanted:
        folder = out / "figures"
        folder.mkdir(exist_ok=True)
        written["figures"] = []
        for spec, files in zip(report.figures, rendered):
            for fmt in ("png", "svg", "pdf"):
                path = folder / f"{spec.key}.{fmt}"
                path.write_bytes(files[fmt])
                written["figures"].append(path)
        step("figures/")
    if "html" in wanted:
        path = out / "report.html"
        path.write_text(render_html(report, rendered), encoding="utf-8")
        written["html"] = [path]
        step("report.html")
    return [path for fmt in ("figures", "json", "html", "pdf", "docx") for path in written.get(fmt, [])]


def report_steps(report: "Report", formats: Iterable[str] | None = None) -> int:
    """How many times `write_report` calls its progress callback for these formats."""
    wanted = set(formats) if formats is not None else set(report.config.formats)
    figures = len(report.figures) if wanted & {"html", "pdf", "figures", "docx"} else 0
    return figures + len(wanted & {"json", "docx", "pdf", "figures", "html"})


def synthetic_banner(meta) -> str | None:
    """The synthetic-data banner for the actual mix: all, some or none of the patients synthetic."""
    if not meta.synthetic:
        return None
    count = meta.synthetic_patients
    if count is None or count >= meta.n_patients:
        return "Synthetic data: this report was produced from a synthetic registry (generated data, no real patients)."
    return (
        f"Mixed data: {count} of the {meta.n_patients} patients are synthetic (generated, not real patients); "
        "the results mix synthetic and real patients."
    )
