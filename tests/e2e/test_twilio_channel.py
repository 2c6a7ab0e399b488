"""SMS and WhatsApp through Twilio's webhooks over real HTTP: the app under uvicorn, requests signed
with twilio's own RequestValidator, replies and media served by a local stub of Twilio's API."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import httpx
import pytest
from twilio.request_validator import RequestValidator

from api.app import create_app
from api.channels import channels_for, stop_channels
from opstore import open_store
from opstore.service import StoreService
from opstore.testing import Directory, EchoEngine
from skinsage.settings import Settings
from tests.support.channel_stubs import ProviderStub, eventually, free_port, serve

SID, TOKEN = "AC" + "1" * 32, "twilio-test-token"
ANA = "+4915112345678"
QUICK = "\n\nReply with: Thanks"   # EchoEngine offers one quick reply; SMS shows it as text
JPEG = b"\xff\xd8\xff\xe0" + b"fake-jpeg-bytes" * 100


@dataclass
class Env:
    base: str
    stub: ProviderStub
    stub_base: str
    store: StoreService
    engine: EchoEngine
    app: Any
    n: int = 0

    def sid(self) -> str:
        self.n += 1
        return f"SM{self.n:032x}"

    def post(self, path: str, params: dict[str, str], *, sign: bool = True, signature: str | None = None) -> httpx.Response:
        url = f"{self.base}{path}"
        headers = {}
        if sign:
            headers["X-Twilio-Signature"] = signature or RequestValidator(TOKEN).compute_signature(url, params)
        return httpx.post(url, data=params, headers=headers, timeout=30)

    def message(self, text: str, *, sender: str = ANA, whatsapp: bool = False, sid: str | None = None,
                **extra: str) -> tuple[httpx.Response, str]:
        sid = sid or self.sid()
        params = {"MessageSid": sid, "AccountSid": SID, "From": f"whatsapp:{sender}" if whatsapp else sender,
                  "To": "+15550001111", "Body": text, "NumMedia": "0", **extra}
        return self.post("/v1/twilio/inbound", params), sid

    def stored(self, sid: str, channel: str = "sms") -> Any:
        """The stored message, read inside its own transaction (a snapshot, or None)."""
        with self.store.ctx.uow() as uow:
            m = uow.messages.by_provider_id(channel, sid)
            return None if m is None else SimpleNamespace(status=m.status, conversation_id=m.conversation_id,
                                                          payload=dict(m.payload))


@pytest.fixture(scope="module")
def env(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Env]:
    tmp: Path = tmp_path_factory.mktemp("twilio")
    stub = ProviderStub((SID, TOKEN), "unused")
    with serve(stub.app) as stub_base:
        port = free_port()
        settings = Settings(data_dir=tmp, load_demo_on_start=False, twilio_account_sid=SID,  # type: ignore[arg-type]
                            twilio_auth_token=TOKEN, twilio_api_base_url=stub_base,
                            twilio_sms_from="+15550001111", twilio_whatsapp_from="+15550002222",
                            twilio_whatsapp_templates={"reengage": "HX" + "a" * 32},
                            public_base_url=f"http://127.0.0.1:{port}", channel_sweep_s=0.5,
                            channel_media_max_mb=15)
        store = open_store(settings, directory=Directory({f"phone:{ANA}": "cus-ana"}))
        engine = EchoEngine()
        app = create_app(settings, graph=Directory({}), store=store, engine=engine)  # type: ignore[arg-type]
        with serve(app, port) as base:
            yield Env(base, stub, stub_base, store, engine, app)
            stop_channels(app)
        store.close()


def test_a_signed_sms_is_acknowledged_and_answered_exactly_once_even_when_replayed(env: Env) -> None:
    first, sid = env.message("what does niacinamide do?", sender="+4917000000001")
    again, _ = env.message("what does niacinamide do?", sender="+4917000000001", sid=sid)
    assert first.status_code == 200 and "<Response>" in first.text and first.headers["x-skinsage-status"] == "queued"
    assert again.status_code == 200 and again.headers["x-skinsage-status"] == "duplicate"
    sent = eventually(lambda: env.stub.sent_to("+4917000000001"))
    assert [m["Body"] for m in sent] == [f"echo: what does niacinamide do?{QUICK}"]
    assert sent[0]["From"] == "+15550001111" and sent[0]["StatusCallback"].endswith("/v1/twilio/status")
    eventually(lambda: env.stored(sid).status == "answered")
    assert sum(1 for t in env.engine.turns if t.text == "what does niacinamide do?") == 1


def test_a_wrong_signature_is_403_and_nothing_is_stored(env: Env) -> None:
    sid = env.sid()
    params = {"MessageSid": sid, "AccountSid": SID, "From": "+4917000000002", "Body": "hi", "NumMedia": "0"}
    wrong = env.post("/v1/twilio/inbound", params, signature=RequestValidator("not-our-token").compute_signature(
        f"{env.base}/v1/twilio/inbound", params))
    unsigned = env.post("/v1/twilio/inbound", params, sign=False)
    tampered = env.post("/v1/twilio/inbound", params, signature=RequestValidator(TOKEN).compute_signature(
        f"{env.base}/v1/twilio/inbound", {**params, "Body": "something else"}))
    assert [r.status_code for r in (wrong, unsigned, tampered)] == [403, 403, 403]
    assert wrong.json()["error"]["code"] == "forbidden"
    assert env.stored(sid) is None


def test_an_empty_body_is_403_unsigned_and_422_signed(env: Env) -> None:
    assert env.post("/v1/twilio/inbound", {}, sign=False).status_code == 403
    r = env.post("/v1/twilio/inbound", {})
    assert r.status_code == 422 and r.json()["error"]["code"] == "invalid_input"


def test_a_long_sms_is_split_into_messages_within_twilio_limits(env: Env) -> None:
    text = " ".join(["niacinamide"] * 180)   # 2159 GSM-7 characters, echoed back
    env.message(text, sender="+4917000000003")
    parts = eventually(lambda: (m := env.stub.sent_to("+4917000000003")) and len(m) >= 2 and m)
    assert len(parts) == 2 and all(len(p["Body"]) <= 1530 for p in parts)
    assert " ".join(p["Body"] for p in parts) == f"echo: {text}{QUICK}"


def test_a_verified_phone_reaches_the_customer_and_status_callbacks_move_delivery(env: Env) -> None:
    _, sid = env.message("hello from ana")
    got = eventually(lambda: env.stub.sent_to(ANA))
    turn = next(t for t in env.engine.turns if t.text == "hello from ana")
    assert turn.customer_id == "cus-ana"
    stranger = eventually(lambda: [t for t in env.engine.turns if t.text == "what does niacinamide do?"])
    assert stranger[0].customer_id is None   # an unknown number never carries a customer
    provider_sid = got[0]["sid"]
    r = env.post("/v1/twilio/status", {"MessageSid": provider_sid, "MessageStatus": "delivered", "AccountSid": SID})
    assert r.status_code == 200 and r.json() == {"updated": 1}
    inbound = env.stored(sid)
    transcript = env.store.handoffs.transcript(inbound.conversation_id)
    assert [m.status for m in transcript if m.direction == "out"] == ["delivered"]
    bad = env.post("/v1/twilio/status", {"MessageSid": provider_sid, "MessageStatus": "read"}, sign=False)
    assert bad.status_code == 403


def test_stop_suppresses_every_later_message_until_start(env: Env) -> None:
    who = "+4917000000004"
    env.message("STOP", sender=who)
    confirm = eventually(lambda: env.stub.sent_to(who))
    assert len(confirm) == 1 and "unsubscribed" in confirm[0]["Body"]
    _, sid = env.message("are you still there?", sender=who)
    eventually(lambda: env.stored(sid).status == "answered")
    row = env.store.outbox.enqueue("sms", who, {"text": "a reminder"}, dedupe_key="test:stop-reminder")
    channels_for(env.app).dispatcher.deliver(row.id)
    assert eventually(lambda: env.store.outbox.get(row.id).status == "suppressed")
    assert len(env.stub.sent_to(who)) == 1   # neither the answer nor the reminder went out
    env.message("start", sender=who)
    after = eventually(lambda: (m := env.stub.sent_to(who)) and len(m) >= 2 and m)
    assert "subscribed" in after[1]["Body"]
    env.message("HELP", sender=who)
    assert "STOP" in eventually(lambda: (m := env.stub.sent_to(who)) and len(m) >= 3 and m)[2]["Body"]


def test_a_photo_is_downloaded_with_auth_and_goes_to_the_engine(env: Env) -> None:
    env.stub.media["selfie.jpg"] = ("image/jpeg", JPEG)
    env.message("", sender="+4917000000005", whatsapp=True, NumMedia="1",
                MediaUrl0=f"{env.stub_base}/media/selfie.jpg", MediaContentType0="image/jpeg")
    eventually(lambda: env.stub.sent_to("+4917000000005"))
    turn = next(t for t in env.engine.turns if t.media and t.media[0].data == JPEG)
    assert turn.channel == "whatsapp" and turn.media[0].content_type == "image/jpeg"


def test_a_20_mb_photo_is_stored_and_answered_with_a_clear_reason(env: Env) -> None:
    env.stub.media["huge.jpg"] = ("image/jpeg", b"\xff\xd8" + b"0" * (20 * 1024 * 1024))
    r, sid = env.message("", sender="+4917000000006", whatsapp=True, NumMedia="1",
                         MediaUrl0=f"{env.stub_base}/media/huge.jpg", MediaContentType0="image/jpeg")
    assert r.status_code == 200 and r.headers["x-skinsage-status"] == "settled"
    reply = eventually(lambda: env.stub.sent_to("+4917000000006"))
    assert "larger than 15 MB" in reply[0]["Body"]
    stored = env.stored(sid, "whatsapp")
    assert stored.status == "answered" and stored.payload["media"][0]["url"].endswith("/media/huge.jpg")


def test_an_unsupported_attachment_is_not_fetched_and_the_text_still_answered(env: Env) -> None:
    env.stub.media["doc.pdf"] = ("application/pdf", b"%PDF-1.4")
    env.message("is this routine ok?", sender="+4917000000007", NumMedia="1",
                MediaUrl0=f"{env.stub_base}/media/doc.pdf", MediaContentType0="application/pdf")
    sent = eventually(lambda: (m := env.stub.sent_to("+4917000000007")) and len(m) >= 2 and m)
    bodies = {m["Body"] for m in sent}
    assert f"echo: is this routine ok?{QUICK}" in bodies and any("only look at photos" in b for b in bodies)
    assert "doc.pdf" not in env.stub.media_gets


def test_whatsapp_outside_the_window_sends_only_an_approved_template(env: Env) -> None:
    never_wrote = "+4917000000008"
    free = env.store.outbox.enqueue("whatsapp", never_wrote, {"text": "your serum is back"}, dedupe_key="t:free")
    templ = env.store.outbox.enqueue("whatsapp", never_wrote, {"text": "your serum is back", "template": {
        "name": "reengage", "variables": {"1": "Ana"}}}, dedupe_key="t:templ")
    dispatcher = channels_for(env.app).dispatcher
    dispatcher.deliver(free.id)
    dispatcher.deliver(templ.id)
    assert eventually(lambda: env.store.outbox.get(templ.id).status == "sent")
    assert eventually(lambda: env.store.outbox.get(free.id).status == "failed")
    assert "24-hour" in (env.store.outbox.get(free.id).last_error or "")
    sent = env.stub.sent_to(never_wrote)
    assert len(sent) == 1 and sent[0]["ContentSid"] == "HX" + "a" * 32 and "Body" not in sent[0]
    assert sent[0]["To"] == f"whatsapp:{never_wrote}" and sent[0]["From"] == "whatsapp:+15550002222"
