"""POST /v1/chat and its streaming twin, through the real operational store (SQLite) and engine."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from commerce.reminders import InMemoryReminderStore
from graph.embedded import EmbeddedGraphStore
from graph.model import KnowledgeBundle
from opstore import open_store
from skinsage.bootstrap import build_assistant
from skinsage.settings import Settings


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory, fixture_bundle: KnowledgeBundle, minilm: Any) -> Iterator[TestClient]:
    tmp: Path = tmp_path_factory.mktemp("chat")
    settings = Settings(data_dir=tmp, load_demo_on_start=False, api_key="shop-secret")  # type: ignore[arg-type]
    graph = EmbeddedGraphStore(tmp / "g.lbdb")
    graph.load(fixture_bundle)
    store = open_store(settings, directory=graph)
    engine = build_assistant(settings, graph, encoder=minilm, reminders=InMemoryReminderStore())
    with TestClient(create_app(settings, graph=graph, store=store, engine=engine)) as c:
        yield c
    store.close()
    graph.close()


def test_a_guest_conversation_keeps_its_memory_across_requests(client: TestClient) -> None:
    first = client.post("/v1/chat", json={"text": "can you recommend something?"}).json()
    assert first["tools"] == [] and "Oily" in first["quick_replies"]
    cid = first["conversation_id"]
    second = client.post("/v1/chat", json={"conversation_id": cid, "text": "oily"}).json()
    third = client.post("/v1/chat", json={"conversation_id": cid, "text": "large pores"}).json()
    assert second["conversation_id"] == cid and third["tools"][0]["name"] == "recommend_products"
    assert {p["sku"] for p in third["products"]} == {"FX-BHA-02", "FX-NIA-10"}
    assert third["citations"] and third["products"][0]["price"] > 0


def test_customer_id_needs_the_shop_api_key(client: TestClient) -> None:
    r = client.post("/v1/chat", json={"customer_id": "cus-ana", "text": "where is my order?"})
    assert r.status_code == 403 and r.json()["error"]["code"] == "forbidden"
    ok = client.post("/v1/chat", json={"customer_id": "cus-ana", "text": "where is my order?"},
                     headers={"Authorization": "Bearer shop-secret"}).json()
    assert "SS-1002" in ok["reply"] and ok["tools"][0]["name"] == "lookup_order"


def test_a_client_retry_is_answered_once(client: TestClient) -> None:
    body = {"conversation_id": "retry-conv-1", "text": "what does niacinamide do?", "client_message_id": "m-1"}
    first = client.post("/v1/chat", json=body).json()
    again = client.post("/v1/chat", json=body).json()
    assert again["status"] == "duplicate" and again["reply"] == first["reply"]


@pytest.mark.parametrize("body", [{}, {"text": "   "}, {"text": "x" * 4001}, {"text": "hi", "conversation_id": "../etc"}])
def test_bad_chat_requests_are_422(client: TestClient, body: dict[str, Any]) -> None:
    r = client.post("/v1/chat", json=body)
    assert r.status_code == 422 and r.json()["error"]["code"] == "validation_error"


def test_streaming_sends_tokens_then_the_whole_reply(client: TestClient) -> None:
    with client.stream("POST", "/v1/chat/stream", json={"text": "hello"}) as r:
        assert r.headers["content-type"].startswith("text/event-stream")
        raw = "".join(r.iter_text())
    events = [(block.split("\n")[0].removeprefix("event: "), json.loads(block.split("\n")[1].removeprefix("data: ")))
              for block in raw.strip().split("\n\n")]
    tokens = [d for k, d in events if k == "token"]
    kind, done = events[-1]
    assert kind == "done" and len(tokens) > 3
    assert "".join(tokens).strip() == done["reply"]


def test_a_retried_stream_gets_the_original_reply_not_a_second_answer(client: TestClient) -> None:
    def stream(body: dict[str, Any]) -> list[tuple[str, Any]]:
        with client.stream("POST", "/v1/chat/stream", json=body) as r:
            raw = "".join(r.iter_text())
        return [(b.split("\n")[0].removeprefix("event: "), json.loads(b.split("\n")[1].removeprefix("data: ")))
                for b in raw.strip().split("\n\n")]

    body = {"text": "hello", "conversation_id": "stream-retry-01", "client_message_id": "m-1"}
    first, again = stream(body)[-1], stream(body)
    assert first[0] == "done" and first[1]["reply"]
    assert [k for k, _ in again] == ["done"] and again[0][1]["status"] == "duplicate"
    assert again[0][1]["reply"] == first[1]["reply"]
