"""HTTP tests of pending charges, "apply pending charges", the card swap that settles them,
the retry job over DynamoDB, and the Stripe webhook (signature, duplicates, order)."""

from __future__ import annotations

import hashlib
import hmac
import json
import time

from chalicelib.config import Settings
from chalicelib.domain.ids import parse_iso
from chalicelib.jobs.run import run_job
from chalicelib.wiring import Container
from tests.conftest import unique_email
from tests.helpers import PASSWORD, Api, create_payment_method


def past_due(api: Api, settings: Settings, box: Container) -> tuple[str, str]:
    """A signed-in past_due account (renewal declined by card 0341): its email and token."""
    email = unique_email("pastdue")
    token, _ = api.signup(email)
    api.call(
        "PUT",
        "/billing/card",
        {"payment_method_id": create_payment_method(settings, "4242424242424242")},
        token=token,
    )
    billing = api.call("POST", "/billing/subscribe", {"plan": "basic-monthly"}, token=token).json
    api.call(
        "PUT",
        "/billing/card",
        {"payment_method_id": create_payment_method(settings, "4000000000000341")},
        token=token,
    )
    box.clock.set(parse_iso(billing["next_renewal_at"]))  # type: ignore[attr-defined]
    run_job("renewals", box=box)
    token = api.call("POST", "/login", {"email": email, "password": PASSWORD}).json["token"]
    return email, token


def test_pending_charges_shown_declined_then_settled_by_a_new_card(
    api: Api, settings: Settings, box: Container
) -> None:
    email, token = past_due(api, settings, box)
    login = api.call("POST", "/login", {"email": email, "password": PASSWORD}).json
    assert login["account"]["status"] == "past_due"
    (item,) = login["pending_payment"]["items"]
    pending = api.call("GET", "/billing/pending", token=token).json
    assert pending["items"] == [item] and pending["total"]["amount"] == item["amount"]

    declined = api.call(
        "POST", "/billing/pending/pay", token=token, headers={"Idempotency-Key": "pay-1"}
    )
    assert (declined.status, declined.error_code) == (402, "card_declined")
    assert declined.json["error"]["message"]
    assert api.call("GET", "/billing/pending", token=token).json["items"][0]["attempts"] == 2

    card = api.call(
        "PUT",
        "/billing/card",
        {"payment_method_id": create_payment_method(settings, "4242424242424242")},
        token=token,
    )
    assert card.status == 200 and card.json["last4"] == "4242"
    assert card.json["pending_payment"] is None  # settled at once with the new card
    billing = api.call("GET", "/billing", token=token).json
    assert billing["status"] == "active" and billing["pending_payment"] is None
    invoices = api.call("GET", "/billing/invoices", token=token).json["items"]
    assert {i["status"] for i in invoices} == {"paid"}
    nothing = api.call("POST", "/billing/pending/pay", token=token)
    assert nothing.status == 200 and nothing.json["paid"] == []


def test_apply_pending_charges_pays_and_the_key_replays(
    api: Api, settings: Settings, box: Container
) -> None:
    _, token = past_due(api, settings, box)
    account_id = api.call("GET", "/account", token=token).json["id"]
    account = box.repo.get_account(account_id)
    assert account is not None and account.customer_id
    # the bank accepts again: swap the default card at Stripe only (the account keeps its id)
    good = create_payment_method(settings, "4242424242424242")
    box.gateway.attach_card(account.customer_id, good)
    from chalicelib.domain.account import AccountChange

    box.repo.commit(
        AccountChange(
            account=account.evolve(payment_method_id=good), expected_version=account.version
        )
    )
    invoice_id = api.call("GET", "/billing/pending", token=token).json["items"][0]["invoice_id"]
    paid = api.call(
        "POST", "/billing/pending/pay", token=token, headers={"Idempotency-Key": "pay-2"}
    )
    assert paid.status == 200, paid.json
    assert paid.json["paid"] == [invoice_id] and paid.json["billing"]["status"] == "active"
    again = api.call(
        "POST", "/billing/pending/pay", token=token, headers={"Idempotency-Key": "pay-2"}
    )
    assert again.status == 200


def test_the_retry_job_runs_over_dynamodb(api: Api, settings: Settings, box: Container) -> None:
    _, token = past_due(api, settings, box)
    account_id = _account_id(box, token, api)
    item = api.call("GET", "/billing/pending", token=token).json["items"][0]
    box.clock.set(parse_iso(item["next_retry_at"]))  # type: ignore[attr-defined]
    report = run_job("retry-pending", box=box)
    assert report["declined"] >= 1
    (charge,) = box.billing.pending_charges(account_id)
    assert charge.attempts == 2 and charge.next_retry_at is not None
    assert charge.next_retry_at > parse_iso(item["next_retry_at"])
    assert run_job("retry-pending", box=box)["due"] == 0  # the same run twice: no double work


def _account_id(box: Container, token: str, api: Api) -> str:
    caller = box.auth.authenticate(token, "127.0.0.1")
    return caller.account.id


def sign(payload: bytes, secret: str, at: int | None = None) -> str:
    stamp = at or int(time.time())
    mac = hmac.new(secret.encode(), f"{stamp}.".encode() + payload, hashlib.sha256).hexdigest()
    return f"t={stamp},v1={mac}"


def test_webhook_signature_duplicates_and_forward_only(
    api: Api, settings: Settings, box: Container
) -> None:
    body = json.dumps(
        {"id": "evt_" + unique_email()[:12], "type": "customer.created", "data": {"object": {}}}
    ).encode()
    unsigned = api.call("POST", "/webhooks/stripe", raw=body)
    assert (unsigned.status, unsigned.error_code) == (400, "invalid_signature")
    forged = api.call(
        "POST",
        "/webhooks/stripe",
        raw=body,
        headers={"Stripe-Signature": sign(body, "whsec_wrong")},
    )
    assert forged.status == 400
    stale = api.call(
        "POST",
        "/webhooks/stripe",
        raw=body,
        headers={
            "Stripe-Signature": sign(body, settings.stripe_webhook_secret, int(time.time()) - 600)
        },
    )
    assert stale.status == 400
    good = api.call(
        "POST",
        "/webhooks/stripe",
        raw=body,
        headers={"Stripe-Signature": sign(body, settings.stripe_webhook_secret)},
    )
    assert good.status == 200 and good.json["result"] == "recorded"
    again = api.call(
        "POST",
        "/webhooks/stripe",
        raw=body,
        headers={"Stripe-Signature": sign(body, settings.stripe_webhook_secret)},
    )
    assert again.status == 200 and again.json["result"] == "duplicate"

    _, token = past_due(api, settings, box)
    account_id = _account_id(box, token, api)
    (charge,) = box.billing.pending_charges(account_id)
    succeeded = json.dumps(
        {
            "id": f"evt_ok_{charge.id}",
            "type": "payment_intent.succeeded",
            "data": {
                "object": {
                    "id": "pi_paid_elsewhere",
                    "metadata": {"account_id": account_id, "charge_ids": charge.id},
                }
            },
        }
    ).encode()
    failed_late = json.dumps(
        {
            "id": f"evt_ko_{charge.id}",
            "type": "payment_intent.payment_failed",
            "data": {
                "object": {
                    "id": "pi_paid_elsewhere",
                    "metadata": {"account_id": account_id, "charge_ids": charge.id},
                }
            },
        }
    ).encode()
    for payload, expected in (
        (succeeded, "applied"),
        (succeeded, "duplicate"),
        (failed_late, "recorded"),
    ):
        answer = api.call(
            "POST",
            "/webhooks/stripe",
            raw=payload,
            headers={"Stripe-Signature": sign(payload, settings.stripe_webhook_secret)},
        )
        assert answer.json["result"] == expected
    assert box.billing.pending_charges(account_id) == []
    account = box.repo.get_account(account_id)
    assert account is not None and account.status.value == "active"
