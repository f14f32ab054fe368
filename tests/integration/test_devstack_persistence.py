"""``devstack/persistence.py`` over the session's embedded servers: what is saved comes back,
and localstripe's event log is cut to the newest events as the store is saved."""

from __future__ import annotations

import json
import pickle
import uuid
from typing import Any

from chalicelib.config import Settings
from devstack.persistence import (
    KEPT_STRIPE_EVENTS,
    dynamodb_restore,
    dynamodb_snapshot,
    ses_snapshot,
    stripe_snapshot,
)


def test_a_dynamodb_snapshot_restores_what_it_saved(settings: Settings) -> None:
    from chalicelib.adapters.dynamo.repository import DynamoRepository
    from chalicelib.domain.account import AccountChange
    from tests.integration.test_embedded_dynamodb import new_account

    repo = DynamoRepository(settings)
    account = new_account()
    repo.commit(AccountChange(account=account, create=True))
    snapshot = json.loads(json.dumps(dynamodb_snapshot()))  # as written to the file
    saved = [
        item
        for regions in snapshot.values()
        for tables in regions.values()
        for item in tables.get(settings.table_name, [])
        if item["pk"]["S"] == f"ACCOUNT#{account.id}"
    ]
    assert len(saved) == 1
    repo.commit(
        AccountChange(account=account.evolve(name="Changed"), expected_version=account.version)
    )
    assert dynamodb_restore(snapshot) >= 1
    assert repo.get_account(account.id) == account  # the saved state is back


def test_a_stored_pdf_survives_the_snapshot_byte_for_byte(settings: Settings) -> None:
    """Binary attributes (a stored PDF's bytes) go through the JSON file as base64."""
    from datetime import UTC, datetime

    from chalicelib.adapters.dynamo.repository import DynamoRepository
    from chalicelib.domain.documents import DocumentKind, DocumentRef, StoredDocument

    repo = DynamoRepository(settings)
    ref = DocumentRef(f"acc-{uuid.uuid4().hex[:8]}", DocumentKind.INVOICE, "in_saved")
    content = bytes(range(256)) * 4  # every byte value, none of it text
    at = datetime(2026, 12, 1, 9, tzinfo=UTC)
    assert repo.store_document(StoredDocument(ref, "fr", 1, content, at))
    snapshot = json.loads(json.dumps(dynamodb_snapshot()))  # as written to the file
    assert repo.store_document(StoredDocument(ref, "fr", 2, b"%PDF newer", at))
    assert dynamodb_restore(snapshot) >= 1
    restored = repo.stored_document(ref, "fr")
    assert restored is not None and (restored.content, restored.source_version) == (content, 1)


def test_sent_mail_is_in_the_snapshot(settings: Settings) -> None:
    from chalicelib.adapters.ses import SesMailer

    to = f"saved-{uuid.uuid4().hex[:8]}@example.com"
    SesMailer(settings).send(to, "Saved", "body")
    messages = [m for regions in ses_snapshot().values() for ms in regions.values() for m in ms]
    assert any(m["destinations"]["ToAddresses"] == [to] for m in messages)


def test_old_stripe_events_are_dropped_when_the_store_is_saved(stack: Any) -> None:
    def add_events() -> int:
        from localstripe.resources import Customer, Event, store

        customer = Customer(email="events@example.com")
        for _ in range(KEPT_STRIPE_EVENTS + 50):
            Event("customer.updated", customer)
        return sum(1 for key in store if key.startswith("event:"))

    assert stack.stripe.call(add_events) > KEPT_STRIPE_EVENTS
    saved = pickle.loads(stack.stripe.call(stripe_snapshot))  # noqa: S301 - our own bytes
    assert sum(1 for key in saved if key.startswith("event:")) == KEPT_STRIPE_EVENTS

    def events_left() -> int:
        from localstripe.resources import store

        return sum(1 for key in store if key.startswith("event:"))

    assert stack.stripe.call(events_left) == KEPT_STRIPE_EVENTS
