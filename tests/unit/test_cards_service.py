"""Saved cards over the in-memory container and fake gateway: a past-due account making a
saved card the default is retried at once with it; removing detaches at the gateway."""

from __future__ import annotations

import pytest

from chalicelib.adapters.fake_payments import CardBehaviour, FakePaymentGateway
from chalicelib.adapters.memory import InMemoryRepository
from chalicelib.domain.account import AccountStatus, Caller
from chalicelib.domain.errors import Conflict, NotFound
from chalicelib.domain.payments import DeclineInfo
from chalicelib.wiring import Container
from tests.helpers import forget_signup_mail

PASSWORD = "correct horse battery staple"
IP = "10.0.0.1"


def fake(box: Container) -> FakePaymentGateway:
    assert isinstance(box.gateway, FakePaymentGateway)
    return box.gateway


def caller_of(box: Container, account_id: str) -> Caller:
    account = box.repo.get_account(account_id)
    assert account is not None
    return box.auth.authenticate(box.auth.login(account.email, PASSWORD, IP).token, IP)


def paying(box: Container) -> str:
    account = box.auth.signup(
        email="ada@example.com",
        password=PASSWORD,
        name="Ada",
        country="FR",
        phone=None,
        locale="en",
        ip=IP,
    ).account
    forget_signup_mail(box)
    box.billing.set_card(caller_of(box, account.id), fake(box).add_test_card("4242424242424242"))
    box.billing.subscribe(caller_of(box, account.id), "pro-monthly")
    return account.id


def test_a_past_due_account_making_a_saved_card_the_default_pays_at_once(
    memory_box: Container,
) -> None:
    box = memory_box
    account_id = paying(box)
    account = box.repo.get_account(account_id)
    assert account is not None and account.customer_id and account.payment_method_id
    fake(box).set_behaviour(
        account.payment_method_id,
        CardBehaviour.declines(DeclineInfo("card_declined", "insufficient_funds")),
    )
    assert account.next_renewal_at is not None
    box.clock.set(account.next_renewal_at)  # type: ignore[attr-defined]
    assert box.billing.run_renewals().failed == 1
    saved = fake(box).add_card(last4="4444", customer_id=account.customer_id)

    after = box.cards.make_default(caller_of(box, account_id), saved)
    assert after.status is AccountStatus.ACTIVE and after.payment_method_id == saved
    assert box.billing.pending_charges(account_id) == []
    assert box.cards.saved_cards(after)[0].id == saved  # the default first


def test_removing_detaches_only_the_callers_other_cards(memory_box: Container) -> None:
    box = memory_box
    account_id = paying(box)
    account = box.repo.get_account(account_id)
    assert account is not None and account.customer_id
    other = fake(box).add_card(last4="4444", customer_id=account.customer_id)
    caller = caller_of(box, account_id)
    with pytest.raises(Conflict):
        box.cards.remove(caller, account.payment_method_id or "")
    box.cards.remove(caller, other)
    assert [c.id for c in box.cards.saved_cards(account)] == [account.payment_method_id]
    with pytest.raises(NotFound):
        box.cards.remove(caller, other)
    repo = box.repo
    assert isinstance(repo, InMemoryRepository)
    assert [e.event for e in repo.audit].count("card_removed") == 1
