"""A year in the life of one account, over ``python -m devstack`` and its test clock.

One devstack subprocess on free loopback ports over a temporary data folder; time moves with
``PUT /_test/clock`` and the jobs run as an operator runs them (``python -m chalicelib.cli
run-job ...``, which reads the same clock from the table).  The account:

1. signs up (a free trial); the ``trials`` job mails "your trial ends in 3 days" once;
2. subscribes with card 4242 (on-session), then renews month by month;
3. meets a soft decline (4000000000000341 attaches, then every charge of it is declined:
   localstripe answers ``card_declined`` with no ``decline_code``, a soft decline, retried on
   the schedule) and is healed by a new 4242 card (the pending charge is paid at once);
4. meets a hard decline: localstripe cannot give a hard ``decline_code``, so the card is
   4000002500003155, which needs authentication: off-session that is the
   ``authentication_required`` decline, which stops retries like every hard decline, and the
   account is suspended once the ``HARD_DECLINE_GRACE_DAYS`` grace period is over; it stays
   suspended for a while, then pays with a new 4242 card and starts a new period from then;
5. cancels.

Checked at the end: the statuses on the way, the invoices (count, gapless numbers, none paid
for suspended time), and every mail sent once (receipts once per payment).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections import Counter
from collections.abc import Iterator
from datetime import datetime, timedelta
from itertools import pairwise
from typing import Any

import pytest

from chalicelib.config import settings_from_env
from chalicelib.domain.ids import parse_iso, utc_iso
from chalicelib.i18n import translate
from chalicelib.seed import ALL_DEMO_EMAILS
from chalicelib.wiring import build_container
from devstack.running import ROOT, RunningDevstack
from devstack.stack import local_environment
from tests.conftest import unique_email
from tests.helpers import create_payment_method

pytestmark = pytest.mark.e2e
PASSWORD = "a year of pass phrases"
GOOD, SOFT, NEEDS_AUTH = "4242424242424242", "4000000000000341", "4000002500003155"


class Year:
    """The devstack, the clock, the CLI and the account's session."""

    def __init__(self, stack: RunningDevstack) -> None:
        self.stack = stack
        self.env = {
            **stack.environment(),
            **local_environment(
                stack.ports["LOCAL_AWS_PORT"],
                stack.ports["LOCAL_STRIPE_PORT"],
                stack.ports["LOCAL_VIES_PORT"],
            ),
        }
        self.settings = settings_from_env({**os.environ, **self.env})
        self.email = unique_email("year")
        self.token = ""
        self.now = datetime.now().astimezone().replace(microsecond=0)

    def set_clock(self, at: datetime, *, login: bool = True) -> None:
        self.now = at
        status, body = self.stack.call("PUT", "/_test/clock", {"now": utc_iso(at)})
        assert status == 200, body
        if login:
            self.login()  # months pass: the session has long expired

    def login(self) -> None:
        status, body = self.stack.call(
            "POST", "/login", {"email": self.email, "password": PASSWORD}
        )
        assert status == 200, body
        self.token = body["token"]

    def call(self, method: str, path: str, body: Any = None) -> tuple[int, Any]:
        return self.stack.call(method, path, body, self.token)

    def job(self, name: str) -> dict[str, Any]:
        done = subprocess.run(
            [sys.executable, "-m", "chalicelib.cli", "run-job", name],
            cwd=ROOT,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=90,
            check=True,
        )
        report: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
        return report

    def billing(self) -> dict[str, Any]:
        status, body = self.call("GET", "/billing")
        assert status == 200, body
        return dict(body)

    def status(self) -> str:
        return str(self.billing()["status"])

    def new_card(self, number: str) -> tuple[int, Any]:
        method = create_payment_method(self.settings, number, exp_year=self.now.year + 4)
        return self.call("PUT", "/billing/card", {"payment_method_id": method})

    def renew(self) -> dict[str, Any]:
        """Move to just after the next renewal date and run the renewals job."""
        due = parse_iso(self.billing()["next_renewal_at"])
        self.set_clock(due + timedelta(minutes=5))
        return self.job("renewals")

    def invoices(self) -> list[dict[str, Any]]:
        status, body = self.call("GET", "/billing/invoices?limit=100")
        assert status == 200, body
        items = body["items"]
        return [self.call("GET", f"/billing/invoices/{i['id']}")[1] for i in reversed(items)]

    def mail_subjects(self) -> Counter[str]:
        self.job("outbox")
        return Counter(
            m["subject"] for m in self.stack.sent_mail() if self.email in str(m["destinations"])
        )


def sent(subjects: Counter[str], template: str) -> int:
    """How many mails of ``template`` were sent (its subject up to its first parameter)."""
    fixed = translate(f"mail.{template}.subject", "en").split("{")[0]
    return sum(n for subject, n in subjects.items() if subject.startswith(fixed))


@pytest.fixture(scope="module")
def year(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Year]:
    stack = RunningDevstack(tmp_path_factory.mktemp("year")).start()
    try:
        yield Year(stack)
    finally:
        stack.call("DELETE", "/_test/clock")
        if stack.process is not None and stack.process.poll() is None:
            assert stack.stop() == 0


def test_a_year_in_the_life_of_an_account(year: Year) -> None:
    start = year.now
    status, body = year.stack.call("PUT", "/_test/clock", {"now": utc_iso(start)})
    assert status == 200 and body["frozen"] is True
    body = {"email": year.email, "password": PASSWORD, "name": "Year", "country": "FR"}
    status, signed = year.stack.call("POST", "/signup", body)
    assert status == 201, signed
    trial_ends = parse_iso(signed["account"]["trial_ends_at"])
    year.login()
    assert year.status() == "trial"

    # 1. three days before the end of the trial: the notice, once
    year.set_clock(trial_ends - timedelta(days=3, hours=-1))
    year.job("trials")
    year.job("trials")
    assert sent(year.mail_subjects(), "trial_ending") == 1

    # 2. subscribe with 4242, then two monthly renewals
    assert year.new_card(GOOD)[0] == 200
    status, subscribed = year.call("POST", "/billing/subscribe", {"plan": "basic-monthly"})
    assert status == 200, subscribed
    assert subscribed["status"] == "active"
    for _ in range(2):
        year.renew()
        assert year.status() == "active" and year.billing()["pending_payment"] is None

    # 3. a soft decline, healed by a new card at once
    assert year.new_card(SOFT)[0] == 200  # attaches; every charge of it is declined
    year.renew()
    page = year.billing()
    assert page["status"] == "past_due"
    (owed,) = page["pending_payment"]["items"]
    assert owed["last_failure"]["code"] == "card_declined" and owed["next_retry_at"]
    status, healed = year.new_card(GOOD)
    assert status == 200, healed
    assert healed["pending_payment"] is None  # paid at once with the new card
    assert year.status() == "active"
    year.renew()
    assert year.status() == "active"

    # 4. a hard decline: retries stop, suspended after the grace period, then back by paying
    assert year.new_card(NEEDS_AUTH)[0] == 200
    year.renew()
    page = year.billing()
    assert page["status"] == "past_due"
    (owed,) = page["pending_payment"]["items"]
    assert owed["next_retry_at"] is None and owed["suspends_at"], owed  # retries stopped
    suspends_at = parse_iso(owed["suspends_at"])
    year.set_clock(suspends_at + timedelta(minutes=5))
    year.job("retry-pending")
    assert year.status() == "suspended"
    suspended_from = suspends_at
    year.set_clock(suspends_at + timedelta(days=20))  # three weeks without service
    year.job("renewals")
    year.job("retry-pending")
    assert year.status() == "suspended"
    back_at = year.now
    status, paid = year.new_card(GOOD)
    assert status == 200, paid
    assert paid["pending_payment"] is None
    page = year.billing()
    assert page["status"] == "active"
    assert parse_iso(page["next_renewal_at"]) > back_at + timedelta(days=27)  # a new period
    year.renew()
    assert year.status() == "active"

    # 5. cancel; nothing is billed after that (read from the table: a cancelled account
    # cannot sign in)
    invoices = year.invoices()
    account_id = year.call("GET", "/account")[1]["id"]
    status, cancelled = year.call("POST", "/account/cancel", {"password": PASSWORD})
    assert status == 200, cancelled
    assert cancelled["status"] == "cancelled"
    year.set_clock(year.now + timedelta(days=62), login=False)
    year.job("renewals")
    year.job("retry-pending")
    repo = build_container(year.settings).repo
    stored = repo.get_account(account_id)
    assert stored is not None and stored.status.value == "cancelled"
    assert len(repo.list_invoices(account_id, 100, None)[0]) == len(invoices)

    # the invoices: numbers gapless per year over every account of the stack (the demo
    # accounts renew too), one paid invoice per period, none for suspended time
    every: list[str] = []
    for email in (year.email, *ALL_DEMO_EMAILS):
        owner = repo.login_lookup(email, []).account_id
        if owner is not None:
            every += [i.number for i in repo.list_invoices(owner, 100, None)[0]]
    by_year: dict[str, list[int]] = {}
    for number in every:
        _, issued, sequence = number.split("-")
        by_year.setdefault(issued, []).append(int(sequence))
    for issued, sequences in by_year.items():
        top = repo.counter_value(f"invoice#{issued}")
        assert sorted(sequences) == list(range(1, top + 1)), (issued, sorted(sequences))
    statuses = Counter(i["status"] for i in invoices)
    # subscribe, 2 renewals, the soft-declined one (paid), 1 renewal, the hard-declined one
    # (credited by a credit note: it covered the suspended time), the new period, 1 renewal
    assert statuses == Counter({"paid": 7, "credited": 1}), [
        (i["number"], i["status"]) for i in invoices
    ]
    for invoice in invoices:
        if invoice["status"] != "paid":
            continue
        begins, ends = parse_iso(invoice["period_start"]), parse_iso(invoice["period_end"])
        assert ends <= suspended_from or begins >= back_at - timedelta(minutes=1), invoice
    paid_periods = sorted(
        (parse_iso(i["period_start"]), parse_iso(i["period_end"]))
        for i in invoices
        if i["status"] == "paid"
    )
    for (_, end), (begin, _) in pairwise(paid_periods):
        assert begin >= end - timedelta(minutes=1)  # no period billed twice

    # every mail once; one receipt per payment
    subjects = year.mail_subjects()
    assert set(subjects.values()) == {1}, subjects  # receipts and failures name the invoice
    expected = {
        "verify_email": 1,  # sign-up's address verification
        "trial_ending": 1,
        "payment_receipt": statuses["paid"],
        "payment_failed": 2,  # the soft decline, the hard decline
        "account_suspended": 1,
        "account_cancelled": 1,
    }
    assert {t: sent(subjects, t) for t in expected} == expected, subjects
    assert sum(subjects.values()) == sum(expected.values()), subjects
