"""The outbox relay: sends stored mail through the Mailer exactly once per mail.

Each due mail is claimed with a conditional write (a lease), sent, then marked sent.  A
temporary failure (SES throttling, outage) puts it back with exponential backoff; a permanent
one marks it failed (and alarms).  A crash between sending and marking leaves the lease to
expire, after which the mail would be sent again: that window is the one place "exactly once"
relies on the provider not having accepted it, and it is logged.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from chalicelib.config import Settings
from chalicelib.logs import log_event
from chalicelib.services.mail import render_mail
from chalicelib.services.ports import Clock, MailDeliveryError, Mailer, OutboxRepository

MAX_ATTEMPTS = 12


@dataclass
class RelayReport:
    sent: int = 0
    retried: int = 0
    failed: int = 0
    skipped: int = 0


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
                attempts = mail.attempts + 1
                if error.permanent or attempts >= MAX_ATTEMPTS:
                    self._outbox.mark_mail_failed(mail, error.reason)
                    log_event(
                        "mail.failed", mail_id=mail.id, template=mail.template, reason=error.reason
                    )
                    report.failed += 1
                else:
                    delay = min(3600, 30 * 2**mail.attempts)
                    self._outbox.mark_mail_retry(mail, now + timedelta(seconds=delay), error.reason)
                    log_event(
                        "mail.retry",
                        mail_id=mail.id,
                        template=mail.template,
                        reason=error.reason,
                        delay=delay,
                    )
                    report.retried += 1
                continue
            self._outbox.mark_mail_sent(mail, self._clock.now(), provider_id)
            log_event("mail.sent", mail_id=mail.id, template=mail.template)
            report.sent += 1
        return report
