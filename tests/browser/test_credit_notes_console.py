"""The console's credit notes ("Avoirs") beside the invoices, and the plan picker's prices with
VAT, in headless Chromium over the local stack (see ``conftest``)."""

from __future__ import annotations

import re
from typing import Any

import pytest

from tests.browser.conftest import (
    Stack,
    expect,
    open_my_account,
    set_language,
    settle,
    shoot,
    sign_in,
)

pytestmark = pytest.mark.e2e


def test_a_declined_first_payment_shows_its_credit_note(page: Any, stack: Stack) -> None:
    account = stack.signup("credit")  # FR consumer
    status, body = stack.call(
        "PUT",
        "/billing/card",
        {"payment_method_id": stack.payment_method("4000000000000341")},  # declined when charged
        account.token,
    )
    assert status == 200, body
    status, body = stack.call(
        "POST", "/billing/subscribe", {"plan": "basic-monthly"}, account.token
    )
    assert status == 402, body
    sign_in(page, account.email)
    open_my_account(page)
    billing = page.locator("#billing")
    expect(billing.locator("#invoices-body")).to_contain_text("Credited")
    section = billing.locator("#credit-notes-section")
    expect(section).to_be_visible()
    row = section.locator("#credit-notes-body tr")
    expect(row).to_have_count(1)
    number = row.locator("th").inner_text()
    assert re.fullmatch(r"CN-\d{4}-\d{6}", number)
    expect(row).to_contain_text("First payment failed")
    expect(row).to_contain_text("€18.00")

    # the plan picker says what will be charged, VAT included, and asks the EU consumer's consent
    expect(billing.locator("#plan-list")).to_contain_text("€18.00 per month")
    expect(billing.locator("#plan-list")).to_contain_text("VAT included: €15.00 + 20% VAT (€3.00)")
    expect(billing.locator("#subscribe-consent-row")).to_be_visible()
    shoot(page, "13-credit-notes")

    set_language(page, "fr")
    expect(billing.get_by_role("heading", name="Avoirs")).to_be_visible()
    expect(billing.locator("#plan-list")).to_contain_text("18,00\u00a0€ par mois")
    set_language(page, "en")

    row.get_by_role("button", name="Print").click()
    frame = page.frame_locator("#print-frame")
    expect(frame.get_by_role("heading", name=f"Credit note {number}")).to_be_attached()
    expect(frame.get_by_text("Credited invoice")).to_be_attached()
    expect(page.locator("#print-frame")).to_have_attribute("data-loaded", "true")
    settle(page)
    with page.expect_download() as download:
        row.get_by_role("button", name="PDF").click()
    assert download.value.suggested_filename == f"{number}.pdf"
