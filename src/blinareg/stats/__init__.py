"""Survival and competing-risks statistics, numerically equal to R survival / cmprsk.

Every estimator is a plain function on arrays that returns a frozen result object; printing and
plotting live in `blinareg.report`. Submodules are imported on first use so that `import blinareg`
stays fast for the CLI.
"""

from __future__ import annotations

import importlib
from typing import Any

_PUBLIC = {
    "kaplan_meier": "kaplan_meier",
    "KaplanMeierResult": "kaplan_meier",
    "median_followup": "kaplan_meier",
    "MedianFollowupResult": "kaplan_meier",
    "logrank_test": "logrank",
    "LogrankResult": "logrank",
    "cumulative_incidence": "competing_risks",
    "CumulativeIncidenceResult": "competing_risks",
    "gray_test": "competing_risks",
    "GrayTestResult": "competing_risks",
    "cox_ph": "cox",
    "CoxResult": "cox",
    "fine_gray": "fine_gray",
    "FineGrayResult": "fine_gray",
    "binomial_ci": "binomial",
    "BinomialResult": "binomial",
    "rmst": "rmst",
    "RmstResult": "rmst",
}

__all__ = sorted(_PUBLIC)


def __getattr__(name: str) -> Any:
    module = _PUBLIC.get(name)
    if module is None:
        raise AttributeError(f"module 'blinareg.stats' has no attribute {name!r}")
    loaded = importlib.import_module(f"blinareg.stats.{module}")
    # Bind every public name of that module now: importing `blinareg.stats.fine_gray` sets the package
    # attribute `fine_gray` to the submodule, which must not shadow the function of the same name.
    for public_name, owner in _PUBLIC.items():
        if owner == module:
            globals()[public_name] = getattr(loaded, public_name)
    return globals()[name]


def __dir__() -> list[str]:
    return __all__
