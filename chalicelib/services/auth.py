"""Sign-up, sign-in, sessions and sign-out.

Sessions: the bearer token is ``<account id>.<secret>``; only SHA-256(secret) is stored, under
the account, so one BatchGet reads the account and the session together.  A session is valid
while its ``epoch`` equals the account's ``session_epoch``: bumping the epoch ends every
session at once (password change keeps the current one by re-issuing it; cancel ends all).
Idle and absolute expiry are checked here on every request; DynamoDB TTL only cleans up.

Sign-in is throttled per account (keyed by the email's hash, so unknown emails are throttled
the same way) and per source address, in fixed windows.  Unknown emails do the same
password-hash work as known ones (``PasswordHasher.burn``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from chalicelib.config import Settings
from chalicelib.domain.account import (
    Account,
    AccountChange,
    AccountStatus,
    AuditEvent,
    Session,
)
from chalicelib.domain.contact import normalize_email, normalize_phone
from chalicelib.domain.countries import is_country
from chalicelib.domain.errors import (
    Conflict,
    EmailAlreadyUsed,
    Forbidden,
    InvalidInput,
    NotAuthenticated,
    Throttled,
)
from chalicelib.domain.ids import new_id, new_session_token, sha256_hex, split_session_token
from chalicelib.domain.passwords import check_password_policy
from chalicelib.logs import log_event
from chalicelib.services.ports import AccountRepository, Clock, PasswordHasher


@dataclass(frozen=True)
class SignedIn:
    """A new session's bearer token and its account."""

    token: str
    account: Account


@dataclass(frozen=True)
class Caller:
    """The authenticated caller of a request."""

    account: Account
    session: Session
    ip: str


class AuthService:
    def __init__(
        self,
        repo: AccountRepository,
        hasher: PasswordHasher,
        clock: Clock,
        settings: Settings,
    ) -> None:
        self._repo = repo
        self._hasher = hasher
        self._clock = clock
        self._settings = settings

    # --- sessions -------------------------------------------------------------------------
    def new_session(self, account: Account, now: datetime, ip: str) -> tuple[str, Session]:
        """A fresh token and the session stored for it (at the account's current epoch)."""
        token, token_hash = new_session_token(account.id)
        session = Session(
            account_id=account.id,
            token_hash=token_hash,
            epoch=account.session_epoch,
            created_at=now,
            last_seen_at=now,
            ip=ip,
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
            session = Session(**{**session.__dict__, "last_seen_at": now})
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
    ) -> SignedIn:
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
        token, session = self.new_session(account, now, ip)
        try:
            self._repo.commit(
                AccountChange(
                    account=account,
                    create=True,
                    put_sessions=(session,),
                    audit=(AuditEvent(account.id, now, "signup", ip=ip),),
                )
            )
        except EmailAlreadyUsed:
            raise Conflict("email_taken", fields={"email": "email_taken"}) from None
        log_event("auth.signup", account_id=account.id, ip=ip)
        return SignedIn(token, account)

    # --- sign-in --------------------------------------------------------------------------
    def _throttle_keys(self, email: str, ip: str) -> tuple[str, str]:
        return f"email#{sha256_hex(email)}", f"ip#{ip}"

    def check_credentials(self, email: str, password: str, ip: str) -> Account:
        """The account whose password this is, after the throttle; the same failure
        (``invalid_credentials``, same work) whether or not the email exists."""
        email = email.strip().lower()
        s = self._settings
        now = self._clock.now()
        window = int(now.timestamp()) // s.login_window_seconds
        window_end = (window + 1) * s.login_window_seconds
        email_key, ip_key = self._throttle_keys(email, ip)
        account_id, counts = self._repo.login_lookup(email, (email_key, ip_key), window)
        if (
            counts.get(email_key, 0) >= s.login_max_failures_per_account
            or counts.get(ip_key, 0) >= s.login_max_failures_per_address
        ):
            log_event("auth.throttled", ip=ip)
            raise Throttled(retry_after=window_end - int(now.timestamp()))
        account = self._repo.get_account(account_id) if account_id else None
        if account is None:
            self._hasher.burn(password)
            ok = False
        else:
            ok = self._hasher.verify(account.password_hash, password)
        if not ok or account is None:
            expires = datetime.fromtimestamp(window_end + 60, tz=now.tzinfo)
            self._repo.add_failures((email_key, ip_key), window, expires)
            log_event("auth.login_failed", account_id=account_id, ip=ip)
            raise NotAuthenticated("invalid_credentials")
        return account

    def login(self, email: str, password: str, ip: str) -> SignedIn:
        account = self.check_credentials(email, password, ip)
        if account.status in (AccountStatus.CANCELLED, AccountStatus.REACTIVATION_REQUESTED):
            log_event("auth.login_cancelled", account_id=account.id, ip=ip)
            raise Forbidden("account_cancelled", extra={"reactivation": {"url": "/reactivate"}})
        now = self._clock.now()
        updated: Account | None = None
        if self._hasher.needs_rehash(account.password_hash):
            updated = account.evolve(password_hash=self._hasher.hash(password))
        token, session = self.new_session(updated or account, now, ip)
        self._repo.commit(
            AccountChange(
                account=updated,
                expected_version=account.version if updated else None,
                put_sessions=(session,),
                audit=(AuditEvent(account.id, now, "login", ip=ip),),
            )
        )
        log_event("auth.login", account_id=account.id, ip=ip, rehashed=updated is not None)
        return SignedIn(token, updated or account)
