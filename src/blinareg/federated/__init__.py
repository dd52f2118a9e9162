"""Federated analysis across centers: no patient-level data leaves a center.

Each center runs `aggregate` on its own analysis dataset and sends the counts (a JSON file that states
what it discloses); the coordinator runs `pool` on the files. Kaplan-Meier, cumulative incidence,
log-rank and Gray's test are finished from the pooled counts (`blinareg.stats` count functions), so on
the exact grid they equal the analysis of the pooled registry. The Cox model stratified by center is
fitted by Newton-Raphson over files: each round every center sends its log partial likelihood, score
and information at the coordinator's coefficients (`cox`). No I/O here: the CLI reads and writes.
See docs/scale.md.
"""

from __future__ import annotations

from blinareg.federated.aggregate import AGGREGATE_SCHEMA, SCHEMA_VERSION, aggregate
from blinareg.federated.cox import COX_SCHEMA, center_contribution, coordinator_round, start_rounds
from blinareg.federated.pool import POOLED_SCHEMA, check_aggregate, pool

__all__ = [
    "AGGREGATE_SCHEMA",
    "COX_SCHEMA",
    "POOLED_SCHEMA",
    "SCHEMA_VERSION",
    "aggregate",
    "center_contribution",
    "check_aggregate",
    "coordinator_round",
    "pool",
    "start_rounds",
]
