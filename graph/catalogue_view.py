"""The catalogue in memory, per graph version: what a recommendation reads, without a query per request.

Why: at 10x demo scale `products_for_profile` spent most of a recommendation in the embedded graph
(ranking HELPS_WITH edges, then a second query for every candidate's label). The catalogue is small
(thousands of products) and changes rarely (a catalogue import, a stock webhook), so each Cypher
backend keeps one snapshot of it, built from four bulk reads, and answers the catalogue questions
(`products_for_profile`, `ingredient_safety`, `products_by_sku`, `routine_conflicts`) from it with the
same semantics as the Cypher statements in `graph.cypher` (the contract suite compares the two). It
also remembers the ingredient and concern views asked of that graph version (`remember`).

Freshness: a write through this process's store that touches catalogue labels drops the snapshot at
once (the next read rebuilds it), so a stock change is seen by the next recommendation. Writes by
other processes (another API replica on Neo4j) are picked up within `ttl_s`: an expired snapshot is
still served while one background thread rebuilds it, so no request pays for the rebuild.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from graph.model import PREGNANCY_EXCLUDED
from graph.views import ProfileQuery

log = logging.getLogger("skinsage.graph")
T = TypeVar("T")

#: Labels and relationship types whose change makes a snapshot stale (customers and orders do not): what
#: the snapshot holds, and what the ingredient and concern views it remembers read (`CatalogueView.remember`).
CATALOGUE_LABELS = frozenset({"Product", "Ingredient", "Concern", "SkinType", "CONTAINS", "HELPS_WITH",
                              "CONFLICTS_WITH", "WORKS_WELL_WITH", "ADDRESSES", "MAY_AGGRAVATE", "SUITS",
                              "CAUTION_FOR"})
_MISSING = object()

# The bulk reads a snapshot is built from (values as $parameters, none needed).
VIEW_PRODUCTS = "MATCH (p:Product) RETURN p AS node"
VIEW_CONTAINS = """
MATCH (p:Product)-[c:CONTAINS]->(i:Ingredient)
RETURN p.sku AS sku, i.id AS id, i.pregnancy AS pregnancy, c.is_key AS is_key
"""
VIEW_HELPS = """
MATCH (p:Product)-[h:HELPS_WITH]->(k:Concern)
RETURN p.sku AS sku, k.id AS concern, k.name AS concern_name, h.score AS score, h.ingredient AS ingredient,
       h.ingredient_name AS ingredient_name, h.position AS position, h.evidence AS evidence
"""
VIEW_CONFLICTS = """
MATCH (i1:Ingredient)-[x:CONFLICTS_WITH]->(i2:Ingredient)
RETURN i1.id AS a, i2.id AS b, x.kind AS kind, x.severity AS severity, x.reason AS reason, x.advice AS advice
"""

_ROW_FIELDS = ("sku", "name", "brand", "category", "price", "stock_on_hand", "url", "image", "skin_types")


@dataclass
class CatalogueView:
    """One immutable snapshot. Rows come out in the shape the Cypher statements return them."""

    #: sku -> the product node's properties
    products: dict[str, dict[str, Any]] = field(default_factory=dict)
    #: sku -> every ingredient on the label -> pregnancy rating ("unknown" when unrated)
    labels: dict[str, dict[str, str]] = field(default_factory=dict)
    #: sku -> key ingredients (CONTAINS.is_key), in label order of arrival
    key: dict[str, list[str]] = field(default_factory=dict)
    #: concern -> [(sku, HELPS_WITH link row incl. score)]
    helps: dict[str, list[tuple[str, dict[str, Any]]]] = field(default_factory=dict)
    #: ingredient -> [(other ingredient, interaction props)], both directions of every CONFLICTS_WITH
    conflicts: dict[str, list[tuple[str, dict[str, Any]]]] = field(default_factory=dict)
    built_s: float = 0.0
    #: views computed from the same graph version (`remember`)
    _memo: dict[tuple[Any, ...], Any] = field(default_factory=dict, repr=False, compare=False)

    def remember(self, key: tuple[Any, ...], compute: Callable[[], T]) -> T:
        """`compute()`, kept with this snapshot: an ingredient's or concern's whole view costs two
        graph queries (~5 ms embedded) and is asked on most knowledge turns, yet changes only when
        the catalogue does, which drops the snapshot and everything it remembers. Keys are ids the
        graph has (an unknown id raises before anything is kept), so the memo is bounded by the
        catalogue. Values are shared: callers only read them."""
        hit = self._memo.get(key, _MISSING)
        if hit is _MISSING:
            hit = self._memo[key] = compute()
        return hit  # type: ignore[no-any-return]

    @classmethod
    def build(cls, read: Callable[[str], list[dict[str, Any]]]) -> CatalogueView:
        started = time.perf_counter()
        v = cls()
        for r in read(VIEW_PRODUCTS):
            v.products[str(r["node"]["sku"])] = dict(r["node"])
        for r in read(VIEW_CONTAINS):
            v.labels.setdefault(r["sku"], {})[r["id"]] = r["pregnancy"] or "unknown"
            if r["is_key"]:
                v.key.setdefault(r["sku"], []).append(r["id"])
        for r in read(VIEW_HELPS):
            link = {k: r[k] for k in ("ingredient", "ingredient_name", "position", "concern", "concern_name",
                                      "evidence")}
            v.helps.setdefault(r["concern"], []).append((r["sku"], {**link, "score": r["score"]}))
        for r in read(VIEW_CONFLICTS):
            props = {k: r[k] for k in ("kind", "severity", "reason", "advice")}
            v.conflicts.setdefault(r["a"], []).append((r["b"], props))
            v.conflicts.setdefault(r["b"], []).append((r["a"], props))
        v.built_s = time.perf_counter() - started
        return v

    # --- products_for_profile -------------------------------------------------------------------
    def _shop_ok(self, p: dict[str, Any], sku: str, q: ProfileQuery, contains: set[str]) -> bool:
        """`cypher._SHOP_FILTERS`: stock, price, category, contains-any."""
        if not q.include_out_of_stock and not (p.get("stock_on_hand") or 0) > 0:
            return False
        price = p.get("price")
        if price is None or (q.max_price is not None and price > float(q.max_price)):
            return False
        if q.category and p.get("category") != q.category:
            return False
        return not contains or not contains.isdisjoint(self.labels.get(sku, {}))

    def ranked_rows(self, q: ProfileQuery) -> list[dict[str, Any]]:
        """Every candidate passing the shop filters, in the order `PRODUCTS_FOR_CONCERNS` /
        `PRODUCTS_FOR_SKIN_TYPE` rank them (a total order, so any prefix equals the Cypher LIMIT)."""
        contains = set(q.contains)
        skin = q.skin_type or ""
        out: list[dict[str, Any]] = []
        if q.concerns:
            acc: dict[str, tuple[float, list[dict[str, Any]]]] = {}
            for concern in dict.fromkeys(q.concerns):
                for sku, link in self.helps.get(concern, ()):
                    p = self.products.get(sku)
                    if p is None or not self._shop_ok(p, sku, q, contains):
                        continue
                    total, links = acc.get(sku, (0.0, []))
                    links.append({k: v for k, v in link.items() if k != "score"})
                    acc[sku] = (total + float(link["score"] or 0.0), links)
            for sku, (total, links) in acc.items():
                p = self.products[sku]
                fit = 1.0 if skin and skin in (p.get("skin_types") or []) else 0.0
                out.append({**{k: p.get(k) for k in _ROW_FIELDS}, "score": total + fit, "links": links})
            out.sort(key=lambda r: (-r["score"], r["sku"]))
            return out
        for sku, p in self.products.items():
            if skin and skin not in (p.get("skin_types") or []):
                continue
            if not self._shop_ok(p, sku, q, contains):
                continue
            out.append({**{k: p.get(k) for k in _ROW_FIELDS}, "score": 1.0 if skin else 0.0})
        out.sort(key=lambda r: (-r["score"], -(r["stock_on_hand"] or 0), r["sku"]))
        return out

    def profile_rows(self, q: ProfileQuery) -> list[dict[str, Any]]:
        """The first `q.limit` ranked candidates that pass the hard exclusions: what the store's
        widening loop over the Cypher statements returns (unknown labels pass, as there)."""
        avoid = set(q.avoid)
        excluded = set(PREGNANCY_EXCLUDED) if q.pregnant_or_breastfeeding else set()
        out = []
        for r in self.ranked_rows(q):
            label = self.labels.get(r["sku"], {})
            if (avoid or excluded) and any(i in avoid or rating in excluded for i, rating in label.items()):
                continue
            out.append(r)
            if len(out) >= q.limit:
                break
        return out

    # --- the other catalogue questions ----------------------------------------------------------
    def ingredient_safety(self, skus: Iterable[str]) -> dict[str, dict[str, str]]:
        return {s: dict(self.labels[s]) for s in dict.fromkeys(skus) if s in self.labels}

    def product_nodes(self, skus: Iterable[str]) -> list[dict[str, Any]]:
        return [self.products[s] for s in dict.fromkeys(skus) if s in self.products]

    def conflict_rows(self, skus: list[str]) -> list[dict[str, Any]]:
        """`cypher.ROUTINE_CONFLICTS`: key actives of two different products joined by CONFLICTS_WITH."""
        wanted = [s for s in dict.fromkeys(skus) if s in self.products]
        out = []
        for a in sorted(wanted):
            for b in sorted(wanted):
                if not a < b:
                    continue
                key_b = set(self.key.get(b, ()))
                for ia in self.key.get(a, ()):
                    for ib, x in self.conflicts.get(ia, ()):
                        if ib in key_b:
                            out.append({"product_a": a, "ingredient_a": ia, "product_b": b, "ingredient_b": ib, **x})
        return out


def node_props(node: dict[str, Any]) -> dict[str, Any]:
    """A copy callers may change without touching the snapshot (lists copied too)."""
    return {k: list(v) if isinstance(v, list) else v for k, v in node.items()}


class CatalogueCache:
    """Holds the current snapshot for one store: rebuilt after an in-process catalogue write
    (`invalidate`), refreshed in the background once older than `ttl_s` (other writers)."""

    def __init__(self, read: Callable[[str], list[dict[str, Any]]], ttl_s: float | None = 300.0,
                 stopped: Callable[[], bool] = lambda: False) -> None:
        self._read = read
        self.stopped = stopped
        self.ttl_s = ttl_s
        self._view: CatalogueView | None = None
        self._at = 0.0
        self._version = 0
        self._lock = threading.Lock()
        self._refreshing = False

    def invalidate(self, changes: dict[str, dict[str, int]] | None = None) -> None:
        """Drop the snapshot when `changes` (a load report's) touched the catalogue, or always when
        they are unknown (reset)."""
        if changes is not None and not any(
                label in CATALOGUE_LABELS and any(n for k, n in c.items() if k != "unchanged")
                for label, c in changes.items()):
            return
        with self._lock:
            self._version += 1
            self._view = None

    def get(self) -> CatalogueView:
        view = self._view
        if view is not None:
            if self.ttl_s is not None and time.monotonic() - self._at > self.ttl_s and not self._refreshing:
                self._refreshing = True
                threading.Thread(target=self._refresh, name="catalogue-view-refresh", daemon=True).start()
            return view
        with self._lock:   # an invalidation waits for this build and then drops it: never stale
            if self._view is None:
                built = CatalogueView.build(self._read)
                self._view, self._at = built, time.monotonic()
                log.info("catalogue view built: %d products in %.0f ms", len(built.products), built.built_s * 1000)
                return built
            return self._view

    def _refresh(self) -> None:
        try:
            version = self._version
            view = CatalogueView.build(self._read)
            with self._lock:
                if version == self._version:    # a write meanwhile: the next read rebuilds instead
                    self._view, self._at = view, time.monotonic()
        except Exception:   # the graph is down: keep serving the last snapshot, retry after the TTL
            if self.stopped():
                log.debug("catalogue view refresh stopped: the graph was closed")
            else:
                log.exception("catalogue view refresh failed")
            self._at = time.monotonic()
        finally:
            self._refreshing = False
