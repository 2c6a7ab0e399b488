"""Every request: a request id, a body size limit, one access-log line and one latency observation.

Pure ASGI rather than BaseHTTPMiddleware, so streamed responses (SSE) pass through untouched and
the body limit is enforced while the body streams in, not after it has been buffered.

Also maps the storage failures no route can fix to honest statuses: a full disk is 507 (the message
was not saved; say so), a database that is restarting is 503 with Retry-After (the client retries,
and nothing was acknowledged, so nothing is lost).
"""

from __future__ import annotations

import errno
import logging
import math
import re
import time
import uuid
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.deps import bearer_matches
from api.errors import error_body
from api.ratelimit import token_buckets
from skinsage import metrics
from skinsage.errors import AnalysisStoreError
from skinsage.logging import request_id_var
from skinsage.settings import Settings

log = logging.getLogger("skinsage.api.access")
_SAFE_ID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")
_DISK_FULL = ("database or disk is full", "no space left on device", "disk full", "diskfull")
#: Open to anyone and expensive (the engine, an LLM, photo decoding): limited per caller here, before
#: the body is read. Routes with their own limits (the widget, storefront events) are not listed.
LIMITED_PATHS = frozenset({"/v1/chat", "/v1/chat/stream", "/v1/vision/analyze"})


class RequestTooLarge(StarletteHTTPException):
    def __init__(self, limit: int) -> None:
        super().__init__(413, f"the request body is over the {limit} byte limit")
        self.limit = limit


def _limit_for(scope: Scope, settings: Settings) -> int:
    ctype = dict(scope.get("headers") or []).get(b"content-type", b"").decode("latin-1").lower()
    if ctype.startswith("multipart/"):
        return int(settings.max_upload_mb * 1024 * 1024)
    return settings.max_request_kb * 1024


def _route_template(scope: Scope) -> str:
    route = scope.get("route")
    path = getattr(route, "path", None)
    return path if isinstance(path, str) else "unmatched"


class CallerLimits:
    """Guests by client IP; the holder of the API key (the shop's backend, many customers behind one
    address) as one caller with its own, larger budget."""

    def __init__(self, settings: Settings) -> None:
        self.key = settings.api_key
        self.guests = token_buckets("public-ip", settings.rate_public_ip_per_min, settings.rate_public_ip_burst,
                                    settings)
        self.backend = token_buckets("api-key", settings.rate_api_key_per_min, settings.rate_api_key_burst, settings)

    def wait(self, scope: Scope, headers: dict[bytes, bytes]) -> tuple[str, float]:
        if bearer_matches(headers.get(b"authorization"), self.key):
            return "api_key", self.backend.acquire("api_key")
        client = scope.get("client")
        return "client_ip", self.guests.acquire(client[0] if client else "unknown")


class ObservabilityMiddleware:
    def __init__(self, app: ASGIApp, settings: Settings) -> None:
        self.app = app
        self.settings = settings
        self.limits = CallerLimits(settings)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = dict(scope.get("headers") or [])
        given = headers.get(b"x-request-id", b"").decode("latin-1")
        rid = given if _SAFE_ID.match(given) else uuid.uuid4().hex
        token = request_id_var.set(rid)
        started = time.perf_counter()
        limit = _limit_for(scope, self.settings)
        status = {"code": 500, "started": False, "bytes": 0}

        async def send_wrapped(message: Message) -> None:
            if message["type"] == "http.response.start":
                status["code"], status["started"] = message["status"], True
                message.setdefault("headers", [])
                message["headers"] = [*message["headers"], (b"x-request-id", rid.encode())]
            elif message["type"] == "http.response.body":
                status["bytes"] += len(message.get("body", b""))
            await send(message)

        seen = 0

        async def receive_limited() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > limit:
                    raise RequestTooLarge(limit)
            return message

        try:
            scope_name, wait = self.limits.wait(scope, headers) if scope.get("path") in LIMITED_PATHS else ("", 0.0)
            declared = headers.get(b"content-length")
            if wait > 0:
                metrics.HTTP_REJECTED.labels("rate_limited").inc()
                await _rate_limited(scope_name, wait, send_wrapped)
            elif declared is not None and declared.isdigit() and int(declared) > limit:
                metrics.HTTP_REJECTED.labels("body_too_large").inc()
                await _too_large(limit, send_wrapped)
            else:
                try:
                    await self.app(scope, receive_limited, send_wrapped)
                except RequestTooLarge as e:   # raised mid-stream, outside a route's error handling
                    metrics.HTTP_REJECTED.labels("body_too_large").inc()
                    if status["started"]:
                        raise
                    await _too_large(e.limit, send_wrapped)
        finally:
            elapsed = time.perf_counter() - started
            route = _route_template(scope)
            metrics.HTTP_LATENCY.labels(scope.get("method", ""), route, str(status["code"])).observe(elapsed)
            log.info("%s %s %s", scope.get("method"), route, status["code"],
                     extra={"method": scope.get("method"), "route": route, "status": status["code"],
                            "ms": round(elapsed * 1000, 1), "bytes_out": status["bytes"]})
            request_id_var.reset(token)


async def _too_large(limit: int, send: Send) -> None:
    response = JSONResponse(error_body("payload_too_large", f"the request body is over the {limit} byte limit"),
                            status_code=413)
    await response({"type": "http"}, _no_body, send)


async def _rate_limited(scope_name: str, wait: float, send: Send) -> None:
    seconds = max(1, math.ceil(wait))
    response = JSONResponse(error_body("rate_limited", f"too many requests ({scope_name}); try again in {seconds} s",
                                       {"scope": scope_name, "retry_after_s": seconds}),
                            status_code=429, headers={"Retry-After": str(seconds)})
    await response({"type": "http"}, _no_body, send)


async def _no_body() -> Message:
    return {"type": "http.disconnect"}


def is_disk_full(e: BaseException | None) -> bool:
    """Anywhere in the cause chain: ENOSPC/EDQUOT, SQLite's 'database or disk is full', PostgreSQL's 53100."""
    seen: set[int] = set()
    while e is not None and id(e) not in seen:
        seen.add(id(e))
        if isinstance(e, OSError) and e.errno in (errno.ENOSPC, errno.EDQUOT):
            return True
        if getattr(e, "sqlstate", None) == "53100" or any(s in str(e).lower() for s in _DISK_FULL):
            return True
        e = e.__cause__ or e.__context__
    return False


def _storage_response(e: BaseException) -> JSONResponse:
    if is_disk_full(e):
        log.error("storage full: %s", e)
        return JSONResponse(error_body("insufficient_storage", "the server is out of storage space; your message "
                                       "or photo was not saved, please try again later"), status_code=507)
    from opstore.errors import StoreUnavailable

    if isinstance(e, StoreUnavailable):
        log.warning("operational store unavailable: %s", e)
        return JSONResponse(error_body("store_unavailable", "the service is briefly unavailable; nothing was "
                                       "saved, please retry"), status_code=503, headers={"Retry-After": "5"})
    log.error("storage failed: %s", e, exc_info=e)
    return JSONResponse(error_body("internal_error", "something went wrong on our side"), status_code=500)


def install_middleware(app: FastAPI, settings: Settings) -> None:
    """Request ids, body limits, access log, latency metric, storage error statuses, LLM prices."""
    from opstore.errors import StoreError

    metrics.configure_prices(settings.llm_usd_per_mtok_input, settings.llm_usd_per_mtok_output)

    async def _storage(_: Request, e: Exception) -> JSONResponse:
        return _storage_response(e)

    async def _os_error(_: Request, e: Exception) -> JSONResponse:
        if is_disk_full(e):
            return _storage_response(e)
        log.error("I/O error: %s", e, exc_info=e)
        return JSONResponse(error_body("internal_error", "something went wrong on our side"), status_code=500)

    async def _too_large_handler(_: Request, e: Exception) -> JSONResponse:
        metrics.HTTP_REJECTED.labels("body_too_large").inc()
        limit = getattr(e, "limit", 0)
        return JSONResponse(error_body("payload_too_large", f"the request body is over the {limit} byte limit"),
                            status_code=413)

    app.add_exception_handler(StoreError, _storage)
    app.add_exception_handler(AnalysisStoreError, _storage)
    app.add_exception_handler(OSError, _os_error)
    app.add_exception_handler(RequestTooLarge, _too_large_handler)
    app.add_middleware(ObservabilityMiddleware, settings=settings)


def store_engine(app: Any) -> Any:
    """The SQLAlchemy engine behind the app's operational store, if it has one (fakes do not)."""
    store = getattr(app.state, "store", None)
    database = getattr(store, "database", None)
    return getattr(database, "engine", None)

