"""The `GraphStore` port: what the rest of SkinSage may ask of the knowledge graph.

Domain-level questions only (resolve, explain, match, check), so callers never write Cypher and a
fake can stand in for unit tests of the layers above.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from datetime import date

from pydantic import BaseModel

from graph.facts import GraphFact
from graph.model import Customer, KnowledgeBundle, Product
from graph.views import (
    ConcernDetail,
    CustomerProfile,
    EntityKind,
    EntityMatch,
    GraphStats,
    IngredientDetail,
    OrderView,
    ProductDetail,
    ProductMatch,
    ProfileQuery,
    RankedIngredient,
    RoutineConflict,
)


class LoadReport(BaseModel):
    rows: dict[str, int]
    #: per node label / relationship type: created, updated, deleted, unchanged
    changes: dict[str, dict[str, int]] = {}
    statements: int
    dry_run: bool = False
    seconds: float

    @property
    def written(self) -> int:
        return sum(v.get("created", 0) + v.get("updated", 0) + v.get("deleted", 0) for v in self.changes.values())


class GraphStore(ABC):
    """Read and write the skincare knowledge graph. Raises `NotFound`, `GraphUnavailable`, `GraphError`."""

    backend: str = "abstract"

    # lifecycle
    @abstractmethod
    def ping(self) -> None: ...

    @abstractmethod
    def stats(self) -> GraphStats: ...

    @abstractmethod
    def load(self, bundle: KnowledgeBundle, *, atomic: bool = True, batch_size: int = 5000,
             dry_run: bool = False) -> LoadReport:
        """Write a bundle idempotently. `atomic`: one transaction, all or nothing. `dry_run`: report only."""

    @abstractmethod
    def reset(self) -> None:
        """Delete the whole graph (the CLI's `load --reset`, test isolation)."""

    @abstractmethod
    def close(self) -> None: ...

    @property
    def closed(self) -> bool:
        """True once `close()` ran. Background work (model fits, forecasts) that fails after it stops
        quietly: a short-lived process closing its graph is not an outage worth a traceback."""
        return bool(getattr(self, "_closed", False))

    # questions
    @abstractmethod
    def resolve(self, text: str, kinds: tuple[EntityKind, ...] | None = None,
                limit: int = 10) -> list[EntityMatch]: ...

    @abstractmethod
    def find_products(self, text: str, limit: int = 3) -> list[EntityMatch]:
        """Products named in free text by SKU or (part of) their name, best first."""

    @abstractmethod
    def ingredient_safety(self, skus: list[str]) -> dict[str, dict[str, str]]:
        """For each product, every ingredient id with its pregnancy rating: what safety checks need."""

    @abstractmethod
    def product_sales(self, sku: str, since: date) -> list[tuple[date, int]]:
        """Units sold per day (non-cancelled orders) since a date: the demand history."""

    @abstractmethod
    def ingredient(self, ingredient_id: str) -> IngredientDetail: ...

    @abstractmethod
    def concern(self, concern_id: str, limit: int = 15) -> ConcernDetail: ...

    @abstractmethod
    def ingredients_for_concern(self, concern_id: str, limit: int = 15,
                                include_medicines: bool = False) -> list[RankedIngredient]:
        """Strongest evidence first; cosmetic ingredients only unless medicines are asked for."""

    @abstractmethod
    def allergen_group_members(self, group_ids: list[str]) -> list[str]:
        """Every ingredient id in these allergen groups."""

    @abstractmethod
    def product(self, sku: str) -> ProductDetail: ...

    @abstractmethod
    def products_for_profile(self, query: ProfileQuery) -> list[ProductMatch]: ...

    @abstractmethod
    def routine_conflicts(self, skus: list[str]) -> list[RoutineConflict]: ...

    @abstractmethod
    def facts(self) -> list[GraphFact]:
        """Every citable fact (ingredient-concern evidence, interactions, profiles, products)."""

    @abstractmethod
    def customer(self, customer_id: str, order_limit: int = 50) -> CustomerProfile: ...

    @abstractmethod
    def product_skus(self) -> list[str]:
        """Every product's SKU, sorted (the stock report walks the whole catalogue)."""

    @abstractmethod
    def products_by_sku(self, skus: list[str]) -> dict[str, Product]:
        """Several products' own properties in one query, by SKU (unknown SKUs are absent). The
        ingredient list is left empty: `product(sku)` has it, with each ingredient's details."""

    @abstractmethod
    def customer_ids(self) -> list[str]:
        """Every customer's id, sorted (segmentation and seasonal jobs walk them all)."""

    @abstractmethod
    def order(self, order_id: str) -> OrderView:
        """An order by its number. Callers check ownership (graph has no notion of who asks)."""

    def update_customer(self, customer: Customer) -> None:
        """Replace a customer's profile (skin type, concerns, avoidances, pregnancy, identities)."""
        self.load(KnowledgeBundle(customers=[customer]), atomic=True)

    @abstractmethod
    def customer_by_identity(self, identity: str) -> str | None:
        """`identity` is `channel:value`, e.g. `email:ana@example.eu`; returns a customer id."""

    @abstractmethod
    def forget_customer(self, customer_id: str) -> dict[str, int]:
        """Right to erasure: delete the customer's profile (skin type, concerns, avoidances, pregnancy,
        contact details) and verified identities, and keep their orders only anonymised (unlinked, no
        customer id, carrier or tracking number) so sales history and demand forecasts stay true.
        Idempotent; returns counts (`customer`, `identities`, `orders_anonymised`), all 0 the second time."""

    def __enter__(self) -> GraphStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
