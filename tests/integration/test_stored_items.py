"""The stored item format is fixed: data written before (a ``.devstack`` table, a deployed
table) must still load, and what is written now must be the same items.

``stored_items_v1.json`` is what the repository wrote for ``stored_samples.samples()`` (one item
of every type, fixed ids) before ``adapters/dynamo/repository.py`` was split into ``keys``,
``mapping`` and ``repository``; only the random suffix of an audit event's sort key varies.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from chalicelib.adapters import aws
from chalicelib.adapters.dynamo.repository import DynamoRepository
from chalicelib.config import Settings
from chalicelib.domain.account import AccountChange, MarkerKind, TokenPurpose, WorkItem
from tests.integration.stored_samples import (
    ACTIVE,
    AT,
    EMAIL_DOMAIN,
    OSS_INVOICE,
    PAID_INVOICE,
    STORED_PKS,
    TRIAL,
    samples,
    trial_account,
)

GOLDEN: list[dict[str, Any]] = json.loads(
    (Path(__file__).parent / "stored_items_v1.json").read_text(encoding="utf-8")
)
AUDIT_SUFFIX = re.compile(r"^(AUDIT#[^#]+#)[0-9a-f]{8}$")


def normalized(items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The items in key order, the audit sort key's random suffix blanked."""
    out = []
    for item in items:
        sk = AUDIT_SUFFIX.sub(r"\1<random>", item["sk"]["S"])
        out.append({**item, "sk": {"S": sk}})
    return sorted(out, key=lambda i: (i["pk"]["S"], i["sk"]["S"]))


@pytest.fixture
def client(settings: Settings) -> Any:
    return aws.client(
        "dynamodb",
        region=settings.aws_region,
        endpoint_url=settings.aws_endpoint_url,
        connect_timeout=2,
        read_timeout=5,
        max_attempts=2,
    )


@pytest.fixture(autouse=True)
def cleared(client: Any, settings: Settings) -> Iterator[None]:
    """The sample keys are fixed and their items wait in queues (renewal, retry, outbox...):
    none before a test, none left after it for the other tests of the shared table."""
    clear(client, settings)
    yield
    clear(client, settings)


def stored(client: Any, settings: Settings) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    for pk in STORED_PKS:
        answer = client.query(
            TableName=settings.table_name,
            KeyConditionExpression="pk = :pk",
            ExpressionAttributeValues={":pk": {"S": pk}},
            ConsistentRead=True,
        )
        items.extend(answer["Items"])
    return items


def clear(client: Any, settings: Settings) -> None:
    for item in stored(client, settings):
        client.delete_item(TableName=settings.table_name, Key={"pk": item["pk"], "sk": item["sk"]})


def without_additions(items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The items without what was added since v1 (additive: an item without it still loads,
    see the test below): the email marker's copy of the account (one-read sign-in)."""
    return [
        {k: v for k, v in item.items() if k != "account"} if item["sk"]["S"] == "EMAIL" else item
        for item in items
    ]


def test_what_is_written_now_is_the_stored_format(client: Any, settings: Settings) -> None:
    repo = DynamoRepository(settings)
    repo.commit(AccountChange(account=trial_account(), create=True))
    repo.commit(samples())
    written = stored(client, settings)
    assert normalized(without_additions(written)) == normalized(GOLDEN)
    # the one addition: every email marker carries a copy of its account item, equal to it
    profiles = {i["pk"]["S"]: i for i in written if i["sk"]["S"] == "PROFILE"}
    markers = [i for i in written if i["sk"]["S"] == "EMAIL"]
    assert len(markers) == 2
    for marker in markers:
        copy = json.loads(marker["account"]["S"])
        assert copy == profiles[copy["pk"]["S"]]


def test_items_written_in_the_stored_format_load(client: Any, settings: Settings) -> None:
    for item in GOLDEN:
        client.put_item(TableName=settings.table_name, Item=item)
    repo = DynamoRepository(settings)
    change = samples()
    active = change.account
    assert active is not None
    (session,) = change.put_sessions
    (oss, _), (paid, _) = change.invoices
    (retrying, _), (settled, _) = change.charges
    pending_mail, failed_mail = change.mails
    ((request, _),) = change.requests
    (device,) = change.devices
    (token,) = change.tokens

    assert repo.get_account(ACTIVE) == active
    assert repo.get_account(TRIAL) == trial_account()
    assert repo.get_session(ACTIVE, session.token_hash) == (active, session)
    assert repo.list_sessions(ACTIVE) == [session]
    assert repo.get_invoice(ACTIVE, OSS_INVOICE) == oss
    assert repo.get_invoice(ACTIVE, PAID_INVOICE) == paid
    assert repo.list_invoices(ACTIVE, 10, None) == ([paid, oss], None)
    assert repo.get_charge(ACTIVE, OSS_INVOICE) == retrying
    assert repo.get_charge(ACTIVE, PAID_INVOICE) == settled
    assert repo.charge_context(ACTIVE, OSS_INVOICE) == (active, retrying, oss)
    assert repo.open_charges(ACTIVE) == [retrying]
    assert repo.payable(ACTIVE, "key-stored") == ([retrying], [oss], '{"ok": true}')
    assert repo.counter_value("invoice-2026-stored") == 1
    assert repo.get_marker(MarkerKind.CUSTOMER, "cus_stored") == ACTIVE
    assert repo.token_lookup(ACTIVE, [TokenPurpose.EMAIL_CHANGE]) == (
        active,
        {TokenPurpose.EMAIL_CHANGE: token},
    )
    lookup = repo.login_lookup(f"active@{EMAIL_DOMAIN}", [], (ACTIVE, device.token_hash))
    assert (lookup.account_id, lookup.device) == (ACTIVE, device)
    assert repo.get_mail(pending_mail.id) == pending_mail
    assert repo.get_mail(failed_mail.id) == failed_mail
    assert repo.get_reactivation_request(TRIAL, request.id) == request
    assert [e.details for e in repo.audit_events(ACTIVE)] == [{"plan": "pro"}]
    # and every queue the items are in
    assert (ACTIVE, OSS_INVOICE) in repo.due_charges(AT + timedelta(days=3), 1000)
    assert (ACTIVE, OSS_INVOICE) not in repo.due_charges(AT + timedelta(days=2), 1000)
    assert active in repo.due_renewals(AT + timedelta(days=31), 1000)
    assert trial_account() in repo.due_trials(AT + timedelta(days=11), 1000)
    assert WorkItem(ACTIVE, "vat", AT + timedelta(days=30), 1) in repo.due_work(
        "vat", AT + timedelta(days=30), 1000
    )
    assert pending_mail in repo.due_mail(AT + timedelta(minutes=5), 1000)
    assert failed_mail in repo.failed_mail(1000)
    assert request in repo.open_reactivation_requests(1000)
    assert oss in list(repo.oss_invoices("2026Q1"))
    assert paid not in list(repo.oss_invoices("2026Q1"))


def test_the_plan_attributes_are_stored_only_when_set(client: Any, settings: Settings) -> None:
    """Seats, a scheduled cancellation and the period start round-trip; an account without
    them writes none of them (so items written before them and after look the same)."""
    from msgspec.structs import replace

    repo = DynamoRepository(settings)
    plain = trial_account()
    repo.commit(AccountChange(account=plain, create=True))
    (item,) = [i for i in stored(client, settings) if i["sk"]["S"] == "PROFILE"]
    assert not {"seats", "cancel_at", "period_started_at", "plan_changes"} & set(item)
    clear(client, settings)
    start = AT + timedelta(days=1)
    full = replace(plain, seats=3, cancel_at=start + timedelta(days=30), period_started_at=start)
    repo.commit(AccountChange(account=full, create=True))
    assert repo.get_account(TRIAL) == full
    (item,) = [i for i in stored(client, settings) if i["sk"]["S"] == "PROFILE"]
    assert item["period_started_at"]["S"].startswith(start.strftime("%Y-%m-%dT%H:%M:%S"))
    clear(client, settings)
