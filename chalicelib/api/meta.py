"""Public routes: health, the OpenAPI document, plans (named in the request's language), the
vendor (its VAT number always set: the seller identity is required outside the local stage),
countries."""

from __future__ import annotations

import re
from typing import Any

from chalice.app import Blueprint, Response

from chalicelib.api.http import RequestContext, endpoint, json_response
from chalicelib.config import get_settings

bp = Blueprint(__name__)

_COUNTRY = re.compile(r"^[A-Z]{2}$")
_POSTAL = re.compile(r"^[A-Za-z0-9 -]{1,16}$")


@endpoint(
    bp,
    "/health",
    "GET",
    tag="meta",
    summary="Each dependency's state (DynamoDB, SES, Stripe); 503 when one is down",
    auth=False,
    response="HealthResponse",
    other_responses=((503, "HealthResponse"),),
)
def health(ctx: RequestContext) -> Response:
    from chalicelib.wiring import container

    report = container().health.check()
    return json_response(report.to_json(), 200 if report.healthy else 503)


@endpoint(
    bp, "/openapi.json", "GET", tag="meta", summary="This API's OpenAPI 3 document", auth=False
)
def openapi(ctx: RequestContext) -> dict[str, Any]:
    from chalicelib.api.openapi import openapi_document

    return openapi_document()


@endpoint(
    bp,
    "/plans",
    "GET",
    tag="meta",
    summary="Plans on offer, with the price to pay (net, VAT, total) for the billing country: "
    "the signed-in account's (optional bearer token), else `country` (default: the seller's)",
    auth=False,
    response="PlansResponse",
    query=(
        ("country", "string", "ISO 3166-1 alpha-2, for visitors not signed in"),
        ("postal_code", "string", "for territories outside EU VAT (Canary Islands...)"),
    ),
)
def plans(ctx: RequestContext) -> dict[str, Any]:
    from chalicelib.domain.errors import InvalidInput, NotAuthenticated
    from chalicelib.i18n.invoices import plan_description, plan_label
    from chalicelib.services.invoicing import price_for_account, price_for_country
    from chalicelib.wiring import container

    settings = get_settings()
    unknown = sorted(set(ctx.query) - {"country", "postal_code"})
    if unknown:
        raise InvalidInput("unknown_field", fields={name[:64]: "field_unknown" for name in unknown})
    country = ctx.query.get("country", settings.vendor_country).upper()
    postal_code = ctx.query.get("postal_code") or None
    if not _COUNTRY.match(country):
        raise InvalidInput(fields={"country": "invalid_country"})
    if postal_code is not None and not _POSTAL.match(postal_code):
        raise InvalidInput(fields={"postal_code": "field_invalid"})
    account = None
    authorization = ctx.headers.get("authorization", "")
    if authorization.lower().startswith("bearer "):
        try:  # signed in: the account's billing address and VAT ID decide, as on its invoice
            account = container().auth.authenticate(authorization[7:].strip(), ctx.ip).account
        except NotAuthenticated:
            account = None  # an expired token sees the visitor's prices
    today = container().clock.now().date()
    items = []
    for p in settings.plans:
        price = (
            price_for_account(p.amount, account, settings, today)
            if account is not None
            else price_for_country(p.amount, country, postal_code, settings, today)
        )
        items.append(
            {
                "id": p.id,
                "name": plan_label(p.id, ctx.locale, p.name),
                "amount": p.amount,
                "currency": p.currency,
                "interval": p.interval,
                "price": price.as_dict(p.currency),
                "per_seat": p.per_seat,
                "description": plan_description(p.id, ctx.locale),
            }
        )
    return {"items": items}


@endpoint(
    bp,
    "/vendor",
    "GET",
    tag="meta",
    summary="The vendor's contact and VAT number",
    auth=False,
    response="VendorResponse",
)
def vendor(ctx: RequestContext) -> dict[str, Any]:
    s = get_settings()
    return {
        "name": s.vendor_name,
        "support_email": s.vendor_support_email,
        "vat_contact_email": s.vendor_vat_contact_email,
        "vat_number": s.vendor_vat_number,
    }


@endpoint(
    bp,
    "/countries",
    "GET",
    tag="meta",
    summary="Countries, named in the request's language",
    auth=False,
    response="CountriesResponse",
)
def countries(ctx: RequestContext) -> dict[str, Any]:
    from chalicelib.domain.countries import EU_VAT_COUNTRIES, ISO_COUNTRIES
    from chalicelib.i18n import country_names

    names = country_names(ctx.locale)
    items = [
        {"code": code, "name": names.get(code, code), "vat_applicable": code in EU_VAT_COUNTRIES}
        for code in ISO_COUNTRIES
    ]
    items.sort(key=lambda item: str(item["name"]))
    return {"items": items}
