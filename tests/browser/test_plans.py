"""Browser tests of plan and seat changes and cancel at period end, in English and French:
an upgrade previewed then confirmed (charged at once, a new invoice), a downgrade scheduled for
the renewal and undone, a cancellation at the end of the paid period (offered first, saying
until when access lasts and that nothing is refunded) then resumed; axe-core clean on each
new screen."""

from __future__ import annotations

from typing import Any

import pytest

from tests.browser.conftest import (
    PASSWORD,
    Stack,
    expect,
    open_my_account,
    set_language,
    settle,
    sign_in,
)
from tests.browser.test_account_security import axe_violations

WORDS = {
    "en": {
        "title": "Change plan",
        "seats": "Agent seats",
        "preview": "Preview the change",
        "confirm": "Confirm",
        "charged": "charged now",
        "seats3": "3 seats",
        "renewal": "from your next renewal",
        "scheduled": "Scheduled",
        "undo": "Cancel this change",
        "cancelOpen": "Cancel my account",
        "atEnd": "At the end of the paid period",
        "refund": "nothing is refunded",
        "resume": "Resume my subscription",
        "ends": "Your subscription ends on",
    },
    "fr": {
        "title": "Changer de formule",
        "seats": "Sièges d’agent",
        "preview": "Voir le changement",
        "confirm": "Confirmer",
        "charged": "prélevés maintenant",
        "seats3": "3 sièges",
        "renewal": "à partir de votre prochain renouvellement",
        "scheduled": "Programmé",
        "undo": "Annuler ce changement",
        "cancelOpen": "Annuler mon compte",
        "atEnd": "À la fin de la période payée",
        "refund": "rien n’est remboursé",
        "resume": "Reprendre mon abonnement",
        "ends": "Votre abonnement prend fin le",
    },
}


def invoice_rows(page: Any) -> int:
    return int(page.locator("#invoices-body tr").count())


@pytest.mark.parametrize("lang", ["en", "fr"])
def test_upgrade_with_preview_then_downgrade_scheduled_and_undone(
    page: Any, stack: Stack, lang: str
) -> None:
    words = WORDS[lang]
    account = stack.subscribed(f"plans-{lang}")
    sign_in(page, account.email)
    open_my_account(page)
    set_language(page, lang)
    panel = page.locator("#change-panel")
    expect(panel.get_by_role("heading", name=words["title"])).to_be_visible()
    before = invoice_rows(page)

    panel.get_by_label(words["seats"]).fill("3")
    panel.get_by_role("button", name=words["preview"]).click()
    settle(page)
    summary = page.locator("#change-summary")
    expect(summary).to_be_visible()
    expect(page.locator("#change-summary-text")).to_contain_text(words["charged"])
    expect(page.locator("#change-lines-body tr")).to_have_count(4)  # 2 lines, VAT, total
    assert invoice_rows(page) == before  # the preview charged nothing
    assert axe_violations(page) == []
    summary.get_by_role("button", name=words["confirm"]).click()
    settle(page)
    expect(summary).to_be_hidden()
    expect(page.locator("#billing-plan")).to_contain_text(words["seats3"])
    expect(page.locator("#invoices-body tr")).to_have_count(before + 1)

    # fewer seats: scheduled for the renewal, shown, undone
    panel.get_by_label(words["seats"]).fill("1")
    panel.get_by_role("button", name=words["preview"]).click()
    settle(page)
    expect(page.locator("#change-summary-text")).to_contain_text(words["renewal"])
    expect(page.locator("#change-lines")).to_be_hidden()
    summary.get_by_role("button", name=words["confirm"]).click()
    settle(page)
    notice = page.locator("#change-scheduled")
    expect(notice).to_contain_text(words["scheduled"])
    expect(page.locator("#billing-plan")).to_contain_text(words["seats3"])  # until then
    expect(page.locator("#invoices-body tr")).to_have_count(before + 1)  # nothing refunded
    assert axe_violations(page) == []
    notice.get_by_role("button", name=words["undo"]).click()
    settle(page)
    expect(notice).to_be_hidden()


@pytest.mark.parametrize("lang", ["en", "fr"])
def test_cancel_at_period_end_then_resume(page: Any, stack: Stack, lang: str) -> None:
    words = WORDS[lang]
    account = stack.subscribed(f"cancel-end-{lang}")
    sign_in(page, account.email)
    open_my_account(page)
    set_language(page, lang)
    page.get_by_role("button", name=words["cancelOpen"]).first.click()
    settle(page)
    dialog = page.locator("#cancel-dialog")
    expect(dialog).to_be_visible()
    at_end = dialog.get_by_label(words["atEnd"])
    expect(at_end).to_be_checked()  # offered first to a paid account
    expect(page.locator("#cancel-when-text")).to_contain_text(words["refund"])
    assert axe_violations(page) == []
    dialog.locator("#cancel-password").fill(PASSWORD)
    dialog.locator("button[type=submit]").click()
    settle(page)
    expect(dialog).to_be_hidden()
    banner = page.locator("#cancel-scheduled")
    expect(banner).to_contain_text(words["ends"])
    expect(banner).to_contain_text(words["refund"])
    expect(page.locator("#change-panel")).to_be_hidden()
    expect(page.locator("#user-button")).to_be_visible()  # still signed in
    assert axe_violations(page) == []
    banner.get_by_role("button", name=words["resume"]).click()
    settle(page)
    expect(banner).to_be_hidden()
    expect(page.locator("#change-panel")).to_be_visible()


SUBSCRIBE_WORDS = {
    "en": {
        "seats": "Agent seats",
        "one": "You will be charged €18.00 now.",
        "three": "You will be charged €54.00 now for 3 seats.",
        "invalid": "Enter a whole number of seats from 1 to 10,000.",
        "consent": "I ask for the service to start at once",
        "submit": "Subscribe",
        "plan": "3 seats",
    },
    "fr": {
        "seats": "Sièges d’agent",
        "one": "18,00",
        "three": "pour 3 sièges",
        "invalid": "Saisissez un nombre entier de sièges entre 1 et 10 000.",
        "consent": "Je demande que le service commence immédiatement",
        "submit": "S’abonner",
        "plan": "3 sièges",
    },
}


@pytest.mark.parametrize("lang", ["en", "fr"])
def test_subscribe_asks_for_the_seats_and_updates_the_price(
    page: Any, stack: Stack, lang: str
) -> None:
    words = SUBSCRIBE_WORDS[lang]
    account = stack.signup(f"seats-{lang}")
    status, body = stack.call(
        "PUT",
        "/billing/card",
        {"payment_method_id": stack.payment_method("4242424242424242")},
        account.token,
    )
    assert status == 200, body
    sign_in(page, account.email)
    open_my_account(page)
    set_language(page, lang)
    panel = page.locator("#subscribe-panel")
    panel.locator("#plan-list input[value='basic-monthly']").check()
    seats = panel.get_by_label(words["seats"])
    expect(seats).to_have_value("1")
    expect(panel.locator("#subscribe-total")).to_contain_text(words["one"])
    seats.fill("3")
    total = panel.locator("#subscribe-total")
    expect(total).to_contain_text(words["three"])
    expect(total).to_contain_text("54")
    assert axe_violations(page) == []
    seats.fill("0")
    panel.get_by_label(words["consent"], exact=False).check()
    panel.get_by_role("button", name=words["submit"]).click()
    expect(panel.locator("#subscribe-error")).to_contain_text(words["invalid"])
    assert invoice_rows(page) == 0  # nothing charged
    seats.fill("3")
    panel.get_by_role("button", name=words["submit"]).click()
    settle(page)
    expect(panel).to_be_hidden()
    expect(page.locator("#billing-plan")).to_contain_text(words["plan"])
    expect(page.locator("#invoices-body tr")).to_have_count(1)
    status, billing = stack.call("GET", "/billing", token=account.token)
    assert status == 200 and billing["seats"] == 3, billing
