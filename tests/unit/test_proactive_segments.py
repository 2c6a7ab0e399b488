"""Repurchase risk per product, and the segment filter of trigger rules, without I/O."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from proactive.segments import Bought, Purchases, product_cycles, score
from proactive.triggers import CheckoutRule, segment_allows

TODAY = date(2026, 11, 1)


def _ago(n: int) -> date:
    return TODAY - timedelta(days=n)


def _risk(items: list[Bought], pack_days: dict[str, float] | None = None) -> tuple[bool, float | None, str | None]:
    """(flagged, expected gap, the product it is about) for one customer whose orders are `items`."""
    others = Purchases("other", [(_ago(5), 10.0)], [Bought(_ago(5), "X")])   # RFM needs a population
    me = Purchases("me", sorted({(i.day, 10.0) for i in items}), items, pack_days or {})
    [row] = [r for r in score([me, others], TODAY) if r.customer_id == "me"]
    return row.repurchase_risk, row.expected_gap_days, row.risk_sku


def _every(sku: str, days: int, last_ago: int, times: int = 4, quantity: int = 1) -> list[Bought]:
    return [Bought(_ago(last_ago + k * days), sku, quantity) for k in range(times)]


def test_a_monthly_serum_buyer_50_days_out_is_at_risk() -> None:
    assert _risk(_every("SERUM", 30, 50), {"SERUM": 30.0}) == (True, 30.0, "SERUM")


def test_a_monthly_serum_buyer_20_days_out_is_not() -> None:
    assert _risk(_every("SERUM", 30, 20), {"SERUM": 30.0}) == (False, 30.0, "SERUM")


def test_a_one_time_buyer_of_a_60_day_cream_at_day_40_is_not() -> None:
    assert _risk([Bought(_ago(40), "CREAM")], {"CREAM": 60.0}) == (False, 60.0, "CREAM")


def test_a_one_time_purchase_never_raises_the_flag_even_long_past_its_pack() -> None:
    assert _risk([Bought(_ago(300), "CREAM")], {"CREAM": 60.0})[0] is False


def test_the_tolerance_is_half_a_cycle_but_at_least_two_weeks() -> None:
    assert not _risk(_every("S", 30, 45))[0] and _risk(_every("S", 30, 46))[0]      # 15 days late is fine
    assert not _risk(_every("S", 10, 24))[0] and _risk(_every("S", 10, 25))[0]      # short cycles: 14 days
    assert not _risk(_every("S", 90, 135))[0] and _risk(_every("S", 90, 136))[0]    # long cycles: 45 days


def test_the_customers_own_cycle_beats_the_label() -> None:
    """Uses the 30-day serum sparingly (one every 60 days): 50 days out is on time, not 20 days late."""
    assert _risk(_every("SERUM", 60, 50), {"SERUM": 30.0}) == (False, 60.0, "SERUM")


def test_a_double_pack_lasts_twice_as_long() -> None:
    """A 30-day cycle, then two packs at once 70 days ago: due 10 days ago (on time), not 40 (late)."""
    def history(last_quantity: int) -> list[Bought]:
        return [Bought(_ago(130), "SERUM"), Bought(_ago(100), "SERUM"), Bought(_ago(70), "SERUM", last_quantity)]

    assert _risk(history(2)) == (False, 60.0, "SERUM")
    assert _risk(history(1)) == (True, 30.0, "SERUM")


def test_products_on_different_clocks_do_not_make_each_other_look_late() -> None:
    """A serum every 30 days (last 25 days ago) and a cleanser every 60 (last 40 days ago): both on time.
    The median gap between *orders* is 15 days (the clocks interleave), so the old rule flagged this
    customer as soon as 23 days passed without an order."""
    items = _every("SERUM", 30, 25, times=6) + _every("CLEANSER", 60, 40, times=3)
    assert _risk(items) == (False, 30.0, "SERUM")                  # the serum is due first (in 5 days)
    cycles = {c.sku: c for c in product_cycles(items, {})}
    assert (cycles["CLEANSER"].gap_days, cycles["CLEANSER"].due_on) == (60.0, _ago(40) + timedelta(days=60))
    assert _risk(_every("SERUM", 30, 46, times=6) + _every("CLEANSER", 60, 40, times=3))[:2] == (True, 30.0)


def test_the_flag_names_the_regular_product_that_lapsed() -> None:
    """Still buys the cleanser, stopped the serum: at risk, about the serum (a trial product does not count)."""
    items = _every("SERUM", 30, 80) + _every("CLEANSER", 60, 10) + [Bought(_ago(200), "MASK")]
    assert _risk(items, {"MASK": 20.0}) == (True, 30.0, "SERUM")


def test_same_day_lines_count_as_one_purchase_and_unknown_labels_are_skipped() -> None:
    items = [Bought(_ago(70), "S"), Bought(_ago(70), "S"), Bought(_ago(10), "S"), Bought(_ago(5), "GONE")]
    cycles = product_cycles(items, {})
    assert [(c.sku, c.purchases, c.gap_days) for c in cycles] == [("S", 2, 30.0)]   # 60 days / 2 packs


@pytest.mark.parametrize(("segments", "exclude", "segment", "allowed"), [
    (None, [], None, True), (None, [], "lost", True),
    (["at_risk"], [], "at_risk", True), (["at_risk"], [], "champion", False), (["at_risk"], [], None, False),
    (None, ["lost"], "lost", False), (None, ["lost"], "loyal", True), (None, ["lost"], None, True),
])
def test_segment_filter(segments: list[str] | None, exclude: list[str], segment: str | None, allowed: bool) -> None:
    rule = CheckoutRule(text="x", segments=segments, exclude_segments=exclude)
    assert segment_allows(rule, segment) is allowed
