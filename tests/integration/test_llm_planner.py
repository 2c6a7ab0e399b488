"""The LLM planner through the real `openai` client (via LangChain) against a scripted local server."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from support.openai_stub import ScriptedOpenAI, serve_stub

from assistant.engine import Assistant
from assistant.planner_llm import LangChainPlanner
from assistant.types import Turn
from commerce.reminders import InMemoryReminderStore
from graph.embedded import EmbeddedGraphStore
from graph.model import KnowledgeBundle
from skinsage.bootstrap import build_assistant
from skinsage.settings import Settings


@pytest.fixture(scope="module")
def stub() -> Iterator[tuple[ScriptedOpenAI, str]]:
    with serve_stub() as s:
        yield s


@pytest.fixture(scope="module")
def engine(tmp_path_factory: pytest.TempPathFactory, fixture_bundle: KnowledgeBundle, minilm: Any,
           stub: tuple[ScriptedOpenAI, str]) -> Iterator[Assistant]:
    store = EmbeddedGraphStore(tmp_path_factory.mktemp("llm") / "g.lbdb")
    store.load(fixture_bundle)
    settings = Settings()
    llm = LangChainPlanner.openai(api_key="sk-test", model="stub-1", base_url=stub[1], timeout_s=1.0, max_retries=0,
                                  prompts_dir=settings.prompts_dir, brand="Fixture House")
    a = build_assistant(settings, store, encoder=minilm, reminders=InMemoryReminderStore(), llm=llm)
    assert isinstance(a, Assistant)
    yield a
    store.close()


def _tool(name: str, args: Any) -> dict[str, Any]:
    return {"name": name, "arguments": args if isinstance(args, str) else json.dumps(args)}


def ask(engine: Assistant, text: str, **kw: Any) -> Any:
    return engine.handle(Turn(conversation_id="l", channel="api", text=text, **kw))


def test_tool_call_then_grounded_answer(engine: Assistant, stub: tuple[ScriptedOpenAI, str]) -> None:
    server, _ = stub
    server.script = [{"tool_calls": [_tool("ingredient_info", {"ingredient": "niacinamide"})]},
                     {"content": "Niacinamide (vitamin B3) helps with enlarged pores."}]
    server.requests.clear()
    r = ask(engine, "what does niacinamide do?")
    assert r.planner == "llm:stub-1" and r.text.startswith("Niacinamide")
    assert [c.name for c in r.tools] == ["ingredient_info"] and r.tools[0].ok
    offered = {t["function"]["name"] for t in server.requests[0]["tools"]}
    assert "ingredient_info" in offered and "stock_forecast" not in offered     # staff tool hidden from customers
    tool_msg = next(m for m in server.requests[1]["messages"] if m["role"] == "tool")
    assert "enlarged-pores" in tool_msg["content"] or "enlarged pores" in tool_msg["content"].lower()
    assert r.citations and r.citations[0].kind == "graph"


def test_tokens_stream_as_they_arrive(engine: Assistant, stub: tuple[ScriptedOpenAI, str]) -> None:
    server, _ = stub
    server.script = [{"content": "Hello! How can I help with your skin today?"}]

    class Sink:
        parts: list[str] = []

        def token(self, t: str) -> None:
            self.parts.append(t)

        def reset(self) -> None:
            self.parts.clear()

    sink = Sink()
    r = engine.handle(Turn(conversation_id="l", channel="web", text="hello there"), sink)
    assert len(sink.parts) >= 3 and "".join(sink.parts) == r.text


@pytest.mark.parametrize("step", [{"sleep": 2.5}, {"status": 500}, {"status": 429}])
def test_a_dead_llm_falls_back_to_the_offline_planner(engine: Assistant, stub: tuple[ScriptedOpenAI, str],
                                                      step: dict[str, Any]) -> None:
    server, _ = stub
    server.script = [step]
    r = ask(engine, "what does niacinamide do?")
    assert r.planner == "offline" and [c.name for c in r.tools] == ["ingredient_info"]
    assert "enlarged pores" in r.text.lower()


def test_malformed_tool_arguments_are_answered_with_an_error_and_recovered(engine: Assistant,
                                                                         stub: tuple[ScriptedOpenAI, str]) -> None:
    server, _ = stub
    server.script = [{"tool_calls": [_tool("ingredient_info", '{ingredient: niacinamide,,}')]},
                     {"tool_calls": [_tool("ingredient_info", {"ingredient": "niacinamide"})]},
                     {"content": "Vitamin B3 helps with enlarged pores."}]
    server.requests.clear()
    r = ask(engine, "tell me about niacinamide")
    assert r.planner.startswith("llm") and r.text.startswith("Vitamin B3")
    errors = [m for m in server.requests[1]["messages"] if m["role"] == "tool"]
    assert errors and "not valid JSON" in errors[0]["content"]


def test_garbage_arguments_fail_validation_not_the_turn(engine: Assistant, stub: tuple[ScriptedOpenAI, str]) -> None:
    server, _ = stub
    server.script = [{"tool_calls": [_tool("recommend_products", {"limit": "lots", "max_price": -3})]},
                     {"content": "Could you tell me your skin type?"}]
    r = ask(engine, "recommend something")
    assert r.tools[0].name == "recommend_products" and not r.tools[0].ok and "invalid arguments" in r.tools[0].error


def test_permissions_hold_whatever_the_model_asks(engine: Assistant, stub: tuple[ScriptedOpenAI, str]) -> None:
    server, _ = stub
    server.script = [{"tool_calls": [_tool("lookup_order", {"order_id": "SS-1001"}),
                                     _tool("stock_forecast", {"product": "FX-NIA-10"})]},
                     {"content": "I couldn't find that order for you."}]
    r = ask(engine, "where is order SS-1001")
    by_name = {c.name: c for c in r.tools}
    assert not by_name["lookup_order"].ok and not by_name["stock_forecast"].ok
    assert "staff only" in (by_name["stock_forecast"].error or "")
    assert "DH123" not in r.text


def test_model_claims_and_unsafe_products_are_fixed_after_the_model(engine: Assistant,
                                                                    stub: tuple[ScriptedOpenAI, str]) -> None:
    server, _ = stub
    server.script = [{"tool_calls": [_tool("recommend_products", {"concerns": ["fine lines"], "skin_type": "dry"})]},
                     {"content": "This serum cures acne and treats rosacea."}]
    r = ask(engine, "I'm pregnant. Something for fine lines for my dry skin?")
    assert "cure" not in r.text.lower() and "cosmetic_language" in r.safety
    assert all(p.sku != "FX-RET-03" for p in r.products)
