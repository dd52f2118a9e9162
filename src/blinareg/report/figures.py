"""Figures (matplotlib, Agg): survival and cumulative-incidence curves, swimmer plot, one-patient timeline.

Curves are drawn from the `blinareg.stats` result objects: step functions with shaded pointwise 95% CIs,
'+' censor marks, a number-at-risk table under the x axis whose columns sit on the x ticks, the test and
its P value in the legend title, and the Okabe-Ito colour-blind-safe palette. Every figure is rendered to
PNG (300 dpi), SVG and PDF by `render_figure`.
"""

from __future__ import annotations

import contextlib
import io
import math
import os
import zlib
from collections.abc import Callable, Iterator
from typing import Any

# No backend is selected and pyplot is never imported: every figure is a `matplotlib.figure.Figure` drawn
# by an explicit Agg canvas (or savefig's own canvas for SVG/PDF), so importing this module changes nothing.
import matplotlib
import matplotlib.dates as mdates
import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch
from matplotlib.ticker import FixedLocator, FuncFormatter, PercentFormatter

from blinareg.derive.labels import ENDPOINT_NAMES
from blinareg.report.analyses import Analysis, CurveSet
from blinareg.report.config import DAYS_PER_MONTH, SECTIONS
from blinareg.report.tables import fmt_p, label

__all__ = [
    "FigureSpec",
    "OKABE_ITO",
    "build_figures",
    "curve_figure",
    "swimmer_figure",
    "patient_timeline_figure",
    "render_figure",
    "render_raster",
    "render_vectors",
]

# Okabe & Ito (2008) colour-blind-safe palette (black last: used for overall curves only when alone).
OKABE_ITO = ("#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#F0E442", "#000000")
# DejaVu Sans ships inside matplotlib (matplotlib/mpl-data/fonts/ttf), so every machine draws the figures
# with the same font and the same text widths, whatever fonts the system has. No fallback list: a missing
# glyph is drawn as matplotlib's own replacement, never in another system font with other metrics.
FIGURE_FONT = "DejaVu Sans"
FONT = {
    "font.family": "sans-serif",
    "font.sans-serif": [FIGURE_FONT],
    "font.size": 9,
    "axes.titlesize": 10,
    "axes.labelsize": 9,
    "xtick.labelsize": 8,
    "ytick.labelsize": 8,
    "legend.fontsize": 8,
    "svg.fonttype": "none",
    "pdf.fonttype": 42,
    "svg.hashsalt": "blinareg",
    "axes.spines.top": False,
    "axes.spines.right": False,
}


class FigureSpec:
    """A figure of the report: its key (file name), caption, and the matplotlib Figure, drawn on first use."""

    def __init__(
        self, key: str, caption: str, figure: Figure | Callable[[], Figure], section: str = "outcomes"
    ) -> None:
        self.key = key
        self.caption = caption
        self.section = section
        self._figure = figure

    @property
    def figure(self) -> Figure:
        if not isinstance(self._figure, Figure):
            self._figure = self._figure()
        return self._figure

    def __repr__(self) -> str:
        return f"FigureSpec({self.key!r})"


PNG_DPI = 300
PREVIEW_DPI = 150  # the figures embedded in the PDF report (A4 print): the 300-dpi raster halved
PAD_INCHES = 0.05
# zlib run-length strategy for the figure PNGs (flat colours, antialiased edges): a third faster than
# the default (level 6) and within 15% of its size; smaller than the fast levels 1-3.
PNG_ZLIB = {"compress_level": 6, "compress_type": zlib.Z_RLE}
_PNG_SOFTWARE = f"Matplotlib version{matplotlib.__version__}, https://matplotlib.org/"


def render_figure(figure: Figure, *, preview: bool = False) -> dict[str, bytes]:
    """The figure as PNG (300 dpi), SVG and PDF bytes, cropped to the drawn content plus a 0.05-inch margin.

    The figure is laid out and drawn once by Agg at 300 dpi; the tight bounding box is taken from that
    draw and reused for the SVG and the PDF (no extra layout pass per format). With `preview`, also
    'preview_png': the same raster at 150 dpi (2 x 2 pixel mean), for embedding in the PDF report.
    """
    out, bounds = render_raster(figure, preview=preview)
    out.update(render_vectors(figure, bounds))
    return out


def render_raster(figure: Figure, *, preview: bool = False) -> tuple[dict[str, bytes], tuple[float, ...]]:
    """PNG (300 dpi; with `preview` also 'preview_png' at 150 dpi) and the bounds (x0, y0, width, height,
    inches) of the saved area, for `render_vectors`."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.colors import to_rgba

    out: dict[str, bytes] = {}
    with matplotlib.rc_context(FONT):
        canvas = FigureCanvasAgg(figure)
        original_dpi = figure.dpi
        try:
            figure.set_dpi(PNG_DPI)
            canvas.draw()
            content = figure.get_tightbbox(canvas.get_renderer())
            bbox = content.padded(PAD_INCHES)
            width, height = figure.get_size_inches()
            slack = 0.25 / PNG_DPI  # a quarter pixel: rounding in the layout (e.g. x0 = -2e-16)
            image = None
            if (
                content.x0 >= -slack
                and content.y0 >= -slack
                and content.x1 <= width + slack
                and content.y1 <= height + slack
            ):
                # All drawn content lies on the canvas, so the crop is what savefig(bbox_inches=bbox) would draw.
                opaque = figure.patch.get_visible() and to_rgba(figure.get_facecolor())[3] == 1.0
                image = _cropped(np.asarray(canvas.buffer_rgba()), bbox, PNG_DPI, figure.get_facecolor(), opaque)
        finally:
            figure.set_dpi(original_dpi)
        if image is None:  # content beyond the canvas: matplotlib draws the padded box
            buffer = io.BytesIO()
            figure.savefig(buffer, format="png", dpi=PNG_DPI, bbox_inches=bbox, pil_kwargs={"compress_level": 1})
            image = _opaque(_pil().open(buffer))
    out["png"] = _png(image, PNG_DPI)
    if preview:
        out["preview_png"] = _png(image.reduce(PNG_DPI // PREVIEW_DPI), PREVIEW_DPI)
    return out, tuple(float(v) for v in bbox.bounds)


@contextlib.contextmanager
def fixed_timestamps() -> Iterator[None]:
    """While writing: SOURCE_DATE_EPOCH = 0, so that embedded font subsets (fontTools stamps the 'head'
    table with the time it writes) and PDF dates do not change the bytes. Restored afterwards."""
    previous = os.environ.get("SOURCE_DATE_EPOCH")
    os.environ["SOURCE_DATE_EPOCH"] = "0"
    try:
        yield
    finally:
        if previous is None:
            os.environ.pop("SOURCE_DATE_EPOCH", None)
        else:
            os.environ["SOURCE_DATE_EPOCH"] = previous


def render_vectors(figure: Figure, bounds: tuple[float, ...]) -> dict[str, bytes]:
    """SVG and PDF of the area `bounds` (x0, y0, width, height in inches, from `render_raster`)."""
    from matplotlib.transforms import Bbox

    bbox = Bbox.from_bounds(*bounds)
    out: dict[str, bytes] = {}
    with matplotlib.rc_context(FONT), fixed_timestamps(), shared_font_subsets():
        for fmt in ("svg", "pdf"):
            buffer = io.BytesIO()
            # No creation date and a fixed SVG id salt: the same figure gives the same bytes on every run.
            metadata = {"Date": None} if fmt == "svg" else {"CreationDate": None}
            figure.savefig(buffer, format=fmt, bbox_inches=bbox, metadata=metadata)
            out[fmt] = buffer.getvalue()
    return out


# The PDF figures embed DejaVu Sans as TrueType (Type 42) subsets. matplotlib subsets the font anew for each
# PDF, and fontTools parses the whole font each time (about a third of a second per font and figure: most of
# a report's PDF time). Instead, each font is subset once per process to a fixed character set (printable
# Latin-1 and the symbols the report's labels use), and that subset is embedded in every PDF whose glyphs it
# holds: a few kB more per file, the same bytes on every run. Other glyphs take matplotlib's own path.
PDF_FONT_CHARACTERS = (
    "".join(chr(code) for code in range(0x20, 0x7F))
    + "".join(chr(code) for code in range(0xA0, 0x100))
    + "\u2013\u2014\u2018\u2019\u201c\u201d\u2022\u2026\u2212\u2264\u2265\u03c7\u2192"
)
_FONT_SUBSETS: dict[tuple[str, int], tuple[bytes, dict[int, int], frozenset[int]]] = {}


@contextlib.contextmanager
def shared_font_subsets() -> Iterator[None]:
    """While saving PDFs: matplotlib's font subsetting served from the per-font subsets of
    PDF_FONT_CHARACTERS where they hold the glyphs asked for. Needs matplotlib's subset API of 3.10 and
    later (`SubsetResults`); with another version, matplotlib subsets as usual."""
    from matplotlib.backends import _backend_pdf_ps

    original = _backend_pdf_ps.get_glyphs_subset
    if not hasattr(_backend_pdf_ps, "SubsetResults"):
        yield
        return

    def get_glyphs_subset(fontfile: Any, glyphs: Any) -> Any:
        from fontTools.ttLib import TTFont
        from matplotlib.font_manager import get_font

        key = (str(fontfile), int(getattr(fontfile, "face_index", 0)))
        entry = _FONT_SUBSETS.get(key)
        if entry is None:
            face = get_font(fontfile)
            covered = {face.get_char_index(ord(c)) for c in PDF_FONT_CHARACTERS} - {0}
            with original(fontfile, covered) as subset:
                data = _backend_pdf_ps.font_as_file(subset.font).getvalue()
                entry = (data, dict(subset.glyph_index_map), frozenset(covered))
            _FONT_SUBSETS[key] = entry
        data, glyph_index_map, covered_glyphs = entry
        if not set(glyphs) <= covered_glyphs:
            return original(fontfile, glyphs)
        return _backend_pdf_ps.SubsetResults(TTFont(io.BytesIO(data)), glyph_index_map)._as_cm()

    _backend_pdf_ps.get_glyphs_subset = get_glyphs_subset
    try:
        yield
    finally:
        _backend_pdf_ps.get_glyphs_subset = original


def _pil():
    """Pillow's Image module (imported on first use)."""
    from PIL import Image

    return Image


def _opaque(image):
    """RGB when every pixel is opaque (the figures have a white background): smaller, faster PNGs."""
    image.load()
    if image.mode == "RGBA" and image.getchannel("A").getextrema() == (255, 255):
        return image.convert("RGB")
    return image


def _cropped(rgba: Any, bbox: Any, dpi: float, facecolor: Any, opaque: bool = False):
    """The part of the canvas raster (RGBA, rows from the top) inside `bbox` (inches, origin bottom left), as
    a Pillow image (RGB when opaque); where the box extends past the canvas, the figure's face colour.
    `opaque`: every pixel is known to be opaque (an opaque figure background): the alpha is dropped unread."""
    from matplotlib.colors import to_rgba

    rows, columns = rgba.shape[:2]
    image = _pil().frombuffer("RGBA", (columns, rows), rgba, "raw", "RGBA", 0, 1)
    x0, x1 = round(bbox.x0 * dpi), round(bbox.x1 * dpi)
    top, bottom = rows - round(bbox.y1 * dpi), rows - round(bbox.y0 * dpi)
    if x0 >= 0 and top >= 0 and x1 <= columns and bottom <= rows:
        image = image.crop((x0, top, x1, bottom))
    else:
        background = tuple(int(round(255 * c)) for c in to_rgba(facecolor))
        canvas = _pil().new("RGBA", (x1 - x0, bottom - top), background)
        canvas.paste(
            image.crop((max(x0, 0), max(top, 0), min(x1, columns), min(bottom, rows))),
            (max(x0, 0) - x0, max(top, 0) - top),
        )
        image = canvas
    return image.convert("RGB") if opaque else _opaque(image)


def _png(image: Any, dpi: int) -> bytes:
    from PIL.PngImagePlugin import PngInfo

    info = PngInfo()
    info.add_text("Software", _PNG_SOFTWARE)
    buffer = io.BytesIO()
    image.save(buffer, format="PNG", dpi=(dpi, dpi), pnginfo=info, **PNG_ZLIB)
    return buffer.getvalue()


def _tick_step(max_months: float) -> float:
    for step in (3, 6, 12, 24, 36, 60):
        if max_months / step <= 8:
            return float(step)
    return 120.0


def _ticks(max_months: float) -> np.ndarray:
    step = _tick_step(max(max_months, 1.0))
    last = step * math.ceil(max(max_months, step) / step)
    return np.arange(0.0, last + step / 2, step)


def _steps(result: Any, estimate: np.ndarray, start: float) -> tuple[np.ndarray, ...]:
    """Months, estimate and CI from time 0 (value `start`); where the CI is undefined (log-log at S = 1
    before the first event or S = 0 after the last) it collapses to the estimate."""
    t = np.concatenate([[0.0], result.time / DAYS_PER_MONTH])
    value = np.concatenate([[start], estimate])
    lower = np.concatenate([[start], result.lower])
    upper = np.concatenate([[start], result.upper])
    return t, value, np.where(np.isnan(lower), value, lower), np.where(np.isnan(upper), value, upper)


def _km_steps(result: Any) -> tuple[np.ndarray, ...]:
    return _steps(result, result.survival, 1.0)


def _cif_steps(result: Any) -> tuple[np.ndarray, ...]:
    return _steps(result, result.estimate, 0.0)


def curve_figure(curves: CurveSet, *, width: float = 6.3, censor_marks_max: int | None = None) -> Figure:
    """Kaplan-Meier (kind 'km') or cumulative-incidence (kind 'cif') curves with a number-at-risk table;
    censor marks thinned above `censor_marks_max` distinct times (default CENSOR_MARKS_MAX, see `censor_marks`)."""
    groups = curves.groups
    n_rows = len(groups)
    full = [label(g.label) if g.label != "All patients" else g.label for g in groups]
    names = list(full)  # never truncated: the left margin grows with the longest label
    # Layout in inches: plot, room for the x tick labels and axis title, then the number-at-risk table.
    plot_h, axis_h, title_h, row_h, bottom_h, top_h = 3.3, 0.55, 0.24, 0.19, 0.08, 0.1
    table_h = title_h + row_h * n_rows
    height = top_h + plot_h + axis_h + table_h + bottom_h
    left_in = max(0.8, 0.058 * max(len(n) for n in names) + 0.6)
    right_in = 0.3
    with matplotlib.rc_context(FONT):
        fig = Figure(figsize=(width, height))
        left, plot_w = left_in / width, (width - left_in - right_in) / width
        ax = fig.add_axes((left, (bottom_h + table_h + axis_h) / height, plot_w, plot_h / height))
        risk = fig.add_axes((left, bottom_h / height, plot_w, table_h / height), sharex=ax)
        max_days = max((float(g.times.max()) for g in groups if g.times is not None and g.times.size), default=0.0)
        max_months = max(max_days / DAYS_PER_MONTH, 1e-9)
        ticks = _ticks(max_months)
        ticks = ticks[ticks <= max_months + 1e-9]  # the axis ends at the data
        colours = OKABE_ITO if n_rows > 1 else ("#000000",)
        handles = []
        top = 0.0
        for i, group in enumerate(groups):
            colour = colours[i % len(colours)]
            text = f"{full[i]} (n = {group.n}, events = {group.events})"
            if group.n == 0:
                handles.append(Line2D([], [], color=colour, lw=1.6, ls=":", label=f"{full[i]} (no patients)"))
                continue
            if group.result is None:
                # Cumulative incidence without events: flat at 0 to the last follow-up time.
                t = np.array([0.0, group.times.max() / DAYS_PER_MONTH])
                y = lower = upper = np.zeros(2)
                step_y = lambda times: np.zeros_like(times)  # noqa: E731
                text += "; no events"
            elif curves.kind == "km":
                t, y, lower, upper = _km_steps(group.result)
                step_y = _stepper(t, y)
            else:
                t, y, lower, upper = _cif_steps(group.result)
                step_y = _stepper(t, y)
            ax.fill_between(t, lower, upper, step="post", color=colour, alpha=0.15, linewidth=0)
            ax.step(t, y, where="post", color=colour, lw=1.6)
            top = max(top, float(np.nanmax(upper)))
            if group.censored is not None and group.censored.any():
                censor_t = censor_marks(
                    group.times[group.censored] / DAYS_PER_MONTH, max_months, censor_marks_max or CENSOR_MARKS_MAX
                )
                ax.plot(censor_t, step_y(censor_t), ls="none", marker="+", ms=6, mew=1.0, color=colour)
            handles.append(Line2D([], [], color=colour, lw=1.6, label=text))
        ax.set_xlim(0, max_months * 1.01)
        ax.xaxis.set_major_locator(FixedLocator(ticks))
        ax.tick_params(axis="x", labelbottom=True)
        ax.set_xlabel(curves.x_label)
        if curves.kind == "km":
            ax.set_ylim(0, 1.02)
            ax.set_ylabel(f"{curves.title.split(':')[0].split(' by ')[0]} (%)")
            loc = "lower left"
        else:
            limit = min(1.0, max(0.2, math.ceil((top + 0.05) * 10) / 10))
            ax.set_ylim(0, limit)
            ax.set_ylabel(f"{curves.title.split(':')[0].split(' by ')[0]} (%)")
            loc = "upper left"
        ax.yaxis.set_major_formatter(PercentFormatter(xmax=1, decimals=0))
        ax.grid(axis="y", color="#dddddd", lw=0.5)
        ax.set_axisbelow(True)
        title = None
        if curves.test_name is not None:
            name = "Log-rank" if curves.test_name.startswith("log-rank") else "Gray's test"
            title = (
                f"{name} {fmt_p(curves.p_value)}"
                if curves.p_value is not None
                else f"{name}: {curves.test_note or 'not tested'}"
            )
        legend = ax.legend(handles=handles, loc=loc, frameon=False, title=title, alignment="left")
        if title:
            legend.get_title().set_fontsize(8)
        # Number at risk, one column per x tick.
        risk.set_ylim(n_rows - 0.5, -0.5 - title_h / row_h)
        for side in ("top", "right", "left", "bottom"):
            risk.spines[side].set_visible(False)
        risk.tick_params(axis="both", length=0, labelbottom=False)
        risk.xaxis.set_visible(False)  # no ticks or labels to draw: skip laying the x axis out three times
        risk.set_yticks(range(n_rows))
        risk.set_yticklabels(names)
        risk.tick_params(axis="y", pad=26)  # room for the first column "n (events; censored)"
        for i, tick_label in enumerate(risk.get_yticklabels()):
            tick_label.set_color(colours[i % len(colours)] if n_rows > 1 else "#000000")
        risk.text(
            -left_in / (plot_w * width),
            -0.5 - 0.5 * title_h / row_h,
            "Number at risk (cumulative events; censored)",
            transform=risk.get_yaxis_transform(),
            ha="left",
            va="center",
            fontsize=8,
            fontweight="bold",
        )
        tick_days = ticks * DAYS_PER_MONTH
        for i, group in enumerate(groups):
            times = group.times if group.times is not None else np.zeros(0)
            at_risk = _numbers_at_risk(group, tick_days, times)
            censored = group.censored if group.censored is not None else np.zeros(times.size, dtype=bool)
            counts = _patients(group, times)
            for x, day, n in zip(ticks, tick_days, at_risk):
                # Events and censorings strictly before the tick, as ggsurvfit's cum.event / cum.censor.
                before = times < day
                events = int(counts[before & ~censored].sum())
                lost = int(counts[before & censored].sum())
                risk.text(x, i, f"{int(n)} ({events}; {lost})", ha="center", va="center", fontsize=6.5)
    return fig


def competing_risks_figure(cir: CurveSet, nrm: CurveSet, *, width: float = 6.3) -> Figure:
    """Relapse and non-relapse mortality stacked in one plot (as tidycmprsk::ggcuminc with stacked causes)."""
    with matplotlib.rc_context(FONT):
        fig = Figure(figsize=(width, 3.8))
        ax = fig.add_axes((0.12, 0.16, 0.84, 0.78))
        _stacked_incidence(ax, cir.groups[0], nrm.groups[0], [g.times for g in cir.groups])
        ax.set_xlabel(cir.x_label)
        ax.legend(loc="upper left", frameon=False)
    return fig


def competing_risks_by_group_figure(cir: CurveSet, nrm: CurveSet, *, width: float = 6.3) -> Figure:
    """The stacked relapse / non-relapse mortality plot in one panel per group, on shared axes, with Gray's
    test per cause (relapse, non-relapse mortality) across the groups."""
    pairs = [(c, d) for c, d in zip(cir.groups, nrm.groups) if c.result is not None and d.result is not None]
    columns = min(3, max(1, len(pairs)))
    rows = math.ceil(len(pairs) / columns)
    height = 1.2 + 2.2 * rows
    with matplotlib.rc_context(FONT):
        fig = Figure(figsize=(width, height))
        axes = fig.subplots(rows, columns, sharex=True, sharey=True, squeeze=False)
        times = [g.times for g in cir.groups]
        tops = []
        for ax, (relapse, death) in zip(axes.flat, pairs):
            tops.append(_stacked_incidence(ax, relapse, death, times))
            ax.set_title(
                f"{label(relapse.label)} (n = {relapse.n})\nrelapses {relapse.events}, NRM {death.events}", fontsize=7.5
            )
            ax.set_xlabel("")
        for ax in axes.flat[len(pairs) :]:
            ax.set_visible(False)
        for ax in axes.flat:
            ax.set_ylim(0, max(tops, default=0.2))
        for ax in axes[:, 1:].flat:
            ax.set_ylabel("")
        handles = [
            Patch(color=OKABE_ITO[1], alpha=0.55, label="Relapse"),
            Patch(color=OKABE_ITO[0], alpha=0.45, label="Non-relapse mortality (NRM)"),
        ]
        fig.legend(handles=handles, loc="upper left", bbox_to_anchor=(0.08, 1.0), ncol=2, frameon=False)
        fig.text(0.54, 0.62 / height, cir.x_label, ha="center", va="center")
        fig.text(
            0.08,
            0.2 / height,
            f"Gray's test across groups: relapse {_p_words(cir)}; non-relapse mortality {_p_words(nrm)}.",
            ha="left",
            va="center",
        )
        fig.subplots_adjust(left=0.1, right=0.98, top=1 - 0.75 / height, bottom=0.95 / height, wspace=0.08, hspace=0.45)
    return fig


def _no_one_left_note(relapse_group: Any, death_group: Any) -> str:
    """When the last patients at risk all had an event, relapse + NRM legitimately end at 100%: the
    Aalen-Johansen estimates sum to 1 - S(t), S the event-free Kaplan-Meier, and S reaches 0 there."""
    relapse, death = relapse_group.result, death_group.result
    if relapse.estimate[-1] + death.estimate[-1] < 1.0 - 1e-9:
        return ""
    months = float(max(relapse.time[-1], death.time[-1])) / DAYS_PER_MONTH
    return (
        f" At {months:.1f} months the last patients at risk had an event, so that no one is left event-free: "
        "the curves reach 100% there (relapse + non-relapse mortality = 1 - event-free survival)."
    )


def _p_words(curves: CurveSet) -> str:
    return fmt_p(curves.p_value) if curves.p_value is not None else (curves.test_note or "not tested")


def _stacked_incidence(ax: Any, relapse_group: Any, death_group: Any, follow_up: list[Any]) -> float:
    """Draw relapse (lower band) and non-relapse mortality (upper band) stacked on `ax`; returns the
    y-axis top it set. `follow_up`: the follow-up times of every curve, so the time axis covers them."""
    relapse, death = relapse_group.result, death_group.result
    grid = np.union1d(relapse.time, death.time)
    step_r = _stepper(*_cif_steps(relapse)[:2])
    step_d = _stepper(*_cif_steps(death)[:2])
    months = np.concatenate([[0.0], grid / DAYS_PER_MONTH])
    lower = np.concatenate([[0.0], step_r(grid / DAYS_PER_MONTH)])
    upper = lower + np.concatenate([[0.0], step_d(grid / DAYS_PER_MONTH)])
    ax.fill_between(
        months,
        0,
        lower,
        step="post",
        color=OKABE_ITO[1],
        alpha=0.55,
        linewidth=0,
        label=f"Relapse (events = {relapse_group.events})",
    )
    ax.fill_between(
        months,
        lower,
        upper,
        step="post",
        color=OKABE_ITO[0],
        alpha=0.45,
        linewidth=0,
        label=f"Non-relapse mortality (events = {death_group.events})",
    )
    ax.step(months, upper, where="post", color="#000000", lw=1.0, gid="either_event")
    # The relapse curve as a line too: a step at the last time has no width to fill, and without the line
    # a last relapse would show only in the top line (as tidycmprsk::ggcuminc, each cause's curve is drawn).
    ax.step(months, lower, where="post", color="#000000", lw=0.5, gid="relapse")
    max_months = float(months.max()) if months.size else 1.0
    last = max((float(t.max()) for t in follow_up if t is not None and t.size), default=0.0)
    max_months = max(max_months, last / DAYS_PER_MONTH)
    ticks = _ticks(max_months)
    ticks = ticks[ticks <= max_months + 1e-9]
    ax.set_xlim(0, max_months * 1.01)
    ax.xaxis.set_major_locator(FixedLocator(ticks))
    top = min(1.0, max(0.2, math.ceil((float(upper.max()) + 0.05) * 10) / 10))
    ax.set_ylim(0, top)
    ax.yaxis.set_major_formatter(PercentFormatter(xmax=1, decimals=0))
    ax.set_ylabel("Cumulative incidence (%)")
    ax.grid(axis="y", color="#dddddd", lw=0.5)
    ax.set_axisbelow(True)
    return top


def subgroup_forest_figure(forest: Any, *, width: float = 6.3) -> Figure:
    """Papers' subgroup forest plot: the HR of the comparison overall and in each subgroup level (n and
    events beside each), each variable headed by its P for interaction."""
    rows: list[tuple[str, float | None, float | None, float | None]] = []

    def line(hr: Any, indent: str) -> tuple[str, float | None, float | None, float | None]:
        text = f"{indent}{hr.label} ({hr.events}/{hr.n})" + (" not estimable" if hr.hr is None else "")
        return (text, hr.hr, hr.lower, hr.upper)

    rows.append(line(forest.overall, ""))
    for block in forest.blocks:
        rows.append((f"{block.label} (interaction {_p_text(block.interaction)})", None, None, None))
        rows += [line(hr, "    ") for hr in block.levels]
    return _forest_axes(
        rows, f"HR, {forest.compared} vs {forest.reference} (log scale); (events/n)", width, label_width=0.055
    )


def _p_text(test: Any) -> str:
    return fmt_p(test.p_value) if test.p_value is not None else "not tested"  # the reason is in results.json


def forest_figure(model: Any, *, width: float = 6.3) -> Figure:
    """Hazard ratios (or subdistribution hazard ratios) with CIs on a log axis, one row per term, the
    reference level of each categorical covariate marked."""
    rows: list[tuple[str, float | None, float | None, float | None]] = []
    by_covariate: dict[str, list[Any]] = {}
    for coef in model.coefficients:
        by_covariate.setdefault(coef.covariate or coef.term, []).append(coef)
    for term in model.terms:
        coefs = by_covariate.get(term.covariate, [])
        if term.type == "continuous":
            rows += [(term.label, c.hr, c.lower, c.upper) for c in coefs]
            continue
        rows.append((term.label, None, None, None))
        for level in term.levels or (term.reference,):
            coef = next((c for c in coefs if c.level == level), None)
            text = f"    {label(level)}" + (" (reference)" if level == term.reference else "")
            rows.append(
                (
                    text,
                    1.0 if level == term.reference else (coef.hr if coef else None),
                    None if coef is None else coef.lower,
                    None if coef is None else coef.upper,
                )
            )
    return _forest_axes(rows, f"{model.ratio_name or 'HR'} (log scale)", width)


def _forest_axes(
    rows: list[tuple[str, float | None, float | None, float | None]],
    x_label: str,
    width: float,
    label_width: float = 0.06,
) -> Figure:
    """Ratios with CIs on a log axis, one row each; rows without a ratio are bold headings."""
    height = 0.9 + 0.26 * len(rows)
    longest = max((len(r[0]) for r in rows), default=10)
    left = min(0.55, (label_width * longest + 0.3) / width)
    with matplotlib.rc_context(FONT):
        fig = Figure(figsize=(width, height))
        ax = fig.add_axes((left, 0.55 / height, 0.95 - left, 1 - 0.8 / height))
        ax.set_xscale("log")
        ax.axvline(1.0, color="#555555", lw=0.8, ls="--")
        values = []
        for i, (_, hr, lo, hi) in enumerate(rows):
            if hr is None:
                continue
            if lo is not None and hi is not None:
                ax.plot([lo, hi], [i, i], color=OKABE_ITO[0], lw=1.4)
                values += [lo, hi]
            ax.plot([hr], [i], marker="s", color=OKABE_ITO[0] if lo is not None else "#777777", ms=5)
            values.append(hr)
        ax.set_yticks(range(len(rows)))
        ax.set_yticklabels([r[0] for r in rows])
        for tick, row in zip(ax.get_yticklabels(), rows):
            if row[1] is None and not row[0].startswith(" "):  # a heading, not a non-estimable level
                tick.set_fontweight("bold")
        ax.set_ylim(len(rows) - 0.5, -0.5)
        low, high = (min(min(values), 1.0) / 1.3, max(max(values), 1.0) * 1.3) if values else (0.5, 2.0)
        ax.set_xlim(low, high)
        marks = [v for v in (0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1, 2, 5, 10, 20, 50, 100) if low <= v <= high]
        ax.xaxis.set_major_locator(FixedLocator(marks))
        ax.xaxis.set_minor_locator(FixedLocator([]))
        ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}"))
        ax.set_xlabel(x_label)
        ax.spines["left"].set_visible(False)
        ax.tick_params(axis="y", length=0)
    return fig


def published_figure(rows: list[Any], *, width: float = 6.3) -> Figure:
    """Forest plot of proportions and landmark estimates: each publication and this cohort, with CIs."""
    from blinareg.report.published import ENDPOINT_WORDS

    lines: list[tuple[str, float | None, float | None, float | None, bool]] = []
    for r in rows:
        when = f" at {r.time_point_months:g} months" if r.time_point_months else ""
        lines.append(
            (
                f"{ENDPOINT_WORDS.get(r.endpoint, r.endpoint)}{when}: {r.study.split(' (')[0]} (n = {r.n})",
                r.estimate,
                r.lower,
                r.upper,
                True,
            )
        )
        center = r.center
        value = (
            getattr(center, "proportion", None)
            if center is not None and hasattr(center, "x")
            else getattr(center, "estimate", None)
        )
        lines.append(
            (
                f"    this cohort (n = {r.center_n})",
                value,
                getattr(center, "lower", None),
                getattr(center, "upper", None),
                False,
            )
        )
    height = 0.9 + 0.24 * len(lines)
    longest = max(len(text) for text, *_ in lines)
    left = min(0.62, (0.055 * longest + 0.3) / width)
    with matplotlib.rc_context(FONT):
        fig = Figure(figsize=(width, height))
        ax = fig.add_axes((left, 0.55 / height, 0.95 - left, 1 - 0.75 / height))
        for i, (_, value, lower, upper, published) in enumerate(lines):
            colour = "#000000" if published else OKABE_ITO[0]
            if value is None:
                continue
            if lower is not None and upper is not None:
                ax.plot([lower, upper], [i, i], color=colour, lw=1.3)
            ax.plot([value], [i], marker="s" if published else "o", color=colour, ms=5)
        ax.set_yticks(range(len(lines)))
        ax.set_yticklabels([text for text, *_ in lines])
        ax.set_ylim(len(lines) - 0.5, -0.5)
        ax.set_xlim(0, 1)
        ax.xaxis.set_major_formatter(PercentFormatter(xmax=1, decimals=0))
        ax.grid(axis="x", color="#eeeeee", lw=0.5)
        ax.tick_params(axis="y", length=0)
        ax.spines["left"].set_visible(False)
        ax.set_xlabel("Proportion or estimate (%)")
    return fig


CENSOR_MARKS_MAX = 200


def censor_marks(months: np.ndarray, max_months: float, limit: int = CENSOR_MARKS_MAX) -> np.ndarray:
    """Where to draw '+' marks: every censoring time, or, with more than `limit` distinct times (the report
    config's `censor_marks_max`), one mark per 1/limit of the time axis that holds a censoring (stated in
    the caption)."""
    unique = np.unique(months)
    if unique.size <= limit:
        return unique
    width = max(max_months, 1e-9) / limit
    # The last time (= max_months) belongs to the last bin, not to a bin of its own past the axis.
    bins = np.unique(np.minimum(np.floor(unique / width), limit - 1))
    return np.minimum((bins + 0.5) * width, max_months)


def _stepper(t: np.ndarray, y: np.ndarray):
    def at(x: np.ndarray) -> np.ndarray:
        idx = np.searchsorted(t, x, side="right") - 1
        return y[np.clip(idx, 0, y.size - 1)]

    return at


def _numbers_at_risk(group: Any, tick_days: np.ndarray, times: np.ndarray) -> np.ndarray:
    """Numbers at risk at the ticks: from the Kaplan-Meier result where there is one (its `at`), else the
    count of follow-up times >= t (the same definition)."""
    if group.result is not None and hasattr(group.result, "n_at_risk") and hasattr(group.result, "at"):
        return group.result.at(tick_days).n_at_risk
    counts = _patients(group, times)
    return np.array([counts[times >= t].sum() for t in tick_days])


def _patients(group: Any, times: np.ndarray) -> np.ndarray:
    """Patients per entry of `times`: one each, or the group's counts (curves finished from counts)."""
    return np.ones(times.size, dtype=np.int64) if group.counts is None else group.counts


def _short(text: str, width: int = 22) -> str:
    return text if len(text) <= width else text[: width - 1] + "\u2026"


def swimmer_figure(frame: pd.DataFrame, info: Any = None) -> Figure:
    """One bar per patient: follow-up, blinatumomab cycles, CR, HSCT, relapse, death; arrow if alive."""
    n = max(int(frame.shape[0]), 1)
    per = 0.11 if n > 40 else 0.22
    height = min(2.0 + per * n, 40.0)
    with matplotlib.rc_context(FONT):
        fig = Figure(figsize=(6.8, height))
        ax = fig.add_axes((0.16 if n <= 60 else 0.08, 0.9 / height, 0.8, 1 - 2.0 / height))
        y = np.arange(n)
        if frame.empty:
            ax.text(0.5, 0.5, "No patients with follow-up", transform=ax.transAxes, ha="center")
            return fig
        # Bars as one collection each (not one Rectangle artist per patient and cycle): the same picture,
        # drawn in a fraction of the time in every format.
        _bars(ax, y, np.zeros(n), frame["end"].to_numpy(dtype=float), 0.6, "#d9d9d9", "Follow-up")
        bars = frame.attrs.get("cycles")
        index = {pid: i for i, pid in enumerate(frame["patient_id"])}
        if bars is not None and not bars.empty:
            rows = bars["patient_id"].map(index).to_numpy(dtype=float)
            _bars(
                ax,
                rows,
                bars["start"].to_numpy(dtype=float),
                (bars["stop"] - bars["start"]).clip(lower=0.3).to_numpy(dtype=float),
                0.6,
                OKABE_ITO[0],
                "Blinatumomab cycle",
            )
        markers = (
            ("cr", "o", OKABE_ITO[2], "CR/CRh/CRi"),
            ("hsct", "D", OKABE_ITO[4], "HSCT"),
            ("relapse", "^", OKABE_ITO[1], "Relapse"),
            ("death", "X", "#000000", "Death"),
        )
        size = 14 if n > 60 else 24
        for column, marker, colour, text in markers:
            keep = np.isfinite(frame[column].to_numpy(dtype=float))
            ax.scatter(
                frame.loc[keep, column],
                y[keep],
                marker=marker,
                s=size,
                color=colour,
                zorder=3,
                label=text,
                linewidths=0.4,
                edgecolors="white",
            )
        alive = ~np.isfinite(frame["death"].to_numpy(dtype=float))
        ax.scatter(
            frame.loc[alive, "end"] + 0.4,
            y[alive],
            marker=">",
            s=size * 0.7,
            color="#666666",
            zorder=3,
            label="Alive at last contact",
        )
        ax.set_ylim(n - 0.5, -0.5)
        if n <= 60:
            ax.set_yticks(y)
            ax.set_yticklabels(frame["patient_id"], fontsize=6 if n > 30 else 7)
        else:
            ax.set_yticks([])
            ax.set_ylabel(f"Patients (n = {n})")
        ax.set_xlim(0, float(np.nanmax(frame["end"])) * 1.04 + 1)
        ax.set_xlabel("Months since first blinatumomab")
        ax.grid(axis="x", color="#eeeeee", lw=0.5)
        ax.set_axisbelow(True)
        # Legend entries in the order of the bar chart's: markers first, then the bars.
        handles, texts = ax.get_legend_handles_labels()
        order = sorted(range(len(texts)), key=lambda i: texts[i] in ("Follow-up", "Blinatumomab cycle"))
        ax.legend(
            [handles[i] for i in order],
            [texts[i] for i in order],
            loc="lower left",
            bbox_to_anchor=(0.0, 1.0),
            ncol=4,
            frameon=False,
            fontsize=7,
            handletextpad=0.3,
            columnspacing=1.0,
            borderaxespad=0.3,
        )
    return fig


def _bars(
    ax: Any, rows: np.ndarray, left: np.ndarray, width: np.ndarray, height: float, colour: str, text: str
) -> None:
    """Horizontal bars (like `ax.barh`) as a single PolyCollection."""
    from matplotlib.collections import PolyCollection

    keep = np.isfinite(rows) & np.isfinite(left) & np.isfinite(width)
    rows, left, width = rows[keep], left[keep], width[keep]
    low, high, right = rows - height / 2, rows + height / 2, left + width
    verts = np.stack(
        [
            np.column_stack([left, low]),
            np.column_stack([right, low]),
            np.column_stack([right, high]),
            np.column_stack([left, high]),
        ],
        axis=1,
    )
    ax.add_collection(
        PolyCollection(verts, facecolors=colour, edgecolors="none", linewidths=0, label=text), autolim=True
    )


MRD_COLOURS = {"flow": OKABE_ITO[0], "pcr": OKABE_ITO[1], "ngs": OKABE_ITO[2], "ihc": OKABE_ITO[3]}
MRD_MARKERS = {"flow": "o", "pcr": "s", "ngs": "D", "ihc": "^"}
MRD_NAMES = {"flow": "Flow cytometry", "pcr": "PCR", "ngs": "NGS", "ihc": "IHC"}


def patient_timeline_figure(
    patient: pd.Series,
    cycles: pd.DataFrame,
    mrd: pd.DataFrame,
    threshold: float = 1e-4,
    relapses: pd.DataFrame | None = None,
    dose_steps: pd.DataFrame | None = None,
    responses: pd.DataFrame | None = None,
) -> Figure:
    """One patient: MRD per method on a log scale (not detected: open marker at the assay sensitivity),
    blinatumomab cycles as bars, every response assessment with its marrow blasts, and relapse, HSCT,
    death and last-contact markers, on a date axis."""
    dates = [
        pd.Timestamp(d)
        for d in (patient.get("index_relapse_date"), patient.get("first_blinatumomab_date"))
        if pd.notna(d)
    ]
    if not mrd.empty:
        dates.append(pd.Timestamp(mrd["assessment_date"].min()))
    relapse_dates = (
        [] if relapses is None or relapses.empty else [pd.Timestamp(d) for d in relapses["relapse_date"] if pd.notna(d)]
    )
    response_dates = (
        []
        if responses is None or responses.empty
        else [pd.Timestamp(d) for d in responses["assessment_date"] if pd.notna(d)]
    )
    dates += relapse_dates + response_dates  # every relapse and response assessment is inside the window
    start = min(dates) - pd.Timedelta(days=20) if dates else pd.Timestamp("2000-01-01")
    # The window ends shortly after the last event of the course (not at a distant last contact).
    end_candidates = [
        pd.Timestamp(patient[c])
        for c in ("cr_date", "hsct_date", "relapse_after_origin_date", "death_date")
        if pd.notna(patient.get(c))
    ]
    if not cycles.empty:
        end_candidates.append(pd.Timestamp(cycles["end_date"].max()))
    end_candidates += relapse_dates + response_dates
    if not mrd.empty:
        end_candidates.append(pd.Timestamp(mrd["assessment_date"].max()))
    end = max(end_candidates) + pd.Timedelta(days=60) if end_candidates else start + pd.Timedelta(days=365)
    last_contact = patient.get("last_contact_date")
    if pd.notna(last_contact) and pd.Timestamp(last_contact) <= end + pd.Timedelta(days=90):
        end = max(end, pd.Timestamp(last_contact) + pd.Timedelta(days=20))
    with matplotlib.rc_context(FONT):
        fig = Figure(figsize=(6.8, 4.4))
        grid = fig.add_gridspec(
            2, 1, height_ratios=[3.0, 1.0], hspace=0.08, left=0.12, right=0.97, top=0.86, bottom=0.12
        )
        ax = fig.add_subplot(grid[0])
        lane = fig.add_subplot(grid[1], sharex=ax)
        ax.set_yscale("log")
        ax.axhline(threshold, color="#555555", ls="--", lw=0.8)
        ax.text(
            1.0,
            threshold * 1.25,
            "MRD negativity threshold (0.01%)",
            fontsize=7,
            color="#555555",
            va="bottom",
            ha="right",
            transform=ax.get_yaxis_transform(),
        )
        lowest, highest = threshold / 10, 1.0
        handles = []
        for group in [g for g in ("flow", "pcr", "ngs", "ihc") if not mrd.empty and (mrd["method_group"] == g).any()]:
            rows = mrd[mrd["method_group"] == group].sort_values("assessment_date")
            fraction = pd.to_numeric(rows["fraction"], errors="coerce").to_numpy(dtype=float)
            sensitivity = pd.to_numeric(rows["sensitivity"], errors="coerce").to_numpy(dtype=float)
            detected = np.isfinite(fraction) & (fraction > 0)
            value = np.where(detected, fraction, np.where(np.isfinite(sensitivity), sensitivity, threshold))
            when = pd.to_datetime(rows["assessment_date"]).to_numpy()
            colour, marker = MRD_COLOURS[group], MRD_MARKERS[group]
            ax.plot(when, value, color=colour, lw=1.0, alpha=0.7)
            ax.scatter(when[detected], value[detected], marker=marker, s=28, color=colour, zorder=3)
            ax.scatter(
                when[~detected],
                value[~detected],
                marker=marker,
                s=28,
                facecolors="white",
                edgecolors=colour,
                linewidths=1.2,
                zorder=3,
            )
            lowest = min(lowest, float(np.nanmin(value)) / 3)
            highest = max(highest, float(np.nanmax(value)) * 3)
            handles.append(Line2D([], [], color=colour, marker=marker, lw=1.0, label=MRD_NAMES[group]))
        handles.append(
            Line2D(
                [],
                [],
                color="#555555",
                marker="o",
                markerfacecolor="white",
                lw=0,
                label="Not detected (at assay sensitivity)",
            )
        )
        ax.set_ylim(lowest, min(highest, 2.0))
        ax.set_ylabel("MRD (fraction of cells, log scale)")
        ax.tick_params(axis="x", labelbottom=False)
        if mrd.empty:
            ax.text(0.5, 0.5, "No MRD measurement recorded", transform=ax.transAxes, ha="center", va="center")
        ax.grid(axis="y", color="#eeeeee", lw=0.5, which="major")
        ax.legend(handles=handles, loc="lower left", bbox_to_anchor=(0.0, 1.0), ncol=3, frameon=False, fontsize=7)
        lane.set_ylim(-1.1, 0.8)  # room below the bars for two alternating rows of dose labels
        lane.set_yticks([0])
        lane.set_yticklabels(["Course"])
        for side in ("top", "right", "left"):
            lane.spines[side].set_visible(False)
        dose_labels, dose_unit = _dose_labels(dose_steps, [int(c) for c in cycles["cycle_number"]])
        if dose_unit:
            lane.set_yticklabels([f"Course\n({dose_unit})"])
        for row, (_, cycle) in enumerate(cycles.iterrows()):
            s, e = pd.Timestamp(cycle["start_date"]), pd.Timestamp(cycle["end_date"])
            lane.barh(0, (e - s).days + 1, left=s, height=0.5, color=OKABE_ITO[5], edgecolor=OKABE_ITO[0], lw=0.6)
            lane.text(s + (e - s) / 2, 0, f"C{int(cycle['cycle_number'])}", ha="center", va="center", fontsize=6.5)
            doses = dose_labels.get(int(cycle["cycle_number"]), "")
            if doses:
                # Alternate rows keep the labels of consecutive cycles apart.
                y = -0.45 if row % 2 == 0 else -0.72
                lane.text(s + (e - s) / 2, y, doses, ha="center", va="top", fontsize=5.5, color="#333333")
        events = [
            ("index_relapse_date", "^", OKABE_ITO[1], "Relapse (index)"),
            ("relapse_after_origin_date", "^", OKABE_ITO[1], "Relapse"),
            ("hsct_date", "D", OKABE_ITO[4], "HSCT"),
            ("cr_date", "o", OKABE_ITO[2], "CR"),
            ("death_date", "X", "#000000", "Death"),
        ]
        lane_handles = [Line2D([], [], color=OKABE_ITO[5], lw=6, label="Blinatumomab cycle")]
        if relapses is not None and not relapses.empty:
            # Every recorded relapse, with its marrow blasts (the patient's relapses frame replaces the two
            # relapse dates of the patient row).
            events = [e for e in events if e[0] not in ("index_relapse_date", "relapse_after_origin_date")]
            for _, relapse in relapses.sort_values("relapse_number").iterrows():
                if pd.isna(relapse.get("relapse_date")):
                    continue
                when = pd.Timestamp(relapse["relapse_date"])
                lane.scatter([when], [0.55], marker="^", s=36, color=OKABE_ITO[1], zorder=3, clip_on=False)
                ax.axvline(when, color=OKABE_ITO[1], lw=0.7, ls=":")
                blasts = relapse.get("marrow_blasts_pct")
                text = f"R{int(relapse['relapse_number'])}" + (
                    f" {float(blasts):.0f}% blasts" if pd.notna(blasts) else ""
                )
                lane.text(when, 0.85, text, ha="center", va="bottom", fontsize=5.5, color=OKABE_ITO[1], clip_on=False)
            lane_handles.append(Line2D([], [], color=OKABE_ITO[1], marker="^", lw=0, label="Relapse (marrow blasts)"))
        if response_dates:
            _draw_response_assessments(ax, responses)
            lane_handles.append(
                Line2D([], [], color=RESPONSE_COLOUR, marker="|", lw=0, label="Response assessment (marrow blasts)")
            )
        for column, marker, colour, text in events:
            value = patient.get(column)
            if pd.notna(value):
                when = pd.Timestamp(value)
                lane.scatter([when], [0.55], marker=marker, s=36, color=colour, zorder=3, clip_on=False)
                ax.axvline(when, color=colour, lw=0.7, ls=":")
                lane_handles.append(Line2D([], [], color=colour, marker=marker, lw=0, label=text))
        if pd.isna(patient.get("death_date")) and pd.notna(last_contact):
            when = min(pd.Timestamp(last_contact), end - pd.Timedelta(days=5))
            lane.scatter([when], [0], marker=">", s=30, color="#666666", clip_on=False)
            text = f"Alive at last contact ({pd.Timestamp(last_contact):%Y-%m-%d})"
            lane_handles.append(Line2D([], [], color="#666666", marker=">", lw=0, label=text))
        lane.legend(
            handles=lane_handles, loc="upper left", bbox_to_anchor=(0.0, -0.55), ncol=4, frameon=False, fontsize=7
        )
        lane.set_xlim(start, end)
        locator = mdates.AutoDateLocator(minticks=4, maxticks=9)
        lane.xaxis.set_major_locator(locator)
        lane.xaxis.set_major_formatter(FuncFormatter(_date_tick))
        diagnosis = patient.get("diagnosis_date")
        title = f"Patient {patient['patient_id']}"
        if pd.notna(diagnosis):
            title += f"; diagnosis {pd.Timestamp(diagnosis):%Y-%m-%d}"
        if pd.notna(patient.get("indication_group")):
            title += f"; indication: {str(patient['indication_group']).replace('_', ' ')}"
        fig.suptitle(title, x=0.12, ha="left", fontsize=9, y=0.99)
    return fig


RESPONSE_COLOUR = "#444444"
RESPONSE_WORDS = {"cr": "CR", "crh": "CRh", "cri": "CRi", "pr": "PR", "no_response": "NR", "progression": "PD"}


def _draw_response_assessments(ax: Any, responses: Any) -> None:
    """Each response assessment as a tick at the top of the MRD panel, labelled (vertically) with its
    category and marrow blasts ('CR 2%'; the category alone when blasts were not recorded)."""
    top = ax.get_xaxis_transform()  # x in dates, y in axes fraction
    for _, row in responses.sort_values("assessment_date").iterrows():
        if pd.isna(row.get("assessment_date")):
            continue
        when = pd.Timestamp(row["assessment_date"])
        category = row.get("category")
        text = RESPONSE_WORDS.get(str(category), str(category)) if pd.notna(category) else "?"
        blasts = row.get("marrow_blasts_pct")
        if pd.notna(blasts):
            text += f" {float(blasts):g}%"
        ax.plot([when, when], [0.94, 1.0], color=RESPONSE_COLOUR, lw=1.0, transform=top, clip_on=False)
        # Vertical labels: assessments a few weeks apart stay readable on a multi-year axis.
        ax.text(
            when,
            0.93,
            text,
            transform=top,
            ha="center",
            va="top",
            rotation=90,
            fontsize=5.5,
            color=RESPONSE_COLOUR,
            # A light box keeps the label readable where it crosses the MRD lines and event markers.
            bbox={"boxstyle": "square,pad=0.15", "facecolor": "white", "edgecolor": "none", "alpha": 0.85},
            zorder=4,
        )


def _date_tick(value: float, position: int | None) -> str:
    """'Mar 2024' at the first tick and at each January, else 'Mar': the year is always readable."""
    when = mdates.num2date(value)
    return when.strftime("%b %Y") if position == 0 or when.month == 1 else when.strftime("%b")


def _dose_labels(dose_steps: pd.DataFrame | None, cycle_numbers: list[int]) -> tuple[dict[int, str], str]:
    """Per cycle the delivered daily doses of its steps; when every cycle has one and the same unit, the
    labels are the numbers only ('9 / 28') and the unit is returned to be stated once."""
    labels = {number: _cycle_doses(dose_steps, number) for number in cycle_numbers}
    labels = {number: text for number, text in labels.items() if text}
    units = {text.split(" ")[-1] for text in labels.values() if text.count(" ") >= 1}
    if len(units) == 1 and all(text.endswith(" " + next(iter(units))) for text in labels.values()):
        unit = next(iter(units))
        if all(text.count(unit) == 1 for text in labels.values()):
            return {number: text[: -len(unit) - 1] for number, text in labels.items()}, unit
    return labels, ""


def _cycle_doses(dose_steps: pd.DataFrame | None, cycle_number: int) -> str:
    """Delivered daily dose of each step of a cycle, e.g. '9 / 28 mcg/day'."""
    if dose_steps is None or dose_steps.empty:
        return ""
    rows = dose_steps[
        (pd.to_numeric(dose_steps["cycle_number"], errors="coerce") == cycle_number)
        & (dose_steps["kind"] == "delivered")
    ].sort_values(["start_day", "step"])
    if rows.empty:
        return ""
    units = rows["unit"].dropna().unique().tolist()
    doses = " / ".join(f"{float(d):g}" for d in rows["daily_dose"])
    return (
        f"{doses} {units[0]}"
        if len(units) == 1
        else " / ".join(f"{float(d):g} {u}" for d, u in zip(rows["daily_dose"], rows["unit"]))
    )


def _competing_risks_by_group_specs(analysis: Analysis) -> list[FigureSpec]:
    """With a split (--by), the stacked relapse / non-relapse mortality figure per group, Gray's P per cause."""
    out = []
    for key, cir in analysis.curves.items():
        if not key.startswith("cir_by_"):
            continue
        nrm = analysis.curves.get("nrm_by_" + key[len("cir_by_") :])
        if nrm is None or not any(
            c.result is not None and d.result is not None for c, d in zip(cir.groups, nrm.groups)
        ):
            continue
        out.append(
            FigureSpec(
                "figure_competing_risks_" + key[len("cir_") :],
                f"Cumulative incidence of relapse and of non-relapse mortality, stacked (Aalen-Johansen), "
                f"by {cir.title.split(' by ', 1)[-1]}: in each panel the upper line is the "
                f"incidence of either event. Gray's test across the groups: relapse {_p_words(cir)}, "
                f"non-relapse mortality {_p_words(nrm)}.",
                lambda cir=cir, nrm=nrm: competing_risks_by_group_figure(cir, nrm),
            )
        )
    return out


def build_figures(analysis: Analysis, *, censor_marks_max: int = CENSOR_MARKS_MAX) -> list[FigureSpec]:
    """Every figure of the report, from the curves and the swimmer data of an `Analysis`."""
    specs = []
    for key, curves in analysis.curves.items():
        if all(g.n == 0 for g in curves.groups):
            continue
        method = (
            "Kaplan-Meier estimate with pointwise 95% CI (log-log)"
            if curves.kind == "km"
            else "Aalen-Johansen cumulative incidence with pointwise 95% CI; competing event: "
            + ("death without relapse" if curves.endpoint == "CIR" else "relapse")
        )
        caption = f"{curves.title}. {method}; + censored"
        if any(
            g.censored is not None and np.unique(g.times[g.censored]).size > censor_marks_max for g in curves.groups
        ):
            caption += f" (one mark per 1/{censor_marks_max} of the time axis with a censoring)"
        caption += ". Under the curves: number at risk (cumulative events; cumulative censored) at each time mark."
        if curves.test_name:
            caption += f" Groups compared by the {curves.test_name}."
        specs.append(
            FigureSpec(
                f"figure_{key}",
                caption,
                lambda curves=curves: curve_figure(curves, censor_marks_max=censor_marks_max),
            )
        )
    cir, nrm = analysis.curves.get("cir_overall"), analysis.curves.get("nrm_overall")
    if cir is not None and nrm is not None and cir.groups[0].result is not None and nrm.groups[0].result is not None:
        specs.append(
            FigureSpec(
                "figure_competing_risks",
                "Cumulative incidence of relapse and of non-relapse mortality, stacked (Aalen-Johansen): the upper "
                "line is the incidence of either event; the band between the lines is non-relapse mortality."
                + _no_one_left_note(cir.groups[0], nrm.groups[0]),
                lambda: competing_risks_figure(cir, nrm),
            )
        )
    specs += _competing_risks_by_group_specs(analysis)
    for key, forest in (analysis.results.subgroups or {}).items():
        specs.append(
            FigureSpec(
                f"figure_subgroups_{key}",
                f"{forest.name}: hazard ratio of {ENDPOINT_NAMES.get(forest.endpoint, forest.endpoint).lower()}, "
                f"{forest.compared} vs {forest.reference}, with {100 * analysis.results.meta.conf_level:g}% "
                "confidence intervals (log scale), in all patients and within each subgroup (events/n); beside "
                "each subgroup variable the P of the likelihood-ratio test of interaction.",
                lambda forest=forest: subgroup_forest_figure(forest),
                section="models",
            )
        )
    for key, model in (analysis.results.models or {}).items():
        if model.coefficients:
            specs.append(
                FigureSpec(
                    f"figure_forest_{key}",
                    f"{model.name}: {'hazard' if model.ratio_name == 'HR' else 'subdistribution hazard'} ratios with "
                    f"{100 * analysis.results.meta.conf_level:g}% confidence intervals (log scale); n = {model.n}, "
                    f"events = {model.events}.",
                    lambda model=model: forest_figure(model),
                    section="models",
                )
            )
    published = [r for r in (analysis.results.published or ()) if r.estimate is not None]
    if published:
        specs.append(
            FigureSpec(
                "figure_published",
                "Published blinatumomab outcomes (squares; exact 95% CIs where the publication gives counts) beside this "
                "cohort's matching patients (circles, 95% CIs). Populations as in the table of published outcomes.",
                lambda: published_figure(published),
            )
        )
    if analysis.swimmer is not None:
        info = analysis.results.courses
        selection = info.selection if info is not None else ""
        specs.append(
            FigureSpec(
                "figure_swimmer",
                f"Course of each patient from the first blinatumomab infusion ({selection}).",
                lambda: swimmer_figure(analysis.swimmer, info),
                section="courses",
            )
        )
    # Numbered in the order the sections print them (HTML/PDF place each figure in its section).
    return sorted(specs, key=lambda spec: SECTIONS.index(spec.section))
