"""HTTP tests of the foundation routes through Chalice's test client, over the real adapters
(DynamoDB and SES on the embedded moto server, argon2)."""

from __future__ import annotations

from typing import Any

from chalicelib.jobs.run import run_job
from chalicelib.wiring import Container
from tests.conftest import unique_email
from tests.helpers import PASSWORD, Api
from tests.integration.conftest import mails_to

NEW_PASSWORD = "a brand new passphrase"


# --- public routes ------------------------------------------------------------------------------
def test_health_plans_vendor(api: Api) -> None:
    assert api.call("GET", "/health").json == {
        "status": "ok",
        "checks": {"dynamodb": "ok", "ses": "ok", "stripe": "ok"},
    }
    plans = api.call("GET", "/plans").json["items"]
    assert {p["interval"] for p in plans} <= {"month", "year"}
    assert all(isinstance(p["amount"], int) for p in plans)
    vendor = api.call("GET", "/vendor").json
    assert set(vendor) == {"name", "support_email", "vat_contact_email", "vat_number"}


def test_countries_are_named_in_the_request_language(api: Api) -> None:
    english = {c["code"]: c for c in api.call("GET", "/countries").json["items"]}
    french = {
        c["code"]: c
        for c in api.call("GET", "/countries", headers={"Accept-Language": "fr"}).json["items"]
    }
    assert len(english) == 249
    assert english["DE"]["name"] == "Germany" and french["DE"]["name"] == "Allemagne"
    assert english["FR"]["vat_applicable"] and not english["US"]["vat_applicable"]
    assert sum(c["vat_applicable"] for c in english.values()) == 27


def test_openapi_documents_every_route(api: Api, chalice_app: Any) -> None:
    document = api.call("GET", "/openapi.json").json
    assert document["openapi"].startswith("3.")
    for path, method in [
        ("/signup", "post"),
        ("/login", "post"),
        ("/logout", "post"),
        ("/account", "get"),
        ("/account/profile", "patch"),
        ("/account/password", "post"),
        ("/health", "get"),
        ("/plans", "get"),
        ("/vendor", "get"),
        ("/countries", "get"),
        ("/openapi.json", "get"),
    ]:
        assert method in document["paths"][path], (path, method)
    signup = document["components"]["schemas"]["SignupRequest"]
    assert signup["additionalProperties"] is False
    assert set(signup["required"]) == {"email", "password", "name", "country"}


# --- sign-up, sign-in, sign-out -------------------------------------------------------------------
def test_signup_login_account_logout(api: Api) -> None:
    email = unique_email()
    token, account = api.signup(email, phone="+44 20 7946 0958", locale="fr")
    assert account["status"] == "trial" and account["phone"] == "+442079460958"
    assert account["created_at"].endswith("Z") and account["trial_ends_at"].endswith("Z")
    assert api.call("GET", "/account", token=token).json == account
    login = api.call("POST", "/login", {"email": email.upper(), "password": PASSWORD})
    assert login.status == 200
    assert login.json["pending_payment"] is None
    second = login.json["token"]
    assert api.call("POST", "/logout", token=token).status == 204
    assert api.call("GET", "/account", token=token).error_code == "not_authenticated"
    assert api.call("GET", "/account", token=second).status == 200


def test_signup_conflict_and_bad_input(api: Api) -> None:
    email = unique_email()
    api.signup(email)
    again = api.call(
        "POST", "/signup", {"email": email, "password": PASSWORD, "name": "B", "country": "FR"}
    )
    assert (again.status, again.error_code) == (409, "email_taken")
    cases = [
        ({"email": "nope", "password": PASSWORD, "name": "A", "country": "FR"}, "email"),
        ({"email": unique_email(), "password": "short", "name": "A", "country": "FR"}, "password"),
        ({"email": unique_email(), "password": PASSWORD, "name": "", "country": "FR"}, "name"),
        ({"email": unique_email(), "password": PASSWORD, "name": "A", "country": "ZZ"}, "country"),
        (
            {
                "email": unique_email(),
                "password": PASSWORD,
                "name": "A",
                "country": "FR",
                "phone": "123",
            },
            "phone",
        ),
        (
            {
                "email": unique_email(),
                "password": PASSWORD,
                "name": "A",
                "country": "FR",
                "locale": "de",
            },
            "locale",
        ),
        ({"email": unique_email(), "password": 12345678, "name": "A", "country": "FR"}, "password"),
        ({"email": unique_email(), "name": "A", "country": "FR"}, "password"),
        ({"email": unique_email(), "password": PASSWORD, "name": "A\nB", "country": "FR"}, "name"),
    ]
    for body, field in cases:
        answer = api.call("POST", "/signup", body)
        assert answer.status == 400, (body, answer.json)
        assert field in answer.json["error"]["fields"], (body, answer.json)
        assert answer.json["error"]["message"]


def test_contract_error_bodies_for_malformed_requests(api: Api) -> None:
    cases = [
        (dict(raw="{not json"), 400, "invalid_json"),
        (dict(raw="[1, 2]"), 400, "invalid_json"),
        (
            dict(body={"email": "a@example.com", "password": "x", "is_admin": True}),
            400,
            "unknown_field",
        ),
        (dict(raw="x" * (64 * 1024 + 1)), 413, "payload_too_large"),
        (
            dict(raw="email=a", headers={"Content-Type": "application/x-www-form-urlencoded"}),
            415,
            "unsupported_media_type",
        ),
    ]
    for kwargs, status, code in cases:
        answer = api.call("POST", "/login", **kwargs)  # type: ignore[arg-type]
        assert (answer.status, answer.error_code) == (status, code), answer.json
        assert set(answer.json["error"]) <= {"code", "message", "fields"}


def test_unknown_routes_and_methods(api: Api) -> None:
    for method, path in [("GET", "/nope"), ("POST", "/a/b/c"), ("DELETE", "/x/y/z/w/v/u")]:
        answer = api.call(method, path)
        assert (answer.status, answer.error_code) == (404, "not_found")
    answer = api.call("DELETE", "/account")
    assert (answer.status, answer.error_code) == (405, "method_not_allowed")
    assert answer.headers["Allow"] == "GET"
    assert api.call("PUT", "/login", {}).status == 405


def test_wrong_password_unknown_email_same_answer(api: Api) -> None:
    email = unique_email()
    api.signup(email)
    wrong = api.call("POST", "/login", {"email": email, "password": "wrong password"})
    unknown = api.call("POST", "/login", {"email": unique_email(), "password": "wrong password"})
    assert wrong.status == unknown.status == 401
    assert wrong.json == unknown.json


def test_login_is_throttled_with_retry_after(api: Api, box: Container) -> None:
    email = unique_email()
    api.signup(email)
    for _ in range(box.settings.login_free_failures):
        assert api.call("POST", "/login", {"email": email, "password": "wrong!"}).status == 401
    throttled = api.call("POST", "/login", {"email": email, "password": PASSWORD})
    assert (throttled.status, throttled.error_code) == (429, "too_many_attempts")
    assert throttled.headers["Retry-After"] == "1"  # a progressive delay, not a lock
    box.clock.advance(seconds=1)  # type: ignore[attr-defined]
    signed_in = api.call("POST", "/login", {"email": email, "password": PASSWORD})
    assert signed_in.status == 200 and signed_in.json["device_token"]


def test_messages_follow_accept_language_then_the_account_locale(api: Api) -> None:
    token, _ = api.signup(locale="fr")
    french = api.call("PATCH", "/account/profile", {"phone": "1"}, token=token)
    assert french.json["error"]["fields"]["phone"].startswith("Saisissez")
    english = api.call(
        "PATCH",
        "/account/profile",
        {"phone": "1"},
        token=token,
        headers={"Accept-Language": "en-GB"},
    )
    assert english.json["error"]["fields"]["phone"].startswith("Enter")


# --- profile and password ---------------------------------------------------------------------
def test_profile_edit_and_email_change_notice(api: Api, box: Container, stack: Any) -> None:
    old_email = unique_email()
    token, _ = api.signup(old_email)
    edited = api.call(
        "PATCH",
        "/account/profile",
        {"name": "Grace", "phone": "06 11 22 33 44", "locale": "fr"},
        token=token,
    )
    assert edited.status == 200
    assert (edited.json["name"], edited.json["phone"]) == ("Grace", "+33611223344")

    new_email = unique_email("new")
    missing = api.call("PATCH", "/account/profile", {"email": new_email}, token=token)
    assert missing.status == 400 and "current_password" in missing.json["error"]["fields"]
    wrong = api.call(
        "PATCH",
        "/account/profile",
        {"email": new_email, "current_password": "wrong password"},
        token=token,
    )
    assert (wrong.status, wrong.error_code) == (401, "invalid_password")
    changed = api.call(
        "PATCH", "/account/profile", {"email": new_email, "current_password": PASSWORD}, token=token
    )
    assert (changed.json["email"], changed.json["pending_email"]) == (old_email, new_email)

    other_email = unique_email()
    api.signup(other_email)
    taken = api.call(
        "PATCH",
        "/account/profile",
        {"email": other_email, "current_password": PASSWORD},
        token=token,
    )
    assert (taken.status, taken.error_code) == (409, "email_taken")

    notices = [m for m in mails_to(stack, old_email) if "#/email-not-me" in m["body"]]
    assert notices == []
    report = run_job("outbox", box=box)
    assert report["sent"] >= 1
    (notice,) = [m for m in mails_to(stack, old_email) if "#/email-not-me" in m["body"]]
    assert new_email in notice["body"] and "changement" in notice["subject"]
    run_job("outbox", box=box)
    again = [m for m in mails_to(stack, old_email) if "#/email-not-me" in m["body"]]
    assert len(again) == 1  # never twice (the change itself: test_http_account_security.py)


def test_password_change_ends_the_other_session(api: Api, box: Container, stack: Any) -> None:
    email = unique_email()
    token, _ = api.signup(email)
    other = api.call("POST", "/login", {"email": email, "password": PASSWORD}).json["token"]
    bad = [
        (
            {
                "current_password": "wrong",
                "new_password": NEW_PASSWORD,
                "confirm_password": NEW_PASSWORD,
            },
            401,
            "invalid_password",
        ),
        (
            {
                "current_password": PASSWORD,
                "new_password": NEW_PASSWORD,
                "confirm_password": "different",
            },
            400,
            "password_mismatch",
        ),
        (
            {
                "current_password": PASSWORD,
                "new_password": "password1",
                "confirm_password": "password1",
            },
            400,
            "weak_password",
        ),
        ({"current_password": PASSWORD, "new_password": NEW_PASSWORD}, 400, "validation_error"),
    ]
    for body, status, code in bad:
        answer = api.call("POST", "/account/password", body, token=token)
        assert (answer.status, answer.error_code) == (status, code)
    assert api.call("GET", "/account", token=other).status == 200  # nothing changed yet

    done = api.call(
        "POST",
        "/account/password",
        {
            "current_password": PASSWORD,
            "new_password": NEW_PASSWORD,
            "confirm_password": NEW_PASSWORD,
        },
        token=token,
    )
    assert done.status == 204
    assert api.call("GET", "/account", token=token).status == 200
    assert api.call("GET", "/account", token=other).status == 401
    assert api.call("POST", "/login", {"email": email, "password": NEW_PASSWORD}).status == 200
    run_job("outbox", box=box)
    (notice,) = [m for m in mails_to(stack, email) if "#/verify-email" not in m["body"]]
    assert "password" in notice["subject"].lower()


def test_sessions_expire_on_the_server(api: Api, box: Container) -> None:
    token, _ = api.signup()
    box.clock.advance(seconds=box.settings.session_idle_seconds + 1)  # type: ignore[attr-defined]
    assert api.call("GET", "/account", token=token).status == 401


def test_one_account_cannot_reach_another(api: Api) -> None:
    token_a, account_a = api.signup()
    token_b, account_b = api.signup()
    assert api.call("GET", "/account", token=token_b).json["id"] == account_b["id"]
    forged = f"{account_a['id']}.{token_b.split('.', 1)[1]}"  # B's secret under A's id
    assert api.call("GET", "/account", token=forged).status == 401
    assert api.call("PATCH", "/account/profile", {"name": "X"}, token=forged).status == 401
    api.call("PATCH", "/account/profile", {"name": "Changed by B"}, token=token_b)
    assert api.call("GET", "/account", token=token_a).json["name"] == account_a["name"]


def test_authenticated_routes_need_a_token(api: Api) -> None:
    for method, path in [
        ("GET", "/account"),
        ("PATCH", "/account/profile"),
        ("POST", "/account/password"),
        ("POST", "/logout"),
    ]:
        answer = api.call(method, path, {})
        assert (answer.status, answer.error_code) == (401, "not_authenticated"), path


def test_security_headers(api: Api) -> None:
    token, _ = api.signup()
    answer = api.call("GET", "/account", token=token)
    assert answer.headers["Cache-Control"] == "no-store"
    assert "max-age" in answer.headers["Strict-Transport-Security"]
    assert answer.headers["X-Content-Type-Options"] == "nosniff"
    assert "default-src 'none'" in answer.headers["Content-Security-Policy"]
