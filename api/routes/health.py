"""Liveness and readiness, for load balancers and orchestrators."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from api.deps import GraphDep
from skinsage.errors import GraphError

router = APIRouter(tags=["health"])


@router.get("/health")
def health() -> dict[str, str]:
    """The process is up. Says nothing about dependencies, on purpose."""
    return {"status": "ok"}


@router.get("/ready")
def ready(graph: GraphDep) -> JSONResponse:
    """Ready when the graph answers and its knowledge is loaded."""
    try:
        stats = graph.stats()
    except GraphError as e:
        return JSONResponse({"status": "unavailable", "graph": {"backend": graph.backend, "error": str(e)}},
                            status_code=503)
    body = {"status": "ok" if stats.loaded else "not_loaded",
            "graph": {"backend": graph.backend, "counts": stats.counts}}
    return JSONResponse(body, status_code=200 if stats.loaded else 503)
