"""Prices with VAT over HTTP: ``GET /plans`` shows net, VAT and total for the billing country
(a visitor's ``country``, the signed-in account's address and VAT ID), subscribing confirms
that amount (409 ``price_changed`` otherwise, nothing charged), and an EU consumer's consent
to start at once (waiving the 14-day withdrawal right) is kept on the invoice and in the
audit trail."""

from __future__ import annotations

from typing import Any

import pytest

from chalicelib.config import Settings
from chalicelib.wiring import Container
from tests.helpers import Api, create_payment_method


@pytest.fixture
def api(client: Any) -> Api:
    return Api(client)


def basic(items: list[dict[str, Any]]) -> dict[str, Any]:
    return next(p for p in items if p["id"] == "basic-monthly")


@pytest.mark.parametrize(
    ("query", "net", "tax", "total", "rate", "consent"),
    [
        ("", 1500, 300, 1800, "20", True),  # the seller's country by default
        ("?country=FR", 1500, 300, 1800, "20", True),
        ("?country=de", 1500, 285, 1785, "19", True),
        ("?country=US", 1500, 0, 1500, "0", False),
        ("?country=ES&postal_code=35001", 1500, 0, 1500, "0", False),  # Canary Islands
    ],
)
def test_visitors_see_the_price_for_a_country(
    api: Api, query: str, net: int, tax: int, total: int, rate: str, consent: bool
) -> None:
    plan = basic(api.call("GET", f"/plans{query}").json["items"])
    price = plan["price"]
    assert plan["amount"] == net  # the v1 field stays the net amount
    assert (price["net"], price["tax"], price["total"], price["rate"]) == (net, tax, total, rate)
    assert price["withdrawal_consent"] is consent and price["currency"] == "EUR"


def test_bad_plan_queries_are_400(api: Api) -> None:
    for query in ("?country=France", "?postal_code=%3Cscript%3E", "?plan=basic"):
        assert api.call("GET", f"/plans{query}").status == 400, query


def test_the_signed_in_account_sees_its_own_price_and_confirms_it(
    api: Api, settings: Settings, box: Container
) -> None:
    token, account = api.signup(country="US")
    address = {
        "name": "Ada",
        "line1": "1 rue de Rivoli",
        "city": "Paris",
        "postal_code": "75001",
        "country": "FR",
    }
    assert api.call("PUT", "/billing/address", address, token=token).status == 200
    plan = basic(api.call("GET", "/plans?country=US", token=token).json["items"])
    assert plan["price"]["total"] == 1800 and plan["price"]["billing_country"] == "FR"
    method = create_payment_method(settings, "4242424242424242")
    api.call("PUT", "/billing/card", {"payment_method_id": method}, token=token)
    stale = api.call(
        "POST", "/billing/subscribe", {"plan": "basic-monthly", "expected_total": 1500}, token=token
    )
    assert (stale.status, stale.error_code) == (409, "price_changed")
    assert stale.json["error"]["price"]["total"] == 1800
    assert api.call("GET", "/billing/invoices", token=token).json["items"] == []  # nothing made
    done = api.call(
        "POST",
        "/billing/subscribe",
        {"plan": "basic-monthly", "expected_total": 1800, "withdrawal_consent": True},
        token=token,
    )
    assert done.status == 200, done.json
    (summary,) = api.call("GET", "/billing/invoices", token=token).json["items"]
    assert summary["total"] == 1800
    invoice = api.call(
        "GET", f"/billing/invoices/{summary['id']}", token=token, headers={"Accept-Language": "fr"}
    ).json
    assert invoice["withdrawal_waived_at"] is not None
    assert any("droit de rétractation" in n for n in invoice["legal_notices"])
    events = {e.event: e for e in box.repo.audit_events(account["id"], 50)}
    waived = events["withdrawal_right_waived"]
    assert waived.details["text"] == "withdrawal.consent_text" and waived.details["total"] == "1800"


def test_outside_the_eu_no_consent_is_recorded(api: Api, settings: Settings) -> None:
    token, _ = api.signup(country="US")
    method = create_payment_method(settings, "4242424242424242")
    api.call("PUT", "/billing/card", {"payment_method_id": method}, token=token)
    body = {"plan": "basic-monthly", "expected_total": 1500, "withdrawal_consent": True}
    assert api.call("POST", "/billing/subscribe", body, token=token).status == 200
    (summary,) = api.call("GET", "/billing/invoices", token=token).json["items"]
    invoice = api.call("GET", f"/billing/invoices/{summary['id']}", token=token).json
    assert invoice["withdrawal_waived_at"] is None  # no EU withdrawal right to waive
    wrong = api.call(
        "POST",
        "/billing/subscribe",
        {"plan": "basic-monthly", "expected_total": "1500"},
        token=token,
    )
    assert wrong.status == 400  # a string is not an amount (validated before anything else)
