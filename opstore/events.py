"""In-process publish/subscribe for what the console shows live (new messages, handoffs).

Events are published only after the transaction that caused them committed, so a listener never
sees something that was rolled back. A failing listener is logged and skipped: the console being
broken must never stop customers from getting answers. In-process only: a worker in another process
has its own bus (a cross-process feed, e.g. PostgreSQL LISTEN/NOTIFY, is future work).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

from opstore.schemas import StoreEvent

log = logging.getLogger("skinsage.opstore.events")
Listener = Callable[[StoreEvent], None]


class EventBus:
    def __init__(self) -> None:
        self._listeners: list[Listener] = []
        self._lock = threading.Lock()

    def subscribe(self, listener: Listener) -> Callable[[], None]:
        """Returns the function that unsubscribes it."""
        with self._lock:
            self._listeners.append(listener)

        def unsubscribe() -> None:
            with self._lock:
                if listener in self._listeners:
                    self._listeners.remove(listener)

        return unsubscribe

    def publish(self, event: StoreEvent) -> None:
        with self._lock:
            listeners = list(self._listeners)
        for listener in listeners:
            try:
                listener(event)
            except Exception:
                log.exception("store event listener failed on %s", event.kind)
