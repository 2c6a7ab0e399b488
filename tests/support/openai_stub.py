"""A scripted OpenAI-compatible chat server for end-to-end tests of the LLM planner.

Each request pops the next scripted step: text (streamed in pieces), tool calls (arguments sent as
raw strings, so a test can send malformed JSON), an HTTP error status, or a delay longer than the
client's timeout. Every request body is recorded for assertions.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, StreamingResponse

from tests.support.channel_stubs import serve


def _chunk(delta: dict[str, Any], finish: str | None = None) -> str:
    body = {"id": "chatcmpl-stub", "object": "chat.completion.chunk", "created": int(time.time()), "model": "stub-1",
            "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]}
    return f"data: {json.dumps(body)}\n\n"


class ScriptedOpenAI:
    def __init__(self) -> None:
        self.script: list[dict[str, Any]] = []
        self.requests: list[dict[str, Any]] = []
        self.app = FastAPI()
        self.app.post("/v1/chat/completions")(self._complete)

    async def _complete(self, request: Request) -> Any:
        body = await request.json()
        self.requests.append(body)
        step = self.script.pop(0) if self.script else {"content": "(script exhausted)"}
        if "sleep" in step:
            await asyncio.sleep(step["sleep"])
        if "status" in step:
            return JSONResponse({"error": {"message": "scripted failure", "type": "server_error"}},
                                status_code=step["status"])
        if not body.get("stream"):
            msg: dict[str, Any] = {"role": "assistant", "content": step.get("content")}
            if "tool_calls" in step:
                msg["tool_calls"] = [{"id": f"call_{i}", "type": "function",
                                      "function": {"name": c["name"], "arguments": c["arguments"]}}
                                     for i, c in enumerate(step["tool_calls"])]
            return {"id": "chatcmpl-stub", "object": "chat.completion", "created": 0, "model": "stub-1",
                    "choices": [{"index": 0, "message": msg,
                                 "finish_reason": "tool_calls" if "tool_calls" in step else "stop"}]}
        return StreamingResponse(self._stream(step), media_type="text/event-stream")

    async def _stream(self, step: dict[str, Any]) -> AsyncIterator[str]:
        yield _chunk({"role": "assistant", "content": ""})
        if "tool_calls" in step:
            for i, c in enumerate(step["tool_calls"]):
                args = c["arguments"]
                half = len(args) // 2
                yield _chunk({"tool_calls": [{"index": i, "id": f"call_{i}", "type": "function",
                                              "function": {"name": c["name"], "arguments": args[:half]}}]})
                yield _chunk({"tool_calls": [{"index": i, "function": {"arguments": args[half:]}}]})
            yield _chunk({}, "tool_calls")
        else:
            text = step.get("content", "")
            for i in range(0, len(text), 12):
                yield _chunk({"content": text[i:i + 12]})
            yield _chunk({}, "stop")
        yield "data: [DONE]\n\n"


@contextmanager
def serve_stub() -> Iterator[tuple[ScriptedOpenAI, str]]:
    stub = ScriptedOpenAI()
    with serve(stub.app) as base:
        yield stub, f"{base}/v1"
