"""On the curated knowledge with a scaled catalogue (many products share scores, so tie-breaks
matter), the catalogue snapshot ranks exactly like the Cypher statements, and recommendations are
unchanged end to end."""

from __future__ import annotations

import random

import pytest

from commerce.exclusions import Shopper
from commerce.live import recommend_live
from graph.embedded import EmbeddedGraphStore
from graph.model import KnowledgeBundle
from graph.views import ProfileQuery
from ingest.demo import scaled_products
from ingest.knowledge import load_knowledge
from skinsage.settings import Settings


@pytest.fixture(scope="module")
def scaled(tmp_path_factory: pytest.TempPathFactory) -> tuple[EmbeddedGraphStore, KnowledgeBundle]:
    bundle = load_knowledge(Settings().knowledge_dir)
    bundle = bundle.model_copy(update={"products": scaled_products(bundle, 400)})
    store = EmbeddedGraphStore(tmp_path_factory.mktemp("scaled") / "g.lbdb")
    store.load(bundle, atomic=False)
    yield store, bundle
    store.close()


def _cases(bundle: KnowledgeBundle, n: int) -> list[ProfileQuery]:
    rng = random.Random(11)
    concerns = sorted(c.id for c in bundle.concerns)
    ings = sorted(i.id for i in bundle.ingredients)
    cats = sorted({p.category for p in bundle.products})
    return [ProfileQuery(skin_type=rng.choice([None, "oily", "dry", "combination", "normal", "sensitive"]),
                         concerns=rng.sample(concerns, rng.randint(0, 3)),
                         avoid=rng.sample(["linalool", "limonene", "lanolin", "fragrance"], rng.randint(0, 2)),
                         contains=rng.sample(ings, 1) if rng.random() < 0.15 else [],
                         pregnant_or_breastfeeding=rng.random() < 0.3,
                         max_price=rng.choice([None, None, 25.0, 60.0]),
                         category=rng.choice([None, None, None, *cats]),
                         include_out_of_stock=rng.random() < 0.5, limit=rng.choice([3, 10, 40]))
            for _ in range(n)]


def test_scaled_catalogue_ranks_like_cypher_including_ties(scaled: tuple[EmbeddedGraphStore, KnowledgeBundle]) -> None:
    store, bundle = scaled
    cache = store.catalogue
    cases = _cases(bundle, 150)
    view = [[m.model_dump() for m in store.products_for_profile(q)] for q in cases]
    store.catalogue = None
    try:
        cypher = [[m.model_dump() for m in store.products_for_profile(q)] for q in cases]
    finally:
        store.catalogue = cache
    assert sum(len(v) for v in view) > 500
    for q, a, b in zip(cases, view, cypher, strict=True):
        assert a == b, q


def test_recommendations_are_the_same_from_the_snapshot(scaled: tuple[EmbeddedGraphStore, KnowledgeBundle]) -> None:
    store, bundle = scaled
    cache = store.catalogue
    skus = [p.sku for p in bundle.products]
    routine = tuple(skus[:3])

    def run() -> list[list[tuple[str, str | None, str]]]:
        out = []
        for q in _cases(bundle, 40):
            shopper = Shopper(skin_type=q.skin_type, concerns=tuple(q.concerns), avoid=frozenset(q.avoid),
                              pregnant_or_breastfeeding=q.pregnant_or_breastfeeding, routine=routine)
            out.append([(r.sku, r.substitute_for, r.explanation)
                        for r in recommend_live(store, q, shopper, 6)])
        return out

    from_view = run()
    store.catalogue = None
    try:
        from_cypher = run()
    finally:
        store.catalogue = cache
    assert from_view == from_cypher and sum(map(len, from_view)) > 100
