"""The forecast engine on synthetic series whose right answer is known."""

from __future__ import annotations

from datetime import date, timedelta

import numpy as np
import pytest

from commerce.forecast import ForecastConfig, clean_history, forecast_portfolio
from commerce.forecast_backtest import FoldResult, MethodScore, mase_scale, pick
from commerce.forecast_calendar import BrandEvent, EventCalendar, load_calendar
from commerce.forecast_models import predict, seasonal_naive
from commerce.forecast_profile import estimate_profile
from skinsage.errors import InvalidInput, KnowledgeError

START = date(2024, 11, 1)          # a Friday
DAYS = 730
END = START + timedelta(days=DAYS)  # 2026-11-01, the first forecast day


def _dates(days: int = DAYS, start: date = START) -> list[date]:
    return [start + timedelta(days=i) for i in range(days)]


def _poisson(lam: np.ndarray, seed: int = 1) -> np.ndarray:
    return np.random.default_rng(seed).poisson(lam).astype(float)


def test_weekday_pattern_is_recovered_and_projected() -> None:
    shape = np.array([1.0, 1.0, 1.0, 1.0, 1.0, 2.0, 0.5])          # Saturday doubles, Sunday halves
    lam = 20 * shape[[d.weekday() for d in _dates()]]
    prof = estimate_profile(_poisson(lam), START, EventCalendar())
    expected = shape / shape.mean()
    assert np.allclose(prof.weekday, expected, atol=0.05)
    f = forecast_portfolio({"A": _poisson(lam)}, START).get("A")
    assert f is not None
    by_day = {(END + timedelta(days=i)).weekday(): f.mean[i] for i in range(7)}
    assert by_day[5] / by_day[2] == pytest.approx(2.0, rel=0.15)
    assert by_day[6] / by_day[2] == pytest.approx(0.5, rel=0.15)


def test_yearly_season_is_recovered_and_absent_season_is_not_invented() -> None:
    months = np.array([d.month for d in _dates()])
    lam = 30 * (1 + 0.5 * np.cos(2 * np.pi * (months - 1) / 12))       # January peak, July trough
    prof = estimate_profile(_poisson(lam), START, EventCalendar())
    assert prof.month[0] > 1.3 and prof.month[6] < 0.7
    flat = estimate_profile(_poisson(np.full(DAYS, 30.0), seed=3), START, EventCalendar())
    assert np.allclose(flat.month, 1, atol=0.05) and np.allclose(flat.weekday, 1, atol=0.03)


def test_a_past_promotion_lifts_its_next_occurrence() -> None:
    cal = EventCalendar(events=[
        BrandEvent(name="Black Friday", kind="promotion", start=date(2024, 11, 29), end=date(2024, 12, 2)),
        BrandEvent(name="Black Friday", kind="promotion", start=date(2025, 11, 28), end=date(2025, 12, 1)),
        BrandEvent(name="Black Friday", kind="promotion", start=date(2026, 11, 27), end=date(2026, 11, 30))])
    _, on = cal.matrix(START, DAYS)
    y = _poisson(np.where(on[0], 30.0, 10.0))
    f = forecast_portfolio({"A": y}, START, cal, ForecastConfig(methods=("ses",)))["A"]
    bf = (date(2026, 11, 27) - END).days
    assert f.mean[bf] / f.mean[bf - 7] == pytest.approx(3.0, rel=0.25)
    # never seen before: the planner's uplift is used as is
    new = EventCalendar(events=[BrandEvent(name="Launch", kind="promotion", start=date(2026, 11, 10),
                                           end=date(2026, 11, 10), uplift=1.5)])
    g = forecast_portfolio({"A": _poisson(np.full(DAYS, 10.0))}, START, new, ForecastConfig(methods=("ses",)))["A"]
    assert g.mean[9] / g.mean[2] == pytest.approx(1.5, rel=0.1)


def test_intermittent_demand_forecasts_the_rate_not_the_last_sale() -> None:
    rng = np.random.default_rng(11)
    skus = {f"S{i}": np.where(rng.random(DAYS) < 0.1, 1.0, 0.0) for i in range(20)}   # a sale ~1 day in 10
    fc = forecast_portfolio(skus, START)
    chosen = [f.method for f in fc.values()]
    assert sum(m != "seasonal_naive" for m in chosen) >= 16          # copying last week's 0/1s rarely wins
    for f in fc.values():
        assert set(f.backtest) == {"ses", "tsb", "tsb_slow", "sma_8w", "sma_13w", "sma_26w", "seasonal_naive"}
        # daily bounds are count quantiles (at ~0.1 a day the 95th percentile is still 0 or 1)
        assert (f.mean >= 0).all() and (f.lower <= f.upper).all() and set(np.unique(f.upper)) <= {0.0, 1.0, 2.0}
        lo, hi = f.total_interval(30, 0.9)
        assert lo < f.total(30) < hi
        if f.method != "seasonal_naive":
            assert 0.03 < f.mean[:30].mean() < 0.2
    tsb_path = predict("tsb", skus["S0"], 30)
    assert np.ptp(tsb_path) == 0 and 0.03 < tsb_path[0] < 0.2
    # a SKU that stopped selling months ago is forecast to sell almost nothing (TSB decays, Croston doesn't)
    stopped = skus["S0"].copy()
    stopped[-150:] = 0
    assert predict("tsb", stopped, 30).mean() < 0.02


def test_zero_history_gives_zero_forecast_and_no_model() -> None:
    f = forecast_portfolio({"Z": np.zeros(DAYS)}, START)["Z"]
    assert f.method == "no_history" and f.history_days == 0 and not f.mean.any() and f.total_sd(30) == 0


def test_brand_new_sku_with_three_days_of_sales() -> None:
    y = np.zeros(DAYS)
    y[-3:] = [2, 1, 3]
    rng = np.random.default_rng(2)
    others = {f"S{i}": rng.poisson(1.0, DAYS).astype(float) for i in range(5)}
    fc = forecast_portfolio({"NEW": y, **others}, START)
    f = fc["NEW"]
    assert f.history_days == 3 and not f.backtest               # too new to backtest
    assert f.method in ("ses", "tsb", "tsb_slow", "sma_8w", "sma_13w", "sma_26w")
    assert 1.0 <= f.mean[:7].mean() <= 3.0
    lo, hi = f.total_interval(30, 0.9)
    assert lo < f.total(30) < hi and hi - lo > 10               # three days say little: a wide interval


def test_negative_and_missing_days_are_cleaned_and_infinite_is_refused() -> None:
    y, notes = clean_history([1, -2, np.nan, 3])
    assert list(y) == [1, 0, 0.5, 3] and notes == {"negative": 1, "missing": 1}
    with pytest.raises(InvalidInput):
        clean_history([1, np.inf])
    noisy = np.random.default_rng(1).poisson(2, DAYS).astype(float)
    noisy[100], noisy[200] = -5, np.nan
    f = forecast_portfolio({"A": noisy}, START)["A"]
    assert np.isfinite(f.mean).all() and f.cleaned == {"negative": 1, "missing": 1}


def test_seasonal_naive_repeats_last_week_and_mase_scale_falls_back() -> None:
    y = np.array([0, 0, 0, 0, 0, 0, 0, 1, 2, 3, 4, 5, 6, 7], dtype=float)
    assert list(seasonal_naive(y, 9)) == [1, 2, 3, 4, 5, 6, 7, 1, 2]
    assert mase_scale(np.array([1.0] * 7 + [2.0] * 7), 7) == 1.0
    assert mase_scale(np.array([1.0, 2, 1, 2]), 7) == 1.0             # too short for a week: one-step naive
    assert mase_scale(np.zeros(30), 7) == 0.0


def test_the_model_with_lower_backtest_mase_is_picked() -> None:
    actual = np.array([1.0, 1, 1, 1])

    def score(f: float) -> MethodScore:
        return MethodScore(folds=[FoldResult(actual, np.full(4, f), 1.0)])

    assert pick({"ses": score(1.5), "tsb": score(1.1), "seasonal_naive": score(0.0)}, ("ses", "tsb")) == "tsb"
    assert pick({"ses": score(1.2), "tsb": score(0.8)}, ("ses", "tsb")) == "ses"      # tie: the simpler one


def test_unknown_method_and_bad_calendar_are_refused(tmp_path: object) -> None:
    with pytest.raises(ValueError, match="unknown forecast methods"):
        ForecastConfig(methods=("prophet",))
    from pathlib import Path

    bad = Path(str(tmp_path)) / "cal.yaml"
    bad.write_text("events:\n  - {name: X, kind: promotion, start: 2026-02-10, end: 2026-02-01}\n")
    with pytest.raises(KnowledgeError, match="ends"):
        load_calendar(bad)
    with pytest.raises(KnowledgeError):
        load_calendar(Path(str(tmp_path)) / "missing.yaml")


def test_yearly_holidays_recur() -> None:
    cal = EventCalendar(events=[BrandEvent(name="Valentine", kind="holiday", start=date(2025, 2, 13),
                                           end=date(2025, 2, 14), yearly=True)])
    names, on = cal.matrix(date(2026, 2, 1), 30)
    assert names == ["Valentine"] and list(np.flatnonzero(on[0])) == [12, 13]


def test_moving_averages_are_the_mean_of_the_last_whole_weeks() -> None:
    y = np.r_[np.full(70, 4.0), np.full(56, 1.0)]       # a level drop 8 weeks ago
    assert predict("sma_8w", y, 5).tolist() == [1.0] * 5
    assert predict("sma_13w", y, 3)[0] == pytest.approx((35 * 4 + 56 * 1) / 91)
    assert predict("sma_26w", y[-20:], 2).tolist() == [1.0, 1.0]        # shorter than the window: all of it
    assert not predict("sma_26w", np.zeros(0), 4).any()


def test_a_trending_sku_does_not_get_a_long_moving_average() -> None:
    rng = np.random.default_rng(5)
    trend = {f"T{i}": rng.poisson(np.linspace(1, 12, DAYS)).astype(float) for i in range(6)}
    for f in forecast_portfolio(trend, START).values():
        assert f.method not in ("sma_13w", "sma_26w")    # they lag a rising level and lose their backtests
        assert f.mean[:28].mean() > 9
