"""Accuracy measures and rolling-origin backtests, shared by model selection, evaluation and the bench.

MASE (Hyndman & Koehler 2006) scales the mean absolute error by the in-sample MAE of the seasonal naive
forecast, so it is comparable across SKUs of any volume and below 1 means "better than copying last
week". A SKU too sparse for a seasonal scale falls back to the one-step naive scale; a SKU with no
variation at all has no MASE (it is left out of averages, never counted as 0 or infinity).
WAPE (sum |error| / sum actual) is the volume-weighted view planners read as "percent off".

Weekly MASE scores the same daily forecasts on 7-day totals. Models are chosen on it for daily data,
because daily MAE cannot tell a good forecast from copying last week when sales are sparse: for a SKU
selling on 1 day in 10, E|y - p| = E|y_t - y_t-7| = 2p(1-p), so a perfect rate forecast and the seasonal
naive tie, and selection becomes a coin toss. Stock decisions depend on totals over days (lead time,
review period), and there the rate forecast is clearly better.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np


def mase_scale(train: np.ndarray, season: int) -> float:
    """In-sample MAE of the seasonal naive forecast (one-step naive when that is zero or too short)."""
    for m in (season, 1):
        if len(train) > m:
            s = float(np.abs(train[m:] - train[:-m]).mean())
            if s > 0:
                return s
    return 0.0


def mase(actual: np.ndarray, forecast: np.ndarray, scale: float) -> float:
    return float(np.abs(actual - forecast).mean() / scale) if scale > 0 else float("nan")


def weeks(y: np.ndarray) -> np.ndarray:
    """Totals of whole 7-day blocks, aligned to the end of the series."""
    n = len(y) // 7 * 7
    return np.asarray(y[len(y) - n:].reshape(-1, 7).sum(axis=1))


def wape(actual: np.ndarray, forecast: np.ndarray) -> float:
    total = float(np.abs(actual).sum())
    return float(np.abs(actual - forecast).sum() / total) if total > 0 else float("nan")


@dataclass
class FoldResult:
    """One method on one fold: what it forecast, what happened, and the fold's MASE scale."""

    actual: np.ndarray
    forecast: np.ndarray
    scale: float
    weekly_scale: float = 0.0

    @property
    def mase(self) -> float:
        return mase(self.actual, self.forecast, self.scale)

    @property
    def weekly_mase(self) -> float:
        return mase(weeks(self.actual), weeks(self.forecast), self.weekly_scale)

    @property
    def abs_error(self) -> float:
        return float(np.abs(self.actual - self.forecast).sum())


@dataclass
class MethodScore:
    """One method's backtest on one series, over every fold."""

    folds: list[FoldResult] = field(default_factory=list)

    @property
    def mase(self) -> float:
        vals = [f.mase for f in self.folds if f.scale > 0]
        return float(np.mean(vals)) if vals else float("nan")

    @property
    def weekly_mase(self) -> float:
        vals = [f.weekly_mase for f in self.folds if f.weekly_scale > 0 and len(f.actual) >= 7]
        return float(np.mean(vals)) if vals else float("nan")

    def metric(self, name: str) -> float:
        return float(getattr(self, name))

    @property
    def wape(self) -> float:
        actual = sum(float(f.actual.sum()) for f in self.folds)
        return sum(f.abs_error for f in self.folds) / actual if actual > 0 else float("nan")

    @property
    def mae(self) -> float:
        n = sum(len(f.actual) for f in self.folds)
        return sum(f.abs_error for f in self.folds) / n if n else float("nan")

    def residual_stats(self) -> tuple[float, float]:
        """(phi, level_sd): negative-binomial overdispersion of daily errors, and the sd of a fold's mean
        error beyond that noise (how far the level itself can be off), both by the method of moments."""
        f = np.concatenate([x.forecast for x in self.folds])
        e = np.concatenate([x.actual - x.forecast for x in self.folds])
        denom = float((f**2).sum())
        phi = max(0.0, (float((e**2).sum()) - float(f.sum())) / denom) if denom > 0 else 0.0
        phi = min(phi, 10.0)
        noise = [float((x.forecast + phi * x.forecast**2).sum()) / len(x.forecast) ** 2 for x in self.folds]
        bias2 = [float((x.actual - x.forecast).mean()) ** 2 for x in self.folds]
        return phi, float(np.sqrt(max(0.0, float(np.mean(bias2)) - float(np.mean(noise)))))


def pick(scores: dict[str, MethodScore], order: tuple[str, ...], metric: str = "mase") -> str:
    """The method with the lowest mean `metric` (then daily MASE, then MAE when a scale is missing);
    ties go to the earlier one."""
    def key(name: str) -> tuple[float, int]:
        s = scores[name]
        vals = [v for v in (s.metric(metric), s.mase, s.mae) if np.isfinite(v)]
        return (vals[0] if vals else np.inf, order.index(name) if name in order else len(order))
    return min(scores, key=key)


def summarise(per_series: list[dict[str, MethodScore]]) -> dict[str, dict[str, float]]:
    """Per method over many series: mean MASE (series with a scale), pooled WAPE, series counted."""
    out: dict[str, dict[str, float]] = {}
    for name in dict.fromkeys(n for s in per_series for n in s):
        ss = [s[name] for s in per_series if name in s]
        mases = [s.mase for s in ss if np.isfinite(s.mase)]
        actual = sum(float(f.actual.sum()) for s in ss for f in s.folds)
        err = sum(f.abs_error for s in ss for f in s.folds)
        out[name] = {"mase": float(np.mean(mases)) if mases else float("nan"),
                     "wape": err / actual if actual > 0 else float("nan"), "series": float(len(mases))}
    return out
