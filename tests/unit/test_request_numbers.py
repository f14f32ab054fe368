"""JSON has one number type: a strict integer field takes ``366.0`` (the integer 366 to JSON
Schema, so to the document) and still refuses fractions, booleans and numeric strings."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from chalicelib.api import schemas


@pytest.mark.parametrize(
    ("model", "field", "extra"),
    [
        (schemas.SubscribeRequest, "seats", {"plan": "basic-monthly"}),
        (schemas.SubscribeRequest, "expected_total", {"plan": "basic-monthly"}),
        (schemas.SubscriptionChangeRequest, "seats", {}),
        (schemas.RefundRequest, "amount", {"reason": "Goodwill"}),
        (schemas.CardPatchRequest, "exp_month", {}),
    ],
)
def test_a_whole_float_is_the_integer_and_nothing_else_is(
    model: type[schemas.RequestModel], field: str, extra: dict[str, object]
) -> None:
    assert getattr(model.model_validate({**extra, field: 3.0}), field) == 3
    assert type(getattr(model.model_validate({**extra, field: 3.0}), field)) is int
    for refused in (3.5, True, "3", float("nan")):
        with pytest.raises(ValidationError):
            model.model_validate({**extra, field: refused})


def test_the_document_says_every_number_limit_in_json_schema_terms() -> None:
    """A limit pydantic cannot translate leaks as its own name (``ge``, ``le``): JSON Schema
    ignores unknown keywords, so the limit would silently vanish from the document."""
    from app import app  # noqa: F401  (registers every route)
    from chalicelib.api.openapi import openapi_document

    leaked: list[str] = []

    def walk(node: object, path: str) -> None:
        if isinstance(node, dict):
            leaked.extend(f"{path}.{k}" for k in ("ge", "le", "gt", "lt") if k in node)
            for key, value in node.items():
                walk(value, f"{path}.{key}")
        elif isinstance(node, list):
            for i, value in enumerate(node):
                walk(value, f"{path}[{i}]")

    walk(openapi_document(), "$")
    assert leaked == []
