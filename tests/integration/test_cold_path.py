"""What a cold Lambda loads to answer a sign-in and a stored invoice PDF: a fresh interpreter
imports ``app`` and serves the API Gateway event (as ``bench/cold_start.py`` measures), over
the embedded stack.  Neither answer may load the libraries kept off those paths (python-stdnum
for the seller's numbers, pydantic for request bodies, fpdf2 and lxml for drawing PDFs,
stripe): each costs tens of milliseconds of every cold start that loads it."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

from chalicelib.config import Settings
from chalicelib.domain.documents import DocumentKind, DocumentRef
from chalicelib.services.documents import DocumentService
from chalicelib.wiring import Container
from tests.conftest import process_environment, unique_email
from tests.helpers import PASSWORD, Api, create_payment_method

ROOT = Path(__file__).resolve().parents[2]
KEPT_OFF = ("stdnum", "pydantic", "pydantic_core", "fpdf", "lxml", "stripe", "drafthorse")

PROBE = """\
import json, os, sys
import app
class Context:
    aws_request_id = "cold-path"
    function_name = "helpdesk-accounts-dev"
    memory_limit_in_mb = 512
    def get_remaining_time_in_millis(self):
        return 30000
answer = app.app(json.loads(os.environ["PROBE_EVENT"]), Context())
kept_off = set(json.loads(os.environ["PROBE_KEPT_OFF"]))
print(json.dumps({"status": answer["statusCode"],
                  "loaded": sorted({m.split(".")[0] for m in sys.modules} & kept_off)}))
"""


def gateway_event(method: str, path: str, headers: dict[str, str], body: Any = None) -> str:
    """An API Gateway (REST, proxy) event, as Lambda hands the API function one."""
    resource = path.split("/in_")[0] + "/{invoice_id}/pdf" if "/pdf" in path else path
    invoice_id = path.split("/")[3] if "/pdf" in path else None
    all_headers = {"Host": "abc.execute-api.us-east-1.amazonaws.com", **headers}
    return json.dumps(
        {
            "resource": resource,
            "path": path,
            "httpMethod": method,
            "headers": all_headers,
            "multiValueHeaders": {k: [v] for k, v in all_headers.items()},
            "queryStringParameters": None,
            "multiValueQueryStringParameters": None,
            "pathParameters": {"invoice_id": invoice_id} if invoice_id else None,
            "stageVariables": None,
            "requestContext": {
                "resourcePath": resource,
                "httpMethod": method,
                "path": f"/api{path}",
                "stage": "api",
                "apiId": "abc",
                "requestId": "cold-path",
                "identity": {"sourceIp": "203.0.113.9"},
            },
            "body": json.dumps(body) if body is not None else None,
            "isBase64Encoded": False,
        }
    )


def serve_cold(stack: Any, settings: Settings, event: str) -> dict[str, Any]:
    env = {**process_environment(stack, settings), "PROBE_EVENT": event}
    env["PROBE_KEPT_OFF"] = json.dumps(KEPT_OFF)
    env["PYTHONPATH"] = str(ROOT)
    done = subprocess.run(
        [sys.executable, "-c", PROBE],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    return dict(json.loads(done.stdout.strip().splitlines()[-1]))


def test_a_cold_sign_in_and_a_cold_stored_pdf_load_none_of_the_heavy_libraries(
    api: Api, box: Container, stack: Any
) -> None:
    email = unique_email("cold")
    token, account = api.signup(email)
    card = create_payment_method(box.settings, "4242424242424242")
    assert api.call("PUT", "/billing/card", {"payment_method_id": card}, token=token).status == 200
    subscribe = api.call("POST", "/billing/subscribe", {"plan": "basic-monthly"}, token=token)
    assert subscribe.status == 200, subscribe.json
    invoice_id = api.call("GET", "/billing/invoices", token=token).json["items"][0]["id"]
    # as the stream draws it at issue, in English only here (French is drawn on request below)
    english_only = DocumentService(box.repo, lambda: box.renderer, box.clock, locales=("en",))
    english_only.prerender([DocumentRef(account["id"], DocumentKind.INVOICE, invoice_id)])

    login = gateway_event(
        "POST",
        "/login",
        {"Content-Type": "application/json"},
        {"email": email, "password": PASSWORD},
    )
    assert serve_cold(stack, box.settings, login) == {"status": 200, "loaded": []}
    auth = {"Authorization": f"Bearer {token}", "Accept": "application/pdf"}
    path = f"/billing/invoices/{invoice_id}/pdf"
    stored = gateway_event("GET", path, {**auth, "Accept-Language": "en"})
    assert serve_cold(stack, box.settings, stored) == {"status": 200, "loaded": []}
    # the probe sees them when they load: the French PDF, not stored, is drawn on the request
    drawn = serve_cold(
        stack, box.settings, gateway_event("GET", path, {**auth, "Accept-Language": "fr"})
    )
    assert drawn["status"] == 200 and {"fpdf", "lxml"} <= set(drawn["loaded"])
