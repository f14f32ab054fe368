"""Building outbox mail and rendering it in the recipient's language."""

from __future__ import annotations

from datetime import datetime

from chalicelib.domain.account import OutboxMail
from chalicelib.domain.ids import new_id
from chalicelib.i18n import translate


def new_mail(
    *,
    to: str,
    template: str,
    locale: str,
    now: datetime,
    params: dict[str, str],
    account_id: str | None = None,
) -> OutboxMail:
    """A pending mail, due at once."""
    return OutboxMail(
        id=new_id(),
        to=to,
        template=template,
        locale=locale,
        created_at=now,
        params=params,
        account_id=account_id,
        next_attempt_at=now,
    )


def render_mail(mail: OutboxMail) -> tuple[str, str]:
    """Subject and plain-text body of ``mail``."""
    subject = translate(f"mail.{mail.template}.subject", mail.locale, **mail.params)
    body = translate(f"mail.{mail.template}.body", mail.locale, **mail.params)
    return subject, body
