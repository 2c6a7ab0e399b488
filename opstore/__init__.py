"""The operational store: conversations, messages, identities, handoffs, the outbox, consent and audit.

SQLAlchemy 2 over SQLite (default, under the data dir) or PostgreSQL (production), schema managed by
Alembic migrations that run on start. Hold one `StoreService` per process:

    store = open_store(settings)                  # migrates, then serves
    got = store.receive(inbound)                  # persisted before anything else; dedupes retries
    store.process(got.message_id, engine)         # answers exactly once, or routes to a human
    store.outbox.deliver_due(sender)              # the worker does these two in a loop
"""

from __future__ import annotations

from opstore.context import StoreConfig, StoreContext
from opstore.ports import CustomerDirectory, OutboundSender
from opstore.schemas import DeliveryReport, OutboxItem, Processed, Received, StoreEvent
from opstore.service import StoreService
from skinsage.settings import Settings

__all__ = ["CustomerDirectory", "DeliveryReport", "OutboundSender", "OutboxItem", "Processed", "Received",
           "StoreConfig", "StoreEvent", "StoreService", "open_store"]


def open_store(settings: Settings, *, directory: CustomerDirectory | None = None, migrate: bool = True,
               url: str | None = None) -> StoreService:
    """The composition root's one call: engine, migrations, services. `store.close()` disposes."""
    from opstore.migrate import upgrade
    from opstore.sql import SqlDatabase

    db_url = url or settings.store_url
    if migrate:
        upgrade(db_url)
    db = SqlDatabase(db_url, sqlite_synchronous=settings.sqlite_synchronous)
    return StoreService(StoreContext(uow=db, config=StoreConfig.from_settings(settings)), directory, database=db)
