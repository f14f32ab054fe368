"""Unit tests: services over the in-memory container (``memory_box``: no I/O, no server).

Here ``box`` is that container (the root conftest's ``box`` is the real adapters over the
embedded stack, for integration tests), and the helpers the unit files shared by copy.
"""

from __future__ import annotations

import pytest

from chalicelib.adapters.fake_payments import FakePaymentGateway
from chalicelib.adapters.memory import InMemoryRepository
from chalicelib.domain.account import Caller
from chalicelib.wiring import Container
from tests.helpers import PASSWORD

IP = "10.0.0.1"


@pytest.fixture
def box(memory_box: Container) -> Container:
    """Services over the in-memory repository and the fake payment gateway."""
    return memory_box


def fake(box: Container) -> FakePaymentGateway:
    """The container's fake Stripe."""
    assert isinstance(box.gateway, FakePaymentGateway)
    return box.gateway


def repo(box: Container) -> InMemoryRepository:
    """The container's in-memory repository (its tables are dictionaries to look into)."""
    assert isinstance(box.repo, InMemoryRepository)
    return box.repo


def caller(box: Container, account_id: str) -> Caller:
    """The account signed in afresh (its password is :data:`tests.helpers.PASSWORD`)."""
    account = box.repo.get_account(account_id)
    assert account is not None
    token = box.auth.login(account.email, PASSWORD, IP).token
    return box.auth.authenticate(token, IP)
