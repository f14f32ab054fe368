"""Settlement: the one owner of what a payment attempt's outcome does.

Every path that moves money (subscribe, renewals, "apply pending charges", the scheduled
retries, the reconciliation of lost answers, webhooks) goes through this module twice:

1. :meth:`Settlement.send` makes (or replays, or looks up) one stored :class:`Attempt` and
   turns whatever happened into a typed :class:`GatewayResult` (:class:`Result`): within the
   request budget toward Stripe, backing off with jitter on 429s.  A replay of an attempt
   whose answer was lost uses the stored key while it is under 24 hours old (Stripe answers
   with the first result); after that the PaymentIntent is looked up by the attempt's
   metadata (:meth:`PaymentGateway.find_attempt`), and a lookup that finds nothing means the
   request never reached Stripe (``not_found``).  Never a second key for a live attempt.
2. :meth:`Settlement.apply` turns that result into **one** :class:`AccountChange` (charges,
   invoices and their transactions, the account's status and period, the one mail the
   customer gets, the caller's markers and audit) and commits it.  When the account or a
   charge changed meanwhile (a profile edit, a card change, a concurrent webhook) it re-reads
   them and applies the same result again to what is there now (forward only: a settled
   charge is never settled twice).

The rules, each in one place:

* success: the charges and invoices are paid, a receipt is mailed; a ``subscribe`` charge makes
  the account ``active`` on the invoice's plan and period, a ``restart`` charge (a suspended
  account paying) starts a new period from the time it pays, and a ``past_due`` or
  ``suspended`` account with nothing else owed is ``active`` again;
* decline (and an authentication request the customer is not there to answer): a charge
  that is no longer with the account's card (the card changed while the attempt was in
  flight) is due again at once and nothing is mailed; otherwise the charge goes back to
  pending with its next retry (soft) or with retries stopped and a suspension date
  (``HARD_DECLINE_GRACE_DAYS``), an ``active`` account becomes ``past_due`` (``suspended``
  when the soft schedule is exhausted), a revocation stops the renewal too, and the customer
  is mailed the guidance and the suspension date (not for an answer given to them on the
  spot, nor twice for the same stopped failure).  A declined first payment's invoice is
  credited in full (a credit note, ``services.credit_notes.credit_in_full``, never a void);
* unknown: due at once for the next retry run, nothing else; but a suspended account whose
  payment to restart is in doubt is served (``active``, for that invoice's period) while it
  is: the customer may have paid.  Its decline, answered later, suspends it again (a restart
  that fails is never retried automatically), and is mailed;
* unavailable (nothing reached Stripe) and not found: the charge is put back (a first payment
  is void and its invoice credited, the customer having been told or mailed).
"""

from __future__ import annotations

import enum
import hashlib
import random
import time
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta

from msgspec import Struct, field
from msgspec.structs import replace

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
    ChargePurpose,
    ChargeState,
    Invoice,
    Transaction,
    TransactionStatus,
    transaction_for,
)
from chalicelib.domain.credit_notes import CreditReason
from chalicelib.domain.errors import ConcurrentUpdate, MarkerExists
from chalicelib.domain.payments import (
    ChargeOutcome,
    DeclineClass,
    DeclineInfo,
    PaymentGatewayUnavailable,
    PaymentMethodInvalid,
    PaymentOutcomeUnknown,
)
from chalicelib.logs import log_event
from chalicelib.services.credit_notes import credit_in_full
from chalicelib.services.mail import payment_mail, suspension_mail
from chalicelib.services.payment_ports import PaymentGateway
from chalicelib.services.ports import BillingRepository, Clock
from chalicelib.services.rate_limit import TokenBucket

RATE_LIMIT_RETRIES = 3
UNAVAILABLE_RETRY = timedelta(hours=1)
COMMIT_RETRIES = 5
AUTHENTICATION = DeclineInfo("authentication_required", "authentication_required")
NOT_PROCESSED = DeclineInfo("processing_error", "processing_error")
# the card on file is gone at Stripe (detached or deleted): it will not work again
CARD_GONE = DeclineInfo("card_declined", "invalid_account")


class Result(enum.StrEnum):
    SUCCEEDED = "succeeded"
    DECLINED = "declined"
    REQUIRES_ACTION = "requires_action"  # on-session: the customer authenticates in Stripe.js
    UNKNOWN = "unknown"  # the answer was lost (or Stripe has not settled it yet)
    UNAVAILABLE = "unavailable"  # the request was not processed
    NOT_FOUND = "not_found"  # looked up after the key expired: no PaymentIntent exists


# one log line (and metric, ``logs.METRIC_EVENTS``) per outcome, spelled out so that the
# packaging test can check every metric filter against the events the code writes
CHARGE_EVENTS: dict[Result, str] = {
    Result.SUCCEEDED: "charge.succeeded",
    Result.DECLINED: "charge.declined",
    Result.REQUIRES_ACTION: "charge.requires_action",
    Result.UNKNOWN: "charge.unknown",
    Result.UNAVAILABLE: "charge.unavailable",
    Result.NOT_FOUND: "charge.not_found",
}


class GatewayResult(Struct, frozen=True):
    kind: Result
    outcome: ChargeOutcome | None = None

    @property
    def payment_intent_id(self) -> str | None:
        return self.outcome.payment_intent_id if self.outcome else None

    @property
    def failure(self) -> DeclineInfo:
        if self.outcome is not None and self.outcome.failure is not None:
            return self.outcome.failure
        return NOT_PROCESSED if self.kind is Result.NOT_FOUND else AUTHENTICATION


class Applied(Struct, frozen=True):
    """What :meth:`Settlement.apply` committed."""

    change: AccountChange
    account: Account  # the account after the change
    charges: tuple[Charge, ...]  # the charges after the change
    retry_now: bool = False  # declined with a card that is no longer the account's


class _Draft(Struct):
    charges: list[tuple[Charge, int | None]] = field(default_factory=list)
    invoices: list[tuple[Invoice, int | None]] = field(default_factory=list)
    mails: list[OutboxMail] = field(default_factory=list)
    account: Account | None = None
    retry_now: bool = False
    credit: set[str] = field(default_factory=set)  # invoices to credit in full (first payment)


def attempt_key(charges: Sequence[Charge]) -> str:
    """The key of the next attempt on ``charges`` (numbered from their attempts)."""
    if len(charges) == 1:
        return f"charge:{charges[0].id}:attempt:{charges[0].attempts + 1}"
    digest = hashlib.sha256(
        ",".join(f"{c.id}:{c.attempts + 1}" for c in sorted(charges, key=lambda c: c.id)).encode()
    ).hexdigest()[:40]
    return f"charges:{digest}"


class Settlement:
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
        self.limiter = limiter or TokenBucket(settings.stripe_request_budget)
        self.sleep = sleep

    # --- attempts -------------------------------------------------------------------------
    def new_attempt(
        self,
        account: Account,
        charges: Sequence[Charge],
        *,
        on_session: bool,
        description: str,
    ) -> Attempt:
        assert account.payment_method_id is not None
        return Attempt(
            key=attempt_key(charges),
            charge_ids=tuple(c.id for c in charges),
            amount=sum(c.amount for c in charges),
            currency=charges[0].currency,
            payment_method_id=account.payment_method_id,
            on_session=on_session,
            created_at=self._clock.now(),
            description=description,
        )

    @staticmethod
    def legacy_attempt(charge: Charge, account: Account) -> Attempt | None:
        """The attempt of a charge stored before attempts were (its key was derived the same
        way), so that it can be reconciled like any other."""
        if account.payment_method_id is None or charge.attempts < 1:
            return None
        return Attempt(
            key=charge.idempotency_key(),
            charge_ids=(charge.id,),
            amount=charge.amount,
            currency=charge.currency,
            payment_method_id=account.payment_method_id,
            on_session=False,
            created_at=charge.created_at,
        )

    # --- the gateway --------------------------------------------------------------------
    def send(  # noqa: PLR0911 - settlement.py is being changed (credit branch)
        self, attempt: Attempt, customer_id: str, account_id: str, *, replay: bool = False
    ) -> GatewayResult:
        """Make ``attempt`` (or replay it: ``replay`` when it may have reached Stripe before)."""
        gateway = self._gateway_factory()
        if replay and attempt.key_expired(self._clock.now()):
            return self._look_up(gateway, attempt, customer_id)
        for retry in range(RATE_LIMIT_RETRIES + 1):
            self.limiter.acquire()
            try:
                outcome = gateway.charge(
                    customer_id,
                    attempt.payment_method_id,
                    attempt.amount,
                    attempt.currency,
                    idempotency_key=attempt.key,
                    description=attempt.description or "HelpDesk subscription",
                    metadata={
                        "account_id": account_id,
                        "charge_ids": ",".join(attempt.charge_ids),
                        "attempt_key": attempt.key,
                    },
                    off_session=not attempt.on_session,
                )
            except PaymentOutcomeUnknown:
                return GatewayResult(Result.UNKNOWN)
            except PaymentMethodInvalid:
                # refused before any money moved: a hard decline (a new card is needed), so one
                # account's missing card never stops a job run for the others
                return GatewayResult(Result.DECLINED, ChargeOutcome("declined", failure=CARD_GONE))
            except PaymentGatewayUnavailable as error:
                if error.reason == "rate_limited" and retry < RATE_LIMIT_RETRIES:
                    self.sleep(random.uniform(0.5, 1.5) * 2**retry)  # noqa: S311 - jitter
                    continue
                # a replay not processed says nothing about the first request
                return GatewayResult(Result.UNKNOWN if replay else Result.UNAVAILABLE)
            result = _result_of(outcome, attempt)
            if replay and result.kind is Result.UNKNOWN and outcome.payment_intent_id:
                # the first answer was "processing": Stripe replays it; ask for the state now
                return self._find(gateway, outcome.payment_intent_id, attempt)
            return result
        return GatewayResult(Result.UNKNOWN if replay else Result.UNAVAILABLE)

    def _find(self, gateway: PaymentGateway, intent_id: str, attempt: Attempt) -> GatewayResult:
        self.limiter.acquire()
        try:
            return _result_of(gateway.find_payment(intent_id), attempt)
        except PaymentGatewayUnavailable:
            return GatewayResult(Result.UNKNOWN)

    def _look_up(
        self, gateway: PaymentGateway, attempt: Attempt, customer_id: str
    ) -> GatewayResult:
        self.limiter.acquire()
        try:
            found = gateway.find_attempt(customer_id, attempt.key, attempt.charge_ids)
        except PaymentGatewayUnavailable:
            return GatewayResult(Result.UNKNOWN)
        log_event("charge.looked_up", key=attempt.key, found=found is not None)
        if found is None:
            return GatewayResult(Result.NOT_FOUND)
        return _result_of(found, attempt)

    # --- outcomes -----------------------------------------------------------------------
    def apply(  # noqa: PLR0913 - settlement.py is being changed (credit branch)
        self,
        account: Account,
        charges: Sequence[Charge],
        invoices: Sequence[Invoice],
        result: GatewayResult,
        *,
        attempt: Attempt | None,
        customer_present: bool,
        open_elsewhere: bool | None = None,
        markers: tuple[Marker, ...] = (),
        audit: tuple[AuditEvent, ...] = (),
    ) -> Applied:
        """Commit what ``result`` means for ``charges`` (see the module docstring).

        ``open_elsewhere``: whether the account owes other charges (None: read it when it
        matters).  Raises MarkerExists when one of ``markers`` is taken (a duplicate event).
        """
        ids = {c.id for c in charges}
        for _ in range(COMMIT_RETRIES):
            live = [c for c in charges if _applies(c, result, attempt)]
            elsewhere = open_elsewhere
            if elsewhere is None and result.kind is Result.SUCCEEDED and live:
                elsewhere = any(
                    c.id not in ids for c in self._repo.open_charges(account.id) if c.is_open
                )
            draft = self._draft(
                account,
                live,
                invoices,
                result,
                attempt=attempt,
                customer_present=customer_present,
                open_elsewhere=bool(elsewhere),
            )
            # a first payment that failed: its invoice is credited, never voided
            credits = credit_in_full(
                self._repo,
                [(i, v) for i, v in draft.invoices if i.id in draft.credit],
                CreditReason.FIRST_PAYMENT_FAILED,
                self._clock.now(),
            )
            change = AccountChange(
                account=draft.account,
                expected_version=account.version if draft.account else None,
                charges=tuple(draft.charges),
                invoices=(
                    *credits.invoices,
                    *((i, v) for i, v in draft.invoices if i.id not in draft.credit),
                ),
                credit_notes=credits.credit_notes,
                credit_counter=credits.counter if credits.credit_notes else None,
                mails=tuple(draft.mails),
                markers=markers,
                audit=audit,
            )
            try:
                if _writes_anything(change):
                    self._repo.commit(change)
            except MarkerExists:
                raise
            except ConcurrentUpdate:
                account, charges, invoices = self._reread(account.id, ids)
                open_elsewhere = None
                continue
            self._log(account.id, live, result)
            after = {c.id: c for c, _ in draft.charges}
            return Applied(
                change=change,
                account=draft.account or account,
                charges=tuple(after.get(c.id, c) for c in charges),
                retry_now=draft.retry_now,
            )
        raise ConcurrentUpdate()

    def _reread(
        self, account_id: str, ids: set[str]
    ) -> tuple[Account, list[Charge], list[Invoice]]:
        fresh = self._repo.get_account(account_id)
        if fresh is None:
            raise ConcurrentUpdate()
        charges = [self._repo.get_charge(account_id, i) for i in sorted(ids)]
        found = [c for c in charges if c is not None]
        invoices = self._repo.invoices_by_id(account_id, [c.invoice_id for c in found])
        return fresh, found, invoices

    def _draft(
        self,
        account: Account,
        charges: Sequence[Charge],
        invoices: Sequence[Invoice],
        result: GatewayResult,
        *,
        attempt: Attempt | None,
        customer_present: bool,
        open_elsewhere: bool,
    ) -> _Draft:
        draft = _Draft()
        if not charges:
            return draft
        kind = result.kind
        if kind is Result.REQUIRES_ACTION and not customer_present:
            kind = Result.DECLINED  # nobody is there to authenticate: tell them instead
        if kind is Result.SUCCEEDED:
            self._succeeded(draft, account, charges, invoices, result, open_elsewhere)
        elif kind in (Result.DECLINED, Result.REQUIRES_ACTION):
            self._declined(draft, account, charges, invoices, result, attempt, customer_present)
        elif kind is Result.UNKNOWN:
            now = self._clock.now()
            draft.charges = [(c.unknown(now), c.version) for c in charges]
            restart = _restart_in_doubt(account, charges, invoices)
            if restart is not None:  # the customer may have paid: served from now
                draft.account = account.evolve(
                    status=AccountStatus.ACTIVE,
                    next_renewal_at=restart.period_end,
                    period_started_at=restart.period_start,
                )
        else:  # unavailable, not found: nothing happened at Stripe
            self._not_charged(draft, account, charges, invoices, result, customer_present)
        return draft

    def _tx(
        self,
        charge: Charge,
        status: TransactionStatus,
        result: GatewayResult,
        account: Account,
        failure: DeclineInfo | None = None,
    ) -> Transaction:
        card = (result.outcome.card if result.outcome else None) or account.card
        return transaction_for(
            charge.id,
            self._clock.now(),
            charge.amount,
            status,
            card,
            failure=failure,
            failure_key=failure.guidance.message_key if failure else None,
            payment_intent_id=result.payment_intent_id,
        )

    def _succeeded(
        self,
        draft: _Draft,
        account: Account,
        charges: Sequence[Charge],
        invoices: Sequence[Invoice],
        result: GatewayResult,
        open_elsewhere: bool,
    ) -> None:
        by_id = {i.id: i for i in invoices}
        paid: list[Invoice] = []
        for charge in charges:
            draft.charges.append((charge.paid(result.payment_intent_id), charge.version))
            invoice = by_id.get(charge.invoice_id)
            if invoice is not None:
                tx = self._tx(charge, TransactionStatus.SUCCEEDED, result, account)
                draft.invoices.append((invoice.paid(tx), invoice.version))
                paid.append(invoice)
        purposes = {c.purpose for c in charges}
        latest = max(paid, key=lambda i: i.period_end) if paid else None
        status = account.status
        if latest is not None and (
            (ChargePurpose.SUBSCRIBE in purposes and status.can_subscribe)
            or ChargePurpose.RESTART in purposes
        ):
            draft.account = account.evolve(
                status=AccountStatus.ACTIVE,
                plan=latest.plan_id,
                next_renewal_at=latest.period_end,
                period_started_at=latest.period_start,
                trial_ends_at=None,
                subscribe_charge_id=None,
            )
        elif (
            latest is not None
            and account.pending_change is not None
            and account.pending_change.charge_id in {c.id for c in charges}
        ):  # an upgrade paid: the new plan and seats from now (domain.plans)
            new_period = latest.period_end != account.next_renewal_at  # a longer interval
            draft.account = account.evolve(
                plan=account.pending_change.plan,
                seats=account.pending_change.seats,
                pending_change=None,
                scheduled_change=None,
                next_renewal_at=latest.period_end,
                period_started_at=(
                    latest.period_start if new_period else account.period_started_at
                ),
            )
        elif status in (AccountStatus.PAST_DUE, AccountStatus.SUSPENDED) and not open_elsewhere:
            renewal = account.next_renewal_at or (latest.period_end if latest else None)
            draft.account = account.evolve(status=AccountStatus.ACTIVE, next_renewal_at=renewal)
        elif account.subscribe_charge_id in {c.id for c in charges}:
            draft.account = account.evolve(subscribe_charge_id=None)
        mailed = paid or list(invoices)
        if mailed:
            draft.mails.append(self._payment_mail(draft.account or account, mailed))

    def _declined(  # noqa: C901, PLR0912, PLR0915, PLR0917 - settlement.py is being changed (credit branch)
        self,
        draft: _Draft,
        account: Account,
        charges: Sequence[Charge],
        invoices: Sequence[Invoice],
        result: GatewayResult,
        attempt: Attempt | None,
        customer_present: bool,
    ) -> None:
        now = self._clock.now()
        by_id = {i.id: i for i in invoices}
        failure = result.failure
        guidance = failure.guidance
        tx_status = (
            TransactionStatus.REQUIRES_ACTION
            if result.kind is Result.REQUIRES_ACTION
            else TransactionStatus.FAILED
        )
        first_payment = all(c.purpose.void_on_failure for c in charges)
        if first_payment:  # no subscription (or upgrade) without its payment: credit, as issued
            for charge in charges:
                voided = replace(charge.void(), last_failure=failure)
                draft.charges.append((voided, charge.version))
                invoice = by_id.get(charge.invoice_id)
                if invoice is not None:
                    tx = self._tx(charge, tx_status, result, account, failure)
                    draft.invoices.append((invoice.with_transaction(tx), invoice.version))
                    draft.credit.add(invoice.id)
            if account.subscribe_charge_id is not None or _upgrade_of(account, charges):
                draft.account = account.evolve(**_in_flight_cleared(account, charges))
            if not customer_present and draft.invoices:
                draft.mails.append(
                    self._payment_mail(
                        account, [i for i, _ in draft.invoices], guidance.message_key
                    )
                )
            return
        stale_card = (
            attempt is not None
            and account.payment_method_id is not None
            and attempt.payment_method_id != account.payment_method_id
        )
        # a suspended account's payment to restart that failed (answered late: the account
        # was served while it was in doubt) leaves it suspended, never retried automatically
        restart = any(c.purpose is ChargePurpose.RESTART for c in charges)
        suspended = account.status is AccountStatus.SUSPENDED or restart
        declined: list[Charge] = []
        for charge in charges:
            invoice = by_id.get(charge.invoice_id)
            if invoice is not None:
                tx = self._tx(charge, tx_status, result, account, failure)
                draft.invoices.append((invoice.with_transaction(tx), invoice.version))
            if stale_card:  # the old card's answer: try the new card at once, tell nobody
                after = replace(
                    charge.put_back(now),
                    next_retry_at=now,
                    payment_intent_id=charge.payment_intent_id,
                )
                draft.charges.append((after, charge.version))
                continue
            after = charge.declined(
                failure,
                now,
                schedule_days=self._settings.retry_schedule_days,
                grace=timedelta(days=self._settings.hard_decline_grace_days),
                payment_intent_id=result.payment_intent_id,
                suspended=suspended,
            )
            draft.charges.append((after, charge.version))
            declined.append(after)
        if stale_card:
            draft.retry_now = True
            return
        status = account.status
        changes: dict[str, object] = {}
        if restart and status is not AccountStatus.SUSPENDED:
            changes["status"] = AccountStatus.SUSPENDED
        elif status is AccountStatus.ACTIVE:
            changes["status"] = AccountStatus.PAST_DUE
        if status in (AccountStatus.ACTIVE, AccountStatus.PAST_DUE) and any(
            c.schedule_exhausted() for c in declined
        ):
            changes["status"] = AccountStatus.SUSPENDED
        if guidance.decline_class is DeclineClass.REVOKED and account.next_renewal_at:
            changes["next_renewal_at"] = None  # the cardholder stopped recurring payments
        if changes:
            draft.account = account.evolve(**changes)
        repeated = any(
            c.retries_stopped and c.last_failure_key == guidance.message_key for c in charges
        )
        after_account = draft.account or account
        now_suspended = (
            after_account.status is AccountStatus.SUSPENDED
            and account.status is not AccountStatus.SUSPENDED
        )
        # the customer paying gets the answer on the spot; a suspension is always mailed
        if draft.invoices and (now_suspended or (not customer_present and not repeated)):
            suspends = None
            if after_account.status is not AccountStatus.SUSPENDED:
                dates = [d for c in declined if (d := c.suspends_at(self._schedule)) is not None]
                suspends = min(dates) if dates else None
            draft.mails.append(
                self._payment_mail(
                    after_account,
                    [i for i, _ in draft.invoices],
                    guidance.message_key,
                    suspends_at=suspends,
                    suspended=now_suspended,
                )
            )

    def _not_charged(
        self,
        draft: _Draft,
        account: Account,
        charges: Sequence[Charge],
        invoices: Sequence[Invoice],
        result: GatewayResult,
        customer_present: bool,
    ) -> None:
        now = self._clock.now()
        by_id = {i.id: i for i in invoices}
        voided: list[Invoice] = []
        for charge in charges:
            if charge.purpose.void_on_failure:
                if result.kind is Result.UNAVAILABLE and not customer_present:
                    draft.charges.append((charge.unknown(now), charge.version))
                    continue  # still in doubt: the next run asks again
                draft.charges.append((charge.void(), charge.version))
                invoice = by_id.get(charge.invoice_id)
                if invoice is not None:
                    draft.invoices.append((invoice, invoice.version))
                    draft.credit.add(invoice.id)
                    voided.append(invoice)
                continue
            retry_at = now if result.kind is Result.NOT_FOUND else now + UNAVAILABLE_RETRY
            if charge.next_retry_at is not None and charge.next_retry_at > now:
                retry_at = min(retry_at, charge.next_retry_at)
            back = charge.put_back(retry_at)
            if account.status is AccountStatus.SUSPENDED:  # never retried automatically
                back = replace(back, retries_stopped=True, suspend_at=None)
            draft.charges.append((back, charge.version))
        if voided and (account.subscribe_charge_id is not None or _upgrade_of(account, charges)):
            draft.account = account.evolve(**_in_flight_cleared(account, charges))
        if voided and not customer_present:  # they were told "unknown": tell them the end
            draft.mails.append(
                self._payment_mail(account, voided, NOT_PROCESSED.guidance.message_key)
            )

    # --- suspension after the grace period ------------------------------------------------
    def suspend_after_grace(self, account: Account, charge: Charge) -> bool:
        """A stopped charge's grace period is over: suspend the account (unless it is no longer
        active or past due) with one mail.  True when the account was suspended."""
        now = self._clock.now()
        if charge.suspend_at is None or charge.suspend_at > now:
            return False
        suspend = account.status in (AccountStatus.ACTIVE, AccountStatus.PAST_DUE)
        invoices = self._repo.invoices_by_id(account.id, [charge.invoice_id]) if suspend else []
        change = AccountChange(
            account=account.evolve(status=AccountStatus.SUSPENDED) if suspend else None,
            expected_version=account.version if suspend else None,
            charges=((charge.suspension_done(), charge.version),),
            mails=(
                suspension_mail(account, invoices, now=now, console_url=self._settings.console_url),
            )
            if suspend and invoices
            else (),
        )
        self._repo.commit(change)
        if suspend:
            log_event("account.suspended", account_id=account.id, charge_id=charge.id)
        return suspend

    # --- helpers --------------------------------------------------------------------------
    @property
    def _schedule(self) -> tuple[int, ...]:
        return self._settings.retry_schedule_days

    def _payment_mail(
        self,
        account: Account,
        invoices: Sequence[Invoice],
        failure_key: str | None = None,
        *,
        suspends_at: datetime | None = None,
        suspended: bool = False,
    ) -> OutboxMail:
        return payment_mail(
            account,
            invoices,
            now=self._clock.now(),
            console_url=self._settings.console_url,
            failure_key=failure_key,
            suspends_at=suspends_at,
            suspended=suspended,
        )

    @staticmethod
    def _log(account_id: str, charges: Sequence[Charge], result: GatewayResult) -> None:
        if not charges:
            return
        failure = result.outcome.failure if result.outcome else None
        log_event(
            CHARGE_EVENTS[result.kind],
            account_id=account_id,
            charge_ids=[c.id for c in charges],
            amount=sum(c.amount for c in charges),
            code=failure.code if failure else None,
            decline_code=failure.decline_code if failure else None,
            decline_class=failure.guidance.decline_class.value if failure else None,
        )


def _result_of(outcome: ChargeOutcome, attempt: Attempt) -> GatewayResult:
    if outcome.status == "succeeded":
        return GatewayResult(Result.SUCCEEDED, outcome)
    if outcome.status == "declined":
        return GatewayResult(Result.DECLINED, outcome)
    if outcome.status == "requires_action":
        if not attempt.on_session:
            return GatewayResult(Result.DECLINED, replace(outcome, failure=AUTHENTICATION))
        return GatewayResult(Result.REQUIRES_ACTION, outcome)
    return GatewayResult(Result.UNKNOWN, outcome)


def _applies(charge: Charge, result: GatewayResult, attempt: Attempt | None) -> bool:
    """Forward only: money that moved settles any open charge; every other answer only the
    charges still waiting for this very attempt."""
    if not charge.is_open:
        return False
    if result.kind is Result.SUCCEEDED:
        return True
    if attempt is None:
        return False
    if charge.state is ChargeState.PENDING:
        return False  # put back or settled by someone else meanwhile
    return charge.attempt is None or charge.attempt.key == attempt.key


def _restart_in_doubt(
    account: Account, charges: Sequence[Charge], invoices: Sequence[Invoice]
) -> Invoice | None:
    """The invoice of a suspended account's payment to restart whose outcome is unknown (the
    answer lost): the customer may have paid, so the account is served from now for that
    invoice's period, as a subscribe or a renewal in doubt keeps its access (the outcome,
    when known, confirms it or suspends the account again)."""
    if account.status is not AccountStatus.SUSPENDED:
        return None
    by_id = {i.id: i for i in invoices}
    for charge in charges:
        if charge.purpose is ChargePurpose.RESTART and charge.invoice_id in by_id:
            return by_id[charge.invoice_id]
    return None


def _writes_anything(change: AccountChange) -> bool:
    return bool(change.account or change.charges or change.markers or change.audit)


def _upgrade_of(account: Account, charges: Sequence[Charge]) -> bool:
    """One of ``charges`` pays the account's upgrade in flight."""
    change = account.pending_change
    return change is not None and change.charge_id in {c.id for c in charges}


def _in_flight_cleared(account: Account, charges: Sequence[Charge]) -> dict[str, object]:
    """The first payment or the upgrade in flight forgotten: it did not happen."""
    changes: dict[str, object] = {}
    if account.subscribe_charge_id is not None:
        changes["subscribe_charge_id"] = None
    if _upgrade_of(account, charges):
        changes["pending_change"] = None
    return changes
