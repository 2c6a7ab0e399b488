"""The reminder pass the worker runs: due restock reminders and follow-ups into the durable outbox.

Why each rule lives where it does:
- *When* (`plan`): pure, from the depletion estimate: a reminder `days_before` the pack runs out, a
  follow-up once the last purchase is more than `grace` days past the expected cycle.
- *Whether now* (`quiet`, frequency cap, consent, opt-out, channel choice): checked at enqueue time;
  opt-outs are checked again by the outbox at send time.
- *Once*: the send row (UNIQUE reminder + cycle) and its outbox row (dedupe key
  `reminder:<id>:<cycle>`) commit in one transaction, so two workers running this pass at once, or one
  re-running it after a crash, send once. Retries with backoff are the outbox's.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any, Literal

from sqlalchemy import func, select

from commerce.depletion import Purchase, estimate
from commerce.reminder_store import SqlReminderStore, session_of
from graph.store import GraphStore
from opstore import domain
from opstore.errors import Conflict
from opstore.models import ChannelIdentity, Consent
from opstore.models_commerce import ReminderRow, ReminderSendRow
from opstore.outbox import new_outbox_row
from opstore.service import StoreService
from proactive.policy import QuietHours, in_quiet_hours, zone
from skinsage.errors import NotFound
from skinsage.settings import Settings

log = logging.getLogger("skinsage.commerce.scheduler")
Kind = Literal["restock", "followup"]


@dataclass(frozen=True)
class ReminderPolicy:
    days_before: int = 7
    grace_days: int = 7
    quiet: QuietHours = QuietHours(time(21), time(9))
    max_per_window: int = 2
    cap_days: int = 7
    channels: tuple[str, ...] = ("whatsapp", "sms", "telegram")
    whatsapp_template: str = "restock_reminder"
    whatsapp_followup_template: str = "restock_followup"
    whatsapp_window_h: float = 24.0

    @classmethod
    def from_settings(cls, s: Settings) -> ReminderPolicy:
        return cls(days_before=s.reminder_days_before, grace_days=s.reminder_followup_grace_days,
                   quiet=QuietHours.parse(s.quiet_hours_start, s.quiet_hours_end),
                   max_per_window=s.reminder_max_per_window, cap_days=s.reminder_cap_days,
                   channels=tuple(s.reminder_channels), whatsapp_template=s.reminder_whatsapp_template,
                   whatsapp_followup_template=s.reminder_whatsapp_followup_template,
                   whatsapp_window_h=s.twilio_whatsapp_window_h)


@dataclass
class PassReport:
    enqueued: int = 0
    duplicates: int = 0
    not_due: int = 0
    quiet: int = 0
    capped: int = 0
    no_channel: int = 0
    synced: int = 0
    outcomes: list[tuple[str, str]] = field(default_factory=list)


@dataclass(frozen=True)
class DueReminder:
    """A reminder row read out of its transaction (rows do not outlive their unit of work)."""

    id: str
    customer_id: str
    sku: str
    product_name: str
    source: str
    status: str
    days_before: int | None
    due: date
    runs_out: date
    last_purchase: date | None

    @classmethod
    def of(cls, row: ReminderRow) -> DueReminder:
        return cls(**{f: getattr(row, f) for f in cls.__dataclass_fields__})


# --- pure rules ------------------------------------------------------------------------------------

def plan(due: date, runs_out: date, today: date, grace_days: int) -> Kind | None:
    """What a reminder owes the customer today: nothing yet, the restock reminder, or (past the cycle
    by more than `grace_days`) a follow-up."""
    if today > runs_out + timedelta(days=grace_days):
        return "followup"
    return "restock" if today >= due else None


def local_now(now: datetime, tz_name: str | None) -> datetime:
    return now.astimezone(zone(tz_name))


def quiet(now: datetime, tz_name: str | None, hours: QuietHours) -> bool:
    """Within quiet hours in the customer's own time zone (DST-aware): the same rule as every
    proactive message (proactive.policy), so a customer has one night, not two."""
    return in_quiet_hours(now, zone(tz_name), hours)


def window_open(last_inbound: datetime | None, now: datetime, hours: float) -> bool:
    return last_inbound is not None and now - last_inbound < timedelta(hours=hours)


def payload(kind: Kind, channel: str, first_name: str, product: str, runs_out: date, policy: ReminderPolicy,
            window: bool) -> dict[str, Any]:
    """The outbox payload. WhatsApp always carries the approved template (`{"name", "variables"}`, the
    shape `api.channels.twilio` sends); outside the 24-hour window `text` is None, so only the
    template can go out, whatever happens to the window before the row is sent."""
    if kind == "restock":
        text = (f"Hi {first_name}, your {product} should run out around {runs_out:%d %B}. "
                "Reply 'reorder' to get a new one on its way.")
        name = policy.whatsapp_template
    else:
        text = (f"Hi {first_name}, how are you getting on with your {product}? It should have run out by "
                f"now; reply 'reorder' if you'd like another, or 'stop' to stop reminders.")
        name = policy.whatsapp_followup_template
    out: dict[str, Any] = {"text": text, "kind": f"reminder_{kind}"}
    if channel == "whatsapp":
        out["template"] = {"name": name, "variables": {"1": first_name, "2": product,
                                                       "3": runs_out.isoformat()}}
        if not window:
            out["text"] = None
    return out


# --- the pass --------------------------------------------------------------------------------------

class ReminderScheduler:
    def __init__(self, store: StoreService, graph: GraphStore, policy: ReminderPolicy | None = None,
                 clock: Callable[[], datetime] | None = None) -> None:
        self.store, self.graph = store, graph
        self.policy = policy or ReminderPolicy()
        self.clock = clock or store.ctx.now
        self.reminders = SqlReminderStore(store)

    def sync_customer(self, customer_id: str) -> int:
        """Derive a reminder per product the customer keeps buying (from size, dose and their own
        repurchase rhythm). A reminder set in chat keeps its own `days_before`."""
        try:
            profile = self.graph.customer(customer_id, order_limit=200)
        except NotFound:
            return 0
        buys: dict[str, list[Purchase]] = {}
        for o in profile.orders:
            if o.status in ("cancelled", "returned"):
                continue
            for line in o.lines:
                buys.setdefault(line.sku, []).append(Purchase(o.placed_at, line.quantity))
        existing = {r.sku: r for r in self._rows(customer_id)}
        n = 0
        for sku, purchases in buys.items():
            try:
                prod = self.graph.product(sku).product
            except NotFound:
                continue
            dep = estimate(purchases, prod.days_per_pack)
            mine = existing.get(sku)
            before = mine.days_before if mine and mine.days_before is not None else self.policy.days_before
            if mine is not None and mine.status != "active" and mine.last_purchase == dep.last_purchase:
                continue   # cancelled or followed up for this cycle: a new purchase starts a new one
            self.reminders.upsert(customer_id, sku, prod.name, dep.reminder_day(before), dep.runs_out,
                                  source=mine.source if mine else "orders", days_before=mine.days_before if mine else None,
                                  last_purchase=dep.last_purchase)
            n += 1
        return n

    def consenting_customers(self) -> list[str]:
        """Customers who granted a reminder channel (latest decision may be a withdrawal; checked later)."""
        with self.store.ctx.uow() as uow:
            rows = session_of(uow).scalars(select(Consent.customer_id).where(
                Consent.kind.in_(self.policy.channels), Consent.granted, Consent.customer_id.is_not(None))
                .distinct()).all()
            return sorted(r for r in rows if r)

    def run(self, customers: Iterable[str] | None = None, *, sync: bool = True) -> PassReport:
        """One pass: refresh reminders of `customers` (default: everyone who consented to a reminder
        channel) from their orders, then enqueue every reminder owed now."""
        report = PassReport()
        if sync:
            for cid in (self.consenting_customers() if customers is None else customers):
                report.synced += self.sync_customer(cid)
        now = self.clock()
        with self.store.ctx.uow() as uow:
            due = [DueReminder.of(r) for r in session_of(uow).scalars(select(ReminderRow).where(
                ReminderRow.status == "active", ReminderRow.due <= now.date() + timedelta(days=1))
                .order_by(ReminderRow.due, ReminderRow.id)).all()]
        for row in due:
            outcome = self._one(row, now)
            setattr(report, outcome, getattr(report, outcome) + 1)
            report.outcomes.append((row.id, outcome))
        return report

    def _rows(self, customer_id: str) -> list[DueReminder]:
        with self.store.ctx.uow() as uow:
            rows = session_of(uow).scalars(select(ReminderRow).where(ReminderRow.customer_id == customer_id)
                                           .order_by(ReminderRow.updated_at)).all()
            return [DueReminder.of(r) for r in rows]

    def _one(self, row: DueReminder, now: datetime) -> str:
        try:
            customer = self.graph.customer(row.customer_id, order_limit=1).customer
        except NotFound:
            return "no_channel"
        today = local_now(now, customer.timezone).date()
        kind = plan(row.due, row.runs_out, today, self.policy.grace_days)
        if kind is None:
            return "not_due"
        if quiet(now, customer.timezone, self.policy.quiet):
            return "quiet"
        cycle = f"{kind}:{(row.last_purchase or row.runs_out).isoformat()}"
        target = self._channel(row.customer_id)
        if target is None:
            return "no_channel"
        channel, recipient = target
        window = window_open(self.store.last_inbound_at(channel, recipient), now, self.policy.whatsapp_window_h)
        body = payload(kind, channel, customer.name.split()[0], row.product_name, row.runs_out, self.policy, window)
        try:
            with self.store.ctx.uow() as uow:
                s = session_of(uow)
                if s.scalar(select(ReminderSendRow.id).where(ReminderSendRow.reminder_id == row.id,
                                                             ReminderSendRow.cycle == cycle)):
                    return "duplicates"
                since = now - timedelta(days=self.policy.cap_days)
                sent = s.scalar(select(func.count()).select_from(ReminderSendRow).where(
                    ReminderSendRow.customer_id == row.customer_id, ReminderSendRow.created_at >= since)) or 0
                if sent >= self.policy.max_per_window:
                    return "capped"
                box = new_outbox_row(channel, recipient, body, f"reminder:{row.id}:{cycle}", now)
                s.add(box)
                s.add(ReminderSendRow(id=domain.new_id(), reminder_id=row.id, customer_id=row.customer_id, cycle=cycle,
                                      kind=kind, channel=channel, recipient=recipient, outbox_id=box.id, created_at=now))
                if kind == "followup":
                    live = s.get(ReminderRow, row.id)
                    if live is not None:
                        live.status, live.updated_at = "sent", now
                s.flush()
                s.commit()
        except Conflict:
            return "duplicates"   # another worker enqueued this cycle first
        return "enqueued"

    def _channel(self, customer_id: str) -> tuple[str, str] | None:
        """The first configured channel with a verified identity, a granted consent and no opt-out."""
        with self.store.ctx.uow() as uow:
            idents = session_of(uow).scalars(select(ChannelIdentity).where(
                ChannelIdentity.customer_id == customer_id, ChannelIdentity.verified)).all()
            stopped = uow.identities.opted_out_among({(i.channel, i.external_id) for i in idents})
            for channel in self.policy.channels:
                for ident in sorted((i for i in idents if i.channel == channel), key=lambda i: i.created_at):
                    if (channel, ident.external_id) in stopped:
                        continue
                    if uow.identities.latest_consent(channel, customer_id, channel, ident.external_id):
                        return channel, ident.external_id
        return None


class ReminderJob:
    """What `opstore.worker.run_once` calls every loop: runs the pass at most every `interval_s`."""

    def __init__(self, scheduler: ReminderScheduler, interval_s: float = 300.0) -> None:
        self.scheduler, self.interval_s = scheduler, interval_s
        self._last: datetime | None = None

    def __call__(self) -> int:
        now = datetime.now(UTC)
        if self._last is not None and (now - self._last).total_seconds() < self.interval_s:
            return 0
        self._last = now
        try:
            report = self.scheduler.run()
        except NotFound as e:
            log.warning("reminder pass skipped: %s", e)
            return 0
        if report.enqueued:
            log.info("reminder pass: %s", {k: v for k, v in report.__dict__.items() if k != "outcomes"})
        return report.enqueued


def reminder_job(settings: Settings, store: StoreService, graph: GraphStore) -> ReminderJob:
    """The worker's reminder pass from settings: `run_worker(..., jobs=[reminder_job(s, store, graph)])`."""
    return ReminderJob(ReminderScheduler(store, graph, ReminderPolicy.from_settings(settings)),
                       settings.reminder_interval_s)
