"""Handing a conversation to a person and back: the store side of the support console.

Ownership changes are conditional updates (`waiting_human -> human` only while still waiting), so two
agents claiming at once cannot both own a conversation. The console adds its own rules (roles,
transfer, capacity, business hours) on top of these.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from opstore import domain
from opstore.compliance import audit_entry
from opstore.context import StoreContext
from opstore.models import Conversation, Handoff, Message
from opstore.outbox import new_outbox_row
from opstore.ports import UnitOfWork
from opstore.schemas import ConversationView, MessageView, OutboxItem, StoreEvent
from skinsage.errors import InvalidInput, NotFound


def open_handoff(uow: UnitOfWork, conv: Conversation, reason: str, actor: str, now: datetime) -> None:
    """Put the conversation in the human queue with its reason (in the caller's transaction)."""
    conv.status, conv.handoff_reason, conv.assigned_agent, conv.updated_at = "waiting_human", reason, None, now
    uow.add(Handoff(id=domain.new_id(), conversation_id=conv.id, reason=reason, opened_at=now))
    uow.add(audit_entry(actor, "handoff_opened", f"conversation:{conv.id}", {"reason": reason}, now))


class HandoffService:
    def __init__(self, ctx: StoreContext) -> None:
        self.ctx = ctx

    def request(self, conversation_id: str, reason: str, *, actor: str = "customer") -> bool:
        """bot -> waiting_human. False if a person already has (or is about to have) it."""
        with self.ctx.uow() as uow:
            conv = _conversation(uow, conversation_id, lock=True)
            if conv.status != "bot":
                return False
            open_handoff(uow, conv, reason, actor, self.ctx.now())
            uow.commit()
        self.ctx.events.publish(StoreEvent(kind="handoff_opened", conversation_id=conversation_id,
                                           detail={"reason": reason}))
        return True

    def claim(self, conversation_id: str, agent: str) -> bool:
        """waiting_human -> human, owned by `agent`; False if someone else claimed it first."""
        now = self.ctx.now()
        with self.ctx.uow() as uow:
            if not uow.conversations.set_owner(conversation_id, ("waiting_human",), "human", agent, now):
                return False
            handoff = uow.conversations.open_handoff(conversation_id)
            if handoff is not None:
                handoff.claimed_at, handoff.agent = now, agent
            uow.add(audit_entry(f"agent:{agent}", "handoff_claimed", f"conversation:{conversation_id}", {}, now))
            uow.commit()
        self.ctx.events.publish(StoreEvent(kind="handoff_claimed", conversation_id=conversation_id,
                                           detail={"agent": agent}))
        return True

    def resolve(self, conversation_id: str, agent: str) -> bool:
        """Hand back to the bot. Only the owning agent (or anyone, while nobody has claimed it)."""
        now = self.ctx.now()
        with self.ctx.uow() as uow:
            conv = _conversation(uow, conversation_id, lock=True)
            if conv.status not in domain.HUMAN_OWNED or conv.assigned_agent not in (None, agent):
                return False
            conv.status, conv.assigned_agent, conv.updated_at = "bot", None, now
            handoff = uow.conversations.open_handoff(conversation_id)
            if handoff is not None:
                handoff.resolved_at, handoff.agent = now, handoff.agent or agent
            uow.add(audit_entry(f"agent:{agent}", "handoff_resolved", f"conversation:{conversation_id}", {}, now))
            uow.commit()
        self.ctx.events.publish(StoreEvent(kind="handoff_resolved", conversation_id=conversation_id,
                                           detail={"agent": agent}))
        return True

    def post_agent_message(self, conversation_id: str, agent: str, text: str,
                           payload: dict[str, Any] | None = None) -> OutboxItem:
        """Record the agent's reply and queue it on the customer's channel, in one transaction."""
        now = self.ctx.now()
        with self.ctx.uow() as uow:
            conv = _conversation(uow, conversation_id)
            if conv.status != "human" or conv.assigned_agent != agent:
                raise InvalidInput("this conversation is not claimed by this agent")
            msg = Message(id=domain.new_id(), conversation_id=conv.id, direction="out", channel=conv.channel,
                          author=f"agent:{agent}", text=text, payload=payload or {}, status="queued",
                          attempts=0, created_at=now, updated_at=now)
            row = new_outbox_row(conv.channel, conv.channel_user_id, {"text": text, **(payload or {})},
                                 f"agent:{msg.id}", now, message_id=msg.id)
            uow.add(msg)
            uow.add(row)
            uow.commit()
            item = OutboxItem.model_validate(row)
        self.ctx.events.publish(StoreEvent(kind="agent_message", conversation_id=conversation_id,
                                           message_id=msg.id))
        return item

    def queue(self, limit: int = 100) -> list[ConversationView]:
        """Waiting conversations, longest-waiting first."""
        with self.ctx.reader() as uow:
            return [ConversationView.model_validate(c) for c in uow.conversations.waiting(limit)]

    def conversation(self, conversation_id: str) -> ConversationView:
        with self.ctx.reader() as uow:
            return ConversationView.model_validate(_conversation(uow, conversation_id))

    def transcript(self, conversation_id: str, limit: int = 500) -> list[MessageView]:
        """Oldest first, with each bot message's trace (tools, citations) in its payload."""
        with self.ctx.reader() as uow:
            return [MessageView.model_validate(m) for m in uow.messages.transcript(conversation_id, limit)]


def _conversation(uow: UnitOfWork, conversation_id: str, *, lock: bool = False) -> Conversation:
    conv = uow.conversations.get(conversation_id, lock=lock)
    if conv is None:
        raise NotFound(f"no conversation {conversation_id}")
    return conv
