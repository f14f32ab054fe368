"""Every route against a hostile caller (AZ1, AZ2, SE2, SE5; API.md conventions).

The routes come from ``chalicelib.api.http.ROUTES`` (what ``/openapi.json`` documents), so a
new route is covered the day it is added:

* signed-in routes answer 401 ``not_authenticated`` with no token, a malformed one, a
  forged one (another account's secret), one ended by sign-out and one past its idle or
  absolute expiry; support routes answer 401 without the support key;
* every route refuses an unknown body field with 400 ``unknown_field`` (routes without a body
  refuse any body);
* another account's invoice is a 404, the same answer as an invoice that does not exist, on
  every route that takes an invoice id; another account's card cannot be put on file.
"""

from __future__ import annotations

import re
from typing import Any

import pytest

import app  # noqa: F401 - importing the app registers every route in ROUTES
from chalicelib.api.http import ROUTES, RouteSpec
from tests.helpers import Api, create_payment_method

PUBLIC_WITHOUT_BODY = {"/health", "/openapi.json", "/plans", "/vendor", "/countries"}


def concrete(spec: RouteSpec, **ids: str) -> str:
    """The route's path with its parameters filled (ids given, else a well-formed unknown)."""
    return re.sub(r"{(\w+)}", lambda m: ids.get(m.group(1), "in_" + "0" * 25), spec.path)


def signed_in_routes() -> list[RouteSpec]:
    return [spec for spec in ROUTES if spec.auth]


def route_id(spec: RouteSpec) -> str:
    return f"{spec.method} {spec.path}"


def test_the_matrix_covers_every_route(chalice_app: Any) -> None:
    documented = {(s.method, s.path) for s in ROUTES}
    served = {
        (method, path)
        for path, methods in chalice_app.routes.items()
        for method, entry in methods.items()
        if not entry.view_name.startswith(("not_allowed_", "not_found_"))
        and not path.startswith("/{")
    }
    web = {(m, p) for m, p in served if p == "/" or "console" in p or p.startswith("/static")}
    assert served - web <= documented, sorted(served - web - documented)
    kinds = {s.path: ("auth" if s.auth else "key" if s.support_key else "public") for s in ROUTES}
    public = {p for p, k in kinds.items() if k == "public"}
    assert public <= PUBLIC_WITHOUT_BODY | {
        "/signup",
        "/login",
        "/account/reactivate",
        "/password/forgot",  # issue 16: the emailed tokens are the credential
        "/password/reset",
        "/account/email/verify",
        "/account/email/cancel",
        "/webhooks/stripe",
        "/_test/clock",  # local stage only (tests/integration/test_test_clock.py)
    }, public


def test_signed_in_routes_refuse_missing_bad_forged_and_ended_tokens(api: Api) -> None:
    token, account = api.signup()
    other_token, _ = api.signup()
    forged = f"{account['id']}.{other_token.split('.', 1)[1]}"  # B's secret under A's id
    ended, _ = api.signup()
    assert api.call("POST", "/logout", token=ended).status == 204
    wrong = []
    for spec in signed_in_routes():
        path = concrete(spec)
        for bad in (None, "", "not-a-token", "a" * 32 + ".short", forged, ended):
            headers = {"Authorization": f"Bearer {bad}"} if bad is not None else {}
            answer = api.call(spec.method, path, {} if spec.body else None, headers=headers)
            if (answer.status, answer.error_code) != (401, "not_authenticated"):
                wrong.append((route_id(spec), bad, answer.status))
        basic = api.call(spec.method, path, headers={"Authorization": f"Basic {token}"})
        if basic.status != 401:
            wrong.append((route_id(spec), "Basic", basic.status))
    assert not wrong, wrong
    assert api.call("GET", "/account", token=token).status == 200


def test_signed_in_routes_refuse_sessions_past_their_idle_or_absolute_expiry(
    api: Api, box: Any
) -> None:
    idle, _ = api.signup()
    absolute, _ = api.signup()
    step = box.settings.session_idle_seconds - 60
    for _ in range(box.settings.session_absolute_seconds // step):
        box.clock.advance(seconds=step)
        assert api.call("GET", "/account", token=absolute).status == 200  # never idle
    box.clock.advance(seconds=step)
    wrong = []
    for spec in signed_in_routes():
        for token in (idle, absolute):
            answer = api.call(spec.method, concrete(spec), {} if spec.body else None, token=token)
            if (answer.status, answer.error_code) != (401, "not_authenticated"):
                wrong.append((route_id(spec), answer.status))
    assert not wrong, wrong


def test_support_routes_refuse_a_missing_or_wrong_key(api: Api) -> None:
    routes = [s for s in ROUTES if s.support_key]
    assert routes
    for spec in routes:
        for headers in ({}, {"X-Support-Key": "wrong"}, {"X-Support-Key": ""}):
            answer = api.call(spec.method, concrete(spec, request_id="0" * 32), {}, headers=headers)
            assert answer.status == 401, (route_id(spec), headers, answer.json)


def test_unknown_body_fields_are_refused_on_every_route(api: Api, box: Any) -> None:
    token, _ = api.signup()
    wrong = []
    for spec in ROUTES:
        headers = {"X-Support-Key": box.settings.support_key} if spec.support_key else {}
        body = {"is_admin": True, "status": "active"}
        answer = api.call(
            spec.method,
            concrete(spec, request_id="0" * 32),
            body,
            token=token if spec.auth else None,
            headers=headers,
        )
        if spec.path == "/webhooks/stripe":  # the signature is checked on the raw body first
            expected = (400, answer.error_code)
        else:
            expected = (400, "unknown_field")
        if (answer.status, answer.error_code) != expected or (
            spec.body and "is_admin" not in answer.json["error"].get("fields", {})
        ):
            wrong.append((route_id(spec), answer.status, answer.json))
    assert not wrong, wrong
    assert api.call("GET", "/account", token=token).json["status"] == "trial"


@pytest.fixture
def invoice_of_a(api: Api, settings: Any) -> tuple[str, str]:
    """Account A's token and the id of its first invoice."""
    token, _ = api.signup()
    pm = create_payment_method(settings, "4242424242424242")
    assert api.call("PUT", "/billing/card", {"payment_method_id": pm}, token=token).status == 200
    assert (
        api.call("POST", "/billing/subscribe", {"plan": "basic-monthly"}, token=token).status == 200
    )
    (invoice,) = api.call("GET", "/billing/invoices", token=token).json["items"]
    return token, str(invoice["id"])


@pytest.mark.parametrize(
    "spec",
    [s for s in ROUTES if "{invoice_id}" in s.path and s.auth],  # support's refund has no caller
    ids=route_id,
)
def test_another_accounts_invoice_is_not_found(
    spec: RouteSpec, api: Api, invoice_of_a: tuple[str, str]
) -> None:
    token_a, invoice_id = invoice_of_a
    token_b, _ = api.signup()
    accept = {"Accept": "application/pdf"} if spec.path.endswith("/pdf") else {}
    own = api.call(
        spec.method, concrete(spec, invoice_id=invoice_id), token=token_a, headers=accept
    )
    assert own.status == 200
    theirs = api.call(
        spec.method, concrete(spec, invoice_id=invoice_id), token=token_b, headers=accept
    )
    missing = api.call(spec.method, concrete(spec), token=token_b, headers=accept)
    assert theirs.status == missing.status == 404
    assert theirs.json == missing.json
    listed = api.call("GET", "/billing/invoices", token=token_b).json["items"]
    assert listed == []


def test_another_accounts_card_cannot_be_put_on_file(api: Api, settings: Any) -> None:
    token_a, _ = api.signup()
    pm = create_payment_method(settings, "4242424242424242")
    assert api.call("PUT", "/billing/card", {"payment_method_id": pm}, token=token_a).status == 200
    token_b, _ = api.signup()
    stolen = api.call("PUT", "/billing/card", {"payment_method_id": pm}, token=token_b)
    assert 400 <= stolen.status < 500, stolen.json
    assert api.call("GET", "/billing", token=token_b).json["card"] is None
    assert api.call("GET", "/billing", token=token_a).json["card"]["last4"] == "4242"
