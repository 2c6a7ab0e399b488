"""Hand-written fakes for tests and benchmarks of the pipeline (no mocks, no network)."""

from __future__ import annotations

import itertools
import threading
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

from assistant.types import Citation, Reply, ToolCall, Turn
from opstore.context import StoreConfig, StoreContext
from opstore.service import StoreService

T = TypeVar("T")


class Clock:
    """A settable clock, so leases, backoff and expiry are tested without sleeping."""

    def __init__(self, start: datetime | None = None) -> None:
        self.now = start or datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
        self._lock = threading.Lock()

    def __call__(self) -> datetime:
        with self._lock:
            return self.now

    def advance(self, seconds: float) -> None:
        with self._lock:
            self.now += timedelta(seconds=seconds)


class EchoEngine:
    """Answers `echo: <text>`, counts turns in its slot memory, asks for a person on 'human'."""

    def __init__(self, fail_first: int = 0) -> None:
        self.turns: list[Turn] = []
        self.fail_first = fail_first
        self._lock = threading.Lock()

    def handle(self, turn: Turn) -> Reply:
        with self._lock:
            self.turns.append(turn)
            if self.fail_first > 0:
                self.fail_first -= 1
                raise RuntimeError("engine exploded")
        wants_human = "human" in turn.text.lower()
        return Reply(text=f"echo: {turn.text}", state={"turns": int(turn.state.get("turns", 0)) + 1},
                     handoff=wants_human, handoff_reason="customer asked for a person" if wants_human else None,
                     quick_replies=["Thanks"], tools=[ToolCall(name="echo", args={"text": turn.text})],
                     citations=[Citation(kind="document", label="FAQ")])


class RecordingSender:
    """Collects sends (thread-safe); fails the first `fail_first` calls when asked to."""

    def __init__(self, fail_first: int = 0) -> None:
        self.sent: list[tuple[str, str, dict[str, Any]]] = []
        self.fail_first = fail_first
        self._ids = itertools.count(1)
        self._lock = threading.Lock()

    def send(self, channel: str, recipient: str, payload: dict[str, Any]) -> str:
        with self._lock:
            if self.fail_first > 0:
                self.fail_first -= 1
                raise ConnectionError("provider unreachable")
            self.sent.append((channel, recipient, payload))
            return f"P{next(self._ids)}"


class Directory:
    """A `CustomerDirectory` from a dict (`{"phone:+49...": "cus-ana"}`)."""

    def __init__(self, known: dict[str, str]) -> None:
        self.known = known

    def customer_by_identity(self, identity: str) -> str | None:
        return self.known.get(identity)


def at_once(fn: Callable[[int], T], n: int) -> list[T | BaseException]:
    """Call fn(0) .. fn(n-1) on n threads released together (a race, on purpose). Results, or what
    each call raised, in index order."""
    barrier = threading.Barrier(n)
    out: list[T | BaseException | None] = [None] * n

    def run(i: int) -> None:
        barrier.wait()
        try:
            out[i] = fn(i)
        except BaseException as e:  # noqa: BLE001 - returned to the test, which asserts on it
            out[i] = e

    threads = [threading.Thread(target=run, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return out  # type: ignore[return-value]  # every slot is filled by now


def make_store(url: str, *, clock: Clock | None = None, config: StoreConfig | None = None,
               directory: Directory | None = None, sqlite_synchronous: str = "full") -> StoreService:
    """A store over an already-migrated database (a new one per call = a restarted process)."""
    from opstore.sql import SqlDatabase

    db = SqlDatabase(url, pool_size=8, sqlite_synchronous=sqlite_synchronous)
    ctx = StoreContext(uow=db, config=config or StoreConfig())
    if clock is not None:
        ctx.clock = clock
    return StoreService(ctx, directory, database=db)
