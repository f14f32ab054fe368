"""Billing: addresses, invoices, their transactions, and the charges that collect them.

* An :class:`Invoice` is immutable once issued: its number, lines, amounts, customer and seller
  never change.  Only its ``status`` (``open`` -> ``paid`` or ``void``) and the list of
  ``transactions`` (every charge attempt: card, outcome, failure) grow, each change
  conditional on its ``version``.
* Invoice numbers are gapless per year (``HD-2026-000042``): the counter is bumped in the same
  transaction that stores the invoice, conditional on its previous value.
* A :class:`Charge` is the stored record of what is owed for one invoice.  It exists before any
  call to Stripe; its idempotency key is derived from it (``charge:<id>:attempt:<n>``), so
  retrying the same attempt can never charge twice.  Its states:
  ``pending`` (owed, waiting for the next attempt), ``processing`` (claimed, with a lease),
  ``unknown`` (the gateway's answer was lost: reconcile, never charge anew), ``paid``, ``void``.
* Amounts are integers in minor units of the invoice currency.
"""

from __future__ import annotations

import enum
import secrets
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from chalicelib.domain.legal import SellerLegal
from chalicelib.domain.payments import CardSummary, DeclineInfo
from chalicelib.domain.tax import TaxFacts


@dataclass(frozen=True)
class Address:
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
    VOID = "void"


class ChargeState(enum.StrEnum):
    PENDING = "pending"
    PROCESSING = "processing"
    UNKNOWN = "unknown"
    PAID = "paid"
    VOID = "void"


@dataclass(frozen=True)
class InvoiceLine:
    description: str
    quantity: int
    unit_amount: int
    amount: int


@dataclass(frozen=True)
class Tax:
    """The tax on an invoice: ``rate`` is a decimal percentage as text (``"20"``, ``"5.5"``)."""

    rate: str
    amount: int
    reverse_charge: bool = False
    mention_key: str | None = None


@dataclass(frozen=True)
class Party:
    """Seller or customer as printed on the invoice."""

    name: str
    address: Address | None = None
    vat_id: str | None = None
    email: str | None = None


@dataclass(frozen=True)
class Transaction:
    """One charge attempt as recorded on the invoice."""

    id: str
    at: datetime
    amount: int
    status: str  # succeeded, failed, requires_action, unknown
    card_brand: str | None = None
    card_last4: str | None = None
    failure_code: str | None = None
    failure_message_key: str | None = None
    payment_intent_id: str | None = None


@dataclass(frozen=True)
class Invoice:
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

    def evolve(self, **changes: Any) -> Invoice:
        return replace(self, version=self.version + 1, **changes)


@dataclass(frozen=True)
class Attempt:
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


@dataclass(frozen=True)
class Charge:
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
    version: int = 0

    def evolve(self, **changes: Any) -> Charge:
        return replace(self, version=self.version + 1, **changes)

    def queue_due_at(self) -> datetime | None:
        """When the retry job must look at this charge again, or None.

        Pending charges are due at their next retry (unless retries stopped after a hard
        decline); claimed or unknown ones when their lease expires (a crashed worker's claim
        is taken over; an unknown outcome is reconciled with the same key).
        """
        if self.state is ChargeState.PENDING:
            return None if self.retries_stopped else self.next_retry_at
        if self.state in (ChargeState.PROCESSING, ChargeState.UNKNOWN):
            return self.lease_until
        return None

    def idempotency_key(self) -> str:
        """The key of the current attempt: the same for every retry of that attempt."""
        return f"charge:{self.id}:attempt:{self.attempts}"


def new_invoice_id(issued_at: datetime) -> str:
    """A time-ordered id (milliseconds, then randomness): sorting ids sorts by issue time."""
    return f"in_{int(issued_at.timestamp() * 1000):013x}{secrets.token_hex(6)}"


def invoice_number(year: int, sequence: int) -> str:
    return f"HD-{year}-{sequence:06d}"


def transaction_for(
    charge_id: str,
    at: datetime,
    amount: int,
    status: str,
    card: CardSummary | None,
    failure: DeclineInfo | None = None,
    failure_key: str | None = None,
    payment_intent_id: str | None = None,
) -> Transaction:
    return Transaction(
        id=f"tx_{secrets.token_hex(8)}",
        at=at,
        amount=amount,
        status=status,
        card_brand=card.brand if card else None,
        card_last4=card.last4 if card else None,
        failure_code=failure.guidance.public_code if failure else None,
        failure_message_key=failure_key,
        payment_intent_id=payment_intent_id,
    )
