"""Evaluation metrics and label matching: the numbers in `skinsage eval retrieval` mean what they say."""

from __future__ import annotations

import pytest

from retrieval.evaluation import label_matches, score_ranking
from retrieval.models import Citation


def d(doc: str, section: str) -> tuple[str, Citation]:
    return f"{doc}#{section}#0", Citation(kind="document", doc=doc, title="T", section=section)


def g(fact_id: str) -> tuple[str, Citation]:
    return fact_id, Citation(kind="graph", fact_id=fact_id, graph_path=fact_id)


def test_a_section_label_matches_its_chunks_and_subsections_case_insensitively() -> None:
    item, cit = d("policies/shipping.html", "How long does delivery take? › Zone 1: Netherlands")
    assert label_matches("policies/shipping.html#how long does delivery take?", item, cit)
    assert label_matches("policies/shipping.html#Zone 1: Netherlands", item, cit)
    assert not label_matches("policies/returns.md#Zone 1: Netherlands", item, cit)
    assert not label_matches("policies/shipping.html#Zone 2", item, cit)


def test_fact_labels_match_ids_and_alternatives_match_any() -> None:
    item, cit = g("caution:lactic-acid:salicylic-acid")
    assert label_matches("caution:glycolic-acid:salicylic-acid|caution:lactic-acid:salicylic-acid", item, cit)
    assert not label_matches("caution:glycolic-acid:salicylic-acid", item, cit)


def test_perfect_ranking_scores_one_everywhere() -> None:
    s = score_ranking([d("a.md", "X"), g("f1")], ["a.md#X", "f1"])
    assert s == {"recall_at_5": 1.0, "mrr_at_10": 1.0, "ndcg_at_10": pytest.approx(1.0), "hit_at_5": 1.0}


def test_recall_counts_labels_not_chunks_and_mrr_uses_the_first_relevant_rank() -> None:
    ranked = [g("x"), d("a.md", "X"), d("a.md", "X"), g("y"), g("z"), g("f1")]
    s = score_ranking(ranked, ["a.md#X", "f1"])
    assert s["recall_at_5"] == 0.5            # f1 is sixth; the second chunk of X does not count twice
    assert s["mrr_at_10"] == 0.5
    assert s["hit_at_5"] == 1.0
    assert 0 < s["ndcg_at_10"] < 1


def test_recall_is_capped_at_five_labels() -> None:
    labels = [f"f{i}" for i in range(7)]
    assert score_ranking([g(f"f{i}") for i in range(5)], labels)["recall_at_5"] == 1.0


def test_nothing_relevant_scores_zero() -> None:
    assert score_ranking([g("x")], ["f1"]) == {"recall_at_5": 0.0, "mrr_at_10": 0.0, "ndcg_at_10": 0.0,
                                                "hit_at_5": 0.0}
