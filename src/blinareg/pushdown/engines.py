"""Run the count query inside DuckDB (Parquet or CSV files) or a SQL database (PostgreSQL).

Each runner returns `Counts`: the count frame (`blinareg.pushdown.counting.COUNT_COLUMNS`) and the number
of the endpoint's rows left out for a missing by/strata value. The engines are optional dependencies
(the `bigdata` extra), imported when used.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

from blinareg.errors import UserError
from blinareg.pushdown.counting import CountRequest, as_count_frame, count_query, label_text, missing_query, table_of


@dataclass(frozen=True)
class Counts:
    """An engine's answer: the counts and the rows left out (missing by/strata value)."""

    frame: pd.DataFrame
    left_out: int


def optional_module(name: str, extra: str = "bigdata") -> Any:
    """Import an optional engine, or say which extra installs it."""
    import importlib

    try:
        return importlib.import_module(name)
    except ImportError:
        raise UserError(f"{name} is not installed: pip install 'blinareg[{extra}]'") from None


# ---- DuckDB ------------------------------------------------------------------------------------------


def _file_relation(connection: Any, path: Path) -> Any:
    if not path.exists():
        raise UserError(f"{path}: no such file or folder")
    suffix = path.suffix.lower()
    if suffix == ".csv":
        return connection.read_csv(str(path), header=True)
    if suffix == ".parquet" or path.is_dir():
        return connection.read_parquet(str(path / "*.parquet") if path.is_dir() else str(path))
    raise UserError(f"{path}: DuckDB reads .parquet or .csv files (or a folder of .parquet files)")


def duckdb_sql(query: sa.Select[Any]) -> str:
    """The query as DuckDB runs it: DuckDB speaks PostgreSQL's SQL; values are rendered as SQL literals."""
    dialect = postgresql.dialect()  # type: ignore[no-untyped-call]
    return str(query.compile(dialect=dialect, compile_kwargs={"literal_binds": True}))


def count_duckdb(
    request: CountRequest, adtte_path: str | Path, adsl_path: str | Path | None = None, *, threads: int | None = None
) -> Counts:
    """Count in an in-process DuckDB over ADTTE (and ADSL) Parquet or CSV files, without loading them."""
    duckdb = optional_module("duckdb")
    connection = duckdb.connect(":memory:")
    try:
        if threads is not None:
            connection.execute(f"SET threads = {int(threads)}")
        tables = {"adtte": _file_relation(connection, Path(adtte_path))}
        if adsl_path is not None:
            tables["adsl"] = _file_relation(connection, Path(adsl_path))
        clauses = {}
        for name, relation in tables.items():
            relation.create_view(name)
            clauses[name] = table_of(name, relation.columns)
        adsl = clauses.get("adsl")
        frame = connection.execute(duckdb_sql(count_query(request, clauses["adtte"], adsl))).df()
        left_out = connection.execute(duckdb_sql(missing_query(request, clauses["adtte"], adsl))).fetchone()[0]
    finally:
        connection.close()
    return Counts(as_count_frame(frame, request), int(left_out))


# ---- a SQL database (PostgreSQL) ---------------------------------------------------------------------


def _split_name(name: str) -> tuple[str | None, str]:
    schema, _, table = name.rpartition(".")
    return (schema or None), table


def _reflected(connection: sa.Connection, name: str) -> sa.TableClause:
    schema, table = _split_name(name)
    inspector = sa.inspect(connection)
    if not inspector.has_table(table, schema=schema):
        raise UserError(f"the database has no table {name}")
    columns = [c["name"] for c in inspector.get_columns(table, schema=schema)]
    return table_of(table, columns, schema=schema)


def count_sql(
    request: CountRequest, connection: sa.Connection, adtte_table: str, adsl_table: str | None = None
) -> Counts:
    """Count inside the database that holds an ADTTE table (optionally `schema.table`), joined with ADSL."""
    adtte = _reflected(connection, adtte_table)
    adsl = None if adsl_table is None else _reflected(connection, adsl_table)
    rows = connection.execute(count_query(request, adtte, adsl)).all()
    frame = pd.DataFrame(rows, columns=["stratum", "group", "time", "status", "n"])
    left_out = connection.execute(missing_query(request, adtte, adsl)).scalar_one()
    return Counts(as_count_frame(frame, request), int(left_out))


def write_temporary(connection: sa.Connection, name: str, frame: pd.DataFrame) -> None:
    """Write a frame to a temporary table of this connection (gone when the connection closes): numbers
    as numbers, booleans as booleans, anything else as text (as `label_text` writes a label)."""
    columns: list[sa.Column[Any]] = []
    values: dict[str, pd.Series] = {}
    for column in map(str, frame.columns):
        series = frame[column]
        kind = series.dtype.kind
        if kind in "fiu":
            columns.append(sa.Column(column, sa.Float(53) if kind == "f" else sa.BigInteger()))
            values[column] = series.astype(object).where(series.notna(), None)
        elif kind == "b":
            columns.append(sa.Column(column, sa.Boolean()))
            values[column] = series.astype(object)
        else:
            columns.append(sa.Column(column, sa.Text()))
            values[column] = series.astype(object).where(series.notna(), None).map(label_text)
    table = sa.Table(name, sa.MetaData(), *columns, prefixes=["TEMPORARY"])
    table.create(connection)
    records: list[dict[str, Any]] = pd.DataFrame(values).to_dict("records")  # type: ignore[assignment]
    if records:
        connection.execute(table.insert(), records)
