"""Reorder maths on cases computed by hand."""

from __future__ import annotations

import math

import pytest

from commerce.reorder import advise, days_of_cover, z_for
from skinsage.errors import InvalidInput


def test_days_of_cover_walks_the_forecast() -> None:
    assert days_of_cover(100, [10.0] * 90) == 10.0
    assert days_of_cover(105, [10.0] * 90) == 10.5
    assert days_of_cover(25, [5.0, 10.0, 20.0]) == pytest.approx(2.5)        # 5 + 10 by day 2, then 10/20
    assert days_of_cover(0, [10.0] * 90) == 0.0
    assert days_of_cover(400, [10.0] * 30) == 40.0                         # beyond the path: tail mean
    assert days_of_cover(50, [0.0] * 90) is None                           # nothing sells: no run-out date


def test_z_from_service_level() -> None:
    assert z_for(0.5) == 0.0
    assert z_for(0.95) == pytest.approx(1.6449, abs=1e-4)
    assert z_for(0.99) == pytest.approx(2.3263, abs=1e-4)
    with pytest.raises(InvalidInput):
        z_for(1.0)


def sd(h: int) -> float:
    return 2 * math.sqrt(h)          # sd of total demand over h days


def test_reorder_point_safety_stock_and_order_quantity_by_hand() -> None:
    # 10 a day, lead time 14, review 30, 95 %: LTD 140; SS = 1.6449 * 2 * sqrt(14) = 12.31; ROP = 152.31
    # order-up-to = 10 * 44 + 1.6449 * 2 * sqrt(44) = 461.82; stock 100 -> order 362
    a = advise(100, [10.0] * 90, sd, lead_time_days=14, service_level=0.95, review_days=30)
    assert a.lead_time_demand == pytest.approx(140)
    assert a.safety_stock == pytest.approx(12.309, abs=1e-3)
    assert a.reorder_point == pytest.approx(152.309, abs=1e-3)
    assert a.order_up_to == pytest.approx(461.822, abs=1e-3)
    assert a.reorder_now and a.order_quantity == 362 and a.days_of_cover == 10.0
    # the same in cases of 12: ceil(361.82 / 12) = 31 cases
    assert advise(100, [10.0] * 90, sd, 14, 0.95, 30, order_multiple=12).order_quantity == 372
    # stock already on order counts: 100 + 60 on order is above the reorder point
    held = advise(100, [10.0] * 90, sd, 14, 0.95, 30, on_order=60)
    assert not held.reorder_now and held.order_quantity == 0


def test_enough_stock_means_no_order_and_zero_lead_time_means_no_safety_stock() -> None:
    a = advise(200, [10.0] * 90, sd, 14, 0.95, 30)
    assert not a.reorder_now and a.order_quantity == 0 and a.days_of_cover == 20.0
    b = advise(5, [10.0] * 90, sd, 0, 0.95, 7)
    assert b.safety_stock == 0 and b.reorder_point == 0 and not b.reorder_now


def test_higher_service_level_holds_more_safety_stock() -> None:
    low = advise(100, [3.0] * 90, sd, 21, 0.90, 30)
    high = advise(100, [3.0] * 90, sd, 21, 0.99, 30)
    assert high.safety_stock > low.safety_stock and high.lead_time_demand == low.lead_time_demand == 63


def test_no_demand_no_order() -> None:
    a = advise(0, [0.0] * 90, lambda h: 0.0, 14, 0.95, 30)
    assert a.days_of_cover == 0.0 and a.order_quantity == 0 and not a.reorder_now


def test_bad_parameters_are_refused() -> None:
    with pytest.raises(InvalidInput):
        advise(10, [1.0], sd, -1, 0.95, 30)
    with pytest.raises(InvalidInput):
        advise(10, [1.0], sd, 14, 0.95, 30, order_multiple=0)
