"""Accounts, sessions, outbox mail and audit events, and the rules on them.

Two rules live here because every layer asks them:

* what a status may do (:meth:`AccountStatus.refusal`): a *restricted* status (``suspended``,
  ``trial_expired``) keeps only the essential routes (billing, ``GET /account``, sign-out,
  profile, password, cancel); every other route is refused with the status's own error code.
  The HTTP gate asks this, nothing else decides it;
* which work queue an account item is in (:meth:`Account.queue_entry`): an active account
  waits in ``renewal`` for its next renewal, a trial in ``trial`` for its next trial step (the
  "ends in 3 days" notice, then the expiry).  A status is one or the other, so the account
  item carries at most one pair of queue keys.  The ``renewal`` entry is due at the renewal or
  earlier, at the first reminder still to mail before it (:meth:`Account.reminders_pending`:
  the yearly renewal notice, the card expiring before the renewal), so the ``reminders`` job
  reads the same sparse queue and finds an account only when something is due.
"""

from __future__ import annotations

import enum
import hashlib
import hmac
from datetime import datetime, timedelta
from typing import Any

from msgspec import Struct, field
from msgspec.structs import replace

from chalicelib.domain.billing import Address, Charge, Invoice
from chalicelib.domain.credit_notes import CreditNote
from chalicelib.domain.ids import new_session_token
from chalicelib.domain.lifecycle import ReactivationRequest
from chalicelib.domain.payments import CardSummary
from chalicelib.domain.plans import PlanChange, period_end, period_start
from chalicelib.domain.throttle import Settle, ThrottleState, TrustedDevice


class AccountStatus(enum.StrEnum):
    TRIAL = "trial"
    ACTIVE = "active"
    PAST_DUE = "past_due"
    SUSPENDED = "suspended"
    CANCELLED = "cancelled"
    REACTIVATION_REQUESTED = "reactivation_requested"
    TRIAL_EXPIRED = "trial_expired"

    def refusal(self, essential: bool) -> str | None:
        """The error code refusing a route to an account in this status, or None if allowed.

        ``essential``: the route stays open to restricted accounts (so they can pay, read
        their account, fix their profile or password, cancel, sign out)."""
        return None if essential else _RESTRICTED.get(self)

    @property
    def may_owe(self) -> bool:
        """Open charges may exist (what sign-in reads for its ``pending_payment``)."""
        return self in (AccountStatus.PAST_DUE, AccountStatus.SUSPENDED)

    @property
    def can_subscribe(self) -> bool:
        """A first subscription is possible (a trial, running or ended)."""
        return self in (AccountStatus.TRIAL, AccountStatus.TRIAL_EXPIRED)


_RESTRICTED = {
    AccountStatus.SUSPENDED: "account_suspended",
    AccountStatus.TRIAL_EXPIRED: "trial_expired",
}

TRIAL_NOTICE_DAYS = 3  # the "your trial ends in 3 days" mail goes this long before the end

# the work queues items wait in (``queue_entry`` of Account, OutboxMail; Charge's is in billing)
RENEWAL_QUEUE = "renewal"  # active accounts, by next renewal
TRIAL_QUEUE = "trial"  # trial accounts, by next trial step
OUTBOX_QUEUE = "outbox"  # pending mail, by next attempt
MAIL_FAILED_QUEUE = "mail_failed"  # mail failed for good, by creation time


class TrialStep(enum.StrEnum):
    """What the ``trials`` job does to a trial account when it is due."""

    NOTICE = "notice"  # mail "your trial ends in 3 days" (once per trial end date)
    EXPIRE = "expire"  # the trial is over: ``trial_expired``, with its mail


CARD_NOTICE_DAYS = 30  # "your card expires before the renewal" goes this long before it


class Reminder(enum.StrEnum):
    """What the ``reminders`` job mails before a renewal (each once per renewal date)."""

    RENEWAL = "renewal_notice"  # yearly plans: the date and the amount, a few days before
    CARD = "card_expiring"  # the card on file will have expired by the renewal


LOCALES = ("en", "fr")


class Account(Struct, frozen=True):
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
    trial_notice_for: datetime | None = None  # the trial end the 3-day notice was mailed for
    subscribe_charge_id: str | None = None  # the first payment in flight (one at a time)
    email_verified: bool = False  # the address was proven (a link mailed to it was opened)
    pending_email: str | None = None  # an email change waiting for the new address's proof
    mfa_secret: str | None = None  # the TOTP secret once confirmed (sign-in asks for a code)
    mfa_pending_secret: str | None = None  # a TOTP setup not confirmed yet
    mfa_last_step: int = 0  # the time step of the last code accepted (never accepted again)
    recovery_codes: tuple[str, ...] = ()  # SHA-256 of the unused recovery codes
    renewal_notice_for: datetime | None = None  # the renewal the renewal notice was mailed for
    card_notice_for: datetime | None = None  # the renewal the card-expiry notice was mailed for
    seats: int = 1  # agent seats of the plan (at least 1; accounts stored before: 1)
    cancel_at: datetime | None = None  # a cancellation scheduled for the end of the period
    scheduled_change: PlanChange | None = None  # a downgrade applied at the next renewal
    pending_change: PlanChange | None = None  # an upgrade whose charge is in flight
    # when the current period started (set when a period starts; accounts stored before, or
    # whose renewal date was set otherwise: derived, see ``current_period_start``)
    period_started_at: datetime | None = None
    version: int = 0

    def evolve(self, **changes: Any) -> Account:
        """A copy with ``changes`` applied and the version bumped (for a conditional write)."""
        return replace(self, version=self.version + 1, **changes)

    def current_period_start(self, interval: str) -> datetime | None:
        """The start of the period that ends at ``next_renewal_at`` (None without one).

        The stored start when it is this period's (one ``interval`` from it is the renewal:
        right after a month-end clamp too, Jan 31 to Feb 28, where counting back from the
        renewal would say Jan 28); else, for items stored before it was kept or a renewal
        date set another way, one ``interval`` before the renewal."""
        end = self.next_renewal_at
        if end is None:
            return None
        start = self.period_started_at
        if start is not None and start < end and period_end(start, interval) == end:
            return start
        return period_start(end, interval)

    def trial_due_at(self) -> datetime | None:
        """When the ``trials`` job must next look at this account; None when not a trial.

        The notice is due ``TRIAL_NOTICE_DAYS`` before the end until it has been mailed for
        this end date (a trial given a new end date by a reactivation gets a new notice); then
        the end itself is due."""
        if self.status is not AccountStatus.TRIAL or self.trial_ends_at is None:
            return None
        if self.trial_notice_for != self.trial_ends_at:
            return self.trial_ends_at - timedelta(days=TRIAL_NOTICE_DAYS)
        return self.trial_ends_at

    def trial_step(self, now: datetime) -> TrialStep | None:
        """What the ``trials`` job must do at ``now``: nothing, mail the notice, or end it.

        An ended trial is expired even if its notice was never mailed (one mail, not two)."""
        due = self.trial_due_at()
        if due is None or due > now:
            return None
        assert self.trial_ends_at is not None
        return TrialStep.EXPIRE if now >= self.trial_ends_at else TrialStep.NOTICE

    def reminders_pending(
        self, renewal_lead: timedelta | None = None
    ) -> tuple[tuple[Reminder, datetime], ...]:
        """The reminders not yet mailed for the next renewal, each with when it is due.

        ``renewal_lead``: how long before the renewal its notice goes, None for plans that get
        none (``Settings.renewal_notice_lead``: yearly plans only).  The card notice goes
        ``CARD_NOTICE_DAYS`` before the renewal when the card on file will have expired by
        then (a card is valid through the last day of its expiry month).  Each is marked with
        the renewal date it was mailed for, so the next renewal gets its own.  None while a
        cancellation is scheduled at or before the renewal: there will be no renewal (so the
        queue entry does not wake the job for them either)."""
        renewal = self.next_renewal_at
        if self.status is not AccountStatus.ACTIVE or renewal is None:
            return ()
        if self.cancel_at is not None and self.cancel_at <= renewal:
            return ()
        pending: list[tuple[Reminder, datetime]] = []
        if renewal_lead is not None and self.renewal_notice_for != renewal:
            pending.append((Reminder.RENEWAL, renewal - renewal_lead))
        expiring = self.card is not None and self.card.is_expired(renewal)
        if expiring and self.card_notice_for != renewal:
            pending.append((Reminder.CARD, renewal - timedelta(days=CARD_NOTICE_DAYS)))
        return tuple(pending)

    def renewal_due(self, now: datetime) -> bool:
        """The renewal is due at ``now`` (as read, possibly the index copy) and not replaced
        by the scheduled cancellation (the renewals job)."""
        renewal = self.next_renewal_at
        if self.status is not AccountStatus.ACTIVE or renewal is None or renewal > now:
            return False
        return self.cancel_at is None or self.cancel_at > now

    def cancellation_due(self, now: datetime) -> bool:
        """The scheduled cancellation takes effect by ``now`` (as read)."""
        return (
            self.status is AccountStatus.ACTIVE
            and self.cancel_at is not None
            and self.cancel_at <= now
        )

    def reminders_due(
        self, now: datetime, renewal_lead: timedelta | None = None
    ) -> tuple[Reminder, ...]:
        """The reminders to mail at ``now``: due, and the renewal still ahead (once it is due,
        the renewal itself is what happens; its reminders are moot)."""
        if self.next_renewal_at is None or now >= self.next_renewal_at:
            return ()
        return tuple(r for r, at in self.reminders_pending(renewal_lead) if at <= now)

    def queue_entry(self, renewal_lead: timedelta | None = None) -> tuple[str, datetime] | None:
        """``(queue, due time)`` of the work queue the account item is in, or None.

        An active account waits in ``renewal`` until its first pending reminder or its renewal,
        whichever comes first (``renewal_lead`` as in :meth:`reminders_pending`)."""
        if self.status is AccountStatus.ACTIVE and self.next_renewal_at is not None:
            reminders = [at for _, at in self.reminders_pending(renewal_lead)]
            return RENEWAL_QUEUE, min([self.next_renewal_at, *reminders])
        due = self.trial_due_at()
        return (TRIAL_QUEUE, due) if due is not None else None


class Session(Struct, frozen=True):
    """A sign-in session; only the SHA-256 of the token's secret is stored."""

    account_id: str
    token_hash: str
    epoch: int
    created_at: datetime
    last_seen_at: datetime
    ip: str = ""
    reauth: ThrottleState = field(default_factory=ThrottleState)  # domain.throttle
    user_agent: str = ""  # as sent at sign-in (at most USER_AGENT_MAX characters)

    @property
    def public_id(self) -> str:
        """The id the sessions list shows: derived from the token hash, never the hash itself
        (which is the key a bearer token is looked up by)."""
        return hashlib.sha256(f"session:{self.token_hash}".encode()).hexdigest()[:32]

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


USER_AGENT_MAX = 256


class Caller(Struct, frozen=True):
    """The authenticated caller of a request: the account, the session and the address."""

    account: Account
    session: Session
    ip: str


class MailStatus(enum.StrEnum):
    PENDING = "pending"
    SENT = "sent"
    FAILED = "failed"
    # never sent: the entry a password reset for an unknown email writes, so that known and
    # unknown emails cost the same writes to the mail queue (no enumeration, AU7)
    DISCARDED = "discarded"


class TokenPurpose(enum.StrEnum):
    """What an emailed token proves.  One slot per purpose and account: a newer token of a
    purpose replaces (so invalidates) the older one."""

    RESET = "reset"  # password reset (1 h; a password change ends it: ``epoch``)
    VERIFY = "verify"  # the sign-up address
    EMAIL_CHANGE = "email_change"  # the new address of an email change (``value``)
    EMAIL_CANCEL = "email_cancel"  # "this was not me", mailed to the old address (``value``)


class AccountToken(Struct, frozen=True):
    """A random single-use token mailed to the customer; only its SHA-256 is stored.

    The token itself is ``<account id>.<secret>`` (``ids.new_session_token``): the account
    id finds the slot, the secret's hash must match the stored one (constant time).  It is
    spent by a commit conditional on that hash (``AccountChange.spend_tokens``), so it is
    used at most once even by two parallel requests."""

    account_id: str
    purpose: TokenPurpose
    token_hash: str
    created_at: datetime
    expires_at: datetime
    epoch: int = 0  # the account's session epoch at issue (reset tokens die with it)
    value: str = ""  # email_change: the new address; email_cancel: the address to restore

    @classmethod
    def issue(
        cls,
        account: Account,
        purpose: TokenPurpose,
        now: datetime,
        lifetime: timedelta,
        value: str = "",
    ) -> tuple[str, AccountToken]:
        """A new token for ``account``: the string to mail, and what is stored for it."""
        token, token_hash = new_session_token(account.id)
        stored = cls(
            account.id, purpose, token_hash, now, now + lifetime, account.session_epoch, value
        )
        return token, stored

    def accepts(self, token_hash: str, account: Account, now: datetime) -> bool:
        """Whether ``token_hash`` is this token's and it may still be used on ``account``."""
        if not hmac.compare_digest(self.token_hash, token_hash) or now >= self.expires_at:
            return False
        return self.purpose is not TokenPurpose.RESET or self.epoch == account.session_epoch


class OutboxMail(Struct, frozen=True):
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
    queued_at: datetime | None = None  # when an operator put it back; else ``created_at``

    def queue_entry(self) -> tuple[str, datetime] | None:
        """``(queue, time)`` of the queue the mail is in: ``outbox`` while pending (due at its
        next attempt), ``mail_failed`` once failed for good (by creation time, for
        ``requeue-failed-mail``); None when sent or discarded."""
        if self.status is MailStatus.PENDING and self.next_attempt_at is not None:
            return OUTBOX_QUEUE, self.next_attempt_at
        if self.status is MailStatus.FAILED:
            return MAIL_FAILED_QUEUE, self.created_at
        return None

    @property
    def retry_window_start(self) -> datetime:
        """Where the relay's retry window starts: the creation, or the last requeue."""
        return self.queued_at or self.created_at


class AuditEvent(Struct, frozen=True):
    """A security-relevant event kept on the account (who, what, when, from where)."""

    account_id: str
    at: datetime
    event: str
    actor: str = "customer"
    ip: str = ""
    details: dict[str, str] = field(default_factory=dict)


class WorkItem(Struct, frozen=True):
    """A scheduled piece of work for one account in a named queue (e.g. ``vat``).

    ``due_at`` None removes it.  ``attempts`` counts consecutive failures (for backoff).
    """

    account_id: str
    queue: str
    due_at: datetime | None
    attempts: int = 0

    def queue_entry(self) -> tuple[str, datetime] | None:
        """``(queue, due time)``: scheduled work waits in its own queue until removed."""
        return (self.queue, self.due_at) if self.due_at is not None else None


class MarkerKind(enum.StrEnum):
    """What a :class:`Marker` records (its value is the prefix of the stored key)."""

    CUSTOMER = "CUSTOMER"  # Stripe customer id -> account id (webhooks find the account)
    EVENT = "EVENT"  # a webhook event applied or recorded (unique: a duplicate is a no-op)
    REJECTED_EVENT = "REJECTED_EVENT"  # a malformed webhook event, with the reason
    IDEMPOTENCY = "IDEMPOTENCY"  # the stored answer of an ``Idempotency-Key`` (24 h)
    TEST_CLOCK = "TESTCLOCK"  # the local stage's frozen time (adapters/clock.py)
    INVOICE = "INVOICE"  # invoice id -> account id (support finds an invoice by its id)


class Marker(Struct, frozen=True):
    """A small keyed record: a lookup (Stripe customer -> account), a processed webhook event,
    or a stored answer for an ``Idempotency-Key``.  ``unique`` makes the write fail with
    ``MarkerExists`` when the key is already taken; ``expires_at`` lets TTL clean it up."""

    kind: MarkerKind
    key: str
    value: str
    unique: bool = True
    expires_at: datetime | None = None
    account_id: str | None = None  # kept under the account (read with its other items)


class AccountChange(Struct, frozen=True):
    """Everything one use case writes, committed atomically by the repository.

    ``account`` is the new state (its ``version`` is the old one plus one: the write is
    conditional on the stored version).  ``email_swap`` moves the unique email marker.
    ``invoices`` and ``charges`` are ``(new state, expected stored version)`` pairs, ``None``
    meaning "create, must not exist".  ``counter`` is ``(name, expected value)``: the counter
    is bumped by one, conditional on that value (gapless invoice numbers).  ``devices`` and
    ``throttle_settle`` belong to the sign-in throttle (``domain.throttle``).  ``tokens``,
    ``spend_tokens`` and ``drop_tokens`` store, use once (``ConcurrentUpdate`` when the slot
    no longer holds that token) and remove emailed tokens (:class:`AccountToken`).
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
    devices: tuple[TrustedDevice, ...] = ()  # put (a new or refreshed trusted device)
    throttle_settle: tuple[Settle, ...] = ()  # buckets cleared or refunded by a success
    tokens: tuple[AccountToken, ...] = ()  # put (replacing the slot's older token)
    spend_tokens: tuple[AccountToken, ...] = ()  # delete, conditional on the stored hash
    drop_tokens: tuple[tuple[str, TokenPurpose], ...] = ()  # delete whatever is there
    # credit notes (``domain.credit_notes``), as invoices; their own gapless counter,
    # ``(name, expected value, new value)``: one transaction may number several
    credit_notes: tuple[tuple[CreditNote, int | None], ...] = ()
    credit_counter: tuple[str, int, int] | None = None

    def counter_bumps(self) -> list[tuple[str, int, int]]:
        """Every counter this change moves: ``(name, expected value, new value)``."""
        bumps = [(self.counter[0], self.counter[1], self.counter[1] + 1)] if self.counter else []
        return bumps + ([self.credit_counter] if self.credit_counter else [])
