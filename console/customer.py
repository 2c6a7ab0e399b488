"""The customer panel and the agent's quick actions.

The panel also shows the customer's RFM segment and repurchase-risk flag as the worker last computed
them (`proactive.segments`), read from the store, never recomputed per page view.

Quick actions run the bot's own tools (`assistant.tools.run_tool`) with the same permission checks in
code: an agent looking up a guest's order still needs the order number with its email or phone, and
recommendations still lose every product with the customer's allergen or one unsafe in pregnancy.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import Any

from assistant.profile import effective_profile
from assistant.safety import unsafe_skus
from assistant.tools import ToolContext, run_tool
from commerce.reminders import ReminderStore
from graph.store import GraphStore
from opstore.models_proactive import CustomerSegment
from skinsage.errors import InvalidInput, NotFound, SkinSageError

QUICK_ACTIONS = ("recommend_products", "lookup_order", "set_reminder", "list_reminders", "cancel_reminder",
                 "product_info", "check_routine_conflicts", "search_knowledge")


class CustomerDesk:
    """What the console knows about the person in a conversation, through the same ports as the bot."""

    def __init__(self, graph: GraphStore, reminders: ReminderStore, *, analyses: Any = None, retriever: Any = None,
                 currency: str = "EUR", today: Callable[[], date] = date.today, reminder_days_before: int = 7,
                 segments: Callable[[str], CustomerSegment | None] | None = None) -> None:
        self.graph, self.reminders, self.analyses, self.retriever = graph, reminders, analyses, retriever
        self.currency, self.today, self.reminder_days_before = currency, today, reminder_days_before
        self.segments = segments

    @classmethod
    def from_engine(cls, engine: Any, graph: GraphStore, *, analyses: Any = None,
                    segments: Callable[[str], CustomerSegment | None] | None = None) -> CustomerDesk:
        """Share the running engine's reminder store and retriever, so an agent's reminder is the bot's too."""
        from commerce.reminders import InMemoryReminderStore

        return cls(graph, getattr(engine, "reminders", None) or InMemoryReminderStore(), analyses=analyses,
                   retriever=getattr(engine, "retriever", None), currency=getattr(engine, "currency", "EUR"),
                   today=getattr(engine, "today", date.today),
                   reminder_days_before=getattr(engine, "reminder_days_before", 7), segments=segments)

    def segment(self, customer_id: str) -> dict[str, Any]:
        """The worker's latest RFM row (`customer_segments`); `computed: False` until it has scored this
        customer (no orders yet, or the segment job has not run since they first ordered)."""
        row = self.segments(customer_id) if self.segments is not None else None
        if row is None:
            return {"computed": False, "note": "not computed yet"}
        return {"computed": True, "segment": row.segment, "r": row.r_score, "f": row.f_score, "m": row.m_score,
                "recency_days": row.recency_days, "frequency": row.frequency, "monetary": row.monetary,
                "repurchase_risk": row.repurchase_risk, "expected_gap_days": row.expected_gap_days,
                "last_order_on": row.last_order_on.isoformat() if row.last_order_on else None,
                "computed_at": row.computed_at.isoformat()}

    def _customer(self, customer_id: str | None, order_limit: int = 20) -> Any:
        if not customer_id:
            return None
        try:
            return self.graph.customer(customer_id, order_limit=order_limit)
        except NotFound:
            return None

    def panel(self, customer_id: str | None, state: dict[str, Any]) -> dict[str, Any]:
        """Profile (told in chat included), orders, reminders, routine conflicts, latest skin analysis."""
        found = self._customer(customer_id)
        profile = effective_profile(found.customer if found else None, state or {})
        out: dict[str, Any] = {"verified": found is not None, "profile": profile.model_dump(mode="json"),
                               "orders": [], "reminders": [], "conflicts": [], "analysis": None, "segment": None}
        if found is None:
            return out
        out["segment"] = self.segment(found.customer.id)
        out["orders"] = [{"id": o.id, "placed_at": o.placed_at.isoformat(), "status": o.status, "total": o.total,
                          "currency": o.currency, "carrier": o.carrier, "tracking": o.tracking,
                          "items": [{"sku": line.sku, "quantity": line.quantity} for line in o.lines]}
                         for o in found.orders]
        out["reminders"] = [r.model_dump(mode="json") for r in self.reminders.active(found.customer.id)]
        skus = list(dict.fromkeys(line.sku for o in found.orders[:10] if o.status not in ("cancelled", "returned")
                                  for line in o.lines))
        try:
            out["conflicts"] = [c.model_dump() for c in self.graph.routine_conflicts(skus)] if len(skus) > 1 else []
        except SkinSageError:
            out["conflicts"] = []
        if self.analyses is not None:
            history = self.analyses.list_for(found.customer.id)
            if history:
                last = history[-1]
                a = last.analysis
                out["analysis"] = {"id": a.id, "created_at": a.created_at.isoformat(), "has_photo": last.has_photo,
                                   "concerns": [c.model_dump(mode="json") for c in a.concerns],
                                   "metrics": {k: round(m.score, 2) for k, m in a.metrics.items()}}
        return out

    def photo(self, analysis_id: str) -> bytes | None:
        return self.analyses.photo(analysis_id) if self.analyses is not None else None

    def run(self, action: str, args: dict[str, Any], customer_id: str | None, state: dict[str, Any]) -> dict[str, Any]:
        """One quick action with the conversation's customer (verified or as told in chat)."""
        if action not in QUICK_ACTIONS:
            raise InvalidInput(f"unknown quick action {action!r}; one of {', '.join(QUICK_ACTIONS)}")
        found = self._customer(customer_id, order_limit=1)
        profile = effective_profile(found.customer if found else None, state or {})
        ctx = ToolContext(graph=self.graph, profile=profile, reminders=self.reminders, role="staff",
                          retriever=self.retriever, today=self.today(), currency=self.currency,
                          reminder_days_before=self.reminder_days_before)
        call, res = run_tool(ctx, action, args)
        products = list(res.products) if res else []
        if products:   # the bot's post-check, applied to the agent's results too
            try:
                flags = self.graph.ingredient_safety([p.sku for p in products])
                unsafe = unsafe_skus(flags, set(profile.avoid), profile.pregnant_or_breastfeeding)
                products = [p for p in products if p.sku in flags and p.sku not in unsafe]
            except SkinSageError:
                products = []
        return {"call": call.model_dump(mode="json"), "data": res.data if res else {},
                "products": [p.model_dump(mode="json") for p in products],
                "citations": [c.model_dump(mode="json") for c in (res.citations if res else [])]}
