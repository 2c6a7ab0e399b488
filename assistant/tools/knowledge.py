"""Tools that answer from the knowledge graph and the brand's documents."""

from __future__ import annotations

from pydantic import BaseModel, Field

from assistant.tools.base import ToolContext, ToolResult, tool
from assistant.types import Citation
from graph.model import PREGNANCY_EXCLUDED
from skinsage.errors import NotFound

_EVIDENCE_RANK = {"strong": 0, "moderate": 1, "limited": 2, "traditional": 3}


def resolve_ingredient(ctx: ToolContext, text: str) -> str:
    hits = ctx.graph.resolve(text, kinds=("ingredient",), limit=1)
    if not hits or hits[0].score < 0.8:
        raise NotFound(f"I don't know an ingredient called {text!r}")
    return hits[0].id


class SearchArgs(BaseModel):
    query: str = Field(min_length=1, max_length=2000, description="the customer's question, in their words")
    k: int = Field(default=4, ge=1, le=10)


@tool("search_knowledge", SearchArgs)
def search_knowledge(ctx: ToolContext, args: SearchArgs) -> ToolResult:
    """Search the brand's documents (policies, guides, FAQs, ingredient explainers) and graph facts."""
    if ctx.retriever is None:
        raise NotFound("knowledge search is not available right now")
    filters = None
    try:
        from retrieval.models import SearchFilters

        filters = SearchFilters(exclude_ingredients=list(ctx.profile.avoid))
    except ImportError:  # pragma: no cover - retrieval is part of the product; fakes pass None
        pass
    hits = ctx.retriever.search(args.query, k=args.k, filters=filters)
    found = [{"text": h.text, "label": h.citation.label, "kind": h.citation.kind, "id": h.id} for h in hits]
    cites = [Citation(kind="document" if h.citation.kind == "document" else "graph", label=h.citation.label,
                      ref=h.id) for h in hits]
    return ToolResult(data={"hits": found}, citations=cites,
                      summary=f"{len(found)} hits: " + "; ".join(f["label"] for f in found[:3]))


class IngredientArgs(BaseModel):
    ingredient: str = Field(min_length=1, max_length=200, description="ingredient name, INCI, synonym or abbreviation")


@tool("ingredient_info", IngredientArgs)
def ingredient_info(ctx: ToolContext, args: IngredientArgs) -> ToolResult:
    """What an ingredient does, what it helps, its cautions (pregnancy, sun, skin types) and conflicts."""
    d = ctx.graph.ingredient(resolve_ingredient(ctx, args.ingredient))
    ing = d.ingredient
    helps = sorted(ing.addresses, key=lambda a: _EVIDENCE_RANK.get(a.evidence, 9))
    data = {
        "id": ing.id, "name": ing.display_name, "inci": ing.inci, "description": ing.description,
        "kind": ing.kind, "pregnancy": ing.pregnancy, "photosensitising": ing.photosensitising,
        "time_of_use": ing.time_of_use, "typical_concentration": ing.typical_concentration,
        "irritation": ing.irritation, "comedogenic": ing.comedogenic,
        "helps": [{"concern": d.concern_names.get(a.concern, a.concern), "evidence": a.evidence} for a in helps],
        "may_aggravate": [{"concern": d.concern_names.get(a.concern, a.concern), "note": a.note}
                          for a in ing.may_aggravate],
        "caution_for": [{"skin_type": c.skin_type, "reason": c.reason} for c in ing.caution_for],
        "conflicts": [{"with": c.other_name, "kind": c.kind, "severity": c.severity, "advice": c.advice}
                      for c in d.conflicts],
        "synergies": [{"with": c.other_name, "reason": c.reason} for c in d.synergies],
        "avoided_by_customer": ing.id in ctx.profile.avoid,
    }
    cites = [Citation(kind="graph", label=f"Ingredient:{ing.id}" + (f" ({ing.source})" if ing.source else ""),
                      ref=f"ingredient:{ing.id}")]
    cites += [Citation(kind="graph", label=f"Ingredient:{ing.id} -ADDRESSES({a.evidence})-> Concern:{a.concern}",
                       ref=f"addresses:{ing.id}:{a.concern}") for a in helps[:3]]
    return ToolResult(data=data, citations=cites, summary=f"{ing.display_name}: helps {len(helps)} concerns, "
                      f"pregnancy {ing.pregnancy}, {len(d.conflicts)} conflicts")


class CombineArgs(BaseModel):
    ingredients: list[str] = Field(min_length=2, max_length=6, description="two or more ingredients to combine")


@tool("check_ingredient_combination", CombineArgs)
def check_ingredient_combination(ctx: ToolContext, args: CombineArgs) -> ToolResult:
    """Whether ingredients can be used together, with the reason and how to combine them safely."""
    ids = list(dict.fromkeys(resolve_ingredient(ctx, t) for t in args.ingredients))
    pairs, cites = [], []
    names = {}
    for i in ids:
        d = ctx.graph.ingredient(i)
        names[i] = d.ingredient.display_name
        for x in [*d.conflicts, *d.synergies]:
            if x.other_id in ids and x.other_id > i:
                pairs.append({"a": d.ingredient.display_name, "b": x.other_name, "kind": x.kind,
                              "severity": x.severity, "reason": x.reason, "advice": x.advice})
                lo, hi = sorted((i, x.other_id))
                cites.append(Citation(kind="graph", label=f"Ingredient:{lo} -{'WORKS_WELL_WITH' if x.kind == 'synergy' else 'CONFLICTS_WITH'}-> Ingredient:{hi}",
                                      ref=f"{x.kind}:{lo}:{hi}"))
    return ToolResult(data={"ingredients": [names[i] for i in ids], "pairs": pairs}, citations=cites,
                      summary=f"{len(pairs)} known interactions among {', '.join(ids)}")


class RoutineArgs(BaseModel):
    products: list[str] = Field(default=[], max_length=12, description="product names or SKUs the customer uses or considers")
    include_purchases: bool = Field(default=True, description="also check products the verified customer bought recently")


@tool("check_routine_conflicts", RoutineArgs)
def check_routine_conflicts(ctx: ToolContext, args: RoutineArgs) -> ToolResult:
    """Conflicts between the key actives of products used together (e.g. a retinoid and an AHA)."""
    skus: list[str] = []
    unknown: list[str] = []
    for text in args.products:
        hits = ctx.graph.find_products(text, limit=1)
        (skus.append(hits[0].id) if hits else unknown.append(text))
    if args.include_purchases and ctx.verified_customer:
        recent = ctx.graph.customer(ctx.verified_customer, order_limit=6).orders
        skus += [line.sku for o in recent if o.status not in ("cancelled", "returned") for line in o.lines]
    skus = list(dict.fromkeys(skus))
    if len(skus) < 2:
        raise NotFound("I need at least two products to check" + (f" (I couldn't find: {', '.join(unknown)})" if unknown else ""))
    names = {s: ctx.graph.product(s).product.name for s in skus}
    conflicts = [{"product_a": names[c.product_a], "product_b": names[c.product_b], "ingredient_a": c.ingredient_a,
                  "ingredient_b": c.ingredient_b, "kind": c.kind, "severity": c.severity, "reason": c.reason,
                  "advice": c.advice} for c in ctx.graph.routine_conflicts(skus)]
    cites = [Citation(kind="graph", label=f"Ingredient:{c['ingredient_a']} -CONFLICTS_WITH-> Ingredient:{c['ingredient_b']}")
             for c in conflicts]
    return ToolResult(data={"products": list(names.values()), "conflicts": conflicts, "unknown": unknown},
                      citations=cites, summary=f"{len(conflicts)} conflicts among {len(skus)} products")


class ConcernArgs(BaseModel):
    concern: str = Field(min_length=1, max_length=200, description="a skin concern in the customer's words")


@tool("concern_info", ConcernArgs)
def concern_info(ctx: ToolContext, args: ConcernArgs) -> ToolResult:
    """Which ingredients help a skin concern, strongest evidence first, and whether a professional should look."""
    hits = ctx.graph.resolve(args.concern, kinds=("concern",), limit=1)
    if not hits or hits[0].score < 0.8:
        raise NotFound(f"I don't know the concern {args.concern!r}")
    d = ctx.graph.concern(hits[0].id, limit=8)
    safe = [r for r in d.ingredients if not (ctx.profile.pregnant_or_breastfeeding and r.pregnancy in PREGNANCY_EXCLUDED)]
    data = {"id": d.concern.id, "name": d.concern.name, "description": d.concern.description,
            "see_professional": d.concern.see_professional,
            "ingredients": [{"name": r.name, "evidence": r.evidence, "pregnancy": r.pregnancy} for r in safe[:6]],
            "filtered_for_pregnancy": len(safe) < len(d.ingredients)}
    cites = [Citation(kind="graph", label=f"Ingredient:{r.id} -ADDRESSES({r.evidence})-> Concern:{d.concern.id}",
                      ref=f"addresses:{r.id}:{d.concern.id}") for r in safe[:3]]
    return ToolResult(data=data, citations=cites, summary=f"{d.concern.name}: {len(safe)} ingredients")


class ProductArgs(BaseModel):
    product: str = Field(min_length=1, max_length=200, description="product name or SKU")


@tool("product_info", ProductArgs)
def product_info(ctx: ToolContext, args: ProductArgs) -> ToolResult:
    """A product's price, size, availability, key actives, full ingredient list, and whether it suits this customer."""
    hits = ctx.graph.find_products(args.product, limit=1)
    if not hits:
        raise NotFound(f"I couldn't find a product called {args.product!r}")
    d = ctx.graph.product(hits[0].id)
    p = d.product
    flags = ctx.graph.ingredient_safety([p.sku]).get(p.sku, {})
    avoid_hits = [i.name for i in d.ingredients if i.id in ctx.profile.avoid]
    pregnancy_hits = [i.name for i in d.ingredients if flags.get(i.id) in PREGNANCY_EXCLUDED]
    key = {k for k in p.key_ingredients}
    data = {"sku": p.sku, "name": p.name, "brand": d.brand_name, "category": p.category, "price": p.price,
            "size": f"{p.size.amount:g} {p.size.unit}", "in_stock": p.stock_on_hand > 0,
            "time_of_use": p.time_of_use, "skin_types": p.skin_types, "description": p.description,
            "key_actives": [{"name": i.name, "percent": i.percent} for i in d.ingredients if i.id in key] or
                           [{"name": i.name, "percent": i.percent} for i in d.ingredients if i.kind == "active"][:3],
            "inci": p.inci, "url": p.url, "contains_your_avoided": avoid_hits,
            "pregnancy_flagged": pregnancy_hits if ctx.profile.pregnant_or_breastfeeding else [],
            "lasts_days": round(p.days_per_pack)}
    from assistant.types import ProductCard

    card = ProductCard(sku=p.sku, name=p.name, price=p.price, currency=ctx.currency, url=p.url, image=p.image)
    ok = not avoid_hits and not data["pregnancy_flagged"]
    return ToolResult(data=data, products=[card] if ok else [],
                      citations=[Citation(kind="graph", label=f"Product:{p.sku}", ref=f"product:{p.sku}")],
                      summary=f"{p.sku}: {'in stock' if data['in_stock'] else 'out of stock'}")
