"""Credit notes and refunds: the customer's list and documents, support's refunds, and what
Stripe's ``charge.refunded`` / ``charge.dispute.created`` events do.

Issuing, in one transaction with whatever causes it (``domain.credit_notes``):

* :func:`credit_in_full` is the one helper every path that used to void an issued invoice
  calls (a declined or unprocessed first payment in ``settlement``, a cancelled account in
  ``lifecycle``, the lost period of a suspended account that pays in ``dunning``): the
  invoices' credit notes, numbered from the ``credit_note#<year>`` counter read now, and the
  invoices ``credited``.  The caller commits them with its own change; a ``CounterMoved``
  (another credit note took the number) makes it read the counter again and retry.
* Open invoices never carry a credit note (the only credit of an open invoice is in full, and
  makes it ``credited``), so these paths need no read of earlier credit notes.

Refunds (:meth:`CreditNoteService.refund`), money moving exactly once:

1. the invoice and its credit notes are read in one Query; a credit note carrying the same
   ``Idempotency-Key`` answers at once (after finishing its refund when the answer was lost);
2. the credit note, its pending :class:`~chalicelib.domain.credit_notes.Refund` (key
   ``refund:<credit note id>``), the invoice's new version (``credited`` when fully
   credited) and the customer's mail are committed in one transaction *before* Stripe is
   called; two concurrent refunds of one invoice cannot both pass the "what is left" check;
3. the refund is sent with that key; its outcome is stored on the credit note.  A lost answer
   (or a refund Stripe reports ``pending``) leaves it ``pending`` and in the sparse ``refund``
   work queue: the ``reconcile-refunds`` job (:meth:`CreditNoteService.reconcile_refunds`,
   hourly) or the same request again (same Idempotency-Key) claims it with a conditional write
   and replays it with the same key while that key is under 24 hours old (Stripe answers with
   the first refund), after that looks it up at Stripe by the credit note id in its metadata
   (``PaymentGateway.find_refund``); only a lookup that finds nothing sends it again, under a
   new key.  The outcome is stored once: ``succeeded`` (the customer's mail went with the
   credit note), or ``failed`` and support is mailed (``refund_failed``) to give the money
   back by other means.

A ``charge.refunded`` event (a refund made in Stripe's dashboard, or the echo of ours) issues
one credit note for what Stripe says was refunded and no credit note accounts for yet, so
each refund is credited once whatever the order or number of deliveries; the event id is
recorded in the same transaction.  ``charge.dispute.created`` marks the invoice ``disputed``
and mails support, once.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime

from msgspec import Struct

from chalicelib.config import Settings
from chalicelib.domain.account import (
    Account,
    AccountChange,
    AuditEvent,
    Caller,
    Marker,
    MarkerKind,
    OutboxMail,
)
from chalicelib.domain.billing import Invoice, InvoiceStatus
from chalicelib.domain.credit_notes import (
    CreditNote,
    CreditReason,
    Refund,
    RefundStatus,
    credit_counter,
    credit_note_for,
    invoice_after_credit,
    payment_intent_of,
    refundable,
    refunded_total,
)
from chalicelib.domain.errors import (
    ConcurrentUpdate,
    Conflict,
    DependencyUnavailable,
    InvalidInput,
    MarkerExists,
    NotFound,
)
from chalicelib.domain.payments import (
    PaymentGatewayUnavailable,
    PaymentOutcomeUnknown,
    PaymentRequestRejected,
    RefundOutcome,
)
from chalicelib.logs import log_event
from chalicelib.services.mail import new_mail
from chalicelib.services.payment_ports import PaymentGateway
from chalicelib.services.ports import BillingRepository, Clock, CreditNoteRepository

COMMIT_RETRIES = 10
# Stripe refusals about the idempotency key, which say nothing about the refund itself
KEY_REFUSALS = ("idempotency_error", "idempotency_key_in_use")
REASON_MAX = 500


class CreditBatch(Struct, frozen=True):
    """Credit notes to commit, with their invoices and the counter they were numbered from."""

    credit_notes: tuple[tuple[CreditNote, int | None], ...] = ()
    invoices: tuple[tuple[Invoice, int | None], ...] = ()
    counter: tuple[str, int, int] | None = None


def credit_in_full(
    repo: BillingRepository,
    invoices: Sequence[tuple[Invoice, int | None]],
    reason: CreditReason,
    now: datetime,
) -> CreditBatch:
    """Credit notes for the whole of each (open) invoice of ``invoices`` (``(state to
    write, expected stored version)`` pairs), numbered from the counter read now, and the
    invoices ``credited`` (same expected versions)."""
    creditable = [(i, v) for i, v in invoices if i.status is InvoiceStatus.OPEN]
    if not creditable:
        return CreditBatch(invoices=tuple(invoices))
    name = credit_counter(now.year)
    start = repo.counter_value(name)
    notes: list[tuple[CreditNote, int | None]] = []
    written: list[tuple[Invoice, int | None]] = []
    for offset, (invoice, version) in enumerate(creditable, start=1):
        note = credit_note_for(invoice, (), sequence=start + offset, now=now, reason=reason)
        notes.append((note, None))
        written.append((invoice_after_credit(invoice, [note]), version))
    others = [(i, v) for i, v in invoices if i.status is not InvoiceStatus.OPEN]
    return CreditBatch(tuple(notes), (*written, *others), (name, start, start + len(notes)))


def credit_mail(
    account: Account, note: CreditNote, *, now: datetime, console_url: str
) -> OutboxMail:
    """The customer's mail with the credit note (and its refund, when money goes back)."""
    from chalicelib.i18n import format_money

    refund = note.refund
    return new_mail(
        to=account.email,
        template="credit_note_refund" if refund else "credit_note",
        locale=account.locale,
        now=now,
        account_id=account.id,
        params={
            "name": account.name,
            "number": note.number,
            "invoice": note.invoice_number,
            "amount": format_money(note.total, note.currency, account.locale),
            "console_url": f"{console_url.rstrip('/')}/#credit-notes",
        },
    )


class CreditNoteService:
    def __init__(
        self,
        repo: CreditNoteRepository,
        gateway: Callable[[], PaymentGateway],
        clock: Clock,
        settings: Settings,
    ) -> None:
        self._repo = repo
        self._gateway_factory = gateway
        self._clock = clock
        self._settings = settings

    # --- the customer's reads ---------------------------------------------------------------
    def credit_notes(
        self, caller: Caller, limit: int, after: str | None
    ) -> tuple[list[CreditNote], str | None]:
        return self._repo.list_credit_notes(caller.account.id, limit, after)

    def credit_note(self, caller: Caller, credit_note_id: str) -> CreditNote:
        note = self._repo.get_credit_note(caller.account.id, credit_note_id)
        if note is None:
            raise NotFound("credit_note_not_found")
        return note

    # --- support's refund -----------------------------------------------------------------
    def refund(
        self,
        invoice_id: str,
        *,
        amount: int | None,
        reason: str,
        request_key: str | None,
    ) -> CreditNote:
        """Give back ``amount`` (default: all that is refundable) of a paid invoice: its credit
        note, with the refund's outcome (see the module docstring)."""
        reason = reason.strip()
        if not reason or len(reason) > REASON_MAX:
            raise InvalidInput(
                fields={"reason": "field_required" if not reason else "field_too_long"}
            )
        account_id = self._repo.get_marker(MarkerKind.INVOICE, invoice_id)
        if account_id is None:
            raise NotFound("invoice_not_found")
        for _ in range(COMMIT_RETRIES):
            account, invoice, notes = self._repo.credit_context(account_id, invoice_id)
            if account is None or invoice is None:
                raise NotFound("invoice_not_found")
            if request_key is not None:
                for note in notes:
                    if note.refund is not None and note.refund.request_key == request_key:
                        return self._finish(note)  # the same request again: its first answer
            left = refundable(invoice, notes)
            intent = payment_intent_of(invoice)
            if left <= 0 or intent is None:
                raise Conflict("nothing_to_refund")
            if amount is not None and (type(amount) is not int or amount <= 0 or amount > left):
                raise InvalidInput("invalid_amount", fields={"amount": "amount_above_refundable"})
            now = self._clock.now()
            name = credit_counter(now.year)
            sequence = self._repo.counter_value(name)
            note = credit_note_for(
                invoice,
                notes,
                sequence=sequence + 1,
                now=now,
                reason=CreditReason.REFUND,
                amount=amount if amount is not None else left,
                note=reason,
                refund=Refund(
                    amount=amount if amount is not None else left,
                    status=RefundStatus.PENDING,
                    payment_intent_id=intent,
                    key="",  # derived from the credit note's id by credit_note_for
                    request_key=request_key,
                ),
            )
            try:
                self._repo.commit(
                    AccountChange(
                        credit_notes=((note, None),),
                        invoices=(
                            (invoice_after_credit(invoice, [*notes, note]), invoice.version),
                        ),
                        credit_counter=(name, sequence, sequence + 1),
                        mails=(
                            credit_mail(
                                account, note, now=now, console_url=self._settings.console_url
                            ),
                        ),
                        audit=(
                            AuditEvent(
                                account_id,
                                now,
                                "refund_issued",
                                actor="support",
                                details={
                                    "invoice": invoice.number,
                                    "credit_note": note.number,
                                    "amount": str(note.total),
                                },
                            ),
                        ),
                    )
                )
            except ConcurrentUpdate:
                continue  # a number or the invoice moved: read again (a twin request included)
            log_event(
                "refund.issued",
                account_id=account_id,
                invoice_id=invoice_id,
                credit_note=note.number,
                amount=note.total,
            )
            return self._store(note, self._send(note))  # its check_at keeps the job away
        raise DependencyUnavailable()

    def _finish(self, note: CreditNote) -> CreditNote:
        """The same request again: a refund still pending is claimed and resumed as the job
        does (replayed with its key, or looked up once the key expired)."""
        refund = note.refund
        if refund is None or refund.status is not RefundStatus.PENDING:
            return note
        resumed = self._resume(note, self._clock.now())
        return resumed or self._repo.get_credit_note(note.account_id, note.id) or note

    # --- the reconciliation of pending refunds (the ``reconcile-refunds`` job) -------------
    def reconcile_refunds(self, limit: int = 100) -> dict[str, int]:
        """Every pending refund due now (the sparse ``refund`` queue, no Scan): replayed with
        its key while under 24 h old, else looked up at Stripe, and settled once."""
        report = {"due": 0, "succeeded": 0, "failed": 0, "pending": 0, "skipped": 0}
        now = self._clock.now()
        for account_id, credit_note_id in self._repo.due_refunds(now, limit):
            report["due"] += 1
            note = self._repo.get_credit_note(account_id, credit_note_id)
            entry = note.queue_entry() if note is not None else None
            if note is None or entry is None or entry[1] > now:
                report["skipped"] += 1  # settled, or claimed by another run, since the Query
                continue
            done = self._resume(note, now)
            report[done.refund.status.value if done and done.refund else "skipped"] += 1
        return report

    def _resume(self, note: CreditNote, now: datetime) -> CreditNote | None:
        """Claim ``note``'s pending refund (a conditional write: one run acts), then replay it
        with its key while Stripe still knows that key, else look it up by the credit note id
        it carries; only a refund Stripe never received is sent again, under a new key.  None
        when another run (or request) claimed it first."""
        claimed = note.refund_claimed(now)
        try:
            self._repo.commit(AccountChange(credit_notes=((claimed, note.version),)))
        except ConcurrentUpdate:
            return None
        refund = claimed.refund
        assert refund is not None and refund.payment_intent_id is not None
        if claimed.refund_key_live(now):
            return self._store(claimed, self._send(claimed))
        try:
            found = self._gateway_factory().find_refund(refund.payment_intent_id, note.id)
        except (PaymentGatewayUnavailable, PaymentOutcomeUnknown, PaymentRequestRejected):
            log_event("refund.lookup_failed", credit_note=note.number)
            return claimed  # due again at its check_at
        log_event("refund.looked_up", credit_note=note.number, found=found is not None)
        if found is not None:
            return self._store(claimed, found)
        resent = claimed.refund_resent(now)
        try:
            self._repo.commit(AccountChange(credit_notes=((resent, claimed.version),)))
        except ConcurrentUpdate:
            return None
        return self._store(resent, self._send(resent))

    def _send(self, note: CreditNote) -> RefundOutcome | None:
        """Send (or replay, same key) the refund; None when the answer is not known."""
        refund = note.refund
        assert refund is not None and refund.payment_intent_id is not None
        try:
            return self._gateway_factory().refund(
                refund.payment_intent_id,
                refund.amount,
                idempotency_key=refund.key,
                metadata={
                    "account_id": note.account_id,
                    "invoice_id": note.invoice_id,
                    "credit_note_id": note.id,
                },
            )
        except PaymentRequestRejected as rejected:
            if rejected.stripe_code in KEY_REFUSALS:
                # about the key, not the refund (the same key in flight from another run):
                # unknown, reconciled later
                log_event("refund.pending", credit_note=note.number, key=refund.key)
                return None
            return RefundOutcome("failed", failure_code=rejected.stripe_code or "rejected")
        except (PaymentGatewayUnavailable, PaymentOutcomeUnknown):
            log_event("refund.pending", credit_note=note.number, key=refund.key)
            return None  # stays pending: the job (or the same request) replays the same key

    def refund_updated(
        self, event_id: str, account_id: str, credit_note_id: str, outcome: RefundOutcome
    ) -> bool | None:
        """A Refund's status changed at Stripe (``refund.updated`` and the like): a pending
        refund settled, or a succeeded one failed after all (Stripe says it can), stored once
        with the event id (MarkerExists for a duplicate).  True when stored, False when only
        the event was recorded (nothing new), None when the credit note is not ours."""
        for _ in range(COMMIT_RETRIES):
            note = self._repo.get_credit_note(account_id, credit_note_id)
            if note is None or note.refund is None:
                return None
            marker = Marker(MarkerKind.EVENT, event_id, "refund.updated")
            status = note.refund.status
            moves = (status is RefundStatus.PENDING and outcome.status != "pending") or (
                status is RefundStatus.SUCCEEDED and outcome.status == "failed"
            )
            try:
                if not moves:
                    self._repo.commit(AccountChange(markers=(marker,)))
                    return False
                self._store(note, outcome, markers=(marker,), raise_race=True)
            except MarkerExists:
                raise
            except ConcurrentUpdate:
                continue
            return True
        raise ConcurrentUpdate()

    def _store(
        self,
        note: CreditNote,
        outcome: RefundOutcome | None,
        *,
        markers: tuple[Marker, ...] = (),
        raise_race: bool = False,
    ) -> CreditNote:
        """Store a refund's outcome once (conditional on ``note``'s version): succeeded, or
        failed with support mailed (the customer's mail left with the credit note).  Only a
        pending refund moves, except a failure Stripe reports after a success (``markers``:
        a webhook's event id)."""
        if outcome is None or outcome.status == "pending" or note.refund is None:
            return note
        late_failure = markers and outcome.status == "failed"
        if note.refund.status is not RefundStatus.PENDING and not (
            late_failure and note.refund.status is RefundStatus.SUCCEEDED
        ):
            return note
        failed = outcome.status != "succeeded"
        done = (
            note.refund_failed(outcome.failure_code or "failed")
            if failed
            else note.refund_done(outcome.refund_id)
        )
        mails = (self._refund_failed_mail(done),) if failed else ()
        try:
            self._repo.commit(
                AccountChange(credit_notes=((done, note.version),), mails=mails, markers=markers)
            )
        except ConcurrentUpdate:
            if raise_race:
                raise
            return self._repo.get_credit_note(note.account_id, note.id) or note
        log_event(f"refund.{'failed' if failed else 'succeeded'}", credit_note=note.number)
        return done

    def _refund_failed_mail(self, note: CreditNote) -> OutboxMail:
        from chalicelib.i18n import format_money

        assert note.refund is not None
        return new_mail(
            to=self._settings.support_email,
            template="refund_failed",
            locale="en",
            now=self._clock.now(),
            account_id=note.account_id,
            params={
                "account_id": note.account_id,
                "number": note.number,
                "invoice": note.invoice_number,
                "amount": format_money(note.refund.amount, note.currency, "en"),
                "payment_intent": note.refund.payment_intent_id or "",
                "reason": note.refund.failure_code or "failed",
            },
        )

    # --- Stripe's events ----------------------------------------------------------------------
    def refunded_at_stripe(
        self, event_id: str, account_id: str, payment_intent_id: str, amount_refunded: int
    ) -> bool | None:
        """``charge.refunded``: a credit note for what Stripe refunded on the payment that no
        credit note accounts for yet, with the event id (MarkerExists for a duplicate); True
        when a credit note was issued, False when the event was only recorded (the echo of
        a refund made here), None when the payment is not one of the account's."""
        for _ in range(COMMIT_RETRIES):
            account = self._repo.get_account(account_id)
            paid = self._repo.invoices_paid_by(account_id, payment_intent_id)
            if account is None or not paid:
                return None
            now = self._clock.now()
            name = credit_counter(now.year)
            sequence = self._repo.counter_value(name)
            contexts = [self._repo.credit_context(account_id, i.id)[1:] for i in paid]
            already = sum(refunded_total(notes) for _, notes in contexts)
            missing = amount_refunded - already
            notes_out: list[tuple[CreditNote, int | None]] = []
            invoices_out: list[tuple[Invoice, int | None]] = []
            mails: list[OutboxMail] = []
            for invoice, notes in contexts:
                if invoice is None or missing <= 0:
                    continue
                take = min(missing, refundable(invoice, notes))
                if take <= 0:
                    continue
                note = credit_note_for(
                    invoice,
                    notes,
                    sequence=sequence + len(notes_out) + 1,
                    now=now,
                    reason=CreditReason.REFUNDED_AT_STRIPE,
                    amount=take,
                    refund=Refund(
                        amount=take,
                        status=RefundStatus.SUCCEEDED,
                        payment_intent_id=payment_intent_id,
                        key="",
                    ),
                )
                notes_out.append((note, None))
                invoices_out.append(
                    (invoice_after_credit(invoice, [*notes, note]), invoice.version)
                )
                mails.append(
                    credit_mail(account, note, now=now, console_url=self._settings.console_url)
                )
                missing -= take
            change = AccountChange(
                credit_notes=tuple(notes_out),
                invoices=tuple(invoices_out),
                credit_counter=(name, sequence, sequence + len(notes_out)) if notes_out else None,
                mails=tuple(mails),
                markers=(Marker(MarkerKind.EVENT, event_id, "charge.refunded"),),
            )
            try:
                self._repo.commit(change)
            except MarkerExists:
                raise
            except ConcurrentUpdate:
                continue
            for note, _ in notes_out:
                log_event(
                    "refund.at_stripe",
                    account_id=account_id,
                    credit_note=note.number,
                    amount=note.total,
                )
            return bool(notes_out)
        raise ConcurrentUpdate()

    def disputed(self, event_id: str, account_id: str, payment_intent_id: str) -> bool | None:
        """``charge.dispute.created``: the invoices paid by the payment are ``disputed`` and
        support is mailed, once (the event id in the same transaction; MarkerExists for a
        duplicate).  None when the payment is not one of the account's."""
        for _ in range(COMMIT_RETRIES):
            account = self._repo.get_account(account_id)
            paid = self._repo.invoices_paid_by(account_id, payment_intent_id)
            if account is None or not paid:
                return None
            now = self._clock.now()
            marked = [(i.disputed(), i.version) for i in paid if i.status is InvoiceStatus.PAID]
            mail = new_mail(
                to=self._settings.support_email,
                template="payment_disputed",
                locale="en",
                now=now,
                account_id=account_id,
                params={
                    "email": account.email,
                    "account_id": account_id,
                    "number": ", ".join(i.number for i in paid),
                    "payment_intent": payment_intent_id,
                },
            )
            try:
                self._repo.commit(
                    AccountChange(
                        invoices=tuple(marked),
                        mails=(mail,),
                        markers=(Marker(MarkerKind.EVENT, event_id, "charge.dispute.created"),),
                        audit=(
                            AuditEvent(
                                account_id,
                                now,
                                "payment_disputed",
                                actor="system",
                                details={"invoices": ",".join(i.number for i in paid)},
                            ),
                        ),
                    )
                )
            except MarkerExists:
                raise
            except ConcurrentUpdate:
                continue
            log_event("payment.disputed", account_id=account_id, payment_intent=payment_intent_id)
            return True
        raise ConcurrentUpdate()
