"""Cancel and reactivate, and the support hand-off for paid accounts.

Every use case is one conditional commit (:class:`AccountChange`) on the account's version,
with its mail in the outbox and its audit event (who: ``customer`` or ``support``; when; why):

* **cancel** (password required, checked under the session's throttle by
  ``AuthService.confirm_password``): status ``cancelled``; the session epoch moves, so every
  session ends; the account leaves the renewal queue (only active accounts are in it); what is
  still owed is cancelled (pending charges become ``void`` with retries stopped; their open
  invoices, read in one batch, are credited in full by credit notes in the same transaction,
  ``credited``, transactions kept) and the audit event says which and why.  Nothing is
  deleted.  A charge that may be moving money right now (``processing``, or ``unknown`` until
  reconciled) is never voided: cancel answers 409 ``payment_in_progress`` and changes nothing.
  A scheduled downgrade is dropped with it.  A cancellation is scheduled for the end of the
  period only once that period is paid (no open charge); the renewals job then closes the
  account the same way (``_close``), and should a charge be open by then it is credited as
  above, or, in flight, the account waits for a later run.
* **reactivate** (public, email and password, throttled and enumeration-safe like sign-in,
  through ``AuthService.check_credentials``):
  a free trial (never paid: no plan) is ``trial`` again, with what is left of its trial or at
  least :data:`MIN_TRIAL_DAYS_ON_RETURN` days, and signed in at once.  A paid account becomes
  ``reactivation_requested``: the request and the mail to support commit in one transaction,
  so the request is never lost and support is mailed exactly once by the outbox relay, even
  when SES is down at the time; the customer gets an acknowledgement in the same commit.
  Asking again while a request is open answers the same request.
* **approve / reject** (support): only an open request can be decided; approving makes the
  account ``active`` with a renewal due now (the renewals job charges it), rejecting leaves
  it ``cancelled``; the customer is mailed either way.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from msgspec import Struct

from chalicelib.config import Settings
from chalicelib.domain.account import (
    Account,
    AccountChange,
    AccountStatus,
    AuditEvent,
    Caller,
    OutboxMail,
)
from chalicelib.domain.billing import Charge, ChargeState, Invoice, InvoiceStatus
from chalicelib.domain.credit_notes import CreditReason
from chalicelib.domain.errors import (
    ConcurrentUpdate,
    Conflict,
    CounterMoved,
    InvalidInput,
    NotAuthenticated,
    NotFound,
)
from chalicelib.domain.ids import utc_iso
from chalicelib.domain.lifecycle import (
    CANCEL_REASONS,
    COMMENT_MAX,
    MIN_TRIAL_DAYS_ON_RETURN,
    Actor,
    PaymentInProgress,
    ReactivationRequest,
    RequestStatus,
    new_request_id,
    request_account_id,
)
from chalicelib.domain.throttle import Settle
from chalicelib.i18n import format_date_long, format_datetime_long
from chalicelib.i18n.invoices import plan_label
from chalicelib.logs import log_event
from chalicelib.services.auth import AuthService, SignedIn
from chalicelib.services.credit_notes import credit_in_full, credit_mail
from chalicelib.services.mail import billing_mail, new_mail
from chalicelib.services.ports import Clock, LifecycleRepository, PasswordHasher

CLOSED_STATUSES = (AccountStatus.CANCELLED, AccountStatus.REACTIVATION_REQUESTED)
CREDIT_RETRIES = 10
SUPPORT_LOCALE = "en"


class Reactivated(Struct, frozen=True):
    """The outcome of ``reactivate``: a session (free trial) or an open request (paid)."""

    signed_in: SignedIn | None = None
    request: ReactivationRequest | None = None


def _cancel_details(reason: str | None, comment: str | None) -> dict[str, str]:
    """The checked reason and comment of a cancellation, as audit details (400 when the
    reason is not one of ``CANCEL_REASONS`` or the comment is too long)."""
    if reason is not None and reason not in CANCEL_REASONS:
        raise InvalidInput(fields={"reason": "invalid_cancel_reason"})
    comment = (comment or "").strip() or None
    if comment is not None and len(comment) > COMMENT_MAX:
        raise InvalidInput(fields={"comment": "field_too_long"})
    details = {"reason": reason} if reason else {}
    return {**details, "comment": comment} if comment else details


class LifecycleService:
    def __init__(
        self,
        repo: LifecycleRepository,
        hasher: PasswordHasher,
        clock: Clock,
        settings: Settings,
        auth: AuthService,
    ) -> None:
        self._repo = repo
        self._hasher = hasher
        self._clock = clock
        self._settings = settings
        self._auth = auth

    # --- cancel -----------------------------------------------------------------------------
    def cancel(
        self,
        caller: Caller,
        password: str,
        reason: str | None = None,
        comment: str | None = None,
    ) -> Account:
        """Cancel the caller's account (see the module docstring); the cancelled account."""
        account = caller.account
        details = _cancel_details(reason, comment)
        try:
            self._auth.confirm_password(caller, password)  # throttled (services.auth)
        except NotAuthenticated:
            log_event("lifecycle.cancel_refused", account_id=account.id, ip=caller.ip)
            raise
        if account.status in CLOSED_STATUSES:
            raise Conflict("not_allowed_in_status")
        try:
            updated, voided, credited = self._close(
                account, Actor.CUSTOMER.value, details, ip=caller.ip
            )
        except ConcurrentUpdate:
            raise Conflict() from None
        log_event(
            "lifecycle.cancelled",
            account_id=account.id,
            ip=caller.ip,
            reason=reason,
            voided=voided,
            credited=credited,
        )
        return updated

    def _close(
        self, account: Account, actor: str, details: dict[str, str], ip: str = ""
    ) -> tuple[Account, int, int]:
        """The one way an account is cancelled (by its owner now, or at the end of its period
        by the renewals job): status ``cancelled``, every session ended, out of the renewal
        queue, no scheduled change or cancellation left; what is still owed cancelled with it
        (pending charges void, their open invoices credited in full by credit notes, each
        mailed) in one commit with the cancellation mail and the audit event.  The cancelled
        account, and the numbers of charges voided and invoices credited.

        ``PaymentInProgress`` while a charge may be moving money (``processing``, ``unknown``):
        nothing changes.  ``ConcurrentUpdate`` when the account changed meanwhile."""
        owed = self._repo.open_charges(account.id)
        if any(c.state is not ChargeState.PENDING for c in owed):
            log_event("lifecycle.cancel_payment_in_progress", account_id=account.id)
            raise PaymentInProgress()
        now = self._clock.now()
        updated = account.evolve(
            status=AccountStatus.CANCELLED,
            session_epoch=account.session_epoch + 1,
            next_renewal_at=None,
            cancel_at=None,
            scheduled_change=None,
        )
        details = {"previous_status": account.status.value, **details}
        if account.plan:
            details["plan"] = account.plan
        charges = self._voided(owed)
        # the open invoices of the owed charges, in one batch read (not one read per charge)
        open_invoices = [
            i
            for i in self._repo.invoices_by_id(account.id, [c.invoice_id for c in owed])
            if i.status is InvoiceStatus.OPEN
        ]
        for _ in range(CREDIT_RETRIES):
            credits = credit_in_full(
                self._repo,
                [(i, i.version) for i in open_invoices],
                CreditReason.ACCOUNT_CANCELLED,
                now,
            )
            if credits.credit_notes:
                details["credited_invoices"] = ",".join(i.number for i in open_invoices)
                details["credit_notes"] = ",".join(n.number for n, _ in credits.credit_notes)
                details["credit_reason"] = CreditReason.ACCOUNT_CANCELLED.value
            try:
                self._repo.commit(
                    AccountChange(
                        account=updated,
                        expected_version=account.version,
                        charges=charges,
                        invoices=credits.invoices,
                        credit_notes=credits.credit_notes,
                        credit_counter=credits.counter if credits.credit_notes else None,
                        mails=(
                            self._cancelled_mail(updated, now),
                            *(
                                credit_mail(
                                    updated, note, now=now, console_url=self._settings.console_url
                                )
                                for note, _ in credits.credit_notes
                            ),
                        ),
                        audit=(
                            AuditEvent(
                                account.id,
                                now,
                                "account_cancelled",
                                actor=actor,
                                ip=ip,
                                details=details,
                            ),
                        ),
                    )
                )
            except CounterMoved:
                continue  # another credit note took the number: number again
            return updated, len(charges), len(open_invoices)
        raise ConcurrentUpdate()

    @staticmethod
    def _voided(owed: list[Charge]) -> tuple[tuple[Charge, int], ...]:
        """The pending charges made void (retries stopped); their invoices are credited."""
        return tuple(
            (
                c.evolve(
                    state=ChargeState.VOID,
                    retries_stopped=True,
                    next_retry_at=None,
                    lease_until=None,
                ),
                c.version,
            )
            for c in owed
        )

    def _cancelled_mail(self, account: Account, now: datetime) -> OutboxMail:
        s = self._settings
        return new_mail(
            to=account.email,
            template="account_cancelled",
            locale=account.locale,
            now=now,
            account_id=account.id,
            params={
                "name": account.name,
                "at": format_datetime_long(now, account.locale),
                "reactivate_url": f"{s.console_url}/reactivate",
                "support_email": s.vendor_support_email,
            },
        )

    # --- cancel at the end of the period -----------------------------------------------------
    def cancel_at_period_end(
        self,
        caller: Caller,
        password: str,
        reason: str | None = None,
        comment: str | None = None,
    ) -> Account:
        """``POST /account/cancel {"at": "period_end"}``: the account stays ``active`` until
        the end of the paid period (``cancel_at``), nothing is refunded, no renewal is billed;
        the ``renewals`` job cancels it then (:meth:`end_scheduled_cancellations`).  Only an
        ``active`` paid account has a paid period to keep (anyone else cancels ``now``), and
        only once the period is paid: while one of its charges is open (an upgrade in flight,
        a renewal whose answer was lost or whose retry is due) 409 ``payment_in_progress``,
        and nothing changes (a cancel ``now`` cancels what is owed with the account)."""
        account = caller.account
        reasons = _cancel_details(reason, comment)
        self._auth.confirm_password(caller, password)
        if account.status is not AccountStatus.ACTIVE or account.next_renewal_at is None:
            raise Conflict("not_allowed_in_status")
        if account.pending_change is not None or self._repo.open_charges(account.id):
            raise PaymentInProgress()
        details = {"at": utc_iso(account.next_renewal_at), **reasons}
        updated = account.evolve(cancel_at=account.next_renewal_at)
        self._commit_scheduled(account, updated, "cancel_scheduled", caller.ip, details)
        return updated

    def _schedule_mail(self, account: Account, template: str, now: datetime) -> OutboxMail:
        """``cancel_scheduled`` / ``cancel_withdrawn``: the plan and the end (or renewal) date."""
        assert account.next_renewal_at is not None
        plan = self._settings.plan(account.plan or "")
        name = plan.name if plan else account.plan or ""
        return billing_mail(
            account,
            template,
            now,
            self._settings.console_url,
            plan=plan_label(account.plan or "", account.locale, name),
            date=format_date_long(account.next_renewal_at, account.locale),
        )

    def resume(self, caller: Caller) -> Account:
        """``POST /account/resume``: the scheduled cancellation is withdrawn (before it
        happens); the subscription renews as before."""
        account = caller.account
        if account.cancel_at is None or account.status is not AccountStatus.ACTIVE:
            raise Conflict("not_scheduled")
        updated = account.evolve(cancel_at=None)
        self._commit_scheduled(account, updated, "cancel_withdrawn", caller.ip, {})
        return updated

    def _commit_scheduled(
        self, account: Account, updated: Account, event: str, ip: str, details: dict[str, str]
    ) -> None:
        """The account, its audit event and the mail of the same name, in one commit."""
        now = self._clock.now()
        try:
            self._repo.commit(
                AccountChange(
                    account=updated,
                    expected_version=account.version,
                    mails=(self._schedule_mail(updated, event, now),),
                    audit=(AuditEvent(account.id, now, event, ip=ip, details=details),),
                )
            )
        except ConcurrentUpdate:
            raise Conflict() from None
        log_event(f"lifecycle.{event}", account_id=account.id, ip=ip)

    def end_scheduled_cancellations(self, limit: int = 1000) -> int:
        """The ``renewals`` job: cancel, instead of renewing, every account whose scheduled
        cancellation is due, as a cancel ``now`` at that time (``_close``: sessions end, the
        mail is the same, and what is still owed is cancelled with it, as an immediate cancel
        does: a renewal charge left pending by an unavailable gateway, say).  An account with a
        charge in flight waits for the next run.  The number of accounts cancelled."""
        now = self._clock.now()
        ended = 0
        for stale in self._repo.due_renewals(now, limit):
            if not stale.cancellation_due(now):
                continue  # a renewal or a reminder (from the index copy): not read here
            account = self._repo.get_account(stale.id)
            if account is None or account.cancel_at is None or not account.cancellation_due(now):
                continue
            try:
                _, voided, credited = self._close(
                    account, "system", {"at": utc_iso(account.cancel_at)}
                )
            except PaymentInProgress:
                continue  # a charge is moving money: the next run, once it has settled
            except ConcurrentUpdate:
                continue  # changed meanwhile (resumed): the next run sees it
            log_event(
                "lifecycle.cancelled_at_period_end",
                account_id=account.id,
                voided=voided,
                credited=credited,
            )
            ended += 1
        return ended

    # --- reactivate -------------------------------------------------------------------------
    def reactivate(self, email: str, password: str, ip: str) -> Reactivated:
        """Bring a cancelled account back (trial) or ask support to (paid)."""
        verified = self._auth.check_credentials(email, password, ip)
        account = verified.account
        if account.status not in CLOSED_STATUSES:
            log_event("lifecycle.reactivate_not_cancelled", account_id=account.id, ip=ip)
            raise Conflict("not_cancelled")
        if account.plan is None:
            return Reactivated(
                signed_in=self._restart_trial(account, password, ip, verified.settle)
            )
        return Reactivated(request=self._request(account, ip, verified.settle))

    def _restart_trial(
        self, account: Account, password: str, ip: str, settle: tuple[Settle, ...]
    ) -> SignedIn:
        now = self._clock.now()
        floor = now + timedelta(days=MIN_TRIAL_DAYS_ON_RETURN)
        ends = max(account.trial_ends_at or floor, floor)
        changes: dict[str, object] = {"status": AccountStatus.TRIAL, "trial_ends_at": ends}
        if self._hasher.needs_rehash(account.password_hash):
            changes["password_hash"] = self._hasher.hash(password)
        updated = account.evolve(**changes)
        token, session = self._auth.new_session(updated, now, ip)
        try:
            self._repo.commit(
                AccountChange(
                    account=updated,
                    expected_version=account.version,
                    put_sessions=(session,),
                    throttle_settle=settle,
                    audit=(
                        AuditEvent(
                            account.id,
                            now,
                            "account_reactivated",
                            actor=Actor.CUSTOMER.value,
                            ip=ip,
                            details={"kind": "trial", "trial_ends_at": utc_iso(ends)},
                        ),
                    ),
                )
            )
        except ConcurrentUpdate:
            raise Conflict() from None
        log_event("lifecycle.reactivated", account_id=account.id, ip=ip, kind="trial")
        return SignedIn(token, updated)

    def _open_request(self, account_id: str) -> ReactivationRequest | None:
        return next((r for r in self._repo.reactivation_requests(account_id) if r.is_open), None)

    def _request(
        self, account: Account, ip: str, settle: tuple[Settle, ...]
    ) -> ReactivationRequest:
        if account.status is AccountStatus.REACTIVATION_REQUESTED:
            existing = self._open_request(account.id)
            if existing is not None:
                log_event("lifecycle.reactivation_repeated", account_id=account.id, ip=ip)
                return existing
        now = self._clock.now()
        request = ReactivationRequest(
            id=new_request_id(account.id, now),
            account_id=account.id,
            email=account.email,
            requested_at=now,
            plan=account.plan,
        )
        last_invoices, _ = self._repo.list_invoices(account.id, 1, None)
        try:
            self._repo.commit(
                AccountChange(
                    account=account.evolve(status=AccountStatus.REACTIVATION_REQUESTED),
                    expected_version=account.version,
                    requests=((request, None),),
                    throttle_settle=settle,
                    mails=(
                        self._support_mail(account, request, last_invoices[:1]),
                        self._request_received_mail(account, now),
                    ),
                    audit=(
                        AuditEvent(
                            account.id,
                            now,
                            "reactivation_requested",
                            actor=Actor.CUSTOMER.value,
                            ip=ip,
                            details={"request_id": request.id, "plan": account.plan or ""},
                        ),
                    ),
                )
            )
        except ConcurrentUpdate:
            existing = self._open_request(account.id)  # a concurrent request won: answer it
            if existing is None:
                raise Conflict() from None
            return existing
        log_event(
            "lifecycle.reactivation_requested", account_id=account.id, request_id=request.id, ip=ip
        )
        return request

    def _request_received_mail(self, account: Account, now: datetime) -> OutboxMail:
        """The customer's acknowledgement of a paid account's request (what happens next)."""
        from chalicelib.services.mail import account_mail

        return account_mail(account, "reactivation_received", now=now, settings=self._settings)

    def _support_mail(
        self, account: Account, request: ReactivationRequest, last: list[Invoice]
    ) -> OutboxMail:
        from chalicelib.i18n import format_money, translate

        s = self._settings
        locale = SUPPORT_LOCALE
        plan = s.plan(account.plan or "")
        none = translate("lifecycle.none", locale)
        if last:
            invoice = last[0]
            last_invoice = translate(
                "lifecycle.last_invoice",
                locale,
                number=invoice.number,
                total=format_money(invoice.total, invoice.currency, locale),
                status=invoice.status.value,
                issued=format_datetime_long(invoice.issued_at, locale),
            )
        else:
            last_invoice = none
        return new_mail(
            to=s.support_email,
            template="reactivation_request",
            locale=locale,
            now=request.requested_at,
            account_id=account.id,
            params={
                "request_id": request.id,
                "account_id": account.id,
                "email": account.email,
                "name": account.name,
                "phone": account.phone or none,
                "country": account.country,
                "customer_locale": account.locale,
                "plan": f"{plan.name} ({plan.id})" if plan else (account.plan or none),
                "last_invoice": last_invoice,
                "requested_at": format_datetime_long(request.requested_at, locale),
            },
        )

    # --- support ----------------------------------------------------------------------------
    def open_requests(self, limit: int = 100) -> list[ReactivationRequest]:
        """Open reactivation requests, oldest first."""
        return self._repo.open_reactivation_requests(limit)

    def approve(
        self, request_id: str, note: str | None = None, ip: str = ""
    ) -> tuple[ReactivationRequest, Account]:
        """The account is ``active`` again with a renewal due now; the customer is mailed."""
        return self._decide(request_id, RequestStatus.APPROVED, note, ip)

    def reject(
        self, request_id: str, note: str | None = None, ip: str = ""
    ) -> tuple[ReactivationRequest, Account]:
        """The account stays ``cancelled``; the customer is mailed."""
        return self._decide(request_id, RequestStatus.REJECTED, note, ip)

    def _decide(
        self, request_id: str, decision: RequestStatus, note: str | None, ip: str
    ) -> tuple[ReactivationRequest, Account]:
        account_id = request_account_id(request_id)
        request = (
            self._repo.get_reactivation_request(account_id, request_id) if account_id else None
        )
        account = self._repo.get_account(account_id) if account_id and request else None
        if request is None or account is None:
            raise NotFound("request_not_found")
        if not request.is_open or account.status is not AccountStatus.REACTIVATION_REQUESTED:
            raise Conflict("request_closed")
        now = self._clock.now()
        note = (note or "").strip() or None
        decided = request.evolve(
            status=decision, decided_at=now, decided_by=Actor.SUPPORT.value, note=note
        )
        if decision is RequestStatus.APPROVED:
            updated = account.evolve(status=AccountStatus.ACTIVE, next_renewal_at=now)
        else:
            updated = account.evolve(status=AccountStatus.CANCELLED)
        event = f"reactivation_{decision.value}"
        details = {"request_id": request.id}
        if note:
            details["note"] = note
        try:
            self._repo.commit(
                AccountChange(
                    account=updated,
                    expected_version=account.version,
                    requests=((decided, request.version),),
                    mails=(self._decision_mail(updated, event, now),),
                    audit=(
                        AuditEvent(
                            account.id,
                            now,
                            event,
                            actor=Actor.SUPPORT.value,
                            ip=ip,
                            details=details,
                        ),
                    ),
                )
            )
        except ConcurrentUpdate:
            current = self._repo.get_reactivation_request(account.id, request.id)
            if current is not None and not current.is_open:
                raise Conflict("request_closed") from None
            raise Conflict() from None
        log_event(f"lifecycle.{event}", account_id=account.id, request_id=request.id, ip=ip)
        return decided, updated

    def _decision_mail(self, account: Account, template: str, now: datetime) -> OutboxMail:
        s = self._settings
        plan = s.plan(account.plan or "")
        return new_mail(
            to=account.email,
            template=template,
            locale=account.locale,
            now=now,
            account_id=account.id,
            params={
                "name": account.name,
                "plan": plan_label(plan.id, account.locale, plan.name)
                if plan
                else (account.plan or ""),
                "console_url": s.console_url,
                "support_email": s.vendor_support_email,
            },
        )
