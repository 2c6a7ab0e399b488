"""Group commit: many callers, one transaction, one commit (one fsync) for all of them.

Every acknowledged webhook needs its message durable before the HTTP 200, and on SQLite each commit
is an fsync under the one write lock, so concurrent `receive` calls used to queue up for one fsync
each. Here each caller hands in its item and blocks; whoever finds the commit lock free (the leader)
takes every item waiting at that moment and runs them in one transaction; the others find their
item settled when they get the lock. A caller still returns only after the transaction holding its
item committed (or with the error that stopped it), so "acknowledged = durable" holds unchanged.
Under no load a batch is the caller's own item alone: no added latency, no timer.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from typing import Generic, TypeVar

I = TypeVar("I")
R = TypeVar("R")


class Slot(Generic[I, R]):
    """One caller's item and, once its batch is done, its outcome (a result or an exception)."""

    __slots__ = ("done", "error", "item", "result")

    def __init__(self, item: I) -> None:
        self.item = item
        self.done = False
        self.result: R | None = None
        self.error: BaseException | None = None

    def settle(self, result: R | None = None, error: BaseException | None = None) -> None:
        self.result, self.error, self.done = result, error, True


class GroupCommit(Generic[I, R]):
    """`run_batch(slots)` must settle every slot it is given (result or error) and commit once."""

    def __init__(self, run_batch: Callable[[Sequence[Slot[I, R]]], None], *, max_batch: int = 64) -> None:
        if max_batch < 1:
            raise ValueError("max_batch must be at least 1")
        self._run_batch = run_batch
        self.max_batch = max_batch
        self._leader = threading.Lock()    # held while one batch runs
        self._queue_lock = threading.Lock()
        self._queue: list[Slot[I, R]] = []
        self.batches = 0                   # for benches and tests: how many transactions ran
        self.items = 0

    def submit(self, item: I) -> R:
        slot: Slot[I, R] = Slot(item)
        with self._queue_lock:
            self._queue.append(slot)
        while True:
            with self._leader:
                if not slot.done:  # nobody took it yet: lead a batch (ours may be in a later one)
                    with self._queue_lock:
                        batch, self._queue = self._queue[:self.max_batch], self._queue[self.max_batch:]
                    self._lead(batch)
                if slot.done:
                    break
        if slot.error is not None:
            raise slot.error
        return slot.result  # type: ignore[return-value]  # settled with a result

    def _lead(self, batch: list[Slot[I, R]]) -> None:
        if not batch:
            return
        try:
            self._run_batch(batch)
        except BaseException as e:  # the transaction failed as a whole: nobody in it is committed
            for s in batch:
                if not s.done or s.error is None:
                    s.settle(error=e)
            if not isinstance(e, Exception):
                raise
        finally:
            for s in batch:  # a run_batch that forgot a slot must not leave its caller waiting forever
                if not s.done:
                    s.settle(error=RuntimeError("group commit left an item unsettled"))
            self.batches += 1
            self.items += len(batch)
