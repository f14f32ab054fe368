"""Reminders: the yearly renewal notice and the card-expiry notice, each mailed once (the
``reminders`` job over the in-memory container), and one receipt per payment whichever path
settles it."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import pytest
from msgspec.structs import replace

from chalicelib.adapters.clock import FixedClock
from chalicelib.adapters.fake_payments import FakePaymentGateway
from chalicelib.adapters.memory import InMemoryRepository
from chalicelib.domain.account import CARD_NOTICE_DAYS, Account, AccountChange, Caller, Reminder
from chalicelib.domain.errors import ConcurrentUpdate, DependencyUnavailable
from chalicelib.domain.payments import CardSummary
from chalicelib.jobs.run import run_job
from chalicelib.services.mail import render_mail
from chalicelib.wiring import Container
from tests.helpers import forget_signup_mail

PASSWORD = "correct horse battery staple"
IP = "10.0.0.1"
NOTICE = timedelta(days=7)  # RENEWAL_NOTICE_DAYS' default


@pytest.fixture
def box(memory_box: Container) -> Container:
    return memory_box


def repo_of(box: Container) -> InMemoryRepository:
    assert isinstance(box.repo, InMemoryRepository)
    return box.repo


def clock_of(box: Container) -> FixedClock:
    assert isinstance(box.clock, FixedClock)
    return box.clock


def fake(box: Container) -> FakePaymentGateway:
    assert isinstance(box.gateway, FakePaymentGateway)
    return box.gateway


def caller_of(box: Container, account_id: str) -> Caller:
    account = stored(box, account_id)
    signed_in = box.auth.login(account.email, PASSWORD, IP)
    return box.auth.authenticate(signed_in.token, IP)


def stored(box: Container, account_id: str) -> Account:
    return repo_of(box).accounts[account_id]


def subscribed(
    box: Container,
    plan: str = "pro-yearly",
    *,
    locale: str = "en",
    exp: tuple[int, int] | None = None,
) -> Account:
    """A paying account on ``plan``, its card expiring at ``exp`` (month, year) or in 2040."""
    account = box.auth.signup(
        email=f"ada-{len(repo_of(box).accounts)}@example.com",
        password=PASSWORD,
        name="Ada",
        country="FR",
        phone=None,
        locale=locale,
        ip=IP,
    ).account
    forget_signup_mail(box)
    month, year = exp or (12, 2040)
    card = fake(box).add_test_card("4242424242424242", exp_month=month, exp_year=year)
    box.billing.set_card(caller_of(box, account.id), card)
    return box.billing.subscribe(caller_of(box, account.id), plan)


def mails(box: Container, account_id: str, *templates: str) -> list[Any]:
    return [
        m
        for m in sorted(repo_of(box).mail.values(), key=lambda m: m.created_at)
        if m.account_id == account_id and m.template in templates
    ]


def reminders(box: Container) -> dict[str, int]:
    return run_job("reminders", box=box)


def renewal_of(account: Account) -> datetime:
    assert account.next_renewal_at is not None
    return account.next_renewal_at


# --- the renewal notice ---
def test_a_yearly_plan_gets_its_renewal_notice_once_with_the_date_and_the_amount(
    box: Container,
) -> None:
    account = subscribed(box)
    renewal = renewal_of(account)
    assert account.queue_entry(NOTICE) == ("renewal", renewal - NOTICE)
    assert reminders(box) == {"renewal_notices": 0, "card_notices": 0, "skipped": 0}

    clock_of(box).set(renewal - NOTICE - timedelta(seconds=1))
    assert reminders(box)["renewal_notices"] == 0
    clock_of(box).set(renewal - NOTICE)
    assert reminders(box) == {"renewal_notices": 1, "card_notices": 0, "skipped": 0}
    assert reminders(box)["renewal_notices"] == 0  # the second run finds it done
    clock_of(box).advance(days=3)
    assert reminders(box)["renewal_notices"] == 0

    (mail,) = mails(box, account.id, "renewal_notice")
    subject, body = render_mail(mail)
    # Pro (yearly) 490.00 net, French VAT 20 %: 588.00, the renewal's own invoice amount
    assert "€588.00" in body and "Pro (yearly)" in body and "Visa •••• 4242" in body
    assert mail.params["date"] in subject
    after = stored(box, account.id)
    assert after.renewal_notice_for == renewal
    assert after.queue_entry(NOTICE) == ("renewal", renewal)  # now waiting for the renewal only


def test_the_notice_is_in_the_account_language(box: Container) -> None:
    account = subscribed(box, locale="fr")
    clock_of(box).set(renewal_of(account) - NOTICE)
    reminders(box)
    (mail,) = mails(box, account.id, "renewal_notice")
    subject, body = render_mail(mail)
    assert subject.startswith("Votre abonnement HelpDesk sera renouvelé le")
    assert "588,00" in body and "Pro (annuel)" in body and "TVA comprise" in body


def test_monthly_plans_get_no_renewal_notice(box: Container) -> None:
    account = subscribed(box, "pro-monthly")
    renewal = renewal_of(account)
    assert account.queue_entry(None) == ("renewal", renewal)
    clock_of(box).set(renewal - timedelta(days=1))
    assert reminders(box) == {"renewal_notices": 0, "card_notices": 0, "skipped": 0}
    assert mails(box, account.id, "renewal_notice", "card_expiring") == []


def test_each_renewal_gets_its_own_notice(box: Container) -> None:
    account = subscribed(box)
    first = renewal_of(account)
    clock_of(box).set(first - NOTICE)
    reminders(box)
    clock_of(box).set(first)
    assert box.billing.run_renewals().renewed == 1
    assert reminders(box)["renewal_notices"] == 0
    second = renewal_of(stored(box, account.id))
    assert second > first
    clock_of(box).set(second - NOTICE)
    assert reminders(box)["renewal_notices"] == 1
    first_mail, second_mail = mails(box, account.id, "renewal_notice")
    assert first_mail.params["date"] != second_mail.params["date"]  # one per renewal date
    assert stored(box, account.id).renewal_notice_for == second


def test_a_renewal_already_due_gets_no_notice(box: Container) -> None:
    """Found after its renewal (the job did not run): the renewal is what happens now."""
    account = subscribed(box)
    clock_of(box).set(renewal_of(account) + timedelta(minutes=5))
    assert reminders(box)["renewal_notices"] == 0
    assert mails(box, account.id, "renewal_notice") == []


def test_the_notice_days_come_from_the_settings() -> None:
    from chalicelib.config import Settings, settings_from_env

    assert settings_from_env({"RENEWAL_NOTICE_DAYS": "14"}).renewal_notice_days == 14
    settings = Settings(renewal_notice_days=14)
    assert settings.renewal_notice_lead("pro-yearly") == timedelta(days=14)
    assert settings.renewal_notice_lead("pro-monthly") is None
    assert settings.renewal_notice_lead(None) is None
    assert Settings(renewal_notice_days=0).renewal_notice_lead("pro-yearly") is None


# --- the card expiring ---
def test_a_card_expiring_before_the_renewal_is_told_30_days_before_it_once(
    box: Container,
) -> None:
    now = box.clock.now()
    exp = _month_before(now.replace(year=now.year + 1))  # over before the yearly renewal
    account = subscribed(box, exp=exp)
    renewal = renewal_of(account)
    card_due = renewal - timedelta(days=CARD_NOTICE_DAYS)
    assert account.reminders_due(card_due, NOTICE) == (Reminder.CARD,)
    assert account.queue_entry(NOTICE) == ("renewal", card_due)
    clock_of(box).set(card_due - timedelta(seconds=1))
    assert reminders(box)["card_notices"] == 0
    clock_of(box).set(card_due)
    assert reminders(box) == {"renewal_notices": 0, "card_notices": 1, "skipped": 0}
    assert reminders(box)["card_notices"] == 0
    (mail,) = mails(box, account.id, "card_expiring")
    subject, body = render_mail(mail)
    assert f"{exp[0]:02d}/{exp[1]}" in body and "4242" in body and mail.params["date"] in subject
    assert stored(box, account.id).card_notice_for == renewal
    # the renewal notice still comes, on its own day
    clock_of(box).set(renewal - NOTICE)
    assert reminders(box) == {"renewal_notices": 1, "card_notices": 0, "skipped": 0}
    assert len(mails(box, account.id, "card_expiring")) == 1


def test_a_monthly_plan_is_told_when_the_card_ends_this_month(box: Container) -> None:
    now = box.clock.now()
    account = subscribed(box, "pro-monthly", exp=(now.month, now.year))
    renewal = renewal_of(account)
    # the renewal falls next month, after the card: due 30 days before it, i.e. about now
    clock_of(box).set(max(now, renewal - timedelta(days=CARD_NOTICE_DAYS)))
    assert reminders(box)["card_notices"] == 1
    assert reminders(box)["card_notices"] == 0
    assert len(mails(box, account.id, "card_expiring")) == 1


def test_a_card_valid_at_the_renewal_gets_no_notice(box: Container) -> None:
    account = subscribed(box)
    renewal = renewal_of(account)
    card = CardSummary("visa", "4242", renewal.month, renewal.year)  # valid through that month
    assert replace(account, card=card).reminders_pending(None) == ()
    before = CardSummary("visa", "4242", *_month_before(renewal))
    assert replace(account, card=before).reminders_pending(None) == (
        (Reminder.CARD, renewal - timedelta(days=CARD_NOTICE_DAYS)),
    )
    clock_of(box).set(renewal - timedelta(days=CARD_NOTICE_DAYS))
    assert reminders(box)["card_notices"] == 0


def _month_before(at: datetime) -> tuple[int, int]:
    return (12, at.year - 1) if at.month == 1 else (at.month - 1, at.year)


def test_a_new_card_before_the_notice_cancels_it(box: Container) -> None:
    now = box.clock.now()
    account = subscribed(box, exp=_month_before(now.replace(year=now.year + 1)))
    box.billing.set_card(
        caller_of(box, account.id), fake(box).add_test_card("5555555555554444", exp_year=2040)
    )
    clock_of(box).set(renewal_of(account) - timedelta(days=CARD_NOTICE_DAYS))
    assert reminders(box)["card_notices"] == 0


def test_accounts_not_active_get_no_reminder(box: Container) -> None:
    account = subscribed(box)
    ended = replace(stored(box, account.id), next_renewal_at=None)
    assert ended.reminders_pending(NOTICE) == () and ended.queue_entry(NOTICE) is None


# --- exactly once, whatever fails ---
class FailingCommit:
    """Wraps the repository: the next reminder commit fails, before (``lost``: after) it is
    written."""

    def __init__(self, repo: InMemoryRepository, *, lost: bool) -> None:
        self.repo = repo
        self.lost = lost
        self.armed = True

    def __getattr__(self, name: str) -> Any:
        return getattr(self.repo, name)

    def commit(self, change: AccountChange) -> None:
        if self.armed and any(m.template == "renewal_notice" for m in change.mails):
            self.armed = False
            if self.lost:
                self.repo.commit(change)  # written, but the answer never came back
            raise DependencyUnavailable("write_outcome_unknown")
        self.repo.commit(change)


@pytest.mark.parametrize("lost", [False, True], ids=["crash_before_write", "answer_lost"])
def test_a_crash_during_the_commit_never_mails_twice_nor_loses_the_notice(
    box: Container, lost: bool
) -> None:
    from chalicelib.services.reminders import ReminderService

    account = subscribed(box)
    clock_of(box).set(renewal_of(account) - NOTICE)
    failing = FailingCommit(repo_of(box), lost=lost)
    job = ReminderService(failing, box.billing, box.clock, box.settings)
    with pytest.raises(DependencyUnavailable):
        job.run()
    assert len(mails(box, account.id, "renewal_notice")) == (1 if lost else 0)
    second = job.run()  # the next run (or the same job retried by Lambda)
    assert second.renewal_notices == (0 if lost else 1)
    assert job.run().renewal_notices == 0
    assert len(mails(box, account.id, "renewal_notice")) == 1


def test_two_runs_racing_mail_once(box: Container) -> None:
    """Both read the account before either commits: the second commit loses its condition."""
    from chalicelib.services.reminders import ReminderService

    account = subscribed(box)
    clock_of(box).set(renewal_of(account) - NOTICE)
    before = stored(box, account.id)
    assert reminders(box)["renewal_notices"] == 1
    job = ReminderService(repo_of(box), box.billing, box.clock, box.settings)
    with pytest.raises(ConcurrentUpdate):
        job._remind(before, (Reminder.RENEWAL,), box.clock.now())  # the slower run's commit
    assert len(mails(box, account.id, "renewal_notice")) == 1


def test_the_job_reads_only_what_is_due(box: Container) -> None:
    """Nothing due: one index read, no account read; a renewal due: still no account read
    (the index copy says it is the renewals job's)."""
    account = subscribed(box)
    repo = repo_of(box)
    before = repo.requests
    reminders(box)
    assert repo.requests - before == 1  # the queue, nothing else
    clock_of(box).set(renewal_of(account) - NOTICE)
    reminders(box)
    clock_of(box).set(renewal_of(account))
    before = repo.requests
    assert reminders(box) == {"renewal_notices": 0, "card_notices": 0, "skipped": 0}
    assert repo.requests - before == 1


# --- receipts ---
def test_one_receipt_per_payment_when_the_webhook_and_the_retry_job_both_settle_it(
    box: Container,
) -> None:
    from chalicelib.api.webhooks import handle_event

    account = subscribed(box, "pro-monthly")
    assert len(mails(box, account.id, "payment_receipt")) == 1  # the first payment's
    clock_of(box).set(renewal_of(account))
    fake(box).inject("lost_answer")
    assert box.billing.run_renewals().unknown == 1
    intent = fake(box).charges[-1]
    event = {
        "id": "evt_renewal",
        "type": "payment_intent.succeeded",
        "data": {"object": {"id": intent.payment_intent_id, "metadata": intent.metadata}},
    }
    assert handle_event(event) == "applied"
    clock_of(box).advance(hours=1)
    run_job("retry-pending", box=box)
    assert box.billing.run_renewals().renewed == 0
    receipts = mails(box, account.id, "payment_receipt")
    assert len(receipts) == 2  # the first payment and the renewal, each once
    assert receipts[0].params["number"] != receipts[1].params["number"]
