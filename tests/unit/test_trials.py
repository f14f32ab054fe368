"""Trials: the ``trials`` job (notice once, expiry once), ``trial_expired`` and what it may do,
subscribing from it, and the sign-in notice, over the in-memory container and fake gateway."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from chalice.app import Blueprint, Chalice
from chalice.test import Client

from chalicelib.adapters.clock import FixedClock
from chalicelib.adapters.fake_payments import FakePaymentGateway
from chalicelib.adapters.memory import InMemoryRepository
from chalicelib.api import http
from chalicelib.domain.account import TRIAL_NOTICE_DAYS, Account, AccountStatus, Caller, TrialStep
from chalicelib.domain.billing import InvoiceStatus
from chalicelib.domain.errors import Conflict
from chalicelib.jobs.run import run_job
from chalicelib.services.mail import render_mail
from chalicelib.wiring import Container
from tests.helpers import forget_signup_mail

PASSWORD = "correct horse battery staple"
IP = "10.0.0.1"


@pytest.fixture
def box(memory_box: Container) -> Container:
    return memory_box


def repo_of(box: Container) -> InMemoryRepository:
    assert isinstance(box.repo, InMemoryRepository)
    return box.repo


def clock_of(box: Container) -> FixedClock:
    assert isinstance(box.clock, FixedClock)
    return box.clock


def signup(box: Container, email: str = "ada@example.com", locale: str = "en") -> Account:
    account = box.auth.signup(
        email=email, password=PASSWORD, name="Ada", country="FR", phone=None, locale=locale, ip=IP
    ).account
    forget_signup_mail(box)
    return account


def caller_of(box: Container, account: Account) -> Caller:
    """A signed-in caller for ``account`` (as the HTTP layer would authenticate it)."""
    signed_in = box.auth.login(account.email, PASSWORD, IP)
    return box.auth.authenticate(signed_in.token, IP)


def with_card(box: Container, account: Account) -> Caller:
    gateway = box.gateway
    assert isinstance(gateway, FakePaymentGateway)
    box.billing.set_card(caller_of(box, account), gateway.add_test_card("4242424242424242"))
    return caller_of(box, stored(box, account.id))


def stored(box: Container, account_id: str) -> Account:
    return repo_of(box).accounts[account_id]


def mails(box: Container, account_id: str) -> list[str]:
    return sorted(m.template for m in repo_of(box).mail.values() if m.account_id == account_id)


def trials(box: Container) -> dict[str, int]:
    return run_job("trials", box=box)


# --- the job ------------------------------------------------------------------------------------
def test_the_notice_goes_once_three_days_before_the_end_then_the_trial_ends_once(
    box: Container,
) -> None:
    account = signup(box)
    assert account.trial_ends_at is not None
    ends = account.trial_ends_at
    assert trials(box) == {"notified": 0, "expired": 0, "skipped": 0}

    clock_of(box).set(ends - timedelta(days=TRIAL_NOTICE_DAYS, seconds=1))
    assert trials(box)["notified"] == 0
    clock_of(box).set(ends - timedelta(days=TRIAL_NOTICE_DAYS))
    assert trials(box) == {"notified": 1, "expired": 0, "skipped": 0}
    assert trials(box) == {"notified": 0, "expired": 0, "skipped": 0}  # JB1: the same run again
    assert mails(box, account.id) == ["trial_ending"]
    assert stored(box, account.id).status is AccountStatus.TRIAL
    assert stored(box, account.id).trial_notice_for == ends

    clock_of(box).set(ends - timedelta(seconds=1))
    assert trials(box)["expired"] == 0
    clock_of(box).set(ends)
    assert trials(box) == {"notified": 0, "expired": 1, "skipped": 0}
    assert trials(box) == {"notified": 0, "expired": 0, "skipped": 0}
    clock_of(box).advance(days=30)
    assert trials(box) == {"notified": 0, "expired": 0, "skipped": 0}
    assert mails(box, account.id) == ["trial_ending", "trial_expired"]
    ended = stored(box, account.id)
    assert ended.status is AccountStatus.TRIAL_EXPIRED and ended.trial_ends_at == ends
    assert ended.queue_entry() is None  # out of every queue
    (event,) = [e for e in repo_of(box).audit if e.event == "trial_expired"]
    assert (event.account_id, event.actor, event.at) == (account.id, "system", ends)


def test_a_trial_found_after_its_end_gets_only_the_expiry_mail(box: Container) -> None:
    account = signup(box)
    assert account.trial_ends_at is not None
    clock_of(box).set(account.trial_ends_at + timedelta(days=2))
    assert trials(box) == {"notified": 0, "expired": 1, "skipped": 0}
    assert mails(box, account.id) == ["trial_expired"]


def test_the_mails_are_in_the_account_language_with_the_date_and_the_way_to_subscribe(
    box: Container,
) -> None:
    french = signup(box, "fr@example.com", locale="fr")
    english = signup(box, "en@example.com", locale="en")
    assert french.trial_ends_at is not None
    clock_of(box).set(french.trial_ends_at - timedelta(days=TRIAL_NOTICE_DAYS))
    trials(box)
    clock_of(box).set(french.trial_ends_at)
    trials(box)
    by = {(m.account_id, m.template): m for m in repo_of(box).mail.values()}
    subject, body = render_mail(by[(french.id, "trial_ending")])
    day = french.trial_ends_at.day
    assert subject.startswith("Votre essai gratuit HelpDesk se termine le")
    assert f"{day} " in subject and "Facturation" in body
    assert f"{box.settings.console_url}/#/account" in body
    assert by[(french.id, "trial_ending")].to == "fr@example.com"
    subject, body = render_mail(by[(english.id, "trial_expired")])
    assert subject == "Your HelpDesk free trial has ended"
    assert "ended on" in body and f"{box.settings.console_url}/#/account" in body


def test_only_trials_are_due_and_a_subscribed_trial_is_skipped(box: Container) -> None:
    account = signup(box)
    assert account.trial_ends_at is not None
    repo = repo_of(box)
    box.billing.subscribe(with_card(box, account), "basic-monthly")
    clock_of(box).set(account.trial_ends_at + timedelta(days=1))
    assert repo.due_trials(box.clock.now(), 10) == []
    assert trials(box) == {"notified": 0, "expired": 0, "skipped": 0}
    assert stored(box, account.id).status is AccountStatus.ACTIVE


def test_a_trial_given_a_new_end_date_gets_a_new_notice(box: Container) -> None:
    account = signup(box)
    assert account.trial_ends_at is not None
    clock_of(box).set(account.trial_ends_at)
    trials(box)
    ended = stored(box, account.id)
    assert ended.status is AccountStatus.TRIAL_EXPIRED
    # a trial that comes back (support, reactivation) with a later end date is due again
    back = ended.evolve(
        status=AccountStatus.TRIAL, trial_ends_at=box.clock.now() + timedelta(days=7)
    )
    assert back.trial_step(box.clock.now()) is None
    assert back.trial_step(box.clock.now() + timedelta(days=4)) is TrialStep.NOTICE
    assert back.trial_step(box.clock.now() + timedelta(days=7)) is TrialStep.EXPIRE


def test_the_run_job_clock_pin_applies_to_the_trials_job(box: Container) -> None:
    account = signup(box)
    assert account.trial_ends_at is not None
    assert run_job("trials", account.trial_ends_at, box=box)["expired"] == 1
    assert box.clock.now() < account.trial_ends_at  # only that run was pinned


# --- the status rule ----------------------------------------------------------------------------
@pytest.mark.parametrize("status", list(AccountStatus))
def test_one_rule_says_what_each_status_may_do(status: AccountStatus) -> None:
    restricted = {
        AccountStatus.SUSPENDED: "account_suspended",
        AccountStatus.TRIAL_EXPIRED: "trial_expired",
    }
    assert status.refusal(essential=True) is None
    assert status.refusal(essential=False) == restricted.get(status)
    assert status.can_subscribe is (status in (AccountStatus.TRIAL, AccountStatus.TRIAL_EXPIRED))


# --- subscribing from trial_expired ---------------------------------------------------------------
def expire(box: Container, account: Account) -> Account:
    assert account.trial_ends_at is not None
    clock_of(box).set(account.trial_ends_at + timedelta(days=10))
    assert trials(box)["expired"] == 1
    return stored(box, account.id)


def test_subscribing_from_trial_expired_makes_it_active_with_a_period_from_payment(
    box: Container,
) -> None:
    account = expire(box, signup(box))
    caller = with_card(box, account)
    assert caller.account.status is AccountStatus.TRIAL_EXPIRED
    paid_at = box.clock.now()
    active = box.billing.subscribe(caller, "basic-monthly")
    assert active.status is AccountStatus.ACTIVE and active.plan == "basic-monthly"
    (invoice,) = repo_of(box).invoices.values()
    assert invoice.status is InvoiceStatus.PAID
    assert invoice.period_start == paid_at  # the period starts when it pays, not at trial end
    assert active.next_renewal_at == invoice.period_end and invoice.period_end > paid_at
    assert active.queue_entry() == ("renewal", invoice.period_end)
    with pytest.raises(Conflict):
        box.billing.subscribe(caller_of(box, active), "basic-monthly")


# --- over HTTP: the gate, the essential routes and the sign-in notice -----------------------------
class Http:
    def __init__(self, client: Client) -> None:
        self.client = client

    def __call__(
        self, method: str, path: str, body: Any = None, token: str | None = None, **headers: str
    ) -> tuple[int, Any]:
        all_headers = {"Content-Type": "application/json", **headers}
        if token:
            all_headers["Authorization"] = f"Bearer {token}"
        answer = self.client.http.request(
            method,
            path,
            headers=all_headers,
            body=json.dumps(body).encode() if body is not None else b"",
        )
        return answer.status_code, json.loads(answer.body) if answer.body else None


@pytest.fixture
def call(box: Container, chalice_app: Any) -> Iterator[Http]:
    with Client(chalice_app) as client:
        yield Http(client)


def signed_in_expired(box: Container, call: Http, locale: str = "en") -> tuple[str, Any]:
    account = signup(box, f"{locale}@example.com", locale=locale)
    expire(box, account)
    status, answer = call(
        "POST", "/login", {"email": f"{locale}@example.com", "password": PASSWORD}
    )
    assert status == 200, answer
    return str(answer["token"]), answer


def test_sign_in_tells_an_ended_trial_to_subscribe(box: Container, call: Http) -> None:
    _, answer = signed_in_expired(box, call)
    assert answer["account"]["status"] == "trial_expired"
    notice = answer["notice"]
    assert notice["code"] == "trial_expired" and notice["url"] == "/#/account"
    assert (
        notice["message"].startswith("Your free trial ended on")
        and "Subscribe" in notice["message"]
    )
    _, french = signed_in_expired(box, call, locale="fr")
    assert french["notice"]["message"].startswith("Votre essai gratuit s'est terminé le")


def test_a_running_trial_signs_in_without_a_notice(box: Container, call: Http) -> None:
    signup(box)
    status, answer = call("POST", "/login", {"email": "ada@example.com", "password": PASSWORD})
    assert status == 200 and answer["notice"] is None


def test_an_ended_trial_keeps_the_essential_routes(box: Container, call: Http) -> None:
    token, _ = signed_in_expired(box, call)
    assert call("GET", "/account", token=token)[1]["status"] == "trial_expired"
    assert call("GET", "/billing", token=token)[0] == 200
    assert call("GET", "/billing/invoices", token=token)[0] == 200
    status, patched = call("PATCH", "/account/profile", {"name": "Ada L."}, token=token)
    assert (status, patched["name"]) == (200, "Ada L.")
    new_password = "another long pass phrase"
    body = {
        "current_password": PASSWORD,
        "new_password": new_password,
        "confirm_password": new_password,
    }
    assert call("POST", "/account/password", body, token=token)[0] == 204
    status, again = call("POST", "/login", {"email": "en@example.com", "password": new_password})
    assert status == 200
    assert call("POST", "/logout", token=again["token"])[0] == 204


@pytest.fixture
def gated(box: Container, monkeypatch: pytest.MonkeyPatch) -> Iterator[Http]:
    """An app with one ordinary (non-essential) route, declared through ``endpoint``; the
    route registry is a throwaway list, so the real app's OpenAPI is untouched."""
    monkeypatch.setattr(http, "ROUTES", [])
    bp = Blueprint("gated")

    @http.endpoint(bp, "/tickets", "GET", tag="product", summary="A product route")
    def tickets(ctx: http.RequestContext) -> dict[str, Any]:
        return {"items": []}

    app = Chalice(app_name="gated")
    app.register_blueprint(bp)
    with Client(app) as client:
        yield Http(client)


def test_other_routes_answer_403_trial_expired_in_the_account_language(
    box: Container, call: Http, gated: Http
) -> None:
    token, _ = signed_in_expired(box, call, locale="fr")
    status, answer = gated("GET", "/tickets", token=token)
    assert status == 403
    assert answer["error"]["code"] == "trial_expired"
    assert answer["error"]["message"].startswith("Votre essai gratuit est terminé")
    status, answer = gated("GET", "/tickets", token=token, **{"Accept-Language": "en"})
    assert (status, answer["error"]["code"]) == (403, "trial_expired")
    assert "Subscribe to a plan" in answer["error"]["message"]


def test_the_same_route_works_for_a_trial_and_refuses_a_suspended_account(
    box: Container, call: Http, gated: Http
) -> None:
    account = signup(box)
    status, answer = call("POST", "/login", {"email": "ada@example.com", "password": PASSWORD})
    token = answer["token"]
    assert gated("GET", "/tickets", token=token) == (200, {"items": []})
    repo = repo_of(box)
    current = repo.accounts[account.id]
    repo.accounts[account.id] = current.evolve(status=AccountStatus.SUSPENDED)
    status, answer = gated("GET", "/tickets", token=token)
    assert (status, answer["error"]["code"]) == (403, "account_suspended")
