"""One contract, two repositories: the DynamoDB adapter (over the embedded moto server) and
the in-memory fake must behave the same for everything the services rely on."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from msgspec.structs import replace

from chalicelib.adapters.memory import InMemoryRepository
from chalicelib.config import Settings
from chalicelib.domain.account import (
    Account,
    AccountChange,
    AccountStatus,
    AccountToken,
    AuditEvent,
    MailStatus,
    Marker,
    MarkerKind,
    Session,
    TokenPurpose,
    WorkItem,
)
from chalicelib.domain.billing import (
    Charge,
    ChargeState,
    Invoice,
    InvoiceLine,
    InvoiceStatus,
    Party,
    Tax,
    Transaction,
    new_invoice_id,
)
from chalicelib.domain.errors import ConcurrentUpdate, CounterMoved, EmailAlreadyUsed, MarkerExists
from chalicelib.domain.throttle import (
    Bucket,
    BucketKind,
    Reservation,
    Settle,
    ThrottleState,
    TrustedDevice,
)
from chalicelib.services.mail import new_mail
from chalicelib.services.ports import LoginLookup
from tests.integration.stored_samples import tax_facts

NOW = datetime(2026, 11, 26, 10, 0, tzinfo=UTC)


@pytest.fixture(params=["dynamodb", "memory"])
def repo(request: pytest.FixtureRequest) -> Iterator[Any]:
    if request.param == "memory":
        yield InMemoryRepository()
    else:
        from chalicelib.adapters.dynamo.repository import DynamoRepository

        settings: Settings = request.getfixturevalue("settings")
        yield DynamoRepository(settings)


def make_account(email: str | None = None) -> Account:
    account_id = uuid.uuid4().hex
    return Account(
        id=account_id,
        email=email or f"{account_id[:10]}@example.com",
        name="Ada",
        country="FR",
        locale="fr",
        password_hash="plain$pw",
        created_at=NOW,
        trial_ends_at=NOW + timedelta(days=14),
    )


def make_session(account: Account, epoch: int = 0) -> Session:
    return Session(account.id, uuid.uuid4().hex, epoch, NOW, NOW, "10.0.0.1")


def test_create_then_read_account_and_session_together(repo: Any) -> None:
    account = make_account()
    session = make_session(account)
    repo.commit(
        AccountChange(
            account=account,
            create=True,
            put_sessions=(session,),
            audit=(AuditEvent(account.id, NOW, "signup"),),
        )
    )
    assert repo.get_account(account.id) == account
    assert repo.get_session(account.id, session.token_hash) == (account, session)
    assert repo.get_session(account.id, "0" * 64) == (account, None)
    assert repo.get_account(uuid.uuid4().hex) is None
    assert [e.event for e in repo.audit_events(account.id)] == ["signup"]


def test_email_uniqueness_is_enforced_atomically(repo: Any) -> None:
    first = make_account()
    repo.commit(AccountChange(account=first, create=True))
    twin = make_account(email=first.email)
    with pytest.raises(EmailAlreadyUsed):
        repo.commit(AccountChange(account=twin, create=True, put_sessions=(make_session(twin),)))
    assert repo.get_account(twin.id) is None
    assert repo.login_lookup(first.email, []).account_id == first.id


def test_updates_are_conditional_on_the_version(repo: Any) -> None:
    account = make_account()
    repo.commit(AccountChange(account=account, create=True))
    renamed = account.evolve(name="Ada King")
    repo.commit(AccountChange(account=renamed, expected_version=account.version))
    stale = account.evolve(name="Lost update")
    with pytest.raises(ConcurrentUpdate):
        repo.commit(AccountChange(account=stale, expected_version=account.version))
    assert repo.get_account(account.id) == renamed


def test_email_swap_moves_the_marker_or_changes_nothing(repo: Any) -> None:
    account = make_account()
    other = make_account()
    repo.commit(AccountChange(account=account, create=True))
    repo.commit(AccountChange(account=other, create=True))
    taken = account.evolve(email=other.email)
    mail = new_mail(to=account.email, template="email_changed", locale="fr", now=NOW, params={})
    with pytest.raises(EmailAlreadyUsed):
        repo.commit(
            AccountChange(
                account=taken,
                expected_version=account.version,
                email_swap=(account.email, other.email),
                mails=(mail,),
            )
        )
    assert repo.get_account(account.id) == account
    assert repo.get_mail(mail.id) is None
    new_email = f"new-{account.email}"
    moved = account.evolve(email=new_email)
    repo.commit(
        AccountChange(
            account=moved,
            expected_version=account.version,
            email_swap=(account.email, new_email),
            mails=(mail,),
        )
    )
    assert repo.login_lookup(new_email, []).account_id == account.id
    assert repo.login_lookup(account.email, []).account_id is None
    assert repo.get_mail(mail.id) is not None


def buckets() -> tuple[Bucket, Bucket]:
    key = uuid.uuid4().hex
    return Bucket(BucketKind.ACCOUNT, key, 100), Bucket(BucketKind.ADDRESS, f"10.{key[:6]}", 7)


def test_a_reservation_is_a_compare_and_set_on_the_count_seen(repo: Any) -> None:
    account_bucket, address_bucket = buckets()
    lookup = repo.login_lookup("nobody@example.com", [account_bucket, address_bucket])
    assert lookup == LoginLookup(None, {}, None)
    first = Reservation(account_bucket, 0, NOW, NOW + timedelta(days=1))
    assert repo.reserve_attempts([first]) is True
    assert repo.reserve_attempts([first]) is False  # it saw 0, the count is 1 now
    second = Reservation(account_bucket, 1, NOW + timedelta(seconds=5), NOW + timedelta(days=1))
    assert repo.reserve_attempts([second]) is True
    states = repo.login_lookup("nobody@example.com", [account_bucket]).states
    assert states == {account_bucket: ThrottleState(2, NOW + timedelta(seconds=5))}
    # the same key in another window is another bucket
    other_window = Bucket(BucketKind.ACCOUNT, account_bucket.key, 101)
    assert repo.login_lookup("x@example.com", [other_window]).states == {}


def test_an_address_reservation_counts_up_to_its_limit_and_all_or_nothing(repo: Any) -> None:
    account_bucket, address_bucket = buckets()
    for _ in range(3):
        taken = Reservation(address_bucket, 0, NOW, NOW + timedelta(hours=2), limit=3)
        assert repo.reserve_attempts([taken]) is True  # stale counts are fine below the limit
    full = Reservation(address_bucket, 0, NOW, NOW + timedelta(hours=2), limit=3)
    account_attempt = Reservation(account_bucket, 0, NOW, NOW + timedelta(days=1))
    assert repo.reserve_attempts([account_attempt, full]) is False
    assert account_bucket not in repo.login_lookup("x@example.com", [account_bucket]).states
    # a success clears the account bucket and gives the address attempt back, in its commit
    assert repo.reserve_attempts([account_attempt]) is True
    repo.commit(
        AccountChange(
            throttle_settle=(
                Settle(account_bucket),
                Settle(address_bucket, refund=True, expires_at=NOW + timedelta(hours=2)),
            )
        )
    )
    states = repo.login_lookup("x@example.com", [account_bucket, address_bucket]).states
    assert account_bucket not in states and states[address_bucket].failures == 2


def test_trusted_devices_and_sessions_keep_their_own_buckets(repo: Any) -> None:
    account = make_account()
    session = make_session(account)
    device = TrustedDevice(account.id, uuid.uuid4().hex, NOW, NOW, NOW + timedelta(days=180))
    device_bucket = Bucket(BucketKind.DEVICE, f"{account.id}/{device.token_hash}")
    session_bucket = Bucket(BucketKind.SESSION, f"{account.id}/{session.token_hash}")
    # neither exists yet: a reservation never creates them
    assert repo.reserve_attempts([Reservation(device_bucket, 0, NOW)]) is False
    assert repo.reserve_attempts([Reservation(session_bucket, 0, NOW)]) is False
    repo.commit(
        AccountChange(account=account, create=True, put_sessions=(session,), devices=(device,))
    )
    found = repo.login_lookup(account.email, [], (account.id, device.token_hash))
    assert (found.account_id, found.device) == (account.id, device)
    assert repo.login_lookup(account.email, [], (account.id, "0" * 64)).device is None
    later = NOW + timedelta(seconds=3)
    assert repo.reserve_attempts([Reservation(device_bucket, 0, later)]) is True
    assert repo.reserve_attempts([Reservation(device_bucket, 0, later)]) is False
    assert repo.reserve_attempts([Reservation(session_bucket, 0, later)]) is True
    device_state = repo.login_lookup(account.email, [], (account.id, device.token_hash)).device
    assert device_state.throttle == ThrottleState(1, later)
    _, stored_session = repo.get_session(account.id, session.token_hash)
    assert stored_session.reauth == ThrottleState(1, later)
    repo.touch_session(stored_session, later, later + timedelta(hours=2))  # keeps the count
    assert repo.get_session(account.id, session.token_hash)[1].reauth.failures == 1
    # putting them again (a success) clears their buckets
    repo.commit(AccountChange(put_sessions=(session,), devices=(device,)))
    assert repo.get_session(account.id, session.token_hash)[1].reauth == ThrottleState()
    found = repo.login_lookup(account.email, [], (account.id, device.token_hash))
    assert found.device is not None and found.device.throttle == ThrottleState()


def test_sessions_are_touched_and_deleted(repo: Any) -> None:
    account = make_account()
    session = make_session(account)
    repo.commit(AccountChange(account=account, create=True, put_sessions=(session,)))
    later = NOW + timedelta(minutes=10)
    repo.touch_session(session, later, later + timedelta(hours=2))
    assert repo.get_session(account.id, session.token_hash)[1].last_seen_at == later
    repo.delete_session(account.id, session.token_hash)
    assert repo.get_session(account.id, session.token_hash)[1] is None
    repo.touch_session(session, later, later)  # touching a deleted session does not revive it
    assert repo.get_session(account.id, session.token_hash)[1] is None


def test_outbox_queue_claim_lease_and_states(repo: Any) -> None:
    mails = [
        new_mail(
            to=f"{i}@example.com",
            template="password_changed",
            locale="en",
            now=NOW,
            params={"i": str(i)},
        )
        for i in range(3)
    ]
    repo.commit(AccountChange(mails=tuple(mails)))
    ids = {m.id for m in mails}
    due = {m.id for m in repo.due_mail(NOW, 1000)} & ids
    assert due == ids
    assert {m.id for m in repo.due_mail(NOW - timedelta(seconds=1), 1000)} & ids == set()

    first, second, third = mails
    claimed = repo.claim_mail(first.id, NOW, NOW + timedelta(minutes=2))
    assert claimed is not None and claimed.params == {"i": "0"}
    assert repo.claim_mail(first.id, NOW, NOW + timedelta(minutes=2)) is None  # leased
    repo.mark_mail_sent(claimed, NOW, "provider-1")
    assert repo.claim_mail(first.id, NOW + timedelta(hours=1), NOW + timedelta(hours=2)) is None
    stored = repo.get_mail(first.id)
    assert (stored.status, stored.provider_id, stored.attempts) == (
        MailStatus.SENT,
        "provider-1",
        1,
    )

    claimed = repo.claim_mail(second.id, NOW, NOW + timedelta(minutes=2))
    repo.mark_mail_retry(claimed, NOW + timedelta(minutes=5), "Throttling")
    assert second.id not in {m.id for m in repo.due_mail(NOW + timedelta(minutes=4), 1000)}
    assert second.id in {m.id for m in repo.due_mail(NOW + timedelta(minutes=5), 1000)}
    assert repo.claim_mail(second.id, NOW + timedelta(minutes=4), NOW) is None  # not due yet

    claimed = repo.claim_mail(third.id, NOW, NOW + timedelta(minutes=2))
    repo.mark_mail_failed(claimed, "MessageRejected")
    assert third.id not in {m.id for m in repo.due_mail(NOW + timedelta(days=1), 1000)}
    assert repo.get_mail(third.id).status is MailStatus.FAILED


def test_failed_mail_is_listed_from_the_index_and_requeued_once(repo: Any) -> None:
    created = [NOW - timedelta(days=9, minutes=i) for i in range(3)]  # oldest last
    mails = [
        new_mail(
            to=f"failed{i}@example.com",
            template="password_changed",
            locale="en",
            now=at,
            params={"i": str(i)},
        )
        for i, at in enumerate(created)
    ]
    repo.commit(AccountChange(mails=tuple(mails)))
    for mail in mails[:2]:
        claimed = repo.claim_mail(mail.id, NOW, NOW + timedelta(minutes=2))
        repo.mark_mail_failed(claimed, "MessageRejected")
    ids = {m.id for m in mails}
    listed = [m for m in repo.failed_mail(1000) if m.id in ids]
    assert [m.id for m in listed] == [mails[1].id, mails[0].id]  # oldest first
    assert all(m.status is MailStatus.FAILED and m.last_error == "MessageRejected" for m in listed)
    assert mails[2].id not in {m.id for m in repo.failed_mail(1000)}  # pending is not failed

    later = NOW + timedelta(days=1)
    requeued = repo.requeue_mail(mails[0].id, later)
    assert requeued is not None
    assert (requeued.status, requeued.attempts, requeued.next_attempt_at) == (
        MailStatus.PENDING,
        0,
        later,
    )
    assert requeued.queued_at == later and requeued.retry_window_start == later
    assert requeued.params == {"i": "0"} and requeued.to == "failed0@example.com"
    assert repo.requeue_mail(mails[0].id, later) is None  # only once: it is pending now
    assert repo.requeue_mail(mails[2].id, later) is None  # never failed
    assert repo.requeue_mail("no-such-mail", later) is None
    assert mails[0].id not in {m.id for m in repo.failed_mail(1000)}
    assert mails[0].id in {m.id for m in repo.due_mail(later, 1000)}
    claimed = repo.claim_mail(mails[0].id, later, later + timedelta(minutes=2))
    assert claimed is not None and claimed.queued_at == later
    repo.mark_mail_sent(claimed, later, "provider-2")
    assert repo.requeue_mail(mails[0].id, later) is None  # a sent mail is never requeued
    assert repo.get_mail(mails[0].id).status is MailStatus.SENT


def test_a_status_survives_the_round_trip(repo: Any) -> None:
    account = make_account()
    repo.commit(AccountChange(account=account, create=True))
    cancelled = account.evolve(
        status=AccountStatus.CANCELLED, plan="pro-monthly", phone="+33612345678"
    )
    repo.commit(AccountChange(account=cancelled, expected_version=account.version))
    assert repo.get_account(account.id) == cancelled


def test_reactivation_requests_are_stored_queued_and_closed(repo: Any) -> None:
    from chalicelib.domain.lifecycle import ReactivationRequest, RequestStatus, new_request_id

    account = make_account()
    repo.commit(AccountChange(account=account, create=True))
    request = ReactivationRequest(
        id=new_request_id(account.id, NOW),
        account_id=account.id,
        email=account.email,
        requested_at=NOW,
        plan="pro-monthly",
    )
    mail = new_mail(to="support@example.com", template="x", locale="en", now=NOW, params={})
    asked = account.evolve(status=AccountStatus.REACTIVATION_REQUESTED)
    repo.commit(
        AccountChange(
            account=asked,
            expected_version=account.version,
            requests=((request, None),),
            mails=(mail,),
        )
    )
    assert repo.get_reactivation_request(account.id, request.id) == request
    assert repo.get_reactivation_request(account.id, f"{account.id}.00") is None
    assert repo.get_reactivation_request(uuid.uuid4().hex, request.id) is None
    assert request.id in {r.id for r in repo.open_reactivation_requests(1000)}

    # creating it again fails, and nothing else of that change is written
    other_mail = new_mail(to="support@example.com", template="x", locale="en", now=NOW, params={})
    with pytest.raises(ConcurrentUpdate):
        repo.commit(AccountChange(requests=((request, None),), mails=(other_mail,)))
    assert repo.get_mail(other_mail.id) is None

    # closing it is conditional on its version, and takes it out of the open queue
    later = NOW + timedelta(hours=1)
    approved = request.evolve(status=RequestStatus.APPROVED, decided_at=later, decided_by="support")
    active = asked.evolve(status=AccountStatus.ACTIVE, next_renewal_at=later)
    repo.commit(
        AccountChange(
            account=active, expected_version=asked.version, requests=((approved, request.version),)
        )
    )
    with pytest.raises(ConcurrentUpdate):
        repo.commit(AccountChange(requests=((approved.evolve(note="twice"), request.version),)))
    assert repo.get_reactivation_request(account.id, request.id) == approved
    assert request.id not in {r.id for r in repo.open_reactivation_requests(1000)}
    assert repo.get_account(account.id) == active

    # an account's requests, newest first
    second = ReactivationRequest(
        id=new_request_id(account.id, later),
        account_id=account.id,
        email=account.email,
        requested_at=later,
    )
    repo.commit(AccountChange(requests=((second, None),)))
    assert [r.id for r in repo.reactivation_requests(account.id)] == [second.id, request.id]
    assert [r.id for r in repo.reactivation_requests(account.id, 1)] == [second.id]
    opened = [r for r in repo.open_reactivation_requests(1000) if r.account_id == account.id]
    assert opened == [second]


def test_open_reactivation_requests_come_oldest_first(repo: Any) -> None:
    from chalicelib.domain.lifecycle import ReactivationRequest, new_request_id

    made = []
    for minutes in (30, 10, 20):
        account = make_account()
        at = NOW - timedelta(days=3650, minutes=minutes)  # older than any other test's
        made.append(
            ReactivationRequest(
                id=new_request_id(account.id, at),
                account_id=account.id,
                email=account.email,
                requested_at=at,
            )
        )
    repo.commit(AccountChange(requests=tuple((r, None) for r in made)))
    listed = [r.id for r in repo.open_reactivation_requests(1000) if r in made]
    assert listed == [made[0].id, made[2].id, made[1].id]
    assert [r.id for r in repo.open_reactivation_requests(2)][:2] == [made[0].id, made[2].id]


def test_trials_wait_for_their_notice_then_their_end_then_leave_the_queue(repo: Any) -> None:
    """The sparse ``trial`` queue: due at the end minus the notice days until the notice is
    recorded, then at the end; gone once the trial is over (or subscribed)."""
    from chalicelib.domain.account import TRIAL_NOTICE_DAYS

    account = make_account()
    assert account.trial_ends_at is not None
    ends = account.trial_ends_at
    notice = ends - timedelta(days=TRIAL_NOTICE_DAYS)
    repo.commit(AccountChange(account=account, create=True))

    def due(at: datetime) -> dict[str, Account]:
        return {a.id: a for a in repo.due_trials(at, 1000)}

    assert account.id not in due(notice - timedelta(seconds=1))
    assert due(notice)[account.id] == account
    notified = account.evolve(trial_notice_for=ends)
    repo.commit(AccountChange(account=notified, expected_version=account.version))
    assert repo.get_account(account.id) == notified
    assert account.id not in due(ends - timedelta(seconds=1))
    assert due(ends)[account.id] == notified
    expired = notified.evolve(status=AccountStatus.TRIAL_EXPIRED)
    repo.commit(AccountChange(account=expired, expected_version=notified.version))
    assert repo.get_account(account.id) == expired
    assert account.id not in due(ends + timedelta(days=365))
    # an active account waits for its renewal, not in the trial queue
    other = make_account()
    repo.commit(AccountChange(account=other, create=True))
    active = other.evolve(status=AccountStatus.ACTIVE, next_renewal_at=ends, trial_ends_at=None)
    repo.commit(AccountChange(account=active, expected_version=other.version))
    assert other.id not in due(ends + timedelta(days=365))
    assert other.id in {a.id for a in repo.due_renewals(ends, 1000)}


def test_an_active_account_is_due_at_its_first_reminder_then_at_its_renewal(repo: Any) -> None:
    """The ``renewal`` queue (reminders): a yearly account whose card expires before the
    renewal is due 30 days before it (the card notice), then 7 days before (the renewal
    notice), then at the renewal; the marks are stored."""
    from chalicelib.domain.payments import CardSummary

    renewal = NOW + timedelta(days=365)
    account = make_account()
    repo.commit(AccountChange(account=account, create=True))
    card = CardSummary("visa", "4242", 1, NOW.year)  # over before the renewal
    active = account.evolve(
        status=AccountStatus.ACTIVE,
        plan="pro-yearly",
        next_renewal_at=renewal,
        trial_ends_at=None,
        card=card,
        payment_method_id="pm_contract",
    )
    repo.commit(AccountChange(account=active, expected_version=account.version))

    def due(at: datetime) -> set[str]:
        return {a.id for a in repo.due_renewals(at, 1000)}

    card_due, notice_due = renewal - timedelta(days=30), renewal - timedelta(days=7)
    assert account.id not in due(card_due - timedelta(seconds=1))
    assert account.id in due(card_due)
    carded = active.evolve(card_notice_for=renewal)
    repo.commit(AccountChange(account=carded, expected_version=active.version))
    assert account.id not in due(notice_due - timedelta(seconds=1))
    assert account.id in due(notice_due)
    noticed = carded.evolve(renewal_notice_for=renewal)
    repo.commit(AccountChange(account=noticed, expected_version=carded.version))
    assert repo.get_account(account.id) == noticed
    assert account.id not in due(renewal - timedelta(seconds=1))
    assert account.id in due(renewal)


def make_token(account: Account, purpose: TokenPurpose, value: str = "") -> AccountToken:
    return AccountToken(
        account.id, purpose, uuid.uuid4().hex, NOW, NOW + timedelta(hours=1), 0, value
    )


def test_tokens_are_stored_by_slot_spent_once_and_dropped(repo: Any) -> None:
    account = replace(
        make_account(),
        email_verified=True,
        pending_email="new@example.com",
        mfa_secret="JBSWY3DPEHPK3PXP",
        mfa_last_step=12345,
        recovery_codes=("a" * 64, "b" * 64),
    )
    first = make_token(account, TokenPurpose.RESET)
    change = make_token(account, TokenPurpose.EMAIL_CHANGE, "new@example.com")
    repo.commit(AccountChange(account=account, create=True, tokens=(first, change)))
    stored, tokens = repo.token_lookup(account.id, [TokenPurpose.RESET, TokenPurpose.VERIFY])
    assert stored == account and stored.email_verified and stored.pending_email
    assert tokens == {TokenPurpose.RESET: first}
    newer = make_token(account, TokenPurpose.RESET)
    repo.commit(AccountChange(tokens=(newer,)))  # the slot's newer token replaces the older
    assert repo.token_lookup(account.id, [TokenPurpose.RESET])[1] == {TokenPurpose.RESET: newer}
    with pytest.raises(ConcurrentUpdate):  # the older one can no longer be spent
        repo.commit(AccountChange(spend_tokens=(first,), audit=(AuditEvent(account.id, NOW, "x"),)))
    repo.commit(
        AccountChange(spend_tokens=(newer,), drop_tokens=((account.id, TokenPurpose.EMAIL_CHANGE),))
    )
    assert repo.token_lookup(account.id, list(TokenPurpose))[1] == {}
    with pytest.raises(ConcurrentUpdate):  # spent: not twice
        repo.commit(AccountChange(spend_tokens=(newer,)))
    assert repo.token_lookup(uuid.uuid4().hex, [TokenPurpose.RESET]) == (None, {})


def test_sessions_are_listed_with_their_user_agent(repo: Any) -> None:
    account = make_account()
    one = replace(make_session(account), user_agent="Mozilla/5.0 Firefox/133.0")
    two = make_session(account)
    other = make_account()
    repo.commit(AccountChange(account=account, create=True, put_sessions=(one, two)))
    repo.commit(AccountChange(account=other, create=True, put_sessions=(make_session(other),)))
    listed = repo.list_sessions(account.id)
    assert sorted(listed, key=lambda s: s.token_hash) == sorted(
        [one, two], key=lambda s: s.token_hash
    )
    assert {s.public_id for s in listed} == {one.public_id, two.public_id}
    assert one.public_id != one.token_hash


def test_the_audit_trail_is_paged_newest_first(repo: Any) -> None:
    account = make_account()
    events = tuple(
        AuditEvent(account.id, NOW + timedelta(minutes=i), f"event_{i}", details={"n": str(i)})
        for i in range(5)
    )
    repo.commit(AccountChange(account=account, create=True, audit=events))
    first, cursor = repo.audit_page(account.id, 2, None)
    assert [e.event for e in first] == ["event_4", "event_3"] and cursor
    second, cursor = repo.audit_page(account.id, 2, cursor)
    assert [e.event for e in second] == ["event_2", "event_1"] and cursor
    last, cursor = repo.audit_page(account.id, 2, cursor)
    assert [e.event for e in last] == ["event_0"] and cursor is None
    assert last[0].details == {"n": "0"}
    exact, cursor = repo.audit_page(account.id, 5, None)
    assert len(exact) == 5 and cursor is None


# --- the billing half of the port: invoices, charges, counters, markers, payable, due_* ------
def make_invoice(
    account: Account,
    issued_at: datetime = NOW,
    status: InvoiceStatus = InvoiceStatus.OPEN,
    oss_quarter: str | None = None,
) -> Invoice:
    invoice = Invoice(
        id=new_invoice_id(issued_at),
        account_id=account.id,
        number=f"HD-2026-{uuid.uuid4().int % 10**6:06d}",
        status=status,
        issued_at=issued_at,
        period_start=issued_at,
        period_end=issued_at + timedelta(days=30),
        currency="EUR",
        lines=(InvoiceLine("Pro", 1, 2900, 2900),),
        subtotal=2900,
        tax=Tax("20", 580),
        total=3480,
        customer=Party(account.name),
        seller=Party("HelpDesk SAS"),
        plan_id="pro-monthly",
    )
    if oss_quarter is None:
        return invoice
    return replace(invoice, tax_facts=tax_facts(oss=True, quarter=oss_quarter))


def make_charge(
    invoice: Invoice, state: ChargeState = ChargeState.PENDING, **fields: Any
) -> Charge:
    return Charge(
        id=invoice.id,
        account_id=invoice.account_id,
        invoice_id=invoice.id,
        amount=invoice.total,
        currency=invoice.currency,
        state=state,
        created_at=invoice.issued_at,
        **fields,
    )


def billed_account(repo: Any) -> Account:
    """An account in no queue (no trial end): the table is shared with the jobs' tests."""
    account = replace(make_account(), trial_ends_at=None)
    repo.commit(AccountChange(account=account, create=True))
    return account


def test_invoices_and_charges_are_created_once_and_updated_on_their_version(repo: Any) -> None:
    account = billed_account(repo)
    invoice = make_invoice(account)
    charge = make_charge(invoice)
    repo.commit(AccountChange(invoices=((invoice, None),), charges=((charge, None),)))
    assert repo.get_invoice(account.id, invoice.id) == invoice
    assert repo.get_charge(account.id, charge.id) == charge
    with pytest.raises(ConcurrentUpdate):  # created once
        repo.commit(AccountChange(invoices=((invoice, None),)))
    with pytest.raises(ConcurrentUpdate):
        repo.commit(AccountChange(charges=((charge, None),)))
    paid_tx = Transaction("tx-1", NOW, invoice.total, "succeeded", "visa", "4242")
    paid = invoice.paid(paid_tx)
    settled = charge.paid("pi_1")
    repo.commit(
        AccountChange(invoices=((paid, invoice.version),), charges=((settled, charge.version),))
    )
    assert repo.get_invoice(account.id, invoice.id) == paid
    assert repo.get_charge(account.id, charge.id) == settled
    # a stale version fails the whole change: neither the invoice nor the charge moves
    with pytest.raises(ConcurrentUpdate):
        repo.commit(
            AccountChange(
                invoices=((paid.disputed(), paid.version),),
                charges=((charge.void(), charge.version),),  # stale
            )
        )
    assert repo.get_invoice(account.id, invoice.id) == paid
    assert repo.get_charge(account.id, charge.id) == settled
    # another account sees neither
    assert repo.get_invoice(uuid.uuid4().hex, invoice.id) is None
    assert repo.get_charge(uuid.uuid4().hex, charge.id) is None


def test_invoices_are_listed_newest_first_by_page(repo: Any) -> None:
    account = billed_account(repo)
    other = billed_account(repo)
    invoices = [make_invoice(account, NOW + timedelta(days=30 * i)) for i in range(5)]
    repo.commit(AccountChange(invoices=tuple((i, None) for i in invoices)))
    repo.commit(AccountChange(invoices=((make_invoice(other), None),)))
    newest = invoices[::-1]
    first, after = repo.list_invoices(account.id, 2, None)
    assert first == newest[:2] and after == newest[1].id
    second, after = repo.list_invoices(account.id, 2, after)
    assert second == newest[2:4] and after == newest[3].id
    last, after = repo.list_invoices(account.id, 2, after)
    assert last == newest[4:] and after is None
    assert repo.list_invoices(account.id, 10, None) == (newest, None)
    found = repo.invoices_by_id(account.id, [invoices[1].id, "in_missing", invoices[3].id])
    assert sorted(i.id for i in found) == sorted([invoices[1].id, invoices[3].id])
    assert repo.invoices_by_id(other.id, [invoices[1].id]) == []
    assert repo.invoices_by_id(account.id, []) == []


def test_charge_context_reads_the_account_the_charge_and_its_invoice(repo: Any) -> None:
    account = billed_account(repo)
    invoice = make_invoice(account)
    charge = make_charge(invoice)
    repo.commit(AccountChange(invoices=((invoice, None),), charges=((charge, None),)))
    assert repo.charge_context(account.id, charge.id) == (account, charge, invoice)
    assert repo.charge_context(account.id, "in_missing") == (account, None, None)
    assert repo.charge_context(uuid.uuid4().hex, charge.id) == (None, None, None)


def test_a_counter_moves_by_one_on_its_expected_value_or_nothing_is_written(repo: Any) -> None:
    name = f"invoice-{uuid.uuid4().hex[:8]}"
    account = billed_account(repo)
    assert repo.counter_value(name) == 0
    first = make_invoice(account)
    repo.commit(AccountChange(counter=(name, 0), invoices=((first, None),)))
    assert repo.counter_value(name) == 1
    lost = make_invoice(account, NOW + timedelta(days=1))
    with pytest.raises(CounterMoved):  # another invoice took number 1
        repo.commit(AccountChange(counter=(name, 0), invoices=((lost, None),)))
    assert repo.get_invoice(account.id, lost.id) is None
    assert repo.counter_value(name) == 1
    repo.commit(AccountChange(counter=(name, 1), invoices=((lost, None),)))
    assert repo.counter_value(name) == 2
    assert repo.get_invoice(account.id, lost.id) == lost


def test_markers_are_unique_unless_told_otherwise(repo: Any) -> None:
    key = uuid.uuid4().hex
    account = billed_account(repo)
    repo.commit(AccountChange(markers=(Marker(MarkerKind.EVENT, key, "first"),)))
    assert repo.get_marker(MarkerKind.EVENT, key) == "first"
    with pytest.raises(MarkerExists):  # the whole change fails
        repo.commit(
            AccountChange(
                markers=(Marker(MarkerKind.EVENT, key, "second"),),
                invoices=((make_invoice(account), None),),
            )
        )
    assert repo.get_marker(MarkerKind.EVENT, key) == "first"
    assert repo.list_invoices(account.id, 10, None) == ([], None)
    repo.commit(AccountChange(markers=(Marker(MarkerKind.EVENT, key, "third", unique=False),)))
    assert repo.get_marker(MarkerKind.EVENT, key) == "third"
    assert repo.get_marker(MarkerKind.EVENT, uuid.uuid4().hex) is None
    assert repo.get_marker(MarkerKind.CUSTOMER, key) is None  # the kind is part of the key
    # a marker under the account: unique per account
    answer = Marker(MarkerKind.IDEMPOTENCY, key, '{"paid": 1}', account_id=account.id)
    repo.commit(AccountChange(markers=(answer,)))
    with pytest.raises(MarkerExists):
        repo.commit(AccountChange(markers=(answer,)))
    other = billed_account(repo)
    repo.commit(AccountChange(markers=(replace(answer, account_id=other.id),)))


def test_payable_reads_the_open_charges_the_open_invoices_and_the_stored_answer(
    repo: Any,
) -> None:
    account = billed_account(repo)
    other = billed_account(repo)
    open_invoices = [make_invoice(account, NOW + timedelta(minutes=i)) for i in range(3)]
    paid_invoice = make_invoice(account, NOW - timedelta(days=30), InvoiceStatus.PAID)
    charges = [
        make_charge(open_invoices[0], ChargeState.PENDING, attempts=1, next_retry_at=NOW),
        make_charge(open_invoices[1], ChargeState.PROCESSING, lease_until=NOW),
        make_charge(open_invoices[2], ChargeState.UNKNOWN),
    ]
    paid_charge = make_charge(paid_invoice, ChargeState.PAID)
    key = uuid.uuid4().hex
    repo.commit(
        AccountChange(
            invoices=tuple((i, None) for i in (*open_invoices, paid_invoice)),
            charges=tuple((c, None) for c in (*charges, paid_charge)),
            markers=(Marker(MarkerKind.IDEMPOTENCY, key, '{"answer": 1}', account_id=account.id),),
        )
    )
    foreign = make_invoice(other)
    repo.commit(
        AccountChange(
            invoices=((foreign, None),),
            charges=((make_charge(foreign), None),),
            markers=(Marker(MarkerKind.IDEMPOTENCY, key, "theirs", account_id=other.id),),
        )
    )
    assert repo.open_charges(account.id) == charges
    assert repo.payable(account.id, key) == (charges, open_invoices, '{"answer": 1}')
    assert repo.payable(account.id, uuid.uuid4().hex) == (charges, open_invoices, None)
    assert repo.payable(account.id, None) == (charges, open_invoices, None)
    # once paid, a charge and its invoice are no longer payable
    first_paid = open_invoices[0].paid(Transaction("tx", NOW, 3480, "succeeded"))
    repo.commit(
        AccountChange(
            invoices=((first_paid, open_invoices[0].version),),
            charges=((charges[0].paid("pi_1"), charges[0].version),),
        )
    )
    assert repo.payable(account.id, None) == (charges[1:], open_invoices[1:], None)
    assert repo.open_charges(account.id) == charges[1:]
    assert repo.payable(uuid.uuid4().hex, key) == ([], [], None)
    # void: the table is shared, so leave nothing in the retry queue for the jobs' tests
    repo.commit(AccountChange(charges=tuple((c.void(), c.version) for c in charges[1:])))
    assert repo.payable(account.id, None) == ([], open_invoices[1:], None)


def test_due_charges_follow_the_charge_state(repo: Any) -> None:
    """``Charge.queue_due_at``: a pending charge at its next retry (or, retries stopped, at
    its suspension), a claimed one when its lease ends, an unknown one at once, a paid one
    never."""
    account = billed_account(repo)
    at = NOW - timedelta(days=4000)  # before every other test's charges

    def charge(state: ChargeState, **fields: Any) -> Charge:
        return make_charge(make_invoice(account, at), state, **fields)

    retrying = charge(ChargeState.PENDING, next_retry_at=at + timedelta(days=3))
    stopped = charge(
        ChargeState.PENDING,
        retries_stopped=True,
        next_retry_at=at,
        suspend_at=at + timedelta(days=7),
    )
    claimed = charge(ChargeState.PROCESSING, lease_until=at + timedelta(minutes=15))
    unknown = charge(ChargeState.UNKNOWN)
    paid = charge(ChargeState.PAID, next_retry_at=at)
    made = (retrying, stopped, claimed, unknown, paid)
    repo.commit(AccountChange(charges=tuple((c, None) for c in made)))

    def due(now: datetime) -> set[str]:
        mine = {c.id for c in made}
        return {c for a, c in repo.due_charges(now, 10_000) if a == account.id and c in mine}

    assert due(at) == {unknown.id}
    assert due(at + timedelta(minutes=15)) == {unknown.id, claimed.id}
    assert due(at + timedelta(days=3)) == {unknown.id, claimed.id, retrying.id}
    assert due(at + timedelta(days=7)) == {unknown.id, claimed.id, retrying.id, stopped.id}
    # settled: out of the queue
    repo.commit(
        AccountChange(
            charges=(
                (unknown.paid("pi_2"), unknown.version),
                (retrying.void(), retrying.version),
            )
        )
    )
    assert due(at + timedelta(days=7)) == {claimed.id, stopped.id}
    # the table is shared: leave nothing due for the jobs' tests
    repo.commit(
        AccountChange(
            charges=((claimed.void(), claimed.version), (stopped.void(), stopped.version))
        )
    )
    assert due(NOW + timedelta(days=365)) == set()


def test_due_renewals_are_the_active_accounts_whose_renewal_is_due(repo: Any) -> None:
    at = NOW - timedelta(days=4000)
    account = billed_account(repo)
    active = account.evolve(status=AccountStatus.ACTIVE, next_renewal_at=at, trial_ends_at=None)
    repo.commit(AccountChange(account=active, expected_version=account.version))

    def due(now: datetime) -> dict[str, Account]:
        return {a.id: a for a in repo.due_renewals(now, 10_000)}

    assert account.id not in due(at - timedelta(seconds=1))
    assert due(at)[account.id] == active
    assert account.id not in {a.id for a in repo.due_trials(at + timedelta(days=365), 10_000)}
    past_due = active.evolve(status=AccountStatus.PAST_DUE)
    repo.commit(AccountChange(account=past_due, expected_version=active.version))
    assert account.id not in due(at + timedelta(days=365))


def test_scheduled_work_is_due_in_its_own_queue_until_removed(repo: Any) -> None:
    at = NOW - timedelta(days=4000)
    account = billed_account(repo)
    queue = "vat"
    repo.commit(AccountChange(work=(WorkItem(account.id, queue, at + timedelta(hours=1), 2),)))

    def due(name: str, now: datetime) -> list[WorkItem]:
        return [w for w in repo.due_work(name, now, 10_000) if w.account_id == account.id]

    assert due(queue, at) == []
    assert due(queue, at + timedelta(hours=1)) == [
        WorkItem(account.id, queue, at + timedelta(hours=1), 2)
    ]
    assert due("other", at + timedelta(days=1)) == []
    moved = WorkItem(account.id, queue, at + timedelta(days=2), 0)
    repo.commit(AccountChange(work=(moved,)))  # one item per account and queue
    assert due(queue, at + timedelta(days=1)) == []
    assert due(queue, at + timedelta(days=2)) == [moved]
    repo.commit(AccountChange(work=(WorkItem(account.id, queue, None),)))
    assert due(queue, at + timedelta(days=365)) == []


def test_the_oss_ledger_lists_the_oss_sales_of_a_quarter(repo: Any) -> None:
    account = billed_account(repo)
    quarter = f"19{uuid.uuid4().int % 100:02d}Q{uuid.uuid4().int % 4 + 1}"  # no other test's
    sales = [
        make_invoice(account, NOW + timedelta(minutes=i), oss_quarter=quarter) for i in range(3)
    ]
    domestic = make_invoice(account, NOW + timedelta(minutes=5))
    other_quarter = make_invoice(account, NOW + timedelta(minutes=6), oss_quarter=f"{quarter}x")
    repo.commit(AccountChange(invoices=tuple((i, None) for i in (*sales, domestic, other_quarter))))
    listed = list(repo.oss_invoices(quarter))
    assert sorted(i.id for i in listed) == sorted(i.id for i in sales)
    # an OSS sale stays in its ledger whatever its status
    paid = sales[0].paid(Transaction("tx", NOW, 3480, "succeeded"))
    repo.commit(AccountChange(invoices=((paid, sales[0].version),)))
    assert paid in list(repo.oss_invoices(quarter))


def test_pending_refunds_are_due_then_leave_the_queue_and_oss_credit_notes_are_listed(
    repo: Any,
) -> None:
    """``CreditNote.queue_entry``: a pending refund is in the ``refund`` queue, due at its
    ``check_at``; settled, it leaves it, and a credit of an OSS sale is in the OSS ledger of
    its issue quarter (read with the pending ones by ``oss_credit_notes``)."""
    from chalicelib.domain.credit_notes import (
        CreditReason,
        Refund,
        RefundStatus,
        credit_note_for,
    )
    from chalicelib.domain.tax import quarter_of

    account = billed_account(repo)
    at = datetime(1800 + uuid.uuid4().int % 200, 2, 1, tzinfo=UTC)  # a quarter no one else's
    quarter = quarter_of(at)
    sale = make_invoice(account, at - timedelta(days=400), oss_quarter="1700Q1")
    domestic = make_invoice(account, at - timedelta(days=400))
    repo.commit(AccountChange(invoices=((sale, None), (domestic, None))))

    def note(invoice: Invoice, sequence: int, pending: bool) -> Any:
        refund = Refund(
            100, RefundStatus.PENDING if pending else RefundStatus.SUCCEEDED, "pi_1", key=""
        )
        return credit_note_for(
            invoice,
            (),
            sequence=sequence,
            now=at,
            reason=CreditReason.REFUND,
            amount=100,
            refund=refund,
        )

    pending, settled, home = note(sale, 1, True), note(sale, 2, False), note(domestic, 3, True)
    repo.commit(AccountChange(credit_notes=((pending, None), (settled, None), (home, None))))

    def due(now: datetime) -> set[str]:
        mine = {pending.id, settled.id, home.id}
        return {n for a, n in repo.due_refunds(now, 10_000) if a == account.id and n in mine}

    assert pending.refund.check_at is not None
    assert due(at) == set()  # just sent: due at its check_at
    assert due(pending.refund.check_at) == {pending.id, home.id}
    assert sorted(n.id for n in repo.oss_credit_notes(quarter)) == sorted([pending.id, settled.id])
    claimed = pending.refund_claimed(at + timedelta(hours=1))
    repo.commit(AccountChange(credit_notes=((claimed, pending.version),)))
    assert due(pending.refund.check_at) == {home.id}  # claimed: due again later
    done = claimed.refund_done("re_1")
    repo.commit(
        AccountChange(
            credit_notes=((done, claimed.version), (home.refund_failed("x"), home.version))
        )
    )
    assert due(NOW + timedelta(days=365)) == set()  # settled: nothing left for the jobs' tests
    assert (
        done in list(repo.oss_credit_notes(quarter))
        and len(list(repo.oss_credit_notes(quarter))) == 2
    )
    assert list(repo.oss_credit_notes(f"{at.year + 1}Q1")) == []
