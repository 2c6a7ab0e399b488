"""Proactive rules without I/O: send policy, holdout, RFM, report arithmetic, event validation."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from pydantic import ValidationError

from opstore.models_proactive import ConversationOutcome
from proactive import policy
from proactive.events import EventBatch, customer_signature, signature_valid, tracking_allowed
from proactive.quality import SendFact, parse_csat, summarise
from proactive.segments import Bought, Purchases, score
from proactive.triggers import season_of, undecided_products

QUIET = policy.QuietHours.parse("21:00", "08:00")


def test_quiet_hours_are_in_the_customers_own_zone_and_span_midnight() -> None:
    at = datetime(2026, 11, 2, 21, 30, tzinfo=UTC)                  # 22:30 Berlin, 06:30 Tokyo
    assert policy.in_quiet_hours(at, policy.zone("Europe/Berlin"), QUIET)
    assert policy.in_quiet_hours(at, policy.zone("Asia/Tokyo"), QUIET)
    assert not policy.in_quiet_hours(at, policy.zone("America/New_York"), QUIET)   # 16:30
    assert policy.zone("Not/AZone").key == "Europe/Berlin"


def test_the_frequency_cap_counts_the_last_seven_days() -> None:
    now = datetime(2026, 11, 9, tzinfo=UTC)
    assert policy.under_frequency_cap([now - timedelta(days=8), now - timedelta(days=9)], now, 2)
    assert not policy.under_frequency_cap([now - timedelta(days=1), now - timedelta(days=6)], now, 2)
    assert not policy.under_frequency_cap([], now, 0)


def test_holdout_is_deterministic_per_trigger_and_near_its_share() -> None:
    subjects = [f"customer:c{i}" for i in range(4000)]
    held = [s for s in subjects if policy.in_holdout(s, "checkout_abandoned", 0.1, "salt")]
    assert held == [s for s in subjects if policy.in_holdout(s, "checkout_abandoned", 0.1, "salt")]
    assert 320 < len(held) < 480
    other = {s for s in subjects if policy.in_holdout(s, "season_change", 0.1, "salt")}
    assert other != set(held)
    assert not any(policy.in_holdout(s, "x", 0.0, "salt") for s in subjects)


def test_channel_choice_follows_consent_order_and_skips_opt_outs() -> None:
    addresses = {"whatsapp": "+49", "sms": "+49", "telegram": "42"}
    assert policy.pick_channel(["whatsapp", "sms"], addresses, {}, ["sms"], set()) == policy.Route("sms", "+49")
    assert policy.pick_channel(["whatsapp", "sms"], addresses, {"sms": False}, ["sms"], set()) is None
    assert policy.pick_channel(["whatsapp", "telegram"], addresses, {"telegram": True}, ["whatsapp"],
                               {("whatsapp", "+49")}) == policy.Route("telegram", "42")


def test_undecided_products_need_a_long_look_or_more_than_five_views_and_no_purchase() -> None:
    class E:
        def __init__(self, sku: str, dwell: float) -> None:
            self.kind, self.sku, self.dwell_s = "product_view", sku, dwell

    events = [E("A", 130)] + [E("B", 5)] * 5 + [E("C", 5)] * 6 + [E("D", 500)]
    assert undecided_products(events, {"D"}, 120, 6) == ["A", "C"]


def test_seasons_start_on_the_first_of_the_month_and_flip_in_the_south() -> None:
    assert season_of(date(2026, 12, 3)) == ("winter", date(2026, 12, 1))
    assert season_of(date(2027, 2, 28)) == ("winter", date(2026, 12, 1))
    assert season_of(date(2026, 9, 14)) == ("autumn", date(2026, 9, 1))
    assert season_of(date(2026, 12, 3), southern=True) == ("summer", date(2026, 12, 1))


def test_rfm_on_a_known_small_dataset() -> None:
    today = date(2026, 11, 1)
    d = lambda n: today - timedelta(days=n)  # noqa: E731

    def buys(cid: str, ago: list[int], total: float, sku: str = "S", **kw: object) -> Purchases:
        return Purchases(cid, [(d(n), total) for n in ago], [Bought(d(n), sku) for n in ago], **kw)  # type: ignore[arg-type]

    rows = {r.customer_id: r for r in score([
        buys("champ", [3, 33, 63, 93], 50.0),
        buys("newbie", [2], 20.0, "C", pack_days={"C": 50.0}),
        buys("slipping", [200, 230, 260], 40.0),
        buys("gone", [400], 10.0, "C", pack_days={"C": 100.0}),
        buys("mid", [60, 120], 30.0),
        Purchases("never", []),
    ], today)}
    assert set(rows) == {"champ", "newbie", "slipping", "gone", "mid"}      # no orders: no score
    assert (rows["champ"].r, rows["champ"].f, rows["champ"].m, rows["champ"].segment) == (4, 5, 5, "champion")
    assert (rows["newbie"].r, rows["newbie"].segment, rows["newbie"].repurchase_risk) == (5, "new", False)
    assert (rows["slipping"].r, rows["slipping"].f, rows["slipping"].segment) == (2, 4, "at_risk")
    assert rows["slipping"].expected_gap_days == 30 and rows["slipping"].repurchase_risk
    # one purchase is a trial, not a habit: lost by RFM, but no repurchase it is late for
    assert (rows["gone"].r, rows["gone"].segment, rows["gone"].repurchase_risk) == (1, "lost", False)
    assert rows["gone"].expected_gap_days == 100
    assert (rows["mid"].recency_days, rows["mid"].frequency, rows["mid"].monetary) == (60, 2, 60.0)
    # two customers are staler (200, 400 days) and two buy less often (1 order each): 3 and 3
    assert (rows["mid"].r, rows["mid"].f, rows["mid"].segment) == (3, 3, "loyal")
    assert not rows["mid"].repurchase_risk                              # 60 days = its usual gap


def _outcome(bot: bool, csat: int | None = None, converted: bool = False) -> ConversationOutcome:
    now = datetime(2026, 11, 2, tzinfo=UTC)
    return ConversationOutcome(conversation_id="c", channel="web", resolved_by_bot=bot, handed_off=not bot,
                               csat=csat, converted_order_id="SS-1" if converted else None,
                               resolved_at=now, updated_at=now)


def test_report_numbers_from_a_known_scenario() -> None:
    outcomes = [_outcome(True, 5, True), _outcome(True, 4), _outcome(True), _outcome(False, 2, True)]
    sends = ([SendFact("checkout_abandoned", False, True, True)] * 3 + [SendFact("checkout_abandoned", False, True, False)] * 7
             + [SendFact("checkout_abandoned", True, False, True)] * 1 + [SendFact("checkout_abandoned", True, False, False)] * 9
             + [SendFact("browse_help", False, False, False)])
    r = summarise(outcomes, sends, date(2026, 11, 1), date(2026, 11, 8))
    assert (r.conversations, r.contained, r.handed_off, r.rated) == (4, 3, 1, 3)
    assert r.containment_rate == 0.75 and r.csat == 3.67 and r.conversion_rate == 0.5
    checkout = next(t for t in r.triggers if t.trigger == "checkout_abandoned")
    assert (checkout.treated, checkout.delivered, checkout.treated_converted) == (10, 10, 3)
    assert (checkout.holdout, checkout.holdout_converted, checkout.lift_pp) == (10, 1, 20.0)
    browse = next(t for t in r.triggers if t.trigger == "browse_help")
    assert browse.lift_pp is None                                        # no holdout members yet


@pytest.mark.parametrize(("text", "score_"), [("4", 4), ("5/5", 5), ("five", 5), ("⭐⭐⭐", 3), ("0", None),
                                             ("6", None), ("4 stars but slow", None)])
def test_csat_answers_are_recognised_and_other_text_is_not(text: str, score_: int | None) -> None:
    assert parse_csat(text) == score_


def test_event_batches_are_validated_at_the_edge() -> None:
    ok = EventBatch.model_validate({"visitor_id": "visitor-1", "events": [{"kind": "product_view", "sku": "A-1",
                                                                           "dwell_s": 3}]})
    assert ok.events[0].dwell_s == 3
    for bad in ({"kind": "product_view"}, {"kind": "order_placed"}, {"kind": "teleport"},
                {"kind": "add_to_cart", "sku": "A 1"}, {"kind": "checkout_started", "dwell_s": 4},
                {"kind": "widget_opened", "at": "2026-11-02T10:00:00"}, {"kind": "widget_opened", "extra": 1}):
        with pytest.raises(ValidationError):
            EventBatch.model_validate({"visitor_id": "visitor-1", "events": [bad]})
    with pytest.raises(ValidationError):
        EventBatch.model_validate({"visitor_id": "x", "events": [{"kind": "widget_opened"}]})


def test_customer_signatures_and_tracking_consent() -> None:
    sig = customer_signature("cus-1", "s3cret")
    assert signature_valid("cus-1", sig, "s3cret") and not signature_valid("cus-2", sig, "s3cret")
    assert not signature_valid("cus-1", sig, None)
    assert not tracking_allowed(False, True, None) and tracking_allowed(False, False, None)
    assert not tracking_allowed(True, True, False) and tracking_allowed(True, True, None)
