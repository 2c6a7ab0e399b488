"""The agents' desk: the queue, claiming and round-robin assignment, transfer, replies, hand-back, notes,
canned responses and CSAT.

Ownership changes go through the store's handoff use cases (conditional updates: two agents claiming
at once cannot both win); the console adds capacity, priority and SLA (a `HandoffTicket` per handoff),
and writes an audit line for every agent action.
"""

from __future__ import annotations

import logging
import threading
from datetime import datetime, timedelta
from typing import Any

from pydantic import BaseModel, ConfigDict

from console import repo
from console.auth import AgentView, ConsoleConfig
from console.rules import (
    AgentLoad,
    HandoffRules,
    Priority,
    SlaState,
    next_agent,
    ordered_queue,
    sla_state,
)
from opstore import domain
from opstore.compliance import audit_entry
from opstore.errors import Conflict
from opstore.models import Conversation, Handoff, Message
from opstore.models_console import CannedResponse, ConsoleNote, CsatRating, HandoffTicket
from opstore.outbox import new_outbox_row
from opstore.schemas import OutboxItem, StoreEvent
from opstore.service import StoreService
from skinsage.errors import InvalidInput, NotFound

log = logging.getLogger("skinsage.console")
MAX_TEXT = 4000


class DeskConflict(InvalidInput):
    """The action clashes with what someone else did or holds (HTTP 409): claimed by another agent,
    not yours to reply in, agent at capacity."""


class CannedView(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: str
    title: str
    text: str


class QueueItem(BaseModel):
    conversation_id: str
    channel: str
    channel_user_id: str
    customer_id: str | None
    status: str
    assigned_agent: str | None
    reason: str | None
    category: str
    priority: Priority
    opened_at: datetime
    waiting_s: int
    sla_due_at: datetime
    sla_state: SlaState


def _text(text: str, what: str) -> str:
    text = (text or "").strip()
    if not text:
        raise InvalidInput(f"the {what} is empty")
    if len(text) > MAX_TEXT:
        raise InvalidInput(f"the {what} is longer than {MAX_TEXT} characters")
    return text


class Desk:
    def __init__(self, store: StoreService, rules: HandoffRules, config: ConsoleConfig) -> None:
        self.store, self.rules, self.config = store, rules, config
        self._assign_lock = threading.RLock()  # one assignment round at a time in this process
        self._viewed: dict[tuple[str, str], datetime] = {}
        self._viewed_lock = threading.Lock()

    def first_view(self, agent: str, conversation_id: str, every: timedelta = timedelta(minutes=10)) -> bool:
        """Whether this look at a conversation belongs in the audit log: the first in ten minutes per agent
        (a live page refetches on every event; the log should say who looked, not how often it refreshed)."""
        now, key = self.now(), (agent, conversation_id)
        with self._viewed_lock:
            last = self._viewed.get(key)
            if last is not None and now - last < every:
                return False
            if len(self._viewed) > 10_000:
                self._viewed.clear()
            self._viewed[key] = now
            return True

    def now(self) -> datetime:
        return self.store.ctx.now()

    def _publish(self, kind: str, conversation_id: str, **detail: Any) -> None:
        self.store.events.publish(StoreEvent(kind=kind, conversation_id=conversation_id, detail=detail))  # type: ignore[arg-type]

    # -- tickets: priority and SLA of a handoff ---------------------------------------------------
    def _ensure_ticket(self, uow: Any, handoff: Handoff) -> HandoffTicket:
        t = repo.ticket(uow.session, handoff.id)
        if t is None:
            category, priority = self.rules.classify(handoff.reason)
            t = HandoffTicket(handoff_id=handoff.id, conversation_id=handoff.conversation_id, category=category,
                              priority=priority, sla_due_at=self.rules.sla_due(handoff.opened_at, priority),
                              transfers=0)
            uow.add(t)
            uow.flush()
        return t

    def _item(self, conv: Conversation, h: Handoff, t: HandoffTicket, now: datetime) -> QueueItem:
        window = timedelta(minutes=self.rules.sla_minutes.get(t.priority, 30))  # type: ignore[call-overload]
        return QueueItem(conversation_id=conv.id, channel=conv.channel, channel_user_id=conv.channel_user_id,
                         customer_id=conv.customer_id, status=conv.status, assigned_agent=conv.assigned_agent,
                         reason=h.reason, category=t.category, priority=t.priority, opened_at=h.opened_at,  # type: ignore[arg-type]
                         waiting_s=int((now - h.opened_at).total_seconds()), sla_due_at=t.sla_due_at,
                         sla_state=sla_state(t.sla_due_at, now, t.first_response_at, window=window))

    def queue(self, *, statuses: tuple[str, ...] = ("waiting_human",), agent: str | None = None) -> list[QueueItem]:
        """Most urgent first, then longest waiting. Handoffs opened by the bot get their ticket here if the
        event that normally creates it was missed (another process opened it)."""
        now = self.now()

        def read() -> list[QueueItem]:   # re-run if a concurrent view filed the same ticket first
            with repo.unit(self.store) as (uow, s):
                rows = [(c, h, t if t is not None else self._ensure_ticket(uow, h))
                        for c, h, t in repo.desk_rows(s, statuses, agent) if h is not None]
                uow.commit()
                return [self._item(c, h, t, now) for c, h, t in rows]

        items = self.store.ctx.retrying(read)
        order = ordered_queue([(i.priority, i.opened_at) for i in items])
        return [items[i] for i in order]

    def queue_snapshot(self) -> tuple[int, int]:
        """(conversations already waiting, online agents who take conversations): for the wait estimate of
        a handoff about to be opened."""
        with repo.unit(self.store) as (_, s):
            waiting = len(repo.desk_rows(s, ("waiting_human",)))
            online = sum(1 for a in repo.agents(s) if a.online and a.active and a.capacity > 0)
        return waiting, online

    def on_handoff_opened(self, conversation_id: str) -> None:
        def file_ticket() -> None:
            with repo.unit(self.store) as (uow, _):
                h = uow.conversations.open_handoff(conversation_id)
                if h is not None:
                    self._ensure_ticket(uow, h)
                    uow.commit()

        self.store.ctx.retrying(file_ticket)
        self.auto_assign()

    # -- claiming and assignment -------------------------------------------------------------------
    def claim(self, conversation_id: str, agent: AgentView, *, by: str = "claim", actor: str | None = None) -> None:
        """Take a waiting conversation (within the agent's capacity); 409 if someone else was faster."""
        with self._assign_lock:
            now = self.now()
            with repo.unit(self.store) as (_, s):
                held = repo.loads(s).get(agent.username, 0)
                row = repo.agent_by_username(s, agent.username)
                if row is None or not row.active:
                    raise InvalidInput(f"{agent.username} is not an active agent")
                if held >= row.capacity:
                    raise DeskConflict(f"{agent.username} already holds {held} of {row.capacity} conversations")
            if not self.store.handoffs.claim(conversation_id, agent.username):
                conv = self.store.handoffs.conversation(conversation_id)
                who = f"is with {conv.assigned_agent}" if conv.assigned_agent else "is not waiting for a person"
                raise DeskConflict(f"this conversation {who}")
            with repo.unit(self.store) as (uow, s):
                h = uow.conversations.open_handoff(conversation_id)
                if h is not None:
                    self._ensure_ticket(uow, h).assigned_by = by
                a = repo.agent_by_username(s, agent.username)
                if a is not None:
                    a.last_assigned_at = now
                if by != "claim":
                    uow.add(audit_entry(actor or "console:round-robin", "handoff_assigned",
                                        f"conversation:{conversation_id}", {"agent": agent.username, "by": by}, now))
                uow.commit()

    def auto_assign(self) -> list[tuple[str, str]]:
        """Round robin: each waiting conversation (most urgent first) to the online agent with a free slot
        who was assigned longest ago. Returns (conversation, agent) pairs."""
        if not self.config.auto_assign:
            return []
        done: list[tuple[str, str]] = []
        with self._assign_lock:
            for item in self.queue():
                with repo.unit(self.store) as (_, s):
                    held = repo.loads(s)
                    pool = [AgentLoad(a.username, a.capacity, held.get(a.username, 0), a.online and a.active,
                                      a.last_assigned_at) for a in repo.agents(s)]
                    views = {a.username: AgentView.model_validate(a) for a in repo.agents(s)}
                who = next_agent(pool)
                if who is None:
                    break
                try:
                    self.claim(item.conversation_id, views[who], by="auto")
                    done.append((item.conversation_id, who))
                except DeskConflict:
                    continue  # claimed by hand meanwhile
        return done

    def transfer(self, conversation_id: str, actor: AgentView, to_username: str) -> None:
        """Hand a conversation to another agent. The holder may; an admin may for anyone's."""
        now = self.now()
        with repo.unit(self.store) as (_, s):
            target = repo.agent_by_username(s, to_username)
            if target is None or not target.active:
                raise NotFound(f"no active agent {to_username}")
            held = repo.loads(s).get(target.username, 0)
            conv = s.get(Conversation, conversation_id)
            if conv is None:
                raise NotFound(f"no conversation {conversation_id}")
            target_view, current, status = AgentView.model_validate(target), conv.assigned_agent, conv.status
        if status == "waiting_human" and actor.is_admin:  # an admin assigns from the queue
            self.claim(conversation_id, target_view, by="admin", actor=f"agent:{actor.username}")
            return
        if status != "human" or (current != actor.username and not actor.is_admin):
            raise DeskConflict("only the agent who holds this conversation (or an admin) can transfer it")
        if held >= target_view.capacity:
            raise DeskConflict(f"{to_username} already holds {held} of {target_view.capacity} conversations")
        with repo.unit(self.store) as (uow, s):
            if not repo.transfer(s, conversation_id, None if actor.is_admin else actor.username, target_view.username,
                                 now):
                raise DeskConflict("the conversation changed hands meanwhile")
            h = uow.conversations.open_handoff(conversation_id)
            if h is not None:
                h.agent = target_view.username
                t = self._ensure_ticket(uow, h)
                t.transfers += 1
            uow.add(audit_entry(f"agent:{actor.username}", "handoff_transferred", f"conversation:{conversation_id}",
                                {"from": current, "to": target_view.username}, now))
            uow.commit()
        self._publish("handoff_claimed", conversation_id, agent=target_view.username, transferred_from=current)

    # -- talking to the customer ------------------------------------------------------------------
    def _held_by(self, conversation_id: str, agent: AgentView) -> None:
        with repo.unit(self.store) as (_, s):
            conv = s.get(Conversation, conversation_id)
            if conv is None:
                raise NotFound(f"no conversation {conversation_id}")
            status, holder = conv.status, conv.assigned_agent
        if status != "human" or holder != agent.username:
            raise DeskConflict(f"this conversation is held by {holder}; ask them or an admin to transfer it"
                               if holder else "claim this conversation first")

    def reply(self, conversation_id: str, agent: AgentView, text: str) -> OutboxItem:
        """The agent's message, out through the customer's own channel (the outbox)."""
        text = _text(text, "reply")
        self._held_by(conversation_id, agent)
        item = self.store.handoffs.post_agent_message(conversation_id, agent.username, text)
        now = self.now()
        with repo.unit(self.store) as (uow, _):
            h = uow.conversations.open_handoff(conversation_id)
            if h is not None:
                t = self._ensure_ticket(uow, h)
                t.first_response_at = t.first_response_at or now
            uow.add(audit_entry(f"agent:{agent.username}", "agent_reply", f"conversation:{conversation_id}",
                                {"message_id": item.message_id, "outbox_id": item.id, "channel": item.channel}, now))
            uow.commit()
        return item

    def resolve(self, conversation_id: str, agent: AgentView) -> str | None:
        """Hand back to the bot; ask for a rating (same channel) if a person actually answered.
        Returns the outbox id of the rating request, if one was queued."""
        self._held_by(conversation_id, agent)
        if not self.store.handoffs.resolve(conversation_id, agent.username):
            raise DeskConflict("the conversation changed hands meanwhile")
        asked: str | None = None
        now = self.now()
        with repo.unit(self.store) as (uow, s):
            conv, h = s.get(Conversation, conversation_id), repo.last_handoff(s, conversation_id)
            t = repo.ticket(s, h.id) if h is not None else None
            if self.config.csat and conv is not None and h is not None and t is not None and t.first_response_at:
                text = self.rules.messages.csat_ask
                msg = Message(id=domain.new_id(), conversation_id=conv.id, direction="out", channel=conv.channel,
                              author="system", text=text, payload={"csat_for": h.id}, status="queued",
                              attempts=0, created_at=now, updated_at=now)
                row = new_outbox_row(conv.channel, conv.channel_user_id, {"text": text}, f"csat:{h.id}", now,
                                     message_id=msg.id)
                uow.add(msg)
                uow.add(row)
                conv.state = {**(conv.state or {}), "csat_pending": h.id}
                asked = row.id
            uow.add(audit_entry(f"agent:{agent.username}", "handed_back", f"conversation:{conversation_id}",
                                {"csat_asked": asked is not None}, now))
            uow.commit()
        self.auto_assign()  # a slot came free
        return asked

    def record_csat(self, handoff_id: str, conversation_id: str, channel: str, score: int) -> bool:
        """Once per handoff (a retried message cannot rate twice). Called from the engine's turn."""
        if not 1 <= score <= 5:
            raise InvalidInput("a rating is 1 to 5")
        now = self.now()
        try:
            with repo.unit(self.store) as (uow, s):
                h = s.get(Handoff, handoff_id)
                if h is None or h.conversation_id != conversation_id:
                    return False
                uow.add(CsatRating(id=domain.new_id(), handoff_id=handoff_id, conversation_id=conversation_id,
                                   agent=h.agent, channel=channel, score=score, at=now))
                uow.add(audit_entry("customer", "csat_recorded", f"conversation:{conversation_id}",
                                    {"score": score, "agent": h.agent}, now))
                uow.flush()
                uow.commit()
        except Conflict:
            return False
        return True

    # -- notes and canned responses --------------------------------------------------------------
    def add_note(self, conversation_id: str, agent: AgentView, text: str) -> str:
        text, now = _text(text, "note"), self.now()
        with repo.unit(self.store) as (uow, s):
            if s.get(Conversation, conversation_id) is None:
                raise NotFound(f"no conversation {conversation_id}")
            note = ConsoleNote(id=domain.new_id(), conversation_id=conversation_id, author=agent.username, text=text,
                               created_at=now)
            uow.add(note)
            note_id = note.id
            uow.add(audit_entry(f"agent:{agent.username}", "note_added", f"conversation:{conversation_id}",
                                {"note_id": note_id}, now))
            uow.commit()
        self._publish("agent_message", conversation_id, note=note_id)
        return note_id

    def canned(self) -> list[CannedView]:
        with repo.unit(self.store) as (_, s):
            return [CannedView.model_validate(c) for c in repo.canned(s)]

    def save_canned(self, title: str, text: str, agent: AgentView) -> CannedView:
        title, text, now = _text(title, "title")[:120], _text(text, "canned response"), self.now()
        try:
            with repo.unit(self.store) as (uow, s):
                row = next((c for c in repo.canned(s) if c.title == title), None)
                if row is None:
                    row = CannedResponse(id=domain.new_id(), title=title, text=text, created_by=agent.username,
                                         updated_at=now)
                    uow.add(row)
                else:
                    row.text, row.updated_at = text, now
                uow.add(audit_entry(f"agent:{agent.username}", "canned_saved", f"canned:{row.id}", {"title": title}, now))
                uow.flush()
                view = CannedView.model_validate(row)
                uow.commit()
                return view
        except Conflict:
            raise DeskConflict(f"a canned response called {title!r} was just created; reload") from None

    def delete_canned(self, canned_id: str, agent: AgentView) -> None:
        now = self.now()
        with repo.unit(self.store) as (uow, s):
            row = s.get(CannedResponse, canned_id)
            if row is None:
                raise NotFound(f"no canned response {canned_id}")
            s.delete(row)
            uow.add(audit_entry(f"agent:{agent.username}", "canned_deleted", f"canned:{canned_id}", {"title": row.title}, now))
            uow.commit()

    # -- what an agent sees of one conversation ---------------------------------------------------
    def detail(self, conversation_id: str) -> dict[str, Any]:
        """The conversation, its open ticket, the transcript across the customer's channels (each bot
        message with its trace: tools, facts, citations, safety) and the private notes."""
        return self.store.ctx.retrying(lambda: self._detail(conversation_id, self.now()))

    def _detail(self, conversation_id: str, now: datetime) -> dict[str, Any]:
        with repo.unit(self.store) as (uow, s):
            conv = s.get(Conversation, conversation_id)
            if conv is None:
                raise NotFound(f"no conversation {conversation_id}")
            h = uow.conversations.open_handoff(conversation_id)
            item = self._item(conv, h, self._ensure_ticket(uow, h), now) if h is not None else None
            uow.commit()
            messages = repo.customer_messages(s, conv)
            notes = repo.notes(s, conversation_id)
            return {
                "conversation": {"id": conv.id, "channel": conv.channel, "channel_user_id": conv.channel_user_id,
                                 "customer_id": conv.customer_id, "status": conv.status,
                                 "assigned_agent": conv.assigned_agent, "handoff_reason": conv.handoff_reason},
                "ticket": item.model_dump(mode="json") if item else None,
                "state": dict(conv.state or {}),
                "transcript": [{"id": m.id, "conversation_id": m.conversation_id, "at": m.created_at.isoformat(),
                                "direction": m.direction, "channel": m.channel, "author": m.author, "text": m.text,
                                "status": m.status,
                                "trace": dict(m.payload or {}) if m.author == "bot" else None} for m in messages],
                "notes": [{"id": n.id, "author": n.author, "text": n.text, "at": n.created_at.isoformat()}
                          for n in notes],
            }
