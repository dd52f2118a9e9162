"""Confidence intervals for a binomial proportion (response rates), equal to R binom.test / prop.test."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.stats import beta

from blinareg.stats._checks import SurvivalDataError, check_choice, check_conf_level, check_count
from blinareg.stats._results import z_quantile

__all__ = ["binomial_ci", "BinomialResult"]

METHODS = ("exact", "wilson")


@dataclass(frozen=True)
class BinomialResult:
    """A proportion x/n with its two-sided confidence interval.

    method "exact": Clopper-Pearson, R ``binom.test(x, n, conf.level=)$conf.int``;
    method "wilson": the score interval, R ``prop.test(x, n, conf.level=, correct=FALSE)$conf.int``.
    """

    x: int
    n: int
    proportion: float
    lower: float
    upper: float
    method: str
    conf_level: float


def binomial_ci(x: int, n: int, *, conf_level: float = 0.95, method: str = "exact") -> BinomialResult:
    """Proportion x/n with a Clopper-Pearson ("exact") or Wilson score ("wilson") interval.

    Parameters
    ----------
    x : int
        Number of successes, 0 <= x <= n.
    n : int
        Number of trials, >= 1.
    conf_level : float
        Confidence level in (0, 1).
    method : {"exact", "wilson"}
        Clopper-Pearson (R ``binom.test``) or Wilson score (R ``prop.test(correct = FALSE)``).

    Returns
    -------
    BinomialResult
        ``proportion``, ``lower``, ``upper``.

    References
    ----------
    Clopper CJ, Pearson ES. The use of confidence or fiducial limits illustrated in the case of the
    binomial. Biometrika 1934;26:404-413. Wilson EB. J Am Stat Assoc 1927;22:209-212.

    Examples
    --------
    >>> result = binomial_ci(7, 20)
    >>> result.proportion, round(result.lower, 4), round(result.upper, 4)
    (0.35, 0.1539, 0.5922)
    """
    successes = check_count(x, "x")
    trials = check_count(n, "n")
    if trials < 1:
        raise SurvivalDataError(f"n: must be >= 1, got {trials}")
    if not 0 <= successes <= trials:
        raise SurvivalDataError(f"x: must be between 0 and n = {trials}, got {successes}")
    method = check_choice(method, "method", METHODS)
    level = check_conf_level(conf_level)
    proportion = successes / trials
    alpha = 1.0 - level
    if method == "exact":
        # binom.test: qbeta(alpha/2, x, n - x + 1) and qbeta(1 - alpha/2, x + 1, n - x), 0 / 1 at the ends.
        lower = 0.0 if successes == 0 else float(beta.ppf(alpha / 2, successes, trials - successes + 1))
        upper = 1.0 if successes == trials else float(beta.ppf(1 - alpha / 2, successes + 1, trials - successes))
    else:
        # prop.test(correct = FALSE), written as R writes it (z22n = z^2 / (2n)).
        z = z_quantile(level)
        z22n = z * z / (2 * trials)
        spread = z * np.sqrt(proportion * (1 - proportion) / trials + z22n / (2 * trials))
        upper = 1.0 if proportion >= 1 else (proportion + z22n + spread) / (1 + 2 * z22n)
        lower = 0.0 if proportion <= 0 else (proportion + z22n - spread) / (1 + 2 * z22n)
        lower, upper = max(lower, 0.0), min(upper, 1.0)
    return BinomialResult(
        x=successes,
        n=trials,
        proportion=proportion,
        lower=float(lower),
        upper=float(upper),
        method=method,
        conf_level=level,
    )
