"""The engine as customers meet it with the console on: ratings, brand rules, the wait notice. Fakes only."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from assistant.types import Citation, Reply, ToolCall, Turn
from console.engine import ConsoleAwareEngine
from console.rules import DEFAULT_RULES_PATH, HandoffRules, load_rules

OPEN = datetime(2026, 11, 26, 9, 0, tzinfo=UTC)      # Thursday 10:00 Berlin
CLOSED = datetime(2026, 11, 26, 19, 0, tzinfo=UTC)   # Thursday 20:00 Berlin


class FakeDesk:
    def __init__(self, waiting: int = 0, online: int = 1) -> None:
        self.waiting, self.online = waiting, online
        self.ratings: list[tuple[str, str, str, int]] = []

    def queue_snapshot(self) -> tuple[int, int]:
        return self.waiting, self.online

    def record_csat(self, handoff_id: str, conversation_id: str, channel: str, score: int) -> bool:
        self.ratings.append((handoff_id, conversation_id, channel, score))
        return True


class ScriptedEngine:
    def __init__(self, reply: Reply) -> None:
        self.reply, self.turns = reply, []  # type: ignore[var-annotated]

    def handle(self, turn: Turn) -> Reply:
        self.turns.append(turn)
        return self.reply


class FakeOrder:
    def __init__(self, total: float) -> None:
        self.order = type("O", (), {"total": total})()


class FakeGraph:
    def __init__(self, totals: dict[str, float]) -> None:
        self.totals = totals

    def order(self, order_id: str) -> Any:
        return FakeOrder(self.totals[order_id])


@pytest.fixture(scope="module")
def rules() -> HandoffRules:
    return load_rules(DEFAULT_RULES_PATH)


def turn(text: str, state: dict[str, Any] | None = None) -> Turn:
    return Turn(conversation_id="c1", channel="telegram", text=text, state=state or {})


def test_a_rating_after_hand_back_is_recorded_not_answered(rules: HandoffRules) -> None:
    desk, inner = FakeDesk(), ScriptedEngine(Reply(text="bot"))
    engine = ConsoleAwareEngine(inner, desk, rules, clock=lambda: OPEN)
    reply = engine.handle(turn("4", {"csat_pending": "h1", "turns": 3}))
    assert desk.ratings == [("h1", "c1", "telegram", 4)] and inner.turns == []
    assert reply.text == rules.messages.csat_thanks and reply.state == {"turns": 3}


def test_anything_else_after_hand_back_goes_to_the_bot_and_drops_the_rating_request(rules: HandoffRules) -> None:
    desk, inner = FakeDesk(), ScriptedEngine(Reply(text="Niacinamide helps with pores.", state={"x": 1}))
    reply = ConsoleAwareEngine(inner, desk, rules, clock=lambda: OPEN).handle(
        turn("what is niacinamide?", {"csat_pending": "h1"}))
    assert desk.ratings == [] and reply.text == "Niacinamide helps with pores."
    assert "csat_pending" not in inner.turns[0].state


def test_an_answer_to_the_bots_survey_is_thanked_and_a_number_in_passing_is_not(rules: HandoffRules) -> None:
    surveyed = {"c1"}
    answers: list[tuple[str, str]] = []

    def survey(conversation_id: str, text: str) -> int | None:
        answers.append((conversation_id, text))
        return 5 if conversation_id in surveyed and text.strip() == "5" else None

    inner = ScriptedEngine(Reply(text="bot"))
    engine = ConsoleAwareEngine(inner, FakeDesk(), rules, clock=lambda: OPEN, survey=survey)
    assert engine.handle(turn("5")).text == rules.messages.csat_thanks and inner.turns == []
    assert engine.handle(turn("I have 5 spots on my chin")).text == "bot"
    assert answers == [("c1", "5"), ("c1", "I have 5 spots on my chin")]


def test_a_handoff_tells_the_customer_roughly_when(rules: HandoffRules) -> None:
    inner = ScriptedEngine(Reply(text="Passing you to a person.", handoff=True,
                                 handoff_reason="customer asked for a person"))
    reply = ConsoleAwareEngine(inner, FakeDesk(waiting=1, online=1), rules, clock=lambda: OPEN).handle(turn("human"))
    assert reply.text.startswith("Passing you to a person.") and "about 12 minutes" in reply.text
    night = ConsoleAwareEngine(inner, FakeDesk(online=0), rules, clock=lambda: CLOSED).handle(turn("human"))
    assert "tomorrow at 09:00" in night.text


def test_a_big_order_goes_to_a_person_once_per_conversation(rules: HandoffRules) -> None:
    looked_up = Reply(text="Order SS-9 is shipped.", tools=[ToolCall(name="lookup_order")],
                      citations=[Citation(kind="order", label="Order SS-9", ref="SS-9")], state={"k": 1})
    engine = ConsoleAwareEngine(ScriptedEngine(looked_up), FakeDesk(), rules, FakeGraph({"SS-9": 320.0}),  # type: ignore[arg-type]
                                clock=lambda: OPEN)
    first = engine.handle(turn("where is my order SS-9"))
    assert first.handoff and first.handoff_reason == "brand rule: order over 250"
    assert first.state["brand_rules_fired"] == ["high_value_order"] and first.state["k"] == 1
    again = engine.handle(turn("where is my order SS-9", first.state))
    assert not again.handoff


def test_a_small_order_stays_with_the_bot(rules: HandoffRules) -> None:
    looked_up = Reply(text="Order SS-8 is shipped.", tools=[ToolCall(name="lookup_order")],
                      citations=[Citation(kind="order", label="Order SS-8", ref="SS-8")])
    engine = ConsoleAwareEngine(ScriptedEngine(looked_up), FakeDesk(), rules, FakeGraph({"SS-8": 45.0}),  # type: ignore[arg-type]
                                clock=lambda: OPEN)
    reply = engine.handle(turn("where is my order SS-8"))
    assert not reply.handoff and reply.text == "Order SS-8 is shipped."


def test_a_failed_tool_does_not_count_for_a_brand_rule(rules: HandoffRules) -> None:
    failed = Reply(text="I can't find that order.", tools=[ToolCall(name="lookup_order", ok=False, error="no")])
    vip_rules = rules.model_copy(update={"customer_tags": {"vip": ["cus-ana"]}})
    engine = ConsoleAwareEngine(ScriptedEngine(failed), FakeDesk(), vip_rules, clock=lambda: OPEN)
    t = turn("where is my order").model_copy(update={"customer_id": "cus-ana"})
    assert not engine.handle(t).handoff


def test_live_hub_fans_store_events_out_to_open_streams_from_any_thread() -> None:
    import asyncio
    import threading

    from console.live import LiveHub
    from opstore.schemas import StoreEvent

    hub = LiveHub()

    async def scenario() -> list[str]:
        stream = hub.stream(heartbeat_s=5)
        frames = [await stream.__anext__()]                      # retry hint: subscribed now
        thread = threading.Thread(target=hub.publish, args=(StoreEvent(kind="agent_message", conversation_id="c9"),))
        thread.start()
        frames.append(await asyncio.wait_for(stream.__anext__(), timeout=5))
        thread.join()
        await stream.aclose()
        return frames

    frames = asyncio.run(scenario())
    assert frames[0].startswith("retry:") and frames[1].startswith("event: store\ndata: ")
    assert '"conversation_id": "c9"' in frames[1] and hub.listeners == 0   # closed streams unsubscribe
