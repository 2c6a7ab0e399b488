"""The SQLAlchemy repositories: every query of the operational store lives here.

Claims are single conditional UPDATEs, so of two workers racing for one row exactly one sees
`rowcount == 1`. On PostgreSQL the outbox claim first selects its batch `FOR UPDATE SKIP LOCKED`
(workers take disjoint batches without waiting on each other) and the inbound claim locks the
conversation row; SQLite runs every transaction `BEGIN IMMEDIATE` (see `opstore.db`), which already
serialises writers.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, Integer, and_, bindparam, exists, or_, select, tuple_, update
from sqlalchemy.orm import Session, aliased

from opstore.models import (
    ChannelIdentity,
    Consent,
    Conversation,
    Handoff,
    LinkCode,
    Message,
    MessageMedia,
    OptOut,
    OutboxRow,
    UTCDateTime,
)

_OTHER = aliased(Message)  # "another message of the same conversation" in the in-flight check
_UNFINISHED = ("received", "processing", "failed")


def _claimable(in_line: bool = True) -> ColumnElement[bool]:
    """Due for (re)processing, and first in its conversation's line: no other message of the
    conversation is in flight, and none that came earlier is still unanswered. So replies keep the
    order of the questions, and slot memory is never updated by two turns at once. Built once with
    bind parameters (`now`, `stale`, `max_attempts`): the claim runs per message, hot."""
    now, stale = bindparam("now", type_=UTCDateTime()), bindparam("stale", type_=UTCDateTime())
    max_attempts = bindparam("max_attempts", type_=Integer())
    # `status IN (...)` repeats what `due` implies, so an index on (direction, status) finds the few
    # unfinished messages instead of scanning every inbound message ever stored
    due = and_(Message.status.in_(_UNFINISHED),
               or_(Message.status == "received",
                   and_(Message.status == "processing", Message.claimed_at < stale),
                   and_(Message.status == "failed", Message.attempts < max_attempts, Message.next_attempt_at <= now)))
    o = _OTHER
    earlier = or_(o.created_at < Message.created_at, and_(o.created_at == Message.created_at, o.id < Message.id))
    unfinished = or_(o.status.in_(("received", "processing")), and_(o.status == "failed", o.attempts < max_attempts))
    # `direction || ''`: the same test, but one no index can serve, so SQLite (which has no statistics
    # to go by) looks the other messages up by conversation, not by scanning every inbound message
    ahead = exists().where(o.conversation_id == Message.conversation_id, o.direction.concat("") == "in",
                           o.id != Message.id,
                           or_(and_(o.status == "processing", o.claimed_at >= stale), and_(earlier, unfinished)))
    return and_(Message.direction == "in", due, ~ahead) if in_line else and_(Message.direction == "in", due)


def _claim_params(now: datetime, lease_s: float, max_attempts: int) -> dict[str, Any]:
    return {"now": now, "stale": now - timedelta(seconds=lease_s), "max_attempts": max_attempts}


_PENDING = (select(Message.id).where(_claimable()).order_by(Message.created_at, Message.id)
            .limit(bindparam("limit", type_=Integer())))
_CLAIM, _CLAIM_OUT_OF_LINE = (
    update(Message).where(Message.id == bindparam("message_id"), _claimable(in_line))
    .values(status="processing", claim_token=bindparam("token"), claimed_at=bindparam("now"),
            attempts=Message.attempts + 1, updated_at=bindparam("now")).returning(Message)
    for in_line in (True, False))


# The lookups every webhook makes, built once (building and cache-keying a statement per call cost
# more CPU than running it on SQLite)
_CONVERSATION = select(Conversation).where(Conversation.id == bindparam("id"))
_CONVERSATION_LOCKED = _CONVERSATION.with_for_update()
_OPEN_FOR = select(Conversation).where(Conversation.channel == bindparam("channel"),
                                       Conversation.channel_user_id == bindparam("user"),
                                       Conversation.status != "closed")
_BY_PROVIDER_ID = select(Message).where(Message.channel == bindparam("channel"),
                                        Message.provider_message_id == bindparam("provider_id"))
_IDENTITY = select(ChannelIdentity).where(ChannelIdentity.channel == bindparam("channel"),
                                          ChannelIdentity.external_id == bindparam("external_id"))


_CLAIM_CONVERSATION = select(Conversation).where(Conversation.id == select(Message.conversation_id).where(
    Message.id == bindparam("message_id")).scalar_subquery())
_CLAIM_CONVERSATION_LOCKED = _CLAIM_CONVERSATION.with_for_update()
_MEDIA = select(MessageMedia).where(MessageMedia.message_id == bindparam("message_id")).order_by(MessageMedia.position)


def _history(across_customer: bool) -> Any:
    scope: ColumnElement[bool] = Message.conversation_id == bindparam("conversation_id")
    if across_customer:
        scope = or_(scope, Message.conversation_id.in_(
            select(Conversation.id).where(Conversation.customer_id == bindparam("customer_id"))))
    return (select(Message).where(scope, Message.id != bindparam("before_id"),
                                  Message.created_at <= bindparam("before_at"))
            .order_by(Message.created_at.desc(), Message.id.desc()).limit(bindparam("limit", type_=Integer())))


_HISTORY = {False: _history(False), True: _history(True)}


def _outbox_claim(only: bool, postgres: bool) -> tuple[Any, Any]:
    """(batch select or None, claiming UPDATE ... RETURNING) for one of the four ways to claim."""
    now = bindparam("now", type_=UTCDateTime())
    due = or_(and_(OutboxRow.status.in_(("pending", "failed")), OutboxRow.next_attempt_at <= now),
              and_(OutboxRow.status == "sending", OutboxRow.lease_until < now))
    if only:
        due = and_(OutboxRow.id.in_(bindparam("only", expanding=True)), due)
    batch = (select(OutboxRow.id).where(due).order_by(OutboxRow.next_attempt_at)
             .limit(bindparam("limit", type_=Integer())))
    # PostgreSQL: workers take disjoint batches without waiting (SKIP LOCKED), then claim those ids;
    # SQLite: one statement (the write lock is already ours)
    ids: Any = bindparam("ids", expanding=True) if postgres else batch.scalar_subquery()
    claim = update(OutboxRow).where(OutboxRow.id.in_(ids), due).values(
        status="sending", claim_token=bindparam("token"), claimed_by=bindparam("worker_id"),
        attempts=OutboxRow.attempts + 1, lease_until=bindparam("lease_until", type_=UTCDateTime()),
        updated_at=now).returning(OutboxRow)
    return (batch.with_for_update(skip_locked=True) if postgres else None), claim


_OUTBOX_CLAIMS = {(only, pg): _outbox_claim(only, pg) for only in (False, True) for pg in (False, True)}


_MESSAGES_TABLE: Any = Message.__table__
_FINISH_INBOUND: dict[tuple[str, ...], Any] = {}


def _finish_inbound(columns: tuple[str, ...]) -> Any:
    """`finish_inbound`'s UPDATE for this set of columns, built once (it runs per answered message;
    building and cache-keying an ORM UPDATE per call was an eighth of an answer worker's CPU)."""
    stmt = _FINISH_INBOUND.get(columns)
    if stmt is None:
        t = _MESSAGES_TABLE
        stmt = _FINISH_INBOUND[columns] = update(t).where(
            t.c.id == bindparam("message_id"), t.c.status == "processing", t.c.claim_token == bindparam("token"),
        ).values({c: bindparam(f"v_{c}", type_=t.c[c].type) for c in columns})
    return stmt


def _rows(result: Any) -> int:
    return int(result.rowcount or 0)


class SqlConversations:
    def __init__(self, s: Session) -> None:
        self.s = s

    def get(self, conversation_id: str, *, lock: bool = False) -> Conversation | None:
        return self.s.scalar(_CONVERSATION_LOCKED if lock else _CONVERSATION, {"id": conversation_id})

    def open_for(self, channel: str, channel_user_id: str) -> Conversation | None:
        return self.s.scalar(_OPEN_FOR, {"channel": channel, "user": channel_user_id})

    def of_customer(self, customer_id: str) -> Sequence[Conversation]:
        return self.s.scalars(select(Conversation).where(Conversation.customer_id == customer_id)).all()

    def waiting(self, limit: int) -> Sequence[Conversation]:
        return self.s.scalars(select(Conversation).where(Conversation.status == "waiting_human")
                              .order_by(Conversation.updated_at).limit(limit)).all()

    def open_handoff(self, conversation_id: str) -> Handoff | None:
        return self.s.scalar(select(Handoff).where(Handoff.conversation_id == conversation_id,
                                                   Handoff.resolved_at.is_(None))
                             .order_by(Handoff.opened_at.desc()).limit(1))

    def set_owner(self, conversation_id: str, from_status: tuple[str, ...], status: str,
                  agent: str | None, now: datetime) -> bool:
        return _rows(self.s.execute(update(Conversation).where(
            Conversation.id == conversation_id, Conversation.status.in_(from_status))
            .values(status=status, assigned_agent=agent, updated_at=now))) == 1


class SqlMessages:
    def __init__(self, s: Session) -> None:
        self.s = s
        self._postgres = s.get_bind().dialect.name == "postgresql"

    def get(self, message_id: str) -> Message | None:
        return self.s.get(Message, message_id)

    def by_provider_id(self, channel: str, provider_message_id: str) -> Message | None:
        return self.s.scalar(_BY_PROVIDER_ID, {"channel": channel, "provider_id": provider_message_id})

    def history(self, conversation_id: str, customer_id: str | None, limit: int,
                before: Message) -> Sequence[Message]:
        rows = self.s.scalars(_HISTORY[bool(customer_id)], {
            "conversation_id": conversation_id, "customer_id": customer_id, "before_id": before.id,
            "before_at": before.created_at, "limit": limit}).all()
        return list(reversed(rows))

    def transcript(self, conversation_id: str, limit: int) -> Sequence[Message]:
        return self.s.scalars(select(Message).where(Message.conversation_id == conversation_id)
                              .order_by(Message.created_at, Message.id).limit(limit)).all()

    def media(self, message_id: str) -> Sequence[MessageMedia]:
        return self.s.scalars(_MEDIA, {"message_id": message_id}).all()

    def pending_inbound(self, now: datetime, lease_s: float, max_attempts: int, limit: int) -> list[str]:
        return list(self.s.scalars(_PENDING, _claim_params(now, lease_s, max_attempts) | {"limit": limit}))

    def claim_inbound(self, message_id: str, token: str, now: datetime, lease_s: float,
                      max_attempts: int, *, in_line: bool = True) -> tuple[Conversation, Message] | None:
        # PostgreSQL: lock the conversation, so two claims in one conversation are serial (SQLite's
        # BEGIN IMMEDIATE already is) and the first-in-line check below sees the other's outcome.
        conv = self.s.scalar(_CLAIM_CONVERSATION_LOCKED if self._postgres else _CLAIM_CONVERSATION,
                             {"message_id": message_id})
        if conv is None:
            return None
        params = _claim_params(now, lease_s, max_attempts) | {"message_id": message_id, "token": token}
        msg = self.s.scalar(_CLAIM if in_line else _CLAIM_OUT_OF_LINE, params,
                            execution_options={"synchronize_session": False})
        return (conv, msg) if msg is not None else None

    def advance(self, message_id: str, from_status: tuple[str, ...], values: dict[str, Any]) -> bool:
        return _rows(self.s.execute(update(Message).where(Message.id == message_id, Message.status.in_(from_status))
                                    .values(**values).execution_options(synchronize_session=False))) == 1

    def finish_inbound(self, message_id: str, token: str, values: dict[str, Any]) -> bool:
        return _rows(self.s.connection().execute(_finish_inbound(tuple(sorted(values))), {
            "message_id": message_id, "token": token, **{f"v_{k}": v for k, v in values.items()}})) == 1


class SqlIdentities:
    def __init__(self, s: Session) -> None:
        self.s = s

    def get(self, channel: str, external_id: str) -> ChannelIdentity | None:
        return self.s.scalar(_IDENTITY, {"channel": channel, "external_id": external_id})

    def redeem_code(self, code_hash: str, now: datetime, channel: str, external_id: str) -> LinkCode | None:
        res = self.s.execute(update(LinkCode).where(
            LinkCode.code_hash == code_hash, LinkCode.used_at.is_(None), LinkCode.expires_at > now)
            .values(used_at=now, used_channel=channel, used_external_id=external_id)
            .execution_options(synchronize_session=False))
        if _rows(res) != 1:
            return None
        return self.s.scalar(select(LinkCode).where(LinkCode.code_hash == code_hash))

    def opt_out(self, channel: str, external_id: str) -> OptOut | None:
        return self.s.scalar(select(OptOut).where(OptOut.channel == channel, OptOut.external_id == external_id))

    def opted_out_among(self, pairs: set[tuple[str, str]]) -> set[tuple[str, str]]:
        if not pairs:
            return set()
        rows = self.s.execute(select(OptOut.channel, OptOut.external_id).where(
            OptOut.opted_out, tuple_(OptOut.channel, OptOut.external_id).in_(sorted(pairs))))
        return {(c, e) for c, e in rows}

    def latest_consent(self, kind: str, customer_id: str | None, channel: str | None,
                       external_id: str | None) -> bool | None:
        subject = [Consent.customer_id == customer_id] if customer_id else []
        if channel and external_id:
            subject.append(and_(Consent.channel == channel, Consent.external_id == external_id))
        if not subject:
            return None
        return self.s.scalar(select(Consent.granted).where(Consent.kind == kind, or_(*subject))
                             .order_by(Consent.at.desc(), Consent.id.desc()).limit(1))


class SqlOutbox:
    def __init__(self, s: Session) -> None:
        self.s = s

    def by_dedupe_key(self, key: str) -> OutboxRow | None:
        return self.s.scalar(select(OutboxRow).where(OutboxRow.dedupe_key == key))

    def get(self, outbox_id: str) -> OutboxRow | None:
        return self.s.get(OutboxRow, outbox_id)

    def by_provider_id(self, provider_id: str, channel: str | None) -> Sequence[OutboxRow]:
        q = select(OutboxRow).where(OutboxRow.provider_id == provider_id)
        return self.s.scalars(q.where(OutboxRow.channel == channel) if channel else q).all()

    def claim_due(self, limit: int, worker_id: str, token: str, now: datetime, lease_s: float,
                  only: Sequence[str] | None = None) -> Sequence[OutboxRow]:
        postgres = self.s.get_bind().dialect.name == "postgresql"
        batch, claim = _OUTBOX_CLAIMS[(only is not None, postgres)]
        params: dict[str, Any] = {"now": now, "limit": limit, "token": token, "worker_id": worker_id,
                                  "lease_until": now + timedelta(seconds=lease_s)}
        if only is not None:
            if not only:
                return []
            params["only"] = list(only)
        if postgres:
            params["ids"] = list(self.s.scalars(batch, params))
            if not params["ids"]:
                return []
        claimed = self.s.scalars(claim, params, execution_options={"synchronize_session": False}).all()
        # RETURNING gives the claimed rows at once (claim_token has no index to find them again by)
        return sorted(claimed, key=lambda r: (r.next_attempt_at, r.id))

    def finish(self, outbox_id: str, token: str, values: dict[str, Any]) -> bool:
        return _rows(self.s.execute(update(OutboxRow).where(
            OutboxRow.id == outbox_id, OutboxRow.status == "sending", OutboxRow.claim_token == token)
            .values(**values).execution_options(synchronize_session=False))) == 1
