"""Link free text to graph nodes: exact aliases first, then typo-tolerant matching.

Pure code over an in-memory alias table read once from the graph, so both adapters resolve the same
way and a resolve costs microseconds, not a round trip.
"""

from __future__ import annotations

import re
import unicodedata
from collections import defaultdict
from dataclasses import dataclass

from rapidfuzz import fuzz, process

from graph.views import EntityKind, EntityMatch

_NON_WORD = re.compile(r"[^a-z0-9%+]+")
#: Spellings customers use for the same thing; applied to aliases and text alike.
_SHORTHANDS = ((r"\bvitamin\b", "vit"), (r"\bvit\.", "vit"), (r"\bhyaluronic\b", "hyaluronic"))
_FUZZY_KINDS = ("ingredient", "concern", "skin_type", "brand")
_MAX_SPAN = 6


def normalise(text: str) -> str:
    text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode().lower()
    text = text.replace("&", " and ")
    for pattern, repl in _SHORTHANDS:
        text = re.sub(pattern, repl, text)
    return " ".join(_NON_WORD.sub(" ", text).split())


@dataclass(frozen=True)
class _Entry:
    kind: EntityKind
    id: str
    name: str
    alias: str


class Resolver:
    """Built from (kind, id, name, aliases) rows; answers `resolve(text)` with ranked matches."""

    def __init__(self, rows: list[tuple[EntityKind, str, str, list[str]]]) -> None:
        self._exact: dict[str, list[_Entry]] = defaultdict(list)
        for kind, id_, name, aliases in rows:
            for alias in {name, id_.replace("-", " "), *aliases}:
                norm = normalise(alias or "")
                if len(norm) < 2:
                    continue
                entry = _Entry(kind, id_, name, alias)
                for key in {norm, norm.replace(" ", "")} if len(norm.split()) <= 3 else {norm}:
                    if entry not in self._exact[key]:
                        self._exact[key].append(entry)
        self._products: dict[str, str] = {id_: name for kind, id_, name, _ in rows if kind == "product"}
        self._product_ids = list(self._products)
        self._product_names = [normalise(self._products[i]) for i in self._product_ids]
        self._fuzzy_keys: dict[str, list[str]] = {}
        for kind in (*_FUZZY_KINDS, "product"):
            self._fuzzy_keys[kind] = sorted(
                k for k, es in self._exact.items() if len(k) >= 4 and any(e.kind == kind for e in es))

    @property
    def size(self) -> int:
        return len(self._exact)

    def resolve(self, text: str, kinds: tuple[EntityKind, ...] | None = None,
                limit: int = 10) -> list[EntityMatch]:
        wanted = set(kinds or ("ingredient", "concern", "skin_type", "product", "brand"))
        tokens = normalise(text).split()
        used = [False] * len(tokens)
        found: dict[tuple[str, str], EntityMatch] = {}

        def add(entries: list[_Entry], score: float, start: int, end: int) -> bool:
            hit = False
            for e in entries:
                if e.kind not in wanted:
                    continue
                prev = found.get((e.kind, e.id))
                if prev is None or prev.score < score:
                    found[(e.kind, e.id)] = EntityMatch(kind=e.kind, id=e.id, name=e.name,
                                                        matched=e.alias, score=score, start=start, end=end)
                hit = True
            return hit

        # 1. exact alias spans, longest first, never overlapping
        for n in range(min(_MAX_SPAN, len(tokens)), 0, -1):
            for i in range(len(tokens) - n + 1):
                if any(used[i:i + n]):
                    continue
                span = " ".join(tokens[i:i + n])
                entries = self._exact.get(span) or self._exact.get(span.replace(" ", ""))
                if entries and add(entries, 1.0, i, i + n):
                    used[i:i + n] = [True] * n
        # 2. typos: every unmatched span of up to three words against the alias keys; the best-scoring
        #    spans win, so "hyaluronc acid" matches as two words rather than "hyaluronc acid ok" as three
        candidates: list[tuple[float, int, int, str]] = []
        for n in (3, 2, 1):
            for i in range(len(tokens) - n + 1):
                if any(used[i:i + n]):
                    continue
                span = " ".join(tokens[i:i + n])
                if len(span) < 5:
                    continue
                cutoff = 88.0 if len(span) < 8 else 84.0
                for kind in wanted:
                    keys = self._fuzzy_keys.get(kind, [])
                    hit = process.extractOne(span, keys, scorer=fuzz.ratio, score_cutoff=cutoff)
                    if hit:
                        candidates.append((hit[1], n, i, hit[0]))
        for score, n, i, key in sorted(candidates, key=lambda c: (-c[0], -c[1], c[2])):
            if any(used[i:i + n]):
                continue
            if add(self._exact[key], round(0.95 * score / 100, 3), i, i + n):
                used[i:i + n] = [True] * n
        ranked = sorted(found.values(), key=lambda m: (-m.score, m.start, m.kind, m.id))
        return ranked[:limit]

#: Words that say what kind of product, not which one: alone they must not pick a product.
_GENERIC = {"the", "a", "an", "my", "your", "this", "that", "serum", "cream", "moisturiser", "moisturizer",
            "cleanser", "toner", "oil", "mask", "gel", "lotion", "spf", "sunscreen", "sun", "eye", "face",
            "night", "day", "one", "product", "new", "for", "with", "and", "of", "in", "to", "is", "it",
            "what", "how", "much", "many", "do", "you", "have", "stock", "days", "cover", "left", "about",
            "tell", "me", "when", "runs", "out", "remind", "s", "i", "use", "using", "can", "does", "on"}


#: Words that carry nothing about a product at all (category words do, so they stay in the query).
_STOP = {"the", "a", "an", "my", "your", "this", "that", "is", "it", "what", "how", "much", "many", "do", "you",
         "have", "tell", "me", "about", "when", "s", "i", "can", "does", "in", "of", "for", "to", "and", "with",
         "on", "use", "using", "stock", "days", "cover", "left", "runs", "out", "remind", "any", "please"}


def _informative(tokens: list[str]) -> list[str]:
    return [t for t in tokens if t not in _GENERIC and len(t) > 1]


def match_products(resolver: Resolver, text: str, limit: int = 3, cutoff: float = 75.0) -> list[tuple[str, str, float]]:
    """Products named in free text ("the vitamin C serum", "LL-SER-010"): (sku, name, score 0-1).

    Exact SKUs win; otherwise names are scored by token overlap, and a candidate must share at least
    one informative word with the text, so "my serum" alone picks nothing.
    """
    exact = [(m.id, m.name, 1.0) for m in resolver.resolve(text, kinds=("product",), limit=limit) if m.score == 1.0]
    tokens = normalise(text).split()
    words = _informative(tokens)
    if not words:
        return exact[:limit]
    query = " ".join(t for t in tokens if t not in _STOP)
    hits = process.extract(query, resolver._product_names, scorer=fuzz.token_set_ratio, limit=max(limit * 10, 40),
                           score_cutoff=cutoff)
    out = []
    present = set(tokens)
    for _, score, idx in hits:
        name_tokens = set(resolver._product_names[idx].split())
        if not any(w in name_tokens or any(fuzz.ratio(w, t) >= 85 for t in name_tokens) for w in words):
            continue
        # how much of the product's own name the text carries: "niacinamide" alone is not "10% Niacinamide
        # Pore Serum", "the 2% BHA Pore Exfoliant" is "2% BHA Pore Exfoliant"
        covered = sum(1 for t in name_tokens if t in present or any(fuzz.ratio(t, p) >= 88 for p in present if len(p) > 3))
        coverage = covered / max(len(name_tokens), 1)
        sku = resolver._product_ids[idx]
        out.append((sku, resolver._products[sku], round(0.5 * score / 100 + 0.5 * coverage, 3)))
    seen = {e[0] for e in exact}
    out = exact + sorted((o for o in out if o[0] not in seen), key=lambda x: (-x[2], x[0]))
    return out[:limit]
