"""The payment-gateway port: what the billing services need from Stripe, as a Protocol.

Two adapters implement it: ``adapters.stripe_gateway.StripeGateway`` (stripe-python over the
network, contract-tested against the embedded localstripe) and
``adapters.fake_payments.FakePaymentGateway`` (in memory, for unit tests and the dunning
benchmark).  Both speak only domain types (:mod:`chalicelib.domain.payments`) and raise only
domain errors:

* :class:`~chalicelib.domain.payments.CardDeclined` when the issuer refuses a card outside a
  charge (attaching it); inside :meth:`PaymentGateway.charge` a decline is an *outcome*
  (``status == "declined"``), because a charge attempt is a stored record that must learn how
  it ended;
* :class:`~chalicelib.domain.payments.PaymentMethodInvalid` for an unknown PaymentMethod, one
  of another customer, or card-number-like input (checked before any request);
* :class:`~chalicelib.domain.payments.PaymentGatewayUnavailable` when the request was not
  processed (connection failure, rate limit, Stripe errors after its own retries);
* :class:`~chalicelib.domain.payments.PaymentOutcomeUnknown`, from ``charge`` only, when the
  request may have been processed but no answer came back.  Replay with the same idempotency
  key (Stripe answers with the original result for 24 hours), and after that look the
  PaymentIntent up with :meth:`find_attempt`; never charge with a new key.

Idempotency keys are the caller's, derived from stored records (``charge:<id>:attempt:<n>``,
ST1); the gateway never invents them for charges or customers.
"""

from __future__ import annotations

from typing import Any, Mapping, Protocol, Sequence

from chalicelib.domain.payments import (
    CardSummary,
    ChargeOutcome,
    PaymentEvent,
    RefundOutcome,
    SavedCard,
)
from chalicelib.services.ports import HealthProbe


class PaymentGateway(HealthProbe, Protocol):
    def create_customer(self, account_id: str, email: str, name: str, idempotency_key: str) -> str:
        """Create the Stripe Customer of an account; its id (same key -> same customer)."""
        ...

    def attach_card(self, customer_id: str, payment_method_id: str) -> CardSummary:
        """Attach a PaymentMethod made by Stripe.js to the customer and make it the default
        (``invoice_settings.default_payment_method``).  Raises CardDeclined when the issuer
        refuses it, PaymentMethodInvalid when it does not exist or belongs to another
        customer."""
        ...

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
        """Edit the expiry and billing details of a card on file (only the given fields are
        sent; Stripe keeps the others).  CardDeclined when Stripe refuses the new details."""
        ...

    def create_card_setup(self, customer_id: str) -> str:
        """Start saving a card for off-session use: a SetupIntent (``usage=off_session``) for
        the customer; its client_secret, which Stripe.js confirms with the card (the
        resulting PaymentMethod then comes to :meth:`attach_card`)."""
        ...

    def get_card(self, payment_method_id: str) -> CardSummary:
        """The summary of a PaymentMethod."""
        ...

    def list_cards(self, customer_id: str) -> list[SavedCard]:
        """The card PaymentMethods attached to the customer, newest first (every page)."""
        ...

    def detach_card(self, payment_method_id: str) -> None:
        """Detach a PaymentMethod from its customer (it can never be charged again).
        PaymentMethodInvalid when it does not exist or is attached to no customer."""
        ...

    def charge(  # noqa: PLR0917 - keyword-only would change both adapters (structure, credit)
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
        """Create and confirm one PaymentIntent for ``amount`` minor units of ``currency``.

        Off-session (renewals, scheduled retries) confirms with ``off_session=True``; a bank
        asking for authentication then comes back as ``declined`` with
        ``authentication_required`` (a hard decline).  On-session (the customer
        pays from the console) it sets ``setup_future_usage=off_session`` (the card is kept
        for the renewals) and comes back as ``requires_action`` with the ``client_secret``
        Stripe.js needs when the bank asks.  Raises PaymentOutcomeUnknown when the answer was lost.
        """
        ...

    def find_payment(self, payment_intent_id: str) -> ChargeOutcome:
        """The current state of a PaymentIntent (reconciliation)."""
        ...

    def find_attempt(
        self, customer_id: str, idempotency_key: str, charge_ids: Sequence[str]
    ) -> ChargeOutcome | None:
        """The PaymentIntent one stored attempt created, found by its metadata
        (``attempt_key``, or ``charge_ids`` for attempts made before it was sent), or None
        when it never reached Stripe.  Used once the 24 h idempotency window is over.  When
        several match (older attempts on the same charges), a succeeded one wins, then one
        still in progress, then the attempt's own."""
        ...

    def refund(
        self,
        payment_intent_id: str,
        amount: int,
        idempotency_key: str,
        metadata: Mapping[str, str],
    ) -> RefundOutcome:
        """Give back ``amount`` minor units of a succeeded PaymentIntent (Stripe's Refund API,
        ``refunds.create``).  The key is derived from the stored credit note
        (``refund:<credit note id>``): the same key replays the first refund.  Raises
        PaymentOutcomeUnknown when the answer was lost (replay with the same key),
        PaymentGatewayUnavailable when nothing was processed, PaymentRequestRejected when
        Stripe refuses it (already refunded, amount above what is left)."""
        ...

    def find_refund(self, payment_intent_id: str, credit_note_id: str) -> RefundOutcome | None:
        """The refund of the PaymentIntent made for a credit note, found by the
        ``credit_note_id`` of its metadata, or None when none reached Stripe.  Used once the
        24 h idempotency window of the refund's key is over.  When several match, a
        succeeded one wins, then a pending one."""
        ...


class PaymentEvents(Protocol):
    """The gateway's webhook events: the signature checked on the raw body, then parsed into
    domain terms (``adapters.stripe_gateway.StripeEvents``)."""

    def verified(self, raw: bytes, signature: str | None) -> PaymentEvent:
        """The event of a signed body.  Raises ``InvalidInput("invalid_signature")`` when the
        signature does not check out (or the signed body is not a JSON object),
        ``invalid_json`` / ``json_too_deep`` for a signed body that is not JSON, and
        :class:`~chalicelib.domain.payments.MalformedEvent` for a signed JSON object whose
        shape is not an event's (see :meth:`parse`)."""
        ...

    def parse(self, payload: Mapping[str, Any]) -> PaymentEvent:
        """The event of a decoded, already verified body; MalformedEvent (with the event id
        when it is usable) when its shape is not the gateway's."""
        ...
