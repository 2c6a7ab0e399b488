"""RFM segmentation and a repurchase-risk flag per customer, recomputed by the worker.

Scores are ranks within the current customer base (1-5, 5 best), so they adapt as the shop grows;
the segment names follow the usual RFM grid on recency and frequency. Repurchase risk is personal:
a customer is at risk when they are clearly past their own usual reorder gap (or, with one order,
past the time their products last at the label's dose).
"""

from __future__ import annotations

import statistics
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime

from opstore.models_proactive import CustomerSegment
from proactive.repo import ProactiveStore
from proactive.triggers import CustomerData
from skinsage.errors import NotFound

#: Past the usual gap by this factor = at risk of not coming back.
RISK_FACTOR = 1.5


@dataclass(frozen=True)
class Purchases:
    customer_id: str
    orders: Sequence[tuple[date, float]]      # (placed on, total), cancelled orders already left out
    pack_days: float | None = None            # how long the last order's products last (fallback gap)


@dataclass(frozen=True)
class Rfm:
    customer_id: str
    recency_days: int
    frequency: int
    monetary: float
    r: int
    f: int
    m: int
    segment: str
    expected_gap_days: float | None
    repurchase_risk: bool
    last_order_on: date


def _rank_score(value: float, population: Sequence[float], higher_is_better: bool = True) -> int:
    """1-5 by the share of the population strictly worse than this value (ties share a score)."""
    worse = sum(1 for v in population if (v < value if higher_is_better else v > value))
    return 1 + min(4, int(5 * worse / len(population)))


def segment_name(r: int, f: int, frequency: int) -> str:
    if r >= 4 and f >= 4:
        return "champion"
    if r >= 3 and f >= 3:
        return "loyal"
    if r >= 4 and frequency == 1:
        return "new"
    if r >= 4:
        return "promising"
    if r == 3:
        return "needs_attention"
    if f >= 3:
        return "at_risk"
    return "hibernating" if r == 2 else "lost"


def expected_gap(order_days: Sequence[date], pack_days: float | None) -> float | None:
    days = sorted(set(order_days))
    if len(days) >= 2:
        return float(statistics.median((b - a).days for a, b in zip(days, days[1:], strict=False)))
    return pack_days


def score(purchases: Iterable[Purchases], today: date) -> list[Rfm]:
    """Customers without orders get no score (RFM says nothing about them)."""
    buyers = [p for p in purchases if p.orders]
    if not buyers:
        return []
    recency = {p.customer_id: (today - max(d for d, _ in p.orders)).days for p in buyers}
    freq = {p.customer_id: len(p.orders) for p in buyers}
    money = {p.customer_id: round(sum(t for _, t in p.orders), 2) for p in buyers}
    out = []
    for p in buyers:
        cid = p.customer_id
        r = _rank_score(recency[cid], list(recency.values()), higher_is_better=False)
        f = _rank_score(freq[cid], list(freq.values()))
        m = _rank_score(money[cid], list(money.values()))
        gap = expected_gap([d for d, _ in p.orders], p.pack_days)
        risk = gap is not None and recency[cid] > RISK_FACTOR * gap
        out.append(Rfm(cid, recency[cid], freq[cid], money[cid], r, f, m, segment_name(r, f, freq[cid]), gap,
                       risk, max(d for d, _ in p.orders)))
    return out


def purchases_of(customers: CustomerData, customer_id: str) -> Purchases | None:
    try:
        profile = customers.customer(customer_id, order_limit=500)
    except NotFound:
        return None
    orders = [o for o in profile.orders if o.status not in ("cancelled", "returned")]
    pack_days = None
    if orders:
        last = max(orders, key=lambda o: o.placed_at)
        lasting = []
        for line in last.lines:
            try:
                lasting.append(customers.product(line.sku).product.days_per_pack * line.quantity)
            except NotFound:
                continue
        pack_days = min(lasting) if lasting else None
    return Purchases(customer_id, [(o.placed_at, o.total) for o in orders], pack_days)


def customer_ids(graph: object, repo: ProactiveStore) -> list[str]:
    """Every customer of the graph (`GraphStore.customer_ids`), else the ones the operational store has met."""
    lister = getattr(graph, "customer_ids", None)
    return list(lister()) if callable(lister) else repo.known_customers()


def refresh_segments(repo: ProactiveStore, customers: CustomerData, ids: Iterable[str], today: date) -> int:
    """The worker's job: recompute and store every customer's RFM row. Returns how many were written."""
    bought = [p for cid in ids if (p := purchases_of(customers, cid)) is not None]
    now: datetime = repo.ctx.now()
    rows = [CustomerSegment(customer_id=s.customer_id, recency_days=s.recency_days, frequency=s.frequency,
                            monetary=s.monetary, r_score=s.r, f_score=s.f, m_score=s.m, segment=s.segment,
                            repurchase_risk=s.repurchase_risk, expected_gap_days=s.expected_gap_days,
                            last_order_on=s.last_order_on, computed_at=now) for s in score(bought, today)]
    return repo.save_segments(rows)
