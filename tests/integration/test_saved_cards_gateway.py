"""Saved cards at the payment-gateway edge: ``list_cards`` and ``detach_card``.

1. **Contract** (the ``backend`` fixture of ``test_stripe_gateway.py``): the same tests over
   the real :class:`StripeGateway` talking to the embedded localstripe and over
   :class:`FakePaymentGateway`.  localstripe (1.15, ``resources.py``) lists PaymentMethods
   filtered by ``customer`` and ``type=card`` and detaches them; it returns 404 for an unknown
   id, but detaches an unattached PaymentMethod without complaint (Stripe answers 400), and
   it does not page (``has_more`` is always false for a handful of cards).
2. **Over a loopback stub** with payloads written from Stripe's documented shapes
   (``tests/fixtures/stripe_cards``: a list of PaymentMethods on two pages, a detached
   PaymentMethod, and Stripe's 400 for detaching one that is not attached), what localstripe
   does not do: paging with ``starting_after``, the 400, and transport failures.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from chalicelib.domain.payments import (
    PaymentGatewayUnavailable,
    PaymentMethodInvalid,
)
from tests.integration.test_stripe_gateway import (
    Backend,
    Reply,
    StubStripe,
    _customer,
    _gateway,
    backend,
    stub,
)

__all__ = ["backend", "stub"]  # the fixtures, shared with test_stripe_gateway.py

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "stripe_cards"


def _fixture(name: str) -> Any:
    return json.loads((FIXTURES / f"{name}.json").read_text())


# --- 1. contract ------------------------------------------------------------------------------
def test_list_cards_lists_the_customers_cards_only(backend: Backend) -> None:
    customer = _customer(backend)
    assert backend.gateway.list_cards(customer) == []
    first = backend.new_card("4242424242424242")
    backend.gateway.attach_card(customer, first)
    second = backend.new_card("5555555555554444")
    backend.gateway.attach_card(customer, second)
    other = _customer(backend)
    backend.gateway.attach_card(other, backend.new_card("4242424242424242"))

    cards = backend.gateway.list_cards(customer)
    assert {c.id for c in cards} == {first, second}
    by_id = {c.id: c.card for c in cards}
    assert (by_id[first].brand, by_id[first].last4) == ("visa", "4242")
    assert by_id[second].last4 == "4444"  # (localstripe calls every card "visa")
    assert (by_id[second].exp_month, by_id[second].exp_year) == (12, 2030)
    assert backend.default_card(customer) == second  # attaching made the newest the default


def test_a_detached_card_is_no_longer_listed(backend: Backend) -> None:
    customer = _customer(backend)
    kept = backend.new_card("4242424242424242")
    gone = backend.new_card("5555555555554444")
    backend.gateway.attach_card(customer, gone)
    backend.gateway.attach_card(customer, kept)
    backend.gateway.detach_card(gone)
    assert [c.id for c in backend.gateway.list_cards(customer)] == [kept]
    assert backend.default_card(customer) == kept


def test_detaching_an_unknown_or_malformed_card_is_invalid(backend: Backend) -> None:
    with pytest.raises(PaymentMethodInvalid):
        backend.gateway.detach_card("pm_doesnotexist000000000001")
    with pytest.raises(PaymentMethodInvalid):
        backend.gateway.detach_card("4242424242424242")  # card-number-like: never sent


# --- 2. over the stub -------------------------------------------------------------------------
def test_list_cards_reads_every_page(stub: StubStripe) -> None:
    stub.on(
        "GET",
        "/v1/payment_methods",
        Reply(200, _fixture("list_page_1")),
        Reply(200, _fixture("list_page_2")),
    )
    cards = _gateway(stub.url).list_cards("cus_T3stCustomer0001")
    assert [c.card.last4 for c in cards] == ["4444", "4242", "0005"]
    assert (cards[0].card.brand, cards[0].card.issuer_country) == ("mastercard", "FR")
    assert (cards[1].card.exp_month, cards[1].card.exp_year) == (12, 2026)
    first, second = stub.requests_to("GET", "/v1/payment_methods")
    assert first.form["customer"] == ["cus_T3stCustomer0001"] and first.form["type"] == ["card"]
    assert second.form["starting_after"] == ["pm_1QcMiddle0000000000000002"]


def test_detach_posts_to_the_payment_method(stub: StubStripe) -> None:
    path = "/v1/payment_methods/pm_1QcMiddle0000000000000002/detach"
    stub.on("POST", path, Reply(200, _fixture("detached")))
    _gateway(stub.url).detach_card("pm_1QcMiddle0000000000000002")
    assert len(stub.requests_to("POST", path)) == 1


def test_detaching_a_card_attached_to_no_customer_is_invalid(stub: StubStripe) -> None:
    path = "/v1/payment_methods/pm_1QcMiddle0000000000000002/detach"
    stub.on("POST", path, Reply(400, _fixture("detach_not_attached")))
    with pytest.raises(PaymentMethodInvalid) as invalid:
        _gateway(stub.url).detach_card("pm_1QcMiddle0000000000000002")
    assert invalid.value.reason == "not_attached"
    assert "detachment" not in str(invalid.value)  # Stripe's message never reaches the error


@pytest.mark.parametrize(
    "reply",
    [
        Reply(500, {"error": {"type": "api_error", "message": "stub"}}),
        Reply(429, {"error": {"type": "invalid_request_error", "code": "rate_limit"}}),
    ],
    ids=["5xx", "429"],
)
def test_list_and_detach_fail_closed(stub: StubStripe, reply: Reply) -> None:
    stub.on("GET", "/v1/payment_methods", reply)
    stub.on("POST", "/v1/payment_methods/pm_1QcMiddle0000000000000002/detach", reply)
    gateway = _gateway(stub.url, retries=0)
    with pytest.raises(PaymentGatewayUnavailable):
        gateway.list_cards("cus_T3stCustomer0001")
    with pytest.raises(PaymentGatewayUnavailable):
        gateway.detach_card("pm_1QcMiddle0000000000000002")
