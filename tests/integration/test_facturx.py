"""Factur-X: the EN 16931 XML against the official XSD and Schematron (offline), the PDF/A-3
metadata and attachment, any script in the PDF, the HTTP routes, and the OSS ledger over
DynamoDB (moto)."""

from __future__ import annotations

import io
import re
import shutil
import subprocess
from typing import Any

import pytest
from msgspec.structs import replace

from chalicelib.adapters.dynamo.repository import DynamoRepository
from chalicelib.config import Settings
from chalicelib.documents.facturx import invoice_xml
from chalicelib.documents.pdf import FACTURX_FILENAME, invoice_pdf
from chalicelib.domain.account import AccountChange
from chalicelib.domain.billing import Address, Invoice, InvoiceLine, InvoiceStatus
from chalicelib.services.oss import oss_return
from tests import invoice_samples as samples
from tests.facturx_check import fatal, schematron_findings, xsd_errors
from tests.helpers import Api, create_payment_method

CUSTOMERS = {
    "french_consumer": (samples.french_consumer, "S"),
    "german_business": (samples.german_business, "AE"),
    "us_customer": (samples.us_customer, "O"),
}


@pytest.mark.parametrize("name", list(CUSTOMERS))
@pytest.mark.parametrize("locale", ["en", "fr"])
def test_the_xml_passes_the_en16931_xsd_and_schematron(name: str, locale: str) -> None:
    make, category = CUSTOMERS[name]
    xml = invoice_xml(samples.issue(make()), locale)
    assert xsd_errors(xml) == []
    findings = schematron_findings(xml)
    assert findings == [], findings  # no fatal error and no warning either
    assert f"<ram:CategoryCode>{category}</ram:CategoryCode>".encode() in xml
    assert b"<ram:ID>urn:cen.eu:en16931:2017</ram:ID>" in xml


# an upgrade's invoice (services.subscription): the time left on the new plan, and the unused
# time on the old one as a negative quantity at a positive price (EN 16931 BR-27)
PRORATION = (
    InvoiceLine("Pro (monthly) × 3 seats, remaining time from 10 to 26 December", 1, 7585, 7585),
    InvoiceLine("Unused time on Pro (monthly) × 1 seat from 10 to 26 December", -1, 2528, -2528),
)


@pytest.mark.parametrize("name", list(CUSTOMERS))
def test_an_upgrade_invoice_with_proration_lines_is_valid_en16931(name: str) -> None:
    make, _ = CUSTOMERS[name]
    invoice = samples.issue(make(), lines=PRORATION)
    assert invoice.subtotal == 7585 - 2528
    xml = invoice_xml(invoice, "fr")
    assert xsd_errors(xml) == []
    assert fatal(schematron_findings(xml)) == []
    assert b'<ram:BilledQuantity unitCode="C62">-1</ram:BilledQuantity>' in xml
    assert _pdf(invoice, "en").startswith(b"%PDF")


def test_the_schematron_check_does_catch_a_wrong_invoice() -> None:
    """The validator is not vacuous: totals that do not add up break BR-CO-15."""
    invoice = samples.issue(samples.french_consumer())
    broken = invoice_xml(replace(invoice, total=invoice.total + 100), "en")
    rules = {f.rule for f in fatal(schematron_findings(broken))}
    assert "BR-CO-15" in rules


def test_reverse_charge_xml_carries_both_vat_ids_and_the_reason() -> None:
    xml = invoice_xml(samples.issue(samples.german_business()), "fr").decode()
    assert '<ram:ID schemeID="VA">FR11999999998</ram:ID>' in xml
    assert '<ram:ID schemeID="VA">DE136695976</ram:ID>' in xml
    assert "VATEX-EU-AE" in xml and "Autoliquidation" in xml
    assert '<ram:ID schemeID="0002">999999998</ram:ID>' in xml  # SIREN
    assert "<ram:SubjectCode>PMT</ram:SubjectCode>" in xml  # the €40 indemnity


def _pdf(invoice: Invoice, locale: str) -> bytes:
    return invoice_pdf(invoice, locale, invoice_xml(invoice, locale))


def test_the_pdf_is_pdf_a_3_with_factur_x_xml_attached() -> None:
    from pypdf import PdfReader

    invoice = samples.issue(samples.german_business())
    raw = _pdf(invoice, "fr")
    reader = PdfReader(io.BytesIO(raw))
    assert raw.startswith(b"%PDF-1.7")
    from lxml import etree

    root: Any = reader.trailer["/Root"]
    xmp = etree.fromstring(root["/Metadata"].get_object().get_data())

    def prop(namespace: str, name: str) -> str:
        (element,) = xmp.iter(f"{{{namespace}}}{name}")
        return str(element.text)

    pdfaid = "http://www.aiim.org/pdfa/ns/id/"
    fx = "urn:factur-x:pdfa:CrossIndustryDocument:invoice:1p0#"
    assert (prop(pdfaid, "part"), prop(pdfaid, "conformance")) == ("3", "B")
    assert prop(fx, "ConformanceLevel") == "EN 16931" and prop(fx, "DocumentType") == "INVOICE"
    assert prop(fx, "DocumentFileName") == FACTURX_FILENAME
    (attached,) = reader.attachments[FACTURX_FILENAME]
    assert attached == invoice_xml(invoice, "fr")
    (spec,) = [ref.get_object() for ref in root["/AF"]]
    assert spec["/F"] == FACTURX_FILENAME and spec["/AFRelationship"] == "/Alternative"
    assert spec["/EF"]["/F"].get_object()["/Subtype"] == "/text/xml"
    (intent,) = root["/OutputIntents"]
    assert intent.get_object()["/S"] == "/GTS_PDFA1"
    fonts = {
        font.get_object()["/BaseFont"]
        for page in reader.pages
        for font in page["/Resources"]["/Font"].values()  # type: ignore[index]
    }
    assert fonts and all("DejaVu" in str(f) for f in fonts)  # embedded subsets, no core font


def test_a_polish_name_and_a_greek_address_print() -> None:
    assert shutil.which("pdftotext"), "make test installs poppler-utils (make system-deps)"
    invoice = samples.issue(samples.polish_greek_customer())
    for locale in ("en", "fr"):
        words = subprocess.run(
            ["pdftotext", "-", "-"], input=_pdf(invoice, locale), capture_output=True, check=True
        ).stdout.decode()
        assert "Łukasz Żółć" in words and "Οδός Ερμού 12" in words and "Αθήνα" in words
        assert "€" in words and "EUR" not in words and "?" not in words
    assert "Grèce" in words and "Total TTC" in words
    assert re.search("Date d’émission[\u202f ]:", words)  # pdftotext may write a plain space


# --- over HTTP ------------------------------------------------------------------------------
ADDRESS_DE = {
    "name": "Beispiel GmbH",
    "line1": "Hauptstraße 5",
    "city": "Berlin",
    "postal_code": "10115",
    "country": "DE",
}


@pytest.fixture
def api(client: Any) -> Api:
    return Api(client)


def test_invoice_json_xml_and_print_view_over_http(api: Api, settings: Settings) -> None:
    token, _ = api.signup(country="DE")
    assert api.call("PUT", "/billing/vat", {"vat_id": "DE136695976"}, token=token).status == 400
    api.call("PUT", "/billing/address", ADDRESS_DE, token=token)
    vat = api.call("PUT", "/billing/vat", {"vat_id": "DE136695976"}, token=token).json
    assert vat["status"] == "valid"
    method = create_payment_method(settings, "4242424242424242")
    api.call("PUT", "/billing/card", {"payment_method_id": method}, token=token)
    assert (
        api.call("POST", "/billing/subscribe", {"plan": "pro-monthly"}, token=token).status == 200
    )
    (summary,) = api.call("GET", "/billing/invoices", token=token).json["items"]
    path = f"/billing/invoices/{summary['id']}"

    fr = api.call("GET", path, token=token, headers={"Accept-Language": "fr"}).json
    assert fr["seller"]["vat_id"] == "FR11999999998"
    assert fr["seller"]["legal_id"] == "999999998" and fr["seller"]["legal_form"] == "SAS"
    assert fr["seller"]["registration"] == "RCS Paris 999 999 998"
    assert fr["seller"]["share_capital"] == {"amount": 1000000, "currency": "EUR"}
    assert fr["tax"]["country"] == "DE" and fr["tax"]["reverse_charge"] is True
    assert fr["tax"]["scheme"] == "reverse_charge"
    assert fr["tax"]["exemption_reason"].startswith("Autoliquidation")
    assert fr["lines"][0]["description"] == "Pro (mensuel)"
    assert any("40\u202f€" in n for n in fr["legal_notices"])

    xml = api.call("GET", f"{path}/xml", token=token, headers={"Accept": "application/xml"})
    assert xml.status == 200 and xml.headers["Content-Type"].startswith("application/xml")
    assert xsd_errors(xml.raw) == [] and fatal(schematron_findings(xml.raw)) == []
    assert summary["number"].encode() in xml.raw

    page = api.call("GET", f"{path}/print", token=token, headers={"Accept-Language": "fr"})
    text = page.raw.decode()
    for expected in ("RCS Paris 999 999 998", "Autoliquidation", "Total HT", "Total TTC",
                     "Imprimer", "Allemagne", "Résumé des transactions"):  # fmt: skip
        assert expected in text, expected

    other, _ = api.signup()
    assert api.call("GET", f"{path}/xml", token=other, headers={"Accept": "*/*"}).status == 404


# --- the OSS ledger over DynamoDB ------------------------------------------------------------
def test_the_oss_ledger_is_read_from_the_index_and_survives_status_changes(
    settings: Settings,
) -> None:
    repo = DynamoRepository(settings)
    german = samples.account(
        name="Max",
        address=Address("Max", "Weg 1", "Köln", "50667", "DE"),
    )
    import secrets

    from chalicelib.domain.tax import quarter_of

    quarter_year = 2031  # a quarter no other test writes
    at = samples.ISSUED.replace(year=quarter_year)
    invoices = []
    for kind in (german, samples.french_consumer(), german):
        invoice = samples.issue(replace(kind, id=f"acc_{secrets.token_hex(6)}"), paid=False)
        assert invoice.tax_facts is not None
        invoice = replace(
            invoice,
            id=f"in_{secrets.token_hex(12)}0",
            issued_at=at,
            tax_facts=replace(invoice.tax_facts, quarter=quarter_of(at)),
        )
        invoices.append(invoice)
    repo.commit(AccountChange(invoices=tuple((i, None) for i in invoices)))
    paid = invoices[0].evolve(status=InvoiceStatus.PAID)
    repo.commit(AccountChange(invoices=((paid, invoices[0].version),)))  # a later write
    rows = oss_return(repo, f"{quarter_year}Q4")
    assert [(r.member_state, r.rate, r.taxable_amount, r.vat_amount, r.invoices) for r in rows] == [
        ("DE", "19", 9800, 1862, 2)
    ]
