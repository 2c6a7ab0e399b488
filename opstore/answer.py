"""Answering an inbound message exactly once: with the engine (`process`) or by the channel itself
(`respond`). The engine runs outside any transaction; the reply, the new slot memory, a handoff and
the outbox row commit together, and only while this call still holds its claim on the message."""

from __future__ import annotations

import logging

from assistant.types import ConversationEngine, Media, Reply, Turn
from opstore import domain
from opstore.context import StoreConfig, StoreContext
from opstore.errors import Conflict
from opstore.handoff import open_handoff
from opstore.models import Conversation, Message
from opstore.outbox import new_outbox_row
from opstore.ports import UnitOfWork
from opstore.schemas import Processed, StoreEvent
from opstore.turns import build_turn, outbound_payload, reply_trace

log = logging.getLogger("skinsage.opstore")


class AnsweringService:
    def __init__(self, ctx: StoreContext) -> None:
        self.ctx = ctx
        self.events = ctx.events

    @property
    def config(self) -> StoreConfig:
        return self.ctx.config

    def process(self, message_id: str, engine: ConversationEngine) -> Processed:
        """Answer one inbound message exactly once. The engine runs outside any transaction; its
        reply, the new slot memory, a handoff and the outbox row commit together, and only while this
        call still holds the claim, so a re-run (or a second worker) can never answer twice."""
        token = domain.new_id()
        claimed = self._claim(message_id, token)
        if isinstance(claimed, Processed):
            return claimed
        try:
            reply = engine.handle(claimed)
        except Exception as e:  # any engine failure: keep the message, retry later
            log.exception("engine failed on message %s", message_id)
            return self._fail(message_id, token, f"{type(e).__name__}: {e}")
        try:
            return self._record(message_id, token, claimed.conversation_id, reply)
        except Conflict:
            return Processed(message_id=message_id, status="skipped", error="reply already recorded")

    def _claim(self, message_id: str, token: str) -> Turn | Processed:
        cfg, now = self.config, self.ctx.now()
        with self.ctx.uow() as uow:
            claimed = uow.messages.claim_inbound(message_id, token, now, cfg.processing_lease_s,
                                                 cfg.inbound_max_attempts)
            if claimed is None:
                return Processed(message_id=message_id, status="skipped")
            conv, msg = claimed
            customer_id = conv.customer_id  # set only from a verified identity (receive, attach_identity)
            if self._human_owned(uow, conv, customer_id):
                uow.messages.finish_inbound(message_id, token, {"status": "routed", "updated_at": now})
                uow.commit()
                self.events.publish(StoreEvent(kind="inbound_for_human", conversation_id=conv.id, message_id=message_id))
                return Processed(message_id=message_id, status="routed")
            history = uow.messages.history(conv.id, customer_id, cfg.history_turns, before=msg)
            media = [Media(content_type=m.content_type, url=m.url, filename=m.filename, data=m.data)
                     for m in uow.messages.media(message_id)] if msg.payload.get("media") else []
            turn = build_turn(conv, msg, customer_id, history, media)
            uow.commit()
            return turn

    @staticmethod
    def _human_owned(uow: UnitOfWork, conv: Conversation, customer_id: str | None) -> bool:
        """A person owns this conversation, or another open conversation of the same verified customer:
        the bot stays silent on every channel of that customer."""
        if conv.status in domain.HUMAN_OWNED:
            return True
        return bool(customer_id) and any(c.status in domain.HUMAN_OWNED
                                         for c in uow.conversations.of_customer(customer_id or ""))

    def _fail(self, message_id: str, token: str, error: str) -> Processed:
        cfg, now = self.config, self.ctx.now()
        with self.ctx.uow() as uow:
            attempts = _get(uow, message_id).attempts
            retry_at = now + domain.backoff(attempts, cfg.outbox_backoff_base_s, cfg.outbox_backoff_max_s)
            uow.messages.finish_inbound(message_id, token, {"status": "failed", "error": error[:4000],
                                                            "next_attempt_at": retry_at, "updated_at": now})
            uow.commit()
        return Processed(message_id=message_id, status="failed", error=error)

    def respond(self, message_id: str, text: str | None, *, ignore_opt_out: bool = False) -> Processed:
        """Settle an inbound message without the engine: a channel that handled it itself (STOP, HELP,
        `/start CODE`) answers with `text` (or nothing) through the outbox, exactly once, whoever
        owns the conversation and whatever earlier message is still waiting for the engine."""
        token, cfg, now = domain.new_id(), self.config, self.ctx.now()
        with self.ctx.uow() as uow:
            claimed = uow.messages.claim_inbound(message_id, token, now, cfg.processing_lease_s,
                                                 cfg.inbound_max_attempts, in_line=False)
            if claimed is None:
                return Processed(message_id=message_id, status="skipped")
            uow.commit()
        reply = Reply(text=text or "", planner="system")
        return self._record(message_id, token, claimed[0].id, reply, author="system",
                            send=text is not None, ignore_opt_out=ignore_opt_out)

    def _record(self, message_id: str, token: str, conversation_id: str, reply: Reply, *, author: str = "bot",
                send: bool = True, ignore_opt_out: bool = False) -> Processed:
        now = self.ctx.now()
        with self.ctx.uow() as uow:
            conv = uow.conversations.get(conversation_id, lock=True)
            if conv is None:  # erased meanwhile (its messages went with it)
                return Processed(message_id=message_id, status="skipped", error="conversation deleted")
            if author == "bot" and conv.status in domain.HUMAN_OWNED:  # an agent took over meanwhile
                done = uow.messages.finish_inbound(message_id, token, {"status": "routed", "updated_at": now})
                uow.commit()
                return Processed(message_id=message_id, status="routed" if done else "skipped")
            if not uow.messages.finish_inbound(message_id, token, {"status": "answered", "error": None,
                                                                   "updated_at": now}):
                return Processed(message_id=message_id, status="skipped", error="claim lost (lease lapsed)")
            conv.updated_at = now
            if author == "bot":  # a channel's own answer leaves the engine's slot memory alone
                conv.state = dict(reply.state)
            if reply.handoff:
                open_handoff(uow, conv, reply.handoff_reason or "the assistant asked for a person", "bot", now)
            out = row = None
            if send:
                out = Message(id=domain.new_id(), conversation_id=conv.id, direction="out", channel=conv.channel,
                              author=author, text=reply.text, payload=reply_trace(reply), status="queued",
                              reply_to=message_id, attempts=0, created_at=now, updated_at=now)
                row = new_outbox_row(conv.channel, conv.channel_user_id, outbound_payload(reply),
                                     domain.reply_dedupe_key(message_id), now, message_id=out.id,
                                     ignore_opt_out=ignore_opt_out)
                uow.add(out)
                uow.add(row)
            uow.commit()
        if out is not None:
            self.events.publish(StoreEvent(kind="reply_recorded", conversation_id=conv.id, message_id=out.id))
        if reply.handoff:
            self.events.publish(StoreEvent(kind="handoff_opened", conversation_id=conv.id,
                                           detail={"reason": conv.handoff_reason}))
        return Processed(message_id=message_id, status="answered", reply=reply,
                         reply_message_id=out.id if out else None, outbox_id=row.id if row else None)


def _get(uow: UnitOfWork, message_id: str) -> Message:
    msg = uow.messages.get(message_id)
    if msg is None:
        raise AssertionError(f"claimed message {message_id} vanished")
    return msg
