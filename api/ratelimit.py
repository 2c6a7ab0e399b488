"""In-memory token-bucket rate limiting, per key (a session, a client IP), usable as a FastAPI dependency.

Why token buckets: a person typing in bursts is fine (the burst), a script hammering is not (the
rate). Where the buckets live: in this process's memory when it serves alone; when `skinsage serve`
runs several HTTP processes on one socket (`SKINSAGE_HTTP_WORKERS`), in a table of fixed-size slots
in a shared memory-mapped file per limit (`SharedTokenBucketLimiter`, directory
`SKINSAGE_RATE_LIMIT_DIR`, which serve sets for its children), so a caller gets the configured budget
and not one budget per process. Replicas on other machines each still enforce their own.

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

import fcntl
import hashlib
import math
import mmap
import os
import struct
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from pathlib import Path
from typing import Any, Protocol

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


def _spend(tokens: float, idle_s: float, cost: float, rate: float, burst: float) -> tuple[float, float]:
    """A bucket's tokens after refilling for `idle_s` and taking `cost` if it can: (tokens, wait), where
    wait is 0.0 when taken, else the seconds until it could be (and nothing is taken)."""
    tokens = min(burst, tokens + idle_s * rate)
    if tokens >= cost:
        return tokens - cost, 0.0
    return tokens, (cost - tokens) / rate


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
            tokens, wait = _spend(tokens, now - at, cost, self.rate, self.burst)
            self._buckets[key] = (tokens, now)
            while len(self._buckets) > self.max_keys:
                self._buckets.popitem(last=False)
            return wait


class Limiter(Protocol):
    def acquire(self, key: str, cost: float = 1.0) -> float: ...


_SLOT = struct.Struct("<Qdd8x")   # key hash (0: empty), tokens, last update (monotonic seconds); 32 bytes


class SharedTokenBucketLimiter:
    """The same buckets as `TokenBucketLimiter`, shared by every process on this machine that opens
    the same file: a table of `slots` 32-byte slots in a memory-mapped file.

    A key hashes to a window of `probe` neighbouring slots; it takes its own slot there, or an empty
    one, or the least recently used (that key starts again with a full bucket, as an evicted key of
    the in-memory limiter does). Each acquire holds an exclusive `fcntl` lock on its window's bytes
    (between processes) and a thread lock (between this process's threads; fcntl locks belong to the
    process), so two processes never both spend a key's last token. The clock must be one every
    process shares: CLOCK_MONOTONIC is machine-wide on Linux. A time ahead of the clock (a file left
    from before a reboot) counts as a full bucket.
    """

    def __init__(self, path: Path, per_minute: float, burst: int, *, slots: int = 65_536, probe: int = 8,
                 clock: Callable[[], float] = time.monotonic) -> None:
        if per_minute <= 0 or burst < 1:
            raise ValueError("per_minute must be > 0 and burst >= 1")
        if slots < probe or probe < 1:
            raise ValueError("need slots >= probe >= 1")
        self.rate = per_minute / 60.0
        self.burst = float(burst)
        self.slots, self.probe, self.clock = slots, probe, clock
        self.path = path
        size = slots * _SLOT.size
        path.parent.mkdir(parents=True, exist_ok=True)
        self._fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
        if os.fstat(self._fd).st_size < size:
            os.ftruncate(self._fd, size)   # zero-filled: every slot empty; growing twice is harmless
        self._map = mmap.mmap(self._fd, size)
        self._lock = threading.Lock()

    def _hash(self, key: str) -> int:
        return int.from_bytes(hashlib.blake2b(key.encode(), digest_size=8).digest(), "little") or 1

    def acquire(self, key: str, cost: float = 1.0) -> float:
        """Take `cost` tokens. Returns 0.0 when allowed, else the seconds until it would be (nothing taken)."""
        h = self._hash(key)
        first = h % (self.slots - self.probe + 1)
        offset, length = first * _SLOT.size, self.probe * _SLOT.size
        with self._lock:
            fcntl.lockf(self._fd, fcntl.LOCK_EX, length, offset, os.SEEK_SET)
            try:
                now = self.clock()
                chosen, tokens, at = -1, self.burst, now
                empty, oldest, oldest_at = -1, -1, float("inf")
                for i in range(first, first + self.probe):
                    kh, t, a = _SLOT.unpack_from(self._map, i * _SLOT.size)
                    if kh == h:
                        chosen, tokens, at = i, t, a
                        break
                    if kh == 0 and empty < 0:
                        empty = i
                    elif kh != 0 and a < oldest_at:
                        oldest, oldest_at = i, a
                if chosen < 0:
                    chosen = empty if empty >= 0 else oldest
                if at > now:
                    tokens, at = self.burst, now
                tokens, wait = _spend(tokens, now - at, cost, self.rate, self.burst)
                _SLOT.pack_into(self._map, chosen * _SLOT.size, h, tokens, now)
                return wait
            finally:
                fcntl.lockf(self._fd, fcntl.LOCK_UN, length, offset, os.SEEK_SET)

    def close(self) -> None:
        self._map.close()
        os.close(self._fd)


def token_buckets(name: str, per_minute: float, burst: int, settings: Settings) -> Limiter:
    """The limiter for limit `name`: shared between the processes of one `skinsage serve` when it set
    `rate_limit_dir` for them, else in this process's memory."""
    if settings.rate_limit_dir is not None:
        return SharedTokenBucketLimiter(settings.rate_limit_dir / f"{name}.buckets", per_minute, burst)
    return TokenBucketLimiter(per_minute, burst)


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

    def limiter(self, request: Request) -> Limiter:
        state = request.app.state
        with _CREATE_LOCK:
            limiters: dict[str, Limiter] = getattr(state, "rate_limiters", None) or {}
            state.rate_limiters = limiters
            if self.name not in limiters:
                settings: Settings = state.settings
                limiters[self.name] = token_buckets(self.name, float(_value(self.per_minute, settings)),
                                                    int(_value(self.burst, settings)), settings)
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
