"""Profile and password changes, over in-memory fakes."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from chalicelib.adapters.memory import InMemoryRepository
from chalicelib.api.views import account_view
from chalicelib.domain.account import Account, Caller
from chalicelib.domain.contact import display_phone, normalize_phone
from chalicelib.domain.errors import Conflict, DomainError, InvalidInput, NotAuthenticated
from chalicelib.services.profile import ProfileChanges
from chalicelib.wiring import Container
from tests.helpers import forget_signup_mail

PASSWORD = "correct horse battery staple"
NEW_PASSWORD = "another long passphrase"


def new_caller(box: Container, email: str = "ada@example.com") -> tuple[Caller, str]:
    signed = box.auth.signup(
        email=email,
        password=PASSWORD,
        name="Ada",
        country="FR",
        phone=None,
        locale="fr",
        ip="10.0.0.1",
    )
    forget_signup_mail(box)
    return box.auth.authenticate(signed.token, "10.0.0.1"), signed.token


def repo_of(box: Container) -> InMemoryRepository:
    assert isinstance(box.repo, InMemoryRepository)
    return box.repo


def test_profile_fields_change_and_phone_is_stored_in_e164(memory_box: Container) -> None:
    caller, _ = new_caller(memory_box)
    updated = memory_box.profile.update_profile(
        caller, ProfileChanges(name=" Ada King ", phone="01 23 45 67 89", locale="en")
    )
    assert (updated.name, updated.phone, updated.locale) == ("Ada King", "+33123456789", "en")
    assert repo_of(memory_box).accounts[updated.id] == updated
    assert updated.version == caller.account.version + 1
    caller = memory_box.auth.authenticate(_token(memory_box, updated.id), "10.0.0.1")
    removed = memory_box.profile.update_profile(caller, ProfileChanges(phone=None))
    assert removed.phone is None


@pytest.mark.parametrize(
    ("e164", "country", "shown"),
    [
        ("+33612345678", "FR", "06 12 34 56 78"),  # the account's own country: national
        ("+33612345678", "DE", "+33 6 12 34 56 78"),  # a number from abroad: international
        ("+442079460958", "GB", "020 7946 0958"),
        ("+12015550123", "US", "(201) 555-0123"),
    ],
)
def test_the_phone_is_shown_as_the_accounts_country_writes_it(
    e164: str, country: str, shown: str
) -> None:
    assert display_phone(e164, country) == shown
    assert normalize_phone(shown, country) == e164  # what is shown reads back the same
    assert account_view(_account(e164, country))["phone_national"] == shown


def _account(phone: str, country: str) -> Account:
    return Account(
        id="acc_1",
        email="ada@example.com",
        name="Ada",
        password_hash="x",
        country=country,
        locale="fr",
        phone=phone,
        created_at=datetime(2026, 1, 1, tzinfo=UTC),
    )


def _token(box: Container, account_id: str) -> str:
    return box.auth.login(repo_of(box).accounts[account_id].email, PASSWORD, "10.0.0.1").token


def test_email_change_needs_the_password_and_tells_the_old_address(memory_box: Container) -> None:
    caller, token = new_caller(memory_box)
    with pytest.raises(InvalidInput) as missing:
        memory_box.profile.update_profile(caller, ProfileChanges(email="new@example.com"))
    assert missing.value.fields == {"current_password": "current_password_required"}
    with pytest.raises(NotAuthenticated) as wrong:
        memory_box.profile.update_profile(
            caller, ProfileChanges(email="new@example.com", current_password="nope nope nope")
        )
    assert wrong.value.code == "invalid_password"
    repo = repo_of(memory_box)
    assert repo.accounts[caller.account.id].email == "ada@example.com"
    assert repo.mail == {}

    caller = memory_box.auth.authenticate(token, "10.0.0.1")  # the next request
    updated = memory_box.profile.update_profile(
        caller, ProfileChanges(email="New@Example.com", current_password=PASSWORD)
    )
    assert (updated.email, updated.pending_email) == ("ada@example.com", "new@example.com")
    assert repo.emails == {"ada@example.com": updated.id}  # not before the proof
    by_template = {m.template: m for m in repo.mail.values()}
    proof, notice = by_template["email_change_verify"], by_template["email_change_requested"]
    assert (proof.to, proof.locale) == ("new@example.com", "fr")
    assert (notice.to, notice.params["new_email"]) == ("ada@example.com", "new@example.com")
    assert "#/email-not-me?token=" in notice.params["link"]
    token = proof.params["link"].split("token=", 1)[1]
    changed = memory_box.security.verify_email(token, "10.0.0.1")
    assert (changed.email, changed.pending_email, changed.email_verified) == (
        "new@example.com",
        None,
        True,
    )
    assert repo.emails == {"new@example.com": updated.id}


def test_email_change_to_a_taken_address_changes_nothing(memory_box: Container) -> None:
    caller, _ = new_caller(memory_box)
    new_caller(memory_box, email="taken@example.com")
    with pytest.raises(Conflict) as error:
        memory_box.profile.update_profile(
            caller, ProfileChanges(email="taken@example.com", current_password=PASSWORD)
        )
    assert error.value.code == "email_taken"
    repo = repo_of(memory_box)
    assert repo.accounts[caller.account.id].email == "ada@example.com"
    assert repo.mail == {}


def test_a_stale_account_version_is_a_conflict(memory_box: Container) -> None:
    caller, _ = new_caller(memory_box)
    memory_box.profile.update_profile(caller, ProfileChanges(name="First"))
    with pytest.raises(Conflict) as error:
        memory_box.profile.update_profile(caller, ProfileChanges(name="Second"))  # stale caller
    assert error.value.code == "conflict"
    assert repo_of(memory_box).accounts[caller.account.id].name == "First"


def test_password_change_ends_other_sessions_and_notifies(memory_box: Container) -> None:
    caller, token = new_caller(memory_box)
    other = memory_box.auth.login("ada@example.com", PASSWORD, "10.0.0.2").token
    memory_box.profile.change_password(caller, PASSWORD, NEW_PASSWORD, NEW_PASSWORD)
    assert memory_box.auth.authenticate(token, "10.0.0.1")  # this session goes on
    with pytest.raises(NotAuthenticated):
        memory_box.auth.authenticate(other, "10.0.0.2")
    with pytest.raises(NotAuthenticated):
        memory_box.auth.login("ada@example.com", PASSWORD, "10.0.0.1")
    assert memory_box.auth.login("ada@example.com", NEW_PASSWORD, "10.0.0.1")
    (mail,) = repo_of(memory_box).mail.values()
    assert (mail.to, mail.template) == ("ada@example.com", "password_changed")


@pytest.mark.parametrize(
    ("current", "new", "confirm", "error_type", "code"),
    [
        ("wrong password", NEW_PASSWORD, NEW_PASSWORD, NotAuthenticated, "invalid_password"),
        (PASSWORD, NEW_PASSWORD, NEW_PASSWORD + "x", InvalidInput, "password_mismatch"),
        (PASSWORD, "short", "short", InvalidInput, "weak_password"),
        (PASSWORD, "qwertyuiop", "qwertyuiop", InvalidInput, "weak_password"),
    ],
)
def test_password_change_refusals_change_nothing(
    memory_box: Container,
    current: str,
    new: str,
    confirm: str,
    error_type: type[DomainError],
    code: str,
) -> None:
    caller, _ = new_caller(memory_box)
    before = repo_of(memory_box).accounts[caller.account.id]
    with pytest.raises(error_type) as error:
        memory_box.profile.change_password(caller, current, new, confirm)
    assert error.value.code == code
    assert repo_of(memory_box).accounts[caller.account.id] == before
    assert repo_of(memory_box).mail == {}
