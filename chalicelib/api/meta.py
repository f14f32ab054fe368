"""Public routes: health, the OpenAPI document, plans (named in the request's language), the
vendor (its VAT number always set: the seller identity is required outside the local stage),
countries."""

from __future__ import annotations

from typing import Any

from chalice.app import Blueprint, Response

from chalicelib.api.http import Param, RequestContext, endpoint, json_response
from chalicelib.config import get_settings
from chalicelib.domain.countries import ISO_COUNTRIES

bp = Blueprint(__name__)


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
        Param(
            "country",
            {"type": "string", "enum": list(ISO_COUNTRIES)},
            "ISO 3166-1 alpha-2, for visitors not signed in (default: the seller's)",
        ),
        Param(
            "postal_code",
            {"type": "string", "pattern": "^[A-Za-z0-9 -]{0,16}$"},
            "for territories outside EU VAT (Canary Islands, Ceuta, Melilla); empty: none",
        ),
    ),
)
def plans(ctx: RequestContext) -> dict[str, Any]:
    from chalicelib.domain.errors import InvalidInput
    from chalicelib.wiring import container

    unknown = sorted(set(ctx.query) - {"country", "postal_code"})
    if unknown:
        raise InvalidInput("unknown_field", fields={name[:64]: "field_unknown" for name in unknown})
    authorization = ctx.headers.get("authorization", "")
    bearer = authorization[7:].strip() if authorization.lower().startswith("bearer ") else None
    offers = container().catalog.offers(
        locale=ctx.locale,
        token=bearer,
        ip=ctx.ip,
        country=ctx.query.get("country"),
        postal_code=ctx.query.get("postal_code") or None,
    )
    return {
        "items": [
            {
                "id": o.plan.id,
                "name": o.name,
                "amount": o.plan.amount,
                "currency": o.plan.currency,
                "interval": o.plan.interval,
                "price": o.price.as_dict(o.plan.currency),
                "per_seat": o.plan.per_seat,
                "description": o.description,
            }
            for o in offers
        ]
    }


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
