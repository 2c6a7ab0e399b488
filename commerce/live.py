"""The recommender over the live graph: candidates from `products_for_profile`, key actives and label
safety from the graph, the customer's routine from their recent orders. One home for the glue, so
the chat tool stays a few lines."""

from __future__ import annotations

from datetime import date

from commerce.catalogue import Candidate, Link, scored
from commerce.collab import IGNORED_STATUSES, PurchaseModel
from commerce.exclusions import Shopper
from commerce.recommend import Recommendation, Weights, recommend
from graph.store import GraphStore
from graph.views import ProductMatch, ProfileQuery
from skinsage.errors import NotFound

ROUTINE_DAYS = 120


def _links(m: ProductMatch) -> tuple[Link, ...]:
    return tuple(Link(ingredient=p.nodes[1].id, ingredient_name=p.nodes[1].name, concern=p.nodes[2].id,
                      concern_name=p.nodes[2].name, evidence=p.relationships[1].removeprefix("ADDRESSES(").rstrip(")"))
                 for p in m.paths if len(p.nodes) == 3)


def candidates(graph: GraphStore, matches: list[ProductMatch], concerns: list[str],
               skin_type: str | None) -> list[Candidate]:
    out = []
    found = graph.products_by_sku([m.sku for m in matches])
    for m in matches:
        prod = found.get(m.sku)
        if prod is None:   # removed between the two reads: not offered
            continue
        base = Candidate(sku=m.sku, name=m.name, category=m.category, price=m.price, stock=m.stock_on_hand,
                         key_ingredients=tuple(prod.key_ingredients), targets=frozenset(prod.concerns),
                         time_of_use=prod.time_of_use, url=m.url, image=m.image)
        c = scored(base, _links(m), concerns, skin_type, frozenset(prod.skin_types))
        # the graph's score already weighs the evidence the same way; keep its scale
        out.append(Candidate(**{**c.__dict__, "content": m.score}))
    return out


def shopper_from_orders(graph: GraphStore, customer_id: str | None, today: date, **profile: object) -> Shopper:
    routine: list[str] = []
    bought: set[str] = set()
    if customer_id:
        try:
            orders = graph.customer(customer_id, order_limit=100).orders
        except NotFound:
            orders = []
        for o in orders:
            if o.status in IGNORED_STATUSES:
                continue
            skus = [line.sku for line in o.lines]
            bought.update(skus)
            if (today - o.placed_at).days <= ROUTINE_DAYS:
                routine.extend(skus)
    return Shopper(customer_id=customer_id, routine=tuple(dict.fromkeys(routine)), bought=frozenset(bought),
                   **profile)  # type: ignore[arg-type]


def recommend_live(graph: GraphStore, query: ProfileQuery, shopper: Shopper, limit: int,
                   model: PurchaseModel | None = None, weights: Weights | None = None) -> list[Recommendation]:
    """Ranked, safe, in-stock recommendations with explanations. Out-of-stock products stay in the
    pool so a substitute with the same key actives can be offered in their place."""
    pool = graph.products_for_profile(query.model_copy(update={"include_out_of_stock": True}))
    cands = candidates(graph, pool, list(query.concerns), query.skin_type)
    for c in [c for c in cands if c.stock <= 0 and c.key_ingredients]:
        if not any(o.stock > 0 and set(c.key_ingredients) <= set(o.key_ingredients) for o in cands):
            extra = graph.products_for_profile(query.model_copy(update={
                "contains": list(c.key_ingredients[:1]), "concerns": [], "category": None, "limit": 10}))
            known = {x.sku for x in cands}
            cands += candidates(graph, [m for m in extra if m.sku not in known], list(query.concerns),
                                query.skin_type)
    skus = [c.sku for c in cands]
    label = graph.ingredient_safety(skus)
    conflicts = graph.routine_conflicts([*shopper.routine, *skus]) if shopper.routine else []
    names = {c.sku: c.name for c in cands}
    for sku in shopper.routine:
        if sku not in names:
            try:
                names[sku] = graph.product(sku).product.name
            except NotFound:
                pass
    return recommend(cands, shopper, label, model=model, conflicts=conflicts, names=names,
                     weights=weights or Weights(), limit=limit)
