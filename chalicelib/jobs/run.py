"""Run a job by name over the process container (optionally at a given time).

Without ``now`` a job reads the container's clock: on the local stage that is the shared
test clock, so a time frozen with ``PUT /_test/clock`` applies to the scheduler's and the
CLI's runs too; ``now`` pins one run (``run-job --now``) whatever the test clock says.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from msgspec.structs import asdict

from chalicelib.adapters.dynamo.keys import document_ref_of
from chalicelib.adapters.sqs import decode_message
from chalicelib.domain.documents import DocumentRef
from chalicelib.logs import log_error, log_event
from chalicelib.wiring import Container, container

JOBS = (
    "outbox",
    "renewals",
    "retry-pending",
    "vat-recheck",
    "trials",
    "reminders",
    "reconcile-refunds",
)


def run_job(name: str, now: datetime | None = None, box: Container | None = None) -> dict[str, int]:
    """Run job ``name``; ``now`` pins the clock for this run (``run-job --now``)."""
    box = box or container()
    if now is not None:
        box = box.with_clock(now)
    if name == "outbox":
        report = asdict(box.outbox_relay.run())
    elif name == "retry-pending":
        report = retry_pending(box)
    elif name == "vat-recheck":
        report = asdict(box.vat.run_rechecks())
    elif name == "renewals":
        cancelled = box.lifecycle.end_scheduled_cancellations()  # cancelled, never renewed
        renewals = box.billing.run_renewals()
        report = {k: v for k, v in asdict(renewals).items() if k != "details"}
        report["cancelled"] = cancelled
    elif name == "trials":
        report = asdict(box.trials.run())
    elif name == "reminders":
        report = asdict(box.reminders.run())
    elif name == "reconcile-refunds":
        report = box.credit_notes.reconcile_refunds()
    else:
        raise ValueError(f"unknown job {name!r}; jobs: {', '.join(JOBS)}")
    log_event("job.done", job=name, **report)
    return report


NEW_MAIL_FILTER: dict[str, Any] = {
    "eventName": ["INSERT"],
    "dynamodb": {"NewImage": {"kind": {"S": ["outbox"]}, "status": {"S": ["pending"]}}},
}
"""The stream records the relay wants (the event source mapping's filter pattern): a new
outbox item, pending.  Retries, requeues and every other item are the sweeper's."""


def new_mail_ids(records: Iterable[Any]) -> list[str]:
    """The ids of the new pending outbox items among stream records (Chalice's
    ``DynamoDBRecord``: ``event_name``, ``new_image``), checked as ``NEW_MAIL_FILTER`` says."""
    ids = []
    for record in records:
        image = record.new_image or {}
        if (
            record.event_name == "INSERT"
            and image.get("kind", {}).get("S") == "outbox"
            and image.get("status", {}).get("S") == "pending"
        ):
            ids.append(str(image.get("pk", {}).get("S", "")).removeprefix("OUTBOX#"))
    return [i for i in ids if i]


def relay_new_mail(mail_ids: list[str], box: Container | None = None) -> dict[str, int]:
    """Send new mail at once (the stream handler); duplicates and retries change nothing."""
    box = box or container()
    if not mail_ids:
        return {}
    report = asdict(box.outbox_relay.relay(mail_ids))
    log_event("job.done", job="outbox-stream", **report)
    return report


DOCUMENT_FILTER: dict[str, Any] = {
    "eventName": ["INSERT", "MODIFY"],
    "dynamodb": {"NewImage": {"kind": {"S": ["invoice", "credit_note"]}}},
}
"""The stream records the PDF renderer wants: an invoice or a credit note written (issued, or
changed: paid, a failed attempt recorded, credited, a refund settled)."""


def changed_documents(records: Iterable[Any]) -> list[DocumentRef]:
    """The invoices and credit notes among stream records (Chalice's ``DynamoDBRecord``),
    checked as ``DOCUMENT_FILTER`` says."""
    refs = []
    for record in records:
        image = record.new_image or {}
        if record.event_name not in ("INSERT", "MODIFY") or image.get("kind", {}).get("S") not in (
            "invoice",
            "credit_note",
        ):
            continue
        ref = document_ref_of(
            str(image.get("pk", {}).get("S", "")), str(image.get("sk", {}).get("S", ""))
        )
        if ref is not None:
            refs.append(ref)
    return refs


def render_documents(refs: list[DocumentRef], box: Container | None = None) -> dict[str, int]:
    """Draw and store the PDFs of the documents a stream batch wrote (the stream handler);
    duplicates and retries draw nothing again."""
    box = box or container()
    if not refs:
        return {}
    report = box.documents.prerender(refs)
    log_event("job.done", job="documents-stream", **report)
    return report


def retry_pending(box: Container) -> dict[str, int]:
    """Fan the due charges out to the container's charge queue (SQS in AWS, an in-process
    worker pool locally)."""
    return box.dunning.enqueue_due(box.charge_queue)


def consume_retry_messages(
    bodies: list[tuple[str, str]], box: Container | None = None
) -> list[str]:
    """The SQS consumer: process each ``(message id, body)``; the ids to report as failed."""
    box = box or container()
    failed = []
    for message_id, body in bodies:
        try:
            outcome = box.dunning.process(*decode_message(body))
        except Exception:  # a poison message goes to the dead-letter queue after retries
            log_error("retry.message_failed", message_id=message_id)
            failed.append(message_id)
            continue
        if outcome == "unavailable":
            failed.append(message_id)  # redelivered after the visibility timeout
    return failed
