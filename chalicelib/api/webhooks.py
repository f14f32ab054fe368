"""``POST /webhooks/stripe``: Stripe's events, verified, applied once, in any order.

The route hands the raw body and its ``Stripe-Signature`` to
:class:`chalicelib.services.webhooks.WebhookService`: the signature is verified on the raw body
(300 s tolerance) by the gateway adapter before anything else (a bad signature is a 400 and
writes nothing); a malformed event is a 400 ``invalid_event`` recorded as rejected; each
event's id is recorded in the same transaction as its effect, so a duplicate delivery is a 200
that changes nothing; effects only move state forward (a late ``payment_failed`` never reopens
a paid charge); a lost race is re-applied.
"""

from __future__ import annotations

from typing import Any

from chalice.app import Blueprint

from chalicelib.api.http import Param, RequestContext, endpoint
from chalicelib.wiring import container

bp = Blueprint(__name__)


def handle_event(event: dict[str, Any]) -> str:
    """Apply one verified, decoded event (see :mod:`chalicelib.services.webhooks`)."""
    return container().webhooks.receive(event)


@endpoint(
    bp,
    "/webhooks/stripe",
    "POST",
    tag="webhooks",
    summary="Stripe events",
    auth=False,
    raw_body=True,
    headers=(
        Param(
            "Stripe-Signature",
            {"type": "string", "minLength": 1},
            "t=<unix time>,v1=<HMAC-SHA256 of the body>; 300 s tolerance",
            required=True,
        ),
    ),
)
def stripe_webhook(ctx: RequestContext) -> dict[str, Any]:
    raw = ctx.extra.get("raw_body", b"")
    signature = ctx.headers.get("stripe-signature")
    return {"received": True, "result": container().webhooks.receive_signed(raw, signature)}
