"""Send policy for anything the brand starts on its own: consent, quiet hours, frequency caps,
opt-out, holdout. Pure functions over plain data, so the rules are unit-tested without a database.

These are generic on purpose (restock reminders need the same ones); one home for them, whoever calls.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from skinsage.errors import InvalidInput


@dataclass(frozen=True)
class QuietHours:
    """Local wall-clock window in which nothing is sent. `start > end` spans midnight (21:00-08:00)."""

    start: time
    end: time

    @classmethod
    def parse(cls, start: str, end: str) -> QuietHours:
        try:
            return cls(time.fromisoformat(start), time.fromisoformat(end))
        except ValueError as e:
            raise InvalidInput(f"quiet hours must be HH:MM, got {start!r}-{end!r}") from e


def zone(name: str | None, fallback: str = "Europe/Berlin") -> ZoneInfo:
    """An unknown or missing time zone falls back to the brand's, never to UTC at 3 a.m. local."""
    for candidate in (name, fallback):
        if candidate:
            try:
                return ZoneInfo(candidate)
            except (ZoneInfoNotFoundError, ValueError):
                continue
    return ZoneInfo("UTC")


def in_quiet_hours(now: datetime, tz: ZoneInfo, quiet: QuietHours) -> bool:
    local = now.astimezone(tz).time()
    if quiet.start == quiet.end:
        return False
    if quiet.start < quiet.end:
        return quiet.start <= local < quiet.end
    return local >= quiet.start or local < quiet.end


def under_frequency_cap(previous_sends: Iterable[datetime], now: datetime, max_per_week: int) -> bool:
    """At most `max_per_week` proactive messages to one subject in any 7 days (0 switches them off)."""
    since = now - timedelta(days=7)
    return sum(1 for at in previous_sends if at > since) < max_per_week


def in_holdout(subject: str, trigger: str, share: float, salt: str) -> bool:
    """Deterministic: the same subject is always in the same group for a trigger, on every worker and
    after every restart, without storing the assignment. Per trigger, so one customer is not held out
    of everything."""
    if share <= 0:
        return False
    digest = hashlib.sha256(f"{salt}:{trigger}:{subject}".encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64 < share


def consented(kind: str, recorded: Mapping[str, bool], profile_consents: Sequence[str]) -> bool:
    """A decision recorded in the operational store (latest wins) overrides what the shop's profile
    says; with neither there is no consent."""
    if kind in recorded:
        return recorded[kind]
    return kind in profile_consents


@dataclass(frozen=True)
class Route:
    channel: str
    recipient: str


def pick_channel(order: Sequence[str], addresses: Mapping[str, str], recorded: Mapping[str, bool],
                 profile_consents: Sequence[str], opted_out: set[tuple[str, str]]) -> Route | None:
    """The first channel in the brand's order that has an address, a consent, and no opt-out."""
    for channel in order:
        recipient = addresses.get(channel)
        if not recipient or not consented(channel, recorded, profile_consents):
            continue
        if (channel, recipient) in opted_out:
            continue
        return Route(channel, recipient)
    return None


@dataclass(frozen=True)
class Verdict:
    """`send`; or why not (`reason`), and whether a later evaluation may still send (`retry`)."""

    send: bool
    reason: str = ""
    retry: bool = False


def check(*, now: datetime, tz: ZoneInfo, quiet: QuietHours | None, previous_sends: Iterable[datetime],
          max_per_week: int, route: Route | None, has_consent: bool = True) -> Verdict:
    """The common gate, in the order a person would explain it. Quiet hours only postpone."""
    if not has_consent:
        return Verdict(False, "no consent")
    if route is None:
        return Verdict(False, "no consented channel without opt-out")
    if not under_frequency_cap(previous_sends, now, max_per_week):
        return Verdict(False, "frequency cap")
    if quiet is not None and in_quiet_hours(now, tz, quiet):
        return Verdict(False, "quiet hours", retry=True)
    return Verdict(True)
