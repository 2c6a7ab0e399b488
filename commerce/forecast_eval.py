"""Out-of-sample evaluation of the forecast engine: every method and the per-series selection, in one run.

Nested rolling origin, so the "selected" row is honest: at each outer origin the engine sees only the
data before it, picks a model per series from its own inner backtests, and is then scored on the next
window it never saw, next to every fixed method scored on the same windows. MASE uses each training
window's in-sample seasonal-naive MAE as the scale (mean over series x folds with a scale); WAPE pools
absolute errors over everything.

Datasets: the demo sales (daily, per SKU, from the committed generator) and real public series that
ship inside installed packages (nothing is downloaded): AirPassengers (statsforecast.utils) and the
euro-area electrical equipment orders index (statsmodels.datasets.elec_equip), both monthly.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

import numpy as np

from commerce.forecast import (
    ForecastConfig,
    SkuForecast,
    clean_history,
    forecast_portfolio,
    forecast_series,
    origins_for,
)
from commerce.forecast_backtest import mase, mase_scale, weeks
from commerce.forecast_calendar import EventCalendar
from commerce.forecast_models import ALL_METHODS
from graph.model import KnowledgeBundle

SELECTED = "selected"


@dataclass
class EvalTable:
    """Per method: mean MASE, pooled WAPE, and how many (series x fold) scores the MASE averages."""

    dataset: str
    series: int
    folds: int
    horizon: int
    rows: dict[str, dict[str, float]]

    def improvement(self, method: str = SELECTED, metric: str = "mase") -> float:
        """1 - MASE(method) / MASE(seasonal naive): 0.1 means 10 % better than the benchmark."""
        return 1 - self.rows[method][metric] / self.rows["seasonal_naive"][metric]


def _with(cfg: ForecastConfig, **updates: object) -> ForecastConfig:
    """A validated copy (model_copy skips validation, and validation adds the benchmark to the methods)."""
    return ForecastConfig.model_validate(cfg.model_dump() | updates)


class _Acc:
    def __init__(self) -> None:
        self.mases: dict[str, list[float]] = {}
        self.weekly: dict[str, list[float]] = {}
        self.err: dict[str, float] = {}
        self.actual: dict[str, float] = {}

    def add(self, name: str, actual: np.ndarray, forecast: np.ndarray, scale: float,
            weekly_scale: float = 0.0) -> None:
        if scale > 0:
            self.mases.setdefault(name, []).append(mase(actual, forecast, scale))
        if weekly_scale > 0:
            self.weekly.setdefault(name, []).append(mase(weeks(actual), weeks(forecast), weekly_scale))
        self.err[name] = self.err.get(name, 0.0) + float(np.abs(actual - forecast).sum())
        self.actual[name] = self.actual.get(name, 0.0) + float(actual.sum())

    def add_forecast(self, f: SkuForecast, actual: np.ndarray, scale: float, weekly_scale: float = 0.0) -> None:
        h = len(actual)
        for name, path in f.paths.items():
            self.add(name, actual, path[:h], scale, weekly_scale)
        self.add(SELECTED, actual, f.mean[:h], scale, weekly_scale)

    def table(self, dataset: str, series: int, folds: int, horizon: int) -> EvalTable:
        order = [m for m in (*ALL_METHODS, SELECTED) if m in self.err]
        rows = {m: {"mase": float(np.mean(self.mases[m])) if self.mases.get(m) else float("nan"),
                    "wape": self.err[m] / self.actual[m] if self.actual[m] else float("nan"),
                    "weekly_mase": float(np.mean(self.weekly[m])) if self.weekly.get(m) else float("nan"),
                    "scored": float(len(self.mases.get(m, [])))} for m in order}
        return EvalTable(dataset, series, folds, horizon, rows)


def evaluate_demo(bundle: KnowledgeBundle, anchor: date, config: ForecastConfig, calendar: EventCalendar,
                  history_days: int = 730, skus: list[str] | None = None) -> EvalTable:
    """The demo sales: daily per SKU, outer folds of `config.fold_days` before the anchor."""
    from commerce.forecast_service import histories_from_orders

    start = anchor - timedelta(days=history_days)
    hist = histories_from_orders(bundle.orders, start, history_days)
    total = np.sum(list(hist.values()), axis=0)   # the brand's shape, from every SKU
    if skus is not None:
        hist = {s: hist[s] for s in skus if s in hist}
    cfg = _with(config, keep_paths=True)
    acc = _Acc()
    outer = origins_for(history_days, cfg)
    for o in outer:
        fc = forecast_portfolio({s: y[:o] for s, y in hist.items()}, start, calendar,
                                _with(cfg, horizon=cfg.fold_days), profile_total=total[:o])
        for sku, f in fc.items():
            y = hist[sku]
            nz = np.flatnonzero(y[:o] > 0)
            if not len(nz):
                continue                          # not launched yet at this origin: nothing to score
            train = y[nz[0]:o]
            acc.add_forecast(f, y[o:o + cfg.fold_days], mase_scale(train, cfg.season), mase_scale(weeks(train), 1))
    return acc.table("demo sales (daily, per SKU)", len(hist), len(outer), cfg.fold_days)


class SeasonalIndices:
    """Classical multiplicative decomposition (ratio to a centred moving average), the adjustment the
    Theta method uses, for series without a daily calendar (the monthly public series)."""

    def __init__(self, y: np.ndarray, cfg: ForecastConfig) -> None:
        self.origins = origins_for(len(y), cfg)
        self.by_origin = {o: self._factors(y[:o], o + cfg.fold_days, cfg.season) for o in self.origins}
        self.final = self._factors(y, len(y) + cfg.horizon, cfg.season)

    @staticmethod
    def _factors(y: np.ndarray, length: int, m: int) -> np.ndarray:
        if len(y) < 2 * m + 1 or (y <= 0).any() or m < 2:
            return np.ones(length)
        w = np.r_[0.5, np.ones(m - 1), 0.5] / m if m % 2 == 0 else np.ones(m) / m
        trend = np.convolve(y, w, mode="valid")
        off = (len(y) - len(trend)) // 2
        ratio = y[off:off + len(trend)] / trend
        pos = (np.arange(len(trend)) + off) % m
        idx = np.array([ratio[pos == j].mean() for j in range(m)])
        idx /= idx.mean()
        return np.asarray(idx[np.arange(length) % m])


def public_series() -> dict[str, tuple[np.ndarray, int]]:
    """(values, season length) of real series bundled in installed packages: no download."""
    from statsforecast.utils import AirPassengers
    from statsmodels.datasets import elec_equip

    return {"AirPassengers (statsforecast.utils, monthly)": (np.asarray(AirPassengers, dtype=float), 12),
            "elec_equip (statsmodels.datasets, monthly)":
                (elec_equip.load().data.iloc[:, 0].to_numpy(dtype=float), 12)}


def evaluate_public(config: ForecastConfig, folds: int = 4) -> list[EvalTable]:
    out = []
    for name, (y, m) in public_series().items():
        cfg = _with(config, season=m, fold_days=m, folds=3, min_train_days=3 * m, keep_paths=True, horizon=m,
                    select_on="mase")
        acc = _Acc()
        outer = [len(y) - k * m for k in range(folds, 0, -1)]
        for o in outer:
            train, _ = clean_history(y[:o])
            f = forecast_series(name, train, {}, SeasonalIndices(train, cfg), date(2000, 1, 1), cfg)
            acc.add_forecast(f, y[o:o + m], mase_scale(train, m))
        out.append(acc.table(name, 1, len(outer), m))
    return out
