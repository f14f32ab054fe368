"""Which VAT applies to one sale, and the facts kept on the invoice to prove it.

The seller is established in France and sells an electronically supplied service (a help-desk
subscription).  The place of supply is where the customer is (Art. 58 of Directive
2006/112/EC for consumers, Art. 44 for businesses), so the decision needs the customer's
*place*, not only its ISO country:

* :func:`place_of_supply` maps a billing address to the territory the VAT rules see.  Monaco
  (``MC``) is France for VAT (the Franco-Monegasque convention of 1963): French VAT, declared
  in France.  Parts of member states are outside the EU VAT territory (Art. 6 of the
  Directive) although their ISO country is a member state's: the Canary Islands (Spanish
  postal codes ``35xxx`` and ``38xxx``), Ceuta (``51xxx``), Melilla (``52xxx``), and, by
  postal code, Heligoland (DE 27498), Büsingen am Hochrhein (DE 78266), Livigno (IT 23041),
  Campione d'Italia (IT 22061), Mount Athos (GR 63086) and the Åland Islands (FI 22xxx).
  They are outside the scope of EU VAT, like a customer in the United States.
* :func:`decide` gives the scheme:

  ``domestic``        the place of supply is France (or Monaco): French VAT at the French
                      rate, declared on the French return (CA3); a French business with a VAT
                      ID pays French VAT too (no reverse charge within one country);
  ``oss``             a consumer (or a business whose VAT ID is not verified ``valid``) in
                      another member state: that state's standard rate, declared through the
                      One-Stop Shop (Art. 369a ff.); only these sales go in ``export-oss``;
  ``reverse_charge``  a business in another member state whose VAT ID VIES found ``valid``:
                      0 %, the customer accounts for the VAT (Art. 196);
  ``outside_scope``   outside the EU VAT territory: no EU VAT (``exemption`` says why).

* :class:`TaxFacts` is the evidence snapshot stored on the invoice when it is issued and never
  rewritten: the scheme, the taxing country and rate, the place of supply, the billing
  country and postal code, the card's issuing country (the second piece of evidence of the
  customer's location, Art. 24f of Implementing Regulation 282/2011) and whether the two
  disagree, and, for a reverse charge, the VIES consultation number and date that backed it.
  A later VIES re-check changes the account, never an issued invoice.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Literal

from msgspec import Struct

from chalicelib.domain.countries import EU_VAT_COUNTRIES

Scheme = Literal["domestic", "oss", "reverse_charge", "outside_scope"]

SELLER_COUNTRY = "FR"
"""The seller's member state (``VENDOR_COUNTRY``; the legal mentions are French law's)."""

VAT_AS_FRANCE = frozenset({"FR", "MC"})
"""Territories whose VAT is France's: France and Monaco."""


class Territory(Struct, frozen=True):
    """A part of a member state outside the EU VAT territory, found by postal code."""

    code: str  # ISO 3166-1 (exceptionally reserved codes IC and EA where they exist) or a name
    country: str
    prefixes: tuple[str, ...]
    article: str  # where the Directive excludes it


SPECIAL_TERRITORIES: tuple[Territory, ...] = (
    Territory("IC", "ES", ("35", "38"), "Art. 6(1)(b)"),  # Canary Islands
    Territory("EA-CE", "ES", ("51",), "Art. 6(1)(c)"),  # Ceuta
    Territory("EA-ML", "ES", ("52",), "Art. 6(1)(c)"),  # Melilla
    Territory("DE-HELIGOLAND", "DE", ("27498",), "Art. 6(2)(d)"),
    Territory("DE-BUESINGEN", "DE", ("78266",), "Art. 6(2)(c)"),
    Territory("IT-LIVIGNO", "IT", ("23041",), "Art. 6(2)(a)"),
    Territory("IT-CAMPIONE", "IT", ("22061",), "Art. 6(2)(b)"),
    Territory("GR-ATHOS", "GR", ("63086",), "Art. 6(1)(a)"),
    Territory("AX", "FI", ("22",), "Art. 6(1)(d)"),  # Åland Islands
)


def _digits(postal_code: str | None) -> str:
    return "".join(c for c in (postal_code or "") if c.isdigit())


def special_territory(country: str, postal_code: str | None) -> Territory | None:
    """The excluded territory a member-state address lies in, by its postal code, or None."""
    digits = _digits(postal_code)
    code = country.upper()
    if not digits:
        return None
    for territory in SPECIAL_TERRITORIES:
        if territory.country == code and digits.startswith(territory.prefixes):
            if code == "FI" and len(digits) != 5:  # Åland: 22100-22950, five digits
                continue
            return territory
    return None


class Place(Struct, frozen=True):
    """Where the supply takes place for VAT: ``vat_country`` is the member state whose VAT
    applies (FR for Monaco), None outside the EU VAT territory."""

    country: str  # the billing address's ISO country
    territory: str | None  # a special territory's code, or "MC" for Monaco
    vat_country: str | None
    article: str | None = None


def place_of_supply(country: str, postal_code: str | None) -> Place:
    code = country.upper()
    if code == "MC":
        return Place(code, "MC", "FR")
    if code in EU_VAT_COUNTRIES:
        territory = special_territory(code, postal_code)
        if territory is not None:
            return Place(code, territory.code, None, territory.article)
        return Place(code, None, code)
    return Place(code, None, None)


ExemptionKey = Literal[
    "tax.exemption.reverse_charge",
    "tax.exemption.outside_eu_business",
    "tax.exemption.outside_eu_consumer",
    "tax.exemption.excluded_territory",
]


class Decision(Struct, frozen=True):
    """The VAT treatment of one sale."""

    scheme: Scheme
    rate: Decimal  # percent
    country: str | None  # the member state whose VAT is charged or reverse-charged
    place: Place
    exemption: ExemptionKey | None  # why the rate is 0 (an i18n key), else None

    @property
    def reverse_charge(self) -> bool:
        return self.scheme == "reverse_charge"


def decide(
    *,
    seller_country: str,
    customer_country: str,
    customer_postal_code: str | None,
    customer_vat_status: str | None,
    business: bool,
    on: date,
) -> Decision:
    """The scheme, rate and taxing country of a sale on ``on``.

    ``customer_vat_status`` is the VAT ID's VIES status (``valid``, ``pending``, ``invalid``,
    None without an ID); ``business`` is whether the customer gave a VAT ID at all (for the
    reason printed outside the EU)."""
    from chalicelib.domain.vat_rates import standard_rate

    place = place_of_supply(customer_country, customer_postal_code)
    seller = seller_country.upper()
    if place.vat_country is None:
        exemption: ExemptionKey = (
            "tax.exemption.excluded_territory"
            if place.territory is not None
            else "tax.exemption.outside_eu_business"
            if business
            else "tax.exemption.outside_eu_consumer"
        )
        return Decision("outside_scope", Decimal(0), None, place, exemption)
    if place.vat_country == seller:
        return Decision("domestic", standard_rate(seller, on), seller, place, None)
    if customer_vat_status == "valid":
        return Decision(
            "reverse_charge", Decimal(0), place.vat_country, place, "tax.exemption.reverse_charge"
        )
    return Decision("oss", standard_rate(place.vat_country, on), place.vat_country, place, None)


def quarter_of(moment: datetime | date) -> str:
    """``2026Q4`` for any day of October to December 2026."""
    return f"{moment.year}Q{(moment.month - 1) // 3 + 1}"


def parse_quarter(text: str) -> tuple[int, int]:
    """``"2026Q4"`` -> ``(2026, 4)``; ValueError for anything else."""
    raw = text.strip().upper()
    year, sep, quarter = raw.partition("Q")
    if not sep or not (year.isdigit() and len(year) == 4) or quarter not in ("1", "2", "3", "4"):
        raise ValueError(f"not a quarter like 2026Q4: {text!r}")
    return int(year), int(quarter)


class TaxFacts(Struct, frozen=True):
    """The tax evidence of one invoice, fixed when it is issued."""

    scheme: Scheme
    rate: str  # percent as text, as on the invoice's Tax
    country: str | None  # the member state whose VAT applies (None outside scope)
    place_of_supply: str  # ISO country or special territory (``IC``, ``MC``...)
    billing_country: str
    billing_postal_code: str | None
    card_country: str | None  # the card's issuing country (second evidence), when known
    evidence_conflict: bool  # the card's country is not the billing country
    business: bool  # the customer gave a VAT ID
    customer_vat_id: str | None
    vat_id_status: str | None
    vies_request_id: str | None  # the VIES consultation number behind a reverse charge
    vies_checked_at: datetime | None
    exemption: str | None  # i18n key of the reason a 0 % rate applies
    quarter: str  # the VAT period (``2026Q4``) of the issue date

    @property
    def oss(self) -> bool:
        return self.scheme == "oss"


def evidence_conflict(billing_country: str, card_country: str | None) -> bool:
    """Whether the card's issuing country contradicts the billing country.

    Monaco and France are one VAT territory, so a French card for a Monaco address agrees."""
    if not card_country:
        return False
    billing, card = billing_country.upper(), card_country.upper()
    if billing in VAT_AS_FRANCE and card in VAT_AS_FRANCE:
        return False
    return billing != card
