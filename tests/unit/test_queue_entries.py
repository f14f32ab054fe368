"""Queue membership is a domain rule (``queue_entry`` / ``oss_quarter``): the DynamoDB mapper
writes it into the ``work_queue`` keys and the in-memory repository reads it with ``due_in``."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from msgspec.structs import replace

from chalicelib.adapters.memory import due_in
from chalicelib.domain.account import (
    MAIL_FAILED_QUEUE,
    OUTBOX_QUEUE,
    MailStatus,
    OutboxMail,
    WorkItem,
)
from chalicelib.domain.billing import RETRY_QUEUE, Charge, ChargeState, InvoiceStatus
from chalicelib.domain.lifecycle import REACTIVATION_QUEUE, ReactivationRequest, RequestStatus
from tests.integration.stored_samples import ACTIVE, invoice

NOW = datetime(2026, 11, 26, 10, 0, tzinfo=UTC)


def test_a_mail_waits_in_the_outbox_while_pending_and_in_mail_failed_once_failed() -> None:
    mail = OutboxMail("m1", "a@example.com", "x", "en", NOW, next_attempt_at=NOW)
    assert mail.queue_entry() == (OUTBOX_QUEUE, NOW)
    later = NOW + timedelta(minutes=5)
    assert replace(mail, next_attempt_at=later).queue_entry() == (OUTBOX_QUEUE, later)
    assert replace(mail, next_attempt_at=None).queue_entry() is None
    failed = replace(mail, status=MailStatus.FAILED, next_attempt_at=later)
    assert failed.queue_entry() == (MAIL_FAILED_QUEUE, NOW)  # by creation time
    assert replace(mail, status=MailStatus.SENT).queue_entry() is None
    assert replace(mail, status=MailStatus.DISCARDED).queue_entry() is None


def test_only_an_oss_sale_is_in_its_quarter_s_ledger_and_only_open_is_payable() -> None:
    oss = invoice("in_1", InvoiceStatus.OPEN, oss=True)
    domestic = invoice("in_2", InvoiceStatus.OPEN, oss=False)
    assert oss.oss_quarter() == "2026Q1" and domestic.oss_quarter() is None
    assert replace(oss, tax_facts=None).oss_quarter() is None  # issued before tax facts
    assert oss.is_open and not replace(oss, status=InvoiceStatus.PAID).is_open
    assert not replace(oss, status=InvoiceStatus.VOID).is_open


def test_charges_requests_and_work_name_their_queue() -> None:
    charge = Charge("c", ACTIVE, "c", 100, "EUR", ChargeState.PENDING, NOW, next_retry_at=NOW)
    assert charge.queue_entry() == (RETRY_QUEUE, NOW)
    assert replace(charge, state=ChargeState.PAID).queue_entry() is None
    request = ReactivationRequest("r", ACTIVE, "a@example.com", NOW)
    assert request.queue_entry() == (REACTIVATION_QUEUE, NOW)
    assert replace(request, status=RequestStatus.REJECTED).queue_entry() is None
    assert WorkItem(ACTIVE, "vat", NOW).queue_entry() == ("vat", NOW)
    assert WorkItem(ACTIVE, "vat", None).queue_entry() is None


def test_due_in_reads_one_queue_in_index_order_up_to_the_limit() -> None:
    entries = [
        ((OUTBOX_QUEUE, NOW + timedelta(minutes=2)), ("b",), "late"),
        ((OUTBOX_QUEUE, NOW), ("b",), "first-b"),
        ((OUTBOX_QUEUE, NOW), ("a",), "first-a"),
        ((MAIL_FAILED_QUEUE, NOW - timedelta(days=1)), ("c",), "failed"),
        (None, ("d",), "sent"),
    ]
    assert due_in(OUTBOX_QUEUE, NOW, 10, entries) == ["first-a", "first-b"]
    assert due_in(OUTBOX_QUEUE, NOW, 1, entries) == ["first-a"]
    assert due_in(OUTBOX_QUEUE, None, 10, entries) == ["first-a", "first-b", "late"]
    assert due_in(MAIL_FAILED_QUEUE, None, 10, entries) == ["failed"]


def test_a_renewal_is_due_unless_the_scheduled_cancellation_comes_first() -> None:
    from chalicelib.domain.account import AccountStatus
    from tests.invoice_samples import french_consumer

    due = replace(
        french_consumer(), status=AccountStatus.ACTIVE, next_renewal_at=NOW, cancel_at=None
    )
    assert due.renewal_due(NOW) and not due.renewal_due(NOW - timedelta(seconds=1))
    assert not replace(due, status=AccountStatus.PAST_DUE).renewal_due(NOW)
    ending = replace(due, cancel_at=NOW)
    assert not ending.renewal_due(NOW) and ending.cancellation_due(NOW)
    assert replace(due, cancel_at=NOW + timedelta(days=1)).renewal_due(NOW)
    assert not replace(due, cancel_at=NOW + timedelta(seconds=1)).cancellation_due(NOW)
    assert not replace(ending, status=AccountStatus.CANCELLED).cancellation_due(NOW)
