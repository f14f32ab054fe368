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
