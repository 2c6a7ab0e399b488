"""The catalogue as the recommender sees it: products with their key actives, the evidence paths from
ingredient to concern, pregnancy ratings and interactions, in memory.

Built from a `KnowledgeBundle` (the demo, the evaluation, the benchmarks) with the same scoring the
graph uses for `HELPS_WITH` edges (`graph.rows.helps_with`), so offline numbers measure what the
graph-backed recommender ranks. No I/O here.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from graph.model import KnowledgeBundle
from graph.rows import concern_links, helps_with
from graph.views import RoutineConflict


@dataclass(frozen=True)
class Link:
    """One graph path Product -CONTAINS-> Ingredient -ADDRESSES(evidence)-> Concern."""

    ingredient: str
    ingredient_name: str
    concern: str
    concern_name: str
    evidence: str
    score: float = 0.0


@dataclass(frozen=True)
class Candidate:
    """A product the recommender may rank, with what the content signal found for this customer."""

    sku: str
    name: str
    category: str
    price: float
    stock: int
    key_ingredients: tuple[str, ...] = ()
    content: float = 0.0
    links: tuple[Link, ...] = ()
    skin_fit: bool = False
    #: 1 made for this skin type, 0.5 for any skin (none listed), 0 made for other skin types
    fit: float = 0.5
    #: concerns the brand declares the product targets (the graph's TARGETS edges)
    targets: frozenset[str] = frozenset()
    time_of_use: str = "any"
    url: str | None = None
    image: str | None = None


@dataclass
class Catalogue:
    products: dict[str, Candidate] = field(default_factory=dict)
    skin_types: dict[str, frozenset[str]] = field(default_factory=dict)
    #: sku -> concern -> (score, best path), from key actives only
    helps: dict[str, dict[str, Link]] = field(default_factory=dict)
    #: sku -> every ingredient on the label -> pregnancy rating (what `GraphStore.ingredient_safety` returns)
    ingredients: dict[str, dict[str, str]] = field(default_factory=dict)
    #: frozenset({a, b}) -> (kind, severity, reason, advice)
    interactions: dict[frozenset[str], tuple[str, str, str, str | None]] = field(default_factory=dict)
    ingredient_names: dict[str, str] = field(default_factory=dict)
    days_per_pack: dict[str, float] = field(default_factory=dict)

    @classmethod
    def from_bundle(cls, bundle: KnowledgeBundle) -> Catalogue:
        concern_names = {c.id: c.name for c in bundle.concerns}
        ratings = {i.id: i.pregnancy for i in bundle.ingredients}
        cat = cls(ingredient_names={i.id: i.display_name for i in bundle.ingredients})
        for p in bundle.products:
            cat.products[p.sku] = Candidate(sku=p.sku, name=p.name, category=p.category, price=p.price,
                                            stock=p.stock_on_hand, key_ingredients=tuple(p.key_ingredients),
                                            targets=frozenset(p.concerns),
                                            time_of_use=p.time_of_use, url=p.url, image=p.image)
            cat.skin_types[p.sku] = frozenset(p.skin_types)
            cat.ingredients[p.sku] = {i: ratings.get(i, "unknown") for i in p.ingredients}
            cat.days_per_pack[p.sku] = p.days_per_pack
        for e in helps_with(bundle, concern_links(bundle)):
            cat.helps.setdefault(e["src"], {})[e["dst"]] = Link(
                ingredient=e["ingredient"], ingredient_name=e["ingredient_name"], concern=e["dst"],
                concern_name=concern_names.get(e["dst"], e["dst"]), evidence=e["evidence"], score=e["score"])
        families: dict[str, list[str]] = {}
        for i in bundle.ingredients:
            if i.family:
                families.setdefault(i.family, []).append(i.id)
        for x in bundle.interactions:
            if x.kind == "synergy":
                continue
            for a in families.get(x.a.removeprefix("family:"), []) if x.a.startswith("family:") else [x.a]:
                for b in families.get(x.b.removeprefix("family:"), []) if x.b.startswith("family:") else [x.b]:
                    cat.interactions[frozenset((a, b))] = (x.kind, x.severity, x.reason, x.advice)
        return cat

    def candidate(self, sku: str, concerns: list[str], skin_type: str | None) -> Candidate:
        """The product scored for these concerns and skin type, as `products_for_profile` would."""
        base = self.products[sku]
        links = tuple(sorted((lk for c, lk in self.helps.get(sku, {}).items() if c in concerns),
                             key=lambda lk: -lk.score))
        listed = self.skin_types.get(sku, frozenset())
        return scored(base, links, concerns, skin_type, listed)

    def routine_conflicts(self, skus: list[str]) -> list[RoutineConflict]:
        """Key-active interactions between these products (the graph's `routine_conflicts`)."""
        out = []
        skus = list(dict.fromkeys(skus))
        for n, a in enumerate(skus):
            for b in skus[n + 1:]:
                for ia in self.products[a].key_ingredients:
                    for ib in self.products[b].key_ingredients:
                        hit = self.interactions.get(frozenset((ia, ib)))
                        if hit:
                            out.append(RoutineConflict(product_a=a, ingredient_a=ia, product_b=b, ingredient_b=ib,
                                                       kind=hit[0], severity=hit[1], reason=hit[2], advice=hit[3]))
        return out


def scored(base: Candidate, links: tuple[Link, ...], concerns: list[str], skin_type: str | None,
           listed: frozenset[str]) -> Candidate:
    """Content signal: ingredient evidence for the concerns (the ranker adds the concerns the product is
    declared for); `fit` says whether it is made for this skin type."""
    made_for = bool(skin_type) and skin_type in listed
    fit = 1.0 if made_for else 0.5 if not listed or not skin_type else 0.0
    content = sum(lk.score for lk in links)
    return Candidate(**{**base.__dict__, "content": content, "links": links, "skin_fit": made_for, "fit": fit})
