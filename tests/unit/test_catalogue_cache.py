"""When the catalogue snapshot is rebuilt: after catalogue writes (not customer writes), in the
background after its TTL, and never from a refresh that a write overtook."""

from __future__ import annotations

import threading
import time
from typing import Any

from graph.catalogue_view import VIEW_PRODUCTS, CatalogueCache


class FakeGraph:
    """Answers the snapshot's bulk reads; `gate` holds a read until released (a slow refresh)."""

    def __init__(self) -> None:
        self.stock = 5
        self.reads = 0
        self.gate: threading.Event | None = None

    def read(self, query: str, params: dict[str, Any] | None = None) -> list[dict[str, Any]]:
        if query == VIEW_PRODUCTS:
            self.reads += 1
            stock = self.stock
            if self.gate is not None:
                self.gate.wait(5)
            return [{"node": {"sku": "A", "name": "A", "price": 10.0, "stock_on_hand": stock, "category": "serum",
                              "skin_types": []}}]
        return []


def stock(cache: CatalogueCache) -> int:
    return int(cache.get().products["A"]["stock_on_hand"])


def wait_for(check: Any) -> bool:
    for _ in range(500):
        if check():
            return True
        time.sleep(0.01)
    return False


def test_only_catalogue_changes_drop_the_snapshot() -> None:
    g = FakeGraph()
    cache = CatalogueCache(g.read, ttl_s=None)
    assert stock(cache) == 5 and stock(cache) == 5 and g.reads == 1
    g.stock = 0
    cache.invalidate({"Customer": {"created": 0, "updated": 1, "unchanged": 0}, "AVOIDS": {"created": 2}})
    assert stock(cache) == 5 and g.reads == 1
    cache.invalidate({"Product": {"created": 0, "updated": 0, "unchanged": 40}})   # nothing written
    assert stock(cache) == 5
    cache.invalidate({"Product": {"created": 0, "updated": 1, "unchanged": 39}})
    assert stock(cache) == 0 and g.reads == 2
    g.stock = 7
    cache.invalidate()   # unknown changes (a reset): always
    assert stock(cache) == 7


def test_an_expired_snapshot_is_served_while_it_refreshes_in_the_background() -> None:
    g = FakeGraph()
    cache = CatalogueCache(g.read, ttl_s=0.01)
    assert stock(cache) == 5
    g.stock, g.gate = 9, threading.Event()
    time.sleep(0.02)
    assert stock(cache) == 5           # stale but instant: the rebuild waits on the (slow) graph
    assert wait_for(lambda: g.reads == 2)
    g.gate.set()
    assert wait_for(lambda: stock(cache) == 9)


def test_a_refresh_that_a_write_overtook_is_thrown_away() -> None:
    g = FakeGraph()
    cache = CatalogueCache(g.read, ttl_s=0.01)
    assert stock(cache) == 5
    g.gate = threading.Event()
    time.sleep(0.02)
    cache.get()                         # starts a background refresh that reads stock 5 ...
    assert wait_for(lambda: g.reads == 2)
    g.stock = 3                         # ... then a write lands and drops the snapshot
    cache.invalidate({"Product": {"updated": 1}})
    g.gate.set()
    time.sleep(0.05)
    g.gate = None
    assert stock(cache) == 3            # the refresh's stale 5 never became the snapshot
