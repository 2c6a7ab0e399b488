"""Telegram without a public URL, for local development: long-poll `getUpdates` and feed every update
through the same path as the webhook (parse, store, dispatcher, outbox).

    SKINSAGE_TELEGRAM_BOT_TOKEN=... python -m api.channels.polling

Telegram refuses `getUpdates` while a webhook is set, so this deletes the webhook first. Stop with
Ctrl-C; the offset is confirmed to Telegram only after an update is stored, so nothing is lost.
"""

from __future__ import annotations

import logging
import threading
from typing import Any

import httpx

from api.channels.gateway import ChannelGateway
from api.channels.telegram import BotApi
from skinsage.errors import InvalidInput

log = logging.getLogger("skinsage.channels.polling")


def poll(gateway: ChannelGateway, api: BotApi, stop: threading.Event, *, timeout_s: int = 25) -> int:
    """Until `stop` is set; returns how many updates were stored."""
    api.call("deleteWebhook", {"drop_pending_updates": False})
    offset, stored = 0, 0
    while not stop.is_set():
        try:
            r = api.client.post(f"{api.base}/getUpdates", json={"offset": offset, "timeout": timeout_s},
                                timeout=timeout_s + 10)
            updates: list[dict[str, Any]] = r.json().get("result", []) if r.status_code == 200 else []
        except (httpx.HTTPError, ValueError) as e:
            log.warning("getUpdates failed (%s); retrying", e)
            stop.wait(2.0)
            continue
        for update in updates:
            try:
                gateway.accept(gateway.telegram.parse(update))
                stored += 1
            except InvalidInput as e:
                log.warning("skipping update %s: %s", update.get("update_id"), e)
            offset = int(update["update_id"]) + 1
    return stored


def main() -> None:  # pragma: no cover - an interactive developer tool
    from pydantic import SecretStr

    from api.channels.dispatcher import Dispatcher
    from api.channels.sender import build_sender
    from opstore import open_store
    from skinsage.bootstrap import build_engine, build_graph
    from skinsage.settings import get_settings

    logging.basicConfig(level=logging.INFO)
    settings = get_settings()
    if not settings.telegram_bot_token:
        raise SystemExit("set SKINSAGE_TELEGRAM_BOT_TOKEN")
    graph = build_graph(settings)
    store = open_store(settings, directory=graph)
    dispatcher = Dispatcher(store, build_engine(settings, graph, store=store), build_sender(settings, store),
                            threads=settings.channel_dispatch_threads, sweep_s=settings.channel_sweep_s).start()
    gateway = ChannelGateway(settings.model_copy(update={"telegram_webhook_secret": SecretStr("polling")}), store, dispatcher)
    stop = threading.Event()
    try:
        poll(gateway, BotApi(settings.telegram_bot_token.get_secret_value(), settings.telegram_api_base_url,
                             gateway.media), stop)
    except KeyboardInterrupt:
        stop.set()
    finally:
        dispatcher.stop()
        store.close()
        graph.close()


if __name__ == "__main__":  # pragma: no cover
    main()
