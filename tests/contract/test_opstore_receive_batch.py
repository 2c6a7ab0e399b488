"""`receive` for a group of concurrent deliveries (`opstore.intake`), on SQLite and PostgreSQL: a
group decides every delivery as the per-delivery path would have one after another, and keeps
every promise of `receive` (retries stored once, one identity and one conversation per person,
verified proofs, media bytes, a bad delivery failing alone, a lost uniqueness race re-read)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import event, func, insert, select

from assistant.types import InboundMessage, Media
from opstore import StoreConfig
from opstore.db import make_engine
from opstore.groupcommit import Slot
from opstore.models import AuditEntry, ChannelIdentity, Conversation, Message, MessageMedia
from opstore.schemas import Received
from opstore.service import StoreService
from opstore.testing import Directory, EchoEngine, make_store

_Slot = Slot[tuple[InboundMessage, Any], Received]


@pytest.fixture
def store(opstore_url: str) -> Iterator[StoreService]:
    s = make_store(opstore_url, config=StoreConfig(),
                   directory=Directory({"phone:+4915600000001": "cus-ana"}))
    yield s
    s.close()


def sms(text: str, sid: str, user: str, **kw: Any) -> InboundMessage:
    return InboundMessage(channel="sms", channel_user_id=user, text=text, provider_message_id=sid, **kw)


def group(store: StoreService, *deliveries: InboundMessage) -> list[_Slot]:
    """What the group commit does with deliveries that arrive together: one `_receive_batch`."""
    slots: list[_Slot] = [
        Slot((d, store.identity.resolve_proof(d.verified_identity) if d.verified_identity else None))
        for d in deliveries]
    store._receive_batch(slots)  # type: ignore[arg-type]
    assert all(s.done for s in slots)
    return slots


def result(slot: _Slot) -> Received:
    assert slot.error is None, slot.error
    assert slot.result is not None
    return slot.result


def rows(store: StoreService, stmt: Any) -> list[Any]:
    assert store.database is not None
    with store.database.engine.connect() as c:
        return list(c.execute(stmt).all())


def test_a_retry_inside_one_group_is_stored_once_and_points_at_the_first(store: StoreService) -> None:
    first, retry, other = (result(s) for s in group(
        store, sms("hi", "SM-b1", "+4915600000010"), sms("hi", "SM-b1", "+4915600000010"),
        sms("yo", "SM-b2", "+4915600000011")))
    assert not first.duplicate and retry.duplicate and not other.duplicate
    assert (retry.message_id, retry.conversation_id) == (first.message_id, first.conversation_id)
    assert rows(store, select(func.count()).select_from(Message).where(
        Message.provider_message_id == "SM-b1"))[0][0] == 1


def test_a_retry_of_a_message_committed_earlier_is_a_duplicate_and_writes_nothing(store: StoreService) -> None:
    earlier = store.receive(sms("hi", "SM-e1", "+4915600000020"))
    retry, new = (result(s) for s in group(store, sms("hi", "SM-e1", "+4915600000020"),
                                           sms("and?", "SM-e2", "+4915600000020")))
    assert retry.duplicate and retry.message_id == earlier.message_id
    assert not new.duplicate and new.conversation_id == earlier.conversation_id
    assert rows(store, select(func.count()).select_from(Message))[0][0] == 2


def test_two_messages_of_a_new_person_in_one_group_get_one_identity_one_conversation_in_order(
        store: StoreService) -> None:
    a, b = (result(s) for s in group(store, sms("first", "SM-n1", "+4915600000030", display_name="Ana"),
                                     sms("second", "SM-n2", "+4915600000030")))
    assert a.conversation_id == b.conversation_id
    (ident,) = rows(store, select(ChannelIdentity.verified, ChannelIdentity.customer_id,
                                  ChannelIdentity.display_name).where(ChannelIdentity.external_id == "+4915600000030"))
    assert tuple(ident) == (False, None, "Ana")
    assert rows(store, select(func.count()).select_from(Conversation))[0][0] == 1
    engine = EchoEngine()
    for _ in range(2):
        (pending,) = store.pending_inbound()  # the second waits for the first
        assert store.process(pending, engine).status == "answered"
    assert [t.text for t in engine.turns] == ["first", "second"]


def test_a_returning_person_writes_into_their_open_conversation(store: StoreService) -> None:
    earlier = store.receive(sms("hello", "SM-r1", "+4915600000040"))
    (again,) = (result(s) for s in group(store, sms("me again", "SM-r2", "+4915600000040")))
    assert again.conversation_id == earlier.conversation_id
    (last,) = rows(store, select(Conversation.last_inbound_at).where(Conversation.id == earlier.conversation_id))
    (created,) = rows(store, select(Message.created_at).where(Message.id == again.message_id))
    assert last[0] == created[0]


def test_verified_proofs_in_a_group_link_the_customer_once_and_count_for_later_deliveries(
        store: StoreService) -> None:
    """Ana's phone is known to the directory; a Telegram chat proves it is customer Bo; a web session
    proves it is that Telegram chat (answered from what this very group verified)."""
    ana1, ana2, bo, web = (result(s) for s in group(
        store,
        sms("order?", "SM-v1", "+4915600000001", verified_identity="phone:+4915600000001"),
        sms("and now?", "SM-v2", "+4915600000001", verified_identity="phone:+4915600000001"),
        InboundMessage(channel="telegram", channel_user_id="42", text="hi", provider_message_id="tg-1",
                       verified_identity="customer:cus-bo"),
        InboundMessage(channel="web", channel_user_id="w-1", text="hi", provider_message_id="web-1",
                       verified_identity="telegram:42")))
    assert (ana1.customer_id, ana2.customer_id, bo.customer_id, web.customer_id) == (
        "cus-ana", "cus-ana", "cus-bo", "cus-bo")
    verified = dict(rows(store, select(ChannelIdentity.external_id, ChannelIdentity.customer_id).where(
        ChannelIdentity.verified)))
    assert verified == {"+4915600000001": "cus-ana", "42": "cus-bo", "w-1": "cus-bo"}
    audits = rows(store, select(AuditEntry.subject).where(AuditEntry.action == "identity_verified"))
    assert sorted(a[0] for a in audits) == ["sms:+4915600000001", "telegram:42", "web:w-1"]  # Ana's once
    owners = dict(rows(store, select(Conversation.channel, Conversation.customer_id)))
    assert owners == {"sms": "cus-ana", "telegram": "cus-bo", "web": "cus-bo"}
    assert store.identity.customer_for("web", "w-1") == "cus-bo"


def test_media_of_every_message_in_a_group_is_stored_in_order(store: StoreService) -> None:
    photo, two = (result(s) for s in group(
        store,
        sms("look", "SM-m1", "+4915600000050", media=[Media(content_type="image/jpeg", data=b"\xff\xd8one")]),
        sms("and these", "SM-m2", "+4915600000051",
            media=[Media(content_type="image/png", url="https://example.test/a.png", data=b"\x89PNGa"),
                   Media(content_type="image/webp", filename="b.webp", data=b"RIFFb")])))
    stored = rows(store, select(MessageMedia.message_id, MessageMedia.position, MessageMedia.content_type,
                                MessageMedia.data).order_by(MessageMedia.message_id, MessageMedia.position))
    assert [tuple(r) for r in stored] == [
        (photo.message_id, 0, "image/jpeg", b"\xff\xd8one"),
        (two.message_id, 0, "image/png", b"\x89PNGa"), (two.message_id, 1, "image/webp", b"RIFFb")]
    seen: list[list[bytes | None]] = []

    class Capture(EchoEngine):
        def handle(self, turn):  # type: ignore[no-untyped-def]
            seen.append([m.data for m in turn.media])
            return super().handle(turn)

    assert store.process(two.message_id, Capture()).status == "answered"
    assert seen == [[b"\x89PNGa", b"RIFFb"]]


def test_one_bad_delivery_fails_alone_and_its_neighbours_keep_their_group_semantics(store: StoreService) -> None:
    good = sms("hi", "SM-f1", "+4915600000060")
    broken = InboundMessage.model_construct(  # what validation would refuse: media that is not Media
        channel="sms", channel_user_id="+4915600000060", text="x", provider_message_id="SM-f2",
        display_name=None, verified_identity=None, media=[object()], received_at=good.received_at)
    slots = group(store, good, broken, sms("hi", "SM-f1", "+4915600000060"), sms("yo", "SM-f3", "+4915600000061"))
    first, bad, retry, other = slots
    assert bad.error is not None and bad.result is None
    assert result(retry).duplicate and result(retry).message_id == result(first).message_id
    assert not result(other).duplicate
    stored = {r[0] for r in rows(store, select(Message.provider_message_id))}
    assert stored == {"SM-f1", "SM-f3"}


def test_a_group_updates_existing_conversations_in_id_order_as_record_batches_lock_them(
        store: StoreService) -> None:
    """The answer workers' record batches lock conversations in id order; a receive group touching
    several existing conversations must take their row locks in that same order (PostgreSQL would
    otherwise be able to deadlock a group against a batch), not in the group's (channel, user) order."""
    users = ["+4915600000083", "+4915600000082", "+4915600000081"]   # ids grow in this order
    opened = [store.receive(sms("hi", f"SM-o{n}", u)).conversation_id for n, u in enumerate(users)]
    assert opened == sorted(opened)
    assert store.database is not None
    touched: list[str] = []

    def capture(conn: Any, cursor: Any, statement: str, parameters: Any, context: Any, executemany: bool) -> None:
        if statement.startswith("UPDATE conversations"):
            rows = parameters if executemany else [parameters]
            touched.extend(r["k_id"] if isinstance(r, dict) else r[-1] for r in rows)

    event.listen(store.database.engine, "before_cursor_execute", capture)
    try:
        group(store, *(sms("again", f"SM-a{n}", u) for n, u in enumerate(reversed(users))))
    finally:
        event.remove(store.database.engine, "before_cursor_execute", capture)
    assert touched == opened


def test_a_uniqueness_race_lost_to_another_process_is_re_read_not_failed(opstore_url: str) -> None:
    """Another process commits the same provider message between this group's lookup and its insert
    (PostgreSQL only: SQLite's write lock makes that impossible): the group re-runs one delivery
    per savepoint, finds the winner's row and acknowledges the retry as a duplicate of it."""
    if not opstore_url.startswith("postgresql"):
        pytest.skip("SQLite's single write lock rules this race out")
    store = make_store(opstore_url)
    other = make_engine(opstore_url, pool_size=1)
    try:
        earlier = store.receive(sms("hello", "SM-x0", "+4915600000070"))
        (conversation_id,) = rows(store, select(Conversation.id))[0]
        winner = "f" * 32
        raced: list[bool] = []

        def other_process_wins(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
            if statement.startswith("INSERT INTO messages") and not raced:
                raced.append(True)
                with other.begin() as c:
                    c.execute(insert(Message).values(
                        id=winner, conversation_id=conversation_id, direction="in", channel="sms",
                        provider_message_id="SM-x1", author="customer", text="again", payload={},
                        status="received", attempts=0, created_at=earlier_at, updated_at=earlier_at))

        (earlier_at,) = rows(store, select(Message.created_at).where(Message.id == earlier.message_id))[0]
        assert store.database is not None
        event.listen(store.database.engine, "before_cursor_execute", other_process_wins)
        try:
            lost, fresh = (result(s) for s in group(store, sms("again", "SM-x1", "+4915600000070"),
                                                    sms("new", "SM-x2", "+4915600000071")))
        finally:
            event.remove(store.database.engine, "before_cursor_execute", other_process_wins)
        assert raced == [True]
        assert lost.duplicate and lost.message_id == winner
        assert not fresh.duplicate
        assert rows(store, select(func.count()).select_from(Message).where(
            Message.provider_message_id.in_(["SM-x1", "SM-x2"])))[0][0] == 2
    finally:
        other.dispose()
        store.close()
