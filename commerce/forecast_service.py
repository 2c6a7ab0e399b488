"""Stock forecasts for staff: read sales from the graph, forecast, advise, and write the report rows.

The one place that joins the pure engine (`forecast`, `reorder`) with the graph and the settings, so
the chat tool, the CLI report and the API report give the same numbers for the same day.
"""

from __future__ import annotations

import csv
import io
import json
import math
from collections.abc import Iterable
from datetime import date, timedelta

import numpy as np
from pydantic import BaseModel, ValidationError

from commerce.forecast import HORIZONS, ForecastConfig, SkuForecast, forecast_portfolio
from commerce.forecast_calendar import EventCalendar, load_calendar
from commerce.reorder import advise
from graph.model import Order
from graph.store import GraphStore
from skinsage.errors import InvalidInput, NotFound
from skinsage.settings import Settings


class StockRow(BaseModel):
    """One SKU's line in the stock report (and the stock_forecast tool's data)."""

    sku: str
    name: str
    stock_on_hand: int
    method: str
    history_days: int
    avg_daily_demand: float
    demand_30: float
    demand_30_low: float
    demand_30_high: float
    demand_60: float
    demand_60_low: float
    demand_60_high: float
    demand_90: float
    demand_90_low: float
    demand_90_high: float
    days_of_cover: float | None
    lead_time_days: int
    lead_time_demand: float
    safety_stock: int
    reorder_point: int
    order_quantity: int
    reorder_now: bool
    service_level: float
    backtest_mase: float | None
    seasonal_naive_mase: float | None
    backtest_wape: float | None
    cleaned_days: int


def config_from(settings: Settings) -> ForecastConfig:
    try:
        return ForecastConfig(methods=tuple(settings.forecast_methods), folds=settings.forecast_backtest_folds,
                              fold_days=settings.forecast_backtest_days,
                              interval_level=settings.forecast_interval_level)
    except ValidationError as e:
        raise InvalidInput(f"SKINSAGE_FORECAST_METHODS: {e.errors()[0]['msg']}") from e


def calendar_from(settings: Settings) -> EventCalendar:
    return load_calendar(settings.forecast_calendar_path)


def daily_history(sales: Iterable[tuple[date, int]], start: date, days: int) -> np.ndarray:
    """Units per day for `days` days from `start` (days outside the window are ignored)."""
    y = np.zeros(days)
    for day, qty in sales:
        i = (day - start).days
        if 0 <= i < days:
            y[i] += qty
    return y


def histories_from_orders(orders: Iterable[Order], start: date, days: int) -> dict[str, np.ndarray]:
    """Daily units per SKU from orders, with the graph's rule: every order except cancelled ones."""
    out: dict[str, np.ndarray] = {}
    for o in orders:
        i = (o.placed_at - start).days
        if o.status == "cancelled" or not 0 <= i < days:
            continue
        for line in o.lines:
            out.setdefault(line.sku, np.zeros(days))[i] += line.quantity
    return out


def _num(x: float) -> float | None:
    return round(x, 3) if math.isfinite(x) else None


def stock_row(f: SkuForecast, name: str, stock: int, lead_time: int, settings: Settings) -> StockRow:
    """The report line: horizon totals with intervals, and the reorder advice at the service level."""
    level = settings.forecast_interval_level
    adv = advise(stock, list(f.mean), f.total_sd, lead_time, settings.forecast_service_level,
                 settings.forecast_review_days)
    totals: dict[str, float] = {}
    for h in HORIZONS:
        lo, hi = f.total_interval(h, level)
        totals |= {f"demand_{h}": round(f.total(h), 1), f"demand_{h}_low": round(lo, 1),
                   f"demand_{h}_high": round(hi, 1)}
    sn = f.backtest.get("seasonal_naive")
    sel = f.backtest.get(f.method)
    return StockRow(
        sku=f.sku, name=name, stock_on_hand=stock, method=f.method, history_days=f.history_days,
        avg_daily_demand=round(f.total(30) / 30, 2), **totals,
        days_of_cover=round(adv.days_of_cover, 1) if adv.days_of_cover is not None else None,
        lead_time_days=lead_time, lead_time_demand=round(adv.lead_time_demand, 1),
        safety_stock=math.ceil(adv.safety_stock), reorder_point=math.ceil(adv.reorder_point),
        order_quantity=adv.order_quantity, reorder_now=adv.reorder_now, service_level=adv.service_level,
        backtest_mase=_num(sel.mase) if sel else None, seasonal_naive_mase=_num(sn.mase) if sn else None,
        backtest_wape=_num(sel.wape) if sel else None, cleaned_days=sum(f.cleaned.values()))


def stock_report(graph: GraphStore, settings: Settings, today: date, skus: list[str] | None = None,
                 focus: list[str] | None = None) -> list[StockRow]:
    """Forecast and reorder advice for `focus` SKUs (default: all of `skus`), with the calendar profile
    learned on the sales of all `skus` (default: every product), so one SKU asked about in chat gets
    the same brand-wide weekday, season and event effects as the full report."""
    if not date(2000, 1, 1) <= today <= date(2200, 1, 1):
        raise InvalidInput(f"forecast date {today} is outside 2000-01-01 .. 2200-01-01")
    skus = skus if skus is not None else graph.product_skus()
    focus = focus if focus is not None else skus
    days = settings.forecast_history_days
    start = today - timedelta(days=days)
    hist = {sku: daily_history(graph.product_sales(sku, start), start, days) for sku in dict.fromkeys(skus + focus)}
    total = np.sum(list(hist.values()), axis=0) if hist else np.zeros(days)
    forecasts = forecast_portfolio({s: hist[s] for s in focus}, start, calendar_from(settings),
                                   config_from(settings), profile_total=total)
    rows = []
    for sku in focus:
        prod = graph.product(sku).product
        lead = settings.forecast_lead_time_days if settings.forecast_lead_time_days is not None else prod.lead_time_days
        rows.append(stock_row(forecasts[sku], prod.name, prod.stock_on_hand, lead, settings))
    return rows


def forecast_product(graph: GraphStore, settings: Settings, today: date, text: str) -> StockRow:
    hits = graph.find_products(text, limit=1)
    if not hits:
        raise NotFound(f"no product matches {text!r}")
    return stock_report(graph, settings, today, focus=[hits[0].id])[0]


def to_csv(rows: list[StockRow]) -> str:
    out = io.StringIO()
    w = csv.DictWriter(out, fieldnames=list(StockRow.model_fields), lineterminator="\n")
    w.writeheader()
    for r in rows:
        w.writerow({k: "" if v is None else v for k, v in r.model_dump().items()})
    return out.getvalue()


def to_json(rows: list[StockRow], today: date) -> str:
    return json.dumps({"as_of": today.isoformat(), "skus": [r.model_dump() for r in rows]}, indent=2)
