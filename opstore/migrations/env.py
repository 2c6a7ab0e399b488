"""Alembic environment. Run through `opstore.migrate.upgrade(url)`, which hands us a connection
already holding the migration lock; the plain `alembic` command line works too (sqlalchemy.url)."""

from __future__ import annotations

from alembic import context

from opstore.db import make_engine
from opstore.migrate import ours
from opstore.models import Base

config = context.config


def _run(connection: object) -> None:
    context.configure(connection=connection, target_metadata=Base.metadata,  # type: ignore[arg-type]
                      render_as_batch=True, compare_type=True, include_name=ours)
    with context.begin_transaction():
        context.run_migrations()


connection = config.attributes.get("connection")
if connection is not None:
    _run(connection)
else:
    engine = make_engine(config.get_main_option("sqlalchemy.url") or "")
    with engine.begin() as conn:
        _run(conn)
    engine.dispose()
