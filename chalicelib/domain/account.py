"""Accounts, sessions, outbox mail and audit events, and the rules on them."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any

from chalicelib.domain.billing import Address, Charge, Invoice
from chalicelib.domain.lifecycle import ReactivationRequest
from chalicelib.domain.payments import CardSummary


class AccountStatus(enum.StrEnum):
    TRIAL = "trial"
    ACTIVE = "active"
    PAST_DUE = "past_due"
    SUSPENDED = "suspended"
    CANCELLED = "cancelled"
    REACTIVATION_REQUESTED = "reactivation_requested"


LOCALES = ("en", "fr")


@dataclass(frozen=True)
class Account:
    """The customer account (one per email)."""

    id: str
    email: str
    name: str
    country: str
    locale: str
    password_hash: str
    created_at: datetime
    status: AccountStatus = AccountStatus.TRIAL
    phone: str | None = None
    plan: str | None = None
    trial_ends_at: datetime | None = None
    session_epoch: int = 0
    customer_id: str | None = None
    payment_method_id: str | None = None
    card: CardSummary | None = None
    billing_address: Address | None = None
    next_renewal_at: datetime | None = None
    vat_id: str | None = None
    vat_status: str | None = None  # pending, valid, invalid
    vat_checked_at: datetime | None = None
    vat_request_id: str | None = None
    subscribe_charge_id: str | None = None  # the first payment in flight (one at a time)
    version: int = 0

    def evolve(self, **changes: Any) -> Account:
        """A copy with ``changes`` applied and the version bumped (for a conditional write)."""
        return replace(self, version=self.version + 1, **changes)


@dataclass(frozen=True)
class Session:
    """A sign-in session; only the SHA-256 of the token's secret is stored."""

    account_id: str
    token_hash: str
    epoch: int
    created_at: datetime
    last_seen_at: datetime
    ip: str = ""

    def is_live(
        self, account: Account, now: datetime, idle_seconds: int, absolute_seconds: int
    ) -> bool:
        """Still usable: same epoch as the account, within idle and absolute limits."""
        return (
            self.epoch == account.session_epoch
            and now < self.created_at + timedelta(seconds=absolute_seconds)
            and now < self.last_seen_at + timedelta(seconds=idle_seconds)
        )

    def expires_at(self, idle_seconds: int, absolute_seconds: int) -> datetime:
        """When this session can no longer be used, whatever happens (for TTL housekeeping)."""
        return min(
            self.created_at + timedelta(seconds=absolute_seconds),
            self.last_seen_at + timedelta(seconds=idle_seconds),
        )


class MailStatus(enum.StrEnum):
    PENDING = "pending"
    SENT = "sent"
    FAILED = "failed"


@dataclass(frozen=True)
class OutboxMail:
    """A mail stored with the change that causes it, sent later by the outbox relay."""

    id: str
    to: str
    template: str
    locale: str
    created_at: datetime
    params: dict[str, str] = field(default_factory=dict)
    account_id: str | None = None
    status: MailStatus = MailStatus.PENDING
    attempts: int = 0
    next_attempt_at: datetime | None = None
    lease_until: datetime | None = None
    sent_at: datetime | None = None
    provider_id: str | None = None
    last_error: str | None = None


@dataclass(frozen=True)
class AuditEvent:
    """A security-relevant event kept on the account (who, what, when, from where)."""

    account_id: str
    at: datetime
    event: str
    actor: str = "customer"
    ip: str = ""
    details: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class WorkItem:
    """A scheduled piece of work for one account in a named queue (e.g. ``vat``).

    ``due_at`` None removes it.  ``attempts`` counts consecutive failures (for backoff).
    """

    account_id: str
    queue: str
    due_at: datetime | None
    attempts: int = 0


@dataclass(frozen=True)
class Marker:
    """A small keyed record: a lookup (Stripe customer -> account), a processed webhook event,
    or a stored answer for an ``Idempotency-Key``.  ``unique`` makes the write fail with
    ``MarkerExists`` when the key is already taken; ``expires_at`` lets TTL clean it up."""

    kind: str
    key: str
    value: str
    unique: bool = True
    expires_at: datetime | None = None
    account_id: str | None = None  # kept under the account (read with its other items)


@dataclass(frozen=True)
class AccountChange:
    """Everything one use case writes, committed atomically by the repository.

    ``account`` is the new state (its ``version`` is the old one plus one: the write is
    conditional on the stored version).  ``email_swap`` moves the unique email marker.
    ``invoices`` and ``charges`` are ``(new state, expected stored version)`` pairs, ``None``
    meaning "create, must not exist".  ``counter`` is ``(name, expected value)``: the counter
    is bumped by one, conditional on that value (gapless invoice numbers).
    """

    account: Account | None = None
    expected_version: int | None = None
    create: bool = False
    email_swap: tuple[str, str] | None = None
    put_sessions: tuple[Session, ...] = ()
    delete_sessions: tuple[tuple[str, str], ...] = ()
    mails: tuple[OutboxMail, ...] = ()
    audit: tuple[AuditEvent, ...] = ()
    invoices: tuple[tuple[Invoice, int | None], ...] = ()
    charges: tuple[tuple[Charge, int | None], ...] = ()
    counter: tuple[str, int] | None = None
    work: tuple[WorkItem, ...] = ()
    markers: tuple[Marker, ...] = ()
    requests: tuple[tuple[ReactivationRequest, int | None], ...] = ()  # as invoices
