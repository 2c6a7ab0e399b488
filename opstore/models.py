"""The operational store's tables, as SQLAlchemy 2 declarative models.

Portable across SQLite and PostgreSQL: string ids (`domain.new_id`), JSON columns, UTC timestamps that
come back timezone-aware on both. Status vocabularies are CHECK constraints so a bad write fails at
the database, not in a report a month later. The schema itself is owned by the Alembic migrations in
`opstore/migrations/`; a test keeps these models and the migrations in step.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, ClassVar

from sqlalchemy import (
    JSON,
    Boolean,
    CheckConstraint,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.types import TypeDecorator

from opstore import domain

Json = JSON().with_variant(JSONB(), "postgresql")


class UTCDateTime(TypeDecorator[datetime]):
    """Stores UTC, returns aware UTC. SQLite keeps no zone, so without this naive and aware datetimes
    would mix and comparisons (leases, backoff, expiry) would silently go wrong."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        value = value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _one_of(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_N_name)s", "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "ck": "ck_%(table_name)s_%(constraint_name)s", "fk": "fk_%(table_name)s_%(column_0_name)s",
        "pk": "pk_%(table_name)s"})
    type_annotation_map: ClassVar[dict[Any, Any]] = {datetime: UTCDateTime(), dict[str, Any]: Json}


def _id() -> Mapped[str]:
    return mapped_column(String(32), primary_key=True, default=domain.new_id)


class Conversation(Base):
    __tablename__ = "conversations"
    id: Mapped[str] = _id()
    customer_id: Mapped[str | None] = mapped_column(String(64), index=True)
    channel: Mapped[str] = mapped_column(String(16))
    channel_user_id: Mapped[str] = mapped_column(String(128))
    status: Mapped[str] = mapped_column(String(16), default="bot")
    assigned_agent: Mapped[str | None] = mapped_column(String(64))
    handoff_reason: Mapped[str | None] = mapped_column(Text)
    state: Mapped[dict[str, Any]] = mapped_column(default=dict)
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]
    last_inbound_at: Mapped[datetime | None]
    __table_args__ = (
        CheckConstraint(_one_of("status", domain.CONVERSATION_STATUSES), name="status"),
        # One open conversation per person and channel, even when two webhooks race to create it.
        Index("uq_conversations_open", "channel", "channel_user_id", unique=True,
              sqlite_where=text("status != 'closed'"), postgresql_where=text("status != 'closed'")),
        Index(None, "status"),
    )


class Message(Base):
    __tablename__ = "messages"
    id: Mapped[str] = _id()
    conversation_id: Mapped[str] = mapped_column(ForeignKey("conversations.id", ondelete="CASCADE"))
    direction: Mapped[str] = mapped_column(String(3))
    channel: Mapped[str] = mapped_column(String(16))
    #: Inbound only: the provider's id (MessageSid, update_id, client id) that retries repeat.
    provider_message_id: Mapped[str | None] = mapped_column(String(128))
    author: Mapped[str] = mapped_column(String(80))  # customer | bot | agent:<name> | system
    text: Mapped[str] = mapped_column(Text, default="")
    payload: Mapped[dict[str, Any]] = mapped_column(default=dict)
    status: Mapped[str] = mapped_column(String(16))
    error: Mapped[str | None] = mapped_column(Text)
    reply_to: Mapped[str | None] = mapped_column(String(32))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    claim_token: Mapped[str | None] = mapped_column(String(32))
    claimed_at: Mapped[datetime | None]
    next_attempt_at: Mapped[datetime | None]
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]
    __table_args__ = (
        UniqueConstraint("channel", "provider_message_id"),
        CheckConstraint("direction IN ('in', 'out')", name="direction"),
        CheckConstraint(f"(direction = 'in' AND {_one_of('status', domain.INBOUND_STATUSES)}) OR "
                        f"(direction = 'out' AND {_one_of('status', domain.OUTBOUND_STATUSES)})", name="status"),
        Index(None, "conversation_id", "created_at"),
        Index(None, "direction", "status"),
    )


class MessageMedia(Base):
    """Attachment bytes kept with the message, so a photo survives until a worker processes it."""

    __tablename__ = "message_media"
    id: Mapped[str] = _id()
    message_id: Mapped[str] = mapped_column(ForeignKey("messages.id", ondelete="CASCADE"), index=True)
    position: Mapped[int] = mapped_column(Integer)
    content_type: Mapped[str] = mapped_column(String(128))
    url: Mapped[str | None] = mapped_column(Text)
    filename: Mapped[str | None] = mapped_column(String(255))
    data: Mapped[bytes | None] = mapped_column(LargeBinary)


class ChannelIdentity(Base):
    __tablename__ = "channel_identities"
    id: Mapped[str] = _id()
    channel: Mapped[str] = mapped_column(String(16))
    external_id: Mapped[str] = mapped_column(String(128))
    customer_id: Mapped[str | None] = mapped_column(String(64), index=True)
    verified: Mapped[bool] = mapped_column(Boolean, default=False)
    verified_at: Mapped[datetime | None]
    display_name: Mapped[str | None] = mapped_column(String(255))
    created_at: Mapped[datetime]
    __table_args__ = (
        UniqueConstraint("channel", "external_id"),
        # The rule that protects order data: an unverified identity never carries a customer.
        CheckConstraint("customer_id IS NULL OR verified", name="customer_needs_verified"),
    )


class LinkCode(Base):
    __tablename__ = "link_codes"
    id: Mapped[str] = _id()
    code_hash: Mapped[str] = mapped_column(String(64), unique=True)
    customer_id: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime]
    expires_at: Mapped[datetime]
    used_at: Mapped[datetime | None]
    used_channel: Mapped[str | None] = mapped_column(String(16))
    used_external_id: Mapped[str | None] = mapped_column(String(128))


class Handoff(Base):
    __tablename__ = "handoffs"
    id: Mapped[str] = _id()
    conversation_id: Mapped[str] = mapped_column(ForeignKey("conversations.id", ondelete="CASCADE"), index=True)
    reason: Mapped[str] = mapped_column(Text)
    opened_at: Mapped[datetime]
    claimed_at: Mapped[datetime | None]
    resolved_at: Mapped[datetime | None]
    agent: Mapped[str | None] = mapped_column(String(64))


class OutboxRow(Base):
    __tablename__ = "outbox"
    id: Mapped[str] = _id()
    channel: Mapped[str] = mapped_column(String(16))
    recipient: Mapped[str] = mapped_column(String(128))
    payload: Mapped[dict[str, Any]] = mapped_column(default=dict)
    dedupe_key: Mapped[str] = mapped_column(String(200), unique=True)
    message_id: Mapped[str | None] = mapped_column(ForeignKey("messages.id", ondelete="SET NULL"), index=True)
    status: Mapped[str] = mapped_column(String(16), default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime]
    last_error: Mapped[str | None] = mapped_column(Text)
    #: Not unique: Telegram message ids repeat across chats. Status callbacks look rows up by it.
    provider_id: Mapped[str | None] = mapped_column(String(128), index=True)
    ignore_opt_out: Mapped[bool] = mapped_column(Boolean, default=False)  # e.g. the STOP confirmation
    claim_token: Mapped[str | None] = mapped_column(String(32))
    claimed_by: Mapped[str | None] = mapped_column(String(64))
    lease_until: Mapped[datetime | None]
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]
    __table_args__ = (CheckConstraint(_one_of("status", domain.OUTBOX_STATUSES), name="status"),
                      Index(None, "status", "next_attempt_at"))


class Consent(Base):
    """Append-only: the latest row per subject and kind is the answer, the rest is the history."""

    __tablename__ = "consents"
    id: Mapped[str] = _id()
    customer_id: Mapped[str | None] = mapped_column(String(64))
    channel: Mapped[str | None] = mapped_column(String(16))
    external_id: Mapped[str | None] = mapped_column(String(128))
    kind: Mapped[str] = mapped_column(String(40))
    granted: Mapped[bool] = mapped_column(Boolean)
    source: Mapped[str] = mapped_column(String(80))
    at: Mapped[datetime]
    __table_args__ = (
        CheckConstraint("customer_id IS NOT NULL OR (channel IS NOT NULL AND external_id IS NOT NULL)",
                        name="has_subject"),
        Index(None, "kind", "customer_id"), Index(None, "kind", "channel", "external_id"),
    )


class OptOut(Base):
    __tablename__ = "opt_outs"
    id: Mapped[str] = _id()
    channel: Mapped[str] = mapped_column(String(16))
    external_id: Mapped[str] = mapped_column(String(128))
    opted_out: Mapped[bool] = mapped_column(Boolean)
    source: Mapped[str] = mapped_column(String(80))
    at: Mapped[datetime]
    __table_args__ = (UniqueConstraint("channel", "external_id"),)


class AuditEntry(Base):
    __tablename__ = "audit_log"
    id: Mapped[str] = _id()
    actor: Mapped[str] = mapped_column(String(80))
    action: Mapped[str] = mapped_column(String(80))
    subject: Mapped[str | None] = mapped_column(String(200), index=True)
    details: Mapped[dict[str, Any]] = mapped_column(default=dict)
    at: Mapped[datetime] = mapped_column(index=True)


# Each part's own tables live in its own module on the same metadata (migrations 0002-0006).
from opstore import models_channels, models_commerce, models_console, models_ingest, models_proactive  # noqa: E402,F401
