"""Turn a validated `KnowledgeBundle` into the ordered, batched statements that write it.

A bundle is authoritative for the relationships of the nodes it carries: a product's CONTAINS
edges become exactly its INCI list, an ingredient's ADDRESSES edges exactly its curated links.
That is what makes a load a sync and a second identical load a no-op.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Iterator
from typing import Any

from graph import cypher
from graph.model import EVIDENCE_WEIGHT, KnowledgeBundle

Statement = tuple[str, list[dict[str, Any]]]


def _node_rows(label: str, items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    props = cypher.NODES[label][1]
    return [{p: item.get(p) for p in props} for item in items]


def _rel_rows(rel_type: str, edges: list[dict[str, Any]]) -> list[dict[str, Any]]:
    props = cypher.REL_BY_TYPE[rel_type].props
    return [{"src": e["src"], "dst": e["dst"], **{p: e.get(p) for p in props}} for e in edges]


class _Plan:
    def __init__(self) -> None:
        self.nodes: list[tuple[str, list[dict[str, Any]]]] = []
        self.owned: dict[str, set[str]] = defaultdict(set)   # rel type -> sources it is authoritative for
        self.edges: dict[str, list[dict[str, Any]]] = defaultdict(list)

    def own(self, rel_type: str, sources: list[str]) -> None:
        self.owned[rel_type].update(sources)

    def edge(self, rel_type: str, src: str, dst: str, **props: Any) -> None:
        self.edges[rel_type].append({"src": src, "dst": dst, **props})


def plan(bundle: KnowledgeBundle) -> _Plan:
    p = _Plan()
    p.nodes.append(("SkinType", _node_rows("SkinType", [s.model_dump() for s in bundle.skin_types])))
    p.nodes.append(("Concern", _node_rows("Concern", [c.model_dump() for c in bundle.concerns])))

    ing_rows = []
    for ing in bundle.ingredients:
        d = ing.model_dump()
        d["name"] = ing.display_name
        d["evidence_weight"] = EVIDENCE_WEIGHT[ing.evidence]
        ing_rows.append(d)
        for link in ing.addresses:
            p.edge("ADDRESSES", ing.id, link.concern, evidence=link.evidence,
                   weight=EVIDENCE_WEIGHT[link.evidence], source=link.source, note=link.note)
        for link in ing.may_aggravate:
            p.edge("MAY_AGGRAVATE", ing.id, link.concern, evidence=link.evidence,
                   weight=EVIDENCE_WEIGHT[link.evidence], source=link.source, note=link.note)
        for st in ing.suits:
            p.edge("SUITS", ing.id, st)
        for caution in ing.caution_for:
            p.edge("CAUTION_FOR", ing.id, caution.skin_type, reason=caution.reason)
    p.nodes.append(("Ingredient", _node_rows("Ingredient", ing_rows)))
    ing_ids = [i.id for i in bundle.ingredients]
    for rel in ("ADDRESSES", "MAY_AGGRAVATE", "SUITS", "CAUTION_FOR", "CONFLICTS_WITH", "WORKS_WELL_WITH"):
        p.own(rel, ing_ids)
    for x in bundle.interactions:
        if x.kind == "synergy":
            p.edge("WORKS_WELL_WITH", x.a, x.b, reason=x.reason, advice=x.advice, source=x.source)
        else:
            p.edge("CONFLICTS_WITH", x.a, x.b, kind=x.kind, severity=x.severity, reason=x.reason,
                   advice=x.advice, source=x.source)

    p.nodes.append(("Brand", _node_rows("Brand", [b.model_dump() for b in bundle.brands])))
    p.own("PART_OF", [b.id for b in bundle.brands])
    for b in bundle.brands:
        if b.parent:
            p.edge("PART_OF", b.id, b.parent)

    prod_rows = []
    for prod in bundle.products:
        d = prod.model_dump()
        d.update(size_amount=prod.size.amount, size_unit=prod.size.unit,
                 dose_amount=prod.dose_per_use.amount, dose_unit=prod.dose_per_use.unit,
                 actives_json=json.dumps(prod.actives, sort_keys=True))
        prod_rows.append(d)
        p.edge("MADE_BY", prod.sku, prod.brand)
        key = set(prod.key_ingredients)
        for pos, ing_id in enumerate(prod.ingredients, start=1):
            p.edge("CONTAINS", prod.sku, ing_id, position=pos, percent=prod.actives.get(ing_id),
                   is_key=ing_id in key)
        for c in prod.concerns:
            p.edge("TARGETS", prod.sku, c)
        for st in prod.skin_types:
            p.edge("FOR_SKIN_TYPE", prod.sku, st)
    p.nodes.append(("Product", _node_rows("Product", prod_rows)))
    for rel in ("MADE_BY", "CONTAINS", "TARGETS", "FOR_SKIN_TYPE"):
        p.own(rel, [x.sku for x in bundle.products])

    cust_rows, ident_rows = [], []
    for cust in bundle.customers:
        cust_rows.append(cust.model_dump())
        if cust.skin_type:
            p.edge("HAS_SKIN_TYPE", cust.id, cust.skin_type)
        for c in cust.concerns:
            p.edge("HAS_CONCERN", cust.id, c)
        for a in cust.avoids:
            p.edge("AVOIDS", cust.id, a.ingredient, reason=a.reason)
        for ref in cust.identities:
            ident_rows.append({"ref": ref})
            p.edge("IDENTIFIES", ref, cust.id)
    p.nodes.append(("Customer", _node_rows("Customer", cust_rows)))
    p.nodes.append(("Identity", ident_rows))
    for rel in ("HAS_SKIN_TYPE", "HAS_CONCERN", "AVOIDS"):
        p.own(rel, [c.id for c in bundle.customers])
    p.own("IDENTIFIES", [r["ref"] for r in ident_rows])

    order_rows = []
    for order in bundle.orders:
        d = order.model_dump()
        d.update(placed_at=order.placed_at.isoformat(), total=order.total)
        order_rows.append(d)
        p.edge("PLACED", order.customer_id, order.id)
        qty: dict[str, int] = defaultdict(int)
        price: dict[str, float] = {}
        for line in order.lines:
            qty[line.sku] += line.quantity
            price[line.sku] = line.unit_price
        for sku, q in qty.items():
            p.edge("INCLUDES", order.id, sku, quantity=q, unit_price=price[sku])
    p.nodes.append(("CustomerOrder", _node_rows("CustomerOrder", order_rows)))
    p.own("INCLUDES", [o.id for o in bundle.orders])
    return p


def _chunks(rows: list[dict[str, Any]], size: int) -> Iterator[list[dict[str, Any]]]:
    for i in range(0, len(rows), size):
        yield rows[i:i + size]


def statements(bundle: KnowledgeBundle, batch_size: int = 5000, cast: bool = False) -> Iterator[Statement]:
    """Nodes first, then for each relationship type: prune what the bundle no longer says, upsert."""
    p = plan(bundle)
    for label, rows in p.nodes:
        for chunk in _chunks(rows, batch_size):
            yield cypher.upsert_nodes(label, cast), chunk
    for rel in cypher.RELS:
        edges = _rel_rows(rel.type, p.edges.get(rel.type, []))
        if rel.type in p.owned:
            keep: dict[str, list[str]] = {src: [] for src in sorted(p.owned[rel.type])}
            for e in edges:
                keep.setdefault(e["src"], []).append(e["dst"])
            prune = [{"src": s, "keep": k} for s, k in keep.items()]
            for chunk in _chunks(prune, batch_size):
                yield cypher.prune_rels(rel.type), chunk
        for chunk in _chunks(edges, batch_size):
            yield cypher.upsert_rels(rel.type, cast), chunk
