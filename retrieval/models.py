"""What retrieval indexes and returns: plain validated data, no I/O."""

from __future__ import annotations

import hashlib
from typing import Literal

from pydantic import BaseModel, Field, field_validator

#: Separator of a heading path ("Returns › Damaged items"), also used in citation labels.
SECTION_SEP = " › "

ItemKind = Literal["document", "ingredient", "concern", "addresses", "may_aggravate", "conflict",
                   "caution", "synergy", "product"]
#: Kinds accepted by `SearchFilters.kinds`: an item kind, or "graph" for every graph fact.
FilterKind = Literal["document", "graph", "ingredient", "concern", "addresses", "may_aggravate",
                     "conflict", "caution", "synergy", "product"]


def content_hash(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


class Chunk(BaseModel):
    """A piece of a brand document, small enough to embed and specific enough to cite."""

    id: str = Field(description="doc#section-slug#ordinal: stable while the section keeps its heading")
    doc: str = Field(description="path relative to the documents folder, with forward slashes")
    title: str
    section: str = Field(description="heading path below the title; the title itself for the intro")
    text: str
    content_hash: str


class Citation(BaseModel):
    """Where a hit comes from, in a form a reply can show and an agent can follow."""

    kind: Literal["document", "graph"]
    doc: str | None = None
    title: str | None = None
    section: str | None = None
    graph_path: str | None = None
    fact_id: str | None = None

    @property
    def label(self) -> str:
        if self.kind == "graph":
            return self.graph_path or self.fact_id or "knowledge graph"
        if self.section and self.section != self.title:
            return f"{self.doc}{SECTION_SEP}{self.section}"
        return f"{self.doc}"


class IndexItem(BaseModel):
    """One retrievable unit: a document chunk or a graph fact, with what filters and citations need."""

    id: str
    kind: ItemKind
    text: str = Field(description="what is shown and keyword-indexed")
    embed_text: str = Field(description="what is embedded: text with its title and section for context")
    content_hash: str
    citation: Citation
    entities: list[str] = []
    prior: float = Field(default=0.0, description="evidence strength or severity; breaks graph ties")
    group: str | None = Field(default=None, description="items expanded from one rule share it; one is shown")

    @property
    def dedupe_key(self) -> str:
        return self.group or self.id

    @property
    def is_document(self) -> bool:
        return self.kind == "document"


class SearchFilters(BaseModel):
    """Optional restrictions a caller asks for; they never add results, only remove them."""

    in_stock_only: bool = False
    exclude_ingredients: list[str] = Field(default=[], description="ingredient ids, e.g. a customer's allergens")
    kinds: list[FilterKind] | None = Field(default=None, description="keep only these item kinds")

    @field_validator("exclude_ingredients")
    @classmethod
    def _dedupe(cls, v: list[str]) -> list[str]:
        return list(dict.fromkeys(x.strip().lower() for x in v if x.strip()))


class Hit(BaseModel):
    id: str
    text: str
    score: float
    citation: Citation
    ranks: dict[str, int] = Field(default={}, description="1-based rank in each ranker that found it")
    kind: ItemKind = "document"
