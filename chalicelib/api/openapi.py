"""``/openapi.json``: generated from :data:`chalicelib.api.http.ROUTES` and the pydantic models.

Nothing here is written by hand per route: adding an ``endpoint`` adds it to the document.
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Any

from chalicelib.api.http import ROUTES, Param, QuerySpec, RouteSpec

CURSOR_SCHEMA: dict[str, Any] = {
    "type": "string",
    "maxLength": 120,
    "pattern": "^[A-Za-z0-9_-]*$",
    "description": "opaque (base64url): only a next_cursor the server answered is accepted",
}
"""A page cursor in a query string (``/billing/invoices``, ``/account/activity``)."""

_STATUS_TEXT = {
    200: "OK",
    201: "Created",
    202: "Accepted",
    204: "No Content",
    400: "Invalid input",
    401: "Not signed in or wrong credentials",
    402: "Payment failed",
    403: "Not allowed in the account's state",
    404: "Not found",
    409: "Conflict",
    413: "Body too large",
    429: "Throttled",
    503: "A dependency is down; nothing changed",
}


def _body_required(model_name: str) -> bool:
    """A body is required when its model has a required field (else none means ``{}``)."""
    from chalicelib.api import schemas

    model = getattr(schemas, model_name)
    return any(field.is_required() for field in model.model_fields.values())


def _operation_id(spec: RouteSpec) -> str:
    slug = re.sub(r"[^a-z0-9]+", "_", spec.path.lower()).strip("_") or "root"
    return f"{spec.method.lower()}_{slug}"


def _query_parameter(query: QuerySpec) -> dict[str, Any]:
    if isinstance(query, Param):
        return _parameter(query, "query")
    name, kind, description = query
    return {
        "name": name,
        "in": "query",
        "required": False,
        "schema": {"type": kind},
        "description": description,
    }


def _parameter(param: Param, where: str) -> dict[str, Any]:
    described: dict[str, Any] = {
        "name": param.name,
        "in": where,
        "required": param.required,
        "schema": dict(param.schema),
    }
    if param.description:
        described["description"] = param.description
    return described


def _operation(spec: RouteSpec) -> dict[str, Any]:
    operation: dict[str, Any] = {
        "summary": spec.summary,
        "tags": [spec.tag],
        "operationId": _operation_id(spec),
        "parameters": [
            {
                "name": name,
                "in": "path",
                "required": True,
                "schema": {"type": "string", "minLength": 1, "maxLength": 64},
            }
            for name in re.findall(r"{(\w+)}", spec.path)
        ]
        + [_query_parameter(query) for query in spec.query]
        + [_parameter(header, "header") for header in spec.headers],
        "responses": {},
    }
    if spec.auth:
        operation["security"] = [{"bearer": []}]
    elif spec.support_key:
        operation["security"] = [{"supportKey": []}]
    else:
        operation["security"] = []
    if spec.body:
        operation["requestBody"] = {
            "required": _body_required(spec.body),
            "content": {
                "application/json": {"schema": {"$ref": f"#/components/schemas/{spec.body}"}}
            },
        }
    elif spec.raw_body:
        operation["requestBody"] = {
            "required": True,
            "content": {"application/json": {"schema": {"type": "object"}}},
        }
    success: dict[str, Any] = {"description": _STATUS_TEXT.get(spec.status, "OK")}
    if spec.status != 204:
        if spec.response:
            schema: dict[str, Any] = {"$ref": f"#/components/schemas/{spec.response}"}
        elif spec.content_type == "application/json":
            schema = {"type": "object"}
        else:
            schema = {"type": "string"}
        success["content"] = {spec.content_type: {"schema": schema}}
    operation["responses"][str(spec.status)] = success
    for other_status, model in spec.other_responses:
        operation["responses"][str(other_status)] = {
            "description": _STATUS_TEXT.get(other_status, "OK"),
            "content": {"application/json": {"schema": {"$ref": f"#/components/schemas/{model}"}}},
        }
    for status in spec.errors:
        operation["responses"][str(status)] = {
            "description": _STATUS_TEXT.get(status, "Error"),
            "content": {
                "application/json": {"schema": {"$ref": "#/components/schemas/ErrorResponse"}}
            },
        }
    return operation


@lru_cache(maxsize=1)
def openapi_document() -> dict[str, Any]:
    from pydantic.json_schema import models_json_schema

    from chalicelib.api import schemas

    requests = sorted({s.body for s in ROUTES if s.body})
    responses = sorted(
        {s.response for s in ROUTES if s.response}
        | {model for s in ROUTES for _, model in s.other_responses}
        | {"ErrorResponse"}
    )
    pairs: list[Any] = [(getattr(schemas, n), "validation") for n in requests]
    pairs += [(getattr(schemas, n), "serialization") for n in responses if n not in requests]
    _, definitions = models_json_schema(pairs, ref_template="#/components/schemas/{model}")
    paths: dict[str, dict[str, Any]] = {}
    for spec in ROUTES:
        paths.setdefault(spec.path, {})[spec.method.lower()] = _operation(spec)
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "HelpDesk Accounts",
            "version": "1.0.0",
            "description": "Account and billing self-service API (see API.md).",
        },
        "paths": paths,
        "components": {
            "schemas": definitions.get("$defs", {}),
            "securitySchemes": {
                "bearer": {"type": "http", "scheme": "bearer"},
                "supportKey": {"type": "apiKey", "in": "header", "name": "X-Support-Key"},
            },
        },
    }
