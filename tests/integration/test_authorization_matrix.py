"""Every route, every role: who gets in and who is turned away.

Routes are enumerated from the app itself, so a new route fails this test until someone decides, in
`ACCESS` below, who may call it. "Turned away" means 401/403 (or, for console pages, a redirect to the
login page); "let in" means anything else (a 404 for an unknown id or a 422 for a bad body is fine: the
caller got past the door).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from graph.model import KnowledgeBundle
from tests.support.hardening import API_KEY, CHANNELS_CONFIGURED, running_app

ROLES = ("anonymous", "guest", "api_key", "agent", "admin")
#: Who may call each route. `public`: everyone; `guest`: a widget session; `agent`: a console agent (and
#: admins); `admin`: console admins only; `api_key`: the shop backend's key (staff reports);
#: `signed`: nobody without the provider's signature.
ACCESS: dict[str, str] = {
    "GET /openapi.json": "public", "GET /docs": "public", "GET /docs/oauth2-redirect": "public",
    "GET /redoc": "public", "GET /health": "public", "GET /ready": "public", "GET /metrics": "public",
    "GET /v1/resolve": "public", "GET /v1/ingredients/{name}": "public", "GET /v1/concerns/{name}": "public",
    "GET /v1/products/{sku}": "public", "GET /v1/products": "public", "POST /v1/routine/conflicts": "public",
    "POST /v1/vision/analyze": "public", "POST /v1/chat": "public", "POST /v1/chat/stream": "public",
    "POST /v1/twilio/inbound": "signed", "POST /v1/twilio/status": "signed", "POST /v1/telegram/webhook": "signed",
    "POST /v1/shopify/webhooks": "signed",
    "GET /widget.js": "public", "GET /demo/store": "public", "POST /widget/session": "public",
    "GET /widget/history": "guest", "POST /widget/messages": "guest", "POST /widget/photos": "guest",
    "POST /widget/handoff": "guest", "GET /widget/events.js": "public",
    "POST /v1/events": "public", "GET /v1/events/nudges": "public", "POST /v1/events/nudges/opt-out": "public",
    "GET /console/static/{name}": "public", "GET /console/login": "public", "POST /console/login": "public",
    "POST /console/logout": "agent", "GET /console": "agent", "GET /console/c/{conversation_id}": "agent",
    "GET /console/admin": "admin", "GET /console/api/me": "agent", "POST /console/api/me/status": "agent",
    "GET /console/api/queue": "agent", "GET /console/api/agents": "agent",
    "GET /console/api/conversations/{conversation_id}": "agent",
    "POST /console/api/conversations/{conversation_id}/claim": "agent",
    "POST /console/api/conversations/{conversation_id}/transfer": "agent",
    "POST /console/api/conversations/{conversation_id}/reply": "agent",
    "POST /console/api/conversations/{conversation_id}/resolve": "agent",
    "POST /console/api/conversations/{conversation_id}/notes": "agent",
    "POST /console/api/conversations/{conversation_id}/actions/{action}": "agent",
    "GET /console/api/photos/{analysis_id}": "agent", "GET /console/api/canned": "agent",
    "GET /console/api/events": "agent", "GET /console/report": "agent", "GET /console/api/report": "agent",
    "GET /console/api/admin/agents": "admin", "POST /console/api/admin/agents": "admin",
    "PATCH /console/api/admin/agents/{username}": "admin", "POST /console/api/admin/canned": "admin",
    "DELETE /console/api/admin/canned/{canned_id}": "admin", "GET /console/api/admin/dashboard": "admin",
    "GET /console/api/admin/audit": "admin",
    # customer data requests (export / erasure): staff only, never a customer's own token
    "GET /v1/admin/customers/{customer_id}/export": "api_key",
    "POST /v1/admin/customers/{customer_id}/erase": "api_key",
    "GET /console/api/admin/customers/{customer_id}/export": "admin",
    "POST /console/api/admin/customers/{customer_id}/erase": "admin",
    "GET /v1/forecast/report": "api_key",
}
ALLOWED = {"public": set(ROLES), "guest": {"guest"}, "agent": {"agent", "admin"}, "admin": {"admin"},
           "api_key": {"api_key"}, "signed": set()}
#: Long-lived streams: only the status line is read.
STREAMS = {"GET /console/api/events"}


def app_routes(app: FastAPI) -> list[tuple[str, str]]:
    """(method, path) of every HTTP route, through included routers (FastAPI's lazy `_IncludedRouter`)."""
    out: list[tuple[str, str]] = []

    def walk(routes: Any) -> None:
        for r in routes:
            if hasattr(r, "effective_candidates"):
                walk(r.effective_candidates())
                continue
            route = getattr(r, "route", r)
            path = getattr(route, "path", None)
            for method in getattr(route, "methods", None) or ():
                if method != "HEAD" and path is not None:
                    out.append((method, path))

    walk(app.routes)
    return sorted(set(out))


@pytest.fixture(scope="module")
def setup(tmp_path_factory: pytest.TempPathFactory, fixture_bundle: KnowledgeBundle,
          minilm: Any) -> Iterator[tuple[TestClient, FastAPI, dict[str, dict[str, str]]]]:
    with running_app(tmp_path_factory.mktemp("authz"), fixture_bundle, minilm, **CHANNELS_CONFIGURED) as (c, app):
        console = app.state.console
        console.auth.create_agent("alice", "agent-password-1", "agent")
        console.auth.create_agent("root", "admin-password-1", "admin")
        creds: dict[str, dict[str, str]] = {"anonymous": {}, "api_key": {"Authorization": f"Bearer {API_KEY}"},
                                            "agent": _login(app, "agent"), "admin": _login(app, "admin")}
        session = c.post("/widget/session", json={})
        assert session.status_code == 200, session.text
        creds["guest"] = {"Authorization": f"Bearer {session.json()['session_token']}"}
        yield c, app, creds


def _login(app: FastAPI, role: str) -> dict[str, str]:
    user, password = {"agent": ("alice", "agent-password-1"), "admin": ("root", "admin-password-1")}[role]
    token, info = app.state.console.auth.login(user, password)
    return {"Cookie": f"skinsage_console={token}", "X-CSRF-Token": info.csrf_token}


def _call(client: TestClient, method: str, path: str, headers: dict[str, str], label: str) -> int:
    url = path.replace("{action}", "close").replace("{name}", "niacinamide")
    for param in ("{conversation_id}", "{analysis_id}", "{username}", "{canned_id}", "{sku}"):
        url = url.replace(param, "nonexistent0001")
    client.cookies.clear()   # only the credentials of the role under test
    kwargs: dict[str, Any] = {"headers": headers}
    if method in ("POST", "PATCH", "PUT"):
        kwargs["json"] = {}
    if label in STREAMS:
        with client.stream(method, url, **kwargs) as r:
            return r.status_code
    r = client.request(method, url, follow_redirects=False, **kwargs)
    if method == "GET" and r.status_code in (302, 303, 307) and "/console/login" in r.headers.get("location", ""):
        return 401   # a console page sends strangers to the login form
    return r.status_code


def test_every_route_has_a_declared_audience(setup: tuple[TestClient, FastAPI, Any]) -> None:
    _, app, _ = setup
    labels = {f"{m} {p}" for m, p in app_routes(app)}
    undeclared = sorted(labels - ACCESS.keys())
    assert not undeclared, f"declare who may call these routes in ACCESS: {undeclared}"
    assert not sorted(ACCESS.keys() - labels), "ACCESS lists routes the app no longer has"


def test_each_role_gets_exactly_the_routes_it_is_allowed(setup: tuple[TestClient, FastAPI, Any]) -> None:
    client, app, creds = setup
    wrong: list[str] = []
    for method, path in app_routes(app):
        label = f"{method} {path}"
        audience = ACCESS.get(label)
        if audience is None:
            continue   # reported by the test above
        for role in ROLES:
            fresh = label == "POST /console/logout" and role in ("agent", "admin")   # it ends the session
            status = _call(client, method, path, _login(app, role) if fresh else creds[role], label)
            let_in = status not in (401, 403)
            if status >= 500:
                wrong.append(f"{label} as {role}: {status}")
            elif let_in != (role in ALLOWED[audience]):
                wrong.append(f"{label} as {role}: {status} ({'let in' if let_in else 'turned away'}, "
                             f"audience {audience})")
    assert not wrong, "\n".join(wrong)


@pytest.mark.parametrize("role", ["anonymous", "guest", "agent", "admin"])
def test_only_the_shop_key_may_speak_for_a_customer(setup: tuple[TestClient, FastAPI, Any], role: str) -> None:
    client, _, creds = setup
    r = client.post("/v1/chat", json={"customer_id": "cus-ana", "text": "where is my order?"}, headers=creds[role])
    assert r.status_code == 403
    ok = client.post("/v1/chat", json={"customer_id": "cus-ana", "text": "where is my order?"},
                     headers=creds["api_key"])
    assert ok.status_code == 200 and "SS-100" in ok.json()["reply"]


def test_an_agent_csrf_token_is_needed_for_writes(setup: tuple[TestClient, FastAPI, Any]) -> None:
    client, app, _ = setup
    cookie_only = {"Cookie": _login(app, "agent")["Cookie"]}
    assert client.post("/console/api/me/status", json={"status": "away"}, headers=cookie_only).status_code == 403
    assert client.get("/console/api/me", headers=cookie_only).status_code == 200
