"""Stripe's webhook events, once verified: parsed, checked, applied once, never a 500.

:meth:`WebhookService.receive_signed` takes the raw body and its ``Stripe-Signature`` from
the route:

* the gateway's :class:`~chalicelib.services.payment_ports.PaymentEvents` (injected by the
  wiring: the signature scheme and the shape of a Stripe event are the adapter's business)
  checks the signature (a bad one is a 400 ``invalid_signature`` that writes nothing) and
  parses the event.  A malformed one (``data``,
  ``data.object`` or ``metadata`` of the wrong type, a missing or oversized id) raises
  :class:`~chalicelib.domain.payments.MalformedEvent` (400 ``invalid_event``) after it is
  recorded as rejected: a ``REJECTED_EVENT`` marker with the reason when the id is usable,
  and a ``webhook.rejected`` log line either way;
* each effect lives in the service that owns it (:class:`DunningService` for payments and
  cards, :class:`Settlement` under it) and writes the event id in the same transaction, so a
  duplicate is a 200 that changes nothing.  Two distinct events racing for one charge (Stripe
  sends ``payment_intent.succeeded`` and, say, a replayed ``charge.succeeded``-driven copy at
  the same moment) lose a conditional write at most: the loser re-reads and re-applies (here,
  up to :data:`APPLY_RETRIES` times, on top of the settlement's own retries), and a
  re-applied success that finds the charge paid only records its event;
* ``charge.refunded`` (a refund made in Stripe's dashboard, or the echo of one made here)
  issues the credit note for what no credit note accounts for yet, once;
  ``charge.dispute.created`` marks the invoice ``disputed`` and mails support, once
  (:class:`~chalicelib.services.credit_notes.CreditNoteService`).  The account is found from
  the Charge's customer (the ``CUSTOMER`` marker); one the service does not know is recorded
  and logged only;
* ``refund.updated`` / ``refund.failed`` / ``charge.refund.updated`` (a Refund whose status
  changed: a pending one settled, or a succeeded one that failed later) store the outcome on
  the credit note named by the refund's metadata, once, with the event id
  (:meth:`~chalicelib.services.credit_notes.CreditNoteService.refund_updated`); a failure
  mails support.  A refund of no credit note of ours is recorded only.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from contextlib import suppress
from typing import Any, Literal

from chalicelib.domain.account import AccountChange, Marker, MarkerKind
from chalicelib.domain.errors import ConcurrentUpdate, DependencyUnavailable, MarkerExists
from chalicelib.domain.payments import REFUND_EVENTS, MalformedEvent, PaymentEvent
from chalicelib.logs import log_event
from chalicelib.services.credit_notes import CreditNoteService
from chalicelib.services.dunning import DunningService
from chalicelib.services.payment_ports import PaymentEvents
from chalicelib.services.ports import BillingRepository

Outcome = Literal["applied", "duplicate", "recorded"]
APPLY_RETRIES = 5
RECORDED_ONLY = ("charge.refunded", "charge.dispute.created")


class WebhookService:
    def __init__(
        self,
        repo: BillingRepository,
        dunning: DunningService,
        events: PaymentEvents,
        credit_notes: CreditNoteService | None = None,
    ) -> None:
        self._repo = repo
        self._dunning = dunning
        self._events = events
        self._credit_notes = credit_notes

    def receive_signed(self, raw: bytes, signature: str | None) -> Outcome:
        """``POST /webhooks/stripe``: verify, parse and apply one event; what happened."""
        return self._receive(lambda: self._events.verified(raw, signature))

    def receive(self, payload: Mapping[str, Any]) -> Outcome:
        """Apply one verified, decoded event; what happened (for the answer, logs and tests)."""
        return self._receive(lambda: self._events.parse(payload))

    def _receive(self, parsed: Callable[[], PaymentEvent]) -> Outcome:
        try:
            event = parsed()
        except MalformedEvent as malformed:
            self._reject(malformed)
            raise
        for _ in range(APPLY_RETRIES):
            try:
                return self._apply(event)
            except MarkerExists:
                return "duplicate"
            except ConcurrentUpdate:
                continue  # another writer won: read again and apply again
        raise DependencyUnavailable()  # still losing races: Stripe redelivers later

    def _apply(self, event: PaymentEvent) -> Outcome:
        dunning = self._dunning
        if event.type == "payment_intent.succeeded" and event.account_id and event.charge_ids:
            assert event.object_id is not None  # the parser requires it for this type
            done = dunning.settle_succeeded_intent(
                event.id, event.account_id, event.charge_ids, event.object_id
            )
            return "applied" if done else "duplicate"
        if event.type == "payment_method.automatically_updated" and event.card is not None:
            customer = event.customer_id
            account_id = self._repo.get_marker(MarkerKind.CUSTOMER, customer) if customer else None
            if account_id and event.object_id:
                done = dunning.card_updated_by_network(
                    event.id, account_id, event.object_id, event.card
                )
                return "applied" if done else "duplicate"
        if (
            event.type in REFUND_EVENTS
            and self._credit_notes is not None
            and event.account_id
            and event.credit_note_id
            and event.refund is not None
        ):
            stored = self._credit_notes.refund_updated(
                event.id, event.account_id, event.credit_note_id, event.refund
            )
            if stored is not None:
                return "applied" if stored else "recorded"
        if event.type in RECORDED_ONLY and self._credit_notes is not None:
            outcome = self._refund_or_dispute(event, self._credit_notes)
            if outcome is not None:
                return outcome
        if not dunning.record_event(event.id):
            return "duplicate"
        if event.type in RECORDED_ONLY:
            # a payment this service does not know (no account, no invoice): kept and logged
            log_event(
                "webhook.recorded_for_later",
                event_id=event.id,
                type=event.type,
                object_id=event.object_id,
                payment_intent_id=event.payment_intent_id,
            )
        # payment_intent.payment_failed and the rest: the synchronous path or the retry job
        # records failures; a late failure event must not move a charge backwards.
        return "recorded"

    def _refund_or_dispute(
        self, event: PaymentEvent, credit_notes: CreditNoteService
    ) -> Outcome | None:
        """Apply a refund or a dispute to the invoices its payment paid; None when the payment
        is not one of ours (then it is only recorded)."""
        customer, intent = event.customer_id, event.payment_intent_id
        account_id = event.account_id or (
            self._repo.get_marker(MarkerKind.CUSTOMER, customer) if customer else None
        )
        if account_id is None or intent is None:
            return None
        if event.type == "charge.refunded":
            applied = credit_notes.refunded_at_stripe(
                event.id, account_id, intent, event.amount_refunded or 0
            )
        else:
            applied = credit_notes.disputed(event.id, account_id, intent)
        if applied is None:
            return None
        return "applied" if applied else "recorded"

    def _reject(self, malformed: MalformedEvent) -> None:
        log_event("webhook.rejected", event_id=malformed.event_id, reason=malformed.reason)
        if malformed.event_id is None:
            return
        marker = Marker(
            MarkerKind.REJECTED_EVENT, malformed.event_id, malformed.reason, unique=False
        )
        # the log line above is the record if this write fails; the 400 stands either way
        with suppress(ConcurrentUpdate, DependencyUnavailable):
            self._repo.commit(AccountChange(markers=(marker,)))
