"""The counting step of the survival estimators, as one SQL GROUP BY per endpoint (SQLAlchemy Core).

Kaplan-Meier, the cumulative incidence, the log-rank and Gray's tests need only the number of
subjects per (stratum, group, time, status): `count_query` asks the engine for exactly that table, and
`blinareg.stats.CountTable` finishes the estimate in NumPy. Times are counted on their exact values
(days), so the estimate equals the patient-level one.

The input is ADTTE-shaped, with the column names `blinareg.exchange.adam` writes (PARAMCD, AVAL, CNSR,
EVTCODE, USUBJID); a grouping or stratification variable is taken from ADTTE when it has it, else
from ADSL joined on USUBJID. Rows whose grouping or stratification value is missing are left out
(`missing_query` counts them, so the caller can say how many).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import pandas as pd
import sqlalchemy as sa

from blinareg.errors import UserError

COUNT_COLUMNS = ("stratum", "group", "time", "status", "n")
# The label of a count table without groups or strata (blinareg.stats' level of a whole table).
WHOLE = "all"


@dataclass(frozen=True)
class AdtteColumns:
    """Column names of an ADTTE-shaped table (the defaults are those `blinareg export --format adam` writes)."""

    subject: str = "USUBJID"
    parameter: str = "PARAMCD"
    time: str = "AVAL"
    censor: str = "CNSR"  # 0 event, 1 censored (or competing event)
    event_code: str = "EVTCODE"  # 0 censored, 1 the event of interest, 2 the competing event


ADTTE = AdtteColumns()


@dataclass(frozen=True)
class CountRequest:
    """What to count: one endpoint (PARAMCD), its status coding, and the optional by/strata variables."""

    endpoint: str
    competing: bool = False  # status from EVTCODE (0, 1, 2) instead of CNSR (0 -> 1 event, else 0)
    by: str | None = None
    strata: str | None = None
    columns: AdtteColumns = ADTTE

    def variables(self) -> tuple[str, ...]:
        return tuple(v for v in (self.by, self.strata) if v is not None)


def variable_sources(
    request: CountRequest, adtte_columns: Sequence[str], adsl_columns: Sequence[str] | None
) -> dict[str, str]:
    """Where each by/strata variable is read: "adtte" when ADTTE has it, else "adsl" (joined on USUBJID).

    A variable in neither gets an error naming it and the columns there are.
    """
    required = (request.columns.subject, request.columns.parameter, request.columns.time)
    status = request.columns.event_code if request.competing else request.columns.censor
    absent = [name for name in (*required, status) if name not in adtte_columns]
    if absent:
        raise UserError(f"the ADTTE table has no column {', '.join(absent)} (it has {', '.join(adtte_columns)})")
    sources = {}
    for variable in request.variables():
        if variable in adtte_columns:
            sources[variable] = "adtte"
        elif adsl_columns is not None and variable in adsl_columns:
            if request.columns.subject not in adsl_columns:
                raise UserError(f"the ADSL table has no column {request.columns.subject} to join on")
            sources[variable] = "adsl"
        else:
            where = "ADTTE" if adsl_columns is None else "ADTTE or ADSL"
            raise UserError(
                f"--by/--strata {variable}: no such column in {where} (ADTTE has {', '.join(adtte_columns)}"
                + ("" if adsl_columns is None else f"; ADSL has {', '.join(adsl_columns)}")
                + ")"
            )
    return sources


def _joined(
    request: CountRequest, adtte: sa.FromClause, adsl: sa.FromClause | None
) -> tuple[sa.FromClause, dict[str, sa.ColumnElement[Any]]]:
    """The FROM clause (ADTTE, joined with ADSL when a variable lives there) and each variable's column."""
    adsl_columns = None if adsl is None else [c.name for c in adsl.columns]
    sources = variable_sources(request, [c.name for c in adtte.columns], adsl_columns)
    source: sa.FromClause = adtte
    subject = request.columns.subject
    if adsl is not None and "adsl" in sources.values():
        source = adtte.join(adsl, adtte.c[subject] == adsl.c[subject])
    variables: dict[str, sa.ColumnElement[Any]] = {
        name: (adtte.c[name] if where == "adtte" else adsl.c[name])  # type: ignore[union-attr]
        for name, where in sources.items()
    }
    return source, variables


# Legal status codes: CNSR 0 (event) or 1; EVTCODE 0, 1 or 2. Anything else (or missing) counts as NULL,
# which `as_count_frame` refuses with the column named: never silently a censoring.
CENSOR_CODES = (0, 1)
EVENT_CODES = (0, 1, 2)


def _status(request: CountRequest, adtte: sa.FromClause) -> sa.ColumnElement[Any]:
    if request.competing:
        code = adtte.c[request.columns.event_code]
        return sa.case((code.in_(EVENT_CODES), sa.cast(code, sa.Integer)))
    censor = adtte.c[request.columns.censor]
    return sa.case((censor == 0, 1), (censor == 1, 0))


def count_query(request: CountRequest, adtte: sa.FromClause, adsl: sa.FromClause | None = None) -> sa.Select[Any]:
    """``SELECT stratum, "group", time, status, count(*) AS n ... WHERE PARAMCD = :endpoint GROUP BY ...``.

    stratum and group are the variables' values cast to text (the constant 'all' without them); time
    is AVAL as stored (exact days); status is 1 for an event and 0 for a censoring, or EVTCODE when
    `request.competing`. Rows with a missing by/strata value are left out.
    """
    source, variables = _joined(request, adtte, adsl)
    keys: list[sa.ColumnElement[Any]] = []
    labelled: list[sa.ColumnElement[Any]] = []
    for name, variable in (("stratum", request.strata), ("group", request.by)):
        if variable is None:
            # A constant is selected but not grouped on (GROUP BY a literal number means a column position).
            labelled.append(sa.literal_column(f"'{WHOLE}'").label(name))
        else:
            text = sa.cast(variables[variable], sa.String)
            keys.append(text)
            labelled.append(text.label(name))
    time = adtte.c[request.columns.time]
    status = _status(request, adtte)
    keys += [time, status]
    query = (
        sa.select(*labelled, time.label("time"), status.label("status"), sa.func.count().label("n"))
        .select_from(source)
        .where(adtte.c[request.columns.parameter] == request.endpoint)
        .group_by(*keys)
    )
    for column in variables.values():
        query = query.where(column.is_not(None))
    return query


def missing_query(request: CountRequest, adtte: sa.FromClause, adsl: sa.FromClause | None = None) -> sa.Select[Any]:
    """The number of the endpoint's rows left out of the counts because a by/strata value is missing."""
    source, variables = _joined(request, adtte, adsl)
    query = sa.select(sa.func.count().label("n")).select_from(source)
    query = query.where(adtte.c[request.columns.parameter] == request.endpoint)
    if not variables:
        return query.where(sa.false())
    return query.where(sa.or_(*(v.is_(None) for v in variables.values())))


def table_of(name: str, columns: Sequence[str], schema: str | None = None) -> sa.TableClause:
    """A lightweight table (names only) for `count_query`: an engine's view, a file, a temporary table."""
    return sa.table(name, *(sa.column(c) for c in columns), schema=schema)


def as_count_frame(frame: pd.DataFrame, request: CountRequest) -> pd.DataFrame:
    """An engine's answer in the CountTable's types: text labels, float64 time, int64 status and n.

    Rows without a time, with a negative time, or without a legal status code are refused, naming the
    ADTTE column, the value and how many rows have it.
    """
    c = request.columns
    where = f"ADTTE rows with {c.parameter} = {request.endpoint}"
    time = pd.to_numeric(frame["time"]).astype("float64")
    status = pd.to_numeric(frame["status"])
    n = frame["n"].to_numpy(dtype="int64")
    if time.isna().any():
        raise UserError(f"{where}: {int(n[time.isna().to_numpy()].sum())} without {c.time}")
    if (time < 0).any():
        raise UserError(f"{where}: {c.time} = {float(time[time < 0].min())!r} is negative (days from the origin)")
    if status.isna().any():
        column, codes = (c.event_code, EVENT_CODES) if request.competing else (c.censor, CENSOR_CODES)
        rows = int(n[status.isna().to_numpy()].sum())
        raise UserError(f"{where}: {rows} with {column} missing or not one of {', '.join(map(str, codes))}")
    return pd.DataFrame(
        {
            "stratum": frame["stratum"].astype(str).to_numpy(dtype=object),
            "group": frame["group"].astype(str).to_numpy(dtype=object),
            "time": time.to_numpy(),
            "status": status.to_numpy(dtype="int64"),
            "n": n,
        }
    )


def count_in_memory(request: CountRequest, adtte: pd.DataFrame, adsl: pd.DataFrame | None = None) -> pd.DataFrame:
    """The same counts from pandas frames (the reference the engines are tested against)."""
    sources = variable_sources(request, list(adtte.columns), None if adsl is None else list(adsl.columns))
    c = request.columns
    rows = adtte[adtte[c.parameter] == request.endpoint]
    wanted = [v for v, where in sources.items() if where == "adsl"]
    if wanted:
        assert adsl is not None
        rows = rows.merge(adsl[[c.subject, *wanted]], on=c.subject, how="inner")
    if request.competing:
        code = rows[c.event_code]
        status = code.where(code.isin(EVENT_CODES))
    else:
        censor = rows[c.censor]
        status = (censor == 0).astype("float64").where(censor.isin(CENSOR_CODES))
    keys = pd.DataFrame({"time": rows[c.time].to_numpy(dtype="float64"), "status": status.to_numpy(dtype="float64")})
    known = pd.Series(True, index=rows.index)
    for name, variable in (("stratum", request.strata), ("group", request.by)):
        if variable is None:
            keys[name] = WHOLE
        else:
            keys[name] = rows[variable].astype(object).where(rows[variable].notna(), None).map(label_text).to_numpy()
            known &= rows[variable].notna()
    keys = keys[known.to_numpy()]
    counted = keys.groupby(["stratum", "group", "time", "status"], sort=True, dropna=False).size()
    return as_count_frame(counted.rename("n").reset_index(), request)


def label_text(value: object) -> str | None:
    """A label as the engines' CAST(... AS TEXT) writes it (booleans as true/false)."""
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def sorted_counts(frame: pd.DataFrame) -> pd.DataFrame:
    """Counts in one canonical row order, to compare engines' answers exactly."""
    return frame.sort_values(list(COUNT_COLUMNS[:4]), kind="mergesort").reset_index(drop=True)
