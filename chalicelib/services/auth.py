"""Sign-up, sign-in, sessions, sign-out, and the throttle of every password check.

Sessions: the bearer token is ``<account id>.<secret>``; only SHA-256(secret) is stored, under
the account, so one BatchGet reads the account and the session together.  A session is valid
while its ``epoch`` equals the account's ``session_epoch``: bumping the epoch ends every
session at once (password change keeps the current one by re-issuing it; cancel ends all).
Idle and absolute expiry are checked here on every request; DynamoDB TTL only cleans up.

Password checks are throttled here, in one place (the rules are ``domain.throttle``'s):
:meth:`AuthService.check_credentials` for sign-in and reactivation, and
:meth:`AuthService.confirm_password` for the signed-in routes that ask for the password again
(password change, email change, cancel).  Each reserves its attempt with a conditional write
*before* the hash work, so parallel guesses cannot overrun the limit; failures slow an account
down progressively (never a fixed lock-out); a device that signed in before (it holds the
device token answered by ``/login``) has its own bucket, so the owner gets in while an attacker
is slowed down; the failure that starts a lockout episode mails the owner once.  Unknown
emails are throttled alike (buckets are keyed by the email's hash) and do the same hash work
(``PasswordHasher.burn``).  The per-address limit counts failures only (a success gives its
attempt back), with a high threshold, and loopback addresses are exempt on the local stage,
where every client is 127.0.0.1: one test client cannot lock every other one out.

DynamoDB requests of a sign-in: one BatchGet (email marker with its copy of the account,
buckets, device), the reservation (one conditional write: an UpdateItem, or a TransactWrite for
the account and address buckets together), then one commit (session, device, buckets settled,
audit) on success, or one commit of the lockout mail when a failure starts an episode; an
account that may owe (past due, suspended) has its open charges read after the commit (one
Query: the answer's ``pending_payment``), 2 reads in all.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta

from msgspec import Struct
from msgspec.structs import replace

from chalicelib.config import Settings
from chalicelib.domain.account import (
    USER_AGENT_MAX,
    Account,
    AccountChange,
    AccountStatus,
    AuditEvent,
    Caller,
    OutboxMail,
    Session,
)
from chalicelib.domain.agents import describe_agent
from chalicelib.domain.billing import Charge
from chalicelib.domain.contact import email_lookup_key, normalize_email, normalize_phone
from chalicelib.domain.countries import is_country
from chalicelib.domain.errors import (
    ConcurrentUpdate,
    Conflict,
    DependencyUnavailable,
    EmailAlreadyUsed,
    Forbidden,
    InvalidInput,
    NotAuthenticated,
    Throttled,
)
from chalicelib.domain.ids import new_id, new_session_token, sha256_hex, split_session_token
from chalicelib.domain.mfa import accepted_step, spend_recovery_code
from chalicelib.domain.passwords import check_password_policy
from chalicelib.domain.throttle import (
    CONTENDED_RETRY_SECONDS,
    BackoffPolicy,
    Bucket,
    BucketKind,
    Reservation,
    Settle,
    ThrottlePolicy,
    ThrottleState,
    TrustedDevice,
    WindowLimit,
)
from chalicelib.logs import log_error, log_event
from chalicelib.services.mail import account_mail
from chalicelib.services.ports import Clock, PasswordHasher, SignInRepository


def throttle_policy(settings: Settings) -> ThrottlePolicy:
    """The throttle of every bucket kind, from the settings."""
    s = settings
    base, cap = s.login_delay_base_seconds, s.login_delay_cap_seconds
    return ThrottlePolicy(
        account=BackoffPolicy(s.login_free_failures, base, cap, s.login_window_seconds),
        device=BackoffPolicy(s.login_device_free_failures, base, cap),
        session=BackoffPolicy(s.login_free_failures, base, cap),
        address=WindowLimit(s.login_max_failures_per_address, s.login_address_window_seconds),
        device_days=s.device_token_days,
    )


def browser(user_agent: str) -> dict[str, str]:
    """The audit details naming the browser of a user agent (none when it names none)."""
    name = describe_agent(user_agent)
    return {"browser": name} if name else {}


class SignedIn(Struct, frozen=True):
    """A new session's bearer token and its account (and, at sign-in, what it owes)."""

    token: str
    account: Account
    device_token: str | None = None  # the trusted-device token (``/login`` answers it)
    pending: tuple[Charge, ...] = ()  # the open charges of an account that may owe


class Verified(Struct, frozen=True):
    """A password that checked out: its account, the trusted device it came from (if any),
    and what the success does to the throttle buckets (committed with the change)."""

    account: Account
    device: TrustedDevice | None = None
    settle: tuple[Settle, ...] = ()


class AuthService:
    def __init__(
        self,
        repo: SignInRepository,
        hasher: PasswordHasher,
        clock: Clock,
        settings: Settings,
    ) -> None:
        self._repo = repo
        self._hasher = hasher
        self._clock = clock
        self._settings = settings
        self._policy = throttle_policy(settings)

    # --- sessions -------------------------------------------------------------------------
    def new_session(
        self, account: Account, now: datetime, ip: str, user_agent: str = ""
    ) -> tuple[str, Session]:
        """A fresh token and the session stored for it (at the account's current epoch)."""
        token, token_hash = new_session_token(account.id)
        session = Session(
            account_id=account.id,
            token_hash=token_hash,
            epoch=account.session_epoch,
            created_at=now,
            last_seen_at=now,
            ip=ip,
            user_agent=user_agent[:USER_AGENT_MAX],
        )
        return token, session

    def authenticate(self, token: str | None, ip: str) -> Caller:
        """The caller owning ``token``; ``NotAuthenticated`` when missing, unknown or expired."""
        parsed = split_session_token(token or "")
        if parsed is None:
            raise NotAuthenticated()
        account_id, token_hash = parsed
        account, session = self._repo.get_session(account_id, token_hash)
        now = self._clock.now()
        s = self._settings
        if (
            account is None
            or session is None
            or not session.is_live(account, now, s.session_idle_seconds, s.session_absolute_seconds)
        ):
            log_event("auth.rejected", account_id=account_id, ip=ip)
            raise NotAuthenticated()
        if now - session.last_seen_at >= timedelta(seconds=s.session_touch_seconds):
            session = replace(session, last_seen_at=now)
            self._repo.touch_session(
                session, now, session.expires_at(s.session_idle_seconds, s.session_absolute_seconds)
            )
        return Caller(account=account, session=session, ip=ip)

    def logout(self, caller: Caller) -> None:
        self._repo.delete_session(caller.account.id, caller.session.token_hash)
        log_event("auth.logout", account_id=caller.account.id, ip=caller.ip)

    # --- sign-up --------------------------------------------------------------------------
    def signup(
        self,
        *,
        email: str,
        password: str,
        name: str,
        country: str,
        phone: str | None,
        locale: str,
        ip: str,
        user_agent: str = "",
    ) -> SignedIn:
        """A new trial account, signed in; its address gets a verification link."""
        from chalicelib.services.account_security import verification

        email = normalize_email(email)
        country = country.upper()
        if not is_country(country):
            raise InvalidInput(fields={"country": "invalid_country"})
        phone_e164 = normalize_phone(phone, country) if phone else None
        check_password_policy(password, field="password")
        now = self._clock.now()
        account = Account(
            id=new_id(),
            email=email,
            name=name.strip(),
            country=country,
            locale=locale,
            password_hash=self._hasher.hash(password),
            created_at=now,
            status=AccountStatus.TRIAL,
            phone=phone_e164,
            trial_ends_at=now + timedelta(days=self._settings.trial_days),
        )
        token, session = self.new_session(account, now, ip, user_agent)
        proof, proof_mail = verification(account, now, self._settings)
        try:
            self._repo.commit(
                AccountChange(
                    account=account,
                    create=True,
                    put_sessions=(session,),
                    tokens=(proof,),
                    mails=(proof_mail,),
                    audit=(AuditEvent(account.id, now, "signup", ip=ip),),
                )
            )
        except EmailAlreadyUsed:
            raise Conflict("email_taken", fields={"email": "email_taken"}) from None
        log_event("auth.signup", account_id=account.id, ip=ip)
        return SignedIn(token, account)

    # --- the throttle of password checks -----------------------------------------------
    def address_counted(self, ip: str) -> bool:
        """Whether per-address limits apply to ``ip`` (also the password reset's)."""
        return self._address_counted(ip)

    def _address_counted(self, ip: str) -> bool:
        """The per-address limit applies, except to loopback on the local stage."""
        if self._settings.stage != "local":
            return True
        try:
            return not ipaddress.ip_address(ip).is_loopback
        except ValueError:
            return True

    def _reserve(self, reservations: Sequence[Reservation], ip: str) -> None:
        """Take the attempt before any hash work; 429 when another attempt took it first."""
        if not self._repo.reserve_attempts(reservations):
            log_event("auth.throttled", ip=ip, contended=True)
            raise Throttled(retry_after=CONTENDED_RETRY_SECONDS)

    def _after_failure(
        self,
        account: Account | None,
        reservation: Reservation,
        now: datetime,
        ip: str,
        audit: AuditEvent | None = None,
    ) -> None:
        """Record ``audit`` (a failed sign-in, for the activity log) and mail the owner once
        per lockout episode: the failure that used up the free tries."""
        policy = self._policy.backoff(reservation.bucket.kind)
        starts = policy is not None and policy.starts_episode(reservation)
        if account is None or (audit is None and not starts):
            return
        events: tuple[AuditEvent, ...] = (audit,) if audit is not None else ()
        mails: tuple[OutboxMail, ...] = ()
        if starts:
            mails = (account_mail(account, "sign_in_throttled", now=now, settings=self._settings),)
            events += (
                AuditEvent(
                    account.id,
                    now,
                    "password_attempts_throttled",
                    ip=ip,
                    details={"bucket": reservation.bucket.kind.value},
                ),
            )
        try:
            self._repo.commit(AccountChange(mails=mails, audit=events))
        except DependencyUnavailable:  # the answer stays the failure it is
            log_error("auth.throttle_notice_failed", account_id=account.id)
        if not starts:
            return
        log_event(
            "auth.lockout_episode",
            account_id=account.id,
            ip=ip,
            bucket=reservation.bucket.kind.value,
        )

    def check_credentials(
        self,
        email: str,
        password: str,
        ip: str,
        device_token: str | None = None,
        user_agent: str = "",
    ) -> Verified:
        """The account whose password this is, after the throttle; the same failure
        (``invalid_credentials``, same work) whether or not the email exists."""
        email = email_lookup_key(email)
        now = self._clock.now()
        policy = self._policy
        account_bucket = Bucket(BucketKind.ACCOUNT, sha256_hex(email), policy.account.window(now))
        buckets = [account_bucket]
        if self._address_counted(ip):
            buckets.append(Bucket(BucketKind.ADDRESS, ip, policy.address.window(now)))
        presented = split_session_token(device_token) if device_token else None
        found = self._repo.login_lookup(email, buckets, presented)
        device = found.device
        if device is not None and not device.is_valid(found.account_id, now):
            device = None
        try:
            if device is not None:
                bucket = Bucket(BucketKind.DEVICE, f"{device.account_id}/{device.token_hash}")
                reservations = [policy.device.reserve(bucket, device.throttle, now)]
            else:
                reservations = [
                    policy.account.reserve(account_bucket, found.states.get(account_bucket), now)
                ]
                for bucket in buckets[1:]:
                    reservations.append(
                        policy.address.reserve(bucket, found.states.get(bucket), now)
                    )
        except Throttled:
            log_event("auth.throttled", ip=ip, trusted_device=device is not None)
            raise
        self._reserve(reservations, ip)
        account = found.account  # read with the marker; a marker without the copy: read it
        if account is None and found.account_id:
            account = self._repo.get_account(found.account_id)
        if account is None:
            self._hasher.burn(password)
            ok = False
        else:
            ok = self._hasher.verify(account.password_hash, password)
        if not ok or account is None:
            log_event("auth.login_failed", account_id=found.account_id, ip=ip)
            failed = (
                AuditEvent(account.id, now, "login_failed", ip=ip, details=browser(user_agent))
                if account is not None
                else None
            )
            self._after_failure(account, reservations[0], now, ip, failed)
            raise NotAuthenticated("invalid_credentials")
        if device is not None:
            return Verified(account, device)  # its bucket is reset with the device itself
        settle = [Settle(account_bucket)]
        settle += [Settle(r.bucket, refund=True, expires_at=r.expires_at) for r in reservations[1:]]
        return Verified(account, None, tuple(settle))

    def confirm_password(self, caller: Caller, password: str) -> Session:
        """Check the signed-in caller's password again (password change, email change,
        cancel) under the session's own throttle, before the hash work.  The session to store
        with the change (its bucket cleared); 401 ``invalid_password``; 429 while throttled."""
        now = self._clock.now()
        session = caller.session
        bucket = Bucket(BucketKind.SESSION, f"{session.account_id}/{session.token_hash}")
        try:
            reservation = self._policy.session.reserve(bucket, session.reauth, now)
        except Throttled:
            log_event("auth.throttled", account_id=session.account_id, ip=caller.ip)
            raise
        self._reserve([reservation], caller.ip)
        if not self._hasher.verify(caller.account.password_hash, password):
            log_event("auth.password_confirmation_failed", account_id=session.account_id)
            self._after_failure(caller.account, reservation, now, caller.ip)
            raise NotAuthenticated("invalid_password")
        return replace(session, reauth=ThrottleState())

    def second_factor(
        self, account: Account, code: str, now: datetime
    ) -> tuple[dict[str, object], bool]:
        """The account changes a valid second factor makes (the accepted time step, or the
        recovery code spent) and whether it was a recovery code; 401 ``invalid_code``."""
        assert account.mfa_secret is not None
        step = accepted_step(account.mfa_secret, code, now, account.mfa_last_step)
        if step is not None:
            return {"mfa_last_step": step}, False
        kept = spend_recovery_code(account.recovery_codes, code)
        if kept is not None:
            return {"recovery_codes": kept}, True
        log_event("auth.mfa_code_refused", account_id=account.id)
        raise NotAuthenticated("invalid_code")

    def check_second_factor(self, caller: Caller, check: Callable[[], object]) -> Session:
        """As :meth:`confirm_password`, for a code: ``check()`` (truthy when the code is
        right) under the session's throttle, reserved before; 401 ``invalid_code``."""
        now = self._clock.now()
        session = caller.session
        bucket = Bucket(BucketKind.SESSION, f"{session.account_id}/{session.token_hash}")
        reservation = self._policy.session.reserve(bucket, session.reauth, now)
        self._reserve([reservation], caller.ip)
        if not check():
            log_event("auth.mfa_code_refused", account_id=session.account_id)
            self._after_failure(caller.account, reservation, now, caller.ip)
            raise NotAuthenticated("invalid_code")
        return replace(session, reauth=ThrottleState())

    def trusted_device(
        self, account: Account, verified: Verified, presented: str | None, now: datetime
    ) -> tuple[TrustedDevice, str]:
        """The device to store at a sign-in and its token: the presented one refreshed (its
        bucket cleared), or a new one.  Only the token's hash is stored."""
        expires = now + timedelta(days=self._policy.device_days)
        if verified.device is not None and presented:
            fresh = replace(
                verified.device, last_used_at=now, expires_at=expires, throttle=ThrottleState()
            )
            return fresh, presented
        token, token_hash = new_session_token(account.id)
        return TrustedDevice(account.id, token_hash, now, now, expires), token

    # --- sign-in --------------------------------------------------------------------------
    def login(
        self,
        email: str,
        password: str,
        ip: str,
        device_token: str | None = None,
        user_agent: str = "",
        otp: str | None = None,
    ) -> SignedIn:
        """A new session; with two-factor sign-in on, ``otp`` (a TOTP code or an unused
        recovery code) after the password: 401 ``mfa_required`` without it, ``invalid_code``
        for a wrong, used or replayed one (each counted by the sign-in throttle: the attempt
        reserved for the password is only settled by a successful sign-in)."""
        verified = self.check_credentials(email, password, ip, device_token, user_agent)
        account = verified.account
        if account.status in (AccountStatus.CANCELLED, AccountStatus.REACTIVATION_REQUESTED):
            log_event("auth.login_cancelled", account_id=account.id, ip=ip)
            reactivation = {
                "url": "/reactivate",
                # what the reactivation page offers (said only after the password checked out)
                "kind": "paid" if account.plan else "trial",
                "request_open": account.status is AccountStatus.REACTIVATION_REQUESTED,
            }
            raise Forbidden("account_cancelled", extra={"reactivation": reactivation})
        now = self._clock.now()
        changes: dict[str, object] = {}
        mails: tuple[OutboxMail, ...] = ()
        if account.mfa_secret:  # the password checked out: now the second factor
            if not otp:
                log_event("auth.mfa_required", account_id=account.id, ip=ip)
                raise NotAuthenticated("mfa_required")
            factor, recovery = self.second_factor(account, otp, now)
            changes.update(factor)
            if recovery:
                mails = (
                    account_mail(account, "mfa_recovery_used", now=now, settings=self._settings),
                )
        if self._hasher.needs_rehash(account.password_hash):
            changes["password_hash"] = self._hasher.hash(password)
        updated = account.evolve(**changes) if changes else None
        token, session = self.new_session(updated or account, now, ip, user_agent)
        device, device_secret = self.trusted_device(account, verified, device_token, now)
        try:
            self._repo.commit(
                AccountChange(
                    account=updated,
                    expected_version=account.version if updated else None,
                    put_sessions=(session,),
                    devices=(device,),
                    throttle_settle=verified.settle,
                    mails=mails,
                    audit=(
                        AuditEvent(account.id, now, "login", ip=ip, details=browser(user_agent)),
                    ),
                )
            )
        except ConcurrentUpdate:  # a parallel sign-in used the same code first (no replay)
            if account.mfa_secret:
                raise NotAuthenticated("invalid_code") from None
            raise Conflict() from None
        log_event(
            "auth.login",
            account_id=account.id,
            ip=ip,
            rehashed="password_hash" in changes,
            trusted_device=verified.device is not None,
        )
        # what is owed, for the answer's pending_payment: the second and last read
        pending = tuple(self._repo.open_charges(account.id)) if account.status.may_owe else ()
        return SignedIn(token, updated or account, device_secret, pending)
