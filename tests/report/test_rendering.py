"""Figure rendering: one drawing saved as PNG (300 dpi), SVG and PDF; the same pictures as matplotlib's own
`savefig(bbox_inches="tight")`; fonts embedded in the PDFs; serial and parallel rendering agree; the PDF
report alone needs no vector output."""

from __future__ import annotations

import io

import matplotlib
import numpy as np
import pytest
from matplotlib.figure import Figure
from PIL import Image

from blinareg.report import ReportConfig, build_report, write_report
from blinareg.report.figures import FONT, render_figure, render_raster, render_vectors
from blinareg.report.render import render_figures

from .conftest import fake_dataset


@pytest.fixture(scope="module")
def report():
    return build_report(fake_dataset(n=40, seed=11), ReportConfig(by="indication_group"))


def _tight_png(figure: Figure) -> Image.Image:
    """What matplotlib writes itself (the rendering before the single-draw path)."""
    buffer = io.BytesIO()
    with matplotlib.rc_context(FONT):
        figure.savefig(buffer, format="png", dpi=300, bbox_inches="tight", pad_inches=0.05)
    return Image.open(io.BytesIO(buffer.getvalue())).convert("RGB")


def test_png_is_the_tight_300_dpi_picture_matplotlib_draws(report):
    spec = report.figures[0]
    files = render_figure(spec.figure, preview=True)
    image = Image.open(io.BytesIO(files["png"]))
    assert image.mode == "RGB" and round(image.info["dpi"][0]) == 300
    reference = _tight_png(spec.figure)
    assert abs(image.width - reference.width) <= 1 and abs(image.height - reference.height) <= 1
    # Compared on the common area, always (a one-pixel difference in the rounding of the crop is allowed).
    width, height = min(image.width, reference.width), min(image.height, reference.height)
    ours = np.asarray(image.crop((0, 0, width, height)), dtype=int)
    theirs = np.asarray(reference.crop((0, 0, width, height)), dtype=int)
    assert (np.abs(ours - theirs).max(axis=2) > 0).mean() < 0.03  # identical but for sub-pixel placement
    preview = Image.open(io.BytesIO(files["preview_png"]))
    # Pillow's reduce(2) keeps a last odd row/column as a pixel of its own: ceil(width / 2).
    assert round(preview.info["dpi"][0]) == 150 and preview.width == -(-image.width // 2)
    assert preview.height == -(-image.height // 2)
    assert b"<svg" in files["svg"][:500] and files["pdf"][:5] == b"%PDF-"


def test_content_beyond_the_canvas_is_kept():
    figure = Figure(figsize=(3, 2))
    ax = figure.add_axes((0.2, 0.2, 0.7, 0.7))
    ax.plot([0, 1], [0, 1])
    figure.text(-0.15, 0.5, "outside on the left", ha="left")  # beyond the canvas, as tight bbox keeps it
    files, bounds = render_raster(figure)
    assert bounds[0] < -0.15 * 3
    image = Image.open(io.BytesIO(files["png"]))
    reference = _tight_png(figure)
    assert abs(image.width - reference.width) <= 1 and abs(image.height - reference.height) <= 1
    assert np.asarray(image.convert("L"))[:, : image.width // 10].min() < 128  # the text was drawn


def test_pdf_embeds_the_pinned_truetype_font(report):
    files, bounds = render_raster(report.figures[0].figure)
    pdf = render_vectors(report.figures[0].figure, bounds)["pdf"]
    assert b"DejaVuSans" in pdf  # the font matplotlib ships, whatever the system fonts
    assert b"/FontFile2" in pdf and b"/CIDFontType2" in pdf  # Type 42, embedded (journals reject Type 3)
    assert b"/Type3" not in pdf


def test_rendering_twice_gives_the_same_bytes(report):
    first = render_figures(report.figures[:3])
    second = render_figures(report.figures[:3])
    assert all(set(f) == {"png", "preview_png", "svg", "pdf"} for f in first)
    for a, b in zip(first, second):
        assert a == b  # PNG, SVG (fixed id salt) and PDF (no creation date)


def test_the_figure_font_does_not_depend_on_the_system():
    from matplotlib import font_manager

    from blinareg.report.figures import FIGURE_FONT

    with matplotlib.rc_context(FONT):
        path = font_manager.findfont(font_manager.FontProperties(family=["sans-serif"]), fallback_to_default=False)
    assert FIGURE_FONT == "DejaVu Sans" and FONT["font.sans-serif"] == [FIGURE_FONT]
    assert "mpl-data" in path  # matplotlib's own copy


def test_importing_the_figures_module_has_no_side_effects():
    import subprocess
    import sys

    code = (
        "import os, matplotlib; before = matplotlib.get_backend() if 'MPLBACKEND' in os.environ else None; "
        "import blinareg.report.figures, blinareg.report.render; "
        "assert 'MPLBACKEND' not in os.environ; import sys; assert 'matplotlib.pyplot' not in sys.modules; "
        "print('ok')"
    )
    env = {k: v for k, v in __import__("os").environ.items() if k != "MPLBACKEND"}
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env)
    assert result.stdout.strip() == "ok", result.stderr


def test_pdf_alone_draws_no_vector_figures(report, tmp_path):
    paths = write_report(report, tmp_path, ["pdf"])
    assert [p.name for p in paths] == ["report.pdf"]
    assert (tmp_path / "report.pdf").read_bytes()[:5] == b"%PDF-"
    assert not (tmp_path / "figures").exists()


def test_figures_alone(report, tmp_path):
    paths = write_report(report, tmp_path, ["figures"])
    assert len(paths) == 3 * len(report.figures)
    assert {p.suffix for p in paths} == {".png", ".svg", ".pdf"}


def test_figures_are_numbered_in_the_order_their_sections_print():
    from blinareg.report.config import SECTIONS

    config = ReportConfig.from_toml_mapping(
        {"models": [{"name": "Cox OS", "kind": "cox", "endpoint": "OS", "covariates": ["indication_group"]}]}
    )
    report = build_report(fake_dataset(n=60, seed=9), config)
    order = [SECTIONS.index(f.section) for f in report.figures]
    assert order == sorted(order)
    keys = [f.key for f in report.figures]
    assert keys.index("figure_published") < keys.index("figure_forest_cox_os")


def _embedded_fonts(pdf: bytes) -> list[bytes]:
    """The TrueType font programs (FontFile2 streams, whose dictionaries carry /Length1) of a PDF."""
    import re
    import zlib

    found = []
    for match in re.finditer(rb"<<([^>]*?/Length1[^>]*?)>>\s*stream\r?\n", pdf):
        length = int(re.search(rb"/Length (\d+)", match.group(1)).group(1))
        data = pdf[match.end() : match.end() + length]
        found.append(zlib.decompress(data) if b"/FlateDecode" in match.group(1) else data)
    return found


def _text_figure(text: str) -> Figure:
    figure = Figure(figsize=(3, 1))
    figure.text(0.05, 0.5, text)
    return figure


def _characters_of(font_program: bytes) -> set[str]:
    from fontTools.ttLib import TTFont

    return {chr(code) for code in TTFont(io.BytesIO(font_program)).getBestCmap()}


def _pdf_fonts(text: str) -> set[bytes]:
    """The distinct font programs embedded in the PDF of a figure showing `text` (matplotlib may split one
    font's characters over several PDF fonts, each with the program)."""
    figure = _text_figure(text)
    _, bounds = render_raster(figure)
    return set(_embedded_fonts(render_vectors(figure, bounds)["pdf"]))


def test_pdf_figures_share_one_font_subset_that_holds_their_text():
    first = _pdf_fonts("Overall survival (%) 0 12 24 months")
    second = _pdf_fonts("Relapse \u2264 5; \u03c7\u00b2 = 3.1 \u2014 P = 0.04")
    assert first == second and len(first) == 1  # one subset of the shared character set, not one per figure
    (program,) = first
    assert set("Overall survival (%) 0 12 24 monthsRelapse \u2264 5; \u03c7\u00b2 = 3.1 \u2014 P") <= _characters_of(
        program
    )


def test_text_beyond_the_shared_character_set_gets_its_own_subset():
    from blinareg.report.figures import PDF_FONT_CHARACTERS

    text = "Median \u221e months"  # infinity: in DejaVu Sans, not in the shared set
    assert "\u221e" not in PDF_FONT_CHARACTERS
    programs = _pdf_fonts(text)
    assert set(text) <= set().union(*(_characters_of(program) for program in programs))
    assert programs != _pdf_fonts("Median 12 months")
