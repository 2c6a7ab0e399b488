"""Trigger rules limited by RFM segment (`segments:` / `exclude_segments:` in triggers.yaml), over a real
SQLite operational store whose `customer_segments` rows are written the way the worker writes them."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from graph.model import Customer, Order, OrderLine, Product, Quantity
from opstore.models_proactive import CustomerSegment
from opstore.service import StoreService
from opstore.testing import Clock
from proactive import policy
from proactive.events import EventBatch
from proactive.repo import ProactiveStore
from proactive.segments import refresh_segments
from proactive.testing import FakeCustomers
from proactive.triggers import TriggerRules, Triggers, load_rules
from skinsage.errors import KnowledgeError
from skinsage.settings import REPO_ROOT
from tests.support.proactive_store import START

RULES_FILE = REPO_ROOT / "proactive" / "triggers.yaml"
RULES = load_rules(RULES_FILE)


def _customer(cid: str) -> Customer:
    return Customer(id=cid, name=f"{cid.title()} Test", phone=f"+49151000000{len(cid)}{ord(cid[0]) % 10}",
                    skin_type="oily", consents=["whatsapp"], timezone="Europe/Berlin", climate="temperate")


@pytest.fixture
def graph() -> FakeCustomers:
    serum = Product(sku="NIA-10", name="Niacinamide 10", brand="lab", category="serum",
                    size=Quantity(amount=30, unit="ml"), dose_per_use=Quantity(amount=0.5, unit="ml"), uses_per_day=2,
                    price=20.0, skin_types=["oily"], inci="Aqua, Niacinamide", ingredients=["aqua", "niacinamide"],
                    key_ingredients=["niacinamide"])
    return FakeCustomers([_customer("ana"), _customer("champ"), _customer("fresh")], [], [serum])


def _segment(store: StoreService, cid: str, segment: str) -> None:
    ProactiveStore(store).save_segments([CustomerSegment(
        customer_id=cid, recency_days=10, frequency=3, monetary=60.0, r_score=3, f_score=3, m_score=3,
        segment=segment, repurchase_risk=False, expected_gap_days=30.0, last_order_on=date(2026, 10, 23),
        computed_at=START)])


def _rules(**by_trigger: dict[str, Any]) -> TriggerRules:
    raw = RULES.model_dump()
    for trigger, extra in by_trigger.items():
        raw[trigger].update(extra)
    return TriggerRules.model_validate(raw)


def _triggers(store: StoreService, graph: FakeCustomers, rules: TriggerRules) -> Triggers:
    return Triggers(repo=ProactiveStore(store), customers=graph, rules=rules,
                    quiet=policy.QuietHours.parse("21:00", "08:00"), max_per_week=5, holdout_share=0.0,
                    holdout_salt="t")


def _abandon(store: StoreService, clock: Clock, *customers: str) -> None:
    for cid in customers:
        ProactiveStore(store).record_events(EventBatch(visitor_id=f"visitor-{cid}", consent=True, events=[
            {"kind": "add_to_cart", "sku": "NIA-10"}, {"kind": "checkout_started"}]), cid)
    clock.advance(61 * 60)


def _sent(outcomes: list[Any]) -> set[str]:
    return {o.subject.split(":", 1)[1] for o in outcomes if o.action == "sent"}


def test_a_rule_for_at_risk_customers_fires_for_them_and_not_for_a_champion(store, graph, clock) -> None:
    _segment(store, "ana", "at_risk")
    _segment(store, "champ", "champion")
    _abandon(store, clock, "ana", "champ", "fresh")              # fresh has no segment row (never scored)
    t = _triggers(store, graph, _rules(checkout_abandoned={"segments": ["at_risk"]}))
    assert _sent(t.checkouts()) == {"ana"}
    skipped = {o.subject: o.reason for o in t.log if o.action == "skipped"}
    assert skipped == {"customer:champ": "segment champion not targeted", "customer:fresh": "segment none not targeted"}
    assert {s.customer_id for s, _ in ProactiveStore(store).sends()} == {"ana"}     # nothing recorded for the others


def test_excluded_segments_get_nothing_everyone_else_still_does(store, graph, clock) -> None:
    _segment(store, "ana", "at_risk")
    _segment(store, "champ", "champion")
    _abandon(store, clock, "ana", "champ", "fresh")
    t = _triggers(store, graph, _rules(checkout_abandoned={"exclude_segments": ["champion", "lost"]}))
    assert _sent(t.checkouts()) == {"ana", "fresh"}              # no segment: not excluded


def test_without_segment_keys_a_rule_fires_for_every_segment_as_before(store, graph, clock) -> None:
    assert RULES.checkout_abandoned.segments is None and RULES.checkout_abandoned.exclude_segments == []
    _segment(store, "ana", "lost")
    _segment(store, "champ", "champion")
    _abandon(store, clock, "ana", "champ", "fresh")
    assert _sent(_triggers(store, graph, RULES).checkouts()) == {"ana", "champ", "fresh"}


def test_anonymous_visitors_never_match_a_segment_rule(store, graph) -> None:
    views = [{"kind": "product_view", "id": "v1", "sku": "NIA-10", "dwell_s": 300}]
    repo = ProactiveStore(store)
    repo.record_events(EventBatch(visitor_id="visitor-anon", consent=True, events=views), None)
    repo.record_events(EventBatch(visitor_id="visitor-ana", consent=True, events=views), "ana")
    _segment(store, "ana", "loyal")
    limited = _triggers(store, graph, _rules(browse_help={"segments": ["loyal", "champion"]}))
    assert limited.browse("visitor-anon") == []
    assert [o.action for o in limited.browse("visitor-ana", "ana")] == ["sent"]
    excluding = _triggers(store, graph, _rules(browse_help={"exclude_segments": ["lost"]}))
    assert [o.action for o in excluding.browse("visitor-anon")] == ["sent"]


def test_season_rule_by_segment_uses_the_segments_the_worker_computed(store, graph, clock) -> None:
    """End to end: the worker's job scores real order histories, the season rule reads the result."""
    for k in range(4):                                        # ana: a 30-day serum, monthly, then stopped
        graph.add_order(Order(id=f"A{k}", customer_id="ana", placed_at=date(2026, 3, 1) + timedelta(days=30 * k),
                              status="delivered", lines=[OrderLine(sku="NIA-10", quantity=1, unit_price=20.0)]))
    for k in range(4):                                        # champ: the same, still buying
        graph.add_order(Order(id=f"C{k}", customer_id="champ", placed_at=date(2026, 8, 1) + timedelta(days=30 * k),
                              status="delivered", lines=[OrderLine(sku="NIA-10", quantity=1, unit_price=20.0)]))
    clock.now = datetime(2026, 12, 3, 10, 0, tzinfo=UTC)      # winter began 1 Dec
    repo = ProactiveStore(store)
    assert refresh_segments(repo, graph, graph.customer_ids(), clock.now.date()) == 2
    ana, champ = repo.segment_of("ana"), repo.segment_of("champ")
    assert ana is not None and champ is not None and ana.repurchase_risk and not champ.repurchase_risk
    t = _triggers(store, graph, _rules(season_change={"segments": [ana.segment]}))
    assert ana.segment != champ.segment
    assert _sent(t.seasons(["ana", "champ", "fresh"])) == {"ana"}


@pytest.mark.parametrize(("snippet", "field", "words"), [
    ("  segments: [champions]\n", "checkout_abandoned.segments", "'champions'"),
    ("  exclude_segments: [lost, sleepy]\n", "checkout_abandoned.exclude_segments", "'sleepy'"),
    ("  segments: []\n", "checkout_abandoned", "could never fire"),
    ("  segments: [lost]\n  exclude_segments: [lost]\n", "checkout_abandoned", "both included and excluded"),
])
def test_a_bad_segment_name_fails_at_load_naming_file_and_field(tmp_path: Path, snippet: str, field: str,
                                                                 words: str) -> None:
    text = RULES_FILE.read_text(encoding="utf-8").replace("checkout_abandoned:\n", "checkout_abandoned:\n" + snippet, 1)
    bad = tmp_path / "triggers.yaml"
    bad.write_text(text, encoding="utf-8")
    with pytest.raises(KnowledgeError) as err:
        load_rules(bad)
    assert err.value.file == str(bad) and str(err.value.row) == field and words in err.value.reason
