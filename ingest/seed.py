"""The curated knowledge plus the generated demo customers: what `skinsage load` writes."""

from __future__ import annotations

from graph.model import KnowledgeBundle
from graph.store import GraphStore, LoadReport
from ingest.demo import customers_and_orders
from ingest.knowledge import load_knowledge
from skinsage.settings import Settings


def seed_bundle(settings: Settings, *, demo: bool = True) -> KnowledgeBundle:
    bundle = load_knowledge(settings.knowledge_dir)
    if demo and settings.demo_customers:
        customers, orders = customers_and_orders(bundle, settings.demo_customers, settings.demo_seed,
                                                 settings.demo_anchor_date)
        bundle = bundle.model_copy(update={"customers": customers, "orders": orders})
    return bundle


def load_seed(store: GraphStore, settings: Settings, *, demo: bool = True) -> LoadReport:
    """Validate everything first, then write it in one transaction: all or nothing."""
    return store.load(seed_bundle(settings, demo=demo), atomic=True)
