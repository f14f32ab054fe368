"""Over HTTP and the embedded DynamoDB and SES: password recovery (AU7), email proof, the
"this was not me" answer to an email change, sessions (SE7) and the activity log (issue 16).

Tokens are read from the mails as SES received them (the outbox job sends them), so every
test goes through the link a customer would open.
"""

from __future__ import annotations

import re
from collections import Counter
from datetime import timedelta
from typing import Any

import pytest

from chalicelib.jobs.run import run_job
from chalicelib.wiring import Container
from tests.conftest import unique_email
from tests.helpers import PASSWORD, Api
from tests.integration.conftest import login
from tests.integration.conftest import mails_to as ses_mails_to

NEW = "a brand new pass phrase"
FIREFOX = "Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0"
CHROME = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/131.0.0.0 Safari/537.36"
)


def mails_to(box: Container, stack: Any, to: str) -> list[dict[str, Any]]:
    """Every mail SES received for ``to``, oldest first (after sending what is due)."""
    run_job("outbox", box=box)
    return ses_mails_to(stack, to)


def link_token(mail: dict[str, Any], page: str) -> str:
    found = re.search(rf"#/{page}\?token=([A-Za-z0-9_.\-]+)", mail["body"])
    assert found, mail["body"]
    return found.group(1)


def last_token(box: Container, stack: Any, to: str, page: str) -> str:
    mails = [m for m in mails_to(box, stack, to) if f"#/{page}?" in m["body"]]
    assert mails, f"no {page} mail to {to}"
    return link_token(mails[-1], page)


def reset(api: Api, token: str, password: str = NEW, confirm: str | None = None) -> Any:
    body = {"token": token, "new_password": password, "confirm_password": confirm or password}
    return api.call("POST", "/password/reset", body)


# --- password recovery (AU7, ASVS 6.4) ------------------------------------------------------------
def test_forgot_then_reset_ends_every_session_and_the_token_works_once(
    api: Api, box: Container, stack: Any
) -> None:
    email = unique_email()
    token, _ = api.signup(email)
    other = login(api, email).json["token"]
    asked = api.call("POST", "/password/forgot", {"email": email.upper()})
    assert (asked.status, asked.json) == (202, {"status": "accepted"})
    reset_token = last_token(box, stack, email, "reset-password")
    mismatch = reset(api, reset_token, NEW, NEW + "x")
    assert (mismatch.status, mismatch.error_code) == (400, "password_mismatch")
    weak = reset(api, reset_token, "qwertyuiop")
    assert (weak.status, weak.error_code) == (400, "weak_password")
    done = reset(api, reset_token)
    assert done.status == 204, done.json
    for ended in (token, other):
        assert api.call("GET", "/account", token=ended).status == 401
    assert login(api, email).status == 401
    signed_in = login(api, email, NEW)
    assert signed_in.status == 200 and signed_in.json["account"]["email_verified"] is True
    again = reset(api, reset_token, "yet another pass phrase")
    assert (again.status, again.error_code) == (400, "invalid_token")
    assert again.json["error"]["fields"] == {"token": again.json["error"]["fields"]["token"]}
    notices = [m for m in mails_to(box, stack, email) if "#/forgot-password" in m["body"]]
    assert len(notices) == 1 and "reset" in notices[0]["subject"].lower()


def test_a_reset_token_expires_after_an_hour(api: Api, box: Container, stack: Any) -> None:
    email = unique_email()
    api.signup(email)
    api.call("POST", "/password/forgot", {"email": email})
    reset_token = last_token(box, stack, email, "reset-password")
    box.clock.advance(seconds=3600)  # type: ignore[attr-defined]
    expired = reset(api, reset_token)
    assert (expired.status, expired.error_code) == (400, "invalid_token")
    assert login(api, email).status == 200  # nothing changed


def test_a_newer_token_and_a_password_change_end_the_older_tokens(
    api: Api, box: Container, stack: Any
) -> None:
    email = unique_email()
    token, _ = api.signup(email)
    api.call("POST", "/password/forgot", {"email": email})
    first = last_token(box, stack, email, "reset-password")
    api.call("POST", "/password/forgot", {"email": email})
    second = last_token(box, stack, email, "reset-password")
    assert first != second
    assert reset(api, first).error_code == "invalid_token"
    change = {"current_password": PASSWORD, "new_password": NEW, "confirm_password": NEW}
    assert api.call("POST", "/account/password", change, token=token).status == 204
    assert reset(api, second, "yet another pass phrase").error_code == "invalid_token"
    assert login(api, email, NEW).status == 200


def test_forged_malformed_and_other_account_tokens_are_refused(
    api: Api, box: Container, stack: Any
) -> None:
    mine, theirs = unique_email(), unique_email()
    _, account = api.signup(mine)
    _, other = api.signup(theirs)
    api.call("POST", "/password/forgot", {"email": mine})
    real = last_token(box, stack, mine, "reset-password")
    secret = real.split(".", 1)[1]
    for bad in (
        f"{other['id']}.{secret}",  # my secret under another account
        f"{account['id']}.{'A' * 43}",  # forged secret
        "not-a-token",
        "a" * 32 + ".short",
    ):
        refused = reset(api, bad)
        assert (refused.status, refused.error_code) == (400, "invalid_token"), bad
    assert login(api, theirs).status == 200 and login(api, mine).status == 200
    empty = api.call("POST", "/password/reset", {"token": "", "new_password": NEW})
    assert empty.status == 400
    assert reset(api, real).status == 204  # the real one still works


def count_requests(monkeypatch: pytest.MonkeyPatch) -> tuple[Counter[str], list[int]]:
    """DynamoDB operations made, and the outbox entries each TransactWrite put."""
    from pynamodb.connection.base import Connection

    operations: Counter[str] = Counter()
    outbox: list[int] = []
    original = Connection._make_api_call

    def counted(self: Any, name: str, kwargs: dict[str, Any]) -> Any:
        operations[name] += 1
        if name == "TransactWriteItems":
            items = kwargs.get("TransactItems", [])
            puts = [i["Put"]["Item"]["pk"]["S"] for i in items if "Put" in i]
            outbox.append(sum(pk.startswith("OUTBOX#") for pk in puts))
        return original(self, name, kwargs)

    monkeypatch.setattr(Connection, "_make_api_call", counted)
    return operations, outbox


def test_forgot_answers_and_works_the_same_for_unknown_emails(
    api: Api, box: Container, stack: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    known = unique_email()
    api.signup(known)
    hashed: list[str] = []
    for name in ("hash", "verify", "burn"):
        original = getattr(box.hasher, name)
        monkeypatch.setattr(
            box.hasher,
            name,
            lambda *a, _n=name, _o=original: hashed.append(_n) or _o(*a),  # type: ignore[func-returns-value]
        )
    answers, work = [], []
    operations, outbox = count_requests(monkeypatch)
    for email in (known, unique_email("nobody")):
        operations.clear()
        outbox.clear()
        answer = api.call("POST", "/password/forgot", {"email": email})
        answers.append((answer.status, answer.json, answer.headers.get("Content-Length")))
        work.append((dict(operations), list(outbox)))
    assert answers[0] == answers[1] and answers[0][0] == 202
    assert work[0] == work[1], work
    # the reservation (two buckets), then one outbox entry: the mail, or a discarded entry
    assert work[0][1] == [0, 1]
    assert hashed == []  # no password hashing for either
    assert mails_to(box, stack, "nobody") == []  # nothing is sent to an unknown email


def test_forgot_is_throttled_per_email_for_known_and_unknown_alike(api: Api) -> None:
    for email in (unique_email(), unique_email("nobody")):
        if "nobody" not in email:
            api.signup(email)
        for _ in range(5):
            assert api.call("POST", "/password/forgot", {"email": email}).status == 202
        throttled = api.call("POST", "/password/forgot", {"email": email})
        assert (throttled.status, throttled.error_code) == (429, "too_many_attempts")
        assert int(throttled.headers["Retry-After"]) > 0
    bad = api.call("POST", "/password/forgot", {"email": "x" * 300})
    assert (bad.status, bad.error_code) == (400, "validation_error")


# --- email proof ---------------------------------------------------------------------------------
def test_sign_up_mails_a_verification_link_that_works_once(
    api: Api, box: Container, stack: Any
) -> None:
    email = unique_email()
    token, account = api.signup(email)
    assert (account["email_verified"], account["pending_email"]) == (False, None)
    first = last_token(box, stack, email, "verify-email")
    resent = api.call("POST", "/account/email/verification", token=token)
    assert resent.status == 202
    second = last_token(box, stack, email, "verify-email")
    older = api.call("POST", "/account/email/verify", {"token": first})
    assert (older.status, older.error_code) == (400, "invalid_token")  # a newer one was sent
    verified = api.call("POST", "/account/email/verify", {"token": second})
    assert verified.status == 200 and verified.json["email_verified"] is True
    assert api.call("GET", "/account", token=token).json["email_verified"] is True
    again = api.call("POST", "/account/email/verify", {"token": second})
    assert (again.status, again.error_code) == (400, "invalid_token")


def test_an_email_change_waits_for_the_new_address_and_can_be_undone_by_the_old_one(
    api: Api, box: Container, stack: Any
) -> None:
    old, new = unique_email(), unique_email("new")
    token, _ = api.signup(old)
    other = login(api, old).json["token"]
    asked = api.call(
        "PATCH", "/account/profile", {"email": new, "current_password": PASSWORD}, token=token
    )
    assert asked.status == 200
    assert (asked.json["email"], asked.json["pending_email"]) == (old, new)
    assert login(api, new).status == 401  # not before the proof
    proof = last_token(box, stack, new, "verify-email")
    not_me = last_token(box, stack, old, "email-not-me")
    changed = api.call("POST", "/account/email/verify", {"token": proof})
    assert changed.status == 200
    assert (changed.json["email"], changed.json["pending_email"]) == (new, None)
    assert login(api, new).status == 200 and login(api, old).status == 401
    # the old address says "this was not me": the address comes back, every session ends
    undone = api.call("POST", "/account/email/cancel", {"token": not_me})
    assert undone.status == 204, undone.json
    for ended in (token, other):
        assert api.call("GET", "/account", token=ended).status == 401
    assert login(api, old).status == 200 and login(api, new).status == 401
    reset_token = last_token(box, stack, old, "reset-password")  # and may choose a password
    assert reset(api, reset_token).status == 204
    used = api.call("POST", "/account/email/cancel", {"token": not_me})
    assert (used.status, used.error_code) == (400, "invalid_token")


def test_a_pending_email_change_cancelled_before_the_proof(
    api: Api, box: Container, stack: Any
) -> None:
    old, new = unique_email(), unique_email("new")
    token, _ = api.signup(old)
    api.call("PATCH", "/account/profile", {"email": new, "current_password": PASSWORD}, token=token)
    proof = last_token(box, stack, new, "verify-email")
    not_me = last_token(box, stack, old, "email-not-me")
    assert api.call("POST", "/account/email/cancel", {"token": not_me}).status == 204
    late = api.call("POST", "/account/email/verify", {"token": proof})
    assert (late.status, late.error_code) == (400, "invalid_token")
    fresh = login(api, old).json["account"]
    assert (fresh["email"], fresh["pending_email"]) == (old, None)


def test_an_email_change_to_a_taken_address_is_refused(api: Api) -> None:
    token, _ = api.signup()
    taken = unique_email()
    api.signup(taken)
    body = {"email": taken, "current_password": PASSWORD}
    refused = api.call("PATCH", "/account/profile", body, token=token)
    assert (refused.status, refused.error_code) == (409, "email_taken")
    assert api.call("GET", "/account", token=token).json["pending_email"] is None


# --- sessions (SE7, ASVS 7.4) ---------------------------------------------------------------------
def test_sessions_are_listed_and_ended_one_by_one_or_all_but_this_one(api: Api) -> None:
    email = unique_email()
    api.signup(email)
    mine = login(api, email, agent=FIREFOX).json["token"]
    theirs = login(api, email, agent=CHROME).json["token"]
    third = login(api, email).json["token"]
    listed = api.call("GET", "/account/sessions", token=mine)
    assert listed.status == 200
    items = listed.json["items"]
    assert len(items) == 4  # the sign-up's and three sign-ins
    (current,) = [i for i in items if i["current"]]
    assert current["user_agent"] == FIREFOX and current["browser"] == "Firefox 133 · Linux"
    (chrome,) = [i for i in items if i["user_agent"] == CHROME]
    assert chrome["browser"] == "Chrome 131 · Windows"
    assert all(len(i["id"]) == 32 for i in items)
    assert api.call("DELETE", f"/account/sessions/{chrome['id']}", token=mine).status == 204
    assert api.call("GET", "/account", token=theirs).status == 401
    assert api.call("GET", "/account", token=third).status == 200
    gone = api.call("DELETE", f"/account/sessions/{chrome['id']}", token=mine)
    assert (gone.status, gone.error_code) == (404, "not_found")
    assert api.call("POST", "/account/sessions/revoke-others", token=mine).status == 204
    assert api.call("GET", "/account", token=third).status == 401
    (only,) = api.call("GET", "/account/sessions", token=mine).json["items"]
    assert only["current"] and only["id"] == current["id"]


def test_another_accounts_session_id_is_a_404(api: Api) -> None:
    token, _ = api.signup()
    other_token, _ = api.signup()
    (theirs,) = api.call("GET", "/account/sessions", token=other_token).json["items"]
    refused = api.call("DELETE", f"/account/sessions/{theirs['id']}", token=token)
    assert (refused.status, refused.error_code) == (404, "not_found")
    assert api.call("GET", "/account", token=other_token).status == 200
    unknown = api.call("DELETE", "/account/sessions/" + "0" * 32, token=token)
    assert unknown.status == 404


def test_last_seen_is_written_at_most_once_a_minute(
    api: Api, box: Container, monkeypatch: pytest.MonkeyPatch
) -> None:
    token, _ = api.signup()
    operations, _ = count_requests(monkeypatch)
    for _ in range(3):
        assert api.call("GET", "/account", token=token).status == 200
    assert operations["UpdateItem"] == 0 and operations["BatchGetItem"] == 3
    box.clock.advance(seconds=60)  # type: ignore[attr-defined]
    assert api.call("GET", "/account", token=token).status == 200
    assert operations["UpdateItem"] == 1 and operations["BatchGetItem"] == 4  # no extra read
    (item,) = api.call("GET", "/account/sessions", token=token).json["items"]
    assert item["last_seen_at"] != item["created_at"]


# --- activity ------------------------------------------------------------------------------------
def test_activity_is_paged_newest_first_and_localized(api: Api, box: Container) -> None:
    email = unique_email()
    api.signup(email)
    tick = lambda: box.clock.advance(seconds=1)  # type: ignore[attr-defined]  # noqa: E731
    tick()
    token = login(api, email, agent=FIREFOX).json["token"]
    tick()
    login(api, email, "wrong password")
    tick()
    api.call("PATCH", "/account/profile", {"name": "Grace"}, token=token)
    first = api.call("GET", "/account/activity?limit=2", token=token)
    assert first.status == 200
    assert [i["event"] for i in first.json["items"]] == ["profile_updated", "login_failed"]
    assert first.json["next_cursor"]
    cursor = first.json["next_cursor"]
    second = api.call(
        "GET",
        f"/account/activity?limit=2&cursor={cursor}",
        token=token,
        headers={"Accept-Language": "fr"},
    )
    items = second.json["items"]
    assert [i["event"] for i in items] == ["login", "signup"]
    assert items[0]["label"] == "Connexion" and "Firefox 133" in items[0]["detail"]
    assert second.json["next_cursor"] is None
    for bad in ("limit=0", "limit=101", "limit=x", "cursor=QUNDT1VOVCN4", "cursor=" + "A" * 300):
        refused = api.call("GET", f"/account/activity?{bad}", token=token)
        assert refused.status == 400, bad


# --- two-factor sign-in (AU8, ASVS 6.5/6.6) -------------------------------------------------------
def code_at(secret: str, box: Container, steps: int = 0) -> str:
    import pyotp

    return str(pyotp.TOTP(secret).at(box.clock.now() + timedelta(seconds=30 * steps)))


def turn_on_mfa(api: Api, box: Container, token: str) -> tuple[str, list[str]]:
    started = api.call("POST", "/account/mfa/totp", {"password": PASSWORD}, token=token)
    assert started.status == 200, started.json
    secret = started.json["secret"]
    assert started.json["otpauth_uri"].startswith("otpauth://totp/HelpDesk:")
    assert started.json["qr_svg"].startswith("data:image/svg+xml")
    wrong = api.call("POST", "/account/mfa/totp/confirm", {"code": "000000"}, token=token)
    assert (wrong.status, wrong.error_code) == (401, "invalid_code")
    body = {"code": code_at(secret, box)}
    confirmed = api.call("POST", "/account/mfa/totp/confirm", body, token=token)
    assert confirmed.status == 200, confirmed.json
    codes = confirmed.json["recovery_codes"]
    assert len(codes) == 10 and len(set(codes)) == 10
    return secret, codes


def test_mfa_sign_in_needs_a_code_never_the_same_one_twice(
    api: Api, box: Container, stack: Any
) -> None:
    email = unique_email()
    token, _ = api.signup(email)
    assert api.call("GET", "/account", token=token).json["mfa_enabled"] is False
    secret, codes = turn_on_mfa(api, box, token)
    assert api.call("GET", "/account", token=token).json["mfa_enabled"] is True
    box.clock.advance(seconds=30)  # type: ignore[attr-defined]
    asked = login(api, email)
    assert (asked.status, asked.error_code) == (401, "mfa_required")
    wrong_password = api.call("POST", "/login", {"email": email, "password": "x" * 12})
    assert wrong_password.error_code == "invalid_credentials"  # the password comes first
    body = {"email": email, "password": PASSWORD, "otp": code_at(secret, box)}
    assert api.call("POST", "/login", body).status == 200
    replay = api.call("POST", "/login", body)
    assert (replay.status, replay.error_code) == (401, "invalid_code")
    bad = api.call("POST", "/login", {**body, "otp": "123456"})
    assert bad.error_code == "invalid_code"
    recovery = {**body, "otp": codes[0].upper()}
    assert api.call("POST", "/login", recovery).status == 200
    reused = api.call("POST", "/login", recovery)
    assert (reused.status, reused.error_code) == (401, "invalid_code")
    subjects = [m["subject"] for m in mails_to(box, stack, email)]
    assert any("Two-factor sign-in is on" in s for s in subjects)
    assert any("recovery code was used" in s for s in subjects)


def test_turning_mfa_off_needs_the_password_and_a_code(
    api: Api, box: Container, stack: Any
) -> None:
    email = unique_email()
    token, _ = api.signup(email)
    secret, _ = turn_on_mfa(api, box, token)
    again = api.call("POST", "/account/mfa/totp", {"password": PASSWORD}, token=token)
    assert (again.status, again.error_code) == (409, "mfa_already_enabled")
    box.clock.advance(seconds=30)  # type: ignore[attr-defined]
    for body, code in (
        ({"password": "wrong password", "code": code_at(secret, box)}, "invalid_password"),
        ({"password": PASSWORD, "code": "000000"}, "invalid_code"),
    ):
        refused = api.call("DELETE", "/account/mfa", body, token=token)
        assert (refused.status, refused.error_code) == (401, code)
    missing = api.call("DELETE", "/account/mfa", {"password": PASSWORD}, token=token)
    assert missing.status == 400
    body = {"password": PASSWORD, "code": code_at(secret, box)}
    assert api.call("DELETE", "/account/mfa", body, token=token).status == 204
    assert login(api, email).status == 200  # no code asked any more
    subjects = [m["subject"] for m in mails_to(box, stack, email)]
    assert any("turned off" in s for s in subjects)


def test_mfa_codes_are_throttled_per_session(api: Api, box: Container) -> None:
    token, _ = api.signup()
    api.call("POST", "/account/mfa/totp", {"password": PASSWORD}, token=token)
    for _ in range(box.settings.login_free_failures - 1):  # the password took one attempt
        wrong = api.call("POST", "/account/mfa/totp/confirm", {"code": "000000"}, token=token)
        assert wrong.error_code == "invalid_code"
    wrong = api.call("POST", "/account/mfa/totp/confirm", {"code": "000000"}, token=token)
    assert wrong.error_code in ("invalid_code", "too_many_attempts")
    throttled = api.call("POST", "/account/mfa/totp/confirm", {"code": "000000"}, token=token)
    assert (throttled.status, throttled.error_code) == (429, "too_many_attempts")
