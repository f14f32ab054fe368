"""The Stripe webhook over the embedded DynamoDB: a race for one charge, malformed events (400,
recorded as rejected), oversized ids (400, not 503), refunds and disputes recorded once."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from chalicelib.adapters.clock import FixedClock
from chalicelib.adapters.fake_payments import FakePaymentGateway
from chalicelib.config import Settings
from chalicelib.domain.account import MarkerKind
from chalicelib.wiring import Container, build_container, override
from tests.helpers import Api
from tests.integration.test_http_dunning import sign
from tests.unit.test_webhooks import race_two_events


@pytest.fixture
def dynamo_with_fake_stripe(settings: Settings, clock: FixedClock) -> Iterator[Container]:
    """The embedded DynamoDB, with the fake gateway (to lose a charge's answer on purpose)."""
    box = build_container(settings, clock=clock, gateway=FakePaymentGateway())
    override(box)
    yield box
    override(None)


def test_two_events_for_one_charge_at_the_same_moment_over_dynamodb(
    dynamo_with_fake_stripe: Container,
) -> None:
    race_two_events(dynamo_with_fake_stripe)


def post(api: Api, settings: Settings, event: Any) -> Any:
    body = json.dumps(event).encode()
    return api.call(
        "POST",
        "/webhooks/stripe",
        raw=body,
        headers={"Stripe-Signature": sign(body, settings.stripe_webhook_secret)},
    )


def test_malformed_signed_events_answer_400_and_are_recorded(
    api: Api, settings: Settings, box: Container
) -> None:
    tag = uuid.uuid4().hex[:10]
    cases = [
        ({"id": f"evt_d{tag}", "type": "payment_intent.succeeded", "data": "x"}, "invalid_data"),
        (
            {"id": f"evt_o{tag}", "type": "payment_intent.succeeded", "data": {"object": 3}},
            "invalid_data_object",
        ),
        (
            {
                "id": f"evt_m{tag}",
                "type": "payment_intent.succeeded",
                "data": {"object": {"id": "pi_1", "metadata": ["account_id"]}},
            },
            "invalid_metadata",
        ),
        (
            {"id": f"evt_n{tag}", "type": "charge.refunded", "data": {"object": {}}},
            "missing_object_id",
        ),
    ]
    for event, reason in cases:
        assert isinstance(event, dict)
        answer = post(api, settings, event)
        assert (answer.status, answer.error_code) == (400, "invalid_event"), answer.json
        assert answer.json["error"]["reason"] == reason and answer.json["error"]["message"]
        assert box.repo.get_marker(MarkerKind.REJECTED_EVENT, event["id"]) == reason
        assert box.repo.get_marker(MarkerKind.EVENT, str(event["id"])) is None
    for event in (
        {"type": "customer.created", "data": {"object": {}}},
        {"id": "evt_" + "x" * 2100, "type": "customer.created", "data": {"object": {}}},
        {"id": "evt_" + "é" * 300, "type": "customer.created", "data": {"object": {}}},
    ):
        answer = post(api, settings, event)
        assert (answer.status, answer.error_code) == (400, "invalid_event"), answer.json


def test_refunds_and_disputes_of_unknown_payments_are_recorded_once(
    api: Api, settings: Settings, box: Container
) -> None:
    for kind, obj in (
        ("charge.refunded", {"id": "ch_1", "payment_intent": "pi_1", "amount_refunded": 100}),
        ("charge.dispute.created", {"id": "dp_1", "charge": "ch_1", "payment_intent": "pi_1"}),
    ):
        event_id = f"evt_{uuid.uuid4().hex[:16]}"
        event = {"id": event_id, "type": kind, "data": {"object": obj}}
        first, again = post(api, settings, event), post(api, settings, event)
        assert (first.status, first.json["result"]) == (200, "recorded")
        assert (again.status, again.json["result"]) == (200, "duplicate")
        assert box.repo.get_marker(MarkerKind.EVENT, event_id) is not None


def test_card_numbers_of_the_wrong_type_in_a_signed_event_are_not_a_500(
    api: Api, settings: Settings
) -> None:
    """``exp_month: Infinity`` (JSON's non-standard literal) made ``int()`` raise an
    OverflowError inside the card summary: a 500 on a signed body."""
    tag = uuid.uuid4().hex[:10]
    for i, month in enumerate((float("inf"), True, "1" * 5000, -3, 12.5)):
        event = {
            "id": f"evt_c{i}{tag}",
            "type": "payment_method.automatically_updated",
            "data": {
                "object": {
                    "id": f"pm_{tag}",
                    "customer": f"cus_{tag}",
                    "card": {"brand": "visa", "last4": "4242", "exp_month": month},
                }
            },
        }
        answer = post(api, settings, event)
        assert (answer.status, answer.json["result"]) == (200, "recorded"), answer.json


def test_the_card_summary_keeps_only_small_integers() -> None:
    from chalicelib.adapters.stripe_gateway import card_summary

    for bad in (float("inf"), float("nan"), True, "1" * 5000, -3, 12.5, "١٢", None, [1]):
        summary = card_summary({"card": {"exp_month": bad, "exp_year": "2031"}})
        assert (summary.exp_month, summary.exp_year, summary.last4) == (0, 2031, "")
    assert card_summary({"card": {"exp_month": 12, "exp_year": 2031}}).exp_month == 12


def test_a_dashboard_refund_over_http_issues_one_credit_note(
    api: Api, settings: Settings, box: Container
) -> None:
    from tests.helpers import create_payment_method

    token, account = api.signup()
    method = create_payment_method(settings, "4242424242424242")
    api.call("PUT", "/billing/card", {"payment_method_id": method}, token=token)
    assert (
        api.call("POST", "/billing/subscribe", {"plan": "basic-monthly"}, token=token).status == 200
    )
    (summary,) = api.call("GET", "/billing/invoices", token=token).json["items"]
    stored = box.repo.get_invoice(account["id"], summary["id"])
    fresh = box.repo.get_account(account["id"])
    assert stored is not None and fresh is not None
    event = {
        "id": f"evt_{uuid.uuid4().hex[:16]}",
        "type": "charge.refunded",
        "data": {
            "object": {
                "id": "ch_1",
                "customer": fresh.customer_id,
                "payment_intent": stored.transactions[-1].payment_intent_id,
                "amount_refunded": 900,
            }
        },
    }
    first, again = post(api, settings, event), post(api, settings, event)
    assert (first.json["result"], again.json["result"]) == ("applied", "duplicate")
    (note,) = api.call("GET", "/billing/credit-notes", token=token).json["items"]
    assert (note["total"], note["reason"], note["refund"]) == (
        900,
        "refunded_at_stripe",
        {"status": "succeeded", "amount": 900},
    )
