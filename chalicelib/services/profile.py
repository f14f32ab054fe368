"""Profile and password changes of the signed-in account.

An email change waits for the new address to be proven: it stores ``pending_email`` and
mails the proof link to the new address and a "this was not me" link to the old one
(``account_security``); the address changes when the proof comes back.

Every change is one conditional commit (on the account's version) together with its
security notice in the outbox and its audit event, so a notice is never lost or sent for a
change that did not happen.  The current password (email and password changes) is checked
by ``AuthService.confirm_password``, under the session's throttle, before any hash work; the
commit stores the session with its throttle bucket cleared.
"""

from __future__ import annotations

from msgspec import Struct
from msgspec.structs import replace

from chalicelib.config import Settings
from chalicelib.domain.account import (
    Account,
    AccountChange,
    AccountToken,
    AuditEvent,
    Caller,
    OutboxMail,
    Session,
    TokenPurpose,
)
from chalicelib.domain.contact import normalize_email, normalize_phone
from chalicelib.domain.errors import (
    ConcurrentUpdate,
    Conflict,
    EmailAlreadyUsed,
    InvalidInput,
    NotAuthenticated,
)
from chalicelib.domain.passwords import check_password_policy
from chalicelib.i18n import format_datetime_long
from chalicelib.logs import log_event
from chalicelib.services.account_security import email_change_proofs
from chalicelib.services.auth import AuthService
from chalicelib.services.mail import new_mail
from chalicelib.services.ports import AccountRepository, Clock, PasswordHasher

_UNSET = object()


class ProfileChanges(Struct, frozen=True):
    """Fields a customer asked to change (``None`` for phone means "remove it")."""

    name: str | None = None
    email: str | None = None
    phone: str | object | None = _UNSET
    locale: str | None = None
    current_password: str | None = None


class ProfileService:
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

    def _commit(self, change: AccountChange) -> None:
        try:
            self._repo.commit(change)
        except ConcurrentUpdate:
            raise Conflict() from None
        except EmailAlreadyUsed:
            raise Conflict("email_taken", fields={"email": "email_taken"}) from None

    def update_profile(self, caller: Caller, changes: ProfileChanges) -> Account:
        account = caller.account
        now = self._clock.now()
        updates: dict[str, object] = {}
        mails: list[OutboxMail] = []
        audit = []
        sessions: tuple[Session, ...] = ()
        if changes.name is not None and changes.name.strip() != account.name:
            updates["name"] = changes.name.strip()
        if changes.locale is not None and changes.locale != account.locale:
            updates["locale"] = changes.locale
        if changes.phone is not _UNSET:
            phone = changes.phone
            new_phone = normalize_phone(str(phone), account.country) if phone else None
            if new_phone != account.phone:
                updates["phone"] = new_phone
        tokens: tuple[AccountToken, ...] = ()
        drop: tuple[tuple[str, TokenPurpose], ...] = ()
        if changes.email is not None:
            new_email = normalize_email(changes.email)
            if new_email == account.email and account.pending_email:
                updates["pending_email"] = None  # back to the current address: no change
                drop = ((account.id, TokenPurpose.EMAIL_CHANGE),)
            elif new_email not in (account.email, account.pending_email):
                if not changes.current_password:
                    raise InvalidInput(fields={"current_password": "current_password_required"})
                try:
                    sessions = (self._auth.confirm_password(caller, changes.current_password),)
                except NotAuthenticated:
                    log_event("profile.email_change_refused", account_id=account.id, ip=caller.ip)
                    raise
                if self._repo.login_lookup(new_email, []).account_id is not None:
                    raise Conflict("email_taken", fields={"email": "email_taken"})
                # the address changes once the new one is proven (account_security)
                updates["pending_email"] = new_email
                tokens, proof_mails = email_change_proofs(account, new_email, now, self._settings)
                mails.extend(proof_mails)
                audit.append(
                    AuditEvent(
                        account.id,
                        now,
                        "email_change_requested",
                        ip=caller.ip,
                        details={"new": new_email},
                    )
                )
        if not updates:
            return account
        updated = account.evolve(**updates)
        audit.append(
            AuditEvent(
                account.id,
                now,
                "profile_updated",
                ip=caller.ip,
                details={"fields": ",".join(sorted(updates))},
            )
        )
        self._commit(
            AccountChange(
                account=updated,
                expected_version=account.version,
                put_sessions=sessions,
                tokens=tokens,
                drop_tokens=drop,
                mails=tuple(mails),
                audit=tuple(audit),
            )
        )
        log_event("profile.updated", account_id=account.id, fields=sorted(updates), ip=caller.ip)
        return updated

    def change_password(
        self, caller: Caller, current_password: str, new_password: str, confirm_password: str
    ) -> None:
        """Change the password; every other session ends and the account is told by mail."""
        account = caller.account
        if new_password != confirm_password:
            raise InvalidInput(
                "password_mismatch", fields={"confirm_password": "password_mismatch"}
            )
        check_password_policy(new_password)
        try:
            current = self._auth.confirm_password(caller, current_password)
        except NotAuthenticated:
            log_event("profile.password_change_refused", account_id=account.id, ip=caller.ip)
            raise
        now = self._clock.now()
        updated = account.evolve(
            password_hash=self._hasher.hash(new_password),
            session_epoch=account.session_epoch + 1,
        )
        kept = replace(current, epoch=updated.session_epoch)
        mail = new_mail(
            to=account.email,
            template="password_changed",
            locale=account.locale,
            now=now,
            account_id=account.id,
            params={
                "name": account.name,
                "at": format_datetime_long(now, account.locale),
                "support_email": self._settings.vendor_support_email,
            },
        )
        self._commit(
            AccountChange(
                account=updated,
                expected_version=account.version,
                put_sessions=(kept,),
                mails=(mail,),
                audit=(AuditEvent(account.id, now, "password_changed", ip=caller.ip),),
            )
        )
        log_event("profile.password_changed", account_id=account.id, ip=caller.ip)
