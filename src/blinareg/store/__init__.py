"""The registry database (SQLAlchemy 2 + Alembic; SQLite or PostgreSQL): tables generated from the record
models, atomic imports that replace a batch's patients, single-record edits, and one append-only audit log.
"""

from blinareg.store.settings import DATABASE_URL_ENV, DEFAULT_DATABASE_URL, StoreSettings, store_settings
from blinareg.store.store import (
    AuditEntry,
    ImportProgress,
    ImportResult,
    RegistrySummary,
    Store,
    StoreNotInitialized,
    alembic_config,
    head_revision,
)

__all__ = [
    "AuditEntry",
    "DATABASE_URL_ENV",
    "DEFAULT_DATABASE_URL",
    "ImportProgress",
    "ImportResult",
    "RegistrySummary",
    "Store",
    "StoreNotInitialized",
    "StoreSettings",
    "alembic_config",
    "head_revision",
    "store_settings",
]
