"""The support console through its HTTP API and pages, over the real operational store (SQLite; and
PostgreSQL where the test server runs), the embedded graph and a settable clock."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from api.app import create_app
from assistant.types import InboundMessage
from console.wiring import Console
from graph.embedded import EmbeddedGraphStore
from graph.model import KnowledgeBundle
from opstore.service import StoreService
from opstore.testing import Clock, EchoEngine, RecordingSender, make_store
from skinsage.settings import Settings

PASSWORD = "correct horse battery"
BASE = "https://testserver"   # the session cookie is Secure


@pytest.fixture(scope="module")
def graph(tmp_path_factory: pytest.TempPathFactory, fixture_bundle: KnowledgeBundle) -> Iterator[EmbeddedGraphStore]:
    g = EmbeddedGraphStore(tmp_path_factory.mktemp("console") / "g.lbdb")
    g.load(fixture_bundle)
    yield g
    g.close()


@dataclass
class Env:
    app: FastAPI
    client: TestClient
    store: StoreService
    clock: Clock
    console: Console

    def agent(self, username: str, role: str = "agent", capacity: int = 3) -> None:
        self.console.auth.create_agent(username, PASSWORD, role, capacity=capacity)  # type: ignore[arg-type]

    def browser(self) -> TestClient:
        """Another browser (its own cookie jar) on the same running app."""
        return TestClient(self.app, base_url=BASE)

    def customer(self, text: str, user: str = "7001", channel: str = "telegram") -> Any:
        got = self.store.receive(InboundMessage(channel=channel, channel_user_id=user, text=text))  # type: ignore[arg-type]
        return got, self.store.process(got.message_id, self.app.state.engine)


@pytest.fixture
def make_env(opstore_url: str, graph: EmbeddedGraphStore, tmp_path: Path) -> Iterator[Callable[..., Env]]:
    opened: list[tuple[TestClient, StoreService]] = []

    def build(**overrides: Any) -> Env:
        clock = Clock()   # Monday 2 Nov 2026, 10:00 in Berlin: inside business hours
        store = make_store(opstore_url, clock=clock)
        settings = Settings(data_dir=tmp_path, load_demo_on_start=False, **overrides)
        app = create_app(settings, graph=graph, store=store, engine=EchoEngine())
        client = TestClient(app, base_url=BASE)
        client.__enter__()
        opened.append((client, store))
        return Env(app, client, store, clock, app.state.console)

    yield build
    for client, store in opened:
        client.__exit__(None, None, None)
        store.close()


def login(client: TestClient, username: str, password: str = PASSWORD) -> str:
    """Log in through the form; returns the session's CSRF token."""
    page = client.get("/console/login")
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert token is not None
    r = client.post("/console/login", data={"username": username, "password": password, "csrf_token": token[1]},
                    follow_redirects=False)
    assert r.status_code == 303, r.text
    return str(client.get("/console/api/me").json()["csrf_token"])


def post(client: TestClient, path: str, csrf: str, body: dict[str, Any] | None = None) -> Any:
    return client.post(f"/console/api{path}", json=body, headers={"X-CSRF-Token": csrf})


# --- login, sessions, CSRF, roles -------------------------------------------------------------------
def test_login_sets_a_locked_down_cookie_and_logout_ends_the_session_on_the_server(make_env: Callable[..., Env]) -> None:
    env = make_env()
    env.agent("ana")
    page = env.client.get("/console/login")
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text)[1]  # type: ignore[index]
    r = env.client.post("/console/login", data={"username": "ana", "password": PASSWORD, "csrf_token": token},
                        follow_redirects=False)
    cookie = next(h for h in r.headers.get_list("set-cookie") if h.startswith("skinsage_console="))
    assert r.status_code == 303 and r.headers["location"] == "/console"
    assert {"HttpOnly", "Secure", "SameSite=strict", "Path=/console"} <= {p.strip() for p in cookie.split(";")}
    stolen = env.client.cookies.get("skinsage_console")
    me = env.client.get("/console/api/me").json()
    assert me["agent"]["username"] == "ana" and me["agent"]["online"] is True
    r = env.client.post("/console/logout", data={"csrf_token": me["csrf_token"]}, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/console/login"
    assert env.client.get("/console/api/me").status_code == 401
    replay = env.browser()
    replay.cookies.set("skinsage_console", stolen or "", domain="testserver", path="/console")
    assert replay.get("/console/api/me").status_code == 401           # revoked server-side, not just forgotten
    actions = [a.action for a in env.store.compliance.audit_log("agent:ana")]
    assert actions[:2] == ["logout", "login"]


def test_a_wrong_password_gets_no_session_and_repeated_failures_lock_the_account(make_env: Callable[..., Env]) -> None:
    env = make_env(console_max_failed_logins=3)
    env.agent("ana")
    def attempt(username: str, password: str) -> Any:   # each page carries a fresh form token
        token = re.search(r'name="csrf_token" value="([^"]+)"', env.client.get("/console/login").text)[1]  # type: ignore[index]
        return env.client.post("/console/login", data={"username": username, "password": password,
                                                       "csrf_token": token}, follow_redirects=False)

    for _ in range(3):
        r = attempt("ana", "wrong password!!")
        assert r.status_code == 401 and "Wrong username or password" in r.text
        assert "skinsage_console" not in env.client.cookies
    r = attempt("ana", PASSWORD)
    assert r.status_code == 401                                        # locked, even with the right password
    unknown = attempt("nobody", PASSWORD)
    assert unknown.status_code == 401 and "Wrong username or password" in unknown.text
    env.clock.advance(16 * 60)
    assert login(env.client, "ana")                                    # the lock lapses
    failed = [a for a in env.store.compliance.audit_log("agent:ana") if a.action == "login_failed"]
    assert [a.details["why"] for a in failed] == ["locked", "wrong password", "wrong password", "wrong password"]


def test_a_logged_out_request_gets_nothing(make_env: Callable[..., Env]) -> None:
    env = make_env()
    got, _ = env.customer("I want a human")
    for path in ("/console/api/queue", f"/console/api/conversations/{got.conversation_id}", "/console/api/me",
                 "/console/api/admin/dashboard", "/console/api/canned", "/console/api/events"):
        r = env.client.get(path)
        assert r.status_code == 401, path
        assert got.conversation_id not in r.text
    assert env.client.post(f"/console/api/conversations/{got.conversation_id}/claim").status_code == 401
    for page in ("/console", f"/console/c/{got.conversation_id}", "/console/admin"):
        r = env.client.get(page, follow_redirects=False)
        assert r.status_code == 303 and r.headers["location"] == "/console/login"
    env.clock.advance(0)
    assert env.store.handoffs.conversation(got.conversation_id).status == "waiting_human"


def test_an_idle_session_expires(make_env: Callable[..., Env]) -> None:
    env = make_env(console_idle_minutes=30)
    env.agent("ana")
    login(env.client, "ana")
    env.clock.advance(29 * 60)
    assert env.client.get("/console/api/me").status_code == 200
    env.clock.advance(31 * 60)
    assert env.client.get("/console/api/me").status_code == 401


def test_a_forged_csrf_token_is_refused_and_changes_nothing(make_env: Callable[..., Env]) -> None:
    env = make_env(console_auto_assign=False)
    env.agent("ana")
    csrf = login(env.client, "ana")
    got, _ = env.customer("I want a human")
    path = f"/console/api/conversations/{got.conversation_id}/claim"
    assert env.client.post(path, headers={"X-CSRF-Token": csrf[:-2] + "xx"}).status_code == 403
    assert env.client.post(path).status_code == 403
    assert env.client.post("/console/logout", data={"csrf_token": "forged"}).status_code == 403
    assert env.store.handoffs.conversation(got.conversation_id).status == "waiting_human"
    assert env.client.post(path, headers={"X-CSRF-Token": csrf}).status_code == 200
    other = env.browser()   # a login form posted from elsewhere has no matching token cookie
    r = other.post("/console/login", data={"username": "ana", "password": PASSWORD, "csrf_token": "guess"})
    assert r.status_code == 403 and "skinsage_console" not in other.cookies


def test_an_agent_cannot_see_the_admin_pages(make_env: Callable[..., Env]) -> None:
    env = make_env()
    env.agent("ana")
    env.agent("boss", role="admin")
    csrf = login(env.client, "ana")
    page = env.client.get("/console/admin")
    assert page.status_code == 403 and "Dashboard" not in page.text and "Audit log" not in page.text
    assert 'id="admin-link"' not in env.client.get("/console").text
    for path in ("/console/api/admin/agents", "/console/api/admin/dashboard", "/console/api/admin/audit"):
        assert env.client.get(path).status_code == 403, path
    r = post(env.client, "/admin/agents", csrf, {"username": "mallory", "password": PASSWORD, "role": "admin"})
    assert r.status_code == 403 and all(a.username != "mallory" for a in env.console.auth.agents())
    assert env.client.patch("/console/api/admin/agents/ana", json={"role": "admin"},
                            headers={"X-CSRF-Token": csrf}).status_code == 403
    admin = env.browser()
    admin_csrf = login(admin, "boss")
    assert admin.get("/console/admin").status_code == 200
    r = post(admin, "/admin/agents", admin_csrf, {"username": "cleo", "password": PASSWORD, "capacity": 2})
    assert r.status_code == 201 and r.json()["capacity"] == 2


# --- the desk: claim, transfer, capacity, reply, hand-back --------------------------------------------
def test_one_agent_cannot_reply_in_a_conversation_claimed_by_another_without_transferring(
        make_env: Callable[..., Env]) -> None:
    env = make_env(console_auto_assign=False)
    env.agent("ana")
    env.agent("bo")
    ana_csrf = login(env.client, "ana")
    bo = env.browser()
    bo_csrf = login(bo, "bo")
    got, done = env.customer("I want a human")
    cid = got.conversation_id
    assert done.status == "answered" and done.reply is not None and "about" in done.reply.text
    waiting = env.client.get("/console/api/queue").json()["waiting"]
    assert [w["conversation_id"] for w in waiting] == [cid]
    assert waiting[0]["reason"] == "customer asked for a person" and waiting[0]["channel"] == "telegram"
    assert waiting[0]["priority"] == "normal" and waiting[0]["sla_state"] == "ok"
    assert post(env.client, f"/conversations/{cid}/claim", ana_csrf).status_code == 200
    lost = post(bo, f"/conversations/{cid}/claim", bo_csrf)
    assert lost.status_code == 409 and "ana" in lost.json()["error"]["message"]
    assert post(bo, f"/conversations/{cid}/reply", bo_csrf, {"text": "Hi, Bo here"}).status_code == 409
    assert post(bo, f"/conversations/{cid}/resolve", bo_csrf).status_code == 409
    assert post(bo, f"/conversations/{cid}/transfer", bo_csrf, {"to": "bo"}).status_code == 409
    assert post(env.client, f"/conversations/{cid}/transfer", ana_csrf, {"to": "bo"}).status_code == 200
    assert post(env.client, f"/conversations/{cid}/reply", ana_csrf, {"text": "still me?"}).status_code == 409
    r = post(bo, f"/conversations/{cid}/reply", bo_csrf, {"text": "Hi, Bo here"})
    assert r.status_code == 200 and r.json()["channel"] == "telegram"
    texts = [m.text for m in env.store.handoffs.transcript(cid) if m.author.startswith("agent:")]
    assert texts == ["Hi, Bo here"]
    audit = [(a.actor, a.action, a.details) for a in env.store.compliance.audit_log(f"conversation:{cid}")]
    assert ("agent:ana", "handoff_transferred", {"from": "ana", "to": "bo"}) in audit


def test_capacity_caps_claims_and_round_robin_takes_turns(make_env: Callable[..., Env]) -> None:
    env = make_env()
    env.agent("ana", capacity=1)
    env.agent("bo", capacity=2)
    ana_csrf = login(env.client, "ana")
    bo = env.browser()
    bo_csrf = login(bo, "bo")
    convs = []
    for user in ("u1", "u2", "u3", "u4"):
        got, _ = env.customer("I want a human", user=user)
        convs.append(got.conversation_id)
        env.clock.advance(5)
    owners = [env.store.handoffs.conversation(c).assigned_agent for c in convs]
    assert owners == ["ana", "bo", "bo", None]                 # ana full after one; the fourth waits
    assert post(env.client, f"/conversations/{convs[3]}/claim", ana_csrf).status_code == 409   # at capacity
    post(bo, f"/conversations/{convs[1]}/reply", bo_csrf, {"text": "Sorted, have a nice day"})
    assert post(bo, f"/conversations/{convs[1]}/resolve", bo_csrf).status_code == 200
    assert env.store.handoffs.conversation(convs[3]).assigned_agent == "bo"   # the freed slot is filled
    audit = [a.action for a in env.store.compliance.audit_log(f"conversation:{convs[3]}")]
    assert "handoff_assigned" in audit


def test_reply_goes_out_on_the_customers_channel_bot_silent_until_hand_back_then_csat(
        make_env: Callable[..., Env]) -> None:
    env = make_env(console_auto_assign=False)
    env.agent("ana")
    csrf = login(env.client, "ana")
    sender = RecordingSender()
    got, _ = env.customer("I want a human", user="555")
    cid = got.conversation_id
    env.store.outbox.deliver_due(sender)
    post(env.client, f"/conversations/{cid}/claim", csrf)
    env.clock.advance(30)
    assert post(env.client, f"/conversations/{cid}/reply", csrf, {"text": "Hi, I'm Ana. How can I help?"}).status_code == 200
    env.store.outbox.deliver_due(sender)
    assert sender.sent[-1] == ("telegram", "555", {"text": "Hi, I'm Ana. How can I help?"})
    _, silent = env.customer("my serum stings", user="555")
    assert silent.status == "routed" and silent.reply is None
    assert env.store.outbox.deliver_due(sender).sent == 0
    assert post(env.client, f"/conversations/{cid}/resolve", csrf).json() == {"ok": True, "csat_asked": True}
    env.store.outbox.deliver_due(sender)
    assert "1 (poor) to 5 (great)" in sender.sent[-1][2]["text"] and sender.sent[-1][1] == "555"
    _, rated = env.customer("4", user="555")
    assert rated.reply is not None and rated.reply.text == env.console.rules.messages.csat_thanks
    _, answered = env.customer("what does niacinamide do?", user="555")
    assert answered.status == "answered" and answered.reply is not None
    assert answered.reply.text == "echo: what does niacinamide do?"
    again = env.customer("5", user="555")[1]
    assert again.reply is not None and again.reply.text == "echo: 5"   # one rating per handoff
    report = env.client.get("/console/api/queue").json()
    assert report["waiting"] == [] and report["mine"] == []


def test_transcript_shows_the_bots_trace_notes_stay_private_and_actions_use_the_bots_tools(
        make_env: Callable[..., Env]) -> None:
    env = make_env(console_auto_assign=False)
    env.agent("ana")
    csrf = login(env.client, "ana")
    sender = RecordingSender()
    env.customer("hello there", user="900")
    got, _ = env.customer("I want a human", user="900")
    cid = got.conversation_id
    post(env.client, f"/conversations/{cid}/claim", csrf)
    assert post(env.client, f"/conversations/{cid}/notes", csrf, {"text": "asked twice about SS-1001"}).status_code == 200
    detail = env.client.get(f"/console/api/conversations/{cid}").json()
    bot = [m for m in detail["transcript"] if m["author"] == "bot"]
    assert [m["text"].split("\n")[0] for m in bot] == ["echo: hello there", "echo: I want a human"]
    assert bot[0]["trace"]["tools"][0]["name"] == "echo" and bot[0]["trace"]["citations"][0]["label"] == "FAQ"
    assert bot[1]["trace"]["handoff_reason"] == "customer asked for a person"
    assert [m["trace"] for m in detail["transcript"] if m["author"] == "customer"] == [None, None]
    assert detail["notes"][0]["text"] == "asked twice about SS-1001" and detail["customer"]["verified"] is False
    env.store.outbox.deliver_due(sender)
    assert all("SS-1001" not in p.get("text", "") for _, _, p in sender.sent)   # notes never go out
    denied = post(env.client, f"/conversations/{cid}/actions/lookup_order", csrf, {"args": {"order_id": "SS-1001"}})
    assert denied.status_code == 200 and denied.json()["call"]["ok"] is False     # a guest needs email or phone
    found = post(env.client, f"/conversations/{cid}/actions/lookup_order", csrf,
                 {"args": {"order_id": "SS-1001", "email": "ana@example.eu"}}).json()
    assert found["call"]["ok"] and found["data"]["status"] == "delivered" and found["citations"][0]["ref"] == "SS-1001"
    recs = post(env.client, f"/conversations/{cid}/actions/recommend_products", csrf,
                {"args": {"concerns": ["acne"], "skin_type": "oily"}}).json()
    assert recs["call"]["ok"] and recs["products"]
    assert post(env.client, f"/conversations/{cid}/actions/stock_forecast", csrf, {"args": {}}).status_code == 422
    actions = {a.action for a in env.store.compliance.audit_log(f"conversation:{cid}")}
    assert {"handoff_claimed", "note_added", "conversation_viewed", "quick_action"} <= actions


def test_dashboard_numbers_come_from_the_records(make_env: Callable[..., Env]) -> None:
    env = make_env(console_auto_assign=False)
    env.agent("ana")
    env.agent("boss", role="admin")
    csrf = login(env.client, "ana")
    env.customer("hello", user="a1")
    env.customer("what is niacinamide", user="a2")
    first, _ = env.customer("I want a human", user="h1")
    env.clock.advance(10)
    second, _ = env.customer("talk to a human please", user="h2")
    for cid, wait_s, work_s, score in ((first.conversation_id, 50, 550, "4"), (second.conversation_id, 170, 230, "2")):
        post(env.client, f"/conversations/{cid}/claim", csrf)
        env.clock.advance(wait_s)
        post(env.client, f"/conversations/{cid}/reply", csrf, {"text": "Hello!"})
        env.clock.advance(work_s)
        post(env.client, f"/conversations/{cid}/resolve", csrf)
    env.customer("4", user="h1")
    env.customer("2", user="h2")
    admin = env.browser()
    login(admin, "boss")
    d = admin.get("/console/api/admin/dashboard?days=1").json()
    assert d["conversations"] == 4 and d["handed_off"] == 2
    assert d["containment_rate"] == 0.5 and d["handoff_rate"] == 0.5
    assert d["by_reason"] == [{"category": "asked_for_person", "handoffs": 2, "rate": 0.5}]
    # first: opened t0, replied t0+10+50; second: opened t0+10, replied after first's 600 s + 170 s
    assert d["first_response"]["count"] == 2 and d["first_response"]["median_s"] == pytest.approx((60 + 770) / 2)
    assert d["resolution"]["median_s"] == pytest.approx((610 + 1000) / 2)
    assert d["csat_count"] == 2 and d["csat_mean"] == 3.0 and d["csat_distribution"] == {
        "1": 0, "2": 1, "3": 0, "4": 1, "5": 0}
    page = admin.get("/console/admin?days=1")
    assert page.status_code == 200 and '<td id="kpi-containment">50.0%</td>' in page.text


def test_canned_responses_are_admin_managed_and_visible_to_agents(make_env: Callable[..., Env]) -> None:
    env = make_env()
    env.agent("ana")
    env.agent("boss", role="admin")
    admin = env.browser()
    admin_csrf = login(admin, "boss")
    r = post(admin, "/admin/canned", admin_csrf, {"title": "Greeting", "text": "Hi, this is the SkinSage team."})
    assert r.status_code == 201
    csrf = login(env.client, "ana")
    assert env.client.get("/console/api/canned").json()[0]["text"] == "Hi, this is the SkinSage team."
    assert post(env.client, "/admin/canned", csrf, {"title": "x", "text": "y"}).status_code == 403
    assert post(admin, "/admin/canned", admin_csrf, {"title": "", "text": "y"}).status_code == 422


def test_the_cli_creates_an_agent_who_can_log_in(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from typer.testing import CliRunner

    from skinsage.cli import app as cli

    monkeypatch.setenv("SKINSAGE_DATA_DIR", str(tmp_path))
    from skinsage.settings import get_settings

    get_settings.cache_clear()
    try:
        runner = CliRunner()
        ok = runner.invoke(cli, ["console", "create-agent", "dana", "--role", "admin", "--capacity", "4"],
                           env={"SKINSAGE_CONSOLE_NEW_PASSWORD": PASSWORD})
        assert ok.exit_code == 0, ok.output
        assert '"username": "dana"' in ok.output and '"role": "admin"' in ok.output and "scrypt" not in ok.output
        weak = runner.invoke(cli, ["console", "create-agent", "eve"], env={"SKINSAGE_CONSOLE_NEW_PASSWORD": "short"})
        assert weak.exit_code == 1 and "at least 12 characters" in weak.output
        dup = runner.invoke(cli, ["console", "create-agent", "dana"], env={"SKINSAGE_CONSOLE_NEW_PASSWORD": PASSWORD})
        assert dup.exit_code == 1 and "already exists" in dup.output
        from console.auth import AuthService, ConsoleConfig
        from opstore import open_store

        store = open_store(get_settings())
        try:
            token, info = AuthService(store, ConsoleConfig()).login("dana", PASSWORD)
            assert token and info.agent.role == "admin" and info.agent.capacity == 4
        finally:
            store.close()
    finally:
        get_settings.cache_clear()


def test_the_worker_engine_tells_the_customer_and_files_the_ticket_too(opstore_url: str, graph: EmbeddedGraphStore,
                                                                      tmp_path: Path) -> None:
    from sqlalchemy import select

    from console.repo import unit
    from console.wiring import wrap_worker_engine
    from opstore.models_console import HandoffTicket

    store = make_store(opstore_url, clock=Clock())
    try:
        engine = wrap_worker_engine(Settings(data_dir=tmp_path, load_demo_on_start=False), store, graph, EchoEngine())
        got = store.receive(InboundMessage(channel="sms", channel_user_id="+4915100000001", text="a human please"))
        done = store.process(got.message_id, engine)
        assert done.reply is not None and "as soon as someone is free" in done.reply.text   # open, nobody online
        with unit(store) as (_, s):
            tickets = s.scalars(select(HandoffTicket)).all()
            assert [(t.conversation_id, t.category, t.priority) for t in tickets] == [
                (got.conversation_id, "asked_for_person", "normal")]
    finally:
        store.close()


# --- segments in the customer panel, the quality report page ------------------------------------------
def _handoff_of(env: Env, customer_id: str, user: str) -> str:
    got = env.store.receive(InboundMessage(channel="web", channel_user_id=user, text="I want a human",
                                           verified_identity=f"customer:{customer_id}"))
    env.store.process(got.message_id, env.app.state.engine)
    return str(got.conversation_id)


def _handoff_of_guest(env: Env) -> str:
    got, _ = env.customer("I want a human", user="guest-1")
    return str(got.conversation_id)


def test_the_customer_panel_shows_the_workers_segment_or_says_it_is_not_computed_yet(
        make_env: Callable[..., Env], graph: EmbeddedGraphStore) -> None:
    from proactive.repo import ProactiveStore
    from proactive.segments import refresh_segments

    env = make_env(console_auto_assign=False)
    env.agent("ana")
    login(env.client, "ana")
    cid = _handoff_of(env, "cus-ana", "w-ana")
    before = env.client.get(f"/console/api/conversations/{cid}").json()["customer"]
    assert before["verified"] is True and before["segment"] == {"computed": False, "note": "not computed yet"}
    repo = ProactiveStore(env.store)
    assert refresh_segments(repo, graph, ["cus-ana", "cus-ben"], env.clock.now.date()) >= 1   # the worker's job
    stored = repo.segment_of("cus-ana")
    assert stored is not None
    seg = env.client.get(f"/console/api/conversations/{cid}").json()["customer"]["segment"]
    assert seg["computed"] is True
    assert (seg["segment"], seg["r"], seg["f"], seg["m"], seg["repurchase_risk"], seg["frequency"]) == (
        stored.segment, stored.r_score, stored.f_score, stored.m_score, stored.repurchase_risk, stored.frequency)
    assert seg["last_order_on"] == stored.last_order_on.isoformat()  # type: ignore[union-attr]
    guest = _handoff_of_guest(env)
    assert env.client.get(f"/console/api/conversations/{guest}").json()["customer"]["segment"] is None


def test_the_report_page_shows_what_skinsage_report_prints_to_agents_and_admins(
        make_env: Callable[..., Env], graph: EmbeddedGraphStore) -> None:
    from proactive import quality
    from proactive.repo import Outgoing, ProactiveStore

    env = make_env(console_auto_assign=False)
    env.agent("ana")
    env.agent("root", role="admin")
    repo = ProactiveStore(env.store)
    cid = _handoff_of(env, "cus-ana", "w-r1")                 # one handed off (resolved by a person) ...
    env.store.handoffs.claim(cid, "ana")
    env.store.handoffs.resolve(cid, "ana")
    env.customer("hello", user="r2")                          # ... one the bot handled alone
    env.clock.advance(25 * 3600)
    assert quality.close_out(repo, 24) == 2
    repo.record_send(Outgoing(trigger="checkout_abandoned", subject="customer:cus-ben", dedupe_key="k1",
                              holdout=True, channel=None, recipient=None, payload={}, customer_id="cus-ben"))
    expected = quality.build_report(repo, graph, env.clock.now - timedelta(days=30),
                                    env.app.state.settings.proactive_conversion_days)

    assert env.client.get("/console/api/report").status_code == 401
    assert env.client.get("/console/report", follow_redirects=False).headers["location"] == "/console/login"
    login(env.client, "ana")
    got = env.client.get("/console/api/report").json()
    assert got == quality.as_json(expected)                   # the same numbers as `skinsage report --json`
    assert (got["conversations"], got["contained"], got["handed_off"], got["containment_rate"]) == (2, 1, 1, 0.5)
    assert [(t["trigger"], t["treated"], t["holdout"]) for t in got["triggers"]] == [("checkout_abandoned", 0, 1)]
    page = env.client.get("/console/report")
    assert page.status_code == 200 and page.headers["content-security-policy"].startswith("default-src 'self'")
    assert '<td id="rep-containment">50.0% (1)</td>' in page.text and "checkout_abandoned" in page.text
    assert "containment (bot only)        50.0%  (1)" in page.text            # the CLI's text, verbatim
    assert env.client.get("/console/api/report?days=0").status_code == 422
    admin = env.browser()
    login(admin, "root")
    assert admin.get("/console/api/report?days=7").json()["conversations"] == 2
