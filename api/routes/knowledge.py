"""A small read API over the knowledge graph. Routes validate, call the store, return a schema."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query
from pydantic import BaseModel, Field

from api.deps import GraphDep
from graph.store import GraphStore
from graph.views import (
    ConcernDetail,
    EntityKind,
    EntityMatch,
    IngredientDetail,
    ProductDetail,
    ProductMatch,
    ProfileQuery,
    RoutineConflict,
)
from skinsage.errors import NotFound

router = APIRouter(prefix="/v1", tags=["knowledge"])
Name = Annotated[str, Path(min_length=1, max_length=200, description="an id, a name, a synonym, or a typo of one")]


def _resolve_one(graph: GraphStore, text: str, kind: EntityKind) -> str:
    matches = graph.resolve(text, kinds=(kind,), limit=1)
    if not matches or matches[0].score < 0.8:
        raise NotFound(f"no {kind.replace('_', ' ')} matches {text!r}")
    return matches[0].id


@router.get("/resolve", response_model=list[EntityMatch])
def resolve(graph: GraphDep, q: Annotated[str, Query(min_length=1, max_length=2000)],
            limit: Annotated[int, Query(ge=1, le=50)] = 10) -> list[EntityMatch]:
    """Link the entities in free text to graph nodes."""
    return graph.resolve(q, limit=limit)


@router.get("/ingredients/{name}", response_model=IngredientDetail)
def ingredient(graph: GraphDep, name: Name) -> IngredientDetail:
    return graph.ingredient(_resolve_one(graph, name, "ingredient"))


@router.get("/concerns/{name}", response_model=ConcernDetail)
def concern(graph: GraphDep, name: Name, limit: Annotated[int, Query(ge=1, le=100)] = 15) -> ConcernDetail:
    return graph.concern(_resolve_one(graph, name, "concern"), limit=limit)


@router.get("/products/{sku}", response_model=ProductDetail)
def product(graph: GraphDep, sku: Annotated[str, Path(min_length=1, max_length=64)]) -> ProductDetail:
    return graph.product(sku)


@router.get("/products", response_model=list[ProductMatch])
def products(graph: GraphDep, q: Annotated[ProfileQuery, Query()]) -> list[ProductMatch]:
    """Products for a profile, each with the graph paths that explain it. Exclusions are hard."""
    return graph.products_for_profile(q)


class RoutineIn(BaseModel):
    skus: list[Annotated[str, Field(min_length=1, max_length=64)]] = Field(min_length=1, max_length=30)


@router.post("/routine/conflicts", response_model=list[RoutineConflict])
def routine_conflicts(graph: GraphDep, body: RoutineIn) -> list[RoutineConflict]:
    for sku in body.skus:
        graph.product(sku)  # 404 for an unknown product rather than a silent "no conflicts"
    return graph.routine_conflicts(body.skus)
