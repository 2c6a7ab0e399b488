"""A simulated week of storefront traffic on the demo store, and the report it produces.

    python bench/proactive_week.py [--visitors 250 --customers 60 --chats 40 --seed 7]

Demo catalogue and customers (the same generator `skinsage load` uses), a fresh SQLite operational
store, a settable clock running hour by hour from Monday 30 Nov 2026 (so the winter season change
falls inside the week). Shoppers browse, linger, add to cart, start and abandon checkouts; the real
triggers, policy, holdout, outbox, quality loop and report run on it. What shoppers do after a
message is an ASSUMPTION of this script (printed below), so the lift shown measures the pipeline,
not the brand's real customers.
"""

from __future__ import annotations

import argparse
import random
import sys
import tempfile
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from assistant.types import InboundMessage  # noqa: E402
from ingest.seed import seed_bundle  # noqa: E402
from opstore.migrate import upgrade  # noqa: E402
from opstore.testing import Clock, EchoEngine, RecordingSender, make_store  # noqa: E402
from proactive import quality  # noqa: E402
from proactive.events import EventBatch  # noqa: E402
from proactive.jobs import ProactiveJobs  # noqa: E402
from proactive.nudges import NudgeMailbox, take_nudges  # noqa: E402
from proactive.repo import ProactiveStore  # noqa: E402
from proactive.testing import FakeCustomers  # noqa: E402
from proactive.triggers import Triggers  # noqa: E402
from skinsage.settings import Settings  # noqa: E402

#: Assumed behaviour (per visitor / per abandoned checkout), baseline -> after our message.
ORDER_LATER = (0.05, 0.08)      # an undecided visitor orders later this week
RECOVER = (0.10, 0.22)          # an abandoned checkout is completed within 2 days


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--visitors", type=int, default=250, help="anonymous visitors per day")
    ap.add_argument("--customers", type=int, default=60, help="signed-in customers visiting per day")
    ap.add_argument("--chats", type=int, default=40, help="conversations per day")
    ap.add_argument("--seed", type=int, default=7)
    args = ap.parse_args()
    rng = random.Random(args.seed)
    settings = Settings(demo_customers=400)
    bundle = seed_bundle(settings)
    graph = FakeCustomers(bundle.customers, list(bundle.orders), bundle.products)
    skus = [p.sku for p in bundle.products]
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{Path(tmp) / 'ops.db'}"
        upgrade(url)
        clock = Clock(datetime(2026, 11, 30, 0, 0, tzinfo=UTC))
        store = make_store(url, clock=clock, sqlite_synchronous="normal")
        repo = ProactiveStore(store)
        triggers = Triggers.from_settings(settings, repo, graph)
        jobs = ProactiveJobs(settings, repo, graph, triggers, clock=lambda: clock.now.timestamp())
        sender, mailbox = RecordingSender(), NudgeMailbox(repo)
        later: list[tuple[datetime, str, str | None, list[str]]] = []     # scheduled orders
        counts = {"visits": 0, "events": 0, "checkouts": 0, "orders": 0}

        def post(visitor: str, customer: str | None, events: list[dict[str, object]]) -> None:
            repo.record_events(EventBatch(visitor_id=visitor, consent=True, events=events), customer)
            counts["events"] += len(events)

        def visit(visitor: str, customer: str | None) -> None:
            counts["visits"] += 1
            looked = rng.sample(skus, rng.randint(1, 3))
            for sku in looked:
                n = rng.randint(6, 8) if rng.random() < 0.06 else 1
                post(visitor, customer, [{"kind": "product_view", "id": f"{visitor}-{sku}-{clock.now:%j%H}-{i}",
                                          "sku": sku, "dwell_s": round(rng.expovariate(1 / 50), 1)}
                                         for i in range(n)])
            outcomes = triggers.browse(visitor, customer)
            nudged = any(o.action == "sent" for o in outcomes) and bool(take_nudges(repo, visitor))
            undecided = bool(outcomes)
            if rng.random() < 0.25:
                post(visitor, customer, [{"kind": "add_to_cart", "sku": looked[0]}])
                if rng.random() < 0.5:
                    counts["checkouts"] += 1
                    post(visitor, customer, [{"kind": "checkout_started"}])
                    if rng.random() < 0.6:
                        later.append((clock.now + timedelta(minutes=10), visitor, customer, [looked[0]]))
                    elif customer:
                        abandoned[customer] = (visitor, looked[0])
                    return
            if undecided and rng.random() < ORDER_LATER[nudged]:
                later.append((clock.now + timedelta(hours=rng.randint(2, 72)), visitor, customer, [looked[0]]))

        def chat(i: int, customer: str | None) -> None:
            user = f"chat-{clock.now:%j%H}-{i}"
            wants_human = rng.random() < 0.15
            got = store.receive(InboundMessage(channel="web", channel_user_id=user,
                                               text="I want a human" if wants_human else "Which serum for oily skin?",
                                               provider_message_id=user,
                                               verified_identity=f"customer:{customer}" if customer else None))
            store.process(got.message_id, EchoEngine())
            if wants_human:
                store.handoffs.claim(got.conversation_id, "agent-1")
                store.handoffs.resolve(got.conversation_id, "agent-1")
            chats.append((user, customer, got.conversation_id))
            if customer and rng.random() < 0.2:
                later.append((clock.now + timedelta(hours=rng.randint(1, 96)), f"v-{customer}", customer, [skus[0]]))

        abandoned: dict[str, tuple[str, str]] = {}
        chats: list[tuple[str, str | None, str]] = []
        customers = [c.id for c in bundle.customers]
        for hour in range(7 * 24):
            local_hour = (hour + 1) % 24                           # Berlin
            busy = 0.2 if local_hour < 8 or local_hour >= 22 else 1.0
            for k in range(round(args.visitors / 24 * busy * 1.2)):
                visit(f"anon-{hour:03d}-{k:03d}", None)
            for _ in range(round(args.customers / 24 * busy * 1.2)):
                cid = rng.choice(customers)
                visit(f"v-{cid}", cid)
            for i in range(round(args.chats / 24 * busy * 1.2)):
                chat(i, rng.choice(customers) if rng.random() < 0.5 else None)
            clock.advance(3600)
            # recovery messages just sent change what abandoners do
            jobs.run_due()
            store.outbox.deliver_due(sender, limit=1000)
            store.outbox.deliver_due(mailbox, limit=1000)
            for cid, (visitor, sku) in list(abandoned.items()):
                messaged = any(p.get("trigger") == "checkout_abandoned" and r for _, r, p in sender.sent
                               if graph.customers[cid].phone == r)
                if messaged or clock.now.hour == 23:
                    if rng.random() < RECOVER[messaged]:
                        later.append((clock.now + timedelta(hours=rng.randint(1, 48)), visitor, cid, [sku]))
                    del abandoned[cid]
            for due in [x for x in later if x[0] <= clock.now]:
                later.remove(due)
                counts["orders"] += 1
                post(due[1], due[2], [{"kind": "order_placed", "order_id": f"SIM-{counts['orders']}",
                                       "skus": due[3]}])
            # some customers answer the satisfaction survey
            for channel, recipient, payload in sender.sent:
                if payload.get("kind") == "csat" and rng.random() < 0.4:
                    quality.answer_csat(repo, channel, recipient, str(rng.choice([5, 5, 4, 4, 4, 3, 2])))
            sender.sent = [s for s in sender.sent if s[2].get("kind") != "csat"]
        clock.advance(24 * 3600)
        jobs.every = {k: 0.0 for k in jobs.every}
        jobs.run_due()
        report = quality.build_report(repo, graph, datetime(2026, 11, 30, tzinfo=UTC), settings.proactive_conversion_days)
        print(f"simulated: {counts['visits']} visits, {counts['events']} events, {counts['checkouts']} checkouts, "
              f"{counts['orders']} orders, {len(chats)} conversations; holdout share {settings.proactive_holdout_share}")
        print(f"assumed: undecided visitor orders {ORDER_LATER[0]:.0%} -> {ORDER_LATER[1]:.0%} after a nudge; "
              f"abandoned checkout recovered {RECOVER[0]:.0%} -> {RECOVER[1]:.0%} after a message\n")
        print(quality.render(report))
        segs = repo.segments()
        by: dict[str, int] = {}
        for s in segs:
            by[s.segment] = by.get(s.segment, 0) + 1
        print(f"\nsegments ({len(segs)} customers): " + ", ".join(f"{k} {v}" for k, v in sorted(by.items()))
              + f"; repurchase risk {sum(s.repurchase_risk for s in segs)}")
        store.close()


if __name__ == "__main__":
    main()
