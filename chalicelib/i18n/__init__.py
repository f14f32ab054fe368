"""Language choice, message lookup and locale-aware formatting.

``translate`` reads the catalogue; money, dates and country names come from Babel, imported
on first use (its locale data is heavy).
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from chalicelib.i18n.catalog import MESSAGES

SUPPORTED = ("en", "fr")
DEFAULT_LOCALE = "en"


def header_locale(accept_language: str | None) -> str | None:
    """The language ``Accept-Language`` asks for (highest q first) among en and fr, or None
    when it names neither (the account's language decides then)."""
    if not accept_language:
        return None
    choices: list[tuple[float, int, str]] = []
    for index, part in enumerate(accept_language.split(",")):
        pieces = part.strip().split(";")
        tag = pieces[0].strip().lower()
        quality = 1.0
        for param in pieces[1:]:
            key, _, value = param.strip().partition("=")
            if key == "q":
                try:
                    quality = float(value)
                except ValueError:
                    quality = 0.0
        lang = tag.split("-")[0]
        if lang in SUPPORTED and quality > 0:
            choices.append((-quality, index, lang))
    return min(choices)[2] if choices else None


def pick_locale(accept_language: str | None, account_locale: str | None = None) -> str:
    """``Accept-Language`` (highest q first) if it names en or fr, else the account's, else en."""
    asked = header_locale(accept_language)
    if asked is not None:
        return asked
    if account_locale in SUPPORTED:
        return str(account_locale)
    return DEFAULT_LOCALE


def translate(key: str, locale: str, **params: Any) -> str:
    """The message for ``key`` in ``locale`` (English when missing), with ``params`` filled in."""
    entry = MESSAGES.get(key)
    if entry is None:
        return key
    text = entry.get(locale) or entry[DEFAULT_LOCALE]
    return text.format(**params) if params else text


def format_money(amount_minor: int, currency: str, locale: str) -> str:
    """``1234, "EUR", "fr"`` -> ``12,34 €``."""
    from babel.numbers import format_currency, get_currency_precision

    digits = get_currency_precision(currency)
    value = Decimal(amount_minor).scaleb(-digits)
    return str(format_currency(value, currency, locale=locale))


def format_datetime_long(value: datetime, locale: str) -> str:
    """A date and time in words, in UTC."""
    from babel.dates import format_datetime

    return str(format_datetime(value, "medium", tzinfo=None, locale=locale)) + " UTC"


def format_date_long(value: datetime, locale: str) -> str:
    """A date in words (``26 novembre 2026``)."""
    from babel.dates import format_date

    return str(format_date(value.date(), "long", locale=locale))


def country_names(locale: str) -> dict[str, str]:
    """Country names by ISO code in ``locale``."""
    from babel import Locale

    return dict(Locale.parse(locale).territories)
