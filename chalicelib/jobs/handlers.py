"""Lambda entry points for the schedules and the table's stream (thin: they call
:mod:`chalicelib.jobs.run`)."""

from __future__ import annotations

from typing import Any


def outbox(event: Any) -> dict[str, int]:
    from chalicelib.jobs.run import run_job

    return run_job("outbox")


def outbox_stream(event: Any) -> dict[str, int]:
    """The table's DynamoDB stream (a batch of records): relay the new outbox mail in it.

    The event source mapping passes new outbox items only (``NEW_MAIL_FILTER``); the
    handler checks each record again, so any other record changes nothing."""
    from chalicelib.jobs.run import new_mail_ids, relay_new_mail

    return relay_new_mail(new_mail_ids(event))


def documents_stream(event: Any) -> dict[str, int]:
    """The table's DynamoDB stream: draw and store the PDFs of the invoices and credit notes
    written (``DOCUMENT_FILTER``; the handler checks each record again)."""
    from chalicelib.jobs.run import changed_documents, render_documents

    return render_documents(changed_documents(event))


def stream_arn_placeholder(table_name: str, region: str) -> str:
    """The ARN ``app.py`` registers the stream handler with; the template replaces it with
    the table's ``StreamArn`` (``infra.build_resources``)."""
    return f"arn:aws:dynamodb:{region}:000000000000:table/{table_name}/stream/from-template"


def vat_recheck(event: Any) -> dict[str, int]:
    from chalicelib.jobs.run import run_job

    return run_job("vat-recheck")


def renewals(event: Any) -> dict[str, int]:
    from chalicelib.jobs.run import run_job

    return run_job("renewals")


def retry_pending(event: Any) -> dict[str, int]:
    from chalicelib.jobs.run import run_job

    return run_job("retry-pending")


def trials(event: Any) -> dict[str, int]:
    from chalicelib.jobs.run import run_job

    return run_job("trials")


def reminders(event: Any) -> dict[str, int]:
    from chalicelib.jobs.run import run_job

    return run_job("reminders")


def reconcile_refunds(event: Any) -> dict[str, int]:
    from chalicelib.jobs.run import run_job

    return run_job("reconcile-refunds")


def retry_consumer(event: Any) -> dict[str, list[dict[str, str]]]:
    """SQS batch: report partial batch failures (``batchItemFailures``)."""
    from chalicelib.jobs.run import consume_retry_messages

    failed = consume_retry_messages([(str(r.to_dict().get("messageId")), r.body) for r in event])
    return {"batchItemFailures": [{"itemIdentifier": i} for i in failed]}
