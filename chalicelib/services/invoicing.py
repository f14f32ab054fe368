"""Issuing an invoice's legal content: the tax facts and the seller's identity, fixed at issue.

:func:`price_for_account` is the price shown before subscribing (``GET /plans``, the console)
and confirmed by ``expected_total``: the same VAT decision as the invoice, so the amount
confirmed is the amount charged.

:func:`snapshot_tax_facts` is the one call the billing service makes on a new invoice, before
it is stored: it decides the VAT with :func:`chalicelib.domain.tax.decide` from the account as
it is at that moment (billing address and postal code, VAT ID and its VIES evidence, the
card's issuing country), sets the invoice's tax and total from its net subtotal, and stores
the evidence (:class:`~chalicelib.domain.tax.TaxFacts`) and the seller's identifiers on it.
Nothing later (a VIES re-check, a new address, a new card) rewrites an issued invoice.

:func:`evidence_audit` is the audit event to commit with the invoice when the card's country
contradicts the billing country (two pieces of location evidence that disagree, Art. 24f of
Implementing Regulation 282/2011: the billing address is kept as the location, and the
conflict is on record for review).
"""

from __future__ import annotations

from datetime import date, datetime

from msgspec import Struct
from msgspec.structs import replace

from chalicelib.config import Settings
from chalicelib.domain.account import Account, AuditEvent
from chalicelib.domain.billing import Invoice, Tax
from chalicelib.domain.tax import Decision, TaxFacts, decide, evidence_conflict, quarter_of
from chalicelib.domain.vat_rates import REVERSE_CHARGE_MENTION, vat_amount

EVIDENCE_CONFLICT_EVENT = "tax_evidence_conflict"


class Price(Struct, frozen=True):
    """What a customer pays for a net amount: the VAT decided as on an invoice issued now."""

    net: int
    tax: int
    total: int
    rate: str
    country: str | None  # the member state whose VAT applies (None outside the EU VAT area)
    scheme: str
    billing_country: str
    eu_consumer: bool  # a consumer in the EU: the 14-day withdrawal right applies

    @property
    def reverse_charge(self) -> bool:
        return self.scheme == "reverse_charge"

    def as_dict(self, currency: str) -> dict[str, object]:
        """The contract's ``price`` object (``GET /plans``, the 409 ``price_changed``)."""
        return {
            "net": self.net,
            "tax": self.tax,
            "total": self.total,
            "currency": currency,
            "rate": self.rate,
            "country": self.country,
            "billing_country": self.billing_country,
            "reverse_charge": self.reverse_charge,
            "withdrawal_consent": self.eu_consumer,
        }


def _account_decision(account: Account, settings: Settings, on: date) -> tuple[Decision, str]:
    address = account.billing_address
    billing_country = (address.country if address else account.country).upper()
    business = account.vat_id is not None
    decision = decide(
        seller_country=settings.vendor_country,
        customer_country=billing_country,
        customer_postal_code=address.postal_code if address else None,
        customer_vat_status=account.vat_status if business else None,
        business=business,
        on=on,
    )
    return decision, billing_country


def _price(net: int, decision: Decision, billing_country: str, business: bool) -> Price:
    tax = vat_amount(net, decision.rate)
    return Price(
        net=net,
        tax=tax,
        total=net + tax,
        rate=format(decision.rate.normalize(), "f"),
        country=decision.country,
        scheme=decision.scheme,
        billing_country=billing_country,
        eu_consumer=not business and decision.scheme in ("domestic", "oss"),
    )


def price_for_account(net: int, account: Account, settings: Settings, on: date) -> Price:
    """The price ``account`` pays for ``net`` on ``on``: the same decision as its invoice."""
    decision, billing_country = _account_decision(account, settings, on)
    return _price(net, decision, billing_country, account.vat_id is not None)


def price_for_country(
    net: int, country: str, postal_code: str | None, settings: Settings, on: date
) -> Price:
    """The price a consumer in ``country`` pays (anonymous visitors of the plan list)."""
    decision = decide(
        seller_country=settings.vendor_country,
        customer_country=country.upper(),
        customer_postal_code=postal_code,
        customer_vat_status=None,
        business=False,
        on=on,
    )
    return _price(net, decision, country.upper(), False)


def snapshot_tax_facts(invoice: Invoice, account: Account, settings: Settings) -> Invoice:
    """``invoice`` with its VAT decided and its tax facts and seller identity fixed."""
    address = account.billing_address
    postal_code = address.postal_code if address else None
    business = account.vat_id is not None
    decision, billing_country = _account_decision(account, settings, invoice.issued_at.date())
    rate = format(decision.rate.normalize(), "f")
    amount = vat_amount(invoice.subtotal, decision.rate)
    reverse = decision.reverse_charge
    card_country = account.card.issuer_country if account.card else None
    facts = TaxFacts(
        scheme=decision.scheme,
        rate=rate,
        country=decision.country,
        place_of_supply=decision.place.territory or billing_country,
        billing_country=billing_country,
        billing_postal_code=postal_code,
        card_country=card_country,
        evidence_conflict=evidence_conflict(billing_country, card_country),
        business=business,
        customer_vat_id=account.vat_id,
        vat_id_status=account.vat_status if business else None,
        vies_request_id=account.vat_request_id if reverse else None,
        vies_checked_at=account.vat_checked_at if reverse else None,
        exemption=decision.exemption,
        quarter=quarter_of(invoice.issued_at),
    )
    return replace(
        invoice,
        tax=Tax(
            rate=rate,
            amount=amount,
            reverse_charge=reverse,
            mention_key=REVERSE_CHARGE_MENTION if reverse else None,
        ),
        total=invoice.subtotal + amount,
        tax_facts=facts,
        seller_legal=settings.seller_legal(),
    )


def evidence_audit(invoice: Invoice, at: datetime) -> tuple[AuditEvent, ...]:
    """The audit event flagging a conflict of location evidence on ``invoice`` (or none)."""
    facts = invoice.tax_facts
    if facts is None or not facts.evidence_conflict:
        return ()
    return (
        AuditEvent(
            invoice.account_id,
            at,
            EVIDENCE_CONFLICT_EVENT,
            actor="system",
            details={
                "invoice": invoice.number,
                "billing_country": facts.billing_country,
                "card_country": str(facts.card_country),
                "kept": facts.billing_country,
            },
        ),
    )
