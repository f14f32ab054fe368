"""Account security over the in-memory fakes: the verification mail of a sign-up, the forgot
password work for known and unknown emails (requests counted), tokens, the TOTP rules and the
user-agent names (issue 16)."""

from __future__ import annotations

from datetime import timedelta

import pytest

from chalicelib.adapters.memory import InMemoryRepository, PlainHasher
from chalicelib.domain.account import MailStatus, TokenPurpose
from chalicelib.domain.agents import describe_agent
from chalicelib.domain.errors import InvalidInput
from chalicelib.domain.mfa import (
    accepted_step,
    new_recovery_codes,
    new_secret,
    spend_recovery_code,
)
from chalicelib.wiring import Container
from tests.helpers import PASSWORD

IP = "10.0.0.1"


def repo_of(box: Container) -> InMemoryRepository:
    assert isinstance(box.repo, InMemoryRepository)
    return box.repo


def signup(box: Container, email: str = "ada@example.com") -> str:
    return box.auth.signup(
        email=email, password=PASSWORD, name="Ada", country="FR", phone=None, locale="fr", ip=IP
    ).account.id


def link_token(box: Container, template: str) -> str:
    mails = [m for m in repo_of(box).mail.values() if m.template == template]
    return mails[-1].params["link"].split("token=", 1)[1]


def test_sign_up_stores_only_the_hash_of_the_mailed_verification_token(
    memory_box: Container,
) -> None:
    account_id = signup(memory_box)
    repo = repo_of(memory_box)
    (mail,) = repo.mail.values()
    assert (mail.template, mail.to, mail.locale) == ("verify_email", "ada@example.com", "fr")
    token = link_token(memory_box, "verify_email")
    stored = repo.tokens[(account_id, TokenPurpose.VERIFY)]
    assert token.split(".", 1)[1] not in stored.token_hash and len(stored.token_hash) == 64
    assert memory_box.security.verify_email(token, IP).email_verified
    with pytest.raises(InvalidInput) as used:
        memory_box.security.verify_email(token, IP)
    assert used.value.code == "invalid_token"


def test_forgot_does_the_same_requests_and_writes_for_unknown_emails(
    memory_box: Container,
) -> None:
    signup(memory_box)
    repo = repo_of(memory_box)
    hasher = memory_box.hasher
    assert isinstance(hasher, PlainHasher)
    work = []
    for email in ("ada@example.com", "nobody@example.com"):
        before = (repo.requests, len(repo.mail), hasher.work)
        memory_box.security.forgot_password(email, IP)
        work.append(
            (repo.requests - before[0], len(repo.mail) - before[1], hasher.work - before[2])
        )
    assert work[0] == work[1] == (4, 1, 0)
    statuses = sorted(m.status.value for m in repo.mail.values() if m.template == "password_reset")
    assert statuses == [MailStatus.DISCARDED.value, MailStatus.PENDING.value]
    (discarded,) = [m for m in repo.mail.values() if m.status is MailStatus.DISCARDED]
    assert discarded.to == "" and discarded.next_attempt_at is None  # never sent


def test_a_reset_token_dies_with_a_password_change(memory_box: Container) -> None:
    signed = memory_box.auth.signup(
        email="ada@example.com",
        password=PASSWORD,
        name="A",
        country="FR",
        phone=None,
        locale="en",
        ip=IP,
    )
    memory_box.security.forgot_password("ada@example.com", IP)
    token = link_token(memory_box, "password_reset")
    caller = memory_box.auth.authenticate(signed.token, IP)
    memory_box.profile.change_password(
        caller, PASSWORD, "another pass phrase", "another pass phrase"
    )
    with pytest.raises(InvalidInput) as refused:
        memory_box.security.reset_password(token, "third pass phrase", "third pass phrase", IP)
    assert refused.value.code == "invalid_token"


def test_a_totp_code_is_accepted_once_within_one_step_of_now(memory_box: Container) -> None:
    import pyotp

    secret = new_secret()
    now = memory_box.clock.now()
    code = pyotp.TOTP(secret).at(now)
    step = accepted_step(secret, code, now, 0)
    assert step == int(now.timestamp()) // 30
    assert accepted_step(secret, code, now, step) is None  # no replay
    assert accepted_step(secret, code, now + timedelta(seconds=30), 0) == step  # drift
    assert accepted_step(secret, code, now + timedelta(seconds=90), 0) is None  # too old
    assert accepted_step(secret, "12345", now, 0) is None
    assert accepted_step(secret, "abcdef", now, 0) is None


def test_recovery_codes_are_hashed_and_single_use() -> None:
    codes, hashes = new_recovery_codes()
    assert len(codes) == len(set(codes)) == 10
    assert not set(codes) & set(hashes)
    kept = spend_recovery_code(hashes, codes[3].upper().replace("-", " "))
    assert kept is not None and len(kept) == 9
    assert spend_recovery_code(kept, codes[3]) is None
    assert spend_recovery_code(hashes, "123456") is None


@pytest.mark.parametrize(
    ("agent", "name"),
    [
        (
            "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
            "Chrome/131.0.0.0 Safari/537.36 Edg/131.0.2903.70",
            "Edge 131 · Windows",
        ),
        (
            "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 "
            "(KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1",
            "Safari 17 · iOS",
        ),
        (
            "Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0",
            "Firefox 133 · Linux",
        ),
        ("curl/8.5.0", "curl"),
        ("", ""),
    ],
)
def test_the_browser_is_named_from_the_user_agent(agent: str, name: str) -> None:
    assert describe_agent(agent) == name
