"""Fixtures for the browser tests of the web console.

* ``stack`` (once for the browser tests: each test signs up accounts of its own; the demo
  accounts are only read): the whole local stack in a subprocess on free loopback ports,
  exactly as ``make run`` starts it (``python -m devstack``), stopped with SIGTERM after the
  last browser test.  It also offers plain HTTP helpers to prepare accounts (sign up, a card
  made on the embedded Stripe with the secret key as a server would, subscribe, run a job).
* ``browser`` (once for the browser tests): Debian's Chromium (``/usr/bin/chromium``) driven by
  Playwright, headless; Playwright never downloads a browser of its own.
* ``page``: a fresh context (desktop size, English) per test, so no state leaks between tests.
* :func:`shoot`: screenshots of the current state in English and French, on a desktop and on a
  375 px phone, saved to ``screenshots/`` at the repository root.

Waiting is done on what the page shows (Playwright's auto-waiting locators) and on
``<html data-requests="0">`` (no API call in flight), never on fixed sleeps.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from devstack.stack import free_port

ROOT = Path(__file__).resolve().parents[2]
SCREENSHOTS = ROOT / "screenshots"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
# how long a page action or an expectation waits: under `make test` another test process
# (and its stack) shares the machine, and Playwright's 5 s default for `expect` is too tight
WAIT_MS = 15_000
DESKTOP = {"width": 1280, "height": 900}
PHONE = {"width": 375, "height": 812}
DEMO_PASSWORD = "HelpDesk-demo-2026"
PASSWORD = "console pass phrase 7"
SECRET_KEY = "sk_test_local_placeholder"  # the local stack's placeholder (devstack.stack)


@dataclass
class Stack:
    """The running stack and plain-HTTP helpers to prepare accounts."""

    base: str
    ports: dict[str, str]
    counter: list[int] = field(default_factory=lambda: [0])

    def call(
        self, method: str, path: str, body: Any = None, token: str | None = None
    ) -> tuple[int, Any]:
        headers = {"Content-Type": "application/json"}
        if token:
            headers["Authorization"] = f"Bearer {token}"
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(
            self.base + path, data=data, headers=headers, method=method
        )
        try:
            with urllib.request.urlopen(request, timeout=30) as answer:
                raw = answer.read()
                return answer.status, json.loads(raw) if raw else None
        except urllib.error.HTTPError as error:
            raw = error.read()
            return error.code, json.loads(raw) if raw else None

    def email(self, prefix: str) -> str:
        self.counter[0] += 1
        return f"{prefix}-{self.counter[0]}-{time.time_ns()}@example.com"

    def signup(self, prefix: str, *, name: str = "Ada Lovelace", country: str = "FR") -> Account:
        email = self.email(prefix)
        status, body = self.call(
            "POST",
            "/signup",
            {"email": email, "password": PASSWORD, "name": name, "country": country},
        )
        assert status == 201, body
        return Account(email=email, token=body["token"], name=name)

    def payment_method(self, number: str) -> str:
        """A PaymentMethod made on the embedded Stripe with the secret key (server side)."""
        form = urllib.parse.urlencode(
            {
                "type": "card",
                "card[number]": number,
                "card[exp_month]": "12",
                "card[exp_year]": "2031",
                "card[cvc]": "123",
            }
        ).encode()
        request = urllib.request.Request(
            f"http://127.0.0.1:{self.ports['LOCAL_STRIPE_PORT']}/v1/payment_methods",
            data=form,
            headers={"Authorization": f"Bearer {SECRET_KEY}"},
            method="POST",
        )
        with urllib.request.urlopen(request, timeout=10) as answer:
            return str(json.load(answer)["id"])

    def subscribed(self, prefix: str, *, name: str = "Ada Lovelace") -> Account:
        """A paying account (card 4242, plan basic-monthly, one paid invoice)."""
        account = self.signup(prefix, name=name)
        status, body = self.call(
            "PUT",
            "/billing/card",
            {"payment_method_id": self.payment_method("4242424242424242")},
            account.token,
        )
        assert status == 200, body
        status, body = self.call(
            "POST", "/billing/subscribe", {"plan": "basic-monthly"}, account.token
        )
        assert status == 200, body
        account.next_renewal_at = body["next_renewal_at"]
        return account

    def run_job(self, name: str, now: str) -> dict[str, Any]:
        done = subprocess.run(
            [sys.executable, "-m", "chalicelib.cli", "run-job", name, "--now", now],
            cwd=ROOT,
            env={**os.environ, **self.ports},
            capture_output=True,
            text=True,
            timeout=60,
            check=True,
        )
        return dict(json.loads(done.stdout.strip().splitlines()[-1]))

    def past_due(self, prefix: str) -> Account:
        """A subscribed account whose renewal was declined: past_due with one pending charge."""
        account = self.subscribed(prefix, name="Pat Due")
        status, body = self.call(
            "PUT",
            "/billing/card",
            {"payment_method_id": self.payment_method("4000000000000341")},
            account.token,
        )
        assert status == 200, body
        renewal = datetime.fromisoformat(account.next_renewal_at.replace("Z", "+00:00"))
        later = (renewal + timedelta(hours=1)).astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        report = self.run_job("renewals", later)
        assert report["failed"] >= 1, report
        return account


@dataclass
class Account:
    email: str
    token: str
    name: str
    next_renewal_at: str = ""


@pytest.fixture(scope="package")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    ports = {
        "PORT": str(free_port()),
        "LOCAL_AWS_PORT": str(free_port()),
        "LOCAL_STRIPE_PORT": str(free_port()),
        "LOCAL_VIES_PORT": str(free_port()),
    }
    folder = tmp_path_factory.mktemp("stack")
    log = folder / "stack.log"
    env = {
        **os.environ,
        **ports,
        "AWS_EC2_METADATA_DISABLED": "true",
        "DEVSTACK_DATA_DIR": str(folder / "data"),  # fresh data, never the project's .devstack/
    }
    with log.open("wb") as output:
        process = subprocess.Popen(
            [sys.executable, "-m", "devstack"],
            cwd=ROOT,
            env=env,
            stdout=output,
            stderr=subprocess.STDOUT,
        )
    running = Stack(f"http://127.0.0.1:{ports['PORT']}", ports)
    deadline = time.monotonic() + 60
    try:
        while True:
            try:
                if running.call("GET", "/health")[0] == 200:
                    break
            except OSError:
                pass
            if process.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"the stack did not start:\n{log.read_text()[-3000:]}")
            time.sleep(0.2)
        yield running
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(20)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(10)


@pytest.fixture(scope="package")
def browser() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS
        )
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser: Any, stack: Stack) -> Iterator[Any]:
    context = browser.new_context(
        viewport=DESKTOP, locale="en-US", accept_downloads=True, base_url=stack.base
    )
    context.set_default_timeout(WAIT_MS)
    problems: list[str] = []
    tab = context.new_page()
    tab.on("pageerror", lambda error: problems.append(f"page error: {error}"))
    tab.on(
        "console",
        lambda message: (
            problems.append(f"console: {message.text}")
            if message.type == "error" and "Content Security Policy" in message.text
            else None
        ),
    )
    yield tab
    context.close()
    assert not problems, problems


def expect(target: Any) -> Any:
    """Playwright's ``expect``, waiting as long as the pages' actions do (``WAIT_MS``)."""
    from playwright.sync_api import expect as playwright_expect

    playwright_expect.set_options(timeout=WAIT_MS)
    return playwright_expect(target)


def settle(page: Any) -> None:
    """Wait until no API call is in flight (and the code that awaited it has run)."""
    page.wait_for_selector("html[data-requests='0']", state="attached")


def set_language(page: Any, lang: str) -> None:
    page.locator("#lang-select").select_option(lang)
    page.wait_for_selector(f"html[lang='{lang}']", state="attached")
    settle(page)


def shoot(
    page: Any, name: str, *, full_page: bool = True, redo: Callable[[], None] | None = None
) -> list[Path]:
    """Screenshots of the current state: English and French, desktop and 375 px phone.

    ``redo`` repeats, after each language switch, the action whose answer is shown (the API
    words its errors in the request's language; the console drops them when the language
    changes).  The page is left as it was found (desktop, English).
    """
    SCREENSHOTS.mkdir(exist_ok=True)
    saved: list[Path] = []
    for lang in ("en", "fr"):
        set_language(page, lang)
        if redo is not None:
            redo()
            settle(page)
        for device, size in (("desktop", DESKTOP), ("phone", PHONE)):
            page.set_viewport_size(size)
            path = SCREENSHOTS / f"{name}-{lang}-{device}.png"
            page.screenshot(path=str(path), full_page=full_page)
            saved.append(path)
    page.set_viewport_size(DESKTOP)
    set_language(page, "en")
    return saved


def sign_in(page: Any, email: str, password: str = PASSWORD, path: str = "/") -> None:
    page.goto(path)
    view = page.locator("#view-signin")
    view.get_by_label("Email address").fill(email)
    view.get_by_label("Password").fill(password)
    view.get_by_role("button", name="Sign in").click()
    page.locator("#user-button").wait_for()
    settle(page)


def open_my_account(page: Any) -> None:
    page.get_by_role("button", name="User menu").click()
    page.get_by_role("menuitem", name="My account").click()
    page.locator("#billing-body").wait_for()
    settle(page)


def unlabelled_controls(page: Any) -> list[str]:
    """Visible form controls without an accessible name (ids or outer HTML)."""
    return list(
        page.evaluate(
            """() => Array.from(document.querySelectorAll('input, select, textarea'))
              .filter((node) => node.type !== 'hidden' && node.getClientRects().length)
              .filter((node) => !(node.labels && node.labels.length)
                 && !node.getAttribute('aria-label') && !node.getAttribute('aria-labelledby')
                 && !(node.type === 'radio' && node.closest('label')))
              .map((node) => node.id || node.outerHTML)"""
        )
    )
