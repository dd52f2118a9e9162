"""The counting step as a PySpark DataFrame aggregation: the same counts as `count_query`, on a cluster.

Only the count table (one row per distinct stratum, group, time and status) leaves the executors;
`blinareg.stats.CountTable` finishes the estimate on the driver. Local mode (``local[2]``) in the tests
and the benchmark; the same code runs on a cluster's session.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from blinareg.errors import UserError
from blinareg.pushdown.counting import EVENT_CODES, WHOLE, CountRequest, as_count_frame, variable_sources
from blinareg.pushdown.engines import Counts, optional_module


def local_session(master: str = "local[2]", *, app_name: str = "blinareg", memory: str = "1g") -> Any:
    """A local SparkSession (quiet, few shuffle partitions: the count tables are small)."""
    sql = optional_module("pyspark.sql")
    builder = (
        sql.SparkSession.builder.master(master)
        .appName(app_name)
        .config("spark.sql.shuffle.partitions", "4")
        .config("spark.driver.memory", memory)
        .config("spark.ui.enabled", "false")
        .config("spark.ui.showConsoleProgress", "false")
        .config("spark.sql.execution.arrow.pyspark.enabled", "true")
    )
    session = builder.getOrCreate()
    session.sparkContext.setLogLevel("ERROR")
    return session


def read_table(session: Any, path: str | Path) -> Any:
    """A Parquet file or folder, or a CSV file with a header (types inferred), as a Spark DataFrame."""
    text = str(path)
    if "://" not in text and not Path(text).exists():
        raise UserError(f"{text}: no such file or folder")
    if text.lower().endswith(".csv"):
        return session.read.csv(text, header=True, inferSchema=True)
    return session.read.parquet(text)


def count_spark(request: CountRequest, adtte: Any, adsl: Any = None) -> Counts:
    """Count with the DataFrame API: filter the endpoint, join ADSL when needed, groupBy, count."""
    functions = optional_module("pyspark.sql.functions")
    col, lit = functions.col, functions.lit
    c = request.columns
    sources = variable_sources(request, adtte.columns, None if adsl is None else adsl.columns)
    rows = adtte.where(col(c.parameter) == lit(request.endpoint))
    wanted = [v for v, where in sources.items() if where == "adsl"]
    if wanted:
        rows = rows.join(adsl.select(c.subject, *wanted), on=c.subject, how="inner")
    if request.competing:
        status = functions.when(col(c.event_code).isin(*EVENT_CODES), col(c.event_code).cast("int"))
    else:
        status = functions.when(col(c.censor) == 0, lit(1)).when(col(c.censor) == 1, lit(0))
    known = lit(True)
    for variable in request.variables():
        known = known & col(variable).isNotNull()
    labels = [
        (lit(WHOLE) if variable is None else col(variable).cast("string")).alias(name)
        for name, variable in (("stratum", request.strata), ("group", request.by))
    ]
    keyed = rows.select(*labels, col(c.time).cast("double").alias("time"), status.alias("status"), known.alias("known"))
    # One job: the rows left out (a missing by/strata value) are counted in the same aggregation.
    counted = keyed.groupBy("known", "stratum", "group", "time", "status").count().toPandas()
    known_rows = counted["known"].to_numpy(dtype=bool)
    frame = counted[known_rows].drop(columns="known").rename(columns={"count": "n"})
    return Counts(as_count_frame(frame, request), int(counted.loc[~known_rows, "count"].sum()))
