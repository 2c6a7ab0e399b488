"""Tables of the commerce part of the operational store (Commerce); created by migration 0003.

Imported at the bottom of `opstore.models` so Alembic and the schema test see them.

`commerce_reminders` is the durable list of restock reminders (set in chat, or derived from orders);
`commerce_reminder_sends` records each send once per reminder and cycle (UNIQUE), written in the same
transaction as its outbox row, so two workers running the scheduler at once send once.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import (
    CheckConstraint,
    Date,
    ForeignKey,
    Index,
    Integer,
    String,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from opstore.models import Base, UTCDateTime  # noqa: F401

REMINDER_STATUSES = ("active", "sent", "cancelled")
REMINDER_SOURCES = ("chat", "orders")
SEND_KINDS = ("restock", "followup")


class ReminderRow(Base):
    __tablename__ = "commerce_reminders"
    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    customer_id: Mapped[str] = mapped_column(String(64))
    sku: Mapped[str] = mapped_column(String(64))
    product_name: Mapped[str] = mapped_column(String(255))
    source: Mapped[str] = mapped_column(String(8))
    status: Mapped[str] = mapped_column(String(16))
    #: None: the configured default
    days_before: Mapped[int | None] = mapped_column(Integer)
    due: Mapped[date] = mapped_column(Date)
    runs_out: Mapped[date] = mapped_column(Date)
    last_purchase: Mapped[date | None] = mapped_column(Date)
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]
    __table_args__ = (
        CheckConstraint("status IN ('active', 'sent', 'cancelled')", name="status"),
        CheckConstraint("source IN ('chat', 'orders')", name="source"),
        # one active reminder per customer and product, even when two requests race
        Index("uq_commerce_reminders_active", "customer_id", "sku", unique=True,
              sqlite_where=text("status = 'active'"), postgresql_where=text("status = 'active'")),
        Index(None, "status", "due"),
    )


class ReminderSendRow(Base):
    __tablename__ = "commerce_reminder_sends"
    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    reminder_id: Mapped[str] = mapped_column(ForeignKey("commerce_reminders.id", ondelete="CASCADE"))
    customer_id: Mapped[str] = mapped_column(String(64))
    #: `<kind>:<last purchase or runs-out day>`: a new purchase starts a new cycle
    cycle: Mapped[str] = mapped_column(String(40))
    kind: Mapped[str] = mapped_column(String(16))
    channel: Mapped[str] = mapped_column(String(16))
    recipient: Mapped[str] = mapped_column(String(128))
    outbox_id: Mapped[str] = mapped_column(String(32))
    created_at: Mapped[datetime]
    __table_args__ = (
        UniqueConstraint("reminder_id", "cycle"),
        CheckConstraint("kind IN ('restock', 'followup')", name="kind"),
        Index(None, "customer_id", "created_at"),
    )
