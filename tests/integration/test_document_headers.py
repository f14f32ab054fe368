"""An invoice's and a credit note's documents say one thing about framing: the CSP's
``frame-ancestors`` and ``X-Frame-Options`` agree.  The console prints the print view from a
same-origin frame (of a blob it fetched) and downloads the PDF and the XML as blobs: it never
frames them by URL, so the PDF and the XML may be framed by nobody, the print view by the same
origin only."""

from __future__ import annotations

from typing import Any

import pytest

from chalicelib.config import Settings
from tests.helpers import Api, create_payment_method

# frame-ancestors -> the X-Frame-Options that says the same
AGREEING = {"'none'": "DENY", "'self'": "SAMEORIGIN"}


@pytest.fixture
def api(client: Any) -> Api:
    return Api(client)


def frame_ancestors(csp: str) -> str:
    for directive in csp.split(";"):
        name, _, value = directive.strip().partition(" ")
        if name == "frame-ancestors":
            return value.strip()
    raise AssertionError(f"no frame-ancestors in {csp!r}")


def test_framing_headers_agree_on_every_invoice_document(api: Api, settings: Settings) -> None:
    token, _ = api.signup()
    card = create_payment_method(settings, "4242424242424242")
    assert api.call("PUT", "/billing/card", {"payment_method_id": card}, token=token).status == 200
    subscribed = api.call("POST", "/billing/subscribe", {"plan": "basic-monthly"}, token=token)
    assert subscribed.status == 200, subscribed.json
    invoice_id = api.call("GET", "/billing/invoices", token=token).json["items"][0]["id"]
    refund = api.call(  # a credit note's documents answer the same (one owner of the headers)
        "POST",
        f"/support/invoices/{invoice_id}/refund",
        {"amount": 100, "reason": "Goodwill"},
        headers={"X-Support-Key": settings.support_key, "Idempotency-Key": "headers-1"},
    )
    assert refund.status == 200, refund.json
    expected = {"/print": "'self'", "/pdf": "'none'", "/xml": "'none'"}
    for document in (f"invoices/{invoice_id}", f"credit-notes/{refund.json['id']}"):
        for suffix, ancestors in expected.items():
            path = f"/billing/{document}{suffix}"
            answer = api.call("GET", path, token=token, headers={"Accept": "*/*"})
            assert answer.status == 200, path
            found = frame_ancestors(answer.headers["Content-Security-Policy"])
            assert found == ancestors, path
            assert answer.headers["X-Frame-Options"] == AGREEING[found], path
