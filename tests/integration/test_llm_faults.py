"""An LLM endpoint that answers garbage (wrong content type, broken JSON, a broken or cut-off stream, an
empty answer) through the whole chat API: the customer still gets the offline planner's grounded
answer, the fallback is counted, and nothing of the garbage reaches the reply. Timeouts and 5xx/429
are covered in test_llm_planner.py; token and cost accounting for a healthy stream is here too."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi import FastAPI, Request
from fastapi.responses import PlainTextResponse, Response, StreamingResponse
from fastapi.testclient import TestClient

from assistant.planner_llm import LangChainPlanner
from graph.model import KnowledgeBundle
from skinsage.settings import Settings
from tests.support.channel_stubs import serve
from tests.support.hardening import running_app


def _chunk(delta: dict[str, Any], finish: str | None = None, **extra: Any) -> str:
    body = {"id": "x", "object": "chat.completion.chunk", "created": 0, "model": "garbage-1",
            "choices": [{"index": 0, "delta": delta, "finish_reason": finish}], **extra}
    return f"data: {json.dumps(body)}\n\n"


def _stream(mode: str) -> Iterator[str]:
    if mode == "bad_sse":
        yield "data: {this is not json\n\n"
        yield "data: [DONE]\n\n"
    elif mode == "truncated":
        yield _chunk({"role": "assistant", "content": "Niacinamide is a great ingredient that cur"})
    elif mode == "empty":
        yield _chunk({"role": "assistant", "content": ""})
        yield _chunk({}, "stop")
        yield "data: [DONE]\n\n"
    elif mode == "no_choices":
        yield 'data: {"id": "x", "object": "chat.completion.chunk", "choices": "nope"}\n\n'
        yield "data: [DONE]\n\n"
    elif mode == "usage":
        yield _chunk({"role": "assistant", "content": "Niacinamide helps with the look of pores."})
        yield _chunk({}, "stop")
        usage = {"id": "x", "object": "chat.completion.chunk", "created": 0, "model": "garbage-1", "choices": [],
                 "usage": {"prompt_tokens": 1200, "completion_tokens": 300, "total_tokens": 1500}}
        yield f"data: {json.dumps(usage)}\n\n"
        yield "data: [DONE]\n\n"


class GarbageLLM:
    def __init__(self) -> None:
        self.mode = "html"
        self.calls = 0
        self.app = FastAPI()
        self.app.post("/v1/chat/completions")(self.complete)

    async def complete(self, request: Request) -> Response:
        self.calls += 1
        await request.body()
        if self.mode == "html":
            return PlainTextResponse("<html><body>502 Bad Gateway</body></html>", media_type="text/html")
        if self.mode == "bad_json":
            return Response("{'choices': [", media_type="application/json")
        return StreamingResponse(_stream(self.mode), media_type="text/event-stream")


@pytest.fixture(scope="module")
def garbage() -> Iterator[tuple[GarbageLLM, str]]:
    llm = GarbageLLM()
    with serve(llm.app) as base:
        yield llm, f"{base}/v1"


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory, fixture_bundle: KnowledgeBundle, minilm: Any,
           garbage: tuple[GarbageLLM, str]) -> Iterator[TestClient]:
    planner = LangChainPlanner.openai(api_key="sk-test", model="garbage-1", base_url=garbage[1], timeout_s=2.0,
                                      max_retries=0, prompts_dir=Settings().prompts_dir, brand="Fixture House")
    with running_app(tmp_path_factory.mktemp("llmfault"), fixture_bundle, minilm, llm=planner,
                     llm_usd_per_mtok_input=1.0, llm_usd_per_mtok_output=10.0) as (c, _):
        yield c


def _sample(text: str, name: str) -> float:
    return sum(float(line.rsplit(" ", 1)[1]) for line in text.splitlines()
               if line.startswith((name + " ", name + "{")))


@pytest.mark.parametrize("mode", ["html", "bad_json", "bad_sse", "truncated", "empty", "no_choices"])
def test_garbage_from_the_llm_gets_the_offline_answer(client: TestClient, garbage: tuple[GarbageLLM, str],
                                                      mode: str) -> None:
    llm, _ = garbage
    llm.mode, before_calls = mode, llm.calls
    before = _sample(client.get("/metrics").text, "skinsage_llm_fallbacks_total")
    r = client.post("/v1/chat", json={"text": "what does niacinamide do?"})
    assert r.status_code == 200 and llm.calls > before_calls   # the model was asked, and failed
    body = r.json()
    assert [t["name"] for t in body["tools"]] == ["ingredient_info"] and "pores" in body["reply"].lower()
    assert "cur" not in body["reply"].split() and "<html>" not in body["reply"]
    assert _sample(client.get("/metrics").text, "skinsage_llm_fallbacks_total") == before + 1


def test_a_stream_cut_off_mid_answer_is_replaced_whole_for_a_streaming_client(
        client: TestClient, garbage: tuple[GarbageLLM, str]) -> None:
    garbage[0].mode = "truncated"
    with client.stream("POST", "/v1/chat/stream", json={"text": "what does niacinamide do?"}) as r:
        raw = "".join(r.iter_text())
    events = [block.split("\n", 1) for block in raw.strip().split("\n\n")]
    kinds = [e[0].removeprefix("event: ") for e in events]
    done = json.loads(events[-1][1].removeprefix("data: "))
    assert kinds[-1] == "done" and "reset" in kinds   # what the model half-said was withdrawn
    tokens_after_reset = [json.loads(d.removeprefix("data: ")) for k, d in events[kinds.index("reset") + 1:-1]
                          if k == "event: token"]
    assert "".join(tokens_after_reset).strip() == done["reply"] and "ingredient_info" in str(done["tools"])


def test_tokens_and_cost_are_counted_when_the_server_reports_usage(client: TestClient,
                                                                   garbage: tuple[GarbageLLM, str]) -> None:
    garbage[0].mode = "usage"
    before = client.get("/metrics").text
    r = client.post("/v1/chat", json={"text": "tell me about niacinamide and pores"})
    assert r.status_code == 200 and "pores" in r.json()["reply"]
    after = client.get("/metrics").text
    tokens = _sample(after, "skinsage_llm_tokens_total") - _sample(before, "skinsage_llm_tokens_total")
    cost = _sample(after, "skinsage_llm_cost_usd_total") - _sample(before, "skinsage_llm_cost_usd_total")
    assert tokens == 1500
    assert cost == pytest.approx((1200 * 1.0 + 300 * 10.0) / 1_000_000)
