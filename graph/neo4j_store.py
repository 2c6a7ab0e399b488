"""The Neo4j adapter: the official driver over Bolt, parameterised Cypher, idempotent schema."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from graph import cypher
from graph.cypher_store import CypherGraphStore
from graph.rows import Statement
from skinsage.errors import GraphError, GraphUnavailable


def _plain(value: Any) -> Any:
    from neo4j.graph import Node, Relationship

    if isinstance(value, (Node, Relationship)):
        return dict(value)
    return value


class Neo4jGraphStore(CypherGraphStore):
    backend = "neo4j"
    #: Off unless configured: the server is shared by replicas whose writes a snapshot would only see
    #: after its TTL, and a snapshot would keep answering through a server outage.
    catalogue_by_default = False

    def __init__(self, uri: str, auth: tuple[str, str] | None = None, database: str | None = None,
                 timeout_s: float = 10.0, *, create_schema: bool = True) -> None:
        super().__init__()
        import neo4j

        self._neo4j = neo4j
        self._database = database
        self._timeout = timeout_s
        try:
            # notifications off: "property does not exist yet" warnings on a fresh graph are noise
            self._driver = neo4j.GraphDatabase.driver(uri, auth=auth, connection_timeout=timeout_s,
                                                      max_connection_pool_size=50,
                                                      notifications_min_severity="OFF")
        except (neo4j.exceptions.Neo4jError, neo4j.exceptions.DriverError, ValueError) as e:
            raise GraphUnavailable(f"cannot create a Neo4j driver for {uri}: {e}") from e
        self.uri = uri
        if create_schema:
            self.ensure_schema()

    def _errors(self) -> tuple[type[BaseException], ...]:
        return (self._neo4j.exceptions.Neo4jError, self._neo4j.exceptions.DriverError)

    def _wrap(self, e: BaseException) -> GraphError:
        exc = self._neo4j.exceptions
        if isinstance(e, (exc.ServiceUnavailable, exc.SessionExpired)):
            return GraphUnavailable(f"Neo4j at {self.uri} is unavailable: {e}")
        return GraphError(f"Neo4j query failed: {e}")

    def ensure_schema(self) -> None:
        try:
            with self._driver.session(database=self._database) as s:
                for ddl in cypher.neo4j_schema():
                    s.run(ddl).consume()
        except self._errors() as e:
            raise self._wrap(e) from e

    def _read(self, query: str, params: dict[str, Any] | None = None) -> list[dict[str, Any]]:
        try:
            records, _, keys = self._driver.execute_query(
                query, params or {}, database_=self._database,
                routing_=self._neo4j.RoutingControl.READ)
        except self._errors() as e:
            raise self._wrap(e) from e
        return [{k: _plain(rec[k]) for k in keys} for rec in records]

    def _write(self, batches: Iterable[Statement], atomic: bool) -> None:
        try:
            with self._driver.session(database=self._database) as s:
                if atomic:
                    with s.begin_transaction() as tx:
                        for query, rows in batches:
                            if rows:
                                tx.run(query, {"rows": rows} if "$rows" in query else {}).consume()
                        tx.commit()
                else:
                    for query, rows in batches:
                        if rows:
                            params = {"rows": rows} if "$rows" in query else {}
                            s.execute_write(lambda tx, q=query, p=params: tx.run(q, p).consume())
        except self._errors() as e:
            raise self._wrap(e) from e

    def reset(self) -> None:
        """Delete everything in batches of 5,000 (one huge delete hits the transaction memory limit)."""
        try:
            for query in (cypher.DELETE_RELS_BATCH, cypher.DELETE_NODES_BATCH):
                while True:
                    records, _, _ = self._driver.execute_query(query, {"batch": 5000}, database_=self._database)
                    if not records or records[0]["deleted"] == 0:
                        break
        except self._errors() as e:
            raise self._wrap(e) from e
        self._resolver = None
        if self.catalogue is not None:
            self.catalogue.invalidate()

    def close(self) -> None:
        self._closed = True
        self._driver.close()
