"""Public routes: health, the OpenAPI document, plans (named in the request's language), the
vendor (its VAT number always set: the seller identity is required outside the local stage),
countries."""

from __future__ import annotations

from typing import Any

from chalice.app import Blueprint, Response

from chalicelib.api.http import RequestContext, endpoint, json_response
from chalicelib.config import get_settings

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
    bp, "/plans", "GET", tag="meta", summary="Plans on offer", auth=False, response="PlansResponse"
)
def plans(ctx: RequestContext) -> dict[str, Any]:
    from chalicelib.i18n.invoices import plan_description, plan_label

    return {
        "items": [
            {
                "id": p.id,
                "name": plan_label(p.id, ctx.locale, p.name),
                "amount": p.amount,
                "currency": p.currency,
                "interval": p.interval,
                "per_seat": p.per_seat,
                "description": plan_description(p.id, ctx.locale),
            }
            for p in get_settings().plans
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
