"""The Chalice app as a WSGI application, for schemathesis's in-process transport.

Chalice apps are Lambda handlers, not WSGI apps.  ``chalice local`` (``make run``) and
``chalice.test.Client`` both serve them through :class:`chalice.local.LocalGateway`, which
turns an HTTP request into an API Gateway proxy event; this adapter does the same for a WSGI
environ, so the fuzzer exercises exactly what ``make run`` serves, in-process and fast.  One
difference from ``chalice local`` is kept from API Gateway: path parameters arrive
URL-decoded, as they do in AWS; and the source address can be chosen (the fuzzer's own, so
that its failed sign-ins do not throttle the address the other tests use).
"""

from __future__ import annotations

import base64
from collections import Counter
from collections.abc import Callable, Iterable
from http import HTTPStatus
from typing import Any
from urllib.parse import quote, unquote


class ChaliceWsgi:
    def __init__(self, app: Any, source_ip: str = "127.0.0.1") -> None:
        from chalice.config import Config
        from chalice.local import LocalGateway

        self.gateway = LocalGateway(app, Config(chalice_stage="local"))
        self.statuses: Counter[int] = Counter()  # every answer sent, by status
        create_event = self.gateway.event_converter.create_lambda_event

        def decoded_path_parameters(*args: Any, **kwargs: Any) -> Any:
            event = create_event(*args, **kwargs)
            captured = event.get("pathParameters") or {}
            event["pathParameters"] = {k: unquote(v) for k, v in captured.items()} or captured
            event["requestContext"]["identity"]["sourceIp"] = source_ip
            return event

        self.gateway.event_converter.create_lambda_event = decoded_path_parameters  # type: ignore[method-assign]

    def __call__(
        self, environ: dict[str, Any], start_response: Callable[..., Any]
    ) -> Iterable[bytes]:
        from chalice.local import LocalGatewayException

        path = str(
            environ.get("RAW_URI") or environ.get("REQUEST_URI") or quote(environ["PATH_INFO"])
        )
        if "?" not in path and environ.get("QUERY_STRING"):
            path += "?" + environ["QUERY_STRING"]
        headers = {
            key[5:].replace("_", "-").lower(): str(value)
            for key, value in environ.items()
            if key.startswith("HTTP_")
        }
        if environ.get("CONTENT_TYPE"):
            headers["content-type"] = environ["CONTENT_TYPE"]
        length = int(environ.get("CONTENT_LENGTH") or 0)
        body = environ["wsgi.input"].read(length) if length else None
        if body is not None:
            headers["content-length"] = str(len(body))
        try:
            answer = self.gateway.handle_request(environ["REQUEST_METHOD"], path, headers, body)
            status = int(answer["statusCode"])
            out_headers: list[tuple[str, str]] = [
                (k, str(v)) for k, v in (answer.get("headers") or {}).items()
            ]
            for key, values in (answer.get("multiValueHeaders") or {}).items():
                out_headers += [(key, str(v)) for v in values]
            raw = answer.get("body")
            if answer.get("isBase64Encoded") and raw is not None:
                payload = base64.b64decode(raw)
            else:
                payload = raw.encode("utf-8") if isinstance(raw, str) else (raw or b"")
        except LocalGatewayException as error:
            status = error.CODE
            out_headers = [(k, str(v)) for k, v in error.headers.items()]
            payload = error.body or b""
        try:
            reason = HTTPStatus(status).phrase
        except ValueError:
            reason = "Unknown"
        self.statuses[status] += 1
        start_response(f"{status} {reason}", out_headers)
        return [payload]
