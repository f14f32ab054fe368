"""Lambda entry points for the schedules (thin: they call :mod:`chalicelib.jobs.run`)."""

from __future__ import annotations

from typing import Any


def outbox(event: Any) -> dict[str, int]:
    from chalicelib.jobs.run import run_job

    return run_job("outbox")


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


def retry_consumer(event: Any) -> dict[str, list[dict[str, str]]]:
    """SQS batch: report partial batch failures (``batchItemFailures``)."""
    from chalicelib.jobs.run import consume_retry_messages

    failed = consume_retry_messages([(str(r.to_dict().get("messageId")), r.body) for r in event])
    return {"batchItemFailures": [{"itemIdentifier": i} for i in failed]}
