"""The contract between channels and the conversation engine.

Channels turn provider requests into an `InboundMessage`; the operational store persists it and
resolves who is writing; the engine answers a `Turn` with a `Reply`; channels render the reply,
degrading rich parts (buttons, cards, images) to text where they cannot show them.
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any, Literal, Protocol

from pydantic import BaseModel, Field

Channel = Literal["web", "whatsapp", "sms", "telegram", "console", "api", "cli"]
Role = Literal["customer", "staff"]


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


class Media(BaseModel):
    """An attachment as received: bytes are fetched (with auth) by the channel before the engine sees it."""

    content_type: str
    url: str | None = None
    data: bytes | None = Field(default=None, repr=False)
    filename: str | None = None


class InboundMessage(BaseModel):
    """One customer message, normalised from any channel."""

    channel: Channel
    channel_user_id: str = Field(description="phone number, Telegram chat id, widget session id ...")
    text: str = ""
    media: list[Media] = []
    provider_message_id: str | None = Field(default=None, description="for deduplicating provider retries")
    received_at: datetime = Field(default_factory=utcnow)
    display_name: str | None = None
    #: Set by the channel only when the provider proves who it is (signed shop token, verified phone).
    verified_identity: str | None = None
    raw: dict[str, Any] = Field(default_factory=dict, repr=False)


class Citation(BaseModel):
    kind: Literal["document", "graph", "order", "profile", "photo"]
    label: str
    ref: str | None = None


class ProductCard(BaseModel):
    sku: str
    name: str
    price: float
    currency: str = "EUR"
    url: str | None = None
    image: str | None = None
    reason: str | None = None


class ToolCall(BaseModel):
    name: str
    args: dict[str, Any] = {}
    ok: bool = True
    error: str | None = None
    result_summary: str | None = None
    ms: float | None = None


class Turn(BaseModel):
    """What the engine needs to answer one message."""

    conversation_id: str
    channel: Channel
    text: str = ""
    media: list[Media] = []
    customer_id: str | None = Field(default=None, description="set only for a verified customer")
    role: Role = "customer"
    history: list[dict[str, str]] = Field(default_factory=list, description="[{role, text}] oldest first")
    state: dict[str, Any] = Field(default_factory=dict, description="the engine's slot memory, persisted between turns")


class Reply(BaseModel):
    text: str
    quick_replies: list[str] = []
    products: list[ProductCard] = []
    images: list[Media] = []
    citations: list[Citation] = []
    tools: list[ToolCall] = []
    handoff: bool = False
    handoff_reason: str | None = None
    planner: str = "offline"
    state: dict[str, Any] = Field(default_factory=dict, description="slot memory to persist for the next turn")
    safety: list[str] = Field(default_factory=list, description="safety rules that fired on this turn")


class TokenSink(Protocol):
    """Where streamed reply text goes (the widget's SSE stream); `reset` discards what was sent so far."""

    def token(self, text: str) -> None: ...

    def reset(self) -> None: ...


class ConversationEngine(Protocol):
    """The one thing channels need from the assistant."""

    def handle(self, turn: Turn) -> Reply: ...
