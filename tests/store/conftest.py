"""The `store` fixture: an initialized, empty store, once on SQLite and once on PostgreSQL."""

from __future__ import annotations

import pytest

from blinareg.store import Store


@pytest.fixture
def store(database_url):
    """An initialized, empty store on SQLite and on PostgreSQL."""
    opened = Store.open(database_url)
    opened.init()
    yield opened
    opened.close()
