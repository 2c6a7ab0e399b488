"""The statements of the answer workers' batch paths: claims that never wait, and `mark_sent`.

`SqlMessages.claim_inbound` waits for the conversation's row lock on PostgreSQL, which is right for one
claim per transaction. A batch that waited for several locks could deadlock with another worker's
batch, so here the conversation is locked `FOR UPDATE SKIP LOCKED`: a conversation another worker is
claiming or recording in right now is skipped (its message stays pending for the next pass) and two
workers never wait on each other. SQLite serialises writers with `BEGIN IMMEDIATE`, so the plain
claim is already safe there. The conditional UPDATE itself (`_CLAIM`) is the same statement as the
single claim's: of two claimers of one message exactly one gets the row back.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Table, bindparam, select, update

from opstore.models import Conversation, Message, OutboxRow, UTCDateTime
from opstore.repos import _CLAIM, _CLAIM_CONVERSATION, _claim_params

_CONVERSATION_SKIP_LOCKED = _CLAIM_CONVERSATION.with_for_update(skip_locked=True)
# A batch's conversations in one statement each (instead of one per message): for its claims,
# skipping those another worker holds; for its record, waiting for them in id order (two workers'
# record batches then take the locks in the same order and never deadlock).
_CONVERSATIONS_OF_MESSAGES_SKIP_LOCKED = (
    select(Message.id, Conversation).join(Conversation, Conversation.id == Message.conversation_id)
    .where(Message.id.in_(bindparam("message_ids", expanding=True)))
    .with_for_update(skip_locked=True, of=Conversation))
_CONVERSATIONS_LOCKED = (select(Conversation).where(Conversation.id.in_(bindparam("ids", expanding=True)))
                         .order_by(Conversation.id).with_for_update())

#: message id -> its conversation, locked by this transaction (a batch's claims, `lock_for_claims`)
Locked = dict[str, Conversation]


def lock_for_claims(messages: Any, message_ids: Sequence[str]) -> Locked | None:
    """PostgreSQL: lock the conversations of a batch's messages at once, skipping those another
    worker holds (their messages stay pending). None where `claim_without_waiting` needs no lock
    (SQLite's `BEGIN IMMEDIATE` already serialises writers; a fake repository)."""
    session = getattr(messages, "s", None)
    if session is None or not getattr(messages, "_postgres", False) or not message_ids:
        return None
    return {mid: conv for mid, conv in session.execute(_CONVERSATIONS_OF_MESSAGES_SKIP_LOCKED,
                                                       {"message_ids": list(message_ids)})}


def lock_conversations(uow: Any, conversation_ids: Sequence[str]) -> dict[str, Conversation] | None:
    """The record batch's conversations, locked in id order, in one statement; None: not an SQL unit
    of work (the caller locks them one by one)."""
    session = getattr(uow, "session", None)
    if session is None:
        return None
    ids = sorted(set(conversation_ids))
    return {c.id: c for c in session.scalars(_CONVERSATIONS_LOCKED, {"ids": ids})} if ids else {}


def claim_without_waiting(messages: Any, message_id: str, token: str, now: datetime, lease_s: float,
                          max_attempts: int, locked: Locked | None = None) -> tuple[Conversation, Message] | None:
    """Claim one message inside the caller's (batch) transaction; None: not claimable now (answered,
    in flight, behind an earlier message, or its conversation is locked by another worker).
    `locked`: what `lock_for_claims` locked for the whole batch (no statement per message for it)."""
    session = getattr(messages, "s", None)
    if session is None or not getattr(messages, "_postgres", False):   # SQLite, or a fake repository
        return messages.claim_inbound(message_id, token, now, lease_s, max_attempts)  # type: ignore[no-any-return]
    conv = locked.get(message_id) if locked is not None else session.scalar(
        _CONVERSATION_SKIP_LOCKED, {"message_id": message_id})
    if conv is None:
        return None
    params = _claim_params(now, lease_s, max_attempts) | {"message_id": message_id, "token": token}
    msg = session.scalar(_CLAIM, params, execution_options={"synchronize_session": False})
    return (conv, msg) if msg is not None else None


# `mark_sent`, the hottest write after a reply: built once on the tables (no ORM unit of work, no
# per-call statement building), the same conditions as `SqlOutbox.finish` + `SqlMessages.advance`
_NOW = bindparam("now", type_=UTCDateTime())
_OUTBOX: Table = OutboxRow.__table__  # type: ignore[assignment]
_MESSAGES: Table = Message.__table__  # type: ignore[assignment]
_OUTBOX_SENT = update(_OUTBOX).where(
    _OUTBOX.c.id == bindparam("outbox_id"), _OUTBOX.c.status == "sending",
    _OUTBOX.c.claim_token == bindparam("token")).values(
    status="sent", provider_id=bindparam("provider_id"), last_error=None, updated_at=_NOW, lease_until=None)
_MESSAGE_SENT = update(_MESSAGES).where(
    _MESSAGES.c.id == bindparam("message_id"), _MESSAGES.c.status == "queued").values(
    status="sent", updated_at=_NOW)


def mark_sent_fast(uow: Any, outbox_id: str, token: str, provider_id: str, message_id: str | None,
                   now: datetime) -> bool | None:
    """True/False as `finish` would answer; None: not an SQL unit of work (the caller does it the long way)."""
    session = getattr(uow, "session", None)
    if session is None:
        return None
    done = session.execute(_OUTBOX_SENT, {"outbox_id": outbox_id, "token": token, "provider_id": provider_id,
                                          "now": now}).rowcount == 1
    if done and message_id:
        session.execute(_MESSAGE_SENT, {"message_id": message_id, "now": now})
    return bool(done)
