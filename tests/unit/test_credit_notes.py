"""Credit notes and refunds over the in-memory repository and the fake payment gateway.

For every path that used to void an issued invoice: a credit note exists that refers to it,
the invoice's content is unchanged (only its status and version move), and neither the
invoice numbers nor the credit note numbers have a gap.  Refunds: full and partial, never
above what is left, idempotent by the caller's key, a lost answer replayed with the same key
(one refund at "Stripe"), and the ``charge.refunded`` / ``charge.dispute.created`` events.
"""

from __future__ import annotations

import threading
from datetime import timedelta
from typing import Any

import pytest
from msgspec.structs import replace

from chalicelib.adapters.fake_payments import CardBehaviour, FakePaymentGateway
from chalicelib.adapters.memory import InMemoryRepository
from chalicelib.domain.account import AccountStatus, Caller
from chalicelib.domain.billing import Invoice, InvoiceStatus
from chalicelib.domain.credit_notes import CreditReason, RefundStatus
from chalicelib.domain.errors import Conflict, InvalidInput, NotFound
from chalicelib.domain.payments import CardDeclined, DeclineInfo, PaymentGatewayUnavailable
from chalicelib.jobs.run import run_job
from chalicelib.services.mail import render_mail
from chalicelib.wiring import Container
from tests.helpers import forget_signup_mail

PASSWORD = "correct horse battery staple"
IP = "10.0.0.1"


@pytest.fixture
def box(memory_box: Container) -> Container:
    return memory_box


def repo(box: Container) -> InMemoryRepository:
    assert isinstance(box.repo, InMemoryRepository)
    return box.repo


def fake(box: Container) -> FakePaymentGateway:
    assert isinstance(box.gateway, FakePaymentGateway)
    return box.gateway


def signed_in(box: Container, email: str, country: str = "FR", locale: str = "en") -> Caller:
    signed = box.auth.signup(
        email=email,
        password=PASSWORD,
        name="Ada",
        country=country,
        phone=None,
        locale=locale,
        ip=IP,
    )
    forget_signup_mail(box)
    return box.auth.authenticate(signed.token, IP)


def fresh(box: Container, caller: Caller) -> Caller:
    token = box.auth.login(caller.account.email, PASSWORD, IP).token
    return box.auth.authenticate(token, IP)


def with_card(box: Container, caller: Caller, number: str = "4242424242424242") -> Caller:
    box.billing.set_card(caller, fake(box).add_test_card(number))
    return fresh(box, caller)


def body(invoice: Invoice) -> Invoice:
    """What never changes on an issued invoice (status, transactions, version aside)."""
    return replace(invoice, status=InvoiceStatus.OPEN, transactions=(), version=0)


def assert_gapless(box: Container) -> None:
    """Per year, the numbers taken are exactly 1..counter, for invoices and credit notes."""
    for counter, numbers in (
        ("invoice", [i.number for i in repo(box).invoices.values()]),
        ("credit_note", [n.number for n in repo(box).credit_notes.values()]),
    ):
        by_year: dict[str, list[int]] = {}
        for number in numbers:
            _, year, sequence = number.split("-")
            by_year.setdefault(year, []).append(int(sequence))
        for year, sequences in by_year.items():
            top = repo(box).counters.get(f"{counter}#{year}", 0)
            assert sorted(sequences) == list(range(1, top + 1)), (counter, year, sequences)
    assert all(n.number.startswith("CN-") for n in repo(box).credit_notes.values())


def assert_credited(box: Container, invoice: Invoice, reason: CreditReason) -> None:
    """``invoice`` (as first stored) is credited in full, its content unchanged."""
    after = repo(box).invoices[(invoice.account_id, invoice.id)]
    assert after.status is InvoiceStatus.CREDITED
    assert body(after) == body(invoice)  # number, lines, VAT, parties, tax facts unchanged
    (note,) = [n for n in repo(box).credit_notes.values() if n.invoice_id == invoice.id]
    assert (note.invoice_number, note.reason, note.refund) == (invoice.number, reason, None)
    assert (note.lines, note.subtotal, note.tax, note.total) == (
        invoice.lines,
        invoice.subtotal,
        invoice.tax,
        invoice.total,
    )
    assert (note.customer, note.seller, note.tax_facts) == (
        invoice.customer,
        invoice.seller,
        invoice.tax_facts,
    )
    assert_gapless(box)


def only_invoice(box: Container) -> Invoice:
    (invoice,) = repo(box).invoices.values()
    return invoice


# --- every path that used to void ---------------------------------------------------------


def test_a_declined_first_payment_is_credited_not_voided(box: Container) -> None:
    caller = with_card(box, signed_in(box, "a@example.com"), "4000000000000341")
    first = with_card(box, signed_in(box, "b@example.com"))
    box.billing.subscribe(first, "basic-monthly")  # HD-...-000001, paid
    stored: list[Invoice] = []
    original = repo(box).commit

    def spy(change: Any) -> None:  # the invoice as it was first stored, before any outcome
        stored.extend(i for i, v in change.invoices if v is None)
        original(change)

    repo(box).commit = spy  # type: ignore[method-assign]
    with pytest.raises(CardDeclined):
        box.billing.subscribe(caller, "basic-monthly")
    (issued,) = stored
    assert issued.number.endswith("-000002")
    assert_credited(box, issued, CreditReason.FIRST_PAYMENT_FAILED)
    assert repo(box).accounts[caller.account.id].status is AccountStatus.TRIAL


def test_a_first_payment_stripe_never_processed_is_credited(box: Container) -> None:
    caller = with_card(box, signed_in(box, "a@example.com"))
    fake(box).unavailable = True
    with pytest.raises(PaymentGatewayUnavailable):
        box.billing.subscribe(caller, "basic-monthly")
    invoice = only_invoice(box)
    assert_credited(
        box, replace(invoice, status=InvoiceStatus.OPEN), CreditReason.FIRST_PAYMENT_FAILED
    )
    fake(box).unavailable = False
    box.billing.subscribe(fresh(box, caller), "basic-monthly")  # a new invoice, the next number
    assert_gapless(box)
    assert sorted(i.status for i in repo(box).invoices.values()) == ["credited", "paid"]


def test_cancelling_with_open_invoices_credits_them_in_one_batch_read(box: Container) -> None:
    caller = with_card(box, signed_in(box, "a@example.com"))
    account = box.billing.subscribe(caller, "basic-monthly")
    assert account.payment_method_id and account.next_renewal_at
    soft = CardBehaviour.declines(DeclineInfo("card_declined", "insufficient_funds"))
    fake(box).set_behaviour(account.payment_method_id, soft)
    box.clock.set(account.next_renewal_at)  # type: ignore[attr-defined]
    assert box.billing.run_renewals().failed == 1
    (owed,) = box.billing.pending_charges(account.id)
    open_invoice = repo(box).invoices[(account.id, owed.invoice_id)]
    caller = fresh(box, caller)
    reads: list[str] = []
    for name in ("get_invoice", "invoices_by_id"):
        method = getattr(repo(box), name)

        def counted(*args: Any, _name: str = name, _method: Any = method) -> Any:
            reads.append(_name)
            return _method(*args)

        setattr(repo(box), name, counted)
    box.lifecycle.cancel(caller, PASSWORD)
    assert reads == ["invoices_by_id"]  # one batch, not one read per open charge
    assert_credited(box, open_invoice, CreditReason.ACCOUNT_CANCELLED)
    (mail,) = [m for m in repo(box).mail.values() if m.template == "credit_note"]
    subject, text = render_mail(mail)
    assert open_invoice.number in subject and "CN-" in subject and "18.00" in text
    paid = [i for i in repo(box).invoices.values() if i.id != open_invoice.id]
    assert [i.status for i in paid] == [InvoiceStatus.PAID]  # paid invoices are untouched


def test_a_suspended_account_that_pays_gets_its_lost_period_credited(box: Container) -> None:
    caller = with_card(box, signed_in(box, "a@example.com"))
    account = box.billing.subscribe(caller, "basic-monthly")
    assert account.payment_method_id and account.next_renewal_at
    soft = CardBehaviour.declines(DeclineInfo("card_declined", "insufficient_funds"))
    fake(box).set_behaviour(account.payment_method_id, soft)
    box.clock.set(account.next_renewal_at)  # type: ignore[attr-defined]
    box.billing.run_renewals()
    (owed,) = box.billing.pending_charges(account.id)
    lost = repo(box).invoices[(account.id, owed.invoice_id)]
    for days in box.settings.retry_schedule_days:
        box.clock.set(owed.first_failed_at + timedelta(days=days))  # type: ignore[attr-defined,operator]
        run_job("retry-pending", box=box)
    assert repo(box).accounts[account.id].status is AccountStatus.SUSPENDED
    fake(box).set_behaviour(account.payment_method_id, CardBehaviour())
    box.dunning.pay_pending(fresh(box, caller))
    after = repo(box).invoices[(account.id, lost.id)]
    lost_now = replace(lost, transactions=after.transactions)
    assert_credited(box, lost_now, CreditReason.PERIOD_REPLACED)


def test_concurrent_cancels_and_failed_subscribes_never_repeat_or_skip_a_number(
    box: Container,
) -> None:
    callers = [
        with_card(box, signed_in(box, f"u{i}@example.com"), "4000000000000341") for i in range(8)
    ]
    errors: list[BaseException] = []

    def subscribe(caller: Caller) -> None:
        try:
            box.billing.subscribe(caller, "basic-monthly")
        except CardDeclined:
            pass
        except BaseException as error:  # pragma: no cover - shown by the assert below
            errors.append(error)

    threads = [threading.Thread(target=subscribe, args=(c,)) for c in callers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert len(repo(box).credit_notes) == 8
    assert_gapless(box)


# --- refunds ------------------------------------------------------------------------------


def paid_invoice(box: Container, email: str = "paid@example.com", locale: str = "en") -> Invoice:
    caller = with_card(box, signed_in(box, email, locale=locale))
    box.billing.subscribe(caller, "basic-monthly")  # FR consumer: 15.00 + 3.00 VAT
    (invoice,) = [i for i in repo(box).invoices.values() if i.account_id == caller.account.id]
    assert (invoice.status, invoice.total) == (InvoiceStatus.PAID, 1800)
    return invoice


def test_a_full_refund_is_a_credit_note_and_money_back_once(box: Container) -> None:
    invoice = paid_invoice(box, locale="fr")
    note = box.credit_notes.refund(invoice.id, amount=None, reason="Goodwill", request_key="k1")
    assert note.refund is not None and note.refund.status is RefundStatus.SUCCEEDED
    assert (note.total, note.subtotal, note.tax.amount, note.lines) == (
        1800,
        1500,
        300,
        invoice.lines,
    )
    assert (note.reason, note.note, note.invoice_id) == (
        CreditReason.REFUND,
        "Goodwill",
        invoice.id,
    )
    assert note.refund.key == f"refund:{note.id}"
    (made,) = fake(box).refunds
    assert (made.amount, made.idempotency_key) == (1800, note.refund.key)
    assert made.metadata["credit_note_id"] == note.id
    assert repo(box).invoices[(invoice.account_id, invoice.id)].status is InvoiceStatus.CREDITED
    again = box.credit_notes.refund(invoice.id, amount=None, reason="Goodwill", request_key="k1")
    assert again == repo(box).credit_notes[(invoice.account_id, note.id)]
    assert len(fake(box).refunds) == 1 and len(repo(box).credit_notes) == 1
    with pytest.raises(Conflict) as nothing:
        box.credit_notes.refund(invoice.id, amount=None, reason="Again", request_key="k2")
    assert nothing.value.code == "nothing_to_refund"
    (mail,) = [m for m in repo(box).mail.values() if m.template == "credit_note_refund"]
    subject, text = render_mail(mail)
    assert note.number in subject and "18,00" in text and invoice.number in text
    assert_gapless(box)


def test_partial_refunds_split_the_vat_and_never_exceed_what_was_paid(box: Container) -> None:
    invoice = paid_invoice(box)
    first = box.credit_notes.refund(invoice.id, amount=600, reason="Outage", request_key="a")
    assert (first.total, first.subtotal, first.tax.amount, first.tax.rate) == (600, 500, 100, "20")
    (line,) = first.lines
    assert (line.quantity, line.amount) == (1, 500)
    assert repo(box).invoices[(invoice.account_id, invoice.id)].status is InvoiceStatus.PAID
    with pytest.raises(InvalidInput) as above:
        box.credit_notes.refund(invoice.id, amount=1201, reason="Too much", request_key="b")
    assert above.value.fields == {"amount": "amount_above_refundable"}
    rest = box.credit_notes.refund(invoice.id, amount=1200, reason="Rest", request_key="c")
    assert rest.total == 1200
    assert sum(r.amount for r in fake(box).refunds) == 1800
    assert repo(box).invoices[(invoice.account_id, invoice.id)].status is InvoiceStatus.CREDITED
    assert_gapless(box)


def test_a_refund_whose_answer_is_lost_is_replayed_with_its_key_not_made_twice(
    box: Container,
) -> None:
    invoice = paid_invoice(box)
    fake(box).inject("lost_answer")
    pending = box.credit_notes.refund(invoice.id, amount=500, reason="Outage", request_key="r")
    assert pending.refund is not None and pending.refund.status is RefundStatus.PENDING
    assert len(fake(box).refunds) == 1  # the money did go back; we just do not know yet
    done = box.credit_notes.refund(invoice.id, amount=500, reason="Outage", request_key="r")
    assert done.id == pending.id
    assert done.refund is not None and done.refund.status is RefundStatus.SUCCEEDED
    assert len(fake(box).refunds) == 1 and fake(box).calls[pending.refund.key] == 2
    assert len(repo(box).credit_notes) == 1


def test_refund_refusals(box: Container) -> None:
    with pytest.raises(NotFound):
        box.credit_notes.refund("in_" + "0" * 25, amount=None, reason="x", request_key=None)
    caller = with_card(box, signed_in(box, "a@example.com"), "4000000000000341")
    with pytest.raises(CardDeclined):
        box.billing.subscribe(caller, "basic-monthly")
    credited = only_invoice(box)
    with pytest.raises(Conflict) as unpaid:
        box.credit_notes.refund(credited.id, amount=None, reason="x", request_key=None)
    assert unpaid.value.code == "nothing_to_refund"
    assert fake(box).refunds == []


def test_two_concurrent_refunds_of_one_invoice_never_give_back_more_than_was_paid(
    box: Container,
) -> None:
    invoice = paid_invoice(box)
    outcomes: list[str] = []

    def refund(key: str) -> None:
        try:
            box.credit_notes.refund(invoice.id, amount=1000, reason="x", request_key=key)
            outcomes.append("refunded")
        except InvalidInput:
            outcomes.append("refused")

    threads = [threading.Thread(target=refund, args=(f"k{i}",)) for i in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(outcomes) == ["refunded", "refused", "refused", "refused"]
    assert sum(r.amount for r in fake(box).refunds) == 1000
    assert_gapless(box)


# --- Stripe's events ----------------------------------------------------------------------


def refunded_event(invoice: Invoice, box: Container, event_id: str, amount: int) -> dict[str, Any]:
    account = repo(box).accounts[invoice.account_id]
    intent = invoice.transactions[-1].payment_intent_id
    return {
        "id": event_id,
        "type": "charge.refunded",
        "data": {
            "object": {
                "id": "ch_1",
                "customer": account.customer_id,
                "payment_intent": intent,
                "amount_refunded": amount,
            }
        },
    }


def test_a_refund_made_in_stripes_dashboard_issues_its_credit_note_once(box: Container) -> None:
    invoice = paid_invoice(box)
    assert box.webhooks.receive(refunded_event(invoice, box, "evt_1", 800)) == "applied"
    assert box.webhooks.receive(refunded_event(invoice, box, "evt_1", 800)) == "duplicate"
    (note,) = repo(box).credit_notes.values()
    assert (note.total, note.reason) == (800, CreditReason.REFUNDED_AT_STRIPE)
    assert note.refund is not None and note.refund.status is RefundStatus.SUCCEEDED
    # a second refund in the dashboard: Stripe's amount_refunded is cumulative
    assert box.webhooks.receive(refunded_event(invoice, box, "evt_2", 1800)) == "applied"
    assert sorted(n.total for n in repo(box).credit_notes.values()) == [800, 1000]
    assert repo(box).invoices[(invoice.account_id, invoice.id)].status is InvoiceStatus.CREDITED
    assert fake(box).refunds == []  # nothing sent back to Stripe: the money already moved
    mails = [m for m in repo(box).mail.values() if m.template == "credit_note_refund"]
    assert len(mails) == 2
    assert_gapless(box)


def test_the_echo_of_a_refund_made_here_issues_nothing_more(box: Container) -> None:
    invoice = paid_invoice(box)
    box.credit_notes.refund(invoice.id, amount=700, reason="x", request_key="k")
    assert box.webhooks.receive(refunded_event(invoice, box, "evt_echo", 700)) == "recorded"
    assert len(repo(box).credit_notes) == 1
    assert box.webhooks.receive(refunded_event(invoice, box, "evt_echo", 700)) == "duplicate"


def test_a_dispute_marks_the_invoice_disputed_and_mails_support_once(box: Container) -> None:
    invoice = paid_invoice(box)
    account = repo(box).accounts[invoice.account_id]
    event = {
        "id": "evt_dp",
        "type": "charge.dispute.created",
        "data": {
            "object": {
                "id": "dp_1",
                "customer": account.customer_id,
                "payment_intent": invoice.transactions[-1].payment_intent_id,
            }
        },
    }
    assert box.webhooks.receive(event) == "applied"
    assert box.webhooks.receive(event) == "duplicate"
    after = repo(box).invoices[(invoice.account_id, invoice.id)]
    assert after.status is InvoiceStatus.DISPUTED and body(after) == body(invoice)
    (mail,) = [m for m in repo(box).mail.values() if m.template == "payment_disputed"]
    assert mail.to == box.settings.support_email
    assert invoice.number in render_mail(mail)[1]
    with pytest.raises(Conflict):  # a disputed payment is settled by the dispute, not a refund
        box.credit_notes.refund(invoice.id, amount=None, reason="x", request_key=None)


# --- the customer's reads -------------------------------------------------------------------


def test_the_customer_lists_credit_notes_newest_first_and_only_their_own(box: Container) -> None:
    invoice = paid_invoice(box)
    other = paid_invoice(box, "other@example.com")
    ids = []
    for key in ("a", "b", "c"):
        box.clock.advance(seconds=1)  # type: ignore[attr-defined]
        ids.append(box.credit_notes.refund(invoice.id, amount=100, reason="x", request_key=key).id)
    box.credit_notes.refund(other.id, amount=100, reason="x", request_key="o")
    caller = Caller(repo(box).accounts[invoice.account_id], None, IP)  # type: ignore[arg-type]
    page, after = box.credit_notes.credit_notes(caller, 2, None)
    assert [n.id for n in page] == ids[::-1][:2] and after == ids[1]
    rest, end = box.credit_notes.credit_notes(caller, 2, after)
    assert [n.id for n in rest] == [ids[0]] and end is None
    other_note = next(n for n in repo(box).credit_notes.values() if n.invoice_id == other.id)
    with pytest.raises(NotFound):
        box.credit_notes.credit_note(caller, other_note.id)
