"""Result types and arithmetic shared by the estimators: the chi-square test, the coefficient table of
Cox and Fine-Gray models, the normal quantile of a confidence level, and read-only result arrays."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np
from scipy.special import chdtrc, ndtr, ndtri

if TYPE_CHECKING:
    import pandas as pd

__all__ = [
    "ChiSquareTest",
    "CoefficientTable",
    "CoefficientColumns",
    "ConvergenceWarning",
    "FrameColumns",
    "z_quantile",
    "read_only",
]


def z_quantile(conf_level: float) -> float:
    """Two-sided standard-normal quantile of a confidence level, R's ``qnorm(1 - (1 - conf_level) / 2)``."""
    return float(-ndtri((1.0 - conf_level) / 2.0))


def read_only(array: np.ndarray) -> np.ndarray:
    """`array` with its write flag cleared, so a frozen result cannot be changed through its arrays."""
    array = np.asarray(array)
    array.flags.writeable = False
    return array


class FrameColumns:
    """`to_frame` for a result whose arrays are the columns of one table.

    frame_columns: the column names in order; "column=attribute" where the attribute is named otherwise.
    """

    frame_columns: ClassVar[tuple[str, ...]]

    def to_frame(self) -> pd.DataFrame:
        import pandas as pd

        columns = {}
        for spec in self.frame_columns:
            column, _, attribute = spec.partition("=")
            columns[column] = getattr(self, attribute or column)
        return pd.DataFrame(columns)


@dataclass(frozen=True)
class ChiSquareTest:
    """A chi-square test: statistic, degrees of freedom and upper-tail p-value.

    The log-rank and Gray test results extend it with their scores; Cox models carry three of them.
    """

    statistic: float
    df: int
    p_value: float

    @classmethod
    def from_statistic(cls, statistic: float, df: int) -> ChiSquareTest:
        """The test of `statistic` on `df` degrees of freedom; p-value NaN when df < 1 or the statistic is NaN."""
        p_value = float(chdtrc(df, statistic)) if df >= 1 and np.isfinite(statistic) else float("nan")
        return cls(float(statistic), int(df), p_value)


@dataclass(frozen=True)
class CoefficientTable:
    """Coefficients of a proportional-hazards model (Cox or Fine-Gray), one entry per covariate.

    coef, se: estimates and standard errors; z = coef / se and its two-sided normal p-value;
    hazard_ratio = exp(coef) with the Wald interval exp(coef -+ z_(1+conf_level)/2 * se).
    Every array is read-only.
    """

    names: tuple[str, ...]
    coef: np.ndarray
    se: np.ndarray
    z: np.ndarray
    p_value: np.ndarray
    hazard_ratio: np.ndarray
    hr_lower: np.ndarray
    hr_upper: np.ndarray
    conf_level: float

    @classmethod
    def from_estimates(
        cls, names: tuple[str, ...], coef: np.ndarray, se: np.ndarray, conf_level: float
    ) -> CoefficientTable:
        """The table of Wald statistics of `coef` with standard errors `se`."""
        z = coef / se
        crit = z_quantile(conf_level)
        with np.errstate(over="ignore"):  # a diverging coefficient gives an infinite ratio, not a warning
            hazard_ratio, lower, upper = np.exp(coef), np.exp(coef - crit * se), np.exp(coef + crit * se)
        p_value = 2.0 * ndtr(-np.abs(z))
        return cls(
            names=tuple(names),
            coef=read_only(coef),
            se=read_only(se),
            z=read_only(z),
            p_value=read_only(p_value),
            hazard_ratio=read_only(hazard_ratio),
            hr_lower=read_only(lower),
            hr_upper=read_only(upper),
            conf_level=float(conf_level),
        )

    def to_frame(self) -> pd.DataFrame:
        """One row per covariate: coef, se, z, p_value, hazard_ratio, hr_lower, hr_upper."""
        import pandas as pd

        return pd.DataFrame(
            {
                "coef": self.coef,
                "se": self.se,
                "z": self.z,
                "p_value": self.p_value,
                "hazard_ratio": self.hazard_ratio,
                "hr_lower": self.hr_lower,
                "hr_upper": self.hr_upper,
            },
            index=pd.Index(self.names, name="covariate"),
        )


def _column(name: str, doc: str) -> Any:
    return property(lambda self: getattr(self.coefficients, name), doc=doc)


class CoefficientColumns:
    """The columns of `coefficients` as attributes of a model result (``fit.coef``, ``fit.se`` ...)."""

    coefficients: CoefficientTable
    coef: np.ndarray = _column("coef", "coefficients.coef")
    se: np.ndarray = _column("se", "coefficients.se")
    z: np.ndarray = _column("z", "coefficients.z")
    p_value: np.ndarray = _column("p_value", "coefficients.p_value")
    hazard_ratio: np.ndarray = _column("hazard_ratio", "coefficients.hazard_ratio")
    hr_lower: np.ndarray = _column("hr_lower", "coefficients.hr_lower")
    hr_upper: np.ndarray = _column("hr_upper", "coefficients.hr_upper")
    covariate_names: tuple[str, ...] = _column("names", "coefficients.names")


class ConvergenceWarning(UserWarning):
    """The Newton-Raphson iteration did not converge or a coefficient is drifting to infinity."""
