"""The console's plain rules: business hours, priority and SLA, the wait estimate, brand handoff rules,
round-robin choice and CSAT parsing. No I/O beyond reading the YAML once; unit-tested with plain data.

The brand edits `handoff_rules.yaml`; a malformed file fails at start with the key that is wrong, never
at 3 a.m. on the first handoff.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, Field, field_validator

from skinsage.yamlfile import load_yaml_model

Priority = Literal["urgent", "high", "normal", "low"]
PRIORITY_RANK = {"urgent": 0, "high": 1, "normal": 2, "low": 3}
DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_SPAN = re.compile(r"^(\d{1,2}):(\d{2})-(\d{1,2}):(\d{2})$")


class Category(BaseModel):
    category: str
    match: str
    priority: Priority

    @field_validator("match")
    @classmethod
    def _regex(cls, v: str) -> str:
        re.compile(v)
        return v


class RuleWhen(BaseModel):
    tools_any: list[str] = []
    customer_tags_any: list[str] = []
    order_total_over: float | None = None
    lifetime_value_over: float | None = None
    text_matches: str | None = None

    @field_validator("text_matches")
    @classmethod
    def _regex(cls, v: str | None) -> str | None:
        if v is not None:
            re.compile(v)
        return v


class BrandRule(BaseModel):
    name: str
    reason: str = Field(pattern=r"^brand rule")
    when: RuleWhen

    @property
    def needs_customer(self) -> bool:
        w = self.when
        return bool(w.customer_tags_any) or w.lifetime_value_over is not None


class Messages(BaseModel):
    inside_hours: str
    inside_hours_busy: str
    outside_hours: str
    collect: dict[str, str]
    csat_ask: str
    csat_thanks: str


class HandoffRules(BaseModel):
    timezone: str = "UTC"
    business_hours: dict[str, str] = {}
    holidays: list[date] = []
    minutes_per_conversation: float = Field(default=6, gt=0)
    categories: list[Category] = []
    default_category: str = "other"
    default_priority: Priority = "normal"
    sla_minutes: dict[Priority, float]
    customer_tags: dict[str, list[str]] = {}
    brand_rules: list[BrandRule] = []
    messages: Messages

    @field_validator("timezone")
    @classmethod
    def _tz(cls, v: str) -> str:
        try:
            ZoneInfo(v)
        except (ZoneInfoNotFoundError, ValueError) as e:
            raise ValueError(f"unknown time zone {v!r}") from e
        return v

    @field_validator("business_hours")
    @classmethod
    def _hours(cls, v: dict[str, str]) -> dict[str, str]:
        for day, span in v.items():
            if day not in DAYS:
                raise ValueError(f"unknown day {day!r} (use {', '.join(DAYS)})")
            m = _SPAN.match(span.strip())
            if not m or (int(m[1]), int(m[2])) >= (int(m[3]), int(m[4])) or int(m[3]) > 24:
                raise ValueError(f"{day}: {span!r} is not an opening span like 09:00-18:00")
        return v

    # -- business hours --------------------------------------------------------------------------
    def _span(self, day: date) -> tuple[time, time] | None:
        if day in self.holidays:
            return None
        span = self.business_hours.get(DAYS[day.weekday()])
        if not span:
            return None
        m = _SPAN.match(span.strip())
        assert m is not None  # validated on load
        end = time(23, 59, 59) if int(m[3]) == 24 else time(int(m[3]), int(m[4]))
        return time(int(m[1]), int(m[2])), end

    def is_open(self, now: datetime) -> bool:
        local = now.astimezone(ZoneInfo(self.timezone))
        span = self._span(local.date())
        return span is not None and span[0] <= local.time() < span[1]

    def next_opening(self, now: datetime) -> datetime | None:
        """The next moment the team is in (now, if open); None if no day in the next two weeks has hours."""
        tz = ZoneInfo(self.timezone)
        local = now.astimezone(tz)
        for offset in range(15):
            day = local.date() + timedelta(days=offset)
            span = self._span(day)
            if span is None:
                continue
            start, end = datetime.combine(day, span[0], tz), datetime.combine(day, span[1], tz)
            if local < end:
                return max(start, local)
        return None

    # -- priority and SLA --------------------------------------------------------------------------
    def classify(self, reason: str) -> tuple[str, Priority]:
        for c in self.categories:
            if re.search(c.match, reason or "", re.IGNORECASE):
                return c.category, c.priority
        return self.default_category, self.default_priority

    def sla_due(self, opened_at: datetime, priority: Priority) -> datetime:
        return opened_at + timedelta(minutes=self.sla_minutes.get(priority, 30))


def load_rules(path: Path) -> HandoffRules:
    return load_yaml_model(path, HandoffRules, "handoff rules")


DEFAULT_RULES_PATH = Path(__file__).with_name("handoff_rules.yaml")


# -- SLA timer ---------------------------------------------------------------------------------------
SlaState = Literal["ok", "due_soon", "breached", "met"]


def sla_state(due: datetime, now: datetime, first_response_at: datetime | None, warn_fraction: float = 0.2,
              window: timedelta | None = None) -> SlaState:
    """`met` once an agent replied before the due time; `due_soon` in the last 20 % of the window."""
    if first_response_at is not None:
        return "met" if first_response_at <= due else "breached"
    if now >= due:
        return "breached"
    if window is not None and (due - now) <= window * warn_fraction:
        return "due_soon"
    return "ok"


# -- what the customer is told -----------------------------------------------------------------------
def wait_minutes(ahead: int, free_agents: int, minutes_per_conversation: float) -> int | None:
    """Rough wait: the queue drains `free_agents` at a time. None when nobody can take it now."""
    if free_agents <= 0:
        return None
    rounds = math.ceil((ahead + 1) / free_agents)
    return max(2, math.ceil(rounds * minutes_per_conversation))


def _opens_text(opens: datetime | None, now: datetime, tz: str) -> str:
    if opens is None:
        return "as soon as we can"
    local_now, local = now.astimezone(ZoneInfo(tz)), opens.astimezone(ZoneInfo(tz))
    when = local.strftime("%H:%M")
    if local.date() == local_now.date():
        return f"today at {when}"
    if local.date() == local_now.date() + timedelta(days=1):
        return f"tomorrow at {when}"
    return f"on {local.strftime('%A')} at {when}"


def handoff_notice(rules: HandoffRules, now: datetime, category: str, ahead: int, free_agents: int) -> str:
    """Inside hours (or whenever an agent is online): a person is coming, roughly when. Outside: when
    we're back, and what to tell us now so the agent can help straight away."""
    m = rules.messages
    if rules.is_open(now) or free_agents > 0:
        minutes = wait_minutes(ahead, free_agents, rules.minutes_per_conversation)
        if minutes is None:
            return m.inside_hours_busy
        return m.inside_hours.format(minutes=minutes, ahead="nobody" if ahead == 0 else ahead)
    collect = m.collect.get(category) or m.collect.get("order" if category == "brand_rule" else "", "") \
        or m.collect.get("default", "")
    return m.outside_hours.format(opens=_opens_text(rules.next_opening(now), now, rules.timezone), collect=collect)


# -- brand rules -------------------------------------------------------------------------------------
@dataclass
class TurnFacts:
    """What a brand rule may look at. Customer facts are filled only when a rule needs them."""

    text: str
    tools: set[str]
    order_totals: list[float] = field(default_factory=list)
    customer_tags: set[str] = field(default_factory=set)
    lifetime_value: float = 0.0


def cheap_match(rule: BrandRule, text: str, tools: set[str]) -> bool:
    """The conditions that need no lookup; the expensive ones are checked only after these hold."""
    w = rule.when
    if w.tools_any and not tools & set(w.tools_any):
        return False
    return not (w.text_matches and not re.search(w.text_matches, text, re.IGNORECASE))


def matching_rule(rules: Sequence[BrandRule], facts: TurnFacts, already: Sequence[str] = ()) -> BrandRule | None:
    """The first rule whose every condition holds; a rule fires once per conversation (`already`)."""
    for rule in rules:
        if rule.name in already or not cheap_match(rule, facts.text, facts.tools):
            continue
        w = rule.when
        if w.customer_tags_any and not facts.customer_tags & set(w.customer_tags_any):
            continue
        if w.order_total_over is not None and not any(t > w.order_total_over for t in facts.order_totals):
            continue
        if w.lifetime_value_over is not None and not facts.lifetime_value > w.lifetime_value_over:
            continue
        return rule
    return None


# -- assignment ---------------------------------------------------------------------------------------
@dataclass(frozen=True)
class AgentLoad:
    username: str
    capacity: int
    load: int
    online: bool
    last_assigned_at: datetime | None


def next_agent(agents: Sequence[AgentLoad]) -> str | None:
    """Round robin with capacity: among online agents with a free slot, the one assigned longest ago
    (never assigned first), ties broken by name so the order is stable."""
    free = [a for a in agents if a.online and a.load < a.capacity]
    if not free:
        return None
    oldest = datetime.min.replace(tzinfo=None)

    def key(a: AgentLoad) -> tuple[int, datetime, str]:
        at = a.last_assigned_at
        return (0, oldest, a.username) if at is None else (1, at.replace(tzinfo=None), a.username)

    return min(free, key=key).username


# -- CSAT ------------------------------------------------------------------------------------------------
_CSAT = re.compile(r"^\s*(?:(?P<n>[1-5])(?:\s*(?:/\s*5|stars?|out of 5|⭐+))?|(?P<stars>⭐{1,5}))\s*[.!]?\s*$", re.IGNORECASE)


_CSAT_WORDS = {"one": 1, "two": 2, "three": 3, "four": 4, "five": 5}


def parse_csat(text: str) -> int | None:
    """`4`, `4/5`, `5 stars`, `five`, `⭐⭐⭐`: a rating. Anything else is an ordinary message."""
    word = (text or "").strip().lower().rstrip(".!")
    if word in _CSAT_WORDS:
        return _CSAT_WORDS[word]
    m = _CSAT.match(text or "")
    if not m:
        return None
    return int(m["n"]) if m["n"] else len(m["stars"])


def ordered_queue(items: Sequence[tuple[str, datetime]]) -> list[int]:
    """Indexes of (priority, opened_at) pairs, most urgent first, then longest waiting."""
    return sorted(range(len(items)), key=lambda i: (PRIORITY_RANK.get(items[i][0], 9), items[i][1]))
