"""Request bodies of the hot public routes, validated without pydantic.

Sign-in is the route a cold Lambda serves most, and importing pydantic with
``api.schemas`` (about 110 ms of CPU, more than argon2's verify) would be most of what it
costs above a signed-in route.  Its body is a handful of optional or bounded strings, so it
is checked here by hand, with exactly the answer the pydantic model would give: the same
400 code (``validation_error``, or ``unknown_field`` when a key is not the model's), the
same field names and the same messages, in the same order (the model's fields first, then
the unknown keys as the body has them).  ``tests/unit/test_light_bodies.py`` compares the
two over many generated bodies.

The pydantic model stays the description of the body: ``/openapi.json`` is generated from
it (``schemas.LoginRequest``), and a light body names the model it stands for in
:data:`LIGHT_BODIES`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar, Self

from msgspec import Struct

from chalicelib.domain.errors import InvalidInput

_CONTROL = frozenset(map(chr, [*range(0x20), 0x7F]))
"""What ``schemas.NoControl`` (``^[^\\x00-\\x1f\\x7f]*$``) refuses."""


class Text(Struct, frozen=True):
    """A string field as a ``StringConstraints`` of ``api.schemas`` declares it (strict:
    only a JSON string; ``None`` where the model says ``| None = None``)."""

    min_length: int = 0
    max_length: int | None = None
    no_control: bool = False  # pattern=NoControl
    optional: bool = False  # ``... | None = None``

    def problem(self, value: Any) -> str | None:
        """The field message pydantic's error would map to, or None when valid."""
        if value is None and self.optional:
            return None
        if type(value) is not str:
            return "field_type"  # string_type
        checks = (  # in pydantic-core's order: the first that fails is the one reported
            (not _encodable(value), "field_invalid"),  # string_unicode
            (len(value) < self.min_length, "field_too_short"),
            (self.max_length is not None and len(value) > self.max_length, "field_too_long"),
            (self.no_control and not _CONTROL.isdisjoint(value), "field_invalid"),  # pattern
        )
        return next((message for failed, message in checks if failed), None)


def _encodable(value: str) -> bool:
    """Not a lone surrogate in it (a JSON ``\\ud800`` escape decodes to one)."""
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _validated(data: Mapping[str, Any], fields: Mapping[str, Text]) -> dict[str, Any]:
    """``data``'s values for ``fields`` (None for an absent optional one), or the 400 that
    ``http.validate_body`` makes of the pydantic model's ``ValidationError``."""
    problems: dict[str, str] = {}
    values: dict[str, Any] = {}
    for name, rule in fields.items():
        if name not in data:
            if not rule.optional:
                problems.setdefault(name, "field_required")
            values[name] = None
            continue
        message = rule.problem(data[name])
        if message is not None:
            problems.setdefault(name, message)
        values[name] = data[name]
    unknown = [key for key in data if key not in fields]
    for key in unknown:
        problems.setdefault(str(key) or "body", "field_unknown")
    if problems:
        raise InvalidInput("unknown_field" if unknown else "validation_error", fields=problems)
    return values


class LightBody(Struct, frozen=True):
    """A request body checked by :func:`_validated` against its ``FIELDS`` (in the model's
    order), built as the struct of the same fields."""

    FIELDS: ClassVar[Mapping[str, Text]] = {}

    @classmethod
    def validate(cls, data: Mapping[str, Any]) -> Self:
        return cls(**_validated(data, cls.FIELDS))


class LoginBody(LightBody, frozen=True):
    """``POST /login``'s body: what ``schemas.LoginRequest`` validates, attribute for
    attribute."""

    email: str
    password: str
    device_token: str | None = None
    otp: str | None = None

    FIELDS: ClassVar[Mapping[str, Text]] = {
        "email": Text(max_length=254),
        "password": Text(min_length=1, max_length=1024),
        "device_token": Text(max_length=200, optional=True),
        "otp": Text(max_length=20, no_control=True, optional=True),
    }


LIGHT_BODIES: dict[str, type[LightBody]] = {"LoginRequest": LoginBody}
"""The request models (by name in ``api.schemas``) validated here instead of by pydantic."""
