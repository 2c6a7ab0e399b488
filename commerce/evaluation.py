"""Offline evaluation of the recommenders on a temporal split of purchase histories.

Everything placed before the cutoff trains (popularity counts, co-purchase, the customer's history and
current routine); the products each customer buys for the first time after the cutoff are the relevant
set (repurchases are the reminders' job, and trivially predicted). Customers without history before
the cutoff are kept: the hybrid knows their profile from sign-up, item-kNN falls back to popularity.
Weights are tuned on a validation cutoff inside the training period only.
"""

from __future__ import annotations

import itertools
import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta

from commerce.catalogue import Catalogue
from commerce.collab import PurchaseModel, histories
from commerce.exclusions import Shopper
from commerce.recommend import Weights, recommend
from graph.model import Customer, KnowledgeBundle

ROUTINE_DAYS = 120


@dataclass
class Scores:
    ndcg_at_10: float = 0.0
    recall_at_10: float = 0.0
    users: int = 0
    ms_per_user: float = 0.0


@dataclass
class Case:
    shopper: Shopper
    relevant: set[str]


def ndcg(ranked: list[str], relevant: set[str], k: int = 10) -> float:
    dcg = sum(1 / math.log2(i + 2) for i, s in enumerate(ranked[:k]) if s in relevant)
    ideal = sum(1 / math.log2(i + 2) for i in range(min(k, len(relevant))))
    return dcg / ideal if ideal else 0.0


def recall(ranked: list[str], relevant: set[str], k: int = 10) -> float:
    return len(set(ranked[:k]) & relevant) / len(relevant) if relevant else 0.0


def shopper_for(c: Customer, history: list[tuple[object, str]], cutoff: date) -> Shopper:
    recent = [s for d, s in history if (cutoff - d).days <= ROUTINE_DAYS]  # type: ignore[operator]
    return Shopper(customer_id=c.id, skin_type=c.skin_type, concerns=tuple(c.concerns),
                   avoid=frozenset(a.ingredient for a in c.avoids), pregnant_or_breastfeeding=c.pregnancy != "none",
                   routine=tuple(dict.fromkeys(recent)), bought=frozenset(s for _, s in history))


def split(bundle: KnowledgeBundle, cutoff: date, end: date | None = None) -> tuple[PurchaseModel, list[Case]]:
    """Train on orders before `cutoff`; cases are customers with first purchases in [cutoff, end)."""
    people = {c.id: c for c in bundle.customers}
    train = histories(bundle.orders, before=cutoff)
    later = histories([o for o in bundle.orders if end is None or o.placed_at < end], before=None)
    model = PurchaseModel.fit({cid: [s for _, s in h] for cid, h in train.items()},
                              {cid: c.skin_type for cid, c in people.items()},
                              concerns={cid: c.concerns for cid, c in people.items()})
    cases = []
    for cid, h in sorted(later.items()):
        before = train.get(cid, [])
        new = {s for d, s in h if d >= cutoff} - {s for _, s in before}  # type: ignore[operator]
        if new and cid in people:
            cases.append(Case(shopper_for(people[cid], before, cutoff), new))
    return model, cases


Ranker = Callable[[Shopper], list[str]]


def rankers(catalogue: Catalogue, model: PurchaseModel, weights: Weights, k: int = 10) -> dict[str, Ranker]:
    names = {s: c.name for s, c in catalogue.products.items()}

    def popularity(sh: Shopper) -> list[str]:
        return [s for s, _ in model.popularity.most_common() if s not in sh.bought][:k]

    def item_knn(sh: Shopper) -> list[str]:
        scores = model.knn(sh.bought)
        ranked = [s for s, _ in sorted(scores.items(), key=lambda x: (-x[1][0], x[0])) if s not in sh.bought]
        return list(dict.fromkeys(ranked + popularity(sh)))[:k]   # cold start: popularity fills the list

    def hybrid(sh: Shopper) -> list[str]:
        cands = [catalogue.candidate(s, list(sh.concerns), sh.skin_type) for s in catalogue.products]
        conflicts = catalogue.routine_conflicts([*sh.routine, *(c.sku for c in cands if c.key_ingredients)]) \
            if sh.routine else []
        recs = recommend(cands, sh, catalogue.ingredients, model=model, conflicts=conflicts, names=names,
                         weights=weights, limit=k, exclude_bought=True)
        return [r.sku for r in recs]

    return {"popularity": popularity, "item-knn": item_knn, "hybrid": hybrid}


def score(ranker: Ranker, cases: list[Case], k: int = 10) -> Scores:
    out = Scores(users=len(cases))
    started = time.perf_counter()
    for case in cases:
        ranked = ranker(case.shopper)
        out.ndcg_at_10 += ndcg(ranked, case.relevant, k)
        out.recall_at_10 += recall(ranked, case.relevant, k)
    if cases:
        out.ndcg_at_10 /= len(cases)
        out.recall_at_10 /= len(cases)
        out.ms_per_user = (time.perf_counter() - started) * 1000 / len(cases)
    return out


def tune(bundle: KnowledgeBundle, catalogue: Catalogue, cutoff: date, validation_days: int = 180) -> Weights:
    """Grid search on a validation split that ends at `cutoff`: nothing after it is looked at."""
    model, cases = split(bundle, cutoff - timedelta(days=validation_days), end=cutoff)
    best, best_w = -1.0, Weights()
    grid = itertools.product((1.0, 2.0, 4.0), (0.0, 1.0), (0.0, 0.5))
    for targets, content, collab in grid:
        w = Weights(targets=targets, content=content, knn=collab, segment=collab, profile=collab,
                    popularity=collab)
        got = score(rankers(catalogue, model, w)["hybrid"], cases).ndcg_at_10
        if got > best + 1e-9:
            best, best_w = got, w
    return best_w


def evaluate(bundle: KnowledgeBundle, cutoff: date, weights: Weights | None = None) -> dict[str, Scores]:
    """NDCG@10 and recall@10 for popularity, item-kNN and the hybrid, measured in one run."""
    catalogue = Catalogue.from_bundle(bundle)
    model, cases = split(bundle, cutoff)
    found = rankers(catalogue, model, weights or Weights())
    return {name: score(r, cases) for name, r in found.items()}
