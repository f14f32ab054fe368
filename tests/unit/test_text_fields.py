"""Free text refuses control, bidi-override and separator characters (one rule, every field).

Through the request models as the API applies them (``validate_body``), so the error is the
contract's 400 ``validation_error`` with the field named, in English and French.
"""

from __future__ import annotations

import pytest

from chalicelib.api.http import error_response, validate_body
from chalicelib.domain.errors import InvalidInput
from chalicelib.domain.text import unsafe_character

UNSAFE = ["\u202e", "\u2066", "\u2067", "\u2068", "\u2069", "\u200e", "\u200f", "\u2028",
          "\u2029", "\u0085", "\x00", "\x1b", "\x7f", "\u061c"]  # fmt: skip

ADDRESS = {
    "name": "Ada",
    "line1": "1 rue",
    "city": "Paris",
    "postal_code": "75001",
    "country": "FR",
}
SIGNUP = {"email": "a@example.com", "password": "a long pass", "name": "Ada", "country": "FR"}
CASES = [
    ("SignupRequest", SIGNUP, "name"),
    ("ProfilePatchRequest", {}, "name"),
    ("AddressRequest", ADDRESS, "name"),
    ("AddressRequest", ADDRESS, "line1"),
    ("AddressRequest", ADDRESS, "line2"),
    ("AddressRequest", ADDRESS, "city"),
    ("AddressRequest", ADDRESS, "state"),
    ("CardPatchRequest", {}, "name"),
    ("CardPatchRequest", {}, "line1"),
    ("CancelRequest", {"password": "pw"}, "comment"),
    ("SupportDecisionRequest", {}, "note"),
]


@pytest.mark.parametrize("char", UNSAFE)
@pytest.mark.parametrize(("model", "base", "field"), CASES)
def test_unsafe_characters_are_refused_with_the_field_named(
    model: str, base: dict[str, str], field: str, char: str
) -> None:
    with pytest.raises(InvalidInput) as error:
        validate_body(model, {**base, field: f"Ada{char}Lovelace"})
    assert error.value.code == "validation_error"
    assert error.value.fields == {field: "field_control_characters"}


def test_the_message_names_the_problem_in_english_and_french() -> None:
    with pytest.raises(InvalidInput) as error:
        validate_body("SignupRequest", {**SIGNUP, "name": "evil\u202etxt.exe"})
    en = error_response(error.value, "en").body
    fr = error_response(error.value, "fr").body
    assert '"name"' in en and "text-direction" in en
    assert "direction du texte" in fr


@pytest.mark.parametrize(
    "text",
    ["Zoë Ørsted-Łukasz", "王小明", "محمد", "👩\u200d💻 team", "Ana\u00a0María", "O'Brien & Co."],
)
def test_ordinary_text_in_any_script_is_kept(text: str) -> None:
    assert validate_body("SignupRequest", {**SIGNUP, "name": text}).name == text


def test_comments_keep_their_line_breaks_but_not_the_unicode_separators() -> None:
    body = validate_body("CancelRequest", {"password": "pw", "comment": "line 1\nline 2\r\n\tok"})
    assert body.comment == "line 1\nline 2\r\n\tok"
    assert unsafe_character("a\nb") == "\n"  # single-line fields refuse it
    assert unsafe_character("a\nb", multiline=True) is None
    assert unsafe_character("a\u2028b", multiline=True) == "\u2028"
