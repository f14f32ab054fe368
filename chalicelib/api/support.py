"""Support routes: open reactivation requests, approve or reject one.

Authenticated by the ``X-Support-Key`` header (``SUPPORT_KEY``, compared in constant time by
:func:`chalicelib.api.http.endpoint`); in AWS, IAM is meant to guard these routes as well.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from chalice.app import Blueprint

from chalicelib.api.http import Param, RequestContext, endpoint
from chalicelib.api.views import account_view
from chalicelib.domain.errors import InvalidInput
from chalicelib.domain.ids import utc_iso
from chalicelib.domain.lifecycle import ReactivationRequest
from chalicelib.wiring import container

if TYPE_CHECKING:
    from chalicelib.api import schemas

bp = Blueprint(__name__)

MAX_LISTED = 100


def request_view(request: ReactivationRequest) -> dict[str, Any]:
    return {
        "id": request.id,
        "account_id": request.account_id,
        "email": request.email,
        "requested_at": utc_iso(request.requested_at),
        "status": request.status.value,
    }


@endpoint(
    bp,
    "/support/reactivation-requests",
    "GET",
    tag="support",
    summary="Open reactivation requests, oldest first (at most 100)",
    auth=False,
    support_key=True,
    response="ReactivationRequestList",
    query=(Param("status", {"type": "string", "enum": ["open"], "default": "open"}),),
)
def list_requests(ctx: RequestContext) -> dict[str, Any]:
    unknown = sorted(set(ctx.query) - {"status"})
    if unknown:
        raise InvalidInput("unknown_field", fields={name[:64]: "field_unknown" for name in unknown})
    if ctx.query.get("status", "open") != "open":
        raise InvalidInput(fields={"status": "invalid_request_status"})
    requests = container().lifecycle.open_requests(MAX_LISTED)
    return {"items": [request_view(r) for r in requests]}


def _decided(request: ReactivationRequest, account: Any) -> dict[str, Any]:
    return {"request": request_view(request), "account": account_view(account)}


@endpoint(
    bp,
    "/support/reactivation-requests/{request_id}/approve",
    "POST",
    tag="support",
    summary="Approve: the account is active again and its renewal is charged at once",
    auth=False,
    support_key=True,
    body="SupportDecisionRequest",
    response="SupportDecisionResponse",
    errors=(404, 409),
)
def approve(
    ctx: RequestContext, body: schemas.SupportDecisionRequest, request_id: str
) -> dict[str, Any]:
    return _decided(*container().lifecycle.approve(request_id, body.note, ctx.ip))


@endpoint(
    bp,
    "/support/reactivation-requests/{request_id}/reject",
    "POST",
    tag="support",
    summary="Reject: the account stays cancelled",
    auth=False,
    support_key=True,
    body="SupportDecisionRequest",
    response="SupportDecisionResponse",
    errors=(404, 409),
)
def reject(
    ctx: RequestContext, body: schemas.SupportDecisionRequest, request_id: str
) -> dict[str, Any]:
    return _decided(*container().lifecycle.reject(request_id, body.note, ctx.ip))
