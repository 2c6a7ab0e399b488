"""The knowledge graph's entities, as plain validated data.

The same models validate curated YAML on the way in and carry query results on the way out, so a
field means one thing everywhere. No I/O here.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator

Slug = Annotated[str, StringConstraints(pattern=r"^[a-z0-9][a-z0-9-]*$", max_length=80)]
Evidence = Literal["strong", "moderate", "limited", "traditional"]
Severity = Literal["high", "medium", "low"]
Pregnancy = Literal["safe", "caution", "avoid", "unknown"]
TimeOfUse = Literal["am", "pm", "any"]

#: Pregnancy ratings never offered to a pregnant or breastfeeding customer, at any position on a label.
PREGNANCY_EXCLUDED: frozenset[str] = frozenset({"avoid", "caution"})

#: How much each evidence level counts when ranking ingredients and products.
EVIDENCE_WEIGHT: dict[str, float] = {"strong": 3.0, "moderate": 2.0, "limited": 1.0, "traditional": 0.5}


class Strict(BaseModel):
    """Unknown keys are an error, so a typo in a data file is caught instead of ignored."""

    model_config = ConfigDict(extra="forbid", frozen=False)


class SkinType(Strict):
    id: Slug
    name: str
    synonyms: list[str] = []
    description: str = ""
    source: str | None = None


class Concern(Strict):
    id: Slug
    name: str
    synonyms: list[str] = []
    category: str = ""
    description: str = ""
    see_professional: bool = False
    source: str | None = None


class ConcernLink(Strict):
    concern: Slug
    evidence: Evidence
    source: str | None = None
    note: str | None = None


class SkinTypeCaution(Strict):
    skin_type: Slug
    reason: str


class Ingredient(Strict):
    id: Slug
    inci: str
    common_names: list[str] = []
    synonyms: list[str] = []
    family: Slug | None = None
    kind: Literal["active", "functional"] = "active"
    functions: list[str] = []
    comedogenic: int | None = Field(default=None, ge=0, le=5)
    irritation: Literal["low", "medium", "high"] = "low"
    pregnancy: Pregnancy = "unknown"
    photosensitising: bool = False
    time_of_use: TimeOfUse = "any"
    typical_concentration: str | None = None
    evidence: Evidence = "limited"
    description: str = ""
    addresses: list[ConcernLink] = []
    may_aggravate: list[ConcernLink] = []
    suits: list[Slug] = []
    caution_for: list[SkinTypeCaution] = []
    source: str | None = None
    #: Where it may be sold: cosmetics, medicines (prescription or pharmacy), or banned in EU cosmetics.
    status: Literal["cosmetic", "medicine", "banned"] = "cosmetic"
    #: Allergen groups it belongs to (filled by the loader from allergen_groups.yaml).
    allergen_groups: list[Slug] = []
    #: False for ingredients met in a store's data but not yet curated by a person.
    reviewed: bool = True

    @property
    def display_name(self) -> str:
        """What customers call it: a short INCI name as printed (Niacinamide, Salicylic Acid), else the
        common name for long chemical names (Avobenzone for Butyl Methoxydibenzoylmethane)."""
        words = self.inci.split()
        if len(words) <= 2 and all(w.replace("-", "").isalpha() for w in words):
            return self.inci
        return self.common_names[0] if self.common_names else self.inci


class Interaction(Strict):
    """A pair of ingredients (or `family:<slug>` before expansion) and how they combine."""

    a: str
    b: str
    kind: Literal["conflict", "caution", "synergy"]
    severity: Severity = "low"
    reason: str
    advice: str | None = None
    source: str | None = None


class AllergenGroup(Strict):
    """A class of ingredients people are allergic to as a whole ("fragrance", "nuts", "aspirin")."""

    id: Slug
    name: str
    synonyms: list[str] = []
    families: list[Slug] = []
    ingredients: list[Slug] = []
    source: str | None = None


class Brand(Strict):
    id: Slug
    name: str
    parent: Slug | None = None
    description: str = ""
    url: str | None = None


class Quantity(Strict):
    amount: float = Field(gt=0)
    unit: Literal["ml", "g"]


class Product(Strict):
    sku: Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]*$", max_length=64)]
    name: str
    brand: Slug
    category: str
    size: Quantity
    dose_per_use: Quantity
    uses_per_day: float = Field(gt=0, le=4)
    price: float = Field(ge=0)
    stock_on_hand: int = 0
    lead_time_days: int = Field(default=14, ge=0)
    time_of_use: TimeOfUse = "any"
    skin_types: list[Slug] = []
    concerns: list[Slug] = []
    actives: dict[str, float] = {}
    inci: str
    url: str | None = None
    image: str | None = None
    description: str = ""
    #: Canonical ingredient ids in label order; filled by the loader from `inci`.
    ingredients: list[Slug] = []
    #: The ingredients present at an active level (declared %, or an active high on the list); only
    #: these count for routine conflicts and concern matching. Filled by the loader.
    key_ingredients: list[Slug] = []

    @model_validator(mode="after")
    def _same_units(self) -> Product:
        if self.size.unit != self.dose_per_use.unit:
            raise ValueError(f"size is in {self.size.unit} but dose_per_use in {self.dose_per_use.unit}")
        if self.dose_per_use.amount > self.size.amount:
            raise ValueError("dose_per_use is larger than the pack")
        return self

    @property
    def days_per_pack(self) -> float:
        """How long one pack lasts at the label's dose: the basis of restock timing."""
        return self.size.amount / (self.dose_per_use.amount * self.uses_per_day)


class Avoidance(Strict):
    ingredient: Slug
    reason: Literal["allergy", "preference"] = "allergy"


class Customer(Strict):
    id: Slug
    name: str
    email: str | None = None
    phone: str | None = None
    skin_type: Slug | None = None
    concerns: list[Slug] = []
    avoids: list[Avoidance] = []
    pregnancy: Literal["none", "pregnant", "breastfeeding"] = "none"
    age_band: str | None = None
    climate: str | None = None
    timezone: str = "Europe/Berlin"
    #: Verified channel identities as `channel:value` (`email:a@b.eu`, `phone:+4917...`).
    identities: list[str] = []
    consents: list[str] = []


class OrderLine(Strict):
    sku: str
    quantity: int = Field(ge=1)
    unit_price: float = Field(ge=0)


class Order(Strict):
    id: str
    customer_id: Slug
    placed_at: date
    status: Literal["pending", "paid", "processing", "shipped", "delivered", "cancelled", "returned"]
    carrier: str | None = None
    tracking: str | None = None
    currency: str = "EUR"
    lines: list[OrderLine] = Field(min_length=1)

    @property
    def total(self) -> float:
        return round(sum(line.quantity * line.unit_price for line in self.lines), 2)


class KnowledgeBundle(BaseModel):
    """Everything one load writes, already validated and cross-checked."""

    skin_types: list[SkinType] = []
    concerns: list[Concern] = []
    ingredients: list[Ingredient] = []
    interactions: list[Interaction] = []
    allergen_groups: list[AllergenGroup] = []
    brands: list[Brand] = []
    products: list[Product] = []
    customers: list[Customer] = []
    orders: list[Order] = []
