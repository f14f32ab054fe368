"""``POST /webhooks/stripe``: Stripe's events, verified, applied once, in any order.

The ``Stripe-Signature`` is verified on the raw body (300 s tolerance) before anything else:
a bad signature is a 400 and writes nothing.  Each event's id is recorded in the same
transaction as its effect, so a duplicate delivery is a 200 that changes nothing; effects only
move state forward (a late ``payment_failed`` never reopens a paid charge).
"""

from __future__ import annotations

from typing import Any

from chalice.app import Blueprint

from chalicelib.api.http import RequestContext, decode_json, endpoint
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
    if not isinstance(event, dict) or not isinstance(event.get("id"), str):
        raise InvalidInput("invalid_signature")
    return event


def _card_of(method: dict[str, Any]) -> Any:
    from chalicelib.domain.payments import CardSummary

    card = method.get("card") or {}
    details = method.get("billing_details") or {}
    address = details.get("address") or {}
    return CardSummary(
        brand=str(card.get("brand") or "unknown"),
        last4=str(card.get("last4") or ""),
        exp_month=int(card.get("exp_month") or 0),
        exp_year=int(card.get("exp_year") or 0),
        name=details.get("name"),
        postal_code=address.get("postal_code"),
        country=address.get("country"),
    )


def handle_event(event: dict[str, Any]) -> str:
    """Apply one verified event; what happened (for logs and tests)."""
    box = container()
    dunning = box.dunning
    kind = event.get("type")
    obj = (event.get("data") or {}).get("object") or {}
    event_id = event["id"]
    if kind == "payment_intent.succeeded":
        metadata = obj.get("metadata") or {}
        account_id = metadata.get("account_id")
        charge_ids = [c for c in str(metadata.get("charge_ids") or "").split(",") if c]
        if account_id and charge_ids:
            done = dunning.settle_succeeded_intent(
                event_id, account_id, charge_ids, str(obj.get("id"))
            )
            return "applied" if done else "duplicate"
    elif kind == "payment_method.automatically_updated":
        customer = obj.get("customer")
        account_id = box.repo.get_marker("CUSTOMER", customer) if customer else None
        if account_id:
            done = dunning.card_updated_by_network(
                event_id, account_id, str(obj.get("id")), _card_of(obj)
            )
            return "applied" if done else "duplicate"
    # payment_intent.payment_failed and the rest: the synchronous path or the retry job
    # records failures; a late failure event must not move a charge backwards.
    return "recorded" if dunning.record_event(event_id) else "duplicate"


@endpoint(
    bp,
    "/webhooks/stripe",
    "POST",
    tag="webhooks",
    summary="Stripe events",
    auth=False,
    raw_body=True,
)
def stripe_webhook(ctx: RequestContext) -> dict[str, Any]:
    raw = ctx.extra.get("raw_body", b"")
    event = _verified_event(raw, ctx.headers.get("stripe-signature"))
    return {"received": True, "result": handle_event(event)}
