"""The seller's legal identity and the legal notices an invoice must carry.

What French and EU law ask an invoice to show (VAT Directive Art. 226; CGI annexe II art. 242
nonies A; Code de commerce L441-9 and D441-5, R123-237):

* the seller's name, address, VAT number, SIREN, "RCS <city>", legal form and share capital
  (:class:`SellerIdentity`, from the settings; checked with python-stdnum at start-up);
* the reason a 0 % rate applies: the reverse charge ("Autoliquidation", Art. 196), outside
  the EU ("TVA non applicable, art. 259-1 du CGI"), an excluded territory (Art. 6);
* for business customers, the due date, the late-payment penalty rate and the €40 fixed
  recovery indemnity (L441-10, D441-5).

:func:`legal_notice_keys` decides which notices an invoice carries; their text, in each
language, is in :mod:`chalicelib.i18n.invoices`.  Notices are rendered when the document is,
in the language it is rendered in, from facts fixed at issue.
"""

from __future__ import annotations

from decimal import Decimal

from msgspec import Struct

from chalicelib.domain.tax import TaxFacts


class SellerSettingsMissing(RuntimeError):
    """The seller identity is missing or wrong outside the local stage: refuse to start."""


class SellerLegal(Struct, frozen=True):
    """The seller's identifiers as printed on an invoice (stored on it at issue)."""

    legal_form: str  # "SAS"
    share_capital: str  # decimal amount in ``share_capital_currency``, e.g. "10000"
    share_capital_currency: str
    siren: str  # 9 digits
    rcs_city: str  # the registry's city ("Paris")

    @property
    def registration(self) -> str:
        """``RCS Paris 999 999 998`` (R123-237 of the Code de commerce)."""
        return f"RCS {self.rcs_city} {format_siren(self.siren)}"

    def share_capital_minor(self) -> int:
        return int(Decimal(self.share_capital).scaleb(2))


def format_siren(siren: str) -> str:
    return f"{siren[:3]} {siren[3:6]} {siren[6:]}"


def check_siren(value: str) -> str:
    """The compact SIREN, or ValueError (nine digits, Luhn check digit)."""
    from stdnum.fr import siren

    try:
        return str(siren.validate(value))
    except Exception as error:  # stdnum's ValidationError family
        raise ValueError(f"not a valid SIREN: {value!r}") from error


def check_fr_vat(value: str, siren: str | None = None) -> str:
    """The compact French VAT number, or ValueError; it must belong to ``siren`` when given."""
    from stdnum.fr import tva

    try:
        compact = str(tva.validate(value))
    except Exception as error:
        raise ValueError(f"not a valid French VAT number: {value!r}") from error
    compact = compact if compact.startswith("FR") else "FR" + compact
    if siren and compact[4:] != siren:
        raise ValueError(f"VAT number {compact} does not belong to SIREN {siren}")
    return compact


BUSINESS_NOTICES = (
    "notice.due_date",
    "notice.late_penalties",
    "notice.recovery_indemnity",
)


def legal_notice_keys(facts: TaxFacts | None, business: bool) -> list[str]:
    """The i18n keys of the notices this invoice carries, in print order."""
    keys: list[str] = []
    if facts is not None and facts.exemption:
        keys.append(facts.exemption)
    if business:
        keys.extend(BUSINESS_NOTICES)
    return keys
