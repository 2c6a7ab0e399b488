"""The console's plain rules: business hours, priority and SLA, wait estimates, brand rules, round robin,
CSAT parsing and password hashing. No I/O beyond the shipped YAML."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from console import passwords
from console.rules import (
    DEFAULT_RULES_PATH,
    AgentLoad,
    HandoffRules,
    TurnFacts,
    handoff_notice,
    load_rules,
    matching_rule,
    next_agent,
    ordered_queue,
    parse_csat,
    sla_state,
    wait_minutes,
)
from skinsage.errors import InvalidInput, KnowledgeError

# Thursday 26 Nov 2026; Berlin is UTC+1 in November.
THU_10_BERLIN = datetime(2026, 11, 26, 9, 0, tzinfo=UTC)
THU_20_BERLIN = datetime(2026, 11, 26, 19, 0, tzinfo=UTC)
SAT_15_BERLIN = datetime(2026, 11, 28, 14, 0, tzinfo=UTC)


@pytest.fixture(scope="module")
def rules() -> HandoffRules:
    return load_rules(DEFAULT_RULES_PATH)


def test_opening_hours_follow_the_brands_time_zone(rules: HandoffRules) -> None:
    assert rules.is_open(THU_10_BERLIN)
    assert not rules.is_open(THU_20_BERLIN)
    assert not rules.is_open(datetime(2026, 11, 26, 7, 59, tzinfo=UTC))   # 08:59 Berlin
    assert rules.is_open(datetime(2026, 11, 26, 8, 0, tzinfo=UTC))        # 09:00 Berlin


def test_next_opening_skips_closed_sunday_and_holidays(rules: HandoffRules) -> None:
    assert rules.next_opening(THU_20_BERLIN) == datetime(2026, 11, 27, 8, 0, tzinfo=UTC)
    assert rules.next_opening(SAT_15_BERLIN) == datetime(2026, 11, 30, 8, 0, tzinfo=UTC)   # Sunday closed
    christmas_eve_night = datetime(2026, 12, 23, 20, 0, tzinfo=UTC)
    assert rules.next_opening(christmas_eve_night) == datetime(2026, 12, 28, 8, 0, tzinfo=UTC)
    assert rules.next_opening(THU_10_BERLIN) == THU_10_BERLIN                  # open now


def test_reasons_get_category_priority_and_an_sla(rules: HandoffRules) -> None:
    assert rules.classify("safety: anaphylaxis") == ("safety", "urgent")
    assert rules.classify("brand rule: order over 250") == ("brand_rule", "high")
    assert rules.classify("customer is upset") == ("upset", "high")
    assert rules.classify("customer asked for a person") == ("asked_for_person", "normal")
    assert rules.classify("assistant unsure twice") == ("unsure", "normal")
    assert rules.classify("something new") == ("other", "normal")
    opened = THU_10_BERLIN
    assert rules.sla_due(opened, "urgent") == opened + timedelta(minutes=5)
    assert rules.sla_due(opened, "normal") == opened + timedelta(minutes=30)


def test_sla_timer_states() -> None:
    due, window = THU_10_BERLIN + timedelta(minutes=30), timedelta(minutes=30)
    assert sla_state(due, THU_10_BERLIN, None, window=window) == "ok"
    assert sla_state(due, due - timedelta(minutes=5), None, window=window) == "due_soon"
    assert sla_state(due, due + timedelta(seconds=1), None, window=window) == "breached"
    assert sla_state(due, due + timedelta(hours=1), due - timedelta(minutes=1), window=window) == "met"
    assert sla_state(due, due + timedelta(hours=1), due + timedelta(minutes=1), window=window) == "breached"


def test_urgent_first_then_longest_waiting() -> None:
    t = THU_10_BERLIN
    items = [("normal", t), ("urgent", t + timedelta(minutes=5)), ("normal", t - timedelta(minutes=1)), ("high", t)]
    assert ordered_queue(items) == [1, 3, 2, 0]


def test_wait_estimate_grows_with_the_queue_and_shrinks_with_agents() -> None:
    assert wait_minutes(0, 1, 6) == 6
    assert wait_minutes(3, 1, 6) == 24
    assert wait_minutes(3, 2, 6) == 12
    assert wait_minutes(0, 0, 6) is None


def test_inside_hours_the_customer_hears_roughly_when(rules: HandoffRules) -> None:
    text = handoff_notice(rules, THU_10_BERLIN, "asked_for_person", ahead=2, free_agents=1)
    assert "about 18 minutes" in text and "2 ahead of you" in text
    assert "as soon as someone is free" in handoff_notice(rules, THU_10_BERLIN, "other", 0, 0)


def test_outside_hours_the_customer_hears_when_we_are_back_and_what_to_send(rules: HandoffRules) -> None:
    text = handoff_notice(rules, THU_20_BERLIN, "order", ahead=0, free_agents=0)
    assert "tomorrow at 09:00" in text and "order number" in text
    safety = handoff_notice(rules, SAT_15_BERLIN, "safety", ahead=0, free_agents=0)
    assert "on Monday at 09:00" in safety and "when the reaction started" in safety


def test_an_agent_online_after_hours_counts_as_open(rules: HandoffRules) -> None:
    assert "about 6 minutes" in handoff_notice(rules, THU_20_BERLIN, "other", ahead=0, free_agents=1)


def test_brand_rules_need_every_condition(rules: HandoffRules) -> None:
    order = TurnFacts(text="where is my order", tools={"lookup_order"}, order_totals=[300.0])
    small = TurnFacts(text="where is my order", tools={"lookup_order"}, order_totals=[40.0])
    vip = TurnFacts(text="where is my order", tools={"lookup_order"}, order_totals=[40.0], customer_tags={"vip"})
    no_tool = TurnFacts(text="what is niacinamide", tools={"ingredient_info"}, customer_tags={"vip"})
    dispute = TurnFacts(text="I was charged twice for my order", tools=set())
    refund_question = TurnFacts(text="when will I get my refund?", tools={"search_knowledge"})
    cases = {"order": order, "small": small, "vip": vip, "no_tool": no_tool, "dispute": dispute,
             "refund_question": refund_question}
    names = {k: (r.name if (r := matching_rule(rules.brand_rules, f)) else None) for k, f in cases.items()}
    assert names == {"order": "high_value_order", "small": None, "vip": "vip_order_question", "no_tool": None,
                     "dispute": "payment_dispute", "refund_question": None}
    assert matching_rule(rules.brand_rules, dispute, already=["payment_dispute"]) is None


def test_round_robin_respects_capacity_and_presence() -> None:
    t = THU_10_BERLIN
    agents = [AgentLoad("ana", 2, 2, True, None),                        # full
              AgentLoad("bo", 3, 1, True, t),
              AgentLoad("cy", 3, 0, True, t - timedelta(minutes=5)),     # assigned longest ago
              AgentLoad("di", 3, 0, False, None)]                        # offline
    assert next_agent(agents) == "cy"
    agents[2] = AgentLoad("cy", 3, 1, True, t + timedelta(minutes=1))
    assert next_agent(agents) == "bo"
    assert next_agent([AgentLoad("ana", 1, 1, True, None), AgentLoad("di", 3, 0, False, None)]) is None
    assert next_agent([AgentLoad("zed", 2, 0, True, t), AgentLoad("new", 2, 0, True, None)]) == "new"


@pytest.mark.parametrize(("text", "score"), [("4", 4), (" 5 ", 5), ("3/5", 3), ("5 stars", 5), ("1.", 1),
                                             ("⭐⭐⭐", 3), ("45", None), ("0", None), ("6", None),
                                             ("4 products please", None), ("", None)])
def test_a_rating_is_only_a_rating(text: str, score: int | None) -> None:
    assert parse_csat(text) == score


def test_passwords_are_salted_scrypt_and_verify() -> None:
    h1, h2 = passwords.hash_password("correct horse battery"), passwords.hash_password("correct horse battery")
    assert h1 != h2 and h1.startswith("scrypt$")
    assert passwords.verify_password("correct horse battery", h1)
    assert not passwords.verify_password("correct horse batterY", h1)
    assert not passwords.verify_password("x", "not-a-hash")
    assert passwords.needs_rehash(passwords.hash_password("correct horse battery", n=2**10))
    with pytest.raises(InvalidInput):
        passwords.check_strength("short")
    with pytest.raises(InvalidInput):
        passwords.check_strength("aaaaaaaaaaaaaaaa")


def test_a_bad_rules_file_names_the_wrong_key(tmp_path: Path) -> None:
    text = DEFAULT_RULES_PATH.read_text().replace('mon: "09:00-18:00"', 'mon: "18:00-09:00"')
    bad = tmp_path / "rules.yaml"
    bad.write_text(text)
    with pytest.raises(KnowledgeError, match="business_hours"):
        load_rules(bad)
    bad.write_text(DEFAULT_RULES_PATH.read_text().replace("timezone: Europe/Berlin", "timezone: Mars/Olympus"))
    with pytest.raises(KnowledgeError, match="time zone"):
        load_rules(bad)
