"""The `Retriever` port and the hybrid retriever: graph facts + vectors + BM25, fused by rank.

Reciprocal rank fusion (score = sum of weight / (k + rank)) needs no score calibration between
rankers whose scores mean different things (cosine, BM25, graph match), and an item found by
several rankers rises above one found by a single ranker. Filters run after fusion, on a deeper
candidate pool, so a filtered search still returns k results when enough exist.
"""

from __future__ import annotations

import re
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol

from pydantic import ValidationError

from retrieval.embedder import Embedder
from retrieval.graph_ranker import AboutRanker, Linker
from retrieval.models import Hit, IndexItem, SearchFilters
from retrieval.vector_index import VectorIndex
from skinsage.errors import InvalidInput

#: Longer queries are refused, not truncated: a 10,000-character message is a paste (an email, a
#: whole INCI list of a routine), and silently answering its first part would cite the wrong thing.
MAX_QUERY_CHARS = 10_000
MAX_K = 100
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
#: Chosen on eval/retrieval.yaml: any k in 1-5 with weights in 0.5-1.0 scores within 0.01 of this.
#: The classic k=60 averages ranks so flatly that a weak ranker's noise outvotes a strong ranker's
#: confident first hit (recall@5 0.78 instead of 0.91 on the same set).
DEFAULT_WEIGHTS = {"graph": 0.7, "vectors": 1.0, "bm25": 0.7, "about": 0.7}
DEFAULT_RRF_K = 2.0


def validate_query(query: object) -> str:
    """The query as clean text, or `InvalidInput` saying what is wrong with it."""
    if not isinstance(query, str):
        raise InvalidInput(f"the query must be text, not {type(query).__name__}")
    text = " ".join(_CONTROL.sub(" ", query).split())
    if not text:
        raise InvalidInput("the query is empty; ask a question in words")
    if not any(ch.isalnum() for ch in text):
        raise InvalidInput("the query has no words to search for (only symbols or emoji)")
    if len(query) > MAX_QUERY_CHARS:
        raise InvalidInput(f"the query is {len(query):,} characters long; the limit is {MAX_QUERY_CHARS:,}. "
                           "Please ask about one thing at a time.")
    return text


def _validate_k(k: object) -> int:
    if isinstance(k, bool) or not isinstance(k, int) or not 1 <= k <= MAX_K:
        raise InvalidInput(f"k must be a whole number from 1 to {MAX_K}, not {k!r}")
    return k


def _validate_filters(filters: object) -> SearchFilters:
    if filters is None:
        return SearchFilters()
    if isinstance(filters, SearchFilters):
        return filters
    if isinstance(filters, Mapping):
        try:
            return SearchFilters(**filters)
        except ValidationError as e:
            raise InvalidInput(f"invalid search filters: {e.errors()[0]['msg']}") from e
    raise InvalidInput(f"filters must be SearchFilters, not {type(filters).__name__}")


class Ranker(Protocol):
    name: str

    def rank(self, query: str, n: int) -> list[tuple[str, float]]: ...


class VectorRanker:
    """Embed the query, ask the vector index for its nearest items."""

    name = "vectors"

    def __init__(self, index: VectorIndex, embedder: Embedder) -> None:
        self.index = index
        self.embedder = embedder

    def rank(self, query: str, n: int = 50) -> list[tuple[str, float]]:
        return self.index.search(self.embedder.encode([query])[0], n)


@dataclass(frozen=True)
class ProductInfo:
    """What product filters need, read live: stock changes between index syncs."""

    sku: str
    in_stock: bool
    ingredients: frozenset[str]


ProductLookup = Callable[[str], ProductInfo | None]


def reciprocal_rank_fusion(ranked: Mapping[str, Sequence[str]], weights: Mapping[str, float],
                           k: float = DEFAULT_RRF_K) -> list[tuple[str, float, dict[str, int]]]:
    """Fuse ranked id lists: (id, fused score, 1-based rank per list), best first, ties by id."""
    scores: dict[str, float] = {}
    ranks: dict[str, dict[str, int]] = {}
    for name, ids in ranked.items():
        w = weights.get(name, 1.0)
        for pos, item_id in enumerate(ids, start=1):
            scores[item_id] = scores.get(item_id, 0.0) + w / (k + pos)
            ranks.setdefault(item_id, {})[name] = pos
    order = sorted(scores, key=lambda i: (-scores[i], i))
    return [(i, scores[i], ranks[i]) for i in order]


class Retriever(ABC):
    """Find the items that answer a question, each with a citation. Raises `InvalidInput`."""

    def search(self, query: str, k: int = 5, filters: SearchFilters | None = None) -> list[Hit]:
        return self._search(validate_query(query), _validate_k(k), _validate_filters(filters))

    @abstractmethod
    def _search(self, query: str, k: int, filters: SearchFilters) -> list[Hit]: ...


class HybridRetriever(Retriever):
    """Any set of rankers fused by RRF; with one ranker it is that ranker alone (for evaluation)."""

    def __init__(self, items: Sequence[IndexItem], rankers: Sequence[Ranker], *,
                 weights: Mapping[str, float] | None = None, rrf_k: float = DEFAULT_RRF_K, pool: int = 50,
                 products: ProductLookup | None = None, link: Linker | None = None,
                 correct: Callable[[str], str] | None = None, about: AboutRanker | None = None) -> None:
        self._items = {i.id: i for i in items}
        self._about = about
        self._correct = correct
        self.rankers = list(rankers)
        self.weights = dict(weights or DEFAULT_WEIGHTS)
        self.rrf_k = rrf_k
        self.pool = pool
        self._products = products
        self._link = link

    def items(self) -> list[IndexItem]:
        return list(self._items.values())

    def about_warmed(self, timeout: float | None = None) -> bool:
        """Wait until every heading is linked (see AboutRanker.warm); True when done."""
        return self._about.warmed.wait(timeout) if self._about is not None else True

    @property
    def names(self) -> list[str]:
        return [r.name for r in self.rankers]

    def single(self, name: str) -> HybridRetriever:
        """One ranker alone, on the query as typed (no spelling correction): the evaluation baseline."""
        chosen = [r for r in self.rankers if r.name == name]
        if not chosen:
            raise InvalidInput(f"no ranker named {name!r}; have {self.names}")
        return HybridRetriever(list(self._items.values()), chosen, weights={name: 1.0}, rrf_k=self.rrf_k,
                               pool=self.pool, products=self._products, link=self._link)

    def _search(self, query: str, k: int, filters: SearchFilters) -> list[Hit]:
        pool = max(self.pool, 10 * k)
        restrictive = filters != SearchFilters()
        query = self._correct(query) if self._correct else query
        while True:
            ranked = {r.name: self._distinct(i for i, _ in r.rank(query, pool)) for r in self.rankers}
            if self._about is not None:
                ranked[self._about.name] = self._about.rank(
                    query, [[self._items[i] for i in ids if i in self._items] for ids in ranked.values()])
            hits = self._filtered(reciprocal_rank_fusion(ranked, self.weights, self.rrf_k), k, filters)
            if len(hits) >= k or not restrictive or pool >= 8 * max(self.pool, 10 * k):
                return hits
            pool *= 4          # filters removed too much: look deeper before giving up

    def _distinct(self, ids: Iterable[str]) -> list[str]:
        """One item per group: near-copies of one rule would otherwise fill a ranker's top ranks."""
        seen: set[str] = set()
        out = []
        for item_id in ids:
            item = self._items.get(item_id)
            key = item.dedupe_key if item else item_id
            if key not in seen:
                seen.add(key)
                out.append(item_id)
        return out

    def _filtered(self, fused: list[tuple[str, float, dict[str, int]]], k: int,
                  filters: SearchFilters) -> list[Hit]:
        kinds = set(filters.kinds or [])
        excluded = self._exclusions(filters.exclude_ingredients)
        hits: list[Hit] = []
        groups: set[str] = set()
        for item_id, score, ranks in fused:
            item = self._items.get(item_id)
            if item is None or item.dedupe_key in groups:
                continue
            if kinds and item.kind not in kinds and not ("graph" in kinds and not item.is_document):
                continue
            if item.kind == "product" and (filters.in_stock_only or excluded) and not self._product_ok(
                    item, filters.in_stock_only, excluded):
                continue
            groups.add(item.dedupe_key)
            hits.append(Hit(id=item.id, text=item.text, score=round(score, 6), citation=item.citation,
                            ranks=ranks, kind=item.kind))
            if len(hits) == k:
                break
        return hits

    def _exclusions(self, values: list[str]) -> frozenset[str]:
        """Ingredient ids to exclude; names ("fragrance", "vit c") are linked to ids when possible."""
        out = set(values)
        if self._link:
            for v in values:
                out.update(m.id for m in self._link(v) if m.kind == "ingredient" and m.score >= 0.9)
        return frozenset(out)

    def _product_ok(self, item: IndexItem, in_stock_only: bool, excluded: frozenset[str]) -> bool:
        """Unknown products fail closed: an allergen filter must never let an unverified product through."""
        info = self._products(item.entities[0]) if self._products and item.entities else None
        if info is None:
            return False
        if in_stock_only and not info.in_stock:
            return False
        return not (excluded & info.ingredients)
