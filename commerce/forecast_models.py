"""The candidate demand models, each a pure function `(history, horizon) -> mean path`.

Why these four (issue 8):
- `seasonal_naive` (same weekday last week) is the benchmark every other model must beat; it is also the
  MASE scale, so it has to be in the set.
- `ses` is statsforecast's optimised simple exponential smoothing, fitted on the calendar-adjusted series
  (weekday, month-of-year and brand events divided out by `forecast_profile`). It tracks a drifting level
  with one parameter, which is about all a ~1 unit/day SKU can support.
- `tsb` (Teunter-Syntetos-Babai) is statsforecast's intermittent-demand model: it smooths the probability
  of a sale and the size of a sale separately, and unlike Croston it decays to zero when a SKU stops
  selling. Daily skincare sales per SKU are mostly zeros, which is exactly its home ground. Two
  memories are offered (`tsb` 0.1/0.1, `tsb_slow` 0.05/0.02) and the backtests choose, not us.
- `sma_8w`, `sma_13w`, `sma_26w`: the mean of the last 8, 13 or 26 whole weeks (calendar-adjusted like
  the others). For a SKU whose rate is steady, a long plain average estimates it with less noise than
  any smoothing constant that also has to follow change; simple moving averages are the long-standing
  benchmark for intermittent demand (Syntetos & Boylan 2005). Three windows are offered and the
  backtests choose; on trending or seasonal-drifting series they lose their backtests and are not picked.
- `theta` (statsforecast's standard Theta) is the M3 winner; it is ~50x slower than SES here, so it is
  evaluated by `skinsage eval forecast` but only selected per SKU when `forecast_methods` lists it.

statsforecast is imported on first use (2-3 s), never at module import, so the API starts fast.
Models never see NaN or negative values: `forecast.clean_history` handles those at the edge.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import cache
from typing import Any

import numpy as np

#: The benchmark: never calendar-adjusted, always in the candidate set.
BENCHMARK = "seasonal_naive"
#: Every model the engine knows, in the order ties are broken (simplest first).
ALL_METHODS = ("ses", "tsb", "tsb_slow", "sma_8w", "sma_13w", "sma_26w", "theta", BENCHMARK)
#: Methods fitted on the calendar-adjusted series (the benchmark sees the raw series).
ADJUSTED = frozenset({"ses", "tsb", "tsb_slow", "sma_8w", "sma_13w", "sma_26w", "theta"})

Model = Callable[[np.ndarray, int], np.ndarray]


@cache
def _sf() -> Any:
    from statsforecast import models

    return models


def seasonal_naive(y: np.ndarray, h: int, season: int = 7) -> np.ndarray:
    """The last full season repeated; with less than one season of history, the mean of what there is."""
    if len(y) == 0:
        return np.zeros(h)
    if len(y) < season:
        return np.full(h, float(y.mean()))
    last = y[-season:]
    return np.resize(last, h).astype(float)


def ses(y: np.ndarray, h: int) -> np.ndarray:
    """Optimised simple exponential smoothing (statsforecast); a flat path at the smoothed level."""
    if len(y) < 2:
        return np.full(h, float(y.mean()) if len(y) else 0.0)
    if not y.any():
        return np.zeros(h)
    return np.maximum(_sf().SimpleExponentialSmoothingOptimized().forecast(y=y, h=h)["mean"], 0.0)


def tsb(y: np.ndarray, h: int, alpha_d: float = 0.1, alpha_p: float = 0.1) -> np.ndarray:
    """TSB intermittent demand (statsforecast): P(sale) x size of a sale, both exponentially smoothed."""
    if not y.any():
        return np.zeros(h)
    return np.maximum(_sf().TSB(alpha_d=alpha_d, alpha_p=alpha_p).forecast(y=y, h=h)["mean"], 0.0)


def tsb_slow(y: np.ndarray, h: int) -> np.ndarray:
    """TSB with a long memory (sale probability ~ the last 50 days, size ~ the last 20 sales): the
    classic 0.1/0.1 constants come from monthly data and over-react to a lucky week of daily sales."""
    return tsb(y, h, alpha_d=0.05, alpha_p=0.02)


def sma(y: np.ndarray, h: int, weeks: int) -> np.ndarray:
    """A flat path at the mean of the last `weeks` whole weeks (of all the history when shorter)."""
    if len(y) == 0:
        return np.zeros(h)
    return np.full(h, float(y[-7 * weeks:].mean()))


def sma_8w(y: np.ndarray, h: int) -> np.ndarray:
    return sma(y, h, 8)


def sma_13w(y: np.ndarray, h: int) -> np.ndarray:
    return sma(y, h, 13)


def sma_26w(y: np.ndarray, h: int) -> np.ndarray:
    return sma(y, h, 26)


def theta(y: np.ndarray, h: int) -> np.ndarray:
    """Standard Theta (statsforecast) without its own seasonal test: seasonality is adjusted outside."""
    if len(y) < 4 or not y.any():
        return np.full(h, float(y.mean()) if len(y) else 0.0)
    return np.maximum(_sf().Theta(season_length=1).forecast(y=y, h=h)["mean"], 0.0)


MODELS: dict[str, Model] = {"ses": ses, "tsb": tsb, "tsb_slow": tsb_slow, "sma_8w": sma_8w, "sma_13w": sma_13w,
                            "sma_26w": sma_26w, "theta": theta, BENCHMARK: seasonal_naive}


def predict(method: str, y: np.ndarray, h: int, season: int = 7) -> np.ndarray:
    """One model's mean forecast; `season` only matters to the benchmark."""
    if method == BENCHMARK:
        return seasonal_naive(y, h, season)
    try:
        model = MODELS[method]
    except KeyError:
        raise ValueError(f"unknown forecast method {method!r}; known: {', '.join(ALL_METHODS)}") from None
    return model(y, h)
