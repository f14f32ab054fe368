"""Repositories over the single table (see ``models`` for keys and access patterns).

Every multi-item change is one TransactWrite; every update of an existing item is
conditional.  Vendor errors are translated here: a failed condition becomes
``ConcurrentUpdate`` / ``EmailAlreadyUsed``; an unreachable DynamoDB becomes
``DependencyUnavailable`` (503, nothing changed).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import Any, Sequence

from pynamodb.connection import Connection
from pynamodb.exceptions import PynamoDBException, TransactWriteError
from pynamodb.transactions import TransactWrite

from chalicelib.adapters.dynamo.models import (
    AccountItem,
    AuditItem,
    EmailItem,
    OutboxItem,
    SessionItem,
    TableItem,
    ThrottleItem,
    configure,
)
from chalicelib.config import Settings
from chalicelib.domain.account import (
    Account,
    AccountChange,
    AccountStatus,
    AuditEvent,
    MailStatus,
    OutboxMail,
    Session,
)
from chalicelib.domain.errors import ConcurrentUpdate, DependencyUnavailable, EmailAlreadyUsed
from chalicelib.domain.ids import new_id, shard_of, utc_iso
from chalicelib.logs import log_error

PROFILE = "PROFILE"


def account_pk(account_id: str) -> str:
    return f"ACCOUNT#{account_id}"


def email_pk(email: str) -> str:
    return f"EMAIL#{email}"


def queue_sort_key(due: datetime, item_id: str) -> str:
    return f"{utc_iso(due)}#{item_id}"


@contextmanager
def dynamo_errors() -> Iterator[None]:
    """Translate unexpected PynamoDB failures into a 503 (the caller changed nothing)."""
    try:
        yield
    except (ConcurrentUpdate, EmailAlreadyUsed):
        raise
    except PynamoDBException as error:
        log_error("dynamodb.error", error=type(error).__name__)
        raise DependencyUnavailable() from error


# --- conversions ---------------------------------------------------------------------------
def _account_to_item(account: Account) -> AccountItem:
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
        version=account.version,
    )


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
    )


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


def _mail_to_item(mail: OutboxMail, shards: int) -> OutboxItem:
    pending = mail.status is MailStatus.PENDING and mail.next_attempt_at is not None
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
        queue_pk=f"outbox#{shard_of(mail.id, shards)}" if pending else None,
        queue_sk=queue_sort_key(mail.next_attempt_at, mail.id)
        if pending and mail.next_attempt_at
        else None,
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
    )


class DynamoRepository:
    """``AccountRepository`` and ``OutboxRepository`` over the table."""

    def __init__(self, settings: Settings) -> None:
        self._settings = settings
        configure(settings)
        self._connection = Connection(
            region=settings.aws_region,
            host=settings.aws_endpoint_url,
            connect_timeout_seconds=2,
            read_timeout_seconds=5,
            max_retry_attempts=3,
        )

    # --- transactions -----------------------------------------------------------------------
    def _transact(
        self,
        build: Callable[[TransactWrite], None],
        on_cancel: Callable[[list[int]], Exception],
    ) -> None:
        """Run one TransactWrite; ``on_cancel`` maps the failed condition indexes to an error."""
        try:
            with TransactWrite(connection=self._connection) as transaction:
                build(transaction)
        except TransactWriteError as error:
            reasons = error.cancellation_reasons or []
            failed = [i for i, r in enumerate(reasons) if r and r.code == "ConditionalCheckFailed"]
            if failed:
                raise on_cancel(failed) from None
            log_error("dynamodb.transaction_failed", code=error.cause_response_code)
            raise DependencyUnavailable() from error
        except PynamoDBException as error:
            log_error("dynamodb.error", error=type(error).__name__)
            raise DependencyUnavailable() from error

    def commit(self, change: AccountChange) -> None:
        new_email_index: int | None = None
        shards = self._settings.queue_shards

        def build(tw: TransactWrite) -> None:
            nonlocal new_email_index
            index = 0
            if change.account is not None:
                item = _account_to_item(change.account)
                if change.create:
                    new_email_index = index
                    tw.save(
                        EmailItem(
                            pk=email_pk(change.account.email),
                            sk="EMAIL",
                            account_id=change.account.id,
                        ),
                        condition=EmailItem.pk.does_not_exist(),
                    )
                    index += 1
                    tw.save(item, condition=AccountItem.pk.does_not_exist())
                else:
                    tw.save(item, condition=AccountItem.version == change.expected_version)
                index += 1
            if change.email_swap is not None and change.account is not None:
                old, new = change.email_swap
                tw.delete(
                    EmailItem(pk=email_pk(old), sk="EMAIL"),
                    condition=EmailItem.account_id == change.account.id,
                )
                index += 1
                new_email_index = index
                tw.save(
                    EmailItem(pk=email_pk(new), sk="EMAIL", account_id=change.account.id),
                    condition=EmailItem.pk.does_not_exist(),
                )
                index += 1
            for session in change.put_sessions:
                tw.save(_session_to_item(session, self._settings))
            for account_id, token_hash in change.delete_sessions:
                tw.delete(SessionItem(pk=account_pk(account_id), sk=f"SESSION#{token_hash}"))
            for mail in change.mails:
                tw.save(_mail_to_item(mail, shards), condition=OutboxItem.pk.does_not_exist())
            for event in change.audit:
                tw.save(_audit_to_item(event))

        def on_cancel(failed: list[int]) -> Exception:
            if new_email_index is not None and new_email_index in failed:
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

    def login_lookup(
        self, email: str, throttle_keys: Sequence[str], window: int
    ) -> tuple[str | None, dict[str, int]]:
        keys = [(email_pk(email), "EMAIL")] + [
            (f"THROTTLE#{k}", f"W#{window}") for k in throttle_keys
        ]
        account_id: str | None = None
        counts: dict[str, int] = {}
        for item in self._batch_get(keys):
            if isinstance(item, EmailItem):
                account_id = item.account_id
            elif isinstance(item, ThrottleItem):
                counts[item.pk.removeprefix("THROTTLE#")] = int(item.failures)
        return account_id, counts

    def add_failures(self, throttle_keys: Sequence[str], window: int, expires_at: datetime) -> None:
        def build(tw: TransactWrite) -> None:
            for key in throttle_keys:
                tw.update(
                    ThrottleItem(pk=f"THROTTLE#{key}", sk=f"W#{window}"),
                    actions=[
                        ThrottleItem.failures.add(1),
                        ThrottleItem.kind.set(ThrottleItem),
                        ThrottleItem.expires_at.set(expires_at),
                    ],
                )

        self._transact(build, lambda failed: ConcurrentUpdate())

    def get_session(
        self, account_id: str, token_hash: str
    ) -> tuple[Account | None, Session | None]:
        pk = account_pk(account_id)
        account: Account | None = None
        session: Session | None = None
        for item in self._batch_get([(pk, PROFILE), (pk, f"SESSION#{token_hash}")]):
            if isinstance(item, AccountItem):
                account = _account_from_item(item)
            elif isinstance(item, SessionItem):
                session = _session_from_item(item)
        return account, session

    def touch_session(self, session: Session, now: datetime, expires_at: datetime) -> None:
        item = SessionItem(pk=account_pk(session.account_id), sk=f"SESSION#{session.token_hash}")
        with dynamo_errors():
            try:
                item.update(
                    actions=[
                        SessionItem.last_seen_at.set(now),
                        SessionItem.expires_at.set(expires_at),
                    ],
                    condition=SessionItem.pk.exists(),
                )
            except PynamoDBException as error:
                if getattr(error, "cause_response_code", "") != "ConditionalCheckFailedException":
                    raise

    def delete_session(self, account_id: str, token_hash: str) -> None:
        with dynamo_errors():
            SessionItem(pk=account_pk(account_id), sk=f"SESSION#{token_hash}").delete()

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

    # --- outbox ---------------------------------------------------------------------------
    def due_mail(self, now: datetime, limit: int) -> list[OutboxMail]:
        due: list[OutboxMail] = []
        upper = f"{utc_iso(now)}~"
        with dynamo_errors():
            for shard in range(self._settings.queue_shards):
                for item in TableItem.work_queue.query(
                    f"outbox#{shard}", TableItem.queue_sk <= upper, limit=limit - len(due)
                ):
                    if isinstance(item, OutboxItem):
                        due.append(_mail_from_item(item))
                if len(due) >= limit:
                    break
        return due

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
        with dynamo_errors():
            try:
                item.update(actions=actions, condition=condition)
            except PynamoDBException as error:
                if getattr(error, "cause_response_code", "") == "ConditionalCheckFailedException":
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
        self._update_mail(
            mail.id,
            [
                OutboxItem.status.set(MailStatus.FAILED.value),
                OutboxItem.attempts.add(1),
                OutboxItem.last_error.set(error[:500]),
                OutboxItem.queue_pk.remove(),
                OutboxItem.queue_sk.remove(),
                OutboxItem.lease_until.remove(),
            ],
            OutboxItem.status == MailStatus.PENDING.value,
        )
