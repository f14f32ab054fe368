"""Plan and seat changes, scheduled downgrades, cancel at period end (over the fakes)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from chalicelib.adapters.clock import FixedClock
from chalicelib.adapters.fake_payments import CardBehaviour, FakePaymentGateway
from chalicelib.adapters.memory import InMemoryRepository
from chalicelib.domain.account import AccountStatus, Caller
from chalicelib.domain.billing import ChargePurpose, ChargeState, InvoiceStatus
from chalicelib.domain.errors import Conflict, InvalidInput
from chalicelib.domain.payments import CardDeclined, DeclineInfo
from chalicelib.domain.plans import ChangeKind
from chalicelib.jobs.run import run_job
from chalicelib.wiring import Container
from tests.helpers import forget_signup_mail

PASSWORD = "correct horse battery staple"
NOW = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)


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


def subscribed(box: Container, plan: str = "basic-monthly", country: str = "US") -> Caller:
    signed = box.auth.signup(
        email="ada@example.com",
        password=PASSWORD,
        name="Ada",
        country=country,
        phone=None,
        locale="en",
        ip="10.0.0.1",
    )
    forget_signup_mail(box)
    caller = box.auth.authenticate(signed.token, "10.0.0.1")
    box.billing.set_card(caller, fake(box).add_test_card("4242424242424242"))
    box.billing.subscribe(refresh(box, caller), plan)
    return refresh(box, caller)


def succeeded_amounts(box: Container) -> list[int]:
    return [c.amount for c in fake(box).charges if c.succeeded]


def test_an_existing_account_has_one_seat_and_renews_at_its_plan_price(
    memory_box: Container,
) -> None:
    caller = subscribed(memory_box)
    assert caller.account.seats == 1
    assert succeeded_amounts(memory_box) == [1500]


def test_the_preview_shows_the_proration_and_the_next_renewal(
    memory_box: Container, clock: FixedClock
) -> None:
    caller = subscribed(memory_box)
    clock.advance(days=14)  # 14 of 31 days used
    preview = memory_box.subscription.preview(caller, None, 3, "en")
    assert preview.kind is ChangeKind.IMMEDIATE
    left = 17 * 86400
    total = 31 * 86400
    assert preview.now.net == (2 * 3000 * left + total) // (2 * total)
    assert preview.now.tax == 0 and preview.now.total == preview.now.net  # US customer
    assert [line.kind.value for line in preview.lines] == ["remaining", "unused"]
    assert sum(line.amount for line in preview.lines) == preview.now.net
    assert "3 seats" in preview.lines[0].description
    assert preview.renewal_at == caller.account.next_renewal_at
    assert preview.renewal.net == 4500
    assert fake(memory_box).charges and len(fake(memory_box).charges) == 1  # nothing charged


def test_the_preview_adds_vat_as_invoices_do(memory_box: Container, clock: FixedClock) -> None:
    caller = subscribed(memory_box, country="FR")
    preview = memory_box.subscription.preview(caller, "pro-monthly", None, "fr")
    assert preview.now.tax == round(preview.now.net * 0.2)
    assert preview.renewal.net == 4900 and preview.renewal.total == 5880
    assert "temps restant" in preview.lines[0].description


def test_more_seats_are_charged_at_once_with_an_invoice_of_proration_lines(
    memory_box: Container, clock: FixedClock
) -> None:
    caller = subscribed(memory_box)
    clock.advance(days=10)
    expected = memory_box.subscription.preview(caller, None, 2, "en").now.total
    changed = memory_box.subscription.change(caller, None, 2)
    assert changed.kind is ChangeKind.IMMEDIATE
    account = changed.account
    assert account.seats == 2 and account.pending_change is None
    assert account.next_renewal_at == caller.account.next_renewal_at
    assert succeeded_amounts(memory_box) == [1500, expected]
    assert changed.invoice_id is not None
    invoice = repo_of(memory_box).invoices[(account.id, changed.invoice_id)]
    assert invoice.status is InvoiceStatus.PAID
    assert [line.quantity for line in invoice.lines] == [1, -1]
    assert invoice.lines[1].amount < 0 < invoice.lines[1].unit_amount
    assert invoice.subtotal == sum(line.amount for line in invoice.lines) == expected
    # the renewal is billed for the new seats
    clock.set(account.next_renewal_at or NOW)
    run_job("renewals", box=memory_box)
    assert succeeded_amounts(memory_box)[-1] == 3000


def test_a_declined_upgrade_changes_nothing(memory_box: Container, clock: FixedClock) -> None:
    caller = subscribed(memory_box)
    pm = caller.account.payment_method_id
    assert pm is not None
    fake(memory_box).set_behaviour(
        pm, CardBehaviour.declines(DeclineInfo("card_declined", "insufficient_funds"))
    )
    clock.advance(days=3)
    with pytest.raises(CardDeclined):
        memory_box.subscription.change(caller, "pro-monthly", None)
    after = refresh(memory_box, caller).account
    assert after.plan == "basic-monthly" and after.seats == 1
    assert after.status is AccountStatus.ACTIVE and after.pending_change is None
    charges = [c for (a, _), c in repo_of(memory_box).charges.items() if a == after.id]
    assert not any(c.is_open for c in charges)
    change = [c for c in charges if c.purpose is ChargePurpose.CHANGE]
    assert [c.state for c in change] == [ChargeState.VOID]


def test_a_downgrade_is_scheduled_for_the_renewal_and_can_be_withdrawn(
    memory_box: Container, clock: FixedClock
) -> None:
    caller = subscribed(memory_box, plan="pro-monthly")
    changed = memory_box.subscription.change(caller, "basic-monthly", None)
    assert changed.kind is ChangeKind.SCHEDULED
    assert changed.account.plan == "pro-monthly"
    assert changed.account.scheduled_change is not None
    assert succeeded_amounts(memory_box) == [4900]  # nothing given back, nothing charged
    caller = refresh(memory_box, caller)
    withdrawn = memory_box.subscription.cancel_scheduled_change(caller)
    assert withdrawn.scheduled_change is None
    with pytest.raises(Conflict) as error:
        memory_box.subscription.cancel_scheduled_change(refresh(memory_box, caller))
    assert error.value.code == "no_scheduled_change"
    # scheduled again, then the renewal applies it
    memory_box.subscription.change(refresh(memory_box, caller), "basic-monthly", 2)
    clock.set(caller.account.next_renewal_at or NOW)
    run_job("renewals", box=memory_box)
    renewed = refresh(memory_box, caller).account
    assert (renewed.plan, renewed.seats, renewed.scheduled_change) == ("basic-monthly", 2, None)
    assert succeeded_amounts(memory_box) == [4900, 3000]


def test_changes_are_refused_clearly(memory_box: Container) -> None:
    caller = subscribed(memory_box)
    with pytest.raises(InvalidInput) as bad:
        memory_box.subscription.change(caller, "gold", None)
    assert bad.value.code == "unknown_plan"
    for seats in (0, -3):
        with pytest.raises(InvalidInput) as bad:
            memory_box.subscription.change(caller, None, seats)
        assert bad.value.fields == {"seats": "invalid_seats"}
    with pytest.raises(Conflict) as same:
        memory_box.subscription.change(caller, "basic-monthly", 1)
    assert same.value.code == "nothing_to_change"


def test_a_change_while_a_charge_is_processing_is_409(memory_box: Container) -> None:
    caller = subscribed(memory_box)
    repo = repo_of(memory_box)
    key, paid = next((k, c) for k, c in repo.charges.items() if k[0] == caller.account.id)
    repo.charges[key] = paid.evolve(state=ChargeState.PROCESSING)
    with pytest.raises(Conflict) as error:
        memory_box.subscription.change(caller, None, 4)
    assert error.value.code == "payment_in_progress"
    assert len(fake(memory_box).charges) == 1


def test_the_same_idempotency_key_moves_money_once(
    memory_box: Container, clock: FixedClock
) -> None:
    caller = subscribed(memory_box)
    clock.advance(days=5)
    first = memory_box.subscription.change(caller, None, 3, "key-1")
    again = memory_box.subscription.change(refresh(memory_box, caller), None, 3, "key-1")
    assert again.kind is first.kind is ChangeKind.IMMEDIATE
    assert len(succeeded_amounts(memory_box)) == 2
    assert again.account.seats == 3


def test_a_trial_cannot_change_its_plan(memory_box: Container) -> None:
    signed = memory_box.auth.signup(
        email="bo@example.com",
        password=PASSWORD,
        name="Bo",
        country="US",
        phone=None,
        locale="en",
        ip="10.0.0.1",
    )
    caller = memory_box.auth.authenticate(signed.token, "10.0.0.1")
    with pytest.raises(Conflict) as error:
        memory_box.subscription.preview(caller, "pro-monthly", None, "en")
    assert error.value.code == "not_allowed_in_status"


def test_cancel_at_period_end_keeps_the_account_until_then_and_never_renews(
    memory_box: Container, clock: FixedClock
) -> None:
    caller = subscribed(memory_box)
    end = caller.account.next_renewal_at
    assert end is not None
    account = memory_box.lifecycle.cancel_at_period_end(caller, PASSWORD, "too_expensive")
    assert account.status is AccountStatus.ACTIVE and account.cancel_at == end
    with pytest.raises(Conflict) as error:
        memory_box.subscription.change(refresh(memory_box, caller), None, 2)
    assert error.value.code == "cancellation_scheduled"
    clock.set(end - timedelta(seconds=1))
    assert run_job("renewals", box=memory_box)["cancelled"] == 0
    assert refresh(memory_box, caller).account.status is AccountStatus.ACTIVE
    clock.set(end)
    report = run_job("renewals", box=memory_box)
    assert report["cancelled"] == 1 and report["renewed"] == 0
    after = refresh(memory_box, caller).account
    assert after.status is AccountStatus.CANCELLED and after.cancel_at is None
    assert succeeded_amounts(memory_box) == [1500]  # no renewal, no refund
    mails = [m.template for m in repo_of(memory_box).mail.values()]
    assert mails.count("account_cancelled") == 1
    assert run_job("renewals", box=memory_box)["cancelled"] == 0  # once


def test_no_cancellation_is_scheduled_for_a_period_not_yet_paid(
    memory_box: Container, clock: FixedClock
) -> None:
    """A renewal whose charge met an unavailable gateway stays pending on an active account:
    scheduling the cancellation for the period's end is refused (found by the model-based
    money test: the job then left that charge pending on the cancelled account); a cancel
    now voids it and credits its invoice."""
    caller = subscribed(memory_box)
    renewal = caller.account.next_renewal_at
    assert renewal is not None
    clock.set(renewal)
    fake(memory_box).inject("unavailable")
    assert run_job("renewals", box=memory_box)["renewed"] == 0
    (owed,) = [c for c in repo_of(memory_box).charges.values() if c.is_open]
    assert refresh(memory_box, caller).account.status is AccountStatus.ACTIVE
    with pytest.raises(Conflict) as error:
        memory_box.lifecycle.cancel_at_period_end(refresh(memory_box, caller), PASSWORD)
    assert error.value.code == "payment_in_progress"
    assert refresh(memory_box, caller).account.cancel_at is None
    account, session = memory_box.repo.get_session(caller.account.id, caller.session.token_hash)
    assert account is not None and session is not None  # the session's re-auth state moved
    memory_box.lifecycle.cancel(Caller(account=account, session=session, ip=caller.ip), PASSWORD)
    charge = repo_of(memory_box).charges[(caller.account.id, owed.id)]
    assert charge.state is ChargeState.VOID
    invoice = repo_of(memory_box).invoices[(caller.account.id, owed.invoice_id)]
    assert invoice.status is InvoiceStatus.CREDITED
    assert succeeded_amounts(memory_box) == [1500]


def test_the_scheduled_cancellation_closes_as_a_cancel_now_does(
    memory_box: Container, clock: FixedClock
) -> None:
    """Should a charge be open when the period ends (none can be once it is scheduled, so
    the state is set here), the job voids it and credits its invoice, as a cancel does."""
    caller = subscribed(memory_box)
    memory_box.lifecycle.cancel_at_period_end(caller, PASSWORD)
    end = refresh(memory_box, caller).account.cancel_at
    assert end is not None
    repo = repo_of(memory_box)
    (paid,) = repo.charges.values()
    key = (caller.account.id, paid.id)
    repo.charges[key] = paid.evolve(state=ChargeState.PENDING, payment_intent_id=None)
    invoice_key = (caller.account.id, paid.invoice_id)
    repo.invoices[invoice_key] = repo.invoices[invoice_key].evolve(status=InvoiceStatus.OPEN)
    clock.set(end)
    assert run_job("renewals", box=memory_box)["cancelled"] == 1
    assert refresh(memory_box, caller).account.status is AccountStatus.CANCELLED
    assert repo.charges[key].state is ChargeState.VOID
    assert repo.invoices[invoice_key].status is InvoiceStatus.CREDITED
    (note,) = repo.credit_notes.values()
    assert note.invoice_id == paid.invoice_id
    templates = [m.template for m in repo.mail.values()]
    assert templates.count("account_cancelled") == 1 and templates.count("credit_note") == 1


def test_a_scheduled_cancellation_waits_while_a_charge_may_be_moving_money(
    memory_box: Container, clock: FixedClock
) -> None:
    caller = subscribed(memory_box)
    memory_box.lifecycle.cancel_at_period_end(caller, PASSWORD)
    end = refresh(memory_box, caller).account.cancel_at
    assert end is not None
    (paid,) = repo_of(memory_box).charges.values()
    in_flight = paid.evolve(state=ChargeState.UNKNOWN)  # as a lost answer leaves it
    repo_of(memory_box).charges[(caller.account.id, paid.id)] = in_flight
    clock.set(end)
    assert run_job("renewals", box=memory_box)["cancelled"] == 0
    assert refresh(memory_box, caller).account.status is AccountStatus.ACTIVE


def test_a_cancel_drops_the_scheduled_downgrade(memory_box: Container) -> None:
    """Found by the model-based money test: a cancelled account kept its scheduled change,
    and withdrawing it then failed on the missing renewal date (a 500)."""
    caller = subscribed(memory_box, "pro-yearly")
    changed = memory_box.subscription.change(caller, "basic-monthly", None)
    assert changed.kind is ChangeKind.SCHEDULED
    cancelled = memory_box.lifecycle.cancel(refresh(memory_box, caller), PASSWORD)
    assert cancelled.scheduled_change is None and cancelled.next_renewal_at is None
    with pytest.raises(Conflict) as error:
        memory_box.subscription.cancel_scheduled_change(refresh(memory_box, caller))
    assert error.value.code == "no_scheduled_change"


def test_resume_before_the_end_renews_as_before(memory_box: Container, clock: FixedClock) -> None:
    caller = subscribed(memory_box)
    memory_box.lifecycle.cancel_at_period_end(caller, PASSWORD)
    resumed = memory_box.lifecycle.resume(refresh(memory_box, caller))
    assert resumed.cancel_at is None
    with pytest.raises(Conflict) as error:
        memory_box.lifecycle.resume(refresh(memory_box, caller))
    assert error.value.code == "not_scheduled"
    clock.set(resumed.next_renewal_at or NOW)
    assert run_job("renewals", box=memory_box)["renewed"] == 1
    assert succeeded_amounts(memory_box) == [1500, 1500]


def test_a_trial_cannot_cancel_at_period_end(memory_box: Container) -> None:
    signed = memory_box.auth.signup(
        email="cy@example.com",
        password=PASSWORD,
        name="Cy",
        country="US",
        phone=None,
        locale="en",
        ip="10.0.0.1",
    )
    caller = memory_box.auth.authenticate(signed.token, "10.0.0.1")
    with pytest.raises(Conflict) as error:
        memory_box.lifecycle.cancel_at_period_end(caller, PASSWORD)
    assert error.value.code == "not_allowed_in_status"


def test_monthly_to_yearly_starts_a_yearly_period_now(
    memory_box: Container, clock: FixedClock
) -> None:
    caller = subscribed(memory_box, plan="pro-monthly")
    clock.advance(days=15)
    changed = memory_box.subscription.change(caller, "pro-yearly", None)
    account = changed.account
    assert account.plan == "pro-yearly"
    assert account.next_renewal_at == datetime(2027, 3, 16, 9, 0, tzinfo=UTC)
    charged = succeeded_amounts(memory_box)[-1]
    assert 49000 - 4900 < charged < 49000


def test_a_lost_answer_on_an_upgrade_is_reconciled_never_charged_twice(
    memory_box: Container, clock: FixedClock
) -> None:
    from chalicelib.domain.errors import DependencyUnavailable

    caller = subscribed(memory_box)
    clock.advance(days=7)
    fake(memory_box).inject("lost_answer")  # charged at Stripe, the answer lost
    with pytest.raises(DependencyUnavailable):
        memory_box.subscription.change(caller, None, 4)
    waiting = refresh(memory_box, caller).account
    assert waiting.pending_change is not None and waiting.seats == 1
    with pytest.raises(Conflict) as error:
        memory_box.subscription.change(refresh(memory_box, caller), None, 5)
    assert error.value.code == "payment_in_progress"
    end = waiting.next_renewal_at
    assert end is not None
    with pytest.raises(Conflict):  # no cancellation while the money may be moving
        memory_box.lifecycle.cancel(refresh(memory_box, caller), PASSWORD)
    run_job("retry-pending", box=memory_box)
    done = refresh(memory_box, caller).account
    assert (done.seats, done.pending_change, done.next_renewal_at) == (4, None, end)
    assert len(succeeded_amounts(memory_box)) == 2  # one charge for the upgrade
    clock.set(end)
    run_job("renewals", box=memory_box)
    assert succeeded_amounts(memory_box)[-1] == 6000
