"""EU standard VAT rates as data, and the VAT decision for one invoice.

The rates
    :data:`STANDARD_RATES` lists, for each of the 27 member states, its standard rate (a
    ``Decimal`` percentage) and the date from which it applies; a country's rate on a date is
    the latest entry that is not after it.  The table starts on :data:`TABLE_START`
    (2020-01-01) and is current on 2026-11-26.  Changes since the start:

    ======  ==========================  =============================================
    DE      16 % 2020-07-01             back to 19 % on 2021-01-01 (COVID cut)
    IE      21 % 2020-09-01             back to 23 % on 2021-03-01 (COVID cut)
    LU      16 % 2023-01-01             back to 17 % on 2024-01-01
    EE      22 % 2024-01-01             24 % from 2025-07-01
    FI      25.5 % 2024-09-01
    SK      23 % 2025-01-01
    RO      21 % 2025-08-01
    ======  ==========================  =============================================

    A rate change is one more row; rows are never edited, so old invoices keep their rate.
    Only standard rates are kept: a help-desk subscription is an electronically supplied
    service, taxed at the standard rate everywhere.

The decision (:func:`tax_for`, VT4) is :func:`chalicelib.domain.tax.decide` (schemes
    ``domestic``, ``oss``, ``reverse_charge``, ``outside_scope``; Monaco, the Canary Islands,
    Ceuta and Melilla); ``tax_for`` is its view for the invoice's :class:`Tax`.  A pending ID
    is charged VAT until it is verified (F7).

The amount (:func:`vat_amount`)
    VAT is computed once on the invoice's net total, in integer minor units, with ``Decimal``
    arithmetic, rounded half-up (half away from zero) to the unit, so
    ``total = net + vat`` is exact to the cent.  Floats are never involved.
"""

from __future__ import annotations

from datetime import date
from decimal import ROUND_HALF_UP, Decimal, localcontext

from msgspec import Struct

from chalicelib.domain.tax import Scheme

REVERSE_CHARGE_MENTION = "vat.reverse_charge_mention"
TABLE_START = date(2020, 1, 1)

_D = Decimal
_START = TABLE_START

STANDARD_RATES: tuple[tuple[str, Decimal, date], ...] = (
    ("AT", _D("20"), _START),
    ("BE", _D("21"), _START),
    ("BG", _D("20"), _START),
    ("CY", _D("19"), _START),
    ("CZ", _D("21"), _START),
    ("DE", _D("19"), _START),
    ("DE", _D("16"), date(2020, 7, 1)),
    ("DE", _D("19"), date(2021, 1, 1)),
    ("DK", _D("25"), _START),
    ("EE", _D("20"), _START),
    ("EE", _D("22"), date(2024, 1, 1)),
    ("EE", _D("24"), date(2025, 7, 1)),
    ("ES", _D("21"), _START),
    ("FI", _D("24"), _START),
    ("FI", _D("25.5"), date(2024, 9, 1)),
    ("FR", _D("20"), _START),
    ("GR", _D("24"), _START),
    ("HR", _D("25"), _START),
    ("HU", _D("27"), _START),
    ("IE", _D("23"), _START),
    ("IE", _D("21"), date(2020, 9, 1)),
    ("IE", _D("23"), date(2021, 3, 1)),
    ("IT", _D("22"), _START),
    ("LT", _D("21"), _START),
    ("LU", _D("17"), _START),
    ("LU", _D("16"), date(2023, 1, 1)),
    ("LU", _D("17"), date(2024, 1, 1)),
    ("LV", _D("21"), _START),
    ("MT", _D("18"), _START),
    ("NL", _D("21"), _START),
    ("PL", _D("23"), _START),
    ("PT", _D("23"), _START),
    ("RO", _D("19"), _START),
    ("RO", _D("21"), date(2025, 8, 1)),
    ("SE", _D("25"), _START),
    ("SI", _D("22"), _START),
    ("SK", _D("20"), _START),
    ("SK", _D("23"), date(2025, 1, 1)),
)
"""(ISO country, standard rate in percent, effective from), per country in date order."""


class RateUnknown(LookupError):
    """No standard rate for this country on this date (not a member state, or before the table)."""


def _index() -> dict[str, tuple[tuple[date, Decimal], ...]]:
    by_country: dict[str, list[tuple[date, Decimal]]] = {}
    for country, rate, effective_from in STANDARD_RATES:
        by_country.setdefault(country, []).append((effective_from, rate))
    return {country: tuple(sorted(rows)) for country, rows in by_country.items()}


_BY_COUNTRY = _index()


def standard_rate(country: str, on: date) -> Decimal:
    """The standard VAT rate (percent) of member state ``country`` on ``on``.

    Raises :class:`RateUnknown` outside the EU and before :data:`TABLE_START`.
    """
    rows = _BY_COUNTRY.get(country.upper())
    if rows is None:
        raise RateUnknown(f"{country!r} is not an EU member state")
    current: Decimal | None = None
    for effective_from, rate in rows:
        if effective_from > on:
            break
        current = rate
    if current is None:
        raise RateUnknown(f"no rate known for {country} on {on.isoformat()}")
    return current


class TaxDecision(Struct, frozen=True):
    """The VAT treatment of one invoice (the rule is :func:`chalicelib.domain.tax.decide`)."""

    rate: Decimal  # percent; 0 for reverse charge and outside the EU VAT territory
    reverse_charge: bool
    mention: str | None  # an i18n key the invoice prints, or None
    scheme: Scheme  # domestic, oss, reverse_charge, outside_scope
    country: str | None  # whose VAT is charged (FR for domestic sales), else None

    def tax_on(self, net_minor_units: int) -> int:
        """The VAT on ``net_minor_units`` under this decision."""
        return vat_amount(net_minor_units, self.rate)


def tax_for(
    *,
    seller_country: str,
    customer_country: str,
    customer_vat_status: str | None,
    on: date,
    customer_postal_code: str | None = None,
) -> TaxDecision:
    """The VAT treatment of a supply by a seller in ``seller_country`` to a customer billed in
    ``customer_country`` (and ``customer_postal_code``: the Canary Islands, Ceuta, Melilla...)
    whose VAT ID is ``customer_vat_status`` (``"valid"``, ``"pending"``, ``"invalid"``, or None
    without an ID), on the date of supply ``on``.  A thin view of ``domain.tax.decide``."""
    from chalicelib.domain.tax import decide

    decision = decide(
        seller_country=seller_country,
        customer_country=customer_country,
        customer_postal_code=customer_postal_code,
        customer_vat_status=customer_vat_status,
        business=customer_vat_status is not None,
        on=on,
    )
    reverse = decision.reverse_charge
    return TaxDecision(
        decision.rate,
        reverse,
        REVERSE_CHARGE_MENTION if reverse else None,
        decision.scheme,
        None if reverse else decision.country,
    )


def vat_amount(net_minor_units: int, rate: Decimal | int) -> int:
    """VAT on a net amount in minor units at ``rate`` percent, rounded half-up to the unit.

    ``vat_amount(4900, Decimal("20")) == 980``; ``vat_amount(50, Decimal("21")) == 11``
    (10.5 rounds up, not to even).
    """
    if isinstance(net_minor_units, bool) or not isinstance(net_minor_units, int):
        raise TypeError("net_minor_units must be an int (minor units)")
    if isinstance(rate, bool) or not isinstance(rate, Decimal | int):
        raise TypeError("rate must be a Decimal or an int (percent), never a float")
    percent = Decimal(rate)
    if not percent.is_finite() or not 0 <= percent <= 100:
        raise ValueError(f"rate out of range: {rate}")
    with localcontext() as ctx:
        ctx.prec = 60  # exact for any amount this service can see
        exact = Decimal(net_minor_units) * percent / 100
        return int(exact.quantize(Decimal(1), rounding=ROUND_HALF_UP))
