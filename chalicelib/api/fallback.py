"""Answers for what no route handles, in the contract's error format.

* a known path with another method: 405 ``method_not_allowed``;
* an unknown path: 404 ``not_found`` (GET serves the console's static files first).

``chalice local`` matches only whole segments (no ``{proxy+}``), so catch-alls are declared
for each depth up to :data:`MAX_DEPTH`; concrete routes sort first and win.
"""

from __future__ import annotations

from typing import Any

from chalice.app import Chalice, Response

from chalicelib.api.errors import MethodNotAllowed
from chalicelib.api.http import ALL_METHODS, ROUTES, error_response
from chalicelib.domain.errors import NotFound
from chalicelib.i18n import pick_locale

MAX_DEPTH = 6


def _locale(app: Chalice) -> str:
    request = app.current_request
    headers: Any = (request.headers if request is not None else None) or {}
    return pick_locale(headers.get("accept-language"))


def register_fallbacks(app: Chalice, static: object | None = None) -> None:
    """Add the 405 and 404 routes once every blueprint is registered.

    ``static`` is a callable ``(path) -> Response | None`` that serves console files.
    """
    methods_by_path: dict[str, set[str]] = {}
    for spec in ROUTES:
        methods_by_path.setdefault(spec.path, set()).add(spec.method)

    for path, methods in methods_by_path.items():
        missing = [m for m in ALL_METHODS if m not in methods]
        if not missing:
            continue

        def not_allowed(_allowed: str = ", ".join(sorted(methods)), **_: str) -> Response:
            response = error_response(MethodNotAllowed(), _locale(app))
            response.headers["Allow"] = _allowed
            return response

        not_allowed.__name__ = f"not_allowed_{len(app.routes)}"
        app.route(path, methods=missing, content_types=["*/*"])(not_allowed)

    for depth in range(1, MAX_DEPTH + 1):
        path = "/" + "/".join(f"{{p{i}}}" for i in range(1, depth + 1))

        def not_found(**parts: str) -> Response:
            request = app.current_request
            if static is not None and request is not None and request.method == "GET":
                served = static("/".join(parts[f"p{i}"] for i in range(1, len(parts) + 1)))  # type: ignore[operator]
                if served is not None:
                    return served  # type: ignore[no-any-return]
            return error_response(NotFound(), _locale(app))

        not_found.__name__ = f"not_found_{depth}"
        app.route(path, methods=list(ALL_METHODS), content_types=["*/*"])(not_found)
