"""The one input-validation boundary of `blinareg.stats`.

Every estimator validates its arguments here, once, and then works on plain, trusted NumPy arrays.
The same argument names are used everywhere and appear in the error messages:

    time     follow-up (exit) time; float, finite, >= 0
    event    status code; 0 = censored, 1 = event (competing risks: 1..k = causes)
    entry    left-truncation (delayed entry) time; float, finite, entry < time
    weights  case weights; float, finite, >= 0
    group    comparison groups; any labels (ints, strings, categoricals, bools)
    strata   stratification variable; any labels
    cause    the event code of interest (competing risks); must occur in `event`

Inputs may be NumPy arrays, pandas Series, or anything `np.asarray` accepts. Invalid input raises
`SurvivalDataError`, which is both a `ValueError` (the conventional type for bad argument values)
and a `blinareg.errors.UserError` (so the CLI prints it as one line). Messages start with the
argument name, e.g. ``"time: 3 values are NaN (first at position 17)"``.

Public helpers, usable by every estimator in this package (Cox and Fine-Gray included):

    check_survival_data(time, event, *, entry, weights, group, strata, competing) -> SurvivalData
    check_cause(cause, event)                 -> int
    check_covariates(X, n, name="X")          -> (2-D float64 array, column names); Cox and Fine-Gray
    check_cluster(cluster, n)                 -> int64 cluster codes
    check_rho(rho, minimum=None), check_tau(tau), check_count(value, name)
    check_conf_level(conf_level)              -> float
    check_choice(value, name, choices)        -> str
    as_time(x, name), as_event(x, name, competing=...), as_weights(x, name), as_labels(x, name)

Validation is vectorised (a handful of reductions over each array) so that it stays a small part of
the cost of an estimator even at ten million subjects; arrays that are already of the right dtype
are not copied.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from blinareg.errors import UserError

__all__ = [
    "SurvivalDataError",
    "SurvivalData",
    "check_survival_data",
    "check_cause",
    "check_covariates",
    "check_cluster",
    "check_rho",
    "check_tau",
    "check_count",
    "check_conf_level",
    "check_choice",
    "as_time",
    "as_event",
    "as_weights",
    "as_labels",
]

# Relative tolerance for a covariate that is a linear combination of the others.
_COLLINEAR_TOL = 1e-10
# Integer labels spanning at most this many values are coded with a lookup table (O(n), no hashing).
_DENSE_LABEL_SPAN = 1 << 16


class SurvivalDataError(UserError, ValueError):
    """Invalid input to a survival estimator; the message starts with the offending argument name."""


@dataclass(frozen=True)
class SurvivalData:
    """Validated survival data, all arrays of length `n`.

    time:   float64, finite, >= 0 (a negative zero is accepted as 0).
    event:  int64 codes; 0/1, or 0..k when validated with ``competing=True``.
    entry:  float64 or None; finite and strictly below `time`.
    weights: float64 or None; finite and >= 0.
    group, strata: int64 codes 0..L-1 indexing `group_levels` / `strata_levels` (sorted labels),
        or None when the argument was not given.
    """

    time: np.ndarray
    event: np.ndarray
    entry: np.ndarray | None = None
    weights: np.ndarray | None = None
    group: np.ndarray | None = None
    group_levels: np.ndarray | None = None
    strata: np.ndarray | None = None
    strata_levels: np.ndarray | None = None

    @property
    def n(self) -> int:
        return int(self.time.shape[0])

    def grouping(self) -> tuple[np.ndarray, np.ndarray]:
        """(group codes, group levels) of data validated with ``require_group=True``."""
        if self.group is None or self.group_levels is None:
            raise _fail("group", "is required")
        return self.group, self.group_levels

    def stratum_members(self) -> list[slice | np.ndarray]:
        """The subjects of each stratum, as index or mask; one slice over all subjects without strata."""
        if self.strata is None or self.strata_levels is None:
            return [slice(None)]
        return [self.strata == s for s in range(len(self.strata_levels))]


def _fail(name: str, message: str) -> SurvivalDataError:
    return SurvivalDataError(f"{name}: {message}")


def _one_dimensional(x: Any, name: str) -> np.ndarray:
    if x is None:
        raise _fail(name, "is required")
    if isinstance(x, pd.DataFrame):
        if x.shape[1] != 1:
            raise _fail(name, f"expected one column, got a DataFrame with {x.shape[1]} columns")
        x = x.iloc[:, 0]
    if isinstance(x, (pd.Series, pd.Index)):
        if isinstance(x.dtype, pd.CategoricalDtype):
            return x  # type: ignore[return-value]  # handled by as_labels
        if x.hasnans:
            raise _fail(name, f"{int(np.sum(x.isna()))} values are missing")
        x = x.to_numpy()
    arr = np.asarray(x)
    if arr.ndim == 0:
        arr = arr.reshape(1)
    if arr.ndim != 1:
        raise _fail(name, f"expected a one-dimensional array, got shape {arr.shape}")
    return arr


def _first_position(mask: np.ndarray) -> int:
    return int(np.flatnonzero(mask)[0])


def _as_finite_float(x: Any, name: str) -> np.ndarray:
    arr = _one_dimensional(x, name)
    if isinstance(arr, pd.Series):
        raise _fail(name, "must be numeric, got a categorical")
    if arr.dtype == np.float64:
        values = arr
    elif arr.dtype.kind in "biuf":
        values = arr.astype(np.float64)
    else:
        try:
            values = arr.astype(np.float64)
        except (TypeError, ValueError):
            raise _fail(name, f"must be numeric, got dtype {arr.dtype}") from None
    if values.size:
        # Two reductions catch NaN (propagates through min) and +-inf; details only on failure.
        low, high = values.min(), values.max()
        if not (np.isfinite(low) and np.isfinite(high)):
            nan = np.isnan(values)
            if nan.any():
                raise _fail(name, f"{int(nan.sum())} values are NaN (first at position {_first_position(nan)})")
            inf = np.isinf(values)
            raise _fail(name, f"{int(inf.sum())} values are infinite (first at position {_first_position(inf)})")
    return values


def as_time(x: Any, name: str = "time") -> np.ndarray:
    """Finite, non-negative float64 times (no copy when already float64)."""
    values = _as_finite_float(x, name)
    if values.size and values.min() < 0:
        negative = values < 0
        raise _fail(
            name,
            f"{int(negative.sum())} values are negative (first {float(values[negative][0])} at position "
            f"{_first_position(negative)}); times must be >= 0",
        )
    return values


def as_event(x: Any, name: str = "event", *, competing: bool = False) -> np.ndarray:
    """int64 event codes: 0/1, or 0..k (0 = censored, 1..k = causes) when ``competing``.

    Booleans and integer-valued floats are accepted.
    """
    arr = _one_dimensional(x, name)
    if isinstance(arr, pd.Series):
        raise _fail(name, "must be numeric codes (0 = censored), got a categorical")
    if arr.dtype.kind == "b":
        return arr.astype(np.int64)
    if arr.dtype.kind in "iu":
        codes = arr.astype(np.int64, copy=False)
    elif arr.dtype.kind == "f":
        values = _as_finite_float(arr, name)
        codes = values.astype(np.int64)
        if values.size and not np.array_equal(codes, values):
            bad = codes != values
            raise _fail(
                name, f"codes must be whole numbers; got {float(values[bad][0])} at position {_first_position(bad)}"
            )
    else:
        raise _fail(name, f"must be numeric codes (0 = censored), got dtype {arr.dtype}")
    if codes.size:
        low, high = codes.min(), codes.max()
        if competing:
            if low < 0:
                bad = codes < 0
                raise _fail(
                    name,
                    f"codes must be 0 (censored) or 1..k (causes); got {codes[bad][0]} "
                    f"at position {_first_position(bad)}",
                )
        elif low < 0 or high > 1:
            bad = (codes < 0) | (codes > 1)
            raise _fail(
                name,
                f"codes must be 0 (censored) or 1 (event); got {codes[bad][0]} at position {_first_position(bad)}"
                " (use the competing-risks functions for several causes)",
            )
    return codes


def as_weights(x: Any, name: str = "weights") -> np.ndarray:
    """Finite, non-negative float64 case weights."""
    values = _as_finite_float(x, name)
    if values.size and values.min() < 0:
        bad = values < 0
        raise _fail(name, f"must be >= 0; got {float(values[bad][0])} at position {_first_position(bad)}")
    return values


def as_labels(x: Any, name: str) -> tuple[np.ndarray, np.ndarray]:
    """Code arbitrary labels as int64 0..L-1; returns (codes, levels) with levels sorted.

    Small-range integers use a lookup table, categoricals their own codes, anything else a hash
    factorisation, so coding is O(n) without a sort of the data. Missing labels are an error.
    """
    arr = _one_dimensional(x, name)
    if isinstance(arr, pd.Series):  # categorical
        if arr.isna().any():
            raise _fail(name, f"{int(arr.isna().sum())} values are missing")
        categorical = arr.cat.remove_unused_categories()
        if not categorical.cat.ordered:
            categorical = categorical.cat.reorder_categories(sorted(categorical.cat.categories))
        return categorical.cat.codes.to_numpy().astype(np.int64), np.asarray(categorical.cat.categories)
    if arr.size == 0:
        return np.zeros(0, dtype=np.int64), arr[:0]
    if arr.dtype.kind == "b":
        arr = arr.astype(np.int64)
    if arr.dtype.kind in "iu":
        low, high = int(arr.min()), int(arr.max())
        if high - low < _DENSE_LABEL_SPAN:
            shifted = arr - low if low != 0 else arr
            present = np.bincount(shifted, minlength=high - low + 1) > 0
            lookup = np.cumsum(present, dtype=np.int64) - 1
            return lookup[shifted], (np.flatnonzero(present) + low).astype(arr.dtype)
    if arr.dtype.kind == "f":
        nan = np.isnan(arr)
        if nan.any():
            raise _fail(name, f"{int(nan.sum())} values are NaN (first at position {_first_position(nan)})")
    codes, uniques = pd.factorize(arr, use_na_sentinel=True)
    if codes.size and codes.min() < 0:
        missing = codes < 0
        raise _fail(name, f"{int(missing.sum())} values are missing (first at position {_first_position(missing)})")
    try:
        order = np.argsort(uniques, kind="stable")
    except TypeError:  # mixed, unorderable labels: keep first-appearance order
        order = np.arange(len(uniques))
    rank = np.empty_like(order)
    rank[order] = np.arange(order.size)
    return rank[codes].astype(np.int64), np.asarray(uniques)[order]


def _check_length(arr: np.ndarray, name: str, n: int) -> None:
    if arr.shape[0] != n:
        raise _fail(name, f"has length {arr.shape[0]}, but time has length {n}")


def check_survival_data(
    time: Any,
    event: Any,
    *,
    entry: Any = None,
    weights: Any = None,
    group: Any = None,
    strata: Any = None,
    competing: bool = False,
    require_group: bool = False,
) -> SurvivalData:
    """Validate and coerce survival data; see the module docstring for the rules.

    `competing=True` accepts event codes 0..k; otherwise they must be 0/1. With
    `require_group=True` the group must be given and have at least two levels (tests comparing groups).
    """
    time_arr = as_time(time, "time")
    n = time_arr.shape[0]
    if n == 0:
        raise _fail("time", "is empty; at least one subject is needed")
    event_arr = as_event(event, "event", competing=competing)
    _check_length(event_arr, "event", n)

    entry_arr = None
    if entry is not None:
        entry_arr = _as_finite_float(entry, "entry")
        _check_length(entry_arr, "entry", n)
        late = entry_arr >= time_arr
        if late.any():
            i = _first_position(late)
            raise _fail(
                "entry",
                f"must be < time; {int(late.sum())} subjects enter at or after their exit "
                f"(first at position {i}: entry {float(entry_arr[i])}, time {float(time_arr[i])})",
            )

    weights_arr = None
    if weights is not None:
        weights_arr = as_weights(weights, "weights")
        _check_length(weights_arr, "weights", n)

    group_codes: np.ndarray | None = None
    group_levels: np.ndarray | None = None
    if group is not None:
        group_codes, group_levels = as_labels(group, "group")
        _check_length(group_codes, "group", n)
    if require_group:
        if group_codes is None or group_levels is None:
            raise _fail("group", "is required")
        if len(group_levels) < 2:
            raise _fail("group", f"needs at least two distinct groups to compare, got {len(group_levels)}")

    strata_codes = strata_levels = None
    if strata is not None:
        strata_codes, strata_levels = as_labels(strata, "strata")
        _check_length(strata_codes, "strata", n)

    return SurvivalData(
        time=time_arr,
        event=event_arr,
        entry=entry_arr,
        weights=weights_arr,
        group=group_codes,
        group_levels=group_levels,
        strata=strata_codes,
        strata_levels=strata_levels,
    )


def check_cause(cause: Any, event: np.ndarray) -> int:
    """The cause of interest as an int; it must be a positive code that occurs in `event`."""
    if isinstance(cause, (bool, np.bool_)) or not isinstance(cause, (int, np.integer, float, np.floating)):
        raise _fail("cause", f"must be an integer event code >= 1, got {cause!r}")
    if float(cause) != int(cause) or int(cause) < 1:
        raise _fail("cause", f"must be an integer event code >= 1 (0 means censored), got {cause!r}")
    code = int(cause)
    high = int(event.max()) if event.size else 0
    if code > high or not np.any(event == code):
        present = np.flatnonzero(np.bincount(event, minlength=1))
        causes = [int(c) for c in present if c > 0]
        raise _fail("cause", f"code {code} does not occur in event (causes present: {causes or 'none'})")
    return code


def check_covariates(X: Any, n: int, name: str = "X") -> tuple[np.ndarray, tuple[str, ...]]:
    """A finite float64 (n, p) matrix and its column names, or a ValueError naming the column.

    DataFrame: names from the columns (factors must be dummy-coded first); Series: its name;
    2-D array: x1..xp; 1-D array: one covariate x1. Rejects NaN/inf (naming column and row),
    constant columns and columns that are linear combinations of the others.
    """
    row_labels = None
    if isinstance(X, pd.Series):
        X = X.to_frame(name=X.name if X.name is not None else "x1")
    if isinstance(X, pd.DataFrame):
        names = tuple(str(c) for c in X.columns)
        row_labels = X.index
        bad = [str(c) for c, dtype in X.dtypes.items() if dtype.kind not in "biuf"]
        if bad:
            raise SurvivalDataError(
                f"{name}: column {bad[0]!r} is not numeric (dtype {X[bad[0]].dtype}); "
                "code factors as dummy columns first"
            )
        values = X.to_numpy(dtype=np.float64)
    else:
        values = np.asarray(X)
        if values.dtype.kind not in "biuf":
            raise SurvivalDataError(f"{name}: must be numeric, got dtype {values.dtype}")
        values = values.astype(np.float64, copy=False)
        if values.ndim == 1:
            values = values[:, None]
        if values.ndim != 2:
            raise SurvivalDataError(f"{name}: expected a 1-D or 2-D array, got shape {values.shape}")
        names = tuple(f"x{j + 1}" for j in range(values.shape[1]))
    if values.shape[1] == 0:
        raise SurvivalDataError(f"{name}: has no columns; at least one covariate is needed")
    if len(set(names)) != len(names):
        raise SurvivalDataError(f"{name}: column names must be unique, got {list(names)}")
    if values.shape[0] != n:
        raise SurvivalDataError(f"{name}: has {values.shape[0]} rows, but time has length {n}")
    if not np.isfinite(values.sum(axis=0)).all():
        rows, cols = np.nonzero(~np.isfinite(values))
        row, col = int(rows[0]), int(cols[0])
        label = f" (index label {row_labels[row]!r})" if row_labels is not None else ""
        kind = "NaN" if np.isnan(values[row, col]) else "infinite"
        raise SurvivalDataError(
            f"{name}: column {names[col]!r} has a {kind} value at row {row}{label}; "
            f"{int((~np.isfinite(values[:, col])).sum())} non-finite values in that column"
        )
    constant = np.flatnonzero(values.min(axis=0) == values.max(axis=0))
    if constant.size:
        raise SurvivalDataError(
            f"{name}: column {names[constant[0]]!r} is constant (value {values[0, constant[0]]!r}); "
            "its coefficient is not identifiable"
        )
    _check_collinearity(values, names, name)
    return values, names


def _check_collinearity(values: np.ndarray, names: tuple[str, ...], name: str) -> None:
    """Sequential Cholesky of the correlation matrix: a pivot that vanishes marks a redundant column."""
    p = values.shape[1]
    if p < 2:
        return
    centred = values - values.mean(axis=0)
    gram = centred.T @ centred
    scale = np.sqrt(np.diag(gram))
    corr = gram / np.outer(scale, scale)
    factor = np.zeros_like(corr)
    for j in range(p):
        pivot = corr[j, j] - factor[j, :j] @ factor[j, :j]
        if pivot <= _COLLINEAR_TOL:
            kept = [names[k] for k in range(j) if factor[k, k] > 0]
            raise SurvivalDataError(
                f"{name}: column {names[j]!r} is a linear combination of {kept} (collinear); "
                "drop it or a reference dummy column"
            )
        factor[j, j] = np.sqrt(pivot)
        factor[j + 1 :, j] = (corr[j + 1 :, j] - factor[j + 1 :, :j] @ factor[j, :j]) / factor[j, j]


def check_cluster(cluster: Any, n: int) -> np.ndarray:
    """Cluster ids (any labels) coded as int64 0..L-1, one per subject."""
    codes, _ = as_labels(cluster, "cluster")
    if codes.shape[0] != n:
        raise _fail("cluster", f"has length {codes.shape[0]}, but time has length {n}")
    return codes


def check_rho(rho: Any, *, minimum: float | None = None) -> float:
    """The G-rho weight exponent as a finite float (>= `minimum` when given)."""
    bound = "" if minimum is None else f" >= {minimum:g}"
    try:
        value = float(rho)
    except (TypeError, ValueError):
        raise _fail("rho", f"must be a number{bound}, got {rho!r}") from None
    if not np.isfinite(value) or (minimum is not None and value < minimum):
        raise _fail("rho", f"must be a finite number{bound}, got {rho!r}")
    return value


def check_tau(tau: Any) -> float:
    """A restriction time (RMST horizon): a finite number > 0."""
    try:
        value = float(tau)
    except (TypeError, ValueError):
        raise _fail("tau", f"must be a number > 0, got {tau!r}") from None
    if not np.isfinite(value) or value <= 0:
        raise _fail("tau", f"must be a finite number > 0, got {tau!r}")
    return value


def check_count(value: Any, name: str) -> int:
    """A whole number (an int, or an integer-valued float); booleans are refused."""
    if isinstance(value, (bool, np.bool_)):
        raise _fail(name, f"must be a whole number, got {value!r}")
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise _fail(name, f"must be a whole number, got {value!r}") from None
    if not np.isfinite(number) or number != int(number):
        raise _fail(name, f"must be a whole number, got {value!r}")
    return int(number)


def check_conf_level(conf_level: Any) -> float:
    """A confidence level strictly between 0 and 1."""
    try:
        level = float(conf_level)
    except (TypeError, ValueError):
        raise _fail("conf_level", f"must be a number in (0, 1), got {conf_level!r}") from None
    if not 0.0 < level < 1.0:
        raise _fail("conf_level", f"must be in (0, 1), got {conf_level!r}")
    return level


def check_choice(value: Any, name: str, choices: Sequence[str]) -> str:
    """`value` if it is one of `choices`, otherwise an error listing them."""
    if value not in choices:
        raise _fail(name, f"must be one of {list(choices)}, got {value!r}")
    return str(value)
