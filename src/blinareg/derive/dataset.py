"""The analysis dataset: the frozen result of `derive`, and the parameters it accepts."""

from __future__ import annotations

from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

import pandas as pd

__all__ = ["AnalysisDataset", "ORIGINS", "NON_RESPONDER_DEFINITIONS", "PARAMCDS"]

ORIGINS = ("first_blinatumomab", "hsct", "diagnosis", "relapse")
NON_RESPONDER_DEFINITIONS = ("no_cr", "no_complete_mrd_response")
PARAMCDS = {
    "OS": "Overall survival",
    "EFS": "Event-free survival",
    "DFS": "Disease-free survival",
    "CIR": "Cumulative incidence of relapse (competing: death without relapse)",
    "NRM": "Non-relapse mortality (competing: relapse)",
    "PROS": "Post-relapse overall survival",
    "GRFS": "GVHD-free, relapse-free survival",
}


@dataclass(frozen=True)
class AnalysisDataset:
    """Every frame of the analysis dataset (docs/analysis-dataset.md defines each column).

    `patients`: one row per patient. `time_to_event`: ADTTE-like rows (patient, PARAMCD).
    `cycles`: one row per blinatumomab cycle. `mrd`: one row per MRD measurement.
    `adverse_events`: the recorded adverse events with `computed_grade` and `treatment_emergent`.
    `metadata`: origin, non_responder, as_of, data_cutoff, accrual_first/last, conventions (sentences for
    the report), unconfirmed_rules, treatment_emergent_window, baseline_mrd_method_rule.
    `relapses`: one row per relapse (classification, CD19, salvage therapy). `dose_steps`: planned and
    delivered daily dose by step, per cycle. `hsct_time_to_event`: ADTTE rows timed from the first HSCT
    after blinatumomab, whatever the origin. `responses`: one row per hematological response assessment
    (category, marrow blasts).
    """

    patients: pd.DataFrame
    time_to_event: pd.DataFrame
    cycles: pd.DataFrame
    mrd: pd.DataFrame
    adverse_events: pd.DataFrame
    metadata: MappingProxyType[str, object] = field(default_factory=lambda: MappingProxyType({}))
    # Always set by `derive`; None only in datasets built by hand (e.g. test fakes) that lack them.
    relapses: pd.DataFrame | None = None
    dose_steps: pd.DataFrame | None = None
    hsct_time_to_event: pd.DataFrame | None = None
    responses: pd.DataFrame | None = None

    def to_frames(self) -> dict[str, pd.DataFrame]:
        """All frames by name (metadata as a two-column frame: key, value), for export."""
        rows: list[dict[str, Any]] = []
        for key, value in self.metadata.items():
            if isinstance(value, (list, tuple)):
                rows.extend({"key": key, "value": str(item)} for item in value)
            else:
                rows.append({"key": key, "value": None if value is None else str(value)})
        frames = {
            "patients": self.patients,
            "time_to_event": self.time_to_event,
            "cycles": self.cycles,
            "mrd": self.mrd,
            "adverse_events": self.adverse_events,
            "relapses": self.relapses,
            "dose_steps": self.dose_steps,
            "hsct_time_to_event": self.hsct_time_to_event,
            "responses": self.responses,
        }
        out = {name: frame for name, frame in frames.items() if frame is not None}
        out["metadata"] = pd.DataFrame(rows, columns=["key", "value"])
        return out
