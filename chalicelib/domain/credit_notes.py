"""Credit notes (avoirs): how an issued invoice is cancelled or money given back.

An issued invoice is never edited nor voided (CGI art. 289, API v2 "Money lifecycle rules").
What used to void one now issues a :class:`CreditNote` that refers to it:

* it has its own gapless yearly sequence (``CN-2026-000001``), taken from the counter
  ``credit_note#<year>`` in the same transaction that stores it, exactly like invoice
  numbers (``AccountChange.credit_counter``);
* it is immutable once issued: number, lines, VAT, totals, customer, seller and the tax facts
  are copied from its invoice (a full credit mirrors the invoice line for line; a partial
  refund is one line of the invoice's description, net and VAT split at the invoice's rate);
* only its :class:`Refund` (money going back through Stripe) moves, ``pending`` ->
  ``succeeded`` or ``failed``, conditional on the credit note's ``version``, like an invoice's
  status.  The refund's Stripe idempotency key is derived from the credit note
  (``refund:<credit note id>``), which exists before Stripe is called: a refund whose answer
  was lost is replayed with the same key, never made twice;
* a ``pending`` refund is in the sparse ``refund`` work queue (:meth:`CreditNote.queue_entry`,
  due at its ``check_at``) until it is settled: the ``reconcile-refunds`` job replays it with
  its key while that key is under 24 hours old (Stripe keeps an idempotency key's answer that
  long), and after that looks it up at Stripe by the credit note id it carries in its
  metadata; only a lookup that finds nothing sends it again, under a new key
  (``refund:<credit note id>:<attempt>``).  Every replay, lookup or new send is claimed
  first by a conditional write of the credit note (its ``check_at`` moved on), so two runs
  never both act on one refund;
* a credit note of an OSS sale is in the One-Stop Shop ledger of the quarter it is *issued*
  in (:meth:`CreditNote.oss_quarter`), where the return declares it (``services.oss``); an
  item carries one pair of queue keys, so while its refund is pending it is in the refund
  queue instead, and the export reads that (short) queue too;
* the invoice it credits changes status only: ``credited`` once credit notes cover its total.
  Every credit note is committed with a conditional write of its invoice's version, so two
  concurrent credits of one invoice cannot both pass the "what is left" check.

Amounts are integers in minor units of the invoice currency.
"""

from __future__ import annotations

import enum
import secrets
from collections.abc import Sequence
from datetime import datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from msgspec import Struct
from msgspec.structs import replace

from chalicelib.domain.billing import (
    Invoice,
    InvoiceLine,
    InvoiceStatus,
    Party,
    Tax,
)
from chalicelib.domain.errors import Conflict, InvalidInput
from chalicelib.domain.legal import SellerLegal
from chalicelib.domain.tax import TaxFacts, quarter_of

REFUND_QUEUE = "refund"  # pending refunds, by next check (``CreditNote.queue_entry``)
REFUND_KEY_TTL = timedelta(hours=24)  # how long Stripe keeps an idempotency key's answer
REFUND_RECHECK = timedelta(minutes=15)  # a claimed (or just sent) refund is due again then


class CreditReason(enum.StrEnum):
    """Why a credit note was issued (shown, translated, on the document)."""

    FIRST_PAYMENT_FAILED = "first_payment_failed"  # the subscription never started
    ACCOUNT_CANCELLED = "account_cancelled"  # cancelled with this invoice unpaid
    PERIOD_REPLACED = "period_replaced"  # a suspended account paid: a new period replaces it
    REFUND = "refund"  # support gave money back (POST /support/invoices/{id}/refund)
    REFUNDED_AT_STRIPE = "refunded_at_stripe"  # a refund made in Stripe's dashboard


class RefundStatus(enum.StrEnum):
    PENDING = "pending"  # stored, Stripe called (or about to be): the answer may be lost
    SUCCEEDED = "succeeded"
    FAILED = "failed"  # Stripe refused it: no money moved


class Refund(Struct, frozen=True):
    """Money given back for a credit note, through the invoice's PaymentIntent."""

    amount: int
    status: RefundStatus
    payment_intent_id: str | None
    key: str  # the idempotency key sent to Stripe
    request_key: str | None = None  # the caller's Idempotency-Key (support route)
    refund_id: str | None = None  # Stripe's ``re_...``
    failure_code: str | None = None
    attempt: int = 0  # sends under a new key after a lookup found nothing (``key``)
    sent_at: datetime | None = None  # when ``key`` was first sent (None: at the note's issue)
    check_at: datetime | None = None  # when a pending refund is due (None: at the note's issue)

    @property
    def counts(self) -> bool:
        """Money that went back, or may have: a failed refund gave nothing back."""
        return self.status is not RefundStatus.FAILED


class CreditNote(Struct, frozen=True):
    id: str
    account_id: str
    number: str
    invoice_id: str
    invoice_number: str
    issued_at: datetime
    reason: CreditReason
    currency: str
    lines: tuple[InvoiceLine, ...]
    subtotal: int
    tax: Tax
    total: int
    customer: Party
    seller: Party
    plan_id: str
    period_start: datetime
    period_end: datetime
    invoice_issued_at: datetime
    note: str | None = None  # support's own words
    tax_facts: TaxFacts | None = None
    seller_legal: SellerLegal | None = None
    refund: Refund | None = None
    version: int = 0

    def evolve(self, **changes: Any) -> CreditNote:
        return replace(self, version=self.version + 1, **changes)

    def queue_entry(self) -> tuple[str, datetime] | None:
        """``(queue, due time)``: a pending refund waits in ``refund`` until it is settled."""
        refund = self.refund
        if refund is None or refund.status is not RefundStatus.PENDING:
            return None
        return REFUND_QUEUE, refund.check_at or self.issued_at

    def oss_quarter(self) -> str | None:
        """The quarter whose One-Stop Shop return declares this credit note (the one it is
        issued in), for a credit of an OSS sale; None otherwise."""
        facts = self.tax_facts
        return quarter_of(self.issued_at) if facts is not None and facts.oss else None

    def refund_key_live(self, now: datetime) -> bool:
        """Whether Stripe still answers a replay of the refund's key with its first answer."""
        assert self.refund is not None
        return now - (self.refund.sent_at or self.issued_at) < REFUND_KEY_TTL

    def refund_claimed(self, now: datetime) -> CreditNote:
        """The pending refund claimed for one replay or lookup (due again if that is lost)."""
        assert self.refund is not None
        return self.evolve(refund=replace(self.refund, check_at=now + REFUND_RECHECK))

    def refund_resent(self, now: datetime) -> CreditNote:
        """A refund Stripe never received (looked up after its key expired), to be sent
        again under a new key."""
        assert self.refund is not None
        attempt = self.refund.attempt + 1
        return self.evolve(
            refund=replace(
                self.refund,
                attempt=attempt,
                key=f"refund:{self.id}:{attempt}",
                sent_at=now,
                check_at=now + REFUND_RECHECK,
            )
        )

    def refund_done(self, refund_id: str | None) -> CreditNote:
        assert self.refund is not None
        return self.evolve(
            refund=replace(
                self.refund,
                status=RefundStatus.SUCCEEDED,
                refund_id=refund_id or self.refund.refund_id,
            )
        )

    def refund_failed(self, code: str) -> CreditNote:
        assert self.refund is not None
        return self.evolve(
            refund=replace(self.refund, status=RefundStatus.FAILED, failure_code=code)
        )

    def document(self) -> Invoice:
        """The credit note in the shape the invoice documents (print, PDF, Factur-X) read."""
        return Invoice(
            id=self.id,
            account_id=self.account_id,
            number=self.number,
            status=InvoiceStatus.OPEN,
            issued_at=self.issued_at,
            period_start=self.period_start,
            period_end=self.period_end,
            currency=self.currency,
            lines=self.lines,
            subtotal=self.subtotal,
            tax=self.tax,
            total=self.total,
            customer=self.customer,
            seller=self.seller,
            plan_id=self.plan_id,
            tax_facts=self.tax_facts,
            seller_legal=self.seller_legal,
        )


CREDITABLE = (InvoiceStatus.OPEN, InvoiceStatus.PAID, InvoiceStatus.DISPUTED)


def credit_note_number(year: int, sequence: int) -> str:
    return f"CN-{year}-{sequence:06d}"


def credit_counter(year: int) -> str:
    return f"credit_note#{year}"


def new_credit_note_id(issued_at: datetime) -> str:
    """Time-ordered like invoice ids: sorting ids sorts by issue time."""
    return f"cn_{int(issued_at.timestamp() * 1000):013x}{secrets.token_hex(6)}"


def credited_total(notes: Sequence[CreditNote]) -> int:
    """What the credit notes of one invoice take off it (a failed refund's note stands: the
    invoice is still credited, the money is owed back by other means)."""
    return sum(n.total for n in notes)


def refunded_total(notes: Sequence[CreditNote]) -> int:
    """Money that went back (or may have) through Stripe for one invoice."""
    return sum(n.refund.amount for n in notes if n.refund is not None and n.refund.counts)


def left_to_credit(invoice: Invoice, notes: Sequence[CreditNote]) -> int:
    return max(invoice.total - credited_total(notes), 0)


def paid_amount(invoice: Invoice) -> int:
    """What the customer paid for ``invoice`` (0 unless it was paid)."""
    if invoice.status not in (InvoiceStatus.PAID, InvoiceStatus.DISPUTED, InvoiceStatus.CREDITED):
        return 0
    return sum(t.amount for t in invoice.transactions if t.status == "succeeded")


def refundable(invoice: Invoice, notes: Sequence[CreditNote]) -> int:
    """What can still be given back for a paid invoice: never above what was paid, nor above
    what the credit notes have not taken off yet."""
    if invoice.status is not InvoiceStatus.PAID:
        return 0
    return max(min(paid_amount(invoice) - refunded_total(notes), left_to_credit(invoice, notes)), 0)


def payment_intent_of(invoice: Invoice) -> str | None:
    for tx in reversed(invoice.transactions):
        if tx.status == "succeeded" and tx.payment_intent_id:
            return tx.payment_intent_id
    return None


def _split(invoice: Invoice, amount: int) -> tuple[tuple[InvoiceLine, ...], int, int]:
    """Lines, net and VAT of a credit of ``amount`` (VAT included) on ``invoice``."""
    if amount == invoice.total:
        return invoice.lines, invoice.subtotal, invoice.tax.amount
    rate = Decimal(invoice.tax.rate)
    net = int((Decimal(amount) * 100 / (100 + rate)).quantize(Decimal(1), ROUND_HALF_UP))
    description = invoice.lines[0].description if invoice.lines else invoice.plan_id
    return (InvoiceLine(description, 1, net, net),), net, amount - net


def credit_note_for(
    invoice: Invoice,
    notes: Sequence[CreditNote],
    *,
    sequence: int,
    now: datetime,
    reason: CreditReason,
    amount: int | None = None,
    note: str | None = None,
    refund: Refund | None = None,
) -> CreditNote:
    """The credit note of ``amount`` (default: all that is left) on ``invoice``, numbered
    ``sequence`` of ``now``'s year.  Raises Conflict ``nothing_to_credit`` when nothing is
    left, InvalidInput when ``amount`` is not a positive integer within what is left."""
    if invoice.status not in CREDITABLE:
        raise Conflict("nothing_to_credit")
    left = left_to_credit(invoice, notes)
    if left <= 0:
        raise Conflict("nothing_to_credit")
    if amount is None:
        amount = left
    if type(amount) is not int or amount <= 0 or amount > left:
        raise InvalidInput("invalid_amount", fields={"amount": "invalid_amount"})
    lines, net, vat = _split(invoice, amount)
    credit_id = new_credit_note_id(now)
    if refund is not None:
        refund = replace(refund, key=f"refund:{credit_id}")
        if refund.status is RefundStatus.PENDING:  # sent at once: the job looks later
            refund = replace(refund, check_at=now + REFUND_RECHECK)
    return CreditNote(
        id=credit_id,
        account_id=invoice.account_id,
        number=credit_note_number(now.year, sequence),
        invoice_id=invoice.id,
        invoice_number=invoice.number,
        issued_at=now,
        reason=reason,
        currency=invoice.currency,
        lines=lines,
        subtotal=net,
        tax=replace(invoice.tax, amount=vat),
        total=amount,
        customer=invoice.customer,
        seller=invoice.seller,
        plan_id=invoice.plan_id,
        period_start=invoice.period_start,
        period_end=invoice.period_end,
        invoice_issued_at=invoice.issued_at,
        note=note,
        tax_facts=invoice.tax_facts,
        seller_legal=invoice.seller_legal,
        refund=refund,
    )


def invoice_after_credit(invoice: Invoice, notes: Sequence[CreditNote]) -> Invoice:
    """The invoice once ``notes`` (all of its credit notes, the new ones included) exist: its
    status ``credited`` when they cover its total, else unchanged; always a new version (the
    conditional write that serialises credits of one invoice)."""
    if credited_total(notes) >= invoice.total:
        return invoice.evolve(status=InvoiceStatus.CREDITED)
    return invoice.evolve()
