"""Building outbox mail and rendering it in the recipient's language."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from chalicelib.config import Settings
from chalicelib.domain.account import Account, OutboxMail
from chalicelib.domain.billing import Invoice
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


BILLING_PATH = "/#/account"  # the console's "My account" view, where billing is


def billing_mail(
    account: Account, template: str, now: datetime, console_url: str, **params: str
) -> OutboxMail:
    """A mail to ``account`` about its subscription: ``params`` with its name and the link to
    the console's billing (``{name}``, ``{console_url}``)."""
    return new_mail(
        to=account.email,
        template=template,
        locale=account.locale,
        now=now,
        account_id=account.id,
        params={"name": account.name, **params, "console_url": f"{console_url}{BILLING_PATH}"},
    )


def render_mail(mail: OutboxMail) -> tuple[str, str]:
    """Subject and plain-text body of ``mail``."""
    subject = translate(f"mail.{mail.template}.subject", mail.locale, **mail.params)
    body = translate(f"mail.{mail.template}.body", mail.locale, **mail.params)
    return subject, body


def payment_mail(
    account: Account,
    invoices: Sequence[Invoice],
    *,
    now: datetime,
    console_url: str,
    failure_key: str | None = None,
    suspends_at: datetime | None = None,
    suspended: bool = False,
) -> OutboxMail:
    """The receipt for ``invoices`` paid together, or (with ``failure_key``, the decline
    guidance) the notice that charging them failed, with a link to the console and, when the
    account will be suspended if nothing changes, the date (or that it is suspended now)."""
    from chalicelib.i18n import format_date_long, format_money, translate

    params = {
        "name": account.name,
        "number": ", ".join(i.number for i in invoices),
        "amount": format_money(
            sum(i.total for i in invoices), invoices[0].currency, account.locale
        ),
        "console_url": console_url,
    }
    if failure_key is not None:
        reason = translate(failure_key, account.locale)
        if suspended:
            reason += " " + translate("decline.now_suspended", account.locale)
        elif suspends_at is not None:
            date = format_date_long(suspends_at, account.locale)
            reason += " " + translate("decline.suspends_on", account.locale, date=date)
        params["reason"] = reason
    return new_mail(
        to=account.email,
        template="payment_failed" if failure_key else "payment_receipt",
        locale=account.locale,
        now=now,
        account_id=account.id,
        params=params,
    )


def suspension_mail(
    account: Account, invoices: Sequence[Invoice], *, now: datetime, console_url: str
) -> OutboxMail:
    """The notice that the account is suspended until what it owes is paid."""
    from chalicelib.i18n import format_money

    return new_mail(
        to=account.email,
        template="account_suspended",
        locale=account.locale,
        now=now,
        account_id=account.id,
        params={
            "name": account.name,
            "number": ", ".join(i.number for i in invoices),
            "amount": format_money(
                sum(i.total for i in invoices), invoices[0].currency, account.locale
            )
            if invoices
            else "",
            "console_url": console_url,
        },
    )


def account_mail(
    account: Account,
    template: str,
    *,
    now: datetime,
    settings: Settings,
    to: str | None = None,
    **params: str,
) -> OutboxMail:
    """A security mail about ``account`` (to its address unless ``to``), in its language,
    with the usual parameters: ``name``, ``at`` (now, in words), ``console_url``,
    ``support_email``; ``params`` add links (``link``) and addresses."""
    from chalicelib.i18n import format_datetime_long

    return new_mail(
        to=to or account.email,
        template=template,
        locale=account.locale,
        now=now,
        account_id=account.id,
        params={
            "name": account.name,
            "at": format_datetime_long(now, account.locale),
            "console_url": settings.console_url,
            "support_email": settings.vendor_support_email,
            **params,
        },
    )


def console_link(settings: Settings, page: str, token: str) -> str:
    """A console link carrying ``token`` in the fragment (never sent to a server, so never
    in an access log or a Referer)."""
    return f"{settings.console_url.rstrip('/')}/#/{page}?token={token}"
