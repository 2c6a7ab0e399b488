"""The chat HTTP API: one turn per request, or streamed as Server-Sent Events for the widget.

Every message goes through the operational store (persisted before it is answered, deduplicated
on the client's message id) and the same engine as every channel. A `customer_id` is honoured only
from a trusted caller holding the API key (the shop's backend); anyone else is a guest.
"""

from __future__ import annotations

import asyncio
import json
import queue
import threading
import uuid
from collections.abc import AsyncIterator
from typing import Annotated, Any

from fastapi import APIRouter, Header
from fastapi.responses import StreamingResponse
from pydantic import BaseModel, Field, field_validator

from api.deps import EngineDep, SettingsDep, StoreDep, bearer_matches
from assistant.types import ConversationEngine, InboundMessage, ProductCard, Reply, Turn
from skinsage.errors import Forbidden, InvalidInput
from skinsage.settings import Settings

router = APIRouter(prefix="/v1", tags=["chat"])


class ChatIn(BaseModel):
    conversation_id: str | None = Field(default=None, pattern=r"^[A-Za-z0-9_-]{8,64}$")
    customer_id: str | None = Field(default=None, max_length=80)
    text: str = Field(max_length=4000)
    client_message_id: str | None = Field(default=None, max_length=100, description="dedupes client retries")

    @field_validator("text")
    @classmethod
    def _not_blank(cls, v: str) -> str:
        if not v.strip():
            raise ValueError("text is empty")
        return v


class ToolOut(BaseModel):
    name: str
    args: dict[str, Any]


class ChatOut(BaseModel):
    conversation_id: str
    reply: str | None
    tools: list[ToolOut] = []
    citations: list[dict[str, Any]] = []
    products: list[ProductCard] = []
    quick_replies: list[str] = []
    handoff: bool = False
    status: str = "answered"


def _caller_customer(body: ChatIn, authorization: str | None, settings: Settings) -> str | None:
    if body.customer_id is None:
        return None
    if not bearer_matches(authorization, settings.api_key):
        raise Forbidden("customer_id needs the API key (Authorization: Bearer ...); guests omit it")
    return body.customer_id


def _out(conversation: str, status: str, reply: Reply | None, handoff_note: str) -> ChatOut:
    if reply is None:
        return ChatOut(conversation_id=conversation, reply=handoff_note if status == "routed" else None,
                       handoff=status == "routed", status=status)
    return ChatOut(conversation_id=conversation, reply=reply.text, status=status, handoff=reply.handoff,
                   tools=[ToolOut(name=c.name, args=c.args) for c in reply.tools],
                   citations=[c.model_dump() for c in reply.citations],
                   products=list(reply.products), quick_replies=reply.quick_replies)


def _inbound(body: ChatIn, session: str, customer: str | None) -> InboundMessage:
    return InboundMessage(channel="api", channel_user_id=session, text=body.text,
                          provider_message_id=f"{session}:{body.client_message_id}" if body.client_message_id else None,
                          verified_identity=f"customer:{customer}" if customer else None)


def _previous(store: Any, session: str, got: Any) -> ChatOut:
    transcript = store.handoffs.transcript(got.conversation_id)
    ids = [m.id for m in transcript]
    after = transcript[ids.index(got.message_id) + 1:] if got.message_id in ids else []
    reply = next((m for m in after if m.direction == "out"), None)
    return ChatOut(conversation_id=session, reply=reply.text if reply else None, status="duplicate",
                   quick_replies=(reply.payload.get("quick_replies") or []) if reply else [])


_ROUTED = "A person from our team has this conversation and will reply here shortly."


@router.post("/chat", response_model=ChatOut)
def chat(body: ChatIn, store: StoreDep, engine: EngineDep, settings: SettingsDep,
         authorization: Annotated[str | None, Header()] = None) -> ChatOut:
    """Send one message and get the assistant's reply (with tools used, citations and product cards)."""
    customer = _caller_customer(body, authorization, settings)
    session = body.conversation_id or uuid.uuid4().hex
    got = store.receive(_inbound(body, session, customer))
    if got.duplicate:   # a client retry: the original answer, never a second one
        return _previous(store, session, got)
    done = store.process(got.message_id, engine)
    if done.status == "failed":
        raise InvalidInput(f"the message could not be answered now and will be retried: {done.error}")
    return _out(session, done.status, done.reply, _ROUTED)


class _QueueSink:
    def __init__(self, q: queue.Queue[tuple[str, Any]]) -> None:
        self.q = q

    def token(self, text: str) -> None:
        self.q.put(("token", text))

    def reset(self) -> None:
        self.q.put(("reset", None))


class _StreamingEngine:
    def __init__(self, engine: Any, sink: _QueueSink) -> None:
        self.engine, self.sink = engine, sink

    def handle(self, turn: Turn) -> Reply:
        return self.engine.handle(turn, self.sink)  # type: ignore[no-any-return]


@router.post("/chat/stream", response_class=StreamingResponse,
             responses={200: {"content": {"text/event-stream": {}}, "description": "token, reset, then done or error"}})
async def chat_stream(body: ChatIn, store: StoreDep, engine: EngineDep, settings: SettingsDep,
                      authorization: Annotated[str | None, Header()] = None) -> StreamingResponse:
    """The same turn as POST /v1/chat, as Server-Sent Events: `token`, `reset`, then `done` with the reply."""
    customer = _caller_customer(body, authorization, settings)
    session = body.conversation_id or uuid.uuid4().hex
    got = await asyncio.to_thread(store.receive, _inbound(body, session, customer))
    q: queue.Queue[tuple[str, Any]] = queue.Queue()
    streaming: ConversationEngine = _StreamingEngine(engine, _QueueSink(q))

    def work() -> None:
        try:
            if got.duplicate:   # a client retry: the original answer as one event, never a second answer
                q.put(("done", _previous(store, session, got).model_dump()))
                return
            done = store.process(got.message_id, streaming)
            q.put(("done", _out(session, done.status, done.reply, _ROUTED).model_dump()))
        except Exception as e:  # noqa: BLE001 - reported to the client as an error event, and logged
            q.put(("error", {"message": "the reply could not be produced; your message is saved", "detail": str(e)}))

    threading.Thread(target=work, daemon=True).start()

    async def events() -> AsyncIterator[str]:
        while True:
            kind, data = await asyncio.to_thread(q.get)
            yield f"event: {kind}\ndata: {json.dumps(data)}\n\n"
            if kind in ("done", "error"):
                return

    return StreamingResponse(events(), media_type="text/event-stream",
                             headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"})
