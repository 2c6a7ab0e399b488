"""The graph ranker: facts about the linked entities, best-matching first."""

from __future__ import annotations

from graph.views import EntityMatch
from retrieval.graph_ranker import AboutRanker, GraphRanker
from retrieval.models import Citation, IndexItem

ALIASES = {"vit c": ("ingredient", "ascorbic-acid"), "niacinamide": ("ingredient", "niacinamide"),
           "pores": ("concern", "enlarged-pores"), "lumen serum": ("product", "LL-SER-010")}


def link(text: str) -> list[EntityMatch]:
    return [EntityMatch(kind=kind, id=id_, name=id_, matched=alias, score=1.0)  # type: ignore[arg-type]
            for alias, (kind, id_) in ALIASES.items() if alias in text.lower()]


def fact(id_: str, kind: str, entities: list[str], prior: float = 0.0) -> IndexItem:
    return IndexItem(id=id_, kind=kind, text=id_, embed_text=id_, content_hash=id_,  # type: ignore[arg-type]
                     entities=entities, prior=prior, citation=Citation(kind="graph", fact_id=id_))


FACTS = [fact("ingredient:niacinamide", "ingredient", ["niacinamide"]),
         fact("ingredient:ascorbic-acid", "ingredient", ["ascorbic-acid"]),
         fact("caution:ascorbic-acid:niacinamide", "caution", ["ascorbic-acid", "niacinamide"], 1.0),
         fact("addresses:niacinamide:enlarged-pores", "addresses", ["niacinamide", "enlarged-pores"], 2.0),
         fact("addresses:niacinamide:redness", "addresses", ["niacinamide", "redness"], 3.0),
         fact("product:LL-SER-010", "product", ["LL-SER-010", "niacinamide", "zinc-pca"]),
         IndexItem(id="doc#s#0", kind="document", text="niacinamide", embed_text="", content_hash="x",
                   citation=Citation(kind="document", doc="doc"))]


def ranked(query: str) -> list[str]:
    return [i for i, _ in GraphRanker(FACTS, link).rank(query, 10)]


def test_a_fact_joining_both_linked_ingredients_comes_first() -> None:
    assert ranked("can I use vit c with niacinamide?")[0] == "caution:ascorbic-acid:niacinamide"


def test_ingredient_and_concern_together_rank_the_evidence_fact_first() -> None:
    assert ranked("does niacinamide help pores")[0] == "addresses:niacinamide:enlarged-pores"


def test_a_single_ingredient_ranks_its_own_fact_first_then_stronger_evidence() -> None:
    out = ranked("tell me about niacinamide")
    assert out[0] == "ingredient:niacinamide"
    assert out.index("addresses:niacinamide:redness") < out.index("addresses:niacinamide:enlarged-pores")


def test_product_words_lift_product_facts() -> None:
    assert ranked("which products have niacinamide")[0] == "product:LL-SER-010"


def test_documents_never_come_from_the_graph_and_no_entity_means_no_facts() -> None:
    assert "doc#s#0" not in ranked("niacinamide")
    assert ranked("do you ship to Norway") == []


def test_when_a_fact_joins_both_entities_single_entity_facts_are_left_to_the_other_rankers() -> None:
    assert ranked("can I use vit c with niacinamide?") == ["caution:ascorbic-acid:niacinamide"]


def test_entities_without_facts_give_no_ranking() -> None:
    assert GraphRanker(FACTS, lambda t: [EntityMatch(kind="skin_type", id="oily", name="Oily", matched="oily",
                                                     score=1.0)]).rank("oily skin") == []


def section(doc: str, title: str, heading: str) -> IndexItem:
    return IndexItem(id=f"{doc}#{heading}#0", kind="document", text=heading, embed_text=heading, content_hash=heading,
                     citation=Citation(kind="document", doc=doc, title=title, section=heading))


def test_passages_about_the_named_ingredients_are_lifted_heading_matches_first() -> None:
    shipping = section("shipping.md", "Shipping", "How long does delivery take?")
    intro = section("niacinamide.md", "Niacinamide", "What does it do?")
    pair = section("combining.md", "Combining actives", "Can I use vit c with niacinamide?")
    single = section("combining.md", "Combining actives", "Can I use niacinamide with acids?")
    found_by_others = [[shipping, intro, FACTS[2]], [single, pair]]
    about = AboutRanker(link)
    assert AboutRanker(link, limit=3).rank("vit c and niacinamide together?", found_by_others) == [pair.id, single.id, intro.id]
    assert about.rank("vit c and niacinamide together?", found_by_others) == [pair.id, single.id]
    assert about.rank("how long is delivery", found_by_others) == []   # nothing linked: no opinion
