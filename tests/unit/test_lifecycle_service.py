"""Cancel, reactivate and the support decisions, over the in-memory repository and fakes."""

from __future__ import annotations

import typing
from datetime import timedelta

import pytest

from chalicelib.adapters.fake_payments import CardBehaviour
from chalicelib.adapters.memory import PlainHasher
from chalicelib.domain.account import Account, AccountChange, AccountStatus, AuditEvent, Caller
from chalicelib.domain.billing import ChargeState, InvoiceStatus
from chalicelib.domain.errors import (
    Conflict,
    DomainError,
    Forbidden,
    InvalidInput,
    NotAuthenticated,
    NotFound,
)
from chalicelib.domain.lifecycle import (
    CANCEL_REASONS,
    PaymentInProgress,
    RequestStatus,
    request_account_id,
)
from chalicelib.domain.payments import DeclineInfo
from chalicelib.services.mail import render_mail
from chalicelib.wiring import Container
from tests.helpers import PASSWORD, forget_signup_mail
from tests.unit.conftest import fake
from tests.unit.conftest import repo as repo_of

IP = "10.0.0.1"


def stored(box: Container, account_id: str) -> Account:
    return repo_of(box).accounts[account_id]


def event(box: Container, account_id: str, name: str) -> AuditEvent:
    """The newest audit event called ``name`` (events at one instant come in any order)."""
    return next(e for e in repo_of(box).audit_events(account_id) if e.event == name)


def templates(box: Container) -> list[str]:
    return sorted(m.template for m in repo_of(box).mail.values())


def trial(box: Container, email: str = "ada@example.com") -> tuple[Caller, str]:
    signed = box.auth.signup(
        email=email,
        password=PASSWORD,
        name="Ada",
        country="FR",
        phone="06 12 34 56 78",
        locale="fr",
        ip=IP,
    )
    forget_signup_mail(box)
    return box.auth.authenticate(signed.token, IP), signed.token


def paid(box: Container, email: str = "paid@example.com") -> Caller:
    caller, _ = trial(box, email)
    box.billing.set_card(caller, fake(box).add_test_card("4242424242424242"))
    caller = box.auth.authenticate(box.auth.login(email, PASSWORD, IP).token, IP)
    box.billing.subscribe(caller, "basic-monthly")
    return box.auth.authenticate(box.auth.login(email, PASSWORD, IP).token, IP)


def test_the_request_model_offers_exactly_the_domain_reasons() -> None:
    from chalicelib.api.schemas import CancelReason

    assert typing.get_args(CancelReason) == CANCEL_REASONS


# --- cancel ------------------------------------------------------------------------------------
def test_cancel_ends_every_session_and_keeps_a_record(box: Container) -> None:
    caller, token = trial(box)
    other = box.auth.login("ada@example.com", PASSWORD, "10.0.0.2").token
    now = box.clock.now()
    cancelled = box.lifecycle.cancel(caller, PASSWORD, "too_expensive", "  Too dear for us.  ")
    assert cancelled.status is AccountStatus.CANCELLED
    assert stored(box, caller.account.id) == cancelled
    for old in (token, other):
        with pytest.raises(NotAuthenticated):
            box.auth.authenticate(old, IP)
    with pytest.raises(Forbidden) as login:
        box.auth.login("ada@example.com", PASSWORD, IP)
    assert login.value.code == "account_cancelled"
    cancel = event(box, caller.account.id, "account_cancelled")
    assert (cancel.actor, cancel.at, cancel.ip) == (
        "customer",
        now,
        IP,
    )
    assert cancel.details == {
        "previous_status": "trial",
        "reason": "too_expensive",
        "comment": "Too dear for us.",
    }
    (mail,) = repo_of(box).mail.values()
    assert (mail.to, mail.template, mail.locale) == ("ada@example.com", "account_cancelled", "fr")
    subject, body = render_mail(mail)
    assert "annulé" in subject and "/reactivate" in body


@pytest.mark.parametrize(
    ("password", "reason", "comment", "error_type", "code"),
    [
        ("wrong password", None, None, NotAuthenticated, "invalid_password"),
        (PASSWORD, "bored", None, InvalidInput, "validation_error"),
        (PASSWORD, None, "x" * 1001, InvalidInput, "validation_error"),
    ],
)
def test_cancel_refusals_change_nothing(
    box: Container,
    password: str,
    reason: str | None,
    comment: str | None,
    error_type: type[DomainError],
    code: str,
) -> None:
    caller, token = trial(box)
    before = stored(box, caller.account.id)
    with pytest.raises(error_type) as error:
        box.lifecycle.cancel(caller, password, reason, comment)
    assert error.value.code == code
    assert stored(box, caller.account.id) == before
    assert repo_of(box).mail == {}
    assert box.auth.authenticate(token, IP)  # still signed in


def test_cancel_credits_what_is_owed_and_stops_renewals_and_retries(box: Container) -> None:
    caller = paid(box)
    account = caller.account
    assert account.payment_method_id and account.next_renewal_at
    fake(box).set_behaviour(
        account.payment_method_id,
        CardBehaviour.declines(DeclineInfo("card_declined", "insufficient_funds")),
    )
    box.clock.set(account.next_renewal_at)  # type: ignore[attr-defined]
    assert box.billing.run_renewals().failed == 1
    (pending,) = box.billing.pending_charges(account.id)
    caller = box.auth.authenticate(box.auth.login("paid@example.com", PASSWORD, IP).token, IP)
    assert caller.account.status is AccountStatus.PAST_DUE

    cancelled = box.lifecycle.cancel(caller, PASSWORD, "not_using")
    assert cancelled.next_renewal_at is None
    charge = repo_of(box).charges[(account.id, pending.id)]
    assert (charge.state, charge.retries_stopped, charge.next_retry_at) == (
        ChargeState.VOID,
        True,
        None,
    )
    assert charge.queue_due_at() is None  # out of the retry queue
    invoices = sorted(repo_of(box).invoices.values(), key=lambda i: i.number)
    assert [i.status for i in invoices] == [InvoiceStatus.PAID, InvoiceStatus.CREDITED]
    assert [t.status for t in invoices[1].transactions] == ["failed"]  # kept
    assert box.billing.pending_charges(account.id) == []
    far = box.clock.now() + timedelta(days=400)
    assert account.id not in {a.id for a in repo_of(box).due_renewals(far, 1000)}
    details = event(box, account.id, "account_cancelled").details
    assert details["credited_invoices"] == invoices[1].number
    (note,) = repo_of(box).credit_notes.values()
    assert details["credit_notes"] == note.number == f"CN-{box.clock.now().year}-000001"
    assert (note.invoice_id, note.total) == (invoices[1].id, invoices[1].total)
    assert details["credit_reason"] == "account_cancelled"
    assert details["previous_status"] == "past_due"
    charges_before = len(fake(box).charges)
    box.clock.advance(days=60)  # type: ignore[attr-defined]
    box.billing.run_renewals()
    assert len(fake(box).charges) == charges_before  # nothing more is charged


@pytest.mark.parametrize("state", [ChargeState.PROCESSING, ChargeState.UNKNOWN])
def test_cancel_never_voids_a_charge_that_may_be_moving_money(
    box: Container, state: ChargeState
) -> None:
    caller = paid(box)
    (charge,) = repo_of(box).charges.values()
    busy = charge.evolve(state=state, lease_until=box.clock.now() + timedelta(minutes=15))
    box.repo.commit(AccountChange(charges=((busy, charge.version),)))
    before = stored(box, caller.account.id)
    with pytest.raises(PaymentInProgress) as error:
        box.lifecycle.cancel(caller, PASSWORD)
    assert (error.value.code, error.value.STATUS_CODE) == ("payment_in_progress", 409)
    assert stored(box, caller.account.id) == before
    assert repo_of(box).charges[(charge.account_id, charge.id)] == busy


# --- reactivate: free trials --------------------------------------------------------------------
def test_a_cancelled_trial_comes_back_signed_in_with_its_remaining_days(box: Container) -> None:
    caller, _ = trial(box)
    trial_end = caller.account.trial_ends_at
    box.lifecycle.cancel(caller, PASSWORD)
    box.clock.advance(days=2)  # type: ignore[attr-defined]
    outcome = box.lifecycle.reactivate("ADA@example.com ", PASSWORD, IP)
    assert outcome.request is None and outcome.signed_in is not None
    account = outcome.signed_in.account
    assert (account.status, account.trial_ends_at) == (AccountStatus.TRIAL, trial_end)
    assert box.auth.authenticate(outcome.signed_in.token, IP).account == account
    assert stored(box, account.id) == account
    back = event(box, account.id, "account_reactivated")
    assert (back.actor, back.details["kind"]) == ("customer", "trial")
    assert templates(box) == ["account_cancelled"]  # no mail to support


def test_a_trial_that_ran_out_comes_back_with_seven_fresh_days(box: Container) -> None:
    caller, _ = trial(box)
    box.lifecycle.cancel(caller, PASSWORD)
    box.clock.advance(days=30)  # type: ignore[attr-defined]
    signed_in = box.lifecycle.reactivate("ada@example.com", PASSWORD, IP).signed_in
    assert signed_in is not None
    assert signed_in.account.trial_ends_at == box.clock.now() + timedelta(days=7)


def test_reactivate_answers_the_same_for_unknown_emails_and_wrong_passwords(
    box: Container,
) -> None:
    caller, _ = trial(box)
    box.lifecycle.cancel(caller, PASSWORD)
    hasher = box.hasher
    assert isinstance(hasher, PlainHasher)
    codes = []
    for email, password in [("ada@example.com", "wrong password"), ("no@example.com", PASSWORD)]:
        work = hasher.work
        with pytest.raises(NotAuthenticated) as error:
            box.lifecycle.reactivate(email, password, IP)
        codes.append(error.value.code)
        assert hasher.work == work + 1  # the same hash work either way
    assert codes == ["invalid_credentials", "invalid_credentials"]
    assert stored(box, caller.account.id).status is AccountStatus.CANCELLED


def test_reactivating_an_account_that_is_not_cancelled_is_a_conflict(box: Container) -> None:
    caller, token = trial(box)
    with pytest.raises(Conflict) as error:
        box.lifecycle.reactivate("ada@example.com", PASSWORD, IP)
    assert error.value.code == "not_cancelled"
    assert stored(box, caller.account.id) == caller.account
    assert box.auth.authenticate(token, IP)


# --- reactivate: paid accounts and support ------------------------------------------------------
def test_a_paid_account_asks_support_once_in_the_same_commit(box: Container) -> None:
    caller = paid(box)
    box.lifecycle.cancel(caller, PASSWORD, "switching")
    repo = repo_of(box)
    commits = repo.requests
    outcome = box.lifecycle.reactivate("paid@example.com", PASSWORD, IP)
    request = outcome.request
    assert outcome.signed_in is None and request is not None
    assert request_account_id(request.id) == caller.account.id
    assert stored(box, caller.account.id).status is AccountStatus.REACTIVATION_REQUESTED
    assert repo.get_reactivation_request(caller.account.id, request.id) == request
    support = [m for m in repo.mail.values() if m.template == "reactivation_request"]
    (mail,) = support
    assert mail.to == box.settings.support_email and mail.locale == "en"
    subject, body = render_mail(mail)
    (invoice,) = repo.invoices.values()
    for expected in (
        request.id,
        caller.account.id,
        "paid@example.com",
        "Ada",
        "+33612345678",
        "basic-monthly",
        invoice.number,
        "€18.00",
    ):
        assert expected in subject + body, expected
    # credentials (2), the attempt's reservation (1), last invoice (1), one commit, and the
    # get_reactivation_request of this test
    assert repo.requests - commits <= 6

    again = box.lifecycle.reactivate("paid@example.com", PASSWORD, IP).request
    assert again == request
    assert [m.template for m in repo.mail.values()].count("reactivation_request") == 1
    assert [r.id for r in box.lifecycle.open_requests()] == [request.id]
    with pytest.raises(Forbidden):
        box.auth.login("paid@example.com", PASSWORD, IP)  # still answers account_cancelled
    asked = event(box, caller.account.id, "reactivation_requested")
    assert (asked.actor, asked.ip, asked.details["request_id"]) == ("customer", IP, request.id)


def test_a_concurrent_second_request_answers_the_first(box: Container) -> None:
    caller = paid(box)
    box.lifecycle.cancel(caller, PASSWORD)
    stale = stored(box, caller.account.id)
    first = box.lifecycle.reactivate("paid@example.com", PASSWORD, IP).request
    assert first is not None
    assert box.lifecycle._request(stale, IP, ()) == first  # lost the race: answers the winner
    assert len(repo_of(box).reactivations) == 1


def test_support_approves_and_the_renewal_is_charged_at_once(box: Container) -> None:
    caller = paid(box)
    box.lifecycle.cancel(caller, PASSWORD)
    request = box.lifecycle.reactivate("paid@example.com", PASSWORD, IP).request
    assert request is not None
    box.clock.advance(hours=3)  # type: ignore[attr-defined]
    now = box.clock.now()
    decided, account = box.lifecycle.approve(request.id, "Called back, card checked", "10.9.9.9")
    assert (decided.status, decided.decided_at, decided.decided_by) == (
        RequestStatus.APPROVED,
        now,
        "support",
    )
    assert (account.status, account.next_renewal_at) == (AccountStatus.ACTIVE, now)
    assert box.lifecycle.open_requests() == []
    approval = event(box, account.id, "reactivation_approved")
    assert (approval.actor, approval.at, approval.ip) == ("support", now, "10.9.9.9")
    assert approval.details == {"request_id": request.id, "note": "Called back, card checked"}
    assert "reactivation_approved" in templates(box)

    for again in (box.lifecycle.approve, box.lifecycle.reject):
        with pytest.raises(Conflict) as closed:
            again(request.id, None, "")
        assert closed.value.code == "request_closed"
    assert stored(box, account.id) == account

    assert box.billing.run_renewals().renewed == 1
    invoices = sorted(repo_of(box).invoices.values(), key=lambda i: i.number)
    assert [i.status for i in invoices] == [InvoiceStatus.PAID, InvoiceStatus.PAID]
    assert invoices[1].period_start == now
    assert box.auth.login("paid@example.com", PASSWORD, IP).account.status is AccountStatus.ACTIVE


def test_support_rejects_and_the_customer_may_ask_again(box: Container) -> None:
    caller = paid(box)
    box.lifecycle.cancel(caller, PASSWORD)
    first = box.lifecycle.reactivate("paid@example.com", PASSWORD, IP).request
    assert first is not None
    decided, account = box.lifecycle.reject(first.id)
    assert decided.status is RequestStatus.REJECTED and account.status is AccountStatus.CANCELLED
    assert "reactivation_rejected" in templates(box)
    assert event(box, account.id, "reactivation_rejected").actor == "support"
    with pytest.raises(Forbidden):
        box.auth.login("paid@example.com", PASSWORD, IP)
    box.clock.advance(seconds=1)  # type: ignore[attr-defined]
    second = box.lifecycle.reactivate("paid@example.com", PASSWORD, IP).request
    assert second is not None and second.id != first.id
    assert [r.id for r in repo_of(box).reactivation_requests(account.id)] == [second.id, first.id]


@pytest.mark.parametrize(
    "request_id",
    ["nope", "", "0" * 32 + ".0123456789abcdef", "../../etc", "A" * 32 + ".0123456789abcdef"],
)
def test_unknown_requests_are_not_found(box: Container, request_id: str) -> None:
    with pytest.raises(NotFound) as error:
        box.lifecycle.approve(request_id)
    assert error.value.code == "request_not_found"


# --- demo data ---------------------------------------------------------------------------------
def test_the_demo_cancelled_paid_account_is_seeded_on_the_fake_gateway(box: Container) -> None:
    from chalicelib.seed import CANCELLED_PAID_EMAIL, DEMO_PASSWORD, seed_demo

    assert CANCELLED_PAID_EMAIL in seed_demo(box)
    assert CANCELLED_PAID_EMAIL not in seed_demo(box)  # idempotent
    account_id = repo_of(box).emails[CANCELLED_PAID_EMAIL]
    account = stored(box, account_id)
    assert (account.status, account.plan) == (AccountStatus.CANCELLED, "basic-monthly")
    (invoice,) = [i for (a, _), i in repo_of(box).invoices.items() if a == account_id]
    assert invoice.status is InvoiceStatus.PAID
    assert event(box, account_id, "account_cancelled").details["reason"] == "switching"
    request = box.lifecycle.reactivate(CANCELLED_PAID_EMAIL, DEMO_PASSWORD, IP).request
    assert request is not None and request.account_id == account_id
