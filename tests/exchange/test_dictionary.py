"""docs/data-dictionary.md is what the generator writes from the models now (it never drifts)."""

from __future__ import annotations

from pathlib import Path

from blinareg.exchange import dictionary_markdown, write_dictionary
from blinareg.records.models import RECORD_MODELS
from blinareg.records.registry import columns

COMMITTED = Path(__file__).resolve().parents[2] / "docs" / "data-dictionary.md"
REGENERATE = "python -c \"from blinareg.exchange import write_dictionary; write_dictionary('docs/data-dictionary.md')\""


def test_committed_dictionary_is_up_to_date():
    assert COMMITTED.read_text(encoding="utf-8") == dictionary_markdown(), (
        f"docs/data-dictionary.md is out of date with the record models; regenerate it: {REGENERATE}"
    )


def test_write_dictionary_writes_the_markdown(tmp_path):
    path = write_dictionary(tmp_path / "dictionary.md")
    assert path.read_bytes() == dictionary_markdown().encode("utf-8")


def section(text: str, record_type: str) -> str:
    start = text.index(f"\n## {record_type}\n")
    end = text.find("\n## ", start + 1)
    return text[start:] if end == -1 else text[start:end]


def test_every_column_is_described_with_type_requiredness_and_codes():
    text = dictionary_markdown()
    for model in RECORD_MODELS:
        part = section(text, model.record_type)
        assert model.title in part
        assert "Key: " + ", ".join(f"`{k}`" for k in model.key) in part
        rows = [line for line in part.splitlines() if line.startswith("| `")]
        assert [row.split("`")[1] for row in rows] == [c.name for c in columns(model)]
        for row, column in zip(rows, columns(model)):
            cells = [cell.strip() for cell in row.strip("|").split(" | ")]
            assert cells[2] in ("yes", "yes (or a missing-data code)", "no") or cells[2].startswith("no (default"), row
            assert cells[2].startswith("yes") == column.required
            if column.enum is not None:
                assert cells[3].split("; missing-data codes")[0] == ", ".join(f"`{m.value}`" for m in column.enum)


def test_types_carry_units_and_ranges():
    text = dictionary_markdown()
    relapse = section(text, "relapse")
    assert "| `marrow_blasts_pct` | number, % (>= 0, <= 100) | no |" in relapse
    assert "| `relapse_date` | date (YYYY-MM-DD; partial allowed: YYYY-MM, YYYY) | yes |" in relapse
    assert "| `weight_kg` | number, kg (> 0, <= 300) | yes |" in section(text, "body_measurement")
    assert "| `site_cns` | boolean | no (default `false`) | `true`, `false` |" in relapse
    assert "| `action_taken` | code | no (default `none`) |" in section(text, "adverse_event")
