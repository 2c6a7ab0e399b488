"""The routine builder: step order, conflicting actives split, budget."""

from __future__ import annotations

from commerce.catalogue import Candidate
from commerce.routine import build_routine
from graph.views import RoutineConflict


def c(sku: str, category: str, price: float = 10.0, tou: str = "any") -> Candidate:
    return Candidate(sku=sku, name=sku, category=category, price=price, stock=5, time_of_use=tou)


def clash(a: str, b: str) -> RoutineConflict:
    return RoutineConflict(product_a=a, ingredient_a="retinol", product_b=b, ingredient_b="ascorbic-acid",
                           kind="caution", severity="medium", reason="irritating together")


def test_steps_come_in_order_cleanse_treat_moisturise_protect() -> None:
    r = build_routine([c("SPF", "sunscreen"), c("SER", "serum"), c("MOI", "moisturiser"), c("CLN", "cleanser")], [])
    assert [s.step for s in r.am] == ["cleanse", "moisturise", "protect"]
    assert [s.step for s in r.pm] == ["cleanse", "treat", "moisturise"]
    assert "SPF" not in [s.sku for s in r.pm]


def test_conflicting_actives_are_split_between_morning_and_evening() -> None:
    r = build_routine([c("CLN", "cleanser"), c("RET", "serum", tou="pm"), c("VC", "serum")], [clash("RET", "VC")])
    assert "VC" in [s.sku for s in r.am] and "VC" not in [s.sku for s in r.pm]
    assert "RET" in [s.sku for s in r.pm] and "RET" not in [s.sku for s in r.am]


def test_two_night_only_conflicting_actives_alternate_nights() -> None:
    r = build_routine([c("RET", "serum", tou="pm"), c("AHA", "exfoliant", tou="pm")], [clash("RET", "AHA")])
    assert r.alternate_nights == [("RET", "AHA")]


def test_budget_keeps_essentials_and_drops_what_does_not_fit() -> None:
    ranked = [c("SER", "serum", 40), c("CLN", "cleanser", 12), c("MOI", "moisturiser", 20), c("SPF", "sunscreen", 15)]
    r = build_routine(ranked, [], budget=50)
    assert r.total == 47 and r.skipped == ["SER"]
    assert {s.step for s in r.am} == {"cleanse", "moisturise", "protect"}


def test_a_day_cream_gets_a_night_cream_so_the_evening_is_not_left_dry() -> None:
    r = build_routine([c("DAY", "moisturiser", tou="am"), c("ANY", "moisturiser"), c("CLN", "cleanser")], [])
    assert [(s.step, s.sku) for s in r.am] == [("cleanse", "CLN"), ("moisturise", "DAY")]
    assert [(s.step, s.sku) for s in r.pm] == [("cleanse", "CLN"), ("moisturise", "ANY")]
    assert r.total == 30


def test_one_moisturiser_for_morning_and_evening_is_enough() -> None:
    r = build_routine([c("ANY", "moisturiser"), c("NIGHT", "moisturiser", tou="pm")], [])
    assert [s.sku for s in r.am] == ["ANY"] and [s.sku for s in r.pm] == ["ANY"] and r.total == 10


def test_a_product_clashing_with_a_daily_step_is_passed_over_for_the_next_of_its_kind() -> None:
    ranked = [c("PHA", "cleanser"), c("RETMOI", "moisturiser"), c("PLAIN", "moisturiser"), c("RET", "serum", tou="pm")]
    r = build_routine(ranked, [clash("PHA", "RETMOI"), clash("PHA", "RET")])
    assert "RETMOI" not in {s.sku for s in r.am + r.pm} and "RET" not in {s.sku for s in r.am + r.pm}
    assert [s.sku for s in r.pm] == ["PHA", "PLAIN"]
