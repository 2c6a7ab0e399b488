"""The recommender over the live graph: candidates from `products_for_profile`, key actives and label
safety from the graph, the customer's routine from their recent orders. One home for the glue, so
the chat tool stays a few lines."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

from commerce.catalogue import Candidate, Link, scored
from commerce.collab import IGNORED_STATUSES, PurchaseModel
from commerce.exclusions import Shopper
from commerce.recommend import Recommendation, Weights, recommend
from commerce.routine import Routine, build_routine
from commerce.stock_outlook import StockOutlook
from graph.store import GraphStore
from graph.views import ProductMatch, ProfileQuery, RoutineConflict
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
                   model: PurchaseModel | None = None, weights: Weights | None = None,
                   outlook: StockOutlook | None = None) -> list[Recommendation]:
    """Ranked, safe, in-stock recommendations with explanations. Out-of-stock products stay in the
    pool so a substitute with the same key actives can be offered in their place; with a stock
    `outlook`, so do products expected to sell out before their next delivery."""
    pool = graph.products_for_profile(query.model_copy(update={"include_out_of_stock": True}))
    cands = candidates(graph, pool, list(query.concerns), query.skin_type)

    def risky(c: Candidate) -> bool:
        return outlook is not None and outlook.at_risk(c.sku, c.stock)

    for c in [c for c in cands if (c.stock <= 0 or risky(c)) and c.key_ingredients]:
        if not any(o.stock > 0 and not risky(o) and set(c.key_ingredients) <= set(o.key_ingredients) for o in cands):
            extra = graph.products_for_profile(query.model_copy(update={
                "contains": list(c.key_ingredients[:1]), "concerns": [], "category": None, "limit": 10}))
            known = {x.sku for x in cands}
            cands += candidates(graph, [m for m in extra if m.sku not in known], list(query.concerns),
                                query.skin_type)
    at_risk = frozenset(c.sku for c in cands if risky(c))
    skus = [c.sku for c in cands]
    label = graph.ingredient_safety(skus)
    conflicts = graph.routine_conflicts([*shopper.routine, *skus]) if shopper.routine else []
    names = {c.sku: c.name for c in cands}
    missing = [sku for sku in shopper.routine if sku not in names]
    if missing:   # one bulk read, not one query per product in the routine
        names.update({sku: p.name for sku, p in graph.products_by_sku(missing).items()})
    return recommend(cands, shopper, label, model=model, conflicts=conflicts, names=names,
                     weights=weights or Weights(), limit=limit, at_risk=at_risk)


#: The kinds a routine is assembled from, one query each (routine.STEPS decides the step and order).
ROUTINE_CATEGORIES = ("cleanser", "serum", "treatment", "moisturiser", "sunscreen")


@dataclass
class RoutinePlan:
    routine: Routine
    #: sku -> the recommendation behind each candidate (explanation, low stock, substitute)
    picks: dict[str, Recommendation] = field(default_factory=dict)
    conflicts: list[RoutineConflict] = field(default_factory=list)
    #: kinds where nothing targets the concerns, so they were ranked for the skin type alone
    relaxed: list[str] = field(default_factory=list)


def routine_live(graph: GraphStore, query: ProfileQuery, shopper: Shopper, budget: float | None = None,
                 model: PurchaseModel | None = None, outlook: StockOutlook | None = None,
                 per_step: int = 3) -> RoutinePlan:
    """An AM/PM routine from the recommender's own ranking per kind of product: every candidate has
    passed the hard exclusions (allergens, pregnancy, conflicts with what they use now) before the
    routine builder sees it; conflicts between the picks are split AM/PM or onto alternate nights."""
    ranked: list[Candidate] = []
    plan = RoutinePlan(Routine())
    cap = query.max_price if budget is None else min(budget, query.max_price or budget)
    for category in ROUTINE_CATEGORIES:
        q = query.model_copy(update={"category": category, "max_price": cap, "limit": per_step * 4 + 4})
        got = recommend_live(graph, q, shopper, per_step, model=model, outlook=outlook)
        if not got and q.concerns:
            got = recommend_live(graph, q.model_copy(update={"concerns": []}), shopper, per_step, model=model,
                                 outlook=outlook)
            if got:
                plan.relaxed.append(category)
        for r in got:
            if r.candidate is not None and r.sku not in plan.picks:
                plan.picks[r.sku] = r
                ranked.append(r.candidate)
    plan.conflicts = graph.routine_conflicts([c.sku for c in ranked]) if len(ranked) > 1 else []
    plan.routine = build_routine(ranked, plan.conflicts, budget)
    return plan
