"""The outbox on SQLite and on a real PostgreSQL: a crash between answered and sent resends exactly
once, concurrent workers never double-send, failures back off and dead-letter, opt-outs hold."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import func, select

from assistant.types import InboundMessage
from opstore import StoreConfig
from opstore.models import OutboxRow
from opstore.service import StoreService
from opstore.testing import Clock, EchoEngine, RecordingSender, at_once, make_store

CONFIG = StoreConfig(outbox_max_attempts=3, outbox_backoff_base_s=2, outbox_backoff_max_s=60)


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def store(opstore_url: str, clock: Clock) -> Iterator[StoreService]:
    s = make_store(opstore_url, clock=clock, config=CONFIG)
    yield s
    s.close()


def answered(store: StoreService, text: str = "hi", sid: str = "SM1", user: str = "+4915100000001") -> str:
    got = store.receive(InboundMessage(channel="sms", channel_user_id=user, text=text, provider_message_id=sid))
    result = store.process(got.message_id, EchoEngine())
    assert result.status == "answered" and result.outbox_id
    return got.message_id


def test_a_crash_between_answered_and_sent_resends_exactly_once(opstore_url: str, clock: Clock) -> None:
    first_life = make_store(opstore_url, clock=clock, config=CONFIG)
    inbound = answered(first_life)
    report = first_life.outbox.deliver_due(RecordingSender(fail_first=1))   # the provider call fails ...
    assert report.failed == 1 and report.sent == 0
    first_life.close()                                                       # ... and the process dies

    second_life = make_store(opstore_url, clock=clock, config=CONFIG)       # restart
    assert second_life.pending_inbound() == []                               # already answered: not re-run
    assert second_life.process(inbound, EchoEngine()).status == "skipped"
    sender = RecordingSender()
    assert second_life.outbox.deliver_due(sender).claimed == 0              # backing off
    clock.advance(2)
    assert second_life.outbox.deliver_due(sender).sent == 1
    clock.advance(3600)
    assert second_life.outbox.deliver_due(sender).claimed == 0
    assert [p["text"] for _, _, p in sender.sent] == ["echo: hi"]
    second_life.close()


def test_a_worker_that_died_mid_send_is_covered_after_its_lease(store: StoreService, clock: Clock) -> None:
    answered(store)
    assert len(store.outbox.claim_due(worker_id="doomed")) == 1             # claimed, then the worker dies
    sender = RecordingSender()
    assert store.outbox.deliver_due(sender).claimed == 0
    clock.advance(store.config.processing_lease_s + 1)
    assert store.outbox.deliver_due(sender).sent == 1 and len(sender.sent) == 1


def test_concurrent_workers_never_send_a_row_twice(store: StoreService) -> None:
    rows = 120
    for i in range(rows):
        store.outbox.enqueue("telegram", f"chat-{i}", {"text": f"m{i}"}, dedupe_key=f"k{i}")
    sender = RecordingSender()

    def worker(n: int) -> None:
        while store.outbox.deliver_due(sender, limit=7, worker_id=f"w{n}").claimed:
            pass

    assert at_once(worker, 4) == [None] * 4
    texts = [p["text"] for _, _, p in sender.sent]
    assert len(texts) == rows and len(set(texts)) == rows


def test_a_channel_can_send_its_own_reply_at_once(store: StoreService) -> None:
    answered(store, "first", "SMa", user="+491")
    got = store.receive(InboundMessage(channel="web", channel_user_id="sess-9", text="hi", provider_message_id="c1"))
    outbox_id = store.process(got.message_id, EchoEngine()).outbox_id or ""
    sender = RecordingSender()
    assert store.outbox.deliver_due(sender, only=[outbox_id]).sent == 1
    assert [(c, r) for c, r, _ in sender.sent] == [("web", "sess-9")]             # the SMS reply waits


def test_enqueue_is_idempotent_on_its_dedupe_key(store: StoreService) -> None:
    a = store.outbox.enqueue("sms", "+491", {"text": "x"}, dedupe_key="reminder:cus-ana:FX-NIA-10:2026-11")
    b = store.outbox.enqueue("sms", "+491", {"text": "y"}, dedupe_key="reminder:cus-ana:FX-NIA-10:2026-11")
    assert a.id == b.id and b.payload == {"text": "x"}
    assert store.database is not None
    with store.database.engine.connect() as c:
        assert c.execute(select(func.count()).select_from(OutboxRow)).scalar_one() == 1


def test_failures_back_off_exponentially_then_dead_letter(store: StoreService, clock: Clock) -> None:
    got = store.receive(InboundMessage(channel="sms", channel_user_id="+491", text="hi", provider_message_id="SM9"))
    outbox_id = store.process(got.message_id, EchoEngine()).outbox_id or ""
    sender, t0 = RecordingSender(fail_first=99), clock.now
    assert store.outbox.deliver_due(sender).failed == 1
    row = store.outbox.get(outbox_id)
    assert row and row.status == "failed" and row.attempts == 1 and (row.next_attempt_at - t0).total_seconds() == 2
    clock.advance(1.9)
    assert store.outbox.deliver_due(sender).claimed == 0                      # not due yet
    clock.advance(0.1)
    assert store.outbox.deliver_due(sender).failed == 1
    row = store.outbox.get(outbox_id)
    assert row and (row.next_attempt_at - clock.now).total_seconds() == 4    # doubled
    clock.advance(4)
    assert store.outbox.deliver_due(sender).dead == 1                         # third attempt = max
    row = store.outbox.get(outbox_id)
    assert row and row.status == "dead" and row.attempts == 3 and "provider unreachable" in (row.last_error or "")
    clock.advance(3600)
    assert store.outbox.deliver_due(sender).claimed == 0 and sender.sent == []
    assert store.handoffs.transcript(got.conversation_id)[-1].status == "failed"


def test_an_opted_out_recipient_gets_nothing_until_they_opt_back_in(store: StoreService, clock: Clock) -> None:
    user = "+4915100000042"
    answered(store, "hi", "SM10", user=user)                                # a reply is waiting ...
    stop = store.receive(InboundMessage(channel="sms", channel_user_id=user, text=" STOP ", provider_message_id="SMs"))
    assert store.compliance.apply_keyword("sms", user, " STOP ") == "stop"  # ... when the customer says STOP
    confirmation = store.respond(stop.message_id, "You are unsubscribed.", ignore_opt_out=True)
    sender = RecordingSender()
    report = store.outbox.deliver_due(sender)
    assert report.suppressed == 1 and report.sent == 1
    assert [p["text"] for _, _, p in sender.sent] == ["You are unsubscribed."]
    assert (store.outbox.get(confirmation.outbox_id or "") or confirmation).status == "sent"
    clock.advance(1)
    assert store.compliance.apply_keyword("sms", user, "start") == "start"
    assert not store.compliance.is_opted_out("sms", user)
    answered(store, "back", "SM11", user=user)
    assert store.outbox.deliver_due(sender).sent == 1
    assert [a.action for a in store.compliance.audit_log(f"sms:{user}")] == ["opt_in", "opt_out"]


def test_delivery_callbacks_move_status_forward_only(store: StoreService) -> None:
    got = store.receive(InboundMessage(channel="whatsapp", channel_user_id="+491", text="hi", provider_message_id="SM12"))
    store.process(got.message_id, EchoEngine())
    store.outbox.deliver_due(RecordingSender())                                  # provider id P1
    assert store.outbox.update_delivery("P1", "delivered", channel="whatsapp") == 1
    assert store.outbox.update_delivery("P1", "sent") == 1                      # late callback
    assert store.handoffs.transcript(got.conversation_id)[-1].status == "delivered"
    store.outbox.update_delivery("P1", "read")
    assert store.handoffs.transcript(got.conversation_id)[-1].status == "read"
    assert store.outbox.update_delivery("P-unknown", "delivered") == 0
    assert store.outbox.update_delivery("P1", "bogus-status") == 0
