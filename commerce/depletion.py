"""When will this customer run out of this product?

The label says how long a pack lasts (size / (dose x uses per day)); real people use more or less.
Each customer's own repurchase intervals correct the label estimate, shrunk toward it when there is
little history, so one early reorder does not move the reminder by weeks.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

#: How many observed cycles weigh as much as the label estimate.
PRIOR_STRENGTH = 2.0
#: Intervals beyond these multiples of the label estimate are gaps (a break, a second pack bought
#: elsewhere), not usage, and are ignored.
MIN_RATIO, MAX_RATIO = 0.4, 2.5


@dataclass(frozen=True)
class Purchase:
    day: date
    quantity: int = 1


@dataclass(frozen=True)
class Depletion:
    days_per_pack_label: float
    days_per_pack: float
    cycles_observed: int
    last_purchase: date
    runs_out: date

    def reminder_day(self, days_before: int) -> date:
        return self.runs_out - timedelta(days=days_before)

    def is_overdue(self, today: date, grace_days: int = 7) -> bool:
        """Past the expected cycle by more than `grace_days`: time for a follow-up, not a reminder."""
        return today > self.runs_out + timedelta(days=grace_days)


def label_days_per_pack(size: float, dose_per_use: float, uses_per_day: float) -> float:
    if size <= 0 or dose_per_use <= 0 or uses_per_day <= 0:
        raise ValueError("size, dose and uses per day must be positive")
    return size / (dose_per_use * uses_per_day)


def estimate(purchases: list[Purchase], days_per_pack_label: float) -> Depletion:
    """Blend the label estimate with this customer's observed days per pack (shrinkage)."""
    if not purchases:
        raise ValueError("no purchases to estimate from")
    ordered = sorted(purchases, key=lambda p: p.day)
    per_pack: list[float] = []
    for prev, nxt in zip(ordered, ordered[1:], strict=False):
        observed = (nxt.day - prev.day).days / max(prev.quantity, 1)
        if MIN_RATIO * days_per_pack_label <= observed <= MAX_RATIO * days_per_pack_label:
            per_pack.append(observed)
    n = len(per_pack)
    mean = sum(per_pack) / n if n else days_per_pack_label
    blended = (PRIOR_STRENGTH * days_per_pack_label + n * mean) / (PRIOR_STRENGTH + n)
    last = ordered[-1]
    runs_out = last.day + timedelta(days=round(blended * last.quantity))
    return Depletion(days_per_pack_label=days_per_pack_label, days_per_pack=round(blended, 1),
                     cycles_observed=n, last_purchase=last.day, runs_out=runs_out)
