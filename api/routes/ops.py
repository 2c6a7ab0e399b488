"""Operations: Prometheus metrics (issue 12).

`/metrics` is open unless `SKINSAGE_METRICS_TOKEN` is set; then Prometheus sends it as a bearer token
(`authorization: {credentials: ...}` in the scrape config). Backups are a command
(`skinsage backup create`), not an endpoint: a web request should not be able to write archives of
every customer's data to disk.
"""

from __future__ import annotations

import asyncio
from typing import Annotated

from fastapi import APIRouter, Header, Request
from fastapi.responses import Response

from api.deps import SettingsDep, bearer_matches
from api.middleware import store_engine
from skinsage import metrics
from skinsage.errors import Forbidden

router = APIRouter(tags=["ops"])


@router.get("/metrics", response_class=Response,
            responses={200: {"content": {"text/plain": {}}, "description": "Prometheus text format"},
                       403: {"description": "error envelope (metrics token required)"}})
async def prometheus_metrics(request: Request, settings: SettingsDep,
                             authorization: Annotated[str | None, Header()] = None) -> Response:
    """Request latency by route, turns, tools, handoffs, outbox depth and age, LLM tokens and cost."""
    if settings.metrics_token is not None and settings.metrics_token.get_secret_value() \
            and not bearer_matches(authorization, settings.metrics_token):
        raise Forbidden("the metrics endpoint needs its token (Authorization: Bearer ...)")
    body, content_type = await asyncio.to_thread(metrics.render, store_engine(request.app))
    return Response(body, media_type=content_type)
