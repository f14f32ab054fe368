"""The One-Stop Shop return of a quarter: taxable amounts and VAT per member state and rate.

Only ``oss`` sales go in (consumers, and businesses without a verified VAT ID, in member
states other than France); domestic French sales (France and Monaco) are on the French return,
reverse-charged sales on the recapitulative statement, and sales outside the EU VAT territory
nowhere.  The scheme, rate, member state and quarter are the invoice's tax facts, fixed at
issue (:mod:`chalicelib.services.invoicing`), so a later change of the account never moves
an old sale.

No Scan: each OSS invoice carries the keys of its quarter's ledger (``oss#<quarter>#<shard>``
in the sparse ``work_queue`` index) from the moment it is stored, in the same write, so the
export is one Query per shard, reading exactly that quarter's OSS sales.

Credit notes (avoirs) are declared in the quarter they are *issued* in, as an OSS return
expects (Council Implementing Regulation 282/2011 art. 61: a correction of an earlier return is
made in a later return, naming the member state and the period corrected):

* a credit note of a sale of the **same** quarter nets off that sale: its net and VAT are
  subtracted from the quarter's row of that member state and rate (a sale credited in full
  adds nothing; a row that nets to zero is left out);
* a credit note of a sale of an **earlier** quarter is a correction row of the return of the
  quarter it is issued in: the member state, the rate, ``period`` = the quarter of the sale
  it corrects, and negative amounts; the earlier quarter's return is never changed by it;
* whatever its refund did: a credit note stands even when the money went back by other means.

So a quarter's return depends only on what was issued in it, and exporting it again later gives
the same figures.  Every credit note of an OSS sale carries the keys of the OSS ledger of its
issue quarter (``CreditNote.oss_quarter``: the invoice's tax facts are copied onto it), except
while its refund is pending (it is in the refund work queue then: an item has one pair of
queue keys), so the export also reads that short queue; no Scan either way.

Voided invoices (before credit notes existed, nothing is owed) are left out.  Amounts are
summed in minor units per currency (the OSS return is in euros; every plan is in EUR today).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from decimal import Decimal
from typing import Protocol

from msgspec import Struct

from chalicelib.domain.billing import Invoice, InvoiceStatus
from chalicelib.domain.credit_notes import CreditNote
from chalicelib.domain.tax import parse_quarter


class OssLedger(Protocol):
    def oss_invoices(self, quarter: str) -> Iterable[Invoice]: ...

    def oss_credit_notes(self, quarter: str) -> Iterable[CreditNote]:
        """The credit notes of OSS sales issued in ``quarter`` (whatever the sale's quarter)."""
        ...


class OssRow(Struct, frozen=True):
    member_state: str
    rate: str
    currency: str
    period: str  # the quarter of the sales: the return's own, or the one a correction is of
    taxable_amount: int  # minor units; negative for a correction
    vat_amount: int
    invoices: int  # the quarter's invoices in the row
    credit_notes: int  # the credit notes subtracted in the row


COLUMNS = (
    "member_state",
    "rate",
    "currency",
    "period",
    "taxable_amount",
    "vat_amount",
    "invoices",
    "credit_notes",
)


def oss_return(ledger: OssLedger, quarter: str) -> list[OssRow]:
    """The rows of ``quarter``'s return (``2026Q4``): its sales net of the credit notes issued
    in it, by member state then rate, then the corrections of earlier quarters (see the
    module docstring)."""
    year, number = parse_quarter(quarter)
    key = f"{year}Q{number}"
    totals: dict[tuple[str, str, str, str], list[int]] = {}
    for invoice in ledger.oss_invoices(key):
        facts = invoice.tax_facts
        if facts is None or not facts.oss or facts.country is None or facts.quarter != key:
            continue
        if invoice.status is InvoiceStatus.VOID:
            continue  # voided before credit notes existed: nothing owed
        row = totals.setdefault((facts.country, facts.rate, invoice.currency, key), [0, 0, 0, 0])
        row[0] += invoice.subtotal
        row[1] += invoice.tax.amount
        row[2] += 1
    for note in ledger.oss_credit_notes(key):
        facts = note.tax_facts
        if facts is None or not facts.oss or facts.country is None or note.oss_quarter() != key:
            continue
        period = facts.quarter  # the sale's quarter: this one (nets off) or an earlier one
        row = totals.setdefault((facts.country, facts.rate, note.currency, period), [0, 0, 0, 0])
        row[0] -= note.subtotal
        row[1] -= note.tax.amount
        row[3] += 1
    return [
        OssRow(country, rate, currency, period, taxable, vat, invoices, notes)
        for (country, rate, currency, period), (taxable, vat, invoices, notes) in sorted(
            totals.items(),
            key=lambda kv: (kv[0][3] != key, kv[0][3], kv[0][0], Decimal(kv[0][1]), kv[0][2]),
        )
        if taxable or vat
    ]


def _decimal(minor: int) -> str:
    return f"{Decimal(minor).scaleb(-2):.2f}"


def oss_csv(rows: list[OssRow]) -> str:
    """The return as CSV (amounts in major units, ``.`` as the decimal separator)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(COLUMNS)
    for r in rows:
        writer.writerow(
            (
                r.member_state,
                r.rate,
                r.currency,
                r.period,
                _decimal(r.taxable_amount),
                _decimal(r.vat_amount),
                r.invoices,
                r.credit_notes,
            )
        )
    return out.getvalue()
