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

`tabulate` returns that full (times x codes) float64 table. The unweighted estimators use
`exit_table` instead, which returns only what they need (counts at the distinct event times, or at
every time for Kaplan-Meier) and, on the sorted path, gets them from the sorted keys with int32
prefix counts, without building the table or any float64 per-subject array (see its docstring).
"""

from __future__ import annotations

import sys
from typing import NamedTuple

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
        return np.array([high + 0.0]), np.bincount(code, weights=weights, minlength=n_codes)[None, :].astype(np.float64)
    dense = _tabulate_whole_numbers(time, code, n_codes, weights, high)
    if dense is not None:
        return dense
    if weights is None:
        packed = _tabulate_packed(time, code, n_codes, low)
        if packed is not None:
            return packed
    return _tabulate_general(time, code, n_codes, weights)


def _tabulate_whole_numbers(
    time: np.ndarray, code: np.ndarray, n_codes: int, weights: np.ndarray | None, high: float
) -> tuple[np.ndarray, np.ndarray] | None:
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


def _sorted_keys(
    time: np.ndarray, code: np.ndarray, n_codes: int, low: float, high: float
) -> tuple[np.ndarray, int, int, bool] | None:
    """Sorted int64 keys ``(time rank bits << shift) | code``, or None when the time range is too wide.

    The IEEE-754 bit pattern of a non-negative double is an order-preserving integer; rebasing it to
    the observed range leaves the low bits free for the code. Returns (keys, shift, base, zero_mapped):
    a key's time part plus `base` is the time's bit pattern, except that with `zero_mapped` the time
    part 0 stands for the time 0.
    """
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
    top = int(np.float64(high).view(np.int64)) - base
    if top >= 1 << (63 - shift):
        return None
    if shift:
        np.left_shift(key, shift, out=key)
        np.bitwise_or(key, code, out=key)
    key.sort()
    return key, shift, base, zero_mapped


def _split_keys(key: np.ndarray, shift: int) -> np.ndarray:
    """Codes of sorted keys (a new small-integer array); `key` is turned into its time part in place."""
    mask = (1 << shift) - 1
    if shift <= 8 and sys.byteorder == "little":
        # The low byte of each key, read through a strided view: no 64-bit temporary.
        code = np.bitwise_and(key.view(np.uint8)[::8], np.uint8(mask))
    else:
        code = key & mask
    if shift:
        np.right_shift(key, shift, out=key)
    return code


def _distinct_time_values(time_key: np.ndarray, base: int, zero_mapped: bool) -> np.ndarray:
    bits = time_key + base
    if zero_mapped and time_key[0] == 0:
        bits[0] = 0
    return bits.view(np.float64)


def _tabulate_packed(
    time: np.ndarray, code: np.ndarray, n_codes: int, low: float
) -> tuple[np.ndarray, np.ndarray] | None:
    keys = _sorted_keys(time, code, n_codes, low, float(time.max()))
    if keys is None:
        return None
    key, shift, base, zero_mapped = keys
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
    return _distinct_time_values(time_keys[new_time], base, zero_mapped), table


def _tabulate_general(
    time: np.ndarray, code: np.ndarray, n_codes: int, weights: np.ndarray | None
) -> tuple[np.ndarray, np.ndarray]:
    distinct, row = np.unique(time, return_inverse=True)
    cell = row.reshape(-1) * n_codes + code
    table = np.bincount(cell, weights=weights, minlength=distinct.shape[0] * n_codes)
    return distinct + 0.0, table.reshape(-1, n_codes).astype(np.float64, copy=False)


class ExitTable(NamedTuple):
    """Exits per distinct time, reduced to what the estimators and tests use (see `exit_table`).

    time, at_risk_all, exits: per distinct exit time (``grid=True`` only, else None).
    event_row: the rows of `time` with at least one event (``grid=True`` only).
    at_risk: (n_groups, m_e) number at risk (exit time >= t) in each group at the m_e distinct times
        with an event (None with ``all_rows=True``).
    events: (n_kinds, n_groups or 1, m_e) events of each kind at those times, per group or summed
        over groups; with ``all_rows=True``, (n_kinds, 1, m) at every distinct time.
    code_totals: (n_codes,) subjects per code.
    spare: with ``all_rows=True``, (spare_rows, m) uninitialised rows for the caller's own columns.
    All counts are float64 holding whole numbers (exact). With ``all_rows=True`` the per-time
    columns (time, at_risk_all, exits, events, spare) are rows of one (k, m) block: one allocation
    instead of k (at ~1e5 rows, each separate array costs hundreds of page faults; one block of
    >= 4 MB is backed by huge pages).
    """

    time: np.ndarray | None
    at_risk_all: np.ndarray | None
    exits: np.ndarray | None
    event_row: np.ndarray | None
    at_risk: np.ndarray | None
    events: np.ndarray
    code_totals: np.ndarray
    spare: np.ndarray | None = None


def run_starts(*keys: np.ndarray) -> np.ndarray:
    """True at each position where any of the (sorted) `keys` differs from the previous position."""
    n = keys[0].shape[0]
    starts = np.empty(n, dtype=bool)
    starts[:1] = True
    if n > 1:
        starts[1:] = keys[0][1:] != keys[0][:-1]
        for key in keys[1:]:
            starts[1:] |= key[1:] != key[:-1]
    return starts


def code_dtype(n_codes: int) -> type:
    return np.uint8 if n_codes <= 256 else np.int64


def combine_codes(kind: np.ndarray, group: np.ndarray | None, n_groups: int, n_kinds: int) -> np.ndarray:
    """``kind * n_groups + group`` in the smallest integer type that holds the (n_kinds + 1) * n_groups codes.

    `kind` (bool or small integers) is 0..n_kinds-1 for the event types and n_kinds for censoring.
    """
    dtype = code_dtype((n_kinds + 1) * n_groups)
    if group is None or n_groups == 1:
        return kind.astype(dtype)
    code: np.ndarray = group.astype(dtype)
    scaled: np.ndarray = kind.astype(dtype)
    scaled *= n_groups
    code += scaled
    return code


def event_group_code(event: np.ndarray, group: np.ndarray | None, n_groups: int = 1) -> np.ndarray:
    """`exit_table` codes for 0/1 events: kind 0 = event, 1 = censored, by group."""
    return combine_codes(np.equal(event, 0), group, n_groups, 1)


def exit_table(
    time: np.ndarray,
    code: np.ndarray,
    n_groups: int,
    n_kinds: int,
    *,
    grid: bool = False,
    group_events: bool = True,
    all_rows: bool = False,
    spare_rows: int = 0,
) -> ExitTable:
    """Counts at the distinct event times for unweighted data, with events ordered before censorings.

    ``code = kind * n_groups + group`` (see `combine_codes`), where kinds 0..n_kinds-1 are event types
    and kind n_kinds is censoring; `time` validated (finite, >= 0, non-empty). See `ExitTable`;
    ``all_rows=True`` (one group, with ``grid=True``) counts the events at every distinct time instead.

    Whole-number times use the dense `np.bincount` table. Others use one sort of packed (time bits,
    code) keys: because events sort before censorings at a tied time, the first subject of each
    distinct event time is an event, so the event times are the positions where the time changes
    and the subject is an event; the number at risk is the count from that position on, and the
    other counts are differences of prefix counts (int32 cumulative sums) at those positions. No
    float64 per-subject temporaries and no (times x codes) table.
    """
    n_codes = (n_kinds + 1) * n_groups
    low, high = float(time.min()), float(time.max())
    table = keys = None
    if low != high:
        table = _tabulate_whole_numbers(time, code, n_codes, None, high)
        if table is None:
            keys = _sorted_keys(time, code, n_codes, low, high)
    if keys is None:
        if table is None:
            table = tabulate(time, code, n_codes)
        return exit_table_from_counts(*table, n_groups, n_kinds, grid, group_events, all_rows, spare_rows)

    key, shift, base, zero_mapped = keys
    del keys
    n = key.shape[0]
    code = _split_keys(key, shift)
    new_time = np.empty(n, dtype=bool)
    new_time[0] = True
    np.not_equal(key[1:], key[:-1], out=new_time[1:])
    n_event_codes = n_kinds * n_groups
    is_event = np.less(code, n_event_codes)
    prefix_type = np.int32 if n < 2**31 - 1 else np.int64
    prefix = np.empty(n + 1, dtype=prefix_type)
    prefix[0] = 0
    flag = np.empty(n, dtype=bool)
    distinct = at_risk_all = exits = event_row = None
    if grid:
        starts = np.flatnonzero(new_time)
        del new_time
        m_all = starts.shape[0]
        if all_rows:
            block = np.empty((3 + n_kinds + spare_rows, m_all))
            distinct_bits = np.take(key, starts, out=block[0].view(np.int64))
        else:
            distinct_bits = key[starts]
        del key
        distinct_bits += base
        if zero_mapped and distinct_bits[0] == base:
            distinct_bits[0] = 0
        distinct = distinct_bits.view(np.float64)
        exits = block[1] if all_rows else np.empty(m_all)
        np.subtract(starts[1:], starts[:-1], out=exits[:-1])
        exits[-1] = n - starts[-1]
        at_risk_all = np.subtract(n, starts, out=block[2]) if all_rows else np.subtract(n, starts, dtype=np.float64)
        if all_rows:
            events = block[3 : 3 + n_kinds, None, :]
            for kind in range(n_kinds):
                selected = is_event if n_kinds == 1 else np.equal(code, kind, out=flag)
                np.cumsum(selected, dtype=prefix_type, out=prefix[1:])
                at_starts = prefix[starts]
                row = events[kind, 0]
                np.subtract(at_starts[1:], at_starts[:-1], out=row[:-1])
                row[-1] = prefix[n] - at_starts[-1]
            code_totals = events.sum(axis=(1, 2))
            code_totals = np.append(code_totals, n - code_totals.sum())
            return ExitTable(distinct, at_risk_all, exits, None, None, events, code_totals, block[3 + n_kinds :])
        event_row = np.flatnonzero(is_event[starts])
        first = starts[event_row]
        del starts
    else:
        del key
        np.logical_and(new_time, is_event, out=new_time)
        first = np.flatnonzero(new_time)
        del new_time
    m = first.shape[0]
    bounds = np.empty(m + 1, dtype=np.int64)
    bounds[:-1] = first
    bounds[-1] = n

    def counts_in_runs(selected: np.ndarray) -> np.ndarray:
        """Subjects flagged in [first_j, first_{j+1}) for each event time j (the events at t_j)."""
        np.cumsum(selected, dtype=prefix_type, out=prefix[1:])
        at_bounds = prefix[bounds]
        return np.subtract(at_bounds[1:], at_bounds[:-1], dtype=np.float64)

    def count_from(selected: np.ndarray) -> tuple[np.ndarray, int]:
        """Subjects flagged at or after first_j (those still at risk), and the total flagged."""
        np.cumsum(selected, dtype=prefix_type, out=prefix[1:])
        total = int(prefix[n])
        return np.subtract(total, prefix[first], dtype=np.float64), total

    code_totals = np.zeros(n_codes)
    at_risk = np.empty((n_groups, m))
    group_sizes = np.zeros(n_groups)
    if n_groups == 1:
        np.subtract(n, first, out=at_risk[0])
        group_sizes[0] = n
    else:
        group = np.bitwise_and(code, n_groups - 1) if n_groups & (n_groups - 1) == 0 else code % n_groups
        remaining = np.subtract(n, first, dtype=np.float64)
        for g in range(1, n_groups):
            np.equal(group, g, out=flag)
            at_risk[g], group_sizes[g] = count_from(flag)
            remaining -= at_risk[g]
        at_risk[0] = remaining
        group_sizes[0] = n - group_sizes[1:].sum()
        del group, remaining
    if group_events or n_groups == 1:
        events = np.empty((n_kinds, n_groups, m))
        for kind in range(n_kinds):
            for g in range(n_groups):
                c = kind * n_groups + g
                selected = is_event if n_event_codes == 1 else np.equal(code, c, out=flag)
                events[kind, g] = counts_in_runs(selected)
                code_totals[c] = prefix[n]
    else:
        events = np.empty((n_kinds, 1, m))
        for kind in range(n_kinds):
            if n_kinds == 1:
                selected = is_event
            else:
                np.greater_equal(code, kind * n_groups, out=flag)
                np.logical_and(flag, np.less(code, (kind + 1) * n_groups), out=flag)
                selected = flag
            events[kind, 0] = counts_in_runs(selected)
        for c in range(n_event_codes):
            code_totals[c] = np.count_nonzero(np.equal(code, c, out=flag))
    code_totals[n_event_codes:] = group_sizes - code_totals.reshape(n_kinds + 1, n_groups)[:n_kinds].sum(axis=0)
    return ExitTable(distinct, at_risk_all, exits, event_row, at_risk, events, code_totals)


def exit_table_from_counts(
    distinct: np.ndarray,
    counts: np.ndarray,
    n_groups: int,
    n_kinds: int,
    grid: bool,
    group_events: bool,
    all_rows: bool = False,
    spare_rows: int = 0,
) -> ExitTable:
    """The same reduction from a (times x codes) table: the whole-number and general tabulation paths,
    and the count tables of `blinareg.stats._counted` (`distinct` ascending, codes as in `exit_table`)."""
    m_all = counts.shape[0]
    by_kind = counts.reshape(m_all, n_kinds + 1, n_groups)
    code_totals = counts.sum(axis=0)
    if grid:
        exits = counts.sum(axis=1)
        at_risk_all = np.cumsum(exits[::-1])[::-1].copy()
        if all_rows:
            block = np.empty((3 + n_kinds + spare_rows, m_all))
            block[0], block[1], block[2] = distinct, exits, at_risk_all
            block[3 : 3 + n_kinds] = by_kind[:, :n_kinds, :].sum(axis=2).T
            events = block[3 : 3 + n_kinds, None, :]
            return ExitTable(block[0], block[2], block[1], None, None, events, code_totals, block[3 + n_kinds :])
    exits_by_group = by_kind.sum(axis=1)
    at_risk_by_group = np.cumsum(exits_by_group[::-1], axis=0)[::-1]
    event_counts = by_kind[:, :n_kinds, :]
    event_row = np.flatnonzero(event_counts.any(axis=(1, 2)))
    at_risk = np.ascontiguousarray(at_risk_by_group[event_row].T)
    events = np.ascontiguousarray(event_counts[event_row].transpose(1, 2, 0))
    if not group_events:
        events = events.sum(axis=1, keepdims=True)
    if grid:
        return ExitTable(distinct, at_risk_all, exits, event_row, at_risk, events, code_totals)
    return ExitTable(None, None, None, None, at_risk, events, code_totals)
