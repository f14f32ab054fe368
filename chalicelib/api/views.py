"""How domain objects are shown in answers (the contract's shapes)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from chalicelib.domain.account import Account
from chalicelib.domain.billing import Charge, Invoice, Party
from chalicelib.domain.contact import display_phone
from chalicelib.domain.credit_notes import CreditNote
from chalicelib.domain.ids import utc_iso
from chalicelib.i18n import translate


def account_view(account: Account) -> dict[str, Any]:
    return {
        "id": account.id,
        "email": account.email,
        "name": account.name,
        "phone": account.phone,
        "phone_national": display_phone(account.phone, account.country) if account.phone else None,
        "locale": account.locale,
        "country": account.country,
        "status": account.status.value,
        "plan": account.plan,
        "trial_ends_at": utc_iso(account.trial_ends_at) if account.trial_ends_at else None,
        "created_at": utc_iso(account.created_at),
        "email_verified": account.email_verified,
        "pending_email": account.pending_email,
        "mfa_enabled": account.mfa_secret is not None,
        "seats": account.seats,
        "cancel_at": _iso(account.cancel_at),
    }


def login_notice_view(account: Account, locale: str) -> dict[str, Any] | None:
    """What the sign-in answer tells the customer to do first (``notice``), or None.

    An ended trial: subscribe, on the console's billing page."""
    from chalicelib.domain.account import AccountStatus
    from chalicelib.i18n import format_date_long
    from chalicelib.services.trials import SUBSCRIBE_PATH

    if account.status is not AccountStatus.TRIAL_EXPIRED:
        return None
    ended = account.trial_ends_at or account.created_at
    return {
        "code": "trial_expired",
        "message": translate("trial_expired_notice", locale, date=format_date_long(ended, locale)),
        "url": SUBSCRIBE_PATH,
    }


def _iso(value: datetime | None) -> str | None:
    return utc_iso(value) if value else None


def pending_view(
    charges: list[Charge], locale: str, schedule_days: Sequence[int] = ()
) -> dict[str, Any] | None:
    """The contract's ``pending_payment`` object, or None when nothing is owed.

    ``suspends_at`` (an addition to the contract) is when the account is suspended if the
    charge stays unpaid: the grace period's end after a decline that stopped retries, or the
    last scheduled retry (``schedule_days``); null when no suspension is pending."""
    if not charges:
        return None
    items = [
        {
            "invoice_id": c.invoice_id,
            "amount": c.amount,
            "currency": c.currency,
            "since": utc_iso(c.first_failed_at or c.created_at),
            "attempts": c.attempts,
            "next_retry_at": None if c.retries_stopped else _iso(c.next_retry_at),
            "suspends_at": _iso(c.suspends_at(schedule_days)),
            "last_failure": {
                "code": c.last_failure.guidance.public_code,
                "message": translate(c.last_failure.guidance.message_key, locale),
            }
            if c.last_failure
            else None,
        }
        for c in charges
    ]
    currencies = {c.currency for c in charges}
    currency = charges[0].currency
    total = sum(c.amount for c in charges if c.currency == currency)
    if len(currencies) > 1:  # never add different currencies: show the first one's total
        items = [i for i in items if i["currency"] == currency]
    return {"items": items, "total": {"amount": total, "currency": currency}}


def billing_view(
    account: Account,
    charges: list[Charge],
    locale: str,
    currency: str,
    vat_notice: str | None = None,
    schedule_days: Sequence[int] = (),
) -> dict[str, Any]:
    from chalicelib.domain.countries import EU_VAT_COUNTRIES

    country = account.billing_address.country if account.billing_address else account.country
    return {
        "status": account.status.value,
        "plan": account.plan,
        "next_renewal_at": _iso(account.next_renewal_at),
        "currency": currency,
        "card": account.card.as_dict() if account.card else None,
        "billing_address": account.billing_address.as_dict() if account.billing_address else None,
        "vat": {
            "applicable": country in EU_VAT_COUNTRIES,
            "vat_id": account.vat_id,
            "status": account.vat_status,
            **({"notice": translate(vat_notice, locale)} if vat_notice else {}),
        },
        "pending_payment": pending_view(charges, locale, schedule_days),
        "seats": account.seats,
        "cancel_at": _iso(account.cancel_at),
        "scheduled_change": {
            "plan": account.scheduled_change.plan,
            "seats": account.scheduled_change.seats,
            "at": _iso(account.next_renewal_at),
        }
        if account.scheduled_change and account.next_renewal_at
        else None,
    }


def invoice_summary(invoice: Invoice) -> dict[str, Any]:
    return {
        "id": invoice.id,
        "number": invoice.number,
        "status": invoice.status.value,
        "issued_at": utc_iso(invoice.issued_at),
        "total": invoice.total,
        "currency": invoice.currency,
    }


def _party(party: Party) -> dict[str, Any]:
    return {
        "name": party.name,
        "address": party.address.as_dict() if party.address else None,
        "vat_id": party.vat_id,
    }


def _seller(invoice: Invoice) -> dict[str, Any]:
    """The seller with its legal identifiers (API.md v2 "Invoices (legal content)")."""
    legal = invoice.seller_legal
    return {
        **_party(invoice.seller),
        "legal_id": legal.siren if legal else None,
        "legal_form": legal.legal_form if legal else None,
        "share_capital": {
            "amount": legal.share_capital_minor(),
            "currency": legal.share_capital_currency,
        }
        if legal
        else None,
        "registration": legal.registration if legal else None,
    }


def invoice_view(invoice: Invoice, locale: str) -> dict[str, Any]:
    from chalicelib.documents.content import exemption_reason, legal_notices
    from chalicelib.i18n.invoices import line_label

    facts = invoice.tax_facts
    return {
        **invoice_summary(invoice),
        "period_start": utc_iso(invoice.period_start),
        "period_end": utc_iso(invoice.period_end),
        "lines": [
            {
                "description": line_label(invoice.plan_id, line.description, locale),
                "quantity": line.quantity,
                "unit_amount": line.unit_amount,
                "amount": line.amount,
            }
            for line in invoice.lines
        ],
        "subtotal": invoice.subtotal,
        "tax": {
            "rate": invoice.tax.rate,
            "amount": invoice.tax.amount,
            "reverse_charge": invoice.tax.reverse_charge,
            "mention": translate(invoice.tax.mention_key, locale)
            if invoice.tax.mention_key
            else None,
            "country": facts.country if facts else None,
            "scheme": facts.scheme if facts else None,
            "exemption_reason": exemption_reason(invoice, locale),
        },
        "legal_notices": legal_notices(invoice, locale),
        "withdrawal_waived_at": _iso(invoice.withdrawal_waived_at),
        "customer": _party(invoice.customer),
        "seller": _seller(invoice),
        "transactions": [
            {
                "id": t.id,
                "at": utc_iso(t.at),
                "amount": t.amount,
                "status": t.status,
                "card": {"brand": t.card_brand, "last4": t.card_last4},
                "failure": {
                    "code": t.failure_code or "card_declined",
                    "message": translate(t.failure_message_key or "card_declined", locale),
                }
                if t.status != "succeeded" and (t.failure_code or t.failure_message_key)
                else None,
            }
            for t in invoice.transactions
        ],
    }


def credit_note_summary(note: CreditNote) -> dict[str, Any]:
    refund = note.refund
    return {
        "id": note.id,
        "number": note.number,
        "invoice_id": note.invoice_id,
        "invoice_number": note.invoice_number,
        "issued_at": utc_iso(note.issued_at),
        "reason": note.reason.value,
        "total": note.total,
        "currency": note.currency,
        "refund": {"status": refund.status.value, "amount": refund.amount} if refund else None,
    }


def credit_note_view(note: CreditNote, locale: str) -> dict[str, Any]:
    """A credit note: its own number and reason, and the invoice's lines, VAT and parties."""
    document = invoice_view(note.document(), locale)
    return {
        **credit_note_summary(note),
        "reason_text": translate(f"credit.reason.{note.reason.value}", locale),
        "note": note.note,
        **{
            key: document[key]
            for key in ("lines", "subtotal", "tax", "customer", "seller", "legal_notices")
        },
    }
