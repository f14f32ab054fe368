"""Billing use cases: the card on file, the billing address, subscribing, renewals, invoices.

Money moves exactly once:

1. the invoice (numbered from the gapless yearly counter) and its :class:`Charge` record are
   committed in one transaction *before* Stripe is called, the charge already ``processing``;
2. Stripe is called with the charge's idempotency key (``charge:<id>:attempt:<n>``);
3. the outcome is committed in one transaction (invoice status and transaction, charge state,
   account status, mail).

A lost answer (timeout after sending) leaves the charge ``unknown``: it is reconciled with
the same key, never charged anew.  A renewal moves ``next_renewal_at`` forward in the same
transaction that issues its invoice, so running the job twice never bills a period twice.

Plan amounts are net; VAT (see ``domain.vat_rates``) is added on the invoice.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from dateutil.relativedelta import relativedelta

from chalicelib.config import Plan, Settings
from chalicelib.domain.account import (
    Account,
    AccountChange,
    AccountStatus,
    AuditEvent,
    Marker,
    OutboxMail,
)
from chalicelib.domain.billing import (
    Address,
    Charge,
    ChargeState,
    Invoice,
    InvoiceLine,
    InvoiceStatus,
    Party,
    Tax,
    invoice_number,
    new_invoice_id,
    transaction_for,
)
from chalicelib.domain.errors import (
    ConcurrentUpdate,
    Conflict,
    CounterMoved,
    DependencyUnavailable,
    InvalidInput,
    NotFound,
)
from chalicelib.domain.payments import (
    CardDeclined,
    CardSummary,
    ChargeOutcome,
    DeclineInfo,
    PaymentGatewayUnavailable,
    PaymentOutcomeUnknown,
    check_payment_method_id,
)
from chalicelib.domain.vat_rates import tax_for
from chalicelib.logs import log_event
from chalicelib.services.auth import Caller
from chalicelib.services.invoicing import evidence_audit, snapshot_tax_facts
from chalicelib.services.mail import payment_mail
from chalicelib.services.payment_ports import PaymentGateway
from chalicelib.services.ports import BillingRepository, Clock

LEASE = timedelta(minutes=15)  # longer than any Lambda timeout
FIRST_RETRY = timedelta(days=1)
UNAVAILABLE_RETRY = timedelta(hours=1)
PAYING_STATUSES = (AccountStatus.ACTIVE, AccountStatus.PAST_DUE, AccountStatus.SUSPENDED)


@dataclass(frozen=True)
class CardChanges:
    exp_month: int | None = None
    exp_year: int | None = None
    name: str | None = None
    postal_code: str | None = None
    country: str | None = None
    line1: str | None = None
    city: str | None = None


@dataclass
class RenewalReport:
    renewed: int = 0
    failed: int = 0
    unknown: int = 0
    skipped: int = 0
    details: list[str] = field(default_factory=list)


def period_end(start: datetime, interval: str) -> datetime:
    return start + (relativedelta(years=1) if interval == "year" else relativedelta(months=1))


class BillingService:
    def __init__(
        self,
        repo: BillingRepository,
        gateway: Callable[[], PaymentGateway],
        clock: Clock,
        settings: Settings,
    ) -> None:
        self._repo = repo
        self._gateway_factory = gateway
        self._clock = clock
        self._settings = settings

    @property
    def _gateway(self) -> PaymentGateway:
        return self._gateway_factory()

    # --- reads ------------------------------------------------------------------------------
    def pending_charges(self, account_id: str) -> list[Charge]:
        return self._repo.open_charges(account_id)

    def invoices(
        self, caller: Caller, limit: int, after: str | None
    ) -> tuple[list[Invoice], str | None]:
        return self._repo.list_invoices(caller.account.id, limit, after)

    def invoice(self, caller: Caller, invoice_id: str) -> Invoice:
        invoice = self._repo.get_invoice(caller.account.id, invoice_id)
        if invoice is None:
            raise NotFound("invoice_not_found")
        return invoice

    # --- address and card --------------------------------------------------------------------
    def _commit_account(
        self,
        account: Account,
        updated: Account,
        event: str,
        ip: str,
        markers: tuple[Marker, ...] = (),
    ) -> Account:
        try:
            self._repo.commit(
                AccountChange(
                    account=updated,
                    expected_version=account.version,
                    audit=(AuditEvent(account.id, self._clock.now(), event, ip=ip),),
                    markers=markers,
                )
            )
        except ConcurrentUpdate:
            raise Conflict() from None
        log_event(f"billing.{event}", account_id=account.id, ip=ip)
        return updated

    def set_address(self, caller: Caller, address: Address) -> tuple[Account, bool]:
        """Store the billing address; True when the VAT ID had to be set aside (its country no
        longer matches the billing country)."""
        from chalicelib.services.vat import CLEARED_VAT, vat_still_applies

        account = caller.account
        keep = vat_still_applies(account, address.country)
        changes = {} if keep else CLEARED_VAT
        updated = self._commit_account(
            account,
            account.evolve(billing_address=address, **changes),
            "address_updated",
            caller.ip,
        )
        return updated, not keep

    def set_card(self, caller: Caller, payment_method_id: str) -> Account:
        """Attach a PaymentMethod made by Stripe.js and make it the card charged from now on."""
        check_payment_method_id(payment_method_id)
        account = caller.account
        customer_id = account.customer_id or self._gateway.create_customer(
            account.id, account.email, account.name, idempotency_key=f"customer:{account.id}"
        )
        card = self._gateway.attach_card(customer_id, payment_method_id)
        updated = account.evolve(
            customer_id=customer_id, payment_method_id=payment_method_id, card=card
        )
        # the webhook learns the account of a Stripe customer from this marker
        marker = (
            ()
            if account.customer_id
            else (Marker("CUSTOMER", customer_id, account.id, unique=False),)
        )
        return self._commit_account(account, updated, "card_replaced", caller.ip, marker)

    def edit_card(self, caller: Caller, changes: CardChanges) -> Account:
        """Edit the expiry and billing details of the card on file."""
        account = caller.account
        if account.payment_method_id is None or account.card is None:
            raise NotFound("no_card")
        month = changes.exp_month if changes.exp_month is not None else account.card.exp_month
        year = changes.exp_year if changes.exp_year is not None else account.card.exp_year
        now = self._clock.now()
        if (year, month) < (now.year, now.month):
            raise InvalidInput("card_expired", fields={"exp_year": "card_expired"})
        card = self._gateway.update_card(
            account.payment_method_id,
            exp_month=changes.exp_month,
            exp_year=changes.exp_year,
            name=changes.name,
            postal_code=changes.postal_code,
            country=changes.country,
            line1=changes.line1,
            city=changes.city,
        )
        return self._commit_account(account, account.evolve(card=card), "card_edited", caller.ip)

    # --- invoices -----------------------------------------------------------------------------
    def _seller(self) -> Party:
        s = self._settings
        return Party(
            name=s.vendor_name,
            vat_id=s.vendor_vat_number,
            email=s.vendor_support_email,
            address=Address(
                name=s.vendor_name,
                line1=s.vendor_address_line1,
                city=s.vendor_city,
                postal_code=s.vendor_postal_code,
                country=s.vendor_country,
            ),
        )

    def _new_invoice(
        self, account: Account, plan: Plan, start: datetime, now: datetime, sequence: int
    ) -> tuple[Invoice, Charge]:
        end = period_end(start, plan.interval)
        country = account.billing_address.country if account.billing_address else account.country
        decision = tax_for(
            seller_country=self._settings.vendor_country,
            customer_country=country,
            customer_vat_status=account.vat_status,
            on=now.date(),
        )
        tax_amount = decision.tax_on(plan.amount)
        invoice_id = new_invoice_id(now)
        invoice = Invoice(
            id=invoice_id,
            account_id=account.id,
            number=invoice_number(now.year, sequence),
            status=InvoiceStatus.OPEN,
            issued_at=now,
            period_start=start,
            period_end=end,
            currency=plan.currency,
            lines=(
                InvoiceLine(
                    description=plan.name, quantity=1, unit_amount=plan.amount, amount=plan.amount
                ),
            ),
            subtotal=plan.amount,
            tax=Tax(
                rate=format(decision.rate.normalize(), "f"),
                amount=tax_amount,
                reverse_charge=decision.reverse_charge,
                mention_key=decision.mention,
            ),
            total=plan.amount + tax_amount,
            customer=Party(
                name=account.billing_address.name if account.billing_address else account.name,
                address=account.billing_address,
                email=account.email,
                vat_id=account.vat_id,
            ),
            seller=self._seller(),
            plan_id=plan.id,
        )
        invoice = snapshot_tax_facts(invoice, account, self._settings)  # tax facts, seller ids
        charge = Charge(
            id=invoice_id,
            account_id=account.id,
            invoice_id=invoice_id,
            amount=invoice.total,
            currency=invoice.currency,
            state=ChargeState.PROCESSING,
            created_at=now,
            attempts=1,
            lease_until=now + LEASE,
        )
        return invoice, charge

    def _issue(
        self, account: Account, updated: Account, plan: Plan, start: datetime
    ) -> tuple[Invoice, Charge]:
        """Number and store a new invoice with its charge (and the account change) at once."""
        now = self._clock.now()
        counter = f"invoice#{now.year}"
        for _ in range(20):
            sequence = self._repo.counter_value(counter)
            invoice, charge = self._new_invoice(account, plan, start, now, sequence + 1)
            try:
                self._repo.commit(
                    AccountChange(
                        account=updated,
                        expected_version=account.version,
                        invoices=((invoice, None),),
                        charges=((charge, None),),
                        counter=(counter, sequence),
                        audit=evidence_audit(invoice, now),
                    )
                )
            except CounterMoved:
                continue
            return invoice, charge
        raise DependencyUnavailable()

    def _attempt(
        self, account: Account, invoice: Invoice, charge: Charge, off_session: bool
    ) -> ChargeOutcome:
        assert account.customer_id and account.payment_method_id
        return self._gateway.charge(
            account.customer_id,
            account.payment_method_id,
            charge.amount,
            charge.currency,
            idempotency_key=charge.idempotency_key(),
            description=f"HelpDesk invoice {invoice.number}",
            metadata={"account_id": account.id, "invoice_id": invoice.id, "charge_ids": charge.id},
            off_session=off_session,
        )

    def _paid(
        self, invoice: Invoice, charge: Charge, outcome: ChargeOutcome, card: CardSummary | None
    ) -> tuple[tuple[Invoice, int], tuple[Charge, int]]:
        now = self._clock.now()
        tx = transaction_for(
            charge.id,
            now,
            charge.amount,
            "succeeded",
            outcome.card or card,
            payment_intent_id=outcome.payment_intent_id,
        )
        paid_invoice = invoice.evolve(
            status=InvoiceStatus.PAID, transactions=(*invoice.transactions, tx)
        )
        paid_charge = charge.evolve(
            state=ChargeState.PAID,
            lease_until=None,
            next_retry_at=None,
            payment_intent_id=outcome.payment_intent_id,
        )
        return (paid_invoice, invoice.version), (paid_charge, charge.version)

    def _failed_tx(
        self,
        invoice: Invoice,
        charge: Charge,
        failure: DeclineInfo,
        card: CardSummary | None,
        status: str = "failed",
    ) -> Invoice:
        tx = transaction_for(
            charge.id,
            self._clock.now(),
            charge.amount,
            status,
            card,
            failure=failure,
            failure_key=failure.guidance.message_key,
        )
        return invoice.evolve(transactions=(*invoice.transactions, tx))

    # --- subscribe ------------------------------------------------------------------------------
    def subscribe(self, caller: Caller, plan_id: str) -> Account:
        """Turn a trial into a paid subscription, charging the first period at once."""
        plan = self._settings.plan(plan_id)
        if plan is None:
            raise InvalidInput("unknown_plan", fields={"plan": "unknown_plan"})
        account = caller.account
        if account.status in PAYING_STATUSES:
            raise Conflict("already_subscribed")
        if not account.status.can_subscribe:  # a trial, running or ended (trial_expired)
            raise Conflict("not_allowed_in_status")
        if account.payment_method_id is None or account.customer_id is None:
            raise InvalidInput("no_card")
        now = self._clock.now()
        issued_account = account.evolve()
        try:
            invoice, charge = self._issue(account, issued_account, plan, now)
        except ConcurrentUpdate:
            raise Conflict() from None  # a concurrent change (or a second subscribe) won
        try:
            outcome = self._attempt(account, invoice, charge, off_session=False)
        except PaymentOutcomeUnknown:
            self._repo.commit(
                AccountChange(charges=((charge.evolve(state=ChargeState.UNKNOWN), charge.version),))
            )
            log_event("charge.unknown", account_id=account.id, charge_id=charge.id)
            raise DependencyUnavailable("payment_outcome_unknown") from None
        except PaymentGatewayUnavailable:
            self._void(invoice, charge)
            raise
        if outcome.status == "succeeded":
            invoice_write, charge_write = self._paid(invoice, charge, outcome, account.card)
            current = issued_account
            for _ in range(5):  # the money moved: record it even if the profile changed meanwhile
                active = current.evolve(
                    status=AccountStatus.ACTIVE,
                    plan=plan.id,
                    next_renewal_at=invoice.period_end,
                    trial_ends_at=None,
                )
                try:
                    self._repo.commit(
                        AccountChange(
                            account=active,
                            expected_version=current.version,
                            invoices=(invoice_write,),
                            charges=(charge_write,),
                            mails=(self._mail(active, invoice),),
                            audit=(
                                AuditEvent(
                                    account.id,
                                    now,
                                    "subscribed",
                                    ip=caller.ip,
                                    details={"plan": plan.id},
                                ),
                            ),
                        )
                    )
                    break
                except ConcurrentUpdate:
                    fresh = self._repo.get_account(account.id)
                    if fresh is None or fresh.version == current.version:
                        raise
                    current = fresh
            log_event(
                "charge.succeeded",
                account_id=account.id,
                charge_id=charge.id,
                amount=charge.amount,
                currency=charge.currency,
            )
            return active
        failure = outcome.failure or DeclineInfo("authentication_required")
        voided = self._failed_tx(invoice, charge, failure, account.card).evolve(
            status=InvoiceStatus.VOID
        )
        self._repo.commit(
            AccountChange(
                invoices=((voided, invoice.version),),
                charges=(
                    (
                        charge.evolve(
                            state=ChargeState.VOID, lease_until=None, last_failure=failure
                        ),
                        charge.version,
                    ),
                ),
            )
        )
        log_event(
            "charge.declined",
            account_id=account.id,
            charge_id=charge.id,
            code=failure.code,
            decline_code=failure.decline_code,
        )
        raise CardDeclined(failure, payment_intent_id=outcome.payment_intent_id)

    def _void(self, invoice: Invoice, charge: Charge) -> None:
        self._repo.commit(
            AccountChange(
                invoices=((invoice.evolve(status=InvoiceStatus.VOID), invoice.version),),
                charges=(
                    (charge.evolve(state=ChargeState.VOID, lease_until=None), charge.version),
                ),
            )
        )

    def run_renewals(self, limit: int = 1000) -> RenewalReport:
        """Issue and charge every renewal that is due (the ``renewals`` job)."""
        report = RenewalReport()
        now = self._clock.now()
        for stale in self._repo.due_renewals(now, limit):
            account = self._repo.get_account(stale.id)
            if (
                account is None
                or account.status is not AccountStatus.ACTIVE
                or account.next_renewal_at is None
                or account.next_renewal_at > now
            ):
                report.skipped += 1
                continue
            try:
                self._renew(account, report)
            except ConcurrentUpdate:
                report.skipped += 1  # someone else moved it: the next run sees the new state
        return report

    def _renew(self, account: Account, report: RenewalReport) -> None:
        plan = self._settings.plan(account.plan or "")
        assert account.next_renewal_at is not None
        if plan is None or account.payment_method_id is None:
            report.skipped += 1
            report.details.append(f"{account.id}: no plan or no card")
            return
        start = account.next_renewal_at
        moved = account.evolve(next_renewal_at=period_end(start, plan.interval))
        invoice, charge = self._issue(account, moved, plan, start)
        try:
            outcome = self._attempt(account, invoice, charge, off_session=True)
        except PaymentOutcomeUnknown:
            self._repo.commit(
                AccountChange(charges=((charge.evolve(state=ChargeState.UNKNOWN), charge.version),))
            )
            report.unknown += 1
            return
        except PaymentGatewayUnavailable:
            outcome = None
        now = self._clock.now()
        if outcome is not None and outcome.status == "succeeded":
            invoice_write, charge_write = self._paid(invoice, charge, outcome, account.card)
            self._repo.commit(
                AccountChange(
                    invoices=(invoice_write,),
                    charges=(charge_write,),
                    mails=(self._mail(moved, invoice),),
                )
            )
            log_event(
                "charge.succeeded",
                account_id=account.id,
                charge_id=charge.id,
                amount=charge.amount,
                currency=charge.currency,
            )
            report.renewed += 1
            return
        if outcome is None:  # Stripe unreachable: not a decline, try again soon
            pending = charge.evolve(
                state=ChargeState.PENDING, lease_until=None, next_retry_at=now + UNAVAILABLE_RETRY
            )
            self._repo.commit(AccountChange(charges=((pending, charge.version),)))
            report.failed += 1
            return
        failure = outcome.failure or DeclineInfo("authentication_required")
        guidance = failure.guidance
        pending = charge.evolve(
            state=ChargeState.PENDING,
            lease_until=None,
            first_failed_at=now,
            next_retry_at=now + FIRST_RETRY,
            retries_stopped=guidance.hard,
            last_failure=failure,
            last_failure_key=guidance.message_key,
            payment_intent_id=outcome.payment_intent_id,
        )
        failed_invoice = self._failed_tx(invoice, charge, failure, account.card)
        for _ in range(5):
            current = self._repo.get_account(account.id)
            assert current is not None
            past_due = (
                current.evolve(status=AccountStatus.PAST_DUE)
                if (current.status is AccountStatus.ACTIVE)
                else current
            )
            try:
                self._repo.commit(
                    AccountChange(
                        account=past_due,
                        expected_version=current.version,
                        invoices=((failed_invoice, invoice.version),),
                        charges=((pending, charge.version),),
                        mails=(self._mail(current, invoice, guidance.message_key),),
                    )
                )
                break
            except ConcurrentUpdate:
                continue
        log_event(
            "charge.declined",
            account_id=account.id,
            charge_id=charge.id,
            code=failure.code,
            decline_code=failure.decline_code,
            hard=guidance.hard,
        )
        report.failed += 1

    def _mail(
        self, account: Account, invoice: Invoice, failure_key: str | None = None
    ) -> OutboxMail:
        return payment_mail(
            account,
            [invoice],
            now=self._clock.now(),
            console_url=self._settings.console_url,
            failure_key=failure_key,
        )
