"""The message pipeline's use cases: receive (persist before anything else), process (answer exactly
once), and recovery (find everything acknowledged but not yet answered).

`StoreService` is the one object channels, the console and the worker hold; outbox, identity,
compliance and handoff use cases hang off it as `store.outbox`, `store.identity`, ...
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING

from assistant.types import ConversationEngine, InboundMessage
from opstore import domain
from opstore.answer import AnsweringService
from opstore.compliance import ComplianceService
from opstore.context import StoreConfig, StoreContext
from opstore.errors import Conflict, StoreUnavailable
from opstore.events import EventBus
from opstore.groupcommit import GroupCommit, Slot
from opstore.handoff import HandoffService
from opstore.identity import IdentityService, ProofLookup, attach_identity
from opstore.models import Conversation, Message, MessageMedia
from opstore.outbox import OutboxService
from opstore.ports import CustomerDirectory, UnitOfWork
from opstore.schemas import Processed, Received, StoreEvent

if TYPE_CHECKING:
    from opstore.sql import SqlDatabase

_Delivery = tuple[InboundMessage, "ProofLookup | None"]  # what one `receive` caller hands the group commit


class StoreService:
    def __init__(self, ctx: StoreContext, directory: CustomerDirectory | None = None, *,
                 database: SqlDatabase | None = None) -> None:
        self.ctx = ctx
        self.database = database  # owned: closed by close()
        self.events: EventBus = ctx.events
        self.outbox = OutboxService(ctx)
        self.identity = IdentityService(ctx, directory)
        self.compliance = ComplianceService(ctx)
        self.handoffs = HandoffService(ctx)
        self.answering = AnsweringService(ctx)
        # SQLite has one writer anyway, so concurrent receives queue for its lock: grouping them turns
        # N commits (fsyncs) into one. PostgreSQL runs them side by side and groups WAL flushes itself;
        # one leader doing everyone's round trips in turn measured slower there (each round trip waits
        # for the GIL behind the engine's threads), so each call runs its own transaction.
        self._receiver: GroupCommit[_Delivery, Received] | None = (
            GroupCommit(self._receive_batch, max_batch=64) if self.backend in ("sqlite", "custom") else None)

    @property
    def config(self) -> StoreConfig:
        return self.ctx.config

    @property
    def backend(self) -> str:
        return self.database.backend if self.database else "custom"

    def close(self) -> None:
        if self.database is not None:
            self.database.dispose()

    # -- receive ---------------------------------------------------------------------------------

    def receive(self, inbound: InboundMessage) -> Received:
        """Persist an inbound message before anything else happens to it. A provider retry (same
        channel and provider message id) returns `duplicate=True` and writes nothing.

        One write transaction, shared with whatever other `receive` calls are waiting at the same
        moment (`opstore.groupcommit`); it returns only after that transaction committed."""
        proof = self.identity.resolve_proof(inbound.verified_identity) if inbound.verified_identity else None
        if self._receiver is not None:
            got = self._receiver.submit((inbound, proof))
        else:
            got = self._receive_one(inbound, proof)
        if not got.duplicate:
            self.events.publish(StoreEvent(kind="inbound", conversation_id=got.conversation_id,
                                           message_id=got.message_id))
        return got

    def _receive_batch(self, slots: Sequence[Slot[_Delivery, Received]]) -> None:
        """Every waiting delivery in one transaction. Rows are touched in (channel, user) order, so two
        processes' batches take PostgreSQL's row locks in the same order and cannot deadlock.

        First without savepoints (the common case costs no extra statements); if any delivery fails
        (a uniqueness race lost to another process, which SQLite's write lock rules out, or a bad
        delivery), nothing of that attempt is kept and the batch runs again with a savepoint per
        delivery, so only the failing one is affected."""
        ordered = sorted(slots, key=lambda s: (s.item[0].channel, s.item[0].channel_user_id))
        try:
            with self.ctx.uow() as uow:
                results = [self._receive(uow, s.item[0], s.item[1], self.ctx.now()) for s in ordered]
                uow.commit()
        except StoreUnavailable:
            raise  # the connection is gone: the whole batch fails (nobody is acknowledged)
        except Exception:  # noqa: BLE001 - rolled back; isolate it below
            self._receive_isolated(ordered)
            return
        for slot, result in zip(ordered, results, strict=True):
            slot.settle(result)

    def _receive_one(self, inbound: InboundMessage, proof: ProofLookup | None) -> Received:
        slot: Slot[_Delivery, Received] = Slot((inbound, proof))
        self._receive_batch([slot])
        if slot.error is not None:
            raise slot.error
        return slot.result  # type: ignore[return-value]  # settled with a result

    def _receive_isolated(self, ordered: Sequence[Slot[_Delivery, Received]]) -> None:
        """Each delivery in a savepoint of its own: a lost uniqueness race re-runs just that one (it
        then reads the winner's row); any other failure settles just that one with its error."""
        with self.ctx.uow() as uow:
            done: list[tuple[Slot[_Delivery, Received], Received]] = []
            for slot in ordered:
                inbound, proof = slot.item
                for attempt in range(3):
                    try:
                        with uow.savepoint():
                            got = self._receive(uow, inbound, proof, self.ctx.now())
                        done.append((slot, got))
                        break
                    except Conflict as e:
                        if attempt == 2:
                            slot.settle(error=e)
                    except StoreUnavailable:
                        raise  # the connection is gone: the whole batch fails (nobody is acknowledged)
                    except Exception as e:  # noqa: BLE001 - this delivery's own problem, not its neighbours'
                        slot.settle(error=e)
                        break
            uow.commit()
        for slot, result in done:
            slot.settle(result)

    def _receive(self, uow: UnitOfWork, inbound: InboundMessage, proof: ProofLookup | None,
                 now: datetime) -> Received:
        if inbound.provider_message_id:
            dup = uow.messages.by_provider_id(inbound.channel, inbound.provider_message_id)
            if dup is not None:
                return Received(message_id=dup.id, conversation_id=dup.conversation_id, duplicate=True)
        proven_customer = proof.customer(uow) if proof is not None else None
        ident = attach_identity(uow, inbound.channel, inbound.channel_user_id, now, customer_id=proven_customer,
                                display_name=inbound.display_name, source=f"{inbound.channel}:proof")
        customer_id = ident.customer_id if ident.verified else None
        conv = uow.conversations.open_for(inbound.channel, inbound.channel_user_id)
        if conv is None:
            conv = Conversation(id=domain.new_id(), channel=inbound.channel, channel_user_id=inbound.channel_user_id,
                                status="bot", state={}, created_at=now, updated_at=now)
            uow.add(conv)
        conv.customer_id, conv.last_inbound_at, conv.updated_at = customer_id, now, now
        msg = Message(id=domain.new_id(), conversation_id=conv.id, direction="in", channel=inbound.channel,
                      provider_message_id=inbound.provider_message_id, author="customer", text=inbound.text,
                      payload=_inbound_payload(inbound), status="received", attempts=0,
                      created_at=now, updated_at=now)
        uow.add(msg)
        for i, m in enumerate(inbound.media):
            uow.add(MessageMedia(id=domain.new_id(), message_id=msg.id, position=i, content_type=m.content_type,
                                 url=m.url, filename=m.filename, data=m.data))
        return Received(message_id=msg.id, conversation_id=conv.id, customer_id=customer_id)

    def last_inbound_at(self, channel: str, channel_user_id: str) -> datetime | None:
        """When this person last wrote on this channel (WhatsApp's 24-hour customer-service window)."""
        with self.ctx.reader() as uow:
            conv = uow.conversations.open_for(channel, channel_user_id)
            return conv.last_inbound_at if conv is not None else None

    # -- process ---------------------------------------------------------------------------------

    def pending_inbound(self, limit: int = 100) -> list[str]:
        """Inbound messages to (re)process, oldest first: received, failed and due for a retry, or
        stuck in processing past the lease (their worker died)."""
        cfg = self.config
        with self.ctx.reader() as uow:  # a snapshot is enough: each claim re-checks atomically
            return uow.messages.pending_inbound(self.ctx.now(), cfg.processing_lease_s, cfg.inbound_max_attempts, limit)

    def process(self, message_id: str, engine: ConversationEngine) -> Processed:
        """Answer one inbound message exactly once with the engine, or route it to the person who owns
        the conversation (the bot stays silent). Engine errors leave it `failed`, retried later."""
        return self.answering.process(message_id, engine)

    def respond(self, message_id: str, text: str | None, *, ignore_opt_out: bool = False) -> Processed:
        """Settle a message the channel handled itself (STOP, HELP, `/start CODE`), replying `text`."""
        return self.answering.respond(message_id, text, ignore_opt_out=ignore_opt_out)


def _inbound_payload(inbound: InboundMessage) -> dict[str, object]:
    return {"display_name": inbound.display_name, "received_at": inbound.received_at.isoformat(),
            "media": [{"content_type": m.content_type, "url": m.url, "filename": m.filename} for m in inbound.media]}

