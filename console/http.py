"""The console's web glue: the session cookie, CSRF checks and role checks as FastAPI dependencies.

Sessions are server-side rows; the cookie is `HttpOnly`, `SameSite=Strict`, `Secure` (configurable for
plain-HTTP development), scoped to `/console`. Every state-changing request must carry the session's
CSRF token (header `X-CSRF-Token` from scripts, field `csrf_token` from forms): SameSite already stops
cross-site posts in modern browsers, the token stops them everywhere else.
"""

from __future__ import annotations

import secrets
from typing import Annotated

from fastapi import Depends, HTTPException, Request, Response

from console.auth import SessionInfo
from console.wiring import Console

COOKIE = "skinsage_console"
LOGIN_CSRF_COOKIE = "skinsage_console_login"
CSRF_HEADER = "X-CSRF-Token"
SAFE_METHODS = {"GET", "HEAD", "OPTIONS"}


def get_console(request: Request) -> Console:
    console = getattr(request.app.state, "console", None)
    if console is None:
        raise HTTPException(503, "the console is not running in this process")
    return console  # type: ignore[no-any-return]


def session_of(request: Request, console: Console) -> SessionInfo | None:
    return console.auth.session(request.cookies.get(COOKIE))


def set_session_cookie(response: Response, request: Request, token: str) -> None:
    s = request.app.state.settings
    response.set_cookie(COOKIE, token, max_age=int(s.console_session_hours * 3600), path="/console",
                        secure=s.console_cookie_secure, httponly=True, samesite="strict")


def clear_session_cookie(response: Response, request: Request) -> None:
    s = request.app.state.settings
    response.delete_cookie(COOKIE, path="/console", secure=s.console_cookie_secure, httponly=True, samesite="strict")


def csrf_ok(expected: str, given: str | None) -> bool:
    return bool(given) and secrets.compare_digest(expected.encode(), (given or "").encode())


async def current_session(request: Request, console: Annotated[Console, Depends(get_console)]) -> SessionInfo:
    """The logged-in agent, or 401. State-changing requests also need the session's CSRF token (403)."""
    info = session_of(request, console)
    if info is None:
        raise HTTPException(401, "log in to the console first")
    if request.method not in SAFE_METHODS:
        given = request.headers.get(CSRF_HEADER)
        if given is None and request.headers.get("content-type", "").startswith(
                ("application/x-www-form-urlencoded", "multipart/form-data")):
            given = str((await request.form()).get("csrf_token") or "")
        if not csrf_ok(info.csrf_token, given):
            raise HTTPException(403, "the CSRF token is missing or wrong; reload the page")
    return info


async def admin_session(info: Annotated[SessionInfo, Depends(current_session)]) -> SessionInfo:
    if not info.agent.is_admin:
        raise HTTPException(403, "this needs the admin role")
    return info


ConsoleDep = Annotated[Console, Depends(get_console)]
AgentSession = Annotated[SessionInfo, Depends(current_session)]
AdminSession = Annotated[SessionInfo, Depends(admin_session)]
