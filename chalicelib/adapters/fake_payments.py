"""FakePaymentGateway: an in-memory *fake* of the payment-gateway port, for tests and benchmarks.

It never talks to Stripe and never moves money.  It behaves like Stripe where the services
depend on it, so that the unit tests and the dunning benchmark exercise the same paths as
production:

* every card has a behaviour (:class:`CardBehaviour`): succeed, decline with a given
  :class:`~chalicelib.domain.payments.DeclineInfo` (when charged, or already when attached),
  require the customer's authentication, or time out *after* the charge went through (the
  answer is lost: :class:`~chalicelib.domain.payments.PaymentOutcomeUnknown`, F3);
  :meth:`FakePaymentGateway.add_test_card` maps Stripe's documented test numbers to them;
* idempotency keys are honoured as Stripe does: the same key replays the first outcome (also
  after a lost answer) and creates no second PaymentIntent; the same key with other parameters
  is refused; concurrent calls with one key are serialised, so exactly one charge exists;
* an off-session charge on a card that needs authentication is declined with
  ``authentication_required``; on-session it returns ``requires_action`` and
  :meth:`FakePaymentGateway.authenticate` plays the customer finishing it;
* ``latency`` seconds are slept on every request (outside the locks, so concurrent callers
  overlap as they would over the network); ``unavailable = True`` makes every request fail
  with :class:`~chalicelib.domain.payments.PaymentGatewayUnavailable` before any effect.

What happened is recorded for assertions: :attr:`FakePaymentGateway.charges` (one entry per
PaymentIntent created), :attr:`~FakePaymentGateway.calls` (charge calls per idempotency key,
replays included), :attr:`~FakePaymentGateway.requests` and
:attr:`~FakePaymentGateway.request_times` (to check a request budget).  Thread-safe.
"""

from __future__ import annotations

import threading
import time
from collections import Counter, deque
from collections.abc import Callable, Mapping, Sequence
from itertools import count
from typing import Literal

from msgspec import Struct
from msgspec.structs import replace

from chalicelib.domain.payments import (
    CardDeclined,
    CardSummary,
    ChargeOutcome,
    DeclineInfo,
    PaymentGatewayUnavailable,
    PaymentMethodInvalid,
    PaymentOutcomeUnknown,
    PaymentRequestRejected,
    RefundOutcome,
    SavedCard,
    best_refund,
    check_payment_method_id,
)

BehaviourKind = Literal["succeed", "decline", "require_action", "timeout"]
# One-off faults of the next charge requests (:meth:`FakePaymentGateway.inject`):
# ``lost_request`` times out before reaching "Stripe" (nothing created), ``lost_answer``
# creates the PaymentIntent and loses the answer, ``unavailable`` refuses it unprocessed,
# ``late`` leaves the PaymentIntent processing until :meth:`FakePaymentGateway.finish_late`.
Fault = Literal["lost_request", "lost_answer", "unavailable", "late"]


class CardBehaviour(Struct, frozen=True):
    """How a fake card answers: ``decline`` uses ``decline``; ``at_attach`` declines early."""

    kind: BehaviourKind = "succeed"
    decline: DeclineInfo | None = None
    at_attach: bool = False

    @classmethod
    def declines(cls, decline: DeclineInfo, *, at_attach: bool = False) -> CardBehaviour:
        return cls("decline", decline, at_attach)


SUCCEED = CardBehaviour()

# Stripe's country test cards (docs.stripe.com/testing#international-cards): issuing country.
TEST_CARD_COUNTRIES: dict[str, str] = {
    "4242424242424242": "US",
    "4000002500000003": "FR",
    "4000002760000016": "DE",
    "4000007240000007": "ES",
}
REQUIRE_ACTION = CardBehaviour("require_action")
TIME_OUT = CardBehaviour("timeout")

# Stripe's documented test card numbers (docs.stripe.com/testing) and how they behave.
TEST_CARDS: dict[str, CardBehaviour] = {
    "4242424242424242": SUCCEED,
    "5555555555554444": SUCCEED,
    "4000000000000341": CardBehaviour.declines(DeclineInfo("card_declined", "generic_decline")),
    "4000000000000002": CardBehaviour.declines(
        DeclineInfo("card_declined", "generic_decline"), at_attach=True
    ),
    "4000000000009995": CardBehaviour.declines(
        DeclineInfo("card_declined", "insufficient_funds"), at_attach=True
    ),
    "4000000000009987": CardBehaviour.declines(
        DeclineInfo("card_declined", "lost_card"), at_attach=True
    ),
    "4000000000009979": CardBehaviour.declines(
        DeclineInfo("card_declined", "stolen_card"), at_attach=True
    ),
    "4000000000000069": CardBehaviour.declines(
        DeclineInfo("expired_card", "expired_card"), at_attach=True
    ),
    "4000000000000127": CardBehaviour.declines(
        DeclineInfo("incorrect_cvc", "incorrect_cvc"), at_attach=True
    ),
    "4000002500003155": REQUIRE_ACTION,
    "4000002760003184": REQUIRE_ACTION,
}


class FakeCharge(Struct, frozen=True):
    """One PaymentIntent the fake created (a replay adds none)."""

    payment_intent_id: str
    idempotency_key: str
    customer_id: str
    payment_method_id: str
    amount: int
    currency: str
    description: str
    metadata: Mapping[str, str]
    off_session: bool
    outcome: ChargeOutcome

    @property
    def succeeded(self) -> bool:
        return self.outcome.status == "succeeded"


class FakeRefund(Struct, frozen=True):
    """One refund the fake created."""

    refund_id: str
    payment_intent_id: str
    amount: int
    idempotency_key: str
    metadata: Mapping[str, str]
    status: str = "succeeded"  # ``pending`` after a ``late`` fault, until settle_refund


class _Card(Struct):
    summary: CardSummary
    behaviour: CardBehaviour
    customer_id: str | None = None


class _Customer(Struct):
    account_id: str
    email: str
    name: str
    default_payment_method: str | None = None


class _Intent(Struct):
    charge: FakeCharge
    request: tuple[object, ...]
    first_answer: ChargeOutcome  # what a replay of the same key returns
    pending_outcome: ChargeOutcome | None = None  # requires_action: what authentication gives


class FakePaymentGateway:
    """``PaymentGateway`` in memory.  A fake for tests and benchmarks: no money, no network."""

    def __init__(
        self, *, latency: float = 0.0, sleep: Callable[[float], None] = time.sleep
    ) -> None:
        self.latency = latency
        self.unavailable = False
        self._sleep = sleep
        self._lock = threading.RLock()
        self._ids = count(1)
        self._cards: dict[str, _Card] = {}
        self._customers: dict[str, _Customer] = {}
        self._customer_keys: dict[str, tuple[str, tuple[str, str, str]]] = {}
        self._intents: dict[str, _Intent] = {}
        self._intent_by_key: dict[str, str] = {}
        self.charges: list[FakeCharge] = []
        self.calls: Counter[str] = Counter()
        self.requests = 0
        self.request_times: list[float] = []
        self.faults: deque[Fault] = deque()
        self.setup_intents: dict[str, str] = {}  # client_secret -> customer id
        self.refunds: list[FakeRefund] = []  # one entry per refund created (replays add none)
        self._refund_by_key: dict[str, tuple[FakeRefund, tuple[str, int]]] = {}

    # --- set-up and inspection (not part of the port) --------------------------------------

    def add_card(
        self,
        behaviour: CardBehaviour = SUCCEED,
        *,
        brand: str = "visa",
        last4: str = "4242",
        exp_month: int = 12,
        exp_year: int = 2040,
        customer_id: str | None = None,
        issuer_country: str | None = None,
    ) -> str:
        """A new PaymentMethod (as Stripe.js would make); attached when ``customer_id``."""
        with self._lock:
            payment_method_id = self._new_id("pm")
            summary = CardSummary(brand, last4, exp_month, exp_year, issuer_country=issuer_country)
            self._cards[payment_method_id] = _Card(summary, behaviour, customer_id)
            return payment_method_id

    def add_test_card(self, number: str, *, exp_month: int = 12, exp_year: int = 2040) -> str:
        """A PaymentMethod for one of Stripe's test numbers, behaving as :data:`TEST_CARDS`.

        Only the brand and the last four digits are kept, as Stripe would.
        """
        brand = {"4": "visa", "5": "mastercard", "3": "amex"}.get(number[:1], "unknown")
        behaviour = TEST_CARDS.get(number, SUCCEED)
        return self.add_card(
            behaviour,
            brand=brand,
            last4=number[-4:],
            exp_month=exp_month,
            exp_year=exp_year,
            issuer_country=TEST_CARD_COUNTRIES.get(number),
        )

    def confirm_card_setup(self, client_secret: str, number: str = "4242424242424242") -> str:
        """Play Stripe.js's ``confirmCardSetup``: the PaymentMethod the SetupIntent saved."""
        with self._lock:
            customer_id = self.setup_intents[client_secret]
        payment_method_id = self.add_test_card(number)
        with self._lock:
            self._card(payment_method_id).customer_id = customer_id
        return payment_method_id

    def set_behaviour(self, payment_method_id: str, behaviour: CardBehaviour) -> None:
        with self._lock:
            self._card(payment_method_id).behaviour = behaviour

    def default_payment_method(self, customer_id: str) -> str | None:
        with self._lock:
            return self._customers[customer_id].default_payment_method

    def inject(self, *faults: Fault) -> None:
        """The next charge requests meet ``faults``, one each, in order."""
        with self._lock:
            self.faults.extend(faults)

    def late_intents(self) -> list[str]:
        """PaymentIntents still processing (``late``)."""
        with self._lock:
            return [i for i, x in self._intents.items() if x.charge.outcome.status == "unknown"]

    def finish_late(self, payment_intent_id: str) -> ChargeOutcome:
        """Settle a ``late`` PaymentIntent as its card decides (as Stripe would, later)."""
        with self._lock:
            intent = self._intents[payment_intent_id]
            assert intent.pending_outcome is not None
            self._settle(intent, intent.pending_outcome)
            return intent.pending_outcome

    def charges_with_key(self, idempotency_key: str) -> list[FakeCharge]:
        with self._lock:
            return [c for c in self.charges if c.idempotency_key == idempotency_key]

    def authenticate(self, payment_intent_id: str, *, success: bool = True) -> ChargeOutcome:
        """Play the customer completing (or failing) the bank's authentication in Stripe.js."""
        with self._lock:
            intent = self._intents[payment_intent_id]
            if intent.charge.outcome.status != "requires_action":
                raise PaymentRequestRejected(stripe_code="payment_intent_unexpected_state")
            if success and intent.pending_outcome is not None:
                outcome = intent.pending_outcome
            else:
                decline = DeclineInfo("payment_intent_authentication_failure")
                outcome = ChargeOutcome("declined", payment_intent_id, failure=decline)
            self._settle(intent, outcome)
            return outcome

    # --- the port --------------------------------------------------------------------------

    def create_customer(self, account_id: str, email: str, name: str, idempotency_key: str) -> str:
        self._request()
        with self._lock:
            request = (account_id, email, name)
            if idempotency_key in self._customer_keys:
                customer_id, first = self._customer_keys[idempotency_key]
                if first != request:
                    raise PaymentRequestRejected(stripe_code="idempotency_error")
                return customer_id
            customer_id = self._new_id("cus")
            self._customers[customer_id] = _Customer(account_id, email, name)
            self._customer_keys[idempotency_key] = (customer_id, request)
            return customer_id

    def attach_card(self, customer_id: str, payment_method_id: str) -> CardSummary:
        check_payment_method_id(payment_method_id)
        self._request()
        with self._lock:
            card = self._card(payment_method_id)
            customer = self._customers.get(customer_id)
            if customer is None:
                raise PaymentRequestRejected(stripe_code="resource_missing")
            if card.customer_id not in (None, customer_id):
                raise PaymentMethodInvalid(reason="other_customer")
            behaviour = card.behaviour
            if behaviour.kind == "decline" and behaviour.at_attach and behaviour.decline:
                raise CardDeclined(behaviour.decline)
            card.customer_id = customer_id
            customer.default_payment_method = payment_method_id
            return card.summary

    def update_card(
        self,
        payment_method_id: str,
        *,
        exp_month: int | None = None,
        exp_year: int | None = None,
        name: str | None = None,
        postal_code: str | None = None,
        country: str | None = None,
        line1: str | None = None,
        city: str | None = None,
    ) -> CardSummary:
        check_payment_method_id(payment_method_id)
        self._request()
        with self._lock:
            card = self._card(payment_method_id)
            s = card.summary
            card.summary = replace(
                s,
                exp_month=s.exp_month if exp_month is None else exp_month,
                exp_year=s.exp_year if exp_year is None else exp_year,
                name=s.name if name is None else name,
                postal_code=s.postal_code if postal_code is None else postal_code,
                country=s.country if country is None else country,
                line1=s.line1 if line1 is None else line1,
                city=s.city if city is None else city,
            )
            return card.summary

    def create_card_setup(self, customer_id: str) -> str:
        self._request()
        with self._lock:
            if customer_id not in self._customers:
                raise PaymentRequestRejected(stripe_code="resource_missing")
            setup_id = self._new_id("seti")
            secret = f"{setup_id}_secret_{len(self.setup_intents):016d}"
            self.setup_intents[secret] = customer_id
            return secret

    def get_card(self, payment_method_id: str) -> CardSummary:
        check_payment_method_id(payment_method_id)
        self._request()
        with self._lock:
            return self._card(payment_method_id).summary

    def list_cards(self, customer_id: str) -> list[SavedCard]:
        self._request()
        with self._lock:
            if customer_id not in self._customers:
                raise PaymentRequestRejected(stripe_code="resource_missing")
            return [
                SavedCard(i, c.summary)
                for i, c in reversed(self._cards.items())
                if c.customer_id == customer_id
            ]

    def detach_card(self, payment_method_id: str) -> None:
        check_payment_method_id(payment_method_id)
        self._request()
        with self._lock:
            card = self._card(payment_method_id)
            if card.customer_id is None:
                raise PaymentMethodInvalid(reason="not_attached")
            customer = self._customers[card.customer_id]
            if customer.default_payment_method == payment_method_id:
                customer.default_payment_method = None  # as Stripe clears it
            card.customer_id = None

    def charge(  # noqa: PLR0917 - the PaymentGateway.charge port's signature (payment_ports.py)
        self,
        customer_id: str,
        payment_method_id: str,
        amount: int,
        currency: str,
        idempotency_key: str,
        description: str,
        metadata: Mapping[str, str],
        off_session: bool,
    ) -> ChargeOutcome:
        check_payment_method_id(payment_method_id)
        if type(amount) is not int or amount <= 0:
            raise ValueError("amount must be a positive integer in minor units")
        if not idempotency_key:
            raise ValueError("a charge needs the idempotency key of its stored attempt")
        self._request()
        request = (customer_id, payment_method_id, amount, currency.lower(), off_session)
        with self._lock:
            fault = self.faults.popleft() if self.faults else None
            if fault == "unavailable":
                raise PaymentGatewayUnavailable(reason="server_error")
            if fault == "lost_request":
                raise PaymentOutcomeUnknown(idempotency_key=idempotency_key, reason="connection")
            self.calls[idempotency_key] += 1
            existing = self._intent_by_key.get(idempotency_key)
            if existing is not None:  # Stripe's replay: same answer, no new PaymentIntent
                intent = self._intents[existing]
                if intent.request != request:
                    raise PaymentRequestRejected(stripe_code="idempotency_error")
                return intent.first_answer
            card = self._card(payment_method_id)
            if card.customer_id != customer_id:
                raise PaymentMethodInvalid(reason="other_customer")
            intent_id = self._new_id("pi")
            outcome, pending = self._decide(intent_id, card, off_session)
            if fault == "late":  # "processing": the real outcome comes later
                outcome, pending = ChargeOutcome("unknown", intent_id, card=card.summary), outcome
            charge = FakeCharge(
                payment_intent_id=intent_id,
                idempotency_key=idempotency_key,
                customer_id=customer_id,
                payment_method_id=payment_method_id,
                amount=amount,
                currency=currency.lower(),
                description=description,
                metadata=dict(metadata),
                off_session=off_session,
                outcome=outcome,
            )
            self._intents[intent_id] = _Intent(charge, request, outcome, pending)
            self._intent_by_key[idempotency_key] = intent_id
            self.charges.append(charge)
            if card.behaviour.kind == "timeout" or fault == "lost_answer":
                # charged, but the answer is lost
                raise PaymentOutcomeUnknown(idempotency_key=idempotency_key, reason="connection")
            return outcome

    def find_payment(self, payment_intent_id: str) -> ChargeOutcome:
        self._request()
        with self._lock:
            intent = self._intents.get(payment_intent_id)
            if intent is None:
                raise PaymentRequestRejected(stripe_code="resource_missing")
            return intent.charge.outcome

    def find_attempt(
        self, customer_id: str, idempotency_key: str, charge_ids: Sequence[str]
    ) -> ChargeOutcome | None:
        self._request()
        wanted = ",".join(charge_ids)
        with self._lock:
            found = [
                c
                for c in self.charges
                if c.customer_id == customer_id
                and (
                    c.metadata.get("attempt_key") == idempotency_key
                    or ("attempt_key" not in c.metadata and c.metadata.get("charge_ids") == wanted)
                )
            ]
            rank = {"succeeded": 0, "unknown": 1, "requires_action": 1}
            found.sort(key=lambda c: rank.get(c.outcome.status, 2))
            return found[0].outcome if found else None

    def refund(
        self,
        payment_intent_id: str,
        amount: int,
        idempotency_key: str,
        metadata: Mapping[str, str],
    ) -> RefundOutcome:
        """As Stripe: only a succeeded PaymentIntent, never above what is left of it
        (``charge_already_refunded``, ``amount_too_large``); the same key replays the first
        refund (other parameters: ``idempotency_error``).  Faults ``lost_answer`` (refunded,
        answer lost), ``lost_request`` and ``unavailable`` apply as for charges; ``late``
        leaves the refund ``pending`` until :meth:`settle_refund`."""
        if type(amount) is not int or amount <= 0:
            raise ValueError("amount must be a positive integer in minor units")
        if not idempotency_key:
            raise ValueError("a refund needs the idempotency key of its credit note")
        self._request()
        with self._lock:
            fault = self.faults.popleft() if self.faults else None
            if fault == "unavailable":
                raise PaymentGatewayUnavailable(reason="server_error")
            if fault == "lost_request":
                raise PaymentOutcomeUnknown(idempotency_key=idempotency_key, reason="connection")
            self.calls[idempotency_key] += 1
            known = self._refund_by_key.get(idempotency_key)
            if known is not None:
                if known[1] != (payment_intent_id, amount):
                    raise PaymentRequestRejected(stripe_code="idempotency_error")
                return _refund_outcome(self._refund(known[0].refund_id))
            self._check_refundable(payment_intent_id, amount)
            made = FakeRefund(
                self._new_id("re"), payment_intent_id, amount, idempotency_key, dict(metadata)
            )
            if fault == "late":
                made = replace(made, status="pending")
            self.refunds.append(made)
            self._refund_by_key[idempotency_key] = (made, (payment_intent_id, amount))
            if fault == "lost_answer":
                raise PaymentOutcomeUnknown(idempotency_key=idempotency_key, reason="connection")
            return _refund_outcome(made)

    def find_refund(self, payment_intent_id: str, credit_note_id: str) -> RefundOutcome | None:
        self._request()
        with self._lock:
            found = [
                _refund_outcome(r)
                for r in self.refunds
                if r.payment_intent_id == payment_intent_id
                and r.metadata.get("credit_note_id") == credit_note_id
            ]
        return best_refund(found)

    def _check_refundable(self, payment_intent_id: str, amount: int) -> None:
        """Stripe's refusals: an unknown or unpaid PaymentIntent, nothing or too little left."""
        intent = self._intents.get(payment_intent_id)
        if intent is None:
            raise PaymentRequestRejected(stripe_code="resource_missing")
        if intent.charge.outcome.status != "succeeded":
            raise PaymentRequestRejected(stripe_code="charge_not_refundable")
        left = intent.charge.amount - self.refunded(payment_intent_id)
        if left <= 0:
            raise PaymentRequestRejected(stripe_code="charge_already_refunded")
        if amount > left:
            raise PaymentRequestRejected(stripe_code="amount_too_large")

    def settle_refund(self, refund_id: str, status: str) -> None:
        """Settle a ``pending`` refund (``succeeded`` or ``failed``) as Stripe later does
        (inspection, not part of the port)."""
        with self._lock:
            self.refunds = [
                replace(r, status=status) if r.refund_id == refund_id else r for r in self.refunds
            ]

    def _refund(self, refund_id: str) -> FakeRefund:
        return next(r for r in self.refunds if r.refund_id == refund_id)

    def expire_keys(self) -> None:
        """Forget every idempotency key's answer, as Stripe does after 24 hours: a replay of
        an old key then makes a new refund (inspection, not part of the port)."""
        with self._lock:
            self._refund_by_key.clear()

    def refunded(self, payment_intent_id: str) -> int:
        """What was refunded of a PaymentIntent (inspection, not part of the port)."""
        with self._lock:
            return sum(
                r.amount
                for r in self.refunds
                if r.payment_intent_id == payment_intent_id and r.status != "failed"
            )

    # --- internals -------------------------------------------------------------------------

    def _decide(
        self, intent_id: str, card: _Card, off_session: bool
    ) -> tuple[ChargeOutcome, ChargeOutcome | None]:
        behaviour, summary = card.behaviour, card.summary
        success = ChargeOutcome("succeeded", intent_id, card=summary)
        if behaviour.kind == "decline" and behaviour.decline is not None:
            return ChargeOutcome(
                "declined", intent_id, card=summary, failure=behaviour.decline
            ), None
        if behaviour.kind == "require_action":
            if off_session:
                decline = DeclineInfo("authentication_required", "authentication_required")
                return ChargeOutcome("declined", intent_id, card=summary, failure=decline), None
            secret = f"{intent_id}_secret_fake"
            return ChargeOutcome("requires_action", intent_id, secret, summary), success
        return success, None

    def _settle(self, intent: _Intent, outcome: ChargeOutcome) -> None:
        intent.charge = replace(intent.charge, outcome=outcome)
        self.charges = [
            intent.charge if c.payment_intent_id == outcome.payment_intent_id else c
            for c in self.charges
        ]

    def ping(self) -> None:
        """``HealthProbe``: one counted request; raises while ``unavailable`` is set."""
        self._request()

    def _request(self) -> None:
        """One request toward 'Stripe': counted, delayed by ``latency``, maybe refused."""
        with self._lock:
            self.requests += 1
            self.request_times.append(time.monotonic())
            unavailable = self.unavailable
        if self.latency > 0:
            self._sleep(self.latency)
        if unavailable:
            raise PaymentGatewayUnavailable(reason="connection")

    def _card(self, payment_method_id: str) -> _Card:
        card = self._cards.get(payment_method_id)
        if card is None:
            raise PaymentMethodInvalid(reason="missing")
        return card

    def _new_id(self, prefix: str) -> str:
        return f"{prefix}_fake{next(self._ids):010d}"


def _refund_outcome(refund: FakeRefund) -> RefundOutcome:
    if refund.status == "failed":
        return RefundOutcome("failed", refund.refund_id, refund.amount, "expired_or_canceled_card")
    return RefundOutcome(refund.status, refund.refund_id, refund.amount)
