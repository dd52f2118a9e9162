"""derive.labels owns the level orders and the words of the report; the report holds no copy."""

from __future__ import annotations

import blinareg.report.analyses as analyses
import blinareg.report.tables as tables
from blinareg.derive import labels


def test_report_reads_the_labels_derive_publishes():
    assert analyses.LEVEL_ORDER is labels.LEVEL_ORDER
    assert analyses.ENDPOINT_NAMES is labels.ENDPOINT_NAMES
    assert analyses.GENETICS is labels.GENETICS
    assert not hasattr(tables, "LABELS")


def test_value_and_column_labels():
    assert labels.value_label("first_relapse") == "First relapse"
    assert labels.value_label(True) == "Yes" and labels.value_label(None) == "Missing"
    assert labels.value_label("some_new_code") == "some new code"
    assert labels.column_label("hsct_remission_status") == "Remission status at HSCT"
    assert labels.column_label("a_new_column") == "A new column"
    assert labels.NOT_APPLICABLE_REASON["intreall_risk"] == "not applicable (no relapse / not first relapse)"


def test_every_level_in_the_orders_has_words():
    for column, levels in labels.LEVEL_ORDER.items():
        for level in levels:
            if column in ("bfm_strategic_group", "immunophenotype", "hsct_remission_status"):
                continue  # codes that are their own label (S1, B-II, CR1)
            assert level in labels.VALUE_LABELS, (column, level)
