"""The embedded graph adapter: LadybugDB (the maintained fork of Kùzu), no server needed.

Why LadybugDB: it is an embedded, on-disk property graph that speaks Cypher, so the same statements
serve it and Neo4j, and a brand can start on one machine with nothing to install or run. (FalkorDB
Lite needs Python 3.12; NetworkX or SQLite would mean a second query language.)
"""

from __future__ import annotations

import threading
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from graph import cypher
from graph.cypher_store import CypherGraphStore
from graph.rows import Statement
from skinsage.errors import GraphError, GraphUnavailable


def _plain(value: Any) -> Any:
    """Ladybug returns nodes as dicts with internal `_ID`/`_LABEL`; callers get properties only."""
    if isinstance(value, dict) and "_LABEL" in value:
        return {k: v for k, v in value.items() if not k.startswith("_")}
    return value


class EmbeddedGraphStore(CypherGraphStore):
    backend = "embedded"
    cast_rows = True

    def __init__(self, path: Path | str, *, read_only: bool = False) -> None:
        super().__init__()
        import ladybug  # heavy native import stays inside the adapter

        self._lb = ladybug
        self.path = Path(path)
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._db = ladybug.Database(str(self.path), read_only=read_only)
        except RuntimeError as e:
            raise GraphUnavailable(f"cannot open the embedded graph at {self.path}: {e}") from e
        self._local = threading.local()
        self._write_lock = threading.Lock()
        if not read_only:
            self.ensure_schema()

    def _conn(self) -> Any:
        conn = getattr(self._local, "conn", None)
        if conn is None:
            conn = self._lb.Connection(self._db)
            self._local.conn = conn
        return conn

    def ensure_schema(self) -> None:
        """Create missing tables, then add columns a newer release introduced (an in-place migration)."""
        conn = self._conn()
        tables = {row[0] for row in conn.execute(cypher.SHOW_TABLES).get_all()}
        existing = {t: {row[0] for row in conn.execute(cypher.table_columns(t)).get_all()}
                    for t in tables if t in cypher.NODES or t in cypher.REL_BY_TYPE}
        for ddl in cypher.ladybug_schema():
            conn.execute(ddl)
        for ddl in cypher.ladybug_missing_columns(existing):
            conn.execute(ddl)

    def _read(self, query: str, params: dict[str, Any] | None = None) -> list[dict[str, Any]]:
        try:
            result = self._conn().execute(query, params or {})
            cols = result.get_column_names()
            return [{c: _plain(v) for c, v in zip(cols, row, strict=True)} for row in result.get_all()]
        except RuntimeError as e:
            raise GraphError(f"embedded graph query failed: {e}") from e

    def _write(self, batches: Iterable[Statement], atomic: bool) -> None:
        conn = self._conn()
        with self._write_lock:
            if atomic:
                conn.execute("BEGIN TRANSACTION")
            try:
                for query, rows in batches:
                    if rows:
                        conn.execute(query, {"rows": rows} if "$rows" in query else {})
            except Exception as e:
                if atomic:
                    try:
                        conn.execute("ROLLBACK")
                    except RuntimeError:
                        pass  # the engine already rolled back on a binder/runtime error
                raise GraphError(f"embedded graph write failed and was rolled back: {e}") from e
            if atomic:
                conn.execute("COMMIT")

    def close(self) -> None:
        self._closed = True
        self._local = threading.local()
        db, self._db = self._db, None
        if db is not None:
            db.close()
