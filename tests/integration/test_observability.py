"""What operators see: request ids, JSON access logs, /metrics, /ready; and what clients see when a
body is too large or the disk is full."""

from __future__ import annotations

import io
import json
import logging
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import event

from graph.model import KnowledgeBundle
from opstore.errors import StoreUnavailable
from skinsage.logging import build_handler
from skinsage.settings import Settings
from tests.support.hardening import running_app


@pytest.fixture(scope="module")
def app_client(tmp_path_factory: pytest.TempPathFactory, fixture_bundle: KnowledgeBundle,
               minilm: Any) -> Iterator[tuple[TestClient, FastAPI]]:
    with running_app(tmp_path_factory.mktemp("obs"), fixture_bundle, minilm, max_request_kb=8,
                     max_upload_mb=0.05) as pair:
        yield pair


def _metric(text: str, name: str, **labels: str) -> float:
    """Sum of the samples of `name` whose labels include `labels`."""
    total, found = 0.0, False
    for line in text.splitlines():
        m = re.match(rf"^{re.escape(name)}(?:\{{(.*)\}})? (\S+)$", line)
        if not m:
            continue
        have = dict(re.findall(r'(\w+)="((?:[^"\\]|\\.)*)"', m.group(1) or ""))
        if all(have.get(k) == v for k, v in labels.items()):
            total, found = total + float(m.group(2)), True
    if not found:
        raise AssertionError(f"no sample {name}{labels}")
    return total


def test_every_response_has_a_request_id_and_a_safe_one_is_kept(app_client: tuple[TestClient, FastAPI]) -> None:
    client, _ = app_client
    generated = client.get("/health").headers["x-request-id"]
    assert re.fullmatch(r"[0-9a-f]{32}", generated)
    assert client.get("/health", headers={"X-Request-ID": "lb-abc.123"}).headers["x-request-id"] == "lb-abc.123"
    hostile = client.get("/health", headers={"X-Request-ID": "x\" injected=1 " + "a" * 80}).headers["x-request-id"]
    assert re.fullmatch(r"[0-9a-f]{32}", hostile)


def test_a_turn_shows_up_in_the_metrics_by_route_planner_tool_and_outbox(
        app_client: tuple[TestClient, FastAPI]) -> None:
    client, _ = app_client
    before = client.get("/metrics").text
    reply = client.post("/v1/chat", json={"text": "what does niacinamide do?"})
    assert reply.status_code == 200
    after = client.get("/metrics")
    assert after.headers["content-type"].startswith("text/plain")
    text = after.text

    def grew(name: str, **labels: str) -> float:
        try:
            old = _metric(before, name, **labels)
        except AssertionError:
            old = 0.0
        return _metric(text, name, **labels) - old

    assert grew("skinsage_http_request_duration_seconds_count", route="/v1/chat", method="POST", status="200") == 1
    assert grew("skinsage_turns_total", planner="offline") == 1
    tool = reply.json()["tools"][0]["name"]
    assert grew("skinsage_tool_duration_seconds_count", tool=tool) >= 1
    assert _metric(text, "skinsage_store_up") == 1
    assert _metric(text, "skinsage_outbox_depth", channel="api", status="pending") >= 1
    assert _metric(text, "skinsage_inbound_unanswered") == 0
    assert "/v1/chat/" not in re.sub(r'route="/v1/chat(/stream)?"', "", text)   # templates, not raw paths


def test_unknown_paths_share_one_label(app_client: tuple[TestClient, FastAPI]) -> None:
    client, _ = app_client
    for i in range(3):
        assert client.get(f"/no/such/{i}").status_code == 404
    text = client.get("/metrics").text
    assert _metric(text, "skinsage_http_request_duration_seconds_count", route="unmatched") >= 3
    assert "/no/such" not in text


def test_access_log_is_json_with_request_id_route_and_no_personal_data(
        app_client: tuple[TestClient, FastAPI]) -> None:
    client, _ = app_client
    stream = io.StringIO()
    handler = build_handler(Settings(), stream)
    root = logging.getLogger()
    root.addHandler(handler)
    old_level = root.level
    root.setLevel(logging.INFO)
    try:
        r = client.post("/v1/chat", json={"text": "my number is +49 151 1234 5678, email ana@example.eu"})
    finally:
        root.removeHandler(handler)
        root.setLevel(old_level)
    lines = [json.loads(line) for line in stream.getvalue().splitlines()]
    access = [x for x in lines if x["logger"] == "skinsage.api.access"]
    assert access and access[-1]["route"] == "/v1/chat" and access[-1]["status"] == r.status_code
    assert access[-1]["request_id"] == r.headers["x-request-id"]
    assert "ana@example.eu" not in stream.getvalue() and "1234 5678" not in stream.getvalue()


def test_an_oversized_json_body_is_413_whether_or_not_it_declares_its_length(
        app_client: tuple[TestClient, FastAPI]) -> None:
    client, _ = app_client
    big = json.dumps({"text": "x" * 20_000}).encode()
    declared = client.post("/v1/chat", content=big, headers={"content-type": "application/json"})
    assert declared.status_code == 413 and declared.json()["error"]["code"] == "payload_too_large"

    def chunks() -> Iterator[bytes]:
        for i in range(0, len(big), 1024):
            yield big[i:i + 1024]

    streamed = client.post("/v1/chat", content=chunks(), headers={"content-type": "application/json"})
    assert streamed.status_code == 413 and streamed.json()["error"]["code"] == "payload_too_large"
    assert client.post("/v1/chat", json={"text": "hello"}).status_code == 200   # small bodies still pass


def test_an_oversized_upload_is_413_before_it_is_read_into_memory(app_client: tuple[TestClient, FastAPI]) -> None:
    client, _ = app_client
    r = client.post("/v1/vision/analyze", files={"photo": ("me.jpg", b"\xff\xd8" + b"\0" * 80_000, "image/jpeg")})
    assert r.status_code == 413 and r.json()["error"]["code"] == "payload_too_large"


def test_ready_reports_each_dependency_and_fails_when_the_store_does(
        app_client: tuple[TestClient, FastAPI], monkeypatch: pytest.MonkeyPatch) -> None:
    client, app = app_client
    ok = client.get("/ready")
    assert ok.status_code == 200
    assert ok.json()["store"] == {"ok": True, "backend": "sqlite"} and ok.json()["graph"]["counts"]

    def down() -> None:
        raise StoreUnavailable("the operational store is unavailable: connection refused")

    monkeypatch.setattr(app.state.store.database, "ping", down)
    bad = client.get("/ready")
    assert bad.status_code == 503 and bad.json()["store"]["ok"] is False and bad.json()["status"] == "unavailable"


def test_metrics_can_require_a_token(tmp_path: Path, fixture_bundle: KnowledgeBundle, minilm: Any) -> None:
    with running_app(tmp_path, fixture_bundle, minilm, metrics_token="scrape-me") as (client, _):
        assert client.get("/metrics").status_code == 403
        assert client.get("/metrics", headers={"Authorization": "Bearer wrong"}).status_code == 403
        assert client.get("/metrics", headers={"Authorization": "Bearer scrape-me"}).status_code == 200


def test_a_full_disk_is_507_saves_nothing_and_recovers(tmp_path: Path, fixture_bundle: KnowledgeBundle,
                                                       minilm: Any) -> None:
    """Real SQLITE_FULL: the database may not grow past its current size (PRAGMA max_page_count)."""
    with running_app(tmp_path, fixture_bundle, minilm) as (client, app):
        assert client.post("/v1/chat", json={"text": "hello"}).status_code == 200
        engine = app.state.store.database.engine
        cap = {"pages": None}

        @event.listens_for(engine, "connect")
        def _cap(dbapi: Any, _: Any) -> None:
            if cap["pages"]:
                dbapi.execute(f"PRAGMA max_page_count = {cap['pages']}")

        with engine.connect() as conn:
            cap["pages"] = conn.exec_driver_sql("PRAGMA page_count").scalar()
        engine.dispose()   # new connections get the cap
        body = {"conversation_id": "disk-full-1", "text": "a long question " * 200, "client_message_id": "m1"}
        full = client.post("/v1/chat", json=body)
        assert full.status_code == 507, full.text
        assert full.json()["error"]["code"] == "insufficient_storage" and "not saved" in full.json()["error"]["message"]

        cap["pages"] = None
        engine.dispose()   # space is back
        again = client.post("/v1/chat", json=body)
        assert again.status_code == 200 and again.json()["status"] == "answered"   # first time saved, answered once
        transcript = app.state.store.handoffs.transcript(_conversation(app, "disk-full-1"))
        assert [m.direction for m in transcript] == ["in", "out"]


def _conversation(app: FastAPI, session: str) -> str:
    from sqlalchemy import select

    from opstore.models import Conversation

    with app.state.store.database.engine.connect() as conn:
        return str(conn.execute(select(Conversation.id).where(Conversation.channel_user_id == session)).scalar_one())


def test_guests_are_rate_limited_per_ip_and_the_shop_backend_has_its_own_budget(
        tmp_path: Path, fixture_bundle: KnowledgeBundle, minilm: Any) -> None:
    with running_app(tmp_path, fixture_bundle, minilm, rate_public_ip_per_min=6.0, rate_public_ip_burst=3,
                     rate_api_key_per_min=60.0, rate_api_key_burst=5) as (client, app):
        codes = [client.post("/v1/chat", json={"text": "hello"}).status_code for _ in range(5)]
        assert codes[:3] == [200, 200, 200] and codes[3:] == [429, 429]
        limited = client.post("/v1/vision/analyze", files={"photo": ("a.jpg", b"x", "image/jpeg")})
        assert limited.status_code == 429 and int(limited.headers["Retry-After"]) >= 1
        assert limited.json()["error"]["code"] == "rate_limited"
        assert limited.json()["error"]["details"]["scope"] == "client_ip"
        other_ip = TestClient(app, client=("203.0.113.9", 40000), raise_server_exceptions=False)
        assert other_ip.post("/v1/chat", json={"text": "hello"}).status_code == 200
        assert client.get("/health").status_code == 200   # only the expensive open endpoints are limited
        shop = {"Authorization": "Bearer shop-secret-key"}
        shop_codes = [client.post("/v1/chat", json={"customer_id": "cus-ana", "text": "hi"}, headers=shop).status_code
                      for _ in range(6)]
        assert shop_codes[:5] == [200] * 5 and shop_codes[5] == 429
        forged = {"Authorization": "Bearer not-the-key"}
        assert client.post("/v1/chat", json={"text": "hello"}, headers=forged).status_code == 429
        assert _metric(client.get("/metrics").text, "skinsage_http_rejected_total", reason="rate_limited") >= 5
