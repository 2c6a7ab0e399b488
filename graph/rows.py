"""Turn a validated `KnowledgeBundle` into the ordered, batched statements that write it.

A bundle is authoritative for the relationships of the nodes it carries: a product's CONTAINS
edges become exactly its INCI list, an ingredient's ADDRESSES edges exactly its curated links.
A load first reads what is there, then writes only the difference (new, changed, removed), so a
second identical load writes nothing and a changed row touches only itself.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from graph import cypher
from graph.model import EVIDENCE_WEIGHT, KnowledgeBundle

Statement = tuple[str, list[dict[str, Any]]]
Rows = list[dict[str, Any]]


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


def helps_with(bundle: KnowledgeBundle, links: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """(product, concern) edges with the score and the best ingredient path, from key actives only."""
    by_ing: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for link in links:
        by_ing[link["ingredient"]].append(link)
    out = []
    for prod in bundle.products:
        per: dict[str, dict[str, Any]] = {}
        for pos, ing in enumerate(prod.ingredients, start=1):
            if ing not in prod.key_ingredients:
                continue
            for link in by_ing.get(ing, []):
                w = link["weight"] * (1.5 if link["concern"] in prod.concerns else 1.0)
                cur = per.setdefault(link["concern"], {"src": prod.sku, "dst": link["concern"], "score": 0.0,
                                                       "ingredient": ing, "ingredient_name": link["name"],
                                                       "evidence": link["evidence"], "position": pos, "_best": -1.0})
                cur["score"] += w
                if w > cur["_best"]:
                    cur.update(ingredient=ing, ingredient_name=link["name"], evidence=link["evidence"],
                               position=pos, _best=w)
        for e in per.values():
            e.pop("_best")
            e["score"] = round(e["score"], 6)
            out.append(e)
    return out


def concern_links(bundle: KnowledgeBundle) -> list[dict[str, Any]]:
    return [{"ingredient": i.id, "name": i.display_name, "concern": a.concern, "evidence": a.evidence,
             "weight": EVIDENCE_WEIGHT[a.evidence]} for i in bundle.ingredients for a in i.addresses]


def plan(bundle: KnowledgeBundle, links: list[dict[str, Any]] | None = None) -> _Plan:
    """`links` (ingredient -> concern evidence) come from the bundle, or from the graph when a bundle
    carries products without their ingredients' knowledge."""
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

    p.nodes.append(("AllergenGroup", _node_rows("AllergenGroup", [g.model_dump() for g in bundle.allergen_groups])))
    p.own("IN_ALLERGEN_GROUP", ing_ids)
    for ing in bundle.ingredients:
        for g in ing.allergen_groups:
            p.edge("IN_ALLERGEN_GROUP", ing.id, g)

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
    for rel in ("MADE_BY", "CONTAINS", "TARGETS", "FOR_SKIN_TYPE", "HELPS_WITH"):
        p.own(rel, [x.sku for x in bundle.products])
    for e in helps_with(bundle, concern_links(bundle) if bundle.ingredients else (links or [])):
        p.edges["HELPS_WITH"].append(e)

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


def chunks(rows: list[Any], size: int) -> Iterator[list[Any]]:
    for i in range(0, len(rows), size):
        yield rows[i:i + size]


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, float) or isinstance(b, float):
        return a is not None and b is not None and abs(float(a) - float(b)) < 1e-9
    return bool(a == b) or (a in (None, []) and b in (None, []))


@dataclass
class Diff:
    """What a load must write: new, changed and removed rows; everything else is left untouched."""

    create: list[dict[str, Any]] = field(default_factory=list)
    update: list[dict[str, Any]] = field(default_factory=list)
    delete: list[dict[str, Any]] = field(default_factory=list)
    unchanged: int = 0


def _classify(d: Diff, wanted: dict[Any, dict[str, Any]], existing: dict[Any, dict[str, Any]],
              props: dict[str, str]) -> None:
    for k, row in wanted.items():
        old = existing.get(k)
        if old is None:
            d.create.append(row)
        elif all(_same(old.get(p), row.get(p)) for p in props):
            d.unchanged += 1
        else:
            d.update.append(row)


def diff_nodes(label: str, rows: list[dict[str, Any]], existing: dict[str, dict[str, Any]]) -> Diff:
    key, props = cypher.NODES[label]
    d = Diff()
    wanted: dict[str, dict[str, Any]] = {}
    for row in rows:
        wanted.setdefault(row[key], row)     # the first statement of a duplicate key wins
    _classify(d, wanted, existing, props)
    return d


def diff_rels(rel_type: str, edges: list[dict[str, Any]], existing: list[dict[str, Any]], owned: set[str]) -> Diff:
    """Edges to create, update, and (for sources the bundle is authoritative for) delete."""
    have = {(e["src"], e["dst"]): e for e in existing}
    want = {(e["src"], e["dst"]): e for e in edges}
    d = Diff()
    _classify(d, want, have, cypher.REL_BY_TYPE[rel_type].props)
    d.delete = [{"src": s, "dst": t} for (s, t) in have if s in owned and (s, t) not in want]
    return d


def rel_rows(rel_type: str, p: _Plan) -> list[dict[str, Any]]:
    return _rel_rows(rel_type, p.edges.get(rel_type, []))
