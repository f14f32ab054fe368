"""The VAT scheme of each sale, the tax facts fixed on the invoice, and the OSS export."""

from __future__ import annotations

import csv
import io
from datetime import date, datetime, timedelta
from decimal import Decimal

import pytest
from msgspec.structs import replace

from chalicelib.adapters.memory import InMemoryRepository
from chalicelib.domain.account import AccountChange
from chalicelib.domain.billing import Address, InvoiceStatus
from chalicelib.domain.tax import decide, parse_quarter, place_of_supply, quarter_of
from chalicelib.services.invoicing import EVIDENCE_CONFLICT_EVENT, evidence_audit
from chalicelib.services.oss import oss_csv, oss_return
from tests import invoice_samples as samples

ON = date(2026, 11, 26)


def scheme(
    country: str, postal_code: str | None = None, status: str | None = None
) -> tuple[str, Decimal, str | None]:
    d = decide(
        seller_country="FR",
        customer_country=country,
        customer_postal_code=postal_code,
        customer_vat_status=status,
        business=status is not None,
        on=ON,
    )
    return d.scheme, d.rate, d.country


def test_domestic_france_is_not_oss() -> None:
    assert scheme("FR", "75001") == ("domestic", Decimal(20), "FR")
    assert scheme("FR", "75001", "valid") == ("domestic", Decimal(20), "FR")  # no self-reverse


def test_monaco_is_france_for_vat() -> None:
    assert scheme("MC", "98000") == ("domestic", Decimal(20), "FR")
    assert scheme("MC", "98000", "valid") == ("domestic", Decimal(20), "FR")
    assert place_of_supply("MC", "98000").territory == "MC"


@pytest.mark.parametrize(
    ("postal_code", "territory"),
    [("35001", "IC"), ("38001", "IC"), ("51001", "EA-CE"), ("52001", "EA-ML")],
)
def test_canary_islands_ceuta_and_melilla_are_outside_eu_vat(
    postal_code: str, territory: str
) -> None:
    assert scheme("ES", postal_code) == ("outside_scope", Decimal(0), None)
    assert scheme("ES", postal_code, "valid") == ("outside_scope", Decimal(0), None)
    assert place_of_supply("ES", postal_code).territory == territory


def test_mainland_spain_pays_spanish_vat_through_oss() -> None:
    assert scheme("ES", "28001") == ("oss", Decimal(21), "ES")
    assert scheme("ES", " 08 001 ") == ("oss", Decimal(21), "ES")  # spaces in the postal code
    assert scheme("ES", None) == ("oss", Decimal(21), "ES")


def test_other_member_state_consumer_is_oss_business_is_reverse_charged() -> None:
    assert scheme("DE", "10115") == ("oss", Decimal(19), "DE")
    assert scheme("DE", "10115", "pending") == ("oss", Decimal(19), "DE")  # not verified yet
    assert scheme("DE", "10115", "invalid") == ("oss", Decimal(19), "DE")
    assert scheme("DE", "10115", "valid") == ("reverse_charge", Decimal(0), "DE")
    assert scheme("DE", "27498") == ("outside_scope", Decimal(0), None)  # Heligoland


def test_us_customer_is_outside_scope_with_the_right_reason() -> None:
    consumer = decide(
        seller_country="FR",
        customer_country="US",
        customer_postal_code="62701",
        customer_vat_status=None,
        business=False,
        on=ON,
    )
    business = decide(
        seller_country="FR",
        customer_country="US",
        customer_postal_code="62701",
        customer_vat_status=None,
        business=True,
        on=ON,
    )
    assert (consumer.scheme, consumer.rate, consumer.country) == ("outside_scope", Decimal(0), None)
    assert consumer.exemption == "tax.exemption.outside_eu_consumer"
    assert business.exemption == "tax.exemption.outside_eu_business"


def test_quarters() -> None:
    assert quarter_of(date(2026, 10, 1)) == "2026Q4" and quarter_of(date(2026, 3, 31)) == "2026Q1"
    assert parse_quarter("2026q4") == (2026, 4)
    for bad in ("2026Q5", "26Q1", "2026-Q1", "Q4", ""):
        with pytest.raises(ValueError):
            parse_quarter(bad)


def test_snapshot_sets_tax_total_and_evidence() -> None:
    de = samples.issue(samples.german_business())
    facts = de.tax_facts
    assert facts is not None
    assert (facts.scheme, facts.country, facts.rate) == ("reverse_charge", "DE", "0")
    assert (de.tax.amount, de.total, de.tax.reverse_charge) == (0, 4900, True)
    assert facts.vies_request_id == "WAPIAAAAXXXXXXXX" and facts.vies_checked_at == samples.ISSUED
    assert facts.card_country == "DE" and not facts.evidence_conflict
    assert de.seller_legal is not None and de.seller_legal.siren == "999999998"

    fr = samples.issue(samples.french_consumer())
    assert fr.tax_facts is not None and fr.tax_facts.scheme == "domestic"
    assert (fr.tax.rate, fr.tax.amount, fr.total) == ("20", 980, 5880)
    assert fr.tax_facts.vies_request_id is None

    canary = samples.account(
        name="Ana", address=Address("Ana", "Calle Mayor 1", "Las Palmas", "35001", "ES")
    )
    invoice = samples.issue(canary)
    assert invoice.tax_facts is not None
    assert (invoice.tax_facts.scheme, invoice.tax_facts.place_of_supply) == ("outside_scope", "IC")
    assert (invoice.tax.amount, invoice.total) == (0, 4900)


def test_a_later_vies_recheck_does_not_change_an_issued_invoices_evidence() -> None:
    account = samples.german_business()
    first = samples.issue(account)
    rechecked = replace(
        account, vat_request_id="WAPIBBBBYYYYYYYY", vat_checked_at=samples.ISSUED + timedelta(90)
    )
    later = samples.issue(rechecked, number="HD-2026-000043")
    assert first.tax_facts is not None and later.tax_facts is not None
    assert first.tax_facts.vies_request_id == "WAPIAAAAXXXXXXXX"
    assert later.tax_facts.vies_request_id == "WAPIBBBBYYYYYYYY"


def test_card_country_conflict_is_flagged_in_the_audit_trail() -> None:
    invoice = samples.issue(samples.polish_greek_customer())  # Greek address, Polish card
    assert invoice.tax_facts is not None and invoice.tax_facts.evidence_conflict
    (event,) = evidence_audit(invoice, samples.ISSUED)
    assert event.event == EVIDENCE_CONFLICT_EVENT and event.account_id == invoice.account_id
    assert event.details["billing_country"] == "GR" and event.details["card_country"] == "PL"
    assert evidence_audit(samples.issue(samples.french_consumer()), samples.ISSUED) == ()
    monaco = samples.account(
        name="M", address=Address("M", "1 bd", "Monaco", "98000", "MC"), card_country="FR"
    )
    assert evidence_audit(samples.issue(monaco), samples.ISSUED) == ()


def _store(repo: InMemoryRepository, *invoices: object) -> None:
    repo.commit(AccountChange(invoices=tuple((i, None) for i in invoices)))  # type: ignore[misc]


def _issued(account: object, number: int, at: datetime) -> object:
    invoice = samples.issue(account, number=f"HD-2026-{number:06d}")  # type: ignore[arg-type]
    from chalicelib.domain.tax import quarter_of as q

    assert invoice.tax_facts is not None
    return replace(
        invoice,
        id=f"in_{number:025x}",
        issued_at=at,
        tax_facts=replace(invoice.tax_facts, quarter=q(at)),
    )


def test_oss_export_per_member_state_and_rate_without_domestic_sales() -> None:
    repo = InMemoryRepository()
    q4 = datetime(2026, 11, 2, tzinfo=samples.ISSUED.tzinfo)
    german = samples.account(
        name="Max", address=Address("Max", "Weg 1", "Köln", "50667", "DE"), card_country="DE"
    )
    greek = samples.polish_greek_customer()
    voided = replace(_issued(german, 5, q4), status=InvoiceStatus.VOID)  # type: ignore[type-var]
    _store(
        repo,
        _issued(german, 1, q4),
        _issued(german, 2, q4),
        _issued(greek, 3, q4),
        _issued(samples.french_consumer(), 4, q4),  # domestic: not in the OSS return
        _issued(samples.german_business(), 6, q4),  # reverse charge: not either
        _issued(samples.us_customer(), 7, q4),  # outside scope
        _issued(german, 8, datetime(2026, 9, 30, tzinfo=samples.ISSUED.tzinfo)),  # Q3
        voided,
    )
    rows = oss_return(repo, "2026Q4")
    assert [(r.member_state, r.rate, r.taxable_amount, r.vat_amount, r.invoices) for r in rows] == [
        ("DE", "19", 9800, 1862, 2),
        ("GR", "24", 4900, 1176, 1),
    ]
    table = list(csv.reader(io.StringIO(oss_csv(rows))))
    assert table[0] == [
        "member_state",
        "rate",
        "currency",
        "period",
        "taxable_amount",
        "vat_amount",
        "invoices",
        "credit_notes",
    ]
    assert table[1] == ["DE", "19", "EUR", "2026Q4", "98.00", "18.62", "2", "0"]
    assert [r.member_state for r in oss_return(repo, "2026Q3")] == ["DE"]
    assert oss_return(repo, "2027Q1") == []
