"""Mail under faults, over the real adapters: the SES mailer's classification against the
embedded moto server and a loopback stub (throttled, 5xx, hanging, resetting), SES down for a
simulated day then up (F11: every mail sent once, none failed) over the DynamoDB outbox, and
the ``requeue-failed-mail`` operator command."""

from __future__ import annotations

import contextlib
import io
import json
import socket
import threading
import time
import urllib.request
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from msgspec.structs import replace

from chalicelib.adapters.ses import SesMailer
from chalicelib.cli import main as cli
from chalicelib.config import Settings
from chalicelib.domain.account import AccountChange, MailStatus
from chalicelib.services.mail import new_mail
from chalicelib.services.outbox import OutboxRelay
from chalicelib.services.ports import MailDeliveryError
from chalicelib.wiring import Container
from devstack.stack import free_port
from tests.conftest import unique_email

LOOPBACK = "127.0.0.1"


def sent_to(stack: Any, address: str) -> list[dict[str, Any]]:
    with urllib.request.urlopen(f"{stack.aws_url}/moto-api/data.json") as answer:
        messages = json.load(answer)["ses"]["Message"]
    return [m for m in messages if address in m["destinations"]["ToAddresses"]]


# --- the mailer's classification -------------------------------------------------------------
def test_an_invalid_address_is_permanent(settings: Settings) -> None:
    with pytest.raises(MailDeliveryError) as error:
        SesMailer(settings).send("not an address", "s", "b")
    assert (error.value.reason, error.value.permanent) == ("InvalidParameterValue", True)


def test_an_unverified_sender_is_permanent(settings: Settings) -> None:
    mailer = SesMailer(replace(settings, ses_sender="nobody@unverified.example.com"))
    with pytest.raises(MailDeliveryError) as error:
        mailer.send(unique_email(), "s", "b")
    assert (error.value.reason, error.value.permanent) == ("MessageRejected", True)


class StubSes:
    """A loopback SES that misbehaves: ``mode`` is throttle, quota, server, hang or reset."""

    def __init__(self) -> None:
        self.mode = "throttle"
        self.requests = 0
        stub = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                """Quiet."""

            def do_POST(self) -> None:
                self.rfile.read(int(self.headers.get("Content-Length") or 0))
                stub.requests += 1
                if stub.mode == "hang":
                    time.sleep(1.5)
                    return
                if stub.mode == "reset":
                    self.connection.setsockopt(
                        socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00"
                    )
                    self.connection.close()
                    return
                status, code = {
                    "throttle": (400, "Throttling"),
                    "quota": (400, "ThrottlingException"),
                    "paused": (400, "AccountSendingPausedException"),
                    "server": (500, "InternalFailure"),
                    "rejected": (400, "MessageRejected"),
                }[stub.mode]
                body = (
                    "<ErrorResponse><Error><Type>Sender</Type>"
                    f"<Code>{code}</Code><Message>stub</Message></Error>"
                    "<RequestId>stub</RequestId></ErrorResponse>"
                ).encode()
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", "text/xml")
                    self.send_header("Content-Length", str(len(body)))
                    self.end_headers()
                    self.wfile.write(body)
                except OSError:
                    pass

        self.server = ThreadingHTTPServer((LOOPBACK, 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(
            target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self.thread.start()

    @property
    def url(self) -> str:
        return f"http://{LOOPBACK}:{self.server.server_address[1]}"

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(5)


@pytest.fixture
def stub_ses() -> Iterator[StubSes]:
    stub = StubSes()
    yield stub
    stub.stop()


@pytest.mark.parametrize(
    ("mode", "reason", "permanent"),
    [
        ("throttle", "Throttling", False),
        ("quota", "ThrottlingException", False),
        ("paused", "AccountSendingPausedException", False),  # an operator fixes it: retry
        ("server", "InternalFailure", False),
        ("hang", "ReadTimeoutError", False),
        ("reset", None, False),
        ("rejected", "MessageRejected", True),
    ],
)
def test_the_stub_ses_faults_are_classified(
    settings: Settings, stub_ses: StubSes, mode: str, reason: str | None, permanent: bool
) -> None:
    stub_ses.mode = mode
    mailer = SesMailer(
        replace(settings, aws_endpoint_url=stub_ses.url),
        connect_timeout=0.5,
        read_timeout=0.3,
        max_attempts=1,
    )
    with pytest.raises(MailDeliveryError) as error:
        mailer.send(unique_email(), "s", "b")
    assert error.value.permanent is permanent
    if reason is not None:
        assert error.value.reason == reason
    else:  # botocore names a reset after sending one way or another; never permanent
        assert error.value.reason in {
            "ConnectionClosedError",
            "ProtocolError",
            "EndpointConnectionError",
        }
    assert stub_ses.requests >= 1


def test_an_unreachable_endpoint_is_temporary(settings: Settings) -> None:
    mailer = SesMailer(
        replace(settings, aws_endpoint_url=f"http://{LOOPBACK}:{free_port()}"), max_attempts=0
    )
    with pytest.raises(MailDeliveryError) as error:
        mailer.send(unique_email(), "s", "b")
    assert (error.value.reason, error.value.permanent) == ("EndpointConnectionError", False)


# --- F11 over the DynamoDB outbox and the real SES mailer --------------------------------------
class SwitchableSes:
    """The real SesMailer, pointed at a closed port while SES is "down"."""

    def __init__(self, settings: Settings) -> None:
        self.down = SesMailer(
            replace(settings, aws_endpoint_url=f"http://{LOOPBACK}:{free_port()}"),
            connect_timeout=0.5,
            max_attempts=0,
        )
        self.real = SesMailer(settings)
        self.is_up = False
        self.refusals = 0

    def send(self, to: str, subject: str, body: str) -> str:
        if not self.is_up:
            try:
                return self.down.send(to, subject, body)
            except MailDeliveryError:
                self.refusals += 1
                raise
        return self.real.send(to, subject, body)

    def ping(self) -> None:
        (self.real if self.is_up else self.down).ping()


def test_ses_down_for_a_day_then_up_sends_every_mail_once(box: Container, stack: Any) -> None:
    mailer = SwitchableSes(box.settings)
    relay = OutboxRelay(box.repo, mailer, box.clock, box.settings)
    addresses = [unique_email("f11") for _ in range(3)]
    ids = []
    for address in addresses:
        mail = new_mail(
            to=address,
            template="password_changed",
            locale="en",
            now=box.clock.now(),
            params={"name": "Ada", "at": "now", "support_email": "s@example.com"},
        )
        box.repo.commit(AccountChange(mails=(mail,)))
        ids.append(mail.id)
    for _ in range(24 * 2):  # a day, the relay every 30 minutes
        relay.run()
        box.clock.advance(minutes=30)  # type: ignore[attr-defined]
    assert mailer.refusals >= 3 * 24  # retried all day: hourly once the backoff is capped
    stored = [m for m in (box.repo.get_mail(i) for i in ids) if m is not None]
    assert len(stored) == len(ids)
    assert {m.status for m in stored} == {MailStatus.PENDING}
    assert all(m.last_error == "EndpointConnectionError" for m in stored)
    assert all(sent_to(stack, a) == [] for a in addresses)
    mailer.is_up = True
    for _ in range(3):
        relay.run()
        box.clock.advance(minutes=30)  # type: ignore[attr-defined]
    assert [len(sent_to(stack, a)) for a in addresses] == [1, 1, 1]
    assert {getattr(box.repo.get_mail(i), "status", None) for i in ids} == {MailStatus.SENT}


# --- the operator command --------------------------------------------------------------------
def test_requeue_failed_mail_puts_it_back_and_the_relay_sends_it_once(
    box: Container, stack: Any
) -> None:
    address = unique_email("requeue")
    mail = new_mail(
        to=address,
        template="password_changed",
        locale="fr",
        now=box.clock.now(),
        params={"name": "Ada", "at": "hier", "support_email": "s@example.com"},
    )
    box.repo.commit(AccountChange(mails=(mail,)))
    rejecting = SesMailer(replace(box.settings, ses_sender="nobody@unverified.example.com"))
    assert OutboxRelay(box.repo, rejecting, box.clock, box.settings).run().failed >= 1
    assert getattr(box.repo.get_mail(mail.id), "status", None) is MailStatus.FAILED
    assert mail.id in {m.id for m in box.repo.failed_mail(1000)}

    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        assert cli(["requeue-failed-mail", "--id", mail.id, "--id", "no-such-mail"]) == 0
    assert json.loads(out.getvalue()) == {"requeued": [mail.id], "skipped": ["no-such-mail"]}
    assert box.outbox_relay.run().sent >= 1
    assert len(sent_to(stack, address)) == 1
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        cli(["requeue-failed-mail", "--id", mail.id])
    assert json.loads(out.getvalue()) == {"requeued": [], "skipped": [mail.id]}  # sent: kept
    box.outbox_relay.run()
    assert len(sent_to(stack, address)) == 1
