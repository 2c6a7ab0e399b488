"""The engine as customers meet it once the console runs: around the assistant, not inside it.

Three things happen here, so the assistant itself stays free of queue and opening-hours knowledge:
- a rating (`4`, `5 stars`) right after an agent handed back, or in answer to the bot's end-of-
  conversation survey (proactive/quality.py), is recorded as CSAT and thanked;
- the brand's handoff rules (VIP tag, order value, refund ...) can send a turn to a person;
- every reply that hands over tells the customer what happens next: inside business hours that a
  person is coming and roughly when (queue length, agents online); outside, when the team is back
  and what to write now so the agent can help straight away.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any, Protocol

from assistant.types import Reply, TokenSink, ToolCall, Turn, utcnow
from console.rules import (
    HandoffRules,
    TurnFacts,
    cheap_match,
    handoff_notice,
    matching_rule,
    parse_csat,
)
from graph.store import GraphStore
from skinsage.errors import SkinSageError

FIRED = "brand_rules_fired"


class DeskPort(Protocol):
    """What the wrapper needs from the console desk (a fake in unit tests)."""

    def queue_snapshot(self) -> tuple[int, int]: ...

    def record_csat(self, handoff_id: str, conversation_id: str, channel: str, score: int) -> bool: ...


class ConsoleAwareEngine:
    def __init__(self, inner: Any, desk: DeskPort, rules: HandoffRules, graph: GraphStore | None = None,
                 clock: Callable[[], datetime] = utcnow,
                 survey: Callable[[str, str], int | None] | None = None) -> None:
        self.inner, self.desk, self.rules, self.graph, self.clock = inner, desk, rules, graph, clock
        self.survey = survey   # (conversation id, text) -> score if it answered the bot's survey

    def __getattr__(self, name: str) -> Any:  # the wrapped engine's fields (reminders, retriever ...) stay reachable
        if name == "inner":
            raise AttributeError(name)
        return getattr(self.inner, name)

    def handle(self, turn: Turn, sink: TokenSink | None = None) -> Reply:
        pending = turn.state.get("csat_pending")
        if pending:
            state = {k: v for k, v in turn.state.items() if k != "csat_pending"}
            score = parse_csat(turn.text)
            if score is not None:
                self.desk.record_csat(str(pending), turn.conversation_id, turn.channel, score)
                reply = Reply(text=self.rules.messages.csat_thanks, state=state, planner="system",
                              tools=[ToolCall(name="record_csat", args={"score": score})])
                if sink is not None:
                    sink.token(reply.text)
                return reply
            turn = turn.model_copy(update={"state": state})   # not a rating: an ordinary message
        elif self.survey is not None and self.survey(turn.conversation_id, turn.text) is not None:
            reply = Reply(text=self.rules.messages.csat_thanks, state=turn.state, planner="system",
                          tools=[ToolCall(name="record_csat", args={"survey": "conversation"})])
            if sink is not None:
                sink.token(reply.text)
            return reply
        reply = self.inner.handle(turn, sink) if sink is not None else self.inner.handle(turn)
        if not reply.handoff:
            reply = self._brand_rules(turn, reply)
        if reply.handoff:
            category = self.rules.classify(reply.handoff_reason or "")[0]
            ahead, online = self.desk.queue_snapshot()
            notice = handoff_notice(self.rules, self.clock(), category, ahead, online)
            if sink is not None:
                sink.token("\n\n" + notice)
            reply = reply.model_copy(update={"text": f"{reply.text.rstrip()}\n\n{notice}"})
        return reply

    def _brand_rules(self, turn: Turn, reply: Reply) -> Reply:
        already = list(reply.state.get(FIRED) or turn.state.get(FIRED) or [])
        tools = {c.name for c in reply.tools if c.ok}
        candidates = [r for r in self.rules.brand_rules
                      if r.name not in already and cheap_match(r, turn.text or "", tools)]
        if not candidates:
            return reply
        facts = TurnFacts(text=turn.text or "", tools=tools, order_totals=self._order_totals(reply))
        if turn.customer_id and any(r.needs_customer for r in candidates):
            self._customer_facts(turn.customer_id, facts)
        rule = matching_rule(candidates, facts, already)
        if rule is None:
            return reply
        state = {**reply.state, FIRED: [*already, rule.name]}
        return reply.model_copy(update={"handoff": True, "handoff_reason": rule.reason, "state": state,
                                        "tools": [*reply.tools, ToolCall(name="handoff_to_human",
                                                                         args={"reason": rule.reason})]})

    def _order_totals(self, reply: Reply) -> list[float]:
        if self.graph is None:
            return []
        totals = []
        for c in reply.citations:
            if c.kind == "order" and c.ref:
                try:
                    totals.append(self.graph.order(c.ref).order.total)
                except SkinSageError:
                    continue
        return totals

    def _customer_facts(self, customer_id: str, facts: TurnFacts) -> None:
        facts.customer_tags = {tag for tag, ids in self.rules.customer_tags.items() if customer_id in ids}
        if self.graph is None:
            return
        try:
            found = self.graph.customer(customer_id, order_limit=200)
        except SkinSageError:
            return
        facts.customer_tags |= {str(t).lower() for t in getattr(found.customer, "tags", None) or []}
        facts.lifetime_value = sum(o.total for o in found.orders if o.status not in ("cancelled", "returned"))
