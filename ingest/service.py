"""Apply drafts from any source to the graph through the `GraphStore` port's diff load.

Order of writes: new brands and unreviewed ingredients first, then the records that point at them,
so every relationship finds its ends. Each load is one transaction, and the diff load writes only
what changed: re-running a file writes nothing, a changed row touches only itself.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from functools import lru_cache
from pathlib import Path
from typing import Any

from graph.model import Customer, KnowledgeBundle, Order, OrderLine, Product
from graph.store import GraphStore
from ingest.catalog import Catalogue, ProductDraft
from ingest.knowledge import load_knowledge
from ingest.report import IngestReport
from ingest.shopify import CustomerDraft, OrderDraft
from skinsage.errors import InvalidInput, NotFound
from skinsage.settings import Settings

#: Concurrent identity lookups while ingesting orders.
LOOKUP_THREADS = 4


@lru_cache(maxsize=4)
def _knowledge(root: Path, _mtime: float) -> KnowledgeBundle:
    return load_knowledge(root)


def curated(settings: Settings) -> KnowledgeBundle:
    """The curated knowledge (cached until a file under it changes)."""
    root = settings.knowledge_dir
    stamp = max((f.stat().st_mtime for f in root.rglob("*.yaml")), default=0.0)
    return _knowledge(root, stamp)


def customer_id_for(email: str | None, phone: str | None) -> str:
    """A stable id for a shop customer the graph has not met: the same email always gives the same id."""
    key = email or phone or ""
    return "shop-" + hashlib.sha1(key.encode()).hexdigest()[:12]


class Ingestor:
    def __init__(self, graph: GraphStore, settings: Settings, knowledge: KnowledgeBundle | None = None) -> None:
        self.graph = graph
        self.settings = settings
        self.knowledge = knowledge or curated(settings)
        self._customers: dict[str, str | None] = {}
        self._skus: dict[str, bool] = {}

    def _load(self, bundle: KnowledgeBundle, report: IngestReport) -> None:
        report.add_load(self.graph.load(bundle, atomic=True, dry_run=report.dry_run,
                                        batch_size=self.settings.ingest_batch_size))

    # --- products ------------------------------------------------------------------------------
    def _require_knowledge(self) -> None:
        """Products point at curated ingredients, concerns and skin types: without them in the graph
        their relationships would have nothing to attach to, so refuse instead of half-loading."""
        have = self.graph.stats().counts.get("Ingredient", 0)
        if have < len(self.knowledge.ingredients):
            raise InvalidInput(f"the graph has {have} ingredients but the curated knowledge has "
                               f"{len(self.knowledge.ingredients)}: run `skinsage load` first")

    def products(self, drafts: Iterable[ProductDraft], report: IngestReport) -> list[Product]:
        self._require_knowledge()
        cat = Catalogue(self.knowledge, self.settings.ingest_default_brand)
        products: dict[str, Product] = {}
        for d in drafts:
            report.records += 1
            if d.sku in products:
                report.reject(report.file, d.line, f"SKU {d.sku!r} appears twice in this file; the second is skipped",
                              "Variant SKU")
                continue
            try:
                existing = self.graph.product(d.sku).product
            except NotFound:
                existing = None
            try:
                products[d.sku] = cat.product(d, existing)
            except ValueError as e:
                report.reject(report.file, d.line, f"product {d.sku!r}: {e}")
        report.ingredient_entries += cat.entries
        report.ingredient_resolved += cat.resolved
        report.count_unknown(cat.unknown)
        if cat.new_ingredients or cat.new_brands:
            self._load(KnowledgeBundle(ingredients=list(cat.new_ingredients.values()),
                                       brands=list(cat.new_brands.values())), report)
        if products:
            self._load(KnowledgeBundle(products=list(products.values())), report)
        return list(products.values())

    # --- customers -----------------------------------------------------------------------------
    def _known_customer(self, email: str | None, phone: str | None) -> str | None:
        for ident in ([f"email:{email}"] if email else []) + ([f"phone:{phone}"] if phone else []):
            if ident not in self._customers:
                self._customers[ident] = self.graph.customer_by_identity(ident)
            if self._customers[ident]:
                return self._customers[ident]
        return None

    def _prefetch(self, pairs: Iterable[tuple[str | None, str | None]]) -> None:
        """Look up every identity of a run up front, a few at a time: one round trip each on the
        port, so overlapping them is what makes a large re-run fast (Neo4j latency, embedded reads)."""
        wanted = {i for email, phone in pairs for i in ([f"email:{email}"] if email else []) + ([f"phone:{phone}"] if phone else [])}
        todo = sorted(wanted - self._customers.keys())
        if len(todo) < 50:
            return
        with ThreadPoolExecutor(max_workers=LOOKUP_THREADS) as pool:
            for ident, found in zip(todo, pool.map(self.graph.customer_by_identity, todo), strict=True):
                self._customers[ident] = found

    def _remember(self, c: Customer) -> None:
        for ident in c.identities:
            self._customers[ident] = c.id

    def customers(self, drafts: Iterable[CustomerDraft], report: IngestReport) -> list[Customer]:
        """Shop data updates name, contact details and marketing consent; a profile learned in
        conversation (skin type, concerns, avoidances, pregnancy) is kept as it is."""
        out: dict[str, Customer] = {}
        for d in drafts:
            report.records += 1
            cid = self._known_customer(d.email, d.phone)
            base: Customer | None = out.get(cid) if cid else None
            if cid and base is None:
                try:
                    base = self.graph.customer(cid, order_limit=0).customer
                except NotFound:
                    base = None
            cid = cid or customer_id_for(d.email, d.phone)
            idents = [*(base.identities if base else []),
                      *([f"email:{d.email}"] if d.email else []), *([f"phone:{d.phone}"] if d.phone else [])]
            consents = [c for c in (base.consents if base else []) if c not in ("email_marketing", "sms")]
            consents += [c for c, on in (("email_marketing", d.accepts_email), ("sms", d.accepts_sms))
                         if on or (on is None and base is not None and c in base.consents)]
            data: dict[str, Any] = base.model_dump() if base else {"id": cid}
            data.update(name=d.name or (base.name if base else cid), email=d.email or (base.email if base else None),
                        phone=d.phone or (base.phone if base else None),
                        identities=list(dict.fromkeys(idents)), consents=consents)
            customer = Customer.model_validate(data)
            out[cid] = customer
            self._remember(customer)
        if out:
            self._load(KnowledgeBundle(customers=list(out.values())), report)
        return list(out.values())

    # --- orders --------------------------------------------------------------------------------
    def _sku_known(self, sku: str) -> bool:
        if sku not in self._skus:
            try:
                self.graph.product(sku)
                self._skus[sku] = True
            except NotFound:
                self._skus[sku] = False
        return self._skus[sku]

    def _tracking(self, customer_id: str) -> dict[str, tuple[str | None, str | None]]:
        """Carrier and tracking of a customer's stored orders, by order id."""
        try:
            orders = self.graph.customer(customer_id, order_limit=100_000).orders
        except NotFound:
            return {}
        return {o.id: (o.carrier, o.tracking) for o in orders if o.carrier or o.tracking}

    def order_id(self, name: str) -> str:
        return f"{self.settings.shopify_order_prefix}{name.strip().lstrip('#').strip()}"

    def orders(self, drafts: Iterable[OrderDraft], report: IngestReport, *, keep_tracking: bool = False) -> list[Order]:
        """Orders whose every SKU is in the catalogue; a shop customer the graph has not met is
        created from the order's email and billing name. `keep_tracking` reads the stored order so a
        source without tracking (the CSV export) does not erase what a webhook wrote."""
        new_customers: dict[str, Customer] = {}
        orders: list[Order] = []
        drafts = list(drafts)
        self._prefetch((d.email, d.phone) for d in drafts)
        previous: dict[str, tuple[str | None, str | None]] = {}
        if keep_tracking:
            # only customers the graph already knew can have stored orders: read theirs, one read
            # per customer rather than per order, so a first import costs nothing extra
            known = {self._known_customer(d.email, d.phone) for d in drafts if d.carrier is None}
            known.discard(None)
            with ThreadPoolExecutor(max_workers=LOOKUP_THREADS) as pool:
                for found in pool.map(self._tracking, sorted(k for k in known if k)):
                    previous.update(found)
        for d in drafts:
            report.records += 1
            unknown = [sku for sku, _, _ in d.lines if not self._sku_known(sku)]
            if unknown:
                report.reject(report.file, d.line, f"order {d.name}: SKU {unknown[0]!r} is not in the catalogue "
                              "(load the products first); order not loaded", "Lineitem sku")
                continue
            cid = self._known_customer(d.email, d.phone)
            if cid is None:
                cid = customer_id_for(d.email, d.phone)
                c = Customer(id=cid, name=d.customer_name or (d.email or d.phone or cid).split("@")[0],
                             email=d.email, phone=d.phone,
                             identities=[*([f"email:{d.email}"] if d.email else []),
                                         *([f"phone:{d.phone}"] if d.phone else [])])
                new_customers[cid] = c
                self._remember(c)
            qty: dict[str, int] = {}
            price: dict[str, float] = {}
            for sku, q, p in d.lines:
                qty[sku] = qty.get(sku, 0) + q
                price.setdefault(sku, p)
            carrier, tracking = d.carrier, d.tracking
            oid = self.order_id(d.name)
            if carrier is None and oid in previous:
                carrier, tracking = previous[oid]
            orders.append(Order(id=oid, customer_id=cid, placed_at=d.placed_at, status=d.status,  # type: ignore[arg-type]
                                currency=d.currency, carrier=carrier, tracking=tracking,
                                lines=[OrderLine(sku=s, quantity=q, unit_price=price[s]) for s, q in qty.items()]))
        if new_customers:
            self._load(KnowledgeBundle(customers=list(new_customers.values())), report)
        if orders:
            self._load(KnowledgeBundle(orders=orders), report)
        return orders
