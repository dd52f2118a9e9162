"""Where the registry database is: built on demand from an argument or the environment, never at import."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass

import sqlalchemy as sa

from blinareg.errors import UserError

DATABASE_URL_ENV = "BLINAREG_DATABASE_URL"
DEFAULT_DATABASE_URL = "sqlite:///blinareg.sqlite"
SUPPORTED_BACKENDS = ("sqlite", "postgresql")


@dataclass(frozen=True)
class StoreSettings:
    url: sa.URL

    @property
    def backend(self) -> str:
        return self.url.get_backend_name()

    @property
    def display_url(self) -> str:
        """The URL with any password hidden, for messages."""
        return self.url.render_as_string(hide_password=True)

    @property
    def sqlite_path(self) -> str | None:
        """The database file of a file-based SQLite URL (None for PostgreSQL and in-memory SQLite)."""
        if self.backend != "sqlite" or self.url.database in (None, "", ":memory:"):
            return None
        return self.url.database


def store_settings(url: str | None = None, environ: Mapping[str, str] | None = None) -> StoreSettings:
    """Settings from `url`, else $BLINAREG_DATABASE_URL, else `sqlite:///blinareg.sqlite`.

    Refuses what is not a database URL or not a supported backend (SQLite, PostgreSQL). A PostgreSQL URL
    without a driver uses psycopg 3, the driver blinareg installs.
    """
    environ = os.environ if environ is None else environ
    text = url or environ.get(DATABASE_URL_ENV) or DEFAULT_DATABASE_URL
    try:
        parsed = sa.make_url(text)
    except sa.exc.ArgumentError:
        raise UserError(
            f"not a database URL: {text!r} (expected e.g. sqlite:///registry.sqlite or postgresql://user@host/dbname)"
        ) from None
    backend = parsed.get_backend_name()
    if backend not in SUPPORTED_BACKENDS:
        raise UserError(
            f"unsupported database {backend!r} in {parsed.render_as_string(hide_password=True)}; "
            f"blinareg stores registries in SQLite or PostgreSQL"
        )
    if backend == "postgresql" and parsed.get_driver_name() != "psycopg":
        if "+" in parsed.drivername:
            raise UserError(
                f"database driver {parsed.get_driver_name()!r} is not supported; "
                f"use postgresql+psycopg:// (or postgresql://)"
            )
        parsed = parsed.set(drivername="postgresql+psycopg")
    if backend == "sqlite" and "+" in parsed.drivername and parsed.get_driver_name() != "pysqlite":
        raise UserError(f"database driver {parsed.get_driver_name()!r} is not supported; use sqlite:///PATH")
    return StoreSettings(parsed)
