"""Alembic migrations of the store, from the first table."""
