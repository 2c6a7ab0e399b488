"""Assembling retrieval from its sources: documents folder + graph facts -> index -> retriever.

Called by the composition root (`skinsage.bootstrap.build_retriever`) with real adapters and by
tests with fakes; nothing here picks an adapter on its own.
"""

from __future__ import annotations

import functools
import threading
import time
from collections.abc import Mapping
from pathlib import Path

from graph.store import GraphStore
from retrieval.bm25 import BM25Index
from retrieval.corpus import build_items
from retrieval.documents import load_chunks
from retrieval.embedder import Embedder
from retrieval.graph_ranker import AboutRanker, GraphRanker, Linker
from retrieval.hybrid import (
    DEFAULT_RRF_K,
    HybridRetriever,
    ProductInfo,
    ProductLookup,
    Ranker,
    VectorRanker,
)
from retrieval.models import IndexItem
from retrieval.spelling import SpellingCorrector
from retrieval.vector_index import SyncReport, VectorIndex
from skinsage.errors import NotFound


def source_items(documents_dir: Path, graph: GraphStore | None) -> list[IndexItem]:
    """Everything retrievable right now: every document chunk and every graph fact."""
    return build_items(load_chunks(documents_dir), graph.facts() if graph is not None else [])


def sync_index(index: VectorIndex, embedder: Embedder, documents_dir: Path, graph: GraphStore | None,
               *, rebuild: bool = False) -> SyncReport:
    return index.sync(source_items(documents_dir, graph), embedder, rebuild=rebuild)


def graph_product_lookup(graph: GraphStore, ttl_s: float = 60.0) -> ProductLookup:
    """Live stock and full ingredient list per SKU, cached briefly (a search may check dozens)."""
    cache: dict[str, tuple[float, ProductInfo | None]] = {}
    lock = threading.Lock()

    def lookup(sku: str) -> ProductInfo | None:
        now = time.monotonic()
        with lock:
            hit = cache.get(sku)
        if hit and now - hit[0] < ttl_s:
            return hit[1]
        try:
            detail = graph.product(sku)
            info: ProductInfo | None = ProductInfo(sku=sku, in_stock=detail.product.stock_on_hand > 0,
                                                   ingredients=frozenset(i.id for i in detail.ingredients))
        except NotFound:
            info = None
        with lock:
            cache[sku] = (now, info)
        return info

    return lookup


def hybrid_retriever(index: VectorIndex, embedder: Embedder, link: Linker, *,
                     products: ProductLookup | None = None, weights: Mapping[str, float] | None = None,
                     rrf_k: float = DEFAULT_RRF_K) -> HybridRetriever:
    """The three rankers over what the index holds, fused, after spelling correction of the query.
    The graph ranker and the document ranker both link the question: one resolver call serves both
    (the last few questions are remembered, so concurrent searches rarely miss)."""
    raw_link, link = link, functools.lru_cache(maxsize=4)(link)   # per question, not a cache of questions
    items = index.items()
    rankers: list[Ranker] = [GraphRanker(items, link), VectorRanker(index, embedder),
                             BM25Index([i.id for i in items], [i.embed_text for i in items])]
    vocabulary = getattr(embedder, "vocabulary", None)
    speller = SpellingCorrector((i.embed_text for i in items), dictionary=vocabulary() if vocabulary else ())
    about = AboutRanker(link)
    # Headings are linked in the background: searches before it finishes link what they meet.
    threading.Thread(target=about.warm, args=(items, raw_link), name="heading-links", daemon=True).start()
    return HybridRetriever(items, rankers, weights=weights, rrf_k=rrf_k, products=products, link=link,
                           correct=speller.correct, about=about)
