"""The SQL store: projects, bindings, tasks, the append-only event log, nudges and the outbox.

SQLite by default (a file in the data folder, WAL), PostgreSQL by URL. The schema
is made and changed only by the alembic migrations in ``migrations/``.
"""
