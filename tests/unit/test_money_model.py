"""A model-based test of the money lifecycle (Hypothesis ``RuleBasedStateMachine``).

One account over the in-memory container and the fake gateway lives through random sequences
of: subscribe, the renewals job, the retry job, "apply pending charges", a card change (with a
card that succeeds or declines soft, hard, revoked, or asks for authentication), the card
starting to decline, gateway faults on the next requests (the request lost before reaching
Stripe, the answer lost after charging, Stripe unavailable, an answer that comes late),
``payment_intent.succeeded`` webhooks (duplicated and in any order), cancel, reactivate (the
trial path), plan and seat changes (upgrades charged at once, downgrades scheduled and
withdrawn), cancellations scheduled for the period's end and resumed, and the clock moving.
After every step:

* money moves at most once per invoice: at most one succeeded PaymentIntent per charge;
* nothing stays claimed, and after a retry run with no fault left to meet nothing stays
  ``unknown`` and every charge Stripe took money for is paid;
* no paid invoice covers time the account spent suspended or cancelled before it was paid;
* the account's status agrees with its charges;
* every change the customer is told about has exactly one mail: one receipt per payment, one
  notice per suspension;
* every invoice bills what the plans' prices and the changes imply: a period at the price of
  the plan and seats in force (a scheduled downgrade from its renewal on), an upgrade at the
  proration :mod:`chalicelib.domain.plans` quotes for the moment it was asked; and, after a
  clean retry run, the money taken over the whole run is the sum of the paid invoices;
* an upgrade in flight has its open charge; a scheduled cancellation keeps the account active,
  and the renewals job ends it on time instead of renewing.

``HYPOTHESIS_PROFILE=soak`` (``make soak``) runs thousands of examples instead of hundreds.
"""

from __future__ import annotations

import contextlib
import os
from collections import Counter
from datetime import UTC, datetime
from typing import Any

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
)

from chalicelib.adapters.clock import FixedClock
from chalicelib.adapters.fake_payments import (
    REQUIRE_ACTION,
    SUCCEED,
    CardBehaviour,
    FakePaymentGateway,
)
from chalicelib.adapters.memory import InMemoryRepository, PlainHasher, RecordingMailer
from chalicelib.config import Settings
from chalicelib.domain.account import Account, AccountStatus, Caller
from chalicelib.domain.billing import ChargePurpose, ChargeState, Invoice, InvoiceStatus
from chalicelib.domain.errors import DomainError
from chalicelib.domain.payments import DeclineInfo
from chalicelib.domain.plans import Quote, quote_change
from chalicelib.i18n import translate
from chalicelib.jobs.run import run_job
from chalicelib.services.subscription import priced
from chalicelib.wiring import Container, build_container, override

settings.register_profile(
    "money",
    max_examples=120,
    stateful_step_count=30,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.register_profile(
    "soak",
    max_examples=3000,
    stateful_step_count=50,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
PROFILE = os.environ.get("HYPOTHESIS_PROFILE", "money")

PASSWORD = "correct horse battery staple"
START = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
CARDS: dict[str, CardBehaviour] = {
    "ok": SUCCEED,
    "soft": CardBehaviour.declines(DeclineInfo("card_declined", "insufficient_funds")),
    "hard": CardBehaviour.declines(DeclineInfo("card_declined", "stolen_card")),
    "revoked": CardBehaviour.declines(DeclineInfo("card_declined", "stop_payment_order")),
    "authentication": REQUIRE_ACTION,
}
FAULTS = ("lost_request", "lost_answer", "unavailable", "late")
CLOSED = (AccountStatus.CANCELLED, AccountStatus.REACTIVATION_REQUESTED)


class MoneyLifecycle(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.clock = FixedClock(START)
        self.fake = FakePaymentGateway()
        self.repo = InMemoryRepository()
        self.box: Container = build_container(
            Settings(stripe_request_budget=1_000_000),  # no waiting for the token bucket
            repo=self.repo,
            mailer=RecordingMailer(),
            hasher=PlainHasher(),
            clock=self.clock,
            gateway=self.fake,
        )
        self.box.dunning._sleep = lambda seconds: None
        override(self.box)
        self.timeline: list[tuple[datetime, AccountStatus]] = []
        self.suspensions = 0
        # when the customer (or the job) first sent each attempt: a lost request replayed
        # later is that same payment, made then
        self.first_sent: dict[str, datetime] = {}
        real_charge = self.fake.charge

        def charge(*args: Any, **kwargs: Any) -> Any:
            self.first_sent.setdefault(kwargs["idempotency_key"], self.clock.now())
            return real_charge(*args, **kwargs)

        self.fake.charge = charge  # type: ignore[method-assign]
        self.expected_net: dict[str, int] = {}  # invoice id -> the net amount it must bill
        self.quote: Quote | None = None  # what the change being asked for must charge
        self.targets: dict[str, tuple[str, int]] = {}  # invoice id -> (plan, seats) it bills
        self.in_force: tuple[str, int] | None = None  # the plan and seats paid for

    @initialize(card=st.sampled_from(["ok", "ok", "ok", *sorted(CARDS)]))
    def sign_up(self, card: str) -> None:
        signed = self.box.auth.signup(
            email="ada@example.com",
            password=PASSWORD,
            name="Ada",
            country="FR",
            phone=None,
            locale="en",
            ip="10.0.0.1",
        )
        self.account_id = signed.account.id
        self.session = self.box.auth.authenticate(signed.token, "10.0.0.1").session
        self.box.billing.set_card(self.caller(), self.fake.add_card(CARDS[card]))
        self.record()

    # --- helpers ----------------------------------------------------------------------------
    def account(self) -> Account:
        account = self.repo.accounts[self.account_id]
        return account

    def caller(self) -> Caller:
        return Caller(account=self.account(), session=self.session, ip="10.0.0.1")

    def record(self) -> None:
        status = self.account().status
        if not self.timeline or self.timeline[-1][1] is not status:
            if status is AccountStatus.SUSPENDED:
                self.suspensions += 1
            self.timeline.append((self.clock.now(), status))

    def attempt(self, action: Any, plan: str | None = None) -> None:
        # a refusal the contract describes (402, 409, 503, ...) leaves nothing half done
        before = self.account()
        known = {i.id for i in self.invoices()}
        paid_before = {c.id for c in self.charges() if c.state is ChargeState.PAID}
        with contextlib.suppress(DomainError):
            action()
        for invoice in self.invoices():
            if invoice.id not in known:
                self.targets[invoice.id] = self.implied_target(before, invoice, plan)
                self.expected_net[invoice.id] = self.implied_net(invoice)
                if self.repo.charges[(self.account_id, invoice.id)].purpose is (
                    ChargePurpose.RENEWAL
                ):
                    self.in_force = self.targets[invoice.id]  # applied when it is issued
        for charge in self.charges():
            if (
                charge.state is ChargeState.PAID
                and charge.id not in paid_before
                and charge.purpose.void_on_failure
            ):
                self.in_force = self.targets[charge.invoice_id]  # applied once paid
        self.record()

    def invoices(self) -> list[Invoice]:
        return [i for (a, _), i in self.repo.invoices.items() if a == self.account_id]

    def implied_target(
        self, before: Account, invoice: Invoice, plan: str | None
    ) -> tuple[str, int]:
        """The plan and seats ``invoice`` is for, as the model knows them (not the account)."""
        purpose = self.repo.charges[(self.account_id, invoice.id)].purpose
        if purpose is ChargePurpose.CHANGE:
            assert self.quote is not None, invoice
            return self.quote.renewal.plan_id, self.quote.renewal.seats
        if purpose is ChargePurpose.SUBSCRIBE:
            assert plan is not None
            return plan, 1  # a trial has one seat
        assert self.in_force is not None, invoice
        scheduled = before.scheduled_change if purpose is ChargePurpose.RENEWAL else None
        return (scheduled.plan, scheduled.seats) if scheduled else self.in_force

    def implied_net(self, invoice: Invoice) -> int:
        """What the plans' prices and the changes say ``invoice`` must bill (net)."""
        if self.repo.charges[(self.account_id, invoice.id)].purpose is ChargePurpose.CHANGE:
            assert self.quote is not None, invoice
            return self.quote.now_amount
        plan_id, seats = self.targets[invoice.id]
        plan = self.box.settings.plan(plan_id)
        assert plan is not None
        return plan.period_amount(seats)

    def charges(self) -> list[Any]:
        return [c for (a, _), c in self.repo.charges.items() if a == self.account_id]

    # --- rules ------------------------------------------------------------------------------
    @rule(plan=st.sampled_from(["basic-monthly", "pro-yearly"]))
    def subscribe(self, plan: str) -> None:
        self.attempt(lambda: self.box.billing.subscribe(self.caller(), plan), plan)

    @rule()
    def renewals_job(self) -> None:
        before = self.account()
        self.attempt(lambda: run_job("renewals", box=self.box))
        self.check_scheduled_cancellation(before)

    def check_scheduled_cancellation(self, before: Account) -> None:
        """A cancellation due when the renewals job ran ended the account, unrenewed (or, while
        a charge may be moving money, waits for the next run, as a cancel now would refuse)."""
        if before.cancel_at is not None and before.cancel_at <= self.clock.now():
            in_flight = [
                c for c in self.charges() if c.is_open and c.state is not ChargeState.PENDING
            ]
            if before.status is AccountStatus.ACTIVE and not in_flight:
                assert self.account().status is AccountStatus.CANCELLED
            renewals = [
                c
                for c in self.charges()
                if c.purpose is ChargePurpose.RENEWAL and c.created_at >= before.cancel_at
            ]
            assert renewals == [], renewals

    @rule(
        plan=st.sampled_from([None, "basic-monthly", "pro-monthly", "pro-yearly"]),
        seats=st.sampled_from([None, 1, 2, 3, 5]),
    )
    def change_plan(self, plan: str | None, seats: int | None) -> None:
        """PATCH /billing/subscription: the model quotes the change first, independently."""
        account = self.account()
        settings_ = self.box.settings
        current = settings_.plan(account.plan or "")
        target = settings_.plan(plan or account.plan or "")
        self.quote = None
        if current and target and account.next_renewal_at:
            end = account.next_renewal_at
            self.quote = quote_change(
                priced(current, account.seats),
                priced(target, account.seats if seats is None else seats),
                account.current_period_start(current.interval) or end,
                end,
                self.clock.now(),
            )
        outcome: list[Any] = []
        self.attempt(
            lambda: outcome.append(self.box.subscription.change(self.caller(), plan, seats))
        )
        if outcome and outcome[0].kind.value == "immediate" and outcome[0].invoice_id is None:
            assert self.quote is not None  # nothing left to charge: applied as is
            self.in_force = (self.quote.renewal.plan_id, self.quote.renewal.seats)

    @rule()
    def withdraw_scheduled_change(self) -> None:
        self.attempt(lambda: self.box.subscription.cancel_scheduled_change(self.caller()))

    @rule(really=st.integers(0, 3))
    def cancel_at_period_end(self, really: int) -> None:
        if really == 0:
            self.attempt(lambda: self.box.lifecycle.cancel_at_period_end(self.caller(), PASSWORD))

    @rule()
    def resume(self) -> None:
        self.attempt(lambda: self.box.lifecycle.resume(self.caller()))

    @rule()
    def retry_job(self) -> None:
        clean = not self.fake.faults and not self.fake.late_intents()
        self.attempt(lambda: run_job("retry-pending", box=self.box))
        if clean and not self.fake.faults:
            unknown = [c for c in self.charges() if c.state is ChargeState.UNKNOWN]
            assert unknown == [], "an unknown charge outlived a retry run"
            self.check_money_taken_is_recorded()

    @rule()
    def pay_pending(self) -> None:
        self.attempt(lambda: self.box.dunning.pay_pending(self.caller()))

    @rule(card=st.sampled_from(sorted(CARDS)))
    def change_card(self, card: str) -> None:
        """PUT /billing/card: the new card, then the pending charges retried at once."""

        def change() -> None:
            self.box.billing.set_card(self.caller(), self.fake.add_card(CARDS[card]))

        self.attempt(change)

    @rule(card=st.sampled_from(sorted(CARDS)))
    def card_starts_behaving(self, card: str) -> None:
        pm = self.account().payment_method_id
        assert pm is not None
        self.fake.set_behaviour(pm, CARDS[card])

    @rule(faults=st.lists(st.sampled_from(FAULTS), min_size=1, max_size=3))
    def gateway_faults(self, faults: list[str]) -> None:
        self.fake.inject(*faults)  # type: ignore[arg-type]

    @rule()
    def late_answers_arrive(self) -> None:
        for intent in self.fake.late_intents():
            self.fake.finish_late(intent)

    @rule(data=st.data())
    def webhook(self, data: st.DataObject) -> None:
        """A signed ``payment_intent.succeeded``: a new event, or one already delivered."""
        from chalicelib.api.webhooks import handle_event

        succeeded = [c for c in self.fake.charges if c.succeeded]
        choices = [(f"evt_{c.payment_intent_id}_{n}", c) for c in succeeded for n in (1, 2)]
        if not choices:
            return
        event_id, charge = data.draw(st.sampled_from(choices))
        event = {
            "id": event_id,
            "type": "payment_intent.succeeded",
            "data": {"object": {"id": charge.payment_intent_id, "metadata": charge.metadata}},
        }
        self.attempt(lambda: handle_event(event))

    @rule(really=st.integers(0, 7))
    def cancel(self, really: int) -> None:
        if really == 0:  # rarer than the rest, so that the paid states are explored
            self.attempt(lambda: self.box.lifecycle.cancel(self.caller(), PASSWORD))

    @rule(card=st.sampled_from(sorted(CARDS)))
    def a_renewal_comes(self, card: str) -> None:
        """The card behaves as ``card`` when the renewal is charged."""
        account = self.account()
        if account.next_renewal_at is None or account.payment_method_id is None:
            return
        self.fake.set_behaviour(account.payment_method_id, CARDS[card])
        self.clock.set(max(self.clock.now(), account.next_renewal_at))
        self.attempt(lambda: run_job("renewals", box=self.box))
        self.check_scheduled_cancellation(account)

    @precondition(lambda self: self.account().status in CLOSED)
    @rule()
    def reactivate(self) -> None:
        self.attempt(lambda: self.box.lifecycle.reactivate("ada@example.com", PASSWORD, "10.0.0.2"))

    @rule(hours=st.sampled_from([1, 6, 25, 24 * 3, 24 * 8, 24 * 31]))
    def time_passes(self, hours: int) -> None:
        self.clock.advance(hours=hours)

    @rule(days=st.integers(1, 9))
    def days_pass_with_the_jobs_running(self, days: int) -> None:
        for _ in range(days):
            self.clock.advance(days=1)
            before = self.account()
            self.attempt(lambda: run_job("renewals", box=self.box))
            self.check_scheduled_cancellation(before)
            self.retry_job()

    # --- invariants ---------------------------------------------------------------------------
    @invariant()
    def money_moves_at_most_once_per_invoice(self) -> None:
        paid: Counter[str] = Counter()
        for fake_charge in self.fake.charges:
            if fake_charge.succeeded:
                for charge_id in fake_charge.metadata["charge_ids"].split(","):
                    paid[charge_id] += 1
        assert all(n == 1 for n in paid.values()), paid
        stored = {c.id for c in self.charges()}
        assert set(paid) <= stored

    @invariant()
    def nothing_stays_claimed(self) -> None:
        assert [c for c in self.charges() if c.state is ChargeState.PROCESSING] == []

    def check_money_taken_is_recorded(self) -> None:
        taken = {
            charge_id
            for c in self.fake.charges
            if c.succeeded
            for charge_id in c.metadata["charge_ids"].split(",")
        }
        by_id = {c.id: c for c in self.charges()}
        for charge_id in taken:
            assert by_id[charge_id].state is ChargeState.PAID, by_id[charge_id]
            invoice = self.repo.invoices[(self.account_id, by_id[charge_id].invoice_id)]
            assert invoice.status is InvoiceStatus.PAID
        # the money taken over the run is what the paid invoices bill, to the minor unit
        money = sum(c.amount for c in self.fake.charges if c.succeeded)
        billed = sum(i.total for i in self.invoices() if i.status is InvoiceStatus.PAID)
        assert money == billed, (money, billed)

    @invariant()
    def invoices_bill_what_the_prices_and_changes_imply(self) -> None:
        for invoice in self.invoices():
            assert invoice.subtotal == self.expected_net[invoice.id], (invoice, self.quote)
            assert invoice.subtotal == sum(line.amount for line in invoice.lines)

    @invariant()
    def changes_and_scheduled_cancellations_are_consistent(self) -> None:
        account = self.account()
        assert account.seats >= 1
        if self.in_force is not None and account.plan is not None:
            assert (account.plan, account.seats) == self.in_force, (account, self.in_force)
        open_ids = {c.id for c in self.charges() if c.is_open}
        if account.pending_change is not None:
            assert account.pending_change.charge_id in open_ids, account.pending_change
        if account.cancel_at is not None:
            assert account.status is AccountStatus.ACTIVE, account
            assert account.cancel_at == account.next_renewal_at

    @invariant()
    def paid_invoices_never_cover_suspended_or_cancelled_time(self) -> None:
        closed = (AccountStatus.SUSPENDED, AccountStatus.CANCELLED)
        spans = []
        for index, (at, status) in enumerate(self.timeline):
            if status in closed:
                until = self.timeline[index + 1][0] if index + 1 < len(self.timeline) else None
                spans.append((at, until))
        for (account_id, _), invoice in self.repo.invoices.items():
            if account_id != self.account_id or invoice.status is not InvoiceStatus.PAID:
                continue
            paid = next(t for t in invoice.transactions if t.status == "succeeded")
            intent = next(
                c for c in self.fake.charges if c.payment_intent_id == paid.payment_intent_id
            )
            paid_at = self.first_sent[intent.idempotency_key]  # when the customer paid
            for start, until in spans:
                if start >= paid_at:
                    continue  # suspended after paying: a later matter
                end = until or self.clock.now()
                overlap = start < invoice.period_end and invoice.period_start < end
                assert not overlap or start == end, (invoice.number, start, end)

    @invariant()
    def status_agrees_with_charges(self) -> None:
        account = self.account()
        open_charges = [c for c in self.charges() if c.is_open]
        status = account.status
        if status in (AccountStatus.TRIAL,):
            assert {c.id for c in open_charges} <= {account.subscribe_charge_id}
        if account.subscribe_charge_id is not None:
            assert account.subscribe_charge_id in {c.id for c in open_charges}
        if status is AccountStatus.ACTIVE:
            assert not any(
                c.state is ChargeState.PENDING and c.last_failure is not None for c in open_charges
            ), open_charges
        if status in (AccountStatus.PAST_DUE, AccountStatus.SUSPENDED):
            assert open_charges, status
        if status in CLOSED:
            assert not any(c.state is ChargeState.PENDING for c in open_charges)

    @invariant()
    def one_mail_per_told_change(self) -> None:
        mails = [m for m in self.repo.mail.values() if m.account_id == self.account_id]
        receipts = sum(m.template == "payment_receipt" for m in mails)
        payments = {c.payment_intent_id for c in self.charges() if c.state is ChargeState.PAID}
        assert receipts == len(payments), (receipts, payments)
        now_suspended = translate("decline.now_suspended", "en")
        told_suspended = sum(
            m.template == "account_suspended"
            or (m.template == "payment_failed" and now_suspended in m.params.get("reason", ""))
            for m in mails
        )
        assert told_suspended == self.suspensions

    def teardown(self) -> None:
        override(None)


MoneyLifecycle.TestCase.settings = settings.get_profile(PROFILE)
test_money_lifecycle = MoneyLifecycle.TestCase


@pytest.fixture(autouse=True)
def _no_container_leak() -> Any:
    yield
    override(None)
