"""Live updates for open console pages: store events fanned out to Server-Sent Event streams.

The store publishes after commit on whatever thread ran the use case; each browser stream has its own
asyncio queue on the server's loop, filled thread-safely. A slow browser loses events beyond its queue
(it refetches on the next one anyway), never blocks the pipeline. In-process only: with several API
replicas a page sees the events of its own replica, and the page's periodic refresh covers the rest.
"""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import AsyncIterator

from opstore.schemas import StoreEvent

HEARTBEAT_S = 15.0


class LiveHub:
    def __init__(self, max_pending: int = 200) -> None:
        self._subscribers: set[tuple[asyncio.AbstractEventLoop, asyncio.Queue[str]]] = set()
        self._lock = threading.Lock()
        self.max_pending = max_pending

    def publish(self, event: StoreEvent) -> None:
        data = json.dumps({"kind": event.kind, "conversation_id": event.conversation_id,
                           "message_id": event.message_id, "detail": event.detail}, default=str)
        with self._lock:
            subscribers = list(self._subscribers)
        for loop, q in subscribers:
            try:
                loop.call_soon_threadsafe(_offer, q, data)
            except RuntimeError:  # that page's loop is gone
                with self._lock:
                    self._subscribers.discard((loop, q))

    @property
    def listeners(self) -> int:
        with self._lock:
            return len(self._subscribers)

    async def stream(self, heartbeat_s: float = HEARTBEAT_S) -> AsyncIterator[str]:
        """SSE frames: one `data:` line per store event, a comment line as heartbeat."""
        q: asyncio.Queue[str] = asyncio.Queue(self.max_pending)
        key = (asyncio.get_running_loop(), q)
        with self._lock:
            self._subscribers.add(key)
        try:
            yield "retry: 3000\n\n"
            while True:
                try:
                    data = await asyncio.wait_for(q.get(), timeout=heartbeat_s)
                    yield f"event: store\ndata: {data}\n\n"
                except TimeoutError:
                    yield ": keep-alive\n\n"
        finally:
            with self._lock:
                self._subscribers.discard(key)


def _offer(q: asyncio.Queue[str], data: str) -> None:
    if not q.full():
        q.put_nowait(data)
