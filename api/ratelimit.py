"""In-memory token-bucket rate limiting, per key (a session, a client IP), usable as a FastAPI dependency.

Why token buckets: a person typing in bursts is fine (the burst), a script hammering is not (the
rate). Why in memory: one process answers its own traffic; with several replicas behind a load
balancer each enforces its own share, which is still a hard ceiling per replica (a shared store
would be the next step, not needed on one machine).

Usage:

    from api.ratelimit import RateLimit, client_ip

    per_ip = RateLimit("widget-ip", per_minute=lambda s: s.widget_rate_ip_per_min,
                       burst=lambda s: s.widget_rate_ip_burst)            # key: client IP by default

    @router.post("/x", dependencies=[Depends(per_ip)])                   # 429 before the route runs
    def x(request: Request) -> ...:
        per_session.enforce(request, session_id)                          # or any key known later

Over the limit raises `RateLimited`, which `install(app)` maps to HTTP 429 with a `Retry-After`
header (whole seconds) and the usual JSON error envelope `{"error": {"code": "rate_limited", ...}}`.
Call `install(app)` once per app (it is idempotent).
"""

from __future__ import annotations

import math
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from api.errors import error_body
from skinsage.errors import SkinSageError
from skinsage.settings import Settings

Number = float | int
SettingOr = Number | Callable[[Settings], Number]


class RateLimited(SkinSageError):
    """Too many requests for this key; `retry_after` is how long until the next one is allowed."""

    def __init__(self, scope: str, retry_after: float) -> None:
        self.scope = scope
        self.retry_after = retry_after
        super().__init__(f"too many requests ({scope}); try again in {math.ceil(retry_after)} s")


class TokenBucketLimiter:
    """Buckets of `burst` tokens refilled at `per_minute / 60` tokens a second, one bucket per key.

    Thread-safe (sync routes run in a thread pool). At most `max_keys` buckets are kept; the least
    recently used goes first, so a flood of new keys cannot exhaust memory (a forgotten key simply
    starts again with a full bucket, which is the state it would have reached anyway after idling).
    """

    def __init__(self, per_minute: float, burst: int, *, max_keys: int = 100_000,
                 clock: Callable[[], float] = time.monotonic) -> None:
        if per_minute <= 0 or burst < 1:
            raise ValueError("per_minute must be > 0 and burst >= 1")
        self.rate = per_minute / 60.0
        self.burst = float(burst)
        self.max_keys = max_keys
        self.clock = clock
        self._buckets: OrderedDict[str, tuple[float, float]] = OrderedDict()  # key -> (tokens, at)
        self._lock = threading.Lock()

    def acquire(self, key: str, cost: float = 1.0) -> float:
        """Take `cost` tokens. Returns 0.0 when allowed, else the seconds until it would be (nothing taken)."""
        now = self.clock()
        with self._lock:
            tokens, at = self._buckets.pop(key, (self.burst, now))
            tokens = min(self.burst, tokens + (now - at) * self.rate)
            wait = 0.0
            if tokens >= cost:
                tokens -= cost
            else:
                wait = (cost - tokens) / self.rate
            self._buckets[key] = (tokens, now)
            while len(self._buckets) > self.max_keys:
                self._buckets.popitem(last=False)
            return wait


def client_ip(request: Request) -> str:
    """The peer address. Behind a reverse proxy run uvicorn with `--proxy-headers` and
    `--forwarded-allow-ips` so this is the visitor, not the proxy (never trust X-Forwarded-For here)."""
    return request.client.host if request.client else "unknown"


def _value(v: SettingOr, settings: Settings) -> Number:
    return v(settings) if callable(v) else v


class RateLimit:
    """A named limit. As a dependency it limits by `key(request)` (client IP by default; a key of
    None is not limited); `enforce(request, key)` limits by a key the route learns later (a session).
    Buckets live on `app.state`, so each app (and each test) starts fresh with its own settings."""

    def __init__(self, name: str, *, per_minute: SettingOr, burst: SettingOr,
                 key: Callable[[Request], str | None] = client_ip, cost: float = 1.0) -> None:
        self.name, self.per_minute, self.burst, self.key, self.cost = name, per_minute, burst, key, cost

    def limiter(self, request: Request) -> TokenBucketLimiter:
        state = request.app.state
        with _CREATE_LOCK:
            limiters: dict[str, TokenBucketLimiter] = getattr(state, "rate_limiters", None) or {}
            state.rate_limiters = limiters
            if self.name not in limiters:
                settings: Settings = state.settings
                limiters[self.name] = TokenBucketLimiter(float(_value(self.per_minute, settings)),
                                                         int(_value(self.burst, settings)))
            return limiters[self.name]

    def enforce(self, request: Request, key: str | None) -> None:
        if key is None:
            return
        wait = self.limiter(request).acquire(key, self.cost)
        if wait > 0:
            raise RateLimited(self.name, wait)

    async def __call__(self, request: Request) -> None:
        self.enforce(request, self.key(request))


_CREATE_LOCK = threading.Lock()


async def _rate_limited(_: Request, e: Exception) -> JSONResponse:
    assert isinstance(e, RateLimited)
    seconds = max(1, math.ceil(e.retry_after))
    return JSONResponse(error_body("rate_limited", str(e), {"scope": e.scope, "retry_after_s": seconds}),
                        status_code=429, headers={"Retry-After": str(seconds)})


def install(app: FastAPI) -> None:
    """Map `RateLimited` to 429 + Retry-After. Idempotent; must run before the app starts."""
    handlers: dict[Any, Any] = app.exception_handlers
    if RateLimited not in handlers:
        app.add_exception_handler(RateLimited, _rate_limited)
