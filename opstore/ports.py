"""The store's ports: the unit of work the use cases run in, and the two outside things they call.

A use case opens one `UnitOfWork`, reads and writes through its repositories, and commits once: the
transaction belongs to the use case, never to a helper. Repositories speak in the store's records
(`opstore.models`); the few operations that must be atomic under concurrency (claims, redemptions)
are single repository methods, so each adapter can do them the way its database does best.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from contextlib import AbstractContextManager
from datetime import datetime
from types import TracebackType
from typing import Any, Protocol, Self

from opstore.models import (
    AuditEntry,
    ChannelIdentity,
    Conversation,
    Handoff,
    LinkCode,
    Message,
    MessageMedia,
    OptOut,
    OutboxRow,
)


class OutboundSender(Protocol):
    """Implemented by each channel adapter. Returns the provider's id of the sent message; raises on
    failure (the outbox retries with backoff). Must not keep state between calls that matters."""

    def send(self, channel: str, recipient: str, payload: dict[str, Any]) -> str: ...


class CustomerDirectory(Protocol):
    """Who a proven identity (`email:a@b.eu`, `phone:+49...`) belongs to. `GraphStore` satisfies it."""

    def customer_by_identity(self, identity: str) -> str | None: ...


class Conversations(Protocol):
    def get(self, conversation_id: str, *, lock: bool = False) -> Conversation | None: ...
    def open_for(self, channel: str, channel_user_id: str) -> Conversation | None: ...
    def of_customer(self, customer_id: str) -> Sequence[Conversation]: ...
    def waiting(self, limit: int) -> Sequence[Conversation]: ...
    def open_handoff(self, conversation_id: str) -> Handoff | None: ...
    def set_owner(self, conversation_id: str, from_status: tuple[str, ...], status: str,
                  agent: str | None, now: datetime) -> bool:
        """Conditional status change: true only if the conversation was in `from_status`."""


class Messages(Protocol):
    def get(self, message_id: str) -> Message | None: ...
    def by_provider_id(self, channel: str, provider_message_id: str) -> Message | None: ...
    def history(self, conversation_id: str, customer_id: str | None, limit: int,
                before: Message) -> Sequence[Message]:
        """Messages before `before`, oldest first: of this conversation, or of all the customer's."""
    def transcript(self, conversation_id: str, limit: int) -> Sequence[Message]: ...
    def media(self, message_id: str) -> Sequence[MessageMedia]: ...
    def pending_inbound(self, now: datetime, lease_s: float, max_attempts: int, limit: int) -> list[str]:
        """Ids that `claim_inbound` would take now, oldest first."""
    def claim_inbound(self, message_id: str, token: str, now: datetime, lease_s: float,
                      max_attempts: int, *, in_line: bool = True) -> tuple[Conversation, Message] | None:
        """received/failed-and-due/stale-processing -> processing, only if it is first in its
        conversation's line (nothing in flight, nothing earlier unanswered; `in_line=False` skips
        that for messages the channel settles itself). Atomic: of two concurrent callers at most one
        wins. Returns the conversation and the claimed message, or None."""
    def advance(self, message_id: str, from_status: tuple[str, ...], values: dict[str, Any]) -> bool:
        """Conditional status change of any message (outbound delivery states only move forward)."""
    def finish_inbound(self, message_id: str, token: str, values: dict[str, Any]) -> bool:
        """Write the outcome only while `token` still holds the claim (a lapsed lease loses it)."""


class Identities(Protocol):
    """Who someone is on a channel, and what they allow (consents, opt-outs)."""

    def get(self, channel: str, external_id: str) -> ChannelIdentity | None: ...
    def redeem_code(self, code_hash: str, now: datetime, channel: str, external_id: str) -> LinkCode | None:
        """Mark an unexpired, unused code used, atomically; None if it was not redeemable."""
    def opt_out(self, channel: str, external_id: str) -> OptOut | None: ...
    def opted_out_among(self, pairs: set[tuple[str, str]]) -> set[tuple[str, str]]:
        """Which (channel, external_id) of these are opted out, in one query."""
    def latest_consent(self, kind: str, customer_id: str | None, channel: str | None,
                       external_id: str | None) -> bool | None: ...


class Outbox(Protocol):
    def by_dedupe_key(self, key: str) -> OutboxRow | None: ...
    def get(self, outbox_id: str) -> OutboxRow | None: ...
    def by_provider_id(self, provider_id: str, channel: str | None) -> Sequence[OutboxRow]: ...
    def claim_due(self, limit: int, worker_id: str, token: str, now: datetime, lease_s: float,
                  only: Sequence[str] | None = None) -> Sequence[OutboxRow]:
        """Due rows (pending/failed and due, or sending with a lapsed lease) -> sending, attempts+1;
        among `only` if given. Concurrent workers get disjoint sets."""
    def finish(self, outbox_id: str, token: str, values: dict[str, Any]) -> bool:
        """Write a send outcome only while `token` still holds the claim."""


class UnitOfWork(ABC):
    """One transaction. Leaving the block without `commit()` rolls back."""

    conversations: Conversations
    messages: Messages
    identities: Identities
    outbox: Outbox

    @abstractmethod
    def add(self, record: Any) -> None:
        """Stage a new record (conversation, message, identity, outbox row, consent, audit entry ...)."""

    @abstractmethod
    def audit_trail(self, subject: str | None, limit: int) -> Sequence[AuditEntry]:
        """Newest first; all subjects when `subject` is None."""

    @abstractmethod
    def savepoint(self) -> AbstractContextManager[None]:
        """A nested transaction: leaving it with an exception undoes only what was written inside it
        (store errors come out translated, e.g. `Conflict`); the outer transaction stays usable."""

    @abstractmethod
    def flush(self) -> None:
        """Send staged writes now, so uniqueness rules fire here (as `Conflict`) rather than at commit."""

    @abstractmethod
    def commit(self) -> None: ...

    @abstractmethod
    def rollback(self) -> None: ...

    def __enter__(self) -> Self:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.rollback()
