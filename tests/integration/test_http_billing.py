"""HTTP tests of the billing routes over DynamoDB (moto) and Stripe (localstripe, through the
real StripeGateway): card, address, subscribe, invoices with print and PDF, renewals run
through the renewals job at a given time, and the bad inputs."""

from __future__ import annotations

import shutil
import subprocess
from datetime import timedelta
from typing import Any

from chalicelib.config import Settings
from chalicelib.domain.ids import parse_iso
from chalicelib.jobs.run import run_job
from chalicelib.wiring import Container
from tests.conftest import unique_email
from tests.helpers import PASSWORD, Api, create_payment_method

ADDRESS = {
    "name": "Ada Lovelace",
    "line1": "12 rue de Rivoli",
    "city": "Paris",
    "postal_code": "75001",
    "country": "FR",
}


def subscribed(
    api: Api, settings: Settings, plan: str = "basic-monthly", number: str = "4242424242424242"
) -> tuple[str, dict[str, Any]]:
    token, account = api.signup()
    api.email = account["email"]  # type: ignore[attr-defined]
    card = api.call(
        "PUT",
        "/billing/card",
        {"payment_method_id": create_payment_method(settings, number)},
        token=token,
    )
    assert card.status == 200, card.json
    answer = api.call("POST", "/billing/subscribe", {"plan": plan}, token=token)
    assert answer.status == 200, answer.json
    return token, answer.json


def test_billing_page_card_address_and_subscription(api: Api, settings: Settings) -> None:
    token, _ = api.signup(country="US")
    page = api.call("GET", "/billing", token=token).json
    assert page["card"] is None and page["pending_payment"] is None
    assert page["vat"]["applicable"] is False and page["status"] == "trial"

    address = api.call("PUT", "/billing/address", ADDRESS, token=token)
    assert address.status == 200
    assert address.json["billing_address"]["city"] == "Paris"
    assert address.json["vat"]["applicable"] is True  # the billing country decides

    no_card = api.call("POST", "/billing/subscribe", {"plan": "basic-monthly"}, token=token)
    assert (no_card.status, no_card.error_code) == (400, "no_card")
    card = api.call(
        "PUT",
        "/billing/card",
        {"payment_method_id": create_payment_method(settings, "4242424242424242")},
        token=token,
    )
    assert card.status == 200
    assert (card.json["brand"], card.json["last4"]) == ("visa", "4242")

    done = api.call("POST", "/billing/subscribe", {"plan": "basic-monthly"}, token=token)
    assert done.status == 200, done.json
    assert done.json["status"] == "active" and done.json["plan"] == "basic-monthly"
    assert done.json["next_renewal_at"].endswith("Z")
    again = api.call("POST", "/billing/subscribe", {"plan": "basic-monthly"}, token=token)
    assert (again.status, again.error_code) == (409, "already_subscribed")

    (summary,) = api.call("GET", "/billing/invoices", token=token).json["items"]
    assert summary["status"] == "paid"
    assert (summary["total"], summary["currency"]) == (1800, "EUR")  # 1500 + 20 % French VAT
    invoice = api.call("GET", f"/billing/invoices/{summary['id']}", token=token).json
    assert invoice["number"] == summary["number"]
    assert (invoice["subtotal"], invoice["tax"]["amount"], invoice["tax"]["rate"]) == (
        1500,
        300,
        "20",
    )
    assert invoice["customer"]["address"]["city"] == "Paris"
    (tx,) = invoice["transactions"]
    assert tx["status"] == "succeeded" and tx["card"] == {"brand": "visa", "last4": "4242"}
    assert all(isinstance(v, int) for v in (invoice["subtotal"], invoice["total"], tx["amount"]))


def test_card_bad_input(api: Api, settings: Settings) -> None:
    token, _ = api.signup()
    edit = api.call("PATCH", "/billing/card", {"exp_month": 5}, token=token)
    assert (edit.status, edit.error_code) == (404, "no_card")
    for value in ["4242424242424242", "pm_doesnotexist123", "x" * 300]:
        answer = api.call("PUT", "/billing/card", {"payment_method_id": value}, token=token)
        assert answer.status == 400, (value, answer.json)
        assert "4242424242424242" not in answer.raw.decode()
    api.call(
        "PUT",
        "/billing/card",
        {"payment_method_id": create_payment_method(settings, "4242424242424242")},
        token=token,
    )
    for body in (
        {"exp_month": 13},
        {"exp_year": 1999},
        {"exp_month": "5"},
        {"cvc": "123"},
        {"number": "4242424242424242"},
    ):
        answer = api.call("PATCH", "/billing/card", body, token=token)
        assert answer.status == 400, (body, answer.json)
    past = api.call("PATCH", "/billing/card", {"exp_month": 1, "exp_year": 2020}, token=token)
    assert (past.status, past.error_code) == (400, "card_expired")
    ok = api.call(
        "PATCH", "/billing/card", {"exp_month": 7, "exp_year": 2032, "name": "Ada L"}, token=token
    )
    assert ok.status == 200, ok.json
    assert (ok.json["exp_month"], ok.json["exp_year"]) == (7, 2032)
    # the street and city typed in "Edit credit card" come back (the console shows them)
    address = {"line1": "12 rue de Rivoli", "city": "Paris", "postal_code": "75001"}
    moved = api.call("PATCH", "/billing/card", address, token=token)
    assert moved.status == 200, moved.json
    assert {k: moved.json[k] for k in address} == address
    card = api.call("GET", "/billing", token=token).json["card"]
    assert {k: card[k] for k in address} == address


def test_subscribe_bad_input_and_declines(api: Api, settings: Settings) -> None:
    token, _ = api.signup()
    unknown = api.call("POST", "/billing/subscribe", {"plan": "platinum"}, token=token)
    assert (unknown.status, unknown.error_code) == (400, "unknown_plan")
    api.call(
        "PUT",
        "/billing/card",
        {"payment_method_id": create_payment_method(settings, "4000000000000341")},
        token=token,
    )
    declined = api.call("POST", "/billing/subscribe", {"plan": "basic-monthly"}, token=token)
    assert (declined.status, declined.error_code) == (402, "card_declined")
    assert declined.json["error"]["message"]
    assert api.call("GET", "/account", token=token).json["status"] == "trial"


def test_invoices_are_private_paginated_printable_and_downloadable(
    api: Api, settings: Settings, box: Container
) -> None:
    token, _ = subscribed(api, settings)
    for _ in range(2):
        due = parse_iso(api.call("GET", "/billing", token=token).json["next_renewal_at"])
        box.clock.set(due + timedelta(minutes=1))  # type: ignore[attr-defined]
        assert run_job("renewals", box=box)["renewed"] >= 1
        login = {"email": api.email, "password": PASSWORD}  # type: ignore[attr-defined]
        token = api.call("POST", "/login", login).json["token"]  # a month later: new session
    page1 = api.call("GET", "/billing/invoices?limit=2", token=token).json
    page2 = api.call(
        "GET", f"/billing/invoices?limit=2&cursor={page1['next_cursor']}", token=token
    ).json
    numbers = [i["number"] for i in page1["items"] + page2["items"]]
    assert len(numbers) == 3 and numbers == sorted(numbers, reverse=True)
    for bad in ("limit=0", "limit=101", "limit=abc", "cursor=%%%", "cursor=aW52YWxpZA"):
        answer = api.call("GET", f"/billing/invoices?{bad}", token=token)
        assert answer.status == 400, bad

    invoice_id = page1["items"][0]["id"]
    html = api.call(
        "GET",
        f"/billing/invoices/{invoice_id}/print",
        token=token,
        headers={"Accept-Language": "fr"},
    )
    assert html.status == 200 and html.headers["Content-Type"].startswith("text/html")
    text = html.raw.decode()
    assert page1["items"][0]["number"] in text and "Résumé des transactions" in text
    assert "@media print" in text and text.count("<script") == 1  # the Print button only
    csp = html.headers["Content-Security-Policy"]
    assert "script-src 'sha256-" in csp and "unsafe-inline" not in csp
    pdf = api.call(
        "GET",
        f"/billing/invoices/{invoice_id}/pdf",
        token=token,
        headers={"Accept": "application/pdf"},
    )
    assert pdf.status == 200 and pdf.raw.startswith(b"%PDF")
    assert shutil.which("pdftotext"), "make test installs poppler-utils (make system-deps)"
    words = subprocess.run(
        ["pdftotext", "-", "-"], input=pdf.raw, capture_output=True, check=True
    ).stdout.decode()
    assert page1["items"][0]["number"] in words and "€18.00" in words

    other, _ = api.signup()
    for suffix in ("", "/print", "/pdf"):
        answer = api.call(
            "GET", f"/billing/invoices/{invoice_id}{suffix}", token=other, headers={"Accept": "*/*"}
        )
        assert (answer.status, answer.error_code) == (404, "invoice_not_found")
    assert api.call("GET", "/billing/invoices", token=other).json["items"] == []
    assert api.call("GET", "/billing/invoices/in_nope", token=token).status == 404


def test_a_failed_renewal_shows_pending_payment_at_sign_in(
    api: Api, settings: Settings, box: Container
) -> None:
    email = unique_email()
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
    assert run_job("renewals", box=box)["failed"] >= 1
    login = api.call("POST", "/login", {"email": email, "password": PASSWORD}).json
    token = login["token"]
    page = api.call("GET", "/billing", token=token).json
    assert page["status"] == "past_due"
    (item,) = page["pending_payment"]["items"]
    assert item["amount"] == 1800 and item["attempts"] == 1
    assert item["last_failure"]["code"] == "card_declined"
    assert login["pending_payment"] == page["pending_payment"]
    invoices = api.call("GET", "/billing/invoices", token=token).json["items"]
    assert [i["status"] for i in invoices] == ["open", "paid"]


def test_cards_expired_refused_country_kept_and_saved_through_a_setup_intent(
    api: Api, settings: Settings
) -> None:
    import stripe

    token, _ = api.signup()
    expired = create_payment_method(settings, "4242424242424242", exp_year=2021)
    refused = api.call("PUT", "/billing/card", {"payment_method_id": expired}, token=token)
    assert (refused.status, refused.error_code) == (400, "card_expired")
    assert refused.json["error"]["message"]
    assert api.call("GET", "/billing", token=token).json["card"] is None

    setup = api.call("POST", "/billing/card/setup-intent", token=token)
    assert setup.status == 200, setup.json
    secret = setup.json["client_secret"]
    assert secret.startswith("seti_")
    # what Stripe.js's confirmCardSetup does in the browser
    client = stripe.StripeClient(
        settings.stripe_secret_key,
        base_addresses={"api": settings.stripe_api_base},
        http_client=stripe.RequestsClient(timeout=(2, 10)),
    )
    confirmed = client.v1.setup_intents.confirm(
        secret.split("_secret_")[0],
        params={"payment_method": create_payment_method(settings, "4242424242424242")},
    )
    assert confirmed.status == "succeeded" and confirmed.usage == "off_session"
    card = api.call(
        "PUT", "/billing/card", {"payment_method_id": confirmed.payment_method}, token=token
    )
    assert card.status == 200, card.json
    assert (card.json["last4"], card.json["issuer_country"]) == ("4242", "FR")
    page = api.call("GET", "/billing", token=token).json
    assert page["card"]["issuer_country"] == "FR"
    done = api.call("POST", "/billing/subscribe", {"plan": "basic-monthly"}, token=token)
    assert done.status == 200, done.json
