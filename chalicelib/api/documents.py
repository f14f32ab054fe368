"""Invoice documents: the print view (HTML laid out for an A4 page), the PDF and the XML.

All three say the same thing (``chalicelib.documents.content``) in the request's language:
the seller block with its identifiers (legal form, share capital, RCS, VAT number), the
customer, the lines with HT / TTC totals, the legal notices and the transaction summary.  The
PDF is a Factur-X PDF/A-3 (``chalicelib.documents.pdf``) carrying the EN 16931 XML
(``chalicelib.documents.facturx``), both drawn by ``chalicelib.documents.render`` (the PDFs are
stored once rendered: ``services.documents``); fpdf2, drafthorse and lxml load on those paths
only.  This module lays out the print view and owns every document answer's headers.

The print view's only style and its only script (the Print button's ``window.print()``) are
allowed by their hashes in the Content-Security-Policy; nothing else runs or loads.
"""

from __future__ import annotations

import base64
import hashlib
from html import escape
from typing import Literal

from chalice.app import Response

from chalicelib.api.http import API_CSP, SECURITY_HEADERS
from chalicelib.documents import content
from chalicelib.documents.content import INVOICE, Heading
from chalicelib.documents.render import credit_note_heading
from chalicelib.domain.billing import Invoice
from chalicelib.domain.credit_notes import CreditNote
from chalicelib.i18n import translate

PRINT_CSS = """
@page{size:A4;margin:16mm}
*{box-sizing:border-box}
body{font:13px/1.45 "DejaVu Sans",system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;
color:#1a1a1a;margin:0;background:#e9ebef}
.toolbar{max-width:210mm;margin:16px auto 0;display:flex;justify-content:flex-end}
.toolbar button{font:inherit;font-weight:600;padding:8px 18px;border:0;border-radius:6px;
background:#1f4fd6;color:#fff;cursor:pointer}
.toolbar button:focus-visible{outline:3px solid #93b4ff;outline-offset:2px}
main{width:210mm;min-height:297mm;margin:12px auto 32px;background:#fff;padding:16mm;
box-shadow:0 1px 4px rgba(0,0,0,.15)}
header{display:flex;justify-content:space-between;gap:24px;align-items:flex-start;
border-bottom:2px solid #1a1a1a;padding-bottom:12px}
h1{font-size:24px;margin:0;white-space:nowrap}h2{font-size:12px;text-transform:uppercase;letter-spacing:.06em;
color:#555;margin:0 0 6px}
dl.meta{display:grid;grid-template-columns:auto auto;gap:2px 12px;margin:0;font-size:12px}
dl.meta dt{color:#555;text-align:right}dl.meta dd{margin:0}
.parties{display:flex;gap:32px;margin:20px 0}.parties section{flex:1}
.parties p{margin:0}.seller .ids{color:#444;font-size:12px;margin-top:4px}
table{width:100%;border-collapse:collapse;margin-top:8px}
th,td{text-align:left;padding:6px 8px;border-bottom:1px solid #ddd;vertical-align:top}
th{font-size:12px;color:#444;border-bottom:1px solid #1a1a1a}
td.n,th.n{text-align:right;white-space:nowrap}
table.totals{width:auto;margin-left:auto;min-width:45%}
table.totals td{border:0;padding:4px 8px}
table.totals tr.total td{font-weight:700;font-size:15px;border-top:2px solid #1a1a1a}
.notices{margin-top:20px;font-size:12px}.notices p{margin:0 0 4px}
.status{font-weight:600}
h3{font-size:14px;margin:24px 0 4px}
@media print{body{background:#fff}.toolbar{display:none}
main{width:auto;min-height:0;margin:0;padding:0;box-shadow:none}
tr{page-break-inside:avoid}}
""".strip()

PRINT_JS = 'document.getElementById("print").addEventListener("click",function(){window.print()});'


def _hash(text: str) -> str:
    return "'sha256-" + base64.b64encode(hashlib.sha256(text.encode()).digest()).decode() + "'"


PRINT_CSP = (
    f"default-src 'none'; style-src {_hash(PRINT_CSS)}; script-src {_hash(PRINT_JS)}; "
    "frame-ancestors 'self'; base-uri 'none'; form-action 'none'"
)


DocumentKind = Literal["print", "pdf", "xml"]
_DOCUMENT_HEADERS: dict[DocumentKind, dict[str, str]] = {
    # the print view may be framed by the console (same origin) for printing
    "print": {
        "Content-Type": "text/html; charset=utf-8",
        "Content-Security-Policy": PRINT_CSP,
        "X-Frame-Options": "SAMEORIGIN",
    },
    # never framed (X-Frame-Options: DENY agrees): the console fetches them as blobs
    "pdf": {"Content-Type": "application/pdf", "Content-Security-Policy": API_CSP},
    "xml": {"Content-Type": "application/xml; charset=utf-8", "Content-Security-Policy": API_CSP},
}


def document_response(body: str | bytes, kind: DocumentKind, number: str) -> Response:
    """The answer of an invoice's or credit note's print view, PDF or XML: one set of
    headers per kind, whatever the document (``number`` names the downloaded file)."""
    headers = {**SECURITY_HEADERS, **_DOCUMENT_HEADERS[kind]}
    if kind != "print":
        headers["Content-Disposition"] = f'inline; filename="{number}.{kind}"'
    return Response(body=body, status_code=200, headers=dict(headers))


def invoice_html(invoice: Invoice, locale: str, heading: Heading = INVOICE) -> str:
    def t(key: str, **params: object) -> str:
        return escape(translate(key, locale, **params))

    def br(lines: list[str]) -> str:
        return "<br>".join(escape(x) for x in lines)

    meta = "".join(
        f"<dt>{escape(name)}</dt><dd>{escape(value)}</dd>"
        for name, value in content.meta_pairs(invoice, locale, heading)
    )
    rows = "".join(
        f"<tr><td>{escape(line.description)}</td><td class=n>{line.quantity}</td>"
        f"<td class=n>{escape(line.unit_amount)}</td><td class=n>{escape(line.amount)}</td></tr>"
        for line in content.lines(invoice, locale)
    )
    totals = "".join(
        f"<tr{' class=total' if grand else ''}><td>{escape(name)}</td>"
        f"<td class=n>{escape(amount)}</td></tr>"
        for name, amount, grand in content.totals(invoice, locale)
    )
    notices = content.legal_notices(invoice, locale)
    notices_html = (
        f"<section class=notices><h2>{t('doc.notices')}</h2>"
        + "".join(f"<p>{escape(n)}</p>" for n in notices)
        + "</section>"
        if notices
        else ""
    )
    transactions_html = (
        "".join(
            f"<tr><td>{escape(when)}</td><td>{escape(card)}</td><td class=n>{escape(amount)}</td>"
            f"<td>{escape(result)}</td></tr>"
            for when, card, amount, result in content.transaction_rows(invoice, locale)
        )
        or f"<tr><td colspan=4>{t('doc.no_transactions')}</td></tr>"
    )
    transactions = (
        f"""<h3>{t("doc.transactions")}</h3>
<table><thead><tr><th>{t("doc.date")}</th><th>{t("doc.card")}</th>
<th class=n>{t("doc.tx_amount")}</th><th>{t("doc.result")}</th></tr></thead>
<tbody>{transactions_html}</tbody></table>"""
        if heading.transactions
        else ""
    )
    status = (
        ""
        if heading.status_key
        else f"<span class=status>{t('doc.status.' + invoice.status.value)}</span>"
    )
    title = t(heading.title_key)
    seller = content.seller_lines(invoice, locale)
    name_and_address = 1 + (len(content.address_lines(invoice.seller.address, locale))
                            if invoice.seller.address else 0)  # fmt: skip
    return f"""<!doctype html>
<html lang="{locale}"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width,initial-scale=1">
<title>{title} {escape(invoice.number)}</title><style>{PRINT_CSS}</style></head>
<body>
<div class=toolbar><button type=button id=print>{t("doc.print")}</button></div>
<main>
<header><div><h1>{title} {escape(invoice.number)}</h1>
{status}</div>
<dl class=meta>{meta}</dl></header>
<div class=parties>
<section class=seller><h2>{t("doc.seller")}</h2><p>{br(seller[:name_and_address])}</p>
<p class=ids>{br(seller[name_and_address:])}</p></section>
<section><h2>{t("doc.customer")}</h2><p>{br(content.party_lines(invoice.customer, locale))}</p>
</section>
</div>
<table><thead><tr><th>{t("doc.description")}</th><th class=n>{t("doc.quantity")}</th>
<th class=n>{t("doc.unit_amount")}</th><th class=n>{t("doc.amount")}</th></tr></thead>
<tbody>{rows}</tbody></table>
<table class=totals><tbody>{totals}</tbody></table>
{notices_html}
{transactions}
</main><script>{PRINT_JS}</script></body></html>
"""


def credit_note_html(note: CreditNote, locale: str) -> str:
    """The print view of a credit note (``GET /billing/credit-notes/{id}/print``)."""
    return invoice_html(note.document(), locale, credit_note_heading(note))
