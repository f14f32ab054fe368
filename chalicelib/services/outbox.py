"""The outbox relay: sends stored mail through the Mailer exactly once per mail.

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
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from chalicelib.config import Settings
from chalicelib.domain.account import OutboxMail
from chalicelib.logs import log_event
from chalicelib.services.mail import render_mail
from chalicelib.services.ports import Clock, MailDeliveryError, Mailer, OutboxRepository

RETRY_WINDOW = timedelta(days=3)
FIRST_BACKOFF = timedelta(seconds=30)
MAX_BACKOFF = timedelta(hours=1)
DELAYED_AFTER = timedelta(hours=1)


def backoff(attempts: int) -> timedelta:
    """The wait after the ``attempts``-th consecutive failure (1-based), capped."""
    doublings: int = min(max(attempts - 1, 0), 16)
    return min(MAX_BACKOFF, FIRST_BACKOFF * (1 << doublings))


@dataclass
class RelayReport:
    sent: int = 0
    retried: int = 0
    failed: int = 0
    skipped: int = 0
    delayed: int = 0


@dataclass
class RequeueReport:
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

    def run(self, limit: int = 500) -> RelayReport:
        """Send every due mail (up to ``limit``)."""
        report = RelayReport()
        now = self._clock.now()
        for due in self._outbox.due_mail(now, limit):
            lease_until = now + timedelta(seconds=self._settings.outbox_lease_seconds)
            mail = self._outbox.claim_mail(due.id, now, lease_until)
            if mail is None:
                report.skipped += 1
                continue
            try:
                subject, body = render_mail(mail)
            except (KeyError, IndexError, ValueError) as error:  # a bad mail must not block others
                self._outbox.mark_mail_failed(mail, f"render: {type(error).__name__}")
                log_event("mail.failed", mail_id=mail.id, template=mail.template, reason="render")
                report.failed += 1
                continue
            try:
                provider_id = self._mailer.send(mail.to, subject, body)
            except MailDeliveryError as error:
                self._failed_attempt(mail, error, now, report)
                continue
            self._outbox.mark_mail_sent(mail, self._clock.now(), provider_id)
            log_event("mail.sent", mail_id=mail.id, template=mail.template)
            report.sent += 1
        return report

    def _failed_attempt(
        self, mail: OutboxMail, error: MailDeliveryError, now: datetime, report: RelayReport
    ) -> None:
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
            return
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
        return report
