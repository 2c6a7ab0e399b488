"""What the pipeline's throughput work must not break, on SQLite and PostgreSQL: `receive` shares
transactions between concurrent callers (group commit) yet every caller's message is durable when it
returns and a provider retry is still stored once, also when two processes race; a bad delivery in
a shared transaction loses nobody else's message; read-only use cases take no SQLite write lock; the
claim queries find their rows through indexes instead of scanning every message ever stored."""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator

import pytest
from sqlalchemy import event, func, select

from assistant.types import InboundMessage, Media
from opstore import StoreConfig
from opstore.errors import StoreError
from opstore.groupcommit import Slot
from opstore.models import Conversation, Message
from opstore.schemas import Received
from opstore.service import StoreService
from opstore.testing import EchoEngine, at_once, make_store


@pytest.fixture
def store(opstore_url: str) -> Iterator[StoreService]:
    s = make_store(opstore_url, config=StoreConfig())
    yield s
    s.close()


def sms(text: str, sid: str, user: str) -> InboundMessage:
    return InboundMessage(channel="sms", channel_user_id=user, text=text, provider_message_id=sid)


def count(store: StoreService, *where: object) -> int:
    assert store.database is not None
    with store.database.engine.connect() as c:
        return int(c.execute(select(func.count()).select_from(Message).where(*where)).scalar_one())  # type: ignore[arg-type]


def test_two_processes_racing_with_retries_store_each_provider_message_once(opstore_url: str) -> None:
    """Two API processes (two stores) get the same 12 deliveries at once, each 4 times: every
    delivery is acknowledged, with one message id per provider id, stored once."""
    a, b = make_store(opstore_url), make_store(opstore_url)
    try:
        def deliver(i: int) -> Received:
            n = i % 12
            return (a if i % 2 else b).receive(sms(f"q{n}", f"SM-{n}", f"+49151000000{n % 3:02d}"))

        results = at_once(deliver, 48)
        assert all(isinstance(r, Received) for r in results), [r for r in results if not isinstance(r, Received)]
        by_sid: dict[int, set[str]] = {}
        for i, r in enumerate(results):
            by_sid.setdefault(i % 12, set()).add(r.message_id)  # type: ignore[union-attr]
        assert all(len(ids) == 1 for ids in by_sid.values())
        assert sum(not r.duplicate for r in results) == 12  # type: ignore[union-attr]
        assert count(a, Message.direction == "in") == 12
        assert count(a, Message.id.in_({i for ids in by_sid.values() for i in ids})) == 12
    finally:
        a.close()
        b.close()


def test_every_acknowledged_message_is_committed_when_receive_returns(store: StoreService) -> None:
    """Another connection (as another process would) sees each message the moment `receive` returned."""
    assert store.database is not None
    seen: list[bool] = []
    lock = threading.Lock()

    def deliver(i: int) -> None:
        got = store.receive(sms(f"q{i}", f"SM-c{i}", f"+4915200000{i % 5:03d}"))
        with store.database.engine.connect() as c:  # type: ignore[union-attr]
            found = c.execute(select(Message.id).where(Message.id == got.message_id)).scalar_one_or_none()
        with lock:
            seen.append(found == got.message_id)

    at_once(deliver, 16)
    assert seen == [True] * 16


def test_a_bad_delivery_in_a_shared_transaction_loses_nobody_elses_message(store: StoreService) -> None:
    good = [Slot((sms(f"q{i}", f"SM-g{i}", f"+4915300000{i:03d}"), None)) for i in range(3)]
    broken = InboundMessage.model_construct(  # what validation would refuse: media that is not Media
        channel="sms", channel_user_id="+4915300000999", text="x", provider_message_id="SM-bad",
        display_name=None, verified_identity=None, media=[object()], received_at=good[0].item[0].received_at)
    bad: Slot[tuple[InboundMessage, None], Received] = Slot((broken, None))
    store._receive_batch([good[0], bad, good[1], good[2]])  # type: ignore[list-item]
    assert bad.done and bad.error is not None
    assert all(s.done and s.error is None and s.result is not None for s in good)
    assert count(store, Message.provider_message_id.in_(["SM-g0", "SM-g1", "SM-g2"])) == 3
    assert count(store, Message.provider_message_id == "SM-bad") == 0
    assert store.pending_inbound() and all(store.process(m, EchoEngine()).status == "answered"
                                           for m in store.pending_inbound())


def test_one_person_writing_fast_keeps_the_order_of_their_messages_in_a_shared_transaction(
        store: StoreService) -> None:
    slots = [Slot((sms(f"q{i}", f"SM-o{i}", "+4915400000001"), None)) for i in range(5)]
    store._receive_batch(slots)  # type: ignore[arg-type]
    engine = EchoEngine()
    for _ in range(5):
        (first,) = store.pending_inbound()  # one at a time: each waits for the one before it
        assert store.process(first, engine).status == "answered"
    assert [t.text for t in engine.turns] == [f"q{i}" for i in range(5)]
    assert count(store, Message.direction == "in") == 5
    assert store.database is not None
    with store.database.engine.connect() as c:
        assert c.execute(select(func.count()).select_from(Conversation)).scalar_one() == 1


def test_media_bytes_are_stored_with_the_message(store: StoreService) -> None:
    got = store.receive(InboundMessage(channel="sms", channel_user_id="+4915500000001", text="look",
                                       provider_message_id="SM-m1",
                                       media=[Media(content_type="image/jpeg", data=b"\xff\xd8photo")]))
    turn_media: list[bytes | None] = []

    class Capture(EchoEngine):
        def handle(self, turn):  # type: ignore[no-untyped-def]
            turn_media.extend(m.data for m in turn.media)
            return super().handle(turn)

    assert store.process(got.message_id, Capture()).status == "answered"
    assert turn_media == [b"\xff\xd8photo"]


def test_read_only_use_cases_do_not_wait_for_the_sqlite_writer(opstore_url: str) -> None:
    if not opstore_url.startswith("sqlite"):
        pytest.skip("SQLite's single write lock")
    store = make_store(opstore_url)
    try:
        store.receive(sms("hi", "SM-r1", "+4915600000001"))
        holder = sqlite3.connect(opstore_url.removeprefix("sqlite:///"), isolation_level=None)
        holder.execute("BEGIN IMMEDIATE")  # another process holds the write lock (busy_timeout is 30 s)
        try:
            out: list[object] = []
            t = threading.Thread(target=lambda: out.extend([
                len(store.pending_inbound()), store.identity.customer_for("sms", "+4915600000001"),
                store.last_inbound_at("sms", "+4915600000001") is not None,
                store.compliance.is_opted_out("sms", "+4915600000001")]))
            t.start()
            t.join(15)
            assert out == [1, None, True, False]
        finally:
            holder.execute("ROLLBACK")
            holder.close()
    finally:
        store.close()


def test_a_read_only_unit_of_work_refuses_to_write(store: StoreService) -> None:
    with pytest.raises(StoreError), store.ctx.reader() as uow:
        conv = Conversation(id="c-ro", channel="sms", channel_user_id="+1", status="bot", state={})
        uow.add(conv)
        uow.commit()


def test_reads_begin_deferred_and_writes_immediate_on_sqlite(opstore_url: str) -> None:
    if not opstore_url.startswith("sqlite"):
        pytest.skip("BEGIN modes are SQLite's")
    store = make_store(opstore_url)
    begins: list[str] = []
    assert store.database is not None

    @event.listens_for(store.database.engine, "before_cursor_execute")
    def _seen(conn, cursor, statement, *_):  # type: ignore[no-untyped-def]
        if statement.startswith("BEGIN"):
            begins.append(statement)

    try:
        got = store.receive(sms("hi", "SM-b1", "+4915700000001"))
        assert begins == ["BEGIN IMMEDIATE"]  # receive: exactly one transaction, a writing one
        begins.clear()
        store.pending_inbound()
        store.outbox.get("none")
        assert begins == ["BEGIN DEFERRED", "BEGIN DEFERRED"]
        begins.clear()
        store.process(got.message_id, EchoEngine())
        assert begins == ["BEGIN IMMEDIATE", "BEGIN IMMEDIATE"]  # claim, then record reply + outbox
    finally:
        store.close()


def test_the_claim_queries_look_other_messages_up_by_conversation_on_sqlite(store: StoreService,
                                                                            opstore_url: str) -> None:
    """Without statistics SQLite used to pick the (direction, status) index for the in-line check and
    scan every inbound message per candidate: claiming got slower with every message ever stored."""
    if not opstore_url.startswith("sqlite"):
        pytest.skip("SQLite's planner")
    assert store.database is not None
    seen: dict[str, tuple[str, object]] = {}

    @event.listens_for(store.database.engine, "before_cursor_execute")
    def _capture(conn, cursor, statement, parameters, *_):  # type: ignore[no-untyped-def]
        if statement.startswith(("SELECT messages.id", "UPDATE messages SET status=?, attempts")):
            seen[statement[:6]] = (statement, parameters)

    got = store.receive(sms("hi", "SM-p1", "+4915800000001"))
    store.pending_inbound()
    store.process(got.message_id, EchoEngine())
    assert set(seen) == {"SELECT", "UPDATE"}
    with store.database.engine.connect() as c:
        for statement, parameters in seen.values():
            plan = " | ".join(str(r[-1]) for r in c.exec_driver_sql(f"EXPLAIN QUERY PLAN {statement}", parameters))
            assert "ix_messages_conversation_id_created_at" in plan, plan
            assert "SCAN messages" not in plan, plan
