"""The plan catalogue as a customer sees it (``GET /plans``): each plan named and described in
the request's language, with the price to pay for it now (net, VAT, total).

Whose price: a signed-in caller's (its billing address and VAT ID decide, exactly as on the
invoice it would get: ``services.invoicing.price_for_account``); a visitor's from the country
(and postal code, for territories outside EU VAT such as the Canary Islands) it names, the
seller's country by default, as a consumer.  An expired or unknown token is a visitor: the
list is public.  A per-seat plan's price is for one seat.
"""

from __future__ import annotations

import re

from msgspec import Struct

from chalicelib.config import Plan, Settings
from chalicelib.domain.account import Account
from chalicelib.domain.countries import ISO_COUNTRIES
from chalicelib.domain.errors import InvalidInput, NotAuthenticated
from chalicelib.i18n.invoices import plan_description, plan_label
from chalicelib.services.auth import AuthService
from chalicelib.services.invoicing import Price, price_for_account, price_for_country
from chalicelib.services.ports import Clock

_POSTAL = re.compile(r"^[A-Za-z0-9 -]{1,16}$")


class PlanOffer(Struct, frozen=True):
    plan: Plan
    name: str
    description: str | None
    price: Price


class PlanCatalog:
    def __init__(self, settings: Settings, clock: Clock, auth: AuthService) -> None:
        self._settings = settings
        self._clock = clock
        self._auth = auth

    def offers(
        self,
        *,
        locale: str,
        token: str | None = None,
        ip: str = "",
        country: str | None = None,
        postal_code: str | None = None,
    ) -> list[PlanOffer]:
        """Every plan on offer with its price for the caller (``token``) or the visitor in
        ``country``; 400 for a country that is not an ISO 3166-1 alpha-2 code or an odd postal
        code."""
        visitor_country = (country or self._settings.vendor_country).upper()
        if visitor_country not in ISO_COUNTRIES:
            raise InvalidInput(fields={"country": "invalid_country"})
        if postal_code is not None and not _POSTAL.match(postal_code):
            raise InvalidInput(fields={"postal_code": "field_invalid"})
        account = self._signed_in(token, ip)
        today = self._clock.now().date()
        offers = []
        for plan in self._settings.plans:
            price = (
                price_for_account(plan.amount, account, self._settings, today)
                if account is not None
                else price_for_country(
                    plan.amount, visitor_country, postal_code, self._settings, today
                )
            )
            offers.append(
                PlanOffer(
                    plan,
                    plan_label(plan.id, locale, plan.name),
                    plan_description(plan.id, locale),
                    price,
                )
            )
        return offers

    def _signed_in(self, token: str | None, ip: str) -> Account | None:
        if not token:
            return None
        try:
            return self._auth.authenticate(token, ip).account
        except NotAuthenticated:
            return None  # an expired token sees the visitor's prices
