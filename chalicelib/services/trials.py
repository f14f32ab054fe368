"""The ``trials`` job: tell a trial it ends soon, then end it.

A trial account waits in the sparse, sharded ``trial`` work queue (its item carries the queue
keys while its status is ``trial``; ``Account.trial_due_at`` says when it is next due: three
days before ``trial_ends_at`` for the notice, then ``trial_ends_at`` for the end).  The job
reads the due accounts from that index (no Scan), re-reads each one (the index is eventually
consistent) and asks the account what to do (``Account.trial_step``):

* **notice**: the "your trial ends on <date>" mail, and ``trial_notice_for`` set to the trial
  end it was sent for, which moves the account's queue key to the end date;
* **expire**: status ``trial_expired`` (the account leaves the queue), its mail and an audit
  event.  An account whose notice never went out (a trial shorter than three days, a job that
  did not run) gets only this mail.

Each step is one conditional commit on the account's version with its outbox mail, so a step
happens once and its mail is sent once (JB1): a second run, or two runs at once, find nothing
left to do or lose the condition and skip.
"""

from __future__ import annotations

from datetime import datetime

from msgspec import Struct

from chalicelib.config import Settings
from chalicelib.domain.account import (
    Account,
    AccountChange,
    AccountStatus,
    AuditEvent,
    OutboxMail,
    TrialStep,
)
from chalicelib.domain.errors import ConcurrentUpdate
from chalicelib.domain.ids import utc_iso
from chalicelib.i18n import format_date_long
from chalicelib.logs import log_event
from chalicelib.services.mail import new_mail
from chalicelib.services.ports import Clock, TrialRepository

SUBSCRIBE_PATH = "/#/account"  # the console's "My account" view, where billing and plans are


class TrialReport(Struct):
    notified: int = 0
    expired: int = 0
    skipped: int = 0


class TrialService:
    """Runs the ``trials`` job (see the module docstring)."""

    def __init__(self, repo: TrialRepository, clock: Clock, settings: Settings) -> None:
        self._repo = repo
        self._clock = clock
        self._settings = settings

    def run(self, limit: int = 1000) -> TrialReport:
        """Mail the notices and end the trials that are due now."""
        report = TrialReport()
        now = self._clock.now()
        for stale in self._repo.due_trials(now, limit):
            account = self._repo.get_account(stale.id)
            step = account.trial_step(now) if account is not None else None
            if account is None or step is None:
                report.skipped += 1  # subscribed, cancelled or already done since indexed
                continue
            try:
                if step is TrialStep.NOTICE:
                    self._notify(account, now)
                    report.notified += 1
                else:
                    self._expire(account, now)
                    report.expired += 1
            except ConcurrentUpdate:
                report.skipped += 1  # changed meanwhile: the next run sees the new state
        return report

    def _notify(self, account: Account, now: datetime) -> None:
        updated = account.evolve(trial_notice_for=account.trial_ends_at)
        self._repo.commit(
            AccountChange(
                account=updated,
                expected_version=account.version,
                mails=(self._mail(account, "trial_ending", now),),
            )
        )
        log_event("trial.notice", account_id=account.id)

    def _expire(self, account: Account, now: datetime) -> None:
        assert account.trial_ends_at is not None
        updated = account.evolve(status=AccountStatus.TRIAL_EXPIRED)
        self._repo.commit(
            AccountChange(
                account=updated,
                expected_version=account.version,
                mails=(self._mail(account, "trial_expired", now),),
                audit=(
                    AuditEvent(
                        account.id,
                        now,
                        "trial_expired",
                        actor="system",
                        details={"trial_ends_at": utc_iso(account.trial_ends_at)},
                    ),
                ),
            )
        )
        log_event("trial.expired", account_id=account.id)

    def _mail(self, account: Account, template: str, now: datetime) -> OutboxMail:
        """``trial_ending`` or ``trial_expired`` for ``account``, in its language."""
        assert account.trial_ends_at is not None
        return new_mail(
            to=account.email,
            template=template,
            locale=account.locale,
            now=now,
            account_id=account.id,
            params={
                "name": account.name,
                "date": format_date_long(account.trial_ends_at, account.locale),
                "subscribe_url": f"{self._settings.console_url}{SUBSCRIBE_PATH}",
            },
        )
