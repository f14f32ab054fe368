"""The hand-validated sign-in body (``api.bodies``) answers exactly as its pydantic model.

Every generated body goes through both: the pydantic model of ``api.schemas`` with the
mapping ``http.validate_body`` applies to its errors, and the light validator ``validate_body``
now uses. Same 400 code, same field messages in the same order, or the same values.
"""

from __future__ import annotations

import subprocess
import sys
from typing import Any

import msgspec
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from chalicelib.api import schemas
from chalicelib.api.bodies import LIGHT_BODIES, LoginBody
from chalicelib.api.http import _validation_error, validate_body
from chalicelib.domain.errors import InvalidInput


def by_pydantic(model_name: str, data: dict[str, Any]) -> tuple[str, Any]:
    model = getattr(schemas, model_name)
    try:
        return "ok", model.model_validate(data).model_dump()
    except ValidationError as error:
        refused = _validation_error(error)
        return refused.code, list(refused.fields.items())


def by_hand(model_name: str, data: dict[str, Any]) -> tuple[str, Any]:
    try:
        body = LIGHT_BODIES[model_name].validate(data)
    except InvalidInput as refused:
        return refused.code, list(refused.fields.items())
    return "ok", msgspec.structs.asdict(body)


def lengths_around(*limits: int) -> st.SearchStrategy[str]:
    """Strings at and beside each length limit (and empty)."""
    sizes = sorted({0, *(n + d for n in limits for d in (-1, 0, 1) if n + d >= 0)})
    return st.tuples(st.sampled_from(sizes), st.sampled_from("a\x01é€𝄞")).map(
        lambda pair: "x" * max(pair[0] - 1, 0) + (pair[1] if pair[0] else "")
    )


TEXT = st.one_of(
    st.text(max_size=30),
    st.text(alphabet=st.characters(codec=None, categories=("Cc", "Cs", "Zl", "Zp")), max_size=6),
    st.sampled_from(["\ud800", "ok\udfff", "a\n", "\n", "a\x7f", "\x00", " ", "a@b.c"]),
    lengths_around(1, 20, 200, 254, 1024),
)
NOT_TEXT = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(allow_nan=False),
    st.lists(st.integers(), max_size=2),
    st.dictionaries(st.text(max_size=3), st.integers(), max_size=2),
)
VALUE = st.one_of(TEXT, TEXT, NOT_TEXT)


def bodies(fields: list[str]) -> st.SearchStrategy[dict[str, Any]]:
    """Bodies with any subset of the model's fields, often unknown keys too, any values."""
    keys = st.one_of(st.sampled_from(fields), st.sampled_from(["", "x", "Email", "email "]))
    return st.one_of(
        st.fixed_dictionaries({}, optional=dict.fromkeys(fields, VALUE)),
        st.dictionaries(keys, VALUE, max_size=6),
    )


@pytest.mark.parametrize("model_name", sorted(LIGHT_BODIES))
def test_every_light_body_declares_the_models_fields(model_name: str) -> None:
    model = getattr(schemas, model_name)
    light = LIGHT_BODIES[model_name]
    assert list(light.FIELDS) == list(model.model_fields)
    assert [f.name for f in msgspec.structs.fields(light)] == list(model.model_fields)
    for name, rule in light.FIELDS.items():
        assert rule.optional == (not model.model_fields[name].is_required()), name


@settings(max_examples=1500, suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(data=bodies(list(LoginBody.FIELDS)))
def test_the_sign_in_body_is_refused_and_accepted_as_by_pydantic(data: dict[str, Any]) -> None:
    assert by_hand("LoginRequest", data) == by_pydantic("LoginRequest", data)


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        ({"email": "a@b.c", "password": "pw"}, ("ok", None)),
        ({}, ("validation_error", [("email", "field_required"), ("password", "field_required")])),
        ({"email": 3, "password": ""}, ("validation_error", None)),
        ({"email": "a", "password": "p", "otp": "12\n"}, ("validation_error", None)),
        ({"email": "a", "password": "p", "otp": "1" * 21}, ("validation_error", None)),
        ({"email": "a" * 255, "password": "p", "role": "admin"}, ("unknown_field", None)),
        ({"email": "\ud800", "password": "p"}, ("validation_error", None)),
        ({"email": "a", "password": "p", "device_token": None, "otp": None}, ("ok", None)),
    ],
)
def test_named_sign_in_bodies(data: dict[str, Any], expected: tuple[str, Any]) -> None:
    got = by_hand("LoginRequest", data)
    assert got == by_pydantic("LoginRequest", data)
    assert got[0] == expected[0]
    if expected[1] is not None:
        assert got[1] == expected[1]


def test_validate_body_uses_the_light_body_for_sign_in() -> None:
    body = validate_body("LoginRequest", {"email": "a@b.c", "password": "pw", "otp": "123456"})
    assert body == LoginBody("a@b.c", "pw", None, "123456")
    with pytest.raises(InvalidInput) as refused:
        validate_body("LoginRequest", {"email": "a@b.c", "password": "", "admin": True})
    assert refused.value.code == "unknown_field"
    assert refused.value.fields == {"password": "field_too_short", "admin": "field_unknown"}


def test_a_sign_in_does_not_import_pydantic() -> None:
    probe = (
        "import sys\n"
        "from chalicelib.api.http import validate_body\n"
        "validate_body('LoginRequest', {'email': 'a@b.c', 'password': 'pw'})\n"
        "try:\n"
        "    validate_body('LoginRequest', {'email': 1})\n"
        "except Exception:\n"
        "    pass\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('pydantic', 'pydantic_core')"
        " or m == 'chalicelib.api.schemas'))\n"
    )
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"
