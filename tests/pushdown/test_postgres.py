"""The count query runs inside PostgreSQL: on ADTTE/ADSL tables, and on the registry itself (its analysis
dataset written to temporary tables). Counts equal pandas exactly; estimates equal in memory to 1e-12."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from blinareg.errors import UserError
from blinareg.pushdown.counting import CountRequest
from blinareg.pushdown.engines import count_sql
from blinareg.pushdown.sources import count_source, parse_source
from tests.pushdown.checks import REQUESTS, assert_counts_equal, assert_estimates_equal, synthetic_adam

pytestmark = pytest.mark.postgres


@pytest.fixture(scope="module")
def frames():
    return synthetic_adam(200, seed=11)


def test_adtte_tables_counted_in_the_database(postgres_url, frames):
    adtte, adsl = frames
    engine = sa.create_engine(postgres_url.replace("postgresql://", "postgresql+psycopg://", 1))
    try:
        adtte.to_sql("adtte", engine, index=False)
        adsl.to_sql("adsl", engine, index=False)
        with engine.connect() as connection:
            for request in REQUESTS:
                counts = count_sql(request, connection, "adtte", "adsl")
                assert_counts_equal(counts, request, adtte, adsl)
                assert_estimates_equal(counts, request, adtte, adsl)
            with pytest.raises(UserError, match="no table adtt"):
                count_sql(CountRequest("OS"), connection, "adtt")
    finally:
        engine.dispose()


def test_the_registry_itself(postgres_url):
    from blinareg.derive import derive
    from blinareg.exchange.adam import adam_datasets
    from blinareg.store import Store
    from blinareg.synth import generate

    with Store.open(postgres_url) as store:
        store.init()
        store.import_registry(generate(40, seed=8), source="test")
        registry = store.load_registry()
    frames = adam_datasets(registry, derive(registry))
    adtte, adsl = frames["ADTTE"], frames["ADSL"]
    for request in (CountRequest("OS", by="INDGRP"), CountRequest("CIR", competing=True, by="SEX")):
        counts = count_source(parse_source(postgres_url), request)
        assert_counts_equal(counts, request, adtte, adsl)
        assert_estimates_equal(counts, request, adtte, adsl)
    with pytest.raises(UserError, match="--by/--strata ARM: not a variable of the registry"):
        count_source(parse_source(postgres_url), CountRequest("OS", by="ARM"))
