"""Weekly and yearly seasonality and brand-event effects, as multiplicative calendar factors.

Why pooled: a SKU selling ~1 unit a day cannot show its own weekday shape (seven means of mostly zeros
are noise), but the brand's total can. The profile is estimated on the summed demand of the portfolio
and applied to every SKU; the models then fit the calendar-adjusted series (`y / factors`), and their
flat forecasts are multiplied back by the future factors, so Black Friday 2026 is a known future event.

Why shrunk: every factor is a mean of noisy ratios. Each deviation from its prior (1, or an event's
declared uplift) is soft-thresholded at one standard error, `d * max(0, 1 - se^2/d^2)`, so a pattern
that is not in the data (the demo sales have no weekday effect) fades to 1 instead of adding noise.
Yearly factors need two full years (one year cannot tell a season from a trend) and are read from
month means after removing a quadratic trend, so a growing customer base is not mistaken for a season.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta

import numpy as np

from commerce.forecast_calendar import EventCalendar

#: Days of history before a yearly (month-of-year) profile is estimated at all.
YEARLY_MIN_DAYS = 700


@dataclass(frozen=True)
class CalendarProfile:
    weekday: np.ndarray = field(default_factory=lambda: np.ones(7))     # index: date.weekday()
    month: np.ndarray = field(default_factory=lambda: np.ones(12))      # index: month - 1
    events: dict[str, float] = field(default_factory=dict)              # event name -> multiplier

    def factors(self, start: date, days: int, calendar: EventCalendar) -> np.ndarray:
        """The demand multiplier of each day from `start`: weekday x month x every event on that day."""
        if days <= 0:
            return np.ones(0)
        dates = np.arange(np.datetime64(start), np.datetime64(start + timedelta(days=days)))
        dow = (dates.astype("datetime64[D]").view("int64") - 4) % 7           # 1970-01-01 was a Thursday
        month = dates.astype("datetime64[M]").astype(int) % 12
        out = self.weekday[dow] * self.month[month]
        names, on = calendar.matrix(start, days)
        for i, name in enumerate(names):
            out = np.where(on[i], out * self.events.get(name, 1.0), out)
        return np.asarray(out, dtype=float)


def _shrink(mean: np.ndarray, se: np.ndarray, prior: np.ndarray | float = 1.0) -> np.ndarray:
    d = mean - prior
    with np.errstate(divide="ignore", invalid="ignore"):
        keep = np.where(d != 0, np.clip(1 - se**2 / d**2, 0, 1), 0.0)
    return prior + np.nan_to_num(d * keep)


def _pattern(mean: np.ndarray, se: np.ndarray, prior: np.ndarray | float = 1.0, alpha: float = 0.01) -> np.ndarray:
    """Factors only when the pattern as a whole is real (chi-square test of every deviation from the prior
    at level alpha); then each factor is soft-shrunk. Pure noise in seven weekday means passes the
    per-factor threshold one time in three, the joint test one time in a hundred."""
    from scipy.stats import chi2

    ok = se > 0
    stat = float((((mean - prior)[ok] / se[ok]) ** 2).sum())
    if not ok.any() or chi2.sf(stat, max(int(ok.sum()) - 1, 1)) > alpha:
        return np.full(len(mean), prior, dtype=float) if np.isscalar(prior) else np.asarray(prior, dtype=float)
    return _shrink(mean, se, prior)


def _local_level(y: np.ndarray, usable: np.ndarray, half: int = 14) -> np.ndarray:
    """Centred moving mean over usable (non-event) days: the level a day's ratio is measured against."""
    v = np.concatenate([[0.0], np.cumsum(np.where(usable, y, 0.0))])
    n = np.concatenate([[0.0], np.cumsum(usable.astype(float))])
    idx = np.arange(len(y))
    lo, hi = np.clip(idx - half, 0, len(y)), np.clip(idx + half + 1, 0, len(y))
    cnt = n[hi] - n[lo]
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(cnt > 0, (v[hi] - v[lo]) / cnt, np.nan)


def _weekday(ratio: np.ndarray, dow: np.ndarray, ok: np.ndarray) -> np.ndarray:
    means, ses = np.ones(7), np.zeros(7)
    for j in range(7):
        r = ratio[ok & (dow == j)]
        if len(r) >= 4:
            means[j], ses[j] = r.mean(), r.std(ddof=1) / np.sqrt(len(r))
    f = _pattern(means, ses)
    return np.asarray(f / f.mean())


def _yearly(adjusted: np.ndarray, dates: np.ndarray, ok: np.ndarray) -> np.ndarray:
    months = dates.astype("datetime64[M]")
    keys, inverse = np.unique(months, return_inverse=True)
    sums = np.bincount(inverse, weights=np.where(ok, adjusted, 0.0), minlength=len(keys))
    counts = np.bincount(inverse, weights=ok.astype(float), minlength=len(keys))
    full = counts >= 20                           # partial first/last months would bias their month
    if full.sum() < 24 or (sums[full] <= 0).any():
        return np.ones(12)
    t = np.arange(len(keys))[full].astype(float)
    logm = np.log(sums[full] / counts[full])
    resid = logm - np.polyval(np.polyfit(t, logm, 2), t)
    moy = keys[full].astype(int) % 12
    means, n = np.zeros(12), np.zeros(12)
    for m in range(12):
        r = resid[moy == m]
        n[m], means[m] = len(r), r.mean() if len(r) else 0.0
    within = sum(((resid[moy == m] - means[m]) ** 2).sum() for m in range(12))
    dof = max(len(resid) - 12 - 3, 1)
    se = np.sqrt(within / dof / np.maximum(n, 1))
    f = np.exp(_pattern(means, np.where(n > 0, se, 0.0), 0.0))
    return np.asarray(f / f.mean())


def _events(ratio: np.ndarray, names: list[str], on: np.ndarray, priors: dict[str, float]) -> dict[str, float]:
    out: dict[str, float] = {}
    for i, name in enumerate(names):
        prior = priors.get(name, 1.0)
        r = ratio[on[i] & np.isfinite(ratio)]
        if len(r) < 2:
            out[name] = prior                    # never happened yet: the planner's expectation
            continue
        out[name] = float(max(_shrink(np.array([r.mean()]), np.array([r.std(ddof=1) / np.sqrt(len(r))]),
                                      prior)[0], 0.05))
    return out


def estimate_profile(total: np.ndarray, start: date, calendar: EventCalendar) -> CalendarProfile:
    """The calendar profile of a demand series (usually the portfolio's total) starting on `start`."""
    priors = calendar.priors()
    total = np.nan_to_num(np.asarray(total, dtype=float))
    if len(total) < 28 or total.sum() < 28:
        return CalendarProfile(events=dict(priors))
    names, on = calendar.matrix(start, len(total))
    event_day = np.asarray(on.any(axis=0), dtype=bool)
    dates = np.arange(np.datetime64(start), np.datetime64(start + timedelta(days=len(total))))
    dow = (dates.view("int64") - 4) % 7
    level = _local_level(total, ~event_day)
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.where(level > 0, total / level, np.nan)
    ok = np.isfinite(ratio) & ~event_day
    weekday = _weekday(ratio, dow, ok)
    month = np.ones(12)
    if len(total) >= YEARLY_MIN_DAYS:
        month = _yearly(total / weekday[dow], dates, ~event_day)
    with np.errstate(divide="ignore", invalid="ignore"):
        # the 28-day level already follows the season, so events are measured against level x weekday
        event_ratio = np.where(level > 0, total / (level * weekday[dow]), np.nan)
    return CalendarProfile(weekday=weekday, month=month, events=_events(event_ratio, names, on, priors))
