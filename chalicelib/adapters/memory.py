"""In-memory adapters: the repository, a recording mailer and a fast hasher.

They honour the same contract as the real adapters (conditional writes, atomic commits,
leases), checked by the shared contract suite, so services can be unit-tested and the
throughput benchmarks run without I/O.
"""

from __future__ import annotations

import heapq
import threading
from collections.abc import Iterable, Iterator
from datetime import datetime
from operator import itemgetter
from typing import Sequence, TypeVar

from msgspec.structs import replace

from chalicelib.config import Settings
from chalicelib.domain.account import (
    MAIL_FAILED_QUEUE,
    OUTBOX_QUEUE,
    RENEWAL_QUEUE,
    TRIAL_QUEUE,
    Account,
    AccountChange,
    AccountToken,
    AuditEvent,
    MailStatus,
    Marker,
    MarkerKind,
    OutboxMail,
    Session,
    TokenPurpose,
    WorkItem,
)
from chalicelib.domain.billing import RETRY_QUEUE, Charge, Invoice
from chalicelib.domain.credit_notes import REFUND_QUEUE, CreditNote
from chalicelib.domain.documents import DocumentRef, StoredDocument
from chalicelib.domain.errors import (
    ConcurrentUpdate,
    CounterMoved,
    DependencyUnavailable,
    EmailAlreadyUsed,
    MarkerExists,
)
from chalicelib.domain.ids import utc_iso
from chalicelib.domain.lifecycle import REACTIVATION_QUEUE, ReactivationRequest
from chalicelib.domain.throttle import (
    Bucket,
    BucketKind,
    Reservation,
    ThrottleState,
    TrustedDevice,
)
from chalicelib.services.ports import LoginLookup, MailDeliveryError, MailWake

QueueEntry = tuple[str, datetime] | None
"""What a domain object's ``queue_entry()`` says: ``(queue, due time)`` or no queue."""
T = TypeVar("T")


def due_in(
    queue: str,
    now: datetime | None,
    limit: int,
    entries: Iterable[tuple[QueueEntry, tuple[str, ...], T]],
) -> list[T]:
    """The objects whose ``queue_entry()`` is in ``queue`` and due at ``now`` (None: all), in
    the order of the DynamoDB index (due time, then id): the one reading of queue membership,
    the same rule the DynamoDB mapper writes into the ``work_queue`` keys."""
    ready = [
        (entry[1], order, obj)
        for entry, order, obj in entries
        if entry is not None and entry[0] == queue and (now is None or entry[1] <= now)
    ]
    if limit < len(ready) // 8:  # a page of a long queue: no need to sort all of it
        first = heapq.nsmallest(limit, ready, key=_DUE_ORDER)
    else:
        first = sorted(ready, key=_DUE_ORDER)[:limit]
    return [obj for _, _, obj in first]


_DUE_ORDER = itemgetter(0, 1)  # due time, then id (never the object itself)


class InMemoryRepository:
    """``AccountRepository`` and ``OutboxRepository`` in dictionaries, behind one lock."""

    def __init__(self, settings: Settings | None = None) -> None:
        self._lock = threading.RLock()
        self._settings = settings or Settings()  # renewal reminder leads (``queue_entry``)
        self.accounts: dict[str, Account] = {}
        self.emails: dict[str, str] = {}
        self.sessions: dict[tuple[str, str], Session] = {}
        self.throttle: dict[Bucket, ThrottleState] = {}  # windowed buckets (account, address)
        self.devices: dict[tuple[str, str], TrustedDevice] = {}
        self.mail: dict[str, OutboxMail] = {}
        self.wake: MailWake | None = None  # the outbox sweeper's wake marker
        self.audit: list[AuditEvent] = []
        self.invoices: dict[tuple[str, str], Invoice] = {}
        self.charges: dict[tuple[str, str], Charge] = {}
        self.counters: dict[str, int] = {}
        self.credit_notes: dict[tuple[str, str], CreditNote] = {}
        self.documents: dict[tuple[DocumentRef, str], StoredDocument] = {}  # rendered PDFs
        self.work: dict[tuple[str, str], WorkItem] = {}
        self.markers: dict[tuple[str, str], str] = {}
        self.reactivations: dict[tuple[str, str], ReactivationRequest] = {}
        self.tokens: dict[tuple[str, TokenPurpose], AccountToken] = {}
        self.audit_keys: list[str] = []  # the sort key of each audit event, as in DynamoDB
        self.requests = 0  # calls made, to compare with the DynamoDB request budget
        self.unavailable = False  # ping() fails while set (health tests)

    def ping(self) -> None:
        """``HealthProbe``: raises ``DependencyUnavailable`` while ``unavailable`` is set."""
        with self._lock:
            self.requests += 1
        if self.unavailable:
            raise DependencyUnavailable()

    def commit(self, change: AccountChange) -> None:  # noqa: C901, PLR0912, PLR0915 - queue membership moves to the domain (repo branch)
        with self._lock:
            self.requests += 1
            account = change.account
            if account is not None:
                stored = self.accounts.get(account.id)
                if change.create:
                    if account.email in self.emails:
                        raise EmailAlreadyUsed()
                    if stored is not None:
                        raise ConcurrentUpdate()
                elif stored is None or stored.version != change.expected_version:
                    raise ConcurrentUpdate()
            if change.email_swap is not None:
                old, new = change.email_swap
                if new in self.emails:
                    raise EmailAlreadyUsed()
            for mail in change.mails:
                if mail.id in self.mail:
                    raise ConcurrentUpdate()
            bumps = change.counter_bumps()
            for name, expected, _ in bumps:
                if self.counters.get(name, 0) != expected:
                    raise CounterMoved()
            for note, version in change.credit_notes:
                stored_note = self.credit_notes.get((note.account_id, note.id))
                if (stored_note is None) != (version is None) or (
                    stored_note is not None and stored_note.version != version
                ):
                    raise ConcurrentUpdate()
            for marker in change.markers:
                if marker.unique and (marker.kind, self._marker_key(marker)) in self.markers:
                    raise MarkerExists()
            for invoice, version in change.invoices:
                stored_invoice = self.invoices.get((invoice.account_id, invoice.id))
                if (stored_invoice is None) != (version is None) or (
                    stored_invoice is not None and stored_invoice.version != version
                ):
                    raise ConcurrentUpdate()
            for charge, version in change.charges:
                stored_charge = self.charges.get((charge.account_id, charge.id))
                if (stored_charge is None) != (version is None) or (
                    stored_charge is not None and stored_charge.version != version
                ):
                    raise ConcurrentUpdate()
            for request, version in change.requests:
                stored_request = self.reactivations.get((request.account_id, request.id))
                if (stored_request is None) != (version is None) or (
                    stored_request is not None and stored_request.version != version
                ):
                    raise ConcurrentUpdate()
            for token in change.spend_tokens:
                stored_token = self.tokens.get((token.account_id, token.purpose))
                if stored_token is None or stored_token.token_hash != token.token_hash:
                    raise ConcurrentUpdate()
            # every condition holds: apply
            for name, _, value in bumps:
                self.counters[name] = value
            for note, _ in change.credit_notes:
                self.credit_notes[(note.account_id, note.id)] = note
            for invoice, _ in change.invoices:
                self.invoices[(invoice.account_id, invoice.id)] = invoice
            for charge, _ in change.charges:
                self.charges[(charge.account_id, charge.id)] = charge
            for marker in change.markers:
                self.markers[(marker.kind, self._marker_key(marker))] = marker.value
            for request, _ in change.requests:
                self.reactivations[(request.account_id, request.id)] = request
            for work in change.work:
                if work.due_at is None:
                    self.work.pop((work.account_id, work.queue), None)
                else:
                    self.work[(work.account_id, work.queue)] = work
            if account is not None:
                self.accounts[account.id] = account
                if change.create:
                    self.emails[account.email] = account.id
            if change.email_swap is not None and account is not None:
                old, new = change.email_swap
                self.emails.pop(old, None)
                self.emails[new] = account.id
            for session in change.put_sessions:
                self.sessions[(session.account_id, session.token_hash)] = session
            for key in change.delete_sessions:
                self.sessions.pop(key, None)
            for mail in change.mails:
                self.mail[mail.id] = mail
            for device in change.devices:
                self.devices[(device.account_id, device.token_hash)] = device
            for settle in change.throttle_settle:
                if settle.refund:
                    stored_state = self.throttle.get(settle.bucket, ThrottleState())
                    self.throttle[settle.bucket] = replace(
                        stored_state, failures=stored_state.failures - 1
                    )
                else:
                    self.throttle.pop(settle.bucket, None)
            for token in change.spend_tokens:
                self.tokens.pop((token.account_id, token.purpose), None)
            for slot in change.drop_tokens:
                self.tokens.pop(slot, None)
            for token in change.tokens:
                self.tokens[(token.account_id, token.purpose)] = token
            for event in change.audit:
                self.audit.append(event)
                self.audit_keys.append(f"AUDIT#{utc_iso(event.at)}#{len(self.audit_keys):08x}")

    def get_account(self, account_id: str) -> Account | None:
        with self._lock:
            self.requests += 1
            return self.accounts.get(account_id)

    # --- sign-in throttle (domain.throttle) ----------------------------------------------
    def login_lookup(
        self, email: str, buckets: Sequence[Bucket], device: tuple[str, str] | None = None
    ) -> LoginLookup:
        with self._lock:
            self.requests += 1
            states = {b: self.throttle[b] for b in buckets if b in self.throttle}
            found = self.devices.get(device) if device else None
            account_id = self.emails.get(email)
            account = self.accounts.get(account_id) if account_id else None
            return LoginLookup(account_id, states, found, account)  # the marker's copy, as Dynamo

    def _bucket_state(self, bucket: Bucket) -> ThrottleState | None:
        """The stored state; None when a device or session bucket does not exist."""
        if bucket.kind is BucketKind.DEVICE:
            device = self.devices.get(bucket.owner)
            return device.throttle if device else None
        if bucket.kind is BucketKind.SESSION:
            session = self.sessions.get(bucket.owner)
            return session.reauth if session else None
        return self.throttle.get(bucket, ThrottleState())

    def reserve_attempts(self, reservations: Sequence[Reservation]) -> bool:
        """The same conditions as the DynamoDB adapter's, checked and applied under the lock."""
        with self._lock:
            self.requests += 1
            for r in reservations:
                state = self._bucket_state(r.bucket)
                if state is None:
                    return False
                if r.limit is not None and state.failures >= r.limit:
                    return False
                if r.limit is None and state.failures != r.expected:
                    return False
            for r in reservations:
                state = self._bucket_state(r.bucket) or ThrottleState()
                taken = ThrottleState(state.failures + 1, r.at)
                if r.bucket.kind is BucketKind.DEVICE:
                    self.devices[r.bucket.owner] = replace(
                        self.devices[r.bucket.owner], throttle=taken
                    )
                elif r.bucket.kind is BucketKind.SESSION:
                    self.sessions[r.bucket.owner] = replace(
                        self.sessions[r.bucket.owner], reauth=taken
                    )
                else:
                    self.throttle[r.bucket] = taken
            return True

    def read_ahead_invoice(self, invoice_id: str, pdf_locales: Sequence[str] = ()) -> None:
        """A hint of the DynamoDB adapter (one round trip for session and invoice): nothing to
        do in memory."""

    def get_session(
        self, account_id: str, token_hash: str
    ) -> tuple[Account | None, Session | None]:
        with self._lock:
            self.requests += 1
            return self.accounts.get(account_id), self.sessions.get((account_id, token_hash))

    def touch_session(self, session: Session, now: datetime, expires_at: datetime) -> None:
        with self._lock:
            self.requests += 1
            key = (session.account_id, session.token_hash)
            if key in self.sessions:
                self.sessions[key] = replace(self.sessions[key], last_seen_at=now)

    def delete_session(self, account_id: str, token_hash: str) -> None:
        with self._lock:
            self.requests += 1
            self.sessions.pop((account_id, token_hash), None)

    # --- account security ---------------------------------------------------------------------
    def token_lookup(
        self, account_id: str, purposes: Sequence[TokenPurpose]
    ) -> tuple[Account | None, dict[TokenPurpose, AccountToken]]:
        with self._lock:
            self.requests += 1
            found = {
                p: self.tokens[(account_id, p)] for p in purposes if (account_id, p) in self.tokens
            }
            return self.accounts.get(account_id), found

    def list_sessions(self, account_id: str) -> list[Session]:
        with self._lock:
            self.requests += 1
            return [s for (a, _), s in sorted(self.sessions.items()) if a == account_id]

    def audit_page(
        self, account_id: str, limit: int, cursor: str | None
    ) -> tuple[list[AuditEvent], str | None]:
        with self._lock:
            self.requests += 1
            keyed = sorted(
                (
                    (k, e)
                    for k, e in zip(self.audit_keys, self.audit, strict=True)
                    if e.account_id == account_id and (cursor is None or k < cursor)
                ),
                key=lambda pair: pair[0],
                reverse=True,
            )
            page = keyed[:limit]
            return [e for _, e in page], (page[-1][0] if len(keyed) > limit else None)

    def audit_events(self, account_id: str, limit: int = 50) -> list[AuditEvent]:
        with self._lock:
            events = [e for e in self.audit if e.account_id == account_id]
            return sorted(events, key=lambda e: e.at, reverse=True)[:limit]

    # --- billing --------------------------------------------------------------------------
    def counter_value(self, name: str) -> int:
        with self._lock:
            self.requests += 1
            return self.counters.get(name, 0)

    def get_invoice(self, account_id: str, invoice_id: str) -> Invoice | None:
        with self._lock:
            self.requests += 1
            return self.invoices.get((account_id, invoice_id))

    # --- rendered documents (DocumentRepository) -----------------------------------------
    def stored_document(self, ref: DocumentRef, locale: str) -> StoredDocument | None:
        with self._lock:
            self.requests += 1
            return self.documents.get((ref, locale))

    def store_document(self, document: StoredDocument) -> bool:
        with self._lock:
            self.requests += 1
            key = (document.ref, document.locale)
            if not document.replaces(self.documents.get(key)):
                return False
            self.documents[key] = document
            return True

    # --- credit notes (CreditNoteRepository) ----------------------------------------------
    def get_credit_note(self, account_id: str, credit_note_id: str) -> CreditNote | None:
        with self._lock:
            self.requests += 1
            return self.credit_notes.get((account_id, credit_note_id))

    def list_credit_notes(
        self, account_id: str, limit: int, after: str | None
    ) -> tuple[list[CreditNote], str | None]:
        with self._lock:
            self.requests += 1
            mine = sorted(
                (n for (a, i), n in self.credit_notes.items() if a == account_id),
                key=lambda n: n.id,
                reverse=True,
            )
            if after is not None:
                mine = [n for n in mine if n.id < after]
            page = mine[:limit]
            return page, (page[-1].id if len(mine) > limit else None)

    def invoices_paid_by(self, account_id: str, payment_intent_id: str) -> list[Invoice]:
        with self._lock:
            self.requests += 1
            return [
                i
                for (a, _), i in sorted(self.invoices.items())
                if a == account_id
                and any(t.payment_intent_id == payment_intent_id for t in i.transactions)
            ]

    def credit_context(
        self, account_id: str, invoice_id: str
    ) -> tuple[Account | None, Invoice | None, list[CreditNote]]:
        """The account, an invoice and its credit notes (one Query in DynamoDB)."""
        with self._lock:
            self.requests += 1
            notes = [
                n
                for (a, _), n in sorted(self.credit_notes.items())
                if a == account_id and n.invoice_id == invoice_id
            ]
            return (
                self.accounts.get(account_id),
                self.invoices.get((account_id, invoice_id)),
                notes,
            )

    def due_refunds(self, now: datetime, limit: int) -> list[tuple[str, str]]:
        with self._lock:
            self.requests += 1
            return due_in(
                REFUND_QUEUE,
                now,
                limit,
                ((n.queue_entry(), k, k) for k, n in self.credit_notes.items()),
            )

    def oss_credit_notes(self, quarter: str) -> list[CreditNote]:
        """The credit notes of OSS sales issued in ``quarter`` (DynamoDB: its ledger and the
        refund queue)."""
        with self._lock:
            self.requests += 1
            return sorted(
                (n for n in self.credit_notes.values() if n.oss_quarter() == quarter),
                key=lambda n: n.id,
            )

    def oss_invoices(self, quarter: str) -> list[Invoice]:
        """The OSS sales of ``quarter`` (the DynamoDB adapter reads them from its index)."""
        with self._lock:
            self.requests += 1
            return sorted(
                (i for i in self.invoices.values() if i.oss_quarter() == quarter),
                key=lambda i: i.id,
            )

    def list_invoices(
        self, account_id: str, limit: int, after: str | None
    ) -> tuple[list[Invoice], str | None]:
        with self._lock:
            self.requests += 1
            ids = sorted((i for a, i in self.invoices if a == account_id), reverse=True)
            if after is not None:
                ids = [i for i in ids if i < after]
            page = [self.invoices[(account_id, i)] for i in ids[:limit]]
            return page, (page[-1].id if len(ids) > limit else None)

    def open_charges(self, account_id: str) -> list[Charge]:
        with self._lock:
            self.requests += 1
            return sorted(
                (c for (a, _), c in self.charges.items() if a == account_id and c.is_open),
                key=lambda c: c.id,
            )

    def get_charge(self, account_id: str, charge_id: str) -> Charge | None:
        with self._lock:
            self.requests += 1
            return self.charges.get((account_id, charge_id))

    def charge_context(
        self, account_id: str, charge_id: str
    ) -> tuple[Account | None, Charge | None, Invoice | None]:
        with self._lock:
            self.requests += 1
            return (
                self.accounts.get(account_id),
                self.charges.get((account_id, charge_id)),
                self.invoices.get((account_id, charge_id)),
            )

    def invoices_by_id(self, account_id: str, invoice_ids: list[str]) -> list[Invoice]:
        with self._lock:
            self.requests += 1
            return [
                self.invoices[(account_id, i)]
                for i in invoice_ids
                if (account_id, i) in self.invoices
            ]

    def due_charges(self, now: datetime, limit: int) -> list[tuple[str, str]]:
        with self._lock:
            self.requests += 1
            return due_in(
                RETRY_QUEUE, now, limit, ((c.queue_entry(), k, k) for k, c in self.charges.items())
            )

    @staticmethod
    def _marker_key(marker: Marker) -> str:
        return f"{marker.account_id}/{marker.key}" if marker.account_id else marker.key

    def payable(
        self, account_id: str, answer_key: str | None
    ) -> tuple[list[Charge], list[Invoice], str | None]:
        with self._lock:
            charges = self.open_charges(account_id)
            invoices = sorted(
                (i for (a, _), i in self.invoices.items() if a == account_id and i.is_open),
                key=lambda i: i.id,
            )
            answer = (
                self.markers.get((MarkerKind.IDEMPOTENCY, f"{account_id}/{answer_key}"))
                if answer_key
                else None
            )
            return charges, invoices, answer

    def get_marker(self, kind: MarkerKind, key: str) -> str | None:
        with self._lock:
            self.requests += 1
            return self.markers.get((kind, key))

    def due_work(self, queue: str, now: datetime, limit: int) -> list[WorkItem]:
        with self._lock:
            self.requests += 1
            return due_in(
                queue,
                now,
                limit,
                ((w.queue_entry(), (w.account_id,), w) for w in self.work.values()),
            )

    def due_renewals(self, now: datetime, limit: int) -> list[Account]:
        with self._lock:
            self.requests += 1
            return due_in(RENEWAL_QUEUE, now, limit, self._account_entries())

    def due_trials(self, now: datetime, limit: int) -> list[Account]:
        with self._lock:
            self.requests += 1
            return due_in(TRIAL_QUEUE, now, limit, self._account_entries())

    def _account_entries(self) -> Iterator[tuple[QueueEntry, tuple[str, ...], Account]]:
        # as the index: an active account is due at its renewal or an earlier reminder
        return (
            (a.queue_entry(self._settings.renewal_notice_lead(a.plan)), (a.id,), a)
            for a in self.accounts.values()
        )

    # --- reactivation requests ------------------------------------------------------------
    def get_reactivation_request(
        self, account_id: str, request_id: str
    ) -> ReactivationRequest | None:
        with self._lock:
            self.requests += 1
            return self.reactivations.get((account_id, request_id))

    def reactivation_requests(self, account_id: str, limit: int = 10) -> list[ReactivationRequest]:
        with self._lock:
            self.requests += 1
            mine = [r for (a, _), r in self.reactivations.items() if a == account_id]
            return sorted(mine, key=lambda r: r.id, reverse=True)[:limit]

    def open_reactivation_requests(self, limit: int) -> list[ReactivationRequest]:
        with self._lock:
            self.requests += 1
            requests = self.reactivations.values()
            return due_in(
                REACTIVATION_QUEUE, None, limit, ((r.queue_entry(), (r.id,), r) for r in requests)
            )

    # --- outbox ---------------------------------------------------------------------------
    def due_mail(self, now: datetime, limit: int) -> list[OutboxMail]:
        with self._lock:
            self.requests += 1
            return due_in(OUTBOX_QUEUE, now, limit, self._mail_entries())

    def due_mail_and_next(
        self, now: datetime, limit: int
    ) -> tuple[list[OutboxMail], datetime | None]:
        due = self.due_mail(now, limit)
        with self._lock:
            later = [
                m.next_attempt_at
                for m in self.mail.values()
                if m.status is MailStatus.PENDING and m.next_attempt_at and m.next_attempt_at > now
            ]
        return due, min(later) if later else None

    def mail_wake(self) -> MailWake | None:
        with self._lock:
            self.requests += 1
            return self.wake

    def advance_mail_wake(self, at: datetime | None, version: int) -> bool:
        with self._lock:
            self.requests += 1
            if (self.wake.version if self.wake else 0) != version:
                return False
            self.wake = MailWake(at, version + 1)
            return True

    def lower_mail_wake(self, at: datetime) -> None:
        with self._lock:
            self.requests += 1
            current = self.wake
            earlier = current is None or current.at is None or current.at > at
            self.wake = MailWake(
                at if earlier else (current.at if current else None),
                (current.version if current else 0) + 1,
            )

    def get_mail(self, mail_id: str) -> OutboxMail | None:
        with self._lock:
            return self.mail.get(mail_id)

    def claim_mail(self, mail_id: str, now: datetime, lease_until: datetime) -> OutboxMail | None:
        with self._lock:
            self.requests += 1
            mail = self.mail.get(mail_id)
            if (
                mail is None
                or mail.status is not MailStatus.PENDING
                or (mail.next_attempt_at is not None and mail.next_attempt_at > now)
                or (mail.lease_until is not None and mail.lease_until >= now)
            ):
                return None
            mail = replace(mail, lease_until=lease_until)
            self.mail[mail_id] = mail
            return mail

    def _update_pending(self, mail_id: str, **changes: object) -> None:
        with self._lock:
            self.requests += 1
            mail = self.mail.get(mail_id)
            if mail is not None and mail.status is MailStatus.PENDING:
                self.mail[mail_id] = replace(mail, attempts=mail.attempts + 1, **changes)

    def mark_mail_sent(self, mail: OutboxMail, now: datetime, provider_id: str) -> None:
        self._update_pending(
            mail.id, status=MailStatus.SENT, sent_at=now, provider_id=provider_id, lease_until=None
        )

    def mark_mail_retry(self, mail: OutboxMail, next_attempt_at: datetime, error: str) -> None:
        self._update_pending(
            mail.id, next_attempt_at=next_attempt_at, last_error=error, lease_until=None
        )

    def mark_mail_failed(self, mail: OutboxMail, error: str) -> None:
        self._update_pending(mail.id, status=MailStatus.FAILED, last_error=error, lease_until=None)

    def failed_mail(self, limit: int) -> list[OutboxMail]:
        with self._lock:
            self.requests += 1
            return due_in(MAIL_FAILED_QUEUE, None, limit, self._mail_entries())

    def _mail_entries(self) -> Iterator[tuple[QueueEntry, tuple[str, ...], OutboxMail]]:
        return ((m.queue_entry(), (m.id,), m) for m in self.mail.values())

    def requeue_mail(self, mail_id: str, now: datetime) -> OutboxMail | None:
        with self._lock:
            self.requests += 1
            mail = self.mail.get(mail_id)
            if mail is None or mail.status is not MailStatus.FAILED:
                return None
            mail = replace(
                mail,
                status=MailStatus.PENDING,
                attempts=0,
                next_attempt_at=now,
                queued_at=now,
                lease_until=None,
            )
            self.mail[mail_id] = mail
            return mail


class RecordingMailer:
    """A ``Mailer`` that keeps what it sent; ``fail_with`` makes the next sends fail."""

    def __init__(self, fail_with: MailDeliveryError | None = None) -> None:
        self.sent: list[tuple[str, str, str]] = []
        self.fail_with = fail_with

    def send(self, to: str, subject: str, body: str) -> str:
        if self.fail_with is not None:
            raise self.fail_with
        self.sent.append((to, subject, body))
        return f"memory-{len(self.sent)}"

    def ping(self) -> None:
        """``HealthProbe``: fails as sending would while ``fail_with`` is set."""
        if self.fail_with is not None:
            raise self.fail_with


class PlainHasher:
    """A fast, insecure ``PasswordHasher`` for unit tests only; counts its work."""

    def __init__(self) -> None:
        self.work = 0

    def hash(self, password: str) -> str:
        self.work += 1
        return f"plain${password}"

    def verify(self, stored_hash: str, password: str) -> bool:
        self.work += 1
        return stored_hash == f"plain${password}"

    def needs_rehash(self, stored_hash: str) -> bool:
        return not stored_hash.startswith("plain$")

    def burn(self, password: str) -> None:
        self.work += 1
