"""Run a job by name over the process container (optionally at a given time)."""

from __future__ import annotations

from dataclasses import asdict
from datetime import datetime

from chalicelib.logs import log_event
from chalicelib.wiring import Container, container

JOBS = ("outbox", "renewals", "vat-recheck")


def run_job(name: str, now: datetime | None = None, box: Container | None = None) -> dict[str, int]:
    """Run job ``name``; ``now`` pins the clock for this run (``run-job --now``)."""
    box = box or container()
    if now is not None:
        from chalicelib.adapters.clock import FixedClock
        from chalicelib.wiring import build_container

        box = build_container(
            box.settings,
            repo=box.repo,
            mailer=box.mailer,
            hasher=box.hasher,
            clock=FixedClock(now),
            gateway=box.payment_gateway,
            vat_checker=box.vat_checker,
        )
    if name == "outbox":
        report = asdict(box.outbox_relay.run())
    elif name == "vat-recheck":
        report = asdict(box.vat.run_rechecks())
    elif name == "renewals":
        renewals = box.billing.run_renewals()
        report = {k: v for k, v in asdict(renewals).items() if k != "details"}
    else:
        raise ValueError(f"unknown job {name!r}; jobs: {', '.join(JOBS)}")
    log_event("job.done", job=name, **report)
    return report
