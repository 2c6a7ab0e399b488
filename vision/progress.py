"""Progress over time: a metric's trend between two dates, in words, numbers and a chart image.

Single photos are noisy (light, angle, make-up), so a trend is a confidence-weighted straight-line
fit over every photo in the window rather than "last minus first", and changes smaller than
`STEADY_BAND` points are reported as steady. Scores measure *how much of a concern shows*, so a
falling line is an improvement.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from datetime import datetime
from typing import Literal

import numpy as np
from pydantic import BaseModel

from skinsage.errors import InvalidInput
from vision.models import METRICS
from vision.ports import AnalysisRepository, ScorePoint

STEADY_BAND = 5.0  # score points: below this a change is within photo-to-photo noise


class Trend(BaseModel):
    customer_id: str
    metric: str
    start: datetime | None
    end: datetime | None
    points: list[ScorePoint]
    change: float | None  # fitted change over the window, in score points
    direction: Literal["improving", "worsening", "steady", "not enough photos"]


def trend(repo: AnalysisRepository, customer_id: str, metric: str, start: datetime | None = None,
          end: datetime | None = None) -> Trend:
    if metric not in METRICS:
        raise InvalidInput(f"unknown metric {metric!r}; one of {', '.join(METRICS)}")
    if start and end and start > end:
        raise InvalidInput("start is after end")
    points = repo.series(customer_id, metric, start, end)
    if len(points) < 2:
        return Trend(customer_id=customer_id, metric=metric, start=start, end=end, points=points,
                     change=None, direction="not enough photos")
    t = np.array([(p.at - points[0].at).total_seconds() / 86400 for p in points])
    y = np.array([p.score for p in points])
    w = np.array([max(p.confidence, 0.05) for p in points])
    if np.ptp(t) == 0:
        change = 0.0
    else:
        slope = np.polyfit(t, y, 1, w=np.sqrt(w))[0]
        change = float(slope * np.ptp(t))
    direction: Literal["improving", "worsening", "steady"] = (
        "steady" if abs(change) < STEADY_BAND else "improving" if change < 0 else "worsening")
    return Trend(customer_id=customer_id, metric=metric, start=start, end=end, points=points,
                 change=round(change, 1), direction=direction)


def trend_chart_png(tr: Trend, events: Sequence[tuple[datetime, str]] = (), width_px: int = 800,
                    height_px: int = 450) -> bytes:
    """A PNG a channel can send. `events` mark dates such as a product's first order, so the
    customer sees what they changed next to what changed."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.dates import AutoDateFormatter, AutoDateLocator, date2num
    from matplotlib.figure import Figure  # no pyplot: no global state, safe in a server thread

    fig = Figure(figsize=(width_px / 100, height_px / 100), dpi=100)
    ax = fig.add_subplot()
    label = tr.metric.replace("_", " ")
    if tr.points:
        xs = date2num([p.at for p in tr.points])
        ys = [p.score for p in tr.points]
        ax.plot(xs, ys, "-", color="#b07aa1", linewidth=1.5)
        ax.scatter(xs, ys, s=[20 + 60 * p.confidence for p in tr.points], color="#4e79a7", zorder=3)
    for when, what in events:
        ax.axvline(float(date2num(when)), color="#999999", linestyle="--", linewidth=1)
        ax.annotate(what, (float(date2num(when)), 98), rotation=90, va="top", ha="right", fontsize=8, color="#555555")
    locator = AutoDateLocator()
    ax.xaxis.set_major_locator(locator)
    ax.xaxis.set_major_formatter(AutoDateFormatter(locator))
    ax.set_ylim(0, 100)
    ax.set_ylabel(f"{label} score (higher = more visible)")
    ax.set_title(f"{label.capitalize()}: {tr.direction}"
                 + (f" ({tr.change:+.0f} points)" if tr.change is not None else ""))
    ax.grid(alpha=0.3)
    fig.autofmt_xdate()
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    return buf.getvalue()
