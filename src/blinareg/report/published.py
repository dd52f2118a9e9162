"""Published blinatumomab outcomes beside the center's: the data file and the matching of populations.

`report/data/published_outcomes.csv` holds only numbers read from the publications themselves (each row
names its DOI and, in `source_note`, the abstract sentence or table row that states the number); where a
paper gives counts, the exact (Clopper-Pearson) interval is computed from them, and a paper's own interval
is used where it gives one. The center's cohort is matched
by population: relapsed/refractory patients with the pediatric relapsed reports (adults with TOWER; first
relapse with AALL1331 and, at high IntReALL risk under 18, with 20120215), MRD-positive patients (MRD
clearance) with the MRD reports (adults with BLAST), consolidation in adults with E1910, transplanted
patients (timed from HSCT) with the reports of blinatumomab before HSCT.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from importlib import resources

__all__ = ["PublishedOutcome", "published_outcomes", "POPULATION_MATCH", "ENDPOINT_WORDS"]

# Published population -> (what the center's matching patients are, in words).
POPULATION_MATCH = {
    "pediatric_relapsed": "relapsed/refractory indication",
    "pediatric_relapsed_refractory": "relapsed/refractory indication",
    "mrd_positive": "MRD-clearance indication",
    "consolidation_before_hsct": "transplanted after blinatumomab (timed from HSCT)",
    "adult_relapsed_refractory": "relapsed/refractory indication, aged 18 or older",
    "adult_mrd_positive": "MRD-clearance indication, aged 18 or older",
    "children_aya_first_relapse": "relapsed/refractory indication in first relapse, aged under 31",
    "pediatric_high_risk_first_relapse": (
        "relapsed/refractory indication in first relapse, high IntReALL risk, aged under 18"
    ),
    "adult_mrd_negative_consolidation": "consolidation indication, aged 18 or older",
}
ENDPOINT_WORDS = {
    "cr_rate": "CR/CRh/CRi",
    "response_rate": "Response",
    "mrd_negative_rate": "Complete MRD response",
    "OS": "Overall survival",
    "DFS": "Disease-free survival",
    "NRM": "Non-relapse mortality",
}


@dataclass(frozen=True)
class PublishedOutcome:
    study: str
    population: str
    n: int
    endpoint: str
    time_point_months: float | None
    x: int | None
    estimate: float | None  # as published (fraction), or None when only counts are given
    lower: float | None  # the paper's own interval, when it gives one
    upper: float | None
    citation: str
    doi: str
    source_note: str  # where the publication states the number (abstract sentence or table row)


def _number(text: str) -> float | None:
    return float(text) if text.strip() else None


def published_outcomes() -> tuple[PublishedOutcome, ...]:
    """Every row of the packaged data file."""
    text = resources.files("blinareg.report").joinpath("data/published_outcomes.csv").read_text(encoding="utf-8")
    rows = []
    for row in csv.DictReader(io.StringIO(text)):
        x = _number(row["x"])
        rows.append(
            PublishedOutcome(
                study=row["study"],
                population=row["population"],
                n=int(row["n"]),
                endpoint=row["endpoint"],
                time_point_months=_number(row["time_point_months"]),
                x=None if x is None else int(x),
                estimate=_number(row["estimate"]),
                lower=_number(row["lower"]),
                upper=_number(row["upper"]),
                citation=row["citation"],
                doi=row["doi"],
                source_note=row["source_note"],
            )
        )
    return tuple(rows)
