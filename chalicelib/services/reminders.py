"""The ``reminders`` job: what a customer is told before a renewal, each mail once.

* **renewal notice** (``renewal_notice``): yearly plans, ``RENEWAL_NOTICE_DAYS`` (default 7)
  before the renewal, with its date, the amount with VAT and the card it goes to: the amount
  the renewal will charge, so for the plan and seats of a change scheduled for it;
* **card expiring** (``card_expiring``): the card on file will have expired by the next
  renewal (it is valid through the last day of its expiry month), 30 days before the renewal.
  That is when it matters: a yearly customer whose card expires in March, ten months before a
  January renewal, is told in December, when the new card is at hand, not in March; nothing is
  charged to the card in between.  A card that expires after the renewal gets no notice for
  this renewal (the next period's check finds it).

Neither is mailed while a cancellation is scheduled at or before the renewal (there will be
none); withdrawn (``POST /account/resume``), they are due again.

Receipts are not this job's: every successful payment mails ``payment_receipt`` in the same
commit that settles it (``services/settlement.py``), once, whichever path settled it.

Where they come from: an active account waits in the sparse, sharded ``renewal`` queue of the
``work_queue`` index, due at its first pending reminder or its renewal, whichever is first
(``Account.queue_entry``).  The job reads that queue (one Query per shard, no Scan), skips from
the index copy the accounts that only wait for their renewal (the ``renewals`` job's), re-reads
the others (the index is eventually consistent) and asks the account what is due
(``Account.reminders_due``).  Each account's reminders and their marks
(``renewal_notice_for`` / ``card_notice_for``: the renewal date they were mailed for) are one
conditional commit on its version with the outbox mails: a second run, a run racing another, or
a run after a crash find the mark set (or lose the condition) and mail nothing twice (JB1).
Once the renewal is due its reminders are moot; the next renewal date gets its own.
"""

from __future__ import annotations

from datetime import datetime

from msgspec import Struct

from chalicelib.config import Plan, Settings
from chalicelib.domain.account import Account, AccountChange, OutboxMail, Reminder
from chalicelib.domain.billing import ChargePurpose
from chalicelib.domain.errors import ConcurrentUpdate
from chalicelib.i18n import format_date_long, format_money
from chalicelib.i18n.invoices import plan_label
from chalicelib.logs import log_event
from chalicelib.services.billing import BillingService
from chalicelib.services.mail import BILLING_PATH, new_mail
from chalicelib.services.ports import BillingRepository, Clock


class ReminderReport(Struct):
    renewal_notices: int = 0
    card_notices: int = 0
    skipped: int = 0


class ReminderService:
    """Runs the ``reminders`` job (see the module docstring)."""

    def __init__(
        self,
        repo: BillingRepository,
        billing: BillingService,
        clock: Clock,
        settings: Settings,
    ) -> None:
        self._repo = repo
        self._billing = billing
        self._clock = clock
        self._settings = settings

    def run(self, limit: int = 1000) -> ReminderReport:
        """Mail every reminder that is due now."""
        report = ReminderReport()
        now = self._clock.now()
        lead = self._settings.renewal_notice_lead
        for stale in self._repo.due_renewals(now, limit):
            if not stale.reminders_due(now, lead(stale.plan)):
                continue  # waiting for its renewal (or done since indexed): not this job's
            account = self._repo.get_account(stale.id)
            due = account.reminders_due(now, lead(account.plan)) if account else ()
            if account is None or not due:
                report.skipped += 1
                continue
            try:
                self._remind(account, due, now)
            except ConcurrentUpdate:
                report.skipped += 1  # changed meanwhile: the next run sees the new state
                continue
            report.renewal_notices += Reminder.RENEWAL in due
            report.card_notices += Reminder.CARD in due
        return report

    def _remind(self, account: Account, due: tuple[Reminder, ...], now: datetime) -> None:
        renewal = account.next_renewal_at
        # what the renewal will bill: a downgrade scheduled for it takes effect then
        scheduled = account.scheduled_change
        plan = self._settings.plan(scheduled.plan if scheduled else account.plan or "")
        seats = scheduled.seats if scheduled else account.seats
        assert renewal is not None
        mails: list[OutboxMail] = []
        marks: dict[str, datetime] = {}
        params = self._params(account, plan, seats, renewal, now) if plan is not None else None
        for reminder in due:
            if reminder is Reminder.RENEWAL:
                marks["renewal_notice_for"] = renewal
            else:
                marks["card_notice_for"] = renewal
            if params is not None:  # a plan no longer offered: marked, nothing to say
                mails.append(self._mail(account, reminder, params, now))
        self._repo.commit(
            AccountChange(
                account=account.evolve(**marks),
                expected_version=account.version,
                mails=tuple(mails),
            )
        )
        log_event("reminders.sent", account_id=account.id, reminders=[r.value for r in due])

    def _params(
        self, account: Account, plan: Plan, seats: int, renewal: datetime, now: datetime
    ) -> dict[str, str]:
        # the amount is what the renewal would invoice today, built by the renewal's own code
        # (plan price times the seats, a scheduled change applied, VAT of the billing address),
        # never stored
        invoice, _ = self._billing.new_invoice(
            account, plan, renewal, now, 0, ChargePurpose.RENEWAL, seats=seats
        )
        card = account.card
        locale = account.locale
        return {
            "name": account.name,
            "plan": plan_label(plan.id, locale, plan.name),
            "date": format_date_long(renewal, locale),
            "amount": format_money(invoice.total, invoice.currency, locale),
            "card": f"{card.brand.title()} •••• {card.last4}" if card else "",
            "expiry": f"{card.exp_month:02d}/{card.exp_year}" if card else "",
            "console_url": f"{self._settings.console_url}{BILLING_PATH}",
        }

    @staticmethod
    def _mail(
        account: Account, reminder: Reminder, params: dict[str, str], now: datetime
    ) -> OutboxMail:
        return new_mail(
            to=account.email,
            template=reminder.value,
            locale=account.locale,
            now=now,
            account_id=account.id,
            params=params,
        )
