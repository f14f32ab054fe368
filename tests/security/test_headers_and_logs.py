"""Security headers on every kind of answer, and what the logs hold (LG1, LG2).

* Every answer carries HSTS, ``nosniff``, a frame ban and a CSP; account data (and every API
  answer) is ``Cache-Control: no-store``.
* A full journey (``flow.py``) through sign-up, passwords, cards, payments, webhooks, jobs,
  cancel and reactivation logs no secret (``sk_test_``, ``whsec_``), no bearer token, no
  password and no card number, in any logger; and each line logged while a request is handled
  carries its request id, and the account id once the caller is known.
"""

from __future__ import annotations

import json
import logging
import re
from typing import Any

import pytest

from chalicelib.logs import format_line, log_event, redact_text, request_scope
from tests.helpers import Api, create_payment_method

HSTS_MIN_SECONDS = 31536000


def assert_secure_headers(answer: Any, *, where: str) -> None:
    headers = {k.lower(): v for k, v in answer.headers.items()}
    hsts = re.search(r"max-age=(\d+)", headers.get("strict-transport-security", ""))
    assert hsts and int(hsts.group(1)) >= HSTS_MIN_SECONDS, where
    assert headers.get("x-content-type-options") == "nosniff", where
    assert "no-store" in headers.get("cache-control", ""), where
    csp = headers.get("content-security-policy", "")
    assert "default-src 'none'" in csp or "default-src 'self'" in csp, (where, csp)
    assert "frame-ancestors" in csp or headers.get("x-frame-options") in ("DENY", "SAMEORIGIN")


def test_every_kind_of_answer_has_the_security_headers(api: Api, settings: Any) -> None:
    token, _ = api.signup()
    pm = create_payment_method(settings, "4242424242424242")
    api.call("PUT", "/billing/card", {"payment_method_id": pm}, token=token)
    api.call("POST", "/billing/subscribe", {"plan": "basic-monthly"}, token=token)
    (invoice,) = api.call("GET", "/billing/invoices", token=token).json["items"]
    pdf = {"Accept": "application/pdf"}
    answers = {
        "account": api.call("GET", "/account", token=token),
        "billing": api.call("GET", "/billing", token=token),
        "pending": api.call("GET", "/billing/pending", token=token),
        "invoices": api.call("GET", "/billing/invoices", token=token),
        "invoice": api.call("GET", f"/billing/invoices/{invoice['id']}", token=token),
        "print": api.call("GET", f"/billing/invoices/{invoice['id']}/print", token=token),
        "pdf": api.call("GET", f"/billing/invoices/{invoice['id']}/pdf", token=token, headers=pdf),
        "204": api.call("DELETE", "/billing/vat", token=token),
        "400": api.call("POST", "/login", raw="{"),
        "401": api.call("GET", "/account"),
        "404": api.call("GET", f"/billing/invoices/in_{'0' * 25}", token=token),
        "404 route": api.call("GET", "/no/such/route"),
        "405": api.call("DELETE", "/account", token=token),
        "health": api.call("GET", "/health"),
        "openapi": api.call("GET", "/openapi.json"),
    }
    for where, answer in answers.items():
        if where in ("404 route", "405") and answer.status not in (404, 405):
            continue
        assert answer.status < 500, where
        assert_secure_headers(answer, where=where)
    printed_csp = answers["print"].headers["Content-Security-Policy"]
    assert "script-src" not in printed_csp or "'none'" in printed_csp


def test_the_journey_logs_no_secret_token_password_or_card_number(journey: Any) -> None:
    lines = journey.capture.lines
    text = "\n".join(lines)
    events = {
        json.loads(r.getMessage())["event"] for r in journey.capture.records if r.name == "helpdesk"
    }
    assert {"auth.login", "auth.login_failed", "charge.succeeded", "charge.declined"} <= events
    assert "mail.sent" in events
    settings = journey.settings
    forbidden = {
        "Stripe secret key": settings.stripe_secret_key,
        "webhook secret": settings.stripe_webhook_secret,
        **{f"token {i}": t for i, t in enumerate(journey.journey.tokens)},
        **{f"token secret {i}": t.split(".", 1)[1] for i, t in enumerate(journey.journey.tokens)},
        **{f"password {i}": p for i, p in enumerate(journey.journey.passwords)},
        **{f"card {c[-4:]}": c for c in journey.journey.cards},
    }
    leaks = [name for name, value in forbidden.items() if value and value in text]
    assert not leaks, leaks
    patterns = {
        "Stripe key": r"\b(sk|rk)_(test|live)_",
        "webhook secret": r"\bwhsec_",
        "bearer token": r"(?i)bearer\s+[A-Za-z0-9]",
        "client secret": r"_secret_[A-Za-z0-9]",
        "card number": r"(?<!\d)(?:\d[ -]?){12,18}\d(?!\d)",
    }
    found: dict[str, Any] = {}
    for name, pattern in patterns.items():
        for line in lines:
            for match in re.finditer(pattern, line):
                digits = re.sub(r"\D", "", match.group(0))
                if name == "card number" and not _luhn(digits):
                    continue
                found.setdefault(name, line[:200])
    assert not found, found


def _luhn(digits: str) -> bool:
    total = 0
    for i, c in enumerate(reversed(digits)):
        d = int(c) * (2 if i % 2 else 1)
        total += d - 9 if d > 9 else d
    return total % 10 == 0


def test_each_line_of_a_request_carries_its_request_and_account_ids(
    api: Api, caplog: pytest.LogCaptureFixture
) -> None:
    token, account = api.signup()
    caplog.set_level(logging.INFO, logger="helpdesk")
    caplog.clear()
    api.call("PATCH", "/account/profile", {"name": "Grace"}, token=token)
    api.call("POST", "/login", {"email": account["email"], "password": "not it"})
    api.call("POST", "/logout", token=token)
    lines = [json.loads(r.getMessage()) for r in caplog.records if r.name == "helpdesk"]
    events = {line["event"]: line for line in lines}
    assert {"profile.updated", "auth.login_failed", "auth.logout"} <= set(events)
    for line in lines:
        assert line["request_id"], line
        assert line["time"].endswith("Z") and line["level"] in ("info", "error")
    assert events["profile.updated"]["account_id"] == account["id"]
    assert events["auth.logout"]["account_id"] == account["id"]
    assert len({line["request_id"] for line in lines}) == 3  # one id per request
    log_event("outside.a.request")
    assert "request_id" not in json.loads(caplog.records[-1].getMessage())


def test_log_lines_redact_what_a_careless_caller_passes() -> None:
    with request_scope("req-1"):
        line = json.loads(
            format_line(
                "info",
                "careless",
                {
                    "password": "hunter2 hunter2",
                    "new_password": "x" * 10,
                    "token": "abc",
                    "authorization": "Bearer abc.def",
                    "note": "key sk_live_51abc and whsec_abc, card 4242 4242 4242 4242",
                    "pan": 4000056655665556,
                    "client": "pi_123_secret_456",
                    "nested": {"card_number": "4242424242424242", "ok": "in_123"},
                    "amount": 1500,
                },
            )
        )
    assert line["request_id"] == "req-1"
    assert line["password"] == line["new_password"] == line["token"] == "[redacted]"
    assert line["authorization"] == "[redacted]"
    for value in ("sk_live", "whsec_", "4242 4242"):
        assert value not in line["note"]
    assert line["pan"] == "[card]" and line["client"] == "[redacted]"
    assert line["nested"] == {"card_number": "[redacted]", "ok": "in_123"}
    assert line["amount"] == 1500
    assert redact_text("invoice in_001a217903340fd6a5155665b") == (
        "invoice in_001a217903340fd6a5155665b"
    )
    forged = json.loads(format_line("info", "x", {"name": 'a"}\n{"event": "forged"'}))
    assert forged["event"] == "x"
