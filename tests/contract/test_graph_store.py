"""One contract, run unchanged against the embedded graph and a real Neo4j server."""

from __future__ import annotations

import pytest

from graph.cypher_store import CypherGraphStore
from graph.views import ProfileQuery
from skinsage.errors import InvalidInput, NotFound


@pytest.mark.parametrize(("text", "kind", "expected"), [
    ("vit c", "ingredient", "ascorbic-acid"),
    ("Vitamin C", "ingredient", "ascorbic-acid"),
    ("L-Ascorbic Acid", "ingredient", "ascorbic-acid"),
    ("BHA", "ingredient", "salicylic-acid"),
    ("niacinamde", "ingredient", "niacinamide"),          # typo
    ("salicilic acid", "ingredient", "salicylic-acid"),  # typo in a two-word name
    ("large pores", "concern", "enlarged-pores"),
    ("zits", "concern", "acne"),
    ("greasy skin", "skin_type", "oily"),
    ("FX-NIA-10", "product", "FX-NIA-10"),
    ("1,2-hexanediol", "ingredient", "1-2-hexanediol"),
])
def test_resolve_links_free_text_to_the_right_node(loaded_store: CypherGraphStore, text: str, kind: str,
                                                     expected: str) -> None:
    hits = [m for m in loaded_store.resolve(text) if m.kind == kind]
    assert hits and hits[0].id == expected


def test_resolve_finds_every_entity_in_a_sentence(loaded_store: CypherGraphStore) -> None:
    hits = loaded_store.resolve("can I use vit c with BPO on my oily skin if I get breakouts?")
    assert {(m.kind, m.id) for m in hits} >= {("ingredient", "ascorbic-acid"), ("ingredient", "benzoyl-peroxide"),
                                              ("skin_type", "oily"), ("concern", "acne")}


def test_resolve_returns_nothing_for_unrelated_text_and_rejects_empty(loaded_store: CypherGraphStore) -> None:
    assert loaded_store.resolve("what time does the shop open") == []
    with pytest.raises(InvalidInput):
        loaded_store.resolve("   ")


def test_ingredient_detail_has_its_concerns_ranked_by_evidence(loaded_store: CypherGraphStore) -> None:
    d = loaded_store.ingredient("niacinamide")
    assert d.ingredient.inci == "Niacinamide"
    assert [(a.concern, a.evidence) for a in d.ingredient.addresses] == [
        ("dark-spots", "moderate"), ("enlarged-pores", "moderate"), ("acne", "limited")]
    assert d.ingredient.addresses[1].source == "fixture"
    assert [s.other_id for s in d.synergies] == ["sodium-hyaluronate"]
    assert d.product_count == 1


def test_ingredient_detail_shows_conflicts_from_either_side(loaded_store: CypherGraphStore) -> None:
    d = loaded_store.ingredient("retinol")
    assert {(c.other_id, c.kind) for c in d.conflicts} == {("glycolic-acid", "conflict"),
                                                           ("salicylic-acid", "caution")}
    assert d.ingredient.pregnancy == "avoid"
    assert [c.skin_type for c in d.ingredient.caution_for] == ["sensitive"]
    glycolic = loaded_store.ingredient("glycolic-acid")
    assert [c.other_id for c in glycolic.conflicts] == ["retinol"]


def test_unknown_ids_raise_not_found(loaded_store: CypherGraphStore) -> None:
    for call in (lambda: loaded_store.ingredient("unobtainium"), lambda: loaded_store.concern("boredom"),
                 lambda: loaded_store.product("NOPE-1"), lambda: loaded_store.customer("cus-nobody")):
        with pytest.raises(NotFound):
            call()


def test_ingredients_for_a_concern_come_strongest_evidence_first(loaded_store: CypherGraphStore) -> None:
    ranked = loaded_store.ingredients_for_concern("acne")
    assert [r.id for r in ranked] == ["benzoyl-peroxide", "salicylic-acid", "retinol", "niacinamide"]
    assert [r.evidence for r in ranked] == ["strong", "strong", "moderate", "limited"]
    assert loaded_store.concern("acne", limit=2).ingredients[0].id == "benzoyl-peroxide"


def test_product_detail_keeps_label_order_and_brand(loaded_store: CypherGraphStore) -> None:
    d = loaded_store.product("FX-GLY-07")
    assert [i.id for i in d.ingredients] == ["water", "glycolic-acid", "glycerin", "phenoxyethanol", "linalool"]
    assert [i.position for i in d.ingredients] == [1, 2, 3, 4, 5]
    assert d.ingredients[1].percent == 7
    assert d.brand_name == "Fixture Lab"
    assert d.product.actives == {"glycolic-acid": 7}
    assert d.product.days_per_pack == pytest.approx(200 / 1.5)


def test_products_for_a_profile_are_explained_by_graph_paths(loaded_store: CypherGraphStore) -> None:
    matches = loaded_store.products_for_profile(ProfileQuery(skin_type="oily", concerns=["enlarged-pores"]))
    assert [m.sku for m in matches] == ["FX-BHA-02", "FX-NIA-10"]
    nia = matches[1]
    assert nia.concerns_matched == ["enlarged-pores"]
    assert "Product:FX-NIA-10 -CONTAINS-> Ingredient:niacinamide -ADDRESSES(moderate)-> Concern:enlarged-pores" in [
        p.text for p in nia.paths]
    assert any(p.relationships == ["FOR_SKIN_TYPE"] for p in nia.paths)


def test_allergen_is_excluded_at_any_position(loaded_store: CypherGraphStore) -> None:
    q = ProfileQuery(concerns=["dark-spots"], include_out_of_stock=True)
    assert "FX-GLY-07" in {m.sku for m in loaded_store.products_for_profile(q)}
    q_allergic = q.model_copy(update={"avoid": ["linalool"]})   # linalool is last on the label
    assert "FX-GLY-07" not in {m.sku for m in loaded_store.products_for_profile(q_allergic)}


def test_pregnant_customer_is_never_offered_retinoids_or_caution_actives(loaded_store: CypherGraphStore) -> None:
    lines = loaded_store.products_for_profile(ProfileQuery(concerns=["fine-lines"]))
    assert "FX-RET-03" in {m.sku for m in lines}
    pregnant = ProfileQuery(concerns=["fine-lines", "acne"], pregnant_or_breastfeeding=True)
    skus = {m.sku for m in loaded_store.products_for_profile(pregnant)}
    assert skus == {"FX-NIA-10"}   # retinol (avoid), salicylic acid and BPO (caution) are all out


def test_out_of_stock_budget_and_category_filters(loaded_store: CypherGraphStore) -> None:
    spots = ProfileQuery(concerns=["dark-spots"])
    assert {m.sku for m in loaded_store.products_for_profile(spots)} == {"FX-VC-15", "FX-NIA-10"}
    cheap = spots.model_copy(update={"max_price": 30})
    assert {m.sku for m in loaded_store.products_for_profile(cheap)} == {"FX-NIA-10"}
    toners = spots.model_copy(update={"category": "toner", "include_out_of_stock": True})
    assert {m.sku for m in loaded_store.products_for_profile(toners)} == {"FX-GLY-07"}


def test_products_for_a_skin_type_alone(loaded_store: CypherGraphStore) -> None:
    matches = loaded_store.products_for_profile(ProfileQuery(skin_type="sensitive"))
    assert matches[0].sku == "FX-HYD-01" and matches[0].score == 1.0


def test_routine_conflicts_pairs_products_by_their_key_actives(loaded_store: CypherGraphStore) -> None:
    found = loaded_store.routine_conflicts(["FX-RET-03", "FX-GLY-07", "FX-BHA-02", "FX-NIA-10", "FX-HYD-01"])
    assert {(c.product_a, c.ingredient_a, c.product_b, c.ingredient_b, c.kind) for c in found} == {
        ("FX-GLY-07", "glycolic-acid", "FX-RET-03", "retinol", "conflict"),
        ("FX-BHA-02", "salicylic-acid", "FX-RET-03", "retinol", "caution"),
    }
    assert all(c.advice for c in found)
    assert loaded_store.routine_conflicts(["FX-NIA-10", "FX-HYD-01"]) == []
    vc_bpo = loaded_store.routine_conflicts(["FX-VC-15", "FX-BPO-05"])
    assert [(c.product_a, c.ingredient_a, c.ingredient_b) for c in vc_bpo] == [
        ("FX-BPO-05", "benzoyl-peroxide", "ascorbic-acid")]


def test_several_products_are_read_in_one_call_and_unknown_skus_are_absent(loaded_store: CypherGraphStore) -> None:
    assert "FX-NIA-10" in loaded_store.product_skus() and loaded_store.product_skus() == sorted(loaded_store.product_skus())
    found = loaded_store.products_by_sku(["FX-NIA-10", "NOPE-1", "FX-NIA-10"])
    assert list(found) == ["FX-NIA-10"]
    assert found["FX-NIA-10"].key_ingredients == loaded_store.product("FX-NIA-10").product.key_ingredients


def test_every_customer_is_listed_once_in_id_order(loaded_store: CypherGraphStore) -> None:
    assert loaded_store.customer_ids() == ["cus-ana", "cus-ben"]


def test_customer_profile_with_orders_newest_first(loaded_store: CypherGraphStore) -> None:
    p = loaded_store.customer("cus-ana")
    assert p.customer.skin_type == "oily"
    assert [a.ingredient for a in p.customer.avoids] == ["linalool"]
    assert [o.id for o in p.orders] == ["SS-1002", "SS-1001"]
    first = p.orders[1]
    assert [(line.sku, line.quantity) for line in first.lines] == [("FX-BHA-02", 2), ("FX-NIA-10", 1)]
    assert first.total == 70.0 and first.tracking == "DH123"
    assert loaded_store.customer("cus-ben").orders == []


def test_customer_by_verified_identity(loaded_store: CypherGraphStore) -> None:
    assert loaded_store.customer_by_identity("email:ana@example.eu") == "cus-ana"
    assert loaded_store.customer_by_identity("telegram:9001") == "cus-ben"
    assert loaded_store.customer_by_identity("email:someone@else.eu") is None


def test_stats_count_what_was_loaded(loaded_store: CypherGraphStore) -> None:
    counts = loaded_store.stats().counts
    assert counts["Ingredient"] == 14 and counts["Product"] == 7 and counts["CustomerOrder"] == 2
    assert loaded_store.stats().loaded


def test_facts_are_citable_sentences_with_their_graph_path(loaded_store: CypherGraphStore) -> None:
    facts = {f.id: f for f in loaded_store.facts()}
    link = facts["addresses:niacinamide:enlarged-pores"]
    assert link.text == "Niacinamide helps with enlarged pores (evidence: moderate)."
    assert link.path.text == "Ingredient:niacinamide -ADDRESSES(moderate)-> Concern:enlarged-pores"
    conflict = facts["conflict:glycolic-acid:retinol"]
    assert "should not be combined" in conflict.text and "Alternate nights." in conflict.text
    assert "avoided during pregnancy" in facts["ingredient:retinol"].text
    assert "out of stock" in facts["product:FX-GLY-07"].text
    assert "Glycolic Acid 7%" in facts["product:FX-GLY-07"].text
    assert len([f for f in facts.values() if f.kind == "synergy"]) == 1


def test_order_by_number_carries_the_owner_contact(loaded_store: CypherGraphStore) -> None:
    view = loaded_store.order("SS-1001")
    assert view.order.customer_id == "cus-ana" and view.customer_email == "ana@example.eu"
    assert view.order.total == 70.0
    with pytest.raises(NotFound):
        loaded_store.order("SS-9999")


def test_find_products_by_partial_name(loaded_store: CypherGraphStore) -> None:
    assert [m.id for m in loaded_store.find_products("the vitamin c serum")] == ["FX-VC-15"]
    assert loaded_store.find_products("my serum") == []
    assert loaded_store.find_products("FX-BPO-05")[0].score == 1.0


def test_product_sales_history(loaded_store: CypherGraphStore) -> None:
    from datetime import date

    assert loaded_store.product_sales("FX-NIA-10", date(2026, 1, 1)) == [(date(2026, 1, 10), 1), (date(2026, 3, 1), 1)]
    assert loaded_store.product_sales("FX-BHA-02", date(2026, 2, 1)) == []


def test_ingredient_safety_lists_every_ingredient_with_its_pregnancy_rating(loaded_store: CypherGraphStore) -> None:
    flags = loaded_store.ingredient_safety(["FX-RET-03", "FX-NIA-10"])
    assert flags["FX-RET-03"]["retinol"] == "avoid"
    assert set(flags["FX-NIA-10"]) == {"water", "niacinamide", "glycerin", "1-2-hexanediol", "phenoxyethanol"}
