"""The single table, defined once (here) for the code, ``make run``, the tests and infra.

One item type per ``kind`` (the models below).  The keys (``pk`` / ``sk`` of every item
type, and the ``work_queue`` index keys) are in ``keys``, with the key table: the one module
that spells them.  Items <-> domain objects: ``mapping``.

Access patterns:

* authenticate a request: BatchGet account + session (1 request);
* sign in: BatchGet email marker (with its copy of the account) + throttle buckets (+ the
  trusted device), then a conditional write reserving the attempt (1 read, see
  ``domain.throttle``; a marker without the copy, written before it existed: + GetItem);
* sign up / change email: TransactWrite on the account, old and new email markers;
* account page items: Query ``pk = ACCOUNT#<id>`` with an ``sk`` prefix (invoices newest
  first with a cursor; the open charges for ``pending_payment``);
* an invoice by id: GetItem under the signed-in account (another account's id is a 404);
* queues on ``work_queue``: ``outbox#<shard>`` (pending mail), ``mail_failed#<shard>``
  (mail that failed for good, by creation time: what ``requeue-failed-mail`` puts back
  without a Scan), ``renewal#<shard>`` (active accounts by next renewal), ``trial#<shard>``
  (trial accounts by their next trial step: the "ends in 3 days" notice, then the end; an
  account is in one queue at a time, see ``Account.queue_entry``), ``retry#<shard>`` (pending
  charges by next retry),
  ``vat#<shard>`` (VAT IDs to check), ``reactivation#0`` (open reactivation requests by
  request time, one shard as they are rare: support lists them, oldest first, with one Query;
  a request id names its account, so approving or rejecting one is a GetItem);
* work queues: the sparse GSI ``work_queue`` (``queue_pk`` = ``<queue>#<shard>``,
  ``queue_sk`` = ``<due time>#<id>``).  Only items that are due carry these attributes, so the
  index holds exactly the work to do; shards spread a burst over partitions.  Readers Query
  each shard for ``queue_sk <= now`` and claim on the base table with a condition (GSI reads
  are eventually consistent).

There is no Scan anywhere.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from pynamodb.attributes import (
    BinaryAttribute,
    BooleanAttribute,
    DiscriminatorAttribute,
    NumberAttribute,
    TTLAttribute,
    UnicodeAttribute,
    UTCDateTimeAttribute,
)
from pynamodb.connection import Connection, TableConnection
from pynamodb.connection.base import MetaTable
from pynamodb.constants import (
    ATTR_DEFINITIONS,
    GLOBAL_SECONDARY_INDEXES,
    INDEX_NAME,
    KEY_SCHEMA,
    LOCAL_SECONDARY_INDEXES,
    PAY_PER_REQUEST_BILLING_MODE,
    TABLE_NAME,
)
from pynamodb.indexes import AllProjection, GlobalSecondaryIndex
from pynamodb.models import Model

from chalicelib.adapters import aws
from chalicelib.config import Settings

if TYPE_CHECKING:
    import botocore.session


class WorkQueueIndex(GlobalSecondaryIndex["TableItem"]):
    """Sparse, sharded index of due work (outbox mail now; renewals, retries, VAT later)."""

    class Meta:
        index_name = "work_queue"
        projection = AllProjection()
        billing_mode = PAY_PER_REQUEST_BILLING_MODE

    queue_pk = UnicodeAttribute(hash_key=True)
    queue_sk = UnicodeAttribute(range_key=True)


class TableItem(Model):
    """Base of every item: keys, the discriminator, queue keys and TTL."""

    class Meta:
        table_name = "helpdesk-accounts"
        region = "us-east-1"
        host: str | None = None
        billing_mode = PAY_PER_REQUEST_BILLING_MODE
        connect_timeout_seconds = 2
        read_timeout_seconds = 5
        max_retry_attempts = 3
        stream_view_type = "NEW_IMAGE"  # the outbox relay reads new mail from the stream

    pk = UnicodeAttribute(hash_key=True)
    sk = UnicodeAttribute(range_key=True)
    kind = DiscriminatorAttribute()
    queue_pk = UnicodeAttribute(null=True)
    queue_sk = UnicodeAttribute(null=True)
    expires_at = TTLAttribute(null=True)
    work_queue = WorkQueueIndex()


class AccountItem(TableItem, discriminator="account"):
    email = UnicodeAttribute()
    name = UnicodeAttribute()
    country = UnicodeAttribute()
    locale = UnicodeAttribute()
    password_hash = UnicodeAttribute()
    created_at = UTCDateTimeAttribute()
    status = UnicodeAttribute()
    phone = UnicodeAttribute(null=True)
    plan = UnicodeAttribute(null=True)
    trial_ends_at = UTCDateTimeAttribute(null=True)
    session_epoch = NumberAttribute(default=0)
    customer_id = UnicodeAttribute(null=True)
    payment_method_id = UnicodeAttribute(null=True)
    card = UnicodeAttribute(null=True)  # JSON CardSummary
    billing_address = UnicodeAttribute(null=True)  # JSON Address
    next_renewal_at = UTCDateTimeAttribute(null=True)
    vat_id = UnicodeAttribute(null=True)
    vat_status = UnicodeAttribute(null=True)
    vat_checked_at = UTCDateTimeAttribute(null=True)
    vat_request_id = UnicodeAttribute(null=True)
    trial_notice_for = UTCDateTimeAttribute(null=True)  # trial end the 3-day notice was for
    subscribe_charge_id = UnicodeAttribute(null=True)  # the first payment in flight
    email_verified = BooleanAttribute(default=False)
    pending_email = UnicodeAttribute(null=True)
    mfa_secret = UnicodeAttribute(null=True)
    mfa_pending_secret = UnicodeAttribute(null=True)
    mfa_last_step = NumberAttribute(default=0)
    recovery_codes = UnicodeAttribute(default="[]")  # JSON list of SHA-256 hex
    renewal_notice_for = UTCDateTimeAttribute(null=True)  # the renewal its notice was for
    card_notice_for = UTCDateTimeAttribute(null=True)  # the renewal the card notice was for
    seats = NumberAttribute(null=True)  # absent on accounts stored before seats: 1
    cancel_at = UTCDateTimeAttribute(null=True)  # cancellation at the period's end
    plan_changes = UnicodeAttribute(null=True)  # JSON {"scheduled": PlanChange, "pending": ...}
    period_started_at = UTCDateTimeAttribute(null=True)  # absent before: derived from renewal
    version = NumberAttribute(default=0)


class SessionItem(TableItem, discriminator="session"):
    epoch = NumberAttribute()
    created_at = UTCDateTimeAttribute()
    last_seen_at = UTCDateTimeAttribute()
    ip = UnicodeAttribute(default="")
    failures = NumberAttribute(default=0)  # password confirmations (throttle bucket)
    attempted_at = UTCDateTimeAttribute(null=True)
    user_agent = UnicodeAttribute(default="")


class AuditItem(TableItem, discriminator="audit"):
    at = UTCDateTimeAttribute()
    event = UnicodeAttribute()
    actor = UnicodeAttribute()
    ip = UnicodeAttribute(default="")
    details = UnicodeAttribute(default="{}")  # JSON object of strings


class EmailItem(TableItem, discriminator="email"):
    account_id = UnicodeAttribute()
    # the account item (DynamoDB JSON), written in the same transaction as every account
    # change: sign-in reads the marker and the account in one request
    account = UnicodeAttribute(null=True)


class ThrottleItem(TableItem, discriminator="throttle"):
    """A windowed sign-in throttle bucket (``domain.throttle``)."""

    failures = NumberAttribute(default=0)
    attempted_at = UTCDateTimeAttribute(null=True)


class DeviceItem(TableItem, discriminator="device"):
    """A trusted device (its token's SHA-256 in the key) and its own throttle bucket."""

    created_at = UTCDateTimeAttribute()
    last_used_at = UTCDateTimeAttribute()
    failures = NumberAttribute(default=0)
    attempted_at = UTCDateTimeAttribute(null=True)


class TokenItem(TableItem, discriminator="token"):
    """An emailed token (``domain.account.AccountToken``): its SHA-256, never the token."""

    token_hash = UnicodeAttribute()
    created_at = UTCDateTimeAttribute()
    epoch = NumberAttribute(default=0)
    value = UnicodeAttribute(default="")


class InvoiceItem(TableItem, discriminator="invoice"):
    body = UnicodeAttribute()  # JSON: the immutable invoice
    status = UnicodeAttribute()
    transactions = UnicodeAttribute(default="[]")  # JSON list
    version = NumberAttribute(default=0)


class CreditNoteItem(TableItem, discriminator="credit_note"):
    """A credit note (``ACCOUNT#<id>`` / ``CREDIT#<time-ordered id>``, newest first)."""

    body = UnicodeAttribute()  # JSON: the immutable credit note
    invoice_id = UnicodeAttribute()
    refund = UnicodeAttribute(null=True)  # JSON Refund: the one part that moves
    version = NumberAttribute(default=0)


class DocumentItem(TableItem, discriminator="document"):
    """A rendered PDF (``ACCOUNT#<id>`` / ``PDF#<kind>#<id>#<lang>``, ``domain.documents``)."""

    source_version = NumberAttribute()  # the version of the document it was drawn from
    content = BinaryAttribute(legacy_encoding=False)
    rendered_at = UTCDateTimeAttribute()


class ChargeItem(TableItem, discriminator="charge"):
    invoice_id = UnicodeAttribute()
    amount = NumberAttribute()
    currency = UnicodeAttribute()
    state = UnicodeAttribute()
    created_at = UTCDateTimeAttribute()
    attempts = NumberAttribute(default=0)
    lease_until = UTCDateTimeAttribute(null=True)
    first_failed_at = UTCDateTimeAttribute(null=True)
    next_retry_at = UTCDateTimeAttribute(null=True)
    retries_stopped = NumberAttribute(default=0)
    last_failure = UnicodeAttribute(null=True)  # JSON DeclineInfo
    last_failure_key = UnicodeAttribute(null=True)
    payment_intent_id = UnicodeAttribute(null=True)
    attempt = UnicodeAttribute(null=True)  # JSON Attempt in flight
    purpose = UnicodeAttribute(default="renewal")  # ChargePurpose
    suspend_at = UTCDateTimeAttribute(null=True)
    version = NumberAttribute(default=0)


class WorkItemModel(TableItem, discriminator="work"):
    due_at = UTCDateTimeAttribute()
    attempts = NumberAttribute(default=0)


class MarkerItem(TableItem, discriminator="marker"):
    value = UnicodeAttribute()


class ReactivationItem(TableItem, discriminator="reactivation"):
    email = UnicodeAttribute()
    requested_at = UTCDateTimeAttribute()
    status = UnicodeAttribute()
    plan = UnicodeAttribute(null=True)
    decided_at = UTCDateTimeAttribute(null=True)
    decided_by = UnicodeAttribute(null=True)
    note = UnicodeAttribute(null=True)
    version = NumberAttribute(default=0)


class CounterItem(TableItem, discriminator="counter"):
    value = NumberAttribute(default=0)


class OutboxItem(TableItem, discriminator="outbox"):
    to = UnicodeAttribute()
    template = UnicodeAttribute()
    locale = UnicodeAttribute()
    params = UnicodeAttribute(default="{}")  # JSON object of strings
    account_id = UnicodeAttribute(null=True)
    status = UnicodeAttribute()
    attempts = NumberAttribute(default=0)
    created_at = UTCDateTimeAttribute()
    next_attempt_at = UTCDateTimeAttribute(null=True)
    lease_until = UTCDateTimeAttribute(null=True)
    sent_at = UTCDateTimeAttribute(null=True)
    provider_id = UnicodeAttribute(null=True)
    last_error = UnicodeAttribute(null=True)
    queued_at = UTCDateTimeAttribute(null=True)  # last put back by an operator


class WakeItem(TableItem, discriminator="wake"):
    """When a sweeper next has work (``at``: an ISO time, ``~`` for none) and the version its
    compare-and-set is conditional on (``WAKE#outbox`` / ``WAKE``)."""

    at = UnicodeAttribute()
    version = NumberAttribute(default=0)


MODELS: tuple[type[TableItem], ...] = (
    TableItem,
    AccountItem,
    SessionItem,
    AuditItem,
    EmailItem,
    ThrottleItem,
    DeviceItem,
    TokenItem,
    OutboxItem,
    InvoiceItem,
    DocumentItem,
    ChargeItem,
    CounterItem,
    WorkItemModel,
    MarkerItem,
    ReactivationItem,
    WakeItem,
)


MAX_POOL_CONNECTIONS = 32
"""Connections of the shared client's pool: the in-process retry workers (24 by default) run
at once over it; a Lambda invocation uses one."""


class SharedConnection(Connection):
    """PynamoDB's ``Connection`` on the process's one botocore session (``adapters.aws``),
    its client built once, under the session's lock."""

    @property
    def session(self) -> botocore.session.Session:
        return aws.session()

    @property
    def client(self) -> Any:
        with aws.LOCK:
            return super().client


_shared: TableConnection | None = None


def shared_connection() -> TableConnection:
    """The one connection every model uses (see :func:`configure`)."""
    if _shared is None:
        raise RuntimeError("configure(settings) first")
    return _shared


def configure(settings: Settings) -> None:
    """Point every model at the configured table and endpoint, over one shared connection.

    PynamoDB would give each model class its own ``Connection`` (and botocore session and
    client: a service model load each, a connection pool each).  Here all of them, their
    index and the repository's transactions share one client; it is built at the first
    request, not here."""
    global _shared
    for model in MODELS:
        model.Meta.table_name = settings.table_name
        model.Meta.region = settings.aws_region
        model.Meta.host = settings.aws_endpoint_url
    shared = TableConnection(settings.table_name)
    shared.connection = SharedConnection(
        region=settings.aws_region,
        host=settings.aws_endpoint_url,
        connect_timeout_seconds=TableItem.Meta.connect_timeout_seconds,
        read_timeout_seconds=TableItem.Meta.read_timeout_seconds,
        max_retry_attempts=TableItem.Meta.max_retry_attempts,
        max_pool_connections=MAX_POOL_CONNECTIONS,
    )
    schema = TableItem._get_schema()
    shared.connection.add_meta_table(
        MetaTable(
            {
                TABLE_NAME: settings.table_name,
                KEY_SCHEMA: schema["key_schema"],
                ATTR_DEFINITIONS: schema["attribute_definitions"],
                GLOBAL_SECONDARY_INDEXES: [
                    {INDEX_NAME: index["index_name"], KEY_SCHEMA: index["key_schema"]}
                    for index in schema["global_secondary_indexes"]
                ],
                LOCAL_SECONDARY_INDEXES: [],
            }
        )
    )
    for model in MODELS:
        model._connection = shared
    _shared = shared


def table_definition() -> dict[str, Any]:
    """The CreateTable parameters of the table, as the code defines them (for infra checks)."""
    return {
        **TableItem._get_schema(),
        "stream_specification": {
            "stream_enabled": True,
            "stream_view_type": TableItem.Meta.stream_view_type,
        },
    }


def create_table(settings: Settings) -> None:
    """Create the table and its indexes if missing, and turn TTL on."""
    configure(settings)
    TableItem.create_table(wait=True, billing_mode=PAY_PER_REQUEST_BILLING_MODE)
