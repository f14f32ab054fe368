"""OWASP ASVS 5.0 lines of issue 16, each test named by the requirement it shows (AU7, SE7):

* V6.4 Authentication factor lifecycle and recovery: 6.4.1 (recovery tokens are random,
  short-lived and single-use), 6.4.2 (no hint: the forgot-password answer and its work are
  the same for every email; argon2 work counted, never timed);
* V6.5/V6.6 Multi-factor authentication (the brief's "6.6 MFA"): a TOTP code is accepted
  once (no replay, 6.5.1), recovery codes are single-use and stored hashed (6.5.2), codes are
  throttled (6.5.x / AU8), the second factor cannot be skipped by password recovery (6.4.3:
  a reset leaves it on), and turning it off needs the password and a code;
* V7.4 Session termination: 7.4.1 (an ended session is refused server-side), 7.4.3 (after a
  password reset every session ends; after a change the others end);
* V7.5 Defenses against session abuse: 7.5.1 (changing the email address or the password asks
  for the current password again, and a wrong one changes nothing), 7.5.2 (the customer sees
  their sessions and ends any or all of them; another account's session is out of reach).

The routes' own behaviour is tested in ``tests/integration/test_http_account_security.py``;
these tests look at it as an attacker would.
"""

from __future__ import annotations

import json
import re
import secrets
import urllib.request
from collections import Counter
from typing import Any

import argon2
import pytest

from chalicelib.jobs.run import run_job
from tests.conftest import unique_email
from tests.helpers import PASSWORD, Api

NEW = "a brand new pass phrase"


@pytest.fixture
def api(client: Any) -> Api:
    return Api(client)


def reset_token(box: Any, stack: Any, email: str) -> str:
    run_job("outbox", box=box)
    with urllib.request.urlopen(f"{stack.aws_url}/moto-api/data.json") as answer:
        messages = json.load(answer)["ses"]["Message"]
    bodies = [m["body"] for m in messages if email in m["destinations"]["ToAddresses"]]
    found = [re.search(r"#/reset-password\?token=([A-Za-z0-9_.\-]+)", b) for b in bodies]
    tokens = [f.group(1) for f in found if f]
    assert tokens
    return tokens[-1]


def reset(api: Api, token: str, password: str = NEW) -> Any:
    body = {"token": token, "new_password": password, "confirm_password": password}
    return api.call("POST", "/password/reset", body)


def test_asvs_6_4_1_recovery_tokens_are_random_single_use_and_short_lived(
    api: Api, box: Any, stack: Any
) -> None:
    email = unique_email()
    _, account = api.signup(email)
    tokens = set()
    for _ in range(3):
        api.call("POST", "/password/forgot", {"email": email})
        tokens.add(reset_token(box, stack, email))
    assert len(tokens) == 3
    for token in tokens:
        secret = token.split(".", 1)[1]
        assert token.startswith(account["id"] + ".") and len(secret) >= 43  # >= 256 bits
    newest = reset_token(box, stack, email)
    guessed = f"{account['id']}.{secrets.token_urlsafe(32)}"
    assert reset(api, guessed).error_code == "invalid_token"
    box.clock.advance(seconds=3599)
    assert reset(api, newest).status == 204  # within the hour
    assert reset(api, newest, "another pass phrase").error_code == "invalid_token"  # once
    api.call("POST", "/password/forgot", {"email": email})
    late = reset_token(box, stack, email)
    box.clock.advance(seconds=3600)
    assert reset(api, late, "another pass phrase").error_code == "invalid_token"  # 1 h


def test_asvs_6_4_2_forgot_password_gives_no_hint_whether_an_email_exists(
    api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    counts: Counter[str] = Counter()
    for name in ("hash", "verify"):
        original = getattr(argon2.PasswordHasher, name)

        def counted(self: Any, *args: Any, _name: str = name, _f: Any = original) -> Any:
            counts[_name] += 1
            return _f(self, *args)

        monkeypatch.setattr(argon2.PasswordHasher, name, counted)
    known = unique_email()
    api.signup(known)
    answers = []
    for email in (known, unique_email("nobody"), "not an address"):
        counts.clear()
        answer = api.call("POST", "/password/forgot", {"email": email})
        answers.append((answer.status, answer.raw, dict(counts)))
    assert answers[0] == answers[1] == answers[2] == (202, answers[0][1], {})


def test_asvs_7_4_1_and_7_4_3_a_reset_ends_every_session_a_change_every_other(
    api: Api, box: Any, stack: Any
) -> None:
    email = unique_email()
    first, _ = api.signup(email)
    second = api.call("POST", "/login", {"email": email, "password": PASSWORD}).json["token"]
    change = {"current_password": PASSWORD, "new_password": NEW, "confirm_password": NEW}
    assert api.call("POST", "/account/password", change, token=first).status == 204
    assert api.call("GET", "/account", token=first).status == 200
    assert api.call("GET", "/account", token=second).status == 401
    api.call("POST", "/password/forgot", {"email": email})
    assert reset(api, reset_token(box, stack, email), "yet another pass phrase").status == 204
    assert api.call("GET", "/account", token=first).status == 401
    assert api.call("POST", "/logout", token=first).status == 401


def test_asvs_7_5_1_sensitive_changes_ask_for_the_password_again(api: Api) -> None:
    token, account = api.signup()
    email_change = {"email": unique_email("moved"), "current_password": "not my password"}
    refused = api.call("PATCH", "/account/profile", email_change, token=token)
    assert (refused.status, refused.error_code) == (401, "invalid_password")
    missing = api.call("PATCH", "/account/profile", {"email": unique_email()}, token=token)
    assert missing.status == 400
    password = {"current_password": "not my password", "new_password": NEW, "confirm_password": NEW}
    assert api.call("POST", "/account/password", password, token=token).status == 401
    now = api.call("GET", "/account", token=token).json
    assert (now["email"], now["pending_email"]) == (account["email"], None)


def test_asvs_7_5_2_sessions_are_seen_and_ended_and_others_are_out_of_reach(api: Api) -> None:
    email = unique_email()
    mine, _ = api.signup(email)
    other = api.call("POST", "/login", {"email": email, "password": PASSWORD}).json["token"]
    stranger, _ = api.signup()
    listed = api.call("GET", "/account/sessions", token=mine).json["items"]
    assert len(listed) == 2 and sum(i["current"] for i in listed) == 1
    assert all(set(i) >= {"id", "created_at", "last_seen_at", "user_agent"} for i in listed)
    assert all(len(i["id"]) == 32 and i["id"] not in mine + other for i in listed)
    (theirs,) = [i for i in listed if not i["current"]]
    assert api.call("DELETE", f"/account/sessions/{theirs['id']}", token=stranger).status == 404
    assert api.call("GET", "/account", token=other).status == 200
    assert api.call("DELETE", f"/account/sessions/{theirs['id']}", token=mine).status == 204
    assert api.call("GET", "/account", token=other).status == 401


def _turn_on(api: Api, box: Any, token: str) -> tuple[str, list[str]]:
    import pyotp

    secret = api.call("POST", "/account/mfa/totp", {"password": PASSWORD}, token=token).json[
        "secret"
    ]
    code = pyotp.TOTP(secret).at(box.clock.now())
    confirmed = api.call("POST", "/account/mfa/totp/confirm", {"code": code}, token=token)
    assert confirmed.status == 200
    return secret, confirmed.json["recovery_codes"]


def test_asvs_6_5_and_6_6_codes_once_recovery_hashed_and_no_bypass_by_reset(
    api: Api, box: Any, stack: Any
) -> None:
    import pyotp

    email = unique_email()
    token, account = api.signup(email)
    secret, codes = _turn_on(api, box, token)
    stored = box.repo.get_account(account["id"])
    assert stored.mfa_secret == secret and len(stored.recovery_codes) == 10
    assert not set(codes) & set(stored.recovery_codes)  # hashes, not the codes
    box.clock.advance(seconds=30)
    body = {"email": email, "password": PASSWORD, "otp": pyotp.TOTP(secret).at(box.clock.now())}
    assert api.call("POST", "/login", body).status == 200
    assert api.call("POST", "/login", body).error_code == "invalid_code"  # no replay
    api.call("POST", "/password/forgot", {"email": email})
    assert reset(api, reset_token(box, stack, email)).status == 204
    after = api.call("POST", "/login", {"email": email, "password": NEW})
    assert (after.status, after.error_code) == (401, "mfa_required")  # still two factors
    recovery = {"email": email, "password": NEW, "otp": codes[1]}
    assert api.call("POST", "/login", recovery).status == 200
    assert api.call("POST", "/login", recovery).error_code == "invalid_code"  # single use


def test_asvs_6_6_guessing_codes_after_the_password_is_throttled(api: Api, box: Any) -> None:
    email = unique_email()
    token, _ = api.signup(email)
    _turn_on(api, box, token)
    answers = [
        api.call("POST", "/login", {"email": email, "password": PASSWORD, "otp": f"{n:06d}"})
        for n in range(box.settings.login_free_failures + 1)
    ]
    assert {a.error_code for a in answers[:-1]} <= {"invalid_code", "too_many_attempts"}
    assert answers[-1].status == 429
