"""Where the data are: `duckdb:FILE`, `spark:PATH`, or a database URL (an ADTTE table, or the registry itself).

`count_source` runs the counting step where the data live and returns the counts. For the registry
itself (a database URL without a table) the analysis dataset is derived in Python by
`blinareg.derive` (the one implementation of the endpoint definitions), its ADTTE and ADSL rows are
written to temporary tables of the same database, and the counting runs there (docs/scale.md).
"""

from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa

from blinareg.errors import UserError
from blinareg.pushdown.counting import CountRequest
from blinareg.pushdown.engines import Counts, count_duckdb, count_sql, write_temporary

SOURCE_KINDS = ("duckdb", "spark", "database")


@dataclass(frozen=True)
class Source:
    kind: str  # one of SOURCE_KINDS
    location: str  # a file or folder path (duckdb, spark) or a database URL

    @property
    def display(self) -> str:
        """The source as printed and written to results.json (a database URL without its password)."""
        if self.kind != "database":
            return f"{self.kind}:{self.location}"
        from blinareg.store.settings import store_settings

        return store_settings(self.location).display_url


def parse_source(text: str) -> Source:
    """`duckdb:FILE.parquet|FILE.csv`, `spark:PATH` or a database URL (postgresql://..., sqlite:///...)."""
    kind, separator, rest = text.partition(":")
    if kind in ("duckdb", "spark") and separator and rest:
        return Source(kind, rest)
    if "://" in text:
        return Source("database", text)
    raise UserError(
        f"--source {text!r}: expected duckdb:FILE, spark:PATH or a database URL such as postgresql://host/db"
    )


def count_source(
    source: Source,
    request: CountRequest,
    *,
    adsl: str | None = None,
    table: str | None = None,
    origin: str = "first_blinatumomab",
    spark_master: str = "local[2]",
) -> Counts:
    """Count `request` where `source` holds the data (`adsl`: the ADSL file or table to join for --by)."""
    if table is not None and source.kind != "database":
        raise UserError("--table names a table of a database source; a file source is the table itself")
    if source.kind == "duckdb":
        return count_duckdb(request, source.location, adsl)
    if source.kind == "spark":
        from blinareg.pushdown.spark import count_spark, local_session, read_table

        session = local_session(spark_master)
        return count_spark(
            request, read_table(session, source.location), None if adsl is None else read_table(session, adsl)
        )
    return _count_database(source.location, request, adsl=adsl, table=table, origin=origin)


def _count_database(url: str, request: CountRequest, *, adsl: str | None, table: str | None, origin: str) -> Counts:
    from blinareg.store.settings import store_settings

    engine = sa.create_engine(store_settings(url).url)
    try:
        with engine.connect() as connection:
            if table is not None:
                return count_sql(request, connection, table, adsl)
            if adsl is not None:
                raise UserError("--adsl names the ADSL table of an ADTTE --table; the registry has its own")
            _materialise_registry(url, connection, request, origin)
            return count_sql(request, connection, "blinareg_adtte", "blinareg_adsl")
    except sa.exc.OperationalError as error:
        raise UserError(f"cannot reach the database: {str(error.orig).strip().splitlines()[0]}") from None
    finally:
        engine.dispose()


def _materialise_registry(url: str, connection: sa.Connection, request: CountRequest, origin: str) -> None:
    """The registry's analysis dataset (its ADTTE, and the ADSL variables asked for, as the ADaM export
    writes them) as temporary tables."""
    from blinareg.derive import derive
    from blinareg.exchange.adam import adsl as adsl_frame
    from blinareg.exchange.adam import adtte as adtte_frame
    from blinareg.store import Store

    with Store.open(url) as store:
        registry = store.load_registry()
    dataset = derive(registry, origin=origin)
    c = request.columns
    adtte = adtte_frame(dataset)
    adsl = adsl_frame(dataset)
    write_temporary(connection, "blinareg_adtte", adtte[[c.subject, c.parameter, c.time, c.censor, c.event_code]])
    unknown = [v for v in request.variables() if v not in adsl.columns and v not in adtte.columns]
    if unknown:
        raise UserError(
            f"--by/--strata {', '.join(unknown)}: not a variable of the registry's ADSL or ADTTE "
            f"(ADSL has {', '.join(adsl.columns)})"
        )
    wanted = [v for v in request.variables() if v in adsl.columns and v != c.subject]
    write_temporary(connection, "blinareg_adsl", adsl[[c.subject, *wanted]])
