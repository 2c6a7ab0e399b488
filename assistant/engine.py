"""One turn, start to finish: understand, check safety, plan, run tools, compose, check again.

The planner (offline or LLM) only proposes. Everything that protects a customer (red flags, allergen
and pregnancy exclusions, order ownership, cosmetic wording) runs here in code, before and after it.
"""

from __future__ import annotations

import copy
import logging
import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from typing import Any, Protocol

from assistant.composer import Composer
from assistant.planner import Plan
from assistant.planner_offline import OfflinePlanner
from assistant.profile import Profile, effective_profile
from assistant.safety import cosmetic_language, looks_like_injection, red_flags, unsafe_skus
from assistant.slots import FIRST_PERSON, Slots, extract
from assistant.tools import ToolContext, ToolResult, run_tool
from assistant.types import Citation, ProductCard, Reply, TokenSink, ToolCall, Turn
from commerce.reminders import ReminderStore
from graph.model import Customer
from graph.store import GraphStore
from skinsage import metrics
from skinsage.errors import GraphUnavailable, NotFound, SkinSageError
from skinsage.logging import conversation_context

log = logging.getLogger("skinsage.assistant")

MAX_TEXT = 4000
_PREGNANCY_Q = re.compile(r"\b(pregnan\w*|breast-?\s?feed\w*|nursing|expecting)\b", re.I)
_QUICK = {
    "greeting": ["Recommend a product", "Where is my order?", "Ask about an ingredient"],
    "recommend": ["Check my routine", "Set a restock reminder", "Talk to a person"],
    "ask_order_contact": [], "search": ["Talk to a person"], "fallback": ["Talk to a person"],
    "concern": ["Yes, suggest products"], "photo": ["Yes, suggest products"],
    "routine_built": ["Set a restock reminder", "Talk to a person"],
}


class LLMPlanner(Protocol):
    name: str

    def respond(self, turn: Turn, profile: Profile, ctx: ToolContext,
                run: Callable[[str, dict[str, Any]], tuple[ToolCall, ToolResult | None]],
                sink: TokenSink | None = None) -> str: ...


class _Recorder:
    """Passes tokens on and remembers what the customer has seen so far."""

    def __init__(self, sink: TokenSink) -> None:
        self.sink, self.text = sink, ""

    def token(self, text: str) -> None:
        self.text += text
        self.sink.token(text)

    def reset(self) -> None:
        self.text = ""
        self.sink.reset()


@dataclass
class _Outcome:
    calls: list[ToolCall]
    results: list[tuple[str, ToolResult]]


class Assistant:
    def __init__(self, graph: GraphStore, planner: OfflinePlanner, composer: Composer, reminders: ReminderStore,
                 retriever: Any = None, photos: Any = None, llm: LLMPlanner | None = None,
                 currency: str = "EUR", today: Callable[[], date] = date.today,
                 reminder_days_before: int = 7, hours_note: Callable[[], str] | None = None,
                 purchases: Any = None) -> None:
        self.graph, self.offline, self.composer, self.reminders = graph, planner, composer, reminders
        self.retriever, self.photos, self.llm = retriever, photos, llm
        self.currency, self.today, self.reminder_days_before = currency, today, reminder_days_before
        self.hours_note = hours_note
        self.purchases = purchases  # commerce.collab.FittedPurchases (or None: no purchase signal)

    # --- the turn ------------------------------------------------------------------------------
    def handle(self, turn: Turn, sink: TokenSink | None = None) -> Reply:
        """Answer one turn. With a `sink`, the reply text is streamed as it is produced."""
        recorder = _Recorder(sink) if sink is not None else None
        started = time.perf_counter()
        with conversation_context(turn.conversation_id):   # every log line of this turn carries it
            try:
                reply = self._handle(turn, recorder)
            except GraphUnavailable as e:   # say so plainly and keep the conversation moving (issue 12)
                log.warning("knowledge graph unavailable, degraded reply: %s", e)
                reply = Reply(text=self.composer.render("knowledge_unavailable"), planner="degraded",
                              safety=["graph_unavailable"],
                              state=copy.deepcopy(turn.state))
        metrics.record_turn(reply, time.perf_counter() - started)
        if recorder is not None and recorder.text.strip() != reply.text.strip():
            # offline replies stream word by word; an LLM reply the post-checks changed is re-sent whole
            if recorder.text:
                recorder.reset()
            for piece in re.findall(r"\S+\s*", reply.text):
                recorder.token(piece)
        return reply

    def _handle(self, turn: Turn, sink: TokenSink | None) -> Reply:
        state = copy.deepcopy(turn.state)
        text = (turn.text or "").strip()[:MAX_TEXT]
        has_photo = any(m.content_type.startswith("image/") and m.data for m in turn.media)
        customer = None
        if turn.customer_id:
            try:
                customer = self.graph.customer(turn.customer_id, order_limit=1).customer
            except NotFound:
                customer = None
        slots = extract(text, self.graph) if text else Slots()
        self._remember_told(text, slots, state)
        profile = effective_profile(customer, state)
        ctx = ToolContext(graph=self.graph, profile=profile, reminders=self.reminders, role=turn.role,
                          retriever=self.retriever, photos=self.photos, media=list(turn.media), today=self.today(),
                          currency=self.currency, reminder_days_before=self.reminder_days_before,
                          purchases=self.purchases)

        flags = red_flags(text)
        if flags:
            call, res = run_tool(ctx, "handoff_to_human", {"reason": f"safety: {flags[0].kind}"})
            reply = Reply(text=self.composer.render(f"red_flag_{flags[0].urgency}", p=profile), tools=[call],
                          handoff=True, handoff_reason=res.handoff_reason if res else f"safety: {flags[0].kind}",
                          safety=[f"red_flag:{f.kind}" for f in flags], state=self._next_state(state, None, "red_flag", {}))
            return reply
        if not text and not has_photo:
            return Reply(text=self.composer.render("fallback", p=profile), state=state, quick_replies=_QUICK["fallback"])
        if looks_like_injection(text):
            return Reply(text=self.composer.render("injection", p=profile), safety=["prompt_injection"],
                         state=self._next_state(state, None, "injection", {}))

        if self.llm is not None:
            before = copy.deepcopy(state)
            try:
                return self._llm_turn(turn, text, profile, ctx, state, sink, customer)
            except Exception as e:  # noqa: BLE001 - any LLM failure falls back to the offline planner
                log.warning("LLM planner failed, using the offline planner: %s", e)
                metrics.LLM_FALLBACKS.inc()
                if sink is not None:
                    sink.reset()
                state, ctx.profile = before, profile   # the failed attempt leaves no trace
        plan = self.offline.plan(text, slots, profile, state, role=turn.role, has_photo=has_photo)
        return self._run_plan(plan, ctx, state, text, customer)

    # --- offline path --------------------------------------------------------------------------
    def _run_plan(self, plan: Plan, ctx: ToolContext, state: dict[str, Any], plan_text: str,
                  customer: Customer | None) -> Reply:
        outcome = _Outcome([], [])
        for step in plan.steps:
            self._run(outcome, ctx, state, customer, step.tool, {k: v for k, v in step.args.items() if v is not None})
        profile = ctx.profile
        data = {name: res.data for name, res in outcome.results}
        errors = [c.error for c in outcome.calls if not c.ok and c.error]
        if any(e.startswith("GraphUnavailable") for e in errors):   # never show a driver error to a customer
            raise GraphUnavailable(errors[0])
        template = plan.template or "fallback"
        failed = bool(plan.steps) and not outcome.results
        if failed:
            template = "tool_error" if errors and not errors[0].startswith(("invalid arguments", "GraphError")) else "fallback"
        elif template == "search" and not data.get("search_knowledge", {}).get("hits"):
            failed = True
        hours = self.hours_note() if self.hours_note else ""
        text = self.composer.render(template, r=data, rs=[(n, r.data) for n, r in outcome.results], errors=errors,
                                    p=profile, hours=hours, asked_pregnancy=bool(_PREGNANCY_Q.search(plan_text)))
        handoff_reason = next((r.handoff_reason for _, r in outcome.results if r.handoff_reason), None)
        failures = state.get("failures", 0) + 1 if failed or plan.confidence < 0.35 else 0
        safety: list[str] = []
        if failures >= 2 and not handoff_reason:
            handoff_reason = "assistant unsure twice"
            call, _ = run_tool(ctx, "handoff_to_human", {"reason": handoff_reason})
            outcome.calls.append(call)
            text += "\n\n" + self.composer.render("handoff", p=profile, hours=hours)
            failures = 0
        state["failures"] = failures
        if plan.notes.get("pending_profile"):
            state["pending_profile"] = plan.notes["pending_profile"]
        elif plan.intent == "profile_confirm":
            state.pop("pending_profile", None)
        return self._finish(text, outcome, plan.quick_replies or _QUICK.get(template, []), handoff_reason,
                            "offline", self._next_state(state, plan.pending, plan.intent, plan.notes.get("slots", {})),
                            ctx, safety)

    def _run(self, outcome: _Outcome, ctx: ToolContext, state: dict[str, Any], customer: Customer | None,
             name: str, args: dict[str, Any]) -> tuple[ToolCall, ToolResult | None]:
        """Run one tool for either planner; what it learnt about the customer lands in the conversation
        state, and the profile the next tool sees is derived from that state."""
        call, res = run_tool(ctx, name, args)
        outcome.calls.append(call)
        if res is not None:
            outcome.results.append((name, res))
            if res.profile_changes:
                self._apply_profile(res, state)
                ctx.profile = effective_profile(customer, state)
        return call, res

    # --- LLM path ------------------------------------------------------------------------------
    def _llm_turn(self, turn: Turn, text: str, profile: Profile, ctx: ToolContext, state: dict[str, Any],
                  sink: TokenSink | None, customer: Customer | None) -> Reply:
        assert self.llm is not None
        outcome = _Outcome([], [])

        def run(name: str, args: dict[str, Any]) -> tuple[ToolCall, ToolResult | None]:
            return self._run(outcome, ctx, state, customer, name, args)

        answer = self.llm.respond(turn.model_copy(update={"text": text}), profile, ctx, run, sink)
        handoff_reason = next((r.handoff_reason for _, r in outcome.results if r.handoff_reason), None)
        return self._finish(answer, outcome, [], handoff_reason, self.llm.name,
                            self._next_state(state, None, "llm", {}), ctx, [])

    # --- shared ending: post-checks that no planner can skip -----------------------------------
    def _finish(self, text: str, outcome: _Outcome, quick: list[str], handoff_reason: str | None, planner: str,
                state: dict[str, Any], ctx: ToolContext, safety: list[str]) -> Reply:
        cards: list[ProductCard] = []
        for _, res in outcome.results:
            for card in res.products:
                if card.sku not in {c.sku for c in cards}:
                    cards.append(card)
        safe_cards = self._safe_cards(cards, ctx.profile)
        if len(safe_cards) < len(cards):
            safety.append(f"removed_unsafe_products:{len(cards) - len(safe_cards)}")
            for bad in {c.sku for c in cards} - {c.sku for c in safe_cards}:
                text = "\n".join(line for line in text.splitlines() if bad not in line and
                                 next(c.name for c in cards if c.sku == bad) not in line)
        text, rewritten = cosmetic_language(text)
        if rewritten:
            safety.append("cosmetic_language")
        citations: list[Citation] = []
        for _, res in outcome.results:
            for c in res.citations:
                if (c.kind, c.label) not in {(x.kind, x.label) for x in citations}:
                    citations.append(c)
        return Reply(text=text.strip() or self.composer.render("fallback", p=ctx.profile), quick_replies=quick,
                     products=safe_cards, citations=citations[:8], tools=outcome.calls,
                     handoff=handoff_reason is not None, handoff_reason=handoff_reason, planner=planner,
                     state=state, safety=safety)

    def _safe_cards(self, cards: list[ProductCard], profile: Profile) -> list[ProductCard]:
        if not cards:
            return cards
        try:
            flags = self.graph.ingredient_safety([c.sku for c in cards])
        except SkinSageError:
            return []   # cannot check, so show nothing rather than something unchecked
        unsafe = unsafe_skus(flags, set(profile.avoid), profile.pregnant_or_breastfeeding)
        return [c for c in cards if c.sku in flags and c.sku not in unsafe]   # unknown lists are not shown

    # --- memory --------------------------------------------------------------------------------
    @staticmethod
    def _remember_told(text: str, slots: Slots, state: dict[str, Any]) -> None:
        told = state.setdefault("profile", {})
        awaiting = (state.get("pending") or {}).get("awaiting")
        if awaiting == "skin_type" and slots.skin_types:   # the answer to our own question
            told["skin_type"] = slots.skin_types[0]
        if awaiting == "concern" and slots.concerns:
            told["concerns"] = list(dict.fromkeys([*slots.concerns, *(told.get("concerns") or [])]))
        if slots.allergies:   # safety first: an allergy counts from the moment it is said
            told["avoid"] = list(dict.fromkeys([*(told.get("avoid") or []), *slots.allergies]))
        first_person = bool(FIRST_PERSON.search(text))
        if slots.pregnancy and (first_person or slots.pregnancy == "breastfeeding" or re.search(r"\bwhile\b", text, re.I)):
            told["pregnancy"] = slots.pregnancy
        if first_person and slots.skin_types:
            told["skin_type"] = slots.skin_types[0]
        if first_person and slots.concerns:
            told["concerns"] = list(dict.fromkeys([*slots.concerns, *(told.get("concerns") or [])]))

    @staticmethod
    def _apply_profile(res: ToolResult, state: dict[str, Any]) -> None:
        ch = res.profile_changes
        if not ch:
            return
        told = state.setdefault("profile", {})
        for key in ("skin_type", "pregnancy"):
            if key in ch:
                told[key] = ch[key]
        if "concerns" in ch:
            told["concerns"] = list(dict.fromkeys([*ch["concerns"], *(told.get("concerns") or [])]))
        if "avoid" in ch:   # allergies only ever add up
            told["avoid"] = list(dict.fromkeys([*(told.get("avoid") or []), *ch["avoid"]]))

    @staticmethod
    def _next_state(state: dict[str, Any], pending: dict[str, Any] | None, intent: str,
                    slots: dict[str, Any]) -> dict[str, Any]:
        out = dict(state)
        if pending:
            out["pending"] = pending
        else:
            out.pop("pending", None)
        if intent in ("recommend", "routine_build") and not pending:
            out["last_recommend"] = {k: v for k, v in slots.items() if k in ("skin_types", "concerns")}
        if intent not in ("red_flag", "injection", "greeting", "thanks_bye"):
            out["last_intent"] = intent
            out["last_slots"] = {k: v for k, v in slots.items() if k in ("skin_types", "concerns", "category",
                                                                            "ingredients", "max_price")}
        return out
