"""Prometheus metrics: one registry for the process, the metric objects, and small `record_*` helpers.

The engine, the tools and the outbox call the helpers (a line each) so they never import
prometheus_client themselves. Label values are kept to small fixed sets (route templates, tool names
from the registry, planner kinds, reason categories): a label taken raw from user or model text would
let anyone grow the registry without bound.

Outbox depth and age are not counted as things happen; they are read from the operational store when
Prometheus scrapes, so they are right after a restart and across several API and worker processes.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Iterator
from datetime import UTC, datetime
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Histogram
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

log = logging.getLogger("skinsage.metrics")

REGISTRY = CollectorRegistry(auto_describe=True)
_FAST = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)

HTTP_LATENCY = Histogram("skinsage_http_request_duration_seconds", "HTTP request latency by route template",
                         ["method", "route", "status"], buckets=_FAST, registry=REGISTRY)
HTTP_REJECTED = Counter("skinsage_http_rejected_total", "Requests refused before routing (body too large)",
                        ["reason"], registry=REGISTRY)
TURNS = Counter("skinsage_turns_total", "Conversation turns by planner and outcome",
                ["planner", "outcome"], registry=REGISTRY)
TURN_LATENCY = Histogram("skinsage_turn_duration_seconds", "Engine time per turn", ["planner"],
                         buckets=_FAST, registry=REGISTRY)
LLM_FALLBACKS = Counter("skinsage_llm_fallbacks_total", "LLM planner failures answered by the offline planner",
                        registry=REGISTRY)
TOOL_LATENCY = Histogram("skinsage_tool_duration_seconds", "Tool call latency", ["tool"], buckets=_FAST,
                         registry=REGISTRY)
TOOL_ERRORS = Counter("skinsage_tool_errors_total", "Tool calls that failed (denied, invalid, backend error)",
                      ["tool"], registry=REGISTRY)
HANDOFFS = Counter("skinsage_handoffs_total", "Conversations handed to a person, by reason", ["reason"],
                   registry=REGISTRY)
OUTBOX_DELIVERIES = Counter("skinsage_outbox_deliveries_total", "Outbox send attempts by result",
                            ["result"], registry=REGISTRY)
LLM_TOKENS = Counter("skinsage_llm_tokens_total", "LLM tokens used", ["model", "kind"], registry=REGISTRY)
LLM_COST = Counter("skinsage_llm_cost_usd_total", "Estimated LLM cost in US dollars", ["model"],
                   registry=REGISTRY)

#: USD per million tokens (input, output); set from settings by `configure_prices`.
_PRICES = {"input": 0.15, "output": 0.60}
_HANDOFF_REASONS = ("safety", "customer asked", "customer is upset", "unsure", "order", "agent")


def configure_prices(input_per_mtok: float, output_per_mtok: float) -> None:
    _PRICES["input"], _PRICES["output"] = input_per_mtok, output_per_mtok


def planner_kind(planner: str) -> str:
    """`llm:gpt-4o-mini` -> `llm`; the model goes on the token counters, not on every turn series."""
    return planner.split(":", 1)[0] if planner else "unknown"


def handoff_category(reason: str | None) -> str:
    text = (reason or "").lower()
    for known in _HANDOFF_REASONS:
        if text.startswith(known) or known in text:
            return known.replace(" ", "_")
    return "other"


def turn_outcome(reply: Any) -> str:
    """answered | handoff | refused (red flag, injection) | degraded (graph down) | tool_error | fallback."""
    if getattr(reply, "handoff", False):
        return "handoff"
    safety = list(getattr(reply, "safety", []) or [])
    if "graph_unavailable" in safety:
        return "degraded"
    if any(s == "prompt_injection" or s.startswith("red_flag") for s in safety):
        return "refused"
    tools = list(getattr(reply, "tools", []) or [])
    if tools and not any(t.ok for t in tools):
        return "tool_error"
    if not tools and getattr(reply, "planner", "") == "offline" and getattr(reply, "state", {}).get(
            "last_intent") in (None, "fallback"):
        return "fallback"
    return "answered"


def record_turn(reply: Any, seconds: float) -> None:
    """Called by the engine once per answered turn. Never raises."""
    try:
        kind = planner_kind(getattr(reply, "planner", "") or "")
        TURNS.labels(kind, turn_outcome(reply)).inc()
        TURN_LATENCY.labels(kind).observe(seconds)
        if getattr(reply, "handoff", False):
            HANDOFFS.labels(handoff_category(getattr(reply, "handoff_reason", None))).inc()
    except Exception:
        log.debug("turn metric failed", exc_info=True)


def record_tool(name: str, known: bool, ms: float | None, ok: bool) -> None:
    label = name if known else "unknown"
    TOOL_LATENCY.labels(label).observe((ms or 0.0) / 1000)
    if not ok:
        TOOL_ERRORS.labels(label).inc()


def record_delivery(sent: int, failed: int, dead: int, suppressed: int) -> None:
    for result, n in (("sent", sent), ("failed", failed), ("dead", dead), ("suppressed", suppressed)):
        if n:
            OUTBOX_DELIVERIES.labels(result).inc(n)


def record_llm_usage(model: str | None, usage: Any) -> None:
    """`usage`: LangChain's `usage_metadata` ({input_tokens, output_tokens}); absent when the server
    does not report usage (then nothing is counted rather than a guess)."""
    if not usage:
        return
    label = (model or "unknown")[:60]
    try:
        tin, tout = int(usage.get("input_tokens") or 0), int(usage.get("output_tokens") or 0)
    except (AttributeError, TypeError, ValueError):
        return
    LLM_TOKENS.labels(label, "input").inc(tin)
    LLM_TOKENS.labels(label, "output").inc(tout)
    LLM_COST.labels(label).inc((tin * _PRICES["input"] + tout * _PRICES["output"]) / 1_000_000)


# --- outbox depth and age, read from the store at scrape time ---------------------------------------

OutboxSnapshot = dict[tuple[str, str], tuple[int, datetime | None]]   # (channel, status) -> (rows, oldest)


def outbox_snapshot(engine: Any) -> tuple[OutboxSnapshot, tuple[int, datetime | None]]:
    """Outbox rows not yet settled, and inbound messages not yet answered, from a SQLAlchemy engine."""
    from sqlalchemy import func, select

    from opstore.models import Message, OutboxRow

    waiting = ("pending", "failed", "sending")
    with engine.connect() as conn:
        rows = conn.execute(select(OutboxRow.channel, OutboxRow.status, func.count(), func.min(OutboxRow.created_at))
                            .where(OutboxRow.status.in_(waiting))
                            .group_by(OutboxRow.channel, OutboxRow.status)).all()
        inbound = conn.execute(select(func.count(), func.min(Message.created_at))
                               .where(Message.direction == "in",
                                      Message.status.in_(("received", "processing", "failed")))).one()
    return {(c, s): (n, oldest) for c, s, n, oldest in rows}, (inbound[0], inbound[1])


def _aware(d: datetime) -> datetime:
    return d if d.tzinfo else d.replace(tzinfo=UTC)


def _age(oldest: datetime | None, now: datetime) -> float:
    return 0.0 if oldest is None else max(0.0, (now - _aware(oldest)).total_seconds())


class StoreCollector(Collector):
    """Gauges computed from the operational store on each scrape. A failing store yields
    `skinsage_store_up 0` instead of failing the whole scrape."""

    def __init__(self, store_engine: Callable[[], Any]) -> None:
        self.store_engine = store_engine

    def describe(self) -> Iterable[Any]:
        return []   # computed per scrape; nothing to pre-register

    def collect(self) -> Iterator[GaugeMetricFamily]:
        up = GaugeMetricFamily("skinsage_store_up", "1 when the operational store answered this scrape")
        depth = GaugeMetricFamily("skinsage_outbox_depth", "Outbox rows waiting to be sent",
                                  labels=["channel", "status"])
        age = GaugeMetricFamily("skinsage_outbox_oldest_age_seconds", "Age of the oldest unsent outbox row")
        inbound = GaugeMetricFamily("skinsage_inbound_unanswered", "Acknowledged inbound messages not yet answered")
        inbound_age = GaugeMetricFamily("skinsage_inbound_oldest_age_seconds",
                                        "Age of the oldest unanswered inbound message")
        engine = self.store_engine()
        if engine is None:
            return
        try:
            snapshot, (n_in, oldest_in) = outbox_snapshot(engine)
        except Exception as e:  # noqa: BLE001 - a scrape must answer even while the database is down
            log.warning("outbox metrics unavailable: %s", e)
            up.add_metric([], 0)
            yield up
            return
        now = datetime.now(UTC)
        up.add_metric([], 1)
        for (channel, status), (n, _) in sorted(snapshot.items()):
            depth.add_metric([channel, status], n)
        oldest = [_aware(o) for _, o in snapshot.values() if o is not None]
        age.add_metric([], _age(min(oldest) if oldest else None, now))
        inbound.add_metric([], n_in)
        inbound_age.add_metric([], _age(oldest_in, now))
        yield from (up, depth, age, inbound, inbound_age)


def render(store_engine: Any = None) -> tuple[bytes, str]:
    """The process registry, plus the store gauges of this app's store (a registry per scrape, so
    several apps in one process, as in tests, each report their own store)."""
    from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

    body = generate_latest(REGISTRY)
    if store_engine is not None:
        scrape = CollectorRegistry(auto_describe=False)
        scrape.register(StoreCollector(lambda: store_engine))
        body += generate_latest(scrape)
    return body, CONTENT_TYPE_LATEST
