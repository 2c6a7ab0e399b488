"""Trigger firing rules over a real SQLite operational store, positive and negative cases."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from sqlalchemy import func, select

from graph.model import Customer, Order, OrderLine, Product, Quantity
from opstore.models import OutboxRow
from opstore.models_proactive import TriggerSend
from opstore.service import StoreService
from opstore.testing import Clock, RecordingSender
from proactive.events import EventBatch
from proactive.nudges import NudgeMailbox, take_nudges
from proactive.repo import ProactiveStore
from proactive.testing import FakeCustomers
from proactive.triggers import Triggers, load_rules
from skinsage.settings import REPO_ROOT
from tests.support.proactive_store import START

RULES = load_rules(REPO_ROOT / "proactive" / "triggers.yaml")
# Monday 2 Nov 2026, 10:00 UTC = 11:00 in Berlin: outside quiet hours.


def _product(sku: str, name: str) -> Product:
    return Product(sku=sku, name=name, brand="lab", category="serum", size=Quantity(amount=30, unit="ml"),
                   dose_per_use=Quantity(amount=0.3, unit="ml"), uses_per_day=2, price=20.0,
                   skin_types=["oily"], inci="Aqua, Niacinamide", ingredients=["aqua", "niacinamide"],
                   key_ingredients=["niacinamide"])


def _customer(cid: str, consents: list[str], phone: str | None = "+4915100000001", tz: str = "Europe/Berlin",
              climate: str | None = "temperate") -> Customer:
    return Customer(id=cid, name=f"{cid.title()} Test", phone=phone, skin_type="oily", consents=consents,
                    timezone=tz, climate=climate)


@pytest.fixture
def graph() -> FakeCustomers:
    return FakeCustomers([_customer("ana", ["whatsapp"]), _customer("ben", []),
                          _customer("cara", ["sms"], tz="Asia/Tokyo")],
                         [], [_product("NIA-10", "Niacinamide 10"), _product("BHA-02", "BHA 2")])


def _triggers(store: StoreService, graph: FakeCustomers, holdout: float = 0.0, cap: int = 5) -> Triggers:
    repo = ProactiveStore(store)
    return Triggers(repo=repo, customers=graph, rules=RULES, quiet=__import__("proactive.policy").policy.QuietHours
                    .parse("21:00", "08:00"), max_per_week=cap, holdout_share=holdout, holdout_salt="t")


def _post(store: StoreService, visitor: str, events: list[dict[str, object]], customer: str | None = None) -> None:
    ProactiveStore(store).record_events(EventBatch(visitor_id=visitor, consent=True, events=events), customer)


def _all(store: StoreService, stmt: object) -> list:  # type: ignore[type-arg]
    with store.ctx.uow() as uow:
        rows = list(uow.session.scalars(stmt))  # type: ignore[attr-defined]
        uow.session.expunge_all()  # type: ignore[attr-defined]
        return rows


def _outbox_rows(store: StoreService) -> list[OutboxRow]:
    return _all(store, select(OutboxRow).where(OutboxRow.dedupe_key.like("trigger:%")))


def _sends(store: StoreService) -> list[TriggerSend]:
    return _all(store, select(TriggerSend))


# -- checkout abandoned ------------------------------------------------------------------------------

def _abandon(store: StoreService, clock: Clock, customer: str = "ana") -> None:
    _post(store, f"visitor-{customer}", [{"kind": "add_to_cart", "sku": "NIA-10"}, {"kind": "checkout_started"}],
          customer)
    clock.advance(61 * 60)


def test_an_abandoned_checkout_enqueues_exactly_one_message_even_when_evaluated_twice(store, graph, clock) -> None:
    _abandon(store, clock)
    first = _triggers(store, graph).checkouts()
    second = _triggers(store, graph).checkouts()          # another worker, or the next pass
    assert [o.action for o in first] == ["sent"] and [o.action for o in second] == ["already"]
    rows = _outbox_rows(store)
    assert len(rows) == 1
    assert (rows[0].channel, rows[0].recipient) == ("whatsapp", "+4915100000001")
    assert "Niacinamide 10" in rows[0].payload["text"] and rows[0].payload["trigger"] == "checkout_abandoned"
    sender = RecordingSender()
    assert store.outbox.deliver_due(sender).sent == 1
    assert _triggers(store, graph).checkouts()[0].action == "already"
    assert store.outbox.deliver_due(sender).sent == 0 and len(sender.sent) == 1


def test_no_recovery_before_the_delay(store, graph, clock) -> None:
    _post(store, "visitor-ana", [{"kind": "checkout_started"}], "ana")
    clock.advance(30 * 60)
    assert _triggers(store, graph).checkouts() == [] and _outbox_rows(store) == []


def test_no_recovery_when_the_order_was_placed(store, graph, clock) -> None:
    _post(store, "visitor-ana", [{"kind": "checkout_started"}], "ana")
    clock.advance(5 * 60)
    _post(store, "visitor-ana", [{"kind": "order_placed", "order_id": "SS-1", "skus": ["NIA-10"]}], "ana")
    clock.advance(60 * 60)
    assert _triggers(store, graph).checkouts() == [] and _outbox_rows(store) == []


def test_no_recovery_when_the_shop_already_has_the_order(store, graph, clock) -> None:
    _abandon(store, clock)
    graph.add_order(Order(id="SS-9", customer_id="ana", placed_at=START.date(), status="paid",
                          lines=[OrderLine(sku="NIA-10", quantity=1, unit_price=20.0)]))
    assert _triggers(store, graph).checkouts() == [] and _outbox_rows(store) == []


def test_no_recovery_without_channel_consent(store, graph, clock) -> None:
    _abandon(store, clock, "ben")                             # ben consented to nothing
    [outcome] = _triggers(store, graph).checkouts()
    assert (outcome.action, outcome.reason) == ("skipped", "no consented channel without opt-out")
    assert _outbox_rows(store) == [] and _sends(store) == []


def test_a_withdrawn_consent_in_the_store_beats_the_shop_profile(store, graph, clock) -> None:
    store.compliance.record_consent("whatsapp", False, source="test", customer_id="ana")
    _abandon(store, clock)
    assert _triggers(store, graph).checkouts()[0].action == "skipped" and _outbox_rows(store) == []


def test_no_recovery_to_an_opted_out_number(store, graph, clock) -> None:
    store.compliance.set_opt_out("whatsapp", "+4915100000001", True)
    _abandon(store, clock)
    assert _triggers(store, graph).checkouts()[0].action == "skipped" and _outbox_rows(store) == []


def test_quiet_hours_postpone_the_message_to_the_morning(store, graph, clock) -> None:
    # cara lives in Tokyo: 10:00 UTC + 61 min is 20:01 there; 21:10 UTC is 06:10 (quiet), 23:10 UTC is 08:10.
    clock.now = datetime(2026, 11, 2, 11, 0, tzinfo=UTC)
    _abandon(store, clock, "cara")
    clock.now = datetime(2026, 11, 2, 21, 10, tzinfo=UTC)
    [quiet] = _triggers(store, graph).checkouts()
    assert (quiet.action, quiet.reason) == ("skipped", "quiet hours") and _outbox_rows(store) == []
    clock.now = datetime(2026, 11, 2, 23, 10, tzinfo=UTC)
    assert _triggers(store, graph).checkouts()[0].action == "sent"
    assert [r.channel for r in _outbox_rows(store)] == ["sms"]


def test_the_frequency_cap_holds(store, graph, clock) -> None:
    _abandon(store, clock)
    assert _triggers(store, graph, cap=1).checkouts()[0].action == "sent"
    clock.advance(24 * 3600)
    _abandon(store, clock)                                    # a new day, a new checkout
    [capped] = _triggers(store, graph, cap=1).checkouts()
    assert (capped.action, capped.reason) == ("skipped", "frequency cap") and len(_outbox_rows(store)) == 1


def test_the_holdout_gets_nothing_but_is_recorded(store, graph, clock) -> None:
    _abandon(store, clock)
    [held] = _triggers(store, graph, holdout=0.999999).checkouts()
    assert held.action == "held_out"
    assert _outbox_rows(store) == []
    [row] = _sends(store)
    assert row.holdout and row.status == "held_out" and row.outbox_id is None
    assert _triggers(store, graph, holdout=0.999999).checkouts()[0].action == "already"


# -- browse help (widget nudge) -----------------------------------------------------------------------

def test_lingering_on_a_product_page_leaves_one_nudge_for_the_widget(store, graph, clock) -> None:
    _post(store, "visitor-xyz1", [{"kind": "product_view", "id": "view-1", "sku": "NIA-10", "dwell_s": 30}])
    assert _triggers(store, graph).browse("visitor-xyz1") == []        # 30 s: not yet
    _post(store, "visitor-xyz1", [{"kind": "product_view", "id": "view-1", "sku": "NIA-10", "dwell_s": 125}])
    [fired] = _triggers(store, graph).browse("visitor-xyz1")
    assert fired.action == "sent"
    repo = ProactiveStore(store)
    [nudge] = take_nudges(repo, "visitor-xyz1")
    assert "Niacinamide 10" in nudge.text and "Niacinamide" in nudge.text.split("(")[1]
    assert take_nudges(repo, "visitor-xyz1") == []                     # handed out once
    assert _triggers(store, graph).browse("visitor-xyz1")[0].action == "already"


def test_five_views_are_not_enough_six_are(store, graph) -> None:
    views = [{"kind": "product_view", "id": f"v{i}", "sku": "BHA-02", "dwell_s": 5} for i in range(5)]
    _post(store, "visitor-many", views)
    assert _triggers(store, graph).browse("visitor-many") == []
    _post(store, "visitor-many", [{"kind": "product_view", "id": "v6", "sku": "BHA-02", "dwell_s": 5}])
    assert [o.action for o in _triggers(store, graph).browse("visitor-many")] == ["sent"]


def test_no_nudge_for_a_product_already_bought(store, graph) -> None:
    _post(store, "visitor-buy1", [{"kind": "order_placed", "order_id": "SS-2", "skus": ["NIA-10"]},
                                  {"kind": "product_view", "id": "v1", "sku": "NIA-10", "dwell_s": 300}])
    assert _triggers(store, graph).browse("visitor-buy1") == []


def test_no_nudge_for_a_customer_whose_order_history_has_it(store, graph) -> None:
    graph.add_order(Order(id="SS-3", customer_id="ana", placed_at=date(2026, 10, 1), status="delivered",
                          lines=[OrderLine(sku="NIA-10", quantity=1, unit_price=20.0)]))
    _post(store, "visitor-ana", [{"kind": "product_view", "id": "v1", "sku": "NIA-10", "dwell_s": 300}], "ana")
    assert _triggers(store, graph).browse("visitor-ana", "ana") == []


def test_a_visitor_who_opted_out_of_tips_gets_no_nudge(store, graph) -> None:
    store.compliance.set_opt_out("nudge", "visitor-stop", True, source="widget")
    _post(store, "visitor-stop", [{"kind": "product_view", "id": "v1", "sku": "NIA-10", "dwell_s": 300}])
    assert _triggers(store, graph).browse("visitor-stop")[0].action == "skipped"
    assert take_nudges(ProactiveStore(store), "visitor-stop") == []


def test_the_worker_can_deliver_nudges_through_the_mailbox_sender(store, graph) -> None:
    _post(store, "visitor-wrk1", [{"kind": "product_view", "id": "v1", "sku": "NIA-10", "dwell_s": 300}])
    _triggers(store, graph).browse("visitor-wrk1")
    repo = ProactiveStore(store)
    assert store.outbox.deliver_due(NudgeMailbox(repo)).sent == 1
    assert len(take_nudges(repo, "visitor-wrk1")) == 1


# -- season change ---------------------------------------------------------------------------------------

def test_season_change_suggestion_goes_once_to_consented_customers_in_the_window(store, graph, clock) -> None:
    clock.now = datetime(2026, 12, 3, 10, 0, tzinfo=UTC)            # winter began 1 Dec
    outcomes = _triggers(store, graph).seasons(["ana", "ben", "cara"])
    assert {(o.subject, o.action) for o in outcomes} == {
        ("customer:ana", "sent"), ("customer:ben", "skipped"), ("customer:cara", "sent")}
    texts = {r.recipient: r.payload["text"] for r in _outbox_rows(store)}
    assert "winter" in texts["+4915100000001"] and "richer moisturiser" in texts["+4915100000001"]
    assert all(o.action == "already" for o in _triggers(store, graph).seasons(["ana", "cara"]))
    clock.now = datetime(2026, 12, 20, 10, 0, tzinfo=UTC)           # past the 14-day window
    assert _triggers(store, graph).seasons(["ana"]) == []


def test_no_season_suggestion_without_a_known_climate(store, graph, clock) -> None:
    graph.customers["ana"] = _customer("ana", ["whatsapp"], climate=None)
    clock.now = datetime(2026, 12, 3, 10, 0, tzinfo=UTC)
    assert _triggers(store, graph).seasons(["ana"]) == []
    with store.ctx.uow() as uow:
        assert uow.session.scalar(select(func.count()).select_from(OutboxRow)) == 0  # type: ignore[attr-defined]
