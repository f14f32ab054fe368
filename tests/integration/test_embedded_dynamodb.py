"""The embedded DynamoDB (``devstack/dynamo.py``) keeps DynamoDB's promises under threads.

Many threads run conditional writes and transactions through the real ``DynamoRepository``
against the session's embedded moto: no update is lost, a counter bumped conditionally
counts exactly the successful bumps, one email gets one account, a cancelled transaction
changes nothing (its items are put back one by one, the table is not swapped for a copy),
and moto keeps no reference to DynamoDB items for ``/moto-api/data.json``.

Without the lock around moto's dispatch these fail (checked by disabling it: lost updates,
two accounts per email, and 500s from "dictionary changed size during iteration").
"""

from __future__ import annotations

import sys
import threading
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from chalicelib.config import Settings
from chalicelib.domain.account import Account, AccountChange, AuditEvent
from chalicelib.domain.errors import ConcurrentUpdate, EmailAlreadyUsed

NOW = datetime(2026, 11, 26, 10, 0, tzinfo=UTC)
THREADS = 8


@pytest.fixture(autouse=True)
def _switch_threads_often() -> Iterator[None]:
    """Make the interpreter hand over between threads as often as it can (the embedded moto
    runs in this process), so that an interleaving inside a request shows when it can occur."""
    before = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)
    yield
    sys.setswitchinterval(before)


@pytest.fixture
def repo(settings: Settings) -> Any:
    from chalicelib.adapters.dynamo.repository import DynamoRepository

    return DynamoRepository(settings)


def new_account(email: str | None = None) -> Account:
    account_id = uuid.uuid4().hex
    return Account(
        id=account_id,
        email=email or f"{account_id[:12]}@example.com",
        name="Ada",
        country="FR",
        locale="fr",
        password_hash="plain$pw",
        created_at=NOW,
        trial_ends_at=NOW + timedelta(days=14),
    )


def in_threads(work: Callable[[int], None], threads: int = THREADS) -> list[BaseException]:
    """Run ``work(n)`` in ``threads`` threads started together; the errors they raised."""
    start = threading.Barrier(threads)
    errors: list[BaseException] = []

    def run(n: int) -> None:
        start.wait()
        try:
            work(n)
        except BaseException as error:  # collected and asserted on by the caller
            errors.append(error)

    pool = [threading.Thread(target=run, args=(n,)) for n in range(threads)]
    for thread in pool:
        thread.start()
    for thread in pool:
        thread.join(120)
    return errors


def test_version_conditional_updates_lose_nothing(repo: Any) -> None:
    account = new_account()
    repo.commit(AccountChange(account=account, create=True))
    won: list[int] = []

    def work(n: int) -> None:
        for attempt in range(12):
            current = repo.get_account(account.id)
            try:
                repo.commit(
                    AccountChange(
                        account=current.evolve(name=f"writer {n}.{attempt}"),
                        expected_version=current.version,
                        audit=(AuditEvent(account.id, NOW, "renamed", details={"n": str(n)}),),
                    )
                )
            except ConcurrentUpdate:
                continue
            won.append(n)

    assert in_threads(work) == []
    final = repo.get_account(account.id)
    assert won, "no update succeeded"
    assert final.version == account.version + len(won)
    assert len(repo.audit_events(account.id, limit=500)) == len(won)


def test_a_conditional_counter_counts_every_bump_once(repo: Any) -> None:
    name = f"bench-{uuid.uuid4().hex[:8]}"
    bumps: list[int] = []

    def work(n: int) -> None:
        while len([b for b in bumps if b == n]) < 5:
            seen = repo.counter_value(name)
            try:
                repo.commit(AccountChange(counter=(name, seen)))
            except ConcurrentUpdate:
                continue
            bumps.append(n)

    assert in_threads(work) == []
    assert repo.counter_value(name) == len(bumps) == 5 * THREADS


def test_one_email_one_account_under_concurrent_sign_ups(repo: Any) -> None:
    email = f"twin-{uuid.uuid4().hex[:10]}@example.com"
    candidates = [new_account(email) for _ in range(16)]
    outcomes: dict[int, str] = {}

    def work(n: int) -> None:
        try:
            repo.commit(AccountChange(account=candidates[n], create=True))
            outcomes[n] = "created"
        except EmailAlreadyUsed:
            outcomes[n] = "taken"

    assert in_threads(work, threads=16) == []
    winners = [n for n, outcome in outcomes.items() if outcome == "created"]
    assert len(winners) == 1 and len(outcomes) == 16
    assert repo.login_lookup(email, []).account_id == candidates[winners[0]].id
    losers = [c for n, c in enumerate(candidates) if n != winners[0]]
    assert all(repo.get_account(c.id) is None for c in losers)


def test_a_cancelled_transaction_puts_back_what_it_changed(repo: Any, settings: Settings) -> None:
    from moto.dynamodb.models import dynamodb_backends

    owner, other = new_account(), new_account()
    repo.commit(AccountChange(account=owner, create=True))
    repo.commit(AccountChange(account=other, create=True))
    backends = [
        backend
        for per_account in dict.values(dynamodb_backends)
        for backend in dict.values(per_account)
        if settings.table_name in backend.tables
    ]
    table = backends[0].tables[settings.table_name]
    # the account's put comes first and succeeds; the email swap to a taken email fails
    with pytest.raises(EmailAlreadyUsed):
        repo.commit(
            AccountChange(
                account=owner.evolve(name="Renamed", email=other.email),
                expected_version=owner.version,
                email_swap=(owner.email, other.email),
            )
        )
    assert repo.get_account(owner.id) == owner
    assert repo.login_lookup(owner.email, []).account_id == owner.id
    assert backends[0].tables[settings.table_name] is table  # rolled back in place, no copy


def test_moto_keeps_no_reference_to_dynamodb_items(repo: Any) -> None:
    from moto.core.model_instances import model_data

    repo.commit(AccountChange(account=new_account(), create=True))
    tracked = sum(len(getattr(m, "instances_tracked", [])) for m in model_data["dynamodb"].values())
    assert tracked == 0
