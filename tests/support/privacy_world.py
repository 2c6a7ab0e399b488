"""A customer with a real footprint, made through the product's own services (no row is written by
hand): Ana chats on SMS (proven phone) and Telegram (anonymous first, then linked with a link code),
sends a photo, asks for a person (handoff, ticket, note, agent reply, CSAT), stops SMS, consents,
gets restock reminders from her orders, browses the shop (events, a trigger send, a segment) and has a
skin analysis with a stored photo. Ben, another customer, chats too and must come through untouched.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from assistant.types import InboundMessage, Media
from commerce.reminder_store import SqlReminderStore
from commerce.scheduler import ReminderScheduler
from console import repo as console_repo
from console.auth import AuthService, ConsoleConfig
from console.desk import Desk
from console.rules import load_rules
from graph.store import GraphStore
from opstore.models_proactive import CustomerSegment
from opstore.service import StoreService
from opstore.testing import Clock, EchoEngine
from proactive.events import EventBatch, StorefrontEvent
from proactive.quality import close_out
from proactive.repo import Outgoing, ProactiveStore
from skinsage.settings import Settings

ANA, BEN = "cus-ana", "cus-ben"
ANA_PHONE, ANA_TELEGRAM, ANA_VISITOR = "+4915112345678", "5550001", "visitor-ana-0001"
BEN_TELEGRAM = "9001"
#: Strings that identify Ana or say something about her health: none may survive an erasure.
ANA_SECRETS = ("Ana Keller", "ana@example.eu", ANA_PHONE, ANA_TELEGRAM, ANA_VISITOR, "linalool", "cus-ana",
               "pregnant and allergic to linalool", "DH123", "DP456", "selfie.jpg", "rash on my chin")


@dataclass
class World:
    conversations: dict[str, str]      # label -> conversation id
    handoff_conversation: str
    note_id: str
    analysis_id: str | None


def _sms(text: str, sid: str, **kw: Any) -> InboundMessage:
    return InboundMessage(channel="sms", channel_user_id=ANA_PHONE, text=text, provider_message_id=sid, **kw)


def _telegram(user: str, text: str, sid: str, **kw: Any) -> InboundMessage:
    return InboundMessage(channel="telegram", channel_user_id=user, text=text, provider_message_id=sid, **kw)


def build_world(store: StoreService, graph: GraphStore, clock: Clock, *, analyses: Any = None,
                photo: bytes | None = None, settings: Settings | None = None) -> World:
    engine = EchoEngine()
    convs: dict[str, str] = {}

    def say(inbound: InboundMessage, label: str) -> str:
        got = store.receive(inbound)
        store.process(got.message_id, engine)
        convs[label] = got.conversation_id
        clock.advance(30)
        return got.conversation_id

    # SMS with a phone the shop verified: the graph's directory names Ana
    say(_sms("I am pregnant and allergic to linalool, what serum?", "SM-a1",
             verified_identity=f"phone:{ANA_PHONE}"), "sms")
    say(_sms("Here is a photo of the rash on my chin", "SM-a2", verified_identity=f"phone:{ANA_PHONE}",
             media=[Media(content_type="image/jpeg", data=b"\xff\xd8fake-jpeg-bytes", filename="selfie.jpg")]), "sms")
    # Telegram: anonymous first, then linked with a code made while she was logged in
    say(_telegram(ANA_TELEGRAM, "hello from telegram", "TG-a1"), "telegram_anonymous")
    code = store.identity.link_code_create(ANA)
    store.identity.link_code_redeem(code, "telegram", ANA_TELEGRAM)
    handoff_conv = say(_telegram(ANA_TELEGRAM, "I want a human please", "TG-a2"), "telegram")
    # another customer, on Telegram too
    store.identity.verify("telegram", BEN_TELEGRAM, BEN, source="test")
    say(_telegram(BEN_TELEGRAM, "Ben here, dry skin, want a human", "TG-b1"), "ben")

    # the console: ticket, claim, note, agent reply, resolve, rating
    settings = settings or Settings()
    config = ConsoleConfig(auto_assign=False)
    auth = AuthService(store, config)
    agent = auth.create_agent("alice", "agent-password-1", "agent", actor="test")
    desk = Desk(store, load_rules(settings.console_rules_path), config)
    desk.on_handoff_opened(handoff_conv)
    desk.on_handoff_opened(convs["ben"])
    desk.claim(handoff_conv, agent)
    note_id = desk.add_note(handoff_conv, agent, "Ana: pregnant and allergic to linalool, be careful")
    desk.reply(handoff_conv, agent, "Hi Ana, Alice here. Let me check safe serums for you.")
    desk.resolve(handoff_conv, agent)
    with console_repo.unit(store) as (_, s):
        handoff = console_repo.last_handoff(s, handoff_conv)
        assert handoff is not None
        handoff_id = handoff.id
    assert desk.record_csat(handoff_id, handoff_conv, "telegram", 5)

    # consents and an SMS STOP
    store.compliance.record_consent("telegram", True, source="test", customer_id=ANA)
    store.compliance.record_consent("photo_storage", True, source="test", customer_id=ANA)
    store.compliance.record_consent("telegram", True, source="test", customer_id=BEN)
    store.compliance.apply_keyword("sms", ANA_PHONE, "STOP")

    # restock reminders from her orders (the scheduler's own pass), and one set in chat
    SqlReminderStore(store).upsert(ANA, "FX-BHA-02", "BHA Liquid", clock().date() + timedelta(days=30),
                                   clock().date() + timedelta(days=37))
    ReminderScheduler(store, graph).run([ANA])

    # the storefront: events, a trigger decision, a segment
    proactive = ProactiveStore(store)
    proactive.record_events(EventBatch(visitor_id=ANA_VISITOR, consent=True, events=[
        StorefrontEvent(kind="product_view", sku="FX-NIA-10", id="ev1", dwell_s=40)]), ANA)
    proactive.record_events(EventBatch(visitor_id=ANA_VISITOR, consent=True, events=[
        StorefrontEvent(kind="add_to_cart", sku="FX-NIA-10", id="ev2")]), None)
    proactive.record_events(EventBatch(visitor_id="visitor-ben-0001", consent=True, events=[
        StorefrontEvent(kind="product_view", sku="FX-BHA-02", id="ev3")]), BEN)
    proactive.record_send(Outgoing(trigger="cart_abandoned", subject=f"customer:{ANA}",
                                   dedupe_key=f"cart_abandoned:{ANA}:1", holdout=False, channel="telegram",
                                   recipient=ANA_TELEGRAM, payload={"text": "Your cart misses you, Ana"},
                                   customer_id=ANA))
    proactive.save_segments([CustomerSegment(customer_id=ANA, recency_days=10, frequency=2, monetary=90.0,
                                             r_score=4, f_score=3, m_score=3, segment="loyal", repurchase_risk=False,
                                             expected_gap_days=50.0, last_order_on=date(2026, 3, 1),
                                             computed_at=clock())])
    clock.advance(3 * 3600)
    close_out(proactive, 1.0)   # conversation outcomes for the finished conversations

    analysis_id = None
    if analyses is not None and photo is not None:
        from vision.service import analyze_and_record

        analysis_id = analyze_and_record(photo, ANA, analyses, consent_to_store_photo=True, settings=settings).id
    return World(conversations=convs, handoff_conversation=handoff_conv, note_id=note_id, analysis_id=analysis_id)
