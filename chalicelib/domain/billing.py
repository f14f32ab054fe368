"""Billing: addresses, invoices, their transactions, and the charges that collect them.

* An :class:`Invoice` is immutable once issued: its number, lines, amounts, customer and seller
  never change.  Only its ``status`` (``open`` -> ``paid``; ``credited`` once credit notes
  cover it, :mod:`chalicelib.domain.credit_notes`; ``disputed``) and the list of
  ``transactions`` (every charge attempt: card, outcome, failure) grow, each change
  conditional on its ``version``.
* Invoice numbers are gapless per year (``HD-2026-000042``): the counter is bumped in the same
  transaction that stores the invoice, conditional on its previous value.
* A :class:`Charge` is the stored record of what is owed for one invoice.  It exists before any
  call to Stripe, with the :class:`Attempt` (key, amount, card) stored on it; the key is derived
  from it (``charge:<id>:attempt:<n>``), so retrying the same attempt can never charge twice.
  Its states: ``pending`` (owed, waiting for the next attempt), ``processing`` (claimed, with a
  lease), ``unknown`` (the gateway's answer was lost: due at once for reconciliation, never
  charged anew), ``paid``, ``void`` (nothing is owed any more: a declined first payment, a
  cancelled account, a period replaced by a new one; its invoice gets a credit note).
* Every change of a charge is one of the transitions below (``claim``, ``reclaim``,
  ``paid``, ``declined``, ``unknown``, ``put_back``, ``void``, ``card_changed``,
  ``suspension_done``); :mod:`chalicelib.services.settlement` is their one caller for
  outcomes, so each rule has one owner.
* Amounts are integers in minor units of the invoice currency.
"""

from __future__ import annotations

import enum
import secrets
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from msgspec import Struct
from msgspec.structs import replace

from chalicelib.domain.legal import SellerLegal
from chalicelib.domain.payments import CardSummary, DeclineClass, DeclineInfo
from chalicelib.domain.tax import TaxFacts


class Address(Struct, frozen=True):
    name: str
    line1: str
    city: str
    postal_code: str
    country: str
    line2: str | None = None
    state: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "line1": self.line1,
            "line2": self.line2,
            "city": self.city,
            "postal_code": self.postal_code,
            "state": self.state,
            "country": self.country,
        }

    def lines(self) -> list[str]:
        """The address as printed lines."""
        city = " ".join(p for p in (self.postal_code, self.city) if p)
        return [p for p in (self.name, self.line1, self.line2, city, self.state, self.country) if p]


class InvoiceStatus(enum.StrEnum):
    OPEN = "open"
    PAID = "paid"
    VOID = "void"  # only on invoices stored before credit notes existed
    CREDITED = "credited"  # credit notes cover its total (``domain.credit_notes``)
    DISPUTED = "disputed"  # the cardholder disputed the payment at their bank


class ChargeState(enum.StrEnum):
    PENDING = "pending"
    PROCESSING = "processing"
    UNKNOWN = "unknown"
    PAID = "paid"
    VOID = "void"


OPEN_CHARGE_STATES = (ChargeState.PENDING, ChargeState.PROCESSING, ChargeState.UNKNOWN)
RETRY_QUEUE = "retry"  # charges the retry job must look at (``Charge.queue_entry``)


class ChargePurpose(enum.StrEnum):
    """Why a charge exists: what its success changes on the account."""

    SUBSCRIBE = "subscribe"  # the first period: success makes the account active on its plan
    RENEWAL = "renewal"  # a renewal (or a pending charge paid later)
    RESTART = "restart"  # a suspended account paying: a new period from the time it pays
    CHANGE = "change"  # an upgrade mid-period: success applies the account's pending change

    @property
    def void_on_failure(self) -> bool:
        """Nothing is owed when this charge fails: what it was for (the first period, an
        upgrade) does not happen, and the account stays as it was."""
        return self in (ChargePurpose.SUBSCRIBE, ChargePurpose.CHANGE)


class TransactionStatus(enum.StrEnum):
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    REQUIRES_ACTION = "requires_action"


class InvoiceLine(Struct, frozen=True):
    description: str
    quantity: int
    unit_amount: int
    amount: int


class Tax(Struct, frozen=True):
    """The tax on an invoice: ``rate`` is a decimal percentage as text (``"20"``, ``"5.5"``)."""

    rate: str
    amount: int
    reverse_charge: bool = False
    mention_key: str | None = None


class Party(Struct, frozen=True):
    """Seller or customer as printed on the invoice."""

    name: str
    address: Address | None = None
    vat_id: str | None = None
    email: str | None = None


class Transaction(Struct, frozen=True):
    """One charge attempt as recorded on the invoice."""

    id: str
    at: datetime
    amount: int
    status: str  # a TransactionStatus value
    card_brand: str | None = None
    card_last4: str | None = None
    failure_code: str | None = None
    failure_message_key: str | None = None
    payment_intent_id: str | None = None


class Invoice(Struct, frozen=True):
    id: str
    account_id: str
    number: str
    status: InvoiceStatus
    issued_at: datetime
    period_start: datetime
    period_end: datetime
    currency: str
    lines: tuple[InvoiceLine, ...]
    subtotal: int
    tax: Tax
    total: int
    customer: Party
    seller: Party
    plan_id: str
    transactions: tuple[Transaction, ...] = ()
    version: int = 0
    # legal content, fixed at issue (None on invoices issued before it existed)
    tax_facts: TaxFacts | None = None
    seller_legal: SellerLegal | None = None
    # an EU consumer asked for the service to start at once and waived the 14-day right of
    # withdrawal (Directive 2011/83/EU art. 16 m; Code de la consommation L221-28), then
    withdrawal_waived_at: datetime | None = None

    def evolve(self, **changes: Any) -> Invoice:
        return replace(self, version=self.version + 1, **changes)

    @property
    def is_open(self) -> bool:
        """Still owed (what "apply pending charges" pays)."""
        return self.status is InvoiceStatus.OPEN

    def oss_quarter(self) -> str | None:
        """The VAT quarter whose One-Stop Shop ledger lists this invoice (an OSS sale), or
        None.  Decided by the tax facts fixed at issue, so it never changes."""
        facts = self.tax_facts
        return facts.quarter if facts is not None and facts.oss else None

    def with_transaction(self, tx: Transaction) -> Invoice:
        """A failed (or authentication) attempt recorded; still open."""
        return self.evolve(transactions=(*self.transactions, tx))

    def paid(self, tx: Transaction) -> Invoice:
        return self.evolve(status=InvoiceStatus.PAID, transactions=(*self.transactions, tx))

    def disputed(self) -> Invoice:
        """The payment is disputed at the cardholder's bank (``charge.dispute.created``)."""
        return self.evolve(status=InvoiceStatus.DISPUTED)


class Attempt(Struct, frozen=True):
    """One call to the gateway in flight, stored on every charge it pays before it is made.

    A lost answer or a crashed worker is recovered by replaying exactly this call (same key,
    same amount, same card, same session mode): Stripe answers with the first result.
    """

    key: str
    charge_ids: tuple[str, ...]
    amount: int
    currency: str
    payment_method_id: str
    on_session: bool
    created_at: datetime | None = None  # when the key was first used (Stripe keeps it 24 h)
    description: str = ""  # sent with the charge (a replay must send the same request)

    def key_expired(self, now: datetime) -> bool:
        """Past Stripe's 24 h idempotency window: look the payment up instead of replaying."""
        return self.created_at is not None and now - self.created_at >= IDEMPOTENCY_WINDOW


IDEMPOTENCY_WINDOW = timedelta(hours=24)
LEASE = timedelta(minutes=15)  # longer than any Lambda timeout


def next_retry_at(
    first_failed_at: datetime, schedule_days: Sequence[int], now: datetime
) -> datetime | None:
    """The first scheduled retry after ``now``, or None when the schedule is exhausted."""
    for days in schedule_days:
        due = first_failed_at + timedelta(days=days)
        if due > now:
            return due
    return None


class Charge(Struct, frozen=True):
    id: str
    account_id: str
    invoice_id: str
    amount: int
    currency: str
    state: ChargeState
    created_at: datetime
    attempts: int = 0
    lease_until: datetime | None = None
    first_failed_at: datetime | None = None
    next_retry_at: datetime | None = None
    retries_stopped: bool = False
    last_failure: DeclineInfo | None = None
    last_failure_key: str | None = None
    payment_intent_id: str | None = None
    attempt: Attempt | None = None
    purpose: ChargePurpose = ChargePurpose.RENEWAL
    suspend_at: datetime | None = None  # a stopped charge suspends the account then
    version: int = 0

    def evolve(self, **changes: Any) -> Charge:
        return replace(self, version=self.version + 1, **changes)

    @property
    def is_open(self) -> bool:
        return self.state in OPEN_CHARGE_STATES

    def queue_entry(self) -> tuple[str, datetime] | None:
        """``(queue, due time)`` of the work queue the charge is in (``retry``), or None."""
        due = self.queue_due_at()
        return (RETRY_QUEUE, due) if due is not None else None

    def queue_due_at(self) -> datetime | None:
        """When the retry job must look at this charge again, or None.

        Pending charges are due at their next retry, or (retries stopped after a hard decline)
        at the end of the grace period, to suspend the account; claimed ones when their lease
        expires (a crashed worker's claim is taken over); unknown ones at once (reconciled by
        the next run with the same key, or looked up at Stripe).
        """
        if self.state is ChargeState.PENDING:
            return self.suspend_at if self.retries_stopped else self.next_retry_at
        if self.state is ChargeState.UNKNOWN:
            return self.next_retry_at or self.lease_until or self.created_at
        if self.state is ChargeState.PROCESSING:
            return self.lease_until
        return None

    def idempotency_key(self) -> str:
        """The key of the current attempt: the same for every retry of that attempt."""
        return f"charge:{self.id}:attempt:{self.attempts}"

    def suspends_at(self, schedule_days: Sequence[int]) -> datetime | None:
        """When the account is suspended if nothing changes (told to the customer)."""
        if self.state is not ChargeState.PENDING or self.last_failure is None:
            return None
        if self.retries_stopped:
            return self.suspend_at
        if self.first_failed_at is None or not schedule_days or self.next_retry_at is None:
            return None  # not failed yet, or the schedule is over (suspended already)
        return self.first_failed_at + timedelta(days=schedule_days[-1])

    # --- transitions ----------------------------------------------------------------------
    def claim(self, attempt: Attempt, now: datetime) -> Charge:
        """Pending -> processing with ``attempt`` stored (its key numbered from attempts)."""
        assert self.state is ChargeState.PENDING, self.state
        return self.evolve(
            attempts=self.attempts + 1,
            state=ChargeState.PROCESSING,
            lease_until=now + LEASE,
            attempt=attempt,
        )

    def reclaim(self, now: datetime) -> Charge:
        """Unknown (or processing with an expired lease) -> processing, same attempt."""
        assert self.attempt is not None and self.state in (
            ChargeState.UNKNOWN,
            ChargeState.PROCESSING,
        )
        return self.evolve(state=ChargeState.PROCESSING, lease_until=now + LEASE)

    def paid(self, payment_intent_id: str | None) -> Charge:
        return self.evolve(
            state=ChargeState.PAID,
            lease_until=None,
            next_retry_at=None,
            attempt=None,
            suspend_at=None,
            payment_intent_id=payment_intent_id or self.payment_intent_id,
        )

    def declined(
        self,
        failure: DeclineInfo,
        now: datetime,
        *,
        schedule_days: Sequence[int],
        grace: timedelta,
        payment_intent_id: str | None,
        suspended: bool = False,
    ) -> Charge:
        """Back to pending after a decline: the next retry from the schedule (soft), or
        retries stopped with the account's suspension date (every other class).  A suspended
        account is not retried automatically: it comes back when the customer pays."""
        guidance = failure.guidance
        first = self.first_failed_at or now
        stopped = guidance.decline_class.stops_retries or suspended
        return self.evolve(
            state=ChargeState.PENDING,
            lease_until=None,
            attempt=None,
            first_failed_at=first,
            next_retry_at=None if stopped else next_retry_at(first, schedule_days, now),
            retries_stopped=stopped,
            suspend_at=None if suspended or not stopped else (self.suspend_at or now + grace),
            last_failure=failure,
            last_failure_key=guidance.message_key,
            payment_intent_id=payment_intent_id or self.payment_intent_id,
        )

    def schedule_exhausted(self) -> bool:
        """A soft decline with no retry left: the account is suspended now."""
        return (
            self.state is ChargeState.PENDING
            and not self.retries_stopped
            and self.last_failure is not None
            and self.next_retry_at is None
        )

    def unknown(self, now: datetime) -> Charge:
        """The answer was lost: due at once for reconciliation (same attempt, same key)."""
        return self.evolve(state=ChargeState.UNKNOWN, lease_until=None, next_retry_at=now)

    def put_back(self, retry_at: datetime) -> Charge:
        """Nothing happened at Stripe (unavailable, or no PaymentIntent found after the key
        expired): pending again, the next attempt gets a new number and key."""
        return self.evolve(
            state=ChargeState.PENDING,
            lease_until=None,
            attempt=None,
            next_retry_at=retry_at if not self.retries_stopped else self.next_retry_at,
        )

    def void(self) -> Charge:
        return self.evolve(
            state=ChargeState.VOID,
            lease_until=None,
            attempt=None,
            next_retry_at=None,
            retries_stopped=True,
            suspend_at=None,
        )

    def card_changed(self, now: datetime) -> Charge:
        """A new card: the old card's failure no longer applies; due at once (a claimed
        charge keeps its claim: its holder sees the new card and retries with it)."""
        changes: dict[str, Any] = {
            "retries_stopped": False,
            "suspend_at": None,
            "last_failure": None,
            "last_failure_key": None,
        }
        if self.state is ChargeState.PENDING:
            changes["next_retry_at"] = now
        return self.evolve(**changes)

    def suspension_done(self) -> Charge:
        """The grace period ended and the account was suspended: not due any more."""
        return self.evolve(suspend_at=None)

    @property
    def decline_class(self) -> DeclineClass | None:
        return self.last_failure.guidance.decline_class if self.last_failure else None


def new_invoice_id(issued_at: datetime) -> str:
    """A time-ordered id (milliseconds, then randomness): sorting ids sorts by issue time."""
    return f"in_{int(issued_at.timestamp() * 1000):013x}{secrets.token_hex(6)}"


def invoice_number(year: int, sequence: int) -> str:
    return f"HD-{year}-{sequence:06d}"


def transaction_for(
    charge_id: str,
    at: datetime,
    amount: int,
    status: TransactionStatus,
    card: CardSummary | None,
    *,
    failure: DeclineInfo | None = None,
    failure_key: str | None = None,
    payment_intent_id: str | None = None,
) -> Transaction:
    return Transaction(
        id=f"tx_{secrets.token_hex(8)}",
        at=at,
        amount=amount,
        status=status.value,
        card_brand=card.brand if card else None,
        card_last4=card.last4 if card else None,
        failure_code=failure.guidance.public_code if failure else None,
        failure_message_key=failure_key,
        payment_intent_id=payment_intent_id,
    )
