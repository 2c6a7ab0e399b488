"""The segment job over the demo graph: RFM segments and how many customers the repurchase-risk flag marks.

    python bench/proactive_segments.py [--customers 400 --days 2026-11-01,2026-12-08 --anchor 2026-11-01]

Demo customers and orders (the generator `skinsage load` uses; orders end at the demo anchor date,
2026-11-01, and about a quarter of customers stop buying earlier), a fresh SQLite operational store,
and the worker's own job (`refresh_segments`) evaluated on each given day. 2026-12-08 is the day
`bench/proactive_week.py` ends on; evaluated there, every customer has been silent for 37 days
because the demo history stops at the anchor (`--anchor 2026-11-30` lets the history run up to the
simulated week instead). For comparison the table also counts the flag as it was before
(recency > 1.5 x the median gap between any two orders), computed here from the same purchases.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
from collections import Counter
from datetime import UTC, date, datetime, time
from itertools import pairwise
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench._util import print_table
from ingest.seed import seed_bundle
from opstore.migrate import upgrade
from opstore.testing import Clock, make_store
from proactive.repo import ProactiveStore
from proactive.segments import customer_ids, purchases_of, refresh_segments
from proactive.testing import FakeCustomers
from skinsage.settings import Settings


def old_flag(order_days: list[date], pack_days: float | None, today: date) -> bool:
    """The flag before per-product cycles: past 1.5 x the median gap between any two orders."""
    days = sorted(set(order_days))
    gap = (float(statistics.median((b - a).days for a, b in pairwise(days)))
           if len(days) >= 2 else pack_days)
    return gap is not None and (today - days[-1]).days > 1.5 * gap


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--customers", type=int, default=400)
    ap.add_argument("--anchor", type=date.fromisoformat, default=None,
                    help="the demo's last order day (default: settings, 2026-11-01)")
    ap.add_argument("--days", default="2026-11-01,2026-12-08", help="comma-separated days to evaluate on")
    args = ap.parse_args()
    settings = Settings(demo_customers=args.customers)
    if args.anchor is not None:
        settings = Settings(demo_customers=args.customers, demo_anchor_date=args.anchor)
    bundle = seed_bundle(settings)
    graph = FakeCustomers(bundle.customers, list(bundle.orders), bundle.products)
    ids = customer_ids(graph, None)  # type: ignore[arg-type]  # the graph lists its customers
    rows = []
    by_segment: dict[str, Counter[str]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{Path(tmp) / 'ops.db'}"
        upgrade(url)
        for day in (date.fromisoformat(d) for d in args.days.split(",")):
            clock = Clock(datetime.combine(day, time(12), tzinfo=UTC))
            store = make_store(url, clock=clock)
            try:
                repo = ProactiveStore(store)
                written = refresh_segments(repo, graph, ids, day)
                segs = repo.segments()
            finally:
                store.close()
            old = 0
            for cid in ids:
                p = purchases_of(graph, cid)
                if p is not None and p.orders:
                    last = max(i.day for i in p.items) if p.items else None
                    lasting = [p.pack_days[i.sku] * i.quantity for i in p.items if i.day == last and i.sku in p.pack_days]
                    old += old_flag([d for d, _ in p.orders], min(lasting) if lasting else None, day)
            new = sum(s.repurchase_risk for s in segs)
            rows.append([str(day), len(ids), written, old, new, f"{100 * new / max(written, 1):.1f}%"])
            by_segment[str(day)] = Counter(s.segment for s in segs)
            by_segment[f"{day} at risk"] = Counter(s.segment for s in segs if s.repurchase_risk)
    print_table(["day", "customers", "scored", "flag before", "flag now", "share now"], rows)
    names = sorted({k for c in by_segment.values() for k in c})
    print_table(["segment"] + list(by_segment), [[n] + [c.get(n, 0) for c in by_segment.values()] for n in names])


if __name__ == "__main__":
    main()
