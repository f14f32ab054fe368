"""Cancel the signed-in account; reactivate a cancelled one (public, email and password)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from chalice.app import Blueprint, Response

from chalicelib.api.http import RequestContext, endpoint, json_response
from chalicelib.api.views import account_view
from chalicelib.wiring import container

if TYPE_CHECKING:
    from chalicelib.api import schemas

bp = Blueprint(__name__)


@endpoint(
    bp,
    "/account/cancel",
    "POST",
    tag="lifecycle",
    summary="Cancel the account (password required): every session ends, nothing more is "
    "charged, nothing is deleted",
    body="CancelRequest",
    response="AccountOut",
    allow_suspended=True,
    errors=(409,),
)
def cancel(ctx: RequestContext, body: schemas.CancelRequest) -> dict[str, Any]:
    lifecycle = container().lifecycle
    # "period_end": active until the paid period ends (cancel_at), nothing refunded
    how = lifecycle.cancel_at_period_end if body.at == "period_end" else lifecycle.cancel
    return account_view(how(ctx.caller, body.password, body.reason, body.comment))


@endpoint(
    bp,
    "/account/resume",
    "POST",
    tag="lifecycle",
    summary="Withdraw a cancellation scheduled for the end of the period",
    response="AccountOut",
    errors=(409,),
)
def resume(ctx: RequestContext) -> dict[str, Any]:
    return account_view(container().lifecycle.resume(ctx.caller))


@endpoint(
    bp,
    "/account/reactivate",
    "POST",
    tag="lifecycle",
    summary="Reactivate a cancelled account: a free trial is signed in at once (200); a paid "
    "account's request goes to support (202)",
    auth=False,
    body="ReactivateRequest",
    response="SignedInResponse",
    other_responses=((202, "ReactivationRequestedResponse"),),
    errors=(401, 409),
)
def reactivate(ctx: RequestContext, body: schemas.ReactivateRequest) -> dict[str, Any] | Response:
    outcome = container().lifecycle.reactivate(body.email, body.password, ctx.ip)
    if outcome.signed_in is not None:
        return {
            "token": outcome.signed_in.token,
            "account": account_view(outcome.signed_in.account),
        }
    assert outcome.request is not None
    return json_response(
        {"status": "reactivation_requested", "request_id": outcome.request.id}, 202
    )
