"""The quality loop: what happened in each conversation, whether it led to an order, what the customer
thought of it, and whether the proactive triggers earn their keep (against a holdout, not a guess).

The worker calls `close_out` and `mark_conversions`; the console-aware engine calls `answer_csat` with a
customer's reply to the survey; `skinsage report` calls `build_report`.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from pydantic import BaseModel

from opstore.models_proactive import ConversationOutcome
from opstore.outbox import new_outbox_row
from console.rules import parse_csat
from proactive.repo import ProactiveStore
from proactive.triggers import CustomerData
from skinsage.errors import NotFound

#: Channels a survey can go out on (the API and the terminal have nobody to ask later).
CSAT_CHANNELS = ("whatsapp", "sms", "telegram", "web")
CSAT_TEXT = "Did I help? Reply with a number from 1 (not at all) to 5 (perfectly)."
def close_out(repo: ProactiveStore, idle_h: float) -> int:
    """Record the outcome of every conversation that is over, and ask for a rating once."""
    now = repo.ctx.now()
    recorded = 0
    for conv, handed_off, done in repo.finished_conversations(now - timedelta(hours=idle_h)):
        if not done:
            continue
        survey = None
        if conv.channel in CSAT_CHANNELS:
            survey = new_outbox_row(conv.channel, conv.channel_user_id,
                                    {"text": CSAT_TEXT, "quick_replies": ["1", "2", "3", "4", "5"],
                                     "products": [], "images": [], "kind": "csat"},
                                    f"csat:{conv.id}", now)
        rated = repo.last_bot_reply(conv.id)
        outcome = ConversationOutcome(
            conversation_id=conv.id, customer_id=conv.customer_id, channel=conv.channel,
            resolved_by_bot=not handed_off, handed_off=handed_off, csat=None,
            rated_message_id=rated[0] if rated else None, rated_reply=rated[1] if rated else None,
            csat_requested_at=now if survey else None, resolved_at=now, updated_at=now)
        recorded += repo.add_outcome(outcome, survey)
    return recorded


def answer_csat(repo: ProactiveStore, channel: str, channel_user_id: str, text: str,
                within_h: float = 72.0) -> int | None:
    """If this message answers this person's open survey, record it and return the score (the
    console-aware engine then thanks the customer instead of answering); None = not a rating."""
    score = parse_csat(text)
    if score is None:
        return None
    conversation_id = repo.awaiting_rating(channel, channel_user_id, repo.ctx.now() - timedelta(hours=within_h))
    if conversation_id is None:
        return None
    return score if repo.rate(conversation_id, score, repo.ctx.now()) else None


def survey_answer(repo: ProactiveStore, conversation_id: str, text: str) -> int | None:
    """`answer_csat` for a turn of a known conversation (what the console-aware engine has)."""
    if parse_csat(text) is None:
        return None
    who = repo.channel_user(conversation_id)
    return answer_csat(repo, who[0], who[1], text) if who else None


def orders_after(repo: ProactiveStore, customers: CustomerData, *, customer_id: str | None,
                 visitor_id: str | None, start: datetime, days: int) -> str | None:
    """The first order (storefront event or the shop's order history) within `days` after `start`."""
    end = start + timedelta(days=days)
    for ev in repo.events_of(customer_id=customer_id, visitor_id=visitor_id if not customer_id else None,
                             since=start, kinds=("order_placed",)):
        if ev.occurred_at <= end:
            return ev.order_id or ev.id
    if customer_id:
        try:
            orders = customers.customer(customer_id, order_limit=50).orders
        except NotFound:
            return None
        hits = sorted((o for o in orders if start.date() <= o.placed_at <= end.date() and o.status != "cancelled"),
                      key=lambda o: o.placed_at)
        if hits:
            return hits[0].id
    return None


def mark_conversions(repo: ProactiveStore, customers: CustomerData, days: int) -> int:
    marked = 0
    for o in repo.outcomes(since=repo.ctx.now() - timedelta(days=days + 1)):
        if o.converted_order_id or not o.customer_id:
            continue
        order = orders_after(repo, customers, customer_id=o.customer_id, visitor_id=None, start=o.resolved_at,
                             days=days)
        if order:
            repo.set_converted(o.conversation_id, order, repo.ctx.now())
            marked += 1
    return marked


# -- the report ------------------------------------------------------------------------------------

class TriggerStats(BaseModel):
    trigger: str
    treated: int = 0
    delivered: int = 0
    treated_converted: int = 0
    holdout: int = 0
    holdout_converted: int = 0

    @property
    def treated_rate(self) -> float | None:
        return self.treated_converted / self.treated if self.treated else None

    @property
    def holdout_rate(self) -> float | None:
        return self.holdout_converted / self.holdout if self.holdout else None

    @property
    def lift_pp(self) -> float | None:
        """Conversion lift in percentage points; None until both groups have members."""
        if self.treated_rate is None or self.holdout_rate is None:
            return None
        return round(100 * (self.treated_rate - self.holdout_rate), 1)


class Report(BaseModel):
    since: date
    until: date
    conversations: int = 0
    contained: int = 0
    handed_off: int = 0
    rated: int = 0
    csat_sum: int = 0
    converted: int = 0
    triggers: list[TriggerStats] = []

    @property
    def containment_rate(self) -> float | None:
        return self.contained / self.conversations if self.conversations else None

    @property
    def csat(self) -> float | None:
        return round(self.csat_sum / self.rated, 2) if self.rated else None

    @property
    def conversion_rate(self) -> float | None:
        return self.converted / self.conversations if self.conversations else None


@dataclass(frozen=True)
class SendFact:
    trigger: str
    holdout: bool
    delivered: bool
    converted: bool


def summarise(outcomes: Sequence[ConversationOutcome], sends: Sequence[SendFact], since: date, until: date) -> Report:
    report = Report(since=since, until=until, conversations=len(outcomes))
    for o in outcomes:
        report.contained += o.resolved_by_bot
        report.handed_off += o.handed_off
        report.converted += o.converted_order_id is not None
        if o.csat is not None:
            report.rated += 1
            report.csat_sum += o.csat
    by: dict[str, TriggerStats] = defaultdict(lambda: TriggerStats(trigger=""))
    for s in sends:
        t = by[s.trigger]
        t.trigger = s.trigger
        if s.holdout:
            t.holdout += 1
            t.holdout_converted += s.converted
        else:
            t.treated += 1
            t.delivered += s.delivered
            t.treated_converted += s.converted
    report.triggers = [by[k] for k in sorted(by)]
    return report


_DELIVERED = ("sent",)


def build_report(repo: ProactiveStore, customers: CustomerData, since: datetime, conversion_days: int) -> Report:
    """Conversations resolved and triggers decided since `since`. A trigger occasion converts when the
    subject orders within `conversion_days`; held-out occasions are judged the same way."""
    facts = []
    for send, outbox_status in repo.sends(since):
        order = orders_after(repo, customers, customer_id=send.customer_id, visitor_id=send.visitor_id,
                             start=send.created_at, days=conversion_days)
        facts.append(SendFact(send.trigger, send.holdout,
                              send.status in ("delivered", "shown") or outbox_status in _DELIVERED, order is not None))
    return summarise(repo.outcomes(since), facts, since.date(), repo.ctx.now().date())


def as_json(report: Report) -> dict[str, object]:
    """The report with its derived rates: `skinsage report --json` and `/console/api/report`."""
    out: dict[str, object] = report.model_dump(mode="json")
    out.update(containment_rate=report.containment_rate, csat=report.csat, conversion_rate=report.conversion_rate)
    out["triggers"] = [{**t.model_dump(), "treated_rate": t.treated_rate, "holdout_rate": t.holdout_rate,
                        "lift_pp": t.lift_pp} for t in report.triggers]
    return out


def render(report: Report) -> str:
    def pct(x: float | None) -> str:
        return "n/a" if x is None else f"{100 * x:.1f}%"

    lines = [f"SkinSage report {report.since} .. {report.until}", "",
             "Conversations",
             f"  resolved conversations        {report.conversations}",
             f"  containment (bot only)        {pct(report.containment_rate)}  ({report.contained})",
             f"  handed off to a person        {report.handed_off}",
             f"  CSAT (1-5)                    {report.csat if report.csat is not None else 'n/a'}"
             f"  ({report.rated} ratings)",
             f"  converted (order after)       {pct(report.conversion_rate)}  ({report.converted})", "",
             "Triggers (conversion within the window; holdout got nothing)",
             f"  {'trigger':<20}{'sent':>6}{'deliv':>7}{'conv':>6}{'rate':>8}{'hold':>6}{'conv':>6}{'rate':>8}"
             f"{'lift pp':>9}"]
    for t in report.triggers:
        lift = "n/a" if t.lift_pp is None else f"{t.lift_pp:+.1f}"
        lines.append(f"  {t.trigger:<20}{t.treated:>6}{t.delivered:>7}{t.treated_converted:>6}"
                     f"{pct(t.treated_rate):>8}{t.holdout:>6}{t.holdout_converted:>6}{pct(t.holdout_rate):>8}{lift:>9}")
    if not report.triggers:
        lines.append("  (no trigger decisions in this period)")
    return "\n".join(lines)
