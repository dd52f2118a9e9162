"""Records -> the analysis dataset: the contract between capture and analysis (docs/analysis-dataset.md).

Pure (no I/O), column-wise on the registry frames. `derive(registry, origin=..., non_responder=...,
rules=..., as_of=...)` returns a frozen `AnalysisDataset`.
"""

from blinareg.derive.core import derive
from blinareg.derive.dataset import NON_RESPONDER_DEFINITIONS, ORIGINS, PARAMCDS, AnalysisDataset

__all__ = ["derive", "AnalysisDataset", "ORIGINS", "NON_RESPONDER_DEFINITIONS", "PARAMCDS"]
