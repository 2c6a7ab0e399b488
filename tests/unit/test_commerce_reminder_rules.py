"""Reminder timing on hand-computed cases, quiet hours across time zones and DST, the WhatsApp window."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

from commerce.depletion import Purchase, estimate
from commerce.scheduler import ReminderPolicy, payload, plan, quiet, window_open
from proactive.policy import QuietHours

NIGHT = QuietHours(time(21), time(9))


def test_reminder_and_follow_up_days_on_a_hand_computed_case() -> None:
    # 30 ml at 0.3 ml twice a day = 50 days; bought 10 Jan and 1 Mar (50 days apart): runs out 20 Apr
    dep = estimate([Purchase(date(2026, 1, 10)), Purchase(date(2026, 3, 1))], 30 / (0.3 * 2))
    assert dep.runs_out == date(2026, 4, 20)
    due = dep.reminder_day(7)
    assert due == date(2026, 4, 13)
    assert plan(due, dep.runs_out, date(2026, 4, 12), grace_days=7) is None
    assert plan(due, dep.runs_out, date(2026, 4, 13), grace_days=7) == "restock"
    assert plan(due, dep.runs_out, date(2026, 4, 27), grace_days=7) == "restock"    # exactly 7 days past: not yet
    assert plan(due, dep.runs_out, date(2026, 4, 28), grace_days=7) == "followup"


def test_quiet_hours_are_in_the_customers_time_zone() -> None:
    now = datetime(2026, 6, 1, 19, 30, tzinfo=UTC)          # 21:30 in Berlin (CEST), 15:30 in New York
    assert quiet(now, "Europe/Berlin", NIGHT)
    assert not quiet(now, "America/New_York", NIGHT)
    assert quiet(datetime(2026, 6, 1, 6, 59, tzinfo=UTC), "Europe/Berlin", NIGHT)      # 08:59 local
    assert not quiet(datetime(2026, 6, 1, 7, 0, tzinfo=UTC), "Europe/Berlin", NIGHT)   # 09:00 local


def test_quiet_hours_follow_daylight_saving_time() -> None:
    # 07:30 UTC is 08:30 in Berlin in winter (CET, quiet) and 09:30 in summer (CEST, not quiet)
    assert quiet(datetime(2026, 3, 28, 7, 30, tzinfo=UTC), "Europe/Berlin", NIGHT)
    assert not quiet(datetime(2026, 3, 30, 7, 30, tzinfo=UTC), "Europe/Berlin", NIGHT)
    # the autumn change: 20:30 UTC is 22:30 before (quiet) and 21:30 after (still quiet), 19:30 UTC after is 20:30
    assert quiet(datetime(2026, 10, 24, 20, 30, tzinfo=UTC), "Europe/Berlin", NIGHT)
    assert not quiet(datetime(2026, 10, 26, 19, 30, tzinfo=UTC), "Europe/Berlin", NIGHT)


def test_quiet_hours_without_wrap_and_an_unknown_zone_falls_back_to_the_brands() -> None:
    afternoon = QuietHours(time(14), time(16))            # 13:00 UTC is 15:00 in Berlin (CEST), the brand's zone
    assert quiet(datetime(2026, 6, 1, 13, 0, tzinfo=UTC), "Nowhere/Atlantis", afternoon)
    assert not quiet(datetime(2026, 6, 1, 13, 0, tzinfo=UTC), "UTC", afternoon)
    assert not quiet(datetime(2026, 6, 1, 13, 0, tzinfo=UTC), "UTC", QuietHours(time(9), time(9)))


def test_whatsapp_outside_the_window_carries_only_the_template() -> None:
    now = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
    assert window_open(now - timedelta(hours=23), now, 24) and not window_open(now - timedelta(hours=25), now, 24)
    assert not window_open(None, now, 24)
    pol = ReminderPolicy()
    closed = payload("restock", "whatsapp", "Ana", "Serum", date(2026, 6, 8), pol, window=False)
    assert closed["text"] is None
    assert closed["template"] == {"name": "restock_reminder", "variables": {"1": "Ana", "2": "Serum", "3": "2026-06-08"}}
    open_ = payload("followup", "whatsapp", "Ana", "Serum", date(2026, 6, 8), pol, window=True)
    assert open_["text"] and open_["template"]["name"] == "restock_followup"
    sms = payload("restock", "sms", "Ana", "Serum", date(2026, 6, 8), pol, window=False)
    assert "template" not in sms and "Serum" in sms["text"]
