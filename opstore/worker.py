"""The background worker: answers every acknowledged message and drains the outbox, forever.

Safe to run several at once (claims are atomic; on PostgreSQL the outbox uses SKIP LOCKED) and safe to
kill at any moment: a message or row it held is picked up again once its lease lapses. More jobs
(restock reminders, proactive triggers, segments) run as `jobs` in every pass.
"""

from __future__ import annotations

import logging
import os
import random
import signal
import socket
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from assistant.types import ConversationEngine
from opstore import open_store
from opstore.errors import StoreUnavailable
from opstore.ports import OutboundSender
from opstore.service import StoreService
from skinsage.settings import Settings

log = logging.getLogger("skinsage.worker")


@dataclass
class WorkerStats:
    processed: int = 0
    routed: int = 0
    failed: int = 0
    sent: int = 0
    send_failures: int = 0
    loops: int = 0


def run_once(store: StoreService, engine: ConversationEngine | None, sender: OutboundSender | None,
             worker_id: str, stats: WorkerStats, batch: int = 50, jobs: Sequence[Callable[[], int]] = ()) -> int:
    """One pass; returns how much it did (0 = idle, so the caller may sleep). `jobs`: periodic passes
    (e.g. `commerce.scheduler.ReminderJob`) that enqueue into the outbox drained below."""
    done = sum(job() for job in jobs)
    if engine is not None:
        pending = store.pending_inbound(batch)
        random.shuffle(pending)  # several workers then rarely collide; claims keep each conversation in order
        for message_id in pending:
            result = store.process(message_id, engine)
            done += result.status != "skipped"
            stats.processed += result.status == "answered"
            stats.routed += result.status == "routed"
            stats.failed += result.status == "failed"
    if sender is not None:
        report = store.outbox.deliver_due(sender, limit=batch, worker_id=worker_id)
        done += report.claimed
        stats.sent += report.sent
        stats.send_failures += report.failed + report.dead
    stats.loops += 1
    return done


def run_worker(settings: Settings, engine: ConversationEngine | None, sender: OutboundSender | None,
               stop_event: threading.Event, *, store: StoreService | None = None, worker_id: str | None = None,
               idle_s: float = 0.2, batch: int = 50, jobs: Sequence[Callable[[], int]] = ()) -> WorkerStats:
    """Loop until `stop_event` is set. Without an engine it only delivers; without a sender it only
    answers (the replies wait in the outbox)."""
    owned = store is None
    store = store or open_store(settings)
    worker_id = worker_id or f"{socket.gethostname()}:{os.getpid()}:{threading.get_ident()}"
    stats, outage = WorkerStats(), 0
    try:
        while not stop_event.is_set():
            try:
                done = run_once(store, engine, sender, worker_id, stats, batch, jobs)
                outage = 0
            except StoreUnavailable as e:  # database restarting: wait, do not die
                outage += 1
                log.warning("operational store unavailable (%s); retrying", e)
                stop_event.wait(min(30.0, idle_s * 2 ** outage))
                continue
            except Exception:  # a bug must not stop every other customer's answers: log, go on
                log.exception("worker pass failed; continuing")
                stop_event.wait(1.0)
                continue
            if not done:
                stop_event.wait(idle_s)
    finally:
        if owned:
            store.close()
    return stats


def serve_worker(settings: Settings) -> WorkerStats:
    """`skinsage worker`: run until SIGINT/SIGTERM (the current pass finishes first)."""
    from skinsage.bootstrap import build_worker

    parts = build_worker(settings)
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    log.info("worker started on %s", settings.store_url.split("@")[-1])
    try:
        stats = run_worker(settings, parts.engine, parts.sender, stop, store=parts.store, jobs=parts.jobs)
    finally:
        parts.close()
    log.info("worker stopped: %s", stats)
    return stats
