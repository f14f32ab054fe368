"""The account security screens in Debian's Chromium (issue 16): sign-up to a verified address,
forgot password to reset to signed in, ending another session (the other browser is signed
out), the activity list; in English and French.  axe-core (``make axe`` puts it in
``node_modules/``; it is injected into the page) reports no violation on each new screen, at
1280 px and at 375 px.

Mailed links are read from the mails the embedded SES received, after running the outbox job
as the schedule would.
"""

from __future__ import annotations

import json
import re
import time
import urllib.request
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from tests.browser.conftest import (
    DESKTOP,
    PASSWORD,
    PHONE,
    ROOT,
    Stack,
    expect,
    open_my_account,
    set_language,
    settle,
    sign_in,
)

pytestmark = pytest.mark.e2e
AXE = ROOT / "node_modules" / "axe-core" / "axe.min.js"
NEW = "a fresh pass phrase 9"

LABELS = {
    "en": {
        "signupLink": "Create an account",
        "signup": "Create my account",
        "name": "Name",
        "email": "Email address",
        "password": "Password",
        "country": "Country",
        "confirmed": "is confirmed",
        "forgot": "Forgot your password?",
        "send": "Send the link",
        "sent": "a link to choose a new password is on its way",
        "new": "New password",
        "confirm": "Confirm new password",
        "change": "Change my password",
        "changed": "Your password was changed",
        "signin": "Sign in",
        "endOthers": "Sign out all other sessions",
        "end": "Sign out",
        "banner": "Confirm your email address",
        "signedIn": "Signed in",
        "activity": "Activity",
    },
    "fr": {
        "signupLink": "Créer un compte",
        "signup": "Créer mon compte",
        "name": "Nom",
        "email": "Adresse électronique",
        "password": "Mot de passe",
        "country": "Pays",
        "confirmed": "est confirmée",
        "forgot": "Mot de passe oublié ?",
        "send": "Envoyer le lien",
        "sent": "un lien pour choisir un nouveau mot de passe vient de lui être envoyé",
        "new": "Nouveau mot de passe",
        "confirm": "Confirmez le nouveau mot de passe",
        "change": "Changer mon mot de passe",
        "changed": "Votre mot de passe a été modifié",
        "signin": "Se connecter",
        "endOthers": "Déconnecter toutes les autres sessions",
        "end": "Déconnecter",
        "banner": "Confirmez votre adresse électronique",
        "signedIn": "Connexion",
        "activity": "Activité",
    },
}


def mail_link(stack: Stack, to: str, page_name: str) -> str:
    """The console path of the newest ``page_name`` link mailed to ``to``: the stack relays a
    new mail from the table's stream within a second or so; after 5 s the outbox job is run
    too (a retry may be waiting on its lease)."""
    url = f"http://127.0.0.1:{stack.ports['LOCAL_AWS_PORT']}/moto-api/data.json"
    started = time.monotonic()
    while True:
        with urllib.request.urlopen(url, timeout=30) as answer:
            messages = json.load(answer)["ses"]["Message"]
        links = [
            found.group(1)
            for m in messages
            if to in m["destinations"]["ToAddresses"]
            for found in [re.search(rf"(/#/{page_name}\?token=[A-Za-z0-9_.\-]+)", m["body"])]
            if found
        ]
        if links:
            return links[-1]
        waited = time.monotonic() - started
        assert waited < 60, f"no {page_name} link mailed to {to}"
        if waited > 5:
            later = (datetime.now(UTC) + timedelta(minutes=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
            stack.run_job("outbox", later)
        time.sleep(0.25)


def axe_violations(page: Any) -> list[str]:
    """axe-core's violations on the page as it is shown, at 1280 px and at 375 px."""
    assert AXE.exists(), "run `make axe` first (npm installs axe-core into node_modules/)"
    if not page.evaluate("typeof window.axe !== 'undefined'"):
        page.evaluate(AXE.read_text(encoding="utf-8"))
    found: list[str] = []
    for size in (DESKTOP, PHONE):
        page.set_viewport_size(size)
        found += page.evaluate(
            """async () => (await window.axe.run(document, {resultTypes: ['violations']}))
                .violations.map((v) => `${v.id}: ${v.nodes.map((n) => n.target.join(' '))}`)"""
        )
    page.set_viewport_size(DESKTOP)
    return found


def start(page: Any, path: str, lang: str) -> None:
    page.goto(path)
    set_language(page, lang)


@pytest.mark.parametrize("lang", ["en", "fr"])
def test_sign_up_to_a_verified_address(page: Any, stack: Stack, lang: str) -> None:
    words = LABELS[lang]
    email = stack.email(f"signup-{lang}")
    start(page, "/", lang)
    page.get_by_role("link", name=words["signupLink"]).click()
    view = page.locator("#view-signup")
    expect(view).to_be_visible()
    settle(page)
    assert axe_violations(page) == []
    view.get_by_label(words["name"]).fill("Grace Hopper")
    view.get_by_label(words["email"]).fill(email)
    password = view.get_by_label(words["password"])
    password.fill("short")
    expect(view.locator("#signup-password-hint")).to_contain_text("3")  # 3 more needed
    password.fill(PASSWORD)
    view.get_by_label(words["country"]).select_option("FR")
    view.get_by_role("button", name=words["signup"]).click()
    page.locator("#user-button").wait_for()
    settle(page)
    page.goto("/#/account")
    page.locator("#billing-body").wait_for()
    expect(page.locator("#account-unverified")).to_contain_text(words["banner"])

    page.goto(mail_link(stack, email, "verify-email"))
    expect(page.locator("#verify-done")).to_be_visible()
    expect(page.locator("#verify-done")).to_contain_text(words["confirmed"])
    assert "token=" not in page.url  # dropped from the address bar once read
    settle(page)
    assert axe_violations(page) == []
    page.goto("/#/account")
    page.locator("#billing-body").wait_for()
    settle(page)
    expect(page.locator("#account-unverified")).to_be_hidden()


@pytest.mark.parametrize("lang", ["en", "fr"])
def test_forgot_then_reset_then_signed_in(page: Any, stack: Stack, lang: str) -> None:
    words = LABELS[lang]
    account = stack.signup(f"forgot-{lang}")
    start(page, "/", lang)
    page.get_by_role("link", name=words["forgot"]).click()
    view = page.locator("#view-forgot")
    view.get_by_label(words["email"]).fill(account.email)
    settle(page)
    assert axe_violations(page) == []
    view.get_by_role("button", name=words["send"]).click()
    expect(page.locator("#forgot-done")).to_be_visible()
    expect(page.locator("#forgot-done")).to_contain_text(words["sent"])
    assert axe_violations(page) == []

    page.goto(mail_link(stack, account.email, "reset-password"))
    set_language(page, lang)
    reset = page.locator("#view-reset")
    expect(reset).to_be_visible()
    assert axe_violations(page) == []
    reset.get_by_label(words["new"], exact=True).fill(NEW)
    reset.get_by_label(words["confirm"]).fill(NEW)
    reset.get_by_role("button", name=words["change"]).click()
    expect(page.locator("#flash")).to_contain_text(words["changed"])
    status, _ = stack.call("GET", "/account", token=account.token)
    assert status == 401  # the reset ended every session
    signin = page.locator("#view-signin")
    signin.get_by_label(words["email"]).fill(account.email)
    signin.get_by_label(words["password"]).fill(NEW)
    signin.get_by_role("button", name=words["signin"]).click()
    page.locator("#user-button").wait_for()


@pytest.mark.parametrize("lang", ["en", "fr"])
def test_ending_another_session_signs_the_other_browser_out(
    page: Any, browser: Any, stack: Stack, lang: str
) -> None:
    words = LABELS[lang]
    account = stack.signup(f"sessions-{lang}")
    other = browser.new_context(viewport=DESKTOP, locale="en-US", base_url=stack.base)
    try:
        elsewhere = other.new_page()
        sign_in(elsewhere, account.email)
        sign_in(page, account.email)
        set_language(page, lang)
        page.goto("/#/account")
        page.locator("#billing-body").wait_for()
        settle(page)
        rows = page.locator("#sessions-body tr")
        expect(rows).to_have_count(3)  # the sign-up's, the other browser's, this one
        assert axe_violations(page) == []
        others = page.locator("#sessions-body tr[data-current=false]")
        others.first.get_by_role("button", name=re.compile(words["end"])).click()
        expect(rows).to_have_count(2)
        page.get_by_role("button", name=words["endOthers"]).click()
        expect(rows).to_have_count(1)
        elsewhere.goto("/#/account")
        expect(elsewhere.locator("#view-signin")).to_be_visible()  # signed out there
    finally:
        other.close()


@pytest.mark.parametrize("lang", ["en", "fr"])
def test_the_activity_list(page: Any, stack: Stack, lang: str) -> None:
    words = LABELS[lang]
    account = stack.signup(f"activity-{lang}")
    stack.call("POST", "/login", {"email": account.email, "password": "wrong password"})
    sign_in(page, account.email)
    set_language(page, lang)
    open_my_account(page) if lang == "en" else page.goto("/#/account")
    page.locator("#billing-body").wait_for()
    settle(page)
    section = page.locator("#activity")
    expect(section.get_by_role("heading", name=words["activity"])).to_be_visible()
    items = section.locator("li")
    expect(items.first).to_contain_text(words["signedIn"])
    events = [items.nth(i).get_attribute("data-event") for i in range(items.count())]
    assert events[:3] == ["login", "login_failed", "signup"], events
    assert axe_violations(page) == []


REACTIVATE = {
    "en": {
        "link": "Reactivate my account",
        "trial": "Reactivate and sign in",
        "paid": "Send request",
        "sent": "Request sent",
        "pending": "Request pending",
    },
    "fr": {
        "link": "Réactiver mon compte",
        "trial": "Réactiver et se connecter",
        "paid": "Envoyer la demande",
        "sent": "Demande envoyée",
        "pending": "Demande en cours",
    },
}


def cancelled_sign_in(page: Any, email: str, lang: str) -> Any:
    """Sign in to a cancelled account and follow the message to the reactivation page."""
    words = LABELS[lang]
    start(page, "/", lang)
    view = page.locator("#view-signin")
    view.get_by_label(words["email"]).fill(email)
    view.get_by_label(words["password"]).fill(PASSWORD)
    view.get_by_role("button", name=words["signin"]).click()
    view.get_by_role("link", name=REACTIVATE[lang]["link"]).click()
    page.wait_for_url("**/reactivate")
    settle(page)
    return page.locator("#view-reactivate")


@pytest.mark.parametrize("lang", ["en", "fr"])
def test_the_reactivation_page_knows_a_trial(page: Any, stack: Stack, lang: str) -> None:
    account = stack.signup(f"react-trial-{lang}")
    status, _ = stack.call("POST", "/account/cancel", {"password": PASSWORD}, account.token)
    assert status == 200
    view = cancelled_sign_in(page, account.email, lang)
    expect(view.get_by_role("radio")).to_have_count(0)
    button = view.get_by_role("button", name=REACTIVATE[lang]["trial"])
    expect(button).to_be_visible()
    assert axe_violations(page) == []
    view.get_by_label(LABELS[lang]["password"]).fill(PASSWORD)
    button.click()
    page.locator("#user-button").wait_for()


@pytest.mark.parametrize("lang", ["en", "fr"])
def test_the_reactivation_page_knows_a_paid_account_and_its_open_request(
    page: Any, stack: Stack, lang: str
) -> None:
    account = stack.subscribed(f"react-paid-{lang}")
    status, _ = stack.call("POST", "/account/cancel", {"password": PASSWORD}, account.token)
    assert status == 200
    view = cancelled_sign_in(page, account.email, lang)
    button = view.get_by_role("button", name=REACTIVATE[lang]["paid"])
    expect(button).to_be_visible()
    assert axe_violations(page) == []
    view.get_by_label(LABELS[lang]["password"]).fill(PASSWORD)
    button.click()
    done = page.locator("#reactivate-done")
    expect(done).to_be_visible()
    expect(done).to_contain_text(REACTIVATE[lang]["sent"])
    settle(page)
    view = cancelled_sign_in(page, account.email, lang)  # again: the request is open
    pending = page.locator("#reactivate-pending")
    expect(pending).to_be_visible()
    expect(pending).to_contain_text(REACTIVATE[lang]["pending"])
    expect(page.locator("#reactivate-form")).to_be_hidden()
    assert axe_violations(page) == []


MFA = {
    "en": {
        "on": "Turn on two-factor sign-in",
        "continue": "Continue",
        "code": "6-digit code",
        "confirm": "Turn on",
        "saved": "I have saved them",
        "otp": "Code from your authenticator app (or a recovery code)",
        "user": "User menu",
        "signout": "Sign out",
    },
    "fr": {
        "on": "Activer la connexion en deux étapes",
        "continue": "Continuer",
        "code": "Code à 6 chiffres",
        "confirm": "Activer",
        "saved": "Je les ai enregistrés",
        "otp": "Code de votre application d’authentification (ou code de secours)",
        "user": "Menu utilisateur",
        "signout": "Se déconnecter",
    },
}


def sign_in_with_code(page: Any, email: str, code: str, lang: str) -> None:
    words, mfa = LABELS[lang], MFA[lang]
    view = page.locator("#view-signin")
    view.get_by_label(words["email"]).fill(email)
    view.get_by_label(words["password"], exact=True).fill(PASSWORD)
    view.get_by_role("button", name=words["signin"]).click()
    otp = view.get_by_label(mfa["otp"])
    expect(otp).to_be_visible()  # the password checked out: now the code
    expect(otp).to_be_focused()
    settle(page)
    assert axe_violations(page) == []
    otp.fill(code)
    view.get_by_role("button", name=words["signin"]).click()
    page.locator("#user-button").wait_for()
    settle(page)


@pytest.mark.parametrize("lang", ["en", "fr"])
def test_mfa_setup_then_sign_in_with_a_code_and_with_a_recovery_code(
    page: Any, stack: Stack, lang: str
) -> None:
    import pyotp

    words, mfa = LABELS[lang], MFA[lang]
    account = stack.signup(f"mfa-{lang}")
    sign_in(page, account.email)
    set_language(page, lang)
    page.goto("/#/account")
    page.locator("#billing-body").wait_for()
    settle(page)
    page.get_by_role("button", name=mfa["on"]).click()
    dialog = page.locator("#mfa-dialog")
    dialog.get_by_label(words["password"]).fill(PASSWORD)
    dialog.get_by_role("button", name=mfa["continue"]).click()
    expect(dialog.locator("#mfa-qr")).to_have_attribute("src", re.compile("^data:image/svg"))
    settle(page)
    assert axe_violations(page) == []
    secret = dialog.locator("#mfa-secret").inner_text().strip()
    totp = pyotp.TOTP(secret)
    dialog.get_by_label(mfa["code"]).fill(totp.now())
    dialog.get_by_role("button", name=mfa["confirm"], exact=True).click()
    codes = dialog.locator("#mfa-codes-list li")
    expect(codes).to_have_count(10)
    settle(page)
    assert axe_violations(page) == []
    recovery = codes.first.inner_text().strip()
    dialog.get_by_role("button", name=mfa["saved"]).click()
    expect(page.locator("#mfa-state")).to_be_visible()

    def sign_out() -> None:
        page.get_by_role("button", name=mfa["user"]).click()
        page.get_by_role("menuitem", name=mfa["signout"]).click()
        page.locator("#view-signin").wait_for()

    sign_out()
    later = datetime.now(UTC) + timedelta(seconds=30)  # the next step: never the same code
    sign_in_with_code(page, account.email, totp.at(later), lang)
    sign_out()
    sign_in_with_code(page, account.email, recovery, lang)
