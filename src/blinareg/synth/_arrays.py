"""Array helpers of the synthetic generator: day numbers, group expansion, canonical frames.

Dates are held as int64 day numbers (days since 1970-01-01) while generating; `NO_DATE` (the int64
minimum, which is NumPy's NaT) marks a missing date, so that ``days.view("datetime64[D]")`` is the
date column directly. Record frames are built column by column with the canonical dtypes of
`blinareg.records.registry` (dates ``datetime64[ns]``, booleans ``boolean``, ints ``Int64``, floats
``float64``, text ``object`` holding ``str`` or ``None``).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping

import numpy as np
import pandas as pd

from blinareg.records.models import Record
from blinareg.records.registry import shared_strings, storage_columns

NO_DATE = np.iinfo(np.int64).min
_EPOCH = dt.date(1970, 1, 1)


def day_number(day: dt.date) -> int:
    return (day - _EPOCH).days


def expand(counts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """For per-owner `counts`: the owner index of every child row and its 0-based ordinal in the owner."""
    counts = np.asarray(counts, dtype=np.int64)
    owner = np.repeat(np.arange(len(counts)), counts)
    starts = np.cumsum(counts) - counts
    ordinal = np.arange(len(owner), dtype=np.int64) - starts[owner]
    return owner, ordinal


def group_max(owner: np.ndarray, values: np.ndarray, n_owners: int, initial: int = NO_DATE) -> np.ndarray:
    out = np.full(n_owners, initial, dtype=np.int64)
    if len(owner):
        np.maximum.at(out, owner, values)
    return out


def group_min(owner: np.ndarray, values: np.ndarray, n_owners: int, initial: int) -> np.ndarray:
    out = np.full(n_owners, initial, dtype=np.int64)
    if len(owner):
        np.minimum.at(out, owner, values)
    return out


def choice(rng: np.random.Generator, probabilities: np.ndarray, size: int | None = None) -> np.ndarray:
    """Category index per row from a probability vector (1-D) or one vector per row (2-D)."""
    p = np.asarray(probabilities, dtype=float)
    if p.ndim == 1:
        return rng.choice(len(p), size=size, p=p / p.sum())
    cumulative = np.cumsum(p / p.sum(axis=1, keepdims=True), axis=1)
    u = rng.random(len(p))[:, None]
    return np.minimum((u > cumulative).sum(axis=1), p.shape[1] - 1)


def uniform_int(rng: np.random.Generator, low, high) -> np.ndarray:
    """Integers uniform on [low, high] (both included), elementwise."""
    low = np.asarray(low, dtype=np.int64)
    high = np.asarray(high, dtype=np.int64)
    return low + np.floor(rng.random(np.broadcast(low, high).shape) * (high - low + 1)).astype(np.int64)


def lognormal_days(rng: np.random.Generator, median: float, sigma: float, low: int, high: int, size: int) -> np.ndarray:
    values = np.exp(np.log(median) + sigma * rng.standard_normal(size))
    return np.clip(np.round(values), low, high).astype(np.int64)


def _date_column(days: np.ndarray) -> np.ndarray:
    return np.asarray(days, dtype=np.int64).view("datetime64[D]").astype("datetime64[ns]")


def owned_frame(
    model: type[Record], ids: np.ndarray, table: Mapping[str, np.ndarray], fields: Mapping[str, str], **columns: object
) -> pd.DataFrame:
    """The frame of `model` from one of the generator's row tables (owner positions in `table["pid"]`):
    each of `fields` read from its key in `table`, `columns` given as they are."""
    data: dict[str, object] = {"patient_id": ids[table["pid"]]}
    data.update({name: table[key] for name, key in fields.items()})
    data.update(columns)
    return frame(model, data, len(table["pid"]))


def frame(model: type[Record], data: dict[str, object], n: int) -> pd.DataFrame:
    """A record frame with the canonical columns and dtypes.

    `data` maps field names to arrays (missing fields are all-missing). Dates are day numbers with
    `NO_DATE`; ints may be given as a pair (values, missing_mask); booleans as a bool array or a pair
    (values, missing_mask); floats use NaN; text is an object array (``None`` for missing) or one str.
    """
    out: dict[str, object] = {}
    for column in storage_columns(model):
        value = data.get(column.name)
        if column.kind == "date":
            out[column.name] = (
                _date_column(value) if value is not None else np.full(n, np.datetime64("NaT"), dtype="datetime64[ns]")
            )
        elif column.kind in ("int", "bool"):
            if value is None:
                values, mask = np.zeros(n, dtype=np.int64 if column.kind == "int" else bool), np.ones(n, dtype=bool)
            elif isinstance(value, tuple):
                values, mask = value
            else:
                values, mask = value, np.zeros(n, dtype=bool)
            if column.kind == "int":
                out[column.name] = pd.arrays.IntegerArray(
                    np.asarray(values, dtype=np.int64), np.asarray(mask, dtype=bool)
                )
            else:
                out[column.name] = pd.arrays.BooleanArray(np.asarray(values, dtype=bool), np.asarray(mask, dtype=bool))
        elif column.kind == "float":
            out[column.name] = np.full(n, np.nan) if value is None else np.asarray(value, dtype=np.float64)
        else:
            if value is None:
                out[column.name] = np.full(n, None, dtype=object)
            elif isinstance(value, str):
                out[column.name] = np.full(n, value, dtype=object)
            else:
                out[column.name] = shared_strings(np.asarray(value, dtype=object))
    return pd.DataFrame(out, index=pd.RangeIndex(n))


def codes(values: list[str | None]) -> np.ndarray:
    """An object array of codes, for fancy-indexing category numbers into a text column."""
    array = np.empty(len(values), dtype=object)
    array[:] = values
    return array
