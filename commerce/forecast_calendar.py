"""Brand events (promotions, holidays) as known future regressors for the demand forecasts.

The calendar is a small YAML file staff edit (`commerce/calendar.yaml`, setting `forecast_calendar_path`).
An event's effect is learned from its past occurrences (events are matched by name, so "Black Friday"
2024, 2025 and 2026 are one effect); an event that has never happened before uses its declared `uplift`
(a planner's prior, default 1 = no effect) until there is history.
"""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path
from typing import Literal

import numpy as np
from pydantic import BaseModel, Field, model_validator

from skinsage.yamlfile import load_yaml_model


class BrandEvent(BaseModel):
    name: str = Field(min_length=1, max_length=80)
    kind: Literal["promotion", "holiday"]
    start: date
    end: date
    #: The planner's expected demand multiplier, used only while the event has no past occurrence.
    uplift: float = Field(default=1.0, gt=0, le=20)
    #: Fixed-date holidays (Valentine's Day, Christmas) recur every year on the same calendar days.
    yearly: bool = False

    @model_validator(mode="after")
    def _span(self) -> BrandEvent:
        if self.end < self.start:
            raise ValueError(f"event {self.name!r} ends ({self.end}) before it starts ({self.start})")
        if (self.end - self.start).days > 62:
            raise ValueError(f"event {self.name!r} lasts more than 62 days; that is a season, not an event")
        return self

    def days_in(self, first: date, last: date) -> list[date]:
        """Every day of this event (and, when yearly, of its recurrences) between first and last."""
        spans = [(self.start, self.end)]
        if self.yearly:
            span = self.end - self.start
            for year in range(first.year - 1, last.year + 1):
                try:
                    s = self.start.replace(year=year)
                except ValueError:    # 29 February in a non-leap year
                    s = self.start.replace(year=year, day=28)
                spans.append((s, s + span))
        out: set[date] = set()
        for s, e in spans:
            d = max(s, first)
            while d <= min(e, last):
                out.add(d)
                d += timedelta(days=1)
        return sorted(out)


class EventCalendar(BaseModel):
    events: list[BrandEvent] = []

    def names(self) -> list[str]:
        return list(dict.fromkeys(e.name for e in self.events))

    def priors(self) -> dict[str, float]:
        return {e.name: e.uplift for e in self.events}

    def matrix(self, start: date, days: int) -> tuple[list[str], np.ndarray]:
        """(event names, bool array [event, day]) for `days` days from `start`: which event is on when."""
        names = self.names()
        out = np.zeros((len(names), max(days, 0)), dtype=bool)
        last = start + timedelta(days=days - 1)
        for e in self.events:
            row = names.index(e.name)
            for d in e.days_in(start, last):
                out[row, (d - start).days] = True
        return names, out


def load_calendar(path: Path | None) -> EventCalendar:
    """The brand's event calendar; no file configured means no events. A malformed file is an error, not
    silently ignored: a missing Black Friday would quietly under-forecast the busiest week."""
    if path is None:
        return EventCalendar()
    return load_yaml_model(path, EventCalendar, "the event calendar")
