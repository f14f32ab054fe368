"""Subscribing with seats, the mails of a scheduled cancellation or downgrade (and of their
withdrawal), reminders that follow what the renewal will really do, the renewals job reading
only what is its own, and the period start kept across a month-end clamp (over the fakes)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from chalicelib.adapters.clock import FixedClock
from chalicelib.adapters.fake_payments import FakePaymentGateway
from chalicelib.adapters.memory import InMemoryRepository
from chalicelib.domain.account import Account, Caller, Reminder
from chalicelib.domain.errors import Conflict, InvalidInput
from chalicelib.domain.plans import ChangeKind, period_start
from chalicelib.jobs.run import run_job
from chalicelib.services.mail import render_mail
from chalicelib.wiring import Container
from tests.helpers import forget_signup_mail

PASSWORD = "correct horse battery staple"
IP = "10.0.0.1"
NOW = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)
NOTICE = timedelta(days=7)  # RENEWAL_NOTICE_DAYS' default


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(NOW)


def repo_of(box: Container) -> InMemoryRepository:
    assert isinstance(box.repo, InMemoryRepository)
    return box.repo


def fake(box: Container) -> FakePaymentGateway:
    assert isinstance(box.gateway, FakePaymentGateway)
    return box.gateway


def refresh(box: Container, caller: Caller) -> Caller:
    account = box.repo.get_account(caller.account.id)
    assert account is not None
    return Caller(account=account, session=caller.session, ip=caller.ip)


def trial(box: Container, locale: str = "en", exp: tuple[int, int] = (12, 2040)) -> Caller:
    signed = box.auth.signup(
        email=f"ada-{len(repo_of(box).accounts)}@example.com",
        password=PASSWORD,
        name="Ada",
        country="FR",
        phone=None,
        locale=locale,
        ip=IP,
    )
    forget_signup_mail(box)
    caller = box.auth.authenticate(signed.token, IP)
    card = fake(box).add_test_card("4242424242424242", exp_month=exp[0], exp_year=exp[1])
    box.billing.set_card(caller, card)
    return refresh(box, caller)


def subscribed(
    box: Container, plan: str = "pro-yearly", seats: int | None = None, **kw: Any
) -> Caller:
    caller = trial(box, **kw)
    box.billing.subscribe(caller, plan, seats=seats)
    return refresh(box, caller)


def mails(box: Container, account_id: str, *templates: str) -> list[Any]:
    return [
        m
        for m in sorted(repo_of(box).mail.values(), key=lambda m: m.created_at)
        if m.account_id == account_id and m.template in templates
    ]


def succeeded_amounts(box: Container) -> list[int]:
    return [c.amount for c in fake(box).charges if c.succeeded]


def renewal_of(account: Account) -> datetime:
    assert account.next_renewal_at is not None
    return account.next_renewal_at


# --- subscribe with seats -------------------------------------------------------------------
def test_subscribe_charges_the_seats_asked_and_the_confirmation_covers_them(
    memory_box: Container,
) -> None:
    caller = trial(memory_box)
    one_seat = memory_box.billing.price(caller.account, memory_box.settings.plans[0], 1)
    with pytest.raises(Conflict) as stale:
        memory_box.billing.subscribe(
            caller, "basic-monthly", seats=4, expected_total=one_seat.total
        )
    assert stale.value.code == "price_changed"
    assert stale.value.extra["price"]["total"] == 4 * 1800  # 15.00 per seat, French VAT 20 %
    assert fake(memory_box).charges == []
    account = memory_box.billing.subscribe(
        refresh(memory_box, caller), "basic-monthly", seats=4, expected_total=7200
    )
    assert (account.plan, account.seats) == ("basic-monthly", 4)
    assert succeeded_amounts(memory_box) == [7200]
    (invoice,) = memory_box.repo.list_invoices(account.id, 10, None)[0]
    assert [(line.quantity, line.unit_amount) for line in invoice.lines] == [(4, 1500)]
    # and the renewal bills the same seats
    memory_box.clock.set(renewal_of(account))  # type: ignore[attr-defined]
    assert run_job("renewals", box=memory_box)["renewed"] == 1
    assert succeeded_amounts(memory_box) == [7200, 7200]


def test_subscribe_seats_have_the_bounds_of_a_plan_change(memory_box: Container) -> None:
    caller = trial(memory_box)
    for seats in (0, -1, 10_001):
        with pytest.raises(InvalidInput) as bad:
            memory_box.billing.subscribe(caller, "basic-monthly", seats=seats)
        assert bad.value.fields == {"seats": "invalid_seats"}
    assert fake(memory_box).charges == []
    account = memory_box.billing.subscribe(caller, "basic-monthly")  # default: the account's
    assert account.seats == 1 and succeeded_amounts(memory_box) == [1800]


def test_a_flat_plan_costs_the_same_whatever_the_seats(memory_box: Container) -> None:
    from msgspec.structs import replace

    flat = replace(memory_box.settings.plans[0], per_seat=False)
    caller = trial(memory_box)
    assert memory_box.billing.price(caller.account, flat, 5).net == 1500


# --- mails when a cancellation or a downgrade is scheduled, or withdrawn --------------------
def test_cancel_at_period_end_and_resume_are_mailed_once_each(memory_box: Container) -> None:
    caller = subscribed(memory_box, "pro-monthly")
    end = renewal_of(caller.account)
    memory_box.lifecycle.cancel_at_period_end(caller, PASSWORD)
    (scheduled,) = mails(memory_box, caller.account.id, "cancel_scheduled")
    subject, body = render_mail(scheduled)
    assert "April 1, 2026" in subject and "Pro (monthly)" in body
    assert "nothing is refunded" in body and "/#/account" in body
    memory_box.lifecycle.resume(refresh(memory_box, caller))
    (withdrawn,) = mails(memory_box, caller.account.id, "cancel_withdrawn")
    assert "April 1, 2026" in render_mail(withdrawn)[1]
    with pytest.raises(Conflict):  # nothing scheduled any more: no second mail
        memory_box.lifecycle.resume(refresh(memory_box, caller))
    assert len(mails(memory_box, caller.account.id, "cancel_scheduled", "cancel_withdrawn")) == 2
    assert end == renewal_of(refresh(memory_box, caller).account)


def test_the_cancellation_mails_are_in_french(memory_box: Container) -> None:
    caller = subscribed(memory_box, "pro-monthly", locale="fr")
    memory_box.lifecycle.cancel_at_period_end(caller, PASSWORD)
    memory_box.lifecycle.resume(refresh(memory_box, caller))
    scheduled, withdrawn = mails(
        memory_box, caller.account.id, "cancel_scheduled", "cancel_withdrawn"
    )
    assert "prend fin le 1 avril 2026" in render_mail(scheduled)[0]
    assert "Pro (mensuel)" in render_mail(scheduled)[1]
    assert "sera renouvelé le 1 avril 2026" in render_mail(withdrawn)[1]


def test_a_scheduled_downgrade_and_its_withdrawal_are_mailed_once_each(
    memory_box: Container,
) -> None:
    caller = subscribed(memory_box, "pro-monthly", seats=3)
    changed = memory_box.subscription.change(caller, "basic-monthly", 2)
    assert changed.kind is ChangeKind.SCHEDULED
    (scheduled,) = mails(memory_box, caller.account.id, "change_scheduled")
    subject, body = render_mail(scheduled)
    assert "April 1, 2026" in subject
    # what the renewal will charge: 2 seats of Basic, 30.00 net + 20 % VAT
    assert "Basic (monthly), 2 seats" in body and "€36.00" in body
    memory_box.subscription.cancel_scheduled_change(refresh(memory_box, caller))
    (withdrawn,) = mails(memory_box, caller.account.id, "change_withdrawn")
    assert "Pro (monthly), 3 seats" in render_mail(withdrawn)[1]
    # scheduled again, then withdrawn by asking for the current plan and seats
    memory_box.subscription.change(refresh(memory_box, caller), None, 1)
    memory_box.subscription.change(refresh(memory_box, caller), "pro-monthly", 3)
    assert len(mails(memory_box, caller.account.id, "change_scheduled")) == 2
    assert len(mails(memory_box, caller.account.id, "change_withdrawn")) == 2
    with pytest.raises(Conflict):
        memory_box.subscription.cancel_scheduled_change(refresh(memory_box, caller))
    assert len(mails(memory_box, caller.account.id, "change_withdrawn")) == 2


def test_the_downgrade_mails_are_in_french(memory_box: Container) -> None:
    caller = subscribed(memory_box, "pro-monthly", seats=2, locale="fr")
    memory_box.subscription.change(caller, None, 1)
    (scheduled,) = mails(memory_box, caller.account.id, "change_scheduled")
    subject, body = render_mail(scheduled)
    assert "change le 1 avril 2026" in subject
    assert "Pro (mensuel), 1 siège" in body and "58,80" in body


def test_an_upgrade_mails_no_schedule_notice(memory_box: Container) -> None:
    caller = subscribed(memory_box, "pro-monthly")
    memory_box.subscription.change(caller, None, 2)
    assert mails(memory_box, caller.account.id, "change_scheduled", "change_withdrawn") == []


# --- reminders follow what the renewal will do ---------------------------------------------
def test_no_reminder_while_a_cancellation_is_scheduled(memory_box: Container) -> None:
    caller = subscribed(memory_box, "pro-yearly", exp=(6, 2026))  # expired by the renewal
    account = caller.account
    renewal = renewal_of(account)
    lead = memory_box.settings.renewal_notice_lead(account.plan)
    assert {r for r, _ in account.reminders_pending(lead)} == {Reminder.RENEWAL, Reminder.CARD}
    memory_box.lifecycle.cancel_at_period_end(caller, PASSWORD)
    cancelling = refresh(memory_box, caller).account
    assert cancelling.reminders_pending(lead) == ()
    # the queue entry waits for the end itself, never waking the job for a reminder
    assert cancelling.queue_entry(lead) == ("renewal", renewal)
    repo = repo_of(memory_box)
    memory_box.clock.set(renewal - timedelta(days=30))  # type: ignore[attr-defined]
    before = repo.requests
    assert run_job("reminders", box=memory_box) == {
        "renewal_notices": 0,
        "card_notices": 0,
        "skipped": 0,
    }
    assert repo.requests - before == 1  # the queue, no account read
    memory_box.clock.set(renewal - NOTICE)  # type: ignore[attr-defined]
    assert run_job("reminders", box=memory_box)["renewal_notices"] == 0
    assert mails(memory_box, account.id, "renewal_notice", "card_expiring") == []
    # withdrawn: the reminders are due again, and mailed
    memory_box.lifecycle.resume(refresh(memory_box, caller))
    assert run_job("reminders", box=memory_box) == {
        "renewal_notices": 1,
        "card_notices": 1,
        "skipped": 0,
    }


def test_the_renewal_notice_states_the_price_of_a_scheduled_change(
    memory_box: Container,
) -> None:
    caller = subscribed(memory_box, "pro-yearly", seats=3)
    memory_box.subscription.change(caller, None, 2)  # fewer seats: at the renewal
    renewal = renewal_of(caller.account)
    memory_box.clock.set(renewal - NOTICE)  # type: ignore[attr-defined]
    assert run_job("reminders", box=memory_box)["renewal_notices"] == 1
    (notice,) = mails(memory_box, caller.account.id, "renewal_notice")
    body = render_mail(notice)[1]
    # 2 seats of 490.00 net + 20 % VAT, what the renewal will charge (not 3 seats' 1,764.00)
    assert "€1,176.00" in body and "1,764.00" not in body
    memory_box.clock.set(renewal)  # type: ignore[attr-defined]
    assert run_job("renewals", box=memory_box)["renewed"] == 1
    assert succeeded_amounts(memory_box)[-1] == 117_600


# --- the renewals job reads only what is its own -------------------------------------------
def test_the_renewals_job_leaves_reminder_only_entries_unread(memory_box: Container) -> None:
    caller = subscribed(memory_box, "pro-yearly")
    renewal = renewal_of(caller.account)
    repo = repo_of(memory_box)
    memory_box.clock.set(renewal - NOTICE)  # type: ignore[attr-defined]  # a reminder is due
    before = repo.requests
    report = run_job("renewals", box=memory_box)
    assert (report["renewed"], report["skipped"], report["cancelled"]) == (0, 0, 0)
    # one queue read each for the cancellations and the renewals, no account read
    assert repo.requests - before == 2
    # the renewal itself: read once (by the renewals, not by the cancellations)
    memory_box.clock.set(renewal)  # type: ignore[attr-defined]
    reads: list[str] = []
    original = repo.get_account

    def counted(account_id: str) -> Account | None:
        reads.append(account_id)
        return original(account_id)

    repo.get_account = counted  # type: ignore[method-assign]
    assert run_job("renewals", box=memory_box)["renewed"] == 1
    assert reads.count(caller.account.id) == 1


def test_a_due_cancellation_is_read_by_the_cancellations_only(memory_box: Container) -> None:
    caller = subscribed(memory_box, "pro-monthly")
    memory_box.lifecycle.cancel_at_period_end(caller, PASSWORD)
    memory_box.clock.set(renewal_of(caller.account))  # type: ignore[attr-defined]
    repo = repo_of(memory_box)
    reads: list[str] = []
    original = repo.get_account

    def counted(account_id: str) -> Account | None:
        reads.append(account_id)
        return original(account_id)

    repo.get_account = counted  # type: ignore[method-assign]
    report = run_job("renewals", box=memory_box)
    assert (report["cancelled"], report["renewed"], report["skipped"]) == (1, 0, 0)
    assert reads == [caller.account.id]


# --- the period start, stored when a period starts -----------------------------------------
def test_the_period_start_survives_a_month_end_clamp(
    memory_box: Container, clock: FixedClock
) -> None:
    clock.set(datetime(2027, 1, 31, 9, 0, tzinfo=UTC))
    caller = subscribed(memory_box, "basic-monthly")
    account = caller.account
    start = datetime(2027, 1, 31, 9, 0, tzinfo=UTC)
    assert account.next_renewal_at == datetime(2027, 2, 28, 9, 0, tzinfo=UTC)
    assert account.period_started_at == start
    # counting back from the renewal says Jan 28: three days short of the paid period
    assert period_start(renewal_of(account), "month") == datetime(2027, 1, 28, 9, 0, tzinfo=UTC)
    assert account.current_period_start("month") == start
    # half the real period left: an upgrade to 2 seats charges half a seat (7.50 + VAT)
    clock.set(start + (renewal_of(account) - start) / 2)
    preview = memory_box.subscription.preview(caller, None, 2, "en")
    assert preview.now.net == 750
    # the renewal starts the next period from the clamped date, and keeps it
    clock.set(renewal_of(account))
    run_job("renewals", box=memory_box)
    renewed = refresh(memory_box, caller).account
    assert renewed.period_started_at == datetime(2027, 2, 28, 9, 0, tzinfo=UTC)
    assert renewed.current_period_start("month") == renewed.period_started_at


def test_accounts_stored_without_a_period_start_derive_it(memory_box: Container) -> None:
    from msgspec.structs import replace

    caller = subscribed(memory_box, "basic-monthly")
    old = replace(caller.account, period_started_at=None)
    assert old.current_period_start("month") == NOW
    # a stored start that is not this period's (the renewal date set another way) is ignored
    other = replace(caller.account, period_started_at=NOW - timedelta(days=3))
    assert other.current_period_start("month") == NOW
