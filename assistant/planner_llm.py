"""The LLM planner: a LangChain chat model with tool calling, OpenAI or any OpenAI-compatible server.

The model chooses tools and writes the reply; the engine runs the tools (with their permission
checks) and applies every safety post-check to what the model wrote. Any failure here (timeout, 5xx,
garbage arguments, a loop) raises, and the engine answers with the offline planner instead.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any

from assistant.profile import Profile
from assistant.tools import REGISTRY, ToolContext, ToolResult
from assistant.types import TokenSink, ToolCall, Turn
from skinsage import metrics
from skinsage.errors import SkinSageError

log = logging.getLogger("skinsage.llm")


class LLMError(SkinSageError):
    """The language model failed to produce a usable answer."""


def tool_schemas(role: str) -> list[dict[str, Any]]:
    out = []
    for t in REGISTRY.values():
        if t.staff_only and role != "staff":
            continue
        params = t.args.model_json_schema()
        params.pop("title", None)
        out.append({"type": "function", "function": {"name": t.name, "description": t.description,
                                                     "parameters": params}})
    return out


def _profile_text(p: Profile) -> str:
    bits = [f"verified customer {p.first_name or ''}".strip() if p.customer_id else "guest (not verified)"]
    if p.skin_type:
        bits.append(f"skin type {p.skin_type}")
    if p.concerns:
        bits.append("concerns " + ", ".join(p.concerns))
    if p.avoid:
        bits.append("avoids " + ", ".join(p.avoid))
    if p.pregnant_or_breastfeeding:
        bits.append(p.pregnancy)
    return "; ".join(bits)


class LangChainPlanner:
    """Tool-calling loop over a LangChain chat model (ChatOpenAI by default)."""

    def __init__(self, model: Any, system_prompt: str, brand: str, max_steps: int = 4) -> None:
        self.model = model
        self.system_prompt = system_prompt
        self.brand = brand
        self.max_steps = max_steps
        self.name = f"llm:{getattr(model, 'model_name', None) or getattr(model, 'model', 'model')}"

    @classmethod
    def openai(cls, *, api_key: str, model: str, base_url: str | None, timeout_s: float, max_retries: int,
               prompts_dir: Path, brand: str) -> LangChainPlanner:
        from langchain_openai import ChatOpenAI

        chat = ChatOpenAI(model=model, api_key=api_key, base_url=base_url, timeout=timeout_s,  # type: ignore[arg-type]
                          max_retries=max_retries, temperature=0.2, streaming=True)
        return cls(chat, (prompts_dir / "system.md").read_text(encoding="utf-8"), brand)

    def respond(self, turn: Turn, profile: Profile, ctx: ToolContext,
                run: Callable[[str, dict[str, Any]], tuple[ToolCall, ToolResult | None]],
                sink: TokenSink | None = None) -> str:
        from langchain_core.messages import AIMessage, HumanMessage, SystemMessage, ToolMessage

        system = self.system_prompt.split("-->", 1)[-1].strip().format(
            brand=self.brand, profile=_profile_text(profile), today=ctx.today.isoformat())
        messages: list[Any] = [SystemMessage(system)]
        for h in turn.history[-12:]:
            messages.append(HumanMessage(h["text"]) if h.get("role") == "customer" else AIMessage(h.get("text", "")))
        messages.append(HumanMessage(turn.text))
        bound = self.model.bind_tools(tool_schemas(turn.role))
        for _ in range(self.max_steps):
            ai = self._call(bound, messages, sink)
            messages.append(ai)
            calls = list(ai.tool_calls or [])
            invalid = list(getattr(ai, "invalid_tool_calls", None) or [])
            if not calls and not invalid:
                text = ai.content if isinstance(ai.content, str) else "".join(
                    p.get("text", "") for p in ai.content if isinstance(p, dict))
                if not text.strip():
                    raise LLMError("the model returned an empty answer")
                return text
            for bad in invalid:
                log.warning("malformed tool call from the model: %s", bad.get("error"))
                messages.append(ToolMessage(content=json.dumps({"error": "arguments were not valid JSON"}),
                                            tool_call_id=bad.get("id") or "invalid", status="error"))
            for c in calls:
                call, res = run(c["name"], c.get("args") or {})
                body = {"ok": call.ok, "error": call.error} if res is None else {
                    "ok": True, "data": res.data, "citations": [x.label for x in res.citations]}
                messages.append(ToolMessage(content=json.dumps(body, default=str)[:12000], tool_call_id=c["id"]))
            if sink:
                sink.reset()   # text streamed before a tool call was thinking aloud, not the answer
        raise LLMError(f"no answer after {self.max_steps} tool rounds")

    @staticmethod
    def _call(bound: Any, messages: list[Any], sink: TokenSink | None) -> Any:
        try:
            full = None
            for chunk in bound.stream(messages):
                full = chunk if full is None else full + chunk
                if sink and isinstance(chunk.content, str) and chunk.content:
                    sink.token(chunk.content)
            if full is None:
                raise LLMError("the model stream was empty")
            meta = getattr(full, "response_metadata", None) or {}
            metrics.record_llm_usage(meta.get("model_name"), getattr(full, "usage_metadata", None))
            if meta.get("finish_reason") not in ("stop", "tool_calls"):   # cut off, length limit, filtered
                raise LLMError(f"the model stream did not finish (finish_reason={meta.get('finish_reason')!r})")
            return full
        except LLMError:
            raise
        except Exception as e:  # noqa: BLE001 - every client/transport failure becomes one error
            raise LLMError(f"{type(e).__name__}: {e}") from e
