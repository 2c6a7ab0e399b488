"""Tables of the console part of the operational store (Support console); created by migration 0002.

Imported at the bottom of `opstore.models` so Alembic and the schema test see them. Agents are known by
their `username`, which is what `conversations.assigned_agent` and `handoffs.agent` hold.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, CheckConstraint, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from opstore.models import Base, UTCDateTime  # noqa: F401

ROLES = ("agent", "admin")
PRIORITIES = ("urgent", "high", "normal", "low")


class ConsoleAgent(Base):
    __tablename__ = "console_agents"
    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    display_name: Mapped[str] = mapped_column(String(120))
    password_hash: Mapped[str] = mapped_column(String(255))
    role: Mapped[str] = mapped_column(String(16))
    capacity: Mapped[int] = mapped_column(Integer, default=3)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    online: Mapped[bool] = mapped_column(Boolean, default=False)
    failed_logins: Mapped[int] = mapped_column(Integer, default=0)
    locked_until: Mapped[datetime | None]
    last_assigned_at: Mapped[datetime | None]
    created_at: Mapped[datetime]
    __table_args__ = (CheckConstraint("role IN ('agent', 'admin')", name="role"),
                      CheckConstraint("capacity >= 0", name="capacity"))


class ConsoleSession(Base):
    """Server-side session: the cookie carries a random token, the table only its SHA-256."""

    __tablename__ = "console_sessions"
    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    agent_id: Mapped[str] = mapped_column(ForeignKey("console_agents.id", ondelete="CASCADE"), index=True)
    csrf_token: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime]
    last_seen_at: Mapped[datetime]
    expires_at: Mapped[datetime]
    revoked_at: Mapped[datetime | None]


class ConsoleNote(Base):
    """A private note: agents only, never sent to the customer."""

    __tablename__ = "console_notes"
    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    conversation_id: Mapped[str] = mapped_column(ForeignKey("conversations.id", ondelete="CASCADE"), index=True)
    author: Mapped[str] = mapped_column(String(64))
    text: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime]


class CannedResponse(Base):
    __tablename__ = "console_canned_responses"
    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    title: Mapped[str] = mapped_column(String(120), unique=True)
    text: Mapped[str] = mapped_column(Text)
    created_by: Mapped[str] = mapped_column(String(64))
    updated_at: Mapped[datetime]


class HandoffTicket(Base):
    """What the console adds to a store handoff: priority, SLA, who assigned it, first agent reply."""

    __tablename__ = "console_handoff_tickets"
    handoff_id: Mapped[str] = mapped_column(ForeignKey("handoffs.id", ondelete="CASCADE"), primary_key=True)
    conversation_id: Mapped[str] = mapped_column(ForeignKey("conversations.id", ondelete="CASCADE"), index=True)
    category: Mapped[str] = mapped_column(String(32))
    priority: Mapped[str] = mapped_column(String(16))
    sla_due_at: Mapped[datetime]
    assigned_by: Mapped[str | None] = mapped_column(String(16))
    transfers: Mapped[int] = mapped_column(Integer, default=0)
    first_response_at: Mapped[datetime | None]
    __table_args__ = (CheckConstraint("priority IN ('urgent', 'high', 'normal', 'low')", name="priority"),)


class CsatRating(Base):
    """One rating per handoff: a retried message cannot count twice."""

    __tablename__ = "console_csat"
    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    handoff_id: Mapped[str] = mapped_column(ForeignKey("handoffs.id", ondelete="CASCADE"), unique=True)
    conversation_id: Mapped[str] = mapped_column(ForeignKey("conversations.id", ondelete="CASCADE"))
    agent: Mapped[str | None] = mapped_column(String(64))
    channel: Mapped[str] = mapped_column(String(16))
    score: Mapped[int] = mapped_column(Integer)
    at: Mapped[datetime]
    __table_args__ = (CheckConstraint("score BETWEEN 1 AND 5", name="score"), Index(None, "at"))
