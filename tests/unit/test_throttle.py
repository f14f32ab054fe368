"""The throttle of every password check (AU4, AU9), over the in-memory repository.

The policy's arithmetic is checked on its own; the service's behaviour with the FixedClock
(delays grow and cap, the owner's trusted device gets in, the lockout mail once per episode,
the signed-in routes that ask for the password again); and the race: 25 threads guessing at
once on one account, each reservation going through the repository's lock like DynamoDB's
conditional writes, cause at most 5 hash verifications.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from msgspec.structs import replace

from chalicelib.adapters.memory import InMemoryRepository, PlainHasher
from chalicelib.domain.account import Caller
from chalicelib.domain.errors import NotAuthenticated, Throttled
from chalicelib.domain.throttle import BackoffPolicy, Bucket, BucketKind, ThrottleState
from chalicelib.services.auth import SignedIn
from chalicelib.services.profile import ProfileChanges
from chalicelib.wiring import Container

PASSWORD = "correct horse battery staple"
WRONG = "not the password at all"
IP = "10.1.2.3"


def repo_of(box: Container) -> InMemoryRepository:
    assert isinstance(box.repo, InMemoryRepository)
    return box.repo


def signup(box: Container, email: str = "ada@example.com") -> SignedIn:
    return box.auth.signup(
        email=email, password=PASSWORD, name="Ada", country="FR", phone=None, locale="fr", ip=IP
    )


def caller_of(box: Container, token: str) -> Caller:
    return box.auth.authenticate(token, IP)


def fail(box: Container, email: str = "ada@example.com", ip: str = IP, **kw: Any) -> Exception:
    """One wrong sign-in; the error it raised (401 or 429)."""
    with pytest.raises((NotAuthenticated, Throttled)) as error:
        box.auth.login(email, WRONG, ip, **kw)
    return error.value


def throttle_mails(box: Container) -> list[Any]:
    return [m for m in repo_of(box).mail.values() if m.template == "sign_in_throttled"]


def advance(box: Container, seconds: float) -> None:
    box.clock.advance(seconds=seconds)  # type: ignore[attr-defined]


# --- the policy -------------------------------------------------------------------------------
def test_delays_start_after_the_free_attempts_then_double_up_to_the_cap() -> None:
    policy = BackoffPolicy(free=5, base_seconds=1, cap_seconds=900)
    assert [policy.delay_seconds(n) for n in range(5)] == [0] * 5
    assert [policy.delay_seconds(n) for n in range(5, 12)] == [1, 2, 4, 8, 16, 32, 64]
    assert policy.delay_seconds(15) == 900 and policy.delay_seconds(10_000) == 900
    now = datetime(2026, 11, 26, tzinfo=UTC)
    bucket = Bucket(BucketKind.ACCOUNT, "k")
    with pytest.raises(Throttled) as error:
        policy.reserve(bucket, ThrottleState(7, now - timedelta(seconds=1)), now)
    assert error.value.retry_after == 3
    taken = policy.reserve(bucket, ThrottleState(7, now - timedelta(seconds=4)), now)
    assert (taken.expected, taken.number) == (7, 8)
    assert policy.starts_episode(replace(taken, expected=4)) and not policy.starts_episode(taken)


# --- sign-in ----------------------------------------------------------------------------------
def test_failures_slow_the_account_down_progressively_and_never_lock_it(
    memory_box: Container,
) -> None:
    signup(memory_box)
    free = memory_box.settings.login_free_failures
    for _ in range(free):
        assert isinstance(fail(memory_box), NotAuthenticated)
    waits = []
    for _ in range(14):
        throttled = fail(memory_box)
        assert isinstance(throttled, Throttled)
        assert throttled.headers["Retry-After"] == str(throttled.retry_after)
        waits.append(throttled.retry_after)
        advance(memory_box, throttled.retry_after)
        assert isinstance(fail(memory_box), NotAuthenticated)  # checked once the delay ran
    assert waits[:6] == [1, 2, 4, 8, 16, 32]
    assert max(waits) == waits[-1] == memory_box.settings.login_delay_cap_seconds  # capped
    # the right password after the delay: in, and the account's count starts again
    advance(memory_box, memory_box.settings.login_delay_cap_seconds)
    assert memory_box.auth.login("ada@example.com", PASSWORD, IP).token
    assert isinstance(fail(memory_box), NotAuthenticated)


def test_the_owner_gets_in_from_a_trusted_device_while_an_attacker_is_throttled(
    memory_box: Container,
) -> None:
    signup(memory_box)
    device = memory_box.auth.login("ada@example.com", PASSWORD, IP).device_token
    assert device
    stored = repo_of(memory_box).devices
    assert [d.token_hash for d in stored.values()] != [device]  # only its hash is kept
    for _ in range(30):  # an attacker elsewhere, on the account bucket
        fail(memory_box, ip="10.66.66.66")
    assert isinstance(fail(memory_box, ip="10.66.66.66"), Throttled)
    with pytest.raises(Throttled):  # the right password from a new device waits too
        memory_box.auth.login("ada@example.com", PASSWORD, "10.7.7.7")
    again = memory_box.auth.login("ada@example.com", PASSWORD, "10.7.7.7", device_token=device)
    assert again.token and again.device_token == device  # the same device, refreshed
    # a device token of another account gives no special treatment
    signup(memory_box, "eve@example.com")
    eve_device = memory_box.auth.login("eve@example.com", PASSWORD, IP).device_token
    with pytest.raises(Throttled):
        memory_box.auth.login("ada@example.com", PASSWORD, "10.7.7.7", device_token=eve_device)


def test_a_trusted_device_has_its_own_more_lenient_bucket(memory_box: Container) -> None:
    signup(memory_box)
    device = memory_box.auth.login("ada@example.com", PASSWORD, IP).device_token
    lenient = memory_box.settings.login_device_free_failures
    assert lenient > memory_box.settings.login_free_failures
    for _ in range(lenient):
        assert isinstance(fail(memory_box, device_token=device), NotAuthenticated)
    assert isinstance(fail(memory_box, device_token=device), Throttled)
    # the device's failures did not touch the account bucket: a new device is not slowed
    assert isinstance(fail(memory_box, ip="10.8.8.8"), NotAuthenticated)
    advance(memory_box, 1)
    assert memory_box.auth.login("ada@example.com", PASSWORD, IP, device_token=device).token


def test_the_owner_is_mailed_once_per_lockout_episode(memory_box: Container) -> None:
    signup(memory_box)
    free = memory_box.settings.login_free_failures
    for _ in range(free + 6):
        error = fail(memory_box)
        if isinstance(error, Throttled):
            advance(memory_box, error.retry_after)
    mails = throttle_mails(memory_box)
    assert len(mails) == 1
    assert mails[0].to == "ada@example.com" and mails[0].locale == "fr"
    from chalicelib.services.mail import render_mail

    subject, body = render_mail(mails[0])
    assert "mot de passe" in subject and memory_box.settings.console_url in body
    advance(memory_box, 900)
    memory_box.auth.login("ada@example.com", PASSWORD, IP)  # the episode ends
    for _ in range(free):
        fail(memory_box)
    assert len(throttle_mails(memory_box)) == 2
    # unknown emails are throttled alike, and nobody is mailed
    for _ in range(free + 1):
        last = fail(memory_box, "nobody@example.com")
    assert isinstance(last, Throttled)
    assert len(throttle_mails(memory_box)) == 2


def test_the_per_address_limit_counts_failures_and_spares_trusted_devices(
    memory_box: Container,
) -> None:
    limit = memory_box.settings.login_max_failures_per_address
    signup(memory_box)
    device = memory_box.auth.login("ada@example.com", PASSWORD, "10.9.9.9").device_token
    for _ in range(3):  # successes give their attempt back
        memory_box.auth.login("ada@example.com", PASSWORD, "10.9.9.9")
    for i in range(limit):
        assert isinstance(fail(memory_box, f"nobody{i}@example.com", "10.9.9.9"), NotAuthenticated)
    throttled = fail(memory_box, "someone@example.com", "10.9.9.9")
    assert isinstance(throttled, Throttled) and throttled.retry_after <= 3600
    assert memory_box.auth.login("ada@example.com", PASSWORD, "10.9.9.9", device_token=device)


def test_loopback_is_exempt_from_the_address_limit_on_the_local_stage_only(
    memory_box: Container,
) -> None:
    assert memory_box.settings.stage == "local"
    limit = memory_box.settings.login_max_failures_per_address
    for i in range(limit + 5):
        assert isinstance(fail(memory_box, f"bot{i}@example.com", "127.0.0.1"), NotAuthenticated)
    signup(memory_box)
    assert memory_box.auth.login("ada@example.com", PASSWORD, "127.0.0.1").token
    memory_box.settings = replace(memory_box.settings, stage="prod")
    memory_box.__dict__.pop("auth", None)
    for i in range(limit):
        fail(memory_box, f"bot{i}@example.org", "127.0.0.1")
    assert isinstance(fail(memory_box, "other@example.com", "127.0.0.1"), Throttled)


class SlowCountingHasher(PlainHasher):
    """Verifications are counted (thread-safe) and take a while, so parallel attempts really
    overlap between their throttle read and their hash work."""

    def __init__(self) -> None:
        super().__init__()
        self.verified = 0
        self._count = threading.Lock()

    def verify(self, stored_hash: str, password: str) -> bool:
        with self._count:
            self.verified += 1
        threading.Event().wait(0.02)
        return super().verify(stored_hash, password)

    def burn(self, password: str) -> None:
        with self._count:
            self.verified += 1


def in_parallel(n: int, attempt: Callable[[], object]) -> list[str]:
    """Run ``attempt`` n times at once; the kind of each outcome."""
    start = threading.Barrier(n)

    def one(_: int) -> str:
        start.wait()
        try:
            attempt()
        except (NotAuthenticated, Throttled) as error:
            return type(error).__name__
        return "ok"

    with ThreadPoolExecutor(n) as pool:
        return list(pool.map(one, range(n)))


def with_latency(box: Container, monkeypatch: pytest.MonkeyPatch) -> SlowCountingHasher:
    """A slow hasher, and reads that take a while to come back (as over the network), so
    that every attempt reads the throttle state before any other one reserves: only the
    repository's conditional reservation keeps the count."""
    hasher = SlowCountingHasher()
    box.hasher = hasher
    for name in ("auth", "profile", "lifecycle"):
        box.__dict__.pop(name, None)
    repo = repo_of(box)
    for method in ("login_lookup", "get_session"):
        original = getattr(repo, method)

        def late(*args: Any, _read: Any = original) -> Any:
            answer = _read(*args)
            threading.Event().wait(0.05)
            return answer

        monkeypatch.setattr(repo, method, late)
    return hasher


def test_25_parallel_wrong_passwords_are_checked_at_most_5_times(
    memory_box: Container, monkeypatch: pytest.MonkeyPatch
) -> None:
    signup(memory_box)
    hasher = with_latency(memory_box, monkeypatch)
    outcomes = in_parallel(25, lambda: memory_box.auth.login("ada@example.com", WRONG, IP))
    assert 1 <= hasher.verified <= memory_box.settings.login_free_failures, outcomes
    assert outcomes.count("NotAuthenticated") == hasher.verified
    assert outcomes.count("Throttled") == 25 - hasher.verified


# --- signed-in routes that ask for the password again -----------------------------------------
def guesses(box: Container) -> dict[str, Callable[[Caller, str], object]]:
    return {
        "password": lambda c, pw: box.profile.change_password(
            c, pw, "a new passphrase", "a new passphrase"
        ),
        "email": lambda c, pw: box.profile.update_profile(
            c, ProfileChanges(email="new@example.com", current_password=pw)
        ),
        "cancel": lambda c, pw: box.lifecycle.cancel(c, pw),
    }


@pytest.mark.parametrize("route", ["password", "email", "cancel"])
def test_routes_that_check_the_current_password_are_throttled_per_session(
    memory_box: Container, route: str
) -> None:
    token = signup(memory_box).token
    other = memory_box.auth.login("ada@example.com", PASSWORD, IP).token
    change = guesses(memory_box)[route]
    free = memory_box.settings.login_free_failures
    for _ in range(free):
        with pytest.raises(NotAuthenticated) as wrong:
            change(caller_of(memory_box, token), WRONG)
        assert wrong.value.code == "invalid_password"
    for password in (WRONG, PASSWORD):  # even the right one waits on this session
        with pytest.raises(Throttled) as throttled:
            change(caller_of(memory_box, token), password)
        assert throttled.value.retry_after == 1
    assert len(throttle_mails(memory_box)) == 1  # once
    # the owner's other session has its own bucket: the change goes through there
    change(caller_of(memory_box, other), PASSWORD)


def test_a_confirmed_password_clears_the_session_bucket(memory_box: Container) -> None:
    token = signup(memory_box).token
    for _ in range(3):
        with pytest.raises(NotAuthenticated):
            memory_box.profile.change_password(
                caller_of(memory_box, token), WRONG, "x" * 12, "x" * 12
            )
    assert caller_of(memory_box, token).session.reauth.failures == 3
    memory_box.profile.change_password(
        caller_of(memory_box, token), PASSWORD, "a new passphrase", "a new passphrase"
    )
    assert caller_of(memory_box, token).session.reauth == ThrottleState()


def test_parallel_current_password_guesses_are_checked_at_most_5_times(
    memory_box: Container, monkeypatch: pytest.MonkeyPatch
) -> None:
    token = signup(memory_box).token
    hasher = with_latency(memory_box, monkeypatch)
    outcomes = in_parallel(
        25,
        lambda: memory_box.profile.change_password(
            caller_of(memory_box, token), WRONG, "a new passphrase", "a new passphrase"
        ),
    )
    assert 1 <= hasher.verified <= memory_box.settings.login_free_failures, outcomes
    assert outcomes.count("Throttled") == 25 - hasher.verified


# --- emails are one account whatever way they are typed ----------------------------------------
def test_a_fullwidth_or_differently_cased_email_is_the_same_account(memory_box: Container) -> None:
    from chalicelib.domain.errors import Conflict

    signed = signup(memory_box, "paid@example.com")
    for variant in ("\uff50aid@example.com", "PAID@EXAMPLE.COM", "paid\uff20example.com"):
        with pytest.raises(Conflict):
            signup(memory_box, variant)
        assert memory_box.auth.login(variant, PASSWORD, IP).account.id == signed.account.id
    other = signup(memory_box, "other@example.com")
    with pytest.raises(Conflict):
        memory_box.profile.update_profile(
            caller_of(memory_box, other.token),
            ProfileChanges(email="\uff30AID@example.com", current_password=PASSWORD),
        )
    assert set(repo_of(memory_box).emails) == {"paid@example.com", "other@example.com"}


def test_reactivation_finds_the_account_by_its_normalised_email(memory_box: Container) -> None:
    signed = signup(memory_box, "paid@example.com")
    memory_box.lifecycle.cancel(caller_of(memory_box, signed.token), PASSWORD)
    back = memory_box.lifecycle.reactivate("\uff50aid@example.com", PASSWORD, IP)
    assert back.signed_in is not None and back.signed_in.account.id == signed.account.id


@pytest.mark.parametrize(
    "typed",
    [
        "Paid@Example.COM",
        " paid@example.com ",
        "\uff50aid@example.com",
        "paid\uff20example.com",
        "\uff30\uff21\uff29\uff24@\uff45xample.com",
        "Zoë@Exämple.com",
        "o'brien+tag@example.co.uk",
    ],
)
def test_the_sign_in_lookup_key_is_the_stored_form(typed: str) -> None:
    from chalicelib.domain.contact import email_lookup_key, normalize_email

    assert email_lookup_key(typed) == normalize_email(typed)
