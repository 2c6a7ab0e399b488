"""Alembic migrations of the operational store (a package, so installs carry them)."""
