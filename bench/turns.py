"""Offline turn latency with many conversations at once.

    python bench/turns.py [--conversations 20 --rounds 3 --think-ms 0,1000]

Builds the product's engine (curated graph + demo customers in a temporary embedded graph, hybrid
retrieval, MiniLM intents), then runs N conversations in N threads, each replaying scripted
multi-turn dialogues. `think-ms` is the pause between a reply and the customer's next message:
0 is a closed loop (every conversation always waiting on the engine: a throughput test), 1000 is
closer to people typing. Prints p50/p95/p99 per setting. Target: p95 < 60 ms at 20 conversations.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench._util import percentile, print_table

SCRIPTS = [
    ["hi", "can you recommend something?", "oily", "large pores", "what about for dark spots?"],
    ["what does niacinamide do?", "can I use vit c with niacinamide", "is retinol ok in pregnancy?"],
    ["I'm allergic to linalool", "I have dry skin, what moisturiser would you suggest?", "anything under 25?"],
    ["how long does shipping to germany take?", "can I return an opened product?", "thanks"],
    ["where is my order SS-101044?", "cus-00001@demo.example-skinsage.com"],
]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--conversations", type=int, default=20)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--think-ms", default="0,1000")
    ap.add_argument("--query-cache", type=int, default=0,
                    help="recent-message embedding cache size; 0 (default) because the scripts repeat "
                         "their messages verbatim, which would make every later turn a cache hit")
    args = ap.parse_args()
    import torch

    torch.set_num_threads(1)
    from assistant.types import Turn
    from graph.embedded import EmbeddedGraphStore
    from ingest.seed import load_seed
    from skinsage.bootstrap import build_engine
    from skinsage.settings import Settings

    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings(data_dir=Path(tmp), embedding_query_cache=args.query_cache)
        graph = EmbeddedGraphStore(settings.graph_path)
        load_seed(graph, settings)
        engine = build_engine(settings, graph)
        engine.llm = None
        for script in SCRIPTS:   # warm-up: first calls build caches (resolver, classifier, index)
            state: dict = {}
            for text in script:
                state = engine.handle(Turn(conversation_id="w", channel="api", text=text, state=state)).state
        rows = []
        for think in [int(x) for x in args.think_ms.split(",")]:
            samples: list[float] = []
            lock = threading.Lock()

            def converse(i: int, think_s: float = think / 1000) -> None:
                for r in range(args.rounds):
                    state: dict = {}
                    for text in SCRIPTS[(i + r) % len(SCRIPTS)]:
                        t = time.perf_counter()
                        state = engine.handle(Turn(conversation_id=f"c{i}-{r}", channel="api", text=text,
                                                   state=state)).state
                        with lock:
                            samples.append((time.perf_counter() - t) * 1000)
                        time.sleep(think_s)

            started = time.perf_counter()
            threads = [threading.Thread(target=converse, args=(i,)) for i in range(args.conversations)]
            for th in threads:
                th.start()
            for th in threads:
                th.join()
            wall = time.perf_counter() - started
            rows.append([args.conversations, think, len(samples), percentile(samples, 50), percentile(samples, 95),
                         percentile(samples, 99), len(samples) / wall])
        graph.close()
    print(f"\nqueries embedded via {getattr(engine.offline.classifier._encoder, 'query_runtime', 'torch')}, "
          f"message cache {args.query_cache}, load average {os.getloadavg()[0]:.1f}\n")
    print_table(["conversations", "think ms", "turns", "p50 ms", "p95 ms", "p99 ms", "turns/s"], rows)


if __name__ == "__main__":
    main()
