"""New mail from the table's stream over the embedded moto: the poller ``make run`` runs (as
Lambda's event source does) hands new outbox items to ``app.outbox_stream``, which sends
each once; the sweeper's idle run is one GetItem (no index Query)."""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Iterator
from typing import Any

import pytest
from msgspec.structs import replace

from chalicelib.config import Settings
from chalicelib.domain.account import AccountChange, MailStatus
from chalicelib.jobs.run import NEW_MAIL_FILTER
from chalicelib.services.mail import new_mail
from chalicelib.wiring import Container, build_container
from devstack.streams import StreamPoller, matches
from tests.integration.conftest import polling


def queue_mail(box: Container) -> str:
    mail = new_mail(
        to="stream@example.com",
        template="password_changed",
        locale="en",
        now=box.clock.now(),
        params={"name": "Ada", "at": "now", "support_email": "s@example.com"},
    )
    box.repo.commit(AccountChange(mails=(mail,)))
    return mail.id


def stream_event(mail_id: str) -> dict[str, Any]:
    """A Lambda event of one INSERT record of an outbox item (as the event source sends)."""
    return {
        "Records": [
            {
                "eventID": "1",
                "eventName": "INSERT",
                "eventSource": "aws:dynamodb",
                "eventVersion": "1.1",
                "awsRegion": "us-east-1",
                "eventSourceARN": "arn:aws:dynamodb:us-east-1:1:table/t/stream/x",
                "dynamodb": {
                    "ApproximateCreationDateTime": time.time(),
                    "Keys": {"pk": {"S": f"OUTBOX#{mail_id}"}, "sk": {"S": "OUTBOX"}},
                    "NewImage": {
                        "pk": {"S": f"OUTBOX#{mail_id}"},
                        "sk": {"S": "OUTBOX"},
                        "kind": {"S": "outbox"},
                        "status": {"S": "pending"},
                    },
                    "SequenceNumber": "1",
                    "SizeBytes": 100,
                    "StreamViewType": "NEW_IMAGE",
                },
            }
        ]
    }


@pytest.fixture
def poller(box: Container, chalice_app: Any) -> Iterator[StreamPoller]:
    import app as lambda_app

    with polling(box.settings, lambda_app.outbox_stream, NEW_MAIL_FILTER) as started:
        yield started


def test_a_new_mail_leaves_within_a_second_from_the_stream(
    box: Container, poller: StreamPoller
) -> None:
    mail_id = queue_mail(box)
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        mail = box.repo.get_mail(mail_id)
        if mail is not None and mail.status is MailStatus.SENT:
            break
        time.sleep(0.05)
    mail = box.repo.get_mail(mail_id)
    assert mail is not None and mail.status is MailStatus.SENT and mail.attempts == 1
    assert mail.sent_at is not None
    assert poller.delivered >= 1


def test_the_stream_handler_sends_a_mail_once_whatever_the_duplicates(
    box: Container, chalice_app: Any
) -> None:
    import app as lambda_app

    mail_id = queue_mail(box)
    first = lambda_app.outbox_stream(stream_event(mail_id), None)
    again = lambda_app.outbox_stream(stream_event(mail_id), None)  # delivered twice
    assert (first["sent"], again["sent"], again["skipped"]) == (1, 0, 1)
    mail = box.repo.get_mail(mail_id)
    assert mail is not None and mail.status is MailStatus.SENT and mail.attempts == 1
    other = stream_event(mail_id)
    other["Records"][0]["eventName"] = "MODIFY"  # not a new item: ignored by the handler
    assert lambda_app.outbox_stream(other, None) == {}


def test_the_filter_passes_new_outbox_items_only() -> None:
    record = stream_event("m")["Records"][0]
    assert matches(NEW_MAIL_FILTER, record)
    assert not matches(NEW_MAIL_FILTER, {**record, "eventName": "MODIFY"})
    account = {**record["dynamodb"], "NewImage": {"kind": {"S": "account"}}}
    assert not matches(NEW_MAIL_FILTER, {**record, "dynamodb": account})


def test_an_idle_sweep_is_one_get_item_and_no_query(
    settings: Settings, box: Container, calls: Counter[str]
) -> None:
    streamed = build_container(replace(settings, outbox_stream=True), clock=box.clock)
    streamed.outbox_relay.run()  # the sweep that sets the marker
    calls.clear()
    box.clock.advance(minutes=5)  # type: ignore[attr-defined]
    assert streamed.outbox_relay.run().idle == 1
    assert dict(calls) == {"GetItem": 1}
    calls.clear()
    streamed.outbox_relay.sweep_soon()  # e.g. a requeue: the next sweep looks
    report = streamed.outbox_relay.run()
    assert report.idle == 0 and calls["Query"] == settings.queue_shards
