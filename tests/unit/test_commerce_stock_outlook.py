"""Forecasts feed recommendations: a product that will sell out before its next delivery is demoted
behind an in-stock substitute with the same key actives, or kept and flagged as low stock."""

from __future__ import annotations

import threading
from types import SimpleNamespace

from commerce.catalogue import Candidate, Link
from commerce.exclusions import Shopper
from commerce.recommend import recommend
from commerce.stock_outlook import FittedStockOutlook, StockOutlook

NIA = Link("niacinamide", "Niacinamide", "enlarged-pores", "Enlarged pores", "strong", 3.0)
LABELS = {"A": {"niacinamide": "safe"}, "B": {"niacinamide": "safe", "zinc": "safe"}, "C": {"squalane": "safe"},
          "D": {"niacinamide": "safe"}}
SHOPPER = Shopper(skin_type="oily", concerns=("enlarged-pores",))


def cand(sku: str, content: float, stock: int = 50, keys: tuple[str, ...] = ("niacinamide",)) -> Candidate:
    return Candidate(sku=sku, name=f"{sku} serum", category="serum", price=20.0, stock=stock, key_ingredients=keys,
                     content=content, links=(NIA,), fit=1.0, skin_fit=True)


def test_days_of_cover_below_the_lead_time_is_at_risk() -> None:
    rows = [SimpleNamespace(sku="A", lead_time_demand=12.5, lead_time_days=14),
            SimpleNamespace(sku="B", lead_time_demand=0.0, lead_time_days=14)]
    outlook = StockOutlook.from_rows(rows)
    assert outlook.at_risk("A", 12) and not outlook.at_risk("A", 13)   # 12 units will not last 12.5 units of demand
    assert not outlook.at_risk("A", 0)          # out of stock is handled as out of stock, not "low"
    assert not outlook.at_risk("B", 1) and not outlook.at_risk("UNKNOWN", 1)


def test_low_stock_product_is_demoted_behind_a_same_actives_substitute() -> None:
    cands = [cand("A", 9.0, stock=3), cand("C", 5.0, keys=("squalane",)), cand("B", 1.0, keys=("niacinamide", "zinc"))]
    plain = recommend(cands, SHOPPER, LABELS, limit=3)
    assert [r.sku for r in plain] == ["A", "C", "B"]
    recs = recommend(cands, SHOPPER, LABELS, limit=3, at_risk=frozenset({"A"}))
    assert [r.sku for r in recs] == ["B", "A", "C"]
    assert recs[0].substitute_for == "A" and "A serum is running low; this has the same key actives" in recs[0].explanation
    assert recs[1].low_stock and "may sell out before our next delivery" in recs[1].explanation
    assert not recs[0].low_stock and not recs[2].low_stock


def test_low_stock_without_a_substitute_is_kept_and_flagged() -> None:
    cands = [cand("A", 9.0, stock=3), cand("C", 5.0, keys=("squalane",))]
    recs = recommend(cands, SHOPPER, LABELS, limit=3, at_risk=frozenset({"A"}))
    assert [(r.sku, r.low_stock, r.substitute_for) for r in recs] == [("A", True, None), ("C", False, None)]


def test_a_substitute_that_will_itself_run_out_is_not_preferred() -> None:
    cands = [cand("A", 9.0, stock=3), cand("D", 4.0, stock=2), cand("B", 1.0, keys=("niacinamide", "zinc"))]
    recs = recommend(cands, SHOPPER, LABELS, limit=3, at_risk=frozenset({"A", "D"}))
    assert recs[0].sku == "B" and recs[0].substitute_for == "A"
    out_of_stock = [cand("A", 9.0, stock=0), cand("D", 4.0, stock=2)]
    recs = recommend(out_of_stock, SHOPPER, LABELS, limit=3, at_risk=frozenset({"D"}))
    # sold out: the only same-actives product is offered even though it runs low, and says so
    assert [(r.sku, r.substitute_for, r.low_stock) for r in recs] == [("D", "A", True)]


def test_outlook_is_computed_in_the_background_and_a_failure_keeps_the_last_one() -> None:
    release, finished = threading.Event(), threading.Event()
    calls: list[int] = []
    fail = [False]

    def compute() -> StockOutlook:
        calls.append(1)
        if fail[0]:
            raise RuntimeError("graph down")
        release.wait(5)
        return StockOutlook({"A": 5.0}, {"A": 14})

    holder = FittedStockOutlook(compute, ttl_s=3600)
    assert holder.get() is None       # a request never waits for the forecast
    for _ in range(500):
        if calls:
            break
        threading.Event().wait(0.01)
    assert holder.get() is None and len(calls) == 1   # one background run at a time
    release.set()
    for _ in range(500):
        if holder.get() is not None:
            finished.set()
            break
        threading.Event().wait(0.01)
    assert finished.is_set() and holder.get().at_risk("A", 4)  # type: ignore[union-attr]
    fail[0] = True
    kept = holder.get()
    assert holder.refresh() is kept and len(calls) == 2   # a failed refresh keeps serving the last outlook
