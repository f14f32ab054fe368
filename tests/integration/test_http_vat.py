"""HTTP tests of the EU VAT routes and of VAT on invoices, over the embedded stack (moto,
localstripe and the fake VIES)."""

from __future__ import annotations

from typing import Any

import pytest

from chalicelib.config import Settings
from chalicelib.jobs.run import run_job
from chalicelib.wiring import Container
from devstack.fake_vies import FAKE_INVALID_NUMBERS, FAKE_UNAVAILABLE_NUMBERS
from tests.helpers import Api, create_payment_method

VALID_DE = "DE136695976"
VALID_FR = "FR40303265045"
PENDING_DE = FAKE_UNAVAILABLE_NUMBERS[0]
INVALID_DE = FAKE_INVALID_NUMBERS[0]


def address(country: str) -> dict[str, str]:
    return {
        "name": "Firma GmbH",
        "line1": "Hauptstraße 1",
        "city": "Berlin",
        "postal_code": "10115",
        "country": country,
    }


def customer(api: Api, country: str, vat_id: str | None = None) -> tuple[str, dict[str, Any]]:
    token, _ = api.signup(country=country)
    api.call("PUT", "/billing/address", address(country), token=token)
    vat = None
    if vat_id:
        vat = api.call("PUT", "/billing/vat", {"vat_id": vat_id}, token=token)
        assert vat.status == 200, vat.json
    return token, vat.json if vat else {}


def invoice_after_subscribing(api: Api, settings: Settings, token: str) -> dict[str, Any]:
    api.call(
        "PUT",
        "/billing/card",
        {"payment_method_id": create_payment_method(settings, "4242424242424242")},
        token=token,
    )
    answer = api.call("POST", "/billing/subscribe", {"plan": "basic-monthly"}, token=token)
    assert answer.status == 200, answer.json
    (summary,) = api.call("GET", "/billing/invoices", token=token).json["items"]
    return api.call("GET", f"/billing/invoices/{summary['id']}", token=token).json


def test_vat_ids_are_normalised_checked_and_verified(api: Api) -> None:
    token, vat = customer(api, "DE", "de 136.695.976")
    assert vat == {"applicable": True, "vat_id": VALID_DE, "status": "valid"}
    assert api.call("GET", "/billing", token=token).json["vat"]["status"] == "valid"
    invalid = api.call("PUT", "/billing/vat", {"vat_id": INVALID_DE}, token=token)
    assert invalid.status == 200 and invalid.json["status"] == "invalid"
    pending = api.call("PUT", "/billing/vat", {"vat_id": PENDING_DE}, token=token)
    assert pending.status == 200 and pending.json["status"] == "pending"
    assert api.call("DELETE", "/billing/vat", token=token).status == 204
    assert api.call("GET", "/billing", token=token).json["vat"] == {
        "applicable": True,
        "vat_id": None,
        "status": None,
    }


@pytest.mark.parametrize(
    ("vat_id", "code"),
    [
        ("DE136695977", "invalid_vat_id"),  # wrong check digit
        ("FR40303265045", "invalid_vat_id"),  # another member state's prefix
        ("DE13669597A", "invalid_vat_id"),  # a letter where digits belong
        ("DE136\x00695976", "invalid_vat_id"),  # control character
        ("DE" + "1" * 3000, "invalid_vat_id"),  # far too long (the body limit allows it)
    ],
)
def test_bad_vat_ids_are_refused_and_change_nothing(api: Api, vat_id: str, code: str) -> None:
    token, _ = customer(api, "DE", VALID_DE)
    answer = api.call("PUT", "/billing/vat", {"vat_id": vat_id}, token=token)
    assert (answer.status, answer.error_code) == (400, code), answer.json
    assert "vat_id" in answer.json["error"]["fields"]
    assert api.call("GET", "/billing", token=token).json["vat"]["vat_id"] == VALID_DE


def test_a_vat_id_on_a_us_account_is_not_applicable(api: Api) -> None:
    token, _ = customer(api, "US")
    answer = api.call("PUT", "/billing/vat", {"vat_id": VALID_DE}, token=token)
    assert (answer.status, answer.error_code) == (400, "vat_not_applicable")
    assert api.call("GET", "/billing", token=token).json["vat"]["applicable"] is False
    oversized = api.call("PUT", "/billing/vat", {"vat_id": "x" * 5000}, token=token)
    assert oversized.status == 400


def test_changing_the_billing_country_sets_the_vat_id_aside(api: Api) -> None:
    token, _ = customer(api, "DE", VALID_DE)
    moved = api.call(
        "PUT", "/billing/address", address("FR"), token=token, headers={"Accept-Language": "fr"}
    )
    assert moved.status == 200
    assert moved.json["vat"]["vat_id"] is None and moved.json["vat"]["applicable"] is True
    assert "retiré" in moved.json["vat"]["notice"]
    api.call("PUT", "/billing/vat", {"vat_id": VALID_FR}, token=token)
    to_us = api.call("PUT", "/billing/address", address("US"), token=token).json
    assert to_us["vat"]["vat_id"] is None and to_us["vat"]["applicable"] is False


def test_pending_ids_are_rechecked_until_vies_answers(api: Api, box: Container) -> None:
    token, vat = customer(api, "DE", PENDING_DE)
    assert vat["status"] == "pending"
    box.clock.advance(minutes=16)  # type: ignore[attr-defined]
    report = run_job("vat-recheck", box=box)
    assert report["unavailable"] >= 1  # still down: stays pending, backs off
    account_id = api.call("GET", "/account", token=token).json["id"]
    stored = box.repo.get_account(account_id)
    assert stored is not None and stored.vat_status == "pending"


@pytest.mark.parametrize(
    ("country", "vat_id", "tax", "total", "reverse"),
    [
        ("FR", None, 300, 1800, False),  # French consumer: 20 %
        ("DE", VALID_DE, 0, 1500, True),  # German business, valid ID: reverse charge
        ("DE", PENDING_DE, 285, 1785, False),  # German business, ID pending: 19 % charged
        ("US", None, 0, 1500, False),  # outside the EU: no VAT
    ],
)
def test_vat_on_invoices_to_the_cent(
    api: Api,
    settings: Settings,
    country: str,
    vat_id: str | None,
    tax: int,
    total: int,
    reverse: bool,
) -> None:
    token, _ = customer(api, country, vat_id)
    invoice = invoice_after_subscribing(api, settings, token)
    assert (invoice["subtotal"], invoice["tax"]["amount"], invoice["total"]) == (1500, tax, total)
    assert invoice["tax"]["reverse_charge"] is reverse
    assert invoice["customer"]["vat_id"] == vat_id
    if reverse:
        assert "Art. 196" in invoice["tax"]["mention"]
        html = api.call("GET", f"/billing/invoices/{invoice['id']}/print", token=token).raw
        assert VALID_DE.encode() in html and b"Reverse charge" in html
    else:
        assert invoice["tax"]["mention"] is None


def test_vendor_vat_number_or_contact(api: Api) -> None:
    vendor = api.call("GET", "/vendor").json
    assert vendor["vat_number"] == "FR11999999998" and "@" in vendor["vat_contact_email"]
