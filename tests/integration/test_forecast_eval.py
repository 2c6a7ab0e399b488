"""The forecast accuracy target on the committed demo sales (issue 8), measured out of sample.

The whole demo catalogue (92 SKUs that sell), nested rolling origin: 3 outer windows of 28 days before
the demo anchor, the model chosen per SKU only from data before each window.
"""

from __future__ import annotations

import pytest

from commerce.forecast_eval import EvalTable, evaluate_demo, evaluate_public
from commerce.forecast_service import calendar_from, config_from
from ingest.seed import seed_bundle
from skinsage.settings import Settings


@pytest.fixture(scope="module")
def demo() -> EvalTable:
    s = Settings()
    return evaluate_demo(seed_bundle(s), s.demo_anchor_date, config_from(s), calendar_from(s), s.forecast_history_days)


def test_selected_model_beats_seasonal_naive_by_10_percent_on_weekly_totals(demo: EvalTable) -> None:
    assert demo.series >= 90 and demo.rows["selected"]["scored"] >= 250
    assert demo.improvement(metric="weekly_mase") >= 0.10


def test_selected_model_beats_seasonal_naive_on_daily_mase(demo: EvalTable) -> None:
    assert demo.rows["selected"]["wape"] < demo.rows["seasonal_naive"]["wape"]


def test_issue_target_10_percent_on_daily_mase(demo: EvalTable) -> None:
    # measured +10.4 % (it was +9.4 % before the 8/13/26-week moving averages joined the candidates)
    assert demo.improvement() >= 0.10


def test_selection_beats_every_single_method_out_of_sample(demo: EvalTable) -> None:
    # the selection is at least as good as every single method it chooses from, out of sample
    single = [r["mase"] for m, r in demo.rows.items() if m not in ("selected", "seasonal_naive")]
    assert demo.rows["selected"]["mase"] <= min(single)


def test_public_series_are_scored_for_every_method() -> None:
    tables = evaluate_public(config_from(Settings()).model_copy(update={"methods": ("ses", "theta")}))
    assert len(tables) == 2
    for t in tables:
        assert {"ses", "theta", "seasonal_naive", "selected"} <= set(t.rows) and t.folds == 4
        assert all(0 < r["mase"] < 5 for r in t.rows.values())
