"""The hybrid recommender's promises: hard exclusions beat every signal, stock-aware substitutes,
explanations from the graph path."""

from __future__ import annotations

from commerce.catalogue import Candidate, Link
from commerce.collab import PurchaseModel
from commerce.exclusions import Shopper, exclusion_reason
from commerce.recommend import Weights, recommend
from graph.views import RoutineConflict

NIA = Link("niacinamide", "Niacinamide", "enlarged-pores", "Enlarged pores", "strong", 3.0)
RET = Link("retinol", "Retinol", "enlarged-pores", "Enlarged pores", "strong", 9.0)


def cand(sku: str, *, category: str = "serum", stock: int = 10, keys: tuple[str, ...] = (), content: float = 1.0,
         links: tuple[Link, ...] = ()) -> Candidate:
    return Candidate(sku=sku, name=f"{sku} name", category=category, price=20.0, stock=stock, key_ingredients=keys,
                     content=content, links=links, fit=1.0, skin_fit=True)


LABELS = {"RET": {"retinol": "avoid", "aqua": "safe"}, "NIA": {"niacinamide": "safe"},
          "FRA": {"linalool": "safe", "niacinamide": "safe"}, "NIA2": {"niacinamide": "safe", "zinc": "safe"}}


def loud_model() -> PurchaseModel:
    """Everybody bought RET and FRA: every collaborative signal pushes them to the top."""
    baskets = {f"c{i}": ["RET", "FRA", "NIA"] if i % 3 == 0 else ["RET", "FRA"] for i in range(30)}
    return PurchaseModel.fit(baskets, {c: "oily" for c in baskets}, concerns={c: ["enlarged-pores"] for c in baskets})


ALL_SIGNALS = Weights(targets=5, content=5, knn=5, segment=5, profile=5, popularity=5)


def test_pregnant_customer_is_never_offered_retinoids() -> None:
    cands = [cand("RET", keys=("retinol",), content=100, links=(RET,)), cand("NIA", keys=("niacinamide",), links=(NIA,))]
    shopper = Shopper(skin_type="oily", concerns=("enlarged-pores",), pregnant_or_breastfeeding=True, bought=frozenset({"RET"}))
    recs = recommend(cands, shopper, LABELS, model=loud_model(), weights=ALL_SIGNALS, limit=10)
    assert [r.sku for r in recs] == ["NIA"]


def test_allergic_customer_is_never_offered_their_allergen_at_any_label_position() -> None:
    cands = [cand("FRA", content=50, keys=("niacinamide",)), cand("NIA", keys=("niacinamide",))]
    shopper = Shopper(skin_type="oily", avoid=frozenset({"linalool"}), routine=("FRA",))
    recs = recommend(cands, shopper, LABELS, model=loud_model(), weights=ALL_SIGNALS, limit=10)
    assert "FRA" not in [r.sku for r in recs]
    assert exclusion_reason("FRA", shopper, LABELS) == "contains linalool, which you avoid"


def test_unknown_label_is_not_offered_to_someone_with_an_allergy() -> None:
    shopper = Shopper(avoid=frozenset({"linalool"}))
    assert exclusion_reason("MYSTERY", shopper, LABELS) == "ingredients unknown"
    assert exclusion_reason("MYSTERY", Shopper(), LABELS) is None


def test_product_conflicting_with_the_current_routine_is_excluded_and_a_milder_caution_is_explained() -> None:
    conflicts = [RoutineConflict(product_a="NIA", ingredient_a="niacinamide", product_b="OLD", ingredient_b="x",
                                 kind="conflict", severity="high", reason="inactivates it"),
                 RoutineConflict(product_a="NIA2", ingredient_a="zinc", product_b="OLD", ingredient_b="x",
                                 kind="caution", severity="medium", reason="irritating", advice="alternate nights")]
    cands = [cand("NIA", content=10, keys=("niacinamide",)), cand("NIA2", keys=("niacinamide", "zinc"))]
    shopper = Shopper(routine=("OLD",))
    recs = recommend(cands, shopper, LABELS, conflicts=conflicts, names={"OLD": "Old Toner"})
    assert [r.sku for r in recs] == ["NIA2"]
    assert recs[0].advice == "alternate nights"
    assert "alternate nights from Old Toner" in recs[0].explanation


def test_out_of_stock_product_is_replaced_by_one_with_the_same_key_actives() -> None:
    cands = [cand("NIA", stock=0, content=10, keys=("niacinamide",), links=(NIA,)),
             cand("NIA2", stock=5, content=1, keys=("niacinamide", "zinc")),
             cand("OTHER", stock=5, content=2, keys=("retinol",))]
    recs = recommend(cands, Shopper(skin_type="oily"), {**LABELS, "OTHER": {}}, limit=3)
    assert all(r.sku != "NIA" for r in recs)
    assert recs[0].sku == "NIA2" and recs[0].substitute_for == "NIA"
    assert recs[0].explanation.startswith("NIA name is out of stock; this has the same key actives (niacinamide)")


def test_out_of_stock_without_a_safe_substitute_is_dropped() -> None:
    cands = [cand("NIA", stock=0, keys=("niacinamide",)), cand("FRA", keys=("niacinamide",))]
    recs = recommend(cands, Shopper(avoid=frozenset({"linalool"})), LABELS)
    assert recs == []


def test_explanation_names_the_ingredient_the_concern_and_the_co_purchase() -> None:
    cands = [cand("NIA", keys=("niacinamide",), links=(NIA,)), cand("NIA2", keys=("niacinamide",))]
    model = PurchaseModel.fit({"a": ["NIA", "OLD"], "b": ["NIA", "OLD"], "c": ["NIA2"]})
    shopper = Shopper(skin_type="oily", concerns=("enlarged-pores",), routine=("OLD",))
    recs = recommend(cands, shopper, {**LABELS, "OLD": {}}, model=model, weights=Weights(knn=1.0),
                     names={"OLD": "Gentle Cleanser", "NIA": "NIA name"})
    assert recs[0].sku == "NIA"
    assert recs[0].explanation == ("contains Niacinamide, which helps with enlarged pores (strong evidence); "
                                   "customers with oily skin often pair it with Gentle Cleanser")


def test_a_pairing_is_never_named_when_the_customer_must_not_use_that_product() -> None:
    cands = [cand("NIA", keys=("niacinamide",), links=(NIA,))]
    model = PurchaseModel.fit({"a": ["NIA", "RET"], "b": ["NIA", "RET"]})
    before = Shopper(skin_type="oily", concerns=("enlarged-pores",), routine=("RET",))
    pregnant = Shopper(skin_type="oily", concerns=("enlarged-pores",), routine=("RET",), pregnant_or_breastfeeding=True)
    named = recommend(cands, before, LABELS, model=model, weights=Weights(knn=1.0), names={"RET": "Retinol Serum"})
    assert "Retinol Serum" in named[0].explanation          # the pairing is shown while it is safe ...
    recs = recommend(cands, pregnant, LABELS, model=model, weights=Weights(knn=1.0), names={"RET": "Retinol Serum"})
    assert recs[0].sku == "NIA" and "Retinol" not in recs[0].explanation   # ... and never once it is not


def test_item_knn_scores_what_is_bought_together() -> None:
    model = PurchaseModel.fit({"a": ["X", "Y"], "b": ["X", "Y"], "c": ["X", "Z"], "d": ["W"]})
    got = model.knn(["X"])
    assert got["Y"][0] > got["Z"][0] > 0 and got["Y"][1] == "X"
    assert "W" not in got


def test_the_purchase_model_is_fitted_once_and_a_dead_graph_leaves_recommendations_without_it() -> None:
    from commerce.collab import FittedPurchases
    from skinsage.errors import GraphUnavailable

    class Graph:
        calls, down = 0, False

        def customer_ids(self) -> list[str]:
            Graph.calls += 1
            if Graph.down:
                raise GraphUnavailable("graph down")
            return []

    fitted = FittedPurchases(Graph())  # type: ignore[arg-type]
    first = fitted.get()
    assert first is not None and fitted.get() is first and Graph.calls == 1   # cached, not refitted per call
    Graph.down = True
    assert FittedPurchases(Graph()).get() is None                             # logged, not raised  # type: ignore[arg-type]
