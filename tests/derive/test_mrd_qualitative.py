"""Qualitative MRD results: positive-not-quantifiable and unknown sensitivity (clinical-rules.md §4)."""

from __future__ import annotations

from blinareg.derive import derive
from tests.records.factories import incomplete_registry


def test_positive_not_quantifiable_is_detected_not_evaluable_and_never_complete():
    mrd = derive(incomplete_registry()).mrd.set_index(["patient_id", "method"])
    pnq = mrd.loc[("P2", "rt_qpcr_fusion")]
    # Detected below the quantification limit: residual disease is there (no complete MRD response), but
    # whether it is below the 1e-4 threshold is not known: not evaluable.
    assert bool(pnq["detected"]) and bool(pnq["positive_not_quantifiable"])
    assert pnq["status"] == "not_evaluable" and not bool(pnq["complete_mrd_response"])


def test_not_detected_with_unknown_sensitivity_is_not_evaluable():
    mrd = derive(incomplete_registry()).mrd.set_index(["patient_id", "method"])
    flow = mrd.loc[("P1", "flow")]
    # Not detected by an assay of unknown sensitivity: it cannot show a level below 1e-4.
    assert not bool(flow["detected"]) and flow["status"] == "not_evaluable"
    assert not bool(flow["complete_mrd_response"])
