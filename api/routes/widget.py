"""The website chat widget: sessions, messages, photos, handoff, history, and the static script (issue 6).

Every message goes through the operational store like any channel: persisted before it is answered,
deduplicated on the widget's `client_message_id`, so a retry after a dropped connection or a page
reload gets the original answer (waited for if still being produced), never a second one. Replies
stream as Server-Sent Events over a POST (`token`, `reset`, then `done` or `error`).

Routes: GET /widget.js · GET /demo/store · POST /widget/session · GET /widget/history ·
POST /widget/messages · POST /widget/photos · POST /widget/handoff. Identity rules live in
api/channels/web.py; `install_cors(app, settings)` adds the shop-origin CORS policy and error mappings.
"""

from __future__ import annotations

import asyncio
import json
import logging
import secrets
import threading
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import urlsplit

from fastapi import APIRouter, Depends, FastAPI, File, Form, Header, Request, UploadFile
from fastapi.responses import FileResponse, JSONResponse, StreamingResponse
from pydantic import BaseModel, Field

from api import ratelimit
from api.channels.web import (
    CHANNEL,
    SessionSigner,
    WebChannel,
    WidgetAuthError,
    inbound,
    valid_client_message_id,
)
from api.deps import EngineDep, SettingsDep, StoreDep
from api.errors import error_body
from api.ratelimit import RateLimit
from assistant.types import InboundMessage, Media, Reply, Turn
from skinsage.errors import Forbidden, InvalidInput, NotFound, PhotoRejected, PhotoTooLarge
from skinsage.settings import Settings

log = logging.getLogger("skinsage.widget")
STATIC = Path(__file__).resolve().parent.parent / "static"
router = APIRouter(tags=["widget"])

CUSTOMER_HEADER = "X-SkinSage-Customer"
HEARTBEAT_S = 15.0
ROUTED_NOTE = "A person from our team has this conversation and will reply here shortly."
HANDOFF_NOTE = "I've asked a person from our team to join. They'll reply right here, so keep this window open."
ALREADY_NOTE = "A person from our team already has this conversation and will reply here."

per_ip = RateLimit("widget-ip", per_minute=lambda s: s.widget_rate_ip_per_min, burst=lambda s: s.widget_rate_ip_burst)
per_ip_read = RateLimit("widget-read", per_minute=lambda s: s.widget_rate_read_per_min,
                        burst=lambda s: s.widget_rate_read_burst)
per_session = RateLimit("widget-session", per_minute=lambda s: s.widget_rate_session_per_min,
                        burst=lambda s: s.widget_rate_session_burst)


# --- setup ----------------------------------------------------------------------------------------

def channel_for(app: FastAPI | Any, settings: Settings) -> WebChannel:
    """One WebChannel per app, from settings (a random per-process session key when none is set)."""
    found: WebChannel | None = getattr(app.state, "web_channel", None)
    if found is None:
        secret = settings.widget_secret.get_secret_value().encode() if settings.widget_secret else None
        if secret is None:
            log.warning("SKINSAGE_WIDGET_SECRET is not set: widget sessions end when this process restarts")
            secret = secrets.token_bytes(32)
        shop = settings.widget_customer_token_secret
        found = WebChannel(SessionSigner(secret, settings.widget_session_ttl_s),
                           shop.get_secret_value().encode() if shop else None, settings.widget_customer_token_max_ttl_s)
        app.state.web_channel = found
    return found


async def _widget_auth_error(_: Request, e: Exception) -> JSONResponse:
    assert isinstance(e, WidgetAuthError)
    return JSONResponse(error_body(e.code, str(e)), status_code=401)


def install_cors(app: FastAPI, settings: Settings) -> None:
    """CORS for exactly the configured shop origins (others get no CORS headers, preflights a 400,
    and widget API calls a 403), plus the error mappings the widget needs: 429 + Retry-After for
    rate limits, 401 with a machine code for a stale session. Call once, before the app starts."""
    from fastapi.middleware.cors import CORSMiddleware

    channel_for(app, settings)  # built now: a bad secret fails at start, and every request shares one key
    ratelimit.install(app)
    if WidgetAuthError not in app.exception_handlers:
        app.add_exception_handler(WidgetAuthError, _widget_auth_error)
    if settings.widget_allowed_origins:
        app.add_middleware(CORSMiddleware, allow_origins=list(settings.widget_allowed_origins),
                           allow_methods=["GET", "POST", "OPTIONS"], allow_credentials=False,
                           allow_headers=["Authorization", "Content-Type", CUSTOMER_HEADER],
                           expose_headers=["Retry-After"], max_age=600)


def allowed_origin(request: Request) -> None:
    """Browsers send Origin on cross-site calls: only the shop origins (and this server itself, for the
    demo page) may use the widget API. Server-to-server callers send no Origin and are not affected."""
    origin = request.headers.get("origin")
    if not origin:
        return
    settings: Settings = request.app.state.settings
    if origin in settings.widget_allowed_origins or urlsplit(origin).netloc == request.headers.get("host"):
        return
    raise Forbidden(f"origin {origin} may not use the widget; add it to SKINSAGE_WIDGET_ALLOWED_ORIGINS")


def web(request: Request) -> WebChannel:
    return channel_for(request.app, request.app.state.settings)


WebDep = Annotated[WebChannel, Depends(web)]
guarded = [Depends(allowed_origin)]


class Visitor(BaseModel):
    session_id: str
    customer_id: str | None


def visitor(channel: WebDep, authorization: Annotated[str | None, Header()] = None,
            x_skinsage_customer: Annotated[str | None, Header()] = None) -> Visitor:
    token = (authorization or "").removeprefix("Bearer ").strip() or None
    session, customer = channel.authorize(token, x_skinsage_customer)
    return Visitor(session_id=session.session_id, customer_id=customer)


VisitorDep = Annotated[Visitor, Depends(visitor)]


# --- static ---------------------------------------------------------------------------------------

@router.get("/widget.js", include_in_schema=False)
def widget_script() -> FileResponse:
    """The one script a storefront embeds (no build step). Cached briefly: a fix reaches shops fast."""
    return FileResponse(STATIC / "widget.js", media_type="text/javascript; charset=utf-8",
                        headers={"Cache-Control": "public, max-age=300"})


@router.get("/demo/store", include_in_schema=False)
def demo_store(settings: SettingsDep) -> FileResponse:
    if not settings.widget_demo_page:
        raise NotFound("the demo page is switched off (SKINSAGE_WIDGET_DEMO_PAGE=false)")
    return FileResponse(STATIC / "demo-store.html", media_type="text/html; charset=utf-8")


# --- session and history --------------------------------------------------------------------------

class SessionIn(BaseModel):
    session_token: str | None = Field(default=None, max_length=1024)
    customer_token: str | None = Field(default=None, max_length=2048)


class SessionOut(BaseModel):
    session_token: str
    session_id: str
    expires_at: int
    resumed: bool = Field(description="false: a new conversation (the stored one ended or belonged to someone else)")
    customer: bool = Field(description="the visitor is a verified, signed-in customer")


@router.post("/widget/session", response_model=SessionOut, dependencies=[*guarded, Depends(per_ip)])
def start_session(body: SessionIn, channel: WebDep) -> SessionOut:
    """Called on every page load: resumes the stored session when it still fits the visitor."""
    token, session, resumed = channel.start(body.session_token, body.customer_token)
    return SessionOut(session_token=token, session_id=session.session_id, expires_at=session.expires_at,
                      resumed=resumed, customer=session.bound)


class HistoryMessage(BaseModel):
    id: str
    role: str  # customer | assistant | agent | system
    text: str
    created_at: str
    status: str
    client_id: str | None = None            # the widget's client_message_id of a visitor message
    reply_to_client_id: str | None = None   # on a reply: the client_message_id of the question it answers
    quick_replies: list[str] = []
    products: list[dict[str, Any]] = []
    citations: list[dict[str, Any]] = []
    photo: bool = False
    handoff: bool = False


class HistoryOut(BaseModel):
    status: str  # bot | waiting_human | human | none
    messages: list[HistoryMessage]


def _role(author: str) -> str:
    from opstore.turns import history_role

    return history_role(author)


def _citations(items: list[Any]) -> list[dict[str, Any]]:
    return [{"kind": c.get("kind"), "label": c.get("label")} for c in items if isinstance(c, dict)]


def _records(store: Any, session_id: str) -> tuple[str, str | None, list[HistoryMessage]]:
    """(status, conversation id, messages oldest first) of this session's open conversation, read through
    the store's repositories: the transcript view has no provider ids, and the widget needs its own."""
    with store.ctx.uow() as uow:
        conv = uow.conversations.open_for(CHANNEL, session_id)
        if conv is None:
            return "none", None, []
        rows = uow.messages.transcript(conv.id, 500)
        client_of = {m.id: (m.provider_message_id or "").partition(":")[2] or None for m in rows if m.direction == "in"}
        out = []
        for m in rows:
            payload, is_out = m.payload or {}, m.direction == "out"
            out.append(HistoryMessage(
                id=m.id, role=_role(m.author), text=m.text, created_at=m.created_at.isoformat(), status=m.status,
                client_id=None if is_out else client_of.get(m.id),
                reply_to_client_id=client_of.get(m.reply_to or "") if is_out else None,
                quick_replies=(payload.get("quick_replies") or []) if is_out else [],
                products=(payload.get("products") or []) if is_out else [],
                citations=_citations(payload.get("citations") or []) if is_out else [],
                photo=bool(payload.get("media")) and not is_out, handoff=bool(payload.get("handoff")) and is_out))
        return conv.status, conv.id, out


def _shown(m: HistoryMessage) -> bool:
    if m.role == "customer":
        return bool(m.text or m.photo)
    return bool(m.text) and m.status not in ("failed", "dead")


@router.get("/widget/history", response_model=HistoryOut, dependencies=[*guarded, Depends(per_ip_read)])
def history(who: VisitorDep, store: StoreDep, settings: SettingsDep) -> HistoryOut:
    """This session's conversation, oldest first (the last `widget_history_limit` messages). Failed
    sends are left out; agent replies appear here (the widget polls while a person has it)."""
    status, _, records = _records(store, who.session_id)
    shown = [m for m in records if _shown(m)]
    return HistoryOut(status=status, messages=shown[-settings.widget_history_limit:])


# --- messages (streamed) --------------------------------------------------------------------------

class MessageIn(BaseModel):
    text: str = Field(min_length=1)
    client_message_id: str = Field(pattern=r"^[A-Za-z0-9_-]{8,64}$", description="the same id on every retry")


class _LoopSink:
    """TokenSink that hands tokens from the engine's thread to the response's event loop."""

    def __init__(self, loop: asyncio.AbstractEventLoop, q: asyncio.Queue[tuple[str, Any]]) -> None:
        self.loop, self.q = loop, q

    def put(self, kind: str, data: Any) -> None:
        try:
            self.loop.call_soon_threadsafe(self.q.put_nowait, (kind, data))
        except RuntimeError:  # the server shut down mid-answer: the reply is recorded, history shows it
            pass

    def token(self, text: str) -> None:
        self.put("token", text)

    def reset(self) -> None:
        self.put("reset", None)


class _SinkEngine:
    """The engine as the store calls it (`handle(turn)`), streaming into this request's sink."""

    def __init__(self, engine: Any, sink: _LoopSink) -> None:
        self.engine, self.sink = engine, sink

    def handle(self, turn: Turn) -> Reply:
        return self.engine.handle(turn, self.sink)  # type: ignore[no-any-return]


def _done_from_reply(message_id: str | None, reply: Reply, status: str) -> dict[str, Any]:
    return {"status": status, "message_id": message_id, "text": reply.text, "quick_replies": reply.quick_replies,
            "products": [p.model_dump(mode="json") for p in reply.products], "handoff": reply.handoff,
            "citations": [{"kind": c.kind, "label": c.label} for c in reply.citations]}


def _done_from_store(store: Any, session_id: str, message_id: str) -> tuple[str, dict[str, Any]] | None:
    """The recorded outcome of an inbound message, or None while it is still waiting to be answered."""
    _, _, records = _records(store, session_id)
    question = next((m for m in records if m.id == message_id), None)
    if question is None:
        return "error", {"code": "not_found", "retry": False, "message": "that message is no longer in this conversation"}
    if question.status == "routed":
        return "done", {"status": "routed", "message_id": None, "text": ROUTED_NOTE, "quick_replies": [],
                        "products": [], "handoff": True, "citations": []}
    reply = next((m for m in records if m.reply_to_client_id and m.reply_to_client_id == question.client_id), None)
    if question.status != "answered" or reply is None:
        return None
    return "done", {"status": "duplicate", "message_id": reply.id, "text": reply.text,
                    "quick_replies": reply.quick_replies, "products": reply.products, "handoff": reply.handoff,
                    "citations": reply.citations}


def _answer(store: Any, engine: Any, session_id: str, got: Any, sink: _LoopSink, wait_s: float) -> None:
    """Runs in its own thread: answer once (or find the answer someone else produced), then `done`."""
    try:
        if not got.duplicate:
            done = store.process(got.message_id, _SinkEngine(engine, sink))
            if done.status == "answered" and done.reply is not None:
                sink.put("done", _done_from_reply(done.reply_message_id, done.reply, "answered"))
                return
            if done.status == "failed":  # the store keeps it and retries; the widget will see it in history
                sink.put("error", {"code": "not_answered_yet", "retry": False,
                                   "message": "Sorry, I couldn't answer just now. Your message is saved and "
                                              "I'll reply here shortly."})
                return
        deadline = time.monotonic() + wait_s
        while True:  # a retry, or the worker took it: wait for the one answer
            found = _done_from_store(store, session_id, got.message_id)
            if found is not None:
                sink.put(*found)
                return
            if time.monotonic() > deadline:
                sink.put("pending", {"message": "still working on it; the answer will appear in the history"})
                return
            time.sleep(0.25)
    except Exception as e:  # reported to the client, and logged; the message is saved
        log.exception("widget answer failed")
        sink.put("error", {"code": "internal_error", "retry": True, "message": f"the reply failed ({type(e).__name__})"})


async def _stream(store: Any, engine: Any, message: InboundMessage, settings: Settings) -> StreamingResponse:
    got = await asyncio.to_thread(store.receive, message)
    loop = asyncio.get_running_loop()
    q: asyncio.Queue[tuple[str, Any]] = asyncio.Queue()
    sink = _LoopSink(loop, q)
    threading.Thread(target=_answer, args=(store, engine, message.channel_user_id, got, sink, settings.widget_answer_wait_s),
                     daemon=True, name="widget-answer").start()

    async def events() -> AsyncIterator[str]:
        yield f"event: received\ndata: {json.dumps({'duplicate': got.duplicate})}\n\n"
        while True:
            try:
                kind, data = await asyncio.wait_for(q.get(), HEARTBEAT_S)
            except TimeoutError:  # a slow answer: keep proxies from closing an idle stream
                yield ": still working\n\n"
                continue
            yield f"event: {kind}\ndata: {json.dumps(data)}\n\n"
            if kind in ("done", "error", "pending"):
                return

    return StreamingResponse(events(), media_type="text/event-stream",
                             headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"})


@router.post("/widget/messages", dependencies=[*guarded, Depends(per_ip)])
async def send_message(body: MessageIn, request: Request, who: VisitorDep, store: StoreDep, engine: EngineDep,
                       settings: SettingsDep) -> StreamingResponse:
    """One visitor message; the reply streams back. Retrying with the same `client_message_id` is safe."""
    if not body.text.strip():
        raise InvalidInput("the message is empty")
    if len(body.text) > settings.widget_max_message_chars:
        raise InvalidInput(f"the message is over {settings.widget_max_message_chars} characters")
    per_session.enforce(request, who.session_id)
    return await _stream(store, engine, inbound(who.session_id, who.customer_id, body.text, body.client_message_id),
                         settings)


@router.post("/widget/photos", dependencies=[*guarded, Depends(per_ip)])
async def send_photo(request: Request, who: VisitorDep, store: StoreDep, engine: EngineDep, settings: SettingsDep,
                     photo: Annotated[UploadFile, File(description="a JPEG, PNG or WebP selfie")],
                     client_message_id: Annotated[str, Form()], text: Annotated[str, Form(max_length=500)] = "",
                     ) -> Any:
    """A selfie for the cosmetic skin check; the analysis streams back like any reply."""
    if not valid_client_message_id(client_message_id):
        raise InvalidInput("client_message_id must be 8-64 letters, digits, '-' or '_'")
    per_session.enforce(request, who.session_id)
    limit = int(settings.widget_max_photo_mb * 1024 * 1024)
    data = await photo.read(limit + 1)
    try:
        from vision.intake import sniff_format

        if len(data) > limit:
            raise PhotoTooLarge("too_large", f"The photo is over the {settings.widget_max_photo_mb:g} MB limit.",
                                ["Send the photo at normal size."])
        fmt = sniff_format(data)
    except PhotoRejected as e:
        from api.routes.vision import STATUS

        return JSONResponse(error_body(e.code, str(e), {"advice": e.advice}), status_code=STATUS.get(type(e), 422))
    media = Media(content_type=f"image/{fmt.lower()}", data=data, filename=(photo.filename or "photo")[:120])
    message = inbound(who.session_id, who.customer_id, text.strip() or "Here's my photo for a skin check.",
                      client_message_id, [media])
    return await _stream(store, engine, message, settings)


class HandoffIn(BaseModel):
    client_message_id: str = Field(pattern=r"^[A-Za-z0-9_-]{8,64}$")


class HandoffOut(BaseModel):
    status: str  # waiting_human | already
    message_id: str | None
    text: str


@router.post("/widget/handoff", response_model=HandoffOut, dependencies=[*guarded, Depends(per_ip)])
def request_person(body: HandoffIn, request: Request, who: VisitorDep, store: StoreDep) -> HandoffOut:
    """The "talk to a person" button: recorded as the visitor's message, queued for the console with
    reason `customer_request`, and confirmed, all exactly once per `client_message_id`."""
    per_session.enforce(request, who.session_id)
    got = store.receive(inbound(who.session_id, who.customer_id, "Talk to a person", body.client_message_id))
    if got.duplicate:  # a retry: the original confirmation, unless the first attempt died half-way
        found = _done_from_store(store, who.session_id, got.message_id)
        if found is not None and found[0] == "done":
            return HandoffOut(status="waiting_human", message_id=found[1]["message_id"], text=found[1]["text"])
    console = getattr(request.app.state, "console", None)
    expected = console.handoff_notice("customer_request") if console is not None else HANDOFF_NOTE
    opened = store.handoffs.request(got.conversation_id, "customer_request")
    note = expected if opened else ALREADY_NOTE
    done = store.respond(got.message_id, note)
    return HandoffOut(status="waiting_human" if opened else "already", message_id=done.reply_message_id, text=note)
