"""Over HTTP and the embedded DynamoDB: the routes that ask for the password again are
throttled like sign-in (AU9, SE6), one email is one account however it is typed, and free
text refuses control and bidi characters with the field named (issue 11, items 4 and 6)."""

from __future__ import annotations

from typing import Any

import pytest

from chalicelib.wiring import Container
from tests.conftest import unique_email
from tests.helpers import PASSWORD, Api

NEW = "a brand new pass phrase"


def attempt(api: Api, route: str, token: str, password: str) -> Any:
    if route == "password":
        body = {"current_password": password, "new_password": NEW, "confirm_password": NEW}
        return api.call("POST", "/account/password", body, token=token)
    if route == "email":
        body = {"email": unique_email("moved"), "current_password": password}
        return api.call("PATCH", "/account/profile", body, token=token)
    return api.call("POST", "/account/cancel", {"password": password}, token=token)


@pytest.mark.parametrize("route", ["password", "email", "cancel"])
def test_current_password_guesses_are_throttled_on_every_route_that_asks(
    api: Api, box: Container, route: str
) -> None:
    token, account = api.signup()
    for _ in range(box.settings.login_free_failures):
        wrong = attempt(api, route, token, "not my password")
        assert (wrong.status, wrong.error_code) == (401, "invalid_password")
    for password in ("not my password", PASSWORD):
        throttled = attempt(api, route, token, password)
        assert (throttled.status, throttled.error_code) == (429, "too_many_attempts")
        assert throttled.headers["Retry-After"] == "1"
    assert api.call("GET", "/account", token=token).status == 200  # the session still works
    box.clock.advance(seconds=1)  # type: ignore[attr-defined]
    done = attempt(api, route, token, PASSWORD)
    assert done.status in (200, 204), done.json
    events = [e.event for e in box.repo.audit_events(account["id"])]
    assert events.count("password_attempts_throttled") == 1


def test_a_fullwidth_email_is_the_same_account(api: Api) -> None:
    local = f"paid{unique_email()[5:17]}"
    plain = f"{local}@example.com"
    _, account = api.signup(plain)
    fullwidth = "\uff50" + plain[1:]  # FULLWIDTH LATIN SMALL LETTER P
    taken = api.call(
        "POST",
        "/signup",
        {"email": fullwidth, "password": PASSWORD, "name": "Twin", "country": "FR"},
    )
    assert (taken.status, taken.error_code) == (409, "email_taken")
    for typed in (fullwidth, plain.upper()):
        signed_in = api.call("POST", "/login", {"email": typed, "password": PASSWORD})
        assert signed_in.status == 200 and signed_in.json["account"]["id"] == account["id"]


@pytest.mark.parametrize(
    ("path", "method", "body", "field"),
    [
        ("/signup", "POST", {"name": "Ada\u202eecnalevol"}, "name"),
        ("/account/profile", "PATCH", {"name": "Ada\u2028Lovelace"}, "name"),
        ("/account/cancel", "POST", {"password": PASSWORD, "comment": "bye\u2066now"}, "comment"),
        (
            "/billing/address",
            "PUT",
            {"name": "Ada", "line1": "1 rue\u0085x", "city": "Paris", "postal_code": "75001"},
            "line1",
        ),
    ],
)
def test_control_and_bidi_characters_are_refused_with_the_field_named(
    api: Api, path: str, method: str, body: dict[str, str], field: str
) -> None:
    token, account = api.signup()
    if path == "/signup":
        body = {"email": unique_email(), "password": PASSWORD, "country": "FR", **body}
    if path == "/billing/address":
        body = {**body, "country": "FR"}
    for language, words in (("en", "text-direction"), ("fr", "direction du texte")):
        answer = api.call(method, path, body, token=token, headers={"Accept-Language": language})
        assert (answer.status, answer.error_code) == (400, "validation_error"), answer.json
        assert list(answer.json["error"]["fields"]) == [field]
        assert words in answer.json["error"]["fields"][field]
    assert api.call("GET", "/account", token=token).json["name"] == account["name"]
