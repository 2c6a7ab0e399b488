"""Between the store's records and the engine's contract: a `Turn` in, a trace and a payload out."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from assistant.types import Media, Reply, Turn
from opstore.models import Conversation, Message


def history_role(author: str) -> str:
    if author == "customer":
        return "customer"
    if author == "bot":
        return "assistant"
    return "agent" if author.startswith("agent:") else "system"


def build_turn(conv: Conversation, msg: Message, customer_id: str | None, history: Sequence[Message],
               media: list[Media]) -> Turn:
    """`customer_id` only for a verified customer; history skips replies the customer never got."""
    lines = [{"role": history_role(m.author), "text": m.text} for m in history
             if m.text and not (m.direction == "out" and m.status == "failed")]
    return Turn(conversation_id=conv.id, channel=conv.channel, text=msg.text, media=media,  # type: ignore[arg-type]
                customer_id=customer_id, history=lines, state=dict(conv.state or {}))


def _without_bytes(images: list[Media]) -> list[dict[str, Any]]:
    return [m.model_dump(mode="json", exclude={"data"}) for m in images]


def reply_trace(reply: Reply) -> dict[str, Any]:
    """What the console shows behind a bot message: why the bot said it."""
    trace = reply.model_dump(mode="json", exclude={"text", "state", "images"})
    trace["images"] = _without_bytes(reply.images)
    return trace


def outbound_payload(reply: Reply) -> dict[str, Any]:
    """What a channel renders. `Reply.model_validate(payload)` gives a channel typed access back."""
    payload = reply.model_dump(mode="json", include={"text", "quick_replies", "products"})
    payload["images"] = _without_bytes(reply.images)
    return payload
