"""Several answer workers on one operational store (issue 6, channel throughput): each message is
answered once and sent once, whoever races for it, and a dead worker's claims are taken over once
their lease lapses. SQLite here; the same tests run on PostgreSQL when it is reachable
(`opstore_url`, SKINSAGE_TEST_POSTGRES_URL). Each worker has its own `StoreService` (its own engine and
connection pool), as a separate `skinsage worker` process would."""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Iterator

import pytest
from sqlalchemy import func, select

from assistant.types import InboundMessage, Reply, Turn
from opstore import StoreConfig
from opstore.models import Message, OutboxRow
from opstore.outbox import SendPool
from opstore.service import StoreService
from opstore.testing import Clock, EchoEngine, RecordingSender, at_once, make_store
from opstore.worker import WorkerStats, run_once

LEASE_S = 60.0


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def workers(opstore_url: str, clock: Clock) -> Iterator[list[StoreService]]:
    config = StoreConfig(processing_lease_s=LEASE_S)
    stores = [make_store(opstore_url, clock=clock, config=config) for _ in range(2)]
    yield stores
    for s in stores:
        s.close()


def sms(i: int, user: str) -> InboundMessage:
    return InboundMessage(channel="sms", channel_user_id=user, text=f"question {i}", provider_message_id=f"SM{i:032x}")


def replies_per_question(store: StoreService) -> Counter[str | None]:
    assert store.database is not None
    with store.database.engine.connect() as c:
        rows = c.execute(select(Message.reply_to).where(Message.direction == "out")).scalars().all()
    return Counter(rows)


def outbox_statuses(store: StoreService) -> Counter[str]:
    assert store.database is not None
    with store.database.engine.connect() as c:
        return Counter(dict(c.execute(select(OutboxRow.status, func.count()).group_by(OutboxRow.status)).all()))


class Crash(BaseException):
    """What `kill -9` does to a worker mid-turn: nothing after it runs (not an engine error)."""


class CrashingEngine:
    def handle(self, turn: Turn) -> Reply:
        raise Crash()


def test_two_workers_racing_for_the_same_batch_answer_each_message_once(workers: list[StoreService]) -> None:
    ids = [workers[0].receive(sms(i, f"+49151000{i:05d}")).message_id for i in range(24)]   # one per person
    engines, senders = [EchoEngine(), EchoEngine()], [RecordingSender(), RecordingSender()]
    pools = [SendPool(4), SendPool(4)]

    def answer(w: int) -> int:
        batch = workers[w].answering.process_many(ids, engines[w], worker_id=f"worker-{w}")
        report = workers[w].outbox.send_claimed(senders[w], batch.outbox, batch.stopped, pool=pools[w])
        return report.sent

    sent = at_once(answer, 2)
    for pool in pools:
        pool.shutdown()
    assert not any(isinstance(s, BaseException) for s in sent), sent
    assert len(engines[0].turns) + len(engines[1].turns) == 24          # the engine ran once per message
    assert replies_per_question(workers[0]) == Counter({m: 1 for m in ids})
    texts = [p["text"] for s in senders for _, _, p in s.sent]
    assert sorted(texts) == sorted(f"echo: question {i}" for i in range(24))   # each reply sent once
    assert outbox_statuses(workers[0]) == Counter({"sent": 24})


def test_two_worker_loops_answer_every_conversation_once_and_in_order(workers: list[StoreService]) -> None:
    people = [f"+49151000{p:05d}" for p in range(5)]
    ids = [workers[0].receive(sms(i, people[i % 5])).message_id for i in range(40)]
    engines, senders = [EchoEngine(), EchoEngine()], [RecordingSender(), RecordingSender()]
    stats = [WorkerStats(), WorkerStats()]
    stop = threading.Event()

    def loop(w: int) -> None:
        while not stop.is_set() and sum(len(s.sent) for s in senders) < 40:
            run_once(workers[w], engines[w], senders[w], f"worker-{w}", stats[w], batch=10, answer_batch=4)

    threads = [threading.Thread(target=loop, args=(w,)) for w in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    stop.set()
    assert replies_per_question(workers[0]) == Counter({m: 1 for m in ids})
    sent = [(recipient, p["text"]) for s in senders for recipient, p in ((r, p) for _, r, p in s.sent)]
    assert len(sent) == len(set(sent)) == 40
    for person in people:   # slot memory counted each person's turns one after the other: in order, none lost
        turns = sorted(int(t.state.get("turns", 0)) for e in engines for t in e.turns
                       if t.conversation_id == _conversation_of(workers[0], person))
        assert turns == list(range(8))


def _conversation_of(store: StoreService, person: str) -> str:
    assert store.database is not None
    from opstore.models import Conversation

    with store.database.engine.connect() as c:
        return str(c.execute(select(Conversation.id).where(Conversation.channel_user_id == person)).scalar_one())


def test_a_crashed_workers_claims_are_taken_over_once_their_lease_lapses(workers: list[StoreService],
                                                                       clock: Clock) -> None:
    dead, alive = workers
    ids = [dead.receive(sms(i, f"+49151000{i:05d}")).message_id for i in range(6)]
    with pytest.raises(Crash):   # claimed all six, then died inside the engine
        dead.answering.process_many(ids, CrashingEngine(), worker_id="dead")

    engine, sender = EchoEngine(), RecordingSender()
    run_once(alive, engine, sender, "alive", WorkerStats())
    assert engine.turns == [] and sender.sent == []          # still leased to the dead worker
    clock.advance(LEASE_S + 1)
    run_once(alive, engine, sender, "alive", WorkerStats())
    assert len(engine.turns) == 6 and len(sender.sent) == 6
    assert replies_per_question(alive) == Counter({m: 1 for m in ids})


def test_replies_a_crashed_worker_recorded_but_never_sent_go_out_once_after_the_lease(
        workers: list[StoreService], clock: Clock) -> None:
    dead, alive = workers
    ids = [dead.receive(sms(i, f"+49151000{i:05d}")).message_id for i in range(5)]
    batch = dead.answering.process_many(ids, EchoEngine(), worker_id="dead")   # then killed before sending
    assert len(batch.outbox) == 5 and all(item.status == "sending" for item in batch.outbox)

    sender = RecordingSender()
    assert alive.outbox.deliver_due(sender, worker_id="alive").claimed == 0   # the dead worker's lease holds
    clock.advance(LEASE_S + 1)
    report = alive.outbox.deliver_due(sender, worker_id="alive", pool=SendPool(3))
    assert report.sent == 5 and len(sender.sent) == 5
    assert alive.outbox.deliver_due(sender, worker_id="alive").claimed == 0
    assert outbox_statuses(alive) == Counter({"sent": 5})
    # the dead worker coming back cannot mark what it no longer holds
    assert dead.outbox.mark_sent(batch.outbox[0], "SM-late") is False
