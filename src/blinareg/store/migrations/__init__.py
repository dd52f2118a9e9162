"""Alembic migrations of the registry database (run programmatically by `blinareg.store`; no alembic.ini)."""
