"""Turn product records from any source (Shopify, a mapped CSV/JSON, a webhook) into validated
`Product`s whose INCI lists are resolved to canonical ingredient ids.

Why one place: every source differs in columns, not in meaning. A shop knows name, price, stock,
description and the INCI list; it does not know dose per use or which concerns a product targets.
Those come from the product already in the graph (curated or loaded before) and otherwise from
category defaults, so a re-import never erases what a person curated.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from pydantic import ValidationError

from graph.model import Brand, Ingredient, KnowledgeBundle, Product
from graph.resolver import normalise
from ingest.inci import InciMatcher, parse_inci
from ingest.knowledge import key_ingredients

#: Category -> (default pack size, dose per use, uses per day), used only when nothing better is known.
USAGE: dict[str, tuple[float, float, float]] = {
    "cleanser": (150, 2.0, 2), "toner": (200, 1.5, 2), "essence": (150, 1.0, 2), "serum": (30, 0.3, 2),
    "treatment": (30, 0.25, 1), "exfoliant": (100, 1.0, 1), "moisturiser": (50, 0.5, 2),
    "eye-cream": (15, 0.1, 2), "sunscreen": (50, 1.2, 1), "face-oil": (30, 0.2, 1), "mask": (75, 3.0, 0.3),
    "lip": (15, 0.1, 3), "body": (250, 4.0, 1), "other": (50, 0.5, 1),
}
#: Words in a product type or title that say its category; first match wins (eye cream before cream).
_CATEGORY_WORDS: tuple[tuple[str, str], ...] = (
    ("eye", "eye-cream"), ("spf", "sunscreen"), ("sunscreen", "sunscreen"), ("sun ", "sunscreen"),
    ("lip", "lip"), ("body", "body"), ("hand", "body"), ("mask", "mask"), ("cleans", "cleanser"),
    ("wash", "cleanser"), ("micellar", "cleanser"), ("toner", "toner"), ("tonic", "toner"), ("mist", "toner"),
    ("essence", "essence"), ("exfolia", "exfoliant"), ("peel", "exfoliant"), ("scrub", "exfoliant"),
    ("serum", "serum"), ("ampoule", "serum"), ("oil", "face-oil"), ("treatment", "treatment"),
    ("spot", "treatment"), ("moistur", "moisturiser"), ("cream", "moisturiser"), ("lotion", "moisturiser"),
    ("balm", "moisturiser"), ("gel", "moisturiser"),
)
_SIZE = re.compile(r"(\d+(?:[.,]\d+)?)\s*(ml|mls|millilitre|milliliter|g|gr|gram|grams|fl\.?\s*oz|oz)\b", re.IGNORECASE)
_SKU_BAD = re.compile(r"[^A-Za-z0-9._-]+")


@dataclass
class ProductDraft:
    """What a source says about one sellable variant; None means "the source does not say"."""

    sku: str
    name: str
    line: int | None = None
    brand: str | None = None
    kind: str | None = None            # the shop's product type ("Face Serum")
    category: str | None = None        # already one of ours (mapping files may say it directly)
    price: float | None = None
    stock: int | None = None
    size_text: str | None = None
    inci: str | None = None
    description: str | None = None
    image: str | None = None
    url: str | None = None
    tags: list[str] = field(default_factory=list)
    skin_types: list[str] = field(default_factory=list)
    concerns: list[str] = field(default_factory=list)


def clean_sku(value: str) -> str:
    return _SKU_BAD.sub("-", value.strip()).strip("-._")[:64]


def slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", normalise(text)).strip("-")[:80] or "x"


def category_of(*texts: str | None) -> str | None:
    for text in texts:
        low = f" {(text or '').lower()} "
        if low.strip() in USAGE:
            return low.strip()
        for word, cat in _CATEGORY_WORDS:
            if word in low:
                return cat
    return None


def parse_size(*texts: str | None) -> tuple[float, str] | None:
    for text in texts:
        m = _SIZE.search(text or "")
        if m:
            amount, unit = float(m.group(1).replace(",", ".")), m.group(2).lower().replace(" ", "")
            if unit.startswith("fl"):
                return round(amount * 29.5735, 1), "ml"
            if unit == "oz":
                return round(amount * 28.3495, 1), "g"
            return amount, "ml" if unit.startswith("m") else "g"
    return None


def _display(name: str) -> str:
    """An unknown ingredient's name as a person reads it: ALL CAPS and all-lower lists title-cased."""
    if name.isupper() or name.islower():
        return " ".join(w if w.upper() in ("CI", "PEG", "PPG", "HCL", "DNA") else w.capitalize()
                        for w in name.split(" "))
    return name


class Catalogue:
    """The curated knowledge a run resolves against, plus what the run found that nobody curated."""

    def __init__(self, knowledge: KnowledgeBundle, default_brand: str) -> None:
        self.by_id = {i.id: i for i in knowledge.ingredients}
        self.matcher = InciMatcher({i.id: [i.inci, *i.common_names, *i.synonyms] for i in knowledge.ingredients})
        self.brands = {b.id: b for b in knowledge.brands}
        self._brand_names = {normalise(b.name): b.id for b in knowledge.brands}
        self._tags: dict[str, tuple[str, str]] = {}
        for st in knowledge.skin_types:
            for alias in (st.id, st.name, *st.synonyms, f"{st.name} skin"):
                self._tags.setdefault(normalise(alias), ("skin_type", st.id))
        for c in knowledge.concerns:
            for alias in (c.id, c.name, *c.synonyms):
                self._tags.setdefault(normalise(alias), ("concern", c.id))
        self.default_brand = default_brand
        self.new_ingredients: dict[str, Ingredient] = {}
        self.new_brands: dict[str, Brand] = {}
        self.entries = 0
        self.resolved = 0
        self.unknown: Counter[str] = Counter()

    # --- ingredients ---------------------------------------------------------------------------
    def resolve_inci(self, text: str) -> tuple[list[str], dict[str, float]]:
        """Ingredient ids in label order and declared percentages; unknown names become unreviewed
        ingredient nodes (counted for the report), never dropped."""
        ids: list[str] = []
        declared: dict[str, float] = {}
        for entry in parse_inci(text):
            self.entries += 1
            hit = self.matcher.match(entry.name)
            if hit is None:
                hit = self._unknown(entry.name)
            else:
                self.resolved += 1
            if hit not in ids:
                ids.append(hit)
            if entry.percent is not None and not entry.may_contain:
                declared[hit] = entry.percent
        return ids, declared

    def _unknown(self, name: str) -> str:
        display = _display(name)
        self.unknown[display] += 1
        key = slug(display)
        if key in self.by_id and key not in self.new_ingredients:
            key = f"{key[:69]}-unreviewed"
        if key not in self.new_ingredients:
            self.new_ingredients[key] = Ingredient(
                id=key, inci=display, kind="functional", reviewed=False, evidence="limited",
                description="Met in a shop's ingredient list; not yet reviewed by a person.")
        return key

    # --- brands, tags --------------------------------------------------------------------------
    def brand_id(self, name: str | None) -> str:
        if not name or not name.strip():
            return self.default_brand if self.default_brand in self.brands else self._new_brand(self.default_brand)
        known = self._brand_names.get(normalise(name)) or (slug(name) if slug(name) in self.brands else None)
        return known or self._new_brand(name)

    def _new_brand(self, name: str) -> str:
        key = slug(name)
        self.new_brands.setdefault(key, Brand(id=key, name=name.strip() if name.strip() != key else name.replace("-", " ").title()))
        return key

    def tags(self, tags: list[str]) -> tuple[list[str], list[str]]:
        """Skin types and concerns named by shop tags ("oily skin", "concern:acne", "Dark Spots")."""
        skin, concerns = [], []
        for tag in tags:
            bare = tag.split(":", 1)[-1] if ":" in tag else tag
            hit = self._tags.get(normalise(bare))
            if hit and hit[0] == "skin_type" and hit[1] not in skin:
                skin.append(hit[1])
            elif hit and hit[0] == "concern" and hit[1] not in concerns:
                concerns.append(hit[1])
        return skin, concerns

    # --- products ------------------------------------------------------------------------------
    def product(self, d: ProductDraft, existing: Product | None) -> Product:
        """A validated product; raises ValueError with a reason a person can act on, and then leaves
        no trace (a rejected product's unknown ingredients are not created or counted)."""
        saved = (dict(self.new_ingredients), dict(self.new_brands), self.entries, self.resolved, Counter(self.unknown))
        try:
            return self._product(d, existing)
        except ValueError:
            self.new_ingredients, self.new_brands, self.entries, self.resolved, self.unknown = saved
            raise

    def _product(self, d: ProductDraft, existing: Product | None) -> Product:
        inci = d.inci.strip() if d.inci and d.inci.strip() else (existing.inci if existing else None)
        if not inci:
            raise ValueError("no ingredient list (neither an ingredients column/metafield nor an "
                             "'Ingredients:' paragraph in the description)")
        ids, declared = self.resolve_inci(inci)
        by_id = {**self.by_id, **self.new_ingredients}
        category = d.category or category_of(d.kind, d.name) or (existing.category if existing else "other")
        size = parse_size(d.size_text, d.name)
        default_size, default_dose, default_uses = USAGE.get(category, USAGE["other"])
        if size is None and existing is not None:
            size = (existing.size.amount, existing.size.unit)
        amount, unit = size or (default_size, "ml")
        if existing is not None and existing.dose_per_use.unit == unit:
            dose, uses = existing.dose_per_use.amount, existing.uses_per_day
        else:
            dose, uses = min(default_dose, amount), default_uses
        tag_skin, tag_concerns = self.tags(d.tags)
        skin = list(dict.fromkeys([*d.skin_types, *tag_skin])) or (existing.skin_types if existing else [])
        concerns = list(dict.fromkeys([*d.concerns, *tag_concerns])) or (existing.concerns if existing else [])
        actives = dict(declared) or {k: v for k, v in (existing.actives if existing else {}).items() if k in ids}
        data: dict[str, Any] = {
            "sku": d.sku, "name": d.name.strip(), "brand": self.brand_id(d.brand), "category": category,
            "size": {"amount": amount, "unit": unit}, "dose_per_use": {"amount": dose, "unit": unit},
            "uses_per_day": uses, "inci": inci, "skin_types": skin, "concerns": concerns, "actives": actives,
            "price": d.price if d.price is not None else (existing.price if existing else None),
            "stock_on_hand": d.stock if d.stock is not None else (existing.stock_on_hand if existing else 0),
            "description": d.description if d.description is not None else (existing.description if existing else ""),
            "image": d.image or (existing.image if existing else None),
            "url": d.url or (existing.url if existing else None),
        }
        if existing is not None:
            data.update(time_of_use=existing.time_of_use, lead_time_days=existing.lead_time_days)
        if data["price"] is None:
            raise ValueError("no price")
        try:
            product = Product.model_validate(data)
        except ValidationError as e:
            first = e.errors()[0]
            raise ValueError(f"{'.'.join(str(x) for x in first['loc'])}: {first['msg']}") from e
        product.ingredients = ids
        product.key_ingredients = key_ingredients(ids, product.actives, by_id)
        return product
