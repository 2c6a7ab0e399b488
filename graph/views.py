"""What GraphStore queries return: typed, and carrying the graph path that justifies each answer."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field, field_validator

from graph.model import Concern, Customer, Ingredient, Order, Product

EntityKind = Literal["ingredient", "concern", "skin_type", "product", "brand", "allergen_group"]


class EntityMatch(BaseModel):
    """A span of free text linked to a graph node."""

    kind: EntityKind
    id: str
    name: str
    matched: str = Field(description="the alias that matched")
    score: float = Field(ge=0, le=1)
    start: int = 0
    end: int = 0


class PathStep(BaseModel):
    label: str
    id: str
    name: str


class GraphPath(BaseModel):
    """A path in the graph, kept so a reply can cite why it said something."""

    nodes: list[PathStep]
    relationships: list[str]

    @property
    def text(self) -> str:
        out = f"{self.nodes[0].label}:{self.nodes[0].id}"
        for rel, node in zip(self.relationships, self.nodes[1:], strict=True):
            out += f" -{rel}-> {node.label}:{node.id}"
        return out


class RankedIngredient(BaseModel):
    id: str
    name: str
    inci: str
    evidence: str
    weight: float
    source: str | None = None
    pregnancy: str = "unknown"
    status: str = "cosmetic"


class InteractionView(BaseModel):
    other_id: str
    other_name: str
    kind: str
    severity: str
    reason: str
    advice: str | None = None
    source: str | None = None


class IngredientDetail(BaseModel):
    ingredient: Ingredient
    concern_names: dict[str, str] = {}
    conflicts: list[InteractionView] = []
    synergies: list[InteractionView] = []
    product_count: int = 0


class ConcernDetail(BaseModel):
    concern: Concern
    ingredients: list[RankedIngredient] = []


class ProductIngredient(BaseModel):
    position: int
    id: str
    name: str
    inci: str
    kind: str
    percent: float | None = None


class ProductDetail(BaseModel):
    product: Product
    brand_name: str
    ingredients: list[ProductIngredient] = []


class ProfileQuery(BaseModel):
    """Who the products are for. Exclusions are hard: nothing that breaks them is returned."""

    skin_type: str | None = None
    concerns: list[str] = []
    avoid: list[str] = Field(default=[], description="ingredient ids the customer is allergic to or avoids")
    contains: list[str] = Field(default=[], description="ingredient ids a product must contain (any of them)")
    pregnant_or_breastfeeding: bool = False
    max_price: float | None = Field(default=None, ge=0)
    category: str | None = None
    include_out_of_stock: bool = False
    limit: int = Field(default=10, ge=1, le=100)

    @field_validator("concerns", "avoid", "contains")
    @classmethod
    def _dedupe(cls, v: list[str]) -> list[str]:
        return list(dict.fromkeys(v))


class ProductMatch(BaseModel):
    sku: str
    name: str
    brand: str
    category: str
    price: float
    stock_on_hand: int
    url: str | None = None
    image: str | None = None
    score: float
    concerns_matched: list[str] = []
    paths: list[GraphPath] = []


class RoutineConflict(BaseModel):
    product_a: str
    ingredient_a: str
    product_b: str
    ingredient_b: str
    kind: str
    severity: str
    reason: str
    advice: str | None = None


class CustomerProfile(BaseModel):
    customer: Customer
    orders: list[Order] = []


class OrderView(BaseModel):
    """An order with the contact details that prove ownership for a guest lookup."""

    order: Order
    customer_email: str | None = None
    customer_phone: str | None = None


class GraphStats(BaseModel):
    counts: dict[str, int]

    @property
    def loaded(self) -> bool:
        return self.counts.get("Ingredient", 0) > 0 and self.counts.get("Product", 0) > 0


__all__ = [
    "ConcernDetail",
    "CustomerProfile",
    "EntityMatch",
    "GraphPath",
    "GraphStats",
    "OrderView",
    "IngredientDetail",
    "InteractionView",
    "PathStep",
    "ProductDetail",
    "ProductIngredient",
    "ProductMatch",
    "ProfileQuery",
    "RankedIngredient",
    "RoutineConflict",
    "Product",
]
