"""The repository over the single table: ``commit`` and the queries.

The three modules beside it own the rest: ``keys`` every key string (and the key table),
``mapping`` every item <-> domain conversion, ``models`` the attributes and access patterns.
A new item type is a row and a builder in ``keys``, a model, a mapper pair in ``mapping``, and
here only the lines that write or read it.

Every multi-item change is one TransactWrite; every update of an existing item is
conditional.  Vendor errors are translated here, and only here (:func:`dynamo_errors`):

* a failed condition becomes ``ConcurrentUpdate`` / ``EmailAlreadyUsed`` (and the subclasses
  ``CounterMoved`` / ``MarkerExists`` for transactions);
* anything else PynamoDB or botocore raises -- a ``PynamoDBException`` wrapping a
  ``ClientError`` (throttling: ``ProvisionedThroughputExceededException``,
  ``ThrottlingException``, ``RequestLimitExceeded``; 5xx) or a ``BotoCoreError`` (read or
  connect timeout, connection reset, ``EndpointConnectionError``), and the bare botocore
  errors some PynamoDB paths let through -- becomes ``DependencyUnavailable`` (503) once
  botocore's own retries are spent: ``service_unavailable`` ("nothing was changed") for reads
  and for writes refused before DynamoDB took them, ``write_outcome_unknown`` for a write
  that was sent and not answered (a read timeout, a closed connection, a 5xx: DynamoDB may
  have applied it; the transaction's ``client_request_token`` makes botocore's retries of it
  safe, but not the client's next request).  Never an AttributeError or a 500.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime
from functools import cached_property
from typing import Any, Sequence, TypeVar

from botocore.exceptions import (
    BotoCoreError,
    ClientError,
    ConnectionClosedError,
    ReadTimeoutError,
)
from pynamodb.exceptions import PynamoDBException, TransactWriteError
from pynamodb.expressions.condition import Condition
from pynamodb.expressions.update import Action
from pynamodb.transactions import TransactWrite

from chalicelib.adapters import aws
from chalicelib.adapters.dynamo import keys, mapping
from chalicelib.adapters.dynamo.models import (
    AccountItem,
    AuditItem,
    ChargeItem,
    CounterItem,
    CreditNoteItem,
    DeviceItem,
    DocumentItem,
    EmailItem,
    InvoiceItem,
    MarkerItem,
    OutboxItem,
    ReactivationItem,
    SessionItem,
    TableItem,
    ThrottleItem,
    TokenItem,
    WakeItem,
    WorkItemModel,
    configure,
    shared_connection,
)
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
    MarkerKind,
    OutboxMail,
    Session,
    TokenPurpose,
    WorkItem,
)
from chalicelib.domain.billing import (
    OPEN_CHARGE_STATES,
    RETRY_QUEUE,
    Charge,
    Invoice,
    InvoiceStatus,
)
from chalicelib.domain.credit_notes import REFUND_QUEUE, CreditNote
from chalicelib.domain.documents import DocumentKind, DocumentRef, StoredDocument
from chalicelib.domain.errors import (
    ConcurrentUpdate,
    CounterMoved,
    DependencyUnavailable,
    EmailAlreadyUsed,
    MarkerExists,
)
from chalicelib.domain.ids import new_id, parse_iso, utc_iso
from chalicelib.domain.lifecycle import ReactivationRequest
from chalicelib.domain.throttle import (
    Bucket,
    BucketKind,
    Reservation,
    ThrottleState,
    TrustedDevice,
)
from chalicelib.logs import log_error
from chalicelib.services.ports import LoginLookup, MailWake

OPEN_STATES = tuple(state.value for state in OPEN_CHARGE_STATES)
NEVER = "~"  # a wake time after every ISO time: nothing known due

_SERVER_FAULTS = frozenset({"InternalServerError", "InternalFailure", "ServiceUnavailable"})
VENDOR_ERRORS = (PynamoDBException, BotoCoreError, ClientError)
"""What the PynamoDB / botocore stack raises for a request DynamoDB did not carry out."""


def response_code(error: BaseException) -> str | None:
    """DynamoDB's error code behind ``error`` (None for transport errors).

    PynamoDB's own ``cause_response_code`` raises AttributeError when the cause is a botocore
    transport error (its ``response`` is None): never use it."""
    cause = error.cause if isinstance(error, PynamoDBException) else error
    response = getattr(cause, "response", None)
    if not isinstance(response, dict):
        return None
    code = (response.get("Error") or {}).get("Code")
    return str(code) if code else None


def unavailable(error: BaseException, *, write: bool) -> DependencyUnavailable:
    """The 503 for a failed DynamoDB request (logged with its cause, never its message)."""
    cause = error.cause if isinstance(error, PynamoDBException) else error
    code = response_code(error)
    # PynamoDB keeps only the ``Error`` part of a ClientError's response: a 5xx is its code
    sent_unanswered = isinstance(cause, ReadTimeoutError | ConnectionClosedError)
    unknown = write and (sent_unanswered or code in _SERVER_FAULTS)
    log_error(
        "dynamodb.error",
        error=type(error).__name__,
        cause=type(cause).__name__ if cause is not None else None,
        code=code,
        outcome_unknown=unknown,
    )
    return DependencyUnavailable("write_outcome_unknown" if unknown else None)


@contextmanager
def dynamo_errors(*, write: bool = False) -> Iterator[None]:
    """Translate every PynamoDB / botocore failure into a 503 (see the module docstring)."""
    try:
        yield
    except (ConcurrentUpdate, EmailAlreadyUsed):
        raise
    except VENDOR_ERRORS as error:
        raise unavailable(error, write=write) from error


def _reservation_update(r: Reservation) -> tuple[TableItem, list[Action], Any]:
    """The item, update actions and condition that take reservation ``r`` (see
    ``domain.throttle``): compare-and-set on the failures seen, or an increment below the
    limit; device and session buckets must exist (they are never created here)."""
    item: TableItem
    attrs: Any
    if r.bucket.kind in (BucketKind.DEVICE, BucketKind.SESSION):
        account_id, token_hash = r.bucket.owner
        if r.bucket.kind is BucketKind.DEVICE:
            item = mapping.device_item(account_id, token_hash)
            attrs = DeviceItem
        else:
            item = mapping.session_item(account_id, token_hash)
            attrs = SessionItem
        exists: Any = attrs.pk.exists()
        actions: list[Action] = [attrs.failures.add(1), attrs.attempted_at.set(r.at)]
    else:
        item, attrs, exists = mapping.throttle_item(r.bucket), ThrottleItem, None
        actions = [
            ThrottleItem.failures.add(1),
            ThrottleItem.attempted_at.set(r.at),
            ThrottleItem.kind.set(ThrottleItem),
        ]
        if r.expires_at is not None:
            actions.append(ThrottleItem.expires_at.set(r.expires_at))
    if r.limit is not None:
        condition = attrs.failures.does_not_exist() | (attrs.failures < r.limit)
    elif r.expected == 0:
        condition = attrs.failures.does_not_exist() | (attrs.failures == 0)
    else:
        condition = attrs.failures == r.expected
    return item, actions, condition if exists is None else exists & condition


class DynamoRepository:
    """``AccountRepository`` and ``OutboxRepository`` over the table."""

    def __init__(self, settings: Settings) -> None:
        self._settings = settings
        configure(settings)
        # the models' one connection (one botocore client and pool for every request)
        self._connection = shared_connection().connection
        self._local = threading.local()  # the invoice read with the session, per request

    # --- health ---------------------------------------------------------------------------------
    @cached_property
    def _ping_client(self) -> Any:
        """A DynamoDB client with short timeouts and no retry, on the process's one botocore
        session (``adapters.aws``): health checks must fail fast, requests may retry."""
        return aws.client(
            "dynamodb",
            region=self._settings.aws_region,
            endpoint_url=self._settings.aws_endpoint_url,
            connect_timeout=1,
            read_timeout=2,
            max_attempts=1,
        )

    def ping(self) -> None:
        """``HealthProbe``: one GetItem of a key that is never written (short timeouts, no
        retry); ``DependencyUnavailable`` when the table does not answer."""
        try:
            self._ping_client.get_item(
                TableName=self._settings.table_name,
                Key={"pk": {"S": keys.HEALTH_KEY[0]}, "sk": {"S": keys.HEALTH_KEY[1]}},
            )
        except (BotoCoreError, ClientError) as error:
            raise DependencyUnavailable() from error

    # --- transactions -----------------------------------------------------------------------
    def _transact(
        self,
        build: Callable[[TransactWrite], None],
        on_cancel: Callable[[list[int]], Exception],
    ) -> None:
        """Run one TransactWrite; ``on_cancel`` maps the failed condition indexes to an error."""
        try:
            # the token makes botocore's retry of a transaction that did commit (a timeout
            # after sending) a no-op instead of a failed condition
            token = new_id()
            with TransactWrite(
                connection=self._connection, client_request_token=token
            ) as transaction:
                build(transaction)
        except TransactWriteError as error:
            reasons = error.cancellation_reasons or []
            failed = [i for i, r in enumerate(reasons) if r and r.code == "ConditionalCheckFailed"]
            if failed:
                raise on_cancel(failed) from None
            if any(r and r.code == "TransactionConflict" for r in reasons):
                # another transaction held one of the items: a lost race, re-read and retry
                raise ConcurrentUpdate() from None
            raise unavailable(error, write=True) from error
        except VENDOR_ERRORS as error:
            raise unavailable(error, write=True) from error

    def commit(self, change: AccountChange) -> None:  # noqa: C901, PLR0915 - being split into dynamo/mapping.py (issue 13 item 4, repo branch)
        shards = self._settings.queue_shards
        # PynamoDB sends deletes, then puts, then updates: keep the keys in that order to
        # know which condition failed.
        deletes: list[str] = []
        puts: list[str] = []
        updates: list[str] = []

        def build(tw: TransactWrite) -> None:  # noqa: C901, PLR0912, PLR0915 - being split into dynamo/mapping.py (issue 13 item 4, repo branch)
            def put(item: TableItem, condition: Any = None) -> None:
                tw.save(item, condition=condition)
                puts.append(item.pk)

            def delete(item: TableItem, condition: Any = None) -> None:
                tw.delete(item, condition=condition)
                deletes.append(item.pk)

            account = change.account
            if account is not None:
                lead = self._settings.renewal_notice_lead(account.plan)
                item = mapping.account_to_item(account, shards, lead)
                email_marker = mapping.email_item(account.email, account.id, item)
                if change.create:
                    put(email_marker, EmailItem.pk.does_not_exist())
                    put(item, AccountItem.pk.does_not_exist())
                else:
                    put(item, AccountItem.version == change.expected_version)
                swapped_to = None
                if change.email_swap is not None:
                    old, swapped_to = change.email_swap
                    delete(mapping.email_item(old), EmailItem.account_id == account.id)
                    put(
                        mapping.email_item(swapped_to, account.id, item),
                        EmailItem.pk.does_not_exist(),
                    )
                if not change.create and swapped_to != account.email:
                    # the copy kept in step (a marker never taken from another account)
                    put(
                        email_marker,
                        EmailItem.pk.does_not_exist() | (EmailItem.account_id == account.id),
                    )
            for session in change.put_sessions:
                put(mapping.session_to_item(session, self._settings))
            for account_id, token_hash in change.delete_sessions:
                delete(mapping.session_item(account_id, token_hash))
            for name, expected, value in change.counter_bumps():
                counter = mapping.counter_item(name)
                tw.update(
                    counter,
                    actions=[
                        CounterItem.value.set(value),
                        CounterItem.kind.set(CounterItem),
                    ],
                    condition=(CounterItem.value == expected)
                    if expected
                    else CounterItem.value.does_not_exist(),
                )
                updates.append(counter.pk)
            for note, note_version in change.credit_notes:
                put(
                    mapping.credit_note_to_item(note, shards),
                    CreditNoteItem.pk.does_not_exist()
                    if note_version is None
                    else CreditNoteItem.version == note_version,
                )
            for invoice, invoice_version in change.invoices:
                put(
                    mapping.invoice_to_item(invoice),
                    InvoiceItem.pk.does_not_exist()
                    if invoice_version is None
                    else InvoiceItem.version == invoice_version,
                )
            for charge, charge_version in change.charges:
                put(
                    mapping.charge_to_item(charge, shards),
                    ChargeItem.pk.does_not_exist()
                    if charge_version is None
                    else ChargeItem.version == charge_version,
                )
            for work in change.work:
                work_item = mapping.work_to_item(work, shards)
                if work.due_at is None:
                    delete(work_item)
                else:
                    put(work_item)
            for marker in change.markers:
                put(
                    mapping.marker_to_item(marker),
                    MarkerItem.pk.does_not_exist() if marker.unique else None,
                )
            for request, request_version in change.requests:
                put(
                    mapping.request_to_item(request),
                    ReactivationItem.pk.does_not_exist()
                    if request_version is None
                    else ReactivationItem.version == request_version,
                )
            for mail in change.mails:
                put(mapping.mail_to_item(mail, shards), OutboxItem.pk.does_not_exist())
            for event in change.audit:
                put(mapping.audit_to_item(event))
            for device in change.devices:
                put(mapping.device_to_item(device))
            spent = {(t.account_id, t.purpose) for t in change.spend_tokens}
            for token in change.spend_tokens:
                delete(
                    mapping.token_item(token.account_id, token.purpose),
                    TokenItem.token_hash == token.token_hash,
                )
            for account_id, purpose in change.drop_tokens:
                if (account_id, purpose) not in spent:
                    delete(mapping.token_item(account_id, purpose))
            for token in change.tokens:
                put(mapping.token_to_item(token))
            for settle in change.throttle_settle:
                bucket_item = mapping.throttle_item(settle.bucket)
                if not settle.refund:
                    delete(bucket_item)
                    continue
                refund: list[Action] = [
                    ThrottleItem.failures.add(-1),
                    ThrottleItem.kind.set(ThrottleItem),
                ]
                if settle.expires_at is not None:
                    refund.append(ThrottleItem.expires_at.set(settle.expires_at))
                tw.update(bucket_item, actions=refund)
                updates.append(bucket_item.pk)

        def on_cancel(failed: list[int]) -> Exception:
            order = deletes + puts + updates
            failed_pks = [order[i] for i in failed if i < len(order)]
            if any(keys.is_counter_pk(pk) for pk in failed_pks):
                return CounterMoved()
            marker_pks = {
                keys.marker_key(m.kind, m.key, m.account_id)[0] for m in change.markers if m.unique
            }
            if marker_pks & set(failed_pks):
                return MarkerExists()
            swaps_email = change.account is not None and (change.create or change.email_swap)
            if swaps_email and any(keys.is_email_pk(pk) for pk in failed_pks):
                return EmailAlreadyUsed()
            return ConcurrentUpdate()

        self._transact(build, on_cancel)

    # --- accounts and sessions --------------------------------------------------------------
    def get_account(self, account_id: str) -> Account | None:
        item = _get_item(AccountItem, keys.account_key(account_id))
        return mapping.account_from_item(item) if item is not None else None

    def _batch_get(self, keys: list[tuple[str, str]]) -> list[TableItem]:
        with dynamo_errors():
            return list(TableItem.batch_get(keys, consistent_read=True))

    # --- sign-in throttle (domain.throttle) ----------------------------------------------
    def login_lookup(
        self, email: str, buckets: Sequence[Bucket], device: tuple[str, str] | None = None
    ) -> LoginLookup:
        by_key = {keys.throttle_key(b): b for b in buckets}
        wanted = [keys.email_key(email), *by_key]
        if device is not None:
            wanted.append(keys.device_key(*device))
        account_id: str | None = None
        account: Account | None = None
        states: dict[Bucket, ThrottleState] = {}
        found: TrustedDevice | None = None
        for item in self._batch_get(wanted):
            if isinstance(item, EmailItem):
                account_id = item.account_id
                account = mapping.account_from_marker(item)
            elif isinstance(item, ThrottleItem):
                bucket = by_key[(item.pk, item.sk)]
                states[bucket] = ThrottleState(int(item.failures), item.attempted_at)
            elif isinstance(item, DeviceItem):
                found = mapping.device_from_item(item)
        return LoginLookup(account_id, states, found, account)

    def reserve_attempts(self, reservations: Sequence[Reservation]) -> bool:
        """One conditional UpdateItem, or one TransactWrite for several buckets."""
        if len(reservations) == 1:
            item, actions, condition = _reservation_update(reservations[0])
            with dynamo_errors():
                try:
                    item.update(actions=actions, condition=condition)
                except PynamoDBException as error:
                    code = getattr(error, "cause_response_code", "")
                    if code == "ConditionalCheckFailedException":
                        return False
                    raise
            return True

        def build(tw: TransactWrite) -> None:
            for reservation in reservations:
                item, actions, condition = _reservation_update(reservation)
                tw.update(item, actions=actions, condition=condition)

        try:
            self._transact(build, lambda failed: ConcurrentUpdate())
        except ConcurrentUpdate:
            return False
        return True

    def read_ahead_invoice(self, invoice_id: str, pdf_locales: Sequence[str] = ()) -> None:
        """Read invoice ``invoice_id`` of the caller (and its stored PDF in ``pdf_locales``)
        with the next :meth:`get_session` (its BatchGet), for the next :meth:`get_invoice` (and
        :meth:`stored_document`) of it: the invoice routes know the id from their path, so
        authenticating and reading the invoice are one round trip.  Per thread; the next
        ``get_session`` consumes it (unused, it is dropped)."""
        self._local.ahead = (invoice_id, tuple(pdf_locales))

    def get_session(
        self, account_id: str, token_hash: str
    ) -> tuple[Account | None, Session | None]:
        account: Account | None = None
        session: Session | None = None
        ahead: tuple[str, tuple[str, ...]] | None = getattr(self._local, "ahead", None)
        self._local.ahead = None
        self._local.read = {}
        self._local.documents = {}
        wanted = [keys.account_key(account_id), keys.session_key(account_id, token_hash)]
        if ahead is not None:
            invoice_id, locales = ahead
            wanted.append(keys.invoice_key(account_id, invoice_id))
            self._local.read[(account_id, invoice_id)] = None  # absent unless found below
            ref = DocumentRef(account_id, DocumentKind.INVOICE, invoice_id)
            for locale in locales:
                wanted.append(keys.document_key(ref, locale))
                self._local.documents[(ref, locale)] = None
        for item in self._batch_get(wanted):
            if isinstance(item, AccountItem):
                account = mapping.account_from_item(item)
            elif isinstance(item, SessionItem):
                session = mapping.session_from_item(item)
            elif isinstance(item, InvoiceItem):
                invoice = mapping.invoice_from_item(item)
                self._local.read[(account_id, invoice.id)] = invoice
            elif isinstance(item, DocumentItem):
                document = mapping.document_from_item(item)
                self._local.documents[(document.ref, document.locale)] = document
        return account, session

    def touch_session(self, session: Session, now: datetime, expires_at: datetime) -> None:
        item = mapping.session_item(session.account_id, session.token_hash)
        with dynamo_errors(write=True):
            try:
                item.update(
                    actions=[
                        SessionItem.last_seen_at.set(now),
                        SessionItem.expires_at.set(expires_at),
                    ],
                    condition=SessionItem.pk.exists(),
                )
            except PynamoDBException as error:
                if response_code(error) != "ConditionalCheckFailedException":
                    raise

    def delete_session(self, account_id: str, token_hash: str) -> None:
        with dynamo_errors(write=True):
            mapping.session_item(account_id, token_hash).delete()

    # --- account security (services.account_security) -------------------------------------
    def token_lookup(
        self, account_id: str, purposes: Sequence[TokenPurpose]
    ) -> tuple[Account | None, dict[TokenPurpose, AccountToken]]:
        wanted = [keys.account_key(account_id), *(keys.token_key(account_id, p) for p in purposes)]
        account: Account | None = None
        found: dict[TokenPurpose, AccountToken] = {}
        for item in self._batch_get(wanted):
            if isinstance(item, AccountItem):
                account = mapping.account_from_item(item)
            elif isinstance(item, TokenItem):
                token = mapping.token_from_item(item)
                found[token.purpose] = token
        return account, found

    def list_sessions(self, account_id: str) -> list[Session]:
        with dynamo_errors():
            items = SessionItem.query(
                keys.account_pk(account_id),
                SessionItem.sk.startswith(keys.SESSION),
                consistent_read=True,
            )
            return [mapping.session_from_item(i) for i in items]

    def audit_page(
        self, account_id: str, limit: int, cursor: str | None
    ) -> tuple[list[AuditEvent], str | None]:
        pk = keys.account_pk(account_id)
        start = {"pk": {"S": pk}, "sk": {"S": cursor}} if cursor else None
        with dynamo_errors():
            result = AuditItem.query(
                pk,
                AuditItem.sk.startswith(keys.AUDIT),
                scan_index_forward=False,
                limit=limit + 1,  # one more than the page: is there a next page?
                last_evaluated_key=start,
            )
            items = list(result)
        page = items[:limit]
        events = [mapping.audit_from_item(i) for i in page]
        return events, (page[-1].sk if len(items) > limit else None)

    def audit_events(self, account_id: str, limit: int = 50) -> list[AuditEvent]:
        """The account's audit trail, newest first."""
        with dynamo_errors():
            items = AuditItem.query(
                keys.account_pk(account_id),
                AuditItem.sk.startswith(keys.AUDIT),
                scan_index_forward=False,
                limit=limit,
            )
            return [mapping.audit_from_item(i) for i in items]

    # --- billing --------------------------------------------------------------------------
    def counter_value(self, name: str) -> int:
        item = _get_item(CounterItem, keys.counter_key(name))
        return int(item.value) if item is not None else 0

    def get_invoice(self, account_id: str, invoice_id: str) -> Invoice | None:
        read: dict[tuple[str, str], Invoice | None] = getattr(self._local, "read", {})
        if (account_id, invoice_id) in read:  # read with the session (read_ahead_invoice)
            return read.pop((account_id, invoice_id))
        item = _get_item(InvoiceItem, keys.invoice_key(account_id, invoice_id))
        return mapping.invoice_from_item(item) if item is not None else None

    # --- rendered documents (DocumentRepository) -----------------------------------------
    def stored_document(self, ref: DocumentRef, locale: str) -> StoredDocument | None:
        read: dict[tuple[DocumentRef, str], StoredDocument | None] = getattr(
            self._local, "documents", {}
        )
        if (ref, locale) in read:  # read with the session (read_ahead_invoice)
            return read.pop((ref, locale))
        item = _get_item(DocumentItem, keys.document_key(ref, locale))
        return mapping.document_from_item(item) if item is not None else None

    def store_document(self, document: StoredDocument) -> bool:
        """One conditional PutItem: stored unless a rendering of the same or a newer version
        is there already (``StoredDocument.replaces``); False then."""
        item = mapping.document_to_item(document)
        condition = DocumentItem.pk.does_not_exist() | (
            DocumentItem.source_version < document.source_version
        )
        return _save_if(item, condition)

    def list_invoices(
        self, account_id: str, limit: int, after: str | None
    ) -> tuple[list[Invoice], str | None]:
        """Invoices newest first; ``after`` is the id of the last invoice of the previous page."""
        pk = keys.account_pk(account_id)
        start: dict[str, dict[str, Any]] | None = None
        if after:
            _, after_sk = keys.invoice_key(account_id, after)
            start = {"pk": {"S": pk}, "sk": {"S": after_sk}}
        with dynamo_errors():
            result = InvoiceItem.query(
                pk,
                InvoiceItem.sk.startswith(keys.INVOICE),
                scan_index_forward=False,
                limit=limit,
                last_evaluated_key=start,
                page_size=limit,
            )
            invoices = [mapping.invoice_from_item(i) for i in result if isinstance(i, InvoiceItem)]
            last = result.last_evaluated_key
        next_after = invoices[-1].id if invoices and last and len(invoices) == limit else None
        return invoices, next_after

    def open_charges(self, account_id: str) -> list[Charge]:
        """The account's charges not yet paid or void (one Query)."""
        with dynamo_errors():
            items = ChargeItem.query(
                keys.account_pk(account_id),
                ChargeItem.sk.startswith(keys.CHARGE),
                filter_condition=ChargeItem.state.is_in(*OPEN_STATES),
                consistent_read=True,
            )
            return [mapping.charge_from_item(i) for i in items if isinstance(i, ChargeItem)]

    def payable(
        self, account_id: str, answer_key: str | None
    ) -> tuple[list[Charge], list[Invoice], str | None]:
        """For "apply pending charges", in one Query: the open charges, the open invoices and the
        stored answer of ``answer_key`` (``IDEMPOTENCY#<key>``, which sorts between them)."""
        wanted: Condition = (ChargeItem.kind == ChargeItem) & ChargeItem.state.is_in(
            *OPEN_STATES
        ) | ((InvoiceItem.kind == InvoiceItem) & (InvoiceItem.status == InvoiceStatus.OPEN.value))
        if answer_key is not None:
            _, answer_sk = keys.marker_key(MarkerKind.IDEMPOTENCY, answer_key, account_id)
            wanted = wanted | (TableItem.sk == answer_sk)
        charges: list[Charge] = []
        invoices: list[Invoice] = []
        answer: str | None = None
        with dynamo_errors():
            for item in TableItem.query(
                keys.account_pk(account_id),
                TableItem.sk.between(*keys.payable_range()),
                filter_condition=wanted,
                consistent_read=True,
            ):
                if isinstance(item, ChargeItem):
                    charges.append(mapping.charge_from_item(item))
                elif isinstance(item, InvoiceItem):
                    invoices.append(mapping.invoice_from_item(item))
                elif isinstance(item, MarkerItem):
                    answer = str(item.value)
        return charges, invoices, answer

    def get_charge(self, account_id: str, charge_id: str) -> Charge | None:
        item = _get_item(ChargeItem, keys.charge_key(account_id, charge_id))
        return mapping.charge_from_item(item) if item is not None else None

    def _due(self, queue: str, now: datetime, limit: int) -> list[TableItem]:
        due: list[TableItem] = []
        upper = keys.due_until(now)
        with dynamo_errors():
            for shard in range(self._settings.queue_shards):
                due.extend(
                    TableItem.work_queue.query(
                        keys.queue_partition(queue, shard),
                        TableItem.queue_sk <= upper,
                        limit=limit - len(due),
                    )
                )
                if len(due) >= limit:
                    break
        return due

    def charge_context(
        self, account_id: str, charge_id: str
    ) -> tuple[Account | None, Charge | None, Invoice | None]:
        """The account, one charge and its invoice (a charge's id is its invoice's): one
        BatchGet."""
        account: Account | None = None
        charge: Charge | None = None
        invoice: Invoice | None = None
        wanted = [
            keys.account_key(account_id),
            keys.charge_key(account_id, charge_id),
            keys.invoice_key(account_id, charge_id),
        ]
        for item in self._batch_get(wanted):
            if isinstance(item, AccountItem):
                account = mapping.account_from_item(item)
            elif isinstance(item, ChargeItem):
                charge = mapping.charge_from_item(item)
            elif isinstance(item, InvoiceItem):
                invoice = mapping.invoice_from_item(item)
        return account, charge, invoice

    # --- credit notes (CreditNoteRepository) ----------------------------------------------
    def get_credit_note(self, account_id: str, credit_note_id: str) -> CreditNote | None:
        item = _get_item(CreditNoteItem, keys.credit_note_key(account_id, credit_note_id))
        return mapping.credit_note_from_item(item) if item is not None else None

    def list_credit_notes(
        self, account_id: str, limit: int, after: str | None
    ) -> tuple[list[CreditNote], str | None]:
        """Newest first; ``after`` is the id of the last credit note of the previous page."""
        pk = keys.account_pk(account_id)
        after_sk = keys.credit_note_key(account_id, after)[1] if after else None
        start = {"pk": {"S": pk}, "sk": {"S": after_sk}} if after_sk else None
        with dynamo_errors():
            result = CreditNoteItem.query(
                pk,
                CreditNoteItem.sk.startswith(keys.CREDIT_NOTE),
                scan_index_forward=False,
                limit=limit,
                last_evaluated_key=start,
                page_size=limit,
            )
            notes = [
                mapping.credit_note_from_item(i) for i in result if isinstance(i, CreditNoteItem)
            ]
            last = result.last_evaluated_key
        return notes, (notes[-1].id if notes and last and len(notes) == limit else None)

    def invoices_paid_by(self, account_id: str, payment_intent_id: str) -> list[Invoice]:
        """One Query of the account's invoices, matched on their transactions here (a
        webhook's path: an account has a few invoices a year)."""
        with dynamo_errors():
            items = InvoiceItem.query(
                keys.account_pk(account_id),
                InvoiceItem.sk.startswith(keys.INVOICE),
                filter_condition=InvoiceItem.transactions.contains(payment_intent_id),
                consistent_read=True,
            )
            invoices = [mapping.invoice_from_item(i) for i in items if isinstance(i, InvoiceItem)]
        return [
            i
            for i in invoices
            if any(t.payment_intent_id == payment_intent_id for t in i.transactions)
        ]

    def credit_context(
        self, account_id: str, invoice_id: str
    ) -> tuple[Account | None, Invoice | None, list[CreditNote]]:
        """The account, an invoice and its credit notes, in one Query (``CREDIT#`` <
        ``INVOICE#`` < ``PROFILE``; the filter keeps just those items)."""
        wanted = (
            (TableItem.sk == keys.invoice_key(account_id, invoice_id)[1])
            | (TableItem.sk == keys.PROFILE)
            | ((CreditNoteItem.kind == CreditNoteItem) & (CreditNoteItem.invoice_id == invoice_id))
        )
        account: Account | None = None
        invoice: Invoice | None = None
        notes: list[CreditNote] = []
        with dynamo_errors():
            for item in TableItem.query(
                keys.account_pk(account_id),
                TableItem.sk.between(keys.CREDIT_NOTE, keys.PROFILE),
                filter_condition=wanted,
                consistent_read=True,
            ):
                if isinstance(item, AccountItem):
                    account = mapping.account_from_item(item)
                elif isinstance(item, InvoiceItem):
                    invoice = mapping.invoice_from_item(item)
                elif isinstance(item, CreditNoteItem):
                    notes.append(mapping.credit_note_from_item(item))
        return account, invoice, sorted(notes, key=lambda n: n.id)

    def invoices_by_id(self, account_id: str, invoice_ids: list[str]) -> list[Invoice]:
        wanted = [keys.invoice_key(account_id, i) for i in invoice_ids]
        items = self._batch_get(wanted) if wanted else []
        return [mapping.invoice_from_item(i) for i in items if isinstance(i, InvoiceItem)]

    def due_charges(self, now: datetime, limit: int) -> list[tuple[str, str]]:
        """``(account id, charge id)`` of charges the retry job must look at (may be stale)."""
        return [
            mapping.charge_ref_from_item(item)
            for item in self._due(RETRY_QUEUE, now, limit)
            if isinstance(item, ChargeItem)
        ]

    def due_refunds(self, now: datetime, limit: int) -> list[tuple[str, str]]:
        """``(account id, credit note id)`` of pending refunds due at ``now`` (may be stale)."""
        return [
            mapping.credit_note_ref_from_item(item)
            for item in self._due(REFUND_QUEUE, now, limit)
            if isinstance(item, CreditNoteItem)
        ]

    def oss_credit_notes(self, quarter: str) -> Iterator[CreditNote]:
        """The credit notes of OSS sales issued in ``quarter``: its OSS ledger, and the
        (short) queue of pending refunds, filtered here (an item has one pair of queue keys).
        No Scan."""
        for shard in range(keys.OSS_SHARDS):
            with dynamo_errors():
                items = list(TableItem.work_queue.query(keys.oss_queue(quarter, shard)))
            for item in items:
                if isinstance(item, CreditNoteItem):
                    yield mapping.credit_note_from_item(item)
        for shard in range(self._settings.queue_shards):
            with dynamo_errors():
                items = list(TableItem.work_queue.query(keys.queue_partition(REFUND_QUEUE, shard)))
            for item in items:
                if isinstance(item, CreditNoteItem):
                    note = mapping.credit_note_from_item(item)
                    if note.oss_quarter() == quarter:
                        yield note

    def oss_invoices(self, quarter: str) -> Iterator[Invoice]:
        """Every OSS sale issued in ``quarter``, from the sparse ``oss#<quarter>#<shard>``
        ledger of the ``work_queue`` index (paged by PynamoDB; no Scan)."""
        for shard in range(keys.OSS_SHARDS):
            with dynamo_errors():
                items = list(TableItem.work_queue.query(keys.oss_queue(quarter, shard)))
            for item in items:
                if isinstance(item, InvoiceItem):
                    yield mapping.invoice_from_item(item)

    def get_marker(self, kind: str, key: str) -> str | None:
        item = _get_item(MarkerItem, keys.marker_key(kind, key))
        return str(item.value) if item is not None else None

    def due_work(self, queue: str, now: datetime, limit: int) -> list[WorkItem]:
        """Scheduled work of ``queue`` due at ``now`` (from the sparse index: may be stale)."""
        return [
            mapping.work_from_item(i, queue)
            for i in self._due(queue, now, limit)
            if isinstance(i, WorkItemModel)
        ]

    def due_trials(self, now: datetime, limit: int) -> list[Account]:
        """Trials whose notice or end is due (from the sparse index: may be stale)."""
        return [
            mapping.account_from_item(i)
            for i in self._due(TRIAL_QUEUE, now, limit)
            if isinstance(i, AccountItem)
        ]

    def due_renewals(self, now: datetime, limit: int) -> list[Account]:
        """Active accounts whose renewal is due (from the sparse index: may be stale)."""
        return [
            mapping.account_from_item(i)
            for i in self._due(RENEWAL_QUEUE, now, limit)
            if isinstance(i, AccountItem)
        ]

    # --- reactivation requests ------------------------------------------------------------
    def get_reactivation_request(
        self, account_id: str, request_id: str
    ) -> ReactivationRequest | None:
        item = _get_item(ReactivationItem, keys.reactivation_key(account_id, request_id))
        return mapping.request_from_item(item) if item is not None else None

    def reactivation_requests(self, account_id: str, limit: int = 10) -> list[ReactivationRequest]:
        """The account's requests, newest first (one Query)."""
        with dynamo_errors():
            items = ReactivationItem.query(
                keys.account_pk(account_id),
                ReactivationItem.sk.startswith(keys.REACTIVATION),
                scan_index_forward=False,
                limit=limit,
                consistent_read=True,
            )
            return [mapping.request_from_item(i) for i in items if isinstance(i, ReactivationItem)]

    def open_reactivation_requests(self, limit: int) -> list[ReactivationRequest]:
        """Open requests, oldest first, from the sparse index (may lag a write slightly)."""
        with dynamo_errors():
            items = TableItem.work_queue.query(keys.reactivation_queue(), limit=limit)
            return [mapping.request_from_item(i) for i in items if isinstance(i, ReactivationItem)]

    # --- outbox ---------------------------------------------------------------------------
    def due_mail(self, now: datetime, limit: int) -> list[OutboxMail]:
        return [
            mapping.mail_from_item(i)
            for i in self._due(OUTBOX_QUEUE, now, limit)
            if isinstance(i, OutboxItem)
        ]

    def due_mail_and_next(
        self, now: datetime, limit: int
    ) -> tuple[list[OutboxMail], datetime | None]:
        """One Query per shard, from its head: the due items, then the first one not due."""
        due: list[OutboxMail] = []
        upcoming: datetime | None = None
        upper = f"{utc_iso(now)}~"
        with dynamo_errors():
            for shard in range(self._settings.queue_shards):
                for item in TableItem.work_queue.query(
                    keys.queue_partition(OUTBOX_QUEUE, shard), limit=limit - len(due) + 1
                ):
                    if not isinstance(item, OutboxItem):
                        continue
                    if (item.queue_sk or "") > upper:
                        mail = mapping.mail_from_item(item)
                        if mail.next_attempt_at is not None:
                            upcoming = min(upcoming or mail.next_attempt_at, mail.next_attempt_at)
                        break
                    due.append(mapping.mail_from_item(item))
                if len(due) >= limit:
                    break
        return due, upcoming

    def mail_wake(self) -> MailWake | None:
        item = _get_item(WakeItem, keys.OUTBOX_WAKE_KEY)
        if item is None:
            return None
        return MailWake(None if item.at == NEVER else parse_iso(item.at), int(item.version))

    def advance_mail_wake(self, at: datetime | None, version: int) -> bool:
        item = WakeItem(
            *keys.OUTBOX_WAKE_KEY, at=NEVER if at is None else utc_iso(at), version=version + 1
        )
        condition = WakeItem.pk.does_not_exist() if version == 0 else WakeItem.version == version
        return _save_if(item, condition)

    def lower_mail_wake(self, at: datetime) -> None:
        item = WakeItem(*keys.OUTBOX_WAKE_KEY)
        when = utc_iso(at)
        with dynamo_errors(write=True):
            try:
                item.update(
                    actions=[WakeItem.at.set(when), WakeItem.version.add(1)],
                    condition=WakeItem.at.does_not_exist() | (WakeItem.at > when),
                )
            except PynamoDBException as error:
                if response_code(error) != "ConditionalCheckFailedException":
                    raise
                item.update(actions=[WakeItem.version.add(1)])  # earlier already: a bump

    def get_mail(self, mail_id: str) -> OutboxMail | None:
        item = _get_item(OutboxItem, keys.outbox_key(mail_id))
        return mapping.mail_from_item(item) if item is not None else None

    def _update_mail(self, mail_id: str, actions: list[Any], condition: Any) -> OutboxMail | None:
        item = mapping.mail_item(mail_id)
        with dynamo_errors(write=True):
            try:
                item.update(actions=actions, condition=condition)
            except PynamoDBException as error:
                if response_code(error) == "ConditionalCheckFailedException":
                    return None
                raise
        return mapping.mail_from_item(item)

    def claim_mail(self, mail_id: str, now: datetime, lease_until: datetime) -> OutboxMail | None:
        return self._update_mail(
            mail_id,
            [OutboxItem.lease_until.set(lease_until)],
            (OutboxItem.status == MailStatus.PENDING.value)
            & (OutboxItem.next_attempt_at <= now)
            & (OutboxItem.lease_until.does_not_exist() | (OutboxItem.lease_until < now)),
        )

    def mark_mail_sent(self, mail: OutboxMail, now: datetime, provider_id: str) -> None:
        self._update_mail(
            mail.id,
            [
                OutboxItem.status.set(MailStatus.SENT.value),
                OutboxItem.sent_at.set(now),
                OutboxItem.provider_id.set(provider_id),
                OutboxItem.attempts.add(1),
                OutboxItem.queue_pk.remove(),
                OutboxItem.queue_sk.remove(),
                OutboxItem.lease_until.remove(),
            ],
            OutboxItem.status == MailStatus.PENDING.value,
        )

    def mark_mail_retry(self, mail: OutboxMail, next_attempt_at: datetime, error: str) -> None:
        self._update_mail(
            mail.id,
            [
                OutboxItem.attempts.add(1),
                OutboxItem.next_attempt_at.set(next_attempt_at),
                OutboxItem.queue_sk.set(keys.queue_sort_key(next_attempt_at, mail.id)),
                OutboxItem.last_error.set(error[:500]),
                OutboxItem.lease_until.remove(),
            ],
            OutboxItem.status == MailStatus.PENDING.value,
        )

    def mark_mail_failed(self, mail: OutboxMail, error: str) -> None:
        """Out of the ``outbox`` queue and into ``mail_failed`` (one conditional update)."""
        queue_pk, queue_sk = keys.queue_keys(
            MAIL_FAILED_QUEUE, mail.created_at, mail.id, mail.id, self._settings.queue_shards
        )
        self._update_mail(
            mail.id,
            [
                OutboxItem.status.set(MailStatus.FAILED.value),
                OutboxItem.attempts.add(1),
                OutboxItem.last_error.set(error[:500]),
                OutboxItem.queue_pk.set(queue_pk),
                OutboxItem.queue_sk.set(queue_sk),
                OutboxItem.lease_until.remove(),
            ],
            OutboxItem.status == MailStatus.PENDING.value,
        )

    def failed_mail(self, limit: int) -> list[OutboxMail]:
        """Failed mail, oldest first: one Query per shard of ``mail_failed`` (no Scan)."""
        found: list[OutboxItem] = []
        with dynamo_errors():
            for shard in range(self._settings.queue_shards):
                found.extend(
                    item
                    for item in TableItem.work_queue.query(
                        keys.queue_partition(MAIL_FAILED_QUEUE, shard), limit=limit
                    )
                    if isinstance(item, OutboxItem)
                )
        found.sort(key=lambda item: item.queue_sk or "")
        return [mapping.mail_from_item(item) for item in found[:limit]]

    def requeue_mail(self, mail_id: str, now: datetime) -> OutboxMail | None:
        queue_pk, queue_sk = keys.queue_keys(
            OUTBOX_QUEUE, now, mail_id, mail_id, self._settings.queue_shards
        )
        return self._update_mail(
            mail_id,
            [
                OutboxItem.status.set(MailStatus.PENDING.value),
                OutboxItem.attempts.set(0),
                OutboxItem.next_attempt_at.set(now),
                OutboxItem.queued_at.set(now),
                OutboxItem.queue_pk.set(queue_pk),
                OutboxItem.queue_sk.set(queue_sk),
                OutboxItem.lease_until.remove(),
            ],
            OutboxItem.status == MailStatus.FAILED.value,
        )


def _save_if(item: TableItem, condition: Any) -> bool:
    """One conditional PutItem of ``item``; False when ``condition`` does not hold."""
    with dynamo_errors(write=True):
        try:
            item.save(condition=condition)
        except PynamoDBException as error:
            if response_code(error) == "ConditionalCheckFailedException":
                return False
            raise
    return True


_Item = TypeVar("_Item", bound=TableItem)


def _get_item(model: type[_Item], key: keys.Key) -> _Item | None:
    """One consistent GetItem of ``key`` as ``model``; None when there is no such item."""
    with dynamo_errors():
        try:
            return model.get(*key, consistent_read=True)
        except model.DoesNotExist:
            return None
