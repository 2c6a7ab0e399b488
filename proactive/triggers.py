"""Behaviour-triggered messages: configurable rules (triggers.yaml) and their evaluation.

Each rule finds occasions (a lingering look, an abandoned checkout, a new season), passes every one
through the same gate (`policy.check`), then records it once under a dedupe key: a holdout share is
recorded without a message, the rest with exactly one outbox row. Evaluations are idempotent, so the
worker may run them as often as it likes, on as many processes as it likes.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Literal, Protocol

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from graph.views import CustomerProfile, ProductDetail
from opstore.models_proactive import SEGMENTS
from proactive import policy
from proactive.repo import Outgoing, ProactiveStore
from skinsage.errors import InvalidInput, NotFound
from skinsage.settings import Settings
from skinsage.yamlfile import load_yaml_model

Season = Literal["winter", "spring", "summer", "autumn"]


class CustomerData(Protocol):
    """What triggers read from the graph (`GraphStore` satisfies it; tests hand in a fake)."""

    def customer(self, customer_id: str, order_limit: int = 50) -> CustomerProfile: ...

    def product(self, sku: str) -> ProductDetail: ...


class _Rule(BaseModel):
    model_config = ConfigDict(extra="forbid")
    enabled: bool = True
    quiet_hours: bool = True
    max_per_week: int | None = Field(default=None, ge=0)
    text: str
    quick_replies: list[str] = []
    #: Fire only for customers in one of these RFM segments (None = everyone, visitors included).
    #: A customer without a computed segment (no orders yet, or the worker has not run) is in none.
    segments: list[str] | None = None
    #: Never fire for customers in these segments.
    exclude_segments: list[str] = []

    @field_validator("segments", "exclude_segments")
    @classmethod
    def _known_segments(cls, v: list[str] | None) -> list[str] | None:
        unknown = [s for s in v or [] if s not in SEGMENTS]
        if unknown:
            raise ValueError(f"unknown segment(s) {', '.join(map(repr, unknown))}; one of {', '.join(SEGMENTS)}")
        return v

    @model_validator(mode="after")
    def _segments_not_contradictory(self) -> _Rule:
        if self.segments is not None and not self.segments:
            raise ValueError("segments is empty, so the rule could never fire; leave it out to mean everyone")
        both = set(self.segments or []) & set(self.exclude_segments)
        if both:
            raise ValueError(f"segment(s) {', '.join(sorted(both))} both included and excluded")
        return self


class BrowseHelpRule(_Rule):
    linger_seconds: float = Field(default=120, gt=0)
    min_views: int = Field(default=6, ge=1)
    lookback_days: int = Field(default=7, ge=1)
    bought_within_days: int = Field(default=90, ge=0)
    quiet_hours: bool = False


class CheckoutRule(_Rule):
    delay_minutes: float = Field(default=60, gt=0)
    max_age_hours: float = Field(default=48, gt=0)
    channels: list[str] = ["whatsapp", "sms", "telegram"]


class SeasonRule(_Rule):
    window_days: int = Field(default=14, ge=1)
    channels: list[str] = ["whatsapp", "sms", "telegram"]
    advice: dict[str, dict[Season, str]] = {}


class TriggerRules(BaseModel):
    model_config = ConfigDict(extra="forbid")
    browse_help: BrowseHelpRule
    checkout_abandoned: CheckoutRule
    season_change: SeasonRule


def load_rules(path: Path) -> TriggerRules:
    return load_yaml_model(path, TriggerRules, "trigger rules")


@dataclass(frozen=True)
class Outcome:
    trigger: str
    subject: str
    action: Literal["sent", "held_out", "skipped", "already"]
    reason: str = ""
    dedupe_key: str = ""


@dataclass
class Triggers:
    """The evaluation service. Built once per process from settings (`Triggers.from_settings`)."""

    repo: ProactiveStore
    customers: CustomerData
    rules: TriggerRules
    quiet: policy.QuietHours
    max_per_week: int
    holdout_share: float
    holdout_salt: str
    brand: str = "SkinSage"
    default_tz: str = "Europe/Berlin"
    log: list[Outcome] = field(default_factory=list)

    @classmethod
    def from_settings(cls, settings: Settings, repo: ProactiveStore, customers: CustomerData,
                      rules: TriggerRules | None = None) -> Triggers:
        return cls(repo=repo, customers=customers, rules=rules or load_rules(settings.proactive_triggers_path),
                   quiet=policy.QuietHours.parse(settings.quiet_hours_start, settings.quiet_hours_end),
                   max_per_week=settings.proactive_max_per_week, holdout_share=settings.proactive_holdout_share,
                   holdout_salt=settings.proactive_holdout_salt, brand=settings.brand_name)

    # -- the shared tail: gate, holdout, record ---------------------------------------------------

    def _decide(self, rule: _Rule, trigger: str, subject: str, key: str, route: policy.Route | None,
                tz_name: str | None, payload: dict[str, object], *, customer_id: str | None = None,
                visitor_id: str | None = None, sku: str | None = None) -> Outcome:
        now = self.repo.ctx.now()
        if self.repo.decided([key]):
            return self._note(Outcome(trigger, subject, "already", "already decided", key))
        verdict = policy.check(now=now, tz=policy.zone(tz_name, self.default_tz),
                               quiet=self.quiet if rule.quiet_hours else None,
                               previous_sends=self.repo.send_times(subject, now - timedelta(days=7)),
                               max_per_week=self.max_per_week if rule.max_per_week is None else rule.max_per_week,
                               route=route)
        if not verdict.send:
            return self._note(Outcome(trigger, subject, "skipped", verdict.reason, key))
        assert route is not None
        holdout = policy.in_holdout(subject, trigger, self.holdout_share, self.holdout_salt)
        _, created = self.repo.record_send(Outgoing(
            trigger=trigger, subject=subject, dedupe_key=key, holdout=holdout, channel=route.channel,
            recipient=route.recipient, payload={**payload, "trigger": trigger}, customer_id=customer_id,
            visitor_id=visitor_id, sku=sku))
        if not created:
            return self._note(Outcome(trigger, subject, "already", "decided concurrently", key))
        return self._note(Outcome(trigger, subject, "held_out" if holdout else "sent", "", key))

    def _note(self, outcome: Outcome) -> Outcome:
        self.log.append(outcome)
        return outcome

    def _segment_ok(self, rule: _Rule, trigger: str, subject: str, customer_id: str | None) -> bool:
        """The rule's segment filter; a mismatch is noted in the log (not a send decision, nothing stored)."""
        if rule.segments is None and not rule.exclude_segments:
            return True                                   # no filter: no lookup either
        row = self.repo.segment_of(customer_id) if customer_id else None
        segment = row.segment if row is not None else None
        if segment_allows(rule, segment):
            return True
        self._note(Outcome(trigger, subject, "skipped", f"segment {segment or 'none'} not targeted"))
        return False

    def _profile(self, customer_id: str | None) -> CustomerProfile | None:
        if not customer_id:
            return None
        try:
            return self.customers.customer(customer_id)
        except NotFound:
            return None

    def _route(self, profile: CustomerProfile, channels: Sequence[str]) -> policy.Route | None:
        c = profile.customer
        addresses = {"whatsapp": c.phone or "", "sms": c.phone or ""}
        addresses.update(self.repo.verified_addresses(c.id))
        addresses = {k: v for k, v in addresses.items() if v}
        recorded = self.repo.recorded_consents(c.id, channels)
        opted = self.repo.opted_out({(ch, addresses[ch]) for ch in channels if ch in addresses})
        return policy.pick_channel(channels, addresses, recorded, c.consents, opted)

    # -- browse help (widget nudge) ----------------------------------------------------------------

    def browse(self, visitor_id: str, customer_id: str | None = None, tz: str | None = None) -> list[Outcome]:
        """Evaluated when a visitor's events arrive, so the nudge is ready for the widget's next poll."""
        rule = self.rules.browse_help
        if not rule.enabled:
            return []
        subject = f"customer:{customer_id}" if customer_id else f"visitor:{visitor_id}"
        if not self._segment_ok(rule, "browse_help", subject, customer_id):
            return []
        now = self.repo.ctx.now()
        events = self.repo.events_of(visitor_id=visitor_id, since=now - timedelta(days=rule.lookback_days))
        profile = self._profile(customer_id)
        bought = bought_skus(events, profile, now.date() - timedelta(days=rule.bought_within_days))
        outcomes = []
        for sku in undecided_products(events, bought, rule.linger_seconds, rule.min_views):
            try:
                detail = self.customers.product(sku)
            except NotFound:
                continue
            route = None if self.repo.opted_out({("nudge", visitor_id)}) else policy.Route("nudge", visitor_id)
            zone_name = profile.customer.timezone if profile else tz
            outcomes.append(self._decide(rule, "browse_help", subject, f"browse_help:{subject}:{sku}", route,
                                         zone_name, browse_payload(rule, detail, profile),
                                         customer_id=customer_id, visitor_id=visitor_id, sku=sku))
        return outcomes

    # -- checkout abandoned --------------------------------------------------------------------------

    def checkouts(self) -> list[Outcome]:
        rule = self.rules.checkout_abandoned
        if not rule.enabled:
            return []
        now = self.repo.ctx.now()
        started = self.repo.checkouts_between(now - timedelta(hours=rule.max_age_hours),
                                              now - timedelta(minutes=rule.delay_minutes))
        latest: dict[str, datetime] = {}
        for e in started:                       # anonymous checkouts cannot be messaged: no channel
            if e.customer_id:
                latest[e.customer_id] = max(latest.get(e.customer_id, e.occurred_at), e.occurred_at)
        outcomes = []
        for customer_id, at in sorted(latest.items()):
            subject = f"customer:{customer_id}"
            if not self._segment_ok(rule, "checkout_abandoned", subject, customer_id):
                continue
            profile = self._profile(customer_id)
            if profile is None:
                continue
            since_events = self.repo.events_of(customer_id=customer_id, since=at)
            if completed_after(at, since_events, profile):
                self._note(Outcome("checkout_abandoned", subject, "skipped", "order placed"))
                continue
            tz = policy.zone(profile.customer.timezone, self.default_tz)
            key = f"checkout_abandoned:{customer_id}:{at.astimezone(tz).date().isoformat()}"
            carts = [e.sku for e in self.repo.events_of(customer_id=customer_id, since=at - timedelta(days=1),
                                                        kinds=("add_to_cart",)) if e.sku and e.occurred_at <= at]
            outcomes.append(self._decide(rule, "checkout_abandoned", subject, key, self._route(profile, rule.channels),
                                         profile.customer.timezone, checkout_payload(rule, profile, carts, self),
                                         customer_id=customer_id))
        return outcomes

    # -- season change -------------------------------------------------------------------------------

    def seasons(self, customer_ids: Iterable[str]) -> list[Outcome]:
        rule = self.rules.season_change
        if not rule.enabled:
            return []
        now = self.repo.ctx.now()
        outcomes = []
        for customer_id in customer_ids:
            profile = self._profile(customer_id)
            if profile is None or not profile.customer.climate or profile.customer.climate not in rule.advice:
                continue
            c = profile.customer
            local = now.astimezone(policy.zone(c.timezone, self.default_tz)).date()
            season, started = season_of(local, southern_hemisphere(c.timezone))
            if (local - started).days >= rule.window_days or season not in rule.advice[c.climate]:
                continue
            if not self._segment_ok(rule, "season_change", f"customer:{customer_id}", customer_id):
                continue
            key = f"season_change:{customer_id}:{started.isoformat()}"
            text = rule.text.format(name=c.name.split()[0], season=season, advice=rule.advice[c.climate][season],
                                    brand=self.brand)
            outcomes.append(self._decide(rule, "season_change", f"customer:{customer_id}", key,
                                         self._route(profile, rule.channels), c.timezone,
                                         {"text": text, "quick_replies": rule.quick_replies, "season": season},
                                         customer_id=customer_id))
        return outcomes


# -- pure rules ----------------------------------------------------------------------------------------

def segment_allows(rule: _Rule, segment: str | None) -> bool:
    """`segments` lists who may get it (no segment = anonymous or not scored: never listed);
    `exclude_segments` who may not. No keys: everyone."""
    if rule.segments is not None and segment not in rule.segments:
        return False
    return segment is None or segment not in rule.exclude_segments


def undecided_products(events: Sequence[object], bought: set[str], linger_s: float, min_views: int) -> list[str]:
    """Products looked at long (one view >= linger) or often (>= min_views) and not bought."""
    views: dict[str, int] = defaultdict(int)
    longest: dict[str, float] = defaultdict(float)
    for e in events:
        if getattr(e, "kind", None) == "product_view" and getattr(e, "sku", None):
            views[e.sku] += 1  # type: ignore[attr-defined]
            longest[e.sku] = max(longest[e.sku], e.dwell_s or 0.0)  # type: ignore[attr-defined]
    return sorted(s for s in views if s not in bought and (longest[s] >= linger_s or views[s] >= min_views))


def bought_skus(events: Sequence[object], profile: CustomerProfile | None, since: date) -> set[str]:
    out: set[str] = set()
    for e in events:
        if getattr(e, "kind", None) == "order_placed":
            out.update(e.skus or [])  # type: ignore[attr-defined]
    if profile is not None:
        for o in profile.orders:
            if o.placed_at >= since and o.status not in ("cancelled", "returned"):
                out.update(line.sku for line in o.lines)
    return out


def completed_after(started: datetime, events: Sequence[object], profile: CustomerProfile | None) -> bool:
    """An order after the checkout began, seen by the storefront or already in the shop's orders."""
    if any(getattr(e, "kind", None) == "order_placed" and e.occurred_at >= started for e in events):  # type: ignore[attr-defined]
        return True
    return profile is not None and any(o.placed_at >= started.date() and o.status != "cancelled"
                                       for o in profile.orders)


_SOUTH = ("Australia/", "Pacific/Auckland", "America/Sao_Paulo", "America/Argentina", "America/Santiago",
          "Africa/Johannesburg", "America/Montevideo", "Pacific/Fiji")


def southern_hemisphere(tz: str | None) -> bool:
    return bool(tz) and any(tz.startswith(p) for p in _SOUTH)  # type: ignore[union-attr]


def season_of(day: date, southern: bool = False) -> tuple[Season, date]:
    """Meteorological seasons (whole months), and the day the current one began."""
    names: tuple[Season, ...] = ("winter", "spring", "summer", "autumn")
    index = (day.month % 12) // 3                     # Dec-Feb 0, Mar-May 1, Jun-Aug 2, Sep-Nov 3
    start_month = (index * 3) or 12
    start_year = day.year - 1 if start_month == 12 and day.month != 12 else day.year
    season = names[(index + 2) % 4] if southern else names[index]
    return season, date(start_year, start_month, 1)


def browse_payload(rule: BrowseHelpRule, detail: ProductDetail, profile: CustomerProfile | None) -> dict[str, object]:
    p = detail.product
    key = [i.name for i in detail.ingredients if i.id in p.key_ingredients][:3] or \
          [i.name for i in detail.ingredients][:3]
    fit = ""
    if profile is not None and profile.customer.skin_type:
        st = profile.customer.skin_type.replace("-", " ")
        fit = (f", and it is made for {st} skin like yours" if profile.customer.skin_type in p.skin_types
               else f", and whether it suits your {st} skin")
    text = rule.text.format(product=p.name, ingredients=", ".join(key) or "the full list", fit=fit,
                            brand="", name="", items="")
    return {"text": text, "quick_replies": rule.quick_replies, "sku": p.sku, "product_name": p.name}


def checkout_payload(rule: CheckoutRule, profile: CustomerProfile, skus: list[str], t: Triggers) -> dict[str, object]:
    names = []
    for sku in dict.fromkeys(skus):
        try:
            names.append(t.customers.product(sku).product.name)
        except NotFound:
            continue
    items = ", ".join(names[:3]) or "your items"
    text = rule.text.format(name=profile.customer.name.split()[0], brand=t.brand, items=items)
    return {"text": text, "quick_replies": rule.quick_replies}


def validate_rules_file(path: Path) -> TriggerRules:
    """For `skinsage report --check` and tests: a broken rules file fails loudly, before the worker."""
    rules = load_rules(path)
    for climate, by_season in rules.season_change.advice.items():
        if not by_season:
            raise InvalidInput(f"season advice for {climate!r} is empty")
    return rules
