"""HTTP tests of cancel, reactivate and the support hand-off, over the real adapters (DynamoDB
and SES on the embedded moto server, Stripe on localstripe, argon2), reading the mail that SES
received from ``/moto-api/data.json`` after the outbox job ran."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from msgspec.structs import replace

from chalicelib.adapters.ses import SesMailer
from chalicelib.config import Settings
from chalicelib.domain.ids import parse_iso, utc_iso
from chalicelib.jobs.run import run_job
from chalicelib.wiring import Container, build_container, override
from tests.conftest import unique_email
from tests.helpers import PASSWORD, Answer, Api, create_payment_method
from tests.integration.conftest import login, ses_messages


def sent_mail(stack: Any, to: str, containing: str = "") -> list[dict[str, Any]]:
    """What SES received for ``to`` (but the sign-up's verification mail)."""
    return [
        m
        for m in ses_messages(stack)
        if to in m["destinations"]["ToAddresses"]
        and containing in m["subject"] + m["body"]
        and "#/verify-email" not in m["body"]
    ]


def support(api: Api, settings: Settings, method: str, path: str, **kwargs: Any) -> Answer:
    headers = {"X-Support-Key": settings.support_key, **kwargs.pop("headers", {})}
    return api.call(method, path, headers=headers, **kwargs)


def reactivate(api: Api, email: str, password: str = PASSWORD) -> Answer:
    return api.call("POST", "/account/reactivate", {"email": email, "password": password})


def paid_account(
    api: Api, settings: Settings, number: str = "4242424242424242"
) -> tuple[str, str, dict[str, Any]]:
    """A paid account (card, basic-monthly, one paid invoice): token, email, account."""
    email = unique_email("paid")
    token, account = api.signup(email, phone="+33 6 12 34 56 78")
    card = api.call(
        "PUT",
        "/billing/card",
        {"payment_method_id": create_payment_method(settings, number)},
        token=token,
    )
    assert card.status == 200, card.json
    subscribed = api.call("POST", "/billing/subscribe", {"plan": "basic-monthly"}, token=token)
    assert subscribed.status == 200, subscribed.json
    return token, email, account


def events(box: Container, account_id: str) -> dict[str, Any]:
    """The account's audit trail by event name (the newest of each)."""
    found: dict[str, Any] = {}
    for event in box.repo.audit_events(account_id, 100):
        found.setdefault(event.event, event)
    return found


# --- free trials ---------------------------------------------------------------------------------
def test_a_trial_cancels_and_comes_back_signed_in(api: Api, box: Container, stack: Any) -> None:
    email = unique_email("trial")
    token, account = api.signup(email)
    other = login(api, email).json["token"]

    wrong = api.call("POST", "/account/cancel", {"password": "not my password"}, token=token)
    assert (wrong.status, wrong.error_code) == (401, "invalid_password")
    assert api.call("GET", "/account", token=token).json["status"] == "trial"  # nothing changed
    for bad in (
        {"password": PASSWORD, "reason": "bored"},
        {"password": PASSWORD, "comment": "x" * 1001},
        {"password": PASSWORD, "comment": "nul\x00byte"},
        {"password": PASSWORD, "status": "active"},
        {"reason": "other"},
    ):
        answer = api.call("POST", "/account/cancel", bad, token=token)
        assert answer.status == 400, (bad, answer.json)
    assert api.call("GET", "/account", token=other).status == 200

    body = {"password": PASSWORD, "reason": "other", "comment": "Line one.\nLine two."}
    cancelled = api.call("POST", "/account/cancel", body, token=token)
    assert cancelled.status == 200, cancelled.json
    assert cancelled.json["status"] == "cancelled" and cancelled.json["id"] == account["id"]
    for old in (token, other):  # every session ended
        assert api.call("GET", "/account", token=old).error_code == "not_authenticated"

    refused = login(api, email)
    assert (refused.status, refused.error_code) == (403, "account_cancelled")
    assert refused.json["error"]["reactivation"] == {
        "url": "/reactivate",
        "kind": "trial",
        "request_open": False,
    }
    assert login(api, email, "wrong password").json == login(api, unique_email(), "x").json

    back = reactivate(api, email)
    assert back.status == 200, back.json
    assert back.json["account"]["status"] == "trial"
    assert back.json["account"]["trial_ends_at"] == account["trial_ends_at"]  # days left kept
    assert api.call("GET", "/account", token=back.json["token"]).json == back.json["account"]
    again = reactivate(api, email)
    assert (again.status, again.error_code) == (409, "not_cancelled")

    trail = events(box, account["id"])
    assert trail["account_cancelled"].actor == "customer"
    assert trail["account_cancelled"].details["reason"] == "other"
    assert trail["account_cancelled"].details["comment"] == "Line one.\nLine two."
    assert trail["account_reactivated"].details["kind"] == "trial"

    run_job("outbox", box=box)
    (notice,) = sent_mail(stack, email)
    assert "cancelled" in notice["subject"] and "/reactivate" in notice["body"]


def test_a_trial_that_ran_out_comes_back_with_seven_days(api: Api, box: Container) -> None:
    email = unique_email("trial")
    token, _ = api.signup(email)
    assert api.call("POST", "/account/cancel", {"password": PASSWORD}, token=token).status == 200
    box.clock.advance(days=40)  # type: ignore[attr-defined]
    back = reactivate(api, email)
    assert back.status == 200, back.json
    expected = utc_iso(box.clock.now() + timedelta(days=7))
    assert back.json["account"]["trial_ends_at"] == expected


def test_reactivate_bad_input_gives_clear_answers(api: Api) -> None:
    email = unique_email()
    api.signup(email)
    not_cancelled = reactivate(api, email)
    assert (not_cancelled.status, not_cancelled.error_code) == (409, "not_cancelled")
    wrong = reactivate(api, email, "wrong password")
    unknown = reactivate(api, unique_email(), "wrong password")
    assert (wrong.status, wrong.error_code) == (401, "invalid_credentials")
    assert (unknown.status, unknown.json) == (wrong.status, wrong.json)  # no enumeration
    for body in ({"email": email}, {"email": email, "password": PASSWORD, "plan": "x"}, {}):
        assert api.call("POST", "/account/reactivate", body).status == 400, body


# --- paid accounts and support --------------------------------------------------------------------
def test_a_paid_account_is_reactivated_by_support(
    api: Api, box: Container, settings: Settings, stack: Any
) -> None:
    token, email, account = paid_account(api, settings)
    (invoice,) = api.call("GET", "/billing/invoices", token=token).json["items"]
    cancelled = api.call(
        "POST", "/account/cancel", {"password": PASSWORD, "reason": "switching"}, token=token
    )
    assert cancelled.status == 200
    assert api.call("GET", "/billing", token=token).status == 401

    asked = reactivate(api, email)
    assert asked.status == 202, asked.json
    assert asked.json["status"] == "reactivation_requested"
    request_id = asked.json["request_id"]
    assert request_id.startswith(f"{account['id']}.")
    again = reactivate(api, email)
    assert (again.status, again.json) == (202, asked.json)  # the same request, nothing new
    refused = login(api, email)
    assert (refused.status, refused.error_code) == (403, "account_cancelled")
    assert refused.json["error"]["reactivation"] == {
        "url": "/reactivate",
        "kind": "paid",
        "request_open": True,
    }
    run_job("outbox", box=box)
    (received,) = sent_mail(stack, email, "We received your request")
    assert "support team will contact you" in received["body"]

    listed = support(api, settings, "GET", "/support/reactivation-requests?status=open")
    assert listed.status == 200
    (item,) = [i for i in listed.json["items"] if i["id"] == request_id]
    assert item == {
        "id": request_id,
        "account_id": account["id"],
        "email": email,
        "requested_at": item["requested_at"],
        "status": "open",
    }
    assert parse_iso(item["requested_at"]) == box.clock.now()

    for _ in range(3):
        run_job("outbox", box=box)
    (mail,) = sent_mail(stack, settings.support_email, request_id)  # exactly once
    text = mail["subject"] + mail["body"]
    for expected in (
        account["id"],
        email,
        "Ada Lovelace",
        "+33612345678",
        "basic-monthly",
        invoice["number"],
        "€18.00",
    ):
        assert expected in text, expected

    box.clock.advance(hours=2)  # type: ignore[attr-defined]  # support calls back later
    approved = support(
        api,
        settings,
        "POST",
        f"/support/reactivation-requests/{request_id}/approve",
        body={"note": "Called the customer"},
    )
    assert approved.status == 200, approved.json
    assert approved.json["request"]["status"] == "approved"
    assert approved.json["account"]["status"] == "active"
    for decision in ("approve", "reject"):
        twice = support(
            api, settings, "POST", f"/support/reactivation-requests/{request_id}/{decision}"
        )
        assert (twice.status, twice.error_code) == (409, "request_closed")
    listed = support(api, settings, "GET", "/support/reactivation-requests")
    assert request_id not in {i["id"] for i in listed.json["items"]}

    assert run_job("renewals", box=box)["renewed"] >= 1  # the renewal was due at once
    signed_in = login(api, email)
    assert signed_in.status == 200 and signed_in.json["account"]["status"] == "active"
    token = signed_in.json["token"]
    invoices = api.call("GET", "/billing/invoices", token=token).json["items"]
    assert [i["status"] for i in invoices] == ["paid", "paid"]  # the old one is kept
    assert invoices[1]["number"] == invoice["number"]
    billing = api.call("GET", "/billing", token=token).json
    assert parse_iso(billing["next_renewal_at"]) > box.clock.now()

    run_job("outbox", box=box)
    assert len(sent_mail(stack, email, "active again")) == 1
    trail = events(box, account["id"])
    assert trail["reactivation_requested"].actor == "customer"
    assert trail["reactivation_requested"].details["request_id"] == request_id
    assert trail["reactivation_approved"].actor == "support"
    assert trail["reactivation_approved"].details == {
        "request_id": request_id,
        "note": "Called the customer",
    }


def test_support_rejects_a_request(
    api: Api, box: Container, settings: Settings, stack: Any
) -> None:
    token, email, account = paid_account(api, settings)
    api.call("POST", "/account/cancel", {"password": PASSWORD}, token=token)
    request_id = reactivate(api, email).json["request_id"]
    rejected = support(api, settings, "POST", f"/support/reactivation-requests/{request_id}/reject")
    assert rejected.status == 200, rejected.json
    assert rejected.json["request"]["status"] == "rejected"
    assert rejected.json["account"]["status"] == "cancelled"
    approve = support(api, settings, "POST", f"/support/reactivation-requests/{request_id}/approve")
    assert (approve.status, approve.error_code) == (409, "request_closed")
    assert login(api, email).error_code == "account_cancelled"
    assert events(box, account["id"])["reactivation_rejected"].actor == "support"
    run_job("outbox", box=box)
    assert len(sent_mail(stack, email, "reactivation request")) == 1


def test_cancelling_a_past_due_account_credits_what_is_owed(
    api: Api, box: Container, settings: Settings
) -> None:
    token, email, account = paid_account(api, settings)
    api.call(
        "PUT",
        "/billing/card",
        {"payment_method_id": create_payment_method(settings, "4000000000000341")},
        token=token,
    )
    due = parse_iso(api.call("GET", "/billing", token=token).json["next_renewal_at"])
    box.clock.set(due)  # type: ignore[attr-defined]
    assert run_job("renewals", box=box)["failed"] >= 1
    token = login(api, email).json["token"]
    (pending,) = api.call("GET", "/billing/pending", token=token).json["items"]

    cancelled = api.call("POST", "/account/cancel", {"password": PASSWORD}, token=token)
    assert cancelled.status == 200, cancelled.json
    assert box.repo.open_charges(account["id"]) == []
    charge = box.repo.get_charge(account["id"], pending["invoice_id"])
    assert charge is not None and charge.state.value == "void" and charge.retries_stopped
    invoice = box.repo.get_invoice(account["id"], pending["invoice_id"])
    assert invoice is not None and invoice.status.value == "credited"
    assert [t.status for t in invoice.transactions] == ["failed"]
    _, _, (note,) = box.repo.credit_context(account["id"], invoice.id)
    assert (note.invoice_number, note.total, note.reason) == (
        invoice.number,
        invoice.total,
        "account_cancelled",
    )
    details = events(box, account["id"])["account_cancelled"].details
    assert details["credited_invoices"] == invoice.number
    assert details["credit_notes"] == note.number
    far = box.clock.now() + timedelta(days=400)
    assert account["id"] not in {a.id for a in box.repo.due_renewals(far, 1000)}


def test_support_routes_need_the_key_and_a_real_open_request(api: Api, settings: Settings) -> None:
    paths = [
        ("GET", "/support/reactivation-requests?status=open"),
        ("POST", f"/support/reactivation-requests/{'0' * 32}.0123456789abcdef/approve"),
        ("POST", f"/support/reactivation-requests/{'0' * 32}.0123456789abcdef/reject"),
    ]
    for method, path in paths:
        for headers in ({}, {"X-Support-Key": "wrong"}, {"X-Support-Key": ""}):
            answer = api.call(method, path, headers=headers)
            assert (answer.status, answer.error_code) == (401, "invalid_support_key"), path
        bearer = api.call(method, path, token=api.signup()[0])  # a customer's session is no key
        assert bearer.status == 401
    for request_id in ("0" * 32 + ".0123456789abcdef", "nope", "%2E%2E"):
        for decision in ("approve", "reject"):
            answer = support(
                api, settings, "POST", f"/support/reactivation-requests/{request_id}/{decision}"
            )
            assert (answer.status, answer.error_code) == (404, "request_not_found"), request_id
    closed = support(api, settings, "GET", "/support/reactivation-requests?status=approved")
    assert closed.status == 400 and "status" in closed.json["error"]["fields"]
    typo = support(api, settings, "GET", "/support/reactivation-requests?statu=open")
    assert (typo.status, typo.error_code) == (400, "unknown_field")
    unknown_field = support(
        api,
        settings,
        "POST",
        f"/support/reactivation-requests/{'0' * 32}.0123456789abcdef/approve",
        body={"status": "approved"},
    )
    assert (unknown_field.status, unknown_field.error_code) == (400, "unknown_field")


def test_openapi_documents_the_lifecycle_and_support_routes(api: Api) -> None:
    paths = api.call("GET", "/openapi.json").json["paths"]
    reactivate_doc = paths["/account/reactivate"]["post"]
    assert {"200", "202", "401", "409"} <= set(reactivate_doc["responses"])
    assert paths["/account/cancel"]["post"]["security"] == [{"bearer": []}]
    for path, method in [
        ("/support/reactivation-requests", "get"),
        ("/support/reactivation-requests/{request_id}/approve", "post"),
        ("/support/reactivation-requests/{request_id}/reject", "post"),
    ]:
        operation = paths[path][method]
        assert operation["security"] == [{"supportKey": []}]
        assert "401" in operation["responses"]


# --- F5: SES is down while a paid account asks to come back -------------------------------------
@pytest.fixture
def ses_down(box: Container, settings: Settings) -> Iterator[Container]:
    """The same stack, but SES unreachable (its endpoint is a closed port)."""
    from devstack.stack import free_port

    dead = replace(settings, aws_endpoint_url=f"http://127.0.0.1:{free_port()}")
    down = build_container(
        settings,
        repo=box.repo,
        mailer=SesMailer(dead),
        hasher=box.hasher,
        clock=box.clock,
        gateway=box.gateway,
    )
    override(down)
    yield down
    override(box)


def test_the_support_mail_survives_an_ses_outage_and_is_sent_once(
    api: Api, box: Container, settings: Settings, stack: Any, ses_down: Container
) -> None:
    token, email, account = paid_account(api, settings)
    api.call("POST", "/account/cancel", {"password": PASSWORD}, token=token)
    asked = reactivate(api, email)
    assert asked.status == 202, asked.json
    request_id = asked.json["request_id"]

    down_report = run_job("outbox", box=ses_down)
    assert down_report["retried"] >= 1
    assert sent_mail(stack, settings.support_email, request_id) == []
    listed = support(api, settings, "GET", "/support/reactivation-requests")
    assert request_id in {i["id"] for i in listed.json["items"]}  # the request is stored
    again = reactivate(api, email)
    assert again.json["request_id"] == request_id

    override(box)  # SES is back
    run_job("outbox", box=box)  # backing off: not due yet
    assert sent_mail(stack, settings.support_email, request_id) == []
    for _ in range(4):
        box.clock.advance(minutes=5)  # type: ignore[attr-defined]
        run_job("outbox", box=box)
    assert len(sent_mail(stack, settings.support_email, request_id)) == 1
    assert account["id"] in sent_mail(stack, settings.support_email, request_id)[0]["body"]


# --- demo data ------------------------------------------------------------------------------------
def test_the_demo_cancelled_paid_account_goes_through_support(
    api: Api, box: Container, settings: Settings
) -> None:
    from chalicelib.seed import DEMO_PASSWORD, payment_method_maker, seed_cancelled_paid

    email = unique_email("cancelled-paid")  # the demo's path, under a fresh address
    assert seed_cancelled_paid(box, payment_method_maker(box), email)  # on the embedded Stripe
    assert not seed_cancelled_paid(box, payment_method_maker(box), email)
    refused = login(api, email, DEMO_PASSWORD)
    assert (refused.status, refused.error_code) == (403, "account_cancelled")
    asked = reactivate(api, email, DEMO_PASSWORD)
    assert asked.status == 202, asked.json
    path = f"/support/reactivation-requests/{asked.json['request_id']}/approve"
    assert support(api, settings, "POST", path).json["account"]["status"] == "active"
    token = login(api, email, DEMO_PASSWORD).json["token"]
    (invoice,) = api.call("GET", "/billing/invoices", token=token).json["items"]
    assert invoice["status"] == "paid"


@pytest.mark.parametrize(
    ("stage", "key", "given", "allowed"),
    [
        ("local", "support-local-key", "support-local-key", True),
        ("prod", "support-local-key", "support-local-key", False),  # placeholder outside local
        ("prod", "a-real-secret-key", "a-real-secret-key", True),
        ("prod", "a-real-secret-key", "a-real-secret-kez", False),
        ("local", "", "", False),  # no key configured: nobody gets in
    ],
)
def test_the_support_key_check_fails_closed(
    api: Api, box: Container, stage: str, key: str, given: str, allowed: bool
) -> None:
    configured = replace(box.settings, stage=stage, support_key=key)
    override(
        build_container(
            configured, repo=box.repo, mailer=box.mailer, hasher=box.hasher, clock=box.clock
        )
    )
    try:
        answer = api.call("GET", "/support/reactivation-requests", headers={"X-Support-Key": given})
    finally:
        override(box)
    assert (answer.status == 200) is allowed, answer.json
