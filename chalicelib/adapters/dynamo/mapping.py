"""Items <-> domain objects: one ``<type>_to_item`` / ``<type>_from_item`` pair per item type.

Keys come from ``keys`` (never spelled here); the queue an item is in comes from the domain
object's ``queue_entry`` (or ``Invoice.oss_quarter``), so this module and the in-memory
repository answer the same question the same way.  The stored format is fixed: items written
by an older version must still load (``tests/integration/test_stored_items.py``).
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta

from chalicelib.adapters import codec
from chalicelib.adapters.dynamo import keys
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
    ThrottleItem,
    TokenItem,
    WorkItemModel,
)
from chalicelib.config import Settings
from chalicelib.domain.account import (
    Account,
    AccountStatus,
    AccountToken,
    AuditEvent,
    MailStatus,
    Marker,
    OutboxMail,
    Session,
    TokenPurpose,
    WorkItem,
)
from chalicelib.domain.billing import Charge, ChargePurpose, ChargeState, Invoice
from chalicelib.domain.credit_notes import CreditNote
from chalicelib.domain.documents import StoredDocument
from chalicelib.domain.ids import new_id, shard_of
from chalicelib.domain.lifecycle import ReactivationRequest, RequestStatus
from chalicelib.domain.throttle import Bucket, ThrottleState, TrustedDevice

QueueAttrs = tuple[str | None, str | None]
"""``(queue_pk, queue_sk)``: both None when the item is in no queue."""


def queue_attrs(
    entry: tuple[str, datetime] | None, shard_by: str, item_id: str, shards: int
) -> QueueAttrs:
    """The ``work_queue`` keys of a domain object's ``queue_entry()``."""
    if entry is None:
        return None, None
    queue, due = entry
    return keys.queue_keys(queue, due, shard_by, item_id, shards)


# --- accounts --------------------------------------------------------------------------------
def account_to_item(
    account: Account, shards: int, renewal_lead: timedelta | None = None
) -> AccountItem:
    """The account item; it carries the queue keys of the one queue it waits in, if any
    (``renewal`` while active, due at the renewal or an earlier reminder; ``trial`` while a
    trial: see ``Account.queue_entry``)."""
    pk, sk = keys.account_key(account.id)
    queue_pk, queue_sk = queue_attrs(
        account.queue_entry(renewal_lead), account.id, account.id, shards
    )
    return AccountItem(
        pk=pk,
        sk=sk,
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
        renewal_notice_for=account.renewal_notice_for,
        card_notice_for=account.card_notice_for,
        seats=account.seats if account.seats != 1 else None,  # absent: 1 (as before seats)
        cancel_at=account.cancel_at,
        plan_changes=codec.plan_changes_to_json(account.scheduled_change, account.pending_change),
        period_started_at=account.period_started_at,
        version=account.version,
        queue_pk=queue_pk,
        queue_sk=queue_sk,
    )


def account_from_item(item: AccountItem) -> Account:
    return Account(
        id=keys.account_id_of(item.pk),
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
        renewal_notice_for=item.renewal_notice_for,
        card_notice_for=item.card_notice_for,
        seats=int(item.seats or 1),
        cancel_at=item.cancel_at,
        **codec.plan_changes_from_json(item.plan_changes),
        period_started_at=item.period_started_at,
        version=int(item.version),
    )


def email_item(
    email: str, account_id: str | None = None, account: AccountItem | None = None
) -> EmailItem:
    """The unique email marker (``account_id`` None: only its key, to delete it), with its
    copy of the account item (written in the account's transaction), so that sign-in reads
    both in one request."""
    pk, sk = keys.email_key(email)
    if account_id is None:
        return EmailItem(pk=pk, sk=sk)
    copy = json.dumps(account.serialize()) if account is not None else None
    return EmailItem(pk=pk, sk=sk, account_id=account_id, account=copy)


def account_from_marker(item: EmailItem) -> Account | None:
    """The account copied on its email marker (None on a marker written before the copy)."""
    if not item.account:
        return None
    copy = AccountItem.from_raw_data(json.loads(item.account))
    return account_from_item(copy) if isinstance(copy, AccountItem) else None


# --- sessions, devices, tokens, throttle, audit ----------------------------------------------
def session_to_item(session: Session, settings: Settings) -> SessionItem:
    pk, sk = keys.session_key(session.account_id, session.token_hash)
    return SessionItem(
        pk=pk,
        sk=sk,
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


def session_item(account_id: str, token_hash: str) -> SessionItem:
    """A session's key only (to update or delete it)."""
    pk, sk = keys.session_key(account_id, token_hash)
    return SessionItem(pk=pk, sk=sk)


def session_from_item(item: SessionItem) -> Session:
    return Session(
        account_id=keys.account_id_of(item.pk),
        token_hash=keys.session_hash_of(item.sk),
        epoch=int(item.epoch),
        created_at=item.created_at,
        last_seen_at=item.last_seen_at,
        ip=item.ip,
        reauth=ThrottleState(int(item.failures or 0), item.attempted_at),
        user_agent=item.user_agent or "",
    )


def token_to_item(token: AccountToken) -> TokenItem:
    pk, sk = keys.token_key(token.account_id, token.purpose)
    return TokenItem(
        pk=pk,
        sk=sk,
        token_hash=token.token_hash,
        created_at=token.created_at,
        epoch=token.epoch,
        value=token.value,
        expires_at=token.expires_at,
    )


def token_item(account_id: str, purpose: TokenPurpose) -> TokenItem:
    """A token slot's key only (to delete it)."""
    pk, sk = keys.token_key(account_id, purpose)
    return TokenItem(pk=pk, sk=sk)


def token_from_item(item: TokenItem) -> AccountToken:
    assert item.expires_at is not None  # always written
    return AccountToken(
        account_id=keys.account_id_of(item.pk),
        purpose=keys.token_purpose_of(item.sk),
        token_hash=item.token_hash,
        created_at=item.created_at,
        expires_at=item.expires_at,
        epoch=int(item.epoch or 0),
        value=item.value or "",
    )


def throttle_item(bucket: Bucket) -> ThrottleItem:
    """A windowed sign-in throttle bucket's key (``domain.throttle``)."""
    pk, sk = keys.throttle_key(bucket)
    return ThrottleItem(pk=pk, sk=sk)


def device_to_item(device: TrustedDevice) -> DeviceItem:
    pk, sk = keys.device_key(device.account_id, device.token_hash)
    return DeviceItem(
        pk=pk,
        sk=sk,
        created_at=device.created_at,
        last_used_at=device.last_used_at,
        failures=device.throttle.failures,
        attempted_at=device.throttle.attempted_at,
        expires_at=device.expires_at,
    )


def device_item(account_id: str, token_hash: str) -> DeviceItem:
    """A trusted device's key only (to update its throttle bucket)."""
    pk, sk = keys.device_key(account_id, token_hash)
    return DeviceItem(pk=pk, sk=sk)


def device_from_item(item: DeviceItem) -> TrustedDevice:
    assert item.expires_at is not None  # always written
    return TrustedDevice(
        account_id=keys.account_id_of(item.pk),
        token_hash=keys.device_hash_of(item.sk),
        created_at=item.created_at,
        last_used_at=item.last_used_at,
        expires_at=item.expires_at,
        throttle=ThrottleState(int(item.failures or 0), item.attempted_at),
    )


def audit_to_item(event: AuditEvent) -> AuditItem:
    pk, sk = keys.audit_key(event.account_id, event.at, new_id()[:8])
    return AuditItem(
        pk=pk,
        sk=sk,
        at=event.at,
        event=event.event,
        actor=event.actor,
        ip=event.ip,
        details=json.dumps(event.details),
    )


def audit_from_item(item: AuditItem) -> AuditEvent:
    return AuditEvent(
        keys.account_id_of(item.pk),
        item.at,
        item.event,
        item.actor,
        item.ip,
        json.loads(item.details),
    )


# --- billing ---------------------------------------------------------------------------------
def invoice_to_item(invoice: Invoice) -> InvoiceItem:
    """The invoice item; an OSS sale also carries the keys of its quarter's OSS ledger in the
    ``work_queue`` index (``Invoice.oss_quarter``: fixed at issue, so every write keeps them)."""
    pk, sk = keys.invoice_key(invoice.account_id, invoice.id)
    quarter = invoice.oss_quarter()
    return InvoiceItem(
        pk=pk,
        sk=sk,
        body=codec.invoice_body_to_json(invoice),
        status=invoice.status.value,
        transactions=codec.transactions_to_json(invoice.transactions),
        version=invoice.version,
        queue_pk=keys.oss_queue(quarter, shard_of(invoice.id, keys.OSS_SHARDS))
        if quarter is not None
        else None,
        queue_sk=keys.queue_sort_key(invoice.issued_at, invoice.id) if quarter else None,
    )


def invoice_from_item(item: InvoiceItem) -> Invoice:
    return codec.invoice_from_json(item.body, item.status, item.transactions, int(item.version))


def document_to_item(document: StoredDocument) -> DocumentItem:
    pk, sk = keys.document_key(document.ref, document.locale)
    return DocumentItem(
        pk,
        sk,
        source_version=document.source_version,
        content=document.content,
        rendered_at=document.rendered_at,
    )


def document_from_item(item: DocumentItem) -> StoredDocument:
    ref, locale = keys.stored_document_of(item.pk, item.sk)
    return StoredDocument(
        ref, locale, int(item.source_version), bytes(item.content), item.rendered_at
    )


def credit_note_to_item(note: CreditNote, shards: int) -> CreditNoteItem:
    """The credit note item; in the ``refund`` queue while its refund is pending
    (``CreditNote.queue_entry``), else, for a credit of an OSS sale, in the OSS ledger of the
    quarter it was issued in (``CreditNote.oss_quarter``)."""
    pk, sk = keys.credit_note_key(note.account_id, note.id)
    queue_pk, queue_sk = queue_attrs(
        note.queue_entry(), note.id, keys.credit_note_queue_id(note.account_id, note.id), shards
    )
    quarter = note.oss_quarter()
    if queue_pk is None and quarter is not None:
        queue_pk = keys.oss_queue(quarter, shard_of(note.id, keys.OSS_SHARDS))
        queue_sk = keys.queue_sort_key(note.issued_at, note.id)
    return CreditNoteItem(
        queue_pk=queue_pk,
        queue_sk=queue_sk,
        pk=pk,
        sk=sk,
        body=codec.credit_note_body_to_json(note),
        invoice_id=note.invoice_id,
        refund=codec.refund_to_json(note.refund),
        version=note.version,
    )


def credit_note_from_item(item: CreditNoteItem) -> CreditNote:
    return codec.credit_note_from_json(item.body, item.refund, int(item.version))


def credit_note_ref_from_item(item: CreditNoteItem) -> tuple[str, str]:
    """``(account id, credit note id)`` of a credit note read from the ``work_queue`` index."""
    return keys.account_id_of(item.pk), item.sk.removeprefix(keys.CREDIT_NOTE)


def charge_to_item(charge: Charge, shards: int) -> ChargeItem:
    """The charge item; in the ``retry`` queue while ``Charge.queue_entry`` says so."""
    pk, sk = keys.charge_key(charge.account_id, charge.id)
    queue_pk, queue_sk = queue_attrs(
        charge.queue_entry(), charge.id, keys.charge_queue_id(charge.account_id, charge.id), shards
    )
    return ChargeItem(
        pk=pk,
        sk=sk,
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
        queue_pk=queue_pk,
        queue_sk=queue_sk,
    )


def charge_from_item(item: ChargeItem) -> Charge:
    return Charge(
        id=keys.charge_id_of(item.sk),
        account_id=keys.account_id_of(item.pk),
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


def charge_ref_from_item(item: ChargeItem) -> tuple[str, str]:
    """``(account id, charge id)`` of a charge item (what the retry queue hands out)."""
    return keys.account_id_of(item.pk), keys.charge_id_of(item.sk)


def counter_item(name: str) -> CounterItem:
    """A counter's key (it is only ever updated, never put)."""
    pk, sk = keys.counter_key(name)
    return CounterItem(pk=pk, sk=sk)


def marker_to_item(marker: Marker) -> MarkerItem:
    pk, sk = keys.marker_key(marker.kind, marker.key, marker.account_id)
    return MarkerItem(pk=pk, sk=sk, value=marker.value, expires_at=marker.expires_at)


# --- scheduled work --------------------------------------------------------------------------
def work_to_item(work: WorkItem, shards: int) -> WorkItemModel:
    """The work item, due in its own queue (``work.due_at`` None: only its key, to delete)."""
    pk, sk = keys.work_key(work.account_id, work.queue)
    if work.due_at is None:
        return WorkItemModel(pk=pk, sk=sk)
    queue_pk, queue_sk = queue_attrs(work.queue_entry(), work.account_id, work.account_id, shards)
    return WorkItemModel(
        pk=pk,
        sk=sk,
        due_at=work.due_at,
        attempts=work.attempts,
        queue_pk=queue_pk,
        queue_sk=queue_sk,
    )


def work_from_item(item: WorkItemModel, queue: str) -> WorkItem:
    return WorkItem(keys.account_id_of(item.pk), queue, item.due_at, int(item.attempts))


# --- reactivation requests -------------------------------------------------------------------
def request_to_item(request: ReactivationRequest) -> ReactivationItem:
    """An open request carries the ``reactivation#0`` queue keys; a decided one not.  One
    shard: requests are rare, and support lists them all with one Query."""
    pk, sk = keys.reactivation_key(request.account_id, request.id)
    entry = request.queue_entry()
    return ReactivationItem(
        pk=pk,
        sk=sk,
        email=request.email,
        requested_at=request.requested_at,
        status=request.status.value,
        plan=request.plan,
        decided_at=request.decided_at,
        decided_by=request.decided_by,
        note=request.note,
        version=request.version,
        queue_pk=keys.reactivation_queue() if entry else None,
        queue_sk=keys.queue_sort_key(entry[1], request.id) if entry else None,
    )


def request_from_item(item: ReactivationItem) -> ReactivationRequest:
    return ReactivationRequest(
        id=keys.request_id_of(item.sk),
        account_id=keys.account_id_of(item.pk),
        email=item.email,
        requested_at=item.requested_at,
        status=RequestStatus(item.status),
        plan=item.plan,
        decided_at=item.decided_at,
        decided_by=item.decided_by,
        note=item.note,
        version=int(item.version),
    )


# --- outbox ----------------------------------------------------------------------------------
def mail_queue_attrs(mail: OutboxMail, shards: int) -> QueueAttrs:
    """The queue keys of ``mail`` in its state (``OutboxMail.queue_entry``): also what the
    partial updates of a mail set."""
    return queue_attrs(mail.queue_entry(), mail.id, mail.id, shards)


def mail_to_item(mail: OutboxMail, shards: int) -> OutboxItem:
    pk, sk = keys.outbox_key(mail.id)
    queue_pk, queue_sk = mail_queue_attrs(mail, shards)
    return OutboxItem(
        pk=pk,
        sk=sk,
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


def mail_item(mail_id: str) -> OutboxItem:
    """A mail's key only (to update it)."""
    pk, sk = keys.outbox_key(mail_id)
    return OutboxItem(pk=pk, sk=sk)


def mail_from_item(item: OutboxItem) -> OutboxMail:
    return OutboxMail(
        id=keys.mail_id_of(item.pk),
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
