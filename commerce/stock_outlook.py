"""Forecast-fed stock awareness for recommendations: will a product's stock last until the next delivery?

The forecast engine (`forecast_service.stock_report`) gives each SKU its lead-time demand: expected
units sold over the supplier lead time. Days of cover fall below the lead time exactly when the stock
on hand is below that demand, so the per-request check is one comparison against the *live* stock the
recommender already has; a stock change (webhook, import) is therefore reflected at once, and only the
demand side is precomputed: in the background, refreshed daily, never on a request.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date

log = logging.getLogger("skinsage.commerce")


@dataclass(frozen=True)
class StockOutlook:
    """Per SKU: expected demand over its lead time, and the lead time (days)."""

    lead_time_demand: dict[str, float] = field(default_factory=dict)
    lead_time_days: dict[str, int] = field(default_factory=dict)
    as_of: date | None = None

    def at_risk(self, sku: str, stock: int) -> bool:
        """In stock now but expected to sell out before the next replenishment arrives (days of cover
        below the lead time). Out-of-stock products are handled as out of stock, not as at risk; a SKU
        without a forecast is never at risk."""
        demand = self.lead_time_demand.get(sku)
        return demand is not None and 0 < stock < demand

    @classmethod
    def from_rows(cls, rows: Iterable[object], as_of: date | None = None) -> StockOutlook:
        """From `forecast_service.StockRow`s (anything with sku, lead_time_demand, lead_time_days)."""
        ltd: dict[str, float] = {}
        lead: dict[str, int] = {}
        for r in rows:
            ltd[r.sku] = float(r.lead_time_demand)  # type: ignore[attr-defined]
            lead[r.sku] = int(r.lead_time_days)  # type: ignore[attr-defined]
        return cls(ltd, lead, as_of)


def outlook_from_graph(graph: object, settings: object, today: date) -> StockOutlook:
    """Forecast every product once (the stock report's numbers) and keep the lead-time demand."""
    from commerce.forecast_service import stock_report

    return StockOutlook.from_rows(stock_report(graph, settings, today), today)  # type: ignore[arg-type]


class FittedStockOutlook:
    """The outlook the chat recommender reads. `get()` never blocks a request on a forecast: until the
    first background run finishes (or when it failed) it returns None and recommendations use the
    plain in-stock rule; after `ttl_s` (a day by default) the next read starts a refresh and keeps
    serving the previous outlook meanwhile."""

    def __init__(self, compute: Callable[[], StockOutlook], ttl_s: float = 86400.0,
                 stopped: Callable[[], bool] = lambda: False) -> None:
        self._compute, self._ttl, self._stopped = compute, ttl_s, stopped
        self._outlook: StockOutlook | None = None
        self._at = 0.0
        self._running = False
        self._lock = threading.Lock()

    @classmethod
    def for_graph(cls, graph: object, settings: object, today: Callable[[], date] = date.today,
                  ttl_s: float = 86400.0) -> FittedStockOutlook:
        return cls(lambda: outlook_from_graph(graph, settings, today()), ttl_s,
                   stopped=lambda: bool(getattr(graph, "closed", False)))

    def get(self) -> StockOutlook | None:
        if self._outlook is None or time.monotonic() - self._at >= self._ttl:
            self.warm()
        return self._outlook

    def refresh(self) -> StockOutlook | None:
        """Recompute now, in this thread (the worker's periodic pass, tests)."""
        try:
            outlook = self._compute()
        except Exception:  # the graph is down or a forecast failed: keep the last outlook
            if self._stopped():
                log.debug("stock outlook refresh stopped: the graph was closed")
            else:
                log.exception("stock outlook refresh failed")
            self._at = time.monotonic()
            return self._outlook
        self._outlook, self._at = outlook, time.monotonic()
        log.info("stock outlook: lead-time demand forecast for %d SKUs", len(outlook.lead_time_demand))
        return outlook

    def warm(self) -> None:
        """Start one background refresh unless one is running."""
        with self._lock:
            if self._running:
                return
            self._running = True

        def run() -> None:
            try:
                self.refresh()
            finally:
                self._running = False

        threading.Thread(target=run, name="stock-outlook", daemon=True).start()
