"""The composition root: the one place that turns settings into real adapters."""

from __future__ import annotations

from graph.store import GraphStore
from skinsage.settings import Settings


def build_graph(settings: Settings) -> GraphStore:
    if settings.graph_backend == "neo4j":
        from graph.neo4j_store import Neo4jGraphStore

        auth = None
        if settings.neo4j_password is not None:
            auth = (settings.neo4j_user, settings.neo4j_password.get_secret_value())
        return Neo4jGraphStore(settings.neo4j_uri, auth=auth, database=settings.neo4j_database,
                               timeout_s=settings.neo4j_timeout_s)
    from graph.embedded import EmbeddedGraphStore

    return EmbeddedGraphStore(settings.graph_path)
