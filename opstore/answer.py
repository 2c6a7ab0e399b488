"""Answering an inbound message exactly once: with the engine (`process`) or by the channel itself
(`respond`). The engine runs outside any transaction; the reply, the new slot memory, a handoff and
the outbox row commit together, and only while this call still holds its claim on the message."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from assistant.types import ConversationEngine, Media, Reply, Turn
from opstore import domain
from opstore.claims import Locked, claim_without_waiting, lock_conversations, lock_for_claims
from opstore.context import StoreConfig, StoreContext
from opstore.errors import Conflict
from opstore.handoff import open_handoff
from opstore.models import Conversation, Message, OutboxRow
from opstore.outbox import new_outbox_row
from opstore.ports import UnitOfWork
from opstore.schemas import OutboxItem, Processed, StoreEvent
from opstore.turns import build_turn, outbound_payload, reply_trace

log = logging.getLogger("skinsage.opstore")


@dataclass
class _Recorded:
    processed: Processed
    events: list[StoreEvent] = field(default_factory=list)
    row: OutboxRow | None = None


@dataclass
class AnsweredBatch:
    """What `process_many` did: a result per message it was given (in order, duplicates once), and the
    replies' outbox rows, claimed for sending by the caller, with the recipients opted out as of now."""

    results: list[Processed] = field(default_factory=list)
    outbox: list[OutboxItem] = field(default_factory=list)
    stopped: set[tuple[str, str]] = field(default_factory=set)


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
        with self.ctx.uow() as uow:
            got, event = self._claim_in(uow, message_id, token, self.ctx.now(), wait=True)
            uow.commit()
        if event is not None:
            self.events.publish(event)
        return got

    def _claim_in(self, uow: UnitOfWork, message_id: str, token: str, now: datetime, *, wait: bool,
                  locked: Locked | None = None) -> tuple[Turn | Processed, StoreEvent | None]:
        """Claim one message in the caller's transaction; the event is published after its commit.
        `locked`: the batch's conversations, locked at once (`opstore.claims.lock_for_claims`)."""
        cfg = self.config
        if wait:
            claimed = uow.messages.claim_inbound(message_id, token, now, cfg.processing_lease_s,
                                                 cfg.inbound_max_attempts)
        else:
            claimed = claim_without_waiting(uow.messages, message_id, token, now, cfg.processing_lease_s,
                                            cfg.inbound_max_attempts, locked)
        if claimed is None:
            return Processed(message_id=message_id, status="skipped"), None
        conv, msg = claimed
        customer_id = conv.customer_id  # set only from a verified identity (receive, attach_identity)
        if self._human_owned(uow, conv, customer_id):
            uow.messages.finish_inbound(message_id, token, {"status": "routed", "updated_at": now})
            return (Processed(message_id=message_id, status="routed"),
                    StoreEvent(kind="inbound_for_human", conversation_id=conv.id, message_id=message_id))
        history = uow.messages.history(conv.id, customer_id, cfg.history_turns, before=msg)
        media = [Media(content_type=m.content_type, url=m.url, filename=m.filename, data=m.data)
                 for m in uow.messages.media(message_id)] if msg.payload.get("media") else []
        return build_turn(conv, msg, customer_id, history, media), None

    @staticmethod
    def _human_owned(uow: UnitOfWork, conv: Conversation, customer_id: str | None) -> bool:
        """A person owns this conversation, or another open conversation of the same verified customer:
        the bot stays silent on every channel of that customer."""
        if conv.status in domain.HUMAN_OWNED:
            return True
        return bool(customer_id) and any(c.status in domain.HUMAN_OWNED
                                         for c in uow.conversations.of_customer(customer_id or ""))

    def _fail(self, message_id: str, token: str, error: str) -> Processed:
        with self.ctx.uow() as uow:
            self._fail_in(uow, message_id, token, error, self.ctx.now())
            uow.commit()
        return Processed(message_id=message_id, status="failed", error=error)

    def _fail_in(self, uow: UnitOfWork, message_id: str, token: str, error: str, now: datetime) -> None:
        cfg = self.config
        attempts = _get(uow, message_id).attempts
        retry_at = now + domain.backoff(attempts, cfg.outbox_backoff_base_s, cfg.outbox_backoff_max_s)
        uow.messages.finish_inbound(message_id, token, {"status": "failed", "error": error[:4000],
                                                        "next_attempt_at": retry_at, "updated_at": now})

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
        with self.ctx.uow() as uow:
            done = self._record_in(uow, message_id, token, conversation_id, reply, self.ctx.now(), author=author,
                                   send=send, ignore_opt_out=ignore_opt_out)
            uow.commit()
        self._published(done)
        return done.processed

    def _record_in(self, uow: UnitOfWork, message_id: str, token: str, conversation_id: str, reply: Reply,
                   now: datetime, *, author: str = "bot", send: bool = True, ignore_opt_out: bool = False,
                   sender_claim: tuple[str, str] | None = None,
                   locked: dict[str, Conversation] | None = None) -> _Recorded:
        """Record one answer in the caller's transaction (it commits, then calls `_published`).
        `sender_claim` = (claim token, worker id): the outbox row is written already claimed for
        sending by that worker (one transaction less per reply; a dead worker's lease lapses).
        `locked`: the batch's conversations, already locked (`opstore.claims.lock_conversations`)."""
        conv = locked.get(conversation_id) if locked is not None else uow.conversations.get(conversation_id,
                                                                                            lock=True)
        if conv is None:  # erased meanwhile (its messages went with it)
            return _Recorded(Processed(message_id=message_id, status="skipped", error="conversation deleted"))
        if author == "bot" and conv.status in domain.HUMAN_OWNED:  # an agent took over meanwhile
            done = uow.messages.finish_inbound(message_id, token, {"status": "routed", "updated_at": now})
            return _Recorded(Processed(message_id=message_id, status="routed" if done else "skipped"))
        if not uow.messages.finish_inbound(message_id, token, {"status": "answered", "error": None,
                                                               "updated_at": now}):
            return _Recorded(Processed(message_id=message_id, status="skipped", error="claim lost (lease lapsed)"))
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
            if sender_claim is not None:
                row.status, row.claim_token, row.claimed_by = "sending", sender_claim[0], sender_claim[1]
                row.attempts, row.lease_until = 1, now + timedelta(seconds=self.config.processing_lease_s)
            uow.add(out)
            uow.add(row)
        events = []
        if out is not None:
            events.append(StoreEvent(kind="reply_recorded", conversation_id=conv.id, message_id=out.id))
        if reply.handoff:
            events.append(StoreEvent(kind="handoff_opened", conversation_id=conv.id,
                                     detail={"reason": conv.handoff_reason}))
        return _Recorded(Processed(message_id=message_id, status="answered", reply=reply,
                                   reply_message_id=out.id if out else None, outbox_id=row.id if row else None),
                         events, row)

    def _published(self, done: _Recorded) -> None:
        for event in done.events:
            self.events.publish(event)

    # -- batches (answer workers and the dispatcher under load) ---------------------------------

    def process_many(self, message_ids: Sequence[str], engine: ConversationEngine, *,
                     worker_id: str = "worker") -> AnsweredBatch:
        """`process` for several messages with two write transactions in all (one claim, one record)
        instead of two each: on SQLite every commit is an fsync under the one write lock, and that,
        not the CPU, is what limited answers per second. The replies' outbox rows are written already
        claimed by `worker_id`: send them (`OutboxService.send_claimed`) right after. Same promises as
        `process`: answered once (claims), in conversation order, engine outside any transaction."""
        token, now = domain.new_id(), self.ctx.now()
        results: dict[str, Processed] = {}
        turns: list[tuple[str, Turn]] = []
        events: list[StoreEvent] = []
        with self.ctx.uow() as uow:
            locked = lock_for_claims(uow.messages, list(dict.fromkeys(message_ids)))
            for message_id in dict.fromkeys(message_ids):
                got, event = self._claim_in(uow, message_id, token, now, wait=False, locked=locked)
                if event is not None:
                    events.append(event)
                if isinstance(got, Turn):
                    turns.append((message_id, got))
                else:
                    results[message_id] = got
            uow.commit()
        for event in events:
            self.events.publish(event)
        replies: list[tuple[str, str, Reply]] = []
        failures: dict[str, str] = {}
        for message_id, turn in turns:
            try:
                replies.append((message_id, turn.conversation_id, engine.handle(turn)))
            except Exception as e:  # any engine failure: keep the message, retry later
                log.exception("engine failed on message %s", message_id)
                failures[message_id] = f"{type(e).__name__}: {e}"
        batch = AnsweredBatch()
        if replies or failures:
            self._record_many(replies, failures, token, worker_id, results, batch)
        batch.results = [results[m] for m in dict.fromkeys(message_ids) if m in results]
        return batch

    def _record_many(self, replies: list[tuple[str, str, Reply]], failures: dict[str, str], token: str,
                     worker_id: str, results: dict[str, Processed], batch: AnsweredBatch) -> None:
        now = self.ctx.now()
        # conversations locked in id order: two workers' record batches never deadlock on PostgreSQL
        ordered = sorted(replies, key=lambda r: r[1])
        try:
            with self.ctx.uow() as uow, _flush_at_commit(uow):
                locked = lock_conversations(uow, [c for _, c, _ in ordered])
                done = [(m, self._record_in(uow, m, token, c, reply, now, sender_claim=(token, worker_id),
                                            locked=locked))
                        for m, c, reply in ordered]
                for message_id, error in failures.items():
                    self._fail_in(uow, message_id, token, error, now)
                rows = [d.row for _, d in done if d.row is not None]
                pairs = {(r.channel, r.recipient) for r in rows}
                batch.stopped = uow.identities.opted_out_among(pairs) if pairs else set()
                batch.outbox = [OutboxItem.model_validate(r) for r in rows]
                uow.commit()
        except Conflict:  # a reply key already taken: settle them one by one, as `process` does
            batch.outbox, batch.stopped = [], set()
            for message_id, conversation_id, reply in ordered:
                try:
                    results[message_id] = self._record(message_id, token, conversation_id, reply)
                except Conflict:
                    results[message_id] = Processed(message_id=message_id, status="skipped",
                                                    error="reply already recorded")
            for message_id, error in failures.items():
                results[message_id] = self._fail(message_id, token, error)
            return
        for message_id, recorded in done:
            results[message_id] = recorded.processed
            self._published(recorded)
        for message_id, error in failures.items():
            results[message_id] = Processed(message_id=message_id, status="failed", error=error)


def _flush_at_commit(uow: UnitOfWork) -> AbstractContextManager[object]:
    """A record batch touches one conversation per message (claims never hand out two of one
    conversation at once), so nothing it reads depends on what it wrote before: its rows are flushed
    once, at commit, instead of before every statement (the ORM's autoflush, most of its CPU)."""
    session = getattr(uow, "session", None)
    return session.no_autoflush if session is not None else nullcontext()


def _get(uow: UnitOfWork, message_id: str) -> Message:
    msg = uow.messages.get(message_id)
    if msg is None:
        raise AssertionError(f"claimed message {message_id} vanished")
    return msg
