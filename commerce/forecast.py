"""Per-SKU daily demand forecasts with intervals, the model chosen per SKU by rolling-origin backtests.

Pure: histories in, forecasts out; no graph, no files (the service in `forecast_service` does the I/O).

How one portfolio run works:
1. Clean each history at the edge (`clean_history`): negatives become 0 (returns are not negative
   demand), NaN days are treated as missing and filled from the recent mean, inf is refused.
2. Estimate the calendar profile (weekday, month-of-year, brand events) on the pooled total, once per
   backtest origin (only on data before that origin, so backtests never peek) and once on everything.
3. Per SKU, for each fold and method, forecast the fold from the data before it; score MASE, weekly
   MASE and WAPE. The portfolio's default is the method with the lowest mean (weekly) MASE over all
   SKUs; a SKU keeps its own best method only when that is clearly better in its own backtests
   (`choose`). SKUs too new to backtest get the default (or `ses`), never the benchmark.
4. Fit the chosen method on the whole history; intervals come from its own backtest errors: daily
   negative-binomial quantiles with the overdispersion seen in backtests, and for totals over a horizon
   a normal approximation that adds how far the level itself was off in backtests.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, timedelta
from statistics import NormalDist
from typing import Literal, Protocol

import numpy as np
from pydantic import BaseModel, Field, field_validator

from commerce.forecast_backtest import FoldResult, MethodScore, mase_scale, pick, weeks
from commerce.forecast_calendar import EventCalendar
from commerce.forecast_models import ADJUSTED, ALL_METHODS, BENCHMARK, predict
from commerce.forecast_profile import CalendarProfile, estimate_profile
from skinsage.errors import InvalidInput

#: Horizons every report carries.
HORIZONS = (30, 60, 90)


class ForecastConfig(BaseModel):
    """How forecasts are made; built from Settings by the service, defaults for tests and the bench."""

    methods: tuple[str, ...] = ("ses", "tsb", "tsb_slow", "sma_8w", "sma_13w", "sma_26w", BENCHMARK)
    folds: int = Field(default=3, ge=1, le=12)
    fold_days: int = Field(default=28, ge=7, le=180)
    horizon: int = Field(default=90, ge=7, le=365)
    interval_level: float = Field(default=0.9, gt=0.5, lt=1)
    season: int = Field(default=7, ge=1)
    #: Minimum days of history before the first backtest origin.
    min_train_days: int = Field(default=28, ge=7)
    #: Also keep every candidate's final forecast path (the evaluation scores them all out of sample).
    keep_paths: bool = False
    #: What the backtests choose on: `weekly_mase` for daily data (see forecast_backtest), else `mase`.
    select_on: Literal["mase", "weekly_mase"] = "weekly_mase"
    #: A SKU leaves the portfolio's best method only for one at least this much better in its own backtests.
    switch_margin: float = Field(default=0.1, ge=0, lt=1)

    @field_validator("methods")
    @classmethod
    def _known(cls, v: tuple[str, ...]) -> tuple[str, ...]:
        bad = [m for m in v if m not in ALL_METHODS]
        if bad:
            raise ValueError(f"unknown forecast methods {bad}; known: {list(ALL_METHODS)}")
        return tuple(dict.fromkeys((*v, BENCHMARK)))   # the benchmark is always scored


@dataclass
class SkuForecast:
    """One SKU's forecast from `start` (the day after its history ends) for `len(mean)` days."""

    sku: str
    start: date
    method: str
    history_days: int
    mean: np.ndarray
    lower: np.ndarray
    upper: np.ndarray
    phi: float
    level_sd: float
    backtest: dict[str, MethodScore] = field(default_factory=dict)
    cleaned: dict[str, int] = field(default_factory=dict)
    paths: dict[str, np.ndarray] = field(default_factory=dict)

    def total(self, days: int) -> float:
        return float(_extend(self.mean, days)[:days].sum())

    def total_sd(self, days: int) -> float:
        """Standard deviation of total demand over the next `days` days."""
        mu = _extend(self.mean, days)[:days]
        return float(np.sqrt((mu + self.phi * mu**2).sum() + (days * self.level_sd) ** 2))

    def total_interval(self, days: int, level: float) -> tuple[float, float]:
        z = NormalDist().inv_cdf(0.5 + level / 2)
        m, s = self.total(days), self.total_sd(days)
        return max(0.0, m - z * s), m + z * s

    @property
    def backtest_mase(self) -> float:
        s = self.backtest.get(self.method)
        return s.mase if s else float("nan")


def _extend(path: np.ndarray, days: int) -> np.ndarray:
    """A forecast path longer than computed continues at its last 28 days' mean."""
    if days <= len(path):
        return path
    tail = float(path[-28:].mean()) if len(path) else 0.0
    return np.concatenate([path, np.full(days - len(path), tail)])


def clean_history(values: np.ndarray | list[float]) -> tuple[np.ndarray, dict[str, int]]:
    """A demand history models can use, and what was changed. Negative days (net returns) count as 0;
    NaN days are missing and get the mean of the 28 observed days before them; inf is an error."""
    y = np.asarray(values, dtype=float).copy()
    if np.isinf(y).any():
        raise InvalidInput("a demand history contains an infinite value")
    notes = {"negative": int((y < 0).sum()), "missing": int(np.isnan(y).sum())}
    y[y < 0] = 0.0
    if notes["missing"]:
        for i in np.flatnonzero(np.isnan(y)):
            prev = y[max(0, i - 28):i]
            prev = prev[~np.isnan(prev)]
            y[i] = prev.mean() if len(prev) else 0.0
    return y, {k: v for k, v in notes.items() if v}


def _daily_interval(mu: np.ndarray, phi: float, level: float) -> tuple[np.ndarray, np.ndarray]:
    from scipy import stats

    a = (1 - level) / 2
    mu = np.maximum(mu, 1e-9)
    if phi < 1e-6:
        return stats.poisson.ppf(a, mu), stats.poisson.ppf(1 - a, mu)
    n, p = 1 / phi, 1 / (1 + phi * mu)
    return stats.nbinom.ppf(a, n, p), stats.nbinom.ppf(1 - a, n, p)


def origins_for(t: int, cfg: ForecastConfig) -> list[int]:
    """Rolling origins: the last `folds` windows of `fold_days`, each after at least `min_train_days`."""
    return [t - k * cfg.fold_days for k in range(cfg.folds, 0, -1) if t - k * cfg.fold_days >= cfg.min_train_days]


class Adjuster(Protocol):
    """Multiplicative seasonal factors: `by_origin[o]` covers days [0, o + fold_days) and is estimated on
    data before o only; `final` covers the history and the forecast horizon."""

    origins: list[int]
    by_origin: dict[int, np.ndarray]
    final: np.ndarray


class _Profiles:
    """Calendar factors for each backtest origin (estimated on data before it) and for the final fit."""

    def __init__(self, total: np.ndarray, start: date, calendar: EventCalendar, cfg: ForecastConfig) -> None:
        t = len(total)
        self.origins = origins_for(t, cfg)
        self.by_origin: dict[int, np.ndarray] = {}
        for o in self.origins:
            prof = estimate_profile(total[:o], start, calendar)
            self.by_origin[o] = prof.factors(start, o + cfg.fold_days, calendar)
        self.profile: CalendarProfile = estimate_profile(total, start, calendar)
        self.final = self.profile.factors(start, t + cfg.horizon, calendar)


def _fit(method: str, y: np.ndarray, fac: np.ndarray, h: int, season: int) -> np.ndarray:
    """Forecast h days after y; `fac` covers y's days then the h future days."""
    if method not in ADJUSTED:
        return predict(method, y, h, season)
    n = len(y)
    return predict(method, y / fac[:n], h) * fac[n:n + h]


def backtest_series(y: np.ndarray, profiles: Adjuster, cfg: ForecastConfig) -> dict[str, MethodScore]:
    """Every method on every rolling origin after the series' first sale (its launch)."""
    nz = np.flatnonzero(y > 0)
    scores: dict[str, MethodScore] = {}
    if not len(nz):
        return scores
    first = int(nz[0])
    for o in profiles.origins:
        if o - first < cfg.min_train_days:
            continue
        train, actual = y[first:o], y[o:o + cfg.fold_days]
        fac = profiles.by_origin[o][first:]
        scale, weekly = mase_scale(train, cfg.season), mase_scale(weeks(train), 1)
        for m in cfg.methods:
            f = _fit(m, train, fac, len(actual), cfg.season)
            scores.setdefault(m, MethodScore()).folds.append(FoldResult(actual, f, scale, weekly))
    return scores


def _abs_errors(score: MethodScore, metric: str) -> np.ndarray:
    if metric == "weekly_mase":
        return np.concatenate([np.abs(weeks(f.actual) - weeks(f.forecast)) for f in score.folds])
    return np.concatenate([np.abs(f.actual - f.forecast) for f in score.folds])


def choose(scores: dict[str, MethodScore], default: str | None, margin: float, metric: str = "mase") -> str:
    """The series' own best method only when it beats the portfolio's default clearly: by `margin` in
    its backtests and by two standard errors of the paired error differences (a Diebold-Mariano-style
    check). Three folds of sparse sales crown a winner partly by luck, and a wrong switch costs."""
    if not scores:
        return default or "ses"
    own = pick(scores, ALL_METHODS, metric)
    if default is None or default not in scores or own == default:
        return own
    d, o = scores[default].metric(metric), scores[own].metric(metric)
    if not (np.isfinite(d) and np.isfinite(o)):
        return own if np.isfinite(o) or not np.isfinite(d) else default
    diff = _abs_errors(scores[default], metric) - _abs_errors(scores[own], metric)
    clear = len(diff) > 1 and diff.mean() > 2 * diff.std(ddof=1) / np.sqrt(len(diff))
    return own if o < d * (1 - margin) and clear else default


def portfolio_default(all_scores: list[dict[str, MethodScore]], methods: tuple[str, ...],
                      metric: str = "mase") -> str | None:
    """The method with the lowest mean `metric` over every series that scored all methods."""
    full = [s for s in all_scores if all(m in s and np.isfinite(s[m].metric(metric)) for m in methods)]
    if not full:
        return None
    return min(methods, key=lambda m: (float(np.mean([s[m].metric(metric) for s in full])), ALL_METHODS.index(m)))


def forecast_series(sku: str, y: np.ndarray, cleaned: dict[str, int], profiles: Adjuster, start: date,
                    cfg: ForecastConfig, pooled_phi: float | None = None, default: str | None = None,
                    scores: dict[str, MethodScore] | None = None) -> SkuForecast:
    """One cleaned series: backtest every method, choose one, fit it on everything, add intervals."""
    t = len(y)
    fc_start = start + timedelta(days=t)
    nz = np.flatnonzero(y > 0)
    if not len(nz):
        zeros = np.zeros(cfg.horizon)
        return SkuForecast(sku, fc_start, "no_history", 0, zeros, zeros, zeros, 0.0, 0.0, {}, cleaned,
                           {m: zeros for m in cfg.methods} if cfg.keep_paths else {})
    first = int(nz[0])                      # the SKU's launch: zeros before its first sale are not demand
    scores = backtest_series(y, profiles, cfg) if scores is None else scores
    method = choose(scores, default, cfg.switch_margin, cfg.select_on)
    hist = y[first:]
    mean = _fit(method, hist, profiles.final[first:], cfg.horizon, cfg.season)
    if method in scores:
        phi, level_sd = scores[method].residual_stats()
    else:                                   # too new to backtest: the uncertainty of a mean of n days
        phi = pooled_phi if pooled_phi is not None else 0.5
        rate = float(hist.mean())
        level_sd = float(np.sqrt((rate + phi * rate**2) / len(hist)))
    lo, hi = _daily_interval(mean, phi, cfg.interval_level)
    paths = {m: _fit(m, hist, profiles.final[first:], cfg.horizon, cfg.season) for m in cfg.methods} \
        if cfg.keep_paths else {}
    return SkuForecast(sku, fc_start, method, t - first, mean, lo, hi, phi, level_sd, scores, cleaned, paths)


def forecast_portfolio(histories: Mapping[str, np.ndarray | list[float]], start: date,
                       calendar: EventCalendar | None = None, config: ForecastConfig | None = None,
                       profile_total: np.ndarray | None = None) -> dict[str, SkuForecast]:
    """Forecast every SKU. Each history is daily demand from `start`, all ending on the same day (shorter
    ones are aligned at the end, as SKUs launched later). `profile_total` overrides the pooled total the
    calendar profile is estimated on (the chat tool forecasts one SKU against the whole brand's shape)."""
    cfg = config or ForecastConfig()
    cal = calendar or EventCalendar()
    if not histories:
        return {}
    t = max(len(h) for h in histories.values())
    ys: dict[str, np.ndarray] = {}
    notes: dict[str, dict[str, int]] = {}
    for sku, h in histories.items():
        y, notes[sku] = clean_history(h)
        ys[sku] = np.concatenate([np.zeros(t - len(y)), y])
    total = profile_total if profile_total is not None else np.sum(list(ys.values()), axis=0)
    if len(total) != t:
        raise InvalidInput(f"the profile total has {len(total)} days, the histories {t}")
    profiles = _Profiles(np.asarray(total, dtype=float), start, cal, cfg)
    scores = {sku: backtest_series(y, profiles, cfg) for sku, y in ys.items()}
    default = portfolio_default(list(scores.values()), cfg.methods, cfg.select_on)
    out: dict[str, SkuForecast] = {}
    phis: list[float] = []
    for sku in sorted(ys, key=lambda s: not scores[s]):   # backtested SKUs first: their phi is pooled
        out[sku] = forecast_series(sku, ys[sku], notes[sku], profiles, start, cfg,
                                   float(np.median(phis)) if phis else None, default, scores[sku])
        if out[sku].backtest:
            phis.append(out[sku].phi)
    return {sku: out[sku] for sku in histories}
