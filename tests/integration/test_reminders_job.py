"""The ``reminders`` job over the embedded stack: a yearly account subscribed over HTTP (real
DynamoDB adapter on moto, StripeGateway on localstripe) gets the card-expiry notice 30 days
before its renewal and the renewal notice 7 days before, each once however often the job runs,
delivered through the outbox relay to SES; the queue keys on the table say when it is next due."""

from __future__ import annotations

import json
import urllib.request
from datetime import timedelta
from typing import Any

import pytest

from chalicelib.adapters.dynamo.models import AccountItem
from chalicelib.config import Settings
from chalicelib.domain.ids import parse_iso
from chalicelib.jobs.run import run_job
from chalicelib.wiring import Container
from tests.helpers import Api, create_payment_method


@pytest.fixture
def api(client: Any) -> Api:
    return Api(client)


def sent_to(stack: Any, to: str, containing: str) -> list[dict[str, Any]]:
    with urllib.request.urlopen(f"{stack.aws_url}/moto-api/data.json") as answer:
        data = json.load(answer)
    return [
        m
        for m in data["ses"]["Message"]
        if to in m["destinations"]["ToAddresses"] and containing in m["subject"]
    ]


def test_reminders_go_once_each_through_the_outbox(
    api: Api, settings: Settings, box: Container, stack: Any
) -> None:
    token, account = api.signup()
    now = box.clock.now()
    # valid through December of this year: over before the renewal a year from now
    card = create_payment_method(settings, "4242424242424242", exp_year=now.year)
    assert api.call("PUT", "/billing/card", {"payment_method_id": card}, token=token).status == 200
    subscribed = api.call("POST", "/billing/subscribe", {"plan": "pro-yearly"}, token=token)
    assert subscribed.status == 200, subscribed.json
    renewal = parse_iso(subscribed.json["next_renewal_at"])
    card_due = renewal - timedelta(days=30)

    item = AccountItem.get(f"ACCOUNT#{account['id']}", "PROFILE", consistent_read=True)
    assert item.queue_pk is not None and item.queue_pk.startswith("renewal#")
    assert item.queue_sk is not None and item.queue_sk.startswith(card_due.strftime("%Y-%m-%dT"))

    assert run_job("reminders", card_due - timedelta(minutes=1), box=box)["card_notices"] == 0
    assert run_job("reminders", card_due, box=box)["card_notices"] >= 1
    run_job("reminders", card_due + timedelta(hours=1), box=box)  # the next hourly run
    item = AccountItem.get(f"ACCOUNT#{account['id']}", "PROFILE", consistent_read=True)
    notice_due = renewal - timedelta(days=7)
    assert item.queue_sk is not None and item.queue_sk.startswith(notice_due.strftime("%Y-%m-%dT"))

    assert run_job("reminders", notice_due, box=box)["renewal_notices"] >= 1
    run_job("reminders", notice_due + timedelta(hours=1), box=box)
    run_job("outbox", notice_due + timedelta(hours=1), box=box)
    run_job("reminders", notice_due + timedelta(hours=2), box=box)
    run_job("outbox", notice_due + timedelta(hours=2), box=box)

    expiring = sent_to(stack, account["email"], "Your card expires before")
    notices = sent_to(stack, account["email"], "Your HelpDesk subscription renews on")
    assert len(expiring) == 1 and len(notices) == 1
    assert "12/" in expiring[0]["body"] and "4242" in expiring[0]["body"]
    assert "€588.00" in notices[0]["body"] and "Pro (yearly)" in notices[0]["body"]
    item = AccountItem.get(f"ACCOUNT#{account['id']}", "PROFILE", consistent_read=True)
    assert item.queue_sk is not None and item.queue_sk.startswith(renewal.strftime("%Y-%m-%dT"))
