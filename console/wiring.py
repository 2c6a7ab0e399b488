"""Putting the console together: from settings, the store, the graph and the engine.

`install_console(app)` is called once by the API's lifespan, after the store and engine exist; the
worker process wraps its engine with `console_engine(...)` so customers get the same notices and
ratings whichever process answers them.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from console.auth import AuthService, ConsoleConfig
from console.customer import CustomerDesk
from console.desk import Desk
from console.engine import ConsoleAwareEngine
from console.live import LiveHub
from console.rules import HandoffRules, handoff_notice, load_rules
from graph.store import GraphStore
from opstore.schemas import StoreEvent
from opstore.service import StoreService
from skinsage.errors import SkinSageError
from skinsage.settings import Settings

log = logging.getLogger("skinsage.console")


@dataclass
class Console:
    store: StoreService
    rules: HandoffRules
    config: ConsoleConfig
    auth: AuthService
    desk: Desk
    customers: CustomerDesk
    hub: LiveHub

    def handoff_notice(self, reason: str) -> str:
        """What a customer is told when a handoff for `reason` is about to open: who comes and
        roughly when (queue, agents online), or when the team is back and what to send meanwhile."""
        ahead, online = self.desk.queue_snapshot()
        return handoff_notice(self.rules, self.store.ctx.now(), self.rules.classify(reason)[0], ahead, online)

    def on_event(self, event: StoreEvent) -> None:
        """Store events: to open pages, and a new handoff gets its ticket and (maybe) an agent."""
        self.hub.publish(event)
        if event.kind == "handoff_opened" and event.conversation_id:
            self.desk.on_handoff_opened(event.conversation_id)


def build_console(settings: Settings, store: StoreService, graph: GraphStore, engine: Any, *,
                  analyses: Any = None, rules: HandoffRules | None = None) -> Console:
    rules = rules or load_rules(settings.console_rules_path)
    config = ConsoleConfig.from_settings(settings)
    from proactive.repo import ProactiveStore

    desk = Desk(store, rules, config)
    customers = CustomerDesk.from_engine(engine, graph, analyses=analyses, segments=ProactiveStore(store).segment_of)
    return Console(store=store, rules=rules, config=config, auth=AuthService(store, config), desk=desk,
                   customers=customers, hub=LiveHub())


def console_engine(console: Console, engine: Any, graph: GraphStore | None) -> ConsoleAwareEngine:
    from proactive.quality import survey_answer
    from proactive.repo import ProactiveStore

    surveys = ProactiveStore(console.store)
    return ConsoleAwareEngine(engine, console.desk, console.rules, graph, clock=console.store.ctx.now,
                              survey=lambda conversation_id, text: survey_answer(surveys, conversation_id, text))


def _analyses(settings: Settings) -> Any:
    try:
        from vision.service import build_repository

        return build_repository(settings)
    except (SkinSageError, ImportError) as e:  # the panel then shows no skin analysis, and says why in the log
        log.warning("skin analysis history unavailable in the console: %s", e)
        return None


def install_console(app: Any) -> Console:
    """Build the console on `app.state` (store, graph, engine must exist) and wrap the engine.
    Idempotent per store: a second app over the same store replaces the first one's listener."""
    state = app.state
    engine = getattr(state.engine, "inner", state.engine)
    console = build_console(state.settings, state.store, state.graph, engine, analyses=_analyses(state.settings))
    state.console = console
    state.engine = console_engine(console, engine, state.graph)
    previous = getattr(state.store, "_console_unsubscribe", None)
    if previous is not None:
        previous()
    state.store._console_unsubscribe = state.store.events.subscribe(console.on_event)
    return console


def wrap_worker_engine(settings: Settings, store: StoreService, graph: GraphStore, engine: Any) -> ConsoleAwareEngine:
    """For `skinsage worker`: the same notices, ratings and brand rules as in the API process, and
    handoffs opened by the worker get their ticket and round-robin agent at once (not on the next queue view)."""
    console = build_console(settings, store, graph, engine)
    store.events.subscribe(lambda e: console.desk.on_handoff_opened(e.conversation_id)
                           if e.kind == "handoff_opened" and e.conversation_id else None)
    return console_engine(console, engine, graph)
