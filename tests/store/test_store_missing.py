"""Codes and partial dates survive the database (SQLite and PostgreSQL) unchanged."""

from __future__ import annotations

import pandas as pd
import sqlalchemy as sa

from blinareg.exchange.tabular import sorted_by_key
from blinareg.records.models import RECORD_MODELS
from tests.records.factories import incomplete_registry


def test_store_round_trip_keeps_codes_and_precisions(store):
    registry = incomplete_registry()
    store.import_registry(registry, source="test")  # raises ValidationFailed on any error
    loaded = store.load_registry()
    for model in RECORD_MODELS:
        pd.testing.assert_frame_equal(
            sorted_by_key(model, registry[model.record_type]),
            sorted_by_key(model, loaded[model.record_type]),
            check_exact=True,
            obj=model.record_type,
        )
    assert loaded["hsct"].loc[0, "conditioning_missing"] == "unknown"
    assert loaded["death"].loc[0, "death_date_precision"] == "year"


def test_the_database_refuses_a_value_and_a_code_together(store):
    store.import_registry(incomplete_registry(), source="test")
    with store._engine.begin() as connection:  # noqa: SLF001  (the constraint itself is under test)
        try:
            connection.execute(sa.text("UPDATE hsct SET conditioning = 'tbi_based'"))
        except sa.exc.IntegrityError:
            refused = True
        else:
            refused = False
    assert refused
