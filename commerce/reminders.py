"""Restock reminders: the port the assistant and the worker share, and an in-memory adapter."""

from __future__ import annotations

import itertools
import threading
from datetime import UTC, date, datetime
from typing import Literal, Protocol

from pydantic import BaseModel, Field


class Reminder(BaseModel):
    id: str
    customer_id: str
    sku: str
    product_name: str
    due: date
    runs_out: date
    status: Literal["active", "sent", "cancelled"] = "active"
    created_at: datetime = Field(default_factory=lambda: datetime.now(UTC))


class ReminderStore(Protocol):
    def upsert(self, customer_id: str, sku: str, product_name: str, due: date, runs_out: date) -> Reminder:
        """One active reminder per customer and product: setting it again moves it, never duplicates."""

    def active(self, customer_id: str) -> list[Reminder]: ...

    def cancel(self, customer_id: str, reminder_id: str) -> Reminder | None: ...


class InMemoryReminderStore:
    """For tests and the terminal chat; the operational store carries the durable one."""

    def __init__(self) -> None:
        self._items: dict[str, Reminder] = {}
        self._ids = itertools.count(1)
        self._lock = threading.Lock()

    def upsert(self, customer_id: str, sku: str, product_name: str, due: date, runs_out: date) -> Reminder:
        with self._lock:
            for r in self._items.values():
                if r.customer_id == customer_id and r.sku == sku and r.status == "active":
                    r.due, r.runs_out = due, runs_out
                    return r
            r = Reminder(id=f"rem-{next(self._ids)}", customer_id=customer_id, sku=sku, product_name=product_name,
                         due=due, runs_out=runs_out)
            self._items[r.id] = r
            return r

    def active(self, customer_id: str) -> list[Reminder]:
        return sorted((r for r in self._items.values() if r.customer_id == customer_id and r.status == "active"),
                      key=lambda r: r.due)

    def cancel(self, customer_id: str, reminder_id: str) -> Reminder | None:
        with self._lock:
            r = self._items.get(reminder_id)
            if r is None or r.customer_id != customer_id or r.status != "active":
                return None
            r.status = "cancelled"
            return r
