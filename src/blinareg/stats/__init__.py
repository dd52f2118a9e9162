"""Survival and competing-risks statistics, numerically equal to R survival / cmprsk.

Every estimator is a plain function on arrays that returns a frozen result object whose arrays are
read-only; printing and plotting live in `blinareg.report`. The estimators live in private submodules
(`_kaplan_meier`, `_cox`, ...), so a public name here is always the function or class, never a module
that happens to share its name. `import blinareg` does not import this package (it loads NumPy and
SciPy); the CLI imports it only in the commands that analyse data.
"""

from __future__ import annotations

from blinareg.stats._binomial import BinomialResult, binomial_ci
from blinareg.stats._checks import SurvivalDataError
from blinareg.stats._competing_risks import (
    CumulativeIncidenceResult,
    GrayTestResult,
    LandmarkIncidence,
    cumulative_incidence,
    gray_test,
)
from blinareg.stats._counted import (
    CountTable,
    cumulative_incidence_from_counts,
    gray_from_counts,
    kaplan_meier_from_counts,
    logrank_from_counts,
)
from blinareg.stats._cox import CoxResult, concordance_index, cox_partial_likelihood, cox_ph
from blinareg.stats._cox_zph import CoxZphResult, cox_zph
from blinareg.stats._fine_gray import FineGrayResult, fine_gray
from blinareg.stats._kaplan_meier import (
    KaplanMeierResult,
    LandmarkSurvival,
    MedianFollowupResult,
    kaplan_meier,
    median_followup,
)
from blinareg.stats._logrank import LogrankResult, logrank_test
from blinareg.stats._results import ChiSquareTest, CoefficientTable, ConvergenceWarning
from blinareg.stats._rmst import RmstResult, rmst

__all__ = [
    "BinomialResult",
    "ChiSquareTest",
    "CoefficientTable",
    "ConvergenceWarning",
    "CountTable",
    "CoxResult",
    "CoxZphResult",
    "CumulativeIncidenceResult",
    "FineGrayResult",
    "GrayTestResult",
    "KaplanMeierResult",
    "LandmarkIncidence",
    "LandmarkSurvival",
    "LogrankResult",
    "MedianFollowupResult",
    "RmstResult",
    "SurvivalDataError",
    "binomial_ci",
    "concordance_index",
    "cox_partial_likelihood",
    "cox_ph",
    "cox_zph",
    "cumulative_incidence",
    "cumulative_incidence_from_counts",
    "fine_gray",
    "gray_from_counts",
    "gray_test",
    "kaplan_meier",
    "kaplan_meier_from_counts",
    "logrank_from_counts",
    "logrank_test",
    "median_followup",
    "rmst",
]
