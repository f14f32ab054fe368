"""The console's server side (``chalicelib/api/web.py``) through Chalice's test client, and the
catalogue's completeness: fast checks that need no browser.

* only files that exist in ``chalicelib/web`` are served, whatever the path looks like;
* content types, the strict Content-Security-Policy and the configuration <meta> tags;
* every key the page and the scripts use is in the catalogue, in English and in French.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from chalicelib.api import web
from chalicelib.config import get_settings

WEB = Path(web.__file__).resolve().parent.parent / "web"


@pytest.fixture
def http(memory_box: Any, chalice_app: Any) -> Iterator[Any]:
    from chalice.test import Client

    with Client(chalice_app) as client:
        yield client.http


@pytest.mark.parametrize("path", ["/", "/reactivate", "/index.html"])
def test_the_console_page_with_its_configuration_and_policy(http: Any, path: str) -> None:
    answer = http.get(path)
    assert answer.status_code == 200
    assert answer.headers["Content-Type"] == "text/html; charset=utf-8"
    settings = get_settings()
    body = answer.body.decode()
    assert f'<meta name="stripe-publishable-key" content="{settings.stripe_publishable_key}">' in (
        body
    )
    assert f'<meta name="stripe-js-url" content="{settings.stripe_js_url}">' in body
    assert "<script>" not in body and " style=" not in body and "<style" not in body
    policy = answer.headers["Content-Security-Policy"]
    directives = dict(part.strip().split(" ", 1) for part in policy.split(";"))
    assert directives["default-src"] == "'self'"
    assert directives["script-src"] == "'self' http://127.0.0.1:8420"
    assert directives["connect-src"] == "'self' http://127.0.0.1:8420"
    assert directives["frame-ancestors"] == "'none'"
    assert "unsafe" not in policy
    assert answer.headers["X-Frame-Options"] == "DENY"
    assert answer.headers["Cache-Control"] == "no-cache"  # kept, revalidated by its ETag
    assert answer.headers["ETag"] == web.entity_tag(answer.body)


def test_the_policy_for_the_real_stripe_js() -> None:
    policy = web.content_security_policy("https://js.stripe.com/v3/")
    directives = dict(part.strip().split(" ", 1) for part in policy.split(";"))
    assert directives["script-src"] == "'self' https://js.stripe.com"
    assert directives["connect-src"] == "'self' https://api.stripe.com"
    assert directives["frame-src"] == "blob: https://js.stripe.com https://hooks.stripe.com"
    assert re.fullmatch(r"'self' 'sha256-[A-Za-z0-9+/=]{44}'", directives["style-src"])


@pytest.mark.parametrize(
    ("path", "content_type"),
    [
        ("/app.js", "text/javascript; charset=utf-8"),
        ("/i18n.js", "text/javascript; charset=utf-8"),
        ("/styles.css", "text/css; charset=utf-8"),
        ("/favicon.svg", "image/svg+xml; charset=utf-8"),
    ],
)
def test_static_files_with_their_content_type(http: Any, path: str, content_type: str) -> None:
    answer = http.get(path)
    assert answer.status_code == 200
    assert answer.headers["Content-Type"] == content_type
    assert answer.headers["X-Content-Type-Options"] == "nosniff"
    assert answer.body.decode() == (WEB / path.lstrip("/")).read_text(encoding="utf-8")


@pytest.mark.parametrize(
    "path",
    [
        "/../app.py",
        "/..%2fapp.py",
        "/%2e%2e/app.py",
        "/%2e%2e%2fapi%2fweb.py",
        "/web/app.js",
        "/chalicelib/web/app.js",
        "/api/web.py",
        "/./app.js/..",
        "/%2Fetc%2Fpasswd",
        "/....//app.py",
        "/app.JS",
        "/.gitignore",
        "/nothing-here.js",
    ],
)
def test_nothing_outside_the_console_files_is_served(http: Any, path: str) -> None:
    answer = http.get(path)
    assert answer.status_code == 404
    assert answer.headers["Content-Type"].startswith("application/json")


@pytest.mark.parametrize(
    "path",
    ["../app.py", "/etc/passwd", "../../config.py", "api/web.py", "./app.js", "app.js\x00.png"],
)
def test_static_refuses_any_path_that_is_not_a_served_name(path: str) -> None:
    assert web.static(path) is None


def test_served_files_are_the_console_files() -> None:
    files = web.served_files()
    assert {"index.html", "app.js", "i18n.js", "styles.css"} <= set(files)
    for name, file in files.items():
        assert file.resolve().parent == WEB.resolve()
        assert file.is_file() and not name.startswith(".")


def test_other_methods_on_the_console_are_405(http: Any) -> None:
    answer = http.post("/", body=b"{}", headers={"Content-Type": "application/json"})
    assert answer.status_code == 405
    assert answer.headers["Allow"] == "GET"


def test_api_routes_are_not_shadowed(http: Any) -> None:
    assert http.get("/account").status_code == 401
    assert http.get("/health").status_code == 200


# --- the catalogue ------------------------------------------------------------------------------
def _catalogue() -> dict[str, set[str]]:
    source = (WEB / "i18n.js").read_text(encoding="utf-8")
    english = source[source.index("  en: {") : source.index("  fr: {")]
    french = source[source.index("  fr: {") : source.index("const INTL_LOCALES")]
    key = re.compile(r"^\s+'([a-zA-Z0-9_.]+)':", re.MULTILINE)
    return {"en": set(key.findall(english)), "fr": set(key.findall(french))}


def test_english_and_french_have_the_same_keys() -> None:
    catalogue = _catalogue()
    assert len(catalogue["en"]) > 150
    assert catalogue["en"] == catalogue["fr"]


def test_every_key_used_is_in_the_catalogue() -> None:
    keys = _catalogue()["en"]
    html = (WEB / "index.html").read_text(encoding="utf-8")
    used = set(re.findall(r'data-i18n(?:-aria-label)?="([^"]+)"', html))
    for script in WEB.glob("*.js"):
        text = script.read_text(encoding="utf-8")
        used |= set(re.findall(r"\bt\('([a-zA-Z0-9_.]+)'", text))
        used |= set(re.findall(r"\bsay\([^,]+, '([a-zA-Z0-9_.]+)'", text))
        used |= set(re.findall(r"\bflash\('([a-zA-Z0-9_.]+)'", text))
        used |= set(re.findall(r"\{ key: '([a-zA-Z0-9_.]+)'", text))
    assert used, "no key found: the patterns above no longer match the scripts"
    assert sorted(used - keys) == []


def test_the_help_page_labels_in_french() -> None:
    source = (WEB / "i18n.js").read_text(encoding="utf-8")
    french = source[source.index("  fr: {") :]
    for label in (
        "Mon compte",
        "Informations de facturation",
        "Afficher",
        "Imprimer",
        "Changer le mot de passe ?",
        "Enregistrer",
        "Modifier la carte de crédit",
        "Mettre à jour la nouvelle carte",
        "Mettre à jour les informations de la carte",
        "Appliquer les frais en attente",
        "Annuler mon compte",
        "Réactiver et se connecter",
        "Envoyer la demande",
        "Mise à jour",
        "Informations personnelles",
        "Profil",
    ):
        assert f"'{label}'" in french, label


# --- caching and compression ------------------------------------------------------------------
@pytest.mark.parametrize("path", ["/", "/app.js", "/styles.css", "/favicon.svg"])
def test_a_matching_if_none_match_answers_304_with_the_same_headers(http: Any, path: str) -> None:
    first = http.get(path)
    tag = first.headers["ETag"]
    assert re.fullmatch(r'"[0-9a-f]{32}"', tag)
    again = http.get(path, headers={"If-None-Match": tag})
    assert again.status_code == 304 and again.body in (b"", "")
    assert again.headers["ETag"] == tag
    for header in ("Content-Security-Policy", "X-Frame-Options", "X-Content-Type-Options"):
        assert again.headers[header] == first.headers[header]
    listed = http.get(path, headers={"If-None-Match": f'"other", W/{tag}'})
    assert listed.status_code == 304
    stale = http.get(path, headers={"If-None-Match": '"0123456789abcdef0123456789abcdef"'})
    assert stale.status_code == 200 and stale.body == first.body


@pytest.mark.parametrize("path", ["/", "/app.js", "/billing.js", "/styles.css"])
def test_a_gzip_answer_decodes_to_the_file_and_keeps_its_headers(http: Any, path: str) -> None:
    import gzip

    plain = http.get(path)
    assert "Content-Encoding" not in plain.headers
    packed = http.get(path, headers={"Accept-Encoding": "br, gzip;q=0.9, deflate"})
    assert packed.status_code == 200
    assert packed.headers["Content-Encoding"] == "gzip"
    assert packed.headers["Vary"] == "Accept-Encoding"
    assert gzip.decompress(packed.body) == plain.body
    assert len(packed.body) < len(plain.body) / 2
    assert packed.headers["ETag"] == plain.headers["ETag"]  # the validator of the content
    for header in ("Content-Security-Policy", "Content-Type", "Strict-Transport-Security"):
        assert packed.headers[header] == plain.headers[header]
    tiny = http.get("/favicon.svg", headers={"Accept-Encoding": "gzip"})
    assert "Content-Encoding" not in tiny.headers  # under MIN_COMPRESS_BYTES


def test_the_page_preloads_exactly_the_module_graph_of_app_js(http: Any) -> None:
    page = http.get("/").body.decode()
    preloaded = set(re.findall(r'<link rel="modulepreload" href="/([a-z]+\.js)">', page))
    graph: set[str] = set()
    todo = ["app.js"]
    while todo:
        name = todo.pop()
        source = (web.WEB_DIR / name).read_text()
        for imported in re.findall(r"from '\./([a-z]+\.js)'", source):
            if imported not in graph:
                graph.add(imported)
                todo.append(imported)
    assert preloaded == graph


def test_api_gateway_compresses_answers_of_a_kilobyte_and_more() -> None:
    import json

    config = json.loads((web.WEB_DIR.parents[1] / ".chalice" / "config.json").read_text())
    assert config["minimum_compression_size"] == web.MIN_COMPRESS_BYTES
