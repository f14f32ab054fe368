"""``make run``'s program (``python -m devstack``) end to end: it serves /health quickly, the
demo accounts exist, a person can do the foundation tasks over plain HTTP, the scheduler's
outbox job delivers mail, and SIGTERM stops everything it started."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from devstack.stack import free_port

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.e2e


class Http:
    def __init__(self, base: str) -> None:
        self.base = base

    def __call__(
        self,
        method: str,
        path: str,
        body: Any = None,
        token: str | None = None,
    ) -> tuple[int, Any]:
        headers = {"Content-Type": "application/json"}
        if token:
            headers["Authorization"] = f"Bearer {token}"
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(
            self.base + path, data=data, headers=headers, method=method
        )
        try:
            with urllib.request.urlopen(request, timeout=10) as answer:
                raw = answer.read()
                return answer.status, json.loads(raw) if raw else None
        except urllib.error.HTTPError as error:
            raw = error.read()
            return error.code, json.loads(raw) if raw else None


@pytest.fixture(scope="module")
def running(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[tuple[Http, subprocess.Popen[bytes], dict[str, str]]]:
    ports = {
        "PORT": str(free_port()),
        "LOCAL_AWS_PORT": str(free_port()),
        "LOCAL_STRIPE_PORT": str(free_port()),
        "LOCAL_VIES_PORT": str(free_port()),
    }
    env = {
        **os.environ,
        **ports,
        "AWS_EC2_METADATA_DISABLED": "true",
        "DEVSTACK_DATA_DIR": str(tmp_path_factory.mktemp("devstack")),
    }
    process = subprocess.Popen(
        [sys.executable, "-m", "devstack"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    http = Http(f"http://127.0.0.1:{ports['PORT']}")
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if http("GET", "/health")[0] == 200:
                break
        except OSError:
            pass
        assert process.poll() is None, "devstack exited early"
        time.sleep(0.3)
    else:
        process.kill()
        pytest.fail("/health was not served within 60 s")
    yield http, process, ports
    if process.poll() is None:
        process.kill()
        process.wait(10)


def test_a_person_can_use_the_foundation_with_plain_http(running: Any) -> None:
    http, _, ports = running
    status, body = http(
        "POST", "/login", {"email": "trial@example.com", "password": "HelpDesk-demo-2026"}
    )
    assert status == 200 and body["account"]["status"] == "trial"
    status, body = http(
        "POST", "/login", {"email": "cancelled-trial@example.com", "password": "HelpDesk-demo-2026"}
    )
    assert status == 403 and body["error"]["code"] == "account_cancelled"

    demo = {"password": "HelpDesk-demo-2026"}
    status, body = http("POST", "/login", {"email": "paid@example.com", **demo})
    assert status == 200 and body["account"]["status"] == "active", body
    invoices = http("GET", "/billing/invoices", token=body["token"])[1]["items"]
    assert len(invoices) == 3 and {i["status"] for i in invoices} == {"paid"}
    status, body = http("POST", "/login", {"email": "pastdue@example.com", **demo})
    assert status == 200 and body["account"]["status"] == "past_due", body
    assert len(body["pending_payment"]["items"]) == 1
    status, body = http("POST", "/login", {"email": "eu-business@example.com", **demo})
    billing = http("GET", "/billing", token=body["token"])[1]
    assert billing["vat"] == {"applicable": True, "vat_id": "FR40303265045", "status": "valid"}
    status, body = http("POST", "/login", {"email": "cancelled-paid@example.com", **demo})
    assert status == 403 and body["error"]["code"] == "account_cancelled"

    email = f"e2e-{free_port()}@example.com"
    status, body = http(
        "POST",
        "/signup",
        {"email": email, "password": "e2e pass phrase", "name": "E2E", "country": "FR"},
    )
    assert status == 201
    first = body["token"]
    _, body = http("POST", "/login", {"email": email, "password": "e2e pass phrase"})
    second = body["token"]
    status, body = http("PATCH", "/account/profile", {"name": "E2E Renamed"}, first)
    assert status == 200 and body["name"] == "E2E Renamed"
    status, _ = http(
        "POST",
        "/account/password",
        {
            "current_password": "e2e pass phrase",
            "new_password": "e2e new phrase",
            "confirm_password": "e2e new phrase",
        },
        first,
    )
    assert status == 204
    assert http("GET", "/account", token=second)[0] == 401
    assert http("GET", "/account", token=first)[0] == 200

    cli = subprocess.run(
        [sys.executable, "-m", "chalicelib.cli", "run-job", "outbox"],
        cwd=ROOT,
        env={**os.environ, **ports},
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    assert json.loads(cli.stdout.strip().splitlines()[-1])["sent"] >= 1
    aws = f"http://127.0.0.1:{ports['LOCAL_AWS_PORT']}/moto-api/data.json"
    with urllib.request.urlopen(aws) as answer:
        messages = json.load(answer)["ses"]["Message"]
    assert any(email in m["destinations"]["ToAddresses"] for m in messages)


def test_sigterm_stops_every_child(running: Any) -> None:
    http, process, _ = running
    process.send_signal(signal.SIGTERM)
    assert process.wait(30) == 0
    with pytest.raises(OSError):
        http("GET", "/health")
