"""``POST /webhooks/stripe``: Stripe's events, verified, applied once, in any order.

The ``Stripe-Signature`` is verified on the raw body (300 s tolerance) before anything else:
a bad signature is a 400 and writes nothing.  What a verified event does is
:class:`chalicelib.services.webhooks.WebhookService`'s: a malformed event is a 400
``invalid_event`` recorded as rejected; each event's id is recorded in the same transaction as
its effect, so a duplicate delivery is a 200 that changes nothing; effects only move state
forward (a late ``payment_failed`` never reopens a paid charge); a lost race is re-applied.
"""

from __future__ import annotations

from typing import Any

from chalice.app import Blueprint

from chalicelib.api.http import Param, RequestContext, decode_json, endpoint
from chalicelib.domain.errors import InvalidInput
from chalicelib.wiring import container

bp = Blueprint(__name__)

TOLERANCE_SECONDS = 300


def _verified_event(raw: bytes, signature: str | None) -> dict[str, Any]:
    import stripe

    try:
        stripe.WebhookSignature.verify_header(
            raw.decode("utf-8"),
            signature,
            container().settings.stripe_webhook_secret,
            tolerance=TOLERANCE_SECONDS,
        )
    except (stripe.SignatureVerificationError, UnicodeDecodeError, ValueError):
        raise InvalidInput("invalid_signature") from None
    event = decode_json(raw)  # bounded depth: even a signed body cannot make us recurse
    if not isinstance(event, dict):
        raise InvalidInput("invalid_signature")
    return event


def handle_event(event: dict[str, Any]) -> str:
    """Apply one verified event (see :mod:`chalicelib.services.webhooks`); what happened."""
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
    event = _verified_event(raw, ctx.headers.get("stripe-signature"))
    return {"received": True, "result": handle_event(event)}
