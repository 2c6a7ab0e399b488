"""The GraphStore questions answered in Cypher, once, for every Cypher backend.

Adapters supply `_read` (rows as plain dicts, nodes as property dicts) and `_write` (statements in
one transaction or in batches); everything else is here, so Neo4j and the embedded graph cannot drift.
"""

from __future__ import annotations

import json
import threading
import time
from datetime import date
from abc import abstractmethod
from collections.abc import Iterable
from typing import Any

from graph import cypher
from graph.facts import (
    GraphFact,
    concern_fact,
    concern_link_fact,
    ingredient_fact,
    interaction_fact,
    product_fact,
)
from graph.model import PREGNANCY_EXCLUDED, Avoidance, Concern, Customer, Ingredient, KnowledgeBundle, Order, Product
from graph.resolver import Resolver, match_products
from graph import rows
from graph.catalogue_view import CatalogueCache, CatalogueView, node_props
from graph.rows import Statement
from graph.store import GraphStore, LoadReport
from graph.views import (
    ConcernDetail,
    CustomerProfile,
    EntityKind,
    EntityMatch,
    GraphPath,
    GraphStats,
    IngredientDetail,
    InteractionView,
    OrderView,
    PathStep,
    ProductDetail,
    ProductIngredient,
    ProductMatch,
    ProfileQuery,
    RankedIngredient,
    RoutineConflict,
)
from skinsage.errors import InvalidInput, NotFound

_NO_PRICE_LIMIT = 1e12


def _model_fields(model: type, props: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in props.items() if k in model.model_fields and v is not None}  # type: ignore[attr-defined]


class CypherGraphStore(GraphStore):
    #: True where the backend types UNWIND rows from their values and needs explicit casts.
    cast_rows: bool = False
    #: Keep the in-memory catalogue snapshot unless told otherwise (graph.catalogue_view).
    catalogue_by_default: bool = True

    def __init__(self) -> None:
        self._resolver: Resolver | None = None
        self._resolver_lock = threading.Lock()
        #: the in-memory catalogue snapshot (graph.catalogue_view); None answers every question in Cypher
        self.catalogue: CatalogueCache | None = self.new_catalogue() if self.catalogue_by_default else None

    def new_catalogue(self) -> CatalogueCache:
        """A snapshot cache over this store's reads, quiet once the store is closed."""
        return CatalogueCache(self._read, stopped=lambda: self.closed)

    def _catalogue(self) -> CatalogueView | None:
        return self.catalogue.get() if self.catalogue is not None else None

    # --- adapter hooks -------------------------------------------------------------------------
    @abstractmethod
    def _read(self, query: str, params: dict[str, Any] | None = None) -> list[dict[str, Any]]: ...

    @abstractmethod
    def _write(self, batches: Iterable[Statement], atomic: bool) -> None: ...

    # --- lifecycle -----------------------------------------------------------------------------
    def ping(self) -> None:
        self._read("RETURN 1 AS ok")

    def stats(self) -> GraphStats:
        return GraphStats(counts={label: int(self._read(cypher.count_nodes(label))[0]["n"])
                                  for label in cypher.NODES})

    def load(self, bundle: KnowledgeBundle, *, atomic: bool = True, batch_size: int = 5000,
             dry_run: bool = False) -> LoadReport:
        """Read what is there, write only the difference (in one transaction when `atomic`)."""
        started = time.perf_counter()
        links = self._read(cypher.CONCERN_LINKS) if bundle.products and not bundle.ingredients else None
        plan = rows.plan(bundle, links)
        stmts: list[Statement] = []
        changes: dict[str, dict[str, int]] = {}
        for label, node_rows in plan.nodes:
            if not node_rows:
                continue
            key = cypher.NODES[label][0]
            existing: dict[str, dict[str, Any]] = {}
            for chunk in rows.chunks(sorted({r[key] for r in node_rows}), batch_size):
                for r in self._read(cypher.fetch_nodes(label), {"keys": chunk}):
                    existing[r["node"][key]] = r["node"]
            d = rows.diff_nodes(label, node_rows, existing)
            stmts += [(cypher.create_nodes(label, self.cast_rows), c) for c in rows.chunks(d.create, batch_size)]
            stmts += [(cypher.update_nodes(label, self.cast_rows), c) for c in rows.chunks(d.update, batch_size)]
            changes[label] = {"created": len(d.create), "updated": len(d.update), "unchanged": d.unchanged}
        for rel in cypher.RELS:
            edges = rows.rel_rows(rel.type, plan)
            owned = plan.owned.get(rel.type, set())
            if not edges and not owned:
                continue
            have: list[dict[str, Any]] = []
            for chunk in rows.chunks(sorted(owned | {e["src"] for e in edges}), batch_size):
                have += self._read(cypher.fetch_rels(rel.type), {"keys": chunk})
            d = rows.diff_rels(rel.type, edges, have, owned)
            stmts += [(cypher.delete_rels(rel.type), c) for c in rows.chunks(d.delete, batch_size)]
            stmts += [(cypher.create_rels(rel.type, self.cast_rows), c) for c in rows.chunks(d.create, batch_size)]
            stmts += [(cypher.update_rels(rel.type, self.cast_rows), c) for c in rows.chunks(d.update, batch_size)]
            changes[rel.type] = {"created": len(d.create), "updated": len(d.update), "deleted": len(d.delete),
                                 "unchanged": d.unchanged}
        if not dry_run:
            self._write(stmts, atomic)
            self._resolver = None
            if self.catalogue is not None:
                self.catalogue.invalidate(changes)
        counts = {"skin_types": len(bundle.skin_types), "concerns": len(bundle.concerns),
                  "ingredients": len(bundle.ingredients), "interactions": len(bundle.interactions),
                  "brands": len(bundle.brands), "products": len(bundle.products),
                  "customers": len(bundle.customers), "orders": len(bundle.orders)}
        return LoadReport(rows=counts, changes=changes, statements=len(stmts), dry_run=dry_run,
                          seconds=round(time.perf_counter() - started, 3))

    def reset(self) -> None:
        """Delete the whole graph. Irreversible; the CLI asks for confirmation."""
        self._write([(cypher.DELETE_ALL, [{}])], atomic=True)
        self._resolver = None
        if self.catalogue is not None:
            self.catalogue.invalidate()

    # --- resolve -------------------------------------------------------------------------------
    def resolver(self) -> Resolver:
        with self._resolver_lock:
            if self._resolver is None:
                rows: list[tuple[EntityKind, str, str, list[str]]] = []
                for kind, query in cypher.ALIASES.items():
                    for r in self._read(query):
                        rows.append((kind, r["id"], r["name"], [a for a in r["aliases"] or [] if a]))  # type: ignore[arg-type]
                self._resolver = Resolver(rows)
            return self._resolver

    def find_products(self, text: str, limit: int = 3) -> list[EntityMatch]:
        if not isinstance(text, str) or not text.strip():
            return []
        return [EntityMatch(kind="product", id=sku, name=name, matched=text[:200], score=score)
                for sku, name, score in match_products(self.resolver(), text[:2000], limit=limit)]

    def ingredient_safety(self, skus: list[str]) -> dict[str, dict[str, str]]:
        view = self._catalogue()
        if view is not None:
            return view.ingredient_safety(skus)
        rows = self._read(cypher.PRODUCTS_INGREDIENT_FLAGS, {"skus": list(dict.fromkeys(skus))})
        return {r["sku"]: {i["id"]: i["pregnancy"] or "unknown" for i in r["ingredients"]} for r in rows}

    def product_sales(self, sku: str, since: date) -> list[tuple[date, int]]:
        rows = self._read(cypher.PRODUCT_SALES, {"sku": sku, "since": since.isoformat()})
        return [(date.fromisoformat(r["day"]), int(r["quantity"])) for r in rows]

    def resolve(self, text: str, kinds: tuple[EntityKind, ...] | None = None,
                limit: int = 10) -> list[EntityMatch]:
        if not isinstance(text, str) or not text.strip():
            raise InvalidInput("text to resolve is empty")
        return self.resolver().resolve(text[:2000], kinds=kinds, limit=limit)

    # --- ingredients and concerns --------------------------------------------------------------
    def allergen_group_members(self, group_ids: list[str]) -> list[str]:
        return [r["id"] for r in self._read(cypher.ALLERGEN_GROUP_MEMBERS, {"ids": list(group_ids)})]

    def ingredient(self, ingredient_id: str) -> IngredientDetail:
        view = self._catalogue()
        if view is not None:
            return view.remember(("ingredient", ingredient_id), lambda: self._ingredient(ingredient_id))
        return self._ingredient(ingredient_id)

    def _ingredient(self, ingredient_id: str) -> IngredientDetail:
        rows = self._read(cypher.INGREDIENT, {"id": ingredient_id})
        if not rows:
            raise NotFound(f"no ingredient with id {ingredient_id!r}")
        props = dict(rows[0]["node"])
        links = self._read(cypher.INGREDIENT_LINKS, {"id": ingredient_id})
        rank = {"strong": 0, "moderate": 1, "limited": 2, "traditional": 3}
        for rel in ("addresses", "may_aggravate"):
            props[rel] = sorted(({"concern": r["other_id"], "evidence": r["evidence"], "source": r["source"] or None,
                                  "note": r["note"] or None} for r in links if r["rel"] == rel),
                                key=lambda link: (rank.get(link["evidence"], 9), link["concern"]))
        props["suits"] = sorted(r["other_id"] for r in links if r["rel"] == "suits")
        props["caution_for"] = [{"skin_type": r["other_id"], "reason": r["reason"]}
                                for r in links if r["rel"] == "caution_for"]
        ingredient = Ingredient(**_model_fields(Ingredient, props))
        inter = [InteractionView(other_id=r["other_id"], other_name=r["other_name"], kind=r["kind"],
                                 severity=r["severity"], reason=r["reason"], advice=r["advice"] or None,
                                 source=r["source"] or None) for r in links if r["rel"] == "interaction"]
        inter.sort(key=lambda x: ({"high": 0, "medium": 1, "low": 2}.get(x.severity, 3), x.other_id))
        return IngredientDetail(
            ingredient=ingredient, product_count=int(rows[0]["products"]),
            concern_names={r["other_id"]: r["other_name"] for r in links if r["rel"] in ("addresses", "may_aggravate")},
            conflicts=[x for x in inter if x.kind != "synergy"], synergies=[x for x in inter if x.kind == "synergy"])

    def ingredients_for_concern(self, concern_id: str, limit: int = 15,
                                include_medicines: bool = False) -> list[RankedIngredient]:
        statuses = ["cosmetic", "medicine"] if include_medicines else ["cosmetic"]
        rows = self._read(cypher.INGREDIENTS_FOR_CONCERN, {"id": concern_id, "limit": int(limit),
                                                           "statuses": statuses})
        return [RankedIngredient(**{k: v for k, v in r.items() if v is not None}) for r in rows]

    def concern(self, concern_id: str, limit: int = 15) -> ConcernDetail:
        view = self._catalogue()
        if view is not None:
            return view.remember(("concern", concern_id, limit), lambda: self._concern(concern_id, limit))
        return self._concern(concern_id, limit)

    def _concern(self, concern_id: str, limit: int) -> ConcernDetail:
        rows = self._read(cypher.CONCERN, {"id": concern_id})
        if not rows:
            raise NotFound(f"no concern with id {concern_id!r}")
        concern = Concern(**_model_fields(Concern, dict(rows[0]["node"])))
        return ConcernDetail(concern=concern, ingredients=self.ingredients_for_concern(concern_id, limit))

    # --- products ------------------------------------------------------------------------------
    @staticmethod
    def _product_from(props: dict[str, Any], ingredients: list[str]) -> Product:
        p = dict(props)
        p["size"] = {"amount": p.pop("size_amount"), "unit": p.pop("size_unit")}
        p["dose_per_use"] = {"amount": p.pop("dose_amount"), "unit": p.pop("dose_unit")}
        p["actives"] = json.loads(p.pop("actives_json") or "{}")
        p["ingredients"] = ingredients
        return Product(**_model_fields(Product, p))

    def product_skus(self) -> list[str]:
        return [str(r["sku"]) for r in self._read(cypher.PRODUCT_SKUS)]

    def products_by_sku(self, skus: list[str]) -> dict[str, Product]:
        view = self._catalogue()
        if view is not None:
            return {str(n["sku"]): self._product_from(node_props(n), []) for n in view.product_nodes(skus)}
        rows = self._read(cypher.PRODUCTS_BY_SKU, {"skus": list(dict.fromkeys(skus))})
        return {str(r["node"]["sku"]): self._product_from(r["node"], []) for r in rows}

    def product(self, sku: str) -> ProductDetail:
        rows = self._read(cypher.PRODUCT, {"sku": sku})
        if not rows:
            raise NotFound(f"no product with sku {sku!r}")
        ings = [ProductIngredient(**{k: v for k, v in r.items() if v is not None})
                for r in self._read(cypher.PRODUCT_INGREDIENTS, {"sku": sku})]
        product = self._product_from(rows[0]["node"], [i.id for i in ings])
        return ProductDetail(product=product, brand_name=rows[0]["brand_name"] or product.brand,
                             ingredients=ings)

    def products_for_profile(self, query: ProfileQuery) -> list[ProductMatch]:
        """Rank candidates in the graph, then exclude in code: widen the candidate pool until `limit`
        safe products are found or the catalogue is exhausted."""
        view = self._catalogue()
        if view is not None:   # the same ranking and exclusions over the in-memory snapshot
            return [self._match(r, query) for r in view.profile_rows(query)]
        params = {
            "skin_type": query.skin_type or "",
            "contains": list(query.contains),
            "include_oos": query.include_out_of_stock,
            "max_price": float(query.max_price) if query.max_price is not None else _NO_PRICE_LIMIT,
            "category": query.category or "",
        }
        avoid = set(query.avoid)
        excluded_ratings = set(PREGNANCY_EXCLUDED) if query.pregnant_or_breastfeeding else set()
        pool = max(query.limit * 10, 100)
        while True:
            if query.concerns:
                rows = self._read(cypher.PRODUCTS_FOR_CONCERNS, {**params, "concerns": list(query.concerns),
                                                                 "limit": pool})
            else:
                rows = self._read(cypher.PRODUCTS_FOR_SKIN_TYPE, {**params, "limit": pool})
            flags = self.ingredient_safety([r["sku"] for r in rows]) if (avoid or excluded_ratings) else {}
            safe = [r for r in rows if not any(i in avoid or rating in excluded_ratings
                                               for i, rating in flags.get(r["sku"], {}).items())]
            if len(safe) >= query.limit or len(rows) < pool:
                break
            pool *= 4
        return [self._match(r, query) for r in safe[:query.limit]]

    @staticmethod
    def _match(r: dict[str, Any], query: ProfileQuery) -> ProductMatch:
        paths, matched = [], []
        for link in sorted(r.get("links") or [], key=lambda x: (x["position"], x["concern"])):
            paths.append(GraphPath(
                nodes=[PathStep(label="Product", id=r["sku"], name=r["name"]),
                       PathStep(label="Ingredient", id=link["ingredient"], name=link["ingredient_name"]),
                       PathStep(label="Concern", id=link["concern"], name=link["concern_name"])],
                relationships=["CONTAINS", f"ADDRESSES({link['evidence']})"]))
            if link["concern"] not in matched:
                matched.append(link["concern"])
        if query.skin_type and query.skin_type in (r.get("skin_types") or []):
            paths.append(GraphPath(
                nodes=[PathStep(label="Product", id=r["sku"], name=r["name"]),
                       PathStep(label="SkinType", id=query.skin_type, name=query.skin_type)],
                relationships=["FOR_SKIN_TYPE"]))
        return ProductMatch(sku=r["sku"], name=r["name"], brand=r["brand"], category=r["category"], price=r["price"],
                            stock_on_hand=r["stock_on_hand"], url=r["url"], image=r["image"],
                            score=round(float(r["score"]), 4), concerns_matched=matched, paths=paths)

    def routine_conflicts(self, skus: list[str]) -> list[RoutineConflict]:
        skus = list(dict.fromkeys(skus))
        seen: set[tuple[str, str, frozenset[str]]] = set()
        out = []
        view = self._catalogue()
        found = view.conflict_rows(skus) if view is not None else self._read(cypher.ROUTINE_CONFLICTS, {"skus": skus})
        for r in found:
            key = (r["product_a"], r["product_b"], frozenset((r["ingredient_a"], r["ingredient_b"])))
            if key in seen:
                continue
            seen.add(key)
            out.append(RoutineConflict(**r))
        out.sort(key=lambda c: ({"high": 0, "medium": 1, "low": 2}.get(c.severity, 3), c.product_a, c.product_b))
        return out

    # --- facts ---------------------------------------------------------------------------------
    def facts(self) -> list[GraphFact]:
        out = [concern_link_fact(r) for r in self._read(cypher.FACTS_CONCERN_LINKS)]
        out += [interaction_fact(r) for r in self._read(cypher.FACTS_INTERACTIONS)]
        out += [ingredient_fact(r["node"]) for r in self._read(cypher.FACTS_INGREDIENTS)]
        out += [concern_fact(r["node"]) for r in self._read(cypher.FACTS_CONCERNS)]
        out += [product_fact(r) for r in self._read(cypher.FACTS_PRODUCTS)]
        return sorted(out, key=lambda f: f.id)

    # --- customers -----------------------------------------------------------------------------
    def customer_ids(self) -> list[str]:
        return [str(r["id"]) for r in self._read(cypher.CUSTOMER_IDS)]

    def customer(self, customer_id: str, order_limit: int = 50) -> CustomerProfile:
        rows = self._read(cypher.CUSTOMER, {"id": customer_id})
        if not rows:
            raise NotFound(f"no customer with id {customer_id!r}")
        props = dict(rows[0]["node"])
        props["avoids"] = [Avoidance(**r) for r in self._read(cypher.CUSTOMER_AVOIDS, {"id": customer_id})]
        customer = Customer(**_model_fields(Customer, props))
        orders = []
        for r in self._read(cypher.CUSTOMER_ORDERS, {"id": customer_id, "limit": int(order_limit)}):
            o = dict(r["node"])
            o["lines"] = sorted(r["lines"], key=lambda line: line["sku"])
            orders.append(Order(**_model_fields(Order, o)))
        return CustomerProfile(customer=customer, orders=orders)

    def order(self, order_id: str) -> OrderView:
        rows = self._read(cypher.ORDER, {"id": order_id})
        if not rows:
            raise NotFound(f"no order {order_id!r}")
        r = rows[0]
        o = dict(r["node"])
        o["lines"] = sorted(r["lines"], key=lambda line: line["sku"])
        return OrderView(order=Order(**_model_fields(Order, o)), customer_email=r["email"],
                         customer_phone=r["phone"])

    def customer_by_identity(self, identity: str) -> str | None:
        rows = self._read(cypher.CUSTOMER_BY_IDENTITY, {"ref": identity})
        return rows[0]["id"] if rows else None

    # --- right to erasure (customer data requests) ------------------------------------------------
    def forget_customer(self, customer_id: str) -> dict[str, int]:
        """Profile, identities and profile edges deleted; orders kept anonymised; one transaction."""
        from graph import privacy_cypher as q

        if not isinstance(customer_id, str) or not customer_id.strip():
            raise InvalidInput("a customer id is needed")
        found = self._read(q.CUSTOMER_FOOTPRINT, {"id": customer_id})
        orders = int(self._read(q.CUSTOMER_ORDER_COUNT, {"id": customer_id})[0]["orders"])
        counts = {"customer": len(found), "identities": int(found[0]["identities"]) if found else 0,
                  "orders_anonymised": orders}
        if counts["customer"] or orders:
            row = [{"id": customer_id}]
            self._write([(q.ANONYMISE_ORDERS, row), (q.DELETE_IDENTITIES, row), (q.DELETE_CUSTOMER, row)],
                        atomic=True)   # the resolver and catalogue snapshot hold no customers: nothing to drop
        return counts
