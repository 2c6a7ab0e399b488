"""Background work over the graph (purchase model fit, stock outlook, catalogue refresh) that fails
because its process closed the graph stops quietly; the same failure on an open graph is an error
with its traceback, for the operator."""

from __future__ import annotations

import logging

import pytest

from commerce.collab import FittedPurchases
from commerce.stock_outlook import FittedStockOutlook
from graph.catalogue_view import CatalogueCache
from skinsage.errors import GraphError


class DeadGraph:
    def __init__(self, closed: bool) -> None:
        self.closed = closed

    def __getattr__(self, name: str) -> object:
        def fail(*_: object, **__: object) -> object:
            raise GraphError("embedded graph query failed: the parent database is closed")
        return fail


def _fail() -> object:
    raise GraphError("embedded graph query failed: the parent database is closed")


def _errors(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR]


@pytest.mark.parametrize("closed", [True, False])
def test_a_purchase_fit_on_a_closed_graph_is_not_an_error(closed: bool, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    assert FittedPurchases(DeadGraph(closed)).get() is None   # type: ignore[arg-type]
    assert _errors(caplog) == ([] if closed else ["purchase model fit failed"])


@pytest.mark.parametrize("closed", [True, False])
def test_a_stock_outlook_on_a_closed_graph_is_not_an_error(closed: bool, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    assert FittedStockOutlook(_fail, stopped=lambda: closed).refresh() is None  # type: ignore[arg-type]
    assert _errors(caplog) == ([] if closed else ["stock outlook refresh failed"])


@pytest.mark.parametrize("closed", [True, False])
def test_a_catalogue_refresh_on_a_closed_graph_is_not_an_error(closed: bool, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    CatalogueCache(lambda _q: _fail(), stopped=lambda: closed)._refresh()  # type: ignore[arg-type, return-value]
    assert _errors(caplog) == ([] if closed else ["catalogue view refresh failed"])
