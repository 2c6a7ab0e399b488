"""The collaborative signal: what people buy, and what they buy together.

Item-kNN over customer-level co-purchase (cosine on binary customer x product incidence, top-k
neighbours per product), overall popularity and popularity within a segment (skin type). Fitted from
order history; a few thousand customers fit in well under a second, so the worker or the process can
refit it periodically. No I/O here.
"""

from __future__ import annotations

import logging
import math
import threading
import time
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from graph.model import Order
from graph.store import GraphStore

log = logging.getLogger("skinsage.commerce")

#: Orders that say nothing about taste.
IGNORED_STATUSES = frozenset({"cancelled", "returned"})


def histories(orders: Iterable[Order], before: object = None) -> dict[str, list[tuple[object, str]]]:
    """customer -> [(day, sku)] oldest first, from orders that count (optionally placed before a day)."""
    out: dict[str, list[tuple[object, str]]] = defaultdict(list)
    for o in orders:
        if o.status in IGNORED_STATUSES or (before is not None and o.placed_at >= before):  # type: ignore[operator]
            continue
        for line in o.lines:
            out[o.customer_id].append((o.placed_at, line.sku))
    for h in out.values():
        h.sort(key=lambda x: (x[0], x[1]))  # type: ignore[arg-type]
    return dict(out)


@dataclass
class PurchaseModel:
    popularity: Counter[str] = field(default_factory=Counter)
    segment_popularity: dict[str, Counter[str]] = field(default_factory=dict)
    #: concern -> what customers with that concern buy (customer similarity by profile)
    concern_popularity: dict[str, Counter[str]] = field(default_factory=dict)
    #: sku -> [(neighbour sku, cosine)] best first
    neighbours: dict[str, list[tuple[str, float]]] = field(default_factory=dict)
    customers: int = 0

    @classmethod
    def fit(cls, baskets: Mapping[str, Iterable[str]], segments: Mapping[str, str | None] | None = None,
            k: int = 30, concerns: Mapping[str, Iterable[str]] | None = None) -> PurchaseModel:
        """`baskets`: customer -> products they bought; `segments`: customer -> skin type;
        `concerns`: customer -> their skin concerns."""
        m = cls()
        co: dict[str, Counter[str]] = defaultdict(Counter)
        for cid, items in baskets.items():
            bought = sorted(set(items))
            if not bought:
                continue
            m.customers += 1
            m.popularity.update(bought)
            seg = (segments or {}).get(cid)
            if seg:
                m.segment_popularity.setdefault(seg, Counter()).update(bought)
            for concern in (concerns or {}).get(cid, ()):
                m.concern_popularity.setdefault(concern, Counter()).update(bought)
            for a in bought:
                for b in bought:
                    if a != b:
                        co[a][b] += 1
        for a, row in co.items():
            sims = [(b, n / math.sqrt(m.popularity[a] * m.popularity[b])) for b, n in row.items()]
            sims.sort(key=lambda x: (-x[1], x[0]))
            m.neighbours[a] = sims[:k]
        return m

    def knn(self, history: Iterable[str]) -> dict[str, tuple[float, str]]:
        """sku -> (summed similarity to what this customer bought, the bought product that weighs most)."""
        out: dict[str, tuple[float, str]] = {}
        best: dict[str, float] = {}
        for h in set(history):
            for sku, sim in self.neighbours.get(h, []):
                total = out.get(sku, (0.0, h))[0] + sim
                because = h if sim > best.get(sku, -1.0) else out[sku][1]
                best[sku] = max(best.get(sku, -1.0), sim)
                out[sku] = (total, because)
        return out

    def profile_popularity(self, concerns: Iterable[str]) -> dict[str, float]:
        """What customers who share these concerns bought, each concern's share counted once."""
        out: dict[str, float] = defaultdict(float)
        for c in concerns:
            counts = self.concern_popularity.get(c)
            if counts:
                total = sum(counts.values())
                for sku, n in counts.items():
                    out[sku] += n / total
        return out

    def popular(self, segment: str | None = None) -> Counter[str]:
        return self.segment_popularity.get(segment or "", Counter()) if segment else self.popularity


def fit_from_graph(graph: GraphStore, order_limit: int = 200) -> PurchaseModel:
    """Fit from every customer's orders in the graph (one query per customer: run it at start-up or in
    the worker, not per request)."""
    baskets: dict[str, list[str]] = {}
    segments: dict[str, str | None] = {}
    concerns: dict[str, list[str]] = {}
    for cid in graph.customer_ids():
        profile = graph.customer(cid, order_limit=order_limit)
        baskets[cid] = [line.sku for o in profile.orders if o.status not in IGNORED_STATUSES for line in o.lines]
        segments[cid], concerns[cid] = profile.customer.skin_type, list(profile.customer.concerns)
    return PurchaseModel.fit(baskets, segments, concerns=concerns)


class FittedPurchases:
    """The purchase model the chat recommender reads: fitted from the graph on first use (or by a
    warm-up thread at start-up) and refitted once it is older than `ttl_s`, so new orders count
    without a fit per request. A failed fit leaves recommendations on content and stock alone.

    `stock` (a `commerce.stock_outlook.FittedStockOutlook`) travels with it: the other background-fitted
    signal the recommender reads, so the chat tools reach both through one context field."""

    def __init__(self, graph: GraphStore, ttl_s: float = 3600.0, stock: Any = None) -> None:
        self._graph, self._ttl = graph, ttl_s
        self.stock = stock
        self._model: PurchaseModel | None = None
        self._at = 0.0
        self._lock = threading.Lock()

    def get(self) -> PurchaseModel | None:
        if self._model is not None and time.monotonic() - self._at < self._ttl:
            return self._model
        with self._lock:
            if self._model is None or time.monotonic() - self._at >= self._ttl:
                try:
                    self._model, self._at = fit_from_graph(self._graph), time.monotonic()
                except Exception:  # the graph is down: keep the last model, recommend without history
                    if getattr(self._graph, "closed", False):
                        log.debug("purchase model fit stopped: the graph was closed")
                    else:
                        log.exception("purchase model fit failed")
                    self._at = time.monotonic()
        return self._model

    def warm(self) -> None:
        """Fit in the background now, so the first customer does not wait for it."""
        threading.Thread(target=self.get, name="purchase-model-fit", daemon=True).start()
        if self.stock is not None:
            self.stock.warm()
