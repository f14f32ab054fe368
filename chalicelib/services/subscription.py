"""Plan and seat changes of a paying account: preview, change, the scheduled downgrade.

The rules (what is an upgrade, how the proration is computed and rounded) are in
:mod:`chalicelib.domain.plans`; this service applies them:

* **preview** builds, without storing anything, the invoice an upgrade would issue now and the
  next renewal's invoice, with the VAT decided as for every invoice
  (:func:`~chalicelib.services.invoicing.snapshot_tax_facts`);
* **change**: an upgrade is issued and charged at once through the path every payment takes
  (:meth:`BillingService.issue` stores the invoice with its proration lines and its claimed
  charge, purpose ``change``, and the account's ``pending_change`` in one transaction;
  :class:`~chalicelib.services.settlement.Settlement` sends the attempt and owns the
  outcome: paid, the account is on the new plan and seats; declined, the invoice and charge
  are void and the account is as it was).  While the change's charge is in flight the account
  carries it (``pending_change``) and every other change answers 409 ``payment_in_progress``;
  so does a change while any charge is being processed.  A downgrade is stored as the
  account's ``scheduled_change`` (the renewals job bills the next period with it) and can be
  withdrawn; both are mailed (``change_scheduled``, ``change_withdrawn``: the renewal date,
  the plan and seats then and what the renewal will charge) in the commit that makes them.
  ``Idempotency-Key``: the answer is stored with the outcome and a repeat returns it, moving
  no money.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime, timedelta

from msgspec import Struct

from chalicelib.config import Plan, Settings
from chalicelib.domain.account import (
    Account,
    AccountChange,
    AccountStatus,
    AuditEvent,
    Caller,
    Marker,
    MarkerKind,
    OutboxMail,
)
from chalicelib.domain.billing import ChargePurpose, ChargeState, Invoice, InvoiceLine
from chalicelib.domain.errors import (
    ConcurrentUpdate,
    Conflict,
    DependencyUnavailable,
    InvalidInput,
)
from chalicelib.domain.payments import CardDeclined, DeclineInfo, PaymentGatewayUnavailable
from chalicelib.domain.plans import (
    ChangeKind,
    LineKind,
    PlanChange,
    Priced,
    ProrationLine,
    Quote,
    check_seats,
    quote_change,
)
from chalicelib.i18n import format_date_long, format_money, translate
from chalicelib.i18n.invoices import plan_label
from chalicelib.logs import log_event
from chalicelib.services.billing import BillingService
from chalicelib.services.mail import billing_mail
from chalicelib.services.payment_ports import PaymentGateway
from chalicelib.services.ports import BillingRepository, Clock
from chalicelib.services.settlement import Result, Settlement

IDEMPOTENCY_TTL = timedelta(hours=24)


class Amounts(Struct, frozen=True):
    net: int
    tax: int
    total: int
    currency: str


class PreviewLine(Struct, frozen=True):
    kind: LineKind
    description: str
    quantity: int
    unit_amount: int
    amount: int
    plan: str
    seats: int
    period_start: datetime
    period_end: datetime


class Preview(Struct, frozen=True):
    kind: ChangeKind
    now: Amounts
    renewal_at: datetime
    renewal: Amounts
    lines: tuple[PreviewLine, ...]
    plan: str  # what the account is on after the change (now, or at the renewal)
    seats: int


class Changed(Struct, frozen=True):
    kind: ChangeKind
    account: Account
    invoice_id: str | None = None


def priced(plan: Plan, seats: int) -> Priced:
    return Priced(plan.id, plan.interval, plan.amount, plan.per_seat, seats, plan.currency)


def seats_text(seats: int, locale: str) -> str:
    return (
        translate("seats.one", locale) if seats == 1 else translate("seats.many", locale, n=seats)
    )


class SubscriptionService:
    def __init__(
        self,
        repo: BillingRepository,
        gateway: Callable[[], PaymentGateway],
        clock: Clock,
        settings: Settings,
        billing: BillingService,
        settlement: Settlement,
    ) -> None:
        self._repo = repo
        self._gateway_factory = gateway
        self._clock = clock
        self._settings = settings
        self._billing = billing
        self._settlement = settlement

    # --- the target and the quote -----------------------------------------------------------
    def _plan(self, plan_id: str | None) -> Plan:
        plan = self._settings.plan(plan_id or "")
        if plan is None:
            raise InvalidInput("unknown_plan", fields={"plan": "unknown_plan"})
        return plan

    def _quote(
        self, account: Account, plan_id: str | None, seats: int | None, now: datetime
    ) -> tuple[Plan, Plan, int, Quote]:
        """The current plan, the target plan and seats, and what the change does."""
        if account.status is not AccountStatus.ACTIVE or account.next_renewal_at is None:
            raise Conflict("not_allowed_in_status")
        if account.cancel_at is not None:
            raise Conflict("cancellation_scheduled")
        current = self._plan(account.plan)
        target = self._plan(plan_id or account.plan)
        count = account.seats if seats is None else seats
        check_seats(count)
        if target.currency != current.currency:
            raise InvalidInput("currency_mismatch", fields={"plan": "currency_mismatch"})
        end = account.next_renewal_at
        if end <= now:
            raise Conflict("renewal_due")  # the renewals job bills it first
        start = account.current_period_start(current.interval)
        assert start is not None
        quote = quote_change(priced(current, account.seats), priced(target, count), start, end, now)
        return current, target, count, quote

    def _lines(self, quote: Quote, locale: str) -> tuple[InvoiceLine, ...]:
        """The invoice lines of an upgrade, in ``locale`` (EN 16931: a credit is a negative
        quantity at a positive unit price)."""
        lines = []
        for line in quote.lines:
            description = self._describe(line, locale)
            sign = -1 if line.amount < 0 else 1
            lines.append(InvoiceLine(description, sign, abs(line.amount), line.amount))
        return tuple(lines)

    def _describe(self, line: ProrationLine, locale: str) -> str:
        plan = self._settings.plan(line.plan_id)
        return translate(
            f"line.{line.kind.value}",
            locale,
            plan=plan_label(line.plan_id, locale, plan.name if plan else line.plan_id),
            seats=seats_text(line.seats, locale),
            start=format_date_long(line.start, locale),
            end=format_date_long(line.end, locale),
        )

    def _draft(
        self,
        account: Account,
        plan: Plan,
        start: datetime,
        seats: int,
        lines: tuple[InvoiceLine, ...] | None = None,
        end: datetime | None = None,
    ) -> Invoice:
        """An invoice as it would be issued now (never stored): its VAT as any invoice's."""
        invoice, _ = self._billing.new_invoice(
            account,
            plan,
            start,
            self._clock.now(),
            0,
            ChargePurpose.CHANGE,
            seats=seats,
            lines=lines,
            end=end,
        )
        return invoice

    # --- preview ----------------------------------------------------------------------------
    def preview(
        self, caller: Caller, plan_id: str | None, seats: int | None, locale: str
    ) -> Preview:
        account = caller.account
        now = self._clock.now()
        current, target, count, quote = self._quote(account, plan_id, seats, now)
        currency = current.currency
        zero = Amounts(0, 0, 0, currency)
        now_amounts = zero
        lines: tuple[PreviewLine, ...] = ()
        if quote.kind is ChangeKind.IMMEDIATE and quote.now_amount > 0:
            invoice_lines = self._lines(quote, locale)
            draft = self._draft(
                account, target, quote.period_start, count, invoice_lines, quote.period_end
            )
            now_amounts = Amounts(draft.subtotal, draft.tax.amount, draft.total, currency)
            lines = tuple(
                PreviewLine(
                    p.kind,
                    il.description,
                    il.quantity,
                    il.unit_amount,
                    il.amount,
                    p.plan_id,
                    p.seats,
                    p.start,
                    p.end,
                )
                for p, il in zip(quote.lines, invoice_lines, strict=True)
            )
        if quote.kind is ChangeKind.NONE:
            scheduled = account.scheduled_change
            renewal_plan = self._plan(scheduled.plan) if scheduled else current
            renewal_seats = scheduled.seats if scheduled else account.seats
        else:
            renewal_plan, renewal_seats = target, count
        renewal = self._draft(account, renewal_plan, quote.renewal_at, renewal_seats)
        return Preview(
            kind=quote.kind,
            now=now_amounts,
            renewal_at=quote.renewal_at,
            renewal=Amounts(renewal.subtotal, renewal.tax.amount, renewal.total, currency),
            lines=lines,
            plan=renewal_plan.id,
            seats=renewal_seats,
        )

    # --- change -----------------------------------------------------------------------------
    def change(
        self,
        caller: Caller,
        plan_id: str | None,
        seats: int | None,
        idempotency_key: str | None = None,
    ) -> Changed:
        """Apply a change (see the module docstring)."""
        account = caller.account
        charges, _, stored = self._repo.payable(account.id, _answer_key(idempotency_key))
        if stored is not None:
            return self._replay(stored, account)
        if account.pending_change is not None or any(
            c.state is not ChargeState.PENDING for c in charges
        ):
            raise Conflict("payment_in_progress")
        now = self._clock.now()
        current, target, count, quote = self._quote(account, plan_id, seats, now)
        marker = self._marker(account, idempotency_key, now)
        if quote.kind is ChangeKind.NONE:
            if account.scheduled_change is None:
                raise Conflict("nothing_to_change")
            # back to what it is now: the scheduled downgrade is withdrawn
            return Changed(ChangeKind.NONE, self._withdraw(caller))
        details = {"plan": target.id, "seats": str(count), "from_plan": current.id}
        details["from_seats"] = str(account.seats)
        if quote.kind is ChangeKind.SCHEDULED:
            updated = account.evolve(scheduled_change=PlanChange(target.id, count))
            answer = marker("scheduled")
            mail = self._change_mail(updated, "change_scheduled", target, count, now)
            return Changed(
                ChangeKind.SCHEDULED,
                self._commit(caller, updated, "change_scheduled", details, answer, (mail,)),
            )
        if quote.now_amount == 0:  # rounding left nothing to charge: applied as is
            updated = account.evolve(
                plan=target.id,
                seats=count,
                scheduled_change=None,
                next_renewal_at=quote.renewal_at,
                period_started_at=(
                    quote.period_start
                    if quote.renewal_at != account.next_renewal_at
                    else account.period_started_at
                ),
            )
            answer = marker("changed")
            return Changed(
                ChangeKind.IMMEDIATE,
                self._commit(caller, updated, "plan_changed", details, answer),
            )
        return self._upgrade(caller, target, count, quote, details, idempotency_key)

    def _upgrade(
        self,
        caller: Caller,
        target: Plan,
        count: int,
        quote: Quote,
        details: dict[str, str],
        idempotency_key: str | None,
    ) -> Changed:
        account = caller.account
        if account.payment_method_id is None or account.customer_id is None:
            raise InvalidInput("no_card")
        now = self._clock.now()
        if account.card is not None:
            account.card.check_usable(now)
        try:
            issued, invoice, charge = self._billing.issue(
                account,
                target,
                quote.period_start,
                purpose=ChargePurpose.CHANGE,
                on_session=True,
                account_changes={"pending_change": PlanChange(target.id, count)},
                seats=count,
                lines=self._lines(quote, account.locale),
                end=quote.period_end,
            )
        except ConcurrentUpdate:
            fresh = self._repo.get_account(account.id)
            if fresh is not None and fresh.pending_change is not None:
                raise Conflict("payment_in_progress") from None
            raise Conflict() from None
        assert charge.attempt is not None
        result = self._settlement.send(charge.attempt, account.customer_id, account.id)
        succeeded = result.kind is Result.SUCCEEDED
        answer: tuple[Marker, ...] = ()
        if idempotency_key and result.kind in (Result.SUCCEEDED, Result.DECLINED):
            failure = None if succeeded else result.failure
            answer = self._marker(account, idempotency_key, now)(
                "changed" if succeeded else "declined", failure
            )
        applied = self._settlement.apply(
            issued,
            [charge],
            [invoice],
            result,
            attempt=charge.attempt,
            customer_present=True,
            open_elsewhere=False,
            markers=answer,
            audit=(
                AuditEvent(
                    account.id,
                    now,
                    "plan_changed" if succeeded else "plan_change_failed",
                    ip=caller.ip,
                    details={**details, "outcome": result.kind.value, "invoice": invoice.number},
                ),
            ),
        )
        log_event("billing.plan_change", account_id=account.id, outcome=result.kind.value)
        if succeeded:
            return Changed(ChangeKind.IMMEDIATE, applied.account, invoice.id)
        if result.kind is Result.UNKNOWN:
            raise DependencyUnavailable("payment_outcome_unknown")
        if result.kind in (Result.UNAVAILABLE, Result.NOT_FOUND):
            raise PaymentGatewayUnavailable(reason="connection")
        raise CardDeclined(result.failure, payment_intent_id=result.payment_intent_id)

    def cancel_scheduled_change(self, caller: Caller) -> Account:
        """Withdraw the downgrade scheduled for the renewal."""
        if caller.account.scheduled_change is None or caller.account.next_renewal_at is None:
            raise Conflict("no_scheduled_change")
        return self._withdraw(caller)

    def _withdraw(self, caller: Caller) -> Account:
        """The scheduled downgrade withdrawn, with its mail (the plan and seats kept)."""
        account = caller.account
        updated = account.evolve(scheduled_change=None)
        plan = self._plan(account.plan)
        now = self._clock.now()
        mail = self._change_mail(updated, "change_withdrawn", plan, account.seats, now)
        return self._commit(caller, updated, "change_withdrawn", mails=(mail,))

    def _change_mail(
        self, account: Account, template: str, plan: Plan, seats: int, now: datetime
    ) -> OutboxMail:
        """``change_scheduled`` / ``change_withdrawn``: the renewal date, the plan and seats
        billed then, and what the renewal will charge (VAT included, as its invoice)."""
        renewal = account.next_renewal_at
        assert renewal is not None
        locale = account.locale
        invoice = self._draft(account, plan, renewal, seats)
        return billing_mail(
            account,
            template,
            now,
            self._settings.console_url,
            plan=plan_label(plan.id, locale, plan.name),
            seats=seats_text(seats, locale),
            date=format_date_long(renewal, locale),
            amount=format_money(invoice.total, invoice.currency, locale),
        )

    # --- helpers ----------------------------------------------------------------------------
    def _commit(
        self,
        caller: Caller,
        updated: Account,
        event: str,
        details: dict[str, str] | None = None,
        markers: tuple[Marker, ...] = (),
        mails: tuple[OutboxMail, ...] = (),
    ) -> Account:
        account = caller.account
        try:
            self._repo.commit(
                AccountChange(
                    account=updated,
                    expected_version=account.version,
                    markers=markers,
                    mails=mails,
                    audit=(
                        AuditEvent(
                            account.id,
                            self._clock.now(),
                            event,
                            ip=caller.ip,
                            details=details or {},
                        ),
                    ),
                )
            )
        except ConcurrentUpdate:
            raise Conflict() from None
        log_event(f"billing.{event}", account_id=account.id, ip=caller.ip)
        return updated

    def _marker(
        self, account: Account, key: str | None, now: datetime
    ) -> Callable[..., tuple[Marker, ...]]:
        """Builds the stored answer of ``key`` (none without a key)."""

        def build(kind: str, failure: DeclineInfo | None = None) -> tuple[Marker, ...]:
            if not key:
                return ()
            data: dict[str, object] = {"kind": kind}
            if failure is not None:
                data.update(
                    code=failure.code,
                    decline_code=failure.decline_code,
                    advice_code=failure.advice_code,
                )
            return (
                Marker(
                    MarkerKind.IDEMPOTENCY,
                    _answer_key(key) or "",
                    json.dumps(data),
                    expires_at=now + IDEMPOTENCY_TTL,
                    account_id=account.id,
                ),
            )

        return build

    def _replay(self, stored: str, account: Account) -> Changed:
        data = json.loads(stored)
        if data["kind"] == "declined":
            raise CardDeclined(DeclineInfo(data["code"], data["decline_code"], data["advice_code"]))
        kind = ChangeKind.SCHEDULED if data["kind"] == "scheduled" else ChangeKind.IMMEDIATE
        return Changed(kind, account)


def _answer_key(key: str | None) -> str | None:
    """Keys of this route live beside those of "apply pending charges" without colliding."""
    return f"subscription:{key}" if key else None
