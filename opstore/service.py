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
from opstore.intake import inbound_payload, receive_many
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
        # Concurrent receives share one transaction (group commit). SQLite has one writer anyway, so
        # they would queue for its lock: N commits (fsyncs) become one. On PostgreSQL a group costs a
        # constant number of round trips (`opstore.intake`: one lookup per question, one executemany
        # per table), so one leader doing the whole group beat a transaction per call once receive
        # became set-based (in-process, 32 callers, busy machine: 0.98-1.25 vs 2.2-3.0 ms CPU per
        # message in this process, 324-575 vs 311-352 received/s; over HTTP see opstore/README.md).
        self._receiver: GroupCommit[_Delivery, Received] = GroupCommit(self._receive_batch, max_batch=64)

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
        got = self._receiver.submit((inbound, proof))
        if not got.duplicate:
            self.events.publish(StoreEvent(kind="inbound", conversation_id=got.conversation_id,
                                           message_id=got.message_id))
        return got

    def _receive_batch(self, slots: Sequence[Slot[_Delivery, Received]]) -> None:
        """Every waiting delivery in one transaction, set-based (`opstore.intake.receive_many`: each
        lookup once for the whole group, one executemany per table, rows written in unique-key order
        so two processes' batches take PostgreSQL's locks in the same order and cannot deadlock).

        First without savepoints (the common case costs no extra statements); if any delivery fails
        (a uniqueness race lost to another process, which SQLite's write lock rules out, or a bad
        delivery), nothing of that attempt is kept and the batch runs again with a savepoint per
        delivery, so only the failing one is affected."""
        ordered = sorted(slots, key=lambda s: (s.item[0].channel, s.item[0].channel_user_id))
        try:
            with self.ctx.uow() as uow:
                results = self._receive_group(uow, [s.item for s in ordered])
                uow.commit()
        except StoreUnavailable:
            raise  # the connection is gone: the whole batch fails (nobody is acknowledged)
        except Exception:  # noqa: BLE001 - rolled back; isolate it below
            self._receive_isolated(ordered)
            return
        for slot, result in zip(ordered, results, strict=True):
            slot.settle(result)

    def _receive_isolated(self, ordered: Sequence[Slot[_Delivery, Received]]) -> None:
        """Each delivery in a savepoint of its own: a lost uniqueness race re-runs just that one (it
        then reads the winner's row); any other failure settles just that one with its error."""
        with self.ctx.uow() as uow:
            done: list[tuple[Slot[_Delivery, Received], Received]] = []
            for slot in ordered:
                for attempt in range(3):
                    try:
                        with uow.savepoint():
                            got = self._receive_group(uow, [slot.item])[0]
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

    def _receive_group(self, uow: UnitOfWork, deliveries: list[_Delivery]) -> list[Received]:
        """The SQL adapter: a constant number of statements per group (`opstore.intake`), also for the
        one-delivery groups of the isolated re-run, so real databases have one receive path. Any
        other unit of work (the in-memory fakes of unit tests): the repositories, one by one."""
        session = getattr(uow, "session", None)
        if session is not None:
            return receive_many(session.connection(), deliveries, self.ctx.now)
        return [self._receive(uow, inbound, proof, self.ctx.now()) for inbound, proof in deliveries]

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
                      payload=inbound_payload(inbound), status="received", attempts=0,
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

