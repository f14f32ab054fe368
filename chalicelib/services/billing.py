"""Billing use cases: the card on file, the billing address, subscribing, renewals, invoices.

Money moves exactly once:

1. the invoice (numbered from the gapless yearly counter, bumped in the same transaction) and
   its :class:`Charge` record, already claimed (``processing``) with its :class:`Attempt` and
   key stored, are committed in one transaction *before* Stripe is called;
2. :class:`~chalicelib.services.settlement.Settlement` sends the attempt and commits what its
   outcome means (the same code as every other money path).

One subscription per account: subscribing stores the charge's id on the account
(``subscribe_charge_id``) in that transaction, conditional on the account's version, and
answers 409 ``payment_in_progress`` while it is set (the first payment processing or being
reconciled: a lost answer is never followed by a second charge).  A renewal moves
``next_renewal_at`` forward in the same transaction that issues its invoice, so running the
job twice never bills a period twice, and a renewal date more than one period in the past
starts a new period now instead of billing the missed ones.

Plan amounts are net; VAT (see ``domain.vat_rates``) is added on the invoice.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from typing import TYPE_CHECKING

from msgspec import Struct, field
from msgspec.structs import replace

from chalicelib.config import Plan, Settings
from chalicelib.domain.account import (
    Account,
    AccountChange,
    AccountStatus,
    AuditEvent,
    Caller,
    Marker,
    MarkerKind,
)
from chalicelib.domain.billing import (
    Address,
    Charge,
    ChargePurpose,
    ChargeState,
    Invoice,
    InvoiceLine,
    InvoiceStatus,
    Party,
    Tax,
    invoice_number,
    new_invoice_id,
)
from chalicelib.domain.credit_notes import CreditReason
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
    PaymentGatewayUnavailable,
    check_payment_method_id,
)
from chalicelib.domain.plans import PlanChange, check_seats, period_end
from chalicelib.logs import log_event
from chalicelib.services.credit_notes import credit_in_full
from chalicelib.services.invoicing import (
    Price,
    evidence_audit,
    price_for_account,
    snapshot_tax_facts,
)
from chalicelib.services.payment_ports import PaymentGateway
from chalicelib.services.ports import BillingRepository, Clock
from chalicelib.services.settlement import Result, Settlement

if TYPE_CHECKING:
    from chalicelib.services.dunning import PayResult

PAYING_STATUSES = (AccountStatus.ACTIVE, AccountStatus.PAST_DUE, AccountStatus.SUSPENDED)
ISSUE_RETRIES = 20


class CardChanges(Struct, frozen=True):
    exp_month: int | None = None
    exp_year: int | None = None
    name: str | None = None
    postal_code: str | None = None
    country: str | None = None
    line1: str | None = None
    city: str | None = None


class CardReplaced(Struct, frozen=True):
    """A new card on file; ``pending`` is what is still owed once the account's open charges
    were retried with it (None when the account owed nothing: it is not past due)."""

    account: Account
    pending: list[Charge] | None = None


RetryNow = Callable[[Caller, tuple[Sequence[Charge], Sequence[Invoice]]], "PayResult | None"]


class RenewalReport(Struct):
    renewed: int = 0
    failed: int = 0
    unknown: int = 0
    skipped: int = 0
    details: list[str] = field(default_factory=list)


class BillingService:
    def __init__(
        self,
        repo: BillingRepository,
        gateway: Callable[[], PaymentGateway],
        clock: Clock,
        settings: Settings,
        settlement: Settlement | None = None,
        retry_now: Callable[[], RetryNow] | None = None,
    ) -> None:
        self._repo = repo
        self._gateway_factory = gateway
        self._clock = clock
        self._settings = settings
        self._settlement = settlement or Settlement(repo, gateway, clock, settings)
        # dunning's "pay the pending charges now" (it builds on this service: given lazily)
        self._retry_now = retry_now

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

    def start_card_setup(self, caller: Caller) -> str:
        """Start saving a card the console's way: a SetupIntent (``usage=off_session``) for
        the account's Stripe customer (made now if it has none, and kept with the marker the
        webhook reads); its client_secret.  Stripe.js confirms it with the card and the
        resulting PaymentMethod comes back through :meth:`replace_card`."""
        account = caller.account
        customer_id = account.customer_id
        if customer_id is None:
            customer_id = self._gateway.create_customer(
                account.id, account.email, account.name, idempotency_key=f"customer:{account.id}"
            )
            self._commit_account(
                account,
                account.evolve(customer_id=customer_id),
                "customer_created",
                caller.ip,
                markers=(Marker(MarkerKind.CUSTOMER, customer_id, account.id, unique=False),),
            )
        return self._gateway.create_card_setup(customer_id)

    def set_card(self, caller: Caller, payment_method_id: str) -> Account:
        """Attach a PaymentMethod made by Stripe.js (see :meth:`replace_card`)."""
        return self.replace_card(caller, payment_method_id).account

    def replace_card(self, caller: Caller, payment_method_id: str) -> CardReplaced:
        """Attach a PaymentMethod made by Stripe.js and make it the card charged from now on.

        What the account owes is due again at once with it, in the same transaction: the old
        card's failures no longer apply, stopped retries resume and no suspension is pending.
        A charge claimed right now keeps its claim; its holder sees the new card when it
        records the answer and, if the old card was declined, tries the new one at once.
        A past-due or suspended account's charges are then retried at once with the new card
        (the customer is present); what is still owed comes back in ``pending``.
        """
        updated, owed, invoices = self._attach(caller, payment_method_id)
        if updated.status not in (AccountStatus.PAST_DUE, AccountStatus.SUSPENDED):
            return CardReplaced(updated)
        if self._retry_now is None:  # no dunning wired (a bare service): due at once anyway
            return CardReplaced(updated, self.pending_charges(updated.id))
        result = self._retry_now()(replace(caller, account=updated), (owed, invoices))
        if result is None:
            # not tried yet (a claim is held, or Stripe is down): the charges are due at once
            # and carry no failure of the old card (the attach cleared it)
            return CardReplaced(updated, self.pending_charges(updated.id))
        return CardReplaced(result.account or updated, list(result.pending))

    def _attach(
        self, caller: Caller, payment_method_id: str
    ) -> tuple[Account, list[Charge], list[Invoice]]:
        check_payment_method_id(payment_method_id)
        account = caller.account
        customer_id = account.customer_id or self._gateway.create_customer(
            account.id, account.email, account.name, idempotency_key=f"customer:{account.id}"
        )
        card = self._gateway.attach_card(customer_id, payment_method_id)
        # Stripe accepts an expired card on attach; the renewal would decline it (the card
        # stays attached to the Stripe customer but is never made the card on file here)
        card.check_usable(self._clock.now())
        # (returns what the account owes after the change, with its open invoices, read in
        # the same Query: "retried at once" then needs no second read)
        updated = account.evolve(
            customer_id=customer_id, payment_method_id=payment_method_id, card=card
        )
        # the webhook learns the account of a Stripe customer from this marker
        marker = (
            ()
            if account.customer_id
            else (Marker(MarkerKind.CUSTOMER, customer_id, account.id, unique=False),)
        )
        owing = account.status in (AccountStatus.PAST_DUE, AccountStatus.SUSPENDED)
        now = self._clock.now()
        for _ in range(5):
            charges, invoices, _ = self._repo.payable(account.id, None) if owing else ([], [], None)
            changed = [c.card_changed(now) for c in charges]
            change = AccountChange(
                account=updated,
                expected_version=account.version,
                charges=tuple(zip(changed, [c.version for c in charges], strict=True)),
                audit=(AuditEvent(account.id, now, "card_replaced", ip=caller.ip),),
                markers=marker,
            )
            try:
                self._repo.commit(change)
            except ConcurrentUpdate:
                fresh = self._repo.get_account(account.id)
                if fresh is None or fresh.version != account.version or not charges:
                    raise Conflict() from None
                continue  # a charge moved meanwhile (claimed or settled): read them again
            log_event("billing.card_replaced", account_id=account.id, ip=caller.ip)
            return updated, changed, invoices
        raise Conflict()

    def edit_card(self, caller: Caller, changes: CardChanges) -> Account:
        """Edit the expiry and billing details of the card on file."""
        account = caller.account
        if account.payment_method_id is None or account.card is None:
            raise NotFound("no_card")
        month = changes.exp_month if changes.exp_month is not None else account.card.exp_month
        year = changes.exp_year if changes.exp_year is not None else account.card.exp_year
        replace(account.card, exp_month=month, exp_year=year).check_usable(self._clock.now())
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

    def new_invoice(  # noqa: PLR0913, PLR0917 - one invoice's facts; the last three optional
        self,
        account: Account,
        plan: Plan,
        start: datetime,
        now: datetime,
        sequence: int,
        purpose: ChargePurpose,
        seats: int | None = None,
        lines: tuple[InvoiceLine, ...] | None = None,
        end: datetime | None = None,
    ) -> tuple[Invoice, Charge]:
        """A numbered invoice for one period of ``plan`` from ``start`` (for the account's
        seats, or ``seats``) and its charge (pending: the caller claims it).  ``lines`` and
        ``end``: another invoice than a whole period (an upgrade's proration lines)."""
        end = end or period_end(start, plan.interval)
        count = account.seats if seats is None else seats
        quantity = count if plan.per_seat else 1
        lines = lines or (
            InvoiceLine(
                description=plan.name,
                quantity=quantity,
                unit_amount=plan.amount,
                amount=plan.amount * quantity,
            ),
        )
        subtotal = sum(line.amount for line in lines)
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
            lines=lines,
            subtotal=subtotal,
            # the VAT is decided once, by ``snapshot_tax_facts`` below (``domain.tax.decide``)
            tax=Tax(rate="0", amount=0, reverse_charge=False),
            total=subtotal,
            customer=Party(
                name=account.billing_address.name if account.billing_address else account.name,
                address=account.billing_address,
                email=account.email,
                vat_id=account.vat_id,
            ),
            seller=self._seller(),
            plan_id=plan.id,
        )
        invoice = snapshot_tax_facts(invoice, account, self._settings)  # VAT, tax facts, seller
        charge = Charge(
            id=invoice_id,
            account_id=account.id,
            invoice_id=invoice_id,
            amount=invoice.total,
            currency=invoice.currency,
            state=ChargeState.PENDING,
            created_at=now,
            purpose=purpose,
        )
        return invoice, charge

    def issue(  # noqa: PLR0913 - the one issuing path; every option is keyword-only
        self,
        account: Account,
        plan: Plan,
        start: datetime,
        *,
        purpose: ChargePurpose,
        on_session: bool,
        account_changes: dict[str, object] | None = None,
        also: AccountChange | None = None,
        credit: tuple[Invoice, ...] = (),
        withdrawal_waived_at: datetime | None = None,
        seats: int | None = None,
        lines: tuple[InvoiceLine, ...] | None = None,
        end: datetime | None = None,
    ) -> tuple[Account, Invoice, Charge]:
        """Number and store a new invoice with its charge already claimed (attempt and key
        stored), and the account change, in one transaction: the number is taken from the
        counter in that same transaction (conditional on its value), so numbers never repeat
        and never skip.  ``also``: charges to write in it too (voided ones); ``credit``: open
        invoices credited in full in it (``period_replaced``), numbered from their own
        counter read in the same loop."""
        now = self._clock.now()
        counter = f"invoice#{now.year}"
        for _ in range(ISSUE_RETRIES):
            sequence = self._repo.counter_value(counter)
            invoice, charge = self.new_invoice(
                account, plan, start, now, sequence + 1, purpose, seats, lines, end
            )
            if withdrawal_waived_at is not None:  # the consent is kept on the invoice too
                invoice = replace(invoice, withdrawal_waived_at=withdrawal_waived_at)
            attempt = self._settlement.new_attempt(
                account,
                [charge],
                on_session=on_session,
                description=f"HelpDesk invoice {invoice.number}",
            )
            claimed = charge.claim(attempt, now)
            changes = dict(account_changes or {})
            if purpose is ChargePurpose.SUBSCRIBE:
                changes["subscribe_charge_id"] = charge.id
            pending = changes.get("pending_change")
            if purpose is ChargePurpose.CHANGE and isinstance(pending, PlanChange):
                changes["pending_change"] = replace(pending, charge_id=charge.id)
            updated = account.evolve(**changes)
            credits = credit_in_full(
                self._repo, [(i, i.version) for i in credit], CreditReason.PERIOD_REPLACED, now
            )
            try:
                self._repo.commit(
                    AccountChange(
                        account=updated,
                        expected_version=account.version,
                        invoices=(
                            (invoice, None),
                            *(also.invoices if also else ()),
                            *credits.invoices,
                        ),
                        charges=((claimed, None), *(also.charges if also else ())),
                        counter=(counter, sequence),
                        credit_notes=credits.credit_notes,
                        credit_counter=credits.counter if credits.credit_notes else None,
                        # support finds an invoice by its id alone (refunds)
                        markers=(Marker(MarkerKind.INVOICE, invoice.id, account.id, unique=False),),
                        audit=(*evidence_audit(invoice, now), *(also.audit if also else ())),
                    )
                )
            except CounterMoved:
                continue
            return updated, invoice, claimed
        raise DependencyUnavailable()

    # --- subscribe ------------------------------------------------------------------------------
    def price(self, account: Account, plan: Plan, seats: int = 1) -> Price:
        """What ``account`` pays for one period of ``plan`` for ``seats`` now (net, VAT,
        total): the plan's amount, times the seats when it is priced per seat."""
        net = plan.period_amount(seats)
        return price_for_account(net, account, self._settings, self._clock.now().date())

    def subscribe(
        self,
        caller: Caller,
        plan_id: str,
        *,
        seats: int | None = None,
        expected_total: int | None = None,
        withdrawal_consent: bool = False,
    ) -> Account:
        """Turn a trial into a paid subscription, charging the first period at once.

        ``seats``: the agent seats subscribed (default the account's; bounds as a plan
        change's, ``domain.plans.check_seats``); a per-seat plan's period costs its amount
        times the seats.  They are stored on the account with the charge (a declined first
        payment leaves the trial with them as the next attempt's default; nothing is charged).
        ``expected_total``: the amount (VAT included, for those seats) the customer confirmed;
        409 ``price_changed`` when the price to pay now is another (nothing is charged).
        ``withdrawal_consent``: an EU consumer asks for the service to start at once and
        waives the 14-day right of withdrawal; recorded on the first invoice and in the
        audit trail (without it, the right of withdrawal is kept)."""
        plan = self._settings.plan(plan_id)
        if plan is None:
            raise InvalidInput("unknown_plan", fields={"plan": "unknown_plan"})
        account = caller.account
        count = account.seats if seats is None else seats
        check_seats(count)
        self._check_can_subscribe(account)
        if account.payment_method_id is None or account.customer_id is None:
            raise InvalidInput("no_card")
        now = self._clock.now()
        if account.card is not None:
            account.card.check_usable(now)  # expired since it was saved: nothing is charged
        price = self.price(account, plan, count)
        if expected_total is not None and expected_total != price.total:
            raise Conflict(
                "price_changed",
                fields={"expected_total": "price_changed"},
                extra={"price": price.as_dict(plan.currency)},
            )
        waived = now if withdrawal_consent and price.eu_consumer else None
        consent = (
            AccountChange(
                audit=(
                    AuditEvent(
                        account.id,
                        now,
                        "withdrawal_right_waived",
                        ip=caller.ip,
                        details={
                            "plan": plan.id,
                            "seats": str(count),
                            "text": "withdrawal.consent_text",
                            "locale": account.locale,
                            "total": str(price.total),
                        },
                    ),
                )
            )
            if waived
            else None
        )
        try:
            issued, invoice, charge = self.issue(
                account,
                plan,
                now,
                purpose=ChargePurpose.SUBSCRIBE,
                on_session=True,
                account_changes={"seats": count} if count != account.seats else None,
                also=consent,
                withdrawal_waived_at=waived,
                seats=count,
            )
        except ConcurrentUpdate:
            fresh = self._repo.get_account(account.id)
            if fresh is not None:
                self._check_can_subscribe(fresh)  # a second subscribe won: payment_in_progress
            raise Conflict() from None  # another change won: try again
        assert charge.attempt is not None
        result = self._settlement.send(charge.attempt, account.customer_id, account.id)
        applied = self._settlement.apply(
            issued,
            [charge],
            [invoice],
            result,
            attempt=charge.attempt,
            customer_present=True,
            open_elsewhere=False,
            audit=(
                AuditEvent(
                    account.id,
                    now,
                    "subscribed" if result.kind is Result.SUCCEEDED else "subscribe_failed",
                    ip=caller.ip,
                    details={
                        "plan": plan.id,
                        "seats": str(count),
                        "outcome": result.kind.value,
                    },
                ),
            ),
        )
        if result.kind is Result.SUCCEEDED:
            return applied.account
        if result.kind is Result.UNKNOWN:
            raise DependencyUnavailable("payment_outcome_unknown")
        if result.kind in (Result.UNAVAILABLE, Result.NOT_FOUND):
            raise PaymentGatewayUnavailable(reason="connection")
        raise CardDeclined(result.failure, payment_intent_id=result.payment_intent_id)

    @staticmethod
    def _check_can_subscribe(account: Account) -> None:
        if account.subscribe_charge_id is not None:
            raise Conflict("payment_in_progress")  # the first payment is on its way
        if account.status in PAYING_STATUSES:
            raise Conflict("already_subscribed")
        if not account.status.can_subscribe:  # a trial, running or ended
            raise Conflict("not_allowed_in_status")

    # --- renewals --------------------------------------------------------------------------------
    def run_renewals(self, limit: int = 1000) -> RenewalReport:
        """Issue and charge every renewal that is due (the ``renewals`` job).

        The ``renewal`` queue also holds accounts due only for a reminder (the ``reminders``
        job's) or for their scheduled cancellation (``LifecycleService``'s): those are left
        out from the index copy, without reading the item; the others are re-read (the index
        is eventually consistent) and checked again."""
        report = RenewalReport()
        now = self._clock.now()
        for stale in self._repo.due_renewals(now, limit):
            if not stale.renewal_due(now):
                continue  # due for a reminder or its scheduled end, from the index copy: no read
            account = self._repo.get_account(stale.id)
            if (
                account is None
                or account.status is not AccountStatus.ACTIVE
                or account.next_renewal_at is None
                or account.next_renewal_at > now
                or account.pending_change is not None  # an upgrade in flight: next run
                or (account.cancel_at is not None and account.cancel_at <= now)  # it ends
            ):
                report.skipped += 1
                continue
            try:
                self._renew(account, report)
            except ConcurrentUpdate:
                report.skipped += 1  # someone else moved it: the next run sees the new state
        return report

    def _renew(self, account: Account, report: RenewalReport) -> None:
        # a downgrade scheduled for this renewal takes effect now (domain.plans)
        scheduled = account.scheduled_change
        plan = self._settings.plan(scheduled.plan if scheduled else account.plan or "")
        seats = scheduled.seats if scheduled else account.seats
        assert account.next_renewal_at is not None
        if plan is None or account.payment_method_id is None or account.customer_id is None:
            report.skipped += 1
            report.details.append(f"{account.id}: no plan or no card")
            return
        now = self._clock.now()
        start = account.next_renewal_at
        if period_end(start, plan.interval) <= now:
            start = now  # missed whole periods are never billed one by one: start anew now
        moved, invoice, charge = self.issue(
            account,
            plan,
            start,
            purpose=ChargePurpose.RENEWAL,
            on_session=False,
            account_changes={
                "next_renewal_at": period_end(start, plan.interval),
                "period_started_at": start,
                "plan": plan.id,
                "seats": seats,
                "scheduled_change": None,
            },
            seats=seats,
        )
        assert charge.attempt is not None
        result = self._settlement.send(charge.attempt, account.customer_id, account.id)
        self._settlement.apply(
            moved,
            [charge],
            [invoice],
            result,
            attempt=charge.attempt,
            customer_present=False,
            open_elsewhere=None,
        )
        if result.kind is Result.SUCCEEDED:
            report.renewed += 1
        elif result.kind is Result.UNKNOWN:
            report.unknown += 1
        else:
            report.failed += 1
