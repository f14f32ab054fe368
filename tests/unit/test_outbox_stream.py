"""New mail from the table's stream (sent at once, once), and the sweeper's wake marker (no
queue Query while nothing is due), over in-memory fakes."""

from __future__ import annotations

from datetime import UTC, datetime
from types import SimpleNamespace
from typing import Any

import pytest

from chalicelib.adapters.clock import FixedClock
from chalicelib.adapters.memory import InMemoryRepository, PlainHasher, RecordingMailer
from chalicelib.config import Settings
from chalicelib.domain.account import AccountChange, MailStatus
from chalicelib.jobs.run import new_mail_ids, relay_new_mail
from chalicelib.services.mail import new_mail
from chalicelib.services.ports import MailDeliveryError
from chalicelib.wiring import Container, build_container


@pytest.fixture
def stream_box() -> Container:
    """A container where a stream relays new mail (as in AWS and under make run)."""
    return build_container(
        Settings(outbox_stream=True),
        repo=InMemoryRepository(),
        mailer=RecordingMailer(),
        hasher=PlainHasher(),
        clock=FixedClock(datetime(2026, 12, 1, 9, tzinfo=UTC)),
    )


def parts(box: Container) -> tuple[InMemoryRepository, RecordingMailer, FixedClock]:
    assert isinstance(box.repo, InMemoryRepository)
    assert isinstance(box.mailer, RecordingMailer)
    assert isinstance(box.clock, FixedClock)
    return box.repo, box.mailer, box.clock


def queue_mail(box: Container) -> str:
    mail = new_mail(
        to="ada@example.com",
        template="password_changed",
        locale="en",
        now=box.clock.now(),
        params={"name": "Ada", "at": "now", "support_email": "s@example.com"},
    )
    box.repo.commit(AccountChange(mails=(mail,)))
    return mail.id


def record(event: str, image: dict[str, Any] | None) -> Any:
    return SimpleNamespace(event_name=event, new_image=image)


def outbox_image(mail_id: str, status: str = "pending", kind: str = "outbox") -> dict[str, Any]:
    return {"pk": {"S": f"OUTBOX#{mail_id}"}, "kind": {"S": kind}, "status": {"S": status}}


def test_only_new_pending_outbox_items_are_relayed() -> None:
    records = [
        record("INSERT", outbox_image("m1")),
        record("MODIFY", outbox_image("m2")),  # a retry or a sent mark: the sweeper's
        record("INSERT", outbox_image("m3", status="discarded")),
        record("INSERT", outbox_image("m4", kind="account")),
        record("REMOVE", None),
        record("INSERT", outbox_image("m5")),
    ]
    assert new_mail_ids(records) == ["m1", "m5"]


def test_a_new_mail_is_sent_once_whatever_the_duplicates(stream_box: Container) -> None:
    repo, mailer, _ = parts(stream_box)
    mail_id = queue_mail(stream_box)
    assert relay_new_mail([mail_id, mail_id], box=stream_box)["sent"] == 1
    again = relay_new_mail([mail_id], box=stream_box)  # the record delivered again
    assert (again["sent"], again["skipped"]) == (0, 1)
    assert stream_box.outbox_relay.run().sent == 0  # nor does the sweeper send it again
    assert len(mailer.sent) == 1 and repo.mail[mail_id].status is MailStatus.SENT
    assert repo.mail[mail_id].attempts == 1


def test_a_stream_retry_wakes_the_sweeper_which_sends_it_once(stream_box: Container) -> None:
    repo, mailer, clock = parts(stream_box)
    assert stream_box.outbox_relay.run().idle == 0  # no marker yet: one full sweep
    assert stream_box.outbox_relay.run().idle == 1  # then nothing is due
    mail_id = queue_mail(stream_box)
    mailer.fail_with = MailDeliveryError("Throttling", permanent=False)
    assert relay_new_mail([mail_id], box=stream_box)["retried"] == 1
    mailer.fail_with = None
    assert relay_new_mail([mail_id], box=stream_box)["sent"] == 0  # a retried batch: not due
    assert repo.wake is not None and repo.wake.at == repo.mail[mail_id].next_attempt_at
    assert stream_box.outbox_relay.run().idle == 1  # the retry is not due yet
    clock.advance(seconds=31)
    assert stream_box.outbox_relay.run().sent == 1
    assert stream_box.outbox_relay.run().idle == 1
    assert len(mailer.sent) == 1


def test_an_idle_sweep_makes_one_request(stream_box: Container) -> None:
    repo, _, clock = parts(stream_box)
    stream_box.outbox_relay.run()
    clock.advance(minutes=5)
    before = repo.requests
    assert stream_box.outbox_relay.run().idle == 1
    assert repo.requests - before == 1


def test_a_lowering_during_a_sweep_is_not_lost(stream_box: Container) -> None:
    """The sweep's compare-and-set is conditional on the version it read."""
    repo, _, clock = parts(stream_box)
    relay = stream_box.outbox_relay
    relay.run()
    wake = repo.mail_wake()
    assert wake is not None
    repo.lower_mail_wake(clock.now())  # e.g. a stream retry, while a sweep is under way
    assert repo.advance_mail_wake(None, wake.version) is False
    assert relay.run().idle == 0  # so the next sweep looks


def test_a_requeued_mail_is_swept_at_once(stream_box: Container) -> None:
    _, mailer, _ = parts(stream_box)
    mail_id = queue_mail(stream_box)
    mailer.fail_with = MailDeliveryError("MessageRejected", permanent=True)
    assert relay_new_mail([mail_id], box=stream_box)["failed"] == 1
    mailer.fail_with = None
    stream_box.outbox_relay.run()
    assert stream_box.outbox_relay.run().idle == 1
    assert stream_box.outbox_relay.requeue_failed([mail_id]).requeued == [mail_id]
    assert stream_box.outbox_relay.run().sent == 1


def test_without_a_stream_every_sweep_looks(memory_box: Container) -> None:
    assert memory_box.settings.outbox_stream is False
    memory_box.outbox_relay.run()
    queue_mail(memory_box)
    assert memory_box.outbox_relay.run().sent == 1
