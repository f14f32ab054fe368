"""Pending charges and dunning: "apply pending charges", scheduled retries, webhook effects.

Money moves exactly once, whoever moves it:

* Every attempt is first **claimed** on the base table: the charges it pays go to
  ``processing`` with a lease and the :class:`Attempt` (key, charges, amount, card, session
  mode) stored on each of them, in one conditional transaction.  Two paths reaching the same
  charge (the customer's "apply pending charges" and the scheduled retry) race on that write:
  the loser answers ``payment_in_progress`` (or skips) and calls nobody (F2).
* The idempotency key comes from the stored records: ``charge:<id>:attempt:<n>`` for one
  charge, ``charges:<hash of ids and attempt numbers>`` for several paid at once.
* The outcome (charges, invoices and their transactions, account status, mail, the
  ``Idempotency-Key`` answer or the webhook event id) commits in one transaction.
* A lost answer leaves the charges ``unknown``; a crash leaves them ``processing``.  Either way
  their lease expires and the retry job **replays the stored attempt** with the same key and
  parameters, so Stripe answers with the first result and nothing is charged twice (F3, F4).

The schedule: automatic retries 1, 3, 5, 7, 10 and 14 days after the first failure (from
configuration), a mail after each failure, and ``suspended`` after the last one until the
customer pays.  Hard declines (issuer advice first, then the decline code, see
``domain.payments``) stop automatic retries until the card changes or the customer pays
on-session; ``authentication_required`` tells the customer once.

Fan-out: the ``retry-pending`` job reads due charges from the sharded sparse index and hands
them to a :class:`ChargeQueue` (SQS in AWS, an in-process thread pool locally); each worker
processes one charge in at most 4 DynamoDB requests (BatchGet, claim, outcome, and a Query on
success), keeping to the request budget toward Stripe with a shared token bucket and backing
off with jitter on 429.
"""

from __future__ import annotations

import hashlib
import json
import random
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Protocol

from chalicelib.config import Settings
from chalicelib.domain.account import (
    Account,
    AccountChange,
    AccountStatus,
    AuditEvent,
    Marker,
    OutboxMail,
)
from chalicelib.domain.billing import (
    Attempt,
    Charge,
    ChargeState,
    Invoice,
    InvoiceStatus,
    transaction_for,
)
from chalicelib.domain.errors import (
    ConcurrentUpdate,
    Conflict,
    DependencyUnavailable,
    MarkerExists,
)
from chalicelib.domain.payments import (
    CardDeclined,
    CardSummary,
    ChargeOutcome,
    DeclineInfo,
    PaymentGatewayUnavailable,
    PaymentOutcomeUnknown,
)
from chalicelib.logs import log_event
from chalicelib.services.auth import Caller
from chalicelib.services.mail import payment_mail
from chalicelib.services.payment_ports import PaymentGateway
from chalicelib.services.ports import BillingRepository, Clock
from chalicelib.services.rate_limit import TokenBucket

LEASE = timedelta(minutes=15)  # longer than the Lambda timeout
IDEMPOTENCY_TTL = timedelta(hours=24)
RATE_LIMIT_RETRIES = 3
OPEN_STATES = (ChargeState.PENDING, ChargeState.PROCESSING, ChargeState.UNKNOWN)


def next_retry_at(
    first_failed_at: datetime, schedule_days: Sequence[int], now: datetime
) -> datetime | None:
    """The first scheduled retry after ``now``, or None when the schedule is exhausted."""
    for days in schedule_days:
        due = first_failed_at + timedelta(days=days)
        if due > now:
            return due
    return None


class ChargeQueue(Protocol):
    def send(self, items: Sequence[tuple[str, str]]) -> None:
        """Hand ``(account id, charge id)`` pairs to the retry workers."""
        ...


@dataclass(frozen=True)
class PayResult:
    """What "apply pending charges" did: invoices paid, or the bank's request to authenticate."""

    paid: tuple[str, ...] = ()
    client_secret: str | None = None
    account: Account | None = None  # the account after the payment (status may have changed)
    declined: bool = False
    pending: tuple[Charge, ...] = ()  # what is still owed after a decline


@dataclass
class _Outcome:
    """How one attempt ended, as far as this process knows."""

    kind: str  # succeeded, declined, requires_action, unknown, unavailable
    result: ChargeOutcome | None = None


class DunningService:
    def __init__(
        self,
        repo: BillingRepository,
        gateway: Callable[[], PaymentGateway],
        clock: Clock,
        settings: Settings,
        limiter: TokenBucket | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self._repo = repo
        self._gateway_factory = gateway
        self._clock = clock
        self._settings = settings
        self._limiter = limiter or TokenBucket(settings.stripe_request_budget)
        self._sleep = sleep

    # --- the gateway call ---------------------------------------------------------------------
    def _call(self, attempt: Attempt, customer_id: str, account_id: str) -> _Outcome:
        """Make (or replay) ``attempt`` within the request budget; 429s back off with jitter."""
        gateway = self._gateway_factory()
        for retry in range(RATE_LIMIT_RETRIES + 1):
            self._limiter.acquire()
            try:
                result = gateway.charge(
                    customer_id,
                    attempt.payment_method_id,
                    attempt.amount,
                    attempt.currency,
                    idempotency_key=attempt.key,
                    description=f"HelpDesk pending charges {','.join(attempt.charge_ids)}",
                    metadata={"account_id": account_id, "charge_ids": ",".join(attempt.charge_ids)},
                    off_session=not attempt.on_session,
                )
            except PaymentOutcomeUnknown:
                return _Outcome("unknown")
            except PaymentGatewayUnavailable as error:
                if error.reason == "rate_limited" and retry < RATE_LIMIT_RETRIES:
                    self._sleep(random.uniform(0.5, 1.5) * 2**retry)  # noqa: S311 - jitter
                    continue
                return _Outcome("unavailable")
            if result.status == "succeeded":
                return _Outcome("succeeded", result)
            if result.status == "requires_action":
                return _Outcome("requires_action", result)
            if result.status == "declined":
                return _Outcome("declined", result)
            return _Outcome("unknown", result)
        return _Outcome("unavailable")

    @staticmethod
    def _attempt_key(charges: Sequence[Charge]) -> str:
        if len(charges) == 1:
            return charges[0].idempotency_key()
        digest = hashlib.sha256(
            ",".join(f"{c.id}:{c.attempts}" for c in sorted(charges, key=lambda c: c.id)).encode()
        ).hexdigest()[:40]
        return f"charges:{digest}"

    # --- outcomes -------------------------------------------------------------------------------
    def _mail(
        self, account: Account, invoices: Sequence[Invoice], failure_key: str | None = None
    ) -> OutboxMail:
        return payment_mail(
            account,
            invoices,
            now=self._clock.now(),
            console_url=self._settings.console_url,
            failure_key=failure_key,
        )

    def _outcome_change(
        self,
        account: Account,
        claimed: Sequence[Charge],
        invoices: Sequence[Invoice],
        outcome: _Outcome,
        *,
        still_open_elsewhere: bool,
        markers: tuple[Marker, ...] = (),
    ) -> AccountChange:
        """The one transaction recording ``outcome`` for the ``claimed`` charges."""
        now = self._clock.now()
        by_id = {i.id: i for i in invoices}
        card = (outcome.result.card if outcome.result and outcome.result.card else None) or (
            account.card
        )
        new_charges: list[tuple[Charge, int | None]] = []
        new_invoices: list[tuple[Invoice, int | None]] = []
        mails: list[OutboxMail] = []
        account_after: Account | None = None
        pi = outcome.result.payment_intent_id if outcome.result else None

        def add_tx(
            charge: Charge,
            status: str,
            failure: DeclineInfo | None = None,
            key: str | None = None,
            paid: bool = False,
        ) -> None:
            invoice = by_id.get(charge.invoice_id)
            if invoice is None:
                return
            tx = transaction_for(
                charge.id,
                now,
                charge.amount,
                status,
                card,
                failure=failure,
                failure_key=key,
                payment_intent_id=pi,
            )
            new_invoices.append(
                (
                    invoice.evolve(
                        status=InvoiceStatus.PAID if paid else invoice.status,
                        transactions=(*invoice.transactions, tx),
                    ),
                    invoice.version,
                )
            )

        if outcome.kind == "succeeded":
            for charge in claimed:
                new_charges.append(
                    (
                        charge.evolve(
                            state=ChargeState.PAID,
                            lease_until=None,
                            next_retry_at=None,
                            attempt=None,
                            payment_intent_id=pi,
                        ),
                        charge.version,
                    )
                )
                add_tx(charge, "succeeded", paid=True)
            if account.status in (AccountStatus.PAST_DUE, AccountStatus.SUSPENDED) and not (
                still_open_elsewhere
            ):
                account_after = account.evolve(status=AccountStatus.ACTIVE)
            mails.append(
                self._mail(
                    account,
                    [by_id[c.invoice_id] for c in claimed if c.invoice_id in by_id]
                    or list(invoices),
                )
            )
        elif outcome.kind in ("declined", "requires_action"):
            failure = (
                outcome.result.failure
                if outcome.result and outcome.result.failure
                else DeclineInfo("authentication_required")
            )
            guidance = failure.guidance
            exhausted = False
            for charge in claimed:
                first = charge.first_failed_at or now
                retry_at = (
                    None
                    if guidance.hard
                    else next_retry_at(first, self._settings.retry_schedule_days, now)
                )
                exhausted = exhausted or (retry_at is None and not guidance.hard)
                new_charges.append(
                    (
                        charge.evolve(
                            state=ChargeState.PENDING,
                            lease_until=None,
                            attempt=None,
                            first_failed_at=first,
                            next_retry_at=retry_at,
                            retries_stopped=guidance.hard,
                            last_failure=failure,
                            last_failure_key=guidance.message_key,
                            payment_intent_id=pi,
                        ),
                        charge.version,
                    )
                )
                add_tx(
                    charge,
                    "requires_action" if outcome.kind == "requires_action" else "failed",
                    failure,
                    guidance.message_key,
                )
            if account.status is AccountStatus.ACTIVE:
                account_after = account.evolve(status=AccountStatus.PAST_DUE)
            if exhausted and account.status in (AccountStatus.ACTIVE, AccountStatus.PAST_DUE):
                account_after = account.evolve(status=AccountStatus.SUSPENDED)
            claimed_invoices = [by_id[c.invoice_id] for c in claimed if c.invoice_id in by_id]
            on_session = any(c.attempt is not None and c.attempt.on_session for c in claimed)
            if (
                claimed_invoices
                and not on_session
                and not any(
                    c.retries_stopped and c.last_failure_key == guidance.message_key
                    for c in claimed
                )
            ):
                mails.append(self._mail(account, claimed_invoices, guidance.message_key))
        elif outcome.kind == "unknown":
            for charge in claimed:
                new_charges.append(
                    (
                        charge.evolve(state=ChargeState.UNKNOWN, lease_until=now + LEASE),
                        charge.version,
                    )
                )
        else:  # unavailable: nothing happened at Stripe; put the charges back
            for charge in claimed:
                retry_at = charge.next_retry_at or now + timedelta(hours=1)
                new_charges.append(
                    (
                        charge.evolve(
                            state=ChargeState.PENDING,
                            lease_until=None,
                            attempt=None,
                            next_retry_at=retry_at,
                        ),
                        charge.version,
                    )
                )
        return AccountChange(
            account=account_after,
            expected_version=account.version if account_after else None,
            charges=tuple(new_charges),
            invoices=tuple(new_invoices),
            mails=tuple(mails),
            markers=markers,
        )

    def _commit_outcome(
        self,
        account: Account,
        claimed: Sequence[Charge],
        invoices: Sequence[Invoice],
        outcome: _Outcome,
        *,
        other_open: Callable[[], bool],
        markers: tuple[Marker, ...] = (),
        audit: tuple[AuditEvent, ...] = (),
    ) -> AccountChange:
        """Commit the outcome; re-read the account if it changed meanwhile (profile edits)."""
        still_open = other_open() if outcome.kind == "succeeded" else False
        for _ in range(5):
            change = self._outcome_change(
                account,
                claimed,
                invoices,
                outcome,
                still_open_elsewhere=still_open,
                markers=markers,
            )
            change = replace(change, audit=audit)
            try:
                self._repo.commit(change)
                return change
            except MarkerExists:
                raise
            except ConcurrentUpdate:
                fresh = self._repo.get_account(account.id)
                if fresh is None or fresh.version == account.version:
                    raise
                account = fresh
        raise ConcurrentUpdate()

    def _log(self, account_id: str, charges: Sequence[Charge], outcome: _Outcome) -> None:
        failure = outcome.result.failure if outcome.result else None
        event = {
            "succeeded": "charge.succeeded",
            "declined": "charge.declined",
            "requires_action": "charge.requires_action",
            "unknown": "charge.unknown",
            "unavailable": "charge.unavailable",
        }[outcome.kind]
        log_event(
            event,
            account_id=account_id,
            charge_ids=[c.id for c in charges],
            amount=sum(c.amount for c in charges),
            code=failure.code if failure else None,
            decline_code=failure.decline_code if failure else None,
        )

    # --- on-session: "apply pending charges" -------------------------------------------------
    def pay_pending(
        self, caller: Caller, idempotency_key: str | None = None, *, raise_decline: bool = True
    ) -> PayResult:
        """Charge every open charge of the account at once with the card on file.

        DynamoDB: one Query (open charges, their invoices and the stored answer of the
        ``Idempotency-Key``), the claim, and the outcome with its audit event.
        """
        account = caller.account
        now = self._clock.now()
        charges, invoices, stored = self._repo.payable(account.id, idempotency_key)
        if stored is not None:
            return self._replay_answer(stored, account)
        if any(c.state is not ChargeState.PENDING for c in charges):
            raise Conflict("payment_in_progress")  # claimed, or being reconciled
        if not charges:
            return PayResult(account=account)
        if account.payment_method_id is None or account.customer_id is None:
            from chalicelib.domain.errors import InvalidInput

            raise InvalidInput("no_card")
        currency = charges[0].currency
        charges = [c for c in charges if c.currency == currency]
        numbered = [replace(c, attempts=c.attempts + 1) for c in charges]
        attempt = Attempt(
            key=self._attempt_key(numbered),
            charge_ids=tuple(c.id for c in numbered),
            amount=sum(c.amount for c in numbered),
            currency=currency,
            payment_method_id=account.payment_method_id,
            on_session=True,
        )
        claimed = [
            c.evolve(
                attempts=c.attempts + 1,
                state=ChargeState.PROCESSING,
                lease_until=now + LEASE,
                attempt=attempt,
            )
            for c in charges
        ]
        try:
            self._repo.commit(
                AccountChange(
                    charges=tuple(zip(claimed, [c.version for c in charges], strict=True))
                )
            )
        except ConcurrentUpdate:
            raise Conflict("payment_in_progress") from None
        outcome = self._call(attempt, account.customer_id, account.id)
        self._log(account.id, claimed, outcome)
        answer = self._answer_for(outcome, [c.invoice_id for c in claimed])
        markers: tuple[Marker, ...] = ()
        if idempotency_key and answer:
            markers = (
                Marker(
                    "IDEMPOTENCY",
                    idempotency_key,
                    json.dumps(answer),
                    expires_at=now + IDEMPOTENCY_TTL,
                    account_id=account.id,
                ),
            )
        audit = AuditEvent(
            account.id,
            now,
            "pending_charges_applied",
            ip=caller.ip,
            details={"outcome": outcome.kind},
        )
        change = self._commit_outcome(
            account,
            claimed,
            invoices,
            outcome,
            other_open=lambda: False,
            markers=markers,
            audit=(audit,),
        )
        after = change.account or account
        if answer is None:
            return self._raise_for(outcome)
        if answer["kind"] == "declined" and not raise_decline:
            return PayResult(
                account=after, declined=True, pending=tuple(c for c, _ in change.charges)
            )
        return self._replay_answer(json.dumps(answer), after)

    @staticmethod
    def _answer_for(outcome: _Outcome, invoice_ids: Sequence[str]) -> dict[str, object] | None:
        result = outcome.result
        if outcome.kind == "succeeded":
            return {"kind": "paid", "paid": sorted(invoice_ids)}
        if outcome.kind == "requires_action" and result is not None:
            return {"kind": "requires_action", "client_secret": result.client_secret}
        if outcome.kind == "declined" and result is not None and result.failure is not None:
            f = result.failure
            return {
                "kind": "declined",
                "code": f.code,
                "decline_code": f.decline_code,
                "advice_code": f.advice_code,
            }
        return None

    def _replay_answer(self, stored: str, account: Account) -> PayResult:
        answer = json.loads(stored)
        if answer["kind"] == "declined":
            raise CardDeclined(
                DeclineInfo(answer["code"], answer["decline_code"], answer["advice_code"])
            )
        if answer["kind"] == "requires_action":
            return PayResult(client_secret=answer["client_secret"], account=account)
        return PayResult(paid=tuple(answer.get("paid", ())), account=account)

    @staticmethod
    def _raise_for(outcome: _Outcome) -> PayResult:
        if outcome.kind == "unknown":
            raise DependencyUnavailable("payment_outcome_unknown")
        raise PaymentGatewayUnavailable(reason="connection")

    # --- scheduled retries --------------------------------------------------------------------
    def enqueue_due(self, queue: ChargeQueue, limit: int = 10_000) -> int:
        """The ``retry-pending`` job's producer: hand every due charge to the workers."""
        due = self._repo.due_charges(self._clock.now(), limit)
        queue.send(due)
        return len(due)

    def process(self, account_id: str, charge_id: str) -> str:
        """A retry worker: settle one due charge (or replay its attempt). Returns what it did:
        ``succeeded``, ``declined``, ``unknown``, ``unavailable`` (retry later: report it as a
        failed queue item) or ``skipped``."""
        account, charge, invoice = self._repo.charge_context(account_id, charge_id)
        now = self._clock.now()
        if account is None or charge is None:
            return "skipped"
        if account.status in (AccountStatus.CANCELLED, AccountStatus.REACTIVATION_REQUESTED):
            return "skipped"
        due = charge.queue_due_at()
        if due is None or due > now:
            return "skipped"  # stale index entry: someone else moved it
        if charge.state is ChargeState.PENDING:
            if account.payment_method_id is None or account.customer_id is None:
                return "skipped"
            numbered = replace(charge, attempts=charge.attempts + 1)
            attempt = Attempt(
                key=numbered.idempotency_key(),
                charge_ids=(charge.id,),
                amount=charge.amount,
                currency=charge.currency,
                payment_method_id=account.payment_method_id,
                on_session=False,
            )
            group = [charge]
            claimed_states = [
                charge.evolve(
                    attempts=charge.attempts + 1,
                    state=ChargeState.PROCESSING,
                    lease_until=now + LEASE,
                    attempt=attempt,
                )
            ]
        elif charge.attempt is not None:  # replay a lost or crashed attempt, same key
            attempt = charge.attempt
            group = [charge]
            if len(attempt.charge_ids) > 1:
                group = [
                    c
                    for c in self._repo.open_charges(account_id)
                    if c.id in attempt.charge_ids and c.attempt == attempt
                ]
            claimed_states = [
                c.evolve(state=ChargeState.PROCESSING, lease_until=now + LEASE) for c in group
            ]
        else:
            return "skipped"
        try:
            self._repo.commit(
                AccountChange(
                    charges=tuple(zip(claimed_states, [c.version for c in group], strict=True))
                )
            )
        except ConcurrentUpdate:
            return "skipped"  # another worker or the customer got it first
        except DependencyUnavailable:
            return "unavailable"  # nothing claimed: the message is retried
        claimed = claimed_states
        invoices = (
            [invoice]
            if invoice is not None and len(group) == 1
            else (self._repo.invoices_by_id(account_id, [c.invoice_id for c in group]))
        )
        customer_id = account.customer_id
        assert customer_id is not None
        outcome = self._call(attempt, customer_id, account_id)
        self._log(account_id, claimed, outcome)

        def other_open() -> bool:
            ids = {c.id for c in claimed}
            return any(c.id not in ids for c in self._repo.open_charges(account_id))

        try:
            self._commit_outcome(account, claimed, invoices, outcome, other_open=other_open)
        except (ConcurrentUpdate, DependencyUnavailable):
            return "unknown"  # the lease expires and the attempt is replayed: no loss
        return outcome.kind if outcome.kind != "requires_action" else "declined"

    # --- card changes and webhooks --------------------------------------------------------------
    def retry_now(self, caller: Caller) -> PayResult | None:
        """After a new card: pay the pending charges at once (the customer is present).

        None when that could not be tried (a payment in progress, Stripe down): the charges
        stay pending and the scheduled retries go on.
        """
        try:
            return self.pay_pending(caller, raise_decline=False)
        except (CardDeclined, PaymentGatewayUnavailable, DependencyUnavailable, Conflict):
            return None

    def record_event(self, event_id: str) -> bool:
        """Record a webhook event with no effect; False when it was already recorded."""
        try:
            self._repo.commit(AccountChange(markers=(Marker("EVENT", event_id, "1"),)))
        except MarkerExists:
            return False
        return True

    def settle_succeeded_intent(
        self, event_id: str, account_id: str, charge_ids: Sequence[str], payment_intent_id: str
    ) -> bool:
        """``payment_intent.succeeded``: mark its charges paid if they are not yet (forward
        only), with the event id in the same transaction. False for a duplicate event."""
        account = self._repo.get_account(account_id)
        if account is None:
            return self.record_event(event_id)
        wanted = set(charge_ids)
        open_charges = [c for c in self._repo.open_charges(account_id) if c.id in wanted]
        if not open_charges:
            return self.record_event(event_id)
        invoices = self._repo.invoices_by_id(account_id, [c.invoice_id for c in open_charges])
        outcome = _Outcome("succeeded", ChargeOutcome("succeeded", payment_intent_id))
        ids = {c.id for c in open_charges}
        try:
            self._commit_outcome(
                account,
                open_charges,
                invoices,
                outcome,
                other_open=lambda: any(
                    c.id not in ids for c in self._repo.open_charges(account_id)
                ),
                markers=(Marker("EVENT", event_id, "1"),),
            )
        except MarkerExists:
            return False
        log_event("webhook.intent_succeeded", account_id=account_id, charge_ids=sorted(ids))
        return True

    def card_updated_by_network(
        self, event_id: str, account_id: str, payment_method_id: str, card: CardSummary
    ) -> bool:
        """``payment_method.automatically_updated``: the bank updated the card; store it and
        make the pending charges due at once (retries resume). False for a duplicate."""
        account = self._repo.get_account(account_id)
        if account is None or account.payment_method_id != payment_method_id:
            return self.record_event(event_id)
        now = self._clock.now()
        charges = [c for c in self._repo.open_charges(account_id) if c.state is ChargeState.PENDING]
        try:
            self._repo.commit(
                AccountChange(
                    account=account.evolve(card=card),
                    expected_version=account.version,
                    charges=tuple(
                        (c.evolve(next_retry_at=now, retries_stopped=False), c.version)
                        for c in charges
                    ),
                    markers=(Marker("EVENT", event_id, "1"),),
                    audit=(AuditEvent(account.id, now, "card_updated_by_network", actor="stripe"),),
                )
            )
        except MarkerExists:
            return False
        for charge in charges:  # at once, not at the next scheduled run
            self.process(account_id, charge.id)
        return True


@dataclass
class DispatchReport:
    due: int = 0
    succeeded: int = 0
    declined: int = 0
    unknown: int = 0
    unavailable: int = 0
    skipped: int = 0


class InProcessDispatcher:
    """The local and test stand-in for SQS: runs the workers on a thread pool.

    The same worker code (:meth:`DunningService.process`) runs as in Lambda; concurrency comes
    from configuration and the shared token bucket keeps the calls within the budget.
    """

    def __init__(self, service: DunningService, workers: int) -> None:
        self._service = service
        self._workers = workers
        self.report = DispatchReport()

    def send(self, items: Sequence[tuple[str, str]]) -> None:
        from concurrent.futures import ThreadPoolExecutor

        from chalicelib.logs import log_error

        def work(item: tuple[str, str]) -> str:
            try:
                return self._service.process(*item)
            except Exception:  # one bad charge must not stop the others (SQS: redelivered)
                log_error("retry.worker_failed", account_id=item[0], charge_id=item[1])
                return "unavailable"

        self.report.due += len(items)
        with ThreadPoolExecutor(max_workers=self._workers) as pool:
            for result in pool.map(work, items):
                setattr(self.report, result, getattr(self.report, result) + 1)
