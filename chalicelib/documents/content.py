"""What an invoice says, in one language: the one source of the print view, the PDF and the
Factur-X notes, so that the three never disagree.

Text comes from the catalogue (``chalicelib.i18n``); money and dates from Babel; country names
from Babel in the document's language; the legal notices from the tax facts fixed at issue
(:func:`chalicelib.domain.legal.legal_notice_keys`).  Invoices issued before the legal content
existed (no tax facts) still render, with the mention they carried.
"""

from __future__ import annotations

from datetime import datetime

from msgspec import Struct

from chalicelib.domain.billing import Address, Invoice, Party
from chalicelib.domain.legal import legal_notice_keys
from chalicelib.domain.tax import SPECIAL_TERRITORIES
from chalicelib.i18n import country_names, format_date_long, format_money, translate
from chalicelib.i18n.invoices import label, line_label

_ARTICLES = {t.code: t.article for t in SPECIAL_TERRITORIES}


class Heading(Struct, frozen=True):
    """What kind of document is rendered: an invoice (the default) or a credit note, which
    has its own title, shows its reason instead of a status, names the invoice it credits and
    has no transactions of its own (``CreditNote.document()`` gives its body)."""

    title_key: str = "doc.invoice"
    status_key: str | None = None  # shown instead of the invoice's status
    refers_to: tuple[str, datetime] | None = None  # the credited invoice: number, issue date
    transactions: bool = True


INVOICE = Heading()


def is_business(invoice: Invoice) -> bool:
    """A business customer: it gave a VAT ID (the late-payment terms apply to it)."""
    if invoice.tax_facts is not None:
        return invoice.tax_facts.business
    return invoice.customer.vat_id is not None


def address_lines(address: Address, locale: str) -> list[str]:
    """An address as printed, its country named in ``locale``."""
    country = country_names(locale).get(address.country, address.country)
    city = " ".join(p for p in (address.postal_code, address.city) if p)
    return [p for p in (address.line1, address.line2, city, address.state, country) if p]


def party_lines(party: Party, locale: str) -> list[str]:
    lines = [party.name]
    if party.address:
        if party.address.name and party.address.name != party.name:
            lines.append(party.address.name)
        lines.extend(address_lines(party.address, locale))
    if party.vat_id:
        lines.append(f"{translate('doc.vat_id', locale)} {party.vat_id}")
    return lines


def seller_lines(invoice: Invoice, locale: str) -> list[str]:
    """The seller block: name, address, legal form and share capital, RCS, VAT number."""
    seller = invoice.seller
    lines = [seller.name]
    if seller.address:
        lines.extend(address_lines(seller.address, locale))
    legal = invoice.seller_legal
    if legal is not None:
        capital = format_money(legal.share_capital_minor(), legal.share_capital_currency, locale)
        lines.append(translate("doc.legal_form", locale, form=legal.legal_form, capital=capital))
        lines.append(legal.registration)
    if seller.vat_id:
        lines.append(f"{translate('doc.vat_id', locale)} {seller.vat_id}")
    if seller.email:
        lines.append(seller.email)
    return lines


def legal_notices(invoice: Invoice, locale: str) -> list[str]:
    """The notices the invoice carries, in ``locale`` (``legal_notices`` in the JSON)."""
    facts = invoice.tax_facts
    if facts is None:
        return [translate(invoice.tax.mention_key, locale)] if invoice.tax.mention_key else []
    texts: list[str] = []
    for key in legal_notice_keys(facts, is_business(invoice)):
        if key == "tax.exemption.excluded_territory":
            territory = facts.place_of_supply
            texts.append(
                translate(
                    key,
                    locale,
                    territory=translate(f"territory.{territory}", locale),
                    article=_ARTICLES.get(territory, "Art. 6"),
                )
            )
        elif key == "notice.due_date":
            texts.append(translate(key, locale, date=format_date_long(invoice.issued_at, locale)))
        else:
            texts.append(translate(key, locale))
    if invoice.withdrawal_waived_at is not None:  # last: the Factur-X notes follow the keys
        texts.append(
            translate(
                "notice.withdrawal_waived",
                locale,
                date=format_date_long(invoice.withdrawal_waived_at, locale),
            )
        )
    return texts


def exemption_reason(invoice: Invoice, locale: str) -> str | None:
    """Why a 0 % rate applies (``tax.exemption_reason``), or None when VAT is charged."""
    facts = invoice.tax_facts
    if facts is None or not facts.exemption:
        return translate(invoice.tax.mention_key, locale) if invoice.tax.mention_key else None
    return legal_notices(invoice, locale)[0]


class Line(Struct, frozen=True):
    description: str
    quantity: int
    unit_amount: str
    amount: str


def money(invoice: Invoice, amount: int, locale: str) -> str:
    return format_money(amount, invoice.currency, locale)


def lines(invoice: Invoice, locale: str) -> list[Line]:
    return [
        Line(
            line_label(invoice.plan_id, line.description, locale),
            line.quantity,
            money(invoice, line.unit_amount, locale),
            money(invoice, line.amount, locale),
        )
        for line in invoice.lines
    ]


def meta_pairs(invoice: Invoice, locale: str, heading: Heading = INVOICE) -> list[tuple[str, str]]:
    """("Issue date:", "1 December 2026")-style pairs under the title."""
    period = (
        f"{format_date_long(invoice.period_start, locale)} – "
        f"{format_date_long(invoice.period_end, locale)}"
    )
    pairs = [
        (
            label(translate("doc.issued", locale), locale),
            format_date_long(invoice.issued_at, locale),
        ),
        (label(translate("doc.period", locale), locale), period),
    ]
    if heading.refers_to is not None:
        number, issued = heading.refers_to
        pairs.append(
            (
                label(translate("doc.credited_invoice", locale), locale),
                f"{number} ({format_date_long(issued, locale)})",
            )
        )
    elif is_business(invoice):
        pairs.append(
            (
                label(translate("doc.due_date", locale), locale),
                format_date_long(invoice.issued_at, locale),
            )
        )
    pairs.append(
        (
            label(translate("doc.reason" if heading.status_key else "doc.status", locale), locale),
            translate(heading.status_key or "doc.status." + invoice.status.value, locale),
        )
    )
    return pairs


def totals(invoice: Invoice, locale: str) -> list[tuple[str, str, bool]]:
    """(label, amount, is the grand total) rows: HT, VAT, TTC."""
    return [
        (translate("doc.subtotal", locale), money(invoice, invoice.subtotal, locale), False),
        (
            translate("doc.tax", locale, rate=invoice.tax.rate),
            money(invoice, invoice.tax.amount, locale),
            False,
        ),
        (translate("doc.total", locale), money(invoice, invoice.total, locale), True),
    ]


def transaction_rows(invoice: Invoice, locale: str) -> list[tuple[str, str, str, str]]:
    """(date, card, amount, result) per charge attempt."""
    rows = []
    for tx in invoice.transactions:
        card = " ".join(
            p
            for p in (
                (tx.card_brand or "").title(),
                f"•••• {tx.card_last4}" if tx.card_last4 else "",
            )
            if p
        )
        result = translate("doc.tx." + tx.status, locale)
        if tx.failure_message_key:
            result += f" — {translate(tx.failure_message_key, locale)}"
        rows.append(
            (format_date_long(tx.at, locale), card, money(invoice, tx.amount, locale), result)
        )
    return rows
