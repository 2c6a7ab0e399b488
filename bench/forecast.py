"""Forecasting throughput: N synthetic SKUs with two years of daily history, backtested and forecast.

    python bench/forecast.py [--skus 5000] [--days 730] [--methods ses,tsb,tsb_slow,seasonal_naive]

Each SKU is a mix the engine must handle: a Poisson rate from 0.05 to 20 a day (most SKUs sparse), a
weekday shape, a yearly swing, a trend, some SKUs launched late and some with a Black Friday lift. The
timed part is what `skinsage forecast report` runs per SKU: calendar profile per origin, a 3-fold
rolling-origin backtest of every method, selection, the final 90-day fit and intervals, plus the reorder
advice, in one process (one process is enough for the target, and the portfolio's default model is
chosen over all SKUs, so splitting them would change the answer). Import of statsforecast and numba
warm-up (statsforecast 2.x compiles nothing at run time: no numba) are measured separately.
Target (issue 8): 5,000 SKUs in under 120 s on 2 cores. The machine may be shared: the load average is
printed next to the figure.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from datetime import date, timedelta
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench._util import print_table
from commerce.forecast import ForecastConfig, forecast_portfolio
from commerce.forecast_calendar import EventCalendar, load_calendar
from commerce.reorder import advise

START = date(2024, 11, 1)


def synthetic(n: int, days: int, seed: int = 7) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    t = np.arange(days)
    dates = np.arange(np.datetime64(START), np.datetime64(START + timedelta(days=days)))
    dow = (dates.view("int64") - 4) % 7
    weekday = np.array([0.9, 0.95, 1.0, 1.0, 1.1, 1.25, 0.8])[dow]
    bf = np.isin(dates, np.arange(np.datetime64("2024-11-29"), np.datetime64("2024-12-03")))
    bf |= np.isin(dates, np.arange(np.datetime64("2025-11-28"), np.datetime64("2025-12-02")))
    out = {}
    for k in range(n):
        rate = np.exp(rng.uniform(np.log(0.05), np.log(20)))
        yearly = 1 + rng.uniform(0, 0.4) * np.sin(2 * np.pi * (t / 365.25 + rng.uniform()))
        trend = np.exp(rng.normal(0, 0.4) * t / days)
        lam = rate * weekday * yearly * trend * np.where(bf, rng.uniform(1, 3), 1.0)
        y = rng.poisson(lam).astype(float)
        if rng.random() < 0.1:
            y[: rng.integers(0, days - 3)] = 0      # launched late (some only days ago)
        out[f"SYN-{k:05d}"] = y
    return out


def _run(chunk: dict[str, np.ndarray], total: np.ndarray, cfg: ForecastConfig,
         calendar: EventCalendar) -> tuple[dict[str, str], float]:
    t = time.perf_counter()
    fc = forecast_portfolio(chunk, START, calendar, cfg, profile_total=total)
    for f in fc.values():
        advise(100, list(f.mean), f.total_sd, 14, 0.95, 30)
    return {s: f.method for s, f in fc.items()}, time.perf_counter() - t


def _warm() -> float:
    t = time.perf_counter()
    from commerce.forecast_models import predict
    for m in ("ses", "tsb", "theta", "seasonal_naive"):
        predict(m, np.array([0.0, 1, 0, 2, 0, 0, 1, 3, 0, 1]), 5)
    return time.perf_counter() - t


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--skus", type=int, default=5000)
    ap.add_argument("--days", type=int, default=730)
    ap.add_argument("--methods", default=",".join(ForecastConfig().methods), help="default: the settings' default")
    args = ap.parse_args()
    cfg = ForecastConfig(methods=tuple(args.methods.split(",")))
    calendar = load_calendar(Path(__file__).resolve().parent.parent / "commerce" / "calendar.yaml")
    t = time.perf_counter()
    data = synthetic(args.skus, args.days)
    gen_s = time.perf_counter() - t
    warm_s = _warm()
    total = np.sum(list(data.values()), axis=0)
    chosen, wall = _run(data, total, cfg, calendar)
    methods: dict[str, int] = {}
    for m in chosen.values():
        methods[m] = methods.get(m, 0) + 1
    load = os.getloadavg()
    print_table(["SKUs", "days", "folds x days", "methods", "wall s", "ms/SKU", "target s", "load 1/5/15"],
                [[args.skus, args.days, f"{cfg.folds} x {cfg.fold_days}", "+".join(cfg.methods),
                  wall, wall / args.skus * 1000, 120.0, "/".join(f"{x:.2f}" for x in load)]])
    print(f"generate {gen_s:.1f} s; statsforecast import + first model calls (no numba in statsforecast 2.x) {warm_s:.2f} s, not in wall")
    print("chosen: " + ", ".join(f"{m} {c}" for m, c in sorted(methods.items(), key=lambda x: -x[1])))


if __name__ == "__main__":
    main()
