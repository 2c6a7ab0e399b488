"""Schema, identity and consent rules on SQLite and on a real PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect

from assistant.types import InboundMessage
from opstore.db import make_engine
from opstore.errors import Conflict, LinkCodeInvalid
from opstore.migrate import current, downgrade, head_revision, ours, upgrade
from opstore.models import Base, ChannelIdentity
from opstore.service import StoreService
from opstore.testing import Clock, EchoEngine, at_once, make_store


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def store(opstore_url: str, clock: Clock) -> Iterator[StoreService]:
    s = make_store(opstore_url, clock=clock)
    yield s
    s.close()


def test_migrations_go_up_from_empty_and_match_the_models(opstore_url: str) -> None:
    downgrade(opstore_url)
    engine = make_engine(opstore_url, pool_size=1)
    with engine.connect() as c:
        assert not set(inspect(c).get_table_names()) & set(Base.metadata.tables)
    assert current(opstore_url) is None
    upgrade(opstore_url)
    upgrade(opstore_url)                                                  # idempotent
    assert current(opstore_url) == head_revision()
    with engine.connect() as c:
        assert set(inspect(c).get_table_names()) >= {t.name for t in Base.metadata.sorted_tables}
        diff = compare_metadata(MigrationContext.configure(c, opts={"compare_type": True, "include_name": ours}), Base.metadata)
    engine.dispose()
    assert diff == [], f"models and migrations disagree; add a migration: {diff}"


def test_concurrent_upgrades_from_empty_do_not_collide(opstore_url: str) -> None:
    downgrade(opstore_url)
    assert at_once(lambda _: upgrade(opstore_url), 3) == [None] * 3
    assert current(opstore_url) == head_revision()


def test_an_unverified_identity_never_gets_a_customer(store: StoreService) -> None:
    engine = EchoEngine()
    got = store.receive(InboundMessage(channel="telegram", channel_user_id="9001", text="where is SS-1001?",
                                       display_name="Ana"))
    assert got.customer_id is None
    store.process(got.message_id, engine)
    assert engine.turns[0].customer_id is None
    assert store.identity.customer_for("telegram", "9001") is None
    assert store.handoffs.conversation(got.conversation_id).customer_id is None
    # A proof the store cannot resolve (no directory, unknown identity) verifies nothing either.
    other = store.receive(InboundMessage(channel="sms", channel_user_id="+491", text="hi",
                                         verified_identity="email:nobody@example.eu"))
    assert other.customer_id is None
    # And the database itself refuses an unverified identity with a customer.
    with pytest.raises(Conflict), store.ctx.uow() as uow:
        uow.add(ChannelIdentity(id="x" * 32, channel="sms", external_id="+499", customer_id="cus-ana",
                                verified=False, created_at=store.ctx.now()))
        uow.commit()


def test_a_link_code_joins_a_chat_to_a_customer_once(store: StoreService) -> None:
    engine = EchoEngine()
    before = store.receive(InboundMessage(channel="telegram", channel_user_id="9001", text="/start"))
    code = store.identity.link_code_create("cus-ben")
    assert store.identity.link_code_redeem(f" {code.lower()[:5]}-{code.lower()[5:]} ", "telegram", "9001") == "cus-ben"
    assert store.identity.customer_for("telegram", "9001") == "cus-ben"
    assert store.handoffs.conversation(before.conversation_id).customer_id == "cus-ben"
    linked = store.respond(before.message_id, "You're linked, Ben.")      # the channel answers /start itself
    assert linked.status == "answered" and linked.outbox_id and engine.turns == []
    after = store.receive(InboundMessage(channel="telegram", channel_user_id="9001", text="my orders?"))
    store.process(after.message_id, engine)
    assert engine.turns[-1].customer_id == "cus-ben"
    with pytest.raises(LinkCodeInvalid):
        store.identity.link_code_redeem(code, "telegram", "666")          # one time only
    with pytest.raises(LinkCodeInvalid):
        store.identity.link_code_redeem("NOT-A-CODE", "telegram", "666")
    assert store.identity.customer_for("telegram", "666") is None
    assert "identity_verified" in [a.action for a in store.compliance.audit_log("telegram:9001")]


def test_a_link_code_expires(store: StoreService, clock: Clock) -> None:
    code = store.identity.link_code_create("cus-ana", ttl_s=60)
    clock.advance(61)
    with pytest.raises(LinkCodeInvalid):
        store.identity.link_code_redeem(code, "telegram", "9002")
    assert store.identity.customer_for("telegram", "9002") is None


def test_racing_redemptions_of_one_code_have_one_winner(store: StoreService) -> None:
    code = store.identity.link_code_create("cus-ana")
    results = at_once(lambda n: store.identity.link_code_redeem(code, "telegram", f"chat-{n}"), 4)
    assert sorted(map(str, results)).count("cus-ana") == 1
    assert all(isinstance(r, LinkCodeInvalid) for r in results if r != "cus-ana")
    assert sum(store.identity.customer_for("telegram", f"chat-{n}") == "cus-ana" for n in range(4)) == 1


def test_the_latest_consent_decision_wins(store: StoreService, clock: Clock) -> None:
    assert not store.compliance.has_consent("photo_storage", customer_id="cus-ana")
    store.compliance.record_consent("photo_storage", True, source="web:checkbox", customer_id="cus-ana")
    assert store.compliance.has_consent("photo_storage", customer_id="cus-ana")
    clock.advance(1)
    store.compliance.record_consent("photo_storage", False, source="console:agent-eva", customer_id="cus-ana")
    assert not store.compliance.has_consent("photo_storage", customer_id="cus-ana")
    store.compliance.record_consent("whatsapp", True, source="whatsapp:optin", channel="whatsapp", external_id="+491")
    assert store.compliance.has_consent("whatsapp", channel="whatsapp", external_id="+491")
    assert not store.compliance.has_consent("whatsapp", channel="whatsapp", external_id="+492")
