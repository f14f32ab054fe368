"""EU VAT identification numbers: normalise, check offline, match to the billing country.

A VAT ID is a two-letter prefix and a national number.  The prefix is the member state's ISO
3166-1 code except for Greece, whose ISO code is ``GR`` but whose VAT prefix is ``EL``.  The
offline checks (VT1) run before VIES is asked anything, in this order, cheapest first:

1. the billing country must be one of the 27 member states (:data:`EU_VAT_COUNTRIES`), else
   ``vat_not_applicable``;
2. the raw input's length is capped (:data:`MAX_RAW_LENGTH`) before anything else reads it, so
   a 1 MB string costs one ``len``;
3. only Latin letters, digits and separators are allowed: control and format characters,
   symbols and other scripts are refused (``vat_id_characters``).  Spaces (any Unicode space,
   so a pasted no-break space is fine), dots and dashes are separators and are removed; letters
   are upper-cased;
4. the prefix: ``GR`` is read as ``EL``; a number typed without its prefix gets the billing
   country's; the prefix must be the billing country's (``vat_id_prefix_mismatch``);
5. python-stdnum (``stdnum.eu.vat.validate``) checks the country's length, format and check
   digits, and gives the canonical compact form (``BE428759497`` -> ``BE0428759497``).

Every rejection is ``InvalidInput("invalid_vat_id", fields={"vat_id": <message key>})``; the
message keys are in :data:`chalicelib.i18n.vat.VAT_MESSAGES`.

Northern Ireland (``XI``): since the Windsor Framework, traders in Northern Ireland carry an
``XI`` number for trade in *goods* with the EU.  Services, which is what this SaaS sells, follow
UK VAT rules there, and the UK (``GB``) is not a member state: an account billed in GB gets
``vat_not_applicable``, and an ``XI`` number typed for a member-state billing address gets
``vat_id_northern_ireland`` rather than a bare prefix mismatch.  ``XI`` is never accepted.

python-stdnum is imported on first use (cold start).
"""

from __future__ import annotations

import unicodedata

from chalicelib.domain.countries import EU_VAT_COUNTRIES
from chalicelib.domain.errors import InvalidInput

MAX_RAW_LENGTH = 40
"""Longest accepted input, separators included (the longest compact VAT ID has 14 characters,
``NL123456789B01``; generous room is left for spaces and dots)."""

NORTHERN_IRELAND_PREFIX = "XI"

_SEPARATORS = frozenset(" .-\u2010\u2011\u2012\u2013\u2014\u2015\u2212")
_ALNUM = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789")


def vat_applicable(country: str) -> bool:
    """True when ``country`` (ISO 3166-1) is an EU member state, where VAT IDs apply."""
    return country.upper() in EU_VAT_COUNTRIES


def vat_prefix(country: str) -> str:
    """The VAT prefix of a member state: its ISO code, except Greece (``GR`` -> ``EL``).

    Raises ``InvalidInput("vat_not_applicable")`` for a country outside the 27.
    """
    code = country.upper()
    if code not in EU_VAT_COUNTRIES:
        raise InvalidInput("vat_not_applicable")
    return "EL" if code == "GR" else code


def country_of_prefix(prefix: str) -> str:
    """The ISO country of a member state's VAT prefix (``EL`` -> ``GR``); ValueError otherwise."""
    code = prefix.upper()
    if code == "EL":
        return "GR"
    if code == "GR" or code not in EU_VAT_COUNTRIES:
        raise ValueError(f"not a member state's VAT prefix: {prefix!r}")
    return code


def split_vat_id(vat_id: str) -> tuple[str, str]:
    """A normalised VAT ID as (prefix, national number), as VIES wants them."""
    return vat_id[:2], vat_id[2:]


_PREFIXES = frozenset(vat_prefix(c) for c in EU_VAT_COUNTRIES) | {NORTHERN_IRELAND_PREFIX, "GB"}


def _invalid(message_key: str) -> InvalidInput:
    return InvalidInput("invalid_vat_id", fields={"vat_id": message_key})


def _compact(raw: str) -> str:
    """Separators removed and letters upper-cased; refuses any other character."""
    kept: list[str] = []
    for char in raw:
        if char in _SEPARATORS or unicodedata.category(char) == "Zs":
            continue
        upper = char.upper()
        if upper not in _ALNUM:
            raise _invalid("vat_id_characters")
        kept.append(upper)
    return "".join(kept)


def _stdnum_check(candidate: str) -> str:
    """stdnum's canonical form of ``candidate``, or the field message saying what is wrong."""
    from stdnum.eu import vat as eu_vat
    from stdnum.exceptions import InvalidChecksum, InvalidLength, ValidationError

    try:
        return str(eu_vat.validate(candidate))
    except InvalidChecksum:
        raise _invalid("vat_id_check_digits") from None
    except InvalidLength:
        raise _invalid("vat_id_length") from None
    except (ValidationError, ValueError, IndexError, KeyError):
        # InvalidFormat / InvalidComponent: letters where digits belong and the like.  The other
        # exceptions are defensive: bad input must never become a 500.
        raise _invalid("vat_id_format") from None


def normalize_vat_id(raw: str, billing_country: str) -> str:
    """The canonical VAT ID (``"fr 40.303-265 045"`` -> ``"FR40303265045"``) for an account
    billed in ``billing_country``, checked offline.  Raises :class:`InvalidInput`."""
    expected = vat_prefix(billing_country)
    if not isinstance(raw, str):
        raise _invalid("vat_id_format")
    if len(raw) > MAX_RAW_LENGTH:
        raise _invalid("vat_id_too_long")
    compact = _compact(raw)
    if not compact:
        raise _invalid("vat_id_required")
    head = compact[:2]
    if head == "GR":
        head, compact = "EL", "EL" + compact[2:]
    if head not in _PREFIXES:
        # Typed without its prefix (``123456789`` for Germany, ``B12345678`` for Spain): try it
        # under the billing country's.  Two letters that are no prefix at all are reported as
        # a wrong prefix when that fails (``US123456789``).
        try:
            return _stdnum_check(expected + compact)
        except InvalidInput:
            if head.isalpha():
                raise _invalid("vat_id_prefix_mismatch") from None
            raise
    if head == NORTHERN_IRELAND_PREFIX:
        raise _invalid("vat_id_northern_ireland")
    if head != expected:
        raise _invalid("vat_id_prefix_mismatch")
    if len(compact) == len(head):
        raise _invalid("vat_id_length")  # the prefix alone
    normalized = _stdnum_check(compact)
    if not normalized.startswith(expected):  # pragma: no cover - stdnum keeps the prefix
        raise _invalid("vat_id_prefix_mismatch")
    return normalized
