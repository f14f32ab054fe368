"""Sign-in under attack (AU4, AU5): the throttle, and no account enumeration.

Hash work is counted, never timed: argon2-cffi's ``PasswordHasher.hash`` and ``verify`` are
wrapped, so every argon2 computation the service does (through ``verify``, ``burn``, ``hash``)
is seen whatever the adapter's method names.
"""

from __future__ import annotations

from collections import Counter
from datetime import timedelta
from typing import Any

import argon2
import pytest

from tests.conftest import unique_email
from tests.helpers import PASSWORD, Api


@pytest.fixture
def argon2_work(monkeypatch: pytest.MonkeyPatch) -> Counter[str]:
    counts: Counter[str] = Counter()
    for name in ("hash", "verify"):
        original = getattr(argon2.PasswordHasher, name)

        def counted(self: Any, *args: Any, _name: str = name, _f: Any = original) -> Any:
            counts[_name] += 1
            return _f(self, *args)

        monkeypatch.setattr(argon2.PasswordHasher, name, counted)
    return counts


def work_of(counts: Counter[str], api: Api, path: str, body: dict[str, str]) -> tuple[Any, ...]:
    counts.clear()
    answer = api.call("POST", path, body)
    return answer.status, answer.json, dict(counts)


@pytest.mark.parametrize("path", ["/login", "/account/reactivate"])
def test_unknown_emails_do_the_same_hash_work_and_get_the_same_answer(
    path: str, api: Api, box: Any, argon2_work: Counter[str]
) -> None:
    box.clock.advance(days=400)  # fresh throttle windows, whatever ran before
    known = unique_email()
    api.signup(known)
    api.call("POST", "/login", {"email": unique_email(), "password": "warm-up"})  # dummy hash
    wrong = work_of(argon2_work, api, path, {"email": known, "password": "not the password"})
    unknown = work_of(argon2_work, api, path, {"email": unique_email(), "password": "not it"})
    assert wrong[0] == unknown[0] == 401
    assert wrong[1] == unknown[1]
    assert wrong[2] == unknown[2] == {"verify": 1}, (wrong[2], unknown[2])


def test_failed_sign_ins_are_throttled_per_account_with_retry_after(api: Api, box: Any) -> None:
    box.clock.advance(days=800)
    email = unique_email()
    api.signup(email)
    for _ in range(box.settings.login_max_failures_per_account):
        assert api.call("POST", "/login", {"email": email, "password": "wrong!"}).status == 401
    for password in ("wrong!", PASSWORD):  # the right password too, while throttled
        answer = api.call("POST", "/login", {"email": email, "password": password})
        assert (answer.status, answer.error_code) == (429, "too_many_attempts")
        assert 0 < int(answer.headers["Retry-After"]) <= box.settings.login_window_seconds
    unknown = unique_email()
    for _ in range(box.settings.login_max_failures_per_account):
        api.call("POST", "/login", {"email": unknown, "password": "wrong!"})
    same = api.call("POST", "/login", {"email": unknown, "password": "wrong!"})
    assert same.status == 429  # unknown emails are throttled alike (no enumeration)
    box.clock.advance(seconds=box.settings.login_window_seconds)
    assert api.call("POST", "/login", {"email": email, "password": PASSWORD}).status == 200


def test_failed_sign_ins_are_throttled_per_source_address(api: Api, box: Any) -> None:
    box.clock.set(box.clock.now() + timedelta(days=1200))
    limit = box.settings.login_max_failures_per_address
    for _ in range(limit):
        api.call("POST", "/login", {"email": unique_email(), "password": "guess"})
    answer = api.call("POST", "/login", {"email": unique_email(), "password": "guess"})
    assert (answer.status, answer.error_code) == (429, "too_many_attempts")
    assert int(answer.headers["Retry-After"]) > 0
    box.clock.advance(seconds=box.settings.login_window_seconds)
