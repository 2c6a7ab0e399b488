"""The hybrid recommender: content (graph evidence for this customer's concerns and skin type), the
collaborative signal (item-kNN co-purchase, popularity in the customer's skin-type segment), and stock.

Order of operations is the safety argument: hard exclusions (`commerce.exclusions`) run on every
candidate before any score is looked at, and substitutes for out-of-stock products are drawn only from
candidates that already passed them. Stock is forecast-aware: a product expected to sell out before
its next delivery (`at_risk`, from `commerce.stock_outlook`) is demoted behind an in-stock substitute
with the same key actives, or, with no substitute, kept and flagged as low stock. Each signal is scaled to [0, 1] over the candidate set, so the
weights mean the same for a cold-start customer (no history) and a loyal one.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from commerce.catalogue import Candidate
from commerce.collab import PurchaseModel
from commerce.exclusions import Shopper, exclusion_reason
from graph.views import RoutineConflict


@dataclass(frozen=True)
class Weights:
    """How much each signal adds to a product's appeal within its kind.

    Defaults are what `commerce.evaluation.tune` chose on a validation split inside the training period
    of the demo data (never the test period): there the choice *within* a kind follows the profile, so
    the item-level collaborative weights came out 0 and purchase history enters through the kind need
    (what share of customers buy a kind at all, and what the customer already owns). Re-tune on real
    order data with `skinsage eval recommend --tune`."""

    #: per concern of the customer's that the product is declared for (TARGETS)
    targets: float = 2.0
    #: ingredient evidence for the customer's concerns (scaled to [0, 1] over the candidates)
    content: float = 1.0
    knn: float = 0.0
    segment: float = 0.0
    profile: float = 0.0
    popularity: float = 0.0
    #: appeal multiplier for a product made for other skin types than the customer's
    mismatch: float = 0.05
    #: need multiplier for a kind of product already in the routine (they have a cleanser)
    owned_kind: float = 0.1
    #: appeal multiplier for a milder interaction with the routine (alternate nights)
    caution: float = 0.5


@dataclass
class Recommendation:
    sku: str
    name: str
    category: str
    price: float
    score: float
    explanation: str
    signals: dict[str, float] = field(default_factory=dict)
    substitute_for: str | None = None
    advice: str | None = None
    candidate: Candidate | None = None
    #: expected to sell out before the next delivery (days of cover below the lead time)
    low_stock: bool = False


def _scaled(values: Mapping[str, float]) -> dict[str, float]:
    top = max(values.values(), default=0.0)
    return {k: v / top for k, v in values.items()} if top > 0 else {}


def _cautions(sku: str, routine: set[str], conflicts: Iterable[RoutineConflict]) -> list[RoutineConflict]:
    return [c for c in conflicts if sku in (c.product_a, c.product_b)
            and ({c.product_a, c.product_b} - {sku}) & routine]


def recommend(candidates: list[Candidate], shopper: Shopper, ingredients: Mapping[str, Mapping[str, str]], *,
              model: PurchaseModel | None = None, conflicts: Iterable[RoutineConflict] = (),
              names: Mapping[str, str] | None = None, weights: Weights = Weights(), limit: int = 10,
              exclude_bought: bool = False, at_risk: frozenset[str] = frozenset()) -> list[Recommendation]:
    """The best `limit` safe, in-stock products for `shopper`, each with its explanation. `at_risk`:
    in-stock products the forecast says will sell out before their next delivery."""
    conflicts = list(conflicts)
    names = names or {c.sku: c.name for c in candidates}
    safe = [c for c in candidates if exclusion_reason(c.sku, shopper, ingredients, conflicts) is None
            and not (exclude_bought and c.sku in shopper.bought)]
    if not safe:
        return []
    history = shopper.bought | set(shopper.routine)
    knn = model.knn(history) if model and history else {}
    seg = model.popular(shopper.skin_type) if model and shopper.skin_type else {}
    pop = model.popularity if model else {}
    prof = model.profile_popularity(shopper.concerns) if model else {}
    skus = [c.sku for c in safe]
    s_content = _scaled({c.sku: c.content for c in safe})
    s_knn = _scaled({s: knn[s][0] for s in skus if s in knn})
    s_seg = _scaled({s: float(seg[s]) for s in skus if s in seg})
    s_pop = _scaled({s: float(pop[s]) for s in skus if s in pop})
    s_prof = _scaled({s: float(prof[s]) for s in skus if s in prof})
    routine, concerns = set(shopper.routine), set(shopper.concerns)
    owned = {c.category for c in candidates if c.sku in routine}
    appeal: dict[str, float] = {}
    signals: dict[str, dict[str, float]] = {}
    cautions: dict[str, RoutineConflict | None] = {}
    for c in safe:
        sig = {"targets": float(len(c.targets & concerns)), "content": s_content.get(c.sku, 0.0),
               "knn": s_knn.get(c.sku, 0.0), "segment": s_seg.get(c.sku, 0.0),
               "popularity": s_pop.get(c.sku, 0.0), "profile": s_prof.get(c.sku, 0.0), "fit": c.fit}
        cautions[c.sku] = next(iter(_cautions(c.sku, routine, conflicts)), None)
        a = 1.0 + sum(getattr(weights, k) * sig[k] for k in ("targets", "content", "knn", "segment", "profile",
                                                               "popularity"))
        a *= weights.mismatch if c.fit == 0.0 else 1.0
        a *= weights.caution if cautions[c.sku] else 1.0
        appeal[c.sku], signals[c.sku] = a, sig
    per_kind: dict[str, float] = {}
    for c in safe:
        per_kind[c.category] = per_kind.get(c.category, 0.0) + appeal[c.sku]
    need = _kind_need(model, candidates) if model else {}
    scored: list[tuple[float, Candidate, dict[str, float], RoutineConflict | None]] = []
    for c in safe:
        # a kind nobody has bought yet still ranks, below every kind people do buy
        k_need = (need.get(c.category, 1e-3) if model else 1.0) * (weights.owned_kind if c.category in owned else 1.0)
        # with purchase history: P(needs this kind) x P(this product | kind); without: appeal alone
        share = appeal[c.sku] / per_kind[c.category] if model else appeal[c.sku]
        scored.append((k_need * share, c, signals[c.sku], cautions[c.sku]))
    scored.sort(key=lambda x: (-x[0], x[1].sku))
    out: list[Recommendation] = []
    taken: set[str] = set()
    for score, c, sig, caution in scored:
        if len(out) >= limit:
            break
        if c.sku in taken:
            continue
        if c.stock > 0 and c.sku not in at_risk:
            _add(out, taken, (score, c, sig, caution), shopper, ingredients, knn, names)
            continue
        # out of stock, or expected to sell out before the next delivery: a substitute with the same
        # key actives takes its place; ones that will last are preferred
        pool = [x for _, x, _, _ in scored if x.sku not in taken and x.sku not in at_risk]
        if c.stock <= 0:
            pool += [x for _, x, _, _ in scored if x.sku not in taken and x.sku in at_risk]
        sub = substitute(c, pool)
        if sub is not None:
            sub_entry = next(e for e in scored if e[1].sku == sub.sku)
            _add(out, taken, (score, sub, sub_entry[2], sub_entry[3]), shopper, ingredients, knn, names,
                 instead=c, why="out of stock" if c.stock <= 0 else "running low", low_stock=sub.sku in at_risk)
        if c.stock > 0 and len(out) < limit:
            # the low-stock product itself stays on offer, behind its substitute, and says so
            _add(out, taken, (score, c, sig, caution), shopper, ingredients, knn, names, low_stock=True)
        taken.add(c.sku)
    return out


def _add(out: list[Recommendation], taken: set[str],
         entry: tuple[float, Candidate, dict[str, float], RoutineConflict | None], shopper: Shopper,
         ingredients: Mapping[str, Mapping[str, str]], knn: Mapping[str, tuple[float, str]],
         names: Mapping[str, str], instead: Candidate | None = None, why: str = "out of stock",
         low_stock: bool = False) -> None:
    score, pick, sig, caution = entry
    taken.add(pick.sku)
    because = knn.get(pick.sku, (0.0, ""))[1] if sig["knn"] > 0 else None
    if because and exclusion_reason(because, shopper, ingredients) is not None:
        because = None   # never name a product this customer must not use, not even as a pairing
    text = explain(pick, shopper, sig, names.get(because) if because else None, instead, caution, names, why=why)
    if low_stock:
        text += "; only a few left: it may sell out before our next delivery"
    out.append(Recommendation(
        sku=pick.sku, name=pick.name, category=pick.category, price=pick.price, score=round(score, 4),
        explanation=text, signals={k: round(v, 3) for k, v in sig.items()},
        substitute_for=instead.sku if instead else None, advice=caution.advice if caution else None,
        candidate=pick, low_stock=low_stock))


def _kind_need(model: PurchaseModel, candidates: list[Candidate]) -> dict[str, float]:
    """Share of customers who buy each kind of product at all: everyone needs a cleanser, few a mask."""
    buyers: dict[str, float] = {}
    kinds = {c.sku: c.category for c in candidates}
    for sku, n in model.popularity.items():
        if sku in kinds:
            buyers[kinds[sku]] = buyers.get(kinds[sku], 0.0) + n
    return {k: v / max(model.customers, 1) for k, v in buyers.items()}


def substitute(gone: Candidate, pool: list[Candidate]) -> Candidate | None:
    """An in-stock product with the same key actives (all of them), same category first; `pool` is
    already safe for the customer and in preference order."""
    actives = set(gone.key_ingredients)
    if not actives:
        return None
    same = [p for p in pool if p.sku != gone.sku and p.stock > 0 and actives <= set(p.key_ingredients)]
    return next((p for p in same if p.category == gone.category), same[0] if same else None)


def explain(c: Candidate, shopper: Shopper, sig: Mapping[str, float], because: str | None,
            instead: Candidate | None, caution: RoutineConflict | None, names: Mapping[str, str],
            why: str = "out of stock") -> str:
    """A short sentence from the graph path and the signal that weighed most."""
    parts = []
    if instead is not None:
        actives = ", ".join(k.replace("-", " ") for k in instead.key_ingredients)
        parts.append(f"{instead.name} is {why}; this has the same key actives ({actives})")
    if c.links:
        lk = c.links[0]
        parts.append(f"contains {lk.ingredient_name}, which helps with {lk.concern_name.lower()} "
                     f"({lk.evidence} evidence)")
    elif c.skin_fit and shopper.skin_type:
        parts.append(f"made for {shopper.skin_type} skin")
    who = f"customers with {shopper.skin_type} skin" if shopper.skin_type else "customers"
    if because:
        parts.append(f"{who} often pair it with {because}")
    elif sig.get("segment", 0.0) >= 0.5:
        parts.append(f"popular with {who}")
    if caution is not None:
        other = caution.product_b if caution.product_a == c.sku else caution.product_a
        parts.append(f"use it on alternate nights from {names.get(other, other)}")
    return "; ".join(parts) or "a good fit for your profile"
