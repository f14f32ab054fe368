"""The OSS return with credit notes: a credit of a sale of the same quarter nets off that
sale's row, a credit of an earlier quarter's sale is a correction row (negative amounts, the
corrected period named) in the quarter the credit note is issued, a full credit leaves nothing,
and the earlier quarter's return never moves."""

from __future__ import annotations

import csv
import io
from datetime import datetime

from msgspec.structs import replace

from chalicelib.adapters.memory import InMemoryRepository
from chalicelib.domain.account import AccountChange
from chalicelib.domain.billing import Address, Invoice
from chalicelib.domain.credit_notes import (
    CreditNote,
    CreditReason,
    Refund,
    RefundStatus,
    credit_note_for,
    invoice_after_credit,
)
from chalicelib.domain.tax import quarter_of
from chalicelib.services.oss import oss_csv, oss_return
from tests import invoice_samples as samples

TZ = samples.ISSUED.tzinfo
Q3 = datetime(2026, 9, 30, 12, tzinfo=TZ)
Q4 = datetime(2026, 11, 2, 12, tzinfo=TZ)
Q4_LATER = datetime(2026, 12, 15, 12, tzinfo=TZ)


def sale(account: object, number: int, at: datetime) -> Invoice:
    invoice = samples.issue(account, number=f"HD-2026-{number:06d}")  # type: ignore[arg-type]
    assert invoice.tax_facts is not None
    return replace(
        invoice,
        id=f"in_{number:025x}",
        issued_at=at,
        tax_facts=replace(invoice.tax_facts, quarter=quarter_of(at)),
    )


def credit(
    repo: InMemoryRepository,
    invoice: Invoice,
    at: datetime,
    amount: int | None,
    sequence: int,
    *,
    pending: bool = False,
) -> CreditNote:
    refund = (
        Refund(amount or invoice.total, RefundStatus.PENDING, "pi_x", key="") if pending else None
    )
    note = credit_note_for(
        invoice,
        (),
        sequence=sequence,
        now=at,
        reason=CreditReason.REFUND,
        amount=amount,
        refund=refund,
    )
    stored = repo.invoices[(invoice.account_id, invoice.id)]
    repo.commit(
        AccountChange(
            credit_notes=((note, None),),
            invoices=((invoice_after_credit(stored, [note]), stored.version),),
        )
    )
    return note


def german() -> object:
    return samples.account(
        name="Max", address=Address("Max", "Weg 1", "Köln", "50667", "DE"), card_country="DE"
    )


def rows(repo: InMemoryRepository, quarter: str) -> list[tuple[object, ...]]:
    return [
        (
            r.member_state,
            r.rate,
            r.period,
            r.taxable_amount,
            r.vat_amount,
            r.invoices,
            r.credit_notes,
        )
        for r in oss_return(repo, quarter)
    ]


def test_credit_notes_net_off_in_their_quarter_and_correct_earlier_ones() -> None:
    repo = InMemoryRepository()
    de = german()
    greek = samples.polish_greek_customer()
    q3_sale = sale(de, 1, Q3)
    q4_sale = sale(de, 2, Q4)
    q4_greek = sale(greek, 3, Q4)
    q4_french = sale(samples.french_consumer(), 4, Q4)
    repo.commit(
        AccountChange(invoices=tuple((i, None) for i in (q3_sale, q4_sale, q4_greek, q4_french)))
    )
    assert (q4_sale.subtotal, q4_sale.tax.amount, q4_sale.total) == (4900, 931, 5831)
    assert rows(repo, "2026Q3") == [("DE", "19", "2026Q3", 4900, 931, 1, 0)]

    credit(repo, q4_sale, Q4_LATER, 1190, 1)  # partial, same quarter: 1000 net + 190 VAT
    credit(repo, q3_sale, Q4_LATER, 2380, 2, pending=True)  # an earlier quarter's sale
    credit(repo, q4_greek, Q4_LATER, None, 3)  # in full, same quarter: nothing left
    credit(repo, q4_french, Q4_LATER, 600, 4)  # domestic: not on the OSS return

    assert rows(repo, "2026Q4") == [
        ("DE", "19", "2026Q4", 3900, 741, 1, 1),
        ("DE", "19", "2026Q3", -2000, -380, 0, 1),
    ]
    # the earlier quarter's return does not move: its correction is in the next one
    assert rows(repo, "2026Q3") == [("DE", "19", "2026Q3", 4900, 931, 1, 0)]
    table = list(csv.reader(io.StringIO(oss_csv(oss_return(repo, "2026Q4")))))
    assert table[2] == ["DE", "19", "EUR", "2026Q3", "-20.00", "-3.80", "0", "1"]


def test_a_credit_note_issued_in_the_next_quarter_corrects_that_quarter() -> None:
    repo = InMemoryRepository()
    q4_sale = sale(german(), 1, Q4)
    repo.commit(AccountChange(invoices=((q4_sale, None),)))
    credit(repo, q4_sale, datetime(2027, 1, 5, tzinfo=TZ), None, 1)  # in full, in 2027Q1
    assert rows(repo, "2026Q4") == [("DE", "19", "2026Q4", 4900, 931, 1, 0)]  # still declared
    assert rows(repo, "2027Q1") == [("DE", "19", "2026Q4", -4900, -931, 0, 1)]
