"""The EN 16931 XML and the Factur-X PDF of invoices and credit notes, in one language.

The functions are what the XML routes and the tests call; :class:`FacturXRenderer` is the
``DocumentRenderer`` the composition root hands ``DocumentService`` (which stores the PDFs,
``domain.documents``).  fpdf2, drafthorse and lxml are imported inside the functions: a
process that never renders never loads them.
"""

from __future__ import annotations

from chalicelib.documents.content import Heading
from chalicelib.domain.billing import Invoice
from chalicelib.domain.credit_notes import CreditNote


def credit_note_heading(note: CreditNote) -> Heading:
    """A credit note's title, reason and credited invoice (no transaction summary)."""
    return Heading(
        title_key="doc.credit_note",
        status_key=f"credit.reason.{note.reason.value}",
        refers_to=(note.invoice_number, note.invoice_issued_at),
        transactions=False,
    )


def invoice_xml(invoice: Invoice, locale: str) -> bytes:
    """The EN 16931 CII XML of the invoice (``GET /billing/invoices/{id}/xml``)."""
    from chalicelib.documents.facturx import invoice_xml as build

    return build(invoice, locale)


def invoice_pdf(invoice: Invoice, locale: str) -> bytes:
    """The Factur-X PDF/A-3 of the invoice with its XML embedded."""
    from chalicelib.documents.pdf import invoice_pdf as render

    return render(invoice, locale, invoice_xml(invoice, locale))


def credit_note_xml(note: CreditNote, locale: str) -> bytes:
    """The EN 16931 CII XML of a credit note: type 381, referring to its invoice (BT-25)."""
    from chalicelib.documents.facturx import TYPE_CREDIT_NOTE
    from chalicelib.documents.facturx import invoice_xml as build

    return build(
        note.document(),
        locale,
        type_code=TYPE_CREDIT_NOTE,
        preceding=(note.invoice_number, note.invoice_issued_at.date()),
    )


def credit_note_pdf(note: CreditNote, locale: str) -> bytes:
    """The Factur-X PDF/A-3 of a credit note with its XML embedded."""
    from chalicelib.documents.pdf import invoice_pdf as render

    return render(note.document(), locale, credit_note_xml(note, locale), credit_note_heading(note))


class FacturXRenderer:
    """``DocumentRenderer``: the PDFs above."""

    def invoice_pdf(self, invoice: Invoice, locale: str) -> bytes:
        return invoice_pdf(invoice, locale)

    def credit_note_pdf(self, note: CreditNote, locale: str) -> bytes:
        return credit_note_pdf(note, locale)
