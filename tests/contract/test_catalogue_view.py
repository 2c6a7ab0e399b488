"""The in-memory catalogue snapshot answers exactly what the Cypher statements answer, on both
backends, and a catalogue write through the store is seen by the very next question."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from contextlib import contextmanager

from graph.catalogue_view import CatalogueCache
from graph.cypher_store import CypherGraphStore
from graph.model import KnowledgeBundle
from graph.views import ProfileQuery


def with_view(store: CypherGraphStore) -> CatalogueCache:
    """Neo4j keeps no snapshot unless configured; the contract holds for both when it does."""
    if store.catalogue is None:
        store.catalogue = store.new_catalogue()
    return store.catalogue


@contextmanager
def cypher_only(store: CypherGraphStore) -> Iterator[None]:
    cache, store.catalogue = store.catalogue, None
    try:
        yield
    finally:
        store.catalogue = cache


def both(store: CypherGraphStore, ask):  # type: ignore[no-untyped-def]
    with_view(store)
    from_view = ask()
    with cypher_only(store):
        from_cypher = ask()
    return from_view, from_cypher


def queries(bundle: KnowledgeBundle) -> list[ProfileQuery]:
    concerns = sorted(c.id for c in bundle.concerns)
    out = []
    for n, (skin, wanted, avoid, pregnant, price, category, oos, contains) in enumerate(itertools.product(
            [None, "oily", "sensitive"], [[], concerns[:1], ["dark-spots", "acne"], ["fine-lines"]],
            [[], ["linalool"]], [False, True], [None, 30.0], [None, "serum", "toner"], [False, True],
            [[], ["niacinamide"]])):
        if n % 3:
            continue   # a third of the grid, still every value of every filter
        out.append(ProfileQuery(skin_type=skin, concerns=wanted, avoid=avoid, pregnant_or_breastfeeding=pregnant,
                                max_price=price, category=category, include_out_of_stock=oos, contains=contains,
                                limit=1 + n % 4))
    return out


def test_snapshot_ranks_filters_and_explains_like_cypher(loaded_store: CypherGraphStore,
                                                         fixture_bundle: KnowledgeBundle) -> None:
    nonempty = 0
    for q in queries(fixture_bundle):
        view, cypher = both(loaded_store, lambda q=q: [m.model_dump() for m in loaded_store.products_for_profile(q)])
        assert view == cypher, q
        nonempty += bool(view)
    assert nonempty > 100   # the comparison is not between empty lists


def test_snapshot_labels_products_and_conflicts_match_cypher(loaded_store: CypherGraphStore) -> None:
    skus = ["FX-RET-03", "FX-GLY-07", "FX-BHA-02", "FX-NIA-10", "FX-HYD-01", "FX-VC-15", "FX-BPO-05", "NOPE-1"]
    view, cypher = both(loaded_store, lambda: loaded_store.ingredient_safety(skus))
    assert view == cypher and set(view) == set(skus) - {"NOPE-1"}
    view, cypher = both(loaded_store, lambda: loaded_store.products_by_sku(skus))
    assert view == cypher and len(view) == 7
    key = lambda c: (c.product_a, c.ingredient_a, c.product_b, c.ingredient_b, c.kind, c.severity)
    view, cypher = both(loaded_store, lambda: loaded_store.routine_conflicts(skus))
    assert sorted(map(key, view)) == sorted(map(key, cypher)) and len(view) == 3


def test_a_stock_change_is_seen_by_the_next_recommendation(empty_store: CypherGraphStore,
                                                           fixture_bundle: KnowledgeBundle) -> None:
    with_view(empty_store)
    empty_store.load(fixture_bundle)
    spots = ProfileQuery(concerns=["dark-spots"])
    assert {m.sku for m in empty_store.products_for_profile(spots)} == {"FX-VC-15", "FX-NIA-10"}
    nia = next(p for p in fixture_bundle.products if p.sku == "FX-NIA-10")
    empty_store.load(KnowledgeBundle(products=[nia.model_copy(update={"stock_on_hand": 0})]))
    assert {m.sku for m in empty_store.products_for_profile(spots)} == {"FX-VC-15"}
    assert empty_store.products_by_sku(["FX-NIA-10"])["FX-NIA-10"].stock_on_hand == 0


def test_customer_writes_keep_the_snapshot_and_reset_drops_it(empty_store: CypherGraphStore,
                                                             fixture_bundle: KnowledgeBundle) -> None:
    cache = with_view(empty_store)
    empty_store.load(fixture_bundle)
    before = cache.get()
    ana = next(c for c in fixture_bundle.customers if c.id == "cus-ana")
    empty_store.update_customer(ana.model_copy(update={"skin_type": "dry"}))
    assert cache.get() is before   # a profile save does not rebuild the catalogue
    empty_store.reset()
    assert empty_store.products_for_profile(ProfileQuery(skin_type="sensitive")) == []


def test_ingredient_and_concern_views_are_remembered_until_the_knowledge_changes(
        empty_store: CypherGraphStore, fixture_bundle: KnowledgeBundle) -> None:
    with_view(empty_store)
    empty_store.load(fixture_bundle)
    first = empty_store.ingredient("niacinamide")
    assert empty_store.ingredient("niacinamide") is first   # the second question asks the graph nothing
    view, cypher = both(empty_store, lambda: (empty_store.ingredient("niacinamide"), empty_store.concern("acne", 5)))
    assert view == cypher and len(cypher[1].ingredients) > 1
    ana = next(c for c in fixture_bundle.customers if c.id == "cus-ana")
    empty_store.update_customer(ana.model_copy(update={"skin_type": "dry"}))
    assert empty_store.ingredient("niacinamide") is first   # customer writes keep it
    nia = next(i for i in fixture_bundle.ingredients if i.id == "niacinamide")
    empty_store.load(KnowledgeBundle(ingredients=[nia.model_copy(update={"addresses": nia.addresses[:1]})]))
    after = empty_store.ingredient("niacinamide")   # an ADDRESSES change is seen by the next question
    assert [a.concern for a in first.ingredient.addresses] != [a.concern for a in after.ingredient.addresses]
    assert [a.concern for a in after.ingredient.addresses] == [nia.addresses[0].concern]
