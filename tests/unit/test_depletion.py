from datetime import date

import pytest

from commerce.depletion import Purchase, estimate, label_days_per_pack


def test_label_estimate_for_a_serum_used_twice_a_day() -> None:
    assert label_days_per_pack(30, 0.3, 2) == pytest.approx(50.0)


def test_no_history_uses_the_label() -> None:
    d = estimate([Purchase(date(2026, 1, 1))], 50.0)
    assert d.cycles_observed == 0 and d.runs_out == date(2026, 2, 20)
    assert d.reminder_day(7) == date(2026, 2, 13)


def test_history_pulls_the_estimate_toward_real_use_with_shrinkage() -> None:
    # this customer finishes a 50-day pack in 70 days, three times: (2*50 + 3*70) / 5 = 62
    buys = [Purchase(date(2026, 1, 1)), Purchase(date(2026, 3, 12)), Purchase(date(2026, 5, 21)),
            Purchase(date(2026, 7, 30))]
    d = estimate(buys, 50.0)
    assert d.cycles_observed == 3 and d.days_per_pack == 62.0
    assert d.runs_out == date(2026, 9, 30)


def test_two_packs_last_twice_as_long_and_gaps_are_ignored() -> None:
    buys = [Purchase(date(2025, 1, 1)), Purchase(date(2025, 12, 1), quantity=2)]   # 334 days: a break
    d = estimate(buys, 50.0)
    assert d.cycles_observed == 0 and d.runs_out == date(2026, 3, 11)   # 2 packs x 50 days


def test_overdue_follow_up_after_grace() -> None:
    d = estimate([Purchase(date(2026, 1, 1))], 50.0)
    assert not d.is_overdue(date(2026, 2, 27)) and d.is_overdue(date(2026, 2, 28))
