"""Repositories over the single table (see ``models`` for keys and access patterns).

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

import json
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime
from functools import cached_property
from typing import Any, Sequence

from botocore.exceptions import (
    BotoCoreError,
    ClientError,
    ConnectionClosedError,
    ReadTimeoutError,
)
from pynamodb.exceptions import PynamoDBException, TransactWriteError
from pynamodb.expressions.update import Action
from pynamodb.transactions import TransactWrite

from chalicelib.adapters import codec
from chalicelib.adapters.dynamo.models import (
    AccountItem,
    AuditItem,
    ChargeItem,
    CounterItem,
    DeviceItem,
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
    Account,
    AccountChange,
    AccountStatus,
    AccountToken,
    AuditEvent,
    MailStatus,
    OutboxMail,
    Session,
    TokenPurpose,
    WorkItem,
)
from chalicelib.domain.billing import Charge, ChargePurpose, ChargeState, Invoice
from chalicelib.domain.errors import (
    ConcurrentUpdate,
    CounterMoved,
    DependencyUnavailable,
    EmailAlreadyUsed,
    MarkerExists,
)
from chalicelib.domain.ids import new_id, parse_iso, shard_of, utc_iso
from chalicelib.domain.lifecycle import ReactivationRequest, RequestStatus
from chalicelib.domain.throttle import (
    Bucket,
    BucketKind,
    Reservation,
    ThrottleState,
    TrustedDevice,
)
from chalicelib.logs import log_error
from chalicelib.services.ports import LoginLookup, MailWake

PROFILE = "PROFILE"
MAIL_FAILED_QUEUE = "mail_failed"  # failed mail, by creation time (requeue-failed-mail)
OSS_SHARDS = 4  # the OSS ledger's shards (fixed: changing it would hide old quarters)
WAKE_KEY = ("WAKE#outbox", "WAKE")  # the outbox sweeper's wake marker
NEVER = "~"  # a wake time after every ISO time: nothing known due
REACTIVATION_QUEUE = "reactivation#0"  # open reactivation requests (one shard: they are rare)


def account_pk(account_id: str) -> str:
    return f"ACCOUNT#{account_id}"


def email_pk(email: str) -> str:
    return f"EMAIL#{email}"


def queue_sort_key(due: datetime, item_id: str) -> str:
    return f"{utc_iso(due)}#{item_id}"


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


# --- conversions ---------------------------------------------------------------------------
def _account_to_item(account: Account, shards: int) -> AccountItem:
    """The account item; it carries the queue keys of the one queue it waits in, if any
    (``renewal`` while active, ``trial`` while a trial: see ``Account.queue_entry``)."""
    queued = account.queue_entry()
    return AccountItem(
        pk=account_pk(account.id),
        sk=PROFILE,
        email=account.email,
        name=account.name,
        country=account.country,
        locale=account.locale,
        password_hash=account.password_hash,
        created_at=account.created_at,
        status=account.status.value,
        phone=account.phone,
        plan=account.plan,
        trial_ends_at=account.trial_ends_at,
        session_epoch=account.session_epoch,
        customer_id=account.customer_id,
        payment_method_id=account.payment_method_id,
        card=codec.card_to_json(account.card),
        billing_address=codec.address_to_json(account.billing_address),
        next_renewal_at=account.next_renewal_at,
        vat_id=account.vat_id,
        vat_status=account.vat_status,
        vat_checked_at=account.vat_checked_at,
        vat_request_id=account.vat_request_id,
        trial_notice_for=account.trial_notice_for,
        subscribe_charge_id=account.subscribe_charge_id,
        email_verified=account.email_verified,
        pending_email=account.pending_email,
        mfa_secret=account.mfa_secret,
        mfa_pending_secret=account.mfa_pending_secret,
        mfa_last_step=account.mfa_last_step,
        recovery_codes=json.dumps(list(account.recovery_codes)),
        version=account.version,
        queue_pk=f"{queued[0]}#{shard_of(account.id, shards)}" if queued else None,
        queue_sk=queue_sort_key(queued[1], account.id) if queued else None,
    )


def _email_marker(email: str, account_id: str, item: AccountItem) -> EmailItem:
    """The email marker with its copy of the account item (written in the account's
    transaction), so that sign-in reads both in one request."""
    return EmailItem(
        pk=email_pk(email), sk="EMAIL", account_id=account_id, account=json.dumps(item.serialize())
    )


def _account_from_marker(item: EmailItem) -> Account | None:
    """The account copied on its email marker (None on a marker written before the copy)."""
    if not item.account:
        return None
    copy = AccountItem.from_raw_data(json.loads(item.account))
    return _account_from_item(copy) if isinstance(copy, AccountItem) else None


def _account_from_item(item: AccountItem) -> Account:
    return Account(
        id=item.pk.removeprefix("ACCOUNT#"),
        email=item.email,
        name=item.name,
        country=item.country,
        locale=item.locale,
        password_hash=item.password_hash,
        created_at=item.created_at,
        status=AccountStatus(item.status),
        phone=item.phone,
        plan=item.plan,
        trial_ends_at=item.trial_ends_at,
        session_epoch=int(item.session_epoch),
        customer_id=item.customer_id,
        payment_method_id=item.payment_method_id,
        card=codec.card_from_json(item.card),
        billing_address=codec.address_from_json(item.billing_address),
        next_renewal_at=item.next_renewal_at,
        vat_id=item.vat_id,
        vat_status=item.vat_status,
        vat_checked_at=item.vat_checked_at,
        vat_request_id=item.vat_request_id,
        trial_notice_for=item.trial_notice_for,
        subscribe_charge_id=item.subscribe_charge_id,
        email_verified=bool(item.email_verified),
        pending_email=item.pending_email,
        mfa_secret=item.mfa_secret,
        mfa_pending_secret=item.mfa_pending_secret,
        mfa_last_step=int(item.mfa_last_step or 0),
        recovery_codes=tuple(json.loads(item.recovery_codes or "[]")),
        version=int(item.version),
    )


def oss_queue(quarter: str, shard: int) -> str:
    """The ``work_queue`` key of the One-Stop Shop ledger of a quarter (``oss#2026Q4#<n>``)."""
    return f"oss#{quarter}#{shard}"


def _invoice_to_item(invoice: Invoice) -> InvoiceItem:
    """The invoice item; an OSS sale also carries the keys of its quarter's OSS ledger in the
    ``work_queue`` index (derived from the immutable body, so every later write keeps them)."""
    facts = invoice.tax_facts
    oss = facts is not None and facts.oss
    return InvoiceItem(
        pk=account_pk(invoice.account_id),
        sk=f"INVOICE#{invoice.id}",
        body=codec.invoice_body_to_json(invoice),
        status=invoice.status.value,
        transactions=codec.transactions_to_json(invoice.transactions),
        version=invoice.version,
        queue_pk=oss_queue(facts.quarter, shard_of(invoice.id, OSS_SHARDS))
        if oss and facts
        else None,
        queue_sk=queue_sort_key(invoice.issued_at, invoice.id) if oss else None,
    )


def _invoice_from_item(item: InvoiceItem) -> Invoice:
    return codec.invoice_from_json(item.body, item.status, item.transactions, int(item.version))


def _charge_to_item(charge: Charge, shards: int) -> ChargeItem:
    due_at = charge.queue_due_at()
    return ChargeItem(
        pk=account_pk(charge.account_id),
        sk=f"CHARGE#{charge.id}",
        invoice_id=charge.invoice_id,
        amount=charge.amount,
        currency=charge.currency,
        state=charge.state.value,
        created_at=charge.created_at,
        attempts=charge.attempts,
        lease_until=charge.lease_until,
        first_failed_at=charge.first_failed_at,
        next_retry_at=charge.next_retry_at,
        retries_stopped=int(charge.retries_stopped),
        last_failure=codec.decline_to_json(charge.last_failure),
        last_failure_key=charge.last_failure_key,
        payment_intent_id=charge.payment_intent_id,
        attempt=codec.attempt_to_json(charge.attempt),
        purpose=charge.purpose.value,
        suspend_at=charge.suspend_at,
        version=charge.version,
        queue_pk=f"retry#{shard_of(charge.id, shards)}" if due_at else None,
        queue_sk=queue_sort_key(due_at, f"{charge.account_id}#{charge.id}") if due_at else None,
    )


def _charge_from_item(item: ChargeItem) -> Charge:
    return Charge(
        id=item.sk.removeprefix("CHARGE#"),
        account_id=item.pk.removeprefix("ACCOUNT#"),
        invoice_id=item.invoice_id,
        amount=int(item.amount),
        currency=item.currency,
        state=ChargeState(item.state),
        created_at=item.created_at,
        attempts=int(item.attempts),
        lease_until=item.lease_until,
        first_failed_at=item.first_failed_at,
        next_retry_at=item.next_retry_at,
        retries_stopped=bool(item.retries_stopped),
        last_failure=codec.decline_from_json(item.last_failure),
        last_failure_key=item.last_failure_key,
        payment_intent_id=item.payment_intent_id,
        attempt=codec.attempt_from_json(item.attempt),
        purpose=ChargePurpose(item.purpose or "renewal"),
        suspend_at=item.suspend_at,
        version=int(item.version),
    )


def _session_to_item(session: Session, settings: Settings) -> SessionItem:
    return SessionItem(
        pk=account_pk(session.account_id),
        sk=f"SESSION#{session.token_hash}",
        epoch=session.epoch,
        created_at=session.created_at,
        last_seen_at=session.last_seen_at,
        ip=session.ip,
        failures=session.reauth.failures,
        attempted_at=session.reauth.attempted_at,
        user_agent=session.user_agent,
        expires_at=session.expires_at(
            settings.session_idle_seconds, settings.session_absolute_seconds
        ),
    )


def _session_from_item(item: SessionItem) -> Session:
    return Session(
        account_id=item.pk.removeprefix("ACCOUNT#"),
        token_hash=item.sk.removeprefix("SESSION#"),
        epoch=int(item.epoch),
        created_at=item.created_at,
        last_seen_at=item.last_seen_at,
        ip=item.ip,
        reauth=ThrottleState(int(item.failures or 0), item.attempted_at),
        user_agent=item.user_agent or "",
    )


def _token_key(account_id: str, purpose: TokenPurpose) -> tuple[str, str]:
    return account_pk(account_id), f"TOKEN#{purpose.value}"


def _token_to_item(token: AccountToken) -> TokenItem:
    pk, sk = _token_key(token.account_id, token.purpose)
    return TokenItem(
        pk=pk,
        sk=sk,
        token_hash=token.token_hash,
        created_at=token.created_at,
        epoch=token.epoch,
        value=token.value,
        expires_at=token.expires_at,
    )


def _token_from_item(item: TokenItem) -> AccountToken:
    assert item.expires_at is not None  # always written
    return AccountToken(
        account_id=item.pk.removeprefix("ACCOUNT#"),
        purpose=TokenPurpose(item.sk.removeprefix("TOKEN#")),
        token_hash=item.token_hash,
        created_at=item.created_at,
        expires_at=item.expires_at,
        epoch=int(item.epoch or 0),
        value=item.value or "",
    )


# --- sign-in throttle (domain.throttle) ----------------------------------------------------
def _throttle_item(bucket: Bucket) -> ThrottleItem:
    return ThrottleItem(pk=f"THROTTLE#{bucket.kind.value}#{bucket.key}", sk=f"W#{bucket.window}")


def _device_to_item(device: TrustedDevice) -> DeviceItem:
    return DeviceItem(
        pk=account_pk(device.account_id),
        sk=f"DEVICE#{device.token_hash}",
        created_at=device.created_at,
        last_used_at=device.last_used_at,
        failures=device.throttle.failures,
        attempted_at=device.throttle.attempted_at,
        expires_at=device.expires_at,
    )


def _device_from_item(item: DeviceItem) -> TrustedDevice:
    assert item.expires_at is not None  # always written
    return TrustedDevice(
        account_id=item.pk.removeprefix("ACCOUNT#"),
        token_hash=item.sk.removeprefix("DEVICE#"),
        created_at=item.created_at,
        last_used_at=item.last_used_at,
        expires_at=item.expires_at,
        throttle=ThrottleState(int(item.failures or 0), item.attempted_at),
    )


def _reservation_update(r: Reservation) -> tuple[TableItem, list[Action], Any]:
    """The item, update actions and condition that take reservation ``r`` (see
    ``domain.throttle``): compare-and-set on the failures seen, or an increment below the
    limit; device and session buckets must exist (they are never created here)."""
    item: TableItem
    attrs: Any
    if r.bucket.kind in (BucketKind.DEVICE, BucketKind.SESSION):
        account_id, token_hash = r.bucket.owner
        if r.bucket.kind is BucketKind.DEVICE:
            item = DeviceItem(pk=account_pk(account_id), sk=f"DEVICE#{token_hash}")
            attrs = DeviceItem
        else:
            item = SessionItem(pk=account_pk(account_id), sk=f"SESSION#{token_hash}")
            attrs = SessionItem
        exists: Any = attrs.pk.exists()
        actions: list[Action] = [attrs.failures.add(1), attrs.attempted_at.set(r.at)]
    else:
        item, attrs, exists = _throttle_item(r.bucket), ThrottleItem, None
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


def _audit_to_item(event: AuditEvent) -> AuditItem:
    return AuditItem(
        pk=account_pk(event.account_id),
        sk=f"AUDIT#{utc_iso(event.at)}#{new_id()[:8]}",
        at=event.at,
        event=event.event,
        actor=event.actor,
        ip=event.ip,
        details=json.dumps(event.details),
    )


def _failed_mail_keys(mail_id: str, created_at: datetime, shards: int) -> tuple[str, str]:
    return f"{MAIL_FAILED_QUEUE}#{shard_of(mail_id, shards)}", queue_sort_key(created_at, mail_id)


def _mail_to_item(mail: OutboxMail, shards: int) -> OutboxItem:
    pending = mail.status is MailStatus.PENDING and mail.next_attempt_at is not None
    queue_pk, queue_sk = (
        _failed_mail_keys(mail.id, mail.created_at, shards)
        if mail.status is MailStatus.FAILED
        else (None, None)
    )
    if pending and mail.next_attempt_at:
        queue_pk = f"outbox#{shard_of(mail.id, shards)}"
        queue_sk = queue_sort_key(mail.next_attempt_at, mail.id)
    return OutboxItem(
        pk=f"OUTBOX#{mail.id}",
        sk="OUTBOX",
        to=mail.to,
        template=mail.template,
        locale=mail.locale,
        params=json.dumps(mail.params),
        account_id=mail.account_id,
        status=mail.status.value,
        attempts=mail.attempts,
        created_at=mail.created_at,
        next_attempt_at=mail.next_attempt_at,
        queued_at=mail.queued_at,
        queue_pk=queue_pk,
        queue_sk=queue_sk,
    )


def _mail_from_item(item: OutboxItem) -> OutboxMail:
    return OutboxMail(
        id=item.pk.removeprefix("OUTBOX#"),
        to=item.to,
        template=item.template,
        locale=item.locale,
        created_at=item.created_at,
        params=json.loads(item.params),
        account_id=item.account_id,
        status=MailStatus(item.status),
        attempts=int(item.attempts),
        next_attempt_at=item.next_attempt_at,
        lease_until=item.lease_until,
        sent_at=item.sent_at,
        provider_id=item.provider_id,
        last_error=item.last_error,
        queued_at=item.queued_at,
    )


def _request_to_item(request: ReactivationRequest) -> ReactivationItem:
    """An open request carries the ``reactivation#0`` queue keys; a decided one not.  One
    shard: requests are rare, and support lists them all with one Query."""
    queued = request.status is RequestStatus.OPEN
    return ReactivationItem(
        pk=account_pk(request.account_id),
        sk=f"REACTIVATION#{request.id}",
        email=request.email,
        requested_at=request.requested_at,
        status=request.status.value,
        plan=request.plan,
        decided_at=request.decided_at,
        decided_by=request.decided_by,
        note=request.note,
        version=request.version,
        queue_pk=REACTIVATION_QUEUE if queued else None,
        queue_sk=queue_sort_key(request.requested_at, request.id) if queued else None,
    )


def _request_from_item(item: ReactivationItem) -> ReactivationRequest:
    return ReactivationRequest(
        id=item.sk.removeprefix("REACTIVATION#"),
        account_id=item.pk.removeprefix("ACCOUNT#"),
        email=item.email,
        requested_at=item.requested_at,
        status=RequestStatus(item.status),
        plan=item.plan,
        decided_at=item.decided_at,
        decided_by=item.decided_by,
        note=item.note,
        version=int(item.version),
    )


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
        from chalicelib.adapters import aws

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
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            self._ping_client.get_item(
                TableName=self._settings.table_name,
                Key={"pk": {"S": "HEALTH"}, "sk": {"S": "PING"}},
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

    def commit(self, change: AccountChange) -> None:
        shards = self._settings.queue_shards
        # PynamoDB sends deletes, then puts, then updates: keep the keys in that order to
        # know which condition failed.
        deletes: list[str] = []
        puts: list[str] = []
        updates: list[str] = []

        def build(tw: TransactWrite) -> None:
            def put(item: TableItem, condition: Any = None) -> None:
                tw.save(item, condition=condition)
                puts.append(item.pk)

            def delete(item: TableItem, condition: Any = None) -> None:
                tw.delete(item, condition=condition)
                deletes.append(item.pk)

            account = change.account
            if account is not None:
                item = _account_to_item(account, shards)
                email_marker = _email_marker(account.email, account.id, item)
                if change.create:
                    put(email_marker, EmailItem.pk.does_not_exist())
                    put(item, AccountItem.pk.does_not_exist())
                else:
                    put(item, AccountItem.version == change.expected_version)
                swapped_to = None
                if change.email_swap is not None:
                    old, swapped_to = change.email_swap
                    delete(
                        EmailItem(pk=email_pk(old), sk="EMAIL"), EmailItem.account_id == account.id
                    )
                    put(
                        _email_marker(swapped_to, account.id, item),
                        EmailItem.pk.does_not_exist(),
                    )
                if not change.create and swapped_to != account.email:
                    # the copy kept in step (a marker never taken from another account)
                    put(
                        email_marker,
                        EmailItem.pk.does_not_exist() | (EmailItem.account_id == account.id),
                    )
            for session in change.put_sessions:
                put(_session_to_item(session, self._settings))
            for account_id, token_hash in change.delete_sessions:
                delete(SessionItem(pk=account_pk(account_id), sk=f"SESSION#{token_hash}"))
            if change.counter is not None:
                name, expected = change.counter
                counter = CounterItem(pk=f"COUNTER#{name}", sk="COUNTER")
                tw.update(
                    counter,
                    actions=[
                        CounterItem.value.set(expected + 1),
                        CounterItem.kind.set(CounterItem),
                    ],
                    condition=(CounterItem.value == expected)
                    if expected
                    else CounterItem.value.does_not_exist(),
                )
                updates.append(counter.pk)
            for invoice, invoice_version in change.invoices:
                put(
                    _invoice_to_item(invoice),
                    InvoiceItem.pk.does_not_exist()
                    if invoice_version is None
                    else InvoiceItem.version == invoice_version,
                )
            for charge, charge_version in change.charges:
                put(
                    _charge_to_item(charge, shards),
                    ChargeItem.pk.does_not_exist()
                    if charge_version is None
                    else ChargeItem.version == charge_version,
                )
            for work in change.work:
                pk, sk = account_pk(work.account_id), f"WORK#{work.queue}"
                if work.due_at is None:
                    delete(WorkItemModel(pk=pk, sk=sk))
                else:
                    put(
                        WorkItemModel(
                            pk=pk,
                            sk=sk,
                            due_at=work.due_at,
                            attempts=work.attempts,
                            queue_pk=f"{work.queue}#{shard_of(work.account_id, shards)}",
                            queue_sk=queue_sort_key(work.due_at, work.account_id),
                        )
                    )
            for marker in change.markers:
                if marker.account_id is not None:
                    put(
                        MarkerItem(
                            pk=account_pk(marker.account_id),
                            sk=f"{marker.kind}#{marker.key}",
                            value=marker.value,
                            expires_at=marker.expires_at,
                        ),
                        MarkerItem.pk.does_not_exist() if marker.unique else None,
                    )
                    continue
                put(
                    MarkerItem(
                        pk=f"{marker.kind}#{marker.key}",
                        sk="MARKER",
                        value=marker.value,
                        expires_at=marker.expires_at,
                    ),
                    MarkerItem.pk.does_not_exist() if marker.unique else None,
                )
            for request, request_version in change.requests:
                put(
                    _request_to_item(request),
                    ReactivationItem.pk.does_not_exist()
                    if request_version is None
                    else ReactivationItem.version == request_version,
                )
            for mail in change.mails:
                put(_mail_to_item(mail, shards), OutboxItem.pk.does_not_exist())
            for event in change.audit:
                put(_audit_to_item(event))
            for device in change.devices:
                put(_device_to_item(device))
            spent = {(t.account_id, t.purpose) for t in change.spend_tokens}
            for token in change.spend_tokens:
                pk, sk = _token_key(token.account_id, token.purpose)
                delete(TokenItem(pk=pk, sk=sk), TokenItem.token_hash == token.token_hash)
            for account_id, purpose in change.drop_tokens:
                if (account_id, purpose) not in spent:
                    pk, sk = _token_key(account_id, purpose)
                    delete(TokenItem(pk=pk, sk=sk))
            for token in change.tokens:
                put(_token_to_item(token))
            for settle in change.throttle_settle:
                bucket_item = _throttle_item(settle.bucket)
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
            keys = [order[i] for i in failed if i < len(order)]
            if any(k.startswith("COUNTER#") for k in keys):
                return CounterMoved()
            marker_keys = {
                account_pk(m.account_id) if m.account_id else f"{m.kind}#{m.key}"
                for m in change.markers
                if m.unique
            }
            if marker_keys & set(keys):
                return MarkerExists()
            swaps_email = change.account is not None and (change.create or change.email_swap)
            if swaps_email and any(k.startswith("EMAIL#") for k in keys):
                return EmailAlreadyUsed()
            return ConcurrentUpdate()

        self._transact(build, on_cancel)

    # --- accounts and sessions --------------------------------------------------------------
    def get_account(self, account_id: str) -> Account | None:
        with dynamo_errors():
            try:
                item = AccountItem.get(account_pk(account_id), PROFILE, consistent_read=True)
            except AccountItem.DoesNotExist:
                return None
        return _account_from_item(item)

    def _batch_get(self, keys: list[tuple[str, str]]) -> list[TableItem]:
        with dynamo_errors():
            return list(TableItem.batch_get(keys, consistent_read=True))

    # --- sign-in throttle (domain.throttle) ----------------------------------------------
    def login_lookup(
        self, email: str, buckets: Sequence[Bucket], device: tuple[str, str] | None = None
    ) -> LoginLookup:
        by_key = {(f"THROTTLE#{b.kind.value}#{b.key}", f"W#{b.window}"): b for b in buckets}
        keys = [(email_pk(email), "EMAIL"), *by_key]
        if device is not None:
            keys.append((account_pk(device[0]), f"DEVICE#{device[1]}"))
        account_id: str | None = None
        account: Account | None = None
        states: dict[Bucket, ThrottleState] = {}
        found: TrustedDevice | None = None
        for item in self._batch_get(keys):
            if isinstance(item, EmailItem):
                account_id = item.account_id
                account = _account_from_marker(item)
            elif isinstance(item, ThrottleItem):
                bucket = by_key[(item.pk, item.sk)]
                states[bucket] = ThrottleState(int(item.failures), item.attempted_at)
            elif isinstance(item, DeviceItem):
                found = _device_from_item(item)
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

    def read_ahead_invoice(self, invoice_id: str) -> None:
        """Read invoice ``invoice_id`` of the caller with the next :meth:`get_session` (its
        BatchGet), for the next :meth:`get_invoice` of it: the invoice routes know the id from
        their path, so authenticating and reading the invoice are one round trip.  Per
        thread; the next ``get_session`` consumes it (unused, it is dropped)."""
        self._local.ahead = invoice_id

    def get_session(
        self, account_id: str, token_hash: str
    ) -> tuple[Account | None, Session | None]:
        pk = account_pk(account_id)
        account: Account | None = None
        session: Session | None = None
        ahead: str | None = getattr(self._local, "ahead", None)
        self._local.ahead = None
        self._local.read = {}
        keys = [(pk, PROFILE), (pk, f"SESSION#{token_hash}")]
        if ahead is not None:
            keys.append((pk, f"INVOICE#{ahead}"))
            self._local.read[(account_id, ahead)] = None  # absent unless found below
        for item in self._batch_get(keys):
            if isinstance(item, AccountItem):
                account = _account_from_item(item)
            elif isinstance(item, SessionItem):
                session = _session_from_item(item)
            elif isinstance(item, InvoiceItem):
                self._local.read[(account_id, ahead)] = _invoice_from_item(item)
        return account, session

    def touch_session(self, session: Session, now: datetime, expires_at: datetime) -> None:
        item = SessionItem(pk=account_pk(session.account_id), sk=f"SESSION#{session.token_hash}")
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
            SessionItem(pk=account_pk(account_id), sk=f"SESSION#{token_hash}").delete()

    # --- account security (services.account_security) -------------------------------------
    def token_lookup(
        self, account_id: str, purposes: Sequence[TokenPurpose]
    ) -> tuple[Account | None, dict[TokenPurpose, AccountToken]]:
        pk = account_pk(account_id)
        keys = [(pk, PROFILE), *(_token_key(account_id, p) for p in purposes)]
        account: Account | None = None
        found: dict[TokenPurpose, AccountToken] = {}
        for item in self._batch_get(keys):
            if isinstance(item, AccountItem):
                account = _account_from_item(item)
            elif isinstance(item, TokenItem):
                token = _token_from_item(item)
                found[token.purpose] = token
        return account, found

    def list_sessions(self, account_id: str) -> list[Session]:
        with dynamo_errors():
            items = SessionItem.query(
                account_pk(account_id),
                SessionItem.sk.startswith("SESSION#"),
                consistent_read=True,
            )
            return [_session_from_item(i) for i in items]

    def audit_page(
        self, account_id: str, limit: int, cursor: str | None
    ) -> tuple[list[AuditEvent], str | None]:
        pk = account_pk(account_id)
        start = {"pk": {"S": pk}, "sk": {"S": cursor}} if cursor else None
        with dynamo_errors():
            result = AuditItem.query(
                pk,
                AuditItem.sk.startswith("AUDIT#"),
                scan_index_forward=False,
                limit=limit + 1,  # one more than the page: is there a next page?
                last_evaluated_key=start,
            )
            items = list(result)
        page = items[:limit]
        events = [
            AuditEvent(account_id, i.at, i.event, i.actor, i.ip, json.loads(i.details))
            for i in page
        ]
        return events, (page[-1].sk if len(items) > limit else None)

    def audit_events(self, account_id: str, limit: int = 50) -> list[AuditEvent]:
        """The account's audit trail, newest first."""
        with dynamo_errors():
            items = AuditItem.query(
                account_pk(account_id),
                AuditItem.sk.startswith("AUDIT#"),
                scan_index_forward=False,
                limit=limit,
            )
            return [
                AuditEvent(account_id, i.at, i.event, i.actor, i.ip, json.loads(i.details))
                for i in items
            ]

    # --- billing --------------------------------------------------------------------------
    def counter_value(self, name: str) -> int:
        with dynamo_errors():
            try:
                return int(
                    CounterItem.get(f"COUNTER#{name}", "COUNTER", consistent_read=True).value
                )
            except CounterItem.DoesNotExist:
                return 0

    def get_invoice(self, account_id: str, invoice_id: str) -> Invoice | None:
        read: dict[tuple[str, str], Invoice | None] = getattr(self._local, "read", {})
        if (account_id, invoice_id) in read:  # read with the session (read_ahead_invoice)
            return read.pop((account_id, invoice_id))
        with dynamo_errors():
            try:
                item = InvoiceItem.get(
                    account_pk(account_id), f"INVOICE#{invoice_id}", consistent_read=True
                )
            except InvoiceItem.DoesNotExist:
                return None
        return _invoice_from_item(item)

    def list_invoices(
        self, account_id: str, limit: int, after: str | None
    ) -> tuple[list[Invoice], str | None]:
        """Invoices newest first; ``after`` is the id of the last invoice of the previous page."""
        pk = account_pk(account_id)
        start = {"pk": {"S": pk}, "sk": {"S": f"INVOICE#{after}"}} if after else None
        with dynamo_errors():
            result = InvoiceItem.query(
                pk,
                InvoiceItem.sk.startswith("INVOICE#"),
                scan_index_forward=False,
                limit=limit,
                last_evaluated_key=start,
                page_size=limit,
            )
            invoices = [_invoice_from_item(i) for i in result if isinstance(i, InvoiceItem)]
            last = result.last_evaluated_key
        next_after = invoices[-1].id if invoices and last and len(invoices) == limit else None
        return invoices, next_after

    def open_charges(self, account_id: str) -> list[Charge]:
        """The account's charges not yet paid or void (one Query)."""
        with dynamo_errors():
            items = ChargeItem.query(
                account_pk(account_id),
                ChargeItem.sk.startswith("CHARGE#"),
                filter_condition=ChargeItem.state.is_in(
                    ChargeState.PENDING.value,
                    ChargeState.PROCESSING.value,
                    ChargeState.UNKNOWN.value,
                ),
                consistent_read=True,
            )
            return [_charge_from_item(i) for i in items if isinstance(i, ChargeItem)]

    def payable(
        self, account_id: str, answer_key: str | None
    ) -> tuple[list[Charge], list[Invoice], str | None]:
        """For "apply pending charges", in one Query: the open charges, the open invoices and the
        stored answer of ``answer_key`` (``IDEMPOTENCY#<key>``, which sorts between them)."""
        from pynamodb.expressions.condition import Condition

        wanted: Condition = (ChargeItem.kind == ChargeItem) & ChargeItem.state.is_in(
            ChargeState.PENDING.value, ChargeState.PROCESSING.value, ChargeState.UNKNOWN.value
        ) | ((InvoiceItem.kind == InvoiceItem) & (InvoiceItem.status == "open"))
        if answer_key is not None:
            wanted = wanted | (TableItem.sk == f"IDEMPOTENCY#{answer_key}")
        charges: list[Charge] = []
        invoices: list[Invoice] = []
        answer: str | None = None
        with dynamo_errors():
            for item in TableItem.query(
                account_pk(account_id),
                TableItem.sk.between("CHARGE#", "INVOICE#\uffff"),
                filter_condition=wanted,
                consistent_read=True,
            ):
                if isinstance(item, ChargeItem):
                    charges.append(_charge_from_item(item))
                elif isinstance(item, InvoiceItem):
                    invoices.append(_invoice_from_item(item))
                elif isinstance(item, MarkerItem):
                    answer = str(item.value)
        return charges, invoices, answer

    def get_charge(self, account_id: str, charge_id: str) -> Charge | None:
        with dynamo_errors():
            try:
                item = ChargeItem.get(
                    account_pk(account_id), f"CHARGE#{charge_id}", consistent_read=True
                )
            except ChargeItem.DoesNotExist:
                return None
        return _charge_from_item(item)

    def _due(self, queue: str, now: datetime, limit: int) -> list[TableItem]:
        due: list[TableItem] = []
        upper = f"{utc_iso(now)}~"
        with dynamo_errors():
            for shard in range(self._settings.queue_shards):
                due.extend(
                    TableItem.work_queue.query(
                        f"{queue}#{shard}", TableItem.queue_sk <= upper, limit=limit - len(due)
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
        pk = account_pk(account_id)
        account: Account | None = None
        charge: Charge | None = None
        invoice: Invoice | None = None
        keys = [(pk, PROFILE), (pk, f"CHARGE#{charge_id}"), (pk, f"INVOICE#{charge_id}")]
        for item in self._batch_get(keys):
            if isinstance(item, AccountItem):
                account = _account_from_item(item)
            elif isinstance(item, ChargeItem):
                charge = _charge_from_item(item)
            elif isinstance(item, InvoiceItem):
                invoice = _invoice_from_item(item)
        return account, charge, invoice

    def invoices_by_id(self, account_id: str, invoice_ids: list[str]) -> list[Invoice]:
        pk = account_pk(account_id)
        items = self._batch_get([(pk, f"INVOICE#{i}") for i in invoice_ids]) if invoice_ids else []
        return [_invoice_from_item(i) for i in items if isinstance(i, InvoiceItem)]

    def due_charges(self, now: datetime, limit: int) -> list[tuple[str, str]]:
        """``(account id, charge id)`` of charges the retry job must look at (may be stale)."""
        due = []
        for item in self._due("retry", now, limit):
            if isinstance(item, ChargeItem):
                due.append((item.pk.removeprefix("ACCOUNT#"), item.sk.removeprefix("CHARGE#")))
        return due

    def oss_invoices(self, quarter: str) -> Iterator[Invoice]:
        """Every OSS sale issued in ``quarter``, from the sparse ``oss#<quarter>#<shard>``
        ledger of the ``work_queue`` index (paged by PynamoDB; no Scan)."""
        for shard in range(OSS_SHARDS):
            with dynamo_errors():
                items = list(TableItem.work_queue.query(oss_queue(quarter, shard)))
            for item in items:
                if isinstance(item, InvoiceItem):
                    yield _invoice_from_item(item)

    def get_marker(self, kind: str, key: str) -> str | None:
        with dynamo_errors():
            try:
                return str(MarkerItem.get(f"{kind}#{key}", "MARKER", consistent_read=True).value)
            except MarkerItem.DoesNotExist:
                return None

    def due_work(self, queue: str, now: datetime, limit: int) -> list[WorkItem]:
        """Scheduled work of ``queue`` due at ``now`` (from the sparse index: may be stale)."""
        return [
            WorkItem(i.pk.removeprefix("ACCOUNT#"), queue, i.due_at, int(i.attempts))
            for i in self._due(queue, now, limit)
            if isinstance(i, WorkItemModel)
        ]

    def due_trials(self, now: datetime, limit: int) -> list[Account]:
        """Trials whose notice or end is due (from the sparse index: may be stale)."""
        return [
            _account_from_item(i)
            for i in self._due("trial", now, limit)
            if isinstance(i, AccountItem)
        ]

    def due_renewals(self, now: datetime, limit: int) -> list[Account]:
        """Active accounts whose renewal is due (from the sparse index: may be stale)."""
        return [
            _account_from_item(i)
            for i in self._due("renewal", now, limit)
            if isinstance(i, AccountItem)
        ]

    # --- reactivation requests ------------------------------------------------------------
    def get_reactivation_request(
        self, account_id: str, request_id: str
    ) -> ReactivationRequest | None:
        with dynamo_errors():
            try:
                item = ReactivationItem.get(
                    account_pk(account_id), f"REACTIVATION#{request_id}", consistent_read=True
                )
            except ReactivationItem.DoesNotExist:
                return None
        return _request_from_item(item)

    def reactivation_requests(self, account_id: str, limit: int = 10) -> list[ReactivationRequest]:
        """The account's requests, newest first (one Query)."""
        with dynamo_errors():
            items = ReactivationItem.query(
                account_pk(account_id),
                ReactivationItem.sk.startswith("REACTIVATION#"),
                scan_index_forward=False,
                limit=limit,
                consistent_read=True,
            )
            return [_request_from_item(i) for i in items if isinstance(i, ReactivationItem)]

    def open_reactivation_requests(self, limit: int) -> list[ReactivationRequest]:
        """Open requests, oldest first, from the sparse index (may lag a write slightly)."""
        with dynamo_errors():
            items = TableItem.work_queue.query(REACTIVATION_QUEUE, limit=limit)
            return [_request_from_item(i) for i in items if isinstance(i, ReactivationItem)]

    # --- outbox ---------------------------------------------------------------------------
    def due_mail(self, now: datetime, limit: int) -> list[OutboxMail]:
        return [
            _mail_from_item(i) for i in self._due("outbox", now, limit) if isinstance(i, OutboxItem)
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
                    f"outbox#{shard}", limit=limit - len(due) + 1
                ):
                    if not isinstance(item, OutboxItem):
                        continue
                    if (item.queue_sk or "") > upper:
                        mail = _mail_from_item(item)
                        if mail.next_attempt_at is not None:
                            upcoming = min(upcoming or mail.next_attempt_at, mail.next_attempt_at)
                        break
                    due.append(_mail_from_item(item))
                if len(due) >= limit:
                    break
        return due, upcoming

    def mail_wake(self) -> MailWake | None:
        with dynamo_errors():
            try:
                item = WakeItem.get(*WAKE_KEY, consistent_read=True)
            except WakeItem.DoesNotExist:
                return None
        return MailWake(None if item.at == NEVER else parse_iso(item.at), int(item.version))

    def advance_mail_wake(self, at: datetime | None, version: int) -> bool:
        item = WakeItem(*WAKE_KEY, at=NEVER if at is None else utc_iso(at), version=version + 1)
        condition = WakeItem.pk.does_not_exist() if version == 0 else WakeItem.version == version
        with dynamo_errors(write=True):
            try:
                item.save(condition=condition)
            except PynamoDBException as error:
                if response_code(error) == "ConditionalCheckFailedException":
                    return False
                raise
        return True

    def lower_mail_wake(self, at: datetime) -> None:
        item = WakeItem(*WAKE_KEY)
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
        with dynamo_errors():
            try:
                return _mail_from_item(
                    OutboxItem.get(f"OUTBOX#{mail_id}", "OUTBOX", consistent_read=True)
                )
            except OutboxItem.DoesNotExist:
                return None

    def _update_mail(self, mail_id: str, actions: list[Any], condition: Any) -> OutboxMail | None:
        item = OutboxItem(pk=f"OUTBOX#{mail_id}", sk="OUTBOX")
        with dynamo_errors(write=True):
            try:
                item.update(actions=actions, condition=condition)
            except PynamoDBException as error:
                if response_code(error) == "ConditionalCheckFailedException":
                    return None
                raise
        return _mail_from_item(item)

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
                OutboxItem.queue_sk.set(queue_sort_key(next_attempt_at, mail.id)),
                OutboxItem.last_error.set(error[:500]),
                OutboxItem.lease_until.remove(),
            ],
            OutboxItem.status == MailStatus.PENDING.value,
        )

    def mark_mail_failed(self, mail: OutboxMail, error: str) -> None:
        """Out of the ``outbox`` queue and into ``mail_failed`` (one conditional update)."""
        queue_pk, queue_sk = _failed_mail_keys(
            mail.id, mail.created_at, self._settings.queue_shards
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
                        f"{MAIL_FAILED_QUEUE}#{shard}", limit=limit
                    )
                    if isinstance(item, OutboxItem)
                )
        found.sort(key=lambda item: item.queue_sk or "")
        return [_mail_from_item(item) for item in found[:limit]]

    def requeue_mail(self, mail_id: str, now: datetime) -> OutboxMail | None:
        return self._update_mail(
            mail_id,
            [
                OutboxItem.status.set(MailStatus.PENDING.value),
                OutboxItem.attempts.set(0),
                OutboxItem.next_attempt_at.set(now),
                OutboxItem.queued_at.set(now),
                OutboxItem.queue_pk.set(f"outbox#{shard_of(mail_id, self._settings.queue_shards)}"),
                OutboxItem.queue_sk.set(queue_sort_key(now, mail_id)),
                OutboxItem.lease_until.remove(),
            ],
            OutboxItem.status == MailStatus.FAILED.value,
        )
