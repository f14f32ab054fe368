"""Pending charges and dunning: "apply pending charges", scheduled retries, webhook effects.

Money moves exactly once, whoever moves it:

* Every attempt is first **claimed** on the base table: the charges it pays go to
  ``processing`` with a lease and the :class:`Attempt` (key, charges, amount, card, session
  mode) stored on each of them, in one conditional transaction.  Two paths reaching the same
  charge (the customer's "apply pending charges" and the scheduled retry) race on that write:
  the loser answers ``payment_in_progress`` (or skips) and calls nobody (F2).
* What the answer means is :mod:`chalicelib.services.settlement`'s, for every path; this
  module only decides what to claim and when.
* A lost answer leaves the charges ``unknown`` and due at once; a crash leaves them
  ``processing`` until their lease expires.  The retry job then **replays the stored
  attempt** with the same key while it is under 24 hours old, and looks the PaymentIntent up
  after that, whichever path made it (subscribe, renewal, pay-pending): nothing is charged
  twice and nothing stays unknown (ST4, ST8, F3, F4, F9).
* A suspended account that pays starts a new period from the time it pays: what it owed for
  the period it lost is credited (a credit note per invoice) and a new invoice is
  issued and charged in the claim's transaction.

The schedule: automatic retries 1, 3, 5, 7, 10 and 14 days after the first failure (from
configuration), a mail after each failure, and ``suspended`` after the last one until the
customer pays.  Declines that stop retries (hard, revoked, needing the customer, see
``domain.payments``) suspend the account ``HARD_DECLINE_GRACE_DAYS`` after the decline unless
the card changes first; the retry job does that when the charge falls due at that date.

Fan-out: the ``retry-pending`` job reads due charges from the sharded sparse index and hands
them to a :class:`ChargeQueue` (SQS in AWS, an in-process thread pool locally); each worker
processes one charge in at most 4 DynamoDB requests (BatchGet, claim, outcome, and a Query on
success), keeping to the request budget toward Stripe with a shared token bucket and backing
off with jitter on 429.
"""

from __future__ import annotations

import enum
import json
import time
from collections.abc import Callable, Sequence
from datetime import timedelta

from msgspec import Struct
from msgspec.structs import asdict, replace

from chalicelib.config import Settings
from chalicelib.domain.account import (
    Account,
    AccountChange,
    AccountStatus,
    AuditEvent,
    Caller,
    Marker,
    MarkerKind,
)
from chalicelib.domain.billing import Attempt, Charge, ChargePurpose, ChargeState, Invoice
from chalicelib.domain.errors import (
    ConcurrentUpdate,
    Conflict,
    DependencyUnavailable,
    InvalidInput,
    MarkerExists,
)
from chalicelib.domain.payments import (
    CardDeclined,
    CardSummary,
    ChargeOutcome,
    DeclineInfo,
    PaymentGatewayUnavailable,
)
from chalicelib.logs import log_event
from chalicelib.services.billing import BillingService
from chalicelib.services.payment_ports import PaymentGateway
from chalicelib.services.ports import BillingRepository, ChargeQueue, Clock
from chalicelib.services.rate_limit import TokenBucket
from chalicelib.services.settlement import GatewayResult, Result, Settlement

IDEMPOTENCY_TTL = timedelta(hours=24)  # how long an ``Idempotency-Key`` answer is kept


class PayKind(enum.StrEnum):
    NOTHING = "nothing"  # nothing was owed
    PAID = "paid"
    REQUIRES_ACTION = "requires_action"
    DECLINED = "declined"


class PayResult(Struct, frozen=True):
    """What "apply pending charges" did: built once from the outcome, stored (serialized)
    as the answer of an ``Idempotency-Key``, returned as is."""

    kind: PayKind = PayKind.NOTHING
    paid: tuple[str, ...] = ()
    client_secret: str | None = None
    failure: DeclineInfo | None = None
    account: Account | None = None  # the account after the payment (status may have changed)
    pending: tuple[Charge, ...] = ()  # what is still owed after it (a decline's charges)

    @property
    def declined(self) -> bool:
        return self.kind is PayKind.DECLINED

    def to_json(self) -> str:
        if self.kind is PayKind.DECLINED:
            assert self.failure is not None
            f = self.failure
            data: dict[str, object] = {
                "kind": "declined",
                "code": f.code,
                "decline_code": f.decline_code,
                "advice_code": f.advice_code,
            }
        elif self.kind is PayKind.REQUIRES_ACTION:
            data = {"kind": "requires_action", "client_secret": self.client_secret}
        else:
            data = {"kind": "paid", "paid": sorted(self.paid)}
        return json.dumps(data)

    @classmethod
    def from_json(cls, raw: str, account: Account) -> PayResult:
        data = json.loads(raw)
        if data["kind"] == "declined":
            failure = DeclineInfo(data["code"], data["decline_code"], data["advice_code"])
            return cls(PayKind.DECLINED, failure=failure, account=account)
        if data["kind"] == "requires_action":
            return cls(
                PayKind.REQUIRES_ACTION, client_secret=data["client_secret"], account=account
            )
        return cls(PayKind.PAID, paid=tuple(data.get("paid", ())), account=account)

    def raise_if_declined(self) -> PayResult:
        if self.kind is PayKind.DECLINED:
            assert self.failure is not None
            raise CardDeclined(self.failure)
        return self


class WorkerResult(enum.StrEnum):
    SUCCEEDED = "succeeded"
    DECLINED = "declined"
    UNKNOWN = "unknown"
    UNAVAILABLE = "unavailable"  # retry later: report it as a failed queue item
    SUSPENDED = "suspended"  # the grace period of a stopped charge ended
    SKIPPED = "skipped"


_WORKER_RESULT = {
    Result.SUCCEEDED: WorkerResult.SUCCEEDED,
    Result.DECLINED: WorkerResult.DECLINED,
    Result.REQUIRES_ACTION: WorkerResult.DECLINED,
    Result.UNKNOWN: WorkerResult.UNKNOWN,
    Result.UNAVAILABLE: WorkerResult.UNAVAILABLE,
    Result.NOT_FOUND: WorkerResult.UNAVAILABLE,
}
CLOSED = (AccountStatus.CANCELLED, AccountStatus.REACTIVATION_REQUESTED)


class DunningService:
    def __init__(
        self,
        repo: BillingRepository,
        gateway: Callable[[], PaymentGateway],
        clock: Clock,
        settings: Settings,
        *,
        limiter: TokenBucket | None = None,
        sleep: Callable[[float], None] = time.sleep,
        settlement: Settlement | None = None,
        billing: BillingService | None = None,
    ) -> None:
        self._repo = repo
        self._clock = clock
        self._settings = settings
        self._settlement = settlement or Settlement(
            repo, gateway, clock, settings, limiter=limiter, sleep=sleep
        )
        self._billing = billing or BillingService(
            repo, gateway, clock, settings, self._settlement, retry_now=lambda: self.retry_now
        )

    @property
    def _sleep(self) -> Callable[[float], None]:
        return self._settlement.sleep

    @_sleep.setter
    def _sleep(self, value: Callable[[float], None]) -> None:
        self._settlement.sleep = value

    # --- on-session: "apply pending charges" -------------------------------------------------
    def pay_pending(
        self,
        caller: Caller,
        idempotency_key: str | None = None,
        *,
        raise_decline: bool = True,
        owed: tuple[Sequence[Charge], Sequence[Invoice]] | None = None,
    ) -> PayResult:
        """Charge every open charge of the account at once with the card on file.

        DynamoDB: one Query (open charges, their invoices and the stored answer of the
        ``Idempotency-Key``), the claim, and the outcome with its audit event.
        """
        account = caller.account
        now = self._clock.now()
        if owed is not None and idempotency_key is None:  # just read by the caller
            charges, invoices, stored = list(owed[0]), list(owed[1]), None
        else:
            charges, invoices, stored = self._repo.payable(account.id, idempotency_key)
        if stored is not None:
            return PayResult.from_json(stored, account).raise_if_declined()
        if any(c.state is not ChargeState.PENDING for c in charges):
            raise Conflict("payment_in_progress")  # claimed, or being reconciled
        if not charges:
            return PayResult(account=account)
        if account.payment_method_id is None or account.customer_id is None:
            raise InvalidInput("no_card")
        customer_id = account.customer_id
        currency = charges[0].currency
        elsewhere = tuple(c for c in charges if c.currency != currency)  # still owed after
        charges = [c for c in charges if c.currency == currency]
        if account.status is AccountStatus.SUSPENDED:
            claimed, invoices, account = self._restart(account, charges, invoices)
            attempt = claimed[0].attempt
            assert attempt is not None
        else:
            attempt = self._settlement.new_attempt(
                account,
                charges,
                on_session=True,
                description="HelpDesk pending charges "
                + ", ".join(i.number for i in invoices if i.id in {c.invoice_id for c in charges}),
            )
            claimed = [c.claim(attempt, now) for c in charges]
            try:
                self._repo.commit(
                    AccountChange(
                        charges=tuple(zip(claimed, [c.version for c in charges], strict=True))
                    )
                )
            except ConcurrentUpdate:
                raise Conflict("payment_in_progress") from None
        result = self._settlement.send(attempt, customer_id, account.id)
        answer = self._answer(result, claimed)
        markers: tuple[Marker, ...] = ()
        if idempotency_key and answer is not None:
            markers = (
                Marker(
                    MarkerKind.IDEMPOTENCY,
                    idempotency_key,
                    answer.to_json(),
                    expires_at=now + IDEMPOTENCY_TTL,
                    account_id=account.id,
                ),
            )
        audit = AuditEvent(
            account.id,
            now,
            "pending_charges_applied",
            ip=caller.ip,
            details={"outcome": result.kind.value},
        )
        applied = self._settlement.apply(
            account,
            claimed,
            invoices,
            result,
            attempt=attempt,
            customer_present=True,
            open_elsewhere=False,
            markers=markers,
            audit=(audit,),
        )
        if answer is None:
            if result.kind is Result.UNKNOWN:
                raise DependencyUnavailable("payment_outcome_unknown")
            raise PaymentGatewayUnavailable(reason="connection")
        done = PayResult(
            answer.kind,
            paid=answer.paid,
            client_secret=answer.client_secret,
            failure=answer.failure,
            account=applied.account,
            pending=tuple(c for c in applied.charges if c.is_open) + elsewhere,
        )
        return done if not raise_decline else done.raise_if_declined()

    def _restart(
        self, account: Account, owed: Sequence[Charge], invoices: Sequence[Invoice]
    ) -> tuple[list[Charge], list[Invoice], Account]:
        """A suspended account pays: credit what it owed for the lost period (its charges
        void, its invoices credited by credit notes) and issue (and claim) one period of its
        plan from now, in one transaction."""
        plan = self._settings.plan(account.plan or "")
        if plan is None:
            raise Conflict("not_allowed_in_status")
        by_id = {i.id: i for i in invoices}
        voided = AccountChange(charges=tuple((c.void(), c.version) for c in owed))
        try:
            issued, invoice, charge = self._billing.issue(
                account,
                plan,
                self._clock.now(),
                purpose=ChargePurpose.RESTART,
                on_session=True,
                also=voided,
                # the lost period's invoices are credited (never voided) in the same commit
                credit=tuple(by_id[c.invoice_id] for c in owed if c.invoice_id in by_id),
            )
        except ConcurrentUpdate:
            raise Conflict("payment_in_progress") from None
        log_event(
            "billing.restarted",
            account_id=account.id,
            voided=[c.id for c in owed],
            charge_id=charge.id,
        )
        return [charge], [invoice], issued

    @staticmethod
    def _answer(result: GatewayResult, claimed: Sequence[Charge]) -> PayResult | None:
        if result.kind is Result.SUCCEEDED:
            return PayResult(PayKind.PAID, paid=tuple(sorted(c.invoice_id for c in claimed)))
        if result.kind is Result.REQUIRES_ACTION and result.outcome is not None:
            return PayResult(PayKind.REQUIRES_ACTION, client_secret=result.outcome.client_secret)
        if result.kind is Result.DECLINED:
            return PayResult(PayKind.DECLINED, failure=result.failure)
        return None

    # --- scheduled retries --------------------------------------------------------------------
    def enqueue_due(self, queue: ChargeQueue, limit: int = 10_000) -> dict[str, int]:
        """The ``retry-pending`` job's producer: hand every due charge to the workers; the
        queue's report (``due``, and the workers' outcomes when they ran in-process)."""
        due = self._repo.due_charges(self._clock.now(), limit)
        return {"due": len(due), **queue.send(due)}

    def process(self, account_id: str, charge_id: str) -> WorkerResult:
        """A retry worker: settle one due charge (retry it, replay or look up its lost
        attempt, or suspend the account when its grace period is over)."""
        result = self._process_once(account_id, charge_id)
        if isinstance(result, tuple):  # the old card was declined after a card change
            result = self._process_once(account_id, charge_id)
        return result if isinstance(result, WorkerResult) else result[0]

    def _process_once(  # noqa: PLR0911 - one return per worker outcome
        self, account_id: str, charge_id: str
    ) -> WorkerResult | tuple[WorkerResult, bool]:
        account, charge, invoice = self._repo.charge_context(account_id, charge_id)
        now = self._clock.now()
        if account is None or charge is None:
            return WorkerResult.SKIPPED
        due = charge.queue_due_at()
        if due is None or due > now:
            return WorkerResult.SKIPPED  # stale index entry: someone else moved it
        replay = charge.state is not ChargeState.PENDING
        if not replay and account.status in CLOSED:
            return WorkerResult.SKIPPED
        if charge.state is ChargeState.PENDING and charge.retries_stopped:
            done = self._settlement.suspend_after_grace(account, charge)
            return WorkerResult.SUSPENDED if done else WorkerResult.SKIPPED
        attempt: Attempt | None
        if charge.state is ChargeState.PENDING:
            if account.payment_method_id is None or account.customer_id is None:
                return WorkerResult.SKIPPED
            attempt = self._settlement.new_attempt(
                account,
                [charge],
                on_session=False,
                description=f"HelpDesk invoice {invoice.number if invoice else charge.id}",
            )
            group = [charge]
            claimed = [charge.claim(attempt, now)]
        else:  # replay a lost or crashed attempt, same key (or look it up after 24 h)
            attempt = charge.attempt or self._settlement.legacy_attempt(charge, account)
            if attempt is None or account.customer_id is None:
                return WorkerResult.SKIPPED
            group = [charge]
            if len(attempt.charge_ids) > 1:
                group = [
                    c
                    for c in self._repo.open_charges(account_id)
                    if c.id in attempt.charge_ids and c.attempt == attempt
                ]
            claimed = [
                replace_attempt(c, attempt).reclaim(now) if c.attempt is None else c.reclaim(now)
                for c in group
            ]
        try:
            self._repo.commit(
                AccountChange(charges=tuple(zip(claimed, [c.version for c in group], strict=True)))
            )
        except ConcurrentUpdate:
            return WorkerResult.SKIPPED  # another worker or the customer got it first
        except DependencyUnavailable:
            return WorkerResult.UNAVAILABLE  # nothing claimed: the message is retried
        invoices = (
            [invoice]
            if invoice is not None and len(group) == 1
            else (self._repo.invoices_by_id(account_id, [c.invoice_id for c in group]))
        )
        customer_id = account.customer_id
        assert customer_id is not None
        result = self._settlement.send(attempt, customer_id, account_id, replay=replay)
        try:
            applied = self._settlement.apply(
                account,
                claimed,
                invoices,
                result,
                attempt=attempt,
                customer_present=False,
            )
        except (ConcurrentUpdate, DependencyUnavailable):
            return WorkerResult.UNKNOWN  # the lease expires and the attempt is replayed
        outcome = _WORKER_RESULT[result.kind]
        return (outcome, True) if applied.retry_now else outcome

    # --- card changes and webhooks --------------------------------------------------------------
    def retry_now(
        self,
        caller: Caller,
        owed: tuple[Sequence[Charge], Sequence[Invoice]] | None = None,
    ) -> PayResult | None:
        """After a new card: pay the pending charges at once (the customer is present).

        None when that could not be tried (a payment in progress, Stripe down): the charges
        are due at once and the claim holder or the next retry run tries the new card.
        """
        try:
            return self.pay_pending(caller, raise_decline=False, owed=owed)
        except (CardDeclined, PaymentGatewayUnavailable, DependencyUnavailable, Conflict):
            return None

    def record_event(self, event_id: str) -> bool:
        """Record a webhook event with no effect; False when it was already recorded."""
        try:
            self._repo.commit(AccountChange(markers=(Marker(MarkerKind.EVENT, event_id, "1"),)))
        except MarkerExists:
            return False
        return True

    def settle_succeeded_intent(
        self, event_id: str, account_id: str, charge_ids: Sequence[str], payment_intent_id: str
    ) -> bool:
        """``payment_intent.succeeded``: mark its charges paid if they are not yet (forward
        only), with the event id in the same transaction; a first payment activates the
        account.  False for a duplicate event."""
        account = self._repo.get_account(account_id)
        if account is None:
            return self.record_event(event_id)
        wanted = set(charge_ids)
        open_charges = [c for c in self._repo.open_charges(account_id) if c.id in wanted]
        if not open_charges:
            return self.record_event(event_id)
        invoices = self._repo.invoices_by_id(account_id, [c.invoice_id for c in open_charges])
        result = GatewayResult(Result.SUCCEEDED, ChargeOutcome("succeeded", payment_intent_id))
        try:
            self._settlement.apply(
                account,
                open_charges,
                invoices,
                result,
                attempt=None,
                customer_present=False,
                markers=(Marker(MarkerKind.EVENT, event_id, "1"),),
            )
        except MarkerExists:
            return False
        log_event("webhook.intent_succeeded", account_id=account_id, charge_ids=sorted(wanted))
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
                    charges=tuple((c.card_changed(now), c.version) for c in charges),
                    markers=(Marker(MarkerKind.EVENT, event_id, "1"),),
                    audit=(AuditEvent(account.id, now, "card_updated_by_network", actor="stripe"),),
                )
            )
        except MarkerExists:
            return False
        for charge in charges:  # at once, not at the next scheduled run
            self.process(account_id, charge.id)
        return True


def replace_attempt(charge: Charge, attempt: Attempt) -> Charge:
    """A legacy charge (claimed before attempts were stored) with its attempt filled in."""
    return replace(charge, attempt=attempt)


class DispatchReport(Struct):
    due: int = 0
    succeeded: int = 0
    declined: int = 0
    unknown: int = 0
    unavailable: int = 0
    suspended: int = 0
    skipped: int = 0


class InProcessDispatcher:
    """The local and test stand-in for SQS: runs the workers on a thread pool.

    The same worker code (:meth:`DunningService.process`) runs as in Lambda; concurrency comes
    from configuration and the shared token bucket keeps the calls within the budget.
    """

    def __init__(self, service: DunningService, workers: int) -> None:
        self._service = service
        self._workers = workers

    def send(self, items: Sequence[tuple[str, str]]) -> dict[str, int]:
        from concurrent.futures import ThreadPoolExecutor

        from chalicelib.logs import log_error

        def work(item: tuple[str, str]) -> str:
            try:
                return self._service.process(*item).value
            except Exception:  # one bad charge must not stop the others (SQS: redelivered)
                log_error("retry.worker_failed", account_id=item[0], charge_id=item[1])
                return WorkerResult.UNAVAILABLE.value

        report = DispatchReport(due=len(items))
        with ThreadPoolExecutor(max_workers=self._workers) as pool:
            for result in pool.map(work, items):
                setattr(report, result, getattr(report, result) + 1)
        return asdict(report)
