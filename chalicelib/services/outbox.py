"""The outbox relay: sends stored mail through the Mailer exactly once per mail.

Two ways in: :meth:`OutboxRelay.relay`, from the table's DynamoDB stream (a new outbox item
is sent within a second or so of its commit; ``make run`` polls the embedded stream the same
way), and :meth:`OutboxRelay.run`, the scheduled sweeper for what the stream does not cover:
retries, requeued mail, a record lost.  The sweeper reads one wake marker (the earliest time
something may be due) and makes no index Query while nothing is; whoever leaves work for
later (a retry, a requeue, a claim refused to a mail still pending) lowers that marker.

Each due mail is claimed with a conditional write (a lease), sent, then marked sent.  A crash
between sending and marking leaves the lease to expire, after which the mail would be sent
again: that window is the one place "exactly once" relies on the provider not having accepted
it, and it is logged.

Failures (EM2, EM3):

* a permanent one (the Mailer says so: a rejected address, an unverified sender) marks the mail
  failed at once (``mail.failed``, alarmed);
* a temporary one (throttling, an outage, a timeout) is retried with exponential backoff
  (30 s, doubling, capped at :data:`MAX_BACKOFF`) for :data:`RETRY_WINDOW` (3 days) counted
  from the mail's creation -- not a number of attempts, so an outage of a day loses nothing.
  The last attempt is at the window's end; only if that fails too is the mail marked failed;
* once a mail has been failing for :data:`DELAYED_AFTER` (1 h), each further temporary failure
  also logs ``mail.delayed`` (metric ``MailDelayed``, alarmed), hours to days before the window
  closes.

Failed mail stays in an index; :meth:`OutboxRelay.requeue_failed` (``python -m chalicelib.cli
requeue-failed-mail``) puts it back in the queue with a fresh window.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from msgspec import Struct, field

from chalicelib.config import Settings
from chalicelib.domain.account import MailStatus, OutboxMail
from chalicelib.logs import log_event
from chalicelib.services.mail import render_mail
from chalicelib.services.ports import Clock, MailDeliveryError, Mailer, OutboxRepository

RETRY_WINDOW = timedelta(days=3)
FIRST_BACKOFF = timedelta(seconds=30)
MAX_BACKOFF = timedelta(hours=1)
DELAYED_AFTER = timedelta(hours=1)
SWEEP_AT_LEAST_EVERY = timedelta(days=1)


def backoff(attempts: int) -> timedelta:
    """The wait after the ``attempts``-th consecutive failure (1-based), capped."""
    doublings: int = min(max(attempts - 1, 0), 16)
    return min(MAX_BACKOFF, FIRST_BACKOFF * (1 << doublings))


class RelayReport(Struct):
    sent: int = 0
    retried: int = 0
    failed: int = 0
    skipped: int = 0
    delayed: int = 0
    idle: int = 0  # 1: the sweeper's wake marker said nothing is due (no Query made)


class RequeueReport(Struct):
    requeued: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)  # not failed (sent, pending) or unknown


class OutboxRelay:
    def __init__(
        self, outbox: OutboxRepository, mailer: Mailer, clock: Clock, settings: Settings
    ) -> None:
        self._outbox = outbox
        self._mailer = mailer
        self._clock = clock
        self._settings = settings

    def relay(self, mail_ids: Sequence[str]) -> RelayReport:
        """Send these new mails now (the table's stream names them as they are committed).

        Each is claimed first, so a record delivered twice, or a mail the sweeper took,
        sends nothing more.  What is left for later (a retry, a mail leased by another run)
        lowers the sweeper's wake marker: the schedule picks it up."""
        report = RelayReport()
        now = self._clock.now()
        for mail_id in dict.fromkeys(mail_ids):
            later = self._send_one(mail_id, now, report)
            if later is not None:
                self._lower_wake(later)
        return report

    def run(self, limit: int = 500) -> RelayReport:
        """The sweeper (the schedule): send every due mail (up to ``limit``): retries, mail
        put back by an operator, and any mail the stream did not relay.

        One GetItem of the wake marker when nothing is due (no index Query); otherwise the
        queue's Queries, which also give the next due time, and a compare-and-set of the
        marker to it (conditional on its version: a lowering during the sweep wins)."""
        report = RelayReport()
        now = self._clock.now()
        stream = self._settings.outbox_stream  # without a stream, every run looks
        wake = self._outbox.mail_wake() if stream else None
        if wake is not None and (wake.at is None or wake.at > now):
            report.idle = 1
            return report
        due, upcoming = self._outbox.due_mail_and_next(now, limit)
        if len(due) >= limit:
            upcoming = now  # more is due than one run takes: the next run goes on
        for mail in due:
            later = self._send_one(mail.id, now, report)
            if later is not None:
                upcoming = later if upcoming is None else min(upcoming, later)
        # at least one sweep a day whatever the marker says (a stream record lost for good)
        upcoming = min(upcoming or now + SWEEP_AT_LEAST_EVERY, now + SWEEP_AT_LEAST_EVERY)
        if stream:
            self._outbox.advance_mail_wake(upcoming, wake.version if wake else 0)
        return report

    def sweep_soon(self) -> None:
        """Make the next sweep look at the queue (after a restore, a deploy, a requeue)."""
        self._lower_wake(self._clock.now())

    def _lower_wake(self, at: datetime) -> None:
        if self._settings.outbox_stream:  # the marker is only read where a stream relays
            self._outbox.lower_mail_wake(at)

    def _send_one(self, mail_id: str, now: datetime, report: RelayReport) -> datetime | None:
        """Claim, render, send and mark one mail; when it must be looked at again (a retry,
        or a claim refused while it may still be pending), the time to do so."""
        lease_until = now + timedelta(seconds=self._settings.outbox_lease_seconds)
        mail = self._outbox.claim_mail(mail_id, now, lease_until)
        if mail is None:
            report.skipped += 1
            # sent or failed already (a duplicate), or leased by another run that may crash,
            # or not due yet: look again once a lease would have run out
            return None if self._settled(mail_id) else lease_until
        try:
            subject, body = render_mail(mail)
        except (KeyError, IndexError, ValueError) as error:  # a bad mail must not block others
            self._outbox.mark_mail_failed(mail, f"render: {type(error).__name__}")
            log_event("mail.failed", mail_id=mail.id, template=mail.template, reason="render")
            report.failed += 1
            return None
        try:
            provider_id = self._mailer.send(mail.to, subject, body)
        except MailDeliveryError as error:
            return self._failed_attempt(mail, error, now, report)
        self._outbox.mark_mail_sent(mail, self._clock.now(), provider_id)
        log_event("mail.sent", mail_id=mail.id, template=mail.template)
        report.sent += 1
        return None

    def _settled(self, mail_id: str) -> bool:
        """The mail is sent or failed (or unknown): nothing left to do for it."""
        mail = self._outbox.get_mail(mail_id)
        return mail is None or mail.status is not MailStatus.PENDING

    def _failed_attempt(
        self, mail: OutboxMail, error: MailDeliveryError, now: datetime, report: RelayReport
    ) -> datetime | None:
        """Mark the failure; the next attempt's time (None: failed for good)."""
        started = mail.retry_window_start
        closes = started + RETRY_WINDOW
        if error.permanent or now >= closes:
            reason = error.reason if error.permanent else f"{error.reason} (retried 3 days)"
            self._outbox.mark_mail_failed(mail, reason)
            log_event(
                "mail.failed",
                mail_id=mail.id,
                template=mail.template,
                reason=error.reason,
                permanent=error.permanent,
            )
            report.failed += 1
            return None
        next_attempt = min(now + backoff(mail.attempts + 1), closes)
        self._outbox.mark_mail_retry(mail, next_attempt, error.reason)
        delay = int((next_attempt - now).total_seconds())
        log_event(
            "mail.retry", mail_id=mail.id, template=mail.template, reason=error.reason, delay=delay
        )
        report.retried += 1
        failing_for = now - started
        if failing_for >= DELAYED_AFTER:
            log_event(
                "mail.delayed",
                mail_id=mail.id,
                template=mail.template,
                reason=error.reason,
                failing_seconds=int(failing_for.total_seconds()),
                gives_up_at=closes.isoformat(),
            )
            report.delayed += 1
        return next_attempt

    def requeue_failed(self, mail_ids: Sequence[str] = (), limit: int = 1000) -> RequeueReport:
        """Put failed mail back in the queue (the named ones, else every failed one, up to
        ``limit``); the relay sends it on its next run."""
        report = RequeueReport()
        now = self._clock.now()
        ids = list(mail_ids) or [m.id for m in self._outbox.failed_mail(limit)]
        for mail_id in ids:
            mail = self._outbox.requeue_mail(mail_id, now)
            if mail is None:
                report.skipped.append(mail_id)
                continue
            log_event("mail.requeued", mail_id=mail.id, template=mail.template)
            report.requeued.append(mail.id)
        if report.requeued:
            self._lower_wake(now)
        return report
