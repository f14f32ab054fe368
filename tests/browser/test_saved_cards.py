"""The saved cards in the console (Billing information > Saved cards), in Debian's Chromium
against the whole local stack: listed default first, another made the default (the card on
file follows), one removed; in English and French, axe-core clean."""

from __future__ import annotations

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
from tests.browser.test_account_security import axe_violations

pytestmark = pytest.mark.e2e


def test_saved_cards_listed_made_default_and_removed(page: Any, stack: Stack) -> None:
    account = stack.subscribed("cards")  # card 4242, paying
    status, body = stack.call(
        "PUT",
        "/billing/card",
        {"payment_method_id": stack.payment_method("5555555555554444")},
        account.token,
    )
    assert status == 200, body
    sign_in(page, account.email)
    open_my_account(page)
    section = page.locator("#saved-cards")
    expect(section.get_by_role("heading", name="Saved cards")).to_be_visible()
    items = section.locator("li")
    expect(items).to_have_count(2)
    expect(items.nth(0)).to_contain_text("ending in 4444")  # the new card is the default
    expect(items.nth(0)).to_contain_text("Default")
    expect(items.nth(0).get_by_role("button")).to_have_count(0)  # the default: no actions
    expect(items.nth(1)).to_contain_text("ending in 4242")
    assert axe_violations(page) == []
    shoot(page, "30-saved-cards")

    set_language(page, "fr")
    expect(section.get_by_role("heading", name="Cartes enregistrées")).to_be_visible()
    expect(items.nth(0)).to_contain_text("Par défaut")
    expect(items.nth(1).get_by_role("button", name="Définir par défaut")).to_be_visible()
    assert axe_violations(page) == []
    set_language(page, "en")

    section.get_by_role("button", name="Make default: Visa ending in 4242").click()
    expect(section.get_by_role("status")).to_have_text(
        "Visa ending in 4242 is now the default card."
    )
    settle(page)
    expect(page.locator("#billing-card")).to_contain_text("ending in 4242")
    expect(items.nth(0)).to_contain_text("ending in 4242")
    expect(items.nth(0)).to_contain_text("Default")

    section.get_by_role("button", name="Remove: Visa ending in 4444").click()
    expect(section.get_by_role("status")).to_have_text("Visa ending in 4444 was removed.")
    expect(items).to_have_count(1)
    settle(page)
    assert axe_violations(page) == []
    status, body = stack.call("GET", "/billing/cards", token=account.token)
    assert status == 200 and [c["last4"] for c in body["items"]] == ["4242"]
