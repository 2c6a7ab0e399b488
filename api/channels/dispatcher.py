"""Answers what the webhooks acknowledged, in this process, right after they acknowledged it.

A webhook only persists (`store.receive`) and returns; it hands the message id to this dispatcher,
whose threads run `store.process` (exactly once, in conversation order) and send the reply through
the outbox at once. Nothing depends on this being alive: a message it never got to stays `received`
in the store, and both its own sweep and `skinsage worker` pick it up.

The sweep only takes messages it saw pending on the previous sweep too (so at least `sweep_s` old):
a webhook that settles a message itself (STOP, `/start CODE`) is never raced by the engine.

Under load a thread takes up to `batch` queued messages at once (`process_many`: one claim and one
record commit for all of them, which is what SQLite's fsync-per-commit makes count) and hands the
replies to a `SendPool`, so provider calls run side by side and never hold up answering. With
`inline=False` (several HTTP processes, `skinsage worker`s answering) it does nothing: the webhook
only acknowledges and the workers find the message in the store.
"""

from __future__ import annotations

import logging
import queue
import threading
from dataclasses import dataclass
from typing import Any

from opstore.outbox import SendPool
from opstore.ports import OutboundSender
from opstore.service import StoreService

log = logging.getLogger("skinsage.channels")
_DEFER_LIMIT = 50


@dataclass
class DispatchStats:
    answered: int = 0
    routed: int = 0
    failed: int = 0
    skipped: int = 0
    sent: int = 0
    send_failures: int = 0
    swept: int = 0


class Dispatcher:
    def __init__(self, store: StoreService, engine: Any, sender: OutboundSender | None, *, threads: int = 2,
                 sweep_s: float = 5.0, batch: int = 8, send_concurrency: int = 8, inline: bool = True) -> None:
        self.store, self.engine, self.sender = store, engine, sender
        self.threads, self.sweep_s, self.batch, self.inline = threads, sweep_s, max(1, batch), inline
        self.send_concurrency = send_concurrency
        self.stats = DispatchStats()
        self._queue: queue.Queue[tuple[str, str]] = queue.Queue()
        self._deferred: set[str] = set()
        self._tries: dict[str, int] = {}
        self._seen: set[str] = set()
        self._lock = threading.Lock()
        self._sweeping = threading.Lock()
        self._stop = threading.Event()
        self._pool: list[threading.Thread] = []
        self._sends: SendPool | None = None

    def start(self) -> Dispatcher:
        if not self.inline:
            return self
        if self.sender is not None:
            self._sends = SendPool(self.send_concurrency)
        for n in range(self.threads):
            t = threading.Thread(target=self._loop, name=f"channel-dispatch-{n}", daemon=True)
            t.start()
            self._pool.append(t)
        return self

    def stop(self, timeout: float = 10.0) -> None:
        self._stop.set()
        for _ in self._pool:
            self._queue.put(("stop", ""))
        for t in self._pool:
            t.join(timeout)
        self._pool.clear()
        if self._sends is not None:
            self._sends.shutdown(wait=True)   # replies already recorded are sent (or left leased)
            self._sends = None

    def submit(self, message_id: str) -> None:
        """Answer this acknowledged message soon (in this process only when `inline`)."""
        if self.inline:
            self._queue.put(("process", message_id))

    def deliver(self, outbox_id: str) -> None:
        """Send this outbox row now (a reply the channel recorded itself)."""
        if self.inline:
            self._queue.put(("deliver", outbox_id))

    def idle(self) -> bool:
        return self._queue.unfinished_tasks == 0

    # -- the threads -----------------------------------------------------------------------------

    def _loop(self) -> None:
        while not self._stop.is_set():
            try:
                first = self._queue.get(timeout=self.sweep_s)
            except queue.Empty:
                self._guard(self._sweep)
                continue
            jobs = [first]
            while first[0] == "process" and len(jobs) < self.batch:   # whatever else is waiting, at once
                try:
                    jobs.append(self._queue.get_nowait())
                except queue.Empty:
                    break
            try:
                process = [ident for kind, ident in jobs if kind == "process"]
                if process:
                    self._guard(lambda ids=process: self._process(ids))
                for kind, ident in jobs:
                    if kind == "deliver":
                        self._guard(lambda i=ident: self._deliver([i], limit=1))
            finally:
                for _ in jobs:
                    self._queue.task_done()

    def _guard(self, fn: Any) -> None:
        """One failure (database restarting, a bug) must not stop the thread: the message stays in
        the store, where the sweep and the worker find it again."""
        try:
            fn()
        except Exception:
            log.exception("channel dispatch failed; the message stays pending for a retry")

    def _process(self, message_ids: list[str]) -> None:
        done = self.store.answering.process_many(message_ids, self.engine, worker_id="api-dispatch")
        if self.sender is not None and done.outbox:
            self.store.outbox.send_claimed(self.sender, done.outbox, done.stopped, pool=self._sends,
                                           in_background=self._sent if self._sends is not None else None)
        progressed = False
        with self._lock:
            for result in done.results:
                message_id = result.message_id
                if result.status == "skipped":   # in line behind an earlier message, or already done
                    self.stats.skipped += 1
                    self._tries[message_id] = self._tries.get(message_id, 0) + 1
                    if self._tries[message_id] < _DEFER_LIMIT:
                        self._deferred.add(message_id)
                    else:
                        self._tries.pop(message_id)   # the sweep or the worker takes it from here
                    continue
                progressed = True
                setattr(self.stats, result.status, getattr(self.stats, result.status) + 1)
                self._tries.pop(message_id, None)
            waiting: set[str] = set()
            if progressed:
                waiting, self._deferred = self._deferred, set()
        for later in waiting:   # whoever waited behind these messages may go now
            self._queue.put(("process", later))

    def _sent(self, outcome: str) -> None:
        with self._lock:
            self.stats.sent += outcome == "sent"
            self.stats.send_failures += outcome in ("failed", "dead")

    def _deliver(self, only: list[str] | None, limit: int = 50) -> None:
        if self.sender is None:
            return
        report = self.store.outbox.deliver_due(self.sender, only=only, limit=limit, worker_id="api-dispatch",
                                               pool=self._sends)
        with self._lock:
            self.stats.sent += report.sent
            self.stats.send_failures += report.failed + report.dead

    def _sweep(self) -> None:
        if not self._sweeping.acquire(blocking=False):
            return
        try:
            pending = self.store.pending_inbound(200)
            with self._lock:
                ripe = [m for m in pending if m in self._seen]
                self._seen = set(pending)
                self.stats.swept += len(ripe)
            for start in range(0, len(ripe), self.batch):
                self._process(ripe[start:start + self.batch])
            self._deliver(None, limit=100)   # rows whose backoff has run out
        finally:
            self._sweeping.release()
