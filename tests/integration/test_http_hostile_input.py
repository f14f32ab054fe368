"""Hostile input over HTTP: deeply nested JSON and unbounded numeric query parameters are
400s in the contract's format (never a RecursionError or an int-digit-limit 500)."""

from __future__ import annotations

import json
import time
from typing import Any

import pytest

from chalicelib.api.http import int_query
from chalicelib.domain.errors import InvalidInput
from chalicelib.domain.jsonbody import MAX_JSON_DEPTH, decode_json, json_depth_exceeds
from tests.helpers import Answer, Api


def nested(depth: int, opener: str = "[", closer: str = "]") -> str:
    return opener * depth + closer * depth


def deep_object(depth: int) -> str:
    return '{"a":' * depth + "1" + "}" * depth


def assert_400(answer: Answer, code: str) -> dict[str, Any]:
    assert answer.status == 400, answer.raw
    error: dict[str, Any] = answer.json["error"]
    assert error["code"] == code and error["message"]
    return error


@pytest.mark.parametrize(
    ("method", "path", "auth"),
    [
        ("POST", "/signup", False),
        ("POST", "/login", False),
        ("POST", "/account/reactivate", False),
        ("PATCH", "/account/profile", True),
        ("POST", "/account/password", True),
        ("PUT", "/billing/address", True),
        ("POST", "/billing/subscribe", True),
        ("PUT", "/billing/vat", True),
    ],
)
# 1,200 levels (2.4 KB) was a RecursionError 500; 30,000 levels is just under the 64 KiB limit
@pytest.mark.parametrize("body", [nested(1200), deep_object(1200), nested(30_000)])
def test_json_nested_past_the_limit_is_a_400_on_every_route(
    api: Api, method: str, path: str, auth: bool, body: str
) -> None:
    token = api.signup()[0] if auth else None
    assert_400(api.call(method, path, raw=body, token=token), "json_too_deep")


def test_the_error_is_in_french_when_asked(api: Api) -> None:
    answer = api.call("POST", "/login", raw=nested(500), headers={"Accept-Language": "fr"})
    assert "imbriqué" in assert_400(answer, "json_too_deep")["message"]


def test_sixty_four_levels_are_still_parsed_and_validated(api: Api) -> None:
    body = json.dumps({"email": "a@example.com", "password": json.loads(nested(63))})
    answer = api.call("POST", "/login", raw=body)
    # parsed: the model then refuses the field's type (not a depth error)
    assert_400(answer, "validation_error")
    assert_400(api.call("POST", "/login", raw=nested(65)), "json_too_deep")


def test_brackets_inside_strings_do_not_count(api: Api) -> None:
    body = json.dumps({"email": "x@example.com", "password": "[" * 120 + "{" * 120})
    answer = api.call("POST", "/login", raw=body)
    assert answer.status == 401  # a well-formed (wrong) sign-in, not a depth error


def test_a_deep_signed_webhook_is_a_400_not_a_500(api: Api, box: Any) -> None:
    import stripe

    payload = '{"id":"evt_deep","data":' + deep_object(1500) + "}"
    stamp = int(time.time())
    signature = stripe.WebhookSignature._compute_signature(
        f"{stamp}.{payload}", box.settings.stripe_webhook_secret
    )
    answer = api.call(
        "POST",
        "/webhooks/stripe",
        raw=payload,
        headers={"Stripe-Signature": f"t={stamp},v1={signature}"},
    )
    assert_400(answer, "json_too_deep")
    unsigned = api.call("POST", "/webhooks/stripe", raw=payload, headers={"Stripe-Signature": "x"})
    assert_400(unsigned, "invalid_signature")  # the signature is still checked first


@pytest.mark.parametrize(
    ("limit", "message"),
    [
        ("9" * 5000, "field_range"),
        ("1" + "0" * 4400, "field_range"),
        ("-1", "field_range"),
        ("0", "field_range"),
        ("101", "field_range"),
        ("-" + "9" * 5000, "field_range"),
        ("abc", "field_not_integer"),
        ("", "field_not_integer"),
        ("1.5", "field_not_integer"),
        ("1e3", "field_not_integer"),
        ("²", "field_not_integer"),  # str.isdigit() says yes; int() raises
        ("١٢", "field_not_integer"),  # Arabic-Indic digits
        ("0x10", "field_not_integer"),
    ],
)
def test_a_bad_limit_is_a_400_naming_the_field(api: Api, limit: str, message: str) -> None:
    token, _ = api.signup()
    answer = api.call("GET", f"/billing/invoices?limit={limit}", token=token)
    error = assert_400(answer, "validation_error")
    assert set(error["fields"]) == {"limit"}
    english = {"field_range": "out of range", "field_not_integer": "whole number"}[message]
    assert english in error["fields"]["limit"]


@pytest.mark.parametrize("limit", ["1", "100", "007", " 20 ", "+5"])
def test_a_good_limit_is_accepted(api: Api, limit: str) -> None:
    token, _ = api.signup()
    answer = api.call("GET", f"/billing/invoices?limit={limit}", token=token)
    assert answer.status == 200 and answer.json["items"] == []


# --- the helpers themselves --------------------------------------------------------------------
def test_depth_check_agrees_with_the_parser_at_the_boundary() -> None:
    for depth in (1, MAX_JSON_DEPTH - 1, MAX_JSON_DEPTH):
        assert not json_depth_exceeds(nested(depth).encode())
        assert decode_json(nested(depth).encode()) is not None
    assert json_depth_exceeds(nested(MAX_JSON_DEPTH + 1).encode())
    mixed = ("[{" * 40 + '"k":1' + "}]" * 40).replace('[{"k"', '[{"k"')
    assert json_depth_exceeds(mixed.encode())  # 80 levels of alternating [ and {
    wide = "[" + ",".join(["[]"] * 20_000) + "]"
    assert not json_depth_exceeds(wide.encode())  # many brackets, depth 2


@pytest.mark.parametrize(
    "raw",
    [
        b'"' + b'\\"' * 30_000,  # an unterminated string of escaped quotes
        b"[" * 70 + b'"\\"' * 20_000,
        b'["' + b"[" * 30_000,
    ],
)
def test_depth_check_is_linear_on_adversarial_strings(raw: bytes) -> None:
    started = time.perf_counter()
    json_depth_exceeds(raw)
    assert time.perf_counter() - started < 1.0  # quadratic would take minutes


def test_int_query_defaults_and_bounds() -> None:
    assert int_query({}, "limit", default=20, low=1, high=100) == 20
    assert int_query({"limit": "-3"}, "offset", default=0, low=-5, high=5) == 0
    assert int_query({"offset": "-3"}, "offset", default=0, low=-5, high=5) == -3
    with pytest.raises(InvalidInput) as error:
        int_query({"limit": "9" * 19}, "limit", default=20, low=1, high=10**30)
    assert error.value.fields == {"limit": "field_range"}
