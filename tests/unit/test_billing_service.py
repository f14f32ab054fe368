"""Billing use cases over the in-memory repository and the fake payment gateway."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest

from chalicelib.adapters.fake_payments import TIME_OUT, CardBehaviour
from chalicelib.domain.account import AccountChange, AccountStatus, Caller, MarkerKind
from chalicelib.domain.billing import Address, ChargeState, InvoiceStatus
from chalicelib.domain.errors import Conflict, DependencyUnavailable, InvalidInput, NotFound
from chalicelib.domain.payments import (
    CardDeclined,
    DeclineInfo,
    PaymentGatewayUnavailable,
    PaymentMethodInvalid,
)
from chalicelib.services.billing import CardChanges
from chalicelib.wiring import Container
from tests.helpers import PASSWORD, forget_signup_mail
from tests.unit.conftest import fake
from tests.unit.conftest import repo as repo_of


def caller_for(box: Container, email: str = "ada@example.com", country: str = "US") -> Caller:
    signed = box.auth.signup(
        email=email,
        password=PASSWORD,
        name="Ada",
        country=country,
        phone=None,
        locale="en",
        ip="10.0.0.1",
    )
    forget_signup_mail(box)
    return box.auth.authenticate(signed.token, "10.0.0.1")


def refresh(box: Container, caller: Caller) -> Caller:
    account = box.repo.get_account(caller.account.id)
    assert account is not None
    return Caller(account=account, session=caller.session, ip=caller.ip)


def with_card(box: Container, caller: Caller, number: str = "4242424242424242") -> Caller:
    box.billing.set_card(caller, fake(box).add_test_card(number))
    return refresh(box, caller)


def test_a_new_card_creates_the_customer_once_and_becomes_the_default(box: Container) -> None:
    caller = caller_for(box)
    first = fake(box).add_test_card("4242424242424242")
    account = box.billing.set_card(caller, first)
    assert account.card is not None and account.card.last4 == "4242"
    assert account.customer_id and fake(box).default_payment_method(account.customer_id) == first
    second = fake(box).add_test_card("5555555555554444")
    again = box.billing.set_card(refresh(box, caller), second)
    assert again.customer_id == account.customer_id
    assert again.card is not None and again.card.last4 == "4444"
    assert fake(box).default_payment_method(account.customer_id) == second


@pytest.mark.parametrize("value", ["4242 4242 4242 4242", "4242424242424242", "card_123", ""])
def test_card_numbers_and_malformed_ids_are_refused(box: Container, value: str) -> None:
    caller = caller_for(box)
    with pytest.raises(PaymentMethodInvalid):
        box.billing.set_card(caller, value)
    assert repo_of(box).accounts[caller.account.id].card is None
    assert fake(box).requests == 0


def test_subscribe_charges_the_first_period_and_issues_a_paid_invoice(box: Container) -> None:
    caller = with_card(box, caller_for(box))
    now = box.clock.now()
    account = box.billing.subscribe(caller, "pro-monthly")
    assert account.status is AccountStatus.ACTIVE and account.plan == "pro-monthly"
    assert account.next_renewal_at is not None
    assert account.next_renewal_at.month == (now.month % 12) + 1
    ((_, invoice),) = repo_of(box).invoices.items()
    assert invoice.status is InvoiceStatus.PAID
    assert invoice.number == f"HD-{now.year}-000001"
    assert (invoice.subtotal, invoice.tax.amount, invoice.total) == (4900, 0, 4900)  # US: no VAT
    (tx,) = invoice.transactions
    assert (tx.status, tx.card_last4, tx.amount) == ("succeeded", "4242", 4900)
    (charge,) = repo_of(box).charges.values()
    assert charge.state is ChargeState.PAID
    assert [c.idempotency_key for c in fake(box).charges] == [f"charge:{charge.id}:attempt:1"]
    assert [m.template for m in repo_of(box).mail.values()] == ["payment_receipt"]


def test_an_eu_consumer_pays_the_vat_of_their_country(box: Container) -> None:
    caller = with_card(box, caller_for(box, country="FR"))
    box.billing.subscribe(caller, "basic-monthly")
    ((_, invoice),) = repo_of(box).invoices.items()
    assert (invoice.tax.rate, invoice.tax.amount, invoice.total) == ("20", 300, 1800)
    assert fake(box).charges[0].amount == 1800


def test_subscribe_refusals_change_nothing(box: Container) -> None:
    caller = caller_for(box)
    with pytest.raises(InvalidInput) as no_card:
        box.billing.subscribe(caller, "pro-monthly")
    assert no_card.value.code == "no_card"
    caller = with_card(box, caller)
    with pytest.raises(InvalidInput) as unknown:
        box.billing.subscribe(caller, "platinum")
    assert unknown.value.code == "unknown_plan"
    assert repo_of(box).invoices == {} and fake(box).charges == []
    box.billing.subscribe(caller, "pro-monthly")
    with pytest.raises(Conflict) as twice:
        box.billing.subscribe(refresh(box, caller), "pro-monthly")
    assert twice.value.code == "already_subscribed"
    assert len(fake(box).charges) == 1


def test_a_declined_first_payment_credits_the_invoice_and_keeps_the_trial(
    box: Container,
) -> None:
    caller = with_card(box, caller_for(box), "4000000000000341")
    with pytest.raises(CardDeclined) as declined:
        box.billing.subscribe(caller, "pro-monthly")
    assert declined.value.STATUS_CODE == 402
    assert repo_of(box).accounts[caller.account.id].status is AccountStatus.TRIAL
    ((_, invoice),) = repo_of(box).invoices.items()
    assert invoice.status is InvoiceStatus.CREDITED
    assert [t.status for t in invoice.transactions] == ["failed"]
    (note,) = repo_of(box).credit_notes.values()
    assert (note.invoice_id, note.total, note.reason) == (
        invoice.id,
        invoice.total,
        "first_payment_failed",
    )
    (charge,) = repo_of(box).charges.values()
    assert charge.state is ChargeState.VOID


def test_a_lost_answer_is_unknown_not_failed_and_not_charged_again(box: Container) -> None:
    caller = with_card(box, caller_for(box))
    assert caller.account.payment_method_id
    fake(box).set_behaviour(caller.account.payment_method_id, TIME_OUT)
    with pytest.raises(DependencyUnavailable) as unknown:
        box.billing.subscribe(caller, "pro-monthly")
    assert unknown.value.code == "payment_outcome_unknown"
    (charge,) = repo_of(box).charges.values()
    assert charge.state is ChargeState.UNKNOWN
    assert len(fake(box).charges) == 1  # the charge did go through; nothing was retried


def test_stripe_down_answers_503_and_leaves_nothing_half_done(box: Container) -> None:
    caller = with_card(box, caller_for(box))
    fake(box).unavailable = True
    with pytest.raises(PaymentGatewayUnavailable):
        box.billing.subscribe(caller, "pro-monthly")
    ((_, invoice),) = repo_of(box).invoices.items()
    assert invoice.status is InvoiceStatus.CREDITED
    (note,) = repo_of(box).credit_notes.values()
    assert note.invoice_number == invoice.number and note.number == "CN-2026-000001"
    assert repo_of(box).accounts[caller.account.id].status is AccountStatus.TRIAL


def test_invoice_numbers_have_no_gaps_under_concurrency(box: Container) -> None:
    callers = [with_card(box, caller_for(box, email=f"u{i}@example.com")) for i in range(12)]
    errors: list[BaseException] = []

    def subscribe(caller: Caller) -> None:
        try:
            box.billing.subscribe(caller, "basic-monthly")
        except BaseException as error:
            errors.append(error)

    threads = [threading.Thread(target=subscribe, args=(c,)) for c in callers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    year = box.clock.now().year
    numbers = sorted(i.number for i in repo_of(box).invoices.values())
    assert numbers == [f"HD-{year}-{n:06d}" for n in range(1, 13)]


def test_renewals_bill_each_period_once(box: Container) -> None:
    caller = with_card(box, caller_for(box))
    account = box.billing.subscribe(caller, "basic-monthly")
    assert account.next_renewal_at is not None
    assert box.billing.run_renewals().renewed == 0  # not due yet
    box.clock.set(account.next_renewal_at + timedelta(minutes=1))  # type: ignore[attr-defined]
    report = box.billing.run_renewals()
    assert report.renewed == 1
    assert box.billing.run_renewals().renewed == 0  # the same event twice: no double work
    renewed = repo_of(box).accounts[account.id]
    assert renewed.next_renewal_at is not None and renewed.next_renewal_at > account.next_renewal_at
    invoices = sorted(repo_of(box).invoices.values(), key=lambda i: i.number)
    assert [i.status for i in invoices] == [InvoiceStatus.PAID, InvoiceStatus.PAID]
    assert invoices[1].period_start == account.next_renewal_at
    assert len(fake(box).charges) == 2


@pytest.mark.parametrize(
    ("decline", "hard"),
    [
        (DeclineInfo("card_declined", "insufficient_funds", "try_again_later"), False),
        (DeclineInfo("card_declined", "stolen_card"), True),
        (DeclineInfo("expired_card"), True),
    ],
)
def test_a_failed_renewal_leaves_a_pending_charge_and_a_past_due_account(
    box: Container, decline: DeclineInfo, hard: bool
) -> None:
    caller = with_card(box, caller_for(box))
    account = box.billing.subscribe(caller, "basic-monthly")
    assert account.payment_method_id and account.next_renewal_at
    fake(box).set_behaviour(account.payment_method_id, CardBehaviour.declines(decline))
    box.clock.set(account.next_renewal_at)  # type: ignore[attr-defined]
    assert box.billing.run_renewals().failed == 1
    stored = repo_of(box).accounts[account.id]
    assert stored.status is AccountStatus.PAST_DUE
    (pending,) = box.billing.pending_charges(account.id)
    assert pending.state is ChargeState.PENDING and pending.retries_stopped is hard
    now = box.clock.now()
    if hard:  # retries stop; the account is suspended after the grace period
        assert pending.next_retry_at is None
        assert pending.suspend_at == now + timedelta(days=box.settings.hard_decline_grace_days)
    else:  # the first retry of the configured schedule
        assert pending.next_retry_at == now + timedelta(days=box.settings.retry_schedule_days[0])
    invoice = repo_of(box).invoices[(account.id, pending.invoice_id)]
    assert invoice.status is InvoiceStatus.OPEN
    assert [t.status for t in invoice.transactions] == ["failed"]
    templates = sorted(m.template for m in repo_of(box).mail.values())
    assert templates == ["payment_failed", "payment_receipt"]


def test_card_edits(box: Container) -> None:
    caller = caller_for(box)
    with pytest.raises(NotFound) as no_card:
        box.billing.edit_card(caller, CardChanges(exp_month=1))
    assert no_card.value.code == "no_card"
    caller = with_card(box, caller)
    now = box.clock.now()
    with pytest.raises(InvalidInput) as past:
        box.billing.edit_card(caller, CardChanges(exp_year=now.year - 1))
    assert past.value.code == "card_expired"
    account = box.billing.edit_card(
        caller, CardChanges(exp_month=3, exp_year=now.year + 3, name="Ada K")
    )
    assert account.card is not None
    assert (account.card.exp_month, account.card.exp_year) == (3, now.year + 3)
    assert account.card.last4 == "4242"


def test_address_is_stored(box: Container) -> None:
    caller = caller_for(box)
    address = Address(
        name="Ada", line1="1 Main St", city="Springfield", postal_code="12345", country="US"
    )
    stored, vat_set_aside = box.billing.set_address(caller, address)
    assert stored.billing_address == address and not vat_set_aside
    assert repo_of(box).accounts[caller.account.id].billing_address == address


def test_another_accounts_invoice_is_not_found(box: Container) -> None:
    owner = with_card(box, caller_for(box))
    box.billing.subscribe(owner, "basic-monthly")
    ((_, invoice),) = repo_of(box).invoices.items()
    stranger = caller_for(box, email="eve@example.com")
    with pytest.raises(NotFound):
        box.billing.invoice(stranger, invoice.id)
    assert box.billing.invoice(refresh(box, owner), invoice.id) == invoice


def test_invoice_pages_are_newest_first(box: Container) -> None:
    caller = with_card(box, caller_for(box))
    account = box.billing.subscribe(caller, "basic-monthly")
    for _ in range(4):
        current = repo_of(box).accounts[account.id]
        assert current.next_renewal_at
        box.clock.set(current.next_renewal_at)  # type: ignore[attr-defined]
        box.billing.run_renewals()
    first, after = box.billing.invoices(caller, 2, None)
    second, after2 = box.billing.invoices(caller, 2, after)
    third, end = box.billing.invoices(caller, 2, after2)
    numbers = [i.number for i in first + second + third]
    assert numbers == sorted(numbers, reverse=True) and len(numbers) == 5
    assert end is None


def test_a_stale_account_cannot_subscribe_twice_concurrently(box: Container) -> None:
    caller = with_card(box, caller_for(box))
    box.repo.commit(
        AccountChange(
            account=caller.account.evolve(name="changed"), expected_version=caller.account.version
        )
    )
    with pytest.raises(Conflict):
        box.billing.subscribe(caller, "basic-monthly")  # caller holds the old version
    assert fake(box).charges == []


# --- cards: expiry, issuing country, SetupIntent ------------------------------------------


def test_an_expired_card_is_refused_on_save_edit_and_subscribe(box: Container) -> None:
    caller = caller_for(box)
    now = box.clock.now()
    last_month = (now.replace(day=1) - timedelta(days=1)).date()
    expired = fake(box).add_test_card(
        "4242424242424242", exp_month=last_month.month, exp_year=last_month.year
    )
    with pytest.raises(InvalidInput) as refused:
        box.billing.set_card(caller, expired)
    assert (refused.value.code, refused.value.fields) == (
        "card_expired",
        {"exp_year": "card_expired"},
    )
    assert repo_of(box).accounts[caller.account.id].card is None
    # valid through the last day of its month
    this_month = fake(box).add_test_card("4242424242424242", exp_month=now.month, exp_year=now.year)
    caller = refresh(box, caller)
    assert box.billing.set_card(caller, this_month).card is not None
    caller = refresh(box, caller)
    with pytest.raises(InvalidInput) as edited:
        box.billing.edit_card(
            caller, CardChanges(exp_month=last_month.month, exp_year=last_month.year)
        )
    assert edited.value.code == "card_expired"
    # the month passes: subscribing with it charges nothing
    box.clock.set(now.replace(day=1) + timedelta(days=40))  # type: ignore[attr-defined]
    with pytest.raises(InvalidInput) as at_subscribe:
        box.billing.subscribe(refresh(box, caller), "pro-monthly")
    assert at_subscribe.value.code == "card_expired"
    assert fake(box).charges == [] and repo_of(box).invoices == {}
    assert refresh(box, caller).account.status is AccountStatus.TRIAL


def test_the_card_keeps_its_issuing_country(box: Container) -> None:
    caller = caller_for(box)
    method = fake(box).add_card(issuer_country="DE")
    account = box.billing.set_card(caller, method)
    assert account.card is not None and account.card.issuer_country == "DE"
    stored = repo_of(box).accounts[caller.account.id].card
    assert stored is not None and stored.as_dict()["issuer_country"] == "DE"


def test_card_setup_makes_the_customer_once_and_the_saved_card_goes_on_file(
    box: Container,
) -> None:
    caller = caller_for(box)
    secret = box.billing.start_card_setup(caller)
    account = repo_of(box).accounts[caller.account.id]
    assert account.customer_id and fake(box).setup_intents[secret] == account.customer_id
    assert (
        box.repo.get_marker(MarkerKind.CUSTOMER, account.customer_id) == account.id
    )  # for webhooks
    second = box.billing.start_card_setup(refresh(box, caller))
    assert second != secret and fake(box).setup_intents[second] == account.customer_id
    method = fake(box).confirm_card_setup(second)
    on_file = box.billing.set_card(refresh(box, caller), method)
    assert on_file.customer_id == account.customer_id and on_file.payment_method_id == method
    assert fake(box).default_payment_method(account.customer_id) == method


def test_a_malformed_seller_siren_refuses_the_invoice_before_anything_moves(
    box: Container,
) -> None:
    """The cold start only checks the seller identity is set; the numbers are checked when an
    invoice takes them, before the invoice is stored and before Stripe is called."""
    from msgspec.structs import replace

    from chalicelib.domain.legal import SellerSettingsMissing

    caller = with_card(box, caller_for(box))
    box.__dict__.pop("billing", None)  # rebuilt over the settings below
    box.__dict__.pop("settlement", None)
    box.settings = replace(box.settings, vendor_siren="123456789")
    with pytest.raises(SellerSettingsMissing, match="VENDOR_SIREN"):
        box.billing.subscribe(caller, "pro-monthly")
    assert repo_of(box).invoices == {} and repo_of(box).charges == {}
    assert fake(box).charges == []
