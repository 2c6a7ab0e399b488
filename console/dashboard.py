"""The console dashboard: how much the bot handles alone, why it hands over, how fast people answer,
and how customers rate them. Numbers over a time window, computed from the store's own records."""

from __future__ import annotations

import statistics
from collections import Counter
from datetime import datetime

from pydantic import BaseModel

from console import repo
from console.rules import HandoffRules
from opstore.models import Handoff
from opstore.models_console import HandoffTicket
from opstore.service import StoreService


class Durations(BaseModel):
    count: int
    mean_s: float | None
    median_s: float | None
    p90_s: float | None


class ReasonRate(BaseModel):
    category: str
    handoffs: int
    rate: float  # of all conversations in the window


class Dashboard(BaseModel):
    start: datetime
    end: datetime
    conversations: int
    handed_off: int
    containment_rate: float | None  # resolved without a person
    handoff_rate: float | None
    by_reason: list[ReasonRate]
    first_response: Durations
    resolution: Durations
    csat_count: int
    csat_mean: float | None
    csat_distribution: dict[int, int]


def durations(seconds: list[float]) -> Durations:
    if not seconds:
        return Durations(count=0, mean_s=None, median_s=None, p90_s=None)
    ordered = sorted(seconds)
    p90 = ordered[min(len(ordered) - 1, round(0.9 * (len(ordered) - 1)))]
    return Durations(count=len(ordered), mean_s=round(statistics.fmean(ordered), 1),
                     median_s=round(statistics.median(ordered), 1), p90_s=round(p90, 1))


def dashboard(store: StoreService, rules: HandoffRules, start: datetime, end: datetime) -> Dashboard:
    with repo.unit(store) as (_, s):
        total, handed = repo.conversations_in(s, start, end)
        handoffs = repo.handoffs_in(s, start, end)
        scores = repo.csat_in(s, start, end)
        return _report(rules, start, end, total, handed, handoffs, scores)


def _report(rules: HandoffRules, start: datetime, end: datetime, total: int, handed: int,
            handoffs: list[tuple[Handoff, HandoffTicket | None]], scores: list[int]) -> Dashboard:
    reasons = Counter(t.category if t is not None else rules.classify(h.reason)[0] for h, t in handoffs)
    first = [(t.first_response_at - h.opened_at).total_seconds() for h, t in handoffs
             if t is not None and t.first_response_at is not None]
    resolved = [(h.resolved_at - h.opened_at).total_seconds() for h, _ in handoffs if h.resolved_at is not None]
    return Dashboard(
        start=start, end=end, conversations=total, handed_off=handed,
        containment_rate=round((total - handed) / total, 4) if total else None,
        handoff_rate=round(handed / total, 4) if total else None,
        by_reason=[ReasonRate(category=c, handoffs=n, rate=round(n / total, 4) if total else 0.0)
                   for c, n in reasons.most_common()],
        first_response=durations(first), resolution=durations(resolved), csat_count=len(scores),
        csat_mean=round(statistics.fmean(scores), 2) if scores else None,
        csat_distribution={k: scores.count(k) for k in range(1, 6)})
