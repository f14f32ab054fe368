"""Every key of the single table: the one module that knows the key formats.

Each item type has a builder returning its ``(pk, sk)`` and, where an id is read back from a
key, a parser; the ``work_queue`` index keys (``queue_pk`` / ``queue_sk``) are built here too.
No other module writes a key string: a new item type is a row of this table, a builder here,
a model in ``models`` and a mapper pair in ``mapping``.

=================  ==========================  ===========================  ====================
item               pk                          sk                           notes
=================  ==========================  ===========================  ====================
account            ``ACCOUNT#<id>``            ``PROFILE``                  ``version`` guards
                                                                            every update
session            ``ACCOUNT#<id>``            ``SESSION#<sha256>``         TTL housekeeping
audit event        ``ACCOUNT#<id>``            ``AUDIT#<iso time>#<id>``    kept forever
invoice            ``ACCOUNT#<id>``            ``INVOICE#<time-ordered id>``  newest first
charge             ``ACCOUNT#<id>``            ``CHARGE#<invoice id>``      one per invoice
credit note        ``ACCOUNT#<id>``            ``CREDIT#<time-ordered id>``  newest first
rendered PDF       ``ACCOUNT#<id>``            ``PDF#<kind>#<id>#<lang>``   of an invoice or a
                                                                            credit note
counter            ``COUNTER#<name>``          ``COUNTER``                  gapless numbers
scheduled work     ``ACCOUNT#<id>``            ``WORK#<queue>``             e.g. VAT re-checks
reactivation req.  ``ACCOUNT#<id>``            ``REACTIVATION#<req. id>``   queued while open
marker             ``<KIND>#<key>``            ``MARKER``                   customer -> account,
                                                                            webhook events,
                                                                            the local test
                                                                            clock
account marker     ``ACCOUNT#<id>``            ``<KIND>#<key>``             idempotency answers
                                                                            (read with the
                                                                            account's items)
email marker       ``EMAIL#<email>``           ``EMAIL``                    uniqueness (txn),
                                                                            a copy of the account
throttle counter   ``THROTTLE#<kind>#<key>``   ``W#<window>``               TTL housekeeping
trusted device     ``ACCOUNT#<id>``            ``DEVICE#<sha256>``          own throttle bucket,
                                                                            TTL housekeeping
emailed token      ``ACCOUNT#<id>``            ``TOKEN#<purpose>``          one per purpose,
                                                                            hash only, TTL
outbox mail        ``OUTBOX#<id>``             ``OUTBOX``                   queue while pending
                                                                            or failed
sweeper wake       ``WAKE#outbox``             ``WAKE``                     next due time
health probe       ``HEALTH``                  ``PING``                     never written
=================  ==========================  ===========================  ====================

Queues on the sparse ``work_queue`` index: ``queue_pk`` = ``<queue>#<shard>``, ``queue_sk`` =
``<due time>#<id>``.  Which queue an item is in, and when it is due, is the domain's rule (the
``queue_entry`` methods of ``Account``, ``Charge``, ``OutboxMail``, ``ReactivationRequest``,
``CreditNote``, and ``Invoice.oss_quarter`` / ``CreditNote.oss_quarter``); this module only
spells the keys:

==================  =================================  ==========================================
queue_pk            queue_sk                           items
==================  =================================  ==========================================
``renewal#<n>``     ``<next renewal>#<account id>``    active accounts
``trial#<n>``       ``<next trial step>#<account id>`` trial accounts
``retry#<n>``       ``<due>#<account id>#<charge id>`` open charges (``Charge.queue_due_at``)
``<queue>#<n>``     ``<due>#<account id>``             scheduled work (``vat``...)
``outbox#<n>``      ``<next attempt>#<mail id>``       pending mail
``mail_failed#<n>`` ``<created>#<mail id>``            mail failed for good
``reactivation#0``  ``<requested>#<request id>``       open reactivation requests (one shard)
``refund#<n>``      ``<due>#<account id>#<note id>``   pending refunds (``CreditNote.queue_entry``)
``oss#<YYYYQn>#<n>`` ``<issued>#<invoice id>``         the OSS sales of a quarter (4 shards),
                    ``<issued>#<credit note id>``      and the credit notes of OSS sales
                                                       issued in it (once not pending)
==================  =================================  ==========================================
"""

from __future__ import annotations

from datetime import datetime

from chalicelib.domain.account import TokenPurpose
from chalicelib.domain.documents import DocumentKind, DocumentRef
from chalicelib.domain.ids import shard_of, utc_iso
from chalicelib.domain.lifecycle import REACTIVATION_QUEUE
from chalicelib.domain.throttle import Bucket

Key = tuple[str, str]
"""``(pk, sk)`` of one item."""

ACCOUNT = "ACCOUNT#"
PROFILE = "PROFILE"
SESSION = "SESSION#"
AUDIT = "AUDIT#"
INVOICE = "INVOICE#"
CHARGE = "CHARGE#"
CREDIT_NOTE = "CREDIT#"
RENDERED_PDF = "PDF#"  # sorts after INVOICE#\uffff: outside every range Query of the partition
COUNTER = "COUNTER#"
WORK = "WORK#"
REACTIVATION = "REACTIVATION#"
DEVICE = "DEVICE#"
PURPOSE_SLOT = "TOKEN#"  # an emailed token, one slot per purpose
EMAIL = "EMAIL#"
THROTTLE = "THROTTLE#"
OUTBOX = "OUTBOX#"
MARKER_SK = "MARKER"
HEALTH_KEY: Key = ("HEALTH", "PING")
OUTBOX_WAKE_KEY: Key = ("WAKE#outbox", "WAKE")  # the outbox sweeper's wake marker

OSS_SHARDS = 4  # the OSS ledger's shards (fixed: changing it would hide old quarters)


# --- the account's partition -----------------------------------------------------------------
def account_pk(account_id: str) -> str:
    return f"{ACCOUNT}{account_id}"


def account_id_of(pk: str) -> str:
    """The account id of an ``ACCOUNT#<id>`` partition key."""
    return pk.removeprefix(ACCOUNT)


def account_key(account_id: str) -> Key:
    return account_pk(account_id), PROFILE


def session_key(account_id: str, token_hash: str) -> Key:
    return account_pk(account_id), f"{SESSION}{token_hash}"


def session_hash_of(sk: str) -> str:
    return sk.removeprefix(SESSION)


def device_key(account_id: str, token_hash: str) -> Key:
    return account_pk(account_id), f"{DEVICE}{token_hash}"


def device_hash_of(sk: str) -> str:
    return sk.removeprefix(DEVICE)


def token_key(account_id: str, purpose: TokenPurpose) -> Key:
    return account_pk(account_id), f"{PURPOSE_SLOT}{purpose.value}"


def token_purpose_of(sk: str) -> TokenPurpose:
    return TokenPurpose(sk.removeprefix(PURPOSE_SLOT))


def audit_key(account_id: str, at: datetime, unique: str) -> Key:
    """``unique`` keeps two events of the same millisecond apart."""
    return account_pk(account_id), f"{AUDIT}{utc_iso(at)}#{unique}"


def invoice_key(account_id: str, invoice_id: str) -> Key:
    return account_pk(account_id), f"{INVOICE}{invoice_id}"


def credit_note_key(account_id: str, credit_note_id: str) -> Key:
    return account_pk(account_id), f"{CREDIT_NOTE}{credit_note_id}"


def document_key(ref: DocumentRef, locale: str) -> Key:
    """The stored PDF of a document in one language."""
    return account_pk(ref.account_id), f"{RENDERED_PDF}{ref.kind.value}#{ref.document_id}#{locale}"


def stored_document_of(pk: str, sk: str) -> tuple[DocumentRef, str]:
    """The document and language of a stored PDF's key (``document_key``'s inverse)."""
    kind, document_id, locale = sk.removeprefix(RENDERED_PDF).split("#")
    return DocumentRef(account_id_of(pk), DocumentKind(kind), document_id), locale


def document_ref_of(pk: str, sk: str) -> DocumentRef | None:
    """The document an invoice or credit note item is (its stream record's keys), else None."""
    if not pk.startswith(ACCOUNT):
        return None
    for prefix, kind in ((INVOICE, DocumentKind.INVOICE), (CREDIT_NOTE, DocumentKind.CREDIT_NOTE)):
        if sk.startswith(prefix) and len(sk) > len(prefix):
            return DocumentRef(account_id_of(pk), kind, sk.removeprefix(prefix))
    return None


def charge_key(account_id: str, charge_id: str) -> Key:
    return account_pk(account_id), f"{CHARGE}{charge_id}"


def charge_id_of(sk: str) -> str:
    return sk.removeprefix(CHARGE)


def payable_range() -> Key:
    """The sort keys between the first charge and the last invoice of an account (its
    ``IDEMPOTENCY#`` markers sort between them): one Query reads what "pay now" needs."""
    return CHARGE, f"{INVOICE}\uffff"


def work_key(account_id: str, queue: str) -> Key:
    return account_pk(account_id), f"{WORK}{queue}"


def reactivation_key(account_id: str, request_id: str) -> Key:
    return account_pk(account_id), f"{REACTIVATION}{request_id}"


def request_id_of(sk: str) -> str:
    return sk.removeprefix(REACTIVATION)


def marker_key(kind: str, key: str, account_id: str | None = None) -> Key:
    """A marker's own partition, or (``account_id`` given) under its account."""
    if account_id is not None:
        return account_pk(account_id), f"{kind}#{key}"
    return f"{kind}#{key}", MARKER_SK


# --- other partitions ------------------------------------------------------------------------
def email_key(email: str) -> Key:
    return f"{EMAIL}{email}", "EMAIL"


def is_email_pk(pk: str) -> bool:
    return pk.startswith(EMAIL)


def counter_key(name: str) -> Key:
    return f"{COUNTER}{name}", "COUNTER"


def is_counter_pk(pk: str) -> bool:
    return pk.startswith(COUNTER)


def throttle_key(bucket: Bucket) -> Key:
    return f"{THROTTLE}{bucket.kind.value}#{bucket.key}", f"W#{bucket.window}"


def outbox_key(mail_id: str) -> Key:
    return f"{OUTBOX}{mail_id}", "OUTBOX"


def mail_id_of(pk: str) -> str:
    return pk.removeprefix(OUTBOX)


# --- the work_queue index --------------------------------------------------------------------
def queue_partition(queue: str, shard: int) -> str:
    """``queue_pk`` of one shard of ``queue``."""
    return f"{queue}#{shard}"


def queue_sort_key(due: datetime, item_id: str) -> str:
    return f"{utc_iso(due)}#{item_id}"


def due_until(now: datetime) -> str:
    """The highest ``queue_sk`` due at ``now`` (``queue_sk <= due_until(now)``)."""
    return f"{utc_iso(now)}~"


def queue_keys(queue: str, due: datetime, shard_by: str, item_id: str, shards: int) -> Key:
    """``(queue_pk, queue_sk)`` of an item in ``queue``: sharded by ``shard_by``, ordered by
    ``due`` then ``item_id``."""
    return queue_partition(queue, shard_of(shard_by, shards)), queue_sort_key(due, item_id)


def reactivation_queue() -> str:
    """``queue_pk`` of the open reactivation requests (one shard)."""
    return queue_partition(REACTIVATION_QUEUE, 0)


def oss_queue(quarter: str, shard: int) -> str:
    """``queue_pk`` of the One-Stop Shop ledger of a quarter (``oss#2026Q4#<n>``)."""
    return f"oss#{quarter}#{shard}"


def credit_note_queue_id(account_id: str, credit_note_id: str) -> str:
    """The id part of a pending refund's ``queue_sk``: both ids, like a charge's."""
    return f"{account_id}#{credit_note_id}"


def charge_queue_id(account_id: str, charge_id: str) -> str:
    """The id part of a charge's ``queue_sk``: both ids, so a due charge is read by key."""
    return f"{account_id}#{charge_id}"
