"""Adapters: files, storage, email and the clock, each behind a port of the services."""
