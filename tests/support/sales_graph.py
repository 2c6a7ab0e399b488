"""A graph with order histories, for the forecast and stock-outlook tests."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date

import pytest

from graph.embedded import EmbeddedGraphStore
from graph.model import KnowledgeBundle
from ingest.demo import customers_and_orders

#: The day the sales fixtures end: forecasts and stock outlooks are computed as of this date.
SALES_DAY = date(2026, 11, 1)


@pytest.fixture(scope="module")
def sales_graph(tmp_path_factory: pytest.TempPathFactory, fixture_bundle: KnowledgeBundle) -> Iterator[EmbeddedGraphStore]:
    """The fixture catalogue with 120 synthetic customers and their order histories up to SALES_DAY."""
    customers, orders = customers_and_orders(fixture_bundle, 120, seed=3, anchor=SALES_DAY)
    store = EmbeddedGraphStore(tmp_path_factory.mktemp("sales") / "g.lbdb")
    store.load(fixture_bundle.model_copy(update={"customers": fixture_bundle.customers + customers,
                                                 "orders": fixture_bundle.orders + orders}))
    yield store
    store.close()
