"""The forecast feeds the chat recommender: lead-time demand from the stock report, live stock from
the graph, and a product that will not last until its next delivery is flagged in the reply."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from assistant.profile import Profile
from assistant.tools.base import ToolContext, run_tool
from commerce.forecast_service import stock_report
from commerce.reminders import InMemoryReminderStore
from commerce.stock_outlook import FittedStockOutlook, outlook_from_graph
from graph.embedded import EmbeddedGraphStore
from graph.model import KnowledgeBundle
from skinsage.settings import Settings
from tests.support.sales_graph import SALES_DAY

TODAY = SALES_DAY


@pytest.fixture(scope="module")
def graph(sales_graph: EmbeddedGraphStore) -> EmbeddedGraphStore:
    return sales_graph


def test_outlook_uses_the_stock_reports_lead_time_demand(graph: EmbeddedGraphStore) -> None:
    settings = Settings()
    outlook = outlook_from_graph(graph, settings, TODAY)
    rows = {r.sku: r for r in stock_report(graph, settings, TODAY)}
    assert set(outlook.lead_time_demand) == set(rows)
    for sku, r in rows.items():
        assert outlook.lead_time_demand[sku] == r.lead_time_demand
        # at risk exactly when the report's days of cover are below the lead time
        if r.days_of_cover is not None and r.stock_on_hand > 0 and abs(r.days_of_cover - r.lead_time_days) > 0.5:
            assert outlook.at_risk(sku, r.stock_on_hand) == (r.days_of_cover < r.lead_time_days)


def test_recommendation_flags_a_product_that_will_sell_out_before_its_delivery(
        graph: EmbeddedGraphStore, fixture_bundle: KnowledgeBundle) -> None:
    # a 90-day supplier lead time: even this slow seller needs more than one unit to last until delivery
    outlook = outlook_from_graph(graph, Settings(forecast_lead_time_days=90), TODAY)
    holder = FittedStockOutlook(lambda: outlook)
    holder.refresh()
    ctx = ToolContext(graph=graph, profile=Profile(), reminders=InMemoryReminderStore(), today=TODAY,
                      purchases=SimpleNamespace(get=lambda: None, stock=holder))
    args = {"concerns": ["large pores"], "skin_type": "oily", "limit": 3}
    _, before = run_tool(ctx, "recommend_products", args)
    assert before is not None and before.data["products"]
    top = before.data["products"][0]
    assert "low_stock" not in top and outlook.lead_time_demand[top["sku"]] >= 2
    product = next(p for p in fixture_bundle.products if p.sku == top["sku"])
    try:   # a stock webhook leaves one unit: fewer than the lead time will sell
        graph.load(KnowledgeBundle(products=[product.model_copy(update={"stock_on_hand": 1})]))
        _, after = run_tool(ctx, "recommend_products", args)
        assert after is not None
        flagged = next(p for p in after.data["products"] if p["sku"] == top["sku"])
        assert flagged["low_stock"] is True and "may sell out before our next delivery" in flagged["reason"]
    finally:
        graph.load(KnowledgeBundle(products=[product]))
