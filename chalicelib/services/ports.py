"""The ports: what the services need from the outside world, as Protocols.

Adapters in ``chalicelib.adapters`` implement them twice where it matters: over DynamoDB /
SES / argon2 for real, and in memory for unit tests and the throughput benchmarks.  One
contract suite (``tests/integration/test_repository_contract.py``) runs against both.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import NamedTuple, Protocol, Sequence

from chalicelib.domain.account import (
    Account,
    AccountChange,
    AccountToken,
    AuditEvent,
    MarkerKind,
    OutboxMail,
    Session,
    TokenPurpose,
    WorkItem,
)
from chalicelib.domain.billing import Charge, Invoice
from chalicelib.domain.credit_notes import CreditNote
from chalicelib.domain.documents import DocumentRef, StoredDocument
from chalicelib.domain.lifecycle import ReactivationRequest
from chalicelib.domain.throttle import Bucket, Reservation, ThrottleState, TrustedDevice


class Clock(Protocol):
    def now(self) -> datetime:
        """The current time, timezone-aware UTC."""
        ...


class PasswordHasher(Protocol):
    def hash(self, password: str) -> str: ...

    def verify(self, stored_hash: str, password: str) -> bool: ...

    def needs_rehash(self, stored_hash: str) -> bool: ...

    def burn(self, password: str) -> None:
        """Do the work of one verification against nothing (unknown emails, AU5)."""
        ...


class HealthProbe(Protocol):
    """A dependency that can be checked cheaply (``/health``)."""

    def ping(self) -> None:
        """One cheap request to the dependency, with short timeouts; raises when it is down.

        Implemented by the repositories, the mailers and the payment gateways (real and fake).
        """
        ...


class MailDeliveryError(Exception):
    """Sending failed. ``permanent`` failures are not retried (and alarm)."""

    def __init__(self, reason: str, *, permanent: bool) -> None:
        super().__init__(reason)
        self.reason = reason
        self.permanent = permanent


class Mailer(HealthProbe, Protocol):
    def send(self, to: str, subject: str, body: str) -> str:
        """Send one plain-text mail; the provider's message id. Raises MailDeliveryError."""
        ...


class LoginLookup(NamedTuple):
    """What sign-in reads before any hash work (``AccountRepository.login_lookup``)."""

    account_id: str | None
    states: dict[Bucket, ThrottleState]
    device: TrustedDevice | None = None
    account: Account | None = None  # read with the marker (None: read it by ``account_id``)


class AccountRepository(Protocol):
    """Accounts, their sessions, the email markers and the sign-in throttle counters."""

    def commit(self, change: AccountChange) -> None:
        """Write everything in ``change`` atomically.

        Raises ``ConcurrentUpdate`` when the account's stored version is not
        ``change.expected_version`` and ``EmailAlreadyUsed`` when the new email is taken.
        """
        ...

    def get_account(self, account_id: str) -> Account | None: ...

    def login_lookup(
        self, email: str, buckets: Sequence[Bucket], device: tuple[str, str] | None = None
    ) -> LoginLookup:
        """The account id owning ``email``, the states of the windowed ``buckets`` and the
        trusted device ``(account id, token hash)`` if it exists (one request)."""
        ...

    def reserve_attempts(self, reservations: Sequence[Reservation]) -> bool:
        """Take every reservation or none (one conditional request); False when a bucket
        moved since it was read (another attempt took the slot) or a device or session bucket
        no longer exists."""
        ...

    def get_session(
        self, account_id: str, token_hash: str
    ) -> tuple[Account | None, Session | None]:
        """The account and one of its sessions (one request)."""
        ...

    def touch_session(self, session: Session, now: datetime, expires_at: datetime) -> None: ...

    def delete_session(self, account_id: str, token_hash: str) -> None: ...

    # --- account security (services.account_security) -------------------------------------
    def token_lookup(
        self, account_id: str, purposes: Sequence[TokenPurpose]
    ) -> tuple[Account | None, dict[TokenPurpose, AccountToken]]:
        """The account and its stored tokens of ``purposes`` (one request)."""
        ...

    def list_sessions(self, account_id: str) -> list[Session]:
        """Every stored session of the account, live or not (one Query)."""
        ...

    def audit_page(
        self, account_id: str, limit: int, cursor: str | None
    ) -> tuple[list[AuditEvent], str | None]:
        """The account's audit events, newest first, after ``cursor`` (the previous page's
        ``next``); the next cursor, None on the last page (one Query)."""
        ...


class SignInRepository(AccountRepository, Protocol):
    """What sign-in reads besides the accounts: the open charges its answer reports."""

    def open_charges(self, account_id: str) -> list[Charge]: ...


class MailWake(NamedTuple):
    """When the outbox sweeper next has work (``at``; None: none known) and the version the
    sweeper's compare-and-set is conditional on (``OutboxRepository.mail_wake``)."""

    at: datetime | None
    version: int


class OutboxRepository(Protocol):
    """Mail waiting to be sent (a sparse, sharded work queue)."""

    def due_mail(self, now: datetime, limit: int) -> list[OutboxMail]:
        """Pending mail due at ``now`` (may be stale: claim before sending)."""
        ...

    def due_mail_and_next(
        self, now: datetime, limit: int
    ) -> tuple[list[OutboxMail], datetime | None]:
        """As :meth:`due_mail`, and the earliest time a pending mail not yet due is due
        (None: none), from the same Queries."""
        ...

    def mail_wake(self) -> MailWake | None:
        """The sweeper's wake marker (one GetItem); None when there is none yet."""
        ...

    def advance_mail_wake(self, at: datetime | None, version: int) -> bool:
        """Set the wake to ``at`` if the marker is still at ``version`` (0: absent)."""
        ...

    def lower_mail_wake(self, at: datetime) -> None:
        """Make the wake no later than ``at``, and bump its version (so that a sweep under
        way does not advance it past work it did not see)."""
        ...

    def claim_mail(self, mail_id: str, now: datetime, lease_until: datetime) -> OutboxMail | None:
        """Take the lease on a pending mail; None when sent, failed or leased by another."""
        ...

    def mark_mail_sent(self, mail: OutboxMail, now: datetime, provider_id: str) -> None: ...

    def mark_mail_retry(self, mail: OutboxMail, next_attempt_at: datetime, error: str) -> None: ...

    def mark_mail_failed(self, mail: OutboxMail, error: str) -> None:
        """Failed for good: out of the pending queue, into the failed-mail index."""
        ...

    def get_mail(self, mail_id: str) -> OutboxMail | None: ...

    def failed_mail(self, limit: int) -> list[OutboxMail]:
        """Mail marked failed, oldest first, from an index (never a Scan; may be stale)."""
        ...

    def requeue_mail(self, mail_id: str, now: datetime) -> OutboxMail | None:
        """Put a failed mail back in the queue, due at ``now``, with a fresh retry window
        (``queued_at`` = ``now``, ``attempts`` = 0); None when it is not failed (or missing)."""
        ...


class TrialRepository(AccountRepository, Protocol):
    """Trials due for their next step, on top of the account repository."""

    def due_trials(self, now: datetime, limit: int) -> list[Account]:
        """Trial accounts whose notice or end is due at ``now`` (``Account.trial_due_at``),
        from the sparse ``trial`` queue: may be stale, re-read before acting."""
        ...


class BillingRepository(AccountRepository, Protocol):
    """Invoices, charges and the invoice counter, on top of the account repository."""

    def counter_value(self, name: str) -> int: ...

    def get_invoice(self, account_id: str, invoice_id: str) -> Invoice | None: ...

    def list_invoices(
        self, account_id: str, limit: int, after: str | None
    ) -> tuple[list[Invoice], str | None]:
        """Newest first; ``after`` is the last id of the previous page; the next ``after``."""
        ...

    def open_charges(self, account_id: str) -> list[Charge]: ...

    def get_charge(self, account_id: str, charge_id: str) -> Charge | None: ...

    def due_renewals(self, now: datetime, limit: int) -> list[Account]:
        """Active accounts due for renewal, or for a reminder before it (``Account.queue_entry``;
        from the sparse index: re-read before acting)."""
        ...

    def due_work(self, queue: str, now: datetime, limit: int) -> list[WorkItem]:
        """Scheduled work of ``queue`` that is due (from the sparse index: re-read first)."""
        ...

    def charge_context(
        self, account_id: str, charge_id: str
    ) -> tuple[Account | None, Charge | None, Invoice | None]:
        """The account, a charge and its invoice, in one request."""
        ...

    def invoices_by_id(self, account_id: str, invoice_ids: list[str]) -> list[Invoice]: ...

    def due_charges(self, now: datetime, limit: int) -> list[tuple[str, str]]:
        """``(account id, charge id)`` pairs due for the retry job (re-read before acting)."""
        ...

    def get_marker(self, kind: MarkerKind, key: str) -> str | None: ...

    def payable(
        self, account_id: str, answer_key: str | None
    ) -> tuple[list[Charge], list[Invoice], str | None]:
        """Open charges, open invoices and the stored answer of an Idempotency-Key (1 request)."""
        ...


class CreditNoteRepository(BillingRepository, Protocol):
    """Credit notes (stored with ``AccountChange.credit_notes``), on top of billing."""

    def get_credit_note(self, account_id: str, credit_note_id: str) -> CreditNote | None: ...

    def list_credit_notes(
        self, account_id: str, limit: int, after: str | None
    ) -> tuple[list[CreditNote], str | None]:
        """Newest first; ``after`` is the last id of the previous page; the next ``after``."""
        ...

    def credit_context(
        self, account_id: str, invoice_id: str
    ) -> tuple[Account | None, Invoice | None, list[CreditNote]]:
        """The account, one of its invoices and that invoice's credit notes, oldest first (one
        Query)."""
        ...

    def invoices_paid_by(self, account_id: str, payment_intent_id: str) -> list[Invoice]:
        """The account's invoices a PaymentIntent paid (a webhook's Charge names only it)."""
        ...

    def due_refunds(self, now: datetime, limit: int) -> list[tuple[str, str]]:
        """``(account id, credit note id)`` of pending refunds due at ``now`` (from the
        sparse ``refund`` queue: re-read before acting)."""
        ...

    def oss_credit_notes(self, quarter: str) -> Iterable[CreditNote]:
        """The credit notes of OSS sales issued in ``quarter`` (the OSS ledger, and the
        pending refunds' queue; no Scan)."""
        ...


class DocumentRepository(CreditNoteRepository, Protocol):
    """Rendered PDFs (``domain.documents``), beside the invoices and credit notes they draw."""

    def stored_document(self, ref: DocumentRef, locale: str) -> StoredDocument | None:
        """The stored PDF of ``ref`` in ``locale`` (whatever version it was drawn from)."""
        ...

    def store_document(self, document: StoredDocument) -> bool:
        """Stored unless a rendering of the same or a newer version is there (False then):
        a stale rendering never overwrites a fresh one."""
        ...


class DocumentRenderer(Protocol):
    """Draws the Factur-X PDFs (``chalicelib.documents.render.FacturXRenderer``)."""

    def invoice_pdf(self, invoice: Invoice, locale: str) -> bytes: ...

    def credit_note_pdf(self, note: CreditNote, locale: str) -> bytes: ...


class LifecycleRepository(BillingRepository, Protocol):
    """Reactivation requests (stored with ``AccountChange.requests``), on top of billing."""

    def get_reactivation_request(
        self, account_id: str, request_id: str
    ) -> ReactivationRequest | None: ...

    def reactivation_requests(self, account_id: str, limit: int = 10) -> list[ReactivationRequest]:
        """The account's requests, newest first (one Query)."""
        ...

    def open_reactivation_requests(self, limit: int) -> list[ReactivationRequest]:
        """Open requests, oldest first (from the sparse index: re-read before acting)."""
        ...


class Repository(
    LifecycleRepository,
    TrialRepository,
    OutboxRepository,
    DocumentRepository,
    HealthProbe,
    Protocol,
):
    """The whole table, as the composition root holds it: what every service's narrower port
    above asks, plus the reads of the CLI and the API layer.  ``DynamoRepository`` and
    ``InMemoryRepository`` implement it (the container is typed by it, never by them)."""

    def read_ahead_invoice(self, invoice_id: str, pdf_locales: Sequence[str] = ()) -> None:
        """A hint: the handler will read this invoice (and its stored PDF in ``pdf_locales``;
        the DynamoDB adapter reads them with the session, in one round trip; in memory it does
        nothing)."""
        ...

    def oss_invoices(self, quarter: str) -> Iterable[Invoice]:
        """The OSS sales of ``quarter`` (``2026Q4``), from the OSS ledger index (no Scan)."""
        ...

    def audit_events(self, account_id: str, limit: int = 50) -> list[AuditEvent]:
        """The account's audit events, newest first."""
        ...


class ChargeQueue(Protocol):
    def send(self, items: Sequence[tuple[str, str]]) -> Mapping[str, int]:
        """Hand ``(account id, charge id)`` pairs to the retry workers; what is known of them
        now: ``{"due": n}`` when they were queued (SQS), with the count of each worker
        outcome when the workers ran in-process."""
        ...
