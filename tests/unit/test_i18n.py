"""Language choice and the catalogue."""

from __future__ import annotations

import re

import pytest

from chalicelib.i18n import format_money, pick_locale, translate
from chalicelib.i18n.catalog import MESSAGES


@pytest.mark.parametrize(
    ("header", "account", "expected"),
    [
        (None, None, "en"),
        (None, "fr", "fr"),
        ("fr-FR,fr;q=0.9,en;q=0.8", "en", "fr"),
        ("de-DE, en;q=0.5, fr;q=0.7", None, "fr"),
        ("de", "fr", "fr"),
        ("en;q=0, fr;q=0", "fr", "fr"),
        ("*", None, "en"),
        ("fr;q=abc, en", None, "en"),
    ],
)
def test_pick_locale(header: str | None, account: str | None, expected: str) -> None:
    assert pick_locale(header, account) == expected


def test_every_message_exists_in_english_and_french_with_the_same_placeholders() -> None:
    for key, texts in MESSAGES.items():
        assert set(texts) >= {"en", "fr"}, key
        assert texts["en"].strip() and texts["fr"].strip(), key
        placeholders = {lang: set(re.findall(r"{(\w+)}", text)) for lang, text in texts.items()}
        assert placeholders["en"] == placeholders["fr"], key


def test_translate_fills_parameters_and_falls_back_to_the_key() -> None:
    assert "30" in translate("too_many_attempts", "fr", retry_after=30)
    assert translate("no_such_key", "fr") == "no_such_key"


def test_money_is_formatted_per_language() -> None:
    assert format_money(123456, "EUR", "en") == "€1,234.56"
    assert format_money(123456, "EUR", "fr").replace("\u202f", " ").replace("\xa0", " ") == (
        "1 234,56 €"
    )
    assert format_money(500, "JPY", "en") == "¥500"
