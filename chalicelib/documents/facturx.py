"""The invoice as an EN 16931 CII document (Factur-X profile EN 16931), built with drafthorse.

drafthorse (pretix's maintained object model of the UN/CEFACT Cross Industry Invoice) builds
and serialises the XML and checks it against the Factur-X EN 16931 XSD it ships; no string
templates.  It (and lxml) are imported on this path only.

Mapping (business terms of EN 16931):

* BT-1 number, BT-2 issue date, BT-3 type 381 for credit notes else 380, BT-22 notes: the
  legal notices (subject codes ``PMD`` late-payment penalties, ``PMT`` the €40 indemnity,
  ``AAB`` no discount, ``REG`` the reason a 0 % rate applies, ``ABL`` the seller's legal form
  and capital);
* seller (BG-4): name, postal address, SIREN as legal registration (BT-30, scheme 0002),
  VAT number (BT-31), electronic address (BT-34, scheme EM);
* buyer (BG-7): name, postal address (its country at least, BR-10/BR-11), VAT ID (BT-48);
* the delivery date (BT-72: the period's start), the invoicing period (BG-14), payment by
  card (BT-81 code 48), the due date (BT-9), the amount already paid (BT-113) and due (BT-115);
* one VAT breakdown (BG-23) per invoice, category by scheme: ``S`` (standard rate, domestic and
  OSS sales), ``AE`` (reverse charge, VATEX-EU-AE), ``O`` (outside the scope of EU VAT,
  VATEX-EU-O; EN 16931 BR-O-02 then forbids the seller's and buyer's VAT identifiers in the
  XML, which the printed invoice still shows).
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from chalicelib.documents.content import exemption_reason, is_business, legal_notices
from chalicelib.domain.billing import Address, Invoice, InvoiceStatus, Party
from chalicelib.i18n import translate
from chalicelib.i18n.invoices import line_label

GUIDELINE_EN16931 = "urn:cen.eu:en16931:2017"
SCHEMA = "FACTUR-X_EN16931"
TYPE_INVOICE = "380"
TYPE_CREDIT_NOTE = "381"
UNIT_ONE = "C62"
CARD = "48"

NOTE_SUBJECTS = {
    "notice.due_date": "AAB",
    "notice.late_penalties": "PMD",
    "notice.recovery_indemnity": "PMT",
}


def category(invoice: Invoice) -> tuple[str, str | None]:
    """The VAT category code and exemption reason code of the invoice's one VAT rate."""
    facts = invoice.tax_facts
    scheme = facts.scheme if facts else None
    if scheme == "reverse_charge" or (scheme is None and invoice.tax.reverse_charge):
        return "AE", "VATEX-EU-AE"
    if scheme == "outside_scope" or (scheme is None and Decimal(invoice.tax.rate) == 0):
        return "O", "VATEX-EU-O"
    return "S", None


def _amount(minor: int) -> Decimal:
    return Decimal(minor).scaleb(-2).quantize(Decimal("0.01"))


def _address(target: object, address: Address | None, country: str) -> None:
    postal = target.address  # type: ignore[attr-defined]
    if address is not None:
        postal.line_one = address.line1
        if address.line2:
            postal.line_two = address.line2
        postal.postcode = address.postal_code
        postal.city_name = address.city
        if address.state:
            postal.country_subdivision = address.state
    postal.country_id = country


def _party_country(party: Party, fallback: str) -> str:
    return party.address.country if party.address else fallback


def invoice_xml(  # noqa: C901, PLR0912, PLR0915 - one EN 16931 document, section by section
    invoice: Invoice,
    locale: str,
    *,
    type_code: str = TYPE_INVOICE,
    preceding: tuple[str, date] | None = None,
) -> bytes:
    """The CII XML of ``invoice`` (UTF-8 bytes), validated against the EN 16931 XSD.
    ``preceding``: the number and issue date of the invoice a credit note (381) corrects
    (BG-3, BT-25/BT-26)."""
    from drafthorse.models.accounting import ApplicableTradeTax
    from drafthorse.models.document import Document
    from drafthorse.models.note import IncludedNote
    from drafthorse.models.party import TaxRegistration
    from drafthorse.models.payment import PaymentMeans, PaymentTerms
    from drafthorse.models.tradelines import LineItem

    code, exemption_code = category(invoice)
    outside = code == "O"
    facts = invoice.tax_facts
    issued: date = invoice.issued_at.date()

    doc = Document()
    doc.context.guideline_parameter.id = GUIDELINE_EN16931
    doc.header.id = invoice.number
    doc.header.type_code = type_code
    doc.header.issue_date_time = issued
    notice_keys: list[str | None] = []
    if facts is not None:
        from chalicelib.domain.legal import legal_notice_keys

        notice_keys = list(legal_notice_keys(facts, is_business(invoice)))
    texts = legal_notices(invoice, locale)
    for index, text in enumerate(texts):
        note = IncludedNote()
        note.content = text
        key = notice_keys[index] if index < len(notice_keys) else None
        subject = NOTE_SUBJECTS.get(key or "", "REG" if key else None)
        if subject:
            note.subject_code = subject
        doc.header.notes.add(note)
    legal = invoice.seller_legal
    if legal is not None:
        from chalicelib.i18n import format_money

        note = IncludedNote()
        note.content = (
            translate(
                "doc.legal_form",
                locale,
                form=legal.legal_form,
                capital=format_money(
                    legal.share_capital_minor(), legal.share_capital_currency, locale
                ),
            )
            + f", {legal.registration}"
        )
        note.subject_code = "ABL"
        doc.header.notes.add(note)

    seller = doc.trade.agreement.seller
    seller.name = invoice.seller.name
    _address(seller, invoice.seller.address, _party_country(invoice.seller, "FR"))
    if legal is not None:
        seller.legal_organization.id = ("0002", legal.siren)
    if invoice.seller.vat_id and not outside:
        seller.tax_registrations.add(TaxRegistration(id=("VA", invoice.seller.vat_id)))
    if invoice.seller.email:
        seller.electronic_address.uri_ID = ("EM", invoice.seller.email)

    buyer = doc.trade.agreement.buyer
    buyer.name = invoice.customer.name
    billing_country = facts.billing_country if facts else None
    _address(
        buyer,
        invoice.customer.address,
        _party_country(invoice.customer, billing_country or "FR"),
    )
    if invoice.customer.vat_id and not outside:
        buyer.tax_registrations.add(TaxRegistration(id=("VA", invoice.customer.vat_id)))
    if invoice.customer.email:
        buyer.electronic_address.uri_ID = ("EM", invoice.customer.email)

    doc.trade.delivery.event.occurrence = invoice.period_start.date()  # BT-72: service starts

    settlement = doc.trade.settlement
    settlement.currency_code = invoice.currency
    if preceding is not None:
        settlement.invoice_referenced_document.issuer_assigned_id = preceding[0]
        settlement.invoice_referenced_document.issue_date_time = preceding[1]
    settlement.period.start = invoice.period_start.date()
    settlement.period.end = invoice.period_end.date()
    means = PaymentMeans()
    means.type_code = CARD
    means.information.add(translate("doc.paid_by_card", locale))
    settlement.payment_means.add(means)
    terms = PaymentTerms()
    terms.description = translate(
        "doc.refund_terms" if type_code == TYPE_CREDIT_NOTE else "doc.paid_by_card", locale
    )
    terms.due = issued
    settlement.terms.add(terms)

    rate = Decimal(invoice.tax.rate)
    for number, line in enumerate(invoice.lines, start=1):
        item = LineItem()
        item.document.line_id = str(number)
        item.product.name = line_label(invoice.plan_id, line.description, locale)
        item.agreement.net.amount = _amount(line.unit_amount)
        item.delivery.billed_quantity = (Decimal(line.quantity), UNIT_ONE)
        item.settlement.trade_tax.type_code = "VAT"
        item.settlement.trade_tax.category_code = code
        if not outside:
            item.settlement.trade_tax.rate_applicable_percent = rate
        item.settlement.monetary_summation.total_amount = _amount(line.amount)
        doc.trade.items.add(item)

    tax = ApplicableTradeTax()
    tax.calculated_amount = _amount(invoice.tax.amount)
    tax.basis_amount = _amount(invoice.subtotal)
    tax.type_code = "VAT"
    tax.category_code = code
    if exemption_code:
        tax.exemption_reason_code = exemption_code
        reason = exemption_reason(invoice, locale)
        if reason:
            tax.exemption_reason = reason
    if not outside:
        tax.rate_applicable_percent = rate
    settlement.trade_tax.add(tax)

    paid = _amount(invoice.total if invoice.status is InvoiceStatus.PAID else 0)
    summation = settlement.monetary_summation
    summation.line_total = _amount(sum(line.amount for line in invoice.lines))
    summation.charge_total = Decimal("0.00")
    summation.allowance_total = Decimal("0.00")
    summation.tax_basis_total = _amount(invoice.subtotal)
    summation.tax_total = (_amount(invoice.tax.amount), invoice.currency)
    summation.grand_total = _amount(invoice.total)
    summation.prepaid_total = paid
    summation.due_amount = _amount(invoice.total) - paid
    return bytes(doc.serialize(schema=SCHEMA))
