"""Invoice documents: the print view (HTML laid out for printing) and the PDF (fpdf2).

Both show the same thing in the request's language, with money and dates formatted by Babel:
seller and customer (with VAT IDs), lines, subtotal, VAT (or the reverse-charge mention), total
and the transaction summary (every charge attempt with its card and result).  fpdf2 is
imported only here, on the PDF path.  The page's only style is the stylesheet below, allowed by
its hash in the Content-Security-Policy (no inline scripts, nothing else loaded).
"""

from __future__ import annotations

import base64
import hashlib
from html import escape

from chalicelib.domain.billing import Invoice, Party
from chalicelib.i18n import format_date_long, format_money, translate

PRINT_CSS = """
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:#111;margin:0;
background:#f4f5f7}
main{max-width:780px;margin:24px auto;background:#fff;padding:40px;border-radius:8px}
h1{font-size:26px;margin:0 0 4px}h2{font-size:16px;margin:28px 0 8px}
.meta{color:#444;margin:0 0 24px}.parties{display:flex;gap:32px;flex-wrap:wrap}
.parties section{flex:1 1 240px}.parties p{margin:0}
table{width:100%;border-collapse:collapse;margin-top:8px}
th,td{text-align:left;padding:6px 8px;border-bottom:1px solid #ddd;vertical-align:top}
td.n,th.n{text-align:right;white-space:nowrap}
tfoot td{border:0}.total td{font-weight:700;border-top:2px solid #111}
.mention{margin-top:16px;font-style:italic}.status{font-weight:600}
@media print{body{background:#fff}main{margin:0;max-width:none;padding:0;border-radius:0}
a{color:inherit;text-decoration:none}tr{page-break-inside:avoid}}
""".strip()

PRINT_CSP = (
    "default-src 'none'; style-src 'sha256-"
    + base64.b64encode(hashlib.sha256(PRINT_CSS.encode()).digest()).decode()
    + "'; frame-ancestors 'self'; base-uri 'none'; form-action 'none'"
)


def _party_lines(party: Party, locale: str) -> list[str]:
    lines = party.address.lines() if party.address else [party.name]
    if party.vat_id:
        lines.append(f"{translate('doc.vat_id', locale)} {party.vat_id}")
    return lines


def _money(invoice: Invoice, amount: int, locale: str) -> str:
    return format_money(amount, invoice.currency, locale)


def invoice_html(invoice: Invoice, locale: str) -> str:
    def t(key: str, **params: object) -> str:
        return escape(translate(key, locale, **params))

    rows = "".join(
        f"<tr><td>{escape(line.description)}</td><td class=n>{line.quantity}</td>"
        f"<td class=n>{escape(_money(invoice, line.unit_amount, locale))}</td>"
        f"<td class=n>{escape(_money(invoice, line.amount, locale))}</td></tr>"
        for line in invoice.lines
    )
    transactions = (
        "".join(
            f"<tr><td>{escape(format_date_long(tx.at, locale))}</td>"
            f"<td>{escape(' '.join(p for p in ((tx.card_brand or '').title(), '•••• ' + tx.card_last4 if tx.card_last4 else '') if p))}</td>"  # noqa: E501
            f"<td class=n>{escape(_money(invoice, tx.amount, locale))}</td>"
            f"<td>{t('doc.tx.' + tx.status)}"
            + (f" — {t(tx.failure_message_key)}" if tx.failure_message_key else "")
            + "</td></tr>"
            for tx in invoice.transactions
        )
        or f"<tr><td colspan=4>{t('doc.no_transactions')}</td></tr>"
    )
    mention = (
        f"<p class=mention>{t(invoice.tax.mention_key)}</p>" if invoice.tax.mention_key else ""
    )
    seller = "<br>".join(escape(x) for x in _party_lines(invoice.seller, locale))
    customer = "<br>".join(escape(x) for x in _party_lines(invoice.customer, locale))
    period = (
        f"{format_date_long(invoice.period_start, locale)} – "
        f"{format_date_long(invoice.period_end, locale)}"
    )
    return f"""<!doctype html>
<html lang="{locale}"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width,initial-scale=1">
<title>{t("doc.invoice")} {escape(invoice.number)}</title><style>{PRINT_CSS}</style></head>
<body><main>
<h1>{t("doc.invoice")} {escape(invoice.number)}</h1>
<p class=meta>{t("doc.issued")}: {escape(format_date_long(invoice.issued_at, locale))} ·
{t("doc.period")}: {escape(period)} ·
{t("doc.status")}: <span class=status>{t("doc.status." + invoice.status.value)}</span></p>
<div class=parties>
<section><h2>{t("doc.seller")}</h2><p>{seller}</p></section>
<section><h2>{t("doc.customer")}</h2><p>{customer}</p></section>
</div>
<table><thead><tr><th>{t("doc.description")}</th><th class=n>{t("doc.quantity")}</th>
<th class=n>{t("doc.unit_amount")}</th><th class=n>{t("doc.amount")}</th></tr></thead>
<tbody>{rows}</tbody>
<tfoot><tr><td colspan=3 class=n>{t("doc.subtotal")}</td>
<td class=n>{escape(_money(invoice, invoice.subtotal, locale))}</td></tr>
<tr><td colspan=3 class=n>{t("doc.tax", rate=invoice.tax.rate)}</td>
<td class=n>{escape(_money(invoice, invoice.tax.amount, locale))}</td></tr>
<tr class=total><td colspan=3 class=n>{t("doc.total")}</td>
<td class=n>{escape(_money(invoice, invoice.total, locale))}</td></tr></tfoot></table>
{mention}
<h2>{t("doc.transactions")}</h2>
<table><thead><tr><th>{t("doc.date")}</th><th>{t("doc.card")}</th>
<th class=n>{t("doc.amount")}</th><th>{t("doc.result")}</th></tr></thead>
<tbody>{transactions}</tbody></table>
</main></body></html>
"""


def _latin1(text: str) -> str:
    """fpdf2's core fonts speak Latin-1: map the few typographic characters we use."""
    for source, target in (
        ("–", "-"),
        ("—", "-"),
        ("•", "*"),
        ("\u202f", " "),
        ("\xa0", " "),
        ("’", "'"),
        ("€", "EUR"),
    ):
        text = text.replace(source, target)
    return text.encode("latin-1", "replace").decode("latin-1")


def invoice_pdf(invoice: Invoice, locale: str) -> bytes:
    from fpdf import FPDF

    def t(key: str, **params: object) -> str:
        return _latin1(translate(key, locale, **params))

    def money(amount: int) -> str:
        return _latin1(_money(invoice, amount, locale))

    pdf = FPDF(format="A4")
    pdf.set_title(f"{translate('doc.invoice', locale)} {invoice.number}")
    pdf.set_creator("HelpDesk Accounts")
    pdf.add_page()
    pdf.set_font("Helvetica", "B", 18)
    pdf.cell(0, 10, f"{t('doc.invoice')} {invoice.number}", new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("Helvetica", "", 10)
    period = (
        f"{format_date_long(invoice.period_start, locale)} - "
        f"{format_date_long(invoice.period_end, locale)}"
    )
    pdf.multi_cell(
        0,
        5,
        _latin1(
            f"{translate('doc.issued', locale)}: {format_date_long(invoice.issued_at, locale)}   "
            f"{translate('doc.period', locale)}: {period}   "
            f"{translate('doc.status', locale)}: "
            f"{translate('doc.status.' + invoice.status.value, locale)}"
        ),
        new_x="LMARGIN",
        new_y="NEXT",
    )
    pdf.ln(4)
    top = pdf.get_y()
    for column, (label, party) in enumerate(
        ((t("doc.seller"), invoice.seller), (t("doc.customer"), invoice.customer))
    ):
        pdf.set_xy(10 + column * 95, top)
        pdf.set_font("Helvetica", "B", 11)
        pdf.cell(90, 6, label, new_x="LEFT", new_y="NEXT")
        pdf.set_font("Helvetica", "", 10)
        pdf.multi_cell(
            90, 5, _latin1("\n".join(_party_lines(party, locale))), new_x="LEFT", new_y="NEXT"
        )
    pdf.set_xy(10, max(pdf.get_y(), top + 30) + 4)
    widths = (100, 15, 35, 40)
    pdf.set_font("Helvetica", "B", 10)
    for width, key in zip(
        widths, ("doc.description", "doc.quantity", "doc.unit_amount", "doc.amount"), strict=True
    ):
        pdf.cell(width, 7, t(key), border="B", align="L" if key == "doc.description" else "R")
    pdf.ln()
    pdf.set_font("Helvetica", "", 10)
    for line in invoice.lines:
        pdf.cell(widths[0], 7, _latin1(line.description))
        pdf.cell(widths[1], 7, str(line.quantity), align="R")
        pdf.cell(widths[2], 7, money(line.unit_amount), align="R")
        pdf.cell(widths[3], 7, money(line.amount), align="R", new_x="LMARGIN", new_y="NEXT")
    for label, amount, bold in (
        (t("doc.subtotal"), invoice.subtotal, False),
        (t("doc.tax", rate=invoice.tax.rate), invoice.tax.amount, False),
        (t("doc.total"), invoice.total, True),
    ):
        pdf.set_font("Helvetica", "B" if bold else "", 10)
        pdf.cell(sum(widths[:3]), 7, label, align="R")
        pdf.cell(widths[3], 7, money(amount), align="R", new_x="LMARGIN", new_y="NEXT")
    if invoice.tax.mention_key:
        pdf.set_font("Helvetica", "I", 9)
        pdf.multi_cell(0, 5, t(invoice.tax.mention_key), new_x="LMARGIN", new_y="NEXT")
    pdf.ln(4)
    pdf.set_font("Helvetica", "B", 11)
    pdf.cell(0, 7, t("doc.transactions"), new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("Helvetica", "", 9)
    if not invoice.transactions:
        pdf.cell(0, 6, t("doc.no_transactions"), new_x="LMARGIN", new_y="NEXT")
    for tx in invoice.transactions:
        card = f"{(tx.card_brand or '').title()} **** {tx.card_last4}" if tx.card_last4 else ""
        result = t("doc.tx." + tx.status) + (
            f" - {t(tx.failure_message_key)}" if tx.failure_message_key else ""
        )
        pdf.multi_cell(
            0,
            5,
            _latin1(f"{format_date_long(tx.at, locale)}   {card}   {money(tx.amount)}   ") + result,
            new_x="LMARGIN",
            new_y="NEXT",
        )
    return bytes(pdf.output())
