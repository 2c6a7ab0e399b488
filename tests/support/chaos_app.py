"""The API and a worker in one process over SQLite and the embedded graph, as one machine runs it:
`python -m tests.support.chaos_app <data_dir> <port>`. The fault tests SIGKILL it and start it again.

Knowledge comes from tests/fixtures/knowledge (loaded once; a restart finds it in the graph file).
`SKINSAGE_*` variables in the environment configure it like the real server (e.g. the lease).
"""

from __future__ import annotations

import sys
import threading
from pathlib import Path

import uvicorn

from api.app import create_app
from commerce.reminders import InMemoryReminderStore
from graph.embedded import EmbeddedGraphStore
from ingest.knowledge import load_knowledge
from opstore import open_store
from opstore.worker import run_worker
from retrieval.embedder import MiniLMEmbedder
from skinsage.bootstrap import build_assistant
from skinsage.settings import Settings

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "knowledge"


def main(data_dir: Path, port: int) -> None:
    settings = Settings(data_dir=data_dir, load_demo_on_start=False)  # type: ignore[arg-type]
    graph = EmbeddedGraphStore(data_dir / "graph.lbdb")
    if not graph.stats().loaded:
        graph.load(load_knowledge(FIXTURES))
    store = open_store(settings, directory=graph)
    engine = build_assistant(settings, graph, encoder=MiniLMEmbedder(), reminders=InMemoryReminderStore())
    stop = threading.Event()
    threading.Thread(target=run_worker, args=(settings, engine, None, stop),
                     kwargs={"store": store, "worker_id": f"chaos:{port}", "idle_s": 0.1}, daemon=True).start()
    uvicorn.run(create_app(settings, graph=graph, store=store, engine=engine), host="127.0.0.1", port=port,
                log_level="warning")


if __name__ == "__main__":
    main(Path(sys.argv[1]), int(sys.argv[2]))
