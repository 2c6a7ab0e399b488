"""Every query of the proactive tables, over the operational store's unit of work (one home for SQL).

Use cases here are one transaction each. A trigger send and its outbox row are written in the same
transaction, both under a UNIQUE dedupe key: however often (and on however many workers) a trigger
is evaluated, one occasion makes one record and at most one message.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeVar

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from opstore import domain
from opstore.models import ChannelIdentity, OptOut, OutboxRow
from opstore.models_proactive import BehaviourEvent, ConversationOutcome, CustomerSegment, TriggerSend
from opstore.outbox import new_outbox_row
from opstore.service import StoreService

from proactive.events import EventBatch, RecordResult

T = TypeVar("T")


@dataclass(frozen=True)
class Outgoing:
    """A decided trigger occasion: held out (recorded only) or sent (recorded + outbox row)."""

    trigger: str
    subject: str
    dedupe_key: str
    holdout: bool
    channel: str | None
    recipient: str | None
    payload: dict[str, Any]
    customer_id: str | None = None
    visitor_id: str | None = None
    sku: str | None = None


class ProactiveStore:
    def __init__(self, store: StoreService) -> None:
        self.store = store
        self.ctx = store.ctx

    def _session(self, fn: Callable[[Session], T], *, write: bool = False) -> T:
        def run() -> T:
            with self.ctx.uow() as uow:
                session: Session = uow.session  # type: ignore[attr-defined]  # the SQL adapter's session
                out = fn(session)
                if write:
                    uow.commit()
                session.expunge_all()  # rows outlive the unit of work (its exit rolls back = expires)
                return out

        return self.ctx.retrying(run) if write else run()

    # -- events ----------------------------------------------------------------------------------

    def record_events(self, batch: EventBatch, customer_id: str | None) -> RecordResult:
        now = self.ctx.now()

        def run(s: Session) -> RecordResult:
            result = RecordResult()
            for e in batch.events:
                if e.id is not None:
                    seen = s.scalar(select(BehaviourEvent).where(BehaviourEvent.visitor_id == batch.visitor_id,
                                                                 BehaviourEvent.client_event_id == e.id))
                    if seen is not None:
                        if e.kind == "product_view" and (e.dwell_s or 0) > (seen.dwell_s or 0):
                            seen.dwell_s = e.dwell_s        # heartbeat of a view that is still open
                            result.updated += 1
                        else:
                            result.duplicates += 1
                        continue
                s.add(BehaviourEvent(id=domain.new_id(), visitor_id=batch.visitor_id, customer_id=customer_id,
                                     session_id=batch.session_id, kind=e.kind, sku=e.sku, dwell_s=e.dwell_s,
                                     order_id=e.order_id, amount=e.amount, skus=list(e.skus),
                                     client_event_id=e.id, occurred_at=e.occurred(now), received_at=now))
                s.flush()  # a same-id twin later in this batch must see this row
                result.stored += 1
            return result

        return self._session(run, write=True)

    def events_of(self, *, visitor_id: str | None = None, customer_id: str | None = None,
                  since: datetime | None = None, kinds: Sequence[str] | None = None) -> list[BehaviourEvent]:
        q = select(BehaviourEvent).order_by(BehaviourEvent.occurred_at, BehaviourEvent.id)
        if visitor_id is not None:
            q = q.where(BehaviourEvent.visitor_id == visitor_id)
        if customer_id is not None:
            q = q.where(BehaviourEvent.customer_id == customer_id)
        if since is not None:
            q = q.where(BehaviourEvent.occurred_at >= since)
        if kinds:
            q = q.where(BehaviourEvent.kind.in_(kinds))
        return self._session(lambda s: list(s.scalars(q)))

    def checkouts_between(self, earliest: datetime, latest: datetime) -> list[BehaviourEvent]:
        """Checkouts started in [earliest, latest]: the candidates for the abandonment trigger."""
        q = (select(BehaviourEvent).where(BehaviourEvent.kind == "checkout_started",
                                          BehaviourEvent.occurred_at >= earliest, BehaviourEvent.occurred_at <= latest)
             .order_by(BehaviourEvent.occurred_at))
        return self._session(lambda s: list(s.scalars(q)))

    def purge_events(self, before: datetime) -> int:
        from sqlalchemy import delete

        return self._session(lambda s: s.execute(delete(BehaviourEvent).where(
            BehaviourEvent.received_at < before)).rowcount or 0, write=True)

    # -- who may be reached ----------------------------------------------------------------------

    def recorded_consents(self, customer_id: str, kinds: Iterable[str]) -> dict[str, bool]:
        def run(s: Session) -> dict[str, bool]:
            from opstore.repos import SqlIdentities

            ids = SqlIdentities(s)
            out = {}
            for kind in kinds:
                got = ids.latest_consent(kind, customer_id, None, None)
                if got is not None:
                    out[kind] = bool(got)
            return out

        return self._session(run)

    def opted_out(self, pairs: set[tuple[str, str]]) -> set[tuple[str, str]]:
        if not pairs:
            return set()
        from opstore.repos import SqlIdentities

        return self._session(lambda s: SqlIdentities(s).opted_out_among(pairs))

    def verified_addresses(self, customer_id: str) -> dict[str, str]:
        """Channel -> external id of this customer's verified identities (e.g. a linked Telegram chat)."""
        q = select(ChannelIdentity).where(ChannelIdentity.customer_id == customer_id, ChannelIdentity.verified)
        return self._session(lambda s: {i.channel: i.external_id for i in s.scalars(q)})

    def set_opt_out(self, channel: str, external_id: str, opted_out: bool, source: str) -> None:
        self.store.compliance.set_opt_out(channel, external_id, opted_out, source=source)

    # -- trigger sends ---------------------------------------------------------------------------

    def send_times(self, subject: str, since: datetime) -> list[datetime]:
        q = select(TriggerSend.created_at).where(TriggerSend.subject == subject, TriggerSend.created_at >= since,
                                                 TriggerSend.status != "suppressed")
        return self._session(lambda s: list(s.scalars(q)))

    def decided(self, dedupe_keys: Iterable[str]) -> set[str]:
        keys = list(dedupe_keys)
        if not keys:
            return set()
        q = select(TriggerSend.dedupe_key).where(TriggerSend.dedupe_key.in_(keys))
        return self._session(lambda s: set(s.scalars(q)))

    def record_send(self, out: Outgoing) -> tuple[TriggerSend, bool]:
        """Record the decision and, unless held out, enqueue the message in the same transaction.
        Returns (the row, created now?). A repeated occasion returns the first row untouched."""
        now = self.ctx.now()

        def run(s: Session) -> tuple[TriggerSend, bool]:
            existing = s.scalar(select(TriggerSend).where(TriggerSend.dedupe_key == out.dedupe_key))
            if existing is not None:
                return existing, False
            send_id = domain.new_id()
            row = TriggerSend(id=send_id, trigger=out.trigger, subject=out.subject, customer_id=out.customer_id,
                              visitor_id=out.visitor_id, dedupe_key=out.dedupe_key, holdout=out.holdout,
                              status="held_out" if out.holdout else "queued", channel=out.channel,
                              recipient=out.recipient, sku=out.sku, payload=out.payload, created_at=now)
            if not out.holdout:
                assert out.channel and out.recipient, "a treated send needs a route"
                box = new_outbox_row(out.channel, out.recipient, {**out.payload, "send_id": send_id},
                                     f"trigger:{out.dedupe_key}", now)
                s.add(box)
                s.flush()
                row.outbox_id = box.id
            s.add(row)
            s.flush()  # UNIQUE(dedupe_key) fires here on a race; `retrying` re-runs and finds the winner
            return row, True

        return self._session(run, write=True)

    def sends(self, since: datetime | None = None) -> list[tuple[TriggerSend, str | None]]:
        """Every recorded decision with its outbox status (None for held-out ones)."""
        q = (select(TriggerSend, OutboxRow.status).outerjoin(OutboxRow, OutboxRow.id == TriggerSend.outbox_id)
             .order_by(TriggerSend.created_at))
        if since is not None:
            q = q.where(TriggerSend.created_at >= since)
        return self._session(lambda s: [(r[0], r[1]) for r in s.execute(q)])

    def nudge_outbox_ids(self, visitor_id: str) -> list[str]:
        q = select(TriggerSend.outbox_id).where(TriggerSend.visitor_id == visitor_id, TriggerSend.channel == "nudge",
                                                TriggerSend.status == "queued", TriggerSend.outbox_id.is_not(None))
        return self._session(lambda s: [i for i in s.scalars(q) if i])

    def mark_delivered(self, send_id: str) -> bool:
        now = self.ctx.now()
        return self._session(lambda s: bool(s.execute(update(TriggerSend).where(
            TriggerSend.id == send_id, TriggerSend.status == "queued").values(
            status="delivered", delivered_at=now)).rowcount), write=True)

    def take_delivered_nudges(self, visitor_id: str) -> list[TriggerSend]:
        """Nudges waiting in this visitor's mailbox; each is handed out once (then `shown`)."""
        now = self.ctx.now()

        def run(s: Session) -> list[TriggerSend]:
            rows = list(s.scalars(select(TriggerSend).where(
                TriggerSend.visitor_id == visitor_id, TriggerSend.channel == "nudge",
                TriggerSend.status == "delivered").order_by(TriggerSend.created_at)))
            taken = []
            for r in rows:
                if s.execute(update(TriggerSend).where(TriggerSend.id == r.id, TriggerSend.status == "delivered")
                             .values(status="shown", shown_at=now)).rowcount:
                    taken.append(r)
            return taken

        return self._session(run, write=True)

    # -- segments and outcomes -------------------------------------------------------------------

    def save_segments(self, rows: Sequence[CustomerSegment]) -> int:
        def run(s: Session) -> int:
            for r in rows:
                s.merge(r)
            return len(rows)

        return self._session(run, write=True)

    def segments(self) -> list[CustomerSegment]:
        return self._session(lambda s: list(s.scalars(select(CustomerSegment).order_by(CustomerSegment.customer_id))))

    def segment_of(self, customer_id: str) -> CustomerSegment | None:
        return self._session(lambda s: s.get(CustomerSegment, customer_id))

    def known_customers(self) -> list[str]:
        """Customers the operational store has met (events, conversations, identities)."""
        from opstore.models import Conversation

        def run(s: Session) -> list[str]:
            ids: set[str] = set()
            for col in (BehaviourEvent.customer_id, Conversation.customer_id, ChannelIdentity.customer_id):
                ids.update(x for x in s.scalars(select(col).where(col.is_not(None)).distinct()) if x)
            return sorted(ids)

        return self._session(run)

    def outcomes(self, since: datetime | None = None) -> list[ConversationOutcome]:
        q = select(ConversationOutcome).order_by(ConversationOutcome.resolved_at)
        if since is not None:
            q = q.where(ConversationOutcome.resolved_at >= since)
        return self._session(lambda s: list(s.scalars(q)))

    def opt_out_row(self, channel: str, external_id: str) -> OptOut | None:
        return self._session(lambda s: s.scalar(select(OptOut).where(OptOut.channel == channel,
                                                                     OptOut.external_id == external_id)))

    def count_events(self) -> int:
        return self._session(lambda s: int(s.scalar(select(func.count()).select_from(BehaviourEvent)) or 0))

    # -- the quality loop ------------------------------------------------------------------------

    def finished_conversations(self, idle_before: datetime, limit: int = 500) -> list[tuple[Any, bool, bool]]:
        """Conversations without an outcome yet that are over: a person resolved the handoff, or the
        bot had the last word and nobody wrote since `idle_before`. (conversation, handed_off, done)."""
        from opstore.models import Conversation, Handoff

        def run(s: Session) -> list[tuple[Any, bool, bool]]:
            has_outcome = select(ConversationOutcome.conversation_id).where(
                ConversationOutcome.conversation_id == Conversation.id).exists()
            convs = s.scalars(select(Conversation).where(~has_outcome, Conversation.updated_at < idle_before)
                              .order_by(Conversation.updated_at).limit(limit)).all()
            out = []
            for c in convs:
                handoffs = s.scalars(select(Handoff).where(Handoff.conversation_id == c.id)).all()
                open_handoff = any(h.resolved_at is None for h in handoffs)
                done = not open_handoff and c.status in ("bot", "closed")
                out.append((c, bool(handoffs), done))
            return out

        return self._session(run)

    def last_bot_reply(self, conversation_id: str) -> tuple[str, str] | None:
        from opstore.models import Message

        q = (select(Message).where(Message.conversation_id == conversation_id, Message.direction == "out",
                                   Message.author == "bot").order_by(Message.created_at.desc(), Message.id.desc())
             .limit(1))
        return self._session(lambda s: (lambda m: (m.id, m.text) if m else None)(s.scalar(q)))

    def add_outcome(self, outcome: ConversationOutcome, csat_request: OutboxRow | None) -> bool:
        def run(s: Session) -> bool:
            if s.get(ConversationOutcome, outcome.conversation_id) is not None:
                return False
            if csat_request is not None and s.scalar(select(OutboxRow.id).where(
                    OutboxRow.dedupe_key == csat_request.dedupe_key)) is None:
                s.add(csat_request)
            s.add(outcome)
            s.flush()
            return True

        return self._session(run, write=True)

    def rate(self, conversation_id: str, score: int, now: datetime) -> bool:
        """The first rating counts; a second answer to the same survey changes nothing."""
        return self._session(lambda s: bool(s.execute(update(ConversationOutcome).where(
            ConversationOutcome.conversation_id == conversation_id, ConversationOutcome.csat.is_(None))
            .values(csat=score, rated_at=now, updated_at=now)).rowcount), write=True)

    def channel_user(self, conversation_id: str) -> tuple[str, str] | None:
        """(channel, channel user id) of a conversation."""
        from opstore.models import Conversation

        q = select(Conversation.channel, Conversation.channel_user_id).where(Conversation.id == conversation_id)
        row = self._session(lambda s: s.execute(q).first())
        return (str(row[0]), str(row[1])) if row else None

    def awaiting_rating(self, channel: str, channel_user_id: str, since: datetime) -> str | None:
        """The conversation whose CSAT survey this person may be answering."""
        from opstore.models import Conversation

        q = (select(ConversationOutcome.conversation_id).join(
            Conversation, Conversation.id == ConversationOutcome.conversation_id).where(
            Conversation.channel == channel, Conversation.channel_user_id == channel_user_id,
            ConversationOutcome.csat.is_(None), ConversationOutcome.csat_requested_at >= since)
            .order_by(ConversationOutcome.csat_requested_at.desc()).limit(1))
        return self._session(lambda s: s.scalar(q))

    def set_converted(self, conversation_id: str, order_id: str, at: datetime) -> None:
        self._session(lambda s: s.execute(update(ConversationOutcome).where(
            ConversationOutcome.conversation_id == conversation_id,
            ConversationOutcome.converted_order_id.is_(None)).values(
            converted_order_id=order_id, converted_at=at, updated_at=self.ctx.now())), write=True)
