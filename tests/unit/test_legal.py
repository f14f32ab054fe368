"""Legal content of invoices: notices en/fr, French typography, country names, plan labels,
and the seller identity required outside the local stage."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from chalicelib.config import (
    DEMO_SELLER,
    require_seller_identity,
    seller_problems,
    settings_from_env,
)
from chalicelib.documents import content
from chalicelib.domain.billing import Address
from chalicelib.domain.legal import SellerSettingsMissing, check_fr_vat, check_siren
from chalicelib.i18n.invoices import NNBSP, plan_label
from tests import invoice_samples as samples

ROOT = Path(__file__).resolve().parents[2]


def test_reverse_charge_notices_en_fr() -> None:
    invoice = samples.issue(samples.german_business())
    en = content.legal_notices(invoice, "en")
    fr = content.legal_notices(invoice, "fr")
    assert en[0].startswith("Reverse charge") and "Art. 196" in en[0]
    assert (
        fr[0]
        == f"Autoliquidation{NNBSP}: TVA due par le preneur (art. 196 de la directive 2006/112/CE)."
    )
    # a business: the due date, the penalty rate and the €40 indemnity
    assert any("26 novembre 2026" in n for n in fr)
    assert any("majoré de 10 points" in n and "L441-10" in n for n in fr)
    assert any(f"40{NNBSP}€" in n and "D441-5" in n for n in fr)
    assert any("€40" in n for n in en)


def test_outside_eu_reasons() -> None:
    consumer = samples.issue(samples.us_customer())
    assert content.legal_notices(consumer, "fr") == ["TVA non applicable, art. 259 B du CGI."]
    canary = samples.account(
        name="Ana",
        address=Address("Ana", "Calle 1", "Santa Cruz", "38001", "ES"),
    )
    text = content.legal_notices(samples.issue(canary), "en")[0]
    assert "the Canary Islands" in text and "Art. 6(1)(b)" in text


def test_outside_eu_business_reason_is_259_1() -> None:
    facts_business = samples.issue(samples.us_customer())
    assert facts_business.tax_facts is not None
    from msgspec.structs import replace

    invoice = replace(
        facts_business,
        tax_facts=replace(
            facts_business.tax_facts, business=True, exemption="tax.exemption.outside_eu_business"
        ),
    )
    assert content.legal_notices(invoice, "fr")[0] == "TVA non applicable, art. 259-1 du CGI."
    assert content.legal_notices(invoice, "en")[0].startswith("VAT not applicable, art. 259-1 CGI")


def test_consumers_get_no_b2b_terms_and_domestic_sales_no_exemption() -> None:
    invoice = samples.issue(samples.french_consumer())
    assert content.legal_notices(invoice, "fr") == []
    assert content.exemption_reason(invoice, "fr") is None


def test_french_typography_euro_sign_and_country_names() -> None:
    invoice = samples.issue(samples.german_business())
    pairs = dict(content.meta_pairs(invoice, "fr"))
    assert f"Date d’émission{NNBSP}:" in pairs and "Issue date:" in dict(
        content.meta_pairs(invoice, "en")
    )
    totals = content.totals(invoice, "fr")
    assert totals[0][0] == "Total HT" and totals[-1][0] == "Total TTC"
    assert all("€" in amount and "EUR" not in amount for _, amount, _ in totals)
    assert "Allemagne" in content.party_lines(invoice.customer, "fr")
    assert "Germany" in content.party_lines(invoice.customer, "en")
    seller = content.seller_lines(invoice, "fr")
    assert f"SAS au capital de 10{NNBSP}000,00\xa0€" in seller  # Babel's French spacing
    assert "RCS Paris 999 999 998" in seller and "N° de TVA FR11999999998" in seller


def test_plan_labels_per_language() -> None:
    assert plan_label("basic-monthly", "fr", "x") == "Basic (mensuel)"
    assert plan_label("basic-monthly", "en", "x") == "Basic (monthly)"
    assert plan_label("custom", "fr", "Custom plan") == "Custom plan"
    invoice = samples.issue(samples.french_consumer())
    assert [line.description for line in content.lines(invoice, "fr")] == ["Pro (mensuel)"]


def test_the_demo_seller_has_valid_check_digits() -> None:
    assert check_siren(DEMO_SELLER["VENDOR_SIREN"]) == "999999998"
    assert check_fr_vat(DEMO_SELLER["VENDOR_VAT_NUMBER"], "999999998") == "FR11999999998"
    assert seller_problems(settings_from_env({"STAGE": "local"})) == []


@pytest.mark.parametrize("stage", ["dev", "prod"])
def test_dev_and_prod_refuse_to_start_without_the_seller_identity(stage: str) -> None:
    with pytest.raises(SellerSettingsMissing) as refused:
        require_seller_identity(settings_from_env({"STAGE": stage}))
    message = str(refused.value)
    for variable in ("VENDOR_SIREN", "VENDOR_VAT_NUMBER", "VENDOR_RCS_CITY", "VENDOR_NAME"):
        assert variable in message
    complete = {
        "STAGE": stage,
        "VENDOR_NAME": "Example SAS",
        "VENDOR_ADDRESS_LINE1": "1 rue Exemple",
        "VENDOR_POSTAL_CODE": "75001",
        "VENDOR_CITY": "Paris",
        **DEMO_SELLER,
    }
    require_seller_identity(settings_from_env(complete))  # no error
    with pytest.raises(SellerSettingsMissing, match="does not belong to SIREN"):
        require_seller_identity(settings_from_env({**complete, "VENDOR_SIREN": "123456782"}))


@pytest.mark.parametrize("stage", ["dev", "prod"])
def test_a_dev_or_prod_process_refuses_to_run_without_the_seller(stage: str) -> None:
    """A fresh process of the stage (the CLI builds the same container as the Lambda) stops
    with the message before touching anything."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("LOCAL_", "AWS_ENDPOINT", "VENDOR_", "STAGE"))
    }
    env.update(AWS_DEFAULT_REGION="us-east-1", AWS_EC2_METADATA_DISABLED="true")
    done = subprocess.run(
        [sys.executable, "-m", "chalicelib.cli", "--stage", stage, "export-oss", "--quarter",
         "2026Q4"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )  # fmt: skip
    assert done.returncode == 2 and done.stdout == ""
    assert f"STAGE={stage}" in done.stderr and "VENDOR_SIREN is not set" in done.stderr


def test_a_malformed_siren_passes_the_cold_start_check_but_no_invoice_takes_it() -> None:
    """The cold start checks that every part is set (python-stdnum stays off every route);
    the numbers are checked where an invoice takes them, and by the CLI (full check)."""
    settings = settings_from_env({"STAGE": "local", "VENDOR_SIREN": "123456782"})
    require_seller_identity(settings, numbers=False)  # no error: all set
    with pytest.raises(SellerSettingsMissing, match="SIREN 123456782"):
        require_seller_identity(settings)
    with pytest.raises(SellerSettingsMissing, match="SIREN 123456782"):
        settings.seller_legal()
    assert settings_from_env({"STAGE": "local"}).seller_legal() is not None
