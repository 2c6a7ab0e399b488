"""The AM/PM routine builder: one product per step in the right order, conflicting actives split
between morning and evening (or alternate nights), within a budget.

Pure: takes candidates already ranked and filtered by the recommender (so hard exclusions hold) and
the key-active interactions between them.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

from commerce.catalogue import Candidate
from graph.views import RoutineConflict

#: Step order on the face; a product's category decides its step.
STEPS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("cleanse", ("cleanser",)), ("tone", ("toner", "essence")), ("treat", ("serum", "treatment", "exfoliant")),
    ("eyes", ("eye-cream",)), ("moisturise", ("moisturiser", "face-oil")), ("protect", ("sunscreen",)))
ESSENTIAL = ("cleanse", "moisturise", "protect")


@dataclass
class RoutineStep:
    step: str
    sku: str
    name: str
    price: float
    note: str | None = None


@dataclass
class Routine:
    am: list[RoutineStep] = field(default_factory=list)
    pm: list[RoutineStep] = field(default_factory=list)
    alternate_nights: list[tuple[str, str]] = field(default_factory=list)
    total: float = 0.0
    skipped: list[str] = field(default_factory=list)


def step_of(category: str) -> str | None:
    return next((s for s, cats in STEPS if category in cats), None)


def _times(step: str, c: Candidate) -> set[str]:
    """When a product can serve its step: sunscreen in the morning; the rest as labelled."""
    if step == "protect":
        return {"am"}
    return {"am", "pm"} if c.time_of_use not in ("am", "pm") else {c.time_of_use}


def build_routine(ranked: list[Candidate], conflicts: list[RoutineConflict], budget: float | None = None,
                  max_treatments: int = 2) -> Routine:
    """Essentials first (cleanse, moisturise, protect), then treatments while the budget lasts. A step
    other than treatment takes a second product only when the first cannot serve both morning and
    evening (a day cream gets a night cream, not an evening without moisturiser). Conflicting actives
    can only be split between two treatments; a product that clashes with a daily one (cleanser,
    moisturiser, sunscreen) is passed over for the next of its kind."""
    chosen: dict[str, list[Candidate]] = {}
    total, skipped = 0.0, []
    pairs = {frozenset((x.product_a, x.product_b)) for x in conflicts if x.kind in ("conflict", "caution")}
    order = sorted(ranked, key=lambda c: (step_of(c.category) not in ESSENTIAL, ranked.index(c)))
    for c in order:
        step = step_of(c.category)
        if step is None or c.stock <= 0:
            continue
        if step == "treat":
            if len(chosen.get(step, [])) >= max_treatments:
                continue
        elif _times(step, c) <= set().union(*(_times(step, x) for x in chosen.get(step, []))):
            continue
        if any(frozenset((c.sku, x.sku)) in pairs for st, xs in chosen.items() for x in xs
               if not (st == "treat" and step == "treat")):
            continue
        if budget is not None and total + c.price > budget:
            skipped.append(c.sku)
            continue
        chosen.setdefault(step, []).append(c)
        total += c.price
    r = Routine(total=round(total, 2), skipped=skipped)
    night_only: set[str] = set()
    for step, _ in STEPS:
        placed: set[str] = set()   # times this (non-treatment) step already has a product for
        for c in chosen.get(step, []):
            if step != "treat":
                c_times = _times(step, c) - placed
                placed |= c_times
                c = replace(c, time_of_use="any" if c_times == {"am", "pm"} else next(iter(c_times)))
            am_ok = step != "protect" and c.time_of_use in ("am", "any")
            pm_ok = step != "protect" and c.time_of_use in ("pm", "any")
            if step == "protect":
                r.am.append(RoutineStep(step, c.sku, c.name, c.price))
                continue
            clash = [o for o in night_only if frozenset((o, c.sku)) in pairs]
            if clash and am_ok:
                # conflicting actives: this one moves to the morning
                r.am.append(RoutineStep(step, c.sku, c.name, c.price, note=f"mornings only: not with {clash[0]}"))
                continue
            if clash:
                r.alternate_nights.append((clash[0], c.sku))
                r.pm.append(RoutineStep(step, c.sku, c.name, c.price, note=f"alternate nights with {clash[0]}"))
                continue
            if am_ok and (step != "treat" or c.time_of_use == "am"):
                r.am.append(RoutineStep(step, c.sku, c.name, c.price))
            if pm_ok:
                r.pm.append(RoutineStep(step, c.sku, c.name, c.price))
                if step == "treat":
                    night_only.add(c.sku)
    return r
