"""HTTP helpers for tests that drive the app through Chalice's test client."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from tests.conftest import unique_email

PASSWORD = "correct horse battery staple"


@dataclass
class Answer:
    status: int
    headers: dict[str, str]
    raw: bytes

    @property
    def json(self) -> Any:
        return json.loads(self.raw) if self.raw else None

    @property
    def error_code(self) -> str | None:
        body = self.json
        return body["error"]["code"] if isinstance(body, dict) and "error" in body else None


class Api:
    """Thin JSON wrapper over ``chalice.test.Client``."""

    def __init__(self, client: Any) -> None:
        self.client = client

    def call(
        self,
        method: str,
        path: str,
        body: Any = None,
        *,
        token: str | None = None,
        headers: dict[str, str] | None = None,
        raw: bytes | str | None = None,
    ) -> Answer:
        all_headers = {"Content-Type": "application/json"}
        if token:
            all_headers["Authorization"] = f"Bearer {token}"
        all_headers.update(headers or {})
        payload = raw if raw is not None else (json.dumps(body) if body is not None else None)
        response = self.client.http.request(method, path, headers=all_headers, body=payload)
        return Answer(response.status_code, dict(response.headers), response.body)

    def signup(self, email: str | None = None, **fields: Any) -> tuple[str, dict[str, Any]]:
        body = {
            "email": email or unique_email(),
            "password": PASSWORD,
            "name": "Ada Lovelace",
            "country": "FR",
            **fields,
        }
        answer = self.call("POST", "/signup", body)
        assert answer.status == 201, answer.json
        return answer.json["token"], answer.json["account"]


def create_payment_method(settings: Any, number: str, exp_year: int = 2031) -> str:
    """A PaymentMethod made on the embedded Stripe, as Stripe.js would in the browser."""
    import stripe

    stripe.enable_telemetry = False
    client = stripe.StripeClient(
        settings.stripe_secret_key,
        base_addresses={"api": settings.stripe_api_base},
        http_client=stripe.RequestsClient(timeout=(2, 10)),
    )
    params: Any = {
        "type": "card",
        "card": {"number": number, "exp_month": 12, "exp_year": exp_year, "cvc": "123"},
    }
    return str(client.v1.payment_methods.create(params=params).id)


def forget_signup_mail(box: Any) -> None:
    """Drop the sign-up's verification mail from the in-memory outbox: the unit tests that
    count the mails a use case writes start from an outbox without it (the verification
    itself is tested in tests/unit/test_account_security.py)."""
    mail = box.repo.mail
    for mail_id in [i for i, m in mail.items() if m.template == "verify_email"]:
        del mail[mail_id]
