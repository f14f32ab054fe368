"""The outbox relay over in-memory fakes: once per mail, retries, permanent failures."""

from __future__ import annotations

from chalicelib.adapters.memory import InMemoryRepository, RecordingMailer
from chalicelib.domain.account import AccountChange, MailStatus
from chalicelib.services.mail import new_mail
from chalicelib.services.ports import MailDeliveryError
from chalicelib.wiring import Container


def queue_mail(box: Container, to: str = "ada@example.com") -> str:
    mail = new_mail(
        to=to,
        template="password_changed",
        locale="fr",
        now=box.clock.now(),
        params={"name": "Ada", "at": "hier", "support_email": "s@example.com"},
    )
    box.repo.commit(AccountChange(mails=(mail,)))
    return mail.id


def parts(box: Container) -> tuple[InMemoryRepository, RecordingMailer]:
    assert isinstance(box.repo, InMemoryRepository)
    assert isinstance(box.mailer, RecordingMailer)
    return box.repo, box.mailer


def test_each_mail_is_sent_once_in_its_language(memory_box: Container) -> None:
    repo, mailer = parts(memory_box)
    mail_id = queue_mail(memory_box)
    assert memory_box.outbox_relay.run().sent == 1
    assert memory_box.outbox_relay.run().sent == 0
    (to, subject, body) = mailer.sent[0]
    assert to == "ada@example.com"
    assert subject == "Votre mot de passe HelpDesk a été modifié"
    assert "Bonjour Ada" in body
    assert repo.mail[mail_id].status is MailStatus.SENT


def test_a_temporary_failure_is_retried_later_and_sent_once(memory_box: Container) -> None:
    repo, mailer = parts(memory_box)
    mail_id = queue_mail(memory_box)
    mailer.fail_with = MailDeliveryError("Throttling", permanent=False)
    report = memory_box.outbox_relay.run()
    assert (report.sent, report.retried) == (0, 1)
    mailer.fail_with = None
    assert memory_box.outbox_relay.run().sent == 0  # not due yet: backoff
    memory_box.clock.advance(minutes=5)  # type: ignore[attr-defined]
    assert memory_box.outbox_relay.run().sent == 1
    assert memory_box.outbox_relay.run().sent == 0
    assert len(mailer.sent) == 1
    assert repo.mail[mail_id].attempts == 2


def test_a_permanent_failure_is_not_retried(memory_box: Container) -> None:
    repo, mailer = parts(memory_box)
    mail_id = queue_mail(memory_box)
    mailer.fail_with = MailDeliveryError("MessageRejected", permanent=True)
    assert memory_box.outbox_relay.run().failed == 1
    mailer.fail_with = None
    memory_box.clock.advance(hours=2)  # type: ignore[attr-defined]
    assert memory_box.outbox_relay.run().sent == 0
    assert repo.mail[mail_id].status is MailStatus.FAILED


def test_a_leased_mail_is_not_sent_by_a_second_relay(memory_box: Container) -> None:
    repo, mailer = parts(memory_box)
    mail_id = queue_mail(memory_box)
    now = memory_box.clock.now()
    from datetime import timedelta

    assert repo.claim_mail(mail_id, now, now + timedelta(minutes=2)) is not None  # a crashed relay
    assert memory_box.outbox_relay.run().skipped == 1
    memory_box.clock.advance(minutes=3)  # type: ignore[attr-defined]
    assert memory_box.outbox_relay.run().sent == 1
    assert len(mailer.sent) == 1


def test_a_mail_that_cannot_be_rendered_fails_alone(memory_box: Container) -> None:
    repo, mailer = parts(memory_box)
    broken = new_mail(
        to="x@example.com",
        template="email_changed",
        locale="en",
        now=memory_box.clock.now(),
        params={"name": "Ada"},  # the template also needs old_email, new_email, ...
    )
    memory_box.repo.commit(AccountChange(mails=(broken,)))
    good = queue_mail(memory_box)
    report = memory_box.outbox_relay.run()
    assert (report.sent, report.failed) == (1, 1)
    assert repo.mail[broken.id].status is MailStatus.FAILED
    assert repo.mail[good].status is MailStatus.SENT and len(mailer.sent) == 1


# --- the 3-day retry window (EM2, EM3, F11) ------------------------------------------------------
class FlakyMailer(RecordingMailer):
    """A mailer whose provider is down (temporary errors) until ``up`` is set."""

    def __init__(self) -> None:
        super().__init__()
        self.up = False
        self.refused = 0

    def send(self, to: str, subject: str, body: str) -> str:
        if not self.up:
            self.refused += 1
            raise MailDeliveryError("ThrottlingException", permanent=False)
        return super().send(to, subject, body)


def run_every(box: Container, relay: object, *, minutes: int, for_hours: float) -> None:
    from chalicelib.services.outbox import OutboxRelay

    assert isinstance(relay, OutboxRelay)
    steps = int(for_hours * 60 / minutes)
    for _ in range(steps):
        relay.run()
        box.clock.advance(minutes=minutes)  # type: ignore[attr-defined]


def test_ses_down_for_a_day_then_up_sends_every_mail_exactly_once(memory_box: Container) -> None:
    from chalicelib.services.outbox import OutboxRelay

    repo = memory_box.repo
    assert isinstance(repo, InMemoryRepository)
    mailer = FlakyMailer()
    relay = OutboxRelay(repo, mailer, memory_box.clock, memory_box.settings)
    ids = []
    for hour in range(0, 24, 4):  # mail keeps arriving while SES is down
        ids.append(queue_mail(memory_box, to=f"user{hour}@example.com"))
        run_every(memory_box, relay, minutes=5, for_hours=4)
    assert mailer.refused > len(ids) * 10 and mailer.sent == []
    assert {repo.mail[i].status for i in ids} == {MailStatus.PENDING}  # nothing given up
    mailer.up = True
    run_every(memory_box, relay, minutes=5, for_hours=2)  # the backoff is capped at 1 h
    assert sorted(to for to, _, _ in mailer.sent) == sorted(
        f"user{hour}@example.com" for hour in range(0, 24, 4)
    )
    assert {repo.mail[i].status for i in ids} == {MailStatus.SENT}
    run_every(memory_box, relay, minutes=5, for_hours=24)
    assert len(mailer.sent) == len(ids)  # and never again


def test_a_temporary_failure_gives_up_only_when_the_three_day_window_closes(
    memory_box: Container,
) -> None:
    from chalicelib.services.outbox import RETRY_WINDOW, OutboxRelay

    repo = memory_box.repo
    assert isinstance(repo, InMemoryRepository)
    mailer = FlakyMailer()
    relay = OutboxRelay(repo, mailer, memory_box.clock, memory_box.settings)
    created = memory_box.clock.now()
    mail_id = queue_mail(memory_box)
    run_every(memory_box, relay, minutes=10, for_hours=71.5)
    assert repo.mail[mail_id].status is MailStatus.PENDING
    attempts = repo.mail[mail_id].attempts
    assert 70 <= attempts <= 90  # hourly once the backoff is capped, not 12 and done
    next_at = repo.mail[mail_id].next_attempt_at
    assert next_at is not None and next_at <= created + RETRY_WINDOW  # a last try at the end
    run_every(memory_box, relay, minutes=10, for_hours=1)
    failed = repo.mail[mail_id]
    assert failed.status is MailStatus.FAILED
    assert failed.last_error == "ThrottlingException (retried 3 days)"


def test_backoff_doubles_from_thirty_seconds_and_is_capped_at_an_hour() -> None:
    from datetime import timedelta

    from chalicelib.services.outbox import backoff

    assert [backoff(n).total_seconds() for n in range(1, 9)] == [
        30,
        60,
        120,
        240,
        480,
        960,
        1920,
        3600,
    ]
    assert backoff(10_000) == timedelta(hours=1)


def test_a_failed_mail_is_requeued_and_sent_once(memory_box: Container) -> None:
    repo, mailer = parts(memory_box)
    rejected = queue_mail(memory_box, to="typo@example.com")
    mailer.fail_with = MailDeliveryError("MessageRejected", permanent=True)
    memory_box.outbox_relay.run()
    assert repo.mail[rejected].status is MailStatus.FAILED
    sent = queue_mail(memory_box, to="fine@example.com")
    mailer.fail_with = None
    memory_box.outbox_relay.run()
    assert [m.id for m in repo.failed_mail(10)] == [rejected]

    memory_box.clock.advance(days=5)  # type: ignore[attr-defined]
    report = memory_box.outbox_relay.requeue_failed([rejected, sent, "unknown-id"])
    assert (report.requeued, report.skipped) == ([rejected], [sent, "unknown-id"])
    requeued = repo.mail[rejected]
    assert (requeued.status, requeued.attempts) == (MailStatus.PENDING, 0)
    assert requeued.retry_window_start == memory_box.clock.now()  # a fresh 3-day window
    assert repo.failed_mail(10) == []
    assert memory_box.outbox_relay.run().sent == 1
    assert memory_box.outbox_relay.requeue_failed([rejected]).skipped == [rejected]
    assert [to for to, _, _ in mailer.sent] == ["fine@example.com", "typo@example.com"]


def test_requeue_without_ids_takes_every_failed_mail_from_the_index(
    memory_box: Container,
) -> None:
    repo, mailer = parts(memory_box)
    mailer.fail_with = MailDeliveryError("MessageRejected", permanent=True)
    assert repo.failed_mail(10) == []
    failed = [queue_mail(memory_box, to=f"f{i}@example.com") for i in range(3)]
    memory_box.outbox_relay.run()
    mailer.fail_with = None
    report = memory_box.outbox_relay.requeue_failed()
    assert sorted(report.requeued) == sorted(failed) and report.skipped == []
    assert memory_box.outbox_relay.run().sent == 3
