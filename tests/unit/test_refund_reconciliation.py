"""Pending refunds reconciled by the ``reconcile-refunds`` job, over the in-memory repository
and the fake gateway: a lost answer replayed once with its key, an expired key looked up (a
replay would make a second refund: the fake forgets keys as Stripe does after 24 hours), a
refund Stripe never received sent again under a new key, two runs racing, a pending refund
Stripe later fails (support mailed), and money that never moves twice whatever fails.
"""

from __future__ import annotations

import random
import threading
from collections.abc import Callable
from typing import Any

import pytest
from msgspec.structs import replace

from chalicelib.adapters.clock import FixedClock
from chalicelib.adapters.fake_payments import FakePaymentGateway, Fault
from chalicelib.adapters.memory import InMemoryRepository
from chalicelib.domain.billing import Invoice
from chalicelib.domain.credit_notes import REFUND_QUEUE, CreditNote, RefundStatus
from chalicelib.jobs.run import run_job
from chalicelib.services.mail import render_mail
from chalicelib.wiring import Container
from tests.unit.test_credit_notes import fake, paid_invoice, repo


@pytest.fixture
def box(memory_box: Container) -> Container:
    return memory_box


def stored(box: Container, note: CreditNote) -> CreditNote:
    return repo(box).credit_notes[(note.account_id, note.id)]


def pending_refund(box: Container, fault: Any, amount: int = 500) -> tuple[Invoice, CreditNote]:
    invoice = paid_invoice(box)
    fake(box).inject(fault)
    note = box.credit_notes.refund(invoice.id, amount=amount, reason="Outage", request_key="r")
    assert note.refund is not None and note.refund.status is RefundStatus.PENDING
    assert note.queue_entry() is not None and note.queue_entry()[0] == REFUND_QUEUE  # type: ignore[index]
    return invoice, note


def test_a_lost_answer_is_replayed_once_by_the_job_with_the_same_key(
    box: Container, clock: FixedClock
) -> None:
    _, note = pending_refund(box, "lost_answer")
    assert note.refund is not None
    assert run_job("reconcile-refunds", box=box)["due"] == 0  # just sent: not due yet
    clock.advance(minutes=20)
    report = run_job("reconcile-refunds", box=box)
    assert (report["due"], report["succeeded"]) == (1, 1)
    done = stored(box, note)
    assert done.refund is not None and done.refund.status is RefundStatus.SUCCEEDED
    assert done.queue_entry() is None
    (made,) = fake(box).refunds
    assert done.refund.refund_id == made.refund_id and made.amount == 500
    assert fake(box).calls[note.refund.key] == 2  # the first send and one replay, same key
    clock.advance(hours=2)
    assert run_job("reconcile-refunds", box=box)["due"] == 0
    assert fake(box).calls[note.refund.key] == 2
    assert not [m for m in repo(box).mail.values() if m.template == "refund_failed"]


def test_after_24_hours_the_refund_is_looked_up_not_replayed(
    box: Container, clock: FixedClock
) -> None:
    _, note = pending_refund(box, "lost_answer")
    assert note.refund is not None
    clock.advance(hours=25)
    fake(box).expire_keys()  # as Stripe: a replay of the key now would refund again
    report = run_job("reconcile-refunds", box=box)
    assert report["succeeded"] == 1
    assert len(fake(box).refunds) == 1 and fake(box).calls[note.refund.key] == 1  # no replay
    done = stored(box, note)
    assert done.refund is not None and done.refund.status is RefundStatus.SUCCEEDED
    assert done.refund.refund_id == fake(box).refunds[0].refund_id
    assert done.refund.key == note.refund.key  # found: the key never changed


def test_a_refund_stripe_never_received_is_sent_again_under_a_new_key(
    box: Container, clock: FixedClock
) -> None:
    _, note = pending_refund(box, "lost_request")
    assert fake(box).refunds == []
    clock.advance(hours=25)
    fake(box).expire_keys()
    assert run_job("reconcile-refunds", box=box)["succeeded"] == 1
    (made,) = fake(box).refunds
    done = stored(box, note)
    assert done.refund is not None and done.refund.key == f"refund:{note.id}:1"
    assert made.idempotency_key == done.refund.key and made.metadata["credit_note_id"] == note.id
    assert (done.refund.attempt, done.refund.status) == (1, RefundStatus.SUCCEEDED)


def test_two_runs_racing_act_once(
    box: Container, clock: FixedClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    _, note = pending_refund(box, "lost_answer")
    assert note.refund is not None
    clock.advance(hours=25)
    fake(box).expire_keys()
    memory = repo(box)
    barrier = threading.Barrier(2, timeout=5)
    read: Callable[[str, str], CreditNote | None] = memory.get_credit_note

    def both_read_first(account_id: str, credit_note_id: str) -> CreditNote | None:
        found = read(account_id, credit_note_id)
        barrier.wait()  # both runs hold the same pending version before either claims it
        return found

    monkeypatch.setattr(memory, "get_credit_note", both_read_first)
    reports: list[dict[str, int]] = []
    runs = [
        threading.Thread(target=lambda: reports.append(run_job("reconcile-refunds", box=box)))
        for _ in range(2)
    ]
    for run in runs:
        run.start()
    for run in runs:
        run.join()
    monkeypatch.setattr(memory, "get_credit_note", read)
    assert sorted((r["succeeded"], r["skipped"]) for r in reports) == [(0, 1), (1, 0)]
    assert len(fake(box).refunds) == 1
    assert sum(c for k, c in fake(box).calls.items() if k.startswith("refund:")) == 1
    assert stored(box, note).refund.status is RefundStatus.SUCCEEDED  # type: ignore[union-attr]


def test_the_same_request_after_24_hours_looks_up_too(box: Container, clock: FixedClock) -> None:
    invoice, note = pending_refund(box, "lost_answer")
    clock.advance(hours=25)
    fake(box).expire_keys()
    again = box.credit_notes.refund(invoice.id, amount=500, reason="Outage", request_key="r")
    assert again.id == note.id and again.refund is not None
    assert again.refund.status is RefundStatus.SUCCEEDED and len(fake(box).refunds) == 1


def test_a_pending_refund_that_stripe_fails_is_failed_and_support_mailed(
    box: Container, clock: FixedClock
) -> None:
    _, note = pending_refund(box, "late")
    (made,) = fake(box).refunds
    clock.advance(minutes=20)
    assert run_job("reconcile-refunds", box=box)["pending"] == 1  # Stripe still pending
    assert stored(box, note).queue_entry() is not None
    fake(box).settle_refund(made.refund_id, "failed")
    clock.advance(minutes=20)
    assert run_job("reconcile-refunds", box=box)["failed"] == 1
    done = stored(box, note)
    assert done.refund is not None and done.refund.status is RefundStatus.FAILED
    assert done.refund.failure_code == "expired_or_canceled_card" and done.queue_entry() is None
    (mail,) = [m for m in repo(box).mail.values() if m.template == "refund_failed"]
    subject, text = render_mail(mail)
    assert note.number in subject and "5.00" in subject and made.payment_intent_id in text
    clock.advance(hours=1)
    run_job("reconcile-refunds", box=box)
    assert len([m for m in repo(box).mail.values() if m.template == "refund_failed"]) == 1


@pytest.mark.parametrize("seed", range(6))
def test_a_refund_never_moves_money_twice_whatever_fails(
    box: Container, clock: FixedClock, seed: int
) -> None:
    rng = random.Random(seed)
    faults: tuple[Fault, ...] = ("lost_answer", "lost_request", "unavailable")
    invoice, note = pending_refund(box, rng.choice(faults), amount=700)
    gateway = fake(box)
    for _ in range(12):
        step = rng.choice((0.3, 3, 26))
        clock.advance(hours=step)
        if step > 24:  # every key sent so far is over 24 hours old: Stripe forgot it
            gateway.expire_keys()
        if rng.random() < 0.6:
            gateway.inject(rng.choice(faults))
        if rng.random() < 0.3:  # support repeats the request
            box.credit_notes.refund(invoice.id, amount=700, reason="Outage", request_key="r")
        else:
            run_job("reconcile-refunds", box=box)
        assert gateway.refunded(str(note.refund.payment_intent_id)) <= 700  # type: ignore[union-attr]
    gateway.faults.clear()
    clock.advance(hours=26)
    gateway.expire_keys()
    run_job("reconcile-refunds", box=box)
    done = stored(box, note)
    assert done.refund is not None and done.refund.status is RefundStatus.SUCCEEDED
    assert [r.amount for r in gateway.refunds] == [700]
    assert isinstance(repo(box), InMemoryRepository)


def test_the_fake_finds_refunds_by_credit_note_and_reports_pending_ones() -> None:
    gateway = FakePaymentGateway()
    customer = gateway.create_customer("a", "a@example.com", "Ada", "customer:a")
    card = gateway.add_test_card("4242424242424242")
    gateway.attach_card(customer, card)
    intent = gateway.charge(customer, card, 1500, "EUR", "k", "d", {}, True).payment_intent_id
    assert intent is not None
    gateway.inject("late")
    first = gateway.refund(intent, 500, "refund:cn1", {"credit_note_id": "cn1"})
    assert first.status == "pending"
    assert gateway.find_refund(intent, "cn1") == first
    assert gateway.find_refund(intent, "cn2") is None
    assert first.refund_id is not None
    gateway.settle_refund(first.refund_id, "succeeded")
    assert gateway.refund(intent, 500, "refund:cn1", {}).status == "succeeded"  # replay


def refund_event(
    note: CreditNote, event_id: str, status: str, kind: str = "refund.updated"
) -> dict[str, Any]:
    assert note.refund is not None
    extra = {"failure_reason": "lost_or_stolen_card"} if status == "failed" else {}
    return {
        "id": event_id,
        "type": kind,
        "data": {
            "object": {
                "id": note.refund.refund_id or "re_1",
                "object": "refund",
                "amount": note.refund.amount,
                "status": status,
                "payment_intent": note.refund.payment_intent_id,
                "metadata": {"account_id": note.account_id, "credit_note_id": note.id},
                **extra,
            }
        },
    }


def test_refund_status_webhooks_settle_a_pending_refund_once_and_a_late_failure(
    box: Container,
) -> None:
    _, note = pending_refund(box, "late")
    assert box.webhooks.receive(refund_event(note, "evt_p", "pending")) == "recorded"
    assert stored(box, note).refund.status is RefundStatus.PENDING  # type: ignore[union-attr]
    assert box.webhooks.receive(refund_event(note, "evt_s", "succeeded")) == "applied"
    assert box.webhooks.receive(refund_event(note, "evt_s", "succeeded")) == "duplicate"
    done = stored(box, note)
    assert done.refund is not None and done.refund.status is RefundStatus.SUCCEEDED
    assert done.queue_entry() is None
    assert not [m for m in repo(box).mail.values() if m.template == "refund_failed"]
    # Stripe: a succeeded refund can still fail (the card account closed): support is told
    failed = refund_event(note, "evt_f", "failed", kind="charge.refund.updated")
    assert box.webhooks.receive(failed) == "applied"
    assert box.webhooks.receive(refund_event(note, "evt_s2", "succeeded")) == "recorded"
    late = stored(box, note)
    assert late.refund is not None and late.refund.status is RefundStatus.FAILED
    assert late.refund.failure_code == "lost_or_stolen_card"
    assert len([m for m in repo(box).mail.values() if m.template == "refund_failed"]) == 1
    stranger = refund_event(replace(note, id="cn_unknown"), "evt_x", "succeeded")
    assert box.webhooks.receive(stranger) == "recorded"


def test_a_refusal_about_the_key_leaves_the_refund_pending_not_failed(
    box: Container, clock: FixedClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Stripe answers 409 to a key already in flight (another run replaying it): that says
    nothing about the refund, which must not be marked failed."""
    from chalicelib.domain.payments import PaymentRequestRejected

    _, note = pending_refund(box, "lost_answer")

    def in_flight(*args: Any, **kwargs: Any) -> Any:
        raise PaymentRequestRejected(stripe_code="idempotency_key_in_use")

    monkeypatch.setattr(fake(box), "refund", in_flight)
    clock.advance(minutes=20)
    assert run_job("reconcile-refunds", box=box)["pending"] == 1
    assert stored(box, note).refund.status is RefundStatus.PENDING  # type: ignore[union-attr]
    monkeypatch.delattr(fake(box), "refund")  # the fake answers again
    clock.advance(minutes=20)
    assert run_job("reconcile-refunds", box=box)["succeeded"] == 1
    assert len(fake(box).refunds) == 1
