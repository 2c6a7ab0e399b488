"""Hard exclusions: what a customer is never offered, whatever the signals say.

Plain functions over plain data, applied by the recommender after scoring and again by the routine
builder, so no weight, popularity or co-purchase signal can bring an excluded product back.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from graph.model import PREGNANCY_EXCLUDED
from graph.views import RoutineConflict

#: Interactions with the current routine that exclude a product outright. Milder cautions (alternate
#: nights) are allowed and explained; the routine builder splits them between AM and PM.
BLOCKING: frozenset[tuple[str, str]] = frozenset({("conflict", "high"), ("conflict", "medium"),
                                                  ("conflict", "low"), ("caution", "high")})


@dataclass(frozen=True)
class Shopper:
    """Who the recommendation is for: the profile the exclusions and the content signal need."""

    customer_id: str | None = None
    skin_type: str | None = None
    concerns: tuple[str, ...] = ()
    avoid: frozenset[str] = frozenset()
    pregnant_or_breastfeeding: bool = False
    #: products in use now (recent purchases, or what they told us), for conflict checks
    routine: tuple[str, ...] = ()
    #: everything they bought before (not offered again as "new")
    bought: frozenset[str] = field(default_factory=frozenset)


def exclusion_reason(sku: str, shopper: Shopper, ingredients: Mapping[str, Mapping[str, str]],
                     conflicts: Iterable[RoutineConflict] = ()) -> str | None:
    """Why this product must not be offered, or None. Unknown ingredient data excludes: a product
    whose label we cannot check is not offered to someone with an allergy or a pregnancy."""
    label = ingredients.get(sku)
    if label is None:
        if shopper.avoid or shopper.pregnant_or_breastfeeding:
            return "ingredients unknown"
        label = {}
    hit = sorted(shopper.avoid & set(label))
    if hit:
        return f"contains {hit[0]}, which you avoid"
    if shopper.pregnant_or_breastfeeding:
        unsafe = sorted(i for i, rating in label.items() if rating in PREGNANCY_EXCLUDED)
        if unsafe:
            return f"contains {unsafe[0]}, not advised in pregnancy or while breastfeeding"
    routine = set(shopper.routine)
    for c in conflicts:
        other = c.product_b if c.product_a == sku else c.product_a if c.product_b == sku else None
        if other and other in routine and other != sku and (c.kind, c.severity) in BLOCKING:
            return f"conflicts with {other} in your routine: {c.reason}"
    return None


def allowed(skus: Iterable[str], shopper: Shopper, ingredients: Mapping[str, Mapping[str, str]],
            conflicts: Iterable[RoutineConflict] = ()) -> list[str]:
    conflicts = list(conflicts)
    return [s for s in skus if exclusion_reason(s, shopper, ingredients, conflicts) is None]
