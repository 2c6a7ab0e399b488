"""Schema migrations, run programmatically: the app, the worker and the tests migrate on start.

Several processes may start at once (API replicas, workers), so an upgrade first takes a lock: a
transaction-scoped advisory lock on PostgreSQL, the `BEGIN IMMEDIATE` write lock on SQLite. The
loser waits, then finds the schema at head and does nothing.
"""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import inspect, text
from sqlalchemy.exc import DBAPIError

from opstore.db import make_engine
from opstore.errors import StoreUnavailable

MIGRATIONS = Path(__file__).resolve().parent / "migrations"
_LOCK_KEY = 0x5EA5A6E  # arbitrary, fixed: "the SkinSage schema migration"


def ours(name: str | None, type_: str, parent_names: object) -> bool:
    """Alembic looks only at the store's own tables: other parts (e.g. `vision_*`) may share the database."""
    from opstore.models import Base

    return type_ != "table" or name in Base.metadata.tables or name == "alembic_version"


def alembic_config(url: str | None = None) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    if url:
        cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return cfg


def _run(engine_url: str, fn: str, revision: str) -> None:
    engine = make_engine(engine_url, pool_size=1)
    try:
        with engine.begin() as conn:
            if conn.dialect.name == "postgresql":
                conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _LOCK_KEY})
            cfg = alembic_config()
            cfg.attributes["connection"] = conn
            getattr(command, fn)(cfg, revision)
    except DBAPIError as e:
        raise StoreUnavailable(f"cannot migrate the operational store: {e}") from e
    finally:
        engine.dispose()


def upgrade(engine_url: str, revision: str = "head") -> None:
    _run(engine_url, "upgrade", revision)


def downgrade(engine_url: str, revision: str = "base") -> None:
    _run(engine_url, "downgrade", revision)


def current(engine_url: str) -> str | None:
    """The revision the database is at (None: never migrated)."""
    engine = make_engine(engine_url, pool_size=1)
    try:
        with engine.connect() as conn:
            if not inspect(conn).has_table("alembic_version"):
                return None
            return conn.execute(text("SELECT version_num FROM alembic_version")).scalar()
    except DBAPIError as e:
        raise StoreUnavailable(f"cannot read the schema version: {e}") from e
    finally:
        engine.dispose()


def head_revision() -> str:
    """The newest migration in the repository (what `upgrade` brings a database to)."""
    from alembic.script import ScriptDirectory

    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    assert head is not None
    return head
