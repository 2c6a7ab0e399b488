"""PostgreSQL restarts while messages arrive and a worker answers them: nothing acknowledged is lost,
nothing is answered twice.

A sender keeps delivering messages the way a provider does (a message counts as acknowledged only
when `receive` returned; on an error it is sent again with the same provider id); a worker answers.
Midway the real server is restarted with `pg_ctlcluster` (root, as on CI). SQLite has no server to
restart, so only the PostgreSQL parameter runs; it skips where there is no PostgreSQL.
"""

from __future__ import annotations

import shutil
import subprocess
import threading
import time

import pytest
from sqlalchemy import create_engine, text

from assistant.types import InboundMessage, Reply, Turn
from opstore import open_store
from opstore.worker import run_worker
from skinsage.settings import Settings
from tests.support.hardening import wait_until_answered


class EchoEngine:
    """The store is under test here, not the assistant."""

    def handle(self, turn: Turn) -> Reply:
        return Reply(text=f"got: {turn.text}", state=turn.state)


def _cluster() -> tuple[str, str]:
    out = subprocess.run(["pg_lsclusters", "-h"], capture_output=True, text=True, check=True).stdout.split("\n")
    version, name = next(line.split()[:2] for line in out if "online" in line)
    return version, name


def _sender(store: object, acked: list[str], stop: threading.Event, errors: list[str]) -> None:
    n = 0
    while not stop.is_set():
        n += 1
        pid = f"pg-restart-{n:05d}"
        msg = InboundMessage(channel="sms", channel_user_id=f"+1555000{n % 7:04d}", text=f"message {n}",
                             provider_message_id=pid)
        while not stop.is_set():
            try:
                store.receive(msg)  # type: ignore[attr-defined]
                acked.append(pid)
                break
            except Exception as e:  # noqa: BLE001 - the provider sees a failure and retries the same message
                errors.append(type(e).__name__)
                time.sleep(0.2)
        time.sleep(0.01)


def test_a_postgres_restart_loses_no_acknowledged_message(opstore_url: str) -> None:
    if not opstore_url.startswith("postgresql"):
        pytest.skip("SQLite has no server to restart")
    if shutil.which("pg_ctlcluster") is None:
        pytest.skip("pg_ctlcluster is not installed")
    settings = Settings(database_url=opstore_url, processing_lease_s=2, outbox_backoff_base_s=0.2,
                        load_demo_on_start=False)
    store = open_store(settings)
    acked: list[str] = []
    errors: list[str] = []
    stop_sending, stop_worker = threading.Event(), threading.Event()
    sender = threading.Thread(target=_sender, args=(store, acked, stop_sending, errors))
    worker = threading.Thread(target=run_worker, args=(settings, EchoEngine(), None, stop_worker),
                              kwargs={"store": store, "idle_s": 0.1})
    sender.start()
    worker.start()
    try:
        while len(acked) < 30:
            time.sleep(0.05)
        version, name = _cluster()
        subprocess.run(["pg_ctlcluster", "--mode", "fast", version, name, "restart"], check=True, timeout=120)
        at_restart = len(acked)
        deadline = time.monotonic() + 60
        while len(acked) < at_restart + 30 and time.monotonic() < deadline:
            time.sleep(0.05)
    finally:
        stop_sending.set()
        sender.join(timeout=30)
    db = create_engine(opstore_url)
    try:
        wait_until_answered(db, 60)
        with db.connect() as c:
            rows = c.execute(text("SELECT m.provider_message_id, m.status, count(r.id) FROM messages m "
                                  "LEFT JOIN messages r ON r.reply_to = m.id AND r.direction = 'out' "
                                  "WHERE m.direction = 'in' GROUP BY m.id, m.provider_message_id, m.status")).all()
    finally:
        stop_worker.set()
        worker.join(timeout=30)
        db.dispose()
        store.close()
    by_id = {pid: (status, n) for pid, status, n in rows}
    lost = [p for p in acked if p not in by_id]
    twice = [p for p, (_, n) in by_id.items() if n > 1]
    unanswered = [p for p, (status, n) in by_id.items() if n == 0]
    print(f"\npostgres restart: acknowledged {len(acked)}, saved {len(by_id)}, retried deliveries {len(errors)}, "
          f"lost {len(lost)}, unanswered {len(unanswered)}, answered twice {len(twice)}")
    assert errors, "the restart was not noticed: nothing was exercised"
    assert not lost and not twice and not unanswered
