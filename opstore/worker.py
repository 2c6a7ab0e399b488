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
from opstore.outbox import SendPool
from opstore.ports import OutboundSender
from opstore.schemas import DeliveryReport
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

    def count(self, outcome: str) -> None:
        """One background send's outcome (`OutboxService.send_claimed`)."""
        self.sent += outcome == "sent"
        self.send_failures += outcome in ("failed", "dead")


def run_once(store: StoreService, engine: ConversationEngine | None, sender: OutboundSender | None,
             worker_id: str, stats: WorkerStats, batch: int = 50, jobs: Sequence[Callable[[], int]] = (), *,
             answer_batch: int = 8, pool: SendPool | None = None, pending_limit: int = 200) -> int:
    """One pass; returns how much it did (0 = idle, so the caller may sleep). `jobs`: periodic passes
    (e.g. `commerce.scheduler.ReminderJob`) that enqueue into the outbox drained below.

    Messages are answered `answer_batch` at a time (`process_many`: one claim and one record
    transaction per group) and each group's replies are sent at once, side by side through `pool`.
    Up to `pending_limit` of them per pass: finding them costs about the same for 50 or 200 when thousands
    wait (every waiting message's place in its conversation is checked), so a pass takes many."""
    done = sum(job() for job in jobs)
    if engine is not None:
        pending = store.pending_inbound(max(batch, pending_limit))
        random.shuffle(pending)  # several workers then rarely collide; claims keep each conversation in order
        for start in range(0, len(pending), max(1, answer_batch)):
            answered = store.answering.process_many(pending[start:start + answer_batch], engine, worker_id=worker_id)
            for result in answered.results:
                done += result.status != "skipped"
                stats.processed += result.status == "answered"
                stats.routed += result.status == "routed"
                stats.failed += result.status == "failed"
            if sender is not None and answered.outbox:   # sent in the background while we answer on
                report = store.outbox.send_claimed(sender, answered.outbox, answered.stopped, pool=pool,
                                                   in_background=stats.count if pool is not None else None)
                if pool is None:
                    _count(stats, report)
            # rows of a dead or sender-less process wait for the lease, then `deliver_due` below
    if sender is not None:
        report = store.outbox.deliver_due(sender, limit=batch, worker_id=worker_id, pool=pool)
        done += report.claimed
        _count(stats, report)
    stats.loops += 1
    return done


def _count(stats: WorkerStats, report: DeliveryReport) -> None:
    stats.sent += report.sent
    stats.send_failures += report.failed + report.dead


def run_worker(settings: Settings, engine: ConversationEngine | None, sender: OutboundSender | None,
               stop_event: threading.Event, *, store: StoreService | None = None, worker_id: str | None = None,
               idle_s: float = 0.2, batch: int = 50, jobs: Sequence[Callable[[], int]] = ()) -> WorkerStats:
    """Loop until `stop_event` is set. Without an engine it only delivers; without a sender it only
    answers (the replies wait in the outbox)."""
    owned = store is None
    store = store or open_store(settings)
    worker_id = worker_id or f"{socket.gethostname()}:{os.getpid()}:{threading.get_ident()}"
    stats, outage = WorkerStats(), 0
    pool = SendPool(settings.channel_send_concurrency) if sender is not None else None
    try:
        while not stop_event.is_set():
            try:
                done = run_once(store, engine, sender, worker_id, stats, batch, jobs,
                                answer_batch=settings.channel_answer_batch, pool=pool)
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
        if pool is not None:
            pool.shutdown()
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
