"""Sign-up, sign-in and sessions, over in-memory fakes (the throttle: ``test_throttle.py``)."""

from __future__ import annotations

from datetime import timedelta

import pytest

from chalicelib.adapters.memory import InMemoryRepository, PlainHasher
from chalicelib.domain.account import AccountChange, AccountStatus
from chalicelib.domain.errors import (
    Conflict,
    Forbidden,
    InvalidInput,
    NotAuthenticated,
)
from chalicelib.wiring import Container

PASSWORD = "correct horse battery staple"


def signup(box: Container, email: str = "ada@example.com", **extra: str):
    fields = {
        "password": PASSWORD,
        "name": "Ada",
        "country": "FR",
        "phone": None,
        "locale": "en",
        "ip": "10.0.0.1",
        **extra,
    }
    return box.auth.signup(email=email, **fields)  # type: ignore[arg-type]


def test_signup_starts_a_trial_with_a_working_session(memory_box: Container) -> None:
    signed = signup(memory_box, email="  Ada@Example.COM ", phone="06 12 34 56 78")
    assert signed.account.email == "ada@example.com"
    assert signed.account.status is AccountStatus.TRIAL
    assert signed.account.phone == "+33612345678"
    assert signed.account.trial_ends_at == signed.account.created_at + timedelta(days=14)
    caller = memory_box.auth.authenticate(signed.token, "10.0.0.1")
    assert caller.account.id == signed.account.id


def test_signup_refuses_a_taken_email_whatever_its_case(memory_box: Container) -> None:
    signup(memory_box)
    with pytest.raises(Conflict) as error:
        signup(memory_box, email="ADA@example.com")
    assert error.value.code == "email_taken"


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("email", "not-an-email", "invalid_email"),
        ("country", "XX", "invalid_country"),
        ("phone", "12", "invalid_phone"),
        ("password", "short", "password_length"),
        ("password", "password123", "password_common"),
        ("password", "x" * 129, "password_length"),
    ],
)
def test_signup_rejects_bad_input_and_stores_nothing(
    memory_box: Container, field: str, value: str, message: str
) -> None:
    kwargs = {field: value}
    email = kwargs.pop("email", "ada@example.com")
    with pytest.raises(InvalidInput) as error:
        signup(memory_box, email=email, **kwargs)
    assert message in error.value.fields.values()
    assert isinstance(memory_box.repo, InMemoryRepository)
    assert memory_box.repo.accounts == {}


def test_a_long_password_is_not_accepted_by_its_prefix(memory_box: Container) -> None:
    long_password = "a-long-passphrase-" * 4 + "z"  # 73 characters: bcrypt would truncate at 72
    signup(memory_box, password=long_password)
    with pytest.raises(NotAuthenticated):
        memory_box.auth.login("ada@example.com", long_password[:72], "10.0.0.1")
    assert memory_box.auth.login("ada@example.com", long_password, "10.0.0.1").token


def test_login_gives_a_new_session_and_wrong_password_is_refused(memory_box: Container) -> None:
    first = signup(memory_box)
    second = memory_box.auth.login("ada@example.com", PASSWORD, "10.0.0.2")
    assert second.token != first.token
    with pytest.raises(NotAuthenticated) as error:
        memory_box.auth.login("ada@example.com", "wrong password!", "10.0.0.2")
    assert error.value.code == "invalid_credentials"


def test_unknown_email_gets_the_same_answer_and_the_same_hash_work(memory_box: Container) -> None:
    signup(memory_box)
    hasher = memory_box.hasher
    assert isinstance(hasher, PlainHasher)
    hasher.work = 0
    with pytest.raises(NotAuthenticated) as known:
        memory_box.auth.login("ada@example.com", "wrong password!", "10.0.0.3")
    work_known = hasher.work
    hasher.work = 0
    with pytest.raises(NotAuthenticated) as unknown:
        memory_box.auth.login("nobody@example.com", "wrong password!", "10.0.0.4")
    assert known.value.code == unknown.value.code == "invalid_credentials"
    assert hasher.work == work_known == 1


def test_cancelled_account_is_told_only_after_the_right_password(memory_box: Container) -> None:
    signed = signup(memory_box)
    account = signed.account
    memory_box.repo.commit(
        AccountChange(
            account=account.evolve(status=AccountStatus.CANCELLED), expected_version=account.version
        )
    )
    with pytest.raises(NotAuthenticated):
        memory_box.auth.login("ada@example.com", "wrong password!", "10.0.0.1")
    with pytest.raises(Forbidden) as error:
        memory_box.auth.login("ada@example.com", PASSWORD, "10.0.0.1")
    assert error.value.code == "account_cancelled"
    assert error.value.extra == {
        "reactivation": {"url": "/reactivate", "kind": "trial", "request_open": False}
    }


@pytest.mark.parametrize("token", [None, "", "garbage", "a" * 32 + ".short", "x" * 200])
def test_malformed_tokens_are_not_authenticated(memory_box: Container, token: str | None) -> None:
    with pytest.raises(NotAuthenticated):
        memory_box.auth.authenticate(token, "10.0.0.1")


def test_sessions_expire_when_idle_and_absolutely(memory_box: Container) -> None:
    s = memory_box.settings
    clock = memory_box.clock
    token = signup(memory_box).token
    clock.advance(seconds=s.session_idle_seconds - 60)  # type: ignore[attr-defined]
    memory_box.auth.authenticate(token, "10.0.0.1")  # activity keeps it alive
    clock.advance(seconds=s.session_idle_seconds - 60)  # type: ignore[attr-defined]
    memory_box.auth.authenticate(token, "10.0.0.1")
    clock.advance(seconds=s.session_idle_seconds + 1)  # type: ignore[attr-defined]
    with pytest.raises(NotAuthenticated):
        memory_box.auth.authenticate(token, "10.0.0.1")

    token = memory_box.auth.login("ada@example.com", PASSWORD, "10.0.0.1").token
    for _ in range(s.session_absolute_seconds // (s.session_idle_seconds // 2)):
        memory_box.auth.authenticate(token, "10.0.0.1")
        clock.advance(seconds=s.session_idle_seconds // 2)  # type: ignore[attr-defined]
    with pytest.raises(NotAuthenticated):
        memory_box.auth.authenticate(token, "10.0.0.1")


def test_logout_ends_only_that_session(memory_box: Container) -> None:
    first = signup(memory_box)
    second = memory_box.auth.login("ada@example.com", PASSWORD, "10.0.0.1")
    memory_box.auth.logout(memory_box.auth.authenticate(first.token, "10.0.0.1"))
    with pytest.raises(NotAuthenticated):
        memory_box.auth.authenticate(first.token, "10.0.0.1")
    assert memory_box.auth.authenticate(second.token, "10.0.0.1")


def test_sign_in_upgrades_a_hash_below_policy(memory_box: Container) -> None:
    signed = signup(memory_box)
    repo = memory_box.repo
    assert isinstance(repo, InMemoryRepository)
    weak = signed.account.evolve(password_hash="legacy$" + PASSWORD)
    repo.accounts[weak.id] = weak

    class Legacy(PlainHasher):
        def verify(self, stored_hash: str, password: str) -> bool:
            return stored_hash in (f"legacy${password}", f"plain${password}")

    memory_box.hasher = Legacy()
    memory_box.__dict__.pop("auth", None)
    memory_box.auth.login("ada@example.com", PASSWORD, "10.0.0.1")
    assert repo.accounts[weak.id].password_hash == f"plain${PASSWORD}"
