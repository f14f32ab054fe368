"""DynamoDB requests per API call, over the real adapter on the embedded moto server.

Every route is called through Chalice's test client; PynamoDB's low-level call is wrapped to
count reads (GetItem, BatchGetItem, Query, TransactGetItems, Scan) and writes (PutItem,
UpdateItem, DeleteItem, TransactWriteItems, BatchWriteItem).  Bars (DESIGN.md): reads at most
2, writes at most 3 per call.  No Scan, ever.

    .venv/bin/python bench/requests.py
"""

from __future__ import annotations

import json
import os
import sys
import uuid
from collections import Counter
from pathlib import Path
from typing import Any

# This file is named like the ``requests`` package: keep its folder off the import path.
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("AWS_EC2_METADATA_DISABLED", "true")

READS = {"GetItem", "BatchGetItem", "Query", "TransactGetItems", "Scan"}
WRITES = {"PutItem", "UpdateItem", "DeleteItem", "TransactWriteItems", "BatchWriteItem"}
calls: Counter[str] = Counter()


def count_calls() -> None:
    from pynamodb.connection.base import Connection

    original = Connection._make_api_call

    def counted(self: Any, operation_name: str, operation_kwargs: dict[str, Any]) -> Any:
        calls[operation_name] += 1
        return original(self, operation_name, operation_kwargs)

    Connection._make_api_call = counted  # type: ignore[method-assign]


def main() -> int:
    import time

    import pyotp
    from chalice.test import Client

    from devstack.stack import start_stack

    stack = start_stack()
    os.environ.update(stack.environment)
    count_calls()
    from app import app
    from chalicelib.adapters.clock import SystemClock
    from chalicelib.config import settings_from_env
    from chalicelib.wiring import build_container, container, override

    # the system clock, as deployed: the local test clock would add its own reads
    override(build_container(settings_from_env(), clock=SystemClock()))
    rows: list[tuple[str, int, int, int]] = []
    worst_ok = True
    with Client(app) as client:

        def call(
            label: str,
            method: str,
            path: str,
            body: Any = None,
            token: str | None = None,
            expect: int = 200,
        ) -> Any:
            nonlocal worst_ok
            headers = {"Content-Type": "application/json"}
            if token:
                headers["Authorization"] = f"Bearer {token}"
            calls.clear()
            answer = client.http.request(
                method, path, headers=headers, body=json.dumps(body) if body is not None else None
            )
            assert answer.status_code == expect, (label, answer.status_code, answer.body)
            reads = sum(n for op, n in calls.items() if op in READS)
            writes = sum(n for op, n in calls.items() if op in WRITES)
            rows.append((label, reads, writes, calls["Scan"]))
            worst_ok = worst_ok and reads <= 2 and writes <= 3 and calls["Scan"] == 0
            return json.loads(answer.body) if answer.body else None

        email = f"bench-{uuid.uuid4().hex[:8]}@example.com"
        password = "bench pass phrase"
        call("GET /health", "GET", "/health")
        call("GET /plans", "GET", "/plans")
        call("GET /countries", "GET", "/countries")
        token = call(
            "POST /signup",
            "POST",
            "/signup",
            {"email": email, "password": password, "name": "B", "country": "FR"},
            expect=201,
        )["token"]
        device = call("POST /login", "POST", "/login", {"email": email, "password": password})[
            "device_token"
        ]
        wrong = {"email": email, "password": "wrong one"}
        call("POST /login (wrong password)", "POST", "/login", wrong, expect=401)
        for n in range(3):
            call(f"POST /login (wrong password {n + 2})", "POST", "/login", wrong, expect=401)
        call("POST /login (5th wrong: notice mail)", "POST", "/login", wrong, expect=401)
        call("POST /login (throttled)", "POST", "/login", wrong, expect=429)
        call(
            "POST /login (trusted device)",
            "POST",
            "/login",
            {"email": email, "password": password, "device_token": device},
        )
        call("GET /account", "GET", "/account", token=token)
        call("PATCH /account/profile", "PATCH", "/account/profile", {"name": "C"}, token=token)
        call(
            "PATCH /account/profile (email)",
            "PATCH",
            "/account/profile",
            {"email": f"new-{email}", "current_password": password},
            token=token,
        )
        box = container()
        proof = next(
            m.params["link"].split("token=", 1)[1]
            for m in box.repo.due_mail(box.clock.now(), 500)  # type: ignore[attr-defined]
            if m.to == f"new-{email}" and m.template == "email_change_verify"
        )
        call("POST /account/email/verify", "POST", "/account/email/verify", {"token": proof})
        call(
            "POST /account/email/verification (verified)",
            "POST",
            "/account/email/verification",
            token=token,
            expect=202,
        )
        sessions = call("GET /account/sessions", "GET", "/account/sessions", token=token)
        other = next(i["id"] for i in sessions["items"] if not i["current"])
        call(
            "DELETE /account/sessions/{id}",
            "DELETE",
            f"/account/sessions/{other}",
            token=token,
            expect=204,
        )
        call(
            "POST /account/sessions/revoke-others",
            "POST",
            "/account/sessions/revoke-others",
            token=token,
            expect=204,
        )
        page = call("GET /account/activity", "GET", "/account/activity?limit=2", token=token)
        call(
            "GET /account/activity (cursor)",
            "GET",
            f"/account/activity?limit=2&cursor={page['next_cursor']}",
            token=token,
        )
        call(
            "POST /password/forgot",
            "POST",
            "/password/forgot",
            {"email": f"new-{email}"},
            expect=202,
        )
        call(
            "POST /password/forgot (unknown)",
            "POST",
            "/password/forgot",
            {"email": f"nobody-{email}"},
            expect=202,
        )
        reset_link = next(
            m.params["link"].split("token=", 1)[1]
            for m in box.repo.due_mail(box.clock.now(), 500)  # type: ignore[attr-defined]
            if m.to == f"new-{email}" and m.template == "password_reset"
        )
        call(
            "POST /password/reset",
            "POST",
            "/password/reset",
            {"token": reset_link, "new_password": password, "confirm_password": password},
            expect=204,
        )
        token = call(
            "POST /login (after reset)",
            "POST",
            "/login",
            {"email": f"new-{email}", "password": password},
        )["token"]
        mfa = call(
            "POST /account/mfa/totp",
            "POST",
            "/account/mfa/totp",
            {"password": password},
            token=token,
        )
        totp = pyotp.TOTP(mfa["secret"])
        codes = call(
            "POST /account/mfa/totp/confirm",
            "POST",
            "/account/mfa/totp/confirm",
            {"code": totp.now()},
            token=token,
        )["recovery_codes"]
        signed = {"email": f"new-{email}", "password": password}
        call("POST /login (mfa_required)", "POST", "/login", signed, expect=401)
        token = call(
            "POST /login (TOTP code)",
            "POST",
            "/login",
            {**signed, "otp": totp.at(time.time() + 30)},
        )["token"]
        call(
            "DELETE /account/mfa",
            "DELETE",
            "/account/mfa",
            {"password": password, "code": codes[0]},
            token=token,
            expect=204,
        )
        call(
            "POST /account/password",
            "POST",
            "/account/password",
            {
                "current_password": password,
                "new_password": "another pass phrase",
                "confirm_password": "another pass phrase",
            },
            token=token,
            expect=204,
        )
        from tests.helpers import create_payment_method

        settings = settings_from_env()
        call(
            "PUT /billing/address",
            "PUT",
            "/billing/address",
            {
                "name": "B",
                "line1": "1 rue",
                "city": "Paris",
                "postal_code": "75001",
                "country": "FR",
            },
            token=token,
        )
        call(
            "PUT /billing/card",
            "PUT",
            "/billing/card",
            {"payment_method_id": create_payment_method(settings, "4242424242424242")},
            token=token,
        )
        call("PATCH /billing/card", "PATCH", "/billing/card", {"exp_month": 6}, token=token)
        call(
            "POST /billing/subscribe",
            "POST",
            "/billing/subscribe",
            {"plan": "basic-monthly"},
            token=token,
        )
        call("GET /billing", "GET", "/billing", token=token)
        invoices = call("GET /billing/invoices", "GET", "/billing/invoices", token=token)
        invoice_id = invoices["items"][0]["id"]
        call("GET /billing/invoices/{id}", "GET", f"/billing/invoices/{invoice_id}", token=token)
        call("GET /billing/pending", "GET", "/billing/pending", token=token)
        call("POST /billing/pending/pay (nothing)", "POST", "/billing/pending/pay", token=token)
        call("PUT /billing/vat", "PUT", "/billing/vat", {"vat_id": "FR40303265045"}, token=token)
        call("DELETE /billing/vat", "DELETE", "/billing/vat", token=token, expect=204)
        call(
            "POST /account/password (wrong)",
            "POST",
            "/account/password",
            {"current_password": "wrong", "new_password": "x" * 12, "confirm_password": "x" * 12},
            token=token,
            expect=401,
        )
        call("POST /logout", "POST", "/logout", token=token, expect=204)
        again = {"email": f"new-{email}", "password": "another pass phrase"}
        token = call("POST /login (new email)", "POST", "/login", again)["token"]
        call(
            "POST /account/cancel",
            "POST",
            "/account/cancel",
            {"password": "another pass phrase"},
            token=token,
        )
    stack.stop()

    print(f"{'route':38} {'reads':>5} {'writes':>6} {'scans':>5}")
    for label, reads, writes, scans in rows:
        print(f"{label:38} {reads:5d} {writes:6d} {scans:5d}")
    print(f"bars: reads <= 2, writes <= 3, no Scan -> {'OK' if worst_ok else 'OVER'}")
    return 0 if worst_ok else 1


if __name__ == "__main__":
    sys.exit(main())
