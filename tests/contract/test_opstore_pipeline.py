"""The message pipeline's promises, on SQLite and on a real PostgreSQL: nothing lost, nothing
answered twice, provider retries deduplicated, a human-owned conversation never gets a bot answer."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import func, select

from assistant.types import InboundMessage, Media, Reply, Turn
from opstore import StoreConfig
from opstore.models import Message, OutboxRow
from opstore.schemas import Received
from opstore.service import StoreService
from opstore.testing import Clock, Directory, EchoEngine, at_once, make_store


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def store(opstore_url: str, clock: Clock) -> Iterator[StoreService]:
    s = make_store(opstore_url, clock=clock, config=StoreConfig(outbox_max_attempts=3, inbound_max_attempts=3))
    yield s
    s.close()


def sms(text: str, sid: str | None = None, user: str = "+4915100000001", **kw: object) -> InboundMessage:
    return InboundMessage(channel="sms", channel_user_id=user, text=text, provider_message_id=sid, **kw)  # type: ignore[arg-type]


def count(store: StoreService, model: type, *where: object) -> int:
    assert store.database is not None
    with store.database.engine.connect() as c:
        return int(c.execute(select(func.count()).select_from(model).where(*where)).scalar_one())  # type: ignore[arg-type]


def test_a_replayed_provider_id_is_stored_once_and_answered_once(store: StoreService) -> None:
    first = store.receive(sms("hello", "SM1"))
    again = store.receive(sms("hello", "SM1"))
    assert not first.duplicate and again.duplicate and again.message_id == first.message_id
    assert count(store, Message) == 1
    engine = EchoEngine()
    assert store.process(first.message_id, engine).status == "answered"
    store.receive(sms("hello", "SM1"))
    assert store.pending_inbound() == [] and len(engine.turns) == 1


def test_concurrent_deliveries_of_one_provider_message_store_one_row(store: StoreService) -> None:
    results = at_once(lambda _: store.receive(sms("hi", "SM-race", user="+4915100000099")), 6)
    assert all(isinstance(r, Received) for r in results)
    assert sorted(r.duplicate for r in results) == [False] + [True] * 5  # type: ignore[union-attr]
    assert len({r.message_id for r in results}) == 1 and count(store, Message) == 1  # type: ignore[union-attr]


def test_a_new_person_writing_fast_gets_one_conversation_and_every_message(store: StoreService,
                                                                          clock: Clock) -> None:
    results = at_once(lambda n: store.receive(sms(f"part {n}", f"SM-burst-{n}", user="+4915100000077")), 5)
    received = [r for r in results if isinstance(r, Received)]
    assert len(received) == 5 and len({r.conversation_id for r in received}) == 1
    assert not any(r.duplicate for r in received) and count(store, Message) == 5
    assert store.last_inbound_at("sms", "+4915100000077") == clock.now
    assert store.last_inbound_at("sms", "+4915100000078") is None


def test_the_message_is_persisted_before_processing_and_an_engine_failure_loses_nothing(
        store: StoreService, clock: Clock) -> None:
    got = store.receive(sms("where is my order?", "SM2", media=[Media(content_type="image/jpeg", data=b"\xff\xd8")]))
    assert store.pending_inbound() == [got.message_id]          # acknowledged, not yet answered
    broken = EchoEngine(fail_first=1)
    failed = store.process(got.message_id, broken)
    assert failed.status == "failed" and "engine exploded" in (failed.error or "")
    assert store.pending_inbound() == []                        # waits for its backoff
    clock.advance(60)
    assert store.pending_inbound() == [got.message_id]
    assert store.process(got.message_id, broken).status == "answered"
    assert broken.turns[-1].media[0].data == b"\xff\xd8"        # the photo survived the failure
    assert count(store, OutboxRow) == 1


def test_a_message_that_keeps_failing_stops_after_max_attempts(store: StoreService, clock: Clock) -> None:
    got = store.receive(sms("boom", "SM3"))
    engine = EchoEngine(fail_first=99)
    for _ in range(5):
        for mid in store.pending_inbound():
            store.process(mid, engine)
        clock.advance(3600)
    assert len(engine.turns) == 3 and store.pending_inbound() == []
    assert store.handoffs.transcript(got.conversation_id)[0].status == "failed"
    later = store.receive(sms("still there?", "SM3b"))                       # a dead message blocks nobody
    assert store.pending_inbound() == [later.message_id]


class DyingEngine:
    """The worker process dies while the engine thinks (SystemExit is not an engine error)."""

    def handle(self, turn: Turn) -> Reply:
        raise SystemExit(137)


def test_replies_keep_the_order_of_the_questions_in_a_conversation(store: StoreService, clock: Clock) -> None:
    engine = EchoEngine(fail_first=1)
    first = store.receive(sms("is retinol ok?", "SMo1"))
    clock.advance(0.001)
    second = store.receive(sms("I'm pregnant", "SMo2"))
    other = store.receive(sms("hello", "SMo3", user="+4915100000002"))
    assert store.pending_inbound() == [first.message_id, other.message_id]    # the second waits its turn
    assert store.process(second.message_id, engine).status == "skipped"
    assert store.process(first.message_id, engine).status == "failed"        # still first in line
    assert store.pending_inbound() == [other.message_id]
    clock.advance(60)
    assert store.process(first.message_id, engine).status == "answered"
    assert store.process(second.message_id, engine).status == "answered"
    assert [t.text for t in engine.turns] == ["is retinol ok?", "is retinol ok?", "I'm pregnant"]
    assert engine.turns[-1].state == {"turns": 1}


def test_a_message_the_channel_settles_itself_does_not_wait_in_line(store: StoreService) -> None:
    engine = EchoEngine()
    question = store.receive(sms("which serum?", "SMq"))
    store.process(question.message_id, engine)
    waiting = store.receive(sms("and for dry skin?", "SMr"))                 # not answered yet
    stop = store.receive(sms("STOP", "SMs"))
    settled = store.respond(stop.message_id, "You are unsubscribed.")
    assert settled.status == "answered" and settled.outbox_id
    assert store.pending_inbound() == [waiting.message_id]
    assert store.process(waiting.message_id, engine).status == "answered"
    assert engine.turns[-1].state == {"turns": 1}                           # slot memory untouched by the channel
    assert store.respond(stop.message_id, "again").status == "skipped"     # exactly once


def test_a_worker_that_died_mid_processing_is_recovered_after_the_lease(store: StoreService, clock: Clock) -> None:
    got = store.receive(sms("hi", "SM4"))
    with pytest.raises(SystemExit):
        store.process(got.message_id, DyingEngine())
    assert store.pending_inbound() == []                        # still leased to the dead worker
    assert store.process(got.message_id, EchoEngine()).status == "skipped"
    clock.advance(store.config.processing_lease_s + 1)
    assert store.pending_inbound() == [got.message_id]
    assert store.process(got.message_id, EchoEngine()).status == "answered"
    assert count(store, OutboxRow) == 1


def test_a_human_owned_conversation_gets_no_bot_answer_until_handed_back(store: StoreService) -> None:
    events: list[str] = []
    store.events.subscribe(lambda e: events.append(e.kind))
    engine = EchoEngine()
    first = store.receive(sms("I want a human please", "SM5"))
    answered = store.process(first.message_id, engine)
    assert answered.status == "answered" and answered.reply and answered.reply.handoff
    conv = store.handoffs.conversation(first.conversation_id)
    assert conv.status == "waiting_human" and conv.handoff_reason == "customer asked for a person"
    assert [c.id for c in store.handoffs.queue()] == [first.conversation_id]

    second = store.receive(sms("hello?", "SM6"))
    assert store.process(second.message_id, engine).status == "routed"
    assert len(engine.turns) == 1 and "inbound_for_human" in events
    assert store.handoffs.claim(first.conversation_id, "eva")
    assert not store.handoffs.claim(first.conversation_id, "max")     # already owned
    item = store.handoffs.post_agent_message(first.conversation_id, "eva", "Hi, Eva here")
    assert item.recipient == "+4915100000001" and item.payload["text"] == "Hi, Eva here"
    third = store.receive(sms("thanks", "SM7"))
    assert store.process(third.message_id, engine).status == "routed"
    assert not store.handoffs.resolve(first.conversation_id, "max")   # not max's conversation
    assert store.handoffs.resolve(first.conversation_id, "eva")
    fourth = store.receive(sms("one more question", "SM8"))
    assert store.process(fourth.message_id, engine).status == "answered"
    assert [m.author for m in store.handoffs.transcript(first.conversation_id)] == [
        "customer", "bot", "customer", "agent:eva", "customer", "customer", "bot"]


def test_a_verified_customer_is_silent_on_every_channel_while_a_person_owns_one(opstore_url: str) -> None:
    store = make_store(opstore_url, directory=Directory({"phone:+4915112345678": "cus-ana"}))
    tg = store.receive(InboundMessage(channel="telegram", channel_user_id="9001", text="human"))
    assert tg.customer_id is None                                      # unverified: anonymous
    code = store.identity.link_code_create("cus-ana")
    assert store.identity.link_code_redeem(code, "telegram", "9001") == "cus-ana"
    store.handoffs.request(tg.conversation_id, "customer asked for a person")
    wa = store.receive(InboundMessage(channel="whatsapp", channel_user_id="+4915112345678", text="hello",
                                      verified_identity="phone:+4915112345678"))
    assert wa.customer_id == "cus-ana"
    assert store.process(wa.message_id, EchoEngine()).status == "routed"
    store.close()


def test_history_and_memory_follow_a_verified_customer_across_channels(opstore_url: str) -> None:
    store = make_store(opstore_url, directory=Directory({"phone:+4915112345678": "cus-ana"}))
    engine = EchoEngine()
    wa = store.receive(InboundMessage(channel="whatsapp", channel_user_id="+4915112345678", text="my skin is oily",
                                      verified_identity="phone:+4915112345678"))
    store.process(wa.message_id, engine)
    web = store.receive(InboundMessage(channel="web", channel_user_id="sess-1", text="and acne",
                                       verified_identity="customer:cus-ana"))
    store.process(web.message_id, engine)
    turn = engine.turns[-1]
    assert turn.customer_id == "cus-ana"
    assert [h["text"] for h in turn.history] == ["my skin is oily", "echo: my skin is oily"]
    assert engine.turns[0].state == {} and store.handoffs.transcript(wa.conversation_id)[1].payload["tools"][0]["name"] == "echo"
    store.close()


def test_two_workers_processing_the_same_backlog_answer_each_message_once(store: StoreService) -> None:
    ids = [store.receive(sms(f"q{i}", f"SMW{i}", user=f"+49151{i:07d}")).message_id for i in range(20)]
    engine = EchoEngine()
    at_once(lambda _: [store.process(mid, engine) for mid in ids], 3)
    assert len(engine.turns) == 20 and count(store, OutboxRow) == 20
    assert count(store, Message, Message.direction == "in", Message.status == "answered") == 20
