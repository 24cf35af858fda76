"""Alembic migrations of the sdmock database, applied automatically when a Store opens."""
