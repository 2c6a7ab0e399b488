"""The recommender evaluation on the committed demo data (400 customers, fixed seed): the hybrid must
keep NDCG@10 at least 1.3x popularity on the temporal split `skinsage eval recommend` prints."""

from __future__ import annotations

from datetime import timedelta

from commerce.evaluation import evaluate
from ingest.seed import seed_bundle
from skinsage.settings import Settings


def test_hybrid_beats_popularity_by_at_least_1_3x_on_the_demo_split() -> None:
    s = Settings()
    totals = evaluate(seed_bundle(s), s.demo_anchor_date - timedelta(days=270))
    assert totals["hybrid"].users >= 100
    assert totals["hybrid"].ndcg_at_10 >= 1.3 * totals["popularity"].ndcg_at_10, totals
    assert totals["hybrid"].recall_at_10 > totals["popularity"].recall_at_10
