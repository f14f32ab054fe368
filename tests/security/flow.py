"""One full customer journey over HTTP and the jobs, against the embedded stack.

Used by the log scan (what did the service log while handling secrets, tokens and cards?) and
by the policy test (which AWS calls did it make?).  It touches every area: sign-up and
sign-in (with a wrong password), profile and email change, password change, billing address,
cards (one that declines renewals), subscription, invoices (JSON, print, PDF), VAT, pending
charges and "apply pending charges", the Stripe webhook, every job, cancel, reactivation and
the support decision, and sign-out.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

from chalicelib.domain.ids import parse_iso
from chalicelib.jobs.run import JOBS, run_job
from tests.conftest import unique_email
from tests.helpers import PASSWORD, Api, create_payment_method

NEW_PASSWORD = "an entirely new pass phrase"
CARDS = ("4242424242424242", "4000000000000341")
ADDRESS = {
    "name": "Ada Lovelace",
    "line1": "12 rue de Rivoli",
    "city": "Paris",
    "postal_code": "75001",
    "country": "FR",
}


@dataclass
class Journey:
    """What the journey handled that must never appear in a log."""

    tokens: list[str] = field(default_factory=list)
    passwords: list[str] = field(default_factory=lambda: [PASSWORD, NEW_PASSWORD])
    cards: tuple[str, ...] = CARDS
    account_ids: list[str] = field(default_factory=list)
    answers: list[tuple[str, str, int]] = field(default_factory=list)


def stripe_signature(payload: bytes, secret: str) -> str:
    stamp = int(time.time())
    mac = hmac.new(secret.encode(), f"{stamp}.".encode() + payload, hashlib.sha256).hexdigest()
    return f"t={stamp},v1={mac}"


def run_journey(api: Api, box: Any) -> Journey:
    """Walk the whole service once; every answer must be a success or an expected refusal."""
    settings = box.settings
    journey = Journey()

    def call(method: str, path: str, body: Any = None, **kwargs: Any) -> Any:
        answer = api.call(method, path, body, **kwargs)
        journey.answers.append((method, path, answer.status))
        assert answer.status < 500, (method, path, answer.status, answer.json)
        return answer

    email = unique_email("journey")
    token, account = api.signup(email, phone="+33 6 12 34 56 78")
    journey.tokens.append(token)
    journey.account_ids.append(account["id"])
    assert call("POST", "/login", {"email": email, "password": "not the password"}).status == 401
    login = call("POST", "/login", {"email": email, "password": PASSWORD})
    journey.tokens.append(login.json["token"])
    token = login.json["token"]

    call("GET", "/account", token=token)
    call("PATCH", "/account/profile", {"name": "Ada King", "phone": "06 11 22 33 44"}, token=token)
    new_email = unique_email("journey-new")
    changed = call(
        "PATCH",
        "/account/profile",
        {"email": new_email, "current_password": PASSWORD},
        token=token,
    )
    assert changed.status == 200, changed.json
    proof = [
        m
        for m in box.repo.due_mail(box.clock.now(), 500)
        if m.to == new_email and m.template == "email_change_verify"
    ]
    token_of_proof = proof[0].params["link"].split("token=", 1)[1]
    verified = call("POST", "/account/email/verify", {"token": token_of_proof})
    assert verified.status == 200, verified.json
    email = new_email
    call("GET", "/account/sessions", token=token)
    call("GET", "/account/activity?limit=5", token=token)
    assert (
        call(
            "POST",
            "/account/password",
            {
                "current_password": PASSWORD,
                "new_password": NEW_PASSWORD,
                "confirm_password": NEW_PASSWORD,
            },
            token=token,
        ).status
        == 204
    )

    call("PUT", "/billing/address", ADDRESS, token=token)
    card = call(
        "PUT",
        "/billing/card",
        {"payment_method_id": create_payment_method(settings, CARDS[0])},
        token=token,
    )
    assert card.status == 200, card.json
    call("PATCH", "/billing/card", {"exp_month": 11, "name": "Ada King"}, token=token)
    billing = call("POST", "/billing/subscribe", {"plan": "basic-monthly"}, token=token)
    assert billing.status == 200, billing.json
    invoices = call("GET", "/billing/invoices?limit=5", token=token).json["items"]
    for suffix in ("", "/print", "/pdf"):
        accept = {"Accept": "application/pdf"} if suffix == "/pdf" else {}
        shown = call(
            "GET", f"/billing/invoices/{invoices[0]['id']}{suffix}", token=token, headers=accept
        )
        assert shown.status == 200, (suffix, shown.status, shown.raw[:300])
    call("PUT", "/billing/vat", {"vat_id": "FR40303265045"}, token=token)
    call("DELETE", "/billing/vat", token=token)

    # a renewal declined by the card on file, then settled by a good card
    call(
        "PUT",
        "/billing/card",
        {"payment_method_id": create_payment_method(settings, CARDS[1])},
        token=token,
    )
    box.clock.set(parse_iso(billing.json["next_renewal_at"]))
    run_job("renewals", box=box)
    login = call("POST", "/login", {"email": email, "password": NEW_PASSWORD})
    token = login.json["token"]
    journey.tokens.append(token)
    call("GET", "/billing/pending", token=token)
    call("POST", "/billing/pending/pay", headers={"Idempotency-Key": uuid.uuid4().hex}, token=token)
    call(
        "PUT",
        "/billing/card",
        {"payment_method_id": create_payment_method(settings, CARDS[0])},
        token=token,
    )
    call("GET", "/billing", token=token)

    event = json.dumps(
        {"id": f"evt_{uuid.uuid4().hex[:20]}", "type": "customer.created", "data": {"object": {}}}
    ).encode()
    call(
        "POST",
        "/webhooks/stripe",
        raw=event,
        headers={"Stripe-Signature": stripe_signature(event, settings.stripe_webhook_secret)},
    )
    for job in JOBS:
        run_job(job, box=box)

    assert call("POST", "/account/cancel", {"password": NEW_PASSWORD}, token=token).status == 200
    again = call("POST", "/account/reactivate", {"email": email, "password": NEW_PASSWORD})
    support = {"X-Support-Key": settings.support_key}
    call("GET", "/support/reactivation-requests?status=open", headers=support)
    if again.status == 202:
        request_id = again.json["request_id"]
        call("POST", f"/support/reactivation-requests/{request_id}/approve", {}, headers=support)
    login = call("POST", "/login", {"email": email, "password": NEW_PASSWORD})
    if login.status == 200:
        journey.tokens.append(login.json["token"])
        call("POST", "/logout", token=login.json["token"])
    run_job("outbox", box=box)
    return journey
