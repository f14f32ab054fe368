"""Contact details: email addresses (email-validator) and phones in E.164 (phonenumbers).

Both libraries are imported on first use: they are heavy and only a few routes need them.
"""

from __future__ import annotations

from chalicelib.domain.errors import InvalidInput


def normalize_email(raw: str, field: str = "email") -> str:
    """The normalised address, or ``invalid_email`` on ``field``.

    The domain part is lower-cased by email-validator; we lower-case the whole address so that
    uniqueness does not depend on how a customer typed it.
    """
    from email_validator import EmailNotValidError, validate_email

    try:
        result = validate_email(raw.strip(), check_deliverability=False)
    except EmailNotValidError:
        raise InvalidInput(fields={field: "invalid_email"}) from None
    return result.normalized.lower()


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
