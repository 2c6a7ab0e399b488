"""Liveness and readiness, for load balancers and orchestrators."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from api.deps import GraphDep
from skinsage.errors import GraphError, SkinSageError

router = APIRouter(tags=["health"])


@router.get("/health")
def health() -> dict[str, str]:
    """The process is up. Says nothing about dependencies, on purpose."""
    return {"status": "ok"}


@router.get("/ready")
def ready(graph: GraphDep, request: Request) -> JSONResponse:
    """Ready when everything a turn needs answers: the graph with its knowledge loaded, the
    operational store (when this app serves chat), and the vector index (when the engine retrieves)."""
    try:
        stats = graph.stats()
    except GraphError as e:
        return JSONResponse({"status": "unavailable", "graph": {"backend": graph.backend, "error": str(e)}},
                            status_code=503)
    body: dict[str, Any] = {"status": "ok" if stats.loaded else "not_loaded",
                            "graph": {"backend": graph.backend, "counts": stats.counts}}
    ok = stats.loaded
    for name, check in (("store", _store_check), ("vector_index", _index_check)):
        part = check(request.app.state)
        if part is not None:
            body[name] = part
            ok = ok and part["ok"]
    if stats.loaded and not ok:
        body["status"] = "unavailable"
    return JSONResponse(body, status_code=200 if ok else 503)


def _store_check(state: Any) -> dict[str, Any] | None:
    store = getattr(state, "store", None)
    database = getattr(store, "database", None)
    if database is None:
        return None   # this app serves no chat, or a test handed in a store without a database
    try:
        database.ping()
    except SkinSageError as e:
        return {"ok": False, "backend": database.backend, "error": str(e)}
    return {"ok": True, "backend": database.backend}


def _index_check(state: Any) -> dict[str, Any] | None:
    retriever = getattr(getattr(state, "engine", None), "retriever", None)
    if retriever is None:
        return None   # the engine does not retrieve, so no index is needed
    indexes = [r.index for r in getattr(retriever, "rankers", []) if hasattr(r, "index")]
    size = sum(len(i) for i in indexes if hasattr(i, "__len__"))
    return {"ok": size > 0, "vectors": size} if indexes else None
