"""``make run``'s program over its lifetime: concurrency, restarts, a second start, crashes.

Each test runs ``python -m devstack`` in a subprocess (``devstack/running.py``) on free
loopback ports over a temporary data folder (``DEVSTACK_DATA_DIR``):

* 16 concurrent sign-ups of one email: exactly one 201, fifteen 409, no 5xx; 10 parallel
  subscribes of one account: one 200 (one charge, one paid invoice), the rest 409;
* ``/health`` over HTTP: 200 with every dependency ``ok``;
* a second devstack on the same data folder, or on ports in use, says it is already running
  and exits with status 3, leaving the first one serving;
* stop (SIGTERM) and start again on the same data: the account signs in with its password
  (changed before the stop, which mailed a notice),
  its card is still in the embedded Stripe, the sent mail is still listed;
* ``kill -9`` of ``chalice local``: the devstack stops and frees every port; ``kill -9`` of the
  devstack: ``chalice local`` goes too;
* saved data it cannot read: it says so, exits 1 and leaves the files as they were.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
import urllib.request
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from devstack.running import ROOT, RunningDevstack, port_open
from devstack.stack import local_environment
from tests.conftest import unique_email

pytestmark = pytest.mark.e2e
PASSWORD = "e2e pass phrase"
NEW_PASSWORD = "e2e newer phrase"


@pytest.fixture(scope="module")
def running(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningDevstack]:
    stack = RunningDevstack(tmp_path_factory.mktemp("devstack")).start()
    yield stack
    if stack.process is not None and stack.process.poll() is None:
        assert stack.stop() == 0


def wait_for(condition: Callable[[], bool], seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.2)
    return False


def signup(stack: RunningDevstack, email: str) -> tuple[int, object]:
    body = {"email": email, "password": PASSWORD, "name": "E2E", "country": "FR"}
    return stack.call("POST", "/signup", body)


def test_health_reports_every_dependency(running: RunningDevstack) -> None:
    assert running.call("GET", "/health") == (
        200,
        {"status": "ok", "checks": {"dynamodb": "ok", "ses": "ok", "stripe": "ok"}},
    )


def test_sixteen_sign_ups_of_one_email_make_one_account(running: RunningDevstack) -> None:
    email = unique_email("twin")
    start = threading.Barrier(16)
    statuses: Counter[int] = Counter()

    def one() -> None:
        start.wait()
        statuses[signup(running, email)[0]] += 1

    threads = [threading.Thread(target=one) for _ in range(16)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    assert statuses == Counter({201: 1, 409: 15})
    assert running.call("POST", "/login", {"email": email, "password": PASSWORD})[0] == 200


def test_ten_parallel_subscribes_charge_once(running: RunningDevstack) -> None:
    from chalicelib.config import settings_from_env
    from tests.helpers import create_payment_method

    status, body = signup(running, unique_email("subscribe"))
    assert status == 201
    token = body["token"]  # type: ignore[index]
    env = local_environment(
        running.ports["LOCAL_AWS_PORT"],
        running.ports["LOCAL_STRIPE_PORT"],
        running.ports["LOCAL_VIES_PORT"],
    )
    method = create_payment_method(settings_from_env({**os.environ, **env}), "4242424242424242")
    assert running.call("PUT", "/billing/card", {"payment_method_id": method}, token)[0] == 200
    plan = running.call("GET", "/plans")[1]["items"][0]["id"]
    start = threading.Barrier(10)
    statuses: Counter[int] = Counter()

    def one() -> None:
        start.wait()
        statuses[running.call("POST", "/billing/subscribe", {"plan": plan}, token)[0]] += 1

    threads = [threading.Thread(target=one) for _ in range(10)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    assert statuses[200] == 1 and sum(statuses.values()) == 10, statuses
    assert set(statuses) <= {200, 409}, statuses
    invoices = running.call("GET", "/billing/invoices", token=token)[1]["items"]
    assert len(invoices) == 1 and invoices[0]["status"] == "paid", invoices


def test_a_second_start_says_it_is_already_running(
    running: RunningDevstack, tmp_path: Path
) -> None:
    same_folder = RunningDevstack(running.data_dir, ports=dict(running.ports))
    twice = subprocess.run(
        [sys.executable, "-m", "devstack"],
        cwd=ROOT,
        env=same_folder.environment(),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert twice.returncode == 3
    assert "already running" in twice.stderr and str(running.pid) in twice.stderr

    other_folder = RunningDevstack(tmp_path / "other", ports=dict(running.ports))
    on_same_ports = subprocess.run(
        [sys.executable, "-m", "devstack"],
        cwd=ROOT,
        env=other_folder.environment(),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert on_same_ports.returncode == 3
    assert "already in use" in on_same_ports.stderr
    assert running.call("GET", "/health")[0] == 200  # the first one is untouched


def test_a_restart_keeps_accounts_mail_and_cards(tmp_path: Path) -> None:
    from chalicelib.config import settings_from_env
    from tests.helpers import create_payment_method

    first = RunningDevstack(tmp_path / "data").start()
    email = unique_email("restart")
    try:
        status, body = signup(first, email)
        assert status == 201
        token = body["token"]  # type: ignore[index]
        env = local_environment(
            first.ports["LOCAL_AWS_PORT"],
            first.ports["LOCAL_STRIPE_PORT"],
            first.ports["LOCAL_VIES_PORT"],
        )
        settings = settings_from_env({**os.environ, **env})
        method = create_payment_method(settings, "4242424242424242")
        status, card = first.call("PUT", "/billing/card", {"payment_method_id": method}, token)
        assert status == 200, card
        change = {
            "current_password": PASSWORD,
            "new_password": NEW_PASSWORD,
            "confirm_password": NEW_PASSWORD,
        }
        assert first.call("POST", "/account/password", change, token)[0] == 204  # mails a notice
        outbox = subprocess.run(
            [sys.executable, "-m", "chalicelib.cli", "run-job", "outbox"],
            cwd=ROOT,
            env={**first.environment(), **env},
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert outbox.returncode == 0, outbox.stderr
        mail_before = [m for m in first.sent_mail() if email in m["destinations"]["ToAddresses"]]
        assert mail_before
    finally:
        assert first.stop() == 0
    assert first.ports_free()

    second = RunningDevstack(tmp_path / "data", ports=dict(first.ports)).start()
    try:
        status, body = second.call("POST", "/login", {"email": email, "password": NEW_PASSWORD})
        assert status == 200, body
        billing = second.call("GET", "/billing", token=body["token"])[1]
        assert billing["card"]["last4"] == "4242", billing
        mail_after = [m for m in second.sent_mail() if email in m["destinations"]["ToAddresses"]]
        assert mail_after == mail_before
        request = urllib.request.Request(
            f"{settings.stripe_api_base}/v1/payment_methods/{method}",
            headers={"Authorization": f"Bearer {settings.stripe_secret_key}"},
        )
        with urllib.request.urlopen(request, timeout=10) as answer:
            assert answer.status == 200  # the card is still in the embedded Stripe
        assert signup(second, email)[0] == 409  # the email marker came back too
    finally:
        assert second.stop() == 0


def test_reset_starts_empty(tmp_path: Path) -> None:
    first = RunningDevstack(tmp_path / "data").start()
    email = unique_email("reset")
    try:
        assert signup(first, email)[0] == 201
    finally:
        first.stop()
    again = RunningDevstack(tmp_path / "data", reset=True).start()
    try:
        assert again.call("POST", "/login", {"email": email, "password": PASSWORD})[0] == 401
        login = {"email": "paid@example.com", "password": "HelpDesk-demo-2026"}
        assert again.call("POST", "/login", login)[0] == 200  # the demo accounts are back
    finally:
        again.stop()


def test_a_killed_chalice_stops_the_devstack(tmp_path: Path) -> None:
    stack = RunningDevstack(tmp_path / "data").start()
    try:
        chalice = stack.chalice_pid()
        assert chalice is not None
        os.kill(chalice, signal.SIGKILL)
        assert stack.process is not None
        assert stack.process.wait(30) == 1
        assert stack.ports_free()
        # the whole log: a job or the stream poller cut off mid-request may log its traceback
        # after the message, past the last 30 lines (seen in a clean-clone run)
        assert "chalice local exited" in stack.log_tail(lines=100_000)
    finally:
        stack.kill()


def test_a_killed_devstack_takes_chalice_with_it(tmp_path: Path) -> None:
    stack = RunningDevstack(tmp_path / "data").start()
    chalice = stack.chalice_pid()
    assert chalice is not None
    stack.kill()

    def gone() -> bool:
        try:
            os.kill(chalice, 0)
        except ProcessLookupError:
            return True
        return Path(f"/proc/{chalice}/stat").read_text().split()[2] == "Z"

    assert wait_for(gone, 10), "chalice local outlived the devstack"
    assert wait_for(lambda: not port_open(stack.ports["PORT"]), 10)
    assert stack.ports_free()


def test_unreadable_data_is_kept_and_reported(tmp_path: Path) -> None:
    folder = tmp_path / "data"
    folder.mkdir()
    (folder / "dynamodb.json").write_text("{not json")
    stack = RunningDevstack(folder)
    assert stack.launch().wait(90) == 1
    assert "could not restore" in stack.log_tail()
    assert (folder / "dynamodb.json").read_text() == "{not json"
    assert stack.ports_free()
    stack.kill()
