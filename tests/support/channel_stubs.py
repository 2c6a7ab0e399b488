"""Local stand-ins for Twilio's REST API, Telegram's Bot API and their media servers, for end-to-end
channel tests: every outbound call is recorded; media is served (with auth checks) from a dict."""

from __future__ import annotations

import base64
import itertools
import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import uvicorn
from fastapi import FastAPI, Request, Response
from fastapi.responses import JSONResponse


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class ProviderStub:
    def __init__(self, twilio_auth: tuple[str, str], telegram_token: str) -> None:
        self.twilio_auth, self.telegram_token = twilio_auth, telegram_token
        self.twilio: list[dict[str, str]] = []          # message creates, in order
        self.telegram: list[tuple[str, dict[str, Any]]] = []   # (method, params)
        self.media: dict[str, tuple[str, bytes]] = {}   # name -> (content type, bytes)
        self.media_gets: list[str] = []
        self.telegram_429: dict[str, int] = {}          # chat id -> 429s to answer first
        self.attempts: list[tuple[str, dict[str, Any]]] = []
        self._ids = itertools.count(1)
        self._lock = threading.Lock()
        self.app = FastAPI()
        self.app.post("/2010-04-01/Accounts/{sid}/Messages.json")(self._twilio_create)
        self.app.get("/media/{name}")(self._media)
        self.app.post("/bot{token}/{method}")(self._telegram)
        self.app.get("/file/bot{token}/{path:path}")(self._telegram_file)

    def _authorised(self, request: Request) -> bool:
        expected = base64.b64encode(":".join(self.twilio_auth).encode()).decode()
        return request.headers.get("authorization") == f"Basic {expected}"

    async def _twilio_create(self, sid: str, request: Request) -> Any:
        if not self._authorised(request) or sid != self.twilio_auth[0]:
            return JSONResponse({"code": 20003, "message": "Authenticate"}, status_code=401)
        form = dict((await request.form()).items())
        with self._lock:
            msid = f"SM{next(self._ids):032x}"
            self.twilio.append({**{k: str(v) for k, v in form.items()}, "sid": msid})
        return JSONResponse({"sid": msid, "status": "queued"}, status_code=201)

    def _media(self, name: str, request: Request) -> Response:
        self.media_gets.append(name)
        if not self._authorised(request):
            return Response(status_code=401)
        ctype, data = self.media[name]
        return Response(data, media_type=ctype)

    async def _telegram(self, token: str, method: str, request: Request) -> Any:
        if token != self.telegram_token:
            return JSONResponse({"ok": False, "error_code": 401, "description": "Unauthorized"}, status_code=401)
        params = await request.json()
        chat = str(params.get("chat_id"))
        with self._lock:
            self.attempts.append((method, params))
            if self.telegram_429.get(chat, 0) > 0:
                self.telegram_429[chat] -= 1
                return JSONResponse({"ok": False, "error_code": 429, "description": "Too Many Requests",
                                     "parameters": {"retry_after": 1}}, status_code=429)
            self.telegram.append((method, params))
            n = next(self._ids)
        if method == "getFile":
            return {"ok": True, "result": {"file_id": params["file_id"], "file_path": f"photos/{params['file_id']}"}}
        return {"ok": True, "result": {"message_id": n, "chat": {"id": params.get("chat_id")}}}

    def _telegram_file(self, token: str, path: str) -> Response:
        self.media_gets.append(path)
        if token != self.telegram_token:
            return Response(status_code=404)
        ctype, data = self.media[path.removeprefix("photos/")]
        return Response(data, media_type=ctype)

    def sent_to(self, number: str) -> list[dict[str, str]]:
        return [m for m in self.twilio if m["To"].removeprefix("whatsapp:") == number]

    def telegram_to(self, chat: int | str) -> list[tuple[str, dict[str, Any]]]:
        return [(m, p) for m, p in self.telegram if str(p.get("chat_id")) == str(chat) and m != "getFile"]


@contextmanager
def serve(app: Any, port: int | None = None) -> Iterator[str]:
    """Run an ASGI app with uvicorn on a loopback port in a thread; yields its base URL."""
    port = port or free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.02)
    if not server.started:
        raise RuntimeError("the server did not start")
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)


def eventually(check: Callable[[], Any], timeout: float = 15.0) -> Any:
    """Wait (bounded) until `check()` is truthy and return it; the answer path is asynchronous."""
    deadline = time.monotonic() + timeout
    while True:
        got = check()
        if got or time.monotonic() > deadline:
            return got
        time.sleep(0.02)
