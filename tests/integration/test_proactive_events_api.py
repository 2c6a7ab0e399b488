"""POST /v1/events, nudge polling and the snippet, over the real app and a SQLite store."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from graph.model import Customer, Product, Quantity
from opstore.migrate import upgrade
from opstore.testing import EchoEngine, make_store
from proactive.events import customer_signature
from proactive.repo import ProactiveStore
from proactive.testing import FakeCustomers
from skinsage.settings import Settings

VIEW = {"kind": "product_view", "id": "view-1", "sku": "NIA-10", "dwell_s": 12}


@pytest.fixture
def app_parts(tmp_path: Path) -> Iterator[tuple[TestClient, ProactiveStore]]:
    url = f"sqlite:///{tmp_path / 'ops.db'}"
    upgrade(url)
    store = make_store(url)
    graph = FakeCustomers([Customer(id="cus-ana", name="Ana K", skin_type="oily", phone="+4915100000001")], [],
                          [Product(sku="NIA-10", name="Niacinamide 10", brand="lab", category="serum",
                                   size=Quantity(amount=30, unit="ml"), dose_per_use=Quantity(amount=0.3, unit="ml"),
                                   uses_per_day=2, price=20, skin_types=["oily"], inci="Aqua, Niacinamide",
                                   ingredients=["aqua", "niacinamide"], key_ingredients=["niacinamide"])])
    settings = Settings(data_dir=tmp_path, database_url=url, api_key="k" * 32, proactive_identity_secret="shop-secret",
                        proactive_requests_per_minute_visitor=5, proactive_holdout_share=0.0)
    app = create_app(settings, graph=graph, store=store, engine=EchoEngine())  # type: ignore[arg-type]
    with TestClient(app) as client:
        yield client, ProactiveStore(store)
    store.close()


def _batch(events: list[dict[str, object]], visitor: str = "visitor-0001", **extra: object) -> dict[str, object]:
    return {"visitor_id": visitor, "consent": True, "events": events, **extra}


def test_events_with_consent_are_stored_and_a_heartbeat_updates_the_same_view(app_parts) -> None:
    client, repo = app_parts
    r = client.post("/v1/events", json=_batch([VIEW, {"kind": "add_to_cart", "sku": "NIA-10", "id": "c1"}]))
    assert r.status_code == 202 and r.json()["stored"] == 2
    r = client.post("/v1/events", json=_batch([{**VIEW, "dwell_s": 40}, {"kind": "add_to_cart", "sku": "NIA-10",
                                                                          "id": "c1"}]))
    assert (r.json()["stored"], r.json()["updated"], r.json()["duplicates"]) == (0, 1, 1)
    [view] = repo.events_of(visitor_id="visitor-0001", kinds=("product_view",))
    assert view.dwell_s == 40


def test_without_consent_nothing_is_stored(app_parts) -> None:
    client, repo = app_parts
    r = client.post("/v1/events", json=_batch([VIEW], consent=False))
    assert r.status_code == 202 and r.json()["dropped"] == 1 and r.json()["reason"] == "no tracking consent"
    assert repo.count_events() == 0


def test_a_customer_who_withdrew_tracking_consent_is_not_tracked_even_if_the_banner_says_yes(app_parts) -> None:
    client, repo = app_parts
    repo.store.compliance.record_consent("tracking", False, source="test", customer_id="cus-ana")
    sig = customer_signature("cus-ana", "shop-secret")
    r = client.post("/v1/events", json=_batch([VIEW], customer_id="cus-ana", customer_sig=sig))
    assert r.json()["dropped"] == 1 and repo.count_events() == 0


def test_bad_events_are_rejected_with_422_and_nothing_of_the_batch_is_stored(app_parts) -> None:
    client, repo = app_parts
    r = client.post("/v1/events", json=_batch([VIEW, {"kind": "product_view"}]))
    assert r.status_code == 422 and r.json()["error"]["code"] == "validation_error"
    assert client.post("/v1/events", json=_batch([{"kind": "teleport"}])).status_code == 422
    assert client.post("/v1/events", json=_batch([VIEW] * 51)).status_code == 422
    assert repo.count_events() == 0


def test_a_customer_id_needs_the_shops_signature(app_parts) -> None:
    client, repo = app_parts
    assert client.post("/v1/events", json=_batch([VIEW], customer_id="cus-ana")).status_code == 403
    forged = customer_signature("cus-ana", "guess")
    assert client.post("/v1/events", json=_batch([VIEW], customer_id="cus-ana", customer_sig=forged)).status_code == 403
    good = customer_signature("cus-ana", "shop-secret")
    assert client.post("/v1/events", json=_batch([VIEW], customer_id="cus-ana", customer_sig=good)).status_code == 202
    r = client.post("/v1/events", json=_batch([{"kind": "order_placed", "order_id": "SS-1"}], customer_id="cus-ana"),
                    headers={"Authorization": "Bearer " + "k" * 32})
    assert r.status_code == 202
    assert {e.customer_id for e in repo.events_of(visitor_id="visitor-0001")} == {"cus-ana"}


def test_too_many_requests_from_one_visitor_get_429(app_parts) -> None:
    client, _ = app_parts
    codes = [client.post("/v1/events", json=_batch([{"kind": "widget_opened"}])).status_code for _ in range(7)]
    assert codes[:5] == [202] * 5 and codes[5:] == [429, 429]
    r = client.post("/v1/events", json=_batch([{"kind": "widget_opened"}]))
    assert int(r.headers["Retry-After"]) >= 1 and r.json()["error"]["code"] == "rate_limited"
    assert client.post("/v1/events", json=_batch([{"kind": "widget_opened"}], "visitor-0002")).status_code == 202


def test_a_lingering_visitor_gets_one_nudge_and_can_turn_them_off(app_parts) -> None:
    client, _ = app_parts
    r = client.post("/v1/events", json=_batch([{**VIEW, "dwell_s": 130}]))
    assert r.json()["nudges_waiting"] == 1
    [nudge] = client.get("/v1/events/nudges", params={"visitor_id": "visitor-0001"}).json()["nudges"]
    assert "Niacinamide 10" in nudge["text"] and nudge["quick_replies"]
    assert client.get("/v1/events/nudges", params={"visitor_id": "visitor-0001"}).json()["nudges"] == []
    assert client.post("/v1/events/nudges/opt-out", json={"visitor_id": "visitor-0003"}).status_code == 204
    client.post("/v1/events", json=_batch([{**VIEW, "dwell_s": 130}], "visitor-0003"))
    assert client.get("/v1/events/nudges", params={"visitor_id": "visitor-0003"}).json()["nudges"] == []
    assert client.get("/v1/events/nudges", params={"visitor_id": "x"}).status_code == 422


def test_the_storefront_snippet_is_served(app_parts) -> None:
    client, _ = app_parts
    r = client.get("/widget/events.js")
    assert r.status_code == 200 and "javascript" in r.headers["content-type"]
    assert "showNudge" in r.text and "/v1/events" in r.text
