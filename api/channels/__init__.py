"""Customer channels: one contract (`base`), one module per provider, the outbound sender, and the
in-process dispatcher that answers what the webhooks acknowledged.

`channels_for(app)` builds the channel runtime once per app, on the first webhook, from what the app
already holds (settings, store, engine); a test or the composition root may set
`app.state.channel_sender` first to choose the sender. `stop_channels(app)` stops its threads.
"""

from __future__ import annotations

import threading
from typing import Any

from api.channels.dispatcher import Dispatcher
from api.channels.gateway import ChannelGateway

_build_lock = threading.Lock()


def channels_for(app: Any) -> ChannelGateway:
    state = app.state
    gateway: ChannelGateway | None = getattr(state, "channels", None)
    if gateway is not None:
        return gateway
    with _build_lock:
        gateway = getattr(state, "channels", None)
        if gateway is None:
            from api.channels.sender import build_sender

            settings = state.settings
            sender = getattr(state, "channel_sender", None) or build_sender(settings, state.store)
            dispatcher = Dispatcher(state.store, state.engine, sender, threads=settings.channel_dispatch_threads,
                                    sweep_s=settings.channel_sweep_s, batch=settings.channel_answer_batch,
                                    send_concurrency=settings.channel_send_concurrency,
                                    inline=settings.channel_answer_inline).start()
            gateway = state.channels = ChannelGateway(settings, state.store, dispatcher)
    return gateway


def stop_channels(app: Any, timeout: float = 10.0) -> None:
    gateway: ChannelGateway | None = getattr(app.state, "channels", None)
    if gateway is not None:
        gateway.dispatcher.stop(timeout)
        app.state.channels = None
