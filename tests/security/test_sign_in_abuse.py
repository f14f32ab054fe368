"""Sign-in under attack (AU4, AU5, AU9): the throttle, trusted devices, no account enumeration.

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
from msgspec.structs import replace

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


def login(api: Api, email: str, password: str, device_token: str | None = None) -> Any:
    body = {"email": email, "password": password}
    if device_token:
        body["device_token"] = device_token
    return api.call("POST", "/login", body)


def test_failed_sign_ins_are_slowed_down_per_account_with_retry_after(api: Api, box: Any) -> None:
    box.clock.advance(days=800)
    email = unique_email()
    api.signup(email)
    for _ in range(box.settings.login_free_failures):
        assert login(api, email, "wrong!").status == 401
    for password in ("wrong!", PASSWORD):  # the right password too, from a new device
        answer = login(api, email, password)
        assert (answer.status, answer.error_code) == (429, "too_many_attempts")
        assert answer.headers["Retry-After"] == "1"
    box.clock.advance(seconds=1)
    assert login(api, email, "wrong!").status == 401
    answer = login(api, email, PASSWORD)
    assert answer.headers["Retry-After"] == "2"  # doubling
    unknown = unique_email()
    for _ in range(box.settings.login_free_failures):
        login(api, unknown, "wrong!")
    assert login(api, unknown, "wrong!").status == 429  # unknown emails alike (no enumeration)
    box.clock.advance(seconds=2)
    assert login(api, email, PASSWORD).status == 200


def test_the_owner_gets_in_from_a_trusted_device_while_an_attacker_is_throttled(
    api: Api, box: Any
) -> None:
    box.clock.advance(days=900)
    email = unique_email()
    _, account = api.signup(email)
    first = login(api, email, PASSWORD)
    device = first.json["device_token"]
    assert first.status == 200 and device and device != first.json["token"]
    for _ in range(12):  # the attacker, without the device token
        login(api, email, "guess")
    assert login(api, email, PASSWORD).status == 429
    owner = login(api, email, PASSWORD, device)
    assert owner.status == 200, owner.json
    assert owner.json["device_token"] == device
    assert login(api, email, PASSWORD, "forged." + "x" * 40).status == 429  # no such device
    # one notice for the episode, committed with its audit event
    events = [e.event for e in box.repo.audit_events(account["id"])]
    assert events.count("password_attempts_throttled") == 1
    notices = [
        m
        for m in box.repo.due_mail(box.clock.now(), 1000)
        if m.account_id == account["id"] and m.template == "sign_in_throttled"
    ]
    assert len(notices) == 1 and notices[0].to == email


def test_the_per_address_limit_counts_failures_only_and_spares_trusted_devices(
    api: Api, box: Any
) -> None:
    box.clock.set(box.clock.now() + timedelta(days=1200))
    box.settings = replace(box.settings, login_max_failures_per_address=8)
    box.__dict__.pop("auth", None)
    email = unique_email()
    api.signup(email)
    device = login(api, email, PASSWORD).json["device_token"]
    for _ in range(3):
        assert login(api, email, PASSWORD).status == 200  # successes give their attempt back
    for _ in range(8):
        assert login(api, unique_email(), "guess").status == 401
    answer = login(api, unique_email(), "guess")
    assert (answer.status, answer.error_code) == (429, "too_many_attempts")
    assert 0 < int(answer.headers["Retry-After"]) <= box.settings.login_address_window_seconds
    assert login(api, email, PASSWORD).status == 429  # from a new device: the address is slowed
    assert login(api, email, PASSWORD, device).status == 200


def test_parallel_guesses_that_all_read_the_same_state_are_checked_once_on_dynamodb(
    api: Api, box: Any, argon2_work: Counter[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The worst interleaving, made deterministic: 25 attempts that all read the bucket
    before any of them reserved (their reads all answer the first state).  The reservation
    is DynamoDB's conditional write, so one wins and 24 answer 429 without hashing.  (Real
    threads against the embedded moto would prove nothing until its requests are
    serialized: moto's conditional writes are not atomic across threads; the threaded proof
    runs on the in-memory repository, tests/unit/test_throttle.py.)"""
    box.clock.advance(days=1300)
    email = unique_email()
    api.signup(email)
    repo = box.repo
    first = repo.login_lookup
    seen: list[Any] = []

    def stale(*args: Any) -> Any:
        if not seen:
            seen.append(first(*args))
        return seen[0]

    monkeypatch.setattr(repo, "login_lookup", stale)
    argon2_work.clear()
    statuses = Counter(login(api, email, "wrong guess").status for _ in range(25))
    assert statuses == {401: 1, 429: 24}
    assert argon2_work["verify"] == 1
