"""The chat widget in a real headless Chromium (Debian `chromium` + Playwright), against the real app.

The app runs under uvicorn on a loopback port in a background thread, with the product's engine
(`build_engine`: MiniLM intents, hybrid retrieval, photo analysis) over the fixture graph. The browser
may only talk to that server: every other request is aborted, so nothing is fetched from outside.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from api.app import create_app
from graph.embedded import EmbeddedGraphStore
from graph.model import KnowledgeBundle
from opstore import open_store
from skinsage.bootstrap import build_engine
from skinsage.settings import Settings
from tests.support.channel_stubs import serve

CHROMIUM = Path("/usr/bin/chromium")
REQUIRE = os.environ.get("SKINSAGE_REQUIRE_BROWSER") == "1"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]
WAIT_MS = 60_000

if not CHROMIUM.exists():
    if REQUIRE:
        raise RuntimeError("SKINSAGE_REQUIRE_BROWSER=1 but /usr/bin/chromium is missing (apt-get install chromium)")
    pytest.skip("no /usr/bin/chromium (Debian package `chromium`; scripts/test.sh installs it)", allow_module_level=True)

sync_api = pytest.importorskip("playwright.sync_api")


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, fixture_bundle: KnowledgeBundle) -> Iterator[tuple[str, Any]]:
    tmp = tmp_path_factory.mktemp("widget-e2e")
    (tmp / "docs").mkdir()  # brand documents left out: indexing them is slow and this journey needs none
    graph = EmbeddedGraphStore(tmp / "g.lbdb")
    graph.load(fixture_bundle.model_copy(update={"products": [  # shop links; one hostile, to prove it is not a link
        p.model_copy(update={"url": "javascript:window.__xss=1" if p.sku == "FX-BHA-02" else f"https://shop.example.com/p/{p.sku}",
                             "image": f"https://shop.example.com/i/{p.sku}.jpg"}) for p in fixture_bundle.products]}))
    settings = Settings(data_dir=tmp, load_demo_on_start=False, documents_dir=tmp / "docs",
                        widget_secret="e2e-widget-secret-0123456789abcdef")  # type: ignore[arg-type]
    store = open_store(settings, directory=graph)
    engine = build_engine(settings, graph)
    with serve(create_app(settings, graph=graph, store=store, engine=engine)) as base:
        yield base, store
    store.close()
    graph.close()


@pytest.fixture(scope="module")
def browser(server: Any) -> Iterator[Any]:
    pw = sync_api.sync_playwright().start()
    b = pw.chromium.launch(executable_path=str(CHROMIUM), args=ARGS, headless=True)
    yield b
    b.close()
    pw.stop()


def new_page(browser: Any, base: str, **context: Any) -> Any:
    ctx = browser.new_context(**context)
    ctx.route("**/*", lambda route: route.continue_() if route.request.url.startswith(base) else route.abort())
    page = ctx.new_page()
    page.set_default_timeout(WAIT_MS)
    page.goto(f"{base}/demo/store")
    page.wait_for_function("() => !!(window.SkinSage && document.getElementById('skinsage-widget'))")
    return page


def shadow(page: Any, js: str) -> Any:
    """Evaluate `js` (a function body) with `root` = the widget's shadow root."""
    return page.evaluate(f"() => {{ const root = document.getElementById('skinsage-widget').shadowRoot; {js} }}")


def bot_messages(page: Any) -> Any:
    return page.locator(".msg.assistant:not([data-streaming]):not([data-greeting])")


def wait_bot_count(page: Any, n: int) -> None:
    page.wait_for_function(
        f"""() => document.getElementById('skinsage-widget').shadowRoot
              .querySelectorAll('.msg.assistant:not([data-streaming]):not([data-greeting])').length >= {n}""")


def send(page: Any, text: str) -> None:
    page.locator("#ss-input").fill(text)
    page.get_by_role("button", name="Send message").click()


RECORD_STREAM = """
  window.__stream = {texts: [], typing: false};
  const log = root.querySelector('.log'), typing = root.querySelector('.typing');
  new MutationObserver(() => { if (!typing.hidden) window.__stream.typing = true; })
    .observe(typing, {attributes: true, attributeFilter: ['hidden']});
  new MutationObserver(records => {
    for (const r of records) for (const n of r.addedNodes) {
      // the target, not n.parentElement: a token's text node is already replaced by the next one
      const t = r.target;
      if (n.nodeType === 3 && t.classList && t.classList.contains('text') && t.closest('.msg.assistant'))
        window.__stream.texts.push(n.data);
    }
  }).observe(log, {childList: true, subtree: true});
"""


def test_the_storefront_journey(browser: Any, server: tuple[str, Any]) -> None:
    base, store = server
    page = new_page(browser, base)
    launcher = page.get_by_role("button", name="Chat with the Lumen Skin House assistant")
    launcher.click()
    panel = page.get_by_role("dialog", name="Skincare assistant")
    assert panel.is_visible() and launcher.get_attribute("aria-expanded") == "true"
    log = page.get_by_role("log", name="Conversation")
    assert log.get_attribute("aria-live") == "polite"

    # a recommendation, streamed token by token, with quick replies as buttons and product cards
    send(page, "can you recommend something?")
    wait_bot_count(page, 1)
    page.get_by_role("group", name="Suggested replies").get_by_role("button", name="Oily").click()
    wait_bot_count(page, 2)
    shadow(page, RECORD_STREAM)
    send(page, "large pores")
    wait_bot_count(page, 3)
    final = bot_messages(page).nth(2)
    cards = final.locator(".card")
    assert cards.count() == 2
    assert {cards.nth(i).get_attribute("data-sku") for i in range(2)} == {"FX-BHA-02", "FX-NIA-10"}
    nia, bha = final.locator(".card[data-sku=FX-NIA-10]"), final.locator(".card[data-sku=FX-BHA-02]")
    assert nia.locator("a").get_attribute("href") == "https://shop.example.com/p/FX-NIA-10"
    assert nia.locator("img").count() == 1 and "20.00" in nia.inner_text() and "€" in nia.inner_text()
    assert bha.locator("a").count() == 0 and bha.locator("strong").inner_text()  # a javascript: URL is no link
    streamed = page.evaluate("() => window.__stream")
    text = final.locator(".text").inner_text()
    assert streamed["typing"], "the typing indicator was never shown"
    assert len(streamed["texts"]) >= 3, "the reply did not arrive token by token"
    assert all(text.startswith(t.strip()) for t in streamed["texts"])
    assert [len(t) for t in streamed["texts"]] == sorted(len(t) for t in streamed["texts"])

    # a photo goes to skin analysis and the analysis is the reply
    from vision import testing as T

    page.locator("input[type=file]").set_input_files(
        {"name": "selfie.png", "mimeType": "image/png", "buffer": T.encode(T.sample(), "PNG")})
    wait_bot_count(page, 4)
    analysis = bot_messages(page).nth(3).inner_text()
    assert "measured" in analysis and "cosmetic check" in analysis

    # reload: the same conversation comes back from the server, cards included
    page.reload()
    page.wait_for_function("() => !!window.SkinSage")
    page.get_by_role("button", name="Chat with the Lumen Skin House assistant").click()
    wait_bot_count(page, 4)
    customer = page.locator(".msg.customer .text").all_inner_texts()
    assert customer[:3] == ["can you recommend something?", "Oily", "large pores"] and "Photo sent" in customer[3]
    assert bot_messages(page).nth(2).locator(".card").count() == 2

    # talk to a person: queued for the console with the customer's reason
    page.get_by_role("button", name="Talk to a person from our team").click()
    # the console's notice: who comes and roughly when, or (outside business hours) when the team is back
    page.locator(".msg.system", has_text=re.compile(r"person from our team|team is offline", re.IGNORECASE)).wait_for()
    waiting = [c for c in store.handoffs.queue() if c.channel == "web"]
    assert [c.handoff_reason for c in waiting] == ["customer_request"]

    # the agent's reply from the console appears in the open widget (it polls while a person has it)
    assert store.handoffs.claim(waiting[0].id, "alice")
    store.handoffs.post_agent_message(waiting[0].id, "alice", "Hi, I'm Alice from the skincare team.")
    page.locator(".msg.agent", has_text="I'm Alice").wait_for()
    page.context.close()


def test_a_dropped_connection_is_retried_and_answered_once(browser: Any, server: tuple[str, Any]) -> None:
    base, store = server
    page = new_page(browser, base)
    dropped: list[str] = []

    def drop_first_response(route: Any) -> None:
        if not dropped:  # the server gets and answers the message; the browser never sees the answer
            dropped.append(route.request.post_data or "")
            route.fetch()
            route.abort("connectionreset")
        else:
            route.continue_()

    page.route("**/widget/messages", drop_first_response)
    page.evaluate("() => window.SkinSage.open()")
    send(page, "hello")
    wait_bot_count(page, 1)
    assert dropped and page.locator(".msg.assistant:not([data-greeting])").count() == 1
    sid = page.evaluate("() => window.SkinSage.sessionId()")
    with store.ctx.uow() as uow:
        conv_id = uow.conversations.open_for("web", sid).id
    roles = [(m.direction, m.author) for m in store.handoffs.transcript(conv_id)]
    assert roles == [("in", "customer"), ("out", "bot")]
    page.context.close()


def test_keyboard_only_open_send_and_close(browser: Any, server: tuple[str, Any]) -> None:
    base, _ = server
    page = new_page(browser, base)
    for _ in range(30):  # tab through the page until the launcher has focus
        page.keyboard.press("Tab")
        if shadow(page, "return root.activeElement && root.activeElement.classList.contains('launcher');"):
            break
    else:
        pytest.fail("the launcher is not reachable with Tab")
    outline = shadow(page, "return getComputedStyle(root.activeElement).outlineStyle;")
    assert outline == "solid", "keyboard focus is not visible"
    page.keyboard.press("Enter")
    assert shadow(page, "return root.activeElement && root.activeElement.id;") == "ss-input"
    hostile = "<img src=x onerror=window.__xss=1> hello"
    page.keyboard.type(hostile)
    page.keyboard.press("Enter")
    wait_bot_count(page, 1)
    assert page.locator(".msg.customer .text").first.inner_text() == hostile
    assert page.evaluate("() => window.__xss") is None and page.locator(".msg img").count() == 0
    page.keyboard.press("Escape")
    assert shadow(page, "return root.querySelector('.panel').hidden;")
    assert shadow(page, "return root.activeElement.classList.contains('launcher');")
    page.context.close()


CONTRAST = """
  const lum = c => { const [r, g, b] = c.match(/\\d+(\\.\\d+)?/g).slice(0, 3).map(Number).map(v => {
    v /= 255; return v <= 0.03928 ? v / 12.92 : Math.pow((v + 0.055) / 1.055, 2.4); });
    return 0.2126 * r + 0.7152 * g + 0.0722 * b; };
  const bg = el => { for (let e = el; e; e = e.parentElement) { const c = getComputedStyle(e).backgroundColor;
    if (c && !c.startsWith('rgba(0, 0, 0, 0)') && c !== 'transparent') return c; } return 'rgb(255, 255, 255)'; };
  const out = {};
  for (const sel of ['.launcher span', 'h2', '.human', '.msg.customer .text', '.msg.assistant .text', '.quick button',
                     '.send', '#ss-input', '.card a', '.card .price', '.who']) {
    const el = root.querySelector(sel); if (!el) continue;
    const a = lum(getComputedStyle(el).color), b = lum(bg(el));
    out[sel] = (Math.max(a, b) + 0.05) / (Math.min(a, b) + 0.05);
  }
  return out;
"""


def test_phone_width_is_a_full_screen_panel_with_aa_contrast(browser: Any, server: tuple[str, Any]) -> None:
    base, _ = server
    page = new_page(browser, base, viewport={"width": 360, "height": 740}, is_mobile=True, has_touch=True)
    page.get_by_role("button", name="Chat with the Lumen Skin House assistant").click()
    box = page.get_by_role("dialog", name="Skincare assistant").bounding_box()
    assert box == {"x": 0, "y": 0, "width": 360, "height": 740}
    for name in ("Send message", "Send a photo for a skin check", "Close chat", "Talk to a person from our team"):
        b = page.get_by_role("button", name=name).bounding_box()
        assert b and b["x"] >= 0 and b["x"] + b["width"] <= 360 and b["y"] + b["height"] <= 740, name
    send(page, "can you recommend something?")
    wait_bot_count(page, 1)
    ratios = shadow(page, CONTRAST)
    assert len(ratios) >= 8 and all(r >= 4.5 for r in ratios.values()), ratios
    assert shadow(page, "const l = root.querySelector('.log'); return l.scrollWidth <= l.clientWidth;")
    page.context.close()
