"""RFM segmentation and a repurchase-risk flag per customer, recomputed by the worker.

Scores are ranks within the current customer base (1-5, 5 best), so they adapt as the shop grows;
the segment names follow the usual RFM grid on recency and frequency.

Repurchase risk is per product, because a routine is several products on several clocks: the gap
between any two orders says nothing about when the serum runs out (a customer buying a cleanser and a
serum on different cycles orders often, yet each product is due only once a month or two). For every
product the customer has bought at least twice we know their own cycle (median days per pack between
purchases of that SKU); they are at risk when they are more than a tolerance past the day that cycle
says they would reorder. A product bought once is a trial, not a habit: it gives an expected gap (the
pack's duration from `commerce.depletion.estimate`) but never raises the flag on its own.
"""

from __future__ import annotations

import statistics
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from itertools import pairwise

from commerce.depletion import Purchase, estimate
from opstore.models_proactive import CustomerSegment
from proactive.repo import ProactiveStore
from proactive.triggers import CustomerData
from skinsage.errors import NotFound

#: Past the expected repurchase day by more than this share of the product's cycle (at least
#: `MIN_TOLERANCE_DAYS`) = at risk: late enough that it is not a busy week or a slow delivery.
TOLERANCE_SHARE = 0.5
MIN_TOLERANCE_DAYS = 14
#: Purchases of one SKU that make it a habit (one purchase = a trial).
REGULAR_PURCHASES = 2


@dataclass(frozen=True)
class Bought:
    """One order line: on `day` the customer bought `quantity` packs of `sku`."""

    day: date
    sku: str
    quantity: int = 1


@dataclass(frozen=True)
class Purchases:
    customer_id: str
    orders: Sequence[tuple[date, float]]      # (placed on, total), cancelled orders already left out
    items: Sequence[Bought] = ()              # the lines of those orders
    pack_days: Mapping[str, float] = field(default_factory=dict)   # label days per pack, by SKU


@dataclass(frozen=True)
class ProductCycle:
    """When this customer is expected to buy `sku` again."""

    sku: str
    purchases: int
    gap_days: float            # days the last purchase should last (their own cycle, or the label)
    due_on: date
    regular: bool

    def days_late(self, today: date) -> int:
        return (today - self.due_on).days

    def overdue(self, today: date) -> bool:
        return self.regular and self.days_late(today) > max(MIN_TOLERANCE_DAYS, TOLERANCE_SHARE * self.gap_days)


def product_cycles(items: Sequence[Bought], pack_days: Mapping[str, float]) -> list[ProductCycle]:
    """Per SKU: a repeated product's own median days per pack (a double pack lasts twice as long), else
    the label's pack duration; products with neither (one purchase, unknown label) are left out."""
    by_sku: dict[str, dict[date, int]] = defaultdict(lambda: defaultdict(int))
    for it in items:
        by_sku[it.sku][it.day] += max(it.quantity, 1)
    out = []
    for sku, days in sorted(by_sku.items()):
        bought = [Purchase(d, q) for d, q in sorted(days.items())]
        last = bought[-1]
        if len(bought) >= REGULAR_PURCHASES:
            per_pack = statistics.median((b.day - a.day).days / a.quantity
                                         for a, b in pairwise(bought))
            gap = per_pack * last.quantity
        elif sku in pack_days and pack_days[sku] > 0:
            gap = float((estimate(bought, pack_days[sku]).runs_out - last.day).days)
        else:
            continue
        out.append(ProductCycle(sku, len(bought), round(gap, 1), last.day + timedelta(days=round(gap)),
                                len(bought) >= REGULAR_PURCHASES))
    return out


def deciding_cycle(cycles: Sequence[ProductCycle], today: date) -> ProductCycle | None:
    """The product the flag is about: the regular one furthest past due relative to its cycle; without
    regular products, the trial product due first (shown, never flagged)."""
    regular = [c for c in cycles if c.regular]
    if regular:
        return max(regular, key=lambda c: (c.days_late(today) / max(c.gap_days, 1.0), c.sku))
    return min(cycles, key=lambda c: (c.due_on, c.sku)) if cycles else None


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
    risk_sku: str | None = None               # the product the flag (or the expected gap) is about


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
        cycle = deciding_cycle(product_cycles(p.items, p.pack_days), today)
        risk = cycle is not None and cycle.overdue(today)
        out.append(Rfm(cid, recency[cid], freq[cid], money[cid], r, f, m, segment_name(r, f, freq[cid]),
                       cycle.gap_days if cycle else None, risk, max(d for d, _ in p.orders),
                       cycle.sku if cycle else None))
    return out


def purchases_of(customers: CustomerData, customer_id: str,
                 labels: dict[str, float | None] | None = None) -> Purchases | None:
    """A customer's kept orders, their lines, and the label pack duration of every product in them.
    `labels` caches pack durations across customers (one product lookup per SKU per refresh)."""
    try:
        profile = customers.customer(customer_id, order_limit=500)
    except NotFound:
        return None
    labels = {} if labels is None else labels
    orders = [o for o in profile.orders if o.status not in ("cancelled", "returned")]
    items = [Bought(o.placed_at, line.sku, line.quantity) for o in orders for line in o.lines]
    for sku in {i.sku for i in items} - labels.keys():
        try:
            labels[sku] = customers.product(sku).product.days_per_pack
        except (NotFound, ValueError, ZeroDivisionError):
            labels[sku] = None
    pack_days = {i.sku: d for i in items if (d := labels.get(i.sku))}
    return Purchases(customer_id, [(o.placed_at, o.total) for o in orders], items, pack_days)


def customer_ids(graph: object, repo: ProactiveStore) -> list[str]:
    """Every customer of the graph (`GraphStore.customer_ids`), else the ones the operational store has met."""
    lister = getattr(graph, "customer_ids", None)
    return list(lister()) if callable(lister) else repo.known_customers()


def refresh_segments(repo: ProactiveStore, customers: CustomerData, ids: Iterable[str], today: date) -> int:
    """The worker's job: recompute and store every customer's RFM row. Returns how many were written."""
    labels: dict[str, float | None] = {}
    bought = [p for cid in ids if (p := purchases_of(customers, cid, labels)) is not None]
    now: datetime = repo.ctx.now()
    rows = [CustomerSegment(customer_id=s.customer_id, recency_days=s.recency_days, frequency=s.frequency,
                            monetary=s.monetary, r_score=s.r, f_score=s.f, m_score=s.m, segment=s.segment,
                            repurchase_risk=s.repurchase_risk, expected_gap_days=s.expected_gap_days,
                            last_order_on=s.last_order_on, computed_at=now) for s in score(bought, today)]
    return repo.save_segments(rows)
