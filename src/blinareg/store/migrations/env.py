"""Alembic environment: runs on the connection `blinareg.store` passes in (same transaction), or on a URL.

`Store.init()` sets `config.attributes["connection"]`; the command-line `alembic` tool (developers only,
e.g. `alembic revision --autogenerate`) sets `sqlalchemy.url` instead.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import context

from blinareg.store.schema import metadata

config = context.config


def _configure(**options) -> None:
    context.configure(target_metadata=metadata, compare_type=True, **options)


def run_on(connection: sa.Connection) -> None:
    _configure(connection=connection, render_as_batch=connection.dialect.name == "sqlite")
    with context.begin_transaction():
        context.run_migrations()


if context.is_offline_mode():
    _configure(url=config.get_main_option("sqlalchemy.url"), literal_binds=True)
    with context.begin_transaction():
        context.run_migrations()
elif config.attributes.get("connection") is not None:
    run_on(config.attributes["connection"])
else:
    engine = sa.create_engine(config.get_main_option("sqlalchemy.url"), poolclass=sa.pool.NullPool)
    with engine.connect() as connection:
        run_on(connection)
    engine.dispose()
