"""Rank fusion, filters and query validation of the hybrid retriever, with fake rankers."""

from __future__ import annotations

import pytest

from graph.views import EntityMatch
from retrieval.hybrid import (
    MAX_QUERY_CHARS,
    HybridRetriever,
    ProductInfo,
    reciprocal_rank_fusion,
    validate_query,
)
from retrieval.models import Citation, IndexItem, SearchFilters
from skinsage.errors import InvalidInput


class FakeRanker:
    def __init__(self, name: str, ids: list[str]) -> None:
        self.name = name
        self.ids = ids
        self.asked: list[tuple[str, int]] = []

    def rank(self, query: str, n: int) -> list[tuple[str, float]]:
        self.asked.append((query, n))
        return [(i, 1.0 / (p + 1)) for p, i in enumerate(self.ids[:n])]


def doc(i: str) -> IndexItem:
    return IndexItem(id=i, kind="document", text=f"text {i}", embed_text=i, content_hash=i,
                     citation=Citation(kind="document", doc=f"{i}.md", title="T", section="S"))


def fact(i: str, kind: str = "ingredient", entities: list[str] | None = None) -> IndexItem:
    return IndexItem(id=i, kind=kind, text=i, embed_text=i, content_hash=i,  # type: ignore[arg-type]
                     entities=entities or [], citation=Citation(kind="graph", graph_path=i, fact_id=i))


PRODUCTS = {"SKU-IN": ProductInfo("SKU-IN", True, frozenset({"niacinamide", "aqua"})),
            "SKU-OUT": ProductInfo("SKU-OUT", False, frozenset({"niacinamide"})),
            "SKU-LIN": ProductInfo("SKU-LIN", True, frozenset({"niacinamide", "linalool"}))}
ITEMS = [doc("d1"), doc("d2"), doc("d3"), fact("ingredient:niacinamide", entities=["niacinamide"]),
         *(fact(f"product:{s}", "product", [s, "niacinamide"]) for s in (*PRODUCTS, "SKU-GONE"))]


def retriever(**lists: list[str]) -> HybridRetriever:
    rankers = [FakeRanker(name, ids) for name, ids in lists.items()]
    return HybridRetriever(ITEMS, rankers, weights={n: 1.0 for n in lists}, rrf_k=60,
                           products=PRODUCTS.get, link=lambda t: [
                               EntityMatch(kind="ingredient", id="linalool", name="Linalool", matched=t, score=1.0)]
                           if "linalool" in t.lower() else [])


def test_rrf_rewards_agreement_between_rankers() -> None:
    fused = reciprocal_rank_fusion({"a": ["x", "y", "z"], "b": ["y", "z", "x"]}, {"a": 1, "b": 1}, k=60)
    assert [i for i, _, _ in fused] == ["y", "x", "z"]
    assert fused[0][2] == {"a": 2, "b": 1}
    assert fused[0][1] == pytest.approx(1 / 62 + 1 / 61)


def test_rrf_weights_and_small_k_let_a_trusted_rankers_first_hit_win() -> None:
    lists = {"strong": ["s1", "both"], "weak": ["w1", "w2", "both"]}
    assert reciprocal_rank_fusion(lists, {"strong": 1, "weak": 1}, k=60)[0][0] == "both"
    assert reciprocal_rank_fusion(lists, {"strong": 1, "weak": 0.5}, k=1)[0][0] == "s1"


def test_rrf_ties_break_by_id_so_results_are_deterministic() -> None:
    fused = reciprocal_rank_fusion({"a": ["b"], "c": ["a"]}, {"a": 1, "c": 1}, k=60)
    assert [i for i, _, _ in fused] == ["a", "b"]


def test_hits_carry_text_citation_score_and_the_rank_in_each_ranker() -> None:
    hits = retriever(bm25=["d1", "d2"], vectors=["d2", "d3"]).search("pores", k=3)
    assert [h.id for h in hits] == ["d2", "d1", "d3"]
    assert hits[0].ranks == {"bm25": 2, "vectors": 1}
    assert hits[0].citation.label == "d2.md › S" and hits[0].text == "text d2"
    assert hits[0].score > hits[1].score


def test_single_method_retrievers_keep_their_rankers_order() -> None:
    hybrid = retriever(bm25=["d1", "d2"], vectors=["d3", "d1"])
    assert [h.id for h in hybrid.single("vectors").search("q", k=2)] == ["d3", "d1"]
    with pytest.raises(InvalidInput):
        hybrid.single("graph")


def test_unknown_ids_from_a_ranker_are_ignored() -> None:
    assert [h.id for h in retriever(bm25=["ghost", "d1"]).search("q")] == ["d1"]


def test_in_stock_only_drops_out_of_stock_products_and_keeps_everything_else() -> None:
    r = retriever(graph=["product:SKU-OUT", "product:SKU-IN", "ingredient:niacinamide", "d1"])
    ids = [h.id for h in r.search("niacinamide serum", k=5, filters=SearchFilters(in_stock_only=True))]
    assert ids == ["product:SKU-IN", "ingredient:niacinamide", "d1"]


def test_an_excluded_ingredient_anywhere_in_a_product_drops_that_product() -> None:
    r = retriever(graph=["product:SKU-LIN", "product:SKU-IN", "d1"])
    ids = [h.id for h in r.search("serum", filters=SearchFilters(exclude_ingredients=["linalool"]))]
    assert ids == ["product:SKU-IN", "d1"]


def test_excluded_ingredients_given_by_name_are_linked_to_graph_ids() -> None:
    r = retriever(graph=["product:SKU-LIN", "product:SKU-IN"])
    ids = [h.id for h in r.search("serum", filters=SearchFilters(exclude_ingredients=["Linalool"]))]
    assert ids == ["product:SKU-IN"]


def test_a_product_that_cannot_be_verified_fails_closed_under_a_product_filter() -> None:
    r = retriever(graph=["product:SKU-GONE", "product:SKU-IN"])
    assert [h.id for h in r.search("q")] == ["product:SKU-GONE", "product:SKU-IN"]
    assert [h.id for h in r.search("q", filters=SearchFilters(in_stock_only=True))] == ["product:SKU-IN"]


def test_kinds_filter_keeps_documents_or_graph_facts_or_one_fact_kind() -> None:
    r = retriever(graph=["product:SKU-IN", "ingredient:niacinamide", "d1"])
    assert [h.id for h in r.search("q", filters=SearchFilters(kinds=["document"]))] == ["d1"]
    assert [h.id for h in r.search("q", filters={"kinds": ["graph"]})] == ["product:SKU-IN", "ingredient:niacinamide"]
    assert [h.id for h in r.search("q", filters=SearchFilters(kinds=["product"]))] == ["product:SKU-IN"]


def test_filters_look_deeper_than_the_pool_before_returning_fewer_results() -> None:
    ranker = FakeRanker("graph", [f"x{i}" for i in range(60)] + ["d1"])
    r = HybridRetriever(ITEMS, [ranker], pool=50)
    assert [h.id for h in r.search("q", k=1, filters=SearchFilters(kinds=["document"]))] == ["d1"]
    assert [n for _, n in ranker.asked] == [50, 200]


@pytest.mark.parametrize("bad", [None, b"retinol", 42, 3.5, ["retinol"], {"q": "retinol"}])
def test_non_text_queries_are_refused_with_a_clear_message(bad: object) -> None:
    with pytest.raises(InvalidInput, match="must be text"):
        retriever(bm25=["d1"]).search(bad)  # type: ignore[arg-type]


@pytest.mark.parametrize("empty", ["", "   ", "\n\t ", "\x00\x07"])
def test_empty_and_whitespace_queries_are_refused(empty: str) -> None:
    with pytest.raises(InvalidInput, match="empty"):
        retriever(bm25=["d1"]).search(empty)


@pytest.mark.parametrize("symbols", ["???", "🙂🙂", "- ... -"])
def test_queries_without_any_words_are_refused(symbols: str) -> None:
    with pytest.raises(InvalidInput, match="no words"):
        retriever(bm25=["d1"]).search(symbols)


def test_text_in_any_script_is_a_query() -> None:
    assert validate_query("レチノール") == "レチノール"


def test_queries_over_ten_thousand_characters_are_refused_not_truncated() -> None:
    r = retriever(bm25=["d1"])
    assert r.search("retinol " * 1250)           # exactly 10,000 characters is accepted
    with pytest.raises(InvalidInput, match="10,000"):
        r.search("r" * (MAX_QUERY_CHARS + 1))


def test_control_characters_and_runs_of_whitespace_are_cleaned() -> None:
    assert validate_query("  vit\x00 c\n\nserum ") == "vit c serum"


@pytest.mark.parametrize("k", [0, -1, 101, 2.5, "5", True])
def test_k_must_be_a_sensible_whole_number(k: object) -> None:
    with pytest.raises(InvalidInput, match="k must be"):
        retriever(bm25=["d1"]).search("q", k=k)  # type: ignore[arg-type]


def test_malformed_filters_are_invalid_input() -> None:
    with pytest.raises(InvalidInput):
        retriever(bm25=["d1"]).search("q", filters={"kinds": ["recipes"]})  # type: ignore[arg-type]
    with pytest.raises(InvalidInput):
        retriever(bm25=["d1"]).search("q", filters="in stock")  # type: ignore[arg-type]


def test_near_copies_of_one_rule_take_one_slot_not_five() -> None:
    rule = [IndexItem(id=f"caution:{a}:retinol", kind="caution", text=f"{a} and retinol: same advice.",
                      embed_text="", content_hash=a, group="caution:rule-1",
                      citation=Citation(kind="graph", fact_id=a)) for a in ("aha", "bha", "pha")]
    r = HybridRetriever([*rule, *ITEMS], [FakeRanker("vectors", [i.id for i in rule] + ["d1", "d2"])])
    assert [h.id for h in r.search("retinol", k=3)] == ["caution:aha:retinol", "d1", "d2"]
