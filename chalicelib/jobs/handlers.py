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
