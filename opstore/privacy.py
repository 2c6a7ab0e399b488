"""Customer data requests in the operational store: which rows belong to one customer, copied out
(access request) or deleted (erasure), through one table-by-table map so the two cannot drift.

`COVERED` names every table that can hold a customer's data and how to find their rows; `NOT_PERSONAL`
names every other table and why. A test walks `Base.metadata`, so a new table fails the suite until
someone decides here what a data request does with it.

Whose rows: the customer's verified channel identities, every conversation that carries the customer
id or was held on one of those identities before it was verified, and everything hanging off those
conversations; the storefront visitor ids their events were recorded under; the outbox rows addressed
to them. Audit entries are not deleted but anonymised (the trail keeps who did what when; the
subject, the customer's own handles and the details go).
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    ColumnElement,
    String,
    Table,
    and_,
    case,
    delete,
    false,
    literal,
    or_,
    select,
    update,
)
from sqlalchemy.orm import Session

from opstore.models import (
    AuditEntry,
    Base,
    ChannelIdentity,
    Consent,
    Conversation,
    Handoff,
    LinkCode,
    Message,
    MessageMedia,
    OptOut,
    OutboxRow,
)
from opstore.models_commerce import ReminderRow, ReminderSendRow
from opstore.models_console import ConsoleNote, CsatRating, HandoffTicket
from opstore.models_proactive import (
    BehaviourEvent,
    ConversationOutcome,
    CustomerSegment,
    TriggerSend,
)

ERASED_ACTION = "customer_erased"
#: What an anonymised audit entry says instead of the customer's handle.
ERASED = "erased"
#: Columns never copied into an export: secrets and worker bookkeeping, not information about the person.
HIDDEN_COLUMNS = frozenset({"code_hash", "claim_token", "claimed_by", "lease_until"})


def erasure_ref(customer_id: str) -> str:
    """The erasure ledger's key: a one-way digest, so the ledger proves an erasure without naming the
    customer id (which the shop may still map to a person)."""
    return hashlib.sha256(f"skinsage-erasure:{customer_id}".encode()).hexdigest()[:32]


@dataclass
class Scope:
    """One customer's handles, resolved once inside the request's transaction."""

    customer_id: str
    identities: set[tuple[str, str]] = field(default_factory=set)   # (channel, external_id)
    visitors: set[str] = field(default_factory=set)
    extra_audit_subjects: set[str] = field(default_factory=set)    # e.g. `analysis:<id>` from the photo store

    @property
    def handles(self) -> set[str]:
        """How the audit log names them: `customer:<id>`, the bare id (consents) and `channel:external_id`."""
        return {self.customer_id, f"customer:{self.customer_id}"} | {f"{c}:{e}" for c, e in self.identities}


def _pairs(a: Any, b: Any, pairs: set[tuple[str, str]]) -> ColumnElement[bool]:
    """(a, b) IN pairs, written as OR of ANDs: portable, and a customer has a handful of identities."""
    return or_(*(and_(a == x, b == y) for x, y in sorted(pairs))) if pairs else false()


def _conversations(sc: Scope) -> Any:
    """Conversations carrying the customer, or held anonymously on an identity that is theirs (never one
    another customer's id is on)."""
    on_identity = and_(_pairs(Conversation.channel, Conversation.channel_user_id, sc.identities),
                       or_(Conversation.customer_id.is_(None), Conversation.customer_id == sc.customer_id))
    return select(Conversation.id).where(or_(Conversation.customer_id == sc.customer_id, on_identity))


def _messages(sc: Scope) -> Any:
    return select(Message.id).where(Message.conversation_id.in_(_conversations(sc)))


def _reminder_outbox(sc: Scope) -> Any:
    return select(ReminderSendRow.outbox_id).where(ReminderSendRow.customer_id == sc.customer_id)


def _trigger_cond(sc: Scope) -> ColumnElement[bool]:
    return or_(TriggerSend.customer_id == sc.customer_id, TriggerSend.subject == f"customer:{sc.customer_id}",
               _anonymous_visit(TriggerSend, sc))


def _anonymous_visit(model: Any, sc: Scope) -> ColumnElement[bool]:
    """Rows recorded under one of their visitor ids before they signed in (a shared browser's rows of
    another signed-in customer stay theirs)."""
    return and_(model.visitor_id.in_(sorted(sc.visitors)), model.customer_id.is_(None))


def _outbox_cond(sc: Scope, s: Session) -> ColumnElement[bool]:
    recipients = set(sc.identities) | {(r.channel, r.channel_user_id) for r in s.execute(
        select(Conversation.channel, Conversation.channel_user_id).where(Conversation.id.in_(_conversations(sc))))}
    return or_(OutboxRow.message_id.in_(_messages(sc)), _pairs(OutboxRow.channel, OutboxRow.recipient, recipients),
               OutboxRow.id.in_(_reminder_outbox(sc)),
               OutboxRow.id.in_(select(TriggerSend.outbox_id).where(_trigger_cond(sc))))


def _audit_cond(sc: Scope) -> ColumnElement[bool]:
    """Entries naming the customer, one of their identities, conversations or photo analyses, or done
    by them (an opt-out's actor is the phone number)."""
    handles = sorted(sc.handles)
    conversations = select(literal("conversation:", String) + Conversation.id).where(
        Conversation.id.in_(_conversations(sc)))
    return or_(AuditEntry.subject.in_(sorted(sc.handles | sc.extra_audit_subjects)),
               AuditEntry.subject.in_(conversations), AuditEntry.actor.in_(handles))


Condition = Callable[[Scope, Session], ColumnElement[bool]]


@dataclass(frozen=True)
class Coverage:
    section: str                      # the export's key
    condition: Condition              # which rows are the customer's
    erase: str = "delete"             # or "anonymise" (audit log)


#: Every table holding a customer's data, in the order erasure works: the audit log first and each
#: table before the ones its condition or foreign keys lean on (children before parents).
COVERED: dict[str, Coverage] = {
    "audit_log": Coverage("audit_log", lambda sc, s: _audit_cond(sc), erase="anonymise"),
    "console_csat": Coverage("csat_ratings", lambda sc, s: CsatRating.conversation_id.in_(_conversations(sc))),
    "console_handoff_tickets": Coverage(
        "handoff_tickets", lambda sc, s: HandoffTicket.conversation_id.in_(_conversations(sc))),
    "console_notes": Coverage("console_notes", lambda sc, s: ConsoleNote.conversation_id.in_(_conversations(sc))),
    "conversation_outcomes": Coverage("conversation_outcomes", lambda sc, s: or_(
        ConversationOutcome.customer_id == sc.customer_id, ConversationOutcome.conversation_id.in_(_conversations(sc)))),
    "handoffs": Coverage("handoffs", lambda sc, s: Handoff.conversation_id.in_(_conversations(sc))),
    "message_media": Coverage("media", lambda sc, s: MessageMedia.message_id.in_(_messages(sc))),
    "outbox": Coverage("outbox", _outbox_cond),
    "trigger_sends": Coverage("trigger_sends", lambda sc, s: _trigger_cond(sc)),
    "messages": Coverage("messages", lambda sc, s: Message.conversation_id.in_(_conversations(sc))),
    "conversations": Coverage("conversations", lambda sc, s: Conversation.id.in_(_conversations(sc))),
    "commerce_reminder_sends": Coverage("reminder_sends", lambda sc, s: ReminderSendRow.customer_id == sc.customer_id),
    "commerce_reminders": Coverage("reminders", lambda sc, s: ReminderRow.customer_id == sc.customer_id),
    "behaviour_events": Coverage("behaviour_events", lambda sc, s: or_(
        BehaviourEvent.customer_id == sc.customer_id, _anonymous_visit(BehaviourEvent, sc))),
    "customer_segments": Coverage("segments", lambda sc, s: CustomerSegment.customer_id == sc.customer_id),
    "consents": Coverage("consents", lambda sc, s: or_(Consent.customer_id == sc.customer_id, and_(
        Consent.customer_id.is_(None), _pairs(Consent.channel, Consent.external_id, sc.identities)))),
    "opt_outs": Coverage("opt_outs", lambda sc, s: _pairs(OptOut.channel, OptOut.external_id, sc.identities)),
    "link_codes": Coverage("link_codes", lambda sc, s: LinkCode.customer_id == sc.customer_id),
    "channel_identities": Coverage("channel_identities",
                                   lambda sc, s: ChannelIdentity.customer_id == sc.customer_id),
}

#: Tables that hold nothing about a customer, and why (checked against the metadata by a test).
NOT_PERSONAL: dict[str, str] = {
    "console_agents": "staff accounts",
    "console_sessions": "staff login sessions",
    "console_canned_responses": "staff reply templates",
    "webhook_deliveries": "Shopify delivery ids, topics and statuses only (no payloads)",
}


def scope_of(s: Session, customer_id: str, extra_audit_subjects: set[str] | None = None) -> Scope:
    sc = Scope(customer_id, extra_audit_subjects=set(extra_audit_subjects or ()))
    sc.identities = {(c, e) for c, e in s.execute(
        select(ChannelIdentity.channel, ChannelIdentity.external_id).where(ChannelIdentity.customer_id == customer_id))}
    sc.visitors = {v for (v,) in s.execute(select(BehaviourEvent.visitor_id).where(
        BehaviourEvent.customer_id == customer_id).distinct())}
    sc.visitors |= {v for (v,) in s.execute(select(TriggerSend.visitor_id).where(
        TriggerSend.customer_id == customer_id, TriggerSend.visitor_id.is_not(None)).distinct()) if v}
    # a browser another customer also signed in on: its anonymous rows cannot be told apart, so they
    # are neither exported to nor erased for either of them (their signed-in rows still are)
    sc.visitors -= {v for (v,) in s.execute(select(BehaviourEvent.visitor_id).where(
        BehaviourEvent.visitor_id.in_(sorted(sc.visitors)), BehaviourEvent.customer_id.is_not(None),
        BehaviourEvent.customer_id != customer_id).distinct())}
    return sc


def _table(name: str) -> Table:
    return Base.metadata.tables[name]


def _plain(value: Any, include_bytes: bool = False) -> Any:
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    if isinstance(value, (bytes, bytearray, memoryview)):
        data = bytes(value)
        out: dict[str, Any] = {"bytes": len(data), "sha256": hashlib.sha256(data).hexdigest()}
        if include_bytes:
            out["base64"] = base64.b64encode(data).decode("ascii")
        return out
    return value


def collect(s: Session, sc: Scope, *, include_media: bool = False) -> dict[str, list[dict[str, Any]]]:
    """Every covered row of the customer, per export section, oldest first where a table has a time.
    Binary content (photos sent in chat) is described by size and SHA-256, and included as base64 only
    with `include_media`."""
    out: dict[str, list[dict[str, Any]]] = {}
    for name, cov in COVERED.items():
        table = _table(name)
        order = [c for c in ("created_at", "at", "occurred_at", "opened_at", "resolved_at") if c in table.c][:1]
        q = select(table).where(cov.condition(sc, s)).order_by(*(table.c[c] for c in order),
                                                               *table.primary_key.columns)
        out[cov.section] = [{k: _plain(v, include_media) for k, v in row.items() if k not in HIDDEN_COLUMNS}
                            for row in s.execute(q).mappings()]
    return out


def erase(s: Session, sc: Scope) -> dict[str, int]:
    """Delete (or anonymise) every covered row, children first; the caller commits. Counts per table."""
    if s.get_bind().dialect.name == "sqlite":
        s.execute(select(1))  # begin (the engine's BEGIN IMMEDIATE) before the connection pragma
        s.connection().exec_driver_sql("PRAGMA secure_delete = ON")  # deleted pages are zeroed, not left behind
    counts: dict[str, int] = {}
    for name, cov in COVERED.items():
        table = _table(name)
        cond = cov.condition(sc, s)
        if cov.erase == "anonymise":
            handles = sorted(sc.handles)
            stmt: Any = update(table).where(cond).values(
                subject=ERASED, details={"redacted": True},
                actor=case((table.c.actor.in_(handles), ERASED), else_=table.c.actor))
        else:
            stmt = delete(table).where(cond)
        result: Any = s.execute(stmt.execution_options(synchronize_session=False))
        counts[name] = int(result.rowcount or 0)
    return counts


def erasures(s: Session, customer_id: str) -> list[AuditEntry]:
    """Earlier erasures of this customer id, from the ledger (oldest first)."""
    return list(s.scalars(select(AuditEntry).where(
        AuditEntry.action == ERASED_ACTION, AuditEntry.subject == f"erasure:{erasure_ref(customer_id)}")
        .order_by(AuditEntry.at)))
