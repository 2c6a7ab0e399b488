"""Reorder advice from a demand forecast: days of cover, reorder point, safety stock, order quantity.

Plain maths over plain numbers, so every figure can be checked by hand:
- days of cover: walk the daily forecast until cumulative demand reaches the stock (fractional day);
- lead-time demand: forecast demand over the supplier lead time;
- safety stock: z x sd of lead-time demand, z the standard normal quantile of the service level
  (cycle service level: the chance of not running out before the order arrives);
- reorder point: lead-time demand + safety stock; reorder when stock + on order <= reorder point;
- order quantity: up to the level that covers the lead time plus one review period at the same service
  level, rounded up to the order multiple (order-up-to policy with periodic review).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from statistics import NormalDist

from skinsage.errors import InvalidInput


def z_for(service_level: float) -> float:
    if not 0.5 <= service_level < 1:
        raise InvalidInput(f"service level must be in [0.5, 1), got {service_level}")
    return NormalDist().inv_cdf(service_level)


def days_of_cover(stock: float, daily: Sequence[float]) -> float | None:
    """Days until the stock is used up; beyond the forecast the last 28 days' mean continues. None when
    nothing is expected to sell."""
    if stock <= 0:
        return 0.0
    left = float(stock)
    for i, d in enumerate(daily):
        if d >= left:
            return i + left / d
        left -= d
    tail = list(daily[-28:])
    rate = sum(tail) / len(tail) if tail else 0.0
    return len(daily) + left / rate if rate > 0 else None


@dataclass(frozen=True)
class ReorderAdvice:
    days_of_cover: float | None
    lead_time_days: int
    lead_time_demand: float
    safety_stock: float
    reorder_point: float
    order_up_to: float
    order_quantity: int
    reorder_now: bool
    service_level: float


def advise(stock: float, daily: Sequence[float], demand_sd: Callable[[int], float], lead_time_days: int,
           service_level: float, review_days: int, on_order: float = 0.0, order_multiple: int = 1) -> ReorderAdvice:
    """Reorder advice for one SKU. `demand_sd(h)` is the sd of total demand over the next h days."""
    if lead_time_days < 0 or review_days < 0 or order_multiple < 1:
        raise InvalidInput("lead time and review period must be >= 0 days and the order multiple >= 1")
    z = z_for(service_level)

    def demand(days: int) -> float:
        path = list(daily)
        tail = path[-28:]
        rate = sum(tail) / len(tail) if tail else 0.0
        return sum(path[:days]) + max(0, days - len(path)) * rate

    ltd = demand(lead_time_days)
    safety = z * demand_sd(lead_time_days) if lead_time_days else 0.0
    rop = ltd + safety
    horizon = lead_time_days + review_days
    up_to = demand(horizon) + z * demand_sd(horizon)
    position = stock + on_order
    reorder = position <= rop and up_to > 0
    qty = 0
    if reorder:
        qty = math.ceil(max(0.0, up_to - position) / order_multiple - 1e-9) * order_multiple
    return ReorderAdvice(days_of_cover(stock, daily), lead_time_days, ltd, safety, rop, up_to, qty, reorder,
                         service_level)
