"""The graph ranker: link the question to graph entities, rank the facts about those entities.

Entity linking is the graph's own resolver (synonyms, abbreviations, typos: "vit c", "BHA",
"salicilic"), so "can I use vit c with niacinamide" reaches the interaction fact between
ascorbic acid and niacinamide even though neither word appears in it. A fact ranks higher the more
linked entities it joins, the more of it is about them, and the stronger its evidence.
"""

from __future__ import annotations

import logging
import re
import threading
from collections import defaultdict
from collections.abc import Callable, Iterable

from graph.views import EntityMatch
from retrieval.models import IndexItem

log = logging.getLogger(__name__)

Linker = Callable[[str], list[EntityMatch]]

_PRODUCT_CUE = re.compile(r"\b(products?|serums?|creams?|moisturi[sz]ers?|cleansers?|toners?|masks?|"
                          r"sunscreens?|spf|buy|sell|stock|price|cost|recommend\w*|in your (shop|range))\b", re.IGNORECASE)
_PAIR_KINDS = {"conflict", "caution", "synergy"}


class GraphRanker:
    name = "graph"

    def __init__(self, items: list[IndexItem], link: Linker, *, max_query_chars: int = 2000) -> None:
        self._link = link
        self._max_chars = max_query_chars
        self._by_entity: dict[str, list[IndexItem]] = defaultdict(list)
        for item in items:
            if not item.is_document:
                for entity in dict.fromkeys(item.entities):
                    self._by_entity[entity].append(item)

    def entities(self, query: str) -> dict[str, float]:
        """Linked entity id -> link confidence. Long messages are linked on their opening part."""
        out: dict[str, float] = {}
        for m in self._link(query[:self._max_chars]):
            out[m.id] = max(out.get(m.id, 0.0), m.score)
        return out

    def rank(self, query: str, n: int = 50) -> list[tuple[str, float]]:
        linked = self.entities(query)
        if not linked:
            return []
        wants_products = bool(_PRODUCT_CUE.search(query))
        keyed: dict[str, tuple[tuple[float, ...], float]] = {}
        for entity in linked:
            for item in self._by_entity.get(entity, []):
                if item.id in keyed:
                    continue
                hits = [e for e in dict.fromkeys(item.entities) if e in linked]
                coverage = len(hits) / len(set(item.entities))
                intent = 1.0 if (wants_products and item.kind == "product") or (
                    len(hits) > 1 and item.kind in _PAIR_KINDS) else 0.0
                confidence = sum(linked[e] for e in hits) / len(hits)
                key = (len(hits), intent, round(coverage, 3), item.prior, round(confidence, 3))
                score = len(hits) + intent * 0.5 + coverage * 0.25 + item.prior * 0.01
                keyed[item.id] = (key, score)
        ordered = sorted(keyed.items(), key=lambda kv: (tuple(-x for x in kv[1][0]), kv[0]))
        if not ordered:
            return []
        best = ordered[0][1][0][0]
        # A fact that joins several linked entities answers the question; facts about only one of
        # them are then background, and ranking them would only add noise to the fusion.
        return [(item_id, round(score, 4)) for item_id, (key, score) in ordered[:n] if key[0] == best]


class AboutRanker:
    """Graph-guided document ranking: of the passages the other rankers found, those *about* the
    entities the question names come first.

    A passage is about an entity when its heading (or its document's title) links to it through the
    same resolver as the question: "Can I use retinol and AHAs together?" is about retinol and the
    AHAs, every section of "Niacinamide" is about niacinamide. Headings are linked once and cached
    (documents share headings), so this adds no per-query work beyond a set intersection per candidate.
    Among passages equally about the question, the order of the rankers it re-ranks is kept. Only
    the best `limit` are voted for: more would crowd the graph's own fact out of the first five
    (measured on eval/retrieval.yaml: limit 2 keeps the interaction fact for "vit c with niacinamide").
    """

    name = "about"
    _KINDS = ("ingredient", "concern")

    def __init__(self, link: Linker, *, min_score: float = 0.85, max_query_chars: int = 2000,
                 limit: int = 2) -> None:
        self._link = link
        self.limit = limit
        self._min = min_score
        self._max_chars = max_query_chars
        self._cache: dict[str, frozenset[str]] = {}
        self.warmed = threading.Event()

    def _linked(self, text: str, link: Linker | None = None) -> frozenset[str]:
        return frozenset(m.id for m in (link or self._link)(text[:self._max_chars])
                         if m.kind in self._KINDS and m.score >= self._min)

    def warm(self, items: Iterable[IndexItem], link: Linker | None = None) -> int:
        """Link every heading and title of `items` now, so no question pays for a heading it is the
        first to meet (linking one costs ~3 ms; unwarmed, they made the slowest 5% of hybrid searches
        on 50,000 chunks three times slower than the median). `link` may be the uncached linker, so
        warming does not push the questions in flight out of a shared per-question cache. Returns how
        many were linked; `warmed` is set when done."""
        linked = 0
        try:
            for item in items:
                if item.is_document:
                    for heading in (item.citation.section, item.citation.title):
                        if heading and heading not in self._cache:
                            self._cache[heading] = self._linked(heading, link)
                            linked += 1
        except Exception as e:  # noqa: BLE001 - e.g. the graph closed under a short-lived process
            log.info("heading linking stopped after %d headings: %s", linked, e)
        finally:
            self.warmed.set()
        return linked

    def _entities(self, heading: str | None) -> frozenset[str]:
        """A heading's entities, cached: headings come from the corpus, so the cache is bounded."""
        if not heading:
            return frozenset()
        hit = self._cache.get(heading)
        if hit is None:
            hit = self._cache[heading] = self._linked(heading)
        return hit

    def rank(self, query: str, candidates: list[list[IndexItem]]) -> list[str]:
        """Document ids from `candidates` (each a ranked list) that share an entity with the query."""
        linked = self._linked(query)
        if not linked:
            return []
        best: dict[str, tuple[int, int, int]] = {}
        for ranked in candidates:
            for pos, item in enumerate(ranked):
                if not item.is_document or item.id in best:
                    continue
                heading = len(linked & self._entities(item.citation.section))
                title = len(linked & self._entities(item.citation.title))
                if heading or title:
                    best[item.id] = (-heading, -title, pos)
        return sorted(best, key=lambda i: (best[i], i))[:self.limit]
