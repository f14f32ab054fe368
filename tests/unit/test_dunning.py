"""Pending charges and dunning over the in-memory repository and the fake gateway: each
invariant of "money moves exactly once" as a test that can fail."""

from __future__ import annotations

import threading
from datetime import timedelta
from typing import Any

import pytest

from chalicelib.adapters.clock import FixedClock
from chalicelib.adapters.fake_payments import (
    REQUIRE_ACTION,
    SUCCEED,
    TIME_OUT,
    CardBehaviour,
)
from chalicelib.domain.account import AccountStatus
from chalicelib.domain.billing import ChargeState, InvoiceStatus
from chalicelib.domain.errors import Conflict
from chalicelib.domain.payments import CardDeclined, DeclineInfo, PaymentGatewayUnavailable
from chalicelib.jobs.run import run_job
from chalicelib.wiring import Container
from tests.conftest import memory_container
from tests.helpers import PASSWORD
from tests.unit.conftest import caller, fake, repo

SOFT = DeclineInfo("card_declined", "insufficient_funds", "try_again_later")


def past_due(box: Container, decline: DeclineInfo = SOFT, email: str = "ada@example.com") -> str:
    """An account whose first renewal failed: past_due with one pending charge."""
    signed = box.auth.signup(
        email=email,
        password=PASSWORD,
        name="Ada",
        country="US",
        phone=None,
        locale="en",
        ip="10.0.0.1",
    )
    who = box.auth.authenticate(signed.token, "10.0.0.1")
    box.billing.set_card(who, fake(box).add_test_card("4242424242424242"))
    account = box.billing.subscribe(caller(box, who.account.id), "basic-monthly")
    assert account.payment_method_id and account.next_renewal_at
    fake(box).set_behaviour(account.payment_method_id, CardBehaviour.declines(decline))
    box.clock.set(account.next_renewal_at)  # type: ignore[attr-defined]
    assert box.billing.run_renewals().failed == 1
    return account.id


def pending(box: Container, account_id: str) -> list[Any]:
    return box.billing.pending_charges(account_id)


def heal(box: Container, account_id: str) -> None:
    account = box.repo.get_account(account_id)
    assert account is not None and account.payment_method_id
    fake(box).set_behaviour(account.payment_method_id, SUCCEED)


def charges_for(box: Container, charge_id: str) -> int:
    """PaymentIntents created that pay ``charge_id`` (a replay creates none)."""
    return sum(charge_id in c.metadata.get("charge_ids", "").split(",") for c in fake(box).charges)


def test_apply_pending_charges_pays_everything_once(box: Container) -> None:
    account_id = past_due(box)
    (charge,) = pending(box, account_id)
    heal(box, account_id)
    result = box.dunning.pay_pending(caller(box, account_id), "key-1")
    assert result.client_secret is None
    assert pending(box, account_id) == []
    account = box.repo.get_account(account_id)
    assert account is not None and account.status is AccountStatus.ACTIVE
    invoice = repo(box).invoices[(account_id, charge.invoice_id)]
    assert invoice.status is InvoiceStatus.PAID
    assert [t.status for t in invoice.transactions] == ["failed", "succeeded"]
    assert charges_for(box, charge.id) == 2  # the failed renewal, then this payment
    again = box.dunning.pay_pending(caller(box, account_id), "key-1")  # same Idempotency-Key
    assert again.client_secret is None and charges_for(box, charge.id) == 2
    assert sorted(m.template for m in repo(box).mail.values()).count("payment_receipt") == 2


def test_a_declined_payment_keeps_the_charges_pending(box: Container) -> None:
    account_id = past_due(box)
    with pytest.raises(CardDeclined) as declined:
        box.dunning.pay_pending(caller(box, account_id), "key-2")
    assert declined.value.guidance.message_key == "decline.insufficient_funds"
    (charge,) = pending(box, account_id)
    assert charge.state is ChargeState.PENDING and charge.attempts == 2
    with pytest.raises(CardDeclined):  # the same key answers the same, charging nothing
        box.dunning.pay_pending(caller(box, account_id), "key-2")
    assert charges_for(box, charge.id) == 2


def race_once(box: Container, account_id: str) -> list[str]:
    """The customer's "apply pending charges" and the scheduled retry, started together."""
    (charge,) = pending(box, account_id)
    box.clock.set(charge.next_retry_at)  # type: ignore[attr-defined]
    who = caller(box, account_id)
    outcomes: list[str] = []
    start = threading.Barrier(2)

    def customer() -> None:
        start.wait()
        try:
            box.dunning.pay_pending(who)
            outcomes.append("paid")
        except Conflict as error:
            outcomes.append(error.code)

    def scheduler() -> None:
        start.wait()
        outcomes.append(box.dunning.process(account_id, charge.id))

    threads = [threading.Thread(target=customer), threading.Thread(target=scheduler)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return outcomes


def test_the_customer_and_the_scheduled_retry_race_for_one_payment(clock: FixedClock) -> None:
    for run in range(50):
        # a new container each run: in one, each run's renewals would charge every earlier
        # account again (quadratic, 18 s of rate-limited fake Stripe calls)
        box = memory_container(FixedClock(clock.now()))
        fake(box).latency = 0.005
        account_id = past_due(box, email=f"race{run}@example.com")
        heal(box, account_id)
        (charge,) = pending(box, account_id)
        outcomes = race_once(box, account_id)
        assert charges_for(box, charge.id) == 2, (run, outcomes)  # renewal + exactly one more
        assert pending(box, account_id) == [], (run, outcomes)
        assert any(o in ("paid", "succeeded") for o in outcomes), outcomes


def test_a_crash_between_stripe_and_the_commit_is_recovered_without_a_second_charge(
    box: Container, monkeypatch: pytest.MonkeyPatch
) -> None:
    account_id = past_due(box)
    heal(box, account_id)
    (charge,) = pending(box, account_id)
    box.clock.set(charge.next_retry_at)  # type: ignore[attr-defined]
    real_commit = repo(box).commit
    crashed: list[bool] = []

    def crash_on_outcome(change: Any) -> None:
        if any(c.state is ChargeState.PAID for c, _ in change.charges) and not crashed:
            crashed.append(True)
            raise RuntimeError("the Lambda died here")
        real_commit(change)

    monkeypatch.setattr(repo(box), "commit", crash_on_outcome)
    with pytest.raises(RuntimeError):
        box.dunning.process(account_id, charge.id)
    (stuck,) = pending(box, account_id)
    assert stuck.state is ChargeState.PROCESSING and charges_for(box, charge.id) == 2
    assert box.dunning.process(account_id, charge.id) == "skipped"  # lease still held
    box.clock.advance(minutes=16)  # type: ignore[attr-defined]
    report = run_job("retry-pending", box=box)
    assert report["succeeded"] == 1
    assert pending(box, account_id) == []
    assert charges_for(box, charge.id) == 2  # the replay used the same key: no new charge
    assert len(fake(box).charges_with_key(stuck.attempt.key)) == 1


def test_a_timeout_after_a_successful_charge_ends_paid_with_one_charge(box: Container) -> None:
    account_id = past_due(box)
    account = box.repo.get_account(account_id)
    assert account is not None and account.payment_method_id
    fake(box).set_behaviour(account.payment_method_id, TIME_OUT)
    (charge,) = pending(box, account_id)
    box.clock.set(charge.next_retry_at)  # type: ignore[attr-defined]
    assert box.dunning.process(account_id, charge.id) == "unknown"
    (unknown,) = pending(box, account_id)
    assert unknown.state is ChargeState.UNKNOWN
    box.clock.advance(minutes=16)  # type: ignore[attr-defined]
    assert run_job("retry-pending", box=box)["succeeded"] == 1
    assert pending(box, account_id) == []
    assert charges_for(box, charge.id) == 2  # renewal attempt + the one that timed out


def test_three_d_secure_stops_automatic_retries_and_tells_the_customer_once(
    box: Container,
) -> None:
    account_id = past_due(box)
    account = box.repo.get_account(account_id)
    assert account is not None and account.payment_method_id
    fake(box).set_behaviour(account.payment_method_id, REQUIRE_ACTION)
    (charge,) = pending(box, account_id)
    box.clock.set(charge.next_retry_at)  # type: ignore[attr-defined]
    mails_before = len(repo(box).mail)
    assert box.dunning.process(account_id, charge.id) == "declined"
    (stopped,) = pending(box, account_id)
    assert stopped.retries_stopped and stopped.last_failure.code == "authentication_required"
    assert len(repo(box).mail) == mails_before + 1
    attempts = len(fake(box).charges)
    reports = []
    for _ in range(5):  # no retry storm: nothing is charged, only the grace period ends
        box.clock.advance(days=3)  # type: ignore[attr-defined]
        reports.append(run_job("retry-pending", box=box))
    assert len(fake(box).charges) == attempts
    assert [r["suspended"] for r in reports] == [0, 0, 1, 0, 0]  # 7 days after the decline
    assert sum(r["due"] for r in reports) == 1
    templates = [m.template for m in repo(box).mail.values()][mails_before:]
    assert templates == ["payment_failed", "account_suspended"]
    on_session = box.dunning.pay_pending(caller(box, account_id))  # the customer, in the console
    assert on_session.client_secret


def test_the_schedule_ends_in_suspension(box: Container) -> None:
    account_id = past_due(box)
    (charge,) = pending(box, account_id)
    first_failure = charge.first_failed_at
    assert first_failure is not None
    seen = []
    for days in box.settings.retry_schedule_days:
        box.clock.set(first_failure + timedelta(days=days, minutes=1))  # type: ignore[attr-defined]
        report = run_job("retry-pending", box=box)
        assert report["declined"] == 1, (days, report)
        (current,) = pending(box, account_id)
        seen.append(current.next_retry_at)
    assert seen[:-1] == [
        first_failure + timedelta(days=d) for d in box.settings.retry_schedule_days[1:]
    ]
    assert seen[-1] is None
    account = box.repo.get_account(account_id)
    assert account is not None and account.status is AccountStatus.SUSPENDED
    failed_mails = [m for m in repo(box).mail.values() if m.template == "payment_failed"]
    assert len(failed_mails) == 1 + len(box.settings.retry_schedule_days)
    heal(box, account_id)
    box.dunning.pay_pending(caller(box, account_id))
    account = box.repo.get_account(account_id)
    assert account is not None and account.status is AccountStatus.ACTIVE


def test_a_hard_decline_waits_for_a_new_card(box: Container) -> None:
    account_id = past_due(box, DeclineInfo("card_declined", "stolen_card"))
    (charge,) = pending(box, account_id)
    grace = timedelta(days=box.settings.hard_decline_grace_days)
    assert charge.retries_stopped and charge.next_retry_at is None
    assert charge.queue_due_at() == charge.first_failed_at + grace  # only to suspend, then
    box.clock.advance(days=2)  # type: ignore[attr-defined]
    assert run_job("retry-pending", box=box)["due"] == 0
    who = caller(box, account_id)
    box.billing.set_card(who, fake(box).add_test_card("5555555555554444"))
    assert box.dunning.retry_now(caller(box, account_id)) is not None
    assert pending(box, account_id) == []
    box.clock.advance(days=30)  # type: ignore[attr-defined]
    assert run_job("retry-pending", box=box)["suspended"] == 0  # the card changed in time
    account = box.repo.get_account(account_id)
    assert account is not None and account.status is AccountStatus.ACTIVE


def test_rate_limits_back_off_and_do_not_fail_the_charge(box: Container) -> None:
    account_id = past_due(box)
    heal(box, account_id)
    (charge,) = pending(box, account_id)
    box.clock.set(charge.next_retry_at)  # type: ignore[attr-defined]
    gateway = fake(box)
    real_charge = gateway.charge
    refusals = [2]

    def limited(*args: Any, **kwargs: Any) -> Any:
        if refusals[0]:
            refusals[0] -= 1
            raise PaymentGatewayUnavailable(reason="rate_limited")
        return real_charge(*args, **kwargs)

    gateway.charge = limited  # type: ignore[method-assign]
    sleeps: list[float] = []
    box.dunning._sleep = sleeps.append
    assert box.dunning.process(account_id, charge.id) == "succeeded"
    assert len(sleeps) == 2 and all(s > 0 for s in sleeps)
    assert charges_for(box, charge.id) == 2


def test_a_concurrent_pay_answers_payment_in_progress(box: Container) -> None:
    account_id = past_due(box)
    (charge,) = pending(box, account_id)
    claimed = charge.evolve(
        state=ChargeState.PROCESSING, lease_until=box.clock.now() + timedelta(minutes=15)
    )
    from chalicelib.domain.account import AccountChange

    box.repo.commit(AccountChange(charges=((claimed, charge.version),)))
    with pytest.raises(Conflict) as error:
        box.dunning.pay_pending(caller(box, account_id))
    assert error.value.code == "payment_in_progress"
    assert charges_for(box, charge.id) == 1


def test_webhooks_take_effect_once_in_any_order(box: Container) -> None:
    account_id = past_due(box)
    account = box.repo.get_account(account_id)
    assert account is not None and account.payment_method_id
    fake(box).set_behaviour(account.payment_method_id, TIME_OUT)
    (charge,) = pending(box, account_id)
    box.clock.set(charge.next_retry_at)  # type: ignore[attr-defined]
    assert box.dunning.process(account_id, charge.id) == "unknown"
    intent = fake(box).charges[-1].payment_intent_id
    mails = len(repo(box).mail)
    assert box.dunning.record_event("evt_failed_late")  # a stale failure: changes nothing
    assert box.dunning.settle_succeeded_intent("evt_ok", account_id, [charge.id], intent)
    assert not box.dunning.settle_succeeded_intent("evt_ok", account_id, [charge.id], intent)
    assert pending(box, account_id) == []
    assert len(repo(box).mail) == mails + 1  # one receipt
    box.clock.advance(hours=1)  # type: ignore[attr-defined]
    assert run_job("retry-pending", box=box)["due"] == 0
