"""The webhook service over the in-memory container: races, malformed events, recorded kinds."""

from __future__ import annotations

import json
import logging
import threading
from typing import Any

import pytest

from chalicelib.adapters.fake_payments import FakePaymentGateway
from chalicelib.api.webhooks import handle_event
from chalicelib.domain.account import AccountStatus, MarkerKind
from chalicelib.domain.billing import Address, ChargeState
from chalicelib.domain.errors import DependencyUnavailable
from chalicelib.domain.payments import MalformedEvent
from chalicelib.wiring import Container

PASSWORD = "correct horse battery staple"


def unknown_subscription(box: Container, email: str = "ada@example.com") -> tuple[str, Any]:
    """A trial whose subscribe charge succeeded at Stripe but whose answer was lost."""
    gateway = box.gateway
    assert isinstance(gateway, FakePaymentGateway)
    signed = box.auth.signup(
        email=email,
        password=PASSWORD,
        name="Ada",
        country="US",
        phone=None,
        locale="en",
        ip="10.0.0.1",
    )
    who = box.auth.authenticate(signed.token, "10.0.0.1")
    box.billing.set_card(who, gateway.add_test_card("4242424242424242"))
    gateway.inject("lost_answer")
    with pytest.raises(DependencyUnavailable):
        box.billing.subscribe(box.auth.authenticate(signed.token, "10.0.0.1"), "basic-monthly")
    (intent,) = gateway.charges
    return who.account.id, intent


def succeeded(event_id: str, intent: Any) -> dict[str, Any]:
    return {
        "id": event_id,
        "type": "payment_intent.succeeded",
        "data": {"object": {"id": intent.payment_intent_id, "metadata": dict(intent.metadata)}},
    }


def race_two_events(box: Container) -> None:
    """Two distinct ``payment_intent.succeeded`` for one charge, read at the same moment (both
    read before either writes): one state change, one mail, both applied without an error."""
    account_id, intent = unknown_subscription(box)
    repo = box.repo
    barrier = threading.Barrier(2, timeout=10)
    local = threading.local()
    real_read = repo.invoices_by_id

    def read_together(*args: Any, **kwargs: Any) -> Any:
        found = real_read(*args, **kwargs)
        if not getattr(local, "waited", False):
            local.waited = True
            barrier.wait()  # both have read the charge open before either commits
        return found

    repo.invoices_by_id = read_together  # type: ignore[method-assign]
    answers: dict[str, str] = {}
    errors: list[BaseException] = []

    def deliver(event_id: str) -> None:
        try:
            answers[event_id] = handle_event(succeeded(event_id, intent))
        except BaseException as error:
            errors.append(error)

    threads = [threading.Thread(target=deliver, args=(f"evt_race_{n}",)) for n in (1, 2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    repo.invoices_by_id = real_read  # type: ignore[method-assign]
    assert errors == []
    assert sorted(answers) == ["evt_race_1", "evt_race_2"]
    assert set(answers.values()) <= {"applied", "duplicate"}
    account = repo.get_account(account_id)
    assert account is not None and account.status is AccountStatus.ACTIVE
    charge = repo.get_charge(account_id, intent.metadata["charge_ids"])
    assert charge is not None and charge.state is ChargeState.PAID
    (invoice,) = repo.list_invoices(account_id, 10, None)[0]
    assert invoice.status.value == "paid"
    assert mails_of(box, account_id) == ["payment_receipt"]
    for event_id in answers:  # both recorded: a redelivery changes nothing
        assert repo.get_marker(MarkerKind.EVENT, event_id) is not None
        assert handle_event(succeeded(event_id, intent)) == "duplicate"
    assert mails_of(box, account_id) == ["payment_receipt"]


def mails_of(box: Container, account_id: str) -> list[str]:
    from datetime import timedelta

    later = box.clock.now() + timedelta(days=1)
    return sorted(
        m.template
        for m in box.repo.due_mail(later, 1000)
        if m.account_id == account_id and m.template != "verify_email"  # sign-up's, not money's
    )


def test_two_events_for_one_charge_at_the_same_moment(memory_box: Container) -> None:
    race_two_events(memory_box)


MALFORMED = [
    ({"type": "payment_intent.succeeded", "data": {"object": {}}}, "missing_id", None),
    ({"id": "evt_" + "x" * 300, "type": "x.y", "data": {"object": {}}}, "invalid_id", None),
    ({"id": 12, "type": "x.y", "data": {"object": {}}}, "missing_id", None),
    ({"id": "evt_t", "type": ["x"], "data": {"object": {}}}, "invalid_type", "evt_t"),
    ({"id": "evt_d", "type": "payment_intent.succeeded", "data": []}, "invalid_data", "evt_d"),
    ({"id": "evt_o", "type": "x.y", "data": {"object": "pi_1"}}, "invalid_data_object", "evt_o"),
    (
        {
            "id": "evt_m",
            "type": "payment_intent.succeeded",
            "data": {"object": {"id": "pi_1", "metadata": "a"}},
        },
        "invalid_metadata",
        "evt_m",
    ),
    (
        {
            "id": "evt_c",
            "type": "payment_intent.succeeded",
            "data": {"object": {"id": "pi_1", "metadata": {"account_id": 5, "charge_ids": "c"}}},
        },
        "invalid_metadata",
        "evt_c",
    ),
    (
        {"id": "evt_n", "type": "payment_intent.succeeded", "data": {"object": {"metadata": {}}}},
        "missing_object_id",
        "evt_n",
    ),
    (
        {"id": "evt_r", "type": "charge.refunded", "data": {"object": {"id": ["ch_1"]}}},
        "invalid_object_id",
        "evt_r",
    ),
    (
        {
            "id": "evt_p",
            "type": "payment_method.automatically_updated",
            "data": {"object": {"id": "pm_1", "card": "visa", "customer": "cus_1"}},
        },
        "invalid_card",
        "evt_p",
    ),
]


@pytest.mark.parametrize(("event", "reason", "recorded"), MALFORMED)
def test_malformed_events_are_refused_and_recorded_as_rejected(
    memory_box: Container,
    caplog: pytest.LogCaptureFixture,
    event: dict[str, Any],
    reason: str,
    recorded: str | None,
) -> None:
    caplog.set_level(logging.INFO, logger="helpdesk")
    with pytest.raises(MalformedEvent) as refused:
        handle_event(event)
    assert (refused.value.code, refused.value.STATUS_CODE, refused.value.reason) == (
        "invalid_event",
        400,
        reason,
    )
    lines = [json.loads(r.getMessage()) for r in caplog.records if r.name == "helpdesk"]
    (line,) = [x for x in lines if x["event"] == "webhook.rejected"]
    assert line["reason"] == reason and line.get("event_id") == recorded
    if recorded is not None:
        assert memory_box.repo.get_marker(MarkerKind.REJECTED_EVENT, recorded) == reason
        assert (
            memory_box.repo.get_marker(MarkerKind.EVENT, recorded) is None
        )  # not taken as handled


@pytest.mark.parametrize("kind", ["charge.refunded", "charge.dispute.created"])
def test_refunds_and_disputes_of_unknown_payments_are_recorded_once(
    memory_box: Container, caplog: pytest.LogCaptureFixture, kind: str
) -> None:
    caplog.set_level(logging.INFO, logger="helpdesk")
    obj: dict[str, Any] = {
        "id": "ch_1" if kind == "charge.refunded" else "dp_1",
        "payment_intent": "pi_9",
    }
    if kind == "charge.refunded":
        obj["amount_refunded"] = 100
    event = {"id": f"evt_{kind}", "type": kind, "data": {"object": obj}}
    assert handle_event(event) == "recorded"
    assert handle_event(event) == "duplicate"
    assert memory_box.repo.get_marker(MarkerKind.EVENT, f"evt_{kind}") is not None
    lines = [json.loads(r.getMessage()) for r in caplog.records if r.name == "helpdesk"]
    (line,) = [x for x in lines if x["event"] == "webhook.recorded_for_later"]
    assert (line["type"], line["object_id"], line["payment_intent_id"]) == (
        kind,
        obj["id"],
        "pi_9",
    )


def test_a_network_card_update_that_loses_a_race_is_applied_again(memory_box: Container) -> None:
    """The account moved between the read and the write: re-read, re-apply, no 500."""
    box = memory_box
    gateway = box.gateway
    assert isinstance(gateway, FakePaymentGateway)
    signed = box.auth.signup(
        email="bo@example.com",
        password=PASSWORD,
        name="Bo",
        country="US",
        phone=None,
        locale="en",
        ip="10.0.0.1",
    )
    who = box.auth.authenticate(signed.token, "10.0.0.1")
    method = gateway.add_test_card("4242424242424242")
    account = box.billing.set_card(who, method)
    assert account.customer_id
    repo = box.repo
    real_get = repo.get_account
    moved: list[Any] = []

    def get_then_move(account_id: str) -> Any:
        found = real_get(account_id)
        if not moved and found is not None:
            moved.append(True)  # someone edits the account right after this read
            box.billing.set_address(
                box.auth.authenticate(signed.token, "10.0.0.1"),
                Address(name="Bo", line1="1 rue", city="Paris", postal_code="75001", country="FR"),
            )
        return found

    repo.get_account = get_then_move  # type: ignore[method-assign]
    event = {
        "id": "evt_update",
        "type": "payment_method.automatically_updated",
        "data": {
            "object": {
                "id": method,
                "customer": account.customer_id,
                "card": {"brand": "visa", "last4": "1881", "exp_month": 4, "exp_year": 2044},
            }
        },
    }
    assert handle_event(event) == "applied"
    repo.get_account = real_get  # type: ignore[method-assign]
    after = repo.get_account(account.id)
    assert after is not None and after.card is not None and after.card.last4 == "1881"
    assert after.billing_address is not None and after.billing_address.city == "Paris"
    assert moved == [True]
