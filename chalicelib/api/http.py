"""The one way a route is declared: :func:`endpoint`.

It does, for every route, what routes must not repeat: choose the language, read the bearer
token and authenticate, enforce the 64 KiB body limit, the JSON content type and the request
model (pydantic, imported lazily; sign-in's body by hand, :mod:`chalicelib.api.bodies`), call
the handler, shape the answer, add the security headers, and map every :class:`DomainError`
to the contract's error body in one place.  It also records each route in :data:`ROUTES`, from
which ``/openapi.json`` is generated.

Hostile input is bounded before it reaches anything that recurses or allocates: a JSON body
nested deeper than 64 levels is refused (400 ``json_too_deep``) from a scan of its bytes
before ``json.loads`` sees it (:mod:`chalicelib.domain.jsonbody`, also used on the webhook's
raw body), and every numeric query parameter goes through :func:`int_query`, which refuses
non-integers and out-of-range values, however many digits they have, with a 400 naming the
field.
"""

from __future__ import annotations

import base64
import binascii
import hmac
import json
import re
from collections.abc import Mapping
from typing import Any, Callable

from chalice.app import Blueprint, Response
from msgspec import Struct, field

from chalicelib.api.bodies import LIGHT_BODIES
from chalicelib.api.errors import PayloadTooLarge, UnsupportedMediaType
from chalicelib.domain.errors import DomainError, Forbidden, InternalError, InvalidInput
from chalicelib.domain.jsonbody import decode_json
from chalicelib.i18n import SUPPORTED, header_locale, pick_locale, translate
from chalicelib.logs import bind, log_error, request_scope

MAX_BODY_BYTES = 64 * 1024
MAX_INT_DIGITS = 18
"""Significant digits of a numeric query parameter (past this it is out of any range)."""

_INTEGER = re.compile(r"([+-]?)0*([0-9]+)", re.ASCII)
ALL_METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE")

SECURITY_HEADERS = {
    "Cache-Control": "no-store",
    "X-Content-Type-Options": "nosniff",
    "Strict-Transport-Security": "max-age=63072000; includeSubDomains",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
}
API_CSP = "default-src 'none'; frame-ancestors 'none'"


class Param(Struct, frozen=True):
    """A query parameter or header of a route, as ``/openapi.json`` describes it: ``schema``
    is the JSON Schema of its value (every limit the route enforces on it: ``minimum``,
    ``maximum``, ``enum``, ``maxLength`` ...)."""

    name: str
    schema: Mapping[str, Any]
    description: str = ""
    required: bool = False


QuerySpec = tuple[str, str, str] | Param  # (name, JSON type, description), or a full Param


class RouteSpec(Struct, frozen=True):
    """What ``/openapi.json`` says about one route."""

    path: str
    method: str
    summary: str
    tag: str
    body: str | None
    response: str | None
    status: int
    auth: bool
    errors: tuple[int, ...]
    query: tuple[QuerySpec, ...] = ()
    content_type: str = "application/json"
    support_key: bool = False
    other_responses: tuple[tuple[int, str], ...] = ()  # (status, response model) besides status
    headers: tuple[Param, ...] = ()  # request headers the route reads
    raw_body: bool = False  # the handler reads the bytes itself (a JSON object: webhooks)


ROUTES: list[RouteSpec] = []


class RequestContext(Struct):
    """What a handler gets besides its body: language, source address, caller, request."""

    locale: str
    ip: str
    headers: dict[str, str]
    query: dict[str, str]
    caller: Any = None  # a domain.account.Caller on authenticated routes
    extra: dict[str, Any] = field(default_factory=dict)


def _schemas() -> Any:
    from chalicelib.api import schemas

    return schemas


def error_response(error: DomainError, locale: str) -> Response:
    """The contract's error body for ``error`` in ``locale``."""
    params = dict(error.params)
    if hasattr(error, "retry_after"):
        params["retry_after"] = error.retry_after
    message_key = getattr(error, "message_key", None) or error.code
    body: dict[str, Any] = {
        "code": error.code,
        "message": translate(message_key, locale, **params),
    }
    if error.fields:
        body["fields"] = {name: translate(msg, locale) for name, msg in error.fields.items()}
    body.update(error.extra)
    return json_response({"error": body}, error.STATUS_CODE, error.headers)


def json_response(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    all_headers: dict[str, str | list[str]] = {
        **SECURITY_HEADERS,
        "Content-Type": "application/json; charset=utf-8",
        "Content-Security-Policy": API_CSP,
        **(headers or {}),
    }
    if body is None:
        return Response(body="", status_code=status, headers=all_headers)
    return Response(
        body=json.dumps(body, ensure_ascii=False), status_code=status, headers=all_headers
    )


_PYDANTIC_FIELD_MESSAGES = {
    "missing": "field_required",
    "extra_forbidden": "field_unknown",
    "string_too_short": "field_too_short",
    "string_too_long": "field_too_long",
    "too_short": "field_too_short",
    "too_long": "field_too_long",
    "greater_than": "field_range",
    "greater_than_equal": "field_range",
    "less_than": "field_range",
    "less_than_equal": "field_range",
    "text_control_characters": "field_control_characters",  # schemas.SafeLine / SafeText
}


def _validation_error(error: Any) -> InvalidInput:
    fields: dict[str, str] = {}
    unknown = False
    for item in error.errors():
        kind = item["type"]
        name = ".".join(str(p) for p in item["loc"]) or "body"
        if kind == "extra_forbidden":
            unknown = True
        if kind in _PYDANTIC_FIELD_MESSAGES:
            message = _PYDANTIC_FIELD_MESSAGES[kind]
        elif kind.endswith("_type") or kind.endswith("_parsing") or kind == "int_from_float":
            message = "field_type"
        else:
            message = "field_invalid"
        fields.setdefault(name, message)
    return InvalidInput("unknown_field" if unknown else "validation_error", fields=fields)


def int_query(query: Mapping[str, str], name: str, *, default: int, low: int, high: int) -> int:
    """The integer query parameter ``name`` (``default`` when absent), or a 400 naming it:
    ``field_not_integer`` for anything but optional sign and ASCII digits, ``field_range``
    outside ``low..high`` (a 5,000-digit value included: it is never handed to ``int``)."""
    raw = query.get(name)
    if raw is None:
        return default
    found = _INTEGER.fullmatch(raw.strip())
    if found is None:
        raise InvalidInput(fields={name: "field_not_integer"})
    sign, digits = found.groups()
    if len(digits) > MAX_INT_DIGITS:
        raise InvalidInput(fields={name: "field_range"})
    value = -int(digits) if sign == "-" else int(digits)
    if not low <= value <= high:
        raise InvalidInput(fields={name: "field_range"})
    return value


def parse_json_body(raw: bytes | None, headers: dict[str, str]) -> Any:
    """The decoded JSON body (``None`` when empty), enforcing size and content type."""
    if raw and len(raw) > MAX_BODY_BYTES:
        raise PayloadTooLarge()
    if not raw or not raw.strip():
        return None
    content_type = headers.get("content-type", "application/json").lower()
    if "json" not in content_type:
        raise UnsupportedMediaType()
    value = decode_json(raw)
    if value is None:  # a literal ``null`` body is a body, and not an object (fuzz finding)
        raise InvalidInput("invalid_json")
    return value


def validate_body(model_name: str, data: Any) -> Any:
    """``data`` validated by the named request model (by hand for the few models of
    :data:`~chalicelib.api.bodies.LIGHT_BODIES`: same answer, without importing pydantic)."""
    if not isinstance(data, dict):
        raise InvalidInput("invalid_json")
    light = LIGHT_BODIES.get(model_name)
    if light is not None:
        return light.validate(data)
    from pydantic import ValidationError

    model = getattr(_schemas(), model_name)
    try:
        return model.model_validate(data)
    except ValidationError as error:
        raise _validation_error(error) from None


def _bearer(headers: dict[str, str]) -> str | None:
    value = headers.get("authorization", "")
    scheme, _, token = value.partition(" ")
    return token.strip() if scheme.lower() == "bearer" and token else None


def _check_support_key(headers: dict[str, str], ip: str) -> None:
    """Support routes: ``X-Support-Key`` must equal the configured key (constant time).

    Fails closed: no key, or the local placeholder outside the local stage, lets nobody in."""
    from chalicelib.config import LOCAL_SUPPORT_KEY
    from chalicelib.domain.errors import NotAuthenticated
    from chalicelib.logs import log_event
    from chalicelib.wiring import container

    settings = container().settings
    expected = settings.support_key.encode()
    placeholder = settings.stage != "local" and settings.support_key == LOCAL_SUPPORT_KEY
    given = headers.get("x-support-key", "").encode()
    if not expected or placeholder or not hmac.compare_digest(given, expected):
        log_event("support.rejected", ip=ip, key_given=bool(given))
        raise NotAuthenticated("invalid_support_key")


def _in_request_scope(bp: Blueprint, view: Callable[..., Response]) -> Callable[..., Response]:
    """``view`` with every log line it writes tagged with the request id (see ``logs``)."""

    def scoped(**path_params: str) -> Response:
        request = bp.current_request
        request_id = (request.context or {}).get("requestId") or getattr(
            request.lambda_context, "aws_request_id", None
        )
        with request_scope(str(request_id or "")):
            return view(**path_params)

    scoped.__name__ = view.__name__
    return scoped


Handler = Callable[..., Any]


def endpoint(  # noqa: C901, PLR0913 - the route declaration: one keyword per fact of the route
    bp: Blueprint,
    path: str,
    method: str,
    *,
    tag: str,
    summary: str,
    body: str | None = None,
    response: str | None = None,
    status: int = 200,
    auth: bool = True,
    support_key: bool = False,
    other_responses: tuple[tuple[int, str], ...] = (),
    allow_suspended: bool = False,
    errors: tuple[int, ...] = (),
    query: tuple[QuerySpec, ...] = (),
    headers: tuple[Param, ...] = (),
    content_type: str = "application/json",
    raw_body: bool = False,
    read_ahead: Callable[[dict[str, str]], str | None] | None = None,
    read_ahead_pdf: bool = False,
) -> Callable[[Handler], Handler]:
    """Register ``handler(ctx, [body,] **path_params)`` as ``method path`` on ``bp``.

    The handler returns a JSON-able value (sent with ``status``), ``None`` (204 when
    ``status`` is 204) or a ready :class:`Response`.  ``allow_suspended`` marks an essential
    route, open to accounts whose status restricts them (``suspended``, ``trial_expired``);
    the others answer 403 with the status's code (:meth:`AccountStatus.refusal`).
    ``query`` and ``headers`` describe the parameters the handler reads, with the limits it
    enforces on them (:class:`Param`), for ``/openapi.json``.
    ``read_ahead`` maps the path parameters to the id of an invoice the handler will read (or
    None): the repository reads it with the session, in the authentication's one round trip;
    with ``read_ahead_pdf`` its stored PDF too, in the language the request asks for (in both
    when ``Accept-Language`` leaves it to the account's language).
    """
    all_errors = tuple(sorted({400, 413, 429, *errors, *((401,) if auth or support_key else ())}))
    ROUTES.append(
        RouteSpec(
            path,
            method,
            summary,
            tag,
            body,
            response,
            status,
            auth,
            all_errors,
            query,
            content_type,
            support_key=support_key,
            other_responses=other_responses,
            headers=headers,
            raw_body=raw_body,
        )
    )

    def decorate(handler: Handler) -> Handler:  # noqa: C901 - the one request pipeline (structure branch edits it)
        def view(**path_params: str) -> Response:  # noqa: C901 - the one request pipeline (structure branch edits it)
            request = bp.current_request
            headers = {k.lower(): v for k, v in (request.headers or {}).items()}
            locale = pick_locale(headers.get("accept-language"))
            try:
                identity = (request.context or {}).get("identity") or {}
                ctx = RequestContext(
                    locale=locale,
                    ip=str(identity.get("sourceIp") or ""),
                    headers=headers,
                    query=dict(request.query_params or {}),
                )
                if support_key:
                    _check_support_key(headers, ctx.ip)
                raw = request.raw_body
                raw_bytes = raw.encode() if isinstance(raw, str) else (raw or b"")
                if raw_body:  # the handler verifies and parses the bytes itself (webhooks)
                    if len(raw_bytes) > MAX_BODY_BYTES:
                        raise PayloadTooLarge()
                    ctx.extra["raw_body"] = raw_bytes
                data = None if raw_body else parse_json_body(raw_bytes, headers)
                if auth:
                    from chalicelib.wiring import container

                    invoice_id = read_ahead(path_params) if read_ahead else None
                    if invoice_id is not None:
                        asked = header_locale(headers.get("accept-language"))
                        pdf_locales = ((asked,) if asked else SUPPORTED) if read_ahead_pdf else ()
                        container().repo.read_ahead_invoice(invoice_id, pdf_locales)
                    ctx.caller = container().auth.authenticate(_bearer(headers), ctx.ip)
                    bind(account_id=ctx.caller.account.id)  # on every log line
                    locale = ctx.locale = pick_locale(
                        headers.get("accept-language"), ctx.caller.account.locale
                    )
                    refusal = ctx.caller.account.status.refusal(essential=allow_suspended)
                    if refusal is not None:  # suspended, trial_expired: the domain decides
                        raise Forbidden(refusal)
                args: list[Any] = [ctx]
                if body is not None:
                    args.append(validate_body(body, data if data is not None else {}))
                elif data not in (None, {}):
                    raise InvalidInput("unknown_field")
                result = handler(*args, **path_params)
            except DomainError as error:
                return error_response(error, locale)
            except Exception:
                log_error("http.unhandled", path=path, method=method)
                return error_response(InternalError(), locale)
            if isinstance(result, Response):
                for key, value in SECURITY_HEADERS.items():
                    result.headers.setdefault(key, value)
                return result
            return json_response(None if status == 204 else result, status)

        view.__name__ = f"{method.lower()}_{handler.__name__}"
        bp.route(path, methods=[method], content_types=["*/*"])(_in_request_scope(bp, view))
        return handler

    return decorate


def decode_id_cursor(cursor: str | None, shape: re.Pattern[str]) -> str | None:
    """The id a list's ``cursor`` (a ``next_cursor`` answered before) stands for; 400
    ``invalid_cursor`` for anything else (not base64url, or not an id of ``shape``)."""
    if not cursor:
        return None
    try:
        value = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode("ascii")
    except (binascii.Error, UnicodeDecodeError, ValueError):
        raise InvalidInput("invalid_cursor", fields={"cursor": "invalid_cursor"}) from None
    if not shape.match(value):
        raise InvalidInput("invalid_cursor", fields={"cursor": "invalid_cursor"})
    return value


def encode_id_cursor(last_id: str | None) -> str | None:
    """The ``next_cursor`` after the item ``last_id`` (None: no next page)."""
    return base64.urlsafe_b64encode(last_id.encode()).decode().rstrip("=") if last_id else None
