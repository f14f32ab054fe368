"""Saved cards: the cards attached to the account's Stripe customer, listed, made the default,
removed.

How a card becomes a saved card: every card the customer gives (``PUT /billing/card``, after
Stripe.js confirmed the SetupIntent) is attached to their Stripe customer and becomes the
*default*, the card on file that renewals and retries charge; the card it replaces stays
attached, as a saved card, until the customer removes it.  Stripe is the record of which cards
are saved (a card saved through a SetupIntent but never sent to ``PUT /billing/card`` is listed
too); the account keeps which one is the default (``payment_method_id``) and its summary.

* listing reads the customer's card PaymentMethods from Stripe (one call), default first;
* making one the default is :meth:`BillingService.replace_card` with an already attached card
  (the same rules: an expired card is refused, what the account owes is retried at once with
  it);
* removing one detaches it at Stripe (it can never be charged again); the default cannot be
  removed (409 ``default_card``: make another the default first, or cancel);
* a card id that is not one of the caller's saved cards is 404 ``card_not_found`` (another
  account's card, a detached one, a malformed id): the same answer for all of them.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable

from chalicelib.domain.account import Account, AccountChange, AuditEvent, Caller
from chalicelib.domain.errors import Conflict, NotFound
from chalicelib.domain.payments import PaymentMethodInvalid, SavedCard, check_payment_method_id
from chalicelib.logs import log_event
from chalicelib.services.billing import BillingService
from chalicelib.services.payment_ports import PaymentGateway
from chalicelib.services.ports import BillingRepository, Clock


class CardService:
    def __init__(
        self,
        repo: BillingRepository,
        gateway: Callable[[], PaymentGateway],
        clock: Clock,
        billing: BillingService,
    ) -> None:
        self._repo = repo
        self._gateway = gateway
        self._clock = clock
        self._billing = billing

    def saved_cards(self, account: Account) -> list[SavedCard]:
        """The saved cards, the default first, then newest first."""
        if account.customer_id is None:
            return []
        cards = self._gateway().list_cards(account.customer_id)
        default = account.payment_method_id
        return sorted(cards, key=lambda c: c.id != default)  # stable: newest first after it

    def _saved(self, account: Account, card_id: str) -> SavedCard:
        try:
            check_payment_method_id(card_id)
        except PaymentMethodInvalid:
            raise NotFound("card_not_found") from None
        found = next((c for c in self.saved_cards(account) if c.id == card_id), None)
        if found is None:
            raise NotFound("card_not_found")
        return found

    def remove(self, caller: Caller, card_id: str) -> None:
        """Detach a saved card that is not the default."""
        account = caller.account
        card = self._saved(account, card_id)
        if card.id == account.payment_method_id:
            raise Conflict("default_card")
        # detached meanwhile (another tab, the dashboard): it is gone either way
        with contextlib.suppress(PaymentMethodInvalid):
            self._gateway().detach_card(card.id)
        self._repo.commit(
            AccountChange(
                audit=(
                    AuditEvent(
                        account.id,
                        self._clock.now(),
                        "card_removed",
                        ip=caller.ip,
                        details={"brand": card.card.brand, "last4": card.card.last4},
                    ),
                )
            )
        )
        log_event("billing.card_removed", account_id=account.id, ip=caller.ip)

    def make_default(self, caller: Caller, card_id: str) -> Account:
        """Make a saved card the one charged from now on; what the account owes is retried
        with it at once (as with a new card)."""
        self._saved(caller.account, card_id)
        return self._billing.replace_card(caller, card_id).account
