"""Shopify orders export ingest throughput: 100,000 order lines into a fresh graph, then the same file
again (the no-op re-run), on the embedded graph and (with --neo4j) on Neo4j.

    python bench/ingest.py [--lines 100000 --customers 8000] [--neo4j]

Writes a Shopify-format orders CSV (one row per line item, the export's 79 columns) against the curated
catalogue, then times parse + customer lookup + diff load through `skinsage ingest shopify-orders`'s code path
(the CLI default reads each stored order's tracking so a CSV re-import keeps what webhooks wrote;
the last column is the same re-run without that read).
Targets: under 60 s into the embedded graph, under 120 s into Neo4j (batched UNWIND), on 2 cores.
"""

from __future__ import annotations

import argparse
import csv
import os
import random
import sys
import tempfile
import time
from datetime import datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench._util import print_table
from graph.cypher_store import CypherGraphStore
from ingest.csvfile import open_csv
from ingest.knowledge import load_knowledge
from ingest.report import IngestReport
from ingest.service import Ingestor
from ingest.shopify import ORDER_COLUMNS, order_drafts
from skinsage.settings import Settings

HEADER = ["Name", "Email", "Financial Status", "Paid at", "Fulfillment Status", "Fulfilled at", "Accepts Marketing",
          "Currency", "Subtotal", "Shipping", "Taxes", "Total", "Discount Code", "Discount Amount", "Shipping Method",
          "Created at", "Lineitem quantity", "Lineitem name", "Lineitem price", "Lineitem compare at price", "Lineitem sku",
          "Lineitem requires shipping", "Lineitem taxable", "Lineitem fulfillment status", "Billing Name", "Billing Street",
          "Billing Address1", "Billing Address2", "Billing Company", "Billing City", "Billing Zip", "Billing Province",
          "Billing Country", "Billing Phone", "Shipping Name", "Shipping Street", "Shipping Address1", "Shipping Address2",
          "Shipping Company", "Shipping City", "Shipping Zip", "Shipping Province", "Shipping Country", "Shipping Phone",
          "Notes", "Note Attributes", "Cancelled at", "Payment Method", "Payment Reference", "Refunded Amount", "Vendor",
          "Outstanding Balance", "Employee", "Location", "Device ID", "Id", "Tags", "Risk Level", "Source",
          "Lineitem discount", "Tax 1 Name", "Tax 1 Value", "Tax 2 Name", "Tax 2 Value", "Tax 3 Name", "Tax 3 Value",
          "Tax 4 Name", "Tax 4 Value", "Tax 5 Name", "Tax 5 Value", "Phone", "Receipt Number", "Duties",
          "Billing Province Name", "Shipping Province Name", "Payment ID", "Payment Terms Name", "Next Payment Due At",
          "Payment References"]


def write_orders(path: Path, skus: list[tuple[str, str, float]], lines: int, customers: int, seed: int = 11) -> int:
    rng = random.Random(seed)
    start = datetime(2024, 11, 1, 9, 0, 0)
    written = orders = 0
    with path.open("w", newline="", encoding="utf-8") as f:
        w = csv.DictWriter(f, fieldnames=HEADER, restval="")
        w.writeheader()
        while written < lines:
            orders += 1
            k = rng.randrange(customers)
            created = start + timedelta(minutes=orders * 7 + rng.randrange(5))
            n = min(lines - written, rng.choice((1, 1, 2, 2, 3, 4)))
            for i, (sku, name, price) in enumerate(rng.sample(skus, n)):
                row = {"Name": f"#{10000 + orders}", "Email": f"customer{k}@example-shop.eu",
                       "Created at": created.strftime("%Y-%m-%d %H:%M:%S +0100"), "Lineitem quantity": rng.choice((1, 1, 1, 2)),
                       "Lineitem name": name, "Lineitem price": f"{price:.2f}", "Lineitem sku": sku,
                       "Lineitem requires shipping": "true", "Lineitem taxable": "true", "Lineitem fulfillment status": "fulfilled"}
                if i == 0:
                    row.update({"Financial Status": "paid", "Fulfillment Status": rng.choice(("fulfilled", "fulfilled", "")),
                                "Currency": "EUR", "Billing Name": f"Customer {k}", "Billing Country": "DE",
                                "Payment Method": "Shopify Payments", "Id": str(5800000000000 + orders), "Source": "web"})
                w.writerow(row)
                written += 1
    return orders


def run(store: CypherGraphStore, settings: Settings, path: Path, keep_tracking: bool) -> tuple[float, IngestReport]:
    t = time.perf_counter()
    report = IngestReport(source="shopify orders", file=str(path))
    drafts = list(order_drafts(open_csv(path, ORDER_COLUMNS, "Shopify orders export"), report))
    Ingestor(store, settings).orders(drafts, report, keep_tracking=keep_tracking)
    return time.perf_counter() - t, report


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--lines", type=int, default=100_000)
    ap.add_argument("--customers", type=int, default=8000)
    ap.add_argument("--neo4j", action="store_true", help="also the Neo4j at NEO4J_TEST_URI")
    args = ap.parse_args()
    settings = Settings()
    bundle = load_knowledge(settings.knowledge_dir)
    skus = [(p.sku, p.name, p.price) for p in bundle.products]
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "orders_export.csv"
        n_orders = write_orders(path, skus, args.lines, args.customers)
        backends: list[tuple[str, CypherGraphStore]] = []
        from graph.embedded import EmbeddedGraphStore

        backends.append(("embedded", EmbeddedGraphStore(Path(tmp) / "graph.lbdb")))
        if args.neo4j:
            from graph.neo4j_store import Neo4jGraphStore

            backends.append(("neo4j", Neo4jGraphStore(os.environ.get("NEO4J_TEST_URI", "bolt://127.0.0.1:7687"))))
        for name, store in backends:
            store.reset()
            store.load(bundle)                      # the catalogue the orders refer to
            first, report = run(store, settings, path, keep_tracking=True)
            again, rerun = run(store, settings, path, keep_tracking=True)
            lean, _ = run(store, settings, path, keep_tracking=False)
            created = report.summary("CustomerOrder")["created"]
            rows.append([name, args.lines, n_orders, report.summary("Customer")["created"], created, first,
                         rerun.summary("CustomerOrder")["unchanged"], again, lean, len(report.rejected)])
            store.close()
    print(f"{path.name}: {args.lines} order lines, {n_orders} orders, {args.customers} customers")
    print_table(["backend", "lines", "orders", "customers created", "orders created", "first run s",
                 "re-run unchanged", "re-run s", "re-run --no-keep-tracking s", "rejected"], rows)


if __name__ == "__main__":
    main()
