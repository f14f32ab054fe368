"""Account security: password recovery, proof of the email address, the "this was not me"
answer to an email change, the customer's sessions and their activity log (issue 16).

Emailed tokens (:class:`AccountToken`): random (256 bits), stored only as SHA-256 in one slot
per purpose under the account (a newer token of a purpose replaces the older one), expiring,
and spent by a commit conditional on the stored hash, so each is used at most once.  The
token is ``<account id>.<secret>``: one BatchGet reads the account and its slots together.

* **Forgot** (``POST /password/forgot``) answers the same 202 for every email and does the
  same work for all: the email marker and two throttle buckets are read in one BatchGet (per
  email hash and per source address, ``domain.throttle``'s :class:`WindowLimit`, reserved
  with one conditional write before anything else), then one GetItem (the account, or a
  random id that exists nowhere) and one commit that writes one outbox entry: the reset mail
  for a known email, a :attr:`MailStatus.DISCARDED` entry (no recipient, never sent) for an
  unknown one.  A token is generated and hashed in both cases.
* **Reset** (``POST /password/reset``): a reset token dies after 1 h, when a newer one is
  issued, and with any password change (it carries the session epoch it was issued at, and
  every password change bumps the epoch).  The reset bumps the epoch itself (every session
  ends), proves the address (``email_verified``), clears the sign-in throttle of the email
  (its owner is locked out no more) and mails a notice.
* **Email proof**: sign-up mails a ``verify`` token; an email change stores ``pending_email``
  and mails an ``email_change`` token to the new address and an ``email_cancel`` token ("this
  was not me") to the old one.  ``POST /account/email/verify`` takes either proof token;
  ``POST /account/email/cancel`` takes the cancel token: it drops a pending change or puts
  the old address back, ends every session and mails a fresh reset link to the old address.
* **Sessions**: listed from one Query (the live ones, at the account's epoch), ended one by
  one (its public id, never its hash; another account's id is a 404) or all but the current
  one (an epoch bump that re-issues the current session, one commit).
* **Activity**: the audit trail the services already write, newest first, one Query a page.
"""

from __future__ import annotations

import base64
import re
from datetime import datetime, timedelta

from msgspec import Struct
from msgspec.structs import replace

from chalicelib.config import Settings
from chalicelib.domain.account import (
    Account,
    AccountChange,
    AccountToken,
    AuditEvent,
    Caller,
    MailStatus,
    OutboxMail,
    Session,
    TokenPurpose,
)
from chalicelib.domain.agents import describe_agent
from chalicelib.domain.contact import email_lookup_key
from chalicelib.domain.errors import (
    ConcurrentUpdate,
    Conflict,
    EmailAlreadyUsed,
    InvalidInput,
    NotFound,
    Throttled,
)
from chalicelib.domain.ids import new_id, new_session_token, sha256_hex, split_session_token
from chalicelib.domain.mfa import (
    accepted_step,
    new_recovery_codes,
    new_secret,
    otpauth_uri,
    qr_svg_data_uri,
)
from chalicelib.domain.passwords import check_password_policy
from chalicelib.domain.throttle import (
    CONTENDED_RETRY_SECONDS,
    Bucket,
    BucketKind,
    Settle,
    WindowLimit,
)
from chalicelib.logs import log_event
from chalicelib.services.auth import AuthService, throttle_policy
from chalicelib.services.mail import account_mail, console_link
from chalicelib.services.ports import AccountRepository, Clock, PasswordHasher

RESET_LIFETIME = timedelta(hours=1)
VERIFY_LIFETIME = timedelta(days=7)
EMAIL_CHANGE_LIFETIME = timedelta(hours=24)
EMAIL_CANCEL_LIFETIME = timedelta(days=14)
RESETS_PER_EMAIL = WindowLimit(limit=5, window_seconds=3600)
RESETS_PER_ADDRESS = WindowLimit(limit=30, window_seconds=3600)
CURSOR = re.compile(r"^AUDIT#[0-9TZ:.\-]{1,40}#[0-9a-f]{8}$")
ACTIVITY_MAX_PAGE = 100


def invalid_token() -> InvalidInput:
    return InvalidInput("invalid_token", fields={"token": "invalid_token"})


def verification(
    account: Account, now: datetime, settings: Settings
) -> tuple[AccountToken, OutboxMail]:
    """The ``verify`` token of ``account``'s address and the mail carrying its link."""
    token, stored = AccountToken.issue(account, TokenPurpose.VERIFY, now, VERIFY_LIFETIME)
    link = console_link(settings, "verify-email", token)
    return stored, account_mail(account, "verify_email", now=now, settings=settings, link=link)


def email_change_proofs(
    account: Account, new_email: str, now: datetime, settings: Settings
) -> tuple[tuple[AccountToken, ...], tuple[OutboxMail, ...]]:
    """What an email change stores and mails: the proof token to the new address and the
    "this was not me" token to the old one (which restores the old address)."""
    proof, proof_stored = AccountToken.issue(
        account, TokenPurpose.EMAIL_CHANGE, now, EMAIL_CHANGE_LIFETIME, new_email
    )
    cancel, cancel_stored = AccountToken.issue(
        account, TokenPurpose.EMAIL_CANCEL, now, EMAIL_CANCEL_LIFETIME, account.email
    )
    mails = (
        account_mail(
            account,
            "email_change_verify",
            now=now,
            settings=settings,
            to=new_email,
            new_email=new_email,
            link=console_link(settings, "verify-email", proof),
        ),
        account_mail(
            account,
            "email_change_requested",
            now=now,
            settings=settings,
            old_email=account.email,
            new_email=new_email,
            link=console_link(settings, "email-not-me", cancel),
        ),
    )
    return (proof_stored, cancel_stored), mails


class SessionEntry(Struct, frozen=True):
    """A live session of the caller's account, and whether it is the caller's own."""

    session: Session
    current: bool


class AccountSecurityService:
    def __init__(
        self,
        repo: AccountRepository,
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

    # --- tokens ---------------------------------------------------------------------------
    def _find(self, token: str, purposes: tuple[TokenPurpose, ...]) -> tuple[Account, AccountToken]:
        """The account and its stored token that ``token`` is (any of ``purposes``), still
        valid; 400 ``invalid_token`` for anything else (unknown, forged, used, expired)."""
        parsed = split_session_token(token)
        if parsed is None:
            raise invalid_token()
        account_id, token_hash = parsed
        account, stored = self._repo.token_lookup(account_id, purposes)
        now = self._clock.now()
        match = None
        if account is not None:
            match = next((t for t in stored.values() if t.accepts(token_hash, account, now)), None)
        if account is None or match is None:
            log_event("security.token_refused", account_id=account_id, purposes=list(purposes))
            raise invalid_token()
        return account, match

    def _commit_spending(self, change: AccountChange) -> None:
        """Commit a change that spends a token: a token spent meanwhile is ``invalid_token``,
        the address taken meanwhile ``email_taken``, the account changed meanwhile 409."""
        try:
            self._repo.commit(change)
        except EmailAlreadyUsed:
            raise Conflict("email_taken", fields={"email": "email_taken"}) from None
        except ConcurrentUpdate:
            account_id = change.spend_tokens[0].account_id
            purposes = tuple(t.purpose for t in change.spend_tokens)
            _, still = self._repo.token_lookup(account_id, purposes)
            if len(still) < len(purposes):
                raise invalid_token() from None
            raise Conflict() from None

    # --- password recovery ----------------------------------------------------------------
    def forgot_password(self, email: str, ip: str) -> None:
        """Mail a reset link if ``email`` is an account's; the same answer and the same
        requests (1 BatchGet, 1 reservation, 1 GetItem, 1 commit of one outbox entry) if not."""
        key = email_lookup_key(email)
        now = self._clock.now()
        buckets = [
            Bucket(BucketKind.ACCOUNT, f"reset:{sha256_hex(key)}", RESETS_PER_EMAIL.window(now))
        ]
        limits = [RESETS_PER_EMAIL]
        if self._auth.address_counted(ip):
            buckets.append(
                Bucket(BucketKind.ADDRESS, f"reset:{ip}", RESETS_PER_ADDRESS.window(now))
            )
            limits.append(RESETS_PER_ADDRESS)
        found = self._repo.login_lookup(key, buckets)
        try:
            reservations = [
                limit.reserve(bucket, found.states.get(bucket), now)
                for limit, bucket in zip(limits, buckets, strict=True)
            ]
        except Throttled:
            log_event("security.reset_throttled", ip=ip)
            raise
        if not self._repo.reserve_attempts(reservations):
            raise Throttled(retry_after=CONTENDED_RETRY_SECONDS)
        account = self._repo.get_account(found.account_id or new_id())
        if account is None:
            new_session_token(new_id())  # the same token work as for a known email
            discarded = OutboxMail(
                id=new_id(),
                to="",
                template="password_reset",
                locale="en",
                created_at=now,
                status=MailStatus.DISCARDED,
            )
            self._repo.commit(AccountChange(mails=(discarded,)))
            log_event("security.reset_requested", ip=ip, known=False)
            return
        token, stored = AccountToken.issue(account, TokenPurpose.RESET, now, RESET_LIFETIME)
        mail = account_mail(
            account,
            "password_reset",
            now=now,
            settings=self._settings,
            link=console_link(self._settings, "reset-password", token),
        )
        self._repo.commit(
            AccountChange(
                tokens=(stored,),
                mails=(mail,),
                audit=(AuditEvent(account.id, now, "password_reset_requested", ip=ip),),
            )
        )
        log_event("security.reset_requested", account_id=account.id, ip=ip, known=True)

    def reset_password(self, token: str, new_password: str, confirm_password: str, ip: str) -> None:
        """A new password from a reset token; every session ends and a notice is mailed."""
        if new_password != confirm_password:
            raise InvalidInput(
                "password_mismatch", fields={"confirm_password": "password_mismatch"}
            )
        check_password_policy(new_password)
        account, stored = self._find(token, (TokenPurpose.RESET,))
        now = self._clock.now()
        updated = account.evolve(
            password_hash=self._hasher.hash(new_password),
            session_epoch=account.session_epoch + 1,
            email_verified=True,  # the link reached this address
        )
        policy = throttle_policy(self._settings).account
        bucket = Bucket(
            BucketKind.ACCOUNT, sha256_hex(email_lookup_key(account.email)), policy.window(now)
        )
        notice = account_mail(
            account,
            "password_reset_done",
            now=now,
            settings=self._settings,
            link=f"{self._settings.console_url.rstrip('/')}/#/forgot-password",
        )
        self._commit_spending(
            AccountChange(
                account=updated,
                expected_version=account.version,
                spend_tokens=(stored,),
                mails=(notice,),
                throttle_settle=(Settle(bucket),),  # the owner is locked out no more
                audit=(AuditEvent(account.id, now, "password_reset", ip=ip),),
            )
        )
        log_event("security.password_reset", account_id=account.id, ip=ip)

    # --- the email address ----------------------------------------------------------------
    def verify_email(self, token: str, ip: str) -> Account:
        """Prove the sign-up address, or the new address of an email change (which then
        takes effect)."""
        account, stored = self._find(token, (TokenPurpose.VERIFY, TokenPurpose.EMAIL_CHANGE))
        now = self._clock.now()
        if stored.purpose is TokenPurpose.VERIFY:
            updated = account.evolve(email_verified=True)
            change = AccountChange(
                account=updated,
                expected_version=account.version,
                spend_tokens=(stored,),
                audit=(AuditEvent(account.id, now, "email_verified", ip=ip),),
            )
        else:
            new_email = stored.value
            updated = account.evolve(email=new_email, pending_email=None, email_verified=True)
            change = AccountChange(
                account=updated,
                expected_version=account.version,
                email_swap=(account.email, new_email),
                spend_tokens=(stored,),
                drop_tokens=((account.id, TokenPurpose.VERIFY), (account.id, TokenPurpose.RESET)),
                audit=(
                    AuditEvent(
                        account.id,
                        now,
                        "email_changed",
                        ip=ip,
                        details={"old": account.email, "new": new_email},
                    ),
                ),
            )
        self._commit_spending(change)
        log_event("security.email_verified", account_id=account.id, purpose=stored.purpose.value)
        return updated

    def resend_verification(self, caller: Caller) -> None:
        """A new verification link (the older one stops working); nothing once verified."""
        account = caller.account
        if account.email_verified:
            return
        now = self._clock.now()
        stored, mail = verification(account, now, self._settings)
        self._repo.commit(AccountChange(tokens=(stored,), mails=(mail,)))
        log_event("security.verification_resent", account_id=account.id)

    def cancel_email_change(self, token: str, ip: str) -> None:
        """ "This was not me": the old address stays (or comes back), every session ends,
        and the old address gets a fresh reset link (the password may be known)."""
        account, stored = self._find(token, (TokenPurpose.EMAIL_CANCEL,))
        now = self._clock.now()
        restore = stored.value
        updates: dict[str, object] = {
            "pending_email": None,
            "session_epoch": account.session_epoch + 1,
        }
        swap = None
        if account.email != restore:
            updates["email"] = restore
            swap = (account.email, restore)
        updated = account.evolve(**updates)
        reset, reset_stored = AccountToken.issue(updated, TokenPurpose.RESET, now, RESET_LIFETIME)
        mail = account_mail(
            updated,
            "email_change_cancelled",
            now=now,
            settings=self._settings,
            link=console_link(self._settings, "reset-password", reset),
        )
        self._commit_spending(
            AccountChange(
                account=updated,
                expected_version=account.version,
                email_swap=swap,
                spend_tokens=(stored,),
                drop_tokens=((account.id, TokenPurpose.EMAIL_CHANGE),),
                tokens=(reset_stored,),
                mails=(mail,),
                audit=(
                    AuditEvent(
                        account.id,
                        now,
                        "email_change_cancelled",
                        ip=ip,
                        details={"restored": restore},
                    ),
                ),
            )
        )
        log_event("security.email_change_cancelled", account_id=account.id, ip=ip)

    # --- sessions -------------------------------------------------------------------------
    def sessions(self, caller: Caller) -> list[SessionEntry]:
        """The account's live sessions, the most recently seen first."""
        now = self._clock.now()
        s = self._settings
        live = [
            x
            for x in self._repo.list_sessions(caller.account.id)
            if x.is_live(caller.account, now, s.session_idle_seconds, s.session_absolute_seconds)
        ]
        live.sort(key=lambda x: x.last_seen_at, reverse=True)
        mine = caller.session.token_hash
        return [SessionEntry(x, x.token_hash == mine) for x in live]

    def end_session(self, caller: Caller, public_id: str) -> None:
        """End one of the account's sessions by its public id; 404 when it is not one."""
        found = next((e for e in self.sessions(caller) if e.session.public_id == public_id), None)
        if found is None:
            raise NotFound()
        self._repo.commit(
            AccountChange(
                delete_sessions=((caller.account.id, found.session.token_hash),),
                audit=(
                    AuditEvent(
                        caller.account.id,
                        self._clock.now(),
                        "session_ended",
                        ip=caller.ip,
                        details={"browser": describe_agent(found.session.user_agent)},
                    ),
                ),
            )
        )
        log_event("security.session_ended", account_id=caller.account.id, ip=caller.ip)

    def end_other_sessions(self, caller: Caller) -> None:
        """End every session but the caller's (an epoch bump; the caller's is re-issued)."""
        account = caller.account
        updated = account.evolve(session_epoch=account.session_epoch + 1)
        kept = replace(caller.session, epoch=updated.session_epoch)
        try:
            self._repo.commit(
                AccountChange(
                    account=updated,
                    expected_version=account.version,
                    put_sessions=(kept,),
                    audit=(
                        AuditEvent(account.id, self._clock.now(), "sessions_ended", ip=caller.ip),
                    ),
                )
            )
        except ConcurrentUpdate:
            raise Conflict() from None
        log_event("security.other_sessions_ended", account_id=account.id, ip=caller.ip)

    # --- two-factor sign-in (TOTP, AU8) ---------------------------------------------------
    def _mfa_commit(
        self, caller: Caller, updated: Account, session: Session, template: str, event: str
    ) -> None:
        now = self._clock.now()
        try:
            self._repo.commit(
                AccountChange(
                    account=updated,
                    expected_version=caller.account.version,
                    put_sessions=(session,),
                    mails=(account_mail(updated, template, now=now, settings=self._settings),),
                    audit=(AuditEvent(caller.account.id, now, event, ip=caller.ip),),
                )
            )
        except ConcurrentUpdate:
            raise Conflict() from None

    def start_totp(self, caller: Caller, password: str) -> tuple[str, str, str]:
        """A new TOTP secret, not active until confirmed with a code: the secret, its
        otpauth URI and that URI's QR code (SVG data URI).  Needs the password (throttled)."""
        account = caller.account
        if account.mfa_secret:
            raise Conflict("mfa_already_enabled")
        session = self._auth.confirm_password(caller, password)
        secret = new_secret()
        updated = account.evolve(mfa_pending_secret=secret)
        try:
            self._repo.commit(
                AccountChange(
                    account=updated, expected_version=account.version, put_sessions=(session,)
                )
            )
        except ConcurrentUpdate:
            raise Conflict() from None
        uri = otpauth_uri(secret, account.email)
        return secret, uri, qr_svg_data_uri(uri)

    def confirm_totp(self, caller: Caller, code: str) -> list[str]:
        """Turn two-factor sign-in on with a first code; the ten recovery codes (shown once).
        Wrong codes count in the session's throttle."""
        account = caller.account
        secret = account.mfa_pending_secret
        if account.mfa_secret or not secret:
            raise Conflict("mfa_not_started")
        now = self._clock.now()
        session = self._auth.check_second_factor(
            caller, lambda: accepted_step(secret, code, now, 0)
        )
        step = accepted_step(secret, code, now, 0)
        assert step is not None
        codes, hashes = new_recovery_codes()
        updated = account.evolve(
            mfa_secret=secret, mfa_pending_secret=None, mfa_last_step=step, recovery_codes=hashes
        )
        self._mfa_commit(caller, updated, session, "mfa_enabled", "mfa_enabled")
        log_event("security.mfa_enabled", account_id=account.id, ip=caller.ip)
        return codes

    def disable_mfa(self, caller: Caller, password: str, code: str) -> None:
        """Turn two-factor sign-in off: the password and a code (or a recovery code)."""
        account = caller.account
        if not account.mfa_secret:
            raise Conflict("mfa_not_enabled")
        session = self._auth.confirm_password(caller, password)
        # a wrong code leaves the password attempt counted (its bucket is cleared by the commit)
        self._auth.second_factor(account, code, self._clock.now())
        updated = account.evolve(
            mfa_secret=None, mfa_pending_secret=None, mfa_last_step=0, recovery_codes=()
        )
        self._mfa_commit(caller, updated, session, "mfa_disabled", "mfa_disabled")
        log_event("security.mfa_disabled", account_id=account.id, ip=caller.ip)

    # --- activity -------------------------------------------------------------------------
    def activity(
        self, caller: Caller, limit: int, cursor: str | None
    ) -> tuple[list[AuditEvent], str | None]:
        """A page of the audit trail; the cursor is the last event's key, base64url-encoded
        (opaque and safe in a query string); a cursor that is not one is a 400."""
        after = None
        if cursor is not None:
            try:
                after = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
            except (ValueError, UnicodeDecodeError):
                after = ""
            if len(cursor) > 120 or not CURSOR.fullmatch(after):
                raise InvalidInput(fields={"cursor": "field_invalid"})
        events, last = self._repo.audit_page(caller.account.id, limit, after)
        encoded = base64.urlsafe_b64encode(last.encode()).decode().rstrip("=") if last else None
        return events, encoded
