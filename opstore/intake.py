"""`receive` for a whole group of deliveries at once: a constant number of statements per group.

The repository path (`StoreService._receive`, kept for the in-memory unit-of-work fakes) asks three
or four questions per message through the ORM (is it a retry? who is writing? which conversation is
open?) and flushes what it added before each of them. Here a group asks each question once for all its deliveries (`channel = ? AND key IN
(...)`, one statement per channel in the group, through the unique indexes), decides every delivery
in memory in the group's order, exactly as the repository path would have one after another
(a retry of a message earlier in the same group is a duplicate of it; a second message from a new
person finds the identity and conversation the first one created; a proof verified earlier in the
group counts for later ones), and writes with one executemany per table.

Rows are written table by table (identities, conversations, messages, media), each table's rows in
the order of its unique key (existing conversations in id order, the order in which the answer
workers' record batches lock them too), so two processes' groups, and a group and a record batch,
take PostgreSQL's row and index locks in the same order and cannot deadlock. Any failure (a uniqueness race lost to another process, a delivery
that cannot be stored) propagates: the caller rolls back and re-runs the group one delivery per
savepoint (a group of one), which re-reads the winner's rows.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection, Table, bindparam, insert, literal_column, select, update

from assistant.types import InboundMessage
from opstore import domain
from opstore.models import AuditEntry, ChannelIdentity, Conversation, Message, MessageMedia
from opstore.schemas import Received

if TYPE_CHECKING:
    from opstore.identity import ProofLookup

_M: Table = Message.__table__  # type: ignore[assignment]
_C: Table = Conversation.__table__  # type: ignore[assignment]
_I: Table = ChannelIdentity.__table__  # type: ignore[assignment]
_MEDIA: Table = MessageMedia.__table__  # type: ignore[assignment]
_AUDIT: Table = AuditEntry.__table__  # type: ignore[assignment]

# Built once (statement building and cache keys cost more CPU than running them on SQLite). The
# literal 'closed' lets SQLite use the partial unique index `uq_conversations_open`.
_RETRIES = select(_M.c.provider_message_id, _M.c.id, _M.c.conversation_id).where(
    _M.c.channel == bindparam("channel"), _M.c.provider_message_id.in_(bindparam("keys", expanding=True)))
_IDENTITIES = select(_I.c.external_id, _I.c.id, _I.c.verified, _I.c.customer_id, _I.c.display_name).where(
    _I.c.channel == bindparam("channel"), _I.c.external_id.in_(bindparam("keys", expanding=True)))
_OPEN = select(_C.c.channel_user_id, _C.c.id).where(
    _C.c.channel == bindparam("channel"), _C.c.channel_user_id.in_(bindparam("keys", expanding=True)),
    _C.c.status != literal_column("'closed'"))
_NEW_IDENTITY = insert(_I)
_SET_IDENTITY = update(_I).where(_I.c.id == bindparam("k_id")).values(
    verified=bindparam("k_verified"), verified_at=bindparam("k_verified_at"),
    customer_id=bindparam("k_customer_id"), display_name=bindparam("k_display_name"))
_NEW_CONVERSATION = insert(_C)
_TOUCH_CONVERSATION = update(_C).where(_C.c.id == bindparam("k_id")).values(
    customer_id=bindparam("k_customer_id"), last_inbound_at=bindparam("k_at"), updated_at=bindparam("k_at"))
_NEW_MESSAGE = insert(_M)
_NEW_MEDIA = insert(_MEDIA)
_NEW_AUDIT = insert(_AUDIT)

Delivery = tuple[InboundMessage, "ProofLookup | None"]


@dataclass
class _Identity:
    id: str
    verified: bool
    customer_id: str | None
    display_name: str | None
    verified_at: datetime | None = None
    created_at: datetime | None = None
    new: bool = False
    changed: bool = False


def _grouped(pairs: Iterable[tuple[str, str]]) -> dict[str, list[str]]:
    out: dict[str, set[str]] = {}
    for channel, key in pairs:
        out.setdefault(channel, set()).add(key)
    return {c: sorted(keys) for c, keys in sorted(out.items())}


def _lookup(conn: Connection, stmt: Any, pairs: Iterable[tuple[str, str]]) -> dict[tuple[str, str], Any]:
    """(channel, key) -> row, for every pair that has one: one statement per channel."""
    found: dict[tuple[str, str], Any] = {}
    for channel, keys in _grouped(pairs).items():
        for row in conn.execute(stmt, {"channel": channel, "keys": keys}):
            found[(channel, row[0])] = row
    return found


def receive_many(conn: Connection, deliveries: Sequence[Delivery], now: Callable[[], datetime]) -> list[Received]:
    """Store every delivery (in the caller's transaction, which commits), in the given order; a
    result per delivery. The caller orders them by (channel, user) and keeps arrival order within
    one person, which is the order their messages get ids and timestamps in."""
    retries = _lookup(conn, _RETRIES, ((i.channel, i.provider_message_id) for i, _ in deliveries
                                       if i.provider_message_id))
    wanted: set[tuple[str, str]] = {(i.channel, i.channel_user_id) for i, _ in deliveries}
    wanted |= {(p.channel, p.external_id) for _, p in deliveries
               if p is not None and not p.known and p.channel and p.external_id}
    identities = {k: _Identity(id=r.id, verified=bool(r.verified), customer_id=r.customer_id,
                               display_name=r.display_name)
                  for k, r in _lookup(conn, _IDENTITIES, wanted).items()}
    conversations: dict[tuple[str, str], str] = {
        k: r.id for k, r in _lookup(conn, _OPEN, {(i.channel, i.channel_user_id) for i, _ in deliveries}).items()}
    new_conversations: dict[tuple[str, str], dict[str, Any]] = {}
    touched: dict[str, dict[str, Any]] = {}
    messages: list[dict[str, Any]] = []
    media: list[dict[str, Any]] = []
    audits: list[dict[str, Any]] = []
    stored: dict[tuple[str, str], Received] = {}
    results: list[Received] = []
    for inbound, proof in deliveries:
        key = (inbound.channel, inbound.channel_user_id)
        sid = inbound.provider_message_id
        if sid:
            earlier = stored.get((inbound.channel, sid))
            if earlier is not None:  # a retry of a message earlier in this group
                results.append(Received(message_id=earlier.message_id, conversation_id=earlier.conversation_id,
                                        duplicate=True))
                continue
            row = retries.get((inbound.channel, sid))
            if row is not None:
                results.append(Received(message_id=row.id, conversation_id=row.conversation_id, duplicate=True))
                continue
        at = now()
        proven = _proven_customer(proof, identities)
        ident = _attach(identities, key, inbound.display_name, proven, at, audits, f"{inbound.channel}:proof")
        customer_id = ident.customer_id if ident.verified else None
        conv_id = conversations.get(key)
        if conv_id is None:
            conv_id = conversations[key] = domain.new_id()
            new_conversations[key] = {
                "id": conv_id, "customer_id": customer_id, "channel": inbound.channel,
                "channel_user_id": inbound.channel_user_id, "status": "bot", "assigned_agent": None,
                "handoff_reason": None, "state": {}, "created_at": at, "updated_at": at, "last_inbound_at": at}
        elif key in new_conversations:
            new_conversations[key].update(customer_id=customer_id, updated_at=at, last_inbound_at=at)
        else:
            touched[conv_id] = {"k_id": conv_id, "k_customer_id": customer_id, "k_at": at}
        message_id = domain.new_id()
        messages.append({
            "id": message_id, "conversation_id": conv_id, "direction": "in", "channel": inbound.channel,
            "provider_message_id": sid, "author": "customer", "text": inbound.text,
            "payload": inbound_payload(inbound), "status": "received", "error": None, "reply_to": None,
            "attempts": 0, "claim_token": None, "claimed_at": None, "next_attempt_at": None,
            "created_at": at, "updated_at": at})
        media.extend({"id": domain.new_id(), "message_id": message_id, "position": n,
                      "content_type": m.content_type, "url": m.url, "filename": m.filename, "data": m.data}
                     for n, m in enumerate(inbound.media))
        got = Received(message_id=message_id, conversation_id=conv_id, customer_id=customer_id)
        if sid:
            stored[(inbound.channel, sid)] = got
        results.append(got)
    _write(conn, identities, new_conversations, touched, messages, media, audits)
    return results


def _proven_customer(proof: ProofLookup | None, identities: dict[tuple[str, str], _Identity]) -> str | None:
    """`ProofLookup.customer`, answered from this group's view of the identities."""
    if proof is None:
        return None
    if proof.known or not (proof.channel and proof.external_id):
        return proof.known
    ident = identities.get((proof.channel, proof.external_id))
    return ident.customer_id if ident is not None and ident.verified else None


def _attach(identities: dict[tuple[str, str], _Identity], key: tuple[str, str], display_name: str | None,
            customer_id: str | None, at: datetime, audits: list[dict[str, Any]], source: str) -> _Identity:
    """`opstore.identity.attach_identity` on this group's view (the open conversation gets the
    customer from the caller, which sets it on every delivery)."""
    ident = identities.get(key)
    if ident is None:
        ident = identities[key] = _Identity(id=domain.new_id(), verified=False, customer_id=None,
                                            display_name=display_name, created_at=at, new=True)
    elif display_name and not ident.display_name:
        ident.display_name, ident.changed = display_name, True
    if customer_id and (not ident.verified or ident.customer_id != customer_id):
        audits.append({"id": domain.new_id(), "actor": source, "action": "identity_verified",
                       "subject": f"{key[0]}:{key[1]}",
                       "details": {"customer_id": customer_id, "previous": ident.customer_id}, "at": at})
        ident.verified, ident.verified_at, ident.customer_id, ident.changed = True, at, customer_id, True
    return ident


def _write(conn: Connection, identities: dict[tuple[str, str], _Identity],
           new_conversations: dict[tuple[str, str], dict[str, Any]], touched: dict[str, dict[str, Any]],
           messages: list[dict[str, Any]], media: list[dict[str, Any]], audits: list[dict[str, Any]]) -> None:
    """One executemany per table and kind of write, rows in unique-key order (see the module doc)."""
    ordered = sorted(identities.items())
    new_ids = [{"id": i.id, "channel": k[0], "external_id": k[1], "customer_id": i.customer_id,
                "verified": i.verified, "verified_at": i.verified_at, "display_name": i.display_name,
                "created_at": i.created_at}
               for k, i in ordered if i.new]
    changed_ids = [{"k_id": i.id, "k_verified": i.verified, "k_verified_at": i.verified_at,
                    "k_customer_id": i.customer_id, "k_display_name": i.display_name}
                   for _, i in ordered if i.changed and not i.new]
    if new_ids:
        conn.execute(_NEW_IDENTITY, new_ids)
    if changed_ids:
        conn.execute(_SET_IDENTITY, changed_ids)
    if audits:
        conn.execute(_NEW_AUDIT, audits)
    if new_conversations:
        conn.execute(_NEW_CONVERSATION, [new_conversations[k] for k in sorted(new_conversations)])
    if touched:  # in id order, the order the answer workers' record batches lock conversations in
        conn.execute(_TOUCH_CONVERSATION, [touched[c] for c in sorted(touched)])
    if messages:
        conn.execute(_NEW_MESSAGE, sorted(messages, key=lambda m: (m["channel"], m["provider_message_id"] or "",
                                                                    m["id"])))
    if media:
        conn.execute(_NEW_MEDIA, media)


def inbound_payload(inbound: InboundMessage) -> dict[str, object]:
    return {"display_name": inbound.display_name, "received_at": inbound.received_at.isoformat(),
            "media": [{"content_type": m.content_type, "url": m.url, "filename": m.filename} for m in inbound.media]}
