"""``/openapi.json`` is a valid OpenAPI 3.1.0 document, and says the limits the server enforces.

The document is built from the routes (``chalicelib.api.http.ROUTES``) and the pydantic
models, without a server; ``openapi-spec-validator`` checks it against the 3.1 meta-schema.
Each limit below is also enforced by the server (the HTTP suites and the fuzzers send what is
past it): here the document must say it, so that a client, or schemathesis, knows.
"""

from __future__ import annotations

from typing import Any

import pytest
from openapi_spec_validator import OpenAPIV31SpecValidator

from chalicelib.domain import passwords, vat
from chalicelib.domain.countries import ISO_COUNTRIES


@pytest.fixture(scope="module")
def document() -> dict[str, Any]:
    import app  # noqa: F401  (registers every route)
    from chalicelib.api.openapi import openapi_document

    return openapi_document()


def parameter(document: dict[str, Any], path: str, method: str, name: str) -> dict[str, Any]:
    (found,) = [p for p in document["paths"][path][method]["parameters"] if p["name"] == name]
    return found


def field(document: dict[str, Any], model: str, name: str) -> dict[str, Any]:
    schema: dict[str, Any] = document["components"]["schemas"][model]["properties"][name]
    return schema


def test_the_document_is_valid_openapi_3_1(document: dict[str, Any]) -> None:
    assert document["openapi"] == "3.1.0"
    errors = [e.message for e in OpenAPIV31SpecValidator(document).iter_errors()]
    assert errors == []


def test_a_3_0_label_on_the_same_document_is_refused() -> None:
    """The check can fail: the document uses 3.1 schemas (``{"type": "null"}``), which a 3.0
    validator refuses, as it refused the document before it said 3.1.0."""
    from openapi_spec_validator import validate

    import app  # noqa: F401
    from chalicelib.api.openapi import openapi_document

    with pytest.raises(Exception):  # noqa: B017  (invalid, or a type 3.0 does not know)
        validate({**openapi_document(), "openapi": "3.0.3"})


@pytest.mark.parametrize(
    ("path", "method"), [("/billing/invoices", "get"), ("/account/activity", "get")]
)
def test_page_sizes_are_1_to_100(document: dict[str, Any], path: str, method: str) -> None:
    limit = parameter(document, path, method, "limit")["schema"]
    assert (limit["type"], limit["minimum"], limit["maximum"]) == ("integer", 1, 100)
    cursor = parameter(document, path, method, "cursor")["schema"]
    assert cursor["maxLength"] == 120 and cursor["pattern"] == "^[A-Za-z0-9_-]*$"


def test_the_support_status_filter_is_an_enum(document: dict[str, Any]) -> None:
    status = parameter(document, "/support/reactivation-requests", "get", "status")
    assert status["schema"]["enum"] == ["open"]


def test_the_webhook_requires_its_signature_header(document: dict[str, Any]) -> None:
    signature = parameter(document, "/webhooks/stripe", "post", "Stripe-Signature")
    assert signature["in"] == "header" and signature["required"] is True
    assert document["paths"]["/webhooks/stripe"]["post"]["requestBody"]["required"] is True


def test_the_idempotency_key_is_a_documented_header(document: dict[str, Any]) -> None:
    key = parameter(document, "/billing/pending/pay", "post", "Idempotency-Key")
    assert key["in"] == "header" and key["required"] is False
    assert (key["schema"]["minLength"], key["schema"]["maxLength"]) == (1, 255)


@pytest.mark.parametrize(
    ("model", "name"),
    [
        ("SignupRequest", "password"),
        ("PasswordChangeRequest", "new_password"),
        ("PasswordChangeRequest", "confirm_password"),
        ("ResetPasswordRequest", "new_password"),
        ("ResetPasswordRequest", "confirm_password"),
    ],
)
def test_new_passwords_say_the_policy_lengths(
    document: dict[str, Any], model: str, name: str
) -> None:
    schema = field(document, model, name)
    assert (schema["minLength"], schema["maxLength"]) == (
        passwords.MIN_LENGTH,
        passwords.MAX_LENGTH,
    )


def test_the_vat_id_length_is_the_domain_s(document: dict[str, Any]) -> None:
    schema = field(document, "VatRequest", "vat_id")
    assert (schema["minLength"], schema["maxLength"]) == (1, vat.MAX_RAW_LENGTH)


@pytest.mark.parametrize(
    ("model", "name"), [("SignupRequest", "country"), ("AddressRequest", "country")]
)
def test_countries_are_the_known_codes(document: dict[str, Any], model: str, name: str) -> None:
    assert field(document, model, name)["enum"] == list(ISO_COUNTRIES)


def test_every_operation_documents_its_errors_in_the_contract_s_format(
    document: dict[str, Any],
) -> None:
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            for status in ("400", "413", "429"):
                answer = operation["responses"][status]["content"]["application/json"]
                assert answer["schema"] == {"$ref": "#/components/schemas/ErrorResponse"}, (
                    method,
                    path,
                )
