"""Engines for the two supported databases, tuned for what the store needs from each.

SQLite: WAL (readers never block the writer), a busy timeout instead of instant "database is locked",
foreign keys on, and every writing transaction `BEGIN IMMEDIATE`, so a read-then-write use case takes the
write lock up front and can never fail half-way with SQLITE_BUSY. Read-only units of work (an engine
with the execution option `sqlite_begin="DEFERRED"`, see `opstore.sql.SqlDatabase.reader`) begin
DEFERRED: they read a WAL snapshot and never wait for, or hold up, the one writer.
PostgreSQL: psycopg 3, pre-ping.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event, make_url
from sqlalchemy.engine import URL

from opstore.errors import StoreUnavailable
from skinsage.errors import InvalidInput

#: busy_timeout: wait for the one writer instead of failing. `synchronous` is set per engine: FULL
#: (default) makes a commit survive power loss at one fsync per transaction; NORMAL survives a crash
#: of the process only (the WAL is in the OS cache), at about twice the throughput.
SQLITE_PRAGMAS = ("journal_mode=WAL", "foreign_keys=ON", "busy_timeout=30000",
                  # per connection: 16 MB page cache (default 2 MB), temp b-trees in memory, and reads
                  # through a 256 MB memory map instead of read() calls (writes still go through the WAL)
                  "cache_size=-16000", "temp_store=MEMORY", "mmap_size=268435456")
#: How a transaction begins on SQLite unless the engine's execution options say otherwise.
SQLITE_BEGIN = ("IMMEDIATE", "DEFERRED")


def normalise_url(url: str) -> URL:
    """`postgresql://` means psycopg 3 here (psycopg2 is not a dependency)."""
    u = make_url(url)
    if u.drivername in ("postgresql", "postgres"):
        u = u.set(drivername="postgresql+psycopg")
    return u


def make_engine(url: str, *, pool_size: int = 10, sqlite_synchronous: str = "full") -> Engine:
    u = normalise_url(url)
    if u.get_backend_name() == "sqlite":
        if sqlite_synchronous.lower() not in ("full", "normal"):
            raise InvalidInput(f"sqlite_synchronous must be full or normal, not {sqlite_synchronous!r}")
        return _sqlite_engine(u, sqlite_synchronous.upper())
    if u.get_backend_name() != "postgresql":
        raise StoreUnavailable(f"unsupported database {u.get_backend_name()!r}: use sqlite or postgresql")
    return create_engine(u, pool_pre_ping=True, pool_size=pool_size, max_overflow=pool_size)


def _sqlite_engine(u: URL, synchronous: str) -> Engine:
    if u.database and u.database != ":memory:":
        Path(u.database).parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(u, connect_args={"check_same_thread": False, "timeout": 30})

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        dbapi_conn.isolation_level = None  # we issue BEGIN ourselves (below)
        cur = dbapi_conn.cursor()
        for pragma in (*SQLITE_PRAGMAS, f"synchronous={synchronous}"):
            cur.execute(f"PRAGMA {pragma}")
        cur.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Any) -> None:
        mode = conn.get_execution_options().get("sqlite_begin", "IMMEDIATE")
        if mode not in SQLITE_BEGIN:
            raise ValueError(f"sqlite_begin must be one of {SQLITE_BEGIN}, not {mode!r}")
        conn.exec_driver_sql(f"BEGIN {mode}")

    return engine
