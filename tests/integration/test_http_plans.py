"""HTTP tests of plans, seats and renewals over DynamoDB (moto) and Stripe (localstripe):
GET /plans, the preview, PATCH /billing/subscription (upgrade charged now, downgrade
scheduled, withdrawn), cancel at period end and resume, the renewals job, and bad input."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from chalicelib.config import Settings
from chalicelib.domain.account import AccountChange
from chalicelib.domain.billing import ChargeState
from chalicelib.domain.ids import parse_iso
from chalicelib.jobs.run import run_job
from chalicelib.wiring import Container
from tests.helpers import PASSWORD, Api, create_payment_method

DECLINES = "4000000000000341"  # attaches, then every charge is declined


@pytest.fixture
def api(client: Any) -> Api:
    return Api(client)


def subscribed(
    api: Api, settings: Settings, plan: str = "basic-monthly"
) -> tuple[str, dict[str, Any]]:
    token, account = api.signup(country="FR")
    api.email = account["email"]  # type: ignore[attr-defined]
    card = api.call(
        "PUT",
        "/billing/card",
        {"payment_method_id": create_payment_method(settings, "4242424242424242")},
        token=token,
    )
    assert card.status == 200, card.json
    answer = api.call("POST", "/billing/subscribe", {"plan": plan}, token=token)
    assert answer.status == 200, answer.json
    return token, answer.json


def later(api: Api, box: Container, when: Any) -> str:
    """The clock moved to ``when``, and a new session (the old one idled out)."""
    box.clock.set(when)  # type: ignore[attr-defined]
    email = api.email  # type: ignore[attr-defined]
    login = api.call("POST", "/login", {"email": email, "password": PASSWORD})
    assert login.status == 200, login.json
    token: str = login.json["token"]
    return token


def invoices(api: Api, token: str) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = api.call("GET", "/billing/invoices", token=token).json["items"]
    return items


def test_plans_are_per_seat_and_localized(api: Api) -> None:
    en = api.call("GET", "/plans").json["items"]
    fr = api.call("GET", "/plans", headers={"Accept-Language": "fr"}).json["items"]
    assert {p["id"] for p in en} == {"basic-monthly", "pro-monthly", "pro-yearly"}
    assert all(p["per_seat"] is True for p in en)
    by_id = {p["id"]: p for p in fr}
    assert by_id["pro-yearly"]["name"] == "Pro (annuel)"
    assert "siège" in by_id["basic-monthly"]["description"]
    assert "seat" in {p["id"]: p for p in en}["basic-monthly"]["description"]


def test_preview_then_upgrade_charges_the_proration_once(
    api: Api, settings: Settings, box: Container
) -> None:
    token, billing = subscribed(api, settings)
    assert billing["seats"] == 1 and billing["scheduled_change"] is None
    end = parse_iso(billing["next_renewal_at"])
    token = later(api, box, end - timedelta(days=10))
    preview = api.call("POST", "/billing/subscription/preview", {"seats": 3}, token=token)
    assert preview.status == 200, preview.json
    body = preview.json
    assert body["effective"] == "now" and body["seats"] == 3
    assert body["now"]["tax"] == round(body["now"]["net"] * 0.2)  # French VAT
    assert body["now"]["total"] == body["now"]["net"] + body["now"]["tax"]
    assert sum(line["amount"] for line in body["lines"]) == body["now"]["net"] > 0
    assert body["next_renewal"]["at"] == billing["next_renewal_at"]
    assert (body["next_renewal"]["net"], body["next_renewal"]["total"]) == (4500, 5400)
    assert len(invoices(api, token)) == 1  # a preview charges nothing

    headers = {"Idempotency-Key": "upgrade-1"}
    changed = api.call("PATCH", "/billing/subscription", {"seats": 3}, token=token, headers=headers)
    assert changed.status == 200, changed.json
    assert changed.json["seats"] == 3 and changed.json["status"] == "active"
    assert changed.json["next_renewal_at"] == billing["next_renewal_at"]
    invoice = api.call("GET", f"/billing/invoices/{changed.json['invoice_id']}", token=token).json
    assert invoice["status"] == "paid" and invoice["total"] == body["now"]["total"]
    assert [line["quantity"] for line in invoice["lines"]] == [1, -1]
    assert invoice["period_end"] == billing["next_renewal_at"]
    again = api.call("PATCH", "/billing/subscription", {"seats": 3}, token=token, headers=headers)
    assert again.status == 200 and again.json["seats"] == 3
    assert len(invoices(api, token)) == 2  # the repeat moved no money
    account = api.call("GET", "/account", token=token).json
    assert account["seats"] == 3 and account["cancel_at"] is None
    # the renewal bills the three seats
    box.clock.set(end)  # type: ignore[attr-defined]
    assert run_job("renewals", box=box)["renewed"] >= 1
    assert invoices(api, later(api, box, end))[0]["total"] == 5400


def test_a_declined_upgrade_is_402_and_changes_nothing(
    api: Api, settings: Settings, box: Container
) -> None:
    token, billing = subscribed(api, settings)
    card = api.call(
        "PUT",
        "/billing/card",
        {"payment_method_id": create_payment_method(settings, DECLINES)},
        token=token,
    )
    assert card.status == 200
    declined = api.call("PATCH", "/billing/subscription", {"plan": "pro-monthly"}, token=token)
    assert (declined.status, declined.error_code) == (402, "card_declined")
    page = api.call("GET", "/billing", token=token).json
    assert (page["plan"], page["seats"], page["status"]) == ("basic-monthly", 1, "active")
    assert page["pending_payment"] is None
    assert page["next_renewal_at"] == billing["next_renewal_at"]


def test_a_downgrade_is_scheduled_shown_and_withdrawn(
    api: Api, settings: Settings, box: Container
) -> None:
    token, billing = subscribed(api, settings, plan="pro-monthly")
    preview = api.call(
        "POST", "/billing/subscription/preview", {"plan": "basic-monthly", "seats": 2}, token=token
    ).json
    assert preview["effective"] == "renewal" and preview["now"]["total"] == 0
    assert preview["lines"] == [] and preview["next_renewal"]["net"] == 3000
    changed = api.call(
        "PATCH", "/billing/subscription", {"plan": "basic-monthly", "seats": 2}, token=token
    )
    assert changed.status == 200, changed.json
    assert changed.json["plan"] == "pro-monthly"  # until the renewal
    assert changed.json["scheduled_change"] == {
        "plan": "basic-monthly",
        "seats": 2,
        "at": billing["next_renewal_at"],
    }
    assert len(invoices(api, token)) == 1  # nothing charged, nothing given back
    undone = api.call("DELETE", "/billing/subscription/scheduled-change", token=token)
    assert undone.status == 200 and undone.json["scheduled_change"] is None
    twice = api.call("DELETE", "/billing/subscription/scheduled-change", token=token)
    assert (twice.status, twice.error_code) == (409, "no_scheduled_change")
    # scheduled again: the renewal applies it
    api.call("PATCH", "/billing/subscription", {"plan": "basic-monthly"}, token=token)
    box.clock.set(parse_iso(billing["next_renewal_at"]))  # type: ignore[attr-defined]
    run_job("renewals", box=box)
    token = later(api, box, parse_iso(billing["next_renewal_at"]))
    page = api.call("GET", "/billing", token=token).json
    assert (page["plan"], page["scheduled_change"]) == ("basic-monthly", None)
    assert invoices(api, token)[0]["total"] == 1800


def test_bad_input_and_conflicts(api: Api, settings: Settings, box: Container) -> None:
    trial_token, _ = api.signup()
    trial = api.call("PATCH", "/billing/subscription", {"seats": 2}, token=trial_token)
    assert (trial.status, trial.error_code) == (409, "not_allowed_in_status")
    token, _ = subscribed(api, settings)
    for path in ("/billing/subscription/preview", "/billing/subscription"):
        method = "POST" if path.endswith("preview") else "PATCH"
        for body in ({"seats": 0}, {"seats": -2}, {"seats": "3"}, {"seats": 1.5}, {"x": 1}):
            answer = api.call(method, path, body, token=token)
            assert answer.status == 400, (path, body, answer.json)
            assert answer.json["error"]["fields"], answer.json
        unknown = api.call(method, path, {"plan": "platinum"}, token=token)
        assert (unknown.status, unknown.error_code) == (400, "unknown_plan")
    same = api.call("PATCH", "/billing/subscription", {"seats": 1}, token=token)
    assert (same.status, same.error_code) == (409, "nothing_to_change")
    long_key = {"Idempotency-Key": "k" * 300}
    bad_key = api.call(
        "PATCH", "/billing/subscription", {"seats": 2}, token=token, headers=long_key
    )
    assert bad_key.status == 400
    no_auth = api.call("PATCH", "/billing/subscription", {"seats": 2})
    assert no_auth.status == 401
    # a charge being processed: 409, nothing charged
    account_id = api.call("GET", "/account", token=token).json["id"]
    (charge,) = [c for c in _charges(box, account_id) if c.state is ChargeState.PAID]
    processing = charge.evolve(state=ChargeState.PROCESSING, lease_until=box.clock.now())
    box.repo.commit(AccountChange(charges=((processing, charge.version),)))
    busy = api.call("PATCH", "/billing/subscription", {"seats": 2}, token=token)
    assert (busy.status, busy.error_code) == (409, "payment_in_progress")
    assert len(invoices(api, token)) == 1


def _charges(box: Container, account_id: str) -> list[Any]:
    invoice_ids = [i.id for i in box.repo.list_invoices(account_id, 100, None)[0]]
    charges = [box.repo.get_charge(account_id, i) for i in invoice_ids]
    return [c for c in charges if c is not None]


def test_cancel_at_period_end_then_resume_then_cancelled_on_time(
    api: Api, settings: Settings, box: Container
) -> None:
    token, billing = subscribed(api, settings)
    end = billing["next_renewal_at"]
    bad = api.call("POST", "/account/cancel", {"password": PASSWORD, "at": "tomorrow"}, token=token)
    assert bad.status == 400
    scheduled = api.call(
        "POST", "/account/cancel", {"password": PASSWORD, "at": "period_end"}, token=token
    )
    assert scheduled.status == 200, scheduled.json
    assert scheduled.json["status"] == "active" and scheduled.json["cancel_at"] == end
    assert api.call("GET", "/billing", token=token).json["cancel_at"] == end  # still signed in
    busy = api.call("PATCH", "/billing/subscription", {"seats": 2}, token=token)
    assert (busy.status, busy.error_code) == (409, "cancellation_scheduled")
    resumed = api.call("POST", "/account/resume", token=token)
    assert resumed.status == 200 and resumed.json["cancel_at"] is None
    twice = api.call("POST", "/account/resume", token=token)
    assert (twice.status, twice.error_code) == (409, "not_scheduled")
    api.call("POST", "/account/cancel", {"password": PASSWORD, "at": "period_end"}, token=token)
    box.clock.set(parse_iso(end))  # type: ignore[attr-defined]
    report = run_job("renewals", box=box)
    assert report["cancelled"] >= 1
    gone = api.call("GET", "/account", token=token)
    assert gone.status == 401  # cancelled: every session ended
    account = box.repo.get_account(scheduled.json["id"])
    assert account is not None and account.status.value == "cancelled"
    assert len(_charges(box, account.id)) == 1  # never renewed, nothing refunded


def test_cancel_now_stays_the_default(api: Api, settings: Settings) -> None:
    token, _ = subscribed(api, settings)
    answer = api.call("POST", "/account/cancel", {"password": PASSWORD}, token=token)
    assert answer.status == 200 and answer.json["status"] == "cancelled"
    assert answer.json["cancel_at"] is None


def test_a_trial_cannot_cancel_at_period_end(api: Api) -> None:
    token, _ = api.signup()
    answer = api.call(
        "POST", "/account/cancel", {"password": PASSWORD, "at": "period_end"}, token=token
    )
    assert (answer.status, answer.error_code) == (409, "not_allowed_in_status")


def test_subscribe_takes_seats_priced_per_seat_and_confirmed(api: Api, settings: Settings) -> None:
    token, _ = api.signup(country="FR")
    card = api.call(
        "PUT",
        "/billing/card",
        {"payment_method_id": create_payment_method(settings, "4242424242424242")},
        token=token,
    )
    assert card.status == 200, card.json
    plans = {p["id"]: p for p in api.call("GET", "/plans", token=token).json["items"]}
    per_seat = plans["basic-monthly"]
    assert (per_seat["amount"], per_seat["price"]["total"]) == (1500, 1800)  # one seat's price
    for seats in (0, -1, "3", 1.5, 10_001):
        bad = api.call(
            "POST", "/billing/subscribe", {"plan": "basic-monthly", "seats": seats}, token=token
        )
        assert bad.status == 400, (seats, bad.json)
        assert "seats" in bad.json["error"]["fields"], bad.json
    # the confirmed total is for the seats asked: one seat's total is refused, nothing charged
    stale = api.call(
        "POST",
        "/billing/subscribe",
        {"plan": "basic-monthly", "seats": 3, "expected_total": 1800},
        token=token,
    )
    assert (stale.status, stale.error_code) == (409, "price_changed")
    assert stale.json["error"]["price"]["total"] == 5400, stale.json
    assert invoices(api, token) == []
    answer = api.call(
        "POST",
        "/billing/subscribe",
        {"plan": "basic-monthly", "seats": 3, "expected_total": 5400},
        token=token,
    )
    assert answer.status == 200, answer.json
    assert (answer.json["status"], answer.json["plan"], answer.json["seats"]) == (
        "active",
        "basic-monthly",
        3,
    )
    (invoice,) = invoices(api, token)
    assert invoice["total"] == 5400
    lines = api.call("GET", f"/billing/invoices/{invoice['id']}", token=token).json["lines"]
    assert [(line["quantity"], line["unit_amount"]) for line in lines] == [(3, 1500)]


def test_subscribe_without_seats_charges_the_account_seats(api: Api, settings: Settings) -> None:
    token, billing = subscribed(api, settings, "pro-monthly")
    assert billing["seats"] == 1
    (invoice,) = invoices(api, token)
    assert invoice["total"] == 5880
