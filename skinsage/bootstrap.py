"""The composition root: the one place that turns settings into real adapters."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from graph.store import GraphStore
from skinsage.settings import Settings

if TYPE_CHECKING:
    from retrieval.embedder import Embedder
    from retrieval.hybrid import HybridRetriever
    from retrieval.vector_index import SyncReport


def build_graph(settings: Settings) -> GraphStore:
    if settings.graph_backend == "neo4j":
        from graph.neo4j_store import Neo4jGraphStore

        auth = None
        if settings.neo4j_password is not None:
            auth = (settings.neo4j_user, settings.neo4j_password.get_secret_value())
        return _catalogue_cache(settings, Neo4jGraphStore(settings.neo4j_uri, auth=auth,
                                                          database=settings.neo4j_database,
                                                          timeout_s=settings.neo4j_timeout_s))
    from graph.embedded import EmbeddedGraphStore

    return _catalogue_cache(settings, EmbeddedGraphStore(settings.graph_path,
                                                          read_only=settings.embedded_graph_read_only))


def _catalogue_cache(settings: Settings, graph: Any) -> GraphStore:
    """The in-memory catalogue snapshot (graph.catalogue_view) as the settings say (default: per backend)."""
    wanted = settings.graph_catalogue_cache
    if wanted is False:
        graph.catalogue = None
    elif wanted and graph.catalogue is None:
        graph.catalogue = graph.new_catalogue()
    if graph.catalogue is not None:
        graph.catalogue.ttl_s = settings.graph_catalogue_ttl_s
    return graph  # type: ignore[no-any-return]


def build_assistant(settings: Settings, graph: GraphStore, *, retriever: object = None, reminders: object = None,
                    photos: object = None, encoder: object = None, llm: object = None,
                    purchases: object = None) -> object:
    """The conversation engine with its offline planner (and the LLM planner when configured)."""
    from assistant.composer import Composer
    from assistant.engine import Assistant
    from assistant.nlu import IntentClassifier, load_examples
    from assistant.planner_offline import OfflinePlanner
    from commerce.reminders import InMemoryReminderStore

    if encoder is None:
        from retrieval.embedder import MiniLMEmbedder

        encoder = MiniLMEmbedder()
    prompts = settings.prompts_dir
    classifier = IntentClassifier(encoder, load_examples(prompts / "intents.yaml"))  # type: ignore[arg-type]

    def names(entity_id: str) -> str:
        hits = graph.resolve(entity_id.replace("-", " "), limit=1)
        return hits[0].name if hits and hits[0].id == entity_id else entity_id.replace("-", " ")

    composer = Composer(prompts / "replies.yaml", brand=settings.brand_name, names=names)
    if llm is None and settings.llm_enabled:
        from assistant.planner_llm import LangChainPlanner

        key = settings.openai_api_key.get_secret_value() if settings.openai_api_key else "not-needed"
        llm = LangChainPlanner.openai(api_key=key, model=settings.llm_model, base_url=settings.llm_base_url,
                                      timeout_s=settings.llm_timeout_s, max_retries=settings.llm_max_retries,
                                      prompts_dir=prompts, brand=settings.brand_name)
    return Assistant(graph, OfflinePlanner(classifier), composer, reminders or InMemoryReminderStore(),
                     retriever=retriever, photos=photos, llm=llm, currency=settings.currency,  # type: ignore[arg-type]
                     reminder_days_before=settings.reminder_days_before, purchases=purchases)


def build_embedder(settings: Settings) -> Embedder:
    from retrieval.embedder import MiniLMEmbedder

    return MiniLMEmbedder(settings.embedding_model_path, precision=settings.embedding_precision,
                          query_runtime=settings.embedding_query_runtime,
                          query_precision=settings.embedding_query_precision, cache_dir=settings.model_cache_dir,
                          cache_size=settings.embedding_query_cache)


def sync_retrieval_index(settings: Settings, graph: GraphStore, *, rebuild: bool = False,
                         embedder: Embedder | None = None) -> tuple[SyncReport, HybridRetriever]:
    """Bring the on-disk index in step with the documents folder and the graph, then build the retriever."""
    from retrieval.service import graph_product_lookup, hybrid_retriever, sync_index
    from retrieval.vector_index import FaissVectorIndex

    embedder = embedder or build_embedder(settings)
    index = FaissVectorIndex(settings.vector_index_dir, storage=settings.vector_storage)
    report = sync_index(index, embedder, settings.documents_dir, graph, rebuild=rebuild)
    retriever = hybrid_retriever(index, embedder, graph.resolve, products=graph_product_lookup(graph),
                                 weights=settings.retrieval_weights, rrf_k=settings.retrieval_rrf_k)
    return report, retriever


def build_retriever(settings: Settings, graph: GraphStore, *, embedder: Embedder | None = None) -> HybridRetriever:
    """The hybrid retriever over the current documents and graph (index synced incrementally)."""
    return sync_retrieval_index(settings, graph, embedder=embedder)[1]


def build_engine(settings: Settings, graph: GraphStore, *, store: object = None) -> object:
    """The assistant as the product runs it: hybrid retrieval, MiniLM intents, photo analysis, the
    purchase model behind recommendations, and durable reminders when an operational store is given."""
    from commerce.collab import FittedPurchases
    from vision import analyze_photo

    reminders = None
    if store is not None:
        from commerce.reminder_store import SqlReminderStore

        reminders = SqlReminderStore(store)  # type: ignore[arg-type]
    embedder = build_embedder(settings)
    retriever = build_retriever(settings, graph, embedder=embedder)
    stock = None
    if settings.recommend_stock_outlook:
        from commerce.stock_outlook import FittedStockOutlook

        stock = FittedStockOutlook.for_graph(graph, settings, ttl_s=settings.recommend_stock_outlook_ttl_s)
    purchases = FittedPurchases(graph, stock=stock)
    purchases.warm()
    return build_assistant(settings, graph, retriever=retriever, encoder=embedder, photos=analyze_photo,
                           reminders=reminders, purchases=purchases)


def build_sender(settings: Settings, store: object = None) -> object:
    """The outbound sender for every channel with credentials (Twilio SMS/WhatsApp, Telegram) and
    the storefront nudge mailbox; the API's dispatcher and the worker deliver the outbox through it."""
    from api.channels.sender import build_sender as build_channel_sender

    return build_channel_sender(settings, store)  # type: ignore[arg-type]


@dataclass
class WorkerParts:
    engine: Any
    sender: Any
    store: Any
    jobs: list[Callable[[], int]]
    close: Callable[[], None]


def build_worker(settings: Settings) -> WorkerParts:
    """`skinsage worker`: the same engine as the API (console-aware: notices, ratings, brand rules),
    the channels' sender, and the periodic passes: restock reminders and the proactive jobs
    (abandoned checkouts, segments, seasons, the quality loop)."""
    from console.wiring import wrap_worker_engine
    from opstore import open_store

    graph = build_graph(settings)
    store = open_store(settings, directory=graph)
    engine = wrap_worker_engine(settings, store, graph, build_engine(settings, graph, store=store))

    def close() -> None:
        store.close()
        graph.close()

    return WorkerParts(engine=engine, sender=build_sender(settings, store), store=store,
                       jobs=worker_jobs(settings, store, graph), close=close)


def worker_jobs(settings: Settings, store: Any, graph: GraphStore) -> list[Callable[[], int]]:
    """The periodic passes every worker runs: restock reminders, then the proactive jobs (abandoned
    checkouts, the quality loop, segments, seasons), each on its own interval."""
    from commerce.scheduler import reminder_job
    from proactive.jobs import ProactiveJobs

    proactive = ProactiveJobs.build(settings, store, graph)
    return [reminder_job(settings, store, graph), lambda: sum(proactive.run_due().values())]
