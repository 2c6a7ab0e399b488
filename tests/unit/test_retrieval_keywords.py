"""The domain tokenizer and BM25 keyword ranking."""

from __future__ import annotations

from retrieval.bm25 import BM25Index
from retrieval.text import tokenize


def test_accents_case_and_stopwords_are_folded() -> None:
    assert tokenize("Crème for the ÉCZEMA") == ["creme", "eczema"]


def test_hyphenated_words_match_joined_and_split_spellings() -> None:
    assert {"antiageing", "anti", "ageing"} <= set(tokenize("anti-ageing"))
    assert "antiageing" in tokenize("antiageing")


def test_percentages_are_one_token_whatever_the_spelling() -> None:
    assert "10%" in tokenize("10 percent niacinamide")
    assert "10%" in tokenize("10% niacinamide")
    assert "0.5%" in tokenize("0,5 % retinol")


def test_customer_shorthand_and_spelling_variants_meet_the_documents() -> None:
    assert tokenize("vit c") == tokenize("vitamin C")
    assert tokenize("moisturizers") == tokenize("moisturiser")
    assert {"spf", "50"} <= set(tokenize("SPF50"))
    assert tokenize("pores") == tokenize("pore")


def test_bm25_ranks_the_document_that_shares_rare_terms_first() -> None:
    index = BM25Index(["a", "b", "c"], ["Klarna pay in 30 days", "Pay by card or PayPal", "Shipping costs"])
    assert [i for i, _ in index.rank("does klarna work", 3)] == ["a"]
    assert [i for i, _ in index.rank("pay", 3)] == ["b", "a"]   # the shorter document first


def test_bm25_returns_nothing_for_unknown_words_or_an_empty_index() -> None:
    assert BM25Index(["a"], ["retinol"]).rank("zebra") == []
    assert BM25Index([], []).rank("retinol") == []
