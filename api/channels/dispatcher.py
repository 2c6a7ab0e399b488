"""Answers what the webhooks acknowledged, in this process, right after they acknowledged it.

A webhook only persists (`store.receive`) and returns; it hands the message id to this dispatcher,
whose threads run `store.process` (exactly once, in conversation order) and send the reply through
the outbox at once. Nothing depends on this being alive: a message it never got to stays `received`
in the store, and both its own sweep and `skinsage worker` pick it up.

The sweep only takes messages it saw pending on the previous sweep too (so at least `sweep_s` old):
a webhook that settles a message itself (STOP, `/start CODE`) is never raced by the engine.
"""

from __future__ import annotations

import logging
import queue
import threading
from dataclasses import dataclass
from typing import Any

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
                 sweep_s: float = 5.0) -> None:
        self.store, self.engine, self.sender = store, engine, sender
        self.threads, self.sweep_s = threads, sweep_s
        self.stats = DispatchStats()
        self._queue: queue.Queue[tuple[str, str]] = queue.Queue()
        self._deferred: set[str] = set()
        self._tries: dict[str, int] = {}
        self._seen: set[str] = set()
        self._lock = threading.Lock()
        self._sweeping = threading.Lock()
        self._sending = threading.Lock()
        self._to_send: list[str] = []
        self._stop = threading.Event()
        self._pool: list[threading.Thread] = []

    def start(self) -> Dispatcher:
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

    def submit(self, message_id: str) -> None:
        """Answer this acknowledged message soon."""
        self._queue.put(("process", message_id))

    def deliver(self, outbox_id: str) -> None:
        """Send this outbox row now (a reply the channel recorded itself)."""
        self._queue.put(("deliver", outbox_id))

    def idle(self) -> bool:
        return self._queue.unfinished_tasks == 0

    # -- the threads -----------------------------------------------------------------------------

    def _loop(self) -> None:
        while not self._stop.is_set():
            try:
                kind, ident = self._queue.get(timeout=self.sweep_s)
            except queue.Empty:
                self._guard(self._sweep)
                continue
            try:
                if kind == "process":
                    self._guard(lambda i=ident: self._process(i))
                elif kind == "deliver":
                    self._guard(lambda i=ident: self._send_soon(i))
            finally:
                self._queue.task_done()

    def _guard(self, fn: Any) -> None:
        """One failure (database restarting, a bug) must not stop the thread: the message stays in
        the store, where the sweep and the worker find it again."""
        try:
            fn()
        except Exception:
            log.exception("channel dispatch failed; the message stays pending for a retry")

    def _process(self, message_id: str) -> None:
        done = self.store.process(message_id, self.engine)
        with self._lock:
            if done.status == "skipped":   # in line behind an earlier message, or already done
                self.stats.skipped += 1
                self._tries[message_id] = self._tries.get(message_id, 0) + 1
                if self._tries[message_id] < _DEFER_LIMIT:
                    self._deferred.add(message_id)
                else:
                    self._tries.pop(message_id)   # the sweep or the worker takes it from here
                return
            setattr(self.stats, done.status, getattr(self.stats, done.status) + 1)
            self._tries.pop(message_id, None)
            waiting, self._deferred = self._deferred, set()
        if done.outbox_id:
            self._send_soon(done.outbox_id)
        for later in waiting:   # whoever waited behind this message may go now
            self._queue.put(("process", later))

    def _send_soon(self, outbox_id: str) -> None:
        """Replies are sent in batches: while one thread sends, the others queue their rows behind it,
        and the next batch shares one claim and one opt-out lookup (fewer commits under load)."""
        with self._lock:
            self._to_send.append(outbox_id)
        while True:
            if not self._sending.acquire(blocking=False):
                return   # the thread that is sending picks this row up in its next batch
            try:
                with self._lock:
                    batch, self._to_send = self._to_send[:100], self._to_send[100:]
                if batch:
                    self._deliver(batch, limit=len(batch))
            finally:
                self._sending.release()
            with self._lock:
                if not self._to_send:
                    return

    def _deliver(self, only: list[str] | None, limit: int = 50) -> None:
        if self.sender is None:
            return
        report = self.store.outbox.deliver_due(self.sender, only=only, limit=limit, worker_id="api-dispatch")
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
            for message_id in ripe:
                self._process(message_id)
            self._deliver(None, limit=100)   # rows whose backoff has run out
        finally:
            self._sweeping.release()
