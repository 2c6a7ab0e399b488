"""The support console in a real headless Chromium, against the real app under uvicorn, with a Telegram
customer on the real webhook and a local stub of the Telegram Bot API receiving what we send.

The journey of issue 7's "Must show": a Telegram customer asks for a person; an agent logs in, sees it
in the queue, claims it and replies; the stub receives the reply; the customer's next message gets no
bot answer (it appears live in the agent's transcript); the agent hands back; the bot answers again.
The browser may only talk to the app: every other request is aborted.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from api.app import create_app
from api.channels import stop_channels
from commerce.reminders import InMemoryReminderStore
from graph.embedded import EmbeddedGraphStore
from graph.model import KnowledgeBundle
from opstore import open_store
from opstore.service import StoreService
from skinsage.bootstrap import build_assistant
from skinsage.settings import Settings
from tests.support.channel_stubs import ProviderStub, eventually, serve

CHROMIUM = Path("/usr/bin/chromium")
REQUIRE = os.environ.get("SKINSAGE_REQUIRE_BROWSER") == "1"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]
WAIT_MS = 30_000
BOT, SECRET = "123456:CONSOLE-token", "console-hook-secret"
PASSWORD = "correct horse battery"
CHAT = 9001   # the fixture graph knows telegram:9001 as the verified customer cus-ben

if not CHROMIUM.exists():
    if REQUIRE:
        raise RuntimeError("SKINSAGE_REQUIRE_BROWSER=1 but /usr/bin/chromium is missing (apt-get install chromium)")
    pytest.skip("no /usr/bin/chromium (Debian package `chromium`)", allow_module_level=True)

sync_api = pytest.importorskip("playwright.sync_api")


@dataclass
class Env:
    base: str
    stub: ProviderStub
    store: StoreService
    update_id: int = 7000

    def customer_says(self, text: str) -> None:
        self.update_id += 1
        user = {"id": CHAT, "is_bot": False, "first_name": "Ben"}
        update = {"update_id": self.update_id, "message": {
            "message_id": self.update_id, "date": 1767225600, "from": user,
            "chat": {"id": CHAT, "type": "private", "first_name": "Ben"}, "text": text}}
        r = httpx.post(f"{self.base}/v1/telegram/webhook", json=update, timeout=30,
                       headers={"X-Telegram-Bot-Api-Secret-Token": SECRET})
        assert r.status_code == 200, r.text

    def sent(self) -> list[str]:
        return [p.get("text", "") for m, p in self.stub.telegram_to(CHAT) if m == "sendMessage"]


@pytest.fixture(scope="module")
def env(tmp_path_factory: pytest.TempPathFactory, fixture_bundle: KnowledgeBundle, minilm: Any) -> Iterator[Env]:
    tmp = tmp_path_factory.mktemp("console-e2e")
    graph = EmbeddedGraphStore(tmp / "g.lbdb")
    graph.load(fixture_bundle)
    stub = ProviderStub(("unused", "unused"), BOT)
    with serve(stub.app) as stub_base:
        settings = Settings(data_dir=tmp, load_demo_on_start=False, telegram_bot_token=BOT,  # type: ignore[arg-type]
                            telegram_webhook_secret=SECRET, telegram_api_base_url=stub_base,
                            telegram_chat_interval_s=0.05, channel_sweep_s=0.5,
                            console_auto_assign=False)   # Ana claims from the queue by hand
        store = open_store(settings, directory=graph)
        engine = build_assistant(settings, graph, encoder=minilm, reminders=InMemoryReminderStore())
        app = create_app(settings, graph=graph, store=store, engine=engine)
        with serve(app) as base:
            app.state.console.auth.create_agent("ana", PASSWORD, "agent", display_name="Ana")
            yield Env(base, stub, store)
            stop_channels(app)
        store.close()
    graph.close()


@pytest.fixture(scope="module")
def page(env: Env) -> Iterator[Any]:
    pw = sync_api.sync_playwright().start()
    browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=ARGS, headless=True)
    context = browser.new_context()
    context.route("**/*", lambda route: route.continue_() if route.request.url.startswith(env.base) else route.abort())
    p = context.new_page()
    p.set_default_timeout(WAIT_MS)
    yield p
    context.close()
    browser.close()
    pw.stop()


def test_an_agent_takes_over_a_telegram_conversation_and_hands_it_back(env: Env, page: Any) -> None:
    expect = sync_api.expect
    env.customer_says("I want to talk to a person please")
    handed = eventually(lambda: [t for t in env.sent() if "person" in t.lower()])
    assert handed, env.sent()                                   # the bot said a person is coming
    cid = _conversation(env)

    page.goto(f"{env.base}/console")
    assert page.url.endswith("/console/login")
    page.fill("#username", "ana")
    page.fill("#password", PASSWORD)
    page.click("#login")
    page.wait_for_url(f"{env.base}/console")
    item = page.locator("#waiting li.item").first
    expect(item).to_contain_text("telegram")
    expect(item).to_contain_text("customer asked for a person")
    item.locator("button.claim").click()
    expect(page.locator("#conv-status")).to_contain_text("human · ana")
    expect(page.locator("#customer")).to_contain_text("pregnant")     # the verified customer's profile
    bot_msg = page.locator("#transcript li.by-bot").first
    bot_msg.locator("summary").click()
    expect(bot_msg.locator(".trace")).to_contain_text("handoff_to_human")

    before = len(env.sent())
    page.fill("#reply-text", "Hi Ben, Ana here. How can I help?")
    page.click("#send")
    assert eventually(lambda: len(env.sent()) > before)
    assert env.sent()[-1] == "Hi Ben, Ana here. How can I help?"     # out through Telegram
    expect(page.locator("#transcript li.by-agent")).to_contain_text("Ana here")

    sent_before = len(env.sent())
    env.customer_says("my new serum stings a bit")
    expect(page.locator("#transcript")).to_contain_text("my new serum stings a bit")   # live, no reload
    routed = eventually(lambda: [m for m in env.store.handoffs.transcript(cid)
                                 if m.text == "my new serum stings a bit" and m.status == "routed"])
    assert routed and len(env.sent()) == sent_before              # no bot answer while Ana has it

    page.click("#resolve")
    expect(page.locator("#flash")).to_contain_text("Handed back")
    assert eventually(lambda: any("1 (poor) to 5 (great)" in t for t in env.sent()))
    env.customer_says("what does niacinamide do?")
    answer = eventually(lambda: [t for t in env.sent() if "iacinamide" in t])
    assert answer, env.sent()                                     # the bot answers again


def _conversation(env: Env) -> str:
    from sqlalchemy import select

    from console.repo import unit
    from opstore.models import Conversation

    with unit(env.store) as (_, s):
        return str(s.scalar(select(Conversation.id).where(Conversation.channel == "telegram",
                                                          Conversation.channel_user_id == str(CHAT))))
