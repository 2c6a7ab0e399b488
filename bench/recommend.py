"""Recommendation latency at 10x demo scale, the way the chat tool runs it.

    python bench/recommend.py [--products 1200 --customers 4000 --orders 80000 --n 300]

Loads the curated knowledge with a 10x catalogue and 10x generated customers into a fresh embedded
graph, fits the purchase model once (as the API does at start-up, in the background), then times
`shopper_from_orders` + `recommend_live` (candidates, hard exclusions, scoring, substitutes,
explanations) for customers with and without history, and the chat routine builder (`routine_live`: five
kinds of product ranked the same way, conflicts between the picks, a budget). Target: p95 < 30 ms.

Each query runs twice: answered in Cypher (`catalogue` off, the graph as it was before issue 8's
latency work) and from the in-memory catalogue snapshot (`graph.catalogue_view`, the default). The
script first checks that both give the same recommendations for every case, then times both.
"""

from __future__ import annotations

import argparse
import os
import random
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench._util import print_table, summary, time_calls  # noqa: E402
from bench.graph import build  # noqa: E402
from commerce.collab import fit_from_graph  # noqa: E402
from commerce.live import recommend_live, routine_live, shopper_from_orders  # noqa: E402
from graph.embedded import EmbeddedGraphStore  # noqa: E402
from graph.views import ProfileQuery  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--products", type=int, default=1200)
    ap.add_argument("--customers", type=int, default=4000)
    ap.add_argument("--orders", type=int, default=80000)
    ap.add_argument("--n", type=int, default=300)
    args = ap.parse_args()
    bundle = build(args.products, args.customers, args.orders)
    graph = EmbeddedGraphStore(Path(tempfile.mkdtemp(prefix="bench-recommend-")) / "g.lbdb")
    t = time.perf_counter()
    graph.load(bundle, atomic=False, batch_size=10000)
    load_s = time.perf_counter() - t
    t = time.perf_counter()
    model = fit_from_graph(graph)
    fit_s = time.perf_counter() - t
    rng = random.Random(3)
    concerns = [c.id for c in bundle.concerns]
    buyers = sorted({o.customer_id for o in bundle.orders})
    today = date(2026, 11, 1)
    cases = [(rng.choice(buyers) if i % 2 == 0 else None,
              ProfileQuery(skin_type=rng.choice(["oily", "dry", "combination", "normal", "sensitive"]),
                           concerns=rng.sample(concerns, rng.randint(1, 2)), pregnant_or_breastfeeding=rng.random() < 0.2,
                           avoid=rng.sample(["linalool", "limonene", "lanolin"], rng.randint(0, 1)), limit=16))
             for i in range(200)]

    def run(i: int, with_model: bool = True) -> None:
        cid, q = cases[i % len(cases)]
        shopper = shopper_from_orders(graph, cid, today, skin_type=q.skin_type, concerns=tuple(q.concerns),
                                      avoid=frozenset(q.avoid), pregnant_or_breastfeeding=q.pregnant_or_breastfeeding)
        recommend_live(graph, q, shopper, 9, model=model if with_model else None)

    def routine(i: int) -> None:
        cid, q = cases[i % len(cases)]
        shopper = shopper_from_orders(graph, cid, today, skin_type=q.skin_type, concerns=tuple(q.concerns),
                                      avoid=frozenset(q.avoid), pregnant_or_breastfeeding=q.pregnant_or_breastfeeding)
        routine_live(graph, q, shopper, budget=80.0 if i % 3 == 0 else None, model=model)

    def answers(i: int) -> list[tuple[str, str | None, float]]:
        cid, q = cases[i]
        shopper = shopper_from_orders(graph, cid, today, skin_type=q.skin_type, concerns=tuple(q.concerns),
                                      avoid=frozenset(q.avoid), pregnant_or_breastfeeding=q.pregnant_or_breastfeeding)
        return [(r.sku, r.substitute_for, r.score) for r in recommend_live(graph, q, shopper, 9, model=model)]

    cache = graph.catalogue
    graph.catalogue = None
    cypher_answers = [answers(i) for i in range(len(cases))]
    graph.catalogue = cache
    t = time.perf_counter()
    cache.get()
    build_ms = (time.perf_counter() - t) * 1000
    same = sum(answers(i) == cypher_answers[i] for i in range(len(cases)))
    rows = []
    for mode in ("cypher", "catalogue view"):
        graph.catalogue = None if mode == "cypher" else cache
        for name, fn in (("recommend (history + content + stock)", run),
                         ("recommend without the purchase model", lambda i: run(i, with_model=False)),
                         ("build_routine (5 kinds, conflicts, budget)", routine)):
            p50, p95, mean = summary(time_calls(fn, args.n, warmup=20))
            rows.append([mode, name, args.n, p50, p95, mean])
    print(f"\n{len(bundle.products):,} products, {len(bundle.customers):,} customers, {len(bundle.orders):,} orders; "
          f"load {load_s:.0f} s, purchase model fit {fit_s:.1f} s; {os.cpu_count()} cores, "
          f"load average {os.getloadavg()[0]:.1f}\n")
    print_table(["catalogue", "query", "n", "p50 ms", "p95 ms", "mean ms"], rows)
    print(f"catalogue view build {build_ms:.0f} ms (once per catalogue change); identical recommendations "
          f"from both paths: {same}/{len(cases)} cases")
    graph.close()


if __name__ == "__main__":
    main()
