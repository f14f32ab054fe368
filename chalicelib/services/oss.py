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

Voided and fully credited invoices (nothing is owed) are left out (partial refunds are not
subtracted yet: see CHANGES-credit.md).  Amounts are summed in minor units per
currency (the OSS return is in euros; every plan is in EUR today).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal
from typing import Protocol

from chalicelib.domain.billing import Invoice, InvoiceStatus
from chalicelib.domain.tax import parse_quarter


class OssLedger(Protocol):
    def oss_invoices(self, quarter: str) -> Iterable[Invoice]: ...


@dataclass(frozen=True)
class OssRow:
    member_state: str
    rate: str
    currency: str
    taxable_amount: int  # minor units
    vat_amount: int
    invoices: int


COLUMNS = ("member_state", "rate", "currency", "taxable_amount", "vat_amount", "invoices")


def oss_return(ledger: OssLedger, quarter: str) -> list[OssRow]:
    """The rows of ``quarter``'s return (``2026Q4``), by member state then rate."""
    year, number = parse_quarter(quarter)
    key = f"{year}Q{number}"
    totals: dict[tuple[str, str, str], list[int]] = {}
    for invoice in ledger.oss_invoices(key):
        facts = invoice.tax_facts
        if facts is None or not facts.oss or facts.country is None or facts.quarter != key:
            continue
        if invoice.status in (InvoiceStatus.VOID, InvoiceStatus.CREDITED):
            continue  # nothing owed: voided before credit notes, or credited in full
        row = totals.setdefault((facts.country, facts.rate, invoice.currency), [0, 0, 0])
        row[0] += invoice.subtotal
        row[1] += invoice.tax.amount
        row[2] += 1
    return [
        OssRow(country, rate, currency, taxable, vat, count)
        for (country, rate, currency), (taxable, vat, count) in sorted(
            totals.items(), key=lambda kv: (kv[0][0], Decimal(kv[0][1]), kv[0][2])
        )
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
                _decimal(r.taxable_amount),
                _decimal(r.vat_amount),
                r.invoices,
            )
        )
    return out.getvalue()
