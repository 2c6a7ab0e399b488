"""GraphStore query latency on both adapters at 10x demo scale.

    python bench/graph.py [--products 5000 --customers 50000 --orders 200000 --n 300]

Loads the curated knowledge plus a scaled catalogue and generated customers into a fresh embedded
graph and into the Neo4j at NEO4J_TEST_URI (default bolt://127.0.0.1:7687; start one with
scripts/neo4j-test-server.sh start), then prints p50/p95 per query. Target: p95 < 25 ms.
"""

from __future__ import annotations

import argparse
import os
import random
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench._util import print_table, summary, time_calls  # noqa: E402
from graph.cypher_store import CypherGraphStore  # noqa: E402
from graph.model import KnowledgeBundle  # noqa: E402
from graph.views import ProfileQuery  # noqa: E402
from ingest.demo import customers_and_orders, scaled_products  # noqa: E402
from ingest.knowledge import load_knowledge  # noqa: E402
from skinsage.settings import Settings  # noqa: E402

QUESTIONS = ["can I use vit c with niacinamide?", "is BHA ok for large pores on oily skin",
             "retinol and glycolic acid together?", "something for dark spots and dullness",
             "is salicilic acid safe when pregnant", "what does centella do for redness",
             "I have dry sensitive skin and flaky patches", "hyaluronic acid vs glycerin",
             "best sunscreen for acne prone skin", "azelaic acid for rosacea"]


def build(products: int, customers: int, orders: int) -> KnowledgeBundle:
    s = Settings()
    bundle = load_knowledge(s.knowledge_dir)
    bundle = bundle.model_copy(update={"products": scaled_products(bundle, products)})
    custs, ords = customers_and_orders(bundle, customers, s.demo_seed, s.demo_anchor_date)
    ords = ords[-orders:] if len(ords) > orders else ords
    return bundle.model_copy(update={"customers": custs, "orders": ords})


def workload(bundle: KnowledgeBundle, seed: int = 1) -> dict[str, object]:
    rng = random.Random(seed)
    ing = [i.id for i in bundle.ingredients]
    concerns = [c.id for c in bundle.concerns]
    skus = [p.sku for p in bundle.products]
    with_orders = sorted({o.customer_id for o in bundle.orders})
    allergens = ["linalool", "limonene", "fragrance", "lanolin", "tea-tree-oil"]
    profiles = [ProfileQuery(skin_type=rng.choice(["oily", "dry", "combination", "normal", "sensitive"]),
                             concerns=rng.sample(concerns, rng.randint(1, 3)),
                             avoid=[a for a in rng.sample(allergens, rng.randint(0, 2)) if a in ing],
                             pregnant_or_breastfeeding=rng.random() < 0.2,
                             max_price=rng.choice([None, 30.0, 60.0]), limit=10) for _ in range(200)]
    return {
        "resolve": lambda s, i: s.resolve(QUESTIONS[i % len(QUESTIONS)]),
        "ingredient": lambda s, i: s.ingredient(ing[(i * 7) % len(ing)]),
        "ingredients_for_concern": lambda s, i: s.ingredients_for_concern(concerns[i % len(concerns)]),
        "product": lambda s, i: s.product(skus[(i * 31) % len(skus)]),
        "products_for_profile": lambda s, i: s.products_for_profile(profiles[i % len(profiles)]),
        "routine_conflicts": lambda s, i: s.routine_conflicts(random.Random(i).sample(skus, 5)),
        "customer": lambda s, i: s.customer(with_orders[(i * 13) % len(with_orders)]),
        "customer_by_identity": lambda s, i: s.customer_by_identity(
            f"email:{with_orders[(i * 17) % len(with_orders)]}@demo.example-skinsage.com"),
    }


def open_backends(tmp: Path) -> list[CypherGraphStore]:
    from graph.embedded import EmbeddedGraphStore

    stores: list[CypherGraphStore] = [EmbeddedGraphStore(tmp / "bench.lbdb")]
    try:
        from graph.neo4j_store import Neo4jGraphStore

        neo = Neo4jGraphStore(os.environ.get("NEO4J_TEST_URI", "bolt://127.0.0.1:7687"), timeout_s=5)
        neo.ping()
        stores.append(neo)
    except Exception as e:  # noqa: BLE001 - a bench reports what it could not measure
        print(f"(neo4j not measured: {e})")
    return stores


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--products", type=int, default=5000)
    ap.add_argument("--customers", type=int, default=50000)
    ap.add_argument("--orders", type=int, default=200000)
    ap.add_argument("--n", type=int, default=300)
    args = ap.parse_args()
    t = time.perf_counter()
    bundle = build(args.products, args.customers, args.orders)
    lines = sum(len(o.lines) for o in bundle.orders)
    print(f"dataset: {len(bundle.products)} products, {len(bundle.ingredients)} ingredients, "
          f"{len(bundle.customers)} customers, {len(bundle.orders)} orders ({lines} lines); "
          f"generated in {time.perf_counter() - t:.1f}s")
    work = workload(bundle)
    results: dict[str, dict[str, tuple[float, float, float]]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        for store in open_backends(Path(tmp)):
            store.reset()
            t = time.perf_counter()
            store.load(bundle, atomic=False, batch_size=10000)
            print(f"{store.backend}: loaded in {time.perf_counter() - t:.1f}s")
            store.resolver()   # built once per process, like the API does at first use
            for name, fn in work.items():
                results.setdefault(name, {})[store.backend] = summary(
                    time_calls(lambda i, f=fn, s=store: f(s, i), args.n))
            store.close()
    backends = sorted({b for r in results.values() for b in r})
    rows = []
    for name, per in results.items():
        row: list[object] = [name]
        for b in backends:
            p50, p95, _ = per.get(b, (float("nan"),) * 3)
            row += [p50, p95]
        rows.append(row)
    headers = ["query"] + [f"{b} {q} ms" for b in backends for q in ("p50", "p95")]
    print_table(headers, rows)


if __name__ == "__main__":
    main()
