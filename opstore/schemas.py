"""What the store's use cases return: plain pydantic values, detached from any session."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict

from assistant.types import Reply


class _View(BaseModel):
    model_config = ConfigDict(from_attributes=True)


class Received(BaseModel):
    message_id: str
    conversation_id: str
    duplicate: bool = False
    customer_id: str | None = None


class Processed(BaseModel):
    """`answered`: reply recorded and queued; `routed`: a human owns the conversation, bot silent;
    `failed`: the engine raised (retried later); `skipped`: not claimable now (done, in flight, or
    another message of the conversation is in flight)."""

    message_id: str
    status: Literal["answered", "routed", "failed", "skipped"]
    reply: Reply | None = None
    reply_message_id: str | None = None
    outbox_id: str | None = None
    error: str | None = None


class OutboxItem(_View):
    id: str
    channel: str
    recipient: str
    payload: dict[str, Any]
    dedupe_key: str
    message_id: str | None
    status: str
    attempts: int
    next_attempt_at: datetime
    last_error: str | None
    provider_id: str | None
    ignore_opt_out: bool
    claim_token: str | None = None


class DeliveryReport(BaseModel):
    claimed: int = 0
    sent: int = 0
    failed: int = 0
    dead: int = 0
    suppressed: int = 0


class ConversationView(_View):
    id: str
    customer_id: str | None
    channel: str
    channel_user_id: str
    status: str
    assigned_agent: str | None
    handoff_reason: str | None
    created_at: datetime
    updated_at: datetime
    last_inbound_at: datetime | None


class MessageView(_View):
    id: str
    conversation_id: str
    direction: str
    channel: str
    author: str
    text: str
    payload: dict[str, Any]
    status: str
    error: str | None
    created_at: datetime


class AuditView(_View):
    actor: str
    action: str
    subject: str | None
    details: dict[str, Any]
    at: datetime


EventKind = Literal["inbound", "inbound_for_human", "reply_recorded", "handoff_opened", "handoff_claimed",
                    "handoff_resolved", "agent_message", "delivery"]


class StoreEvent(BaseModel):
    kind: EventKind
    conversation_id: str | None = None
    message_id: str | None = None
    detail: dict[str, Any] = {}
