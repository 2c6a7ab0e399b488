"""The store's plain rules, without a database: backoff, link codes, keywords, ids, turns, events."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from assistant.types import Citation, Media, ProductCard, Reply
from opstore import domain
from opstore.context import StoreConfig
from opstore.events import EventBus
from opstore.models import Conversation, Message
from opstore.schemas import StoreEvent
from opstore.turns import build_turn, outbound_payload, reply_trace
from skinsage.settings import Settings

NOW = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)


def test_backoff_doubles_from_the_base_and_is_capped() -> None:
    waits = [domain.backoff(n, 2.0, 60.0).total_seconds() for n in range(1, 8)]
    assert waits == [2, 4, 8, 16, 32, 60, 60]
    assert domain.backoff(10_000, 2.0, 60.0).total_seconds() == 60


def test_link_codes_survive_how_people_type_them() -> None:
    code = domain.new_link_code()
    assert len(code) == 10 and set(code) <= set(domain._CODE_ALPHABET)
    typed = f" {code[:5].lower()}-{code[5:]} "
    assert domain.hash_link_code(typed) == domain.hash_link_code(code)
    assert domain.normalise_link_code("o1l-i") == "0111"
    assert len({domain.new_link_code() for _ in range(1000)}) == 1000


def test_only_a_bare_carrier_keyword_counts() -> None:
    assert domain.opt_keyword("STOP") == "stop"
    assert domain.opt_keyword(" unsubscribe! ") == "stop"
    assert domain.opt_keyword("Start") == "start"
    assert domain.opt_keyword("help") == "help"
    assert domain.opt_keyword("please stop sending me offers") is None
    assert domain.opt_keyword("") is None


def test_ids_are_unique_and_sort_in_creation_order() -> None:
    ids = [domain.new_id() for _ in range(5000)]
    assert ids == sorted(ids) and len(set(ids)) == len(ids) and all(len(i) == 32 for i in ids)


def test_a_reply_to_one_message_always_has_the_same_outbox_key() -> None:
    assert domain.reply_dedupe_key("abc") == domain.reply_dedupe_key("abc") == "reply:abc"


def _msg(author: str, text: str, direction: str = "in", status: str = "answered") -> Message:
    return Message(id=domain.new_id(), conversation_id="c1", direction=direction, channel="sms", author=author,
                   text=text, payload={}, status=status, attempts=0, created_at=NOW, updated_at=NOW)


def test_a_turn_carries_history_roles_and_skips_replies_the_customer_never_got() -> None:
    conv = Conversation(id="c1", channel="sms", channel_user_id="+491", status="bot", state={"skin": "oily"},
                        created_at=NOW, updated_at=NOW)
    history = [_msg("customer", "hi"), _msg("bot", "hello!", "out", "sent"),
               _msg("bot", "never arrived", "out", "failed"), _msg("agent:eva", "Eva here", "out", "sent")]
    turn = build_turn(conv, _msg("customer", "serum?"), None, history, [])
    assert turn.history == [{"role": "customer", "text": "hi"}, {"role": "assistant", "text": "hello!"},
                            {"role": "agent", "text": "Eva here"}]
    assert turn.text == "serum?" and turn.state == {"skin": "oily"} and turn.customer_id is None


def test_the_outbound_payload_round_trips_to_a_reply_and_the_trace_keeps_no_bytes() -> None:
    reply = Reply(text="Try this", quick_replies=["Yes"], products=[ProductCard(sku="FX-NIA-10", name="Serum", price=20)],
                  images=[Media(content_type="image/png", url="https://x/y.png", data=b"\x89PNG")],
                  citations=[Citation(kind="graph", label="niacinamide")], state={"secret": "slot"})
    payload = outbound_payload(reply)
    again = Reply.model_validate(payload)
    assert again.text == "Try this" and again.products[0].sku == "FX-NIA-10" and again.images[0].data is None
    trace = reply_trace(reply)
    assert "state" not in trace and "text" not in trace and "data" not in trace["images"][0]
    assert trace["citations"][0]["label"] == "niacinamide"


def test_a_broken_listener_does_not_silence_the_others() -> None:
    bus, seen = EventBus(), []

    def broken(_: StoreEvent) -> None:
        raise RuntimeError("console crashed")

    bus.subscribe(broken)
    unsubscribe = bus.subscribe(lambda e: seen.append(e.kind))
    bus.publish(StoreEvent(kind="inbound"))
    unsubscribe()
    bus.publish(StoreEvent(kind="inbound"))
    assert seen == ["inbound"]


def test_store_config_comes_from_settings() -> None:
    cfg = StoreConfig.from_settings(Settings(outbox_max_attempts=4, processing_lease_s=30))
    assert cfg.outbox_max_attempts == 4 and cfg.processing_lease_s == 30
    assert Settings(data_dir=Path("/srv/x")).store_url == "sqlite:////srv/x/skinsage.db"
    assert Settings(database_url="postgresql://u:p@h/db").store_url == "postgresql://u:p@h/db"
