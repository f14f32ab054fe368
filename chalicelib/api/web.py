"""The web console's server side: ``GET /`` and the static files of ``chalicelib/web/``.

Design:

* **Only files that exist are served.**  The first request lists ``chalicelib/web/`` once
  (regular files with a known extension, no hidden names, no symbolic links) into a mapping from
  their relative URL path to their absolute file path.  A request path is *looked up* in that
  mapping and never joined onto a directory, so ``..``, encoded separators, absolute paths and
  anything else that is not literally one of those names is a 404 by construction.
* **Console pages.**  ``/`` and ``/reactivate`` (the address the API gives in the
  ``account_cancelled`` error) both answer ``index.html``; the single-page app picks the view.
  The page gets its configuration without any inline script: the Stripe publishable key and
  the Stripe.js address are written into ``<meta>`` tags when ``index.html`` is served
  (HTML-escaped).
* **A strict Content-Security-Policy** built from the settings: ``default-src 'self'``,
  scripts from here and from the Stripe.js origin, connections to here and to the Stripe API
  origin, frames from Stripe (and ``blob:`` for the hidden frame that prints an invoice), no
  ``'unsafe-inline'`` anywhere.  The print view, fetched with the bearer token and printed from
  a same-origin ``blob:`` frame, inherits this policy, so its one stylesheet is allowed by hash
  (the same hash the print route itself sends).
* **Cached and compressed.**  Every answer carries a strong ``ETag`` (a hash of the bytes
  served, so the page's is per configuration) and ``Cache-Control: no-cache``: a browser
  keeps every file and revalidates it, and a matching ``If-None-Match`` answers ``304`` with
  no body (and no file read past the first).  Behind API Gateway the stage compresses
  answers over ``minimum_compression_size`` (``.chalice/config.json``); on the local stack
  (``make run``, ``chalice local``, which compress nothing) the files are gzipped here when
  the request accepts gzip.  ``index.html`` preloads the whole module graph
  (``modulepreload``), so the browser fetches it in one round instead of import by import.
* **Cold start.**  Nothing is read or computed at import; the listing and the policy are built
  on first use and kept for the life of the process (the listing is made again on every
  request on the local stack, so that files added while ``make run`` runs are served).  Files
  are small and read when asked for.

``static`` is the callable :func:`chalicelib.api.fallback.register_fallbacks` calls for a GET
on a path that no API route matches; ``/`` itself is registered here.
"""

from __future__ import annotations

import base64
import gzip
import hashlib
import os
from functools import lru_cache
from html import escape
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from chalice.app import Blueprint, Response

from chalicelib.api.errors import MethodNotAllowed
from chalicelib.api.http import ALL_METHODS, SECURITY_HEADERS, error_response
from chalicelib.i18n import pick_locale

bp = Blueprint(__name__)

WEB_DIR = Path(__file__).resolve().parent.parent / "web"
INDEX = "index.html"
PAGES = frozenset({"", INDEX, "reactivate"})
"""Paths that answer the console page (the app routes between its views itself)."""

CONTENT_TYPES = {
    ".html": "text/html; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".svg": "image/svg+xml; charset=utf-8",
    ".json": "application/json; charset=utf-8",
    ".txt": "text/plain; charset=utf-8",
}
MIN_COMPRESS_BYTES = 1024
"""Smallest answer worth gzipping (the same as the stage's ``minimum_compression_size``)."""
REAL_STRIPE_JS_ORIGIN = "https://js.stripe.com"
REAL_STRIPE_API_ORIGIN = "https://api.stripe.com"
REAL_STRIPE_HOOKS_ORIGIN = "https://hooks.stripe.com"  # 3-D Secure frames


def served_files() -> dict[str, Path]:
    """URL path (relative, ``/``-separated) -> file, for every file the console may serve."""
    files: dict[str, Path] = {}
    root = WEB_DIR.resolve()
    for directory, subdirectories, names in os.walk(root, followlinks=False):
        subdirectories[:] = [d for d in subdirectories if not d.startswith((".", "_"))]
        for name in names:
            path = Path(directory) / name
            if name.startswith(".") or path.is_symlink() or not path.is_file():
                continue
            if path.suffix not in CONTENT_TYPES:
                continue
            files[path.relative_to(root).as_posix()] = path
    return files


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


def _print_style_hash() -> str:
    from chalicelib.api.documents import PRINT_CSP

    start = PRINT_CSP.index("'sha256-")
    return PRINT_CSP[start : PRINT_CSP.index("'", start + 1) + 1]


@lru_cache(maxsize=4)
def content_security_policy(stripe_js_url: str) -> str:
    """The console's policy for a Stripe.js served from ``stripe_js_url``."""
    js_origin = _origin(stripe_js_url)
    if js_origin == REAL_STRIPE_JS_ORIGIN:
        api_origins: tuple[str, ...] = (REAL_STRIPE_API_ORIGIN,)
        frame_origins: tuple[str, ...] = (js_origin, REAL_STRIPE_HOOKS_ORIGIN)
    else:  # an embedded Stripe (localstripe) serves its Stripe.js and its API on one origin
        api_origins = (js_origin,)
        frame_origins = (js_origin,)
    directives = {
        "default-src": ("'self'",),
        "script-src": ("'self'", js_origin),
        "style-src": ("'self'", _print_style_hash()),
        "img-src": ("'self'", "data:"),
        "connect-src": ("'self'", *api_origins),
        "frame-src": ("blob:", *frame_origins),
        "object-src": ("'none'",),
        "base-uri": ("'none'",),
        "form-action": ("'self'",),
        "frame-ancestors": ("'none'",),
    }
    return "; ".join(f"{name} {' '.join(values)}" for name, values in directives.items())


_deployed_files = lru_cache(maxsize=1)(served_files)


def _page(publishable_key: str, stripe_js_url: str) -> str:
    template = (WEB_DIR / INDEX).read_text(encoding="utf-8")
    return template.replace("%STRIPE_PUBLISHABLE_KEY%", escape(publishable_key)).replace(
        "%STRIPE_JS_URL%", escape(stripe_js_url)
    )


def _headers(content_type: str, cache: str, stripe_js_url: str) -> dict[str, str | list[str]]:
    return {
        **SECURITY_HEADERS,
        "Content-Type": content_type,
        "Cache-Control": cache,
        "Content-Security-Policy": content_security_policy(stripe_js_url),
        "Cross-Origin-Resource-Policy": "same-origin",
        "Permissions-Policy": "camera=(), microphone=(), geolocation=()",
        "Vary": "Accept-Encoding",
    }


def entity_tag(data: bytes) -> str:
    """The strong validator of ``data``."""
    return '"' + hashlib.sha256(data).hexdigest()[:32] + '"'


def _matches(if_none_match: str, tag: str) -> bool:
    candidates = {c.strip().removeprefix("W/") for c in if_none_match.split(",")}
    return tag in candidates or "*" in candidates


class GzipResponse(Response):
    """A gzipped text answer: Chalice (and ``chalice local``) carry bytes of a text type only
    base64-encoded, so it is always sent as such."""

    def to_dict(self, binary_types: list[str] | None = None) -> dict[str, Any]:
        answer: dict[str, Any] = super().to_dict(None)
        answer["body"] = base64.b64encode(self.body).decode("ascii")
        answer["isBase64Encoded"] = True
        return answer


def _answer(text: str, content_type: str, stripe_js_url: str, local: bool) -> Response:
    """``text`` as a cacheable answer: 304 for a matching ``If-None-Match``, gzipped on the
    local stack when accepted."""
    request: Any = bp.current_request
    headers = {k.lower(): v for k, v in ((request.headers if request else None) or {}).items()}
    data = text.encode("utf-8")
    tag = entity_tag(data)
    answer_headers = {**_headers(content_type, "no-cache", stripe_js_url), "ETag": tag}
    if _matches(headers.get("if-none-match", ""), tag):
        return Response(body="", status_code=304, headers=answer_headers)
    accepts = {
        e.split(";")[0].strip().lower() for e in headers.get("accept-encoding", "").split(",")
    }
    if local and "gzip" in accepts and len(data) >= MIN_COMPRESS_BYTES:
        answer_headers["Content-Encoding"] = "gzip"
        return GzipResponse(
            body=gzip.compress(data, compresslevel=6, mtime=0),
            status_code=200,
            headers=answer_headers,
        )
    return Response(body=text, status_code=200, headers=answer_headers)


def static(path: str) -> Response | None:
    """The console page or one of its files for ``path`` (no leading ``/``), else None."""
    from chalicelib.config import get_settings

    settings = get_settings()
    local = settings.stage == "local"
    if path in PAGES:
        page = _page(settings.stripe_publishable_key, settings.stripe_js_url)
        return _answer(page, CONTENT_TYPES[".html"], settings.stripe_js_url, local)
    files = served_files() if local else _deployed_files()
    file = files.get(path)
    if file is None:
        return None
    text = file.read_text(encoding="utf-8")
    return _answer(text, CONTENT_TYPES[file.suffix], settings.stripe_js_url, local)


@bp.route("/", methods=list(ALL_METHODS), content_types=["*/*"])
def console() -> Response:
    """``GET /``: the console.  Other methods: the contract's 405."""
    request: Any = bp.current_request
    if request is not None and request.method == "GET":
        served = static("")
        assert served is not None
        return served
    headers: Any = (request.headers if request is not None else None) or {}
    response = error_response(MethodNotAllowed(), pick_locale(headers.get("accept-language")))
    response.headers["Allow"] = "GET"
    return response
