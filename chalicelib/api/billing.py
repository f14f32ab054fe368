"""Billing: the billing page, the address, the card, subscribing, invoices (JSON, print, PDF).

Every billing route works while the account is suspended: paying is how it comes back.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from chalice.app import Blueprint, Response
from msgspec.structs import replace

from chalicelib.api.http import (
    Param,
    RequestContext,
    decode_id_cursor,
    encode_id_cursor,
    endpoint,
    int_query,
)
from chalicelib.api.openapi import CURSOR_SCHEMA
from chalicelib.api.views import billing_view, invoice_summary, invoice_view
from chalicelib.domain.account import Account
from chalicelib.domain.billing import Charge, Invoice
from chalicelib.domain.errors import InvalidInput, NotFound
from chalicelib.wiring import container

if TYPE_CHECKING:
    from chalicelib.api import schemas

bp = Blueprint(__name__)

_INVOICE_ID = re.compile(r"^in_[0-9a-f]{25}$")
DEFAULT_CURRENCY = "EUR"


def _billing(
    ctx: RequestContext,
    account: Account,
    vat_notice: str | None = None,
    pending: Sequence[Charge] | None = None,
) -> dict[str, Any]:
    """The billing page; ``pending`` is the open charges when the service that just ran
    answered them (``pay_pending``), else they are read."""
    box = container()
    plan = box.settings.plan(account.plan or "")
    currency = plan.currency if plan else DEFAULT_CURRENCY
    charges = box.billing.pending_charges(account.id) if pending is None else list(pending)
    return billing_view(
        account, charges, ctx.locale, currency, vat_notice, box.settings.retry_schedule_days
    )


@endpoint(
    bp,
    "/billing",
    "GET",
    tag="billing",
    summary="Billing information",
    response="BillingResponse",
    allow_suspended=True,
)
def get_billing(ctx: RequestContext) -> dict[str, Any]:
    return _billing(ctx, ctx.caller.account)


@endpoint(
    bp,
    "/billing/address",
    "PUT",
    tag="billing",
    summary="Set the billing address",
    body="AddressRequest",
    response="BillingResponse",
    allow_suspended=True,
    errors=(409,),
)
def put_address(ctx: RequestContext, body: schemas.AddressRequest) -> dict[str, Any]:
    from chalicelib.domain.billing import Address
    from chalicelib.domain.countries import is_country

    country = body.country.upper()
    if not is_country(country):
        raise InvalidInput(fields={"country": "invalid_country"})
    address = Address(
        name=body.name,
        line1=body.line1,
        line2=body.line2 or None,
        city=body.city,
        postal_code=body.postal_code,
        state=body.state or None,
        country=country,
    )
    account, vat_set_aside = container().billing.set_address(ctx.caller, address)
    return _billing(ctx, account, "vat_set_aside" if vat_set_aside else None)


@endpoint(
    bp,
    "/billing/card",
    "PUT",
    tag="billing",
    summary="Use a new card (a PaymentMethod made by Stripe.js)",
    body="CardRequest",
    response="CardOut",
    allow_suspended=True,
    errors=(402, 409, 503),
)
def put_card(ctx: RequestContext, body: schemas.CardRequest) -> dict[str, Any]:
    from chalicelib.api.views import pending_view

    box = container()
    replaced = box.billing.replace_card(ctx.caller, body.payment_method_id)
    assert replaced.account.card is not None
    answer = replaced.account.card.as_dict()
    if replaced.pending is not None:  # past due: retried at once with the new card
        answer["pending_payment"] = pending_view(
            replaced.pending, ctx.locale, box.settings.retry_schedule_days
        )
    return answer


@endpoint(
    bp,
    "/billing/card/setup-intent",
    "POST",
    tag="billing",
    summary="Start saving a card for renewals (a SetupIntent Stripe.js confirms)",
    response="CardSetupOut",
    allow_suspended=True,
    errors=(503,),
)
def post_card_setup(ctx: RequestContext) -> dict[str, Any]:
    return {"client_secret": container().billing.start_card_setup(ctx.caller)}


def _saved_cards(account: Any) -> dict[str, Any]:
    box = container()
    now = box.clock.now()
    cards = box.cards.saved_cards(account)
    return {"items": [c.as_dict(account.payment_method_id, now) for c in cards]}


@endpoint(
    bp,
    "/billing/cards",
    "GET",
    tag="billing",
    summary="The saved cards, the default (the card charged) first",
    response="SavedCardListOut",
    allow_suspended=True,
    errors=(503,),
)
def list_cards(ctx: RequestContext) -> dict[str, Any]:
    return _saved_cards(ctx.caller.account)


@endpoint(
    bp,
    "/billing/cards/{card_id}",
    "DELETE",
    tag="billing",
    summary="Remove a saved card that is not the default (detached at Stripe)",
    status=204,
    allow_suspended=True,
    errors=(404, 409, 503),
)
def delete_card(ctx: RequestContext, card_id: str) -> None:
    container().cards.remove(ctx.caller, card_id)


@endpoint(
    bp,
    "/billing/cards/{card_id}/default",
    "POST",
    tag="billing",
    summary="Make a saved card the one charged from now on",
    response="SavedCardListOut",
    allow_suspended=True,
    errors=(402, 404, 409, 503),
)
def post_default_card(ctx: RequestContext, card_id: str) -> dict[str, Any]:
    return _saved_cards(container().cards.make_default(ctx.caller, card_id))


@endpoint(
    bp,
    "/billing/pending",
    "GET",
    tag="billing",
    summary="Pending charges",
    response="PendingPaymentOut",
    allow_suspended=True,
)
def get_pending(ctx: RequestContext) -> dict[str, Any]:
    from chalicelib.api.views import pending_view

    box = container()
    account = ctx.caller.account
    view = pending_view(
        box.billing.pending_charges(account.id), ctx.locale, box.settings.retry_schedule_days
    )
    plan = box.settings.plan(account.plan or "")
    currency = plan.currency if plan else DEFAULT_CURRENCY
    return view or {"items": [], "total": {"amount": 0, "currency": currency}}


@endpoint(
    bp,
    "/billing/pending/pay",
    "POST",
    tag="billing",
    summary="Apply pending charges (charges their total once with the card on file)",
    response="PayResponse",
    allow_suspended=True,
    errors=(402, 409, 503),
    headers=(
        Param(
            "Idempotency-Key",
            {"type": "string", "minLength": 1, "maxLength": 255},
            "a repeated key answers what the first request did, charging nothing more",
        ),
    ),
)
def pay_pending(ctx: RequestContext) -> dict[str, Any]:
    key = ctx.headers.get("idempotency-key")
    if key is not None and not 1 <= len(key) <= 255:
        raise InvalidInput(fields={"Idempotency-Key": "field_invalid"})
    result = container().dunning.pay_pending(ctx.caller, key)
    if result.client_secret:
        return {"requires_action": {"client_secret": result.client_secret}}
    account = result.account or ctx.caller.account
    return {"paid": list(result.paid), "billing": _billing(ctx, account, pending=result.pending)}


@endpoint(
    bp,
    "/billing/card",
    "PATCH",
    tag="billing",
    summary="Edit the card on file",
    body="CardPatchRequest",
    response="CardOut",
    allow_suspended=True,
    errors=(404, 409, 503),
)
def patch_card(ctx: RequestContext, body: schemas.CardPatchRequest) -> dict[str, Any]:
    from chalicelib.services.billing import CardChanges

    changes = CardChanges(**{k: getattr(body, k) for k in body.model_fields_set})
    if changes.country is not None:
        changes = replace(changes, country=changes.country.upper())
    account = container().billing.edit_card(ctx.caller, changes)
    assert account.card is not None
    return account.card.as_dict()


@endpoint(
    bp,
    "/billing/subscribe",
    "POST",
    tag="billing",
    summary="Subscribe to a plan (charges the first period)",
    body="SubscribeRequest",
    response="BillingResponse",
    allow_suspended=True,
    errors=(402, 409, 503),
)
def subscribe(ctx: RequestContext, body: schemas.SubscribeRequest) -> dict[str, Any]:
    account = container().billing.subscribe(
        ctx.caller,
        body.plan,
        seats=body.seats,
        expected_total=body.expected_total,
        withdrawal_consent=body.withdrawal_consent,
    )
    return _billing(ctx, account)


def _idempotency_key(ctx: RequestContext) -> str | None:
    key = ctx.headers.get("idempotency-key")
    if key is not None and not 1 <= len(key) <= 255:
        raise InvalidInput(fields={"Idempotency-Key": "field_invalid"})
    return key


@endpoint(
    bp,
    "/billing/subscription/preview",
    "POST",
    tag="billing",
    summary="What a plan or seat change would cost, with the proration (nothing is charged)",
    body="SubscriptionChangeRequest",
    response="PreviewResponse",
    errors=(409,),
)
def preview_subscription(ctx: RequestContext, body: Any) -> dict[str, Any]:
    from chalicelib.domain.ids import utc_iso
    from chalicelib.domain.plans import ChangeKind

    p = container().subscription.preview(ctx.caller, body.plan, body.seats, ctx.locale)
    effective = {ChangeKind.IMMEDIATE: "now", ChangeKind.SCHEDULED: "renewal"}
    return {
        "effective": effective.get(p.kind, "none"),
        "plan": p.plan,
        "seats": p.seats,
        "now": {
            "net": p.now.net,
            "tax": p.now.tax,
            "total": p.now.total,
            "currency": p.now.currency,
        },
        "next_renewal": {
            "at": utc_iso(p.renewal_at),
            "net": p.renewal.net,
            "tax": p.renewal.tax,
            "total": p.renewal.total,
            "currency": p.renewal.currency,
        },
        "lines": [
            {
                "kind": line.kind.value,
                "description": line.description,
                "quantity": line.quantity,
                "unit_amount": line.unit_amount,
                "amount": line.amount,
                "plan": line.plan,
                "seats": line.seats,
                "period_start": utc_iso(line.period_start),
                "period_end": utc_iso(line.period_end),
            }
            for line in p.lines
        ],
    }


@endpoint(
    bp,
    "/billing/subscription",
    "PATCH",
    tag="billing",
    summary="Change plan or seats: an upgrade is charged now (prorated), a downgrade waits "
    "for the renewal",
    body="SubscriptionChangeRequest",
    response="BillingResponse",
    errors=(402, 409, 503),
)
def patch_subscription(ctx: RequestContext, body: Any) -> dict[str, Any]:
    changed = container().subscription.change(
        ctx.caller, body.plan, body.seats, _idempotency_key(ctx)
    )
    view = _billing(ctx, changed.account)
    if changed.invoice_id:
        view["invoice_id"] = changed.invoice_id
    return view


@endpoint(
    bp,
    "/billing/subscription/scheduled-change",
    "DELETE",
    tag="billing",
    summary="Withdraw the plan or seat change scheduled for the renewal",
    response="BillingResponse",
    errors=(409,),
)
def delete_scheduled_change(ctx: RequestContext) -> dict[str, Any]:
    return _billing(ctx, container().subscription.cancel_scheduled_change(ctx.caller))


@endpoint(
    bp,
    "/billing/invoices",
    "GET",
    tag="billing",
    summary="Invoices, newest first",
    response="InvoiceListResponse",
    allow_suspended=True,
    query=(
        Param("limit", {"type": "integer", "minimum": 1, "maximum": 100, "default": 20}),
        Param("cursor", CURSOR_SCHEMA, "next_cursor of the previous page"),
    ),
)
def list_invoices(ctx: RequestContext) -> dict[str, Any]:
    limit = int_query(ctx.query, "limit", default=20, low=1, high=100)
    after = decode_id_cursor(ctx.query.get("cursor"), _INVOICE_ID)
    invoices, next_after = container().billing.invoices(ctx.caller, limit, after)
    return {
        "items": [invoice_summary(i) for i in invoices],
        "next_cursor": encode_id_cursor(next_after),
    }


def _invoice_in_path(params: dict[str, str]) -> str | None:
    """The invoice id of the path, when well-formed (read with the session: one round trip)."""
    invoice_id = params.get("invoice_id", "")
    return invoice_id if _INVOICE_ID.match(invoice_id) else None


def _check_invoice_id(invoice_id: str) -> None:
    """404 for what cannot be an invoice id (never read)."""
    if not _INVOICE_ID.match(invoice_id):
        raise NotFound("invoice_not_found")


def _invoice(ctx: RequestContext, invoice_id: str) -> Invoice:
    _check_invoice_id(invoice_id)
    return container().billing.invoice(ctx.caller, invoice_id)


@endpoint(
    bp,
    "/billing/invoices/{invoice_id}",
    "GET",
    tag="billing",
    summary="One invoice",
    response="InvoiceResponse",
    allow_suspended=True,
    read_ahead=_invoice_in_path,
    errors=(404,),
)
def get_invoice(ctx: RequestContext, invoice_id: str) -> dict[str, Any]:
    return invoice_view(_invoice(ctx, invoice_id), ctx.locale)


@endpoint(
    bp,
    "/billing/invoices/{invoice_id}/print",
    "GET",
    tag="billing",
    summary="The invoice and its transaction summary, laid out for printing",
    allow_suspended=True,
    read_ahead=_invoice_in_path,
    errors=(404,),
    content_type="text/html",
)
def print_invoice(ctx: RequestContext, invoice_id: str) -> Response:
    from chalicelib.api.documents import document_response, invoice_html

    invoice = _invoice(ctx, invoice_id)
    return document_response(invoice_html(invoice, ctx.locale), "print", invoice.number)


@endpoint(
    bp,
    "/billing/invoices/{invoice_id}/pdf",
    "GET",
    tag="billing",
    summary="The invoice as a Factur-X PDF/A-3 (its EN 16931 XML embedded as factur-x.xml)",
    allow_suspended=True,
    read_ahead=_invoice_in_path,
    read_ahead_pdf=True,
    errors=(404,),
    content_type="application/pdf",
)
def pdf_invoice(ctx: RequestContext, invoice_id: str) -> Response:
    from chalicelib.api.documents import document_response

    _check_invoice_id(invoice_id)
    pdf = container().documents.invoice_pdf(ctx.caller, invoice_id, ctx.locale)
    return document_response(pdf.content, "pdf", pdf.number)


@endpoint(
    bp,
    "/billing/invoices/{invoice_id}/xml",
    "GET",
    tag="billing",
    summary="The invoice as EN 16931 CII XML (the factur-x.xml embedded in its PDF)",
    allow_suspended=True,
    errors=(404,),
    content_type="application/xml",
)
def xml_invoice(ctx: RequestContext, invoice_id: str) -> Response:
    from chalicelib.api.documents import document_response
    from chalicelib.documents.render import invoice_xml

    invoice = _invoice(ctx, invoice_id)
    xml = invoice_xml(invoice, ctx.locale).decode("utf-8")
    return document_response(xml, "xml", invoice.number)


def _vat_view(account: Account) -> dict[str, Any]:
    from chalicelib.domain.vat import vat_applicable
    from chalicelib.services.vat import billing_country

    return {
        "applicable": vat_applicable(billing_country(account)),
        "vat_id": account.vat_id,
        "status": account.vat_status,
    }


@endpoint(
    bp,
    "/billing/vat",
    "PUT",
    tag="billing",
    summary="Add or change the EU VAT ID (checked offline, then with VIES)",
    body="VatRequest",
    response="VatOut",
    allow_suspended=True,
    errors=(409,),
)
def put_vat(ctx: RequestContext, body: schemas.VatRequest) -> dict[str, Any]:
    return _vat_view(container().vat.set_vat_id(ctx.caller, body.vat_id))


@endpoint(
    bp,
    "/billing/vat",
    "DELETE",
    tag="billing",
    summary="Remove the VAT ID",
    status=204,
    allow_suspended=True,
    errors=(409,),
)
def delete_vat(ctx: RequestContext) -> None:
    container().vat.remove_vat_id(ctx.caller)
