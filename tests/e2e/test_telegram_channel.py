"""Telegram over real HTTP: the app under uvicorn receives real Bot API update JSON on its webhook;
replies, getFile and file downloads go to a local stub of the Bot API."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from api.app import create_app
from api.channels import stop_channels
from opstore import open_store
from opstore.service import StoreService
from opstore.testing import Directory, EchoEngine
from skinsage.settings import Settings
from tests.support.channel_stubs import ProviderStub, eventually, serve

BOT, SECRET = "123456:TEST-token", "hook-secret-1"
JPEG = b"\xff\xd8\xff\xe0" + b"telegram-photo" * 50


@dataclass
class Env:
    base: str
    stub: ProviderStub
    store: StoreService
    engine: EchoEngine
    update_id: int = 1000

    def post(self, body: Any, *, secret: str | None = SECRET, raw: bytes | None = None) -> httpx.Response:
        headers = {"Content-Type": "application/json"}
        if secret is not None:
            headers["X-Telegram-Bot-Api-Secret-Token"] = secret
        if raw is not None:
            return httpx.post(f"{self.base}/v1/telegram/webhook", content=raw, headers=headers, timeout=30)
        return httpx.post(f"{self.base}/v1/telegram/webhook", json=body, headers=headers, timeout=30)

    def update(self, chat: int, *, update_id: int | None = None, **message: Any) -> dict[str, Any]:
        if update_id is None:
            self.update_id += 1
            update_id = self.update_id
        user = {"id": chat, "is_bot": False, "first_name": "Ana", "language_code": "de"}
        return {"update_id": update_id, "message": {"message_id": update_id, "date": 1767225600, "from": user,
                                                     "chat": {"id": chat, "type": "private", "first_name": "Ana"},
                                                     **message}}


@pytest.fixture(scope="module")
def env(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Env]:
    tmp: Path = tmp_path_factory.mktemp("telegram")
    stub = ProviderStub(("unused", "unused"), BOT)
    with serve(stub.app) as stub_base:
        settings = Settings(data_dir=tmp, load_demo_on_start=False, telegram_bot_token=BOT,  # type: ignore[arg-type]
                            telegram_webhook_secret=SECRET, telegram_api_base_url=stub_base,
                            telegram_chat_interval_s=0.05, channel_sweep_s=0.5, channel_media_max_mb=15)
        store = open_store(settings, directory=Directory({"telegram:9001": "cus-ben"}))
        engine = EchoEngine()
        app = create_app(settings, graph=Directory({}), store=store, engine=engine)  # type: ignore[arg-type]
        with serve(app) as base:
            yield Env(base, stub, store, engine)
            stop_channels(app)
        store.close()


def test_a_message_is_answered_once_with_an_inline_keyboard_even_when_redelivered(env: Env) -> None:
    update = env.update(5001, text="what does niacinamide do?")
    first, again = env.post(update), env.post(update)
    assert first.json() == {"ok": True, "status": "queued"} and again.json() == {"ok": True, "status": "duplicate"}
    sent = eventually(lambda: env.stub.telegram_to(5001))
    assert len(sent) == 1
    method, params = sent[0]
    assert method == "sendMessage" and params["text"] == "echo: what does niacinamide do?"
    assert params["reply_markup"]["inline_keyboard"] == [[{"text": "Thanks", "callback_data": "qr:0"}]]


def test_a_tapped_quick_reply_is_a_message_with_the_button_text(env: Env) -> None:
    user = {"id": 5002, "is_bot": False, "first_name": "Ana"}
    env.update_id += 1
    tap = {"update_id": env.update_id, "callback_query": {
        "id": "cbq-1", "from": user, "chat_instance": "ci-1", "data": "qr:0",
        "message": {"message_id": 77, "date": 1767225600, "chat": {"id": 5002, "type": "private"},
                    "text": "Which skin type?", "reply_markup": {"inline_keyboard": [
                        [{"text": "Oily", "callback_data": "qr:0"}], [{"text": "Dry", "callback_data": "qr:1"}]]}}}}
    r = env.post(tap)
    assert r.json() == {"method": "answerCallbackQuery", "callback_query_id": "cbq-1"}
    sent = eventually(lambda: env.stub.telegram_to(5002))
    assert sent[0][1]["text"] == "echo: Oily"


def test_start_with_a_link_code_joins_the_chat_to_the_customer_once(env: Env) -> None:
    code = env.store.identity.link_code_create("cus-ana")
    env.post(env.update(5003, text=f"/start {code}"))
    reply = eventually(lambda: env.stub.telegram_to(5003))
    assert "linked to your" in reply[0][1]["text"]
    assert env.store.identity.customer_for("telegram", "5003") == "cus-ana"
    env.post(env.update(5004, text=f"/start {code}"))   # a used code links nobody else
    refused = eventually(lambda: env.stub.telegram_to(5004))
    assert "not valid" in refused[0][1]["text"] and env.store.identity.customer_for("telegram", "5004") is None
    env.post(env.update(5003, text="where is my order?"))
    eventually(lambda: len(env.stub.telegram_to(5003)) >= 2)
    assert next(t for t in env.engine.turns if t.text == "where is my order?").customer_id == "cus-ana"


def test_an_unlinked_chat_is_anonymous_and_a_known_telegram_user_resolves(env: Env) -> None:
    env.post(env.update(5005, text="anonymous question"))
    env.post(env.update(9001, text="ben here"))
    eventually(lambda: env.stub.telegram_to(5005) and env.stub.telegram_to(9001))
    turns = {t.text: t.customer_id for t in env.engine.turns}
    assert turns["anonymous question"] is None and turns["ben here"] == "cus-ben"


def test_a_photo_is_fetched_through_getfile_and_goes_to_the_engine(env: Env) -> None:
    env.stub.media["ph-1"] = ("image/jpeg", JPEG)
    env.post(env.update(5006, photo=[{"file_id": "ph-0", "file_unique_id": "u0", "width": 90, "height": 90,
                                      "file_size": 900},
                                     {"file_id": "ph-1", "file_unique_id": "u1", "width": 800, "height": 800,
                                      "file_size": len(JPEG)}]))
    eventually(lambda: env.stub.telegram_to(5006))
    turn = next(t for t in env.engine.turns if t.media and t.media[0].data == JPEG)
    assert turn.media[0].url == "telegram-file:ph-1"   # the token-bearing download URL is never stored


def test_a_20_mb_image_file_and_a_voice_note_get_a_clear_reply_without_download(env: Env) -> None:
    big = env.update(5007, document={"file_id": "doc-big", "file_unique_id": "d1", "file_name": "me.jpg",
                                     "mime_type": "image/jpeg", "file_size": 20 * 1024 * 1024})
    voice = env.update(5008, voice={"file_id": "v-1", "file_unique_id": "v1", "duration": 3})
    assert env.post(big).json()["status"] == "settled" and env.post(voice).json()["status"] == "settled"
    assert "larger than 15 MB" in eventually(lambda: env.stub.telegram_to(5007))[0][1]["text"]
    assert "only look at photos" in eventually(lambda: env.stub.telegram_to(5008))[0][1]["text"]
    assert not any("doc-big" in g for g in env.stub.media_gets)


def test_bad_requests_get_their_documented_status_and_store_nothing(env: Env) -> None:
    update = env.update(5009, text="sneaky")
    assert env.post(update, secret="wrong").status_code == 403
    assert env.post(update, secret=None).status_code == 403
    bad_json = env.post(None, raw=b"{not json")
    assert bad_json.status_code == 400 and bad_json.json()["error"]["code"] == "invalid_json"
    assert env.post(None, raw=b"").status_code == 400
    not_update = env.post({"hello": "world"})
    assert not_update.status_code == 422 and not_update.json()["error"]["code"] == "invalid_input"
    with env.store.ctx.uow() as uow:
        assert uow.messages.by_provider_id("telegram", str(update["update_id"])) is None


def test_a_429_is_waited_out_and_the_reply_sent_once(env: Env) -> None:
    env.stub.telegram_429["5010"] = 1
    env.post(env.update(5010, text="slow down"))
    sent = eventually(lambda: env.stub.telegram_to(5010))
    attempts = [p for m, p in env.stub.attempts if str(p.get("chat_id")) == "5010"]
    assert len(sent) == 1 and len(attempts) == 2


def test_stop_silences_the_bot_until_start(env: Env) -> None:
    env.post(env.update(5011, text="/stop"))
    assert "no more messages" in eventually(lambda: env.stub.telegram_to(5011))[0][1]["text"]
    assert env.store.compliance.is_opted_out("telegram", "5011")
    env.post(env.update(5011, text="/start"))
    assert eventually(lambda: len(env.stub.telegram_to(5011)) == 2)
    assert not env.store.compliance.is_opted_out("telegram", "5011")
