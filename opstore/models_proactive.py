"""Tables of the proactive part of the operational store (Proactive); created by migration 0005.

Imported at the bottom of `opstore.models` so Alembic and the schema test see them.

- `behaviour_events`: what shoppers did on the storefront (only with consent where the brand needs it).
- `trigger_sends`: every trigger decision that reached a subject, held-out ones included, so the lift
  of a trigger is measured against a group that got nothing.
- `customer_segments`: the latest RFM scores and repurchase-risk flag per customer (worker-computed).
- `conversation_outcomes`: per conversation, what the quality report counts (contained, handed off,
  converted, CSAT and the reply that was rated).
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import Boolean, CheckConstraint, Date, Float, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from opstore.models import Base, Json, UTCDateTime  # noqa: F401

EVENT_KINDS = ("product_view", "add_to_cart", "checkout_started", "order_placed", "widget_opened")
SEND_STATUSES = ("held_out", "queued", "delivered", "shown", "suppressed")
SEGMENTS = ("champion", "loyal", "promising", "new", "needs_attention", "at_risk", "hibernating", "lost")


def _one_of(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


class BehaviourEvent(Base):
    __tablename__ = "behaviour_events"
    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    visitor_id: Mapped[str] = mapped_column(String(64))
    customer_id: Mapped[str | None] = mapped_column(String(64))
    session_id: Mapped[str | None] = mapped_column(String(64))
    kind: Mapped[str] = mapped_column(String(24))
    sku: Mapped[str | None] = mapped_column(String(64))
    dwell_s: Mapped[float | None] = mapped_column(Float)
    order_id: Mapped[str | None] = mapped_column(String(64))
    amount: Mapped[float | None] = mapped_column(Float)
    #: order_placed: the SKUs bought (so "viewed without buying" can be told per product).
    skus: Mapped[list[str]] = mapped_column(Json, default=list)
    #: The snippet's own id per event: a retried batch is stored once.
    client_event_id: Mapped[str | None] = mapped_column(String(64))
    occurred_at: Mapped[datetime]
    received_at: Mapped[datetime]
    __table_args__ = (
        CheckConstraint(_one_of("kind", EVENT_KINDS), name="kind"),
        UniqueConstraint("visitor_id", "client_event_id"),
        Index(None, "visitor_id", "occurred_at"),
        Index(None, "customer_id", "occurred_at"),
        Index(None, "kind", "occurred_at"),
    )


class TriggerSend(Base):
    __tablename__ = "trigger_sends"
    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    trigger: Mapped[str] = mapped_column(String(40))
    #: `visitor:<id>` or `customer:<id>`: whom frequency caps and the holdout are about.
    subject: Mapped[str] = mapped_column(String(100))
    customer_id: Mapped[str | None] = mapped_column(String(64))
    visitor_id: Mapped[str | None] = mapped_column(String(64))
    #: One decision per trigger occasion (`checkout_abandoned:<checkout>`): a re-evaluation never sends twice.
    dedupe_key: Mapped[str] = mapped_column(String(200), unique=True)
    holdout: Mapped[bool] = mapped_column(Boolean)
    status: Mapped[str] = mapped_column(String(16))
    channel: Mapped[str | None] = mapped_column(String(16))
    recipient: Mapped[str | None] = mapped_column(String(128))
    outbox_id: Mapped[str | None] = mapped_column(ForeignKey("outbox.id", ondelete="SET NULL"))
    sku: Mapped[str | None] = mapped_column(String(64))
    payload: Mapped[dict[str, Any]] = mapped_column(default=dict)
    created_at: Mapped[datetime]
    delivered_at: Mapped[datetime | None]
    shown_at: Mapped[datetime | None]
    __table_args__ = (
        CheckConstraint(_one_of("status", SEND_STATUSES), name="status"),
        Index(None, "subject", "created_at"),
        Index(None, "visitor_id", "status"),
        Index(None, "trigger", "created_at"),
    )


class CustomerSegment(Base):
    __tablename__ = "customer_segments"
    customer_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    recency_days: Mapped[int | None] = mapped_column(Integer)
    frequency: Mapped[int] = mapped_column(Integer)
    monetary: Mapped[float] = mapped_column(Float)
    r_score: Mapped[int] = mapped_column(Integer)
    f_score: Mapped[int] = mapped_column(Integer)
    m_score: Mapped[int] = mapped_column(Integer)
    segment: Mapped[str] = mapped_column(String(24))
    repurchase_risk: Mapped[bool] = mapped_column(Boolean)
    expected_gap_days: Mapped[float | None] = mapped_column(Float)
    last_order_on: Mapped[date | None] = mapped_column(Date)
    computed_at: Mapped[datetime]
    __table_args__ = (CheckConstraint(_one_of("segment", SEGMENTS), name="segment"), Index(None, "segment"))


class ConversationOutcome(Base):
    __tablename__ = "conversation_outcomes"
    conversation_id: Mapped[str] = mapped_column(ForeignKey("conversations.id", ondelete="CASCADE"),
                                                 primary_key=True)
    customer_id: Mapped[str | None] = mapped_column(String(64), index=True)
    channel: Mapped[str] = mapped_column(String(16))
    resolved_by_bot: Mapped[bool] = mapped_column(Boolean)
    handed_off: Mapped[bool] = mapped_column(Boolean)
    csat: Mapped[int | None] = mapped_column(Integer)
    rated_message_id: Mapped[str | None] = mapped_column(String(32))
    rated_reply: Mapped[str | None] = mapped_column(Text)
    csat_requested_at: Mapped[datetime | None]
    rated_at: Mapped[datetime | None]
    converted_order_id: Mapped[str | None] = mapped_column(String(64))
    converted_at: Mapped[datetime | None]
    resolved_at: Mapped[datetime]
    updated_at: Mapped[datetime]
    __table_args__ = (CheckConstraint("csat IS NULL OR (csat BETWEEN 1 AND 5)", name="csat"),
                      Index(None, "resolved_at"))
