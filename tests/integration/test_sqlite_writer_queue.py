"""SQLite writers queue on a flock next to the database file (opstore/db.py `_QueuedWriterConnection`)
instead of sleeping in SQLite's busy handler: one writer at a time, a waiter goes as soon as the
holder commits, a thread never waits for itself, and a stuck holder costs a bounded wait."""

from __future__ import annotations

import sqlite3
import threading
import time
from pathlib import Path

from sqlalchemy import text

from opstore.db import _QueuedWriterConnection, make_engine


def _conn(path: Path) -> _QueuedWriterConnection:
    conn = sqlite3.connect(path, factory=_QueuedWriterConnection, check_same_thread=False)
    conn.lock_path = f"{path}-writer.lock"
    return conn


def test_write_transactions_take_turns_and_readers_do_not_queue(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'q.db'}")
    with engine.begin() as c:
        c.execute(text("CREATE TABLE t (n INTEGER)"))
    order: list[str] = []
    inside = threading.Event()

    def slow_writer() -> None:
        with engine.begin() as c:
            inside.set()
            c.execute(text("INSERT INTO t VALUES (1)"))
            time.sleep(0.3)
            order.append("first committed")

    t = threading.Thread(target=slow_writer)
    t.start()
    inside.wait(5)
    started = time.monotonic()
    with engine.execution_options(sqlite_begin="DEFERRED").connect() as reader:   # a reader never queues
        assert reader.execute(text("SELECT count(*) FROM t")).scalar_one() == 0
    assert time.monotonic() - started < 0.2
    with engine.begin() as c:   # a writer waits for the first to commit, then sees its row
        order.append("second began")
        assert c.execute(text("SELECT count(*) FROM t")).scalar_one() == 1
    t.join(5)
    assert order == ["first committed", "second began"]
    assert (tmp_path / "q.db-writer.lock").exists()
    engine.dispose()


def test_a_thread_already_writing_does_not_wait_for_itself(tmp_path: Path) -> None:
    path = tmp_path / "self.db"
    a, b = _conn(path), _conn(path)
    a.queue_for_write()
    started = time.monotonic()
    b.queue_for_write(timeout_s=5)   # same thread, other connection: SQLite's own lock decides instead
    assert time.monotonic() - started < 0.5 and not b._holding
    a.commit()
    b.queue_for_write()
    assert b._holding   # the flock is free again
    b.rollback()
    assert not b._holding


def test_a_stuck_holder_costs_a_bounded_wait(tmp_path: Path) -> None:
    path = tmp_path / "stuck.db"
    holder, waiter = _conn(path), _conn(path)
    taken = threading.Event()
    release = threading.Event()

    def hold() -> None:
        holder.queue_for_write()
        taken.set()
        release.wait(10)
        holder.rollback()

    t = threading.Thread(target=hold)
    t.start()
    taken.wait(5)
    started = time.monotonic()
    waiter.queue_for_write(timeout_s=0.2)
    waited = time.monotonic() - started
    assert 0.2 <= waited < 2 and not waiter._holding
    release.set()
    t.join(5)
    waiter.queue_for_write(timeout_s=1)
    assert waiter._holding
    waiter.close()
    assert not waiter._holding
