"""Credit notes (the customer's, beside the invoices) and support's refunds.

Thin routes over :class:`~chalicelib.services.credit_notes.CreditNoteService`: the list (paged
like invoices, newest first), one credit note as JSON, its print view, its Factur-X PDF (type
381, referring to its invoice) and XML; and ``POST /support/invoices/{id}/refund`` (support
key, ``Idempotency-Key``).  Like invoices, credit notes are readable while the account is
suspended.
"""

from __future__ import annotations

import re
from typing import Any

from chalice.app import Blueprint, Response

from chalicelib.api.http import (
    Param,
    RequestContext,
    decode_id_cursor,
    encode_id_cursor,
    endpoint,
    int_query,
)
from chalicelib.api.openapi import CURSOR_SCHEMA
from chalicelib.api.views import credit_note_summary, credit_note_view
from chalicelib.domain.credit_notes import CreditNote
from chalicelib.domain.errors import InvalidInput, NotFound
from chalicelib.wiring import container

bp = Blueprint(__name__)

_CREDIT_NOTE_ID = re.compile(r"^cn_[0-9a-f]{25}$")
_INVOICE_ID = re.compile(r"^in_[0-9a-f]{25}$")


def _check_id(credit_note_id: str) -> None:
    """404 for what cannot be a credit note id (never read)."""
    if not _CREDIT_NOTE_ID.match(credit_note_id):
        raise NotFound("credit_note_not_found")


def _note(ctx: RequestContext, credit_note_id: str) -> CreditNote:
    _check_id(credit_note_id)
    return container().credit_notes.credit_note(ctx.caller, credit_note_id)


@endpoint(
    bp,
    "/billing/credit-notes",
    "GET",
    tag="billing",
    summary="Credit notes, newest first",
    response="CreditNoteListResponse",
    allow_suspended=True,
    query=(
        Param("limit", {"type": "integer", "minimum": 1, "maximum": 100, "default": 20}),
        Param("cursor", CURSOR_SCHEMA, "next_cursor of the previous page"),
    ),
)
def list_credit_notes(ctx: RequestContext) -> dict[str, Any]:
    limit = int_query(ctx.query, "limit", default=20, low=1, high=100)
    after = decode_id_cursor(ctx.query.get("cursor"), _CREDIT_NOTE_ID)
    notes, next_after = container().credit_notes.credit_notes(ctx.caller, limit, after)
    return {
        "items": [credit_note_summary(n) for n in notes],
        "next_cursor": encode_id_cursor(next_after),
    }


@endpoint(
    bp,
    "/billing/credit-notes/{credit_note_id}",
    "GET",
    tag="billing",
    summary="One credit note",
    response="CreditNoteResponse",
    allow_suspended=True,
    errors=(404,),
)
def get_credit_note(ctx: RequestContext, credit_note_id: str) -> dict[str, Any]:
    return credit_note_view(_note(ctx, credit_note_id), ctx.locale)


@endpoint(
    bp,
    "/billing/credit-notes/{credit_note_id}/print",
    "GET",
    tag="billing",
    summary="The credit note, laid out for printing",
    allow_suspended=True,
    errors=(404,),
    content_type="text/html",
)
def print_credit_note(ctx: RequestContext, credit_note_id: str) -> Response:
    from chalicelib.api.documents import credit_note_html, document_response

    note = _note(ctx, credit_note_id)
    return document_response(credit_note_html(note, ctx.locale), "print", note.number)


@endpoint(
    bp,
    "/billing/credit-notes/{credit_note_id}/pdf",
    "GET",
    tag="billing",
    summary="The credit note as a Factur-X PDF/A-3 (type 381, referring to its invoice)",
    allow_suspended=True,
    errors=(404,),
    content_type="application/pdf",
)
def pdf_credit_note(ctx: RequestContext, credit_note_id: str) -> Response:
    from chalicelib.api.documents import document_response

    _check_id(credit_note_id)
    pdf = container().documents.credit_note_pdf(ctx.caller, credit_note_id, ctx.locale)
    return document_response(pdf.content, "pdf", pdf.number)


@endpoint(
    bp,
    "/billing/credit-notes/{credit_note_id}/xml",
    "GET",
    tag="billing",
    summary="The credit note as EN 16931 CII XML (type 381; embedded in its PDF)",
    allow_suspended=True,
    errors=(404,),
    content_type="application/xml",
)
def xml_credit_note(ctx: RequestContext, credit_note_id: str) -> Response:
    from chalicelib.api.documents import document_response
    from chalicelib.documents.render import credit_note_xml

    note = _note(ctx, credit_note_id)
    xml = credit_note_xml(note, ctx.locale).decode("utf-8")
    return document_response(xml, "xml", note.number)


@endpoint(
    bp,
    "/support/invoices/{invoice_id}/refund",
    "POST",
    tag="support",
    summary="Refund a paid invoice, fully or partly: a credit note, the money back through "
    "Stripe (idempotent with Idempotency-Key)",
    auth=False,
    support_key=True,
    body="RefundRequest",
    response="CreditNoteResponse",
    errors=(404, 409, 503),
)
def refund_invoice(ctx: RequestContext, body: Any, invoice_id: str) -> dict[str, Any]:
    key = ctx.headers.get("idempotency-key")
    if key is not None and not 1 <= len(key) <= 255:
        raise InvalidInput(fields={"Idempotency-Key": "field_invalid"})
    if not _INVOICE_ID.match(invoice_id):
        raise NotFound("invoice_not_found")
    note = container().credit_notes.refund(
        invoice_id, amount=body.amount, reason=body.reason, request_key=key
    )
    return credit_note_view(note, ctx.locale)
