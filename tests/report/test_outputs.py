"""The written report: self-contained HTML, PDF, DOCX with every table, figures in three formats, results.json;
the configuration file; and `blinareg report` on a stored registry."""

from __future__ import annotations

import json
import re

import pytest

from blinareg.errors import UserError
from blinareg.report import ReportConfig, build_report, patient_timeline, write_patient_timeline, write_report
from blinareg.report.config import ReportConfigError

from .conftest import fake_dataset


@pytest.fixture(scope="module")
def written(tmp_path_factory):
    """One small report written in every format (the PDF is rendered once, here)."""
    dataset = fake_dataset(n=40, seed=11)
    report = build_report(dataset, ReportConfig(by="indication_group"))
    out = tmp_path_factory.mktemp("report")
    paths = write_report(report, out)
    return report, out, paths


def test_html_is_self_contained(written):
    report, out, _ = written
    html = (out / "report.html").read_text(encoding="utf-8")
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:)?//""", html, re.I)
    assert "<link" not in html and "@import" not in html
    assert html.count("data:image/svg+xml;base64,") == len(report.figures)
    assert "Synthetic data" in html
    assert report.results["meta"]["non_responder_definition"] in html
    assert not re.search(r">\s*nan\s*<", html, re.I)


def test_pdf_is_written(written):
    _, out, _ = written
    assert (out / "report.pdf").read_bytes()[:5] == b"%PDF-"


def test_docx_holds_every_table(written):
    import docx

    report, out, _ = written
    document = docx.Document(str(out / "report.docx"))
    assert len(document.tables) == len(report.tables)
    first = document.tables[0]
    assert first.rows[0].cells[0].text == report.tables[0].columns[0]
    assert len(first.rows) == len(report.tables[0].rows) + 1
    assert any(report.paragraph[:40] in p.text for p in document.paragraphs)


def test_every_figure_in_three_formats(written):
    report, out, _ = written
    assert report.figures
    for spec in report.figures:
        png = (out / "figures" / f"{spec.key}.png").read_bytes()
        assert png[:8] == b"\x89PNG\r\n\x1a\n"
        assert b"<svg" in (out / "figures" / f"{spec.key}.svg").read_bytes()[:500]
        assert (out / "figures" / f"{spec.key}.pdf").read_bytes()[:5] == b"%PDF-"
    from PIL import Image

    with Image.open(out / "figures" / f"{report.figures[0].key}.png") as image:
        assert round(image.info["dpi"][0]) == 300


def test_results_json_holds_the_numbers(written):
    report, out, _ = written
    data = json.loads((out / "results.json").read_text(encoding="utf-8"))
    assert data["meta"]["n_patients"] == 40
    assert data["text"]["paragraph"] == report.paragraph
    assert data["outcomes"]["overall"]["OS"] == json.loads(json.dumps(report.results["outcomes"]["overall"]["OS"]))
    assert {t["key"] for t in data["tables"]} == {t.key for t in report.tables}


def test_patient_timeline(tmp_path):
    dataset = fake_dataset(n=5, seed=2)
    timeline = patient_timeline(dataset, "SYN-000003")
    assert timeline.data["mrd"] and all(m["method_group"] in ("flow", "pcr") for m in timeline.data["mrd"])
    paths = write_patient_timeline(timeline, tmp_path)
    assert sorted(p.suffix for p in paths) == [".json", ".pdf", ".png", ".svg"]
    ax = timeline.figure.figure.axes[0]
    assert ax.get_yscale() == "log"
    with pytest.raises(UserError, match="unknown patient 'NOPE'"):
        patient_timeline(dataset, "NOPE")


def test_config_errors_name_the_key():
    with pytest.raises(ReportConfigError, match=r"landmarks_months\[1\]"):
        ReportConfig.from_toml_mapping({"landmarks_months": [12, "x"]})
    with pytest.raises(ReportConfigError, match=r"sections\.cohrt"):
        ReportConfig.from_toml_mapping({"sections": {"cohrt": False}})
    with pytest.raises(ReportConfigError, match=r"models\[0\]\.endpoint"):
        ReportConfig.from_toml_mapping({"models": [{"kind": "fine_gray", "endpoint": "OS", "covariates": ["x"]}]})
    with pytest.raises(ReportConfigError, match="non_responder"):
        ReportConfig.from_toml_mapping({"report": {"non_responder": "sometimes"}})
    config = ReportConfig.from_toml_mapping(
        {
            "report": {
                "origin": "first-blinatumomab",
                "landmarks_months": [6, 12],
                "sections": {"safety": False},
                "high_tumour_load_mrd": 0.1,
            }
        }
    )
    assert config.origin == "first_blinatumomab" and config.landmarks_months == (6.0, 12.0)
    assert not config.enabled("safety") and config.high_tumour_load_mrd == 0.1


@pytest.fixture(scope="module")
def stored_registry(tmp_path_factory):
    from blinareg.store import Store
    from blinareg.synth import generate

    url = f"sqlite:///{tmp_path_factory.mktemp('db') / 'registry.sqlite'}"
    store = Store.open(url)
    store.init()
    store.import_registry(generate(30, seed=7), source="test")
    return url


def test_run_report_from_the_store(stored_registry, tmp_path):
    from blinareg.cli.report_commands import run_report

    paths = run_report(database_url=stored_registry, out_dir=tmp_path, by="indication_group", formats=["json", "docx"])
    assert {p.name for p in paths} == {"results.json", "report.docx"}
    data = json.loads((tmp_path / "results.json").read_text())
    assert data["meta"]["n_patients"] == 30 and data["meta"]["by"] == "indication_group"
    timeline = run_report(database_url=stored_registry, out_dir=tmp_path / "p", patient="SYN-000001")
    assert (tmp_path / "p" / "patient_SYN-000001.png").exists() and len(timeline) == 4
    with pytest.raises(UserError, match="unknown patient"):
        run_report(database_url=stored_registry, out_dir=tmp_path, patient="SYN-999999")
    with pytest.raises(UserError, match="unknown --by variable"):
        run_report(database_url=stored_registry, out_dir=tmp_path, by="nothing", formats=["json"])


def test_run_report_on_an_empty_registry(tmp_path):
    from blinareg.cli.report_commands import run_report
    from blinareg.store import Store

    url = f"sqlite:///{tmp_path / 'empty.sqlite'}"
    Store.open(url).init()
    with pytest.raises(UserError, match="the registry is empty"):
        run_report(database_url=url, out_dir=tmp_path / "out")


def test_cli_report_command(stored_registry, tmp_path):
    from click.testing import CliRunner

    from blinareg.cli.report_commands import report_command

    config = tmp_path / "report.toml"
    config.write_text("[report]\nlandmarks_months = [12, 24]\n[report.sections]\ncourses = false\n")
    result = CliRunner().invoke(
        report_command,
        ["--out", str(tmp_path / "r"), "--database", stored_registry, "--config", str(config), "--formats", "json"],
    )
    assert result.exit_code == 0, result.output
    data = json.loads((tmp_path / "r" / "results.json").read_text())
    assert "courses" not in data and "outcomes" in data


def test_every_output_is_byte_reproducible(tmp_path):
    """The same dataset and version give the same bytes in every file (SVG ids, PDF dates and font-subset
    timestamps, DOCX zip times and core properties, HTML), so a report can be diffed and signed."""
    import time

    dataset = fake_dataset(n=20, seed=4)
    first, second = tmp_path / "first", tmp_path / "second"
    write_report(build_report(dataset, ReportConfig()), first)
    time.sleep(1.1)  # a different second: any embedded clock time would differ
    write_report(build_report(dataset, ReportConfig()), second)
    files = sorted(p.relative_to(first) for p in first.rglob("*") if p.is_file())
    assert files == sorted(p.relative_to(second) for p in second.rglob("*") if p.is_file())
    assert {"report.pdf", "report.docx", "report.html", "results.json"} <= {str(f) for f in files}
    different = [str(f) for f in files if (first / f).read_bytes() != (second / f).read_bytes()]
    assert not different


def test_docx_is_portrait_with_numbered_titles_captions_and_methods(written):
    import docx

    report, out, _ = written
    document = docx.Document(str(out / "report.docx"))
    section = document.sections[0]
    assert section.page_height > section.page_width  # portrait
    texts = [p.text for p in document.paragraphs]
    assert any(t.startswith("Table 1. Patient characteristics") for t in texts)
    assert sum(t.startswith("Figure ") for t in texts) == len(report.figures)
    assert len(document.inline_shapes) == len(report.figures)
    methods = " ".join(texts[texts.index("Methods") + 1 : texts.index("Methods") + 5])
    for internal in ("AVAL", "STARTDT", "EVTCODE", "cr_achieved", "CNSR", "PARAMCD"):
        assert internal not in methods
    assert ">=" not in " ".join(texts)


def test_progress_callback_is_called_for_every_step(tmp_path):
    from blinareg.report.render import report_steps

    report = build_report(fake_dataset(n=15, seed=2), ReportConfig())
    seen = []
    write_report(report, tmp_path, ["json", "docx", "pdf"], progress=seen.append)
    assert len(seen) == report_steps(report, ["json", "docx", "pdf"])
    assert seen[-1] == "report.pdf"


def test_the_readme_report_toml_example_is_valid():
    import tomllib
    from pathlib import Path

    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text(encoding="utf-8")
    block = readme.split("### The report and report.toml", 1)[1].split("```toml", 1)[1].split("```", 1)[0]
    config = ReportConfig.from_toml_mapping(tomllib.loads(block))
    assert config.by == "indication_group" and not config.enabled("courses")
    assert config.comparisons[0].timing == "hsct" and config.models[0].reference == (
        ("indication_group", "relapsed_refractory"),
    )


def test_large_figures_are_embedded_as_png_to_keep_the_html_small(monkeypatch):
    from blinareg.report import render

    report = build_report(fake_dataset(n=15, seed=3), ReportConfig(sections=frozenset({"outcomes"}), comparisons=()))
    rendered = render.render_figures(report.figures)
    html = render.render_html(report, rendered)
    assert html.count("data:image/svg+xml;base64,") == len(report.figures)
    monkeypatch.setattr(render, "HTML_SVG_BUDGET", 0)
    html = render.render_html(report, rendered)
    assert html.count("data:image/png;base64,") == len(report.figures) and "svg+xml" not in html
    assert "vector versions (SVG, PDF) are in the figures folder" in html
