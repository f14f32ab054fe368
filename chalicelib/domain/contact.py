"""Contact details: email addresses (email-validator) and phones in E.164 (phonenumbers),
shown back in the account's national format (:func:`display_phone`).

Both libraries are imported on first use: they are heavy and only a few routes need them.

An email address is one account whatever way it was typed: :func:`normalize_email` applies
Unicode NFKC to the whole address (fullwidth ``ｐaid@example.com`` is ``paid@example.com``,
``＠`` is ``@``), lets email-validator check and normalise it (IDNA domain, NFC local part),
then lower-cases all of it.  Every path that stores or looks up an address (sign-up, sign-in,
reactivation, email change) goes through it, so uniqueness holds on the normalised form.
"""

from __future__ import annotations

import unicodedata

from chalicelib.domain.errors import InvalidInput


def _fold(raw: str) -> str:
    return unicodedata.normalize("NFKC", raw).strip()


def normalize_email(raw: str, field: str = "email") -> str:
    """The normalised address (NFKC, validated, lower-cased), or ``invalid_email`` on
    ``field``."""
    from email_validator import EmailNotValidError, validate_email

    try:
        result = validate_email(_fold(raw), check_deliverability=False)
    except EmailNotValidError:
        raise InvalidInput(fields={field: "invalid_email"}) from None
    return unicodedata.normalize("NFKC", result.normalized.lower())


def email_lookup_key(raw: str) -> str:
    """The form under which an address typed at sign-in or reactivation is looked up: what
    :func:`normalize_email` gives, or (not an address at all: no account can have it) the
    NFKC, trimmed and lower-cased text, so that the answer is the same
    ``invalid_credentials``.  Plain ASCII addresses (nearly all) skip email-validator, whose
    import would cost the sign-in cold start ~50 ms: for them normalising is lower-casing
    (quotes and backslashes, which email-validator may rewrite, take the full path)."""
    folded = _fold(raw).lower()
    if folded.isascii() and '"' not in folded and "\\" not in folded:
        return folded
    try:
        return normalize_email(raw)
    except InvalidInput:
        return folded


def normalize_phone(raw: str, country: str, field: str = "phone") -> str:
    """The number in E.164, read in the account's country when it has no ``+`` prefix."""
    import phonenumbers

    try:
        number = phonenumbers.parse(raw, country)
    except phonenumbers.NumberParseException:
        raise InvalidInput(fields={field: "invalid_phone"}) from None
    if not phonenumbers.is_valid_number(number):
        raise InvalidInput(fields={field: "invalid_phone"})
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def display_phone(e164: str, country: str) -> str:
    """How a stored E.164 number is written for the account's ``country``: the national
    format for a number of that country (``06 12 34 56 78`` in FR), the international one
    otherwise (``+44 20 7946 0958``).  :func:`normalize_phone` reads either back as the same
    number."""
    import phonenumbers

    try:
        number = phonenumbers.parse(e164, None)
    except phonenumbers.NumberParseException:
        return e164  # stored before validation existed: shown as it is
    national = phonenumbers.region_code_for_number(number) == country.upper()
    style = (
        phonenumbers.PhoneNumberFormat.NATIONAL
        if national
        else phonenumbers.PhoneNumberFormat.INTERNATIONAL
    )
    return phonenumbers.format_number(number, style)
