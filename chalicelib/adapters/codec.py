"""JSON codecs for the value objects stored as documents inside DynamoDB items.

Cards, addresses, invoice bodies and transaction lists are small, read and written whole, and
never queried by their inner fields, so each is one JSON string attribute.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from msgspec import Struct, to_builtins

from chalicelib.domain.billing import (
    Address,
    Attempt,
    Invoice,
    InvoiceLine,
    InvoiceStatus,
    Party,
    Tax,
    Transaction,
)
from chalicelib.domain.credit_notes import CreditNote, CreditReason, Refund, RefundStatus
from chalicelib.domain.ids import parse_iso, utc_iso
from chalicelib.domain.legal import SellerLegal
from chalicelib.domain.payments import CardSummary, DeclineInfo
from chalicelib.domain.plans import PlanChange
from chalicelib.domain.tax import TaxFacts


def asdict(value: Struct) -> dict[str, Any]:
    """A struct as nested dicts and lists of its fields, in field order (enums as their
    values); datetimes are left as they are, for each codec to write as it stores them."""
    plain: dict[str, Any] = to_builtins(value, builtin_types=(datetime,))
    return plain


def dumps(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


CARD_ADDITIONS = ("line1", "city")  # added after v1: left out when empty (older cards had none)


def card_to_json(card: CardSummary | None) -> str | None:
    if card is None:
        return None
    data = asdict(card)
    for name in CARD_ADDITIONS:
        if data.get(name) is None:
            data.pop(name, None)
    return dumps(data)


def card_from_json(raw: str | None) -> CardSummary | None:
    return CardSummary(**json.loads(raw)) if raw else None


def address_to_json(address: Address | None) -> str | None:
    return dumps(asdict(address)) if address else None


def address_from_json(raw: str | None) -> Address | None:
    return Address(**json.loads(raw)) if raw else None


def decline_to_json(info: DeclineInfo | None) -> str | None:
    return dumps(asdict(info)) if info else None


def decline_from_json(raw: str | None) -> DeclineInfo | None:
    return DeclineInfo(**json.loads(raw)) if raw else None


def _party(data: dict[str, Any]) -> Party:
    address = data.get("address")
    return Party(
        name=data["name"],
        address=Address(**address) if address else None,
        vat_id=data.get("vat_id"),
        email=data.get("email"),
    )


def transactions_to_json(transactions: tuple[Transaction, ...]) -> str:
    return dumps([{**asdict(t), "at": utc_iso(t.at)} for t in transactions])


def transactions_from_json(raw: str) -> tuple[Transaction, ...]:
    return tuple(Transaction(**{**t, "at": parse_iso(t["at"])}) for t in json.loads(raw))


def invoice_body_to_json(invoice: Invoice) -> str:
    """The immutable part of an invoice (everything but status, transactions and version)."""
    body = asdict(invoice)
    for key in ("status", "transactions", "version"):
        body.pop(key)
    for key in ("issued_at", "period_start", "period_end"):
        body[key] = utc_iso(getattr(invoice, key))
    facts = invoice.tax_facts
    if facts is not None and facts.vies_checked_at is not None:
        body["tax_facts"]["vies_checked_at"] = utc_iso(facts.vies_checked_at)
    if invoice.withdrawal_waived_at is not None:
        body["withdrawal_waived_at"] = utc_iso(invoice.withdrawal_waived_at)
    else:
        body.pop("withdrawal_waived_at", None)
    return dumps(body)


def _tax_facts(data: dict[str, Any] | None) -> TaxFacts | None:
    if not data:
        return None
    checked = data.get("vies_checked_at")
    return TaxFacts(**{**data, "vies_checked_at": parse_iso(checked) if checked else None})


def invoice_from_json(raw: str, status: str, transactions: str, version: int) -> Invoice:
    body = json.loads(raw)
    return Invoice(
        id=body["id"],
        account_id=body["account_id"],
        number=body["number"],
        status=InvoiceStatus(status),
        issued_at=parse_iso(body["issued_at"]),
        period_start=parse_iso(body["period_start"]),
        period_end=parse_iso(body["period_end"]),
        currency=body["currency"],
        lines=tuple(InvoiceLine(**line) for line in body["lines"]),
        subtotal=body["subtotal"],
        tax=Tax(**body["tax"]),
        total=body["total"],
        customer=_party(body["customer"]),
        seller=_party(body["seller"]),
        plan_id=body["plan_id"],
        transactions=transactions_from_json(transactions),
        version=version,
        tax_facts=_tax_facts(body.get("tax_facts")),
        seller_legal=SellerLegal(**body["seller_legal"]) if body.get("seller_legal") else None,
        withdrawal_waived_at=parse_iso(body["withdrawal_waived_at"])
        if body.get("withdrawal_waived_at")
        else None,
    )


def attempt_to_json(attempt: Attempt | None) -> str | None:
    if not attempt:
        return None
    data = asdict(attempt)
    data["created_at"] = utc_iso(attempt.created_at) if attempt.created_at else None
    return dumps(data)


def attempt_from_json(raw: str | None) -> Attempt | None:
    if not raw:
        return None
    data = json.loads(raw)
    created = data.get("created_at")
    return Attempt(
        **{
            **data,
            "charge_ids": tuple(data["charge_ids"]),
            "created_at": parse_iso(created) if created else None,
        }
    )


_REFUND_TIMES = ("sent_at", "check_at")


def refund_to_json(refund: Refund | None) -> str | None:
    """The refund as JSON; the reconciliation fields only when set (a refund stored before
    them, or never reconciled, keeps its first shape)."""
    if refund is None:
        return None
    data = asdict(refund)
    for key in _REFUND_TIMES:
        value = data.pop(key)
        if value is not None:
            data[key] = utc_iso(value)
    if not data["attempt"]:
        data.pop("attempt")
    return dumps(data)


def refund_from_json(raw: str | None) -> Refund | None:
    if not raw:
        return None
    data = json.loads(raw)
    times = {k: parse_iso(data[k]) for k in _REFUND_TIMES if data.get(k)}
    return Refund(**{**data, **times, "status": RefundStatus(data["status"])})


def credit_note_body_to_json(note: CreditNote) -> str:
    """The immutable part of a credit note (everything but its refund and version)."""
    body = asdict(note)
    for key in ("refund", "version"):
        body.pop(key)
    for key in ("issued_at", "period_start", "period_end", "invoice_issued_at"):
        body[key] = utc_iso(getattr(note, key))
    facts = note.tax_facts
    if facts is not None and facts.vies_checked_at is not None:
        body["tax_facts"]["vies_checked_at"] = utc_iso(facts.vies_checked_at)
    return dumps(body)


def credit_note_from_json(raw: str, refund: str | None, version: int) -> CreditNote:
    body = json.loads(raw)
    return CreditNote(
        id=body["id"],
        account_id=body["account_id"],
        number=body["number"],
        invoice_id=body["invoice_id"],
        invoice_number=body["invoice_number"],
        issued_at=parse_iso(body["issued_at"]),
        reason=CreditReason(body["reason"]),
        currency=body["currency"],
        lines=tuple(InvoiceLine(**line) for line in body["lines"]),
        subtotal=body["subtotal"],
        tax=Tax(**body["tax"]),
        total=body["total"],
        customer=_party(body["customer"]),
        seller=_party(body["seller"]),
        plan_id=body["plan_id"],
        period_start=parse_iso(body["period_start"]),
        period_end=parse_iso(body["period_end"]),
        invoice_issued_at=parse_iso(body["invoice_issued_at"]),
        note=body.get("note"),
        tax_facts=_tax_facts(body.get("tax_facts")),
        seller_legal=SellerLegal(**body["seller_legal"]) if body.get("seller_legal") else None,
        refund=refund_from_json(refund),
        version=version,
    )


def plan_changes_to_json(scheduled: PlanChange | None, pending: PlanChange | None) -> str | None:
    """The account's scheduled downgrade and in-flight upgrade, as one JSON document."""
    if scheduled is None and pending is None:
        return None
    return dumps(
        {
            "scheduled": scheduled.as_json() if scheduled else None,
            "pending": pending.as_json() if pending else None,
        }
    )


def plan_changes_from_json(raw: str | None) -> dict[str, PlanChange | None]:
    """``scheduled_change`` and ``pending_change`` of an account item (absent: none)."""
    data = json.loads(raw) if raw else {}
    return {
        "scheduled_change": PlanChange.from_json(data.get("scheduled")),
        "pending_change": PlanChange.from_json(data.get("pending")),
    }
