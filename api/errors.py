"""One JSON error envelope for every failure: `{"error": {"code", "message", "details"?}}`."""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from skinsage.errors import Forbidden, GraphUnavailable, InvalidInput, NotFound, SkinSageError

log = logging.getLogger("skinsage.api")


def error_body(code: str, message: str, details: object | None = None) -> dict[str, object]:
    err: dict[str, object] = {"code": code, "message": message}
    if details is not None:
        err["details"] = details
    return {"error": err}


def install(app: FastAPI) -> None:
    @app.exception_handler(NotFound)
    async def _not_found(_: Request, e: NotFound) -> JSONResponse:
        return JSONResponse(error_body("not_found", str(e)), status_code=404)

    @app.exception_handler(InvalidInput)
    async def _invalid(_: Request, e: InvalidInput) -> JSONResponse:
        return JSONResponse(error_body("invalid_input", str(e)), status_code=422)

    @app.exception_handler(GraphUnavailable)
    async def _unavailable(_: Request, e: GraphUnavailable) -> JSONResponse:
        log.warning("graph unavailable: %s", e)
        return JSONResponse(error_body("graph_unavailable", "the knowledge graph is unavailable"),
                            status_code=503)

    @app.exception_handler(Forbidden)
    async def _forbidden_handler(_: Request, e: Forbidden) -> JSONResponse:
        return JSONResponse(error_body("forbidden", str(e)), status_code=403)

    @app.exception_handler(SkinSageError)
    async def _internal(_: Request, e: SkinSageError) -> JSONResponse:
        log.exception("request failed: %s", e)
        return JSONResponse(error_body("internal_error", "something went wrong on our side"), status_code=500)

    @app.exception_handler(RequestValidationError)
    async def _validation(_: Request, e: RequestValidationError) -> JSONResponse:
        details = [{"loc": list(err["loc"]), "msg": err["msg"]} for err in e.errors()]
        return JSONResponse(error_body("validation_error", "the request is not valid", details), status_code=422)

    @app.exception_handler(StarletteHTTPException)
    async def _http(_: Request, e: StarletteHTTPException) -> JSONResponse:
        code = {404: "not_found", 405: "method_not_allowed"}.get(e.status_code, "http_error")
        return JSONResponse(error_body(code, str(e.detail)), status_code=e.status_code)
