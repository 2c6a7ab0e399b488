"""The widget's HTTP API through the real operational store (SQLite), engine and photo analysis."""

from __future__ import annotations

import base64
import json
import re
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from api.channels.web import customer_token
from commerce.reminders import InMemoryReminderStore
from graph.embedded import EmbeddedGraphStore
from graph.model import KnowledgeBundle
from opstore import open_store
from skinsage.bootstrap import build_assistant
from skinsage.settings import Settings
from vision import analyze_photo
from vision import testing as T

SHOP_SECRET = "shop-backend-shared-secret-0123"
SHOP = "https://shop.example.com"


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory, fixture_bundle: KnowledgeBundle, minilm: Any) -> Iterator[Any]:
    tmp: Path = tmp_path_factory.mktemp("widget")
    graph = EmbeddedGraphStore(tmp / "g.lbdb")
    graph.load(fixture_bundle)
    settings = settings_with(tmp)
    store = open_store(settings, directory=graph)
    engine = build_assistant(settings, graph, encoder=minilm, reminders=InMemoryReminderStore(), photos=analyze_photo)
    yield tmp, graph, store, engine
    store.close()
    graph.close()


def settings_with(tmp: Path, **over: Any) -> Settings:
    base: dict[str, Any] = {"data_dir": tmp, "load_demo_on_start": False, "widget_secret": "w" * 32,
                                "widget_customer_token_secret": SHOP_SECRET, "widget_allowed_origins": [SHOP],
                                "widget_max_photo_mb": 2, "widget_answer_wait_s": 10,
                                # one test client is one IP: room for the whole module (limits: own test)
                                "widget_rate_ip_burst": 10_000, "widget_rate_session_burst": 100}
    return Settings(**{**base, **over})


@pytest.fixture(scope="module")
def client(world: Any) -> Iterator[TestClient]:
    tmp, graph, store, engine = world
    with TestClient(create_app(settings_with(tmp), graph=graph, store=store, engine=engine)) as c:
        yield c


def session(client: TestClient, customer: str | None = None) -> dict[str, str]:
    body = {"customer_token": customer_token(SHOP_SECRET.encode(), customer)} if customer else {}
    out = client.post("/widget/session", json=body).json()
    headers = {"Authorization": f"Bearer {out['session_token']}"}
    if customer:
        headers["X-SkinSage-Customer"] = body["customer_token"]
    return headers


def sid_of(headers: dict[str, str]) -> str:
    payload = headers["Authorization"].split()[1].split(".")[0]
    return str(json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))["sid"])


def events(raw: str) -> list[tuple[str, Any]]:
    out = []
    for block in raw.strip().split("\n\n"):
        lines = dict(line.split(": ", 1) for line in block.split("\n"))
        out.append((lines["event"], json.loads(lines["data"])))
    return out


def say(client: TestClient, headers: dict[str, str], text: str, cid: str | None = None) -> list[tuple[str, Any]]:
    with client.stream("POST", "/widget/messages", headers=headers,
                       json={"text": text, "client_message_id": cid or uuid.uuid4().hex}) as r:
        assert r.status_code == 200, r.read()
        assert r.headers["content-type"].startswith("text/event-stream")
        return events("".join(r.iter_text()))


def history(client: TestClient, headers: dict[str, str]) -> dict[str, Any]:
    r = client.get("/widget/history", headers=headers)
    assert r.status_code == 200
    return r.json()  # type: ignore[no-any-return]


# --- conversation ------------------------------------------------------------------------------------

def test_a_visitor_gets_a_streamed_grounded_answer_with_product_cards(client: TestClient) -> None:
    h = session(client)
    assert history(client, h) == {"status": "none", "messages": []}
    say(client, h, "can you recommend something?")
    say(client, h, "oily")
    got = say(client, h, "large pores")
    tokens = [d for k, d in got if k == "token"]
    kind, done = got[-1]
    assert got[0][0] == "received" and kind == "done" and len(tokens) > 3
    assert "".join(tokens).strip() == done["text"] and done["status"] == "answered"
    assert {p["sku"] for p in done["products"]} == {"FX-BHA-02", "FX-NIA-10"}
    assert all(p["price"] > 0 and p["name"] for p in done["products"]) and done["citations"]


def test_history_survives_and_pairs_each_reply_with_its_question(client: TestClient) -> None:
    h = session(client)
    say(client, h, "hello", cid="hello-0001")
    say(client, h, "what does niacinamide do?", cid="nia-00001")
    msgs = history(client, h)["messages"]
    assert [m["role"] for m in msgs] == ["customer", "assistant", "customer", "assistant"]
    assert [m["client_id"] for m in msgs[::2]] == ["hello-0001", "nia-00001"]
    assert [m["reply_to_client_id"] for m in msgs[1::2]] == ["hello-0001", "nia-00001"]
    resumed = client.post("/widget/session", json={"session_token": h["Authorization"].split()[1]}).json()
    assert resumed["resumed"] and history(client, {"Authorization": f"Bearer {resumed['session_token']}"})["messages"] == msgs


def test_a_retried_message_is_answered_once_with_the_original_answer(client: TestClient, world: Any) -> None:
    h = session(client)
    first = say(client, h, "what does niacinamide do?", cid="retry-00001")[-1][1]
    again = say(client, h, "what does niacinamide do?", cid="retry-00001")
    assert again[0] == ("received", {"duplicate": True}) and not [k for k, _ in again if k == "token"]
    kind, done = again[-1]
    assert kind == "done" and done["status"] == "duplicate"
    assert done["message_id"] == first["message_id"] and done["text"] == first["text"]
    assert [m["role"] for m in history(client, h)["messages"]] == ["customer", "assistant"]


def test_a_photo_goes_to_skin_analysis(client: TestClient) -> None:
    h = session(client)
    png = T.encode(T.sample(), "PNG")
    with client.stream("POST", "/widget/photos", headers=h, data={"client_message_id": "photo-0001"},
                       files={"photo": ("me.png", png, "image/png")}) as r:
        assert r.status_code == 200
        got = events("".join(r.iter_text()))
    kind, done = got[-1]
    assert kind == "done" and "cosmetic check" in done["text"] and "measured" in done["text"]
    assert any(c["kind"] == "photo" for c in done["citations"])
    first = history(client, h)["messages"][0]
    assert first["role"] == "customer" and first["photo"] and first["client_id"] == "photo-0001"


@pytest.mark.parametrize("data,name,status,code", [
    (b"\x89PNG\r\n\x1a\n" + b"\x00" * (3 * 1024 * 1024), "big.png", 413, "too_large"),
    (b"GIF89a" + b"\x00" * 64, "a.gif", 415, "unsupported_type"),
    (b"", "empty.jpg", 422, "empty"),
])
def test_bad_photos_get_their_documented_error_and_nothing_is_stored(client: TestClient, data: bytes, name: str,
                                                                     status: int, code: str) -> None:
    h = session(client)
    r = client.post("/widget/photos", headers=h, data={"client_message_id": "bad-photo-1"},
                    files={"photo": (name, data, "image/png")})
    assert r.status_code == status and r.json()["error"]["code"] == code
    assert history(client, h)["messages"] == []


@pytest.mark.parametrize("body", [
    {"text": "hi"},                                                    # no client_message_id
    {"text": "   ", "client_message_id": "blank-0001"},
    {"text": "x" * 2001, "client_message_id": "long-00001"},
    {"text": "hi", "client_message_id": "../../etc"},
])
def test_bad_messages_are_422_and_not_stored(client: TestClient, body: dict[str, Any]) -> None:
    h = session(client)
    r = client.post("/widget/messages", headers=h, json=body)
    assert r.status_code == 422 and r.json()["error"]["code"] in ("validation_error", "invalid_input")
    assert history(client, h)["messages"] == []


def test_invalid_json_is_422(client: TestClient) -> None:
    r = client.post("/widget/messages", headers={**session(client), "Content-Type": "application/json"},
                    content=b"{not json")
    assert r.status_code == 422


# --- identity ----------------------------------------------------------------------------------------

def test_no_or_forged_session_token_is_401_with_a_code_the_widget_acts_on(client: TestClient) -> None:
    assert client.get("/widget/history").json()["error"]["code"] == "session_invalid"
    forged = session(client)["Authorization"][:-3] + "abc"
    r = client.get("/widget/history", headers={"Authorization": forged})
    assert r.status_code == 401 and r.json()["error"]["code"] == "session_invalid"


def test_a_signed_in_customer_sees_their_order_and_a_guest_does_not(client: TestClient) -> None:
    ana = session(client, "cus-ana")
    done = say(client, ana, "where is my order?")[-1][1]
    assert "SS-1002" in done["text"]
    guest = session(client)
    assert "SS-1002" not in say(client, guest, "where is my order?")[-1][1]["text"]


def test_a_customer_session_without_the_customer_token_is_refused(client: TestClient) -> None:
    ana = session(client, "cus-ana")
    say(client, ana, "hello")
    r = client.get("/widget/history", headers={"Authorization": ana["Authorization"]})
    assert r.status_code == 401 and r.json()["error"]["code"] == "customer_required"
    # after signing out, the same browser gets a fresh, empty guest conversation
    out = client.post("/widget/session", json={"session_token": ana["Authorization"].split()[1]}).json()
    assert not out["resumed"] and not out["customer"]
    assert history(client, {"Authorization": f"Bearer {out['session_token']}"})["messages"] == []


# --- handoff -----------------------------------------------------------------------------------------

def test_talk_to_a_person_queues_the_conversation_once_and_the_bot_goes_quiet(client: TestClient, world: Any) -> None:
    store = world[2]
    h = session(client)
    say(client, h, "hello")
    first = client.post("/widget/handoff", headers=h, json={"client_message_id": "human-0001"})
    again = client.post("/widget/handoff", headers=h, json={"client_message_id": "human-0001"})
    assert first.status_code == 200 and first.json()["status"] == "waiting_human"
    assert again.json()["message_id"] == first.json()["message_id"]
    m = client.app.state.console.rules.messages  # type: ignore[attr-defined]
    opening = {t.split("{")[0] for t in (m.inside_hours, m.inside_hours_busy, m.outside_hours)}
    assert any(first.json()["text"].startswith(o) for o in opening)   # the console's "who comes and when"
    hist = history(client, h)
    assert hist["status"] == "waiting_human"
    assert [m["text"] for m in hist["messages"]].count("Talk to a person") == 1
    queued = [c for c in store.handoffs.queue() if c.channel == "web" and c.channel_user_id == sid_of(h)]
    assert [(c.status, c.handoff_reason) for c in queued] == [("waiting_human", "customer_request")]
    routed = say(client, h, "are you there?")[-1][1]
    assert routed["status"] == "routed" and not routed["products"]


# --- security: CORS, origins, rate limits -------------------------------------------------------------

def test_cors_allows_exactly_the_shop_origins(client: TestClient) -> None:
    pre = {"Access-Control-Request-Method": "POST", "Access-Control-Request-Headers": "authorization,content-type"}
    ok = client.options("/widget/messages", headers={"Origin": SHOP, **pre})
    assert ok.status_code == 200 and ok.headers["access-control-allow-origin"] == SHOP
    bad = client.options("/widget/messages", headers={"Origin": "https://evil.example", **pre})
    assert bad.status_code == 400 and "access-control-allow-origin" not in bad.headers
    r = client.post("/widget/session", json={}, headers={"Origin": "https://shop.example.com.evil.example"})
    assert r.status_code == 403 and r.json()["error"]["code"] == "forbidden"
    assert client.post("/widget/session", json={}, headers={"Origin": SHOP}).status_code == 200
    assert client.post("/widget/session", json={}, headers={"Origin": "http://testserver"}).status_code == 200


def test_rate_limits_per_session_and_per_ip_answer_429_with_retry_after(world: Any) -> None:
    tmp, graph, store, engine = world
    settings = settings_with(tmp, widget_rate_session_per_min=1, widget_rate_session_burst=2,
                             widget_rate_ip_per_min=1, widget_rate_ip_burst=4)
    with TestClient(create_app(settings, graph=graph, store=store, engine=engine)) as c:
        h = session(c)  # ip: 1 of 4
        say(c, h, "hello")  # ip 2, session 1
        say(c, h, "hello again")  # ip 3, session 2
        r = c.post("/widget/messages", headers=h, json={"text": "third", "client_message_id": "third-0001"})
        assert r.status_code == 429 and r.json()["error"]["code"] == "rate_limited"
        assert 1 <= int(r.headers["Retry-After"]) <= 60
        assert len(history(c, h)["messages"]) == 4  # the refused message was not stored
        c.post("/widget/session", json={})  # ip 4 (the refused message took an IP token too: 5 > 4)
        r = c.post("/widget/session", json={})
        assert r.status_code == 429 and r.json()["error"]["details"]["scope"] == "widget-ip"


# --- static ------------------------------------------------------------------------------------------

def test_the_script_and_the_demo_page_are_served(client: TestClient) -> None:
    js = client.get("/widget.js")
    assert js.status_code == 200 and js.headers["content-type"].startswith("text/javascript")
    code = re.sub(r"/\*.*?\*/|//[^\n]*", "", js.text, flags=re.DOTALL)   # comments may mention it
    assert not re.search(r"\.(inner|outer)HTML\b|insertAdjacentHTML|document\.write|\beval\(", code)
    assert "window.SkinSage" in code
    page = client.get("/demo/store")
    assert page.status_code == 200 and '<script src="/widget.js"' in page.text
