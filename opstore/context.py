"""What every use case of the store shares: the unit-of-work factory, tunables, clock and event bus."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import TypeVar

from pydantic import BaseModel

from assistant.types import utcnow
from opstore.errors import Conflict
from opstore.events import EventBus
from opstore.ports import UnitOfWork
from skinsage.settings import Settings

T = TypeVar("T")


class StoreConfig(BaseModel):
    processing_lease_s: float = 120.0
    inbound_max_attempts: int = 3
    outbox_max_attempts: int = 8
    outbox_backoff_base_s: float = 2.0
    outbox_backoff_max_s: float = 900.0
    link_code_ttl_s: int = 900
    history_turns: int = 20

    @classmethod
    def from_settings(cls, settings: Settings) -> StoreConfig:
        return cls.model_validate({k: getattr(settings, k) for k in cls.model_fields})


@dataclass
class StoreContext:
    uow: Callable[[], UnitOfWork]
    config: StoreConfig = field(default_factory=StoreConfig)
    clock: Callable[[], datetime] = utcnow
    events: EventBus = field(default_factory=EventBus)

    def now(self) -> datetime:
        return self.clock()

    def reader(self) -> UnitOfWork:
        """A unit of work for a use case that only reads. On SQLite it takes no write lock (the
        writers' `BEGIN IMMEDIATE` is what serialises them); a factory without `reader` (a fake)
        hands out its ordinary unit of work."""
        make: Callable[[], UnitOfWork] | None = getattr(self.uow, "reader", None)
        return make() if make is not None else self.uow()

    def retrying(self, use_case: Callable[[], T], attempts: int = 3) -> T:
        """Re-run a whole use case when a concurrent writer won a uniqueness race: the re-run reads
        what the winner wrote (the duplicate message, the conversation it opened) and acts on that."""
        for n in range(attempts):
            try:
                return use_case()
            except Conflict:
                if n == attempts - 1:
                    raise
        raise AssertionError("unreachable")
