"""The money lifecycle's scenarios from issue 12, one test each, over the in-memory container
and the fake gateway: lost answers reconciled (replay under 24 h, lookup after), one first
payment per account, hard declines suspending after the grace period, suspended accounts
starting a new period when they pay, no back-billing, a card change during a claim."""

from __future__ import annotations

import threading
from datetime import timedelta
from typing import Any

import pytest

from chalicelib.adapters.fake_payments import SUCCEED, CardBehaviour
from chalicelib.api.views import pending_view
from chalicelib.domain.account import AccountStatus, Caller
from chalicelib.domain.billing import ChargePurpose, ChargeState, InvoiceStatus
from chalicelib.domain.errors import Conflict, DependencyUnavailable
from chalicelib.domain.payments import CardDeclined, DeclineInfo
from chalicelib.i18n import translate
from chalicelib.jobs.run import run_job
from chalicelib.services.billing import BillingService
from chalicelib.wiring import Container
from tests.helpers import PASSWORD
from tests.unit.conftest import caller, fake, repo

HARD = DeclineInfo("card_declined", "stolen_card")
SOFT = DeclineInfo("card_declined", "insufficient_funds")


def trial_with_card(box: Container, email: str = "ada@example.com") -> str:
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
    return signed.account.id


def succeeded_for(box: Container, charge_id: str) -> int:
    return sum(
        c.succeeded and charge_id in c.metadata["charge_ids"].split(",") for c in fake(box).charges
    )


def account(box: Container, account_id: str) -> Any:
    found = box.repo.get_account(account_id)
    assert found is not None
    return found


def templates(box: Container) -> list[str]:
    """The money mails written so far (sign-up's address verification is not one)."""
    return [m.template for m in repo(box).mail.values() if m.template != "verify_email"]


# --- lost answers ------------------------------------------------------------------------------
def test_a_lost_subscribe_answer_blocks_a_second_charge_and_is_reconciled(box: Container) -> None:
    account_id = trial_with_card(box)
    fake(box).inject("lost_answer")
    with pytest.raises(DependencyUnavailable) as unknown:
        box.billing.subscribe(caller(box, account_id), "pro-monthly")
    assert unknown.value.code == "payment_outcome_unknown"
    with pytest.raises(Conflict) as again:
        box.billing.subscribe(caller(box, account_id), "basic-monthly")
    assert again.value.code == "payment_in_progress"
    assert len(fake(box).charges) == 1  # the second subscribe charged nothing
    (charge,) = repo(box).charges.values()
    assert charge.state is ChargeState.UNKNOWN and charge.purpose is ChargePurpose.SUBSCRIBE
    box.clock.advance(hours=1)  # type: ignore[attr-defined]
    report = run_job("retry-pending", box=box)
    assert report["succeeded"] == 1
    after = account(box, account_id)
    assert after.status is AccountStatus.ACTIVE and after.plan == "pro-monthly"
    invoice = repo(box).invoices[(account_id, charge.invoice_id)]
    assert invoice.status is InvoiceStatus.PAID and after.next_renewal_at == invoice.period_end
    assert after.subscribe_charge_id is None
    assert succeeded_for(box, charge.id) == 1 and len(fake(box).charges) == 1
    assert templates(box) == ["payment_receipt"]


def test_a_lost_request_is_looked_up_after_24_hours_and_never_charged(box: Container) -> None:
    account_id = trial_with_card(box)
    fake(box).inject("lost_request", "lost_request")  # the subscribe, and the first replay
    with pytest.raises(DependencyUnavailable):
        box.billing.subscribe(caller(box, account_id), "pro-monthly")
    box.clock.advance(hours=1)  # type: ignore[attr-defined]
    assert run_job("retry-pending", box=box)["unknown"] == 1  # still in doubt
    box.clock.advance(hours=24)  # type: ignore[attr-defined]
    calls = sum(fake(box).calls.values())
    report = run_job("retry-pending", box=box)
    assert report["unavailable"] == 1  # looked up: never reached Stripe
    assert sum(fake(box).calls.values()) == calls  # looked up, not replayed
    (charge,) = repo(box).charges.values()
    assert charge.state is ChargeState.VOID
    after = account(box, account_id)
    assert after.status is AccountStatus.TRIAL and after.subscribe_charge_id is None
    assert templates(box) == ["payment_failed"]  # they were told "unknown": now told the end
    assert fake(box).charges == []
    subscribed = box.billing.subscribe(caller(box, account_id), "pro-monthly")
    assert subscribed.status is AccountStatus.ACTIVE and len(fake(box).charges) == 1


def test_a_signed_webhook_activates_a_subscription_whose_answer_was_lost(box: Container) -> None:
    from chalicelib.api.webhooks import handle_event

    account_id = trial_with_card(box)
    fake(box).inject("lost_answer")
    with pytest.raises(DependencyUnavailable):
        box.billing.subscribe(caller(box, account_id), "basic-monthly")
    (intent,) = fake(box).charges
    event = {
        "id": "evt_1",
        "type": "payment_intent.succeeded",
        "data": {"object": {"id": intent.payment_intent_id, "metadata": intent.metadata}},
    }
    assert handle_event(event) == "applied"
    assert handle_event(event) == "duplicate"
    after = account(box, account_id)
    assert after.status is AccountStatus.ACTIVE and after.plan == "basic-monthly"
    assert run_job("retry-pending", box=box)["due"] == 0
    assert templates(box) == ["payment_receipt"]


def test_a_renewal_answer_lost_to_a_stripe_500_is_reconciled(box: Container) -> None:
    account_id = trial_with_card(box)
    subscribed = box.billing.subscribe(caller(box, account_id), "basic-monthly")
    box.clock.set(subscribed.next_renewal_at)  # type: ignore[attr-defined]
    fake(box).inject("lost_answer")
    assert box.billing.run_renewals().unknown == 1
    with pytest.raises(Conflict):  # in progress until reconciled
        box.dunning.pay_pending(caller(box, account_id))
    assert run_job("retry-pending", box=box)["succeeded"] == 1
    assert box.billing.pending_charges(account_id) == []
    assert len(fake(box).charges) == 2
    assert templates(box) == ["payment_receipt", "payment_receipt"]


def test_a_late_answer_is_asked_for_again_until_stripe_settles_it(box: Container) -> None:
    account_id = trial_with_card(box)
    subscribed = box.billing.subscribe(caller(box, account_id), "basic-monthly")
    box.clock.set(subscribed.next_renewal_at)  # type: ignore[attr-defined]
    fake(box).inject("late")
    assert box.billing.run_renewals().unknown == 1
    assert run_job("retry-pending", box=box)["unknown"] == 1  # still processing at Stripe
    (intent,) = fake(box).late_intents()
    fake(box).finish_late(intent)
    assert run_job("retry-pending", box=box)["succeeded"] == 1
    assert box.billing.pending_charges(account_id) == []
    assert len(fake(box).charges) == 2


# --- one subscription per account ----------------------------------------------------------
def test_ten_parallel_subscribes_make_one_charge_and_one_invoice(box: Container) -> None:
    account_id = trial_with_card(box)
    fake(box).latency = 0.01
    callers = [caller(box, account_id) for _ in range(10)]
    start = threading.Barrier(10)
    outcomes: list[str] = []

    def subscribe(who: Caller, index: int) -> None:
        start.wait()
        try:
            box.billing.subscribe(who, "basic-monthly" if index % 2 else "pro-monthly")
            outcomes.append("subscribed")
        except Conflict as error:
            outcomes.append(error.code)

    threads = [threading.Thread(target=subscribe, args=(c, i)) for i, c in enumerate(callers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert outcomes.count("subscribed") == 1, outcomes
    assert set(outcomes) <= {"subscribed", "payment_in_progress", "already_subscribed", "conflict"}
    assert len(fake(box).charges) == 1 and len(repo(box).invoices) == 1
    assert [i.number for i in repo(box).invoices.values()] == [f"HD-{box.clock.now().year}-000001"]


# --- hard declines, revocations, suspension ----------------------------------------------
def declined_renewal(box: Container, decline: DeclineInfo) -> str:
    account_id = trial_with_card(box)
    subscribed = box.billing.subscribe(caller(box, account_id), "basic-monthly")
    assert subscribed.payment_method_id and subscribed.next_renewal_at
    fake(box).set_behaviour(subscribed.payment_method_id, CardBehaviour.declines(decline))
    box.clock.set(subscribed.next_renewal_at)  # type: ignore[attr-defined]
    assert box.billing.run_renewals().failed == 1
    return account_id


def test_a_hard_decline_suspends_after_the_grace_period_and_says_when(box: Container) -> None:
    account_id = declined_renewal(box, HARD)
    (charge,) = box.billing.pending_charges(account_id)
    grace = timedelta(days=box.settings.hard_decline_grace_days)
    suspends = box.clock.now() + grace
    view = pending_view([charge], "en", box.settings.retry_schedule_days)
    assert view is not None and view["items"][0]["suspends_at"] is not None
    assert view["items"][0]["suspends_at"].startswith(suspends.date().isoformat())
    failed = [m for m in repo(box).mail.values() if m.template == "payment_failed"]
    assert len(failed) == 1 and "suspended on" in failed[0].params["reason"]
    box.clock.advance(days=6)  # type: ignore[attr-defined]
    assert run_job("retry-pending", box=box)["due"] == 0
    assert account(box, account_id).status is AccountStatus.PAST_DUE
    box.clock.advance(days=1)  # type: ignore[attr-defined]
    assert run_job("retry-pending", box=box)["suspended"] == 1
    assert account(box, account_id).status is AccountStatus.SUSPENDED
    box.clock.advance(days=60)  # type: ignore[attr-defined]
    assert run_job("retry-pending", box=box)["due"] == 0  # told once, nothing retried
    assert templates(box).count("account_suspended") == 1
    assert len(fake(box).charges) == 2


def test_a_revocation_stops_retries_and_the_renewal(box: Container) -> None:
    account_id = declined_renewal(box, DeclineInfo("card_declined", "stop_payment_order"))
    (charge,) = box.billing.pending_charges(account_id)
    assert charge.retries_stopped and charge.next_retry_at is None
    assert account(box, account_id).next_renewal_at is None
    reason = next(m for m in repo(box).mail.values() if m.template == "payment_failed")
    assert "stop payments" in reason.params["reason"]


def test_a_suspended_account_that_pays_starts_a_new_period_then(box: Container) -> None:
    account_id = declined_renewal(box, SOFT)
    (owed,) = box.billing.pending_charges(account_id)
    for days in box.settings.retry_schedule_days:  # the schedule runs out: suspended
        box.clock.set(owed.first_failed_at + timedelta(days=days))  # type: ignore[attr-defined,operator]
        run_job("retry-pending", box=box)
    assert account(box, account_id).status is AccountStatus.SUSPENDED
    box.clock.advance(days=60)  # type: ignore[attr-defined]
    paid_at = box.clock.now()
    card = account(box, account_id).payment_method_id
    fake(box).set_behaviour(card, SUCCEED)
    result = box.dunning.pay_pending(caller(box, account_id))
    after = account(box, account_id)
    assert after.status is AccountStatus.ACTIVE
    (invoice_id,) = result.paid
    new_invoice = repo(box).invoices[(account_id, invoice_id)]
    assert new_invoice.period_start == paid_at and after.next_renewal_at == new_invoice.period_end
    old_invoice = repo(box).invoices[(account_id, owed.invoice_id)]
    assert old_invoice.status is InvoiceStatus.CREDITED  # the lost period is not billed
    (note,) = [n for n in repo(box).credit_notes.values() if n.invoice_id == old_invoice.id]
    assert (note.total, note.reason) == (old_invoice.total, "period_replaced")
    assert repo(box).charges[(account_id, owed.id)].state is ChargeState.VOID
    assert box.billing.run_renewals().renewed == 0  # nothing back-billed
    numbers = sorted(i.number for i in repo(box).invoices.values())
    assert len(numbers) == len(set(numbers)) == 3


def suspended_account(box: Container) -> str:
    """A renewal declined until the schedule ran out: suspended, with its card healed."""
    account_id = declined_renewal(box, SOFT)
    (owed,) = box.billing.pending_charges(account_id)
    for days in box.settings.retry_schedule_days:
        box.clock.set(owed.first_failed_at + timedelta(days=days))  # type: ignore[attr-defined,operator]
        run_job("retry-pending", box=box)
    assert account(box, account_id).status is AccountStatus.SUSPENDED
    box.clock.advance(days=3)  # type: ignore[attr-defined]
    return account_id


@pytest.mark.parametrize("late", ["succeeds", "declines"])
def test_a_suspended_account_whose_payment_is_in_doubt_is_served_meanwhile(
    box: Container, late: str
) -> None:
    """The restart's answer lost: the customer may have paid, so the account is served from
    then for the new invoice's period (a paid period never covers suspended time, found by the
    model-based money test); the late answer confirms it, or suspends the account again."""
    account_id = suspended_account(box)
    card = account(box, account_id).payment_method_id
    fake(box).set_behaviour(card, SUCCEED if late == "succeeds" else CardBehaviour.declines(SOFT))
    fake(box).inject("lost_answer")
    sent_at = box.clock.now()
    mailed = len(repo(box).mail)
    with pytest.raises(DependencyUnavailable):
        box.dunning.pay_pending(caller(box, account_id))
    served = account(box, account_id)
    (restart,) = [c for c in repo(box).charges.values() if c.is_open]
    assert restart.purpose is ChargePurpose.RESTART and restart.state is ChargeState.UNKNOWN
    invoice = repo(box).invoices[(account_id, restart.invoice_id)]
    assert served.status is AccountStatus.ACTIVE and invoice.period_start == sent_at
    assert served.next_renewal_at == invoice.period_end
    box.clock.advance(days=1)  # type: ignore[attr-defined]
    run_job("retry-pending", box=box)  # the replay learns what happened
    after = account(box, account_id)
    settled = repo(box).charges[(account_id, restart.id)]
    if late == "succeeds":
        assert after.status is AccountStatus.ACTIVE and settled.state is ChargeState.PAID
        assert after.next_renewal_at == invoice.period_end
        assert len([c for c in fake(box).charges if c.succeeded]) == 2  # subscribe, restart
    else:
        assert after.status is AccountStatus.SUSPENDED
        assert settled.state is ChargeState.PENDING and settled.retries_stopped
        (told,) = list(repo(box).mail.values())[mailed:]  # one mail: failed, suspended again
        assert told.template == "payment_failed"
        assert translate("decline.now_suspended", "en") in told.params["reason"]
        box.clock.advance(days=30)  # type: ignore[attr-defined]
        assert run_job("retry-pending", box=box)["due"] == 0  # never retried automatically


def test_a_renewal_date_far_in_the_past_starts_a_new_period_now(box: Container) -> None:
    account_id = trial_with_card(box)
    subscribed = box.billing.subscribe(caller(box, account_id), "basic-monthly")
    assert subscribed.next_renewal_at is not None
    box.clock.set(subscribed.next_renewal_at + timedelta(days=95))  # type: ignore[attr-defined]
    now = box.clock.now()
    assert box.billing.run_renewals().renewed == 1
    assert box.billing.run_renewals().renewed == 0
    latest = max(repo(box).invoices.values(), key=lambda i: i.number)
    assert latest.period_start == now and len(repo(box).invoices) == 2


# --- a card change while a claim is held --------------------------------------------------
def test_a_card_change_during_a_claim_is_retried_at_once_with_the_new_card(
    box: Container, monkeypatch: pytest.MonkeyPatch
) -> None:
    account_id = declined_renewal(box, SOFT)
    (charge,) = box.billing.pending_charges(account_id)
    box.clock.set(charge.next_retry_at)  # type: ignore[attr-defined]
    gateway = fake(box)
    real_charge = gateway.charge
    answers: list[Any] = []

    def customer_changes_card_meanwhile(*args: Any, **kwargs: Any) -> Any:
        if not answers:
            new_card = gateway.add_test_card("5555555555554444")
            account_now = box.billing.set_card(caller(box, account_id), new_card)
            answers.append(box.dunning.retry_now(caller(box, account_id)))  # claim held: None
            assert account_now.card is not None
        return real_charge(*args, **kwargs)

    monkeypatch.setattr(gateway, "charge", customer_changes_card_meanwhile)
    assert box.dunning.process(account_id, charge.id) == "succeeded"
    assert answers == [None]
    assert box.billing.pending_charges(account_id) == []
    assert account(box, account_id).status is AccountStatus.ACTIVE
    last_two = gateway.charges[-2:]
    assert [c.succeeded for c in last_two] == [False, True]
    assert last_two[0].payment_method_id != last_two[1].payment_method_id
    failed = [m for m in repo(box).mail.values() if m.template == "payment_failed"]
    assert len(failed) == 1  # the renewal's; the old card's second decline told nobody


def test_a_card_change_clears_the_old_cards_failure_from_the_answer(box: Container) -> None:
    account_id = declined_renewal(box, HARD)
    (charge,) = box.billing.pending_charges(account_id)
    new_card = fake(box).add_test_card("5555555555554444")
    # the card change alone, before any retry with the new card (no dunning wired)
    alone = BillingService(box.repo, lambda: box.gateway, box.clock, box.settings)
    alone.set_card(caller(box, account_id), new_card)
    (after,) = box.billing.pending_charges(account_id)
    assert after.last_failure is None and not after.retries_stopped
    assert after.suspend_at is None and after.queue_due_at() == box.clock.now()
    view = pending_view([after], "en")
    assert view is not None and view["items"][0]["last_failure"] is None
    with pytest.raises(CardDeclined):
        pass_on = fake(box).add_test_card("4000000000000341")
        box.billing.set_card(caller(box, account_id), pass_on)
        box.dunning.pay_pending(caller(box, account_id))
    assert charge.id in {c.id for c in box.billing.pending_charges(account_id)}
