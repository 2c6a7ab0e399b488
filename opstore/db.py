"""Engines for the two supported databases, tuned for what the store needs from each.

SQLite: WAL (readers never block the writer), a busy timeout instead of instant "database is locked",
foreign keys on, and every writing transaction `BEGIN IMMEDIATE`, so a read-then-write use case takes the
write lock up front and can never fail half-way with SQLITE_BUSY. Read-only units of work (an engine
with the execution option `sqlite_begin="DEFERRED"`, see `opstore.sql.SqlDatabase.reader`) begin
DEFERRED: they read a WAL snapshot and never wait for, or hold up, the one writer. Writers queue on
a flock next to the file (`_QueuedWriterConnection`) rather than in SQLite's sleeping busy handler.
PostgreSQL: psycopg 3, pre-ping.
"""

from __future__ import annotations

import fcntl
import os
import sqlite3
import threading
import time
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


#: per thread: the lock files whose flock this thread holds (attribute name = lock path)
_writing = threading.local()


class _QueuedWriterConnection(sqlite3.Connection):
    """A connection whose write transactions queue on an exclusive `flock` of `<db>-writer.lock`
    before `BEGIN IMMEDIATE`, released once COMMIT or ROLLBACK has run.

    Why: SQLite's own lock has no queue. A writer that finds it taken sleeps in the busy handler
    (1, 2, 5, 10 ... 100 ms) and tries again, so with an HTTP process acknowledging webhooks and an
    answer worker writing replies, acknowledgements waited whole sleep steps behind short
    transactions. A waiter here tries the `flock` again every 0.05-1 ms, so it goes within a millisecond
    of the holder letting go. SQLite's lock and busy timeout still decide correctness (a writer that takes no flock, like the sqlite3 shell, is
    simply not queued); the flock only orders those that take it."""

    lock_path: str | None = None
    _lock_fd: int | None = None
    _holding = False

    def queue_for_write(self, timeout_s: float = 30.0) -> None:
        """Wait for the flock: checked every 0.05-1 ms (SQLite's handler sleeps 1-100 ms), at most
        `timeout_s`, then go on without it and let SQLite's busy timeout decide, as before. A thread
        already writing through another connection of this file does not queue (it would wait for itself)."""
        if self.lock_path is None or self.lock_path in _writing.__dict__:
            return
        if self._lock_fd is None:
            self._lock_fd = os.open(self.lock_path, os.O_RDWR | os.O_CREAT, 0o600)
        pause, deadline = 0.00005, time.monotonic() + timeout_s
        while True:
            try:
                fcntl.flock(self._lock_fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    return
                time.sleep(pause)
                pause = min(pause * 2, 0.001)
        self._holding = True
        setattr(_writing, self.lock_path, True)

    def leave_queue(self) -> None:
        if self._holding and self._lock_fd is not None:
            self._holding = False
            _writing.__dict__.pop(self.lock_path, None)
            fcntl.flock(self._lock_fd, fcntl.LOCK_UN)

    def commit(self) -> None:
        try:
            super().commit()
        finally:
            self.leave_queue()

    def rollback(self) -> None:
        try:
            super().rollback()
        finally:
            self.leave_queue()

    def close(self) -> None:
        try:
            super().close()
        finally:
            if self._lock_fd is not None:
                if self._holding:
                    _writing.__dict__.pop(self.lock_path, None)
                os.close(self._lock_fd)   # also releases a lock still held
                self._lock_fd, self._holding = None, False


def _sqlite_engine(u: URL, synchronous: str) -> Engine:
    on_disk = bool(u.database and u.database != ":memory:" and not u.database.startswith("file:"))
    if on_disk:
        Path(u.database).parent.mkdir(parents=True, exist_ok=True)  # type: ignore[arg-type]
    engine = create_engine(u, connect_args={"check_same_thread": False, "timeout": 30,
                                            "factory": _QueuedWriterConnection})
    lock_path = f"{Path(u.database).resolve()}-writer.lock" if on_disk else None  # type: ignore[arg-type]

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        dbapi_conn.isolation_level = None  # we issue BEGIN ourselves (below)
        if isinstance(dbapi_conn, _QueuedWriterConnection):
            dbapi_conn.lock_path = lock_path
        cur = dbapi_conn.cursor()
        for pragma in (*SQLITE_PRAGMAS, f"synchronous={synchronous}"):
            cur.execute(f"PRAGMA {pragma}")
        cur.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Any) -> None:
        mode = conn.get_execution_options().get("sqlite_begin", "IMMEDIATE")
        if mode not in SQLITE_BEGIN:
            raise ValueError(f"sqlite_begin must be one of {SQLITE_BEGIN}, not {mode!r}")
        dbapi_conn = conn.connection.dbapi_connection
        queued = mode == "IMMEDIATE" and isinstance(dbapi_conn, _QueuedWriterConnection)
        if queued:
            dbapi_conn.queue_for_write()
        try:
            conn.exec_driver_sql(f"BEGIN {mode}")
        except BaseException:
            if queued:
                dbapi_conn.leave_queue()
            raise

    return engine
