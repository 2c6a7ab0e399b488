"""The support agent console (issue 7): server-rendered pages under /console, a JSON API under
/console/api, and a Server-Sent Event stream that keeps open pages live.

Routes stay thin: check the session (and CSRF, and the role), call the console's services, return.
Clashes with another agent's work (claimed by someone else, capacity full) are 409.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Form, HTTPException, Query, Request, Response
from fastapi.responses import HTMLResponse, RedirectResponse, StreamingResponse
from fastapi.templating import Jinja2Templates
from pydantic import BaseModel, Field

from console.auth import LoginFailed
from console.dashboard import dashboard
from console.desk import DeskConflict
from console.http import (
    LOGIN_CSRF_COOKIE,
    AdminSession,
    AgentSession,
    ConsoleDep,
    clear_session_cookie,
    csrf_ok,
    session_of,
    set_session_cookie,
)

router = APIRouter(tags=["console"])
TEMPLATES = Jinja2Templates(directory=str(Path(__file__).resolve().parents[2] / "console" / "templates"))
STATIC = Path(__file__).resolve().parents[2] / "console" / "static"


@contextmanager
def _desk_errors() -> Iterator[None]:
    try:
        yield
    except DeskConflict as e:
        raise HTTPException(409, str(e)) from e


def _send_now(request: Request, outbox_id: str | None) -> None:
    """Where this process runs the channels, send at once instead of at the next sweep or worker pass."""
    gateway = getattr(request.app.state, "channels", None)
    if gateway is not None and outbox_id:
        gateway.dispatcher.deliver(outbox_id)


def _audit(console: Any, actor: str, action: str, subject: str | None, details: dict[str, Any] | None = None) -> None:
    console.store.compliance.audit(f"agent:{actor}", action, subject, details or {})


# --- pages -------------------------------------------------------------------------------------------
def _page(request: Request, name: str, status: int = 200, **ctx: Any) -> HTMLResponse:
    resp = TEMPLATES.TemplateResponse(request, name, ctx, status_code=status)
    resp.headers["Cache-Control"] = "no-store"
    resp.headers["X-Frame-Options"] = "DENY"
    resp.headers["Content-Security-Policy"] = ("default-src 'self'; img-src 'self' data:; style-src 'self'; "
                                               "script-src 'self'; frame-ancestors 'none'; form-action 'self'")
    return resp


@router.get("/console/static/{name}", include_in_schema=False)
def static(name: str) -> Response:
    path = STATIC / name
    if "/" in name or not path.is_file():
        raise HTTPException(404, "no such file")
    kind = {"js": "text/javascript", "css": "text/css"}.get(path.suffix.lstrip("."), "application/octet-stream")
    return Response(path.read_bytes(), media_type=kind, headers={"Cache-Control": "no-cache"})


@router.get("/console/login", response_class=HTMLResponse, include_in_schema=False)
def login_form(request: Request) -> HTMLResponse:
    return login_page(request)


def login_page(request: Request, error: str | None = None, status: int = 200) -> HTMLResponse:
    token = secrets.token_urlsafe(24)
    resp = _page(request, "login.html", status, login_csrf=token, error=error)
    resp.set_cookie(LOGIN_CSRF_COOKIE, token, path="/console", httponly=True, samesite="strict",
                    secure=request.app.state.settings.console_cookie_secure, max_age=3600)
    return resp


@router.post("/console/login", include_in_schema=False)
def login(request: Request, console: ConsoleDep, username: Annotated[str, Form(max_length=64)],
          password: Annotated[str, Form(max_length=1024)], csrf_token: Annotated[str, Form()] = "") -> Response:
    if not csrf_ok(request.cookies.get(LOGIN_CSRF_COOKIE, ""), csrf_token):
        return login_page(request, "The form expired. Please try again.", 403)
    try:
        token, _ = console.auth.login(username, password)
    except LoginFailed as e:
        return login_page(request, str(e).capitalize() + ".", 401)
    console.desk.auto_assign()   # an agent came online: waiting conversations may go to them now
    resp = RedirectResponse("/console", status_code=303)
    set_session_cookie(resp, request, token)
    resp.delete_cookie(LOGIN_CSRF_COOKIE, path="/console")
    return resp


@router.post("/console/logout", include_in_schema=False)
def logout(request: Request, console: ConsoleDep, info: AgentSession) -> Response:
    console.auth.logout(info)
    resp = RedirectResponse("/console/login", status_code=303)
    clear_session_cookie(resp, request)
    return resp


@router.get("/console", response_class=HTMLResponse, include_in_schema=False)
def home(request: Request, console: ConsoleDep) -> Response:
    info = session_of(request, console)
    if info is None:
        return RedirectResponse("/console/login", status_code=303)
    return _page(request, "desk.html", agent=info.agent, csrf=info.csrf_token, conversation_id="")


@router.get("/console/c/{conversation_id}", response_class=HTMLResponse, include_in_schema=False)
def conversation_page(conversation_id: str, request: Request, console: ConsoleDep) -> Response:
    info = session_of(request, console)
    if info is None:
        return RedirectResponse("/console/login", status_code=303)
    return _page(request, "desk.html", agent=info.agent, csrf=info.csrf_token, conversation_id=conversation_id)


@router.get("/console/admin", response_class=HTMLResponse, include_in_schema=False)
def admin_page(request: Request, console: ConsoleDep, days: Annotated[int, Query(ge=1, le=365)] = 7) -> Response:
    info = session_of(request, console)
    if info is None:
        return RedirectResponse("/console/login", status_code=303)
    if not info.agent.is_admin:
        return _page(request, "forbidden.html", 403, agent=info.agent, csrf=info.csrf_token)
    end = console.store.ctx.now()
    report = dashboard(console.store, console.rules, end - timedelta(days=days), end)
    return _page(request, "admin.html", agent=info.agent, csrf=info.csrf_token, agents=console.auth.agents(),
                 canned=console.desk.canned(), report=report, days=days,
                 audit=console.store.compliance.audit_log(None, limit=50))


def _quality_report(request: Request, console: Any, days: int) -> Any:
    """`skinsage report` over this process's store and graph (the same `build_report`, same window rule)."""
    from proactive.quality import build_report
    from proactive.repo import ProactiveStore

    repo = ProactiveStore(console.store)
    return build_report(repo, console.customers.graph, repo.ctx.now() - timedelta(days=days),
                        request.app.state.settings.proactive_conversion_days)


@router.get("/console/report", response_class=HTMLResponse, include_in_schema=False)
def report_page(request: Request, console: ConsoleDep, days: Annotated[int, Query(ge=1, le=365)] = 30) -> Response:
    from proactive.quality import render

    info = session_of(request, console)
    if info is None:
        return RedirectResponse("/console/login", status_code=303)
    report = _quality_report(request, console, days)
    return _page(request, "report.html", agent=info.agent, csrf=info.csrf_token, report=report, days=days,
                 text=render(report))


# --- JSON API ------------------------------------------------------------------------------------------
class TextIn(BaseModel):
    text: str = Field(min_length=1, max_length=4000)


class TransferIn(BaseModel):
    to: str = Field(min_length=1, max_length=64)


class ActionIn(BaseModel):
    args: dict[str, Any] = {}


class StatusIn(BaseModel):
    online: bool


class CannedIn(BaseModel):
    title: str = Field(min_length=1, max_length=120)
    text: str = Field(min_length=1, max_length=4000)


class AgentIn(BaseModel):
    username: str = Field(min_length=2, max_length=64)
    password: str = Field(min_length=1, max_length=1024)
    role: Literal["agent", "admin"] = "agent"
    display_name: str | None = Field(default=None, max_length=120)
    capacity: int | None = Field(default=None, ge=0, le=50)


class AgentPatch(BaseModel):
    capacity: int | None = Field(default=None, ge=0, le=50)
    role: Literal["agent", "admin"] | None = None
    active: bool | None = None
    password: str | None = Field(default=None, max_length=1024)


@router.get("/console/api/me")
def me(info: AgentSession) -> dict[str, Any]:
    return {"agent": info.agent.model_dump(), "csrf_token": info.csrf_token}


@router.post("/console/api/me/status")
def set_status(body: StatusIn, console: ConsoleDep, info: AgentSession) -> dict[str, Any]:
    agent = console.auth.update_agent(info.agent.username, actor=f"agent:{info.agent.username}", online=body.online)
    if body.online:
        console.desk.auto_assign()
    return {"agent": agent.model_dump()}


@router.get("/console/api/queue")
def queue(console: ConsoleDep, info: AgentSession) -> dict[str, Any]:
    waiting = console.desk.queue()
    mine = console.desk.queue(statuses=("human",), agent=info.agent.username)
    held = console.desk.queue(statuses=("human",)) if info.agent.is_admin else []
    return {"waiting": [i.model_dump(mode="json") for i in waiting], "mine": [i.model_dump(mode="json") for i in mine],
            "held": [i.model_dump(mode="json") for i in held]}


@router.get("/console/api/agents")
def agent_names(console: ConsoleDep, info: AgentSession) -> list[dict[str, Any]]:
    return [{"username": a.username, "display_name": a.display_name, "online": a.online}
            for a in console.auth.agents() if a.active]


@router.get("/console/api/conversations/{conversation_id}")
def conversation(conversation_id: str, console: ConsoleDep, info: AgentSession) -> dict[str, Any]:
    detail = console.desk.detail(conversation_id)
    c = detail["conversation"]
    detail["customer"] = console.customers.panel(c["customer_id"], detail["state"])
    if console.desk.first_view(info.agent.username, conversation_id):
        _audit(console, info.agent.username, "conversation_viewed", f"conversation:{conversation_id}")
    return detail


@router.post("/console/api/conversations/{conversation_id}/claim")
def claim(conversation_id: str, console: ConsoleDep, info: AgentSession) -> dict[str, Any]:
    with _desk_errors():
        console.desk.claim(conversation_id, info.agent)
    return {"ok": True, "assigned_agent": info.agent.username}


@router.post("/console/api/conversations/{conversation_id}/transfer")
def transfer(conversation_id: str, body: TransferIn, console: ConsoleDep, info: AgentSession) -> dict[str, Any]:
    with _desk_errors():
        console.desk.transfer(conversation_id, info.agent, body.to.strip().lower())
    return {"ok": True, "assigned_agent": body.to.strip().lower()}


@router.post("/console/api/conversations/{conversation_id}/reply")
def reply(conversation_id: str, body: TextIn, request: Request, console: ConsoleDep,
          info: AgentSession) -> dict[str, Any]:
    with _desk_errors():
        item = console.desk.reply(conversation_id, info.agent, body.text)
    _send_now(request, item.id)
    return {"ok": True, "message_id": item.message_id, "outbox_id": item.id, "channel": item.channel}


@router.post("/console/api/conversations/{conversation_id}/resolve")
def resolve(conversation_id: str, request: Request, console: ConsoleDep, info: AgentSession) -> dict[str, Any]:
    with _desk_errors():
        csat_outbox = console.desk.resolve(conversation_id, info.agent)
    _send_now(request, csat_outbox)
    return {"ok": True, "csat_asked": csat_outbox is not None}


@router.post("/console/api/conversations/{conversation_id}/notes")
def add_note(conversation_id: str, body: TextIn, console: ConsoleDep, info: AgentSession) -> dict[str, Any]:
    return {"ok": True, "id": console.desk.add_note(conversation_id, info.agent, body.text)}


@router.post("/console/api/conversations/{conversation_id}/actions/{action}")
def quick_action(conversation_id: str, action: str, body: ActionIn, console: ConsoleDep,
                 info: AgentSession) -> dict[str, Any]:
    detail = console.desk.detail(conversation_id)
    out = console.customers.run(action, body.args, detail["conversation"]["customer_id"], detail["state"])
    _audit(console, info.agent.username, "quick_action", f"conversation:{conversation_id}",
           {"tool": action, "args": out["call"]["args"], "ok": out["call"]["ok"]})
    return out


@router.get("/console/api/photos/{analysis_id}")
def photo(analysis_id: str, console: ConsoleDep, info: AgentSession) -> Response:
    data = console.customers.photo(analysis_id)
    if data is None:
        raise HTTPException(404, "no stored photo (none was kept, or consent was not given)")
    _audit(console, info.agent.username, "photo_viewed", f"analysis:{analysis_id}")
    return Response(data, media_type="image/jpeg", headers={"Cache-Control": "no-store"})


@router.get("/console/api/report")
def report_json(request: Request, console: ConsoleDep, info: AgentSession,
                days: Annotated[int, Query(ge=1, le=365)] = 30) -> dict[str, Any]:
    """What `skinsage report --json` prints: containment, CSAT, conversion, trigger lift against holdout."""
    from proactive.quality import as_json

    return as_json(_quality_report(request, console, days))


@router.get("/console/api/canned")
def canned(console: ConsoleDep, info: AgentSession) -> list[dict[str, Any]]:
    return [{"id": c.id, "title": c.title, "text": c.text} for c in console.desk.canned()]


@router.get("/console/api/events")
async def events(console: ConsoleDep, info: AgentSession) -> StreamingResponse:
    return StreamingResponse(console.hub.stream(), media_type="text/event-stream",
                             headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"})


# --- admin ---------------------------------------------------------------------------------------------
@router.get("/console/api/admin/agents")
def list_agents(console: ConsoleDep, info: AdminSession) -> list[dict[str, Any]]:
    return [a.model_dump() for a in console.auth.agents()]


@router.post("/console/api/admin/agents", status_code=201)
def create_agent(body: AgentIn, console: ConsoleDep, info: AdminSession) -> dict[str, Any]:
    agent = console.auth.create_agent(body.username, body.password, body.role, display_name=body.display_name,
                                      capacity=body.capacity, actor=f"agent:{info.agent.username}")
    return agent.model_dump()


@router.patch("/console/api/admin/agents/{username}")
def update_agent(username: str, body: AgentPatch, console: ConsoleDep, info: AdminSession) -> dict[str, Any]:
    agent = console.auth.update_agent(username, actor=f"agent:{info.agent.username}", capacity=body.capacity,
                                      role=body.role, active=body.active, password=body.password)
    return agent.model_dump()


@router.post("/console/api/admin/canned", status_code=201)
def save_canned(body: CannedIn, console: ConsoleDep, info: AdminSession) -> dict[str, Any]:
    with _desk_errors():
        row = console.desk.save_canned(body.title, body.text, info.agent)
    return {"id": row.id, "title": row.title, "text": row.text}


@router.delete("/console/api/admin/canned/{canned_id}")
def delete_canned(canned_id: str, console: ConsoleDep, info: AdminSession) -> dict[str, Any]:
    console.desk.delete_canned(canned_id, info.agent)
    return {"ok": True}


@router.get("/console/api/admin/dashboard")
def dashboard_json(console: ConsoleDep, info: AdminSession,
                   days: Annotated[int, Query(ge=1, le=365)] = 7) -> dict[str, Any]:
    end = console.store.ctx.now()
    return dashboard(console.store, console.rules, end - timedelta(days=days), end).model_dump(mode="json")


@router.get("/console/api/admin/audit")
def audit(console: ConsoleDep, info: AdminSession, subject: Annotated[str | None, Query(max_length=200)] = None,
          limit: Annotated[int, Query(ge=1, le=1000)] = 100) -> list[dict[str, Any]]:
    return [a.model_dump(mode="json") for a in console.store.compliance.audit_log(subject, limit=limit)]
