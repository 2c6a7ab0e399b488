"""The durable `ReminderStore`: restock reminders in the operational store (SQLite or PostgreSQL).

Runs inside the store's own units of work (one transaction per use case, driver errors translated to
the store's errors); a race on "one active reminder per customer and product" is retried and the
retry finds the winner's row, so setting a reminder twice never makes two.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from commerce.reminders import Reminder
from opstore import domain
from opstore.models_commerce import ReminderRow
from opstore.service import StoreService


def session_of(uow: Any) -> Session:
    """The SQLAlchemy session behind a unit of work: commerce tables are only served by the SQL adapter."""
    session = getattr(uow, "session", None)
    if not isinstance(session, Session):
        raise TypeError("the durable reminder store needs the SQL operational store")
    return session


def to_reminder(row: ReminderRow) -> Reminder:
    return Reminder(id=row.id, customer_id=row.customer_id, sku=row.sku, product_name=row.product_name,
                    due=row.due, runs_out=row.runs_out, status=row.status,  # type: ignore[arg-type]
                    created_at=row.created_at)


class SqlReminderStore:
    def __init__(self, store: StoreService) -> None:
        self.store = store

    def upsert(self, customer_id: str, sku: str, product_name: str, due: date, runs_out: date, *,
               source: str = "chat", days_before: int | None = None,
               last_purchase: date | None = None) -> Reminder:
        """One active reminder per customer and product: setting it again moves it. A reminder the
        customer set in chat keeps its own `days_before` when the order sync moves it."""
        ctx = self.store.ctx

        def run() -> Reminder:
            now = ctx.now()
            with ctx.uow() as uow:
                s = session_of(uow)
                row = s.scalars(select(ReminderRow).where(ReminderRow.customer_id == customer_id,
                                                          ReminderRow.sku == sku,
                                                          ReminderRow.status == "active")).first()
                if row is None:
                    row = ReminderRow(id=domain.new_id(), customer_id=customer_id, sku=sku, product_name=product_name,
                                      source=source, status="active", days_before=days_before, due=due,
                                      runs_out=runs_out, last_purchase=last_purchase, created_at=now, updated_at=now)
                    s.add(row)
                else:
                    if source == "chat":
                        row.source, row.days_before = "chat", days_before
                    row.due, row.runs_out, row.updated_at = due, runs_out, now
                    row.last_purchase = last_purchase or row.last_purchase
                s.flush()
                out = to_reminder(row)
                s.commit()
                return out

        return ctx.retrying(run)

    def active(self, customer_id: str) -> list[Reminder]:
        with self.store.ctx.uow() as uow:
            rows = session_of(uow).scalars(select(ReminderRow).where(
                ReminderRow.customer_id == customer_id, ReminderRow.status == "active")
                .order_by(ReminderRow.due, ReminderRow.id)).all()
            return [to_reminder(r) for r in rows]

    def cancel(self, customer_id: str, reminder_id: str) -> Reminder | None:
        ctx = self.store.ctx
        with ctx.uow() as uow:
            s = session_of(uow)
            row = s.get(ReminderRow, reminder_id)
            if row is None or row.customer_id != customer_id or row.status != "active":
                return None
            row.status, row.updated_at = "cancelled", ctx.now()
            out = to_reminder(row)
            s.commit()
            return out
