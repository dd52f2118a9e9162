"""Moving frames in and out of the database fast, inside the caller's transaction.

Writing: the frame's columns become plain Python values column-wise, then rows go in with one
`executemany` per chunk on SQLite, or `COPY ... FROM STDIN` on PostgreSQL (psycopg 3), on the
caller's connection, so they are part of its transaction. Reading: one query per table on the raw
cursor (no per-value SQLAlchemy type processing), columns converted with NumPy, then the registry
normalizes dtypes.
"""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Callable, Iterable, Sequence

import numpy as np
import pandas as pd
import sqlalchemy as sa

from blinareg.records.models import RECORD_MODELS, RECORD_TYPES, Record
from blinareg.records.registry import Column, Registry, shared_strings, storage_columns
from blinareg.store.schema import RECORD_TABLES

# Rows per executemany call on SQLite, and patient ids per `IN (...)` list (SQLite's variable limit).
SQLITE_CHUNK = 50_000
IDS_PER_QUERY = 900

Progress = Callable[[int], None]


def _quote(conn: sa.Connection, name: str) -> str:
    return conn.dialect.identifier_preparer.quote(name)


def frame_columns(model: type[Record], frame: pd.DataFrame, *, dialect: str) -> list[list]:
    """The frame's columns as lists of DB-API values (None for missing), in model field order."""
    out = []
    for column in storage_columns(model):
        series = frame[column.name]
        missing = series.isna().to_numpy()
        if column.kind == "date":
            values = series.to_numpy(dtype="datetime64[ns]").astype("datetime64[D]").astype(str).astype(object)
        elif column.kind == "bool":
            values = series.to_numpy(dtype=object, na_value=None)
            if dialect == "sqlite":
                values = np.array([None if v is None else int(v) for v in values], dtype=object)
            else:
                values = np.array([None if v is None else bool(v) for v in values], dtype=object)
        elif column.kind == "int":
            values = np.array(
                [None if v is None else int(v) for v in series.to_numpy(dtype=object, na_value=None)], dtype=object
            )
        elif column.kind == "float":
            values = series.to_numpy(dtype=float).astype(object)
        else:
            values = series.to_numpy(dtype=object)
        if missing.any():
            values = values.copy()
            values[missing] = None
        out.append(values.tolist())
    return out


def insert_rows(
    conn: sa.Connection, table: sa.Table, names: Sequence[str], rows: list[tuple], progress: Progress | None = None
) -> None:
    """Insert rows (tuples of DB-API values in `names` order) on the caller's connection and transaction."""
    if not rows:
        return
    dbapi = conn.connection.dbapi_connection
    column_list = ", ".join(_quote(conn, name) for name in names)
    table_name = _quote(conn, table.name)
    if conn.dialect.name == "postgresql":
        with dbapi.cursor() as cursor:
            with cursor.copy(f"COPY {table_name} ({column_list}) FROM STDIN") as copy:
                for start in range(0, len(rows), SQLITE_CHUNK):
                    for row in rows[start : start + SQLITE_CHUNK]:
                        copy.write_row(row)
                    if progress:
                        progress(min(SQLITE_CHUNK, len(rows) - start))
        return
    placeholders = ", ".join("?" for _ in names)
    sql = f"INSERT INTO {table_name} ({column_list}) VALUES ({placeholders})"
    cursor = dbapi.cursor()
    try:
        for start in range(0, len(rows), SQLITE_CHUNK):
            chunk = rows[start : start + SQLITE_CHUNK]
            cursor.executemany(sql, chunk)
            if progress:
                progress(len(chunk))
    finally:
        cursor.close()


def insert_frame(conn: sa.Connection, record_type: str, frame: pd.DataFrame, progress: Progress | None = None) -> None:
    """Insert a frame's rows in key order (B-tree inserts in key order are several times faster)."""
    model = RECORD_TYPES[record_type]
    if frame.empty:
        return
    frame = frame.sort_values(list(model.key), kind="stable")
    values = frame_columns(model, frame, dialect=conn.dialect.name)
    rows = list(zip(*values))
    insert_rows(conn, RECORD_TABLES[record_type], [c.name for c in storage_columns(model)], rows, progress)


def _chunks(items: Sequence[str], size: int) -> Iterable[Sequence[str]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def delete_patients(conn: sa.Connection, patient_ids: Sequence[str]) -> None:
    """Delete patients; ON DELETE CASCADE removes every record that belongs to them."""
    table = RECORD_TABLES["patient"]
    for chunk in _chunks(list(patient_ids), IDS_PER_QUERY):
        conn.execute(sa.delete(table).where(table.c.patient_id.in_(chunk)))


def _from_db(kind: str, values: np.ndarray) -> object:
    """One fetched column (object array) in its frame dtype; dates arrive as ISO text on both backends."""
    if kind == "date":
        return np.array(values, dtype="datetime64[D]").astype("datetime64[ns]")
    if kind == "bool":
        return pd.array(values, dtype="boolean")
    if kind == "int":
        return pd.array(values, dtype="Int64")
    if kind == "float":
        return np.array(values, dtype=float)
    return shared_strings(values)  # one object per distinct text: the loaded registry stays compact


def _fetch(
    conn: sa.Connection, sql: str, parameters: Sequence[object] | dict[str, object] | None = None
) -> list[tuple]:
    """Rows as plain tuples from the raw DB-API cursor (no per-row SQLAlchemy objects)."""
    dbapi = conn.connection.dbapi_connection
    cursor = dbapi.cursor()
    try:
        if conn.dialect.name == "postgresql":
            from psycopg.types.string import TextLoader

            cursor.adapters.register_loader("date", TextLoader)  # 'YYYY-MM-DD' text, parsed by NumPy
        if parameters is None:
            cursor.execute(sql)
        else:
            cursor.execute(sql, parameters)
        return cursor.fetchall()
    finally:
        cursor.close()


def read_frame(
    conn: sa.Connection,
    record_type: str,
    patient_ids: Sequence[str] | None = None,
    center_ids: Sequence[str] | None = None,
    *,
    include_deleted: bool = False,
) -> pd.DataFrame:
    """The stored rows of one record type, ordered by key; optionally only some patients or centers.

    Soft-deleted patients and their records are left out unless `include_deleted`.
    """
    model = RECORD_TYPES[record_type]
    table = RECORD_TABLES[record_type]
    cols = storage_columns(model)
    base = _select_rows(record_type, include_deleted)
    if patient_ids is not None and center_ids is None and len(patient_ids) == 1:
        # One patient (a record page, a save): the statement compiled once per table, the id a parameter.
        sql, names = _one_patient_sql(conn.dialect, record_type, include_deleted)
        parameters = {"patient_id": patient_ids[0]}
        rows = _fetch(conn, sql, [parameters[name] for name in names] if names is not None else parameters)
        return _frame_of(cols, rows)
    if patient_ids is not None or center_ids is not None:
        column, wanted = (
            (table.c.center_id, center_ids) if center_ids is not None else (table.c.patient_id, patient_ids)
        )
        statements = [base.where(column.in_(list(chunk))) for chunk in _chunks(list(wanted), IDS_PER_QUERY)]
    else:
        statements = [base]
    rows: list[tuple] = []
    for statement in statements:
        rows.extend(_fetch(conn, str(statement.compile(dialect=conn.dialect, compile_kwargs={"literal_binds": True}))))
    if len(statements) > 1:
        key_positions = [next(i for i, c in enumerate(cols) if c.name == k) for k in model.key]
        rows.sort(key=lambda row: tuple(row[i] for i in key_positions))
    return _frame_of(cols, rows)


def _frame_of(cols: Sequence[Column], rows: list[tuple]) -> pd.DataFrame:
    data = np.empty((len(rows), len(cols)), dtype=object)
    if rows:
        data[:] = rows
    del rows  # the row tuples: the cells are in `data` now (100,000 patients: ~10^7 cells)
    return pd.DataFrame({c.name: _from_db(c.kind, data[:, i]) for i, c in enumerate(cols)})


def _select_rows(record_type: str, include_deleted: bool) -> sa.Select:
    """A table's columns in model order, ordered by key; live patients only unless `include_deleted`."""
    model = RECORD_TYPES[record_type]
    table = RECORD_TABLES[record_type]
    base = sa.select(*(table.c[c.name] for c in storage_columns(model))).order_by(*(table.c[k] for k in model.key))
    if not include_deleted and record_type != "center":
        base = base.where(live_patient_clause(table))
    return base


@functools.lru_cache(maxsize=256)
def _one_patient_sql(
    dialect: sa.Dialect, record_type: str, include_deleted: bool
) -> tuple[str, tuple[str, ...] | None]:
    """The SQL of one patient's rows of a table and its parameter names in order (None: named parameters).
    Compiling each statement was a quarter of reading one patient."""
    table = RECORD_TABLES[record_type]
    statement = _select_rows(record_type, include_deleted).where(table.c.patient_id == sa.bindparam("patient_id"))
    compiled = statement.compile(dialect=dialect)
    return compiled.string, (tuple(compiled.positiontup) if compiled.positional and compiled.positiontup else None)


def live_patient_clause(table: sa.Table) -> sa.ColumnElement[bool]:
    """Rows of `table` (patient or one of their records) whose patient is not soft-deleted."""
    patient = RECORD_TABLES["patient"]
    if table is patient:
        return patient.c.deleted_at.is_(None)
    deleted = sa.select(patient.c.patient_id).where(patient.c.deleted_at.is_not(None))
    return table.c.patient_id.not_in(deleted)


def read_registry(
    conn: sa.Connection, patient_ids: Sequence[str] | None = None, *, all_centers: bool = False
) -> Registry:
    """Stored records, all or of some patients (with their centers, or every center if `all_centers`)."""
    tables: dict[str, pd.DataFrame] = {"center": pd.DataFrame()}  # first, as in RECORD_MODELS
    for model in RECORD_MODELS[1:]:
        tables[model.record_type] = read_frame(conn, model.record_type, patient_ids)
    if patient_ids is None or all_centers:
        tables["center"] = read_frame(conn, "center")
    else:
        tables["center"] = read_frame(conn, "center", center_ids=sorted(set(tables["patient"]["center_id"])))
    # `read_frame` builds each column in its canonical dtype already (tests/store check it equals
    # `normalize_frame`); normalizing again was most of the cost of reading one patient.
    return Registry.of_normalized(tables)


def utc_now() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)
