"""Customer data requests for staff: export (access request) and erasure (right to be forgotten).

Two doors, each with the proof its callers already have, never a customer's:
- `/v1/admin/customers/{id}/export|erase`: the API key as a bearer token (staff tooling and the shop's
  back office, like the stock report);
- `/console/api/admin/customers/{id}/export|erase`: a console session with the admin role (and its
  CSRF token for the erase), for the support team's admins.
No credentials: 401; the wrong ones (a guest's widget token, an agent without the admin role): 403.
Erasure needs the customer id typed again in the body, so a mistyped URL cannot erase someone else.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header, HTTPException, Query, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field

from api.deps import SettingsDep, bearer_matches
from console.http import AdminSession
from opstore.data_requests import CustomerDataRequests, ErasureReport
from skinsage.errors import Forbidden, InvalidInput

router = APIRouter(tags=["privacy"])


class EraseIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    #: the customer id again: erasure is irreversible
    confirm: str = Field(min_length=1, max_length=64)
    #: the request's ticket or case number, kept in the erasure's audit entry (no personal data here)
    reference: str | None = Field(default=None, max_length=64)


def _requests(request: Request) -> CustomerDataRequests:
    state = request.app.state
    service = getattr(state, "data_requests", None)
    if service is None:
        from vision.service import build_repository

        service = state.data_requests = CustomerDataRequests(state.store, state.graph,
                                                             build_repository(state.settings))
    return service  # type: ignore[no-any-return]


def _staff_key(settings: SettingsDep, authorization: Annotated[str | None, Header()] = None) -> str:
    """A dependency, so a stranger is turned away before the body is even read."""
    if not authorization:
        raise HTTPException(401, "customer data requests need the API key (Authorization: Bearer ...)")
    if not bearer_matches(authorization, settings.api_key):
        raise Forbidden("customer data requests are for staff: this credential is not the API key")
    return "api_key"


StaffKey = Annotated[str, Depends(_staff_key)]
IncludeMedia = Annotated[bool, Query(description="photos as base64 too, not only described by size and hash")]


def _export(request: Request, customer_id: str, actor: str, include_media: bool) -> JSONResponse:
    doc = _requests(request).export(customer_id, requested_by=actor, include_media=include_media)
    return JSONResponse(doc, headers={"Cache-Control": "no-store",
                                      "Content-Disposition": 'attachment; filename="customer-export.json"'})


def _erase(request: Request, customer_id: str, body: EraseIn, actor: str) -> ErasureReport:
    if body.confirm != customer_id:
        raise InvalidInput("confirm must repeat the customer id exactly: erasure cannot be undone")
    return _requests(request).erase(customer_id, requested_by=actor, reference=body.reference)


_DOCS: dict[int | str, dict[str, Any]] = {401: {"description": "no credentials"},
                                          403: {"description": "not staff"},
                                          404: {"description": "no such customer (and never erased)"}}


@router.get("/v1/admin/customers/{customer_id}/export", responses=_DOCS)
def export_with_key(request: Request, customer_id: str, actor: StaffKey,
                    include_media: IncludeMedia = False) -> JSONResponse:
    """Everything held about one customer, as one `skinsage-export/1` JSON document."""
    return _export(request, customer_id, actor, include_media)


@router.post("/v1/admin/customers/{customer_id}/erase", response_model=ErasureReport, responses=_DOCS)
def erase_with_key(request: Request, customer_id: str, body: EraseIn, actor: StaffKey) -> ErasureReport:
    """Delete or anonymise everything about one customer (orders stay, anonymised). Idempotent."""
    return _erase(request, customer_id, body, actor)


@router.get("/console/api/admin/customers/{customer_id}/export", responses=_DOCS)
def export_as_admin(request: Request, customer_id: str, info: AdminSession,
                    include_media: IncludeMedia = False) -> JSONResponse:
    """The same export for a console admin."""
    return _export(request, customer_id, f"agent:{info.agent.username}", include_media)


@router.post("/console/api/admin/customers/{customer_id}/erase", response_model=ErasureReport, responses=_DOCS)
def erase_as_admin(request: Request, customer_id: str, body: EraseIn, info: AdminSession) -> ErasureReport:
    """The same erasure for a console admin (with the session's CSRF token)."""
    return _erase(request, customer_id, body, f"agent:{info.agent.username}")
