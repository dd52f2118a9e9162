"""`blinareg report --help` documents every report.toml key the configuration accepts."""

from __future__ import annotations

import re

import pytest
from click.testing import CliRunner

from blinareg.cli.main import cli
from blinareg.report.config import COMPARISON_KEYS, MODEL_KEYS, REPORT_KEYS, SECTIONS, SUBGROUP_KEYS


@pytest.fixture(scope="module")
def help_text() -> str:
    result = CliRunner().invoke(cli, ["report", "--help"], catch_exceptions=False)
    assert result.exit_code == 0
    return result.output


@pytest.mark.parametrize("key", sorted(REPORT_KEYS - {"sections", "comparisons", "models", "subgroups"}))
def test_every_report_key_is_listed(help_text, key):
    assert re.search(rf"\b{key}\s*=", help_text), key


def test_sections_comparisons_and_models_tables_are_listed_with_their_keys(help_text):
    assert "[report.sections]" in help_text and all(section in help_text for section in SECTIONS)
    comparisons = help_text.split("[[report.comparisons]]")[1].split("[[report.models]]")[0]
    models = help_text.split("[[report.models]]")[1].split("[[report.subgroups]]")[0]
    subgroups = help_text.split("[[report.subgroups]]")[1]
    for key in SUBGROUP_KEYS:
        assert re.search(rf"\b{key}\b", subgroups), key
    for key in COMPARISON_KEYS:
        assert re.search(rf"\b{key}\b", comparisons), key
    for key in MODEL_KEYS:
        assert re.search(rf"\b{key}\b", models), key
