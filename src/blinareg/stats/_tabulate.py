"""Counting kernel shared by the non-parametric estimators: exits per distinct time and code.

Every estimator in this package (Kaplan-Meier, log-rank, Aalen-Johansen, Gray's test) needs the same
table: for each distinct exit time (ascending), how many subjects (or how much case weight) leave the
risk set with each code, where a code combines the event type and, for tests, the group
(``code = group * n_event_codes + event``). Everything else is cumulative sums over that table.

Building the table is the only super-linear step, so it picks the cheapest exact method:

1. whole-number times in a modest range (e.g. follow-up in whole days): one `np.bincount` over
   ``time * n_codes + code``, no sort at all;
2. otherwise, unweighted: the IEEE-754 bit pattern of a non-negative double is an order-preserving
   integer, so the time bits (rebased to the observed range) and the code are packed into one int64
   and sorted with `np.sort` (a value sort, much faster than `np.argsort`); runs of equal keys
   give the counts;
3. otherwise (case weights, or a time range too wide to leave room for the code bits):
   `np.unique(..., return_inverse=True)` and a weighted `np.bincount`.

All three are exact; they differ only in speed. No path loops over subjects or times in Python.
"""

from __future__ import annotations

import numpy as np

# Whole-number path: accept a bincount table of up to this many cells per subject (or 2**22 cells).
_DENSE_CELLS_PER_SUBJECT = 4
_DENSE_MIN_CELLS = 1 << 22


def tabulate(
    time: np.ndarray, code: np.ndarray, n_codes: int, weights: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Distinct times (ascending) and an (m, n_codes) float64 table of exits per time and code.

    `time` must be validated (finite, >= 0); `code` integers in [0, n_codes); `weights` optional.
    """
    n = time.shape[0]
    if n == 0:
        return np.zeros(0), np.zeros((0, n_codes))
    code = code.astype(np.int64, copy=False)
    low, high = float(time.min()), float(time.max())
    if low == high:  # a single distinct time (also covers n == 1)
        return np.array([high + 0.0]), np.bincount(code, weights=weights, minlength=n_codes)[None, :].astype(
            np.float64
        )
    dense = _tabulate_whole_numbers(time, code, n_codes, weights, high)
    if dense is not None:
        return dense
    if weights is None:
        packed = _tabulate_packed(time, code, n_codes, low)
        if packed is not None:
            return packed
    return _tabulate_general(time, code, n_codes, weights)


def _tabulate_whole_numbers(time, code, n_codes, weights, high):
    cells = (int(high) + 1) * n_codes
    if high >= 2**53 or cells > max(_DENSE_CELLS_PER_SUBJECT * time.shape[0], _DENSE_MIN_CELLS):
        return None
    # A cheap look at a prefix rejects continuous data before the full check.
    head = time[:1024]
    if not np.array_equal(head, np.floor(head)):
        return None
    whole = time.astype(np.int64)
    if not np.array_equal(whole, time):
        return None
    whole *= n_codes
    whole += code
    table = np.bincount(whole, weights=weights, minlength=cells).reshape(-1, n_codes)
    del whole
    present = np.flatnonzero(table.any(axis=1))
    return present.astype(np.float64), table[present].astype(np.float64, copy=False)


def _tabulate_packed(time, code, n_codes, low):
    shift = (int(n_codes) - 1).bit_length()
    bits = time.view(np.int64)
    if low > 0:
        base = int(np.float64(low).view(np.int64))
        key = bits - base
        zero_mapped = False
    else:
        positive = time > 0
        smallest_positive = time.min(where=positive, initial=np.inf)
        # Zero (and -0.0, whose bit pattern is negative) maps to key 0; positives to 1.. so the
        # large empty gap between 0 and the smallest positive time does not use up key bits.
        base = int(np.float64(smallest_positive).view(np.int64)) - 1
        key = bits - base
        key *= positive
        del positive
        zero_mapped = True
    top = int(np.float64(time.max()).view(np.int64)) - base
    if top >= 1 << (63 - shift):
        return None
    if shift:
        np.left_shift(key, shift, out=key)
        np.bitwise_or(key, code, out=key)
    key.sort()
    n = key.shape[0]
    change = np.flatnonzero(key[1:] != key[:-1])
    starts = np.empty(change.shape[0] + 1, dtype=np.int64)
    starts[0] = 0
    np.add(change, 1, out=starts[1:])
    del change
    run_length = np.diff(starts, append=n).astype(np.float64)
    unique_keys = key[starts]
    del key, starts
    time_keys = unique_keys >> shift
    new_time = np.empty(time_keys.shape[0], dtype=bool)
    new_time[0] = True
    np.not_equal(time_keys[1:], time_keys[:-1], out=new_time[1:])
    row = np.cumsum(new_time) - 1
    m = int(row[-1]) + 1
    table = np.zeros((m, n_codes))
    if shift:
        table[row, unique_keys & ((1 << shift) - 1)] = run_length
    else:
        table[row, 0] = run_length
    distinct_bits = time_keys[new_time] + base
    if zero_mapped and time_keys[0] == 0:
        distinct_bits[0] = 0
    return distinct_bits.view(np.float64), table


def _tabulate_general(time, code, n_codes, weights):
    distinct, row = np.unique(time, return_inverse=True)
    cell = row.reshape(-1) * n_codes + code
    table = np.bincount(cell, weights=weights, minlength=distinct.shape[0] * n_codes)
    return distinct + 0.0, table.reshape(-1, n_codes).astype(np.float64, copy=False)
