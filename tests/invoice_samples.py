"""Invoices as the billing service issues them, for the document and tax tests: the account
is built here, the invoice goes through ``snapshot_tax_facts`` like every issued invoice."""

from __future__ import annotations

from datetime import UTC, datetime

from chalicelib.config import Settings, settings_from_env
from chalicelib.domain.account import Account, AccountStatus
from chalicelib.domain.billing import (
    Address,
    Invoice,
    InvoiceLine,
    InvoiceStatus,
    Party,
    Tax,
    TransactionStatus,
    transaction_for,
)
from chalicelib.domain.payments import CardSummary
from chalicelib.services.invoicing import snapshot_tax_facts

ISSUED = datetime(2026, 11, 26, 10, 0, tzinfo=UTC)


def settings() -> Settings:
    return settings_from_env({"STAGE": "local"})


def account(
    *,
    name: str,
    address: Address | None,
    country: str | None = None,
    vat_id: str | None = None,
    vat_status: str | None = None,
    card_country: str | None = None,
    locale: str = "en",
) -> Account:
    return Account(
        id="acc_sample",
        email="customer@example.com",
        name=name,
        country=country or (address.country if address else "FR"),
        locale=locale,
        password_hash="x",
        created_at=ISSUED,
        status=AccountStatus.ACTIVE,
        plan="pro-monthly",
        card=CardSummary("visa", "4242", 12, 2030, issuer_country=card_country),
        billing_address=address,
        vat_id=vat_id,
        vat_status=vat_status,
        vat_checked_at=ISSUED if vat_status == "valid" else None,
        vat_request_id="WAPIAAAAXXXXXXXX" if vat_status == "valid" else None,
    )


def issue(
    customer: Account,
    *,
    number: str = "HD-2026-000042",
    paid: bool = True,
    lines: tuple[InvoiceLine, ...] | None = None,
) -> Invoice:
    """An invoice for one month of Pro (49.00 EUR net) issued to ``customer`` (or ``lines``)."""
    s = settings()
    lines = lines or (InvoiceLine("Pro (monthly)", 1, 4900, 4900),)
    net = sum(line.amount for line in lines)
    draft = Invoice(
        id="in_0000000000000000000000001",
        account_id=customer.id,
        number=number,
        status=InvoiceStatus.OPEN,
        issued_at=ISSUED,
        period_start=ISSUED,
        period_end=datetime(2026, 12, 26, 10, 0, tzinfo=UTC),
        currency="EUR",
        lines=lines,
        subtotal=net,
        tax=Tax("0", 0),
        total=net,
        customer=Party(
            name=customer.billing_address.name if customer.billing_address else customer.name,
            address=customer.billing_address,
            vat_id=customer.vat_id,
            email=customer.email,
        ),
        seller=Party(
            name=s.vendor_name,
            vat_id=s.vendor_vat_number,
            email=s.vendor_support_email,
            address=Address(
                s.vendor_name, s.vendor_address_line1, s.vendor_city, s.vendor_postal_code, "FR"
            ),
        ),
        plan_id="pro-monthly",
    )
    invoice = snapshot_tax_facts(draft, customer, s)
    if paid:
        tx = transaction_for(
            invoice.id, ISSUED, invoice.total, TransactionStatus.SUCCEEDED, customer.card
        )
        invoice = invoice.evolve(status=InvoiceStatus.PAID, transactions=(tx,))
    return invoice


def french_consumer() -> Account:
    return account(
        name="Camille Martin",
        address=Address("Camille Martin", "3 rue des Lilas", "Lyon", "69003", "FR"),
        card_country="FR",
        locale="fr",
    )


def german_business() -> Account:
    return account(
        name="Beispiel GmbH",
        address=Address("Beispiel GmbH", "Hauptstraße 5", "Berlin", "10115", "DE"),
        vat_id="DE136695976",
        vat_status="valid",
        card_country="DE",
    )


def us_customer() -> Account:
    return account(
        name="Jane Doe",
        address=Address("Jane Doe", "1 Main Street", "Springfield", "62701", "US", state="IL"),
        card_country="US",
    )


def polish_greek_customer() -> Account:
    return account(
        name="Łukasz Żółć",
        address=Address("Łukasz Żółć", "Οδός Ερμού 12", "Αθήνα", "105 63", "GR"),
        card_country="PL",
    )
