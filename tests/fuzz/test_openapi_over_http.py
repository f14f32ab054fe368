"""Fuzz every route of ``/openapi.json`` over HTTP against ``python -m devstack`` (``make run``).

The in-process suite (``test_openapi_fuzz.py``) serves the app through a WSGI adapter; this
one sends real HTTP requests to ``chalice local`` over the embedded stack, as a client of
``make run`` would: a devstack is started for the module on free loopback ports over a
temporary data folder, or ``FUZZ_HTTP_URL`` names one already running (e.g.
``FUZZ_HTTP_URL=http://127.0.0.1:8000``).  The document is read from the server.

Checks: every schemathesis check, with no 5xx and no status, content type, header or body the
document does not describe; and "schema-valid request rejected" (a positive case answered
400) is allowed only for the business rules listed in :data:`BUSINESS_RULES`: rules the
schema cannot say (an email's syntax, check digits, a password's commonness, what exists).
Any other 400 to a positive case fails the test: the schema must then say the limit.

``make fuzz-http`` runs it (marked ``fuzz_http``, left out of ``make test``: it takes minutes;
``FUZZ_MAX_EXAMPLES``, default 8 here); the cases sent and the answers are printed at the end
(``FUZZ_VERBOSE=1``: per operation, and the business rules met).  ``FUZZ_DISCOVER=1`` lists
unexplained refusals instead of failing on them (to update :data:`BUSINESS_RULES`).
"""

from __future__ import annotations

import os
import uuid
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, Phase, settings
from schemathesis.specs.openapi.checks import positive_data_acceptance

from devstack.running import RunningDevstack

pytestmark = pytest.mark.fuzz_http

PASSWORD = "fuzz over http phrase"
MAX_EXAMPLES = int(os.environ.get("FUZZ_MAX_EXAMPLES", "8"))
DETERMINISTIC = "FUZZ_MAX_EXAMPLES" not in os.environ
SUPPORT_KEY = os.environ.get("SUPPORT_KEY", "support-local-key")
SESSION_ENDING = {("POST", "/logout"), ("POST", "/account/cancel"), ("POST", "/account/password")}

# (error code, field or "") -> why a schema-valid request is still refused: business rules
# the document cannot express.  Anything else answered 400 to a positive case is a finding.
BUSINESS_RULES: dict[tuple[str, str], str] = {
    ("validation_error", "email"): "an email's syntax (domain.contact), beyond its length",
    ("validation_error", "phone"): "a phone number must parse for the country (E.164)",
    ("weak_password", "password"): "a common password (zxcvbn's 30,000) is refused",
    ("weak_password", "new_password"): "a common password (zxcvbn's 30,000) is refused",
    ("password_mismatch", ""): "confirm_password must equal new_password",
    ("password_mismatch", "confirm_password"): "confirm_password must equal new_password",
    ("validation_error", "current_password"): "an email change needs the current password",
    ("invalid_token", ""): "a reset or verification token must be one the server mailed",
    ("invalid_token", "token"): "a reset or verification token must be one the server mailed",
    ("invalid_code", ""): "a TOTP code must be the current one",
    ("invalid_code", "code"): "a TOTP code must be the current one",
    ("invalid_cursor", "cursor"): "a cursor must be a next_cursor the server answered",
    ("validation_error", "cursor"): "a cursor must be a next_cursor the server answered",
    ("invalid_signature", ""): "a webhook body must carry Stripe's signature of it",
    ("invalid_vat_id", "vat_id"): "a VAT ID's check digits and its country's prefix",
    ("vat_not_applicable", ""): "a VAT ID applies to an EU billing address only",
    ("billing_address_required", ""): "a VAT ID needs a billing address first",
    ("unknown_plan", ""): "a plan must be one of GET /plans",
    ("unknown_plan", "plan"): "a plan must be one of GET /plans",
    ("invalid_payment_method", ""): "a card must be a PaymentMethod made by Stripe.js",
    ("card_expired", ""): "a card's expiry must not be in the past",
    ("validation_error", "now"): "the test clock's time must be an ISO 8601 instant",
}
SENT: Counter[str] = Counter()  # generated cases, by operation
STATUSES: Counter[int] = Counter()
RULES_MET: Counter[str] = Counter()


@pytest.fixture(scope="module")
def base_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    given = os.environ.get("FUZZ_HTTP_URL")
    if given:
        yield given.rstrip("/")
        return
    stack = RunningDevstack(Path(tmp_path_factory.mktemp("fuzz-devstack"))).start()
    try:
        yield stack.base
    finally:
        assert stack.stop() == 0, stack.log_tail()


def load_schema() -> Any:
    """The document the app serves (the test checks the server answers this very one)."""
    from app import app  # noqa: F401  (registers every route)
    from chalicelib.api.openapi import openapi_document

    loaded = schemathesis.openapi.from_dict(openapi_document())
    loaded.config.generation.update(
        modes=[schemathesis.GenerationMode.POSITIVE, schemathesis.GenerationMode.NEGATIVE],
        max_examples=MAX_EXAMPLES,
        deterministic=DETERMINISTIC,
        database="none",
        with_security_parameters=False,  # real credentials; tests/security covers bad ones
        allow_extra_parameters=False,
    )
    return loaded


class Session:
    """A signed-up account's token over HTTP, renewed after a case that may have ended it."""

    def __init__(self, base_url: str) -> None:
        self.base_url = base_url
        self.http = requests.Session()
        self.token: str | None = None

    def headers(self, case: Any) -> dict[str, str]:
        security = case.operation.definition.raw.get("security")
        if security == [{"bearer": []}]:
            if self.token is None:
                self.token = self._signup()
            return {"Authorization": f"Bearer {self.token}"}
        if security == [{"supportKey": []}]:
            return {"X-Support-Key": SUPPORT_KEY}
        return {}

    def after(self, case: Any) -> None:
        if (case.method.upper(), case.path) in SESSION_ENDING:
            self.token = None
        if case.path == "/_test/clock" and case.method.upper() != "GET":
            # a generated time would stop the whole devstack's clock: back to real time
            self.http.delete(f"{self.base_url}/_test/clock", timeout=30)
            self.token = None

    def _signup(self) -> str:
        body = {
            "email": f"fuzz-http-{uuid.uuid4().hex[:12]}@example.com",
            "password": PASSWORD,
            "name": "Fuzz",
            "country": "FR",
        }
        answer = self.http.post(f"{self.base_url}/signup", json=body, timeout=30)
        assert answer.status_code == 201, answer.text
        return str(answer.json()["token"])


@pytest.fixture(scope="module")
def session(base_url: str) -> Session:
    served = requests.get(f"{base_url}/openapi.json", timeout=30)
    assert served.status_code == 200
    from chalicelib.api.openapi import openapi_document

    assert served.json() == openapi_document(), "the server serves another document"
    return Session(base_url)


def business_rule(response: Any) -> str | None:
    """The business rule a 400 answer names, or None when it is not one of them."""
    try:
        error = response.json()["error"]
    except (ValueError, KeyError, TypeError):
        return None
    fields = error.get("fields") or {"": ""}
    reasons = [BUSINESS_RULES.get((error.get("code"), name)) for name in fields]
    if all(reasons):
        return "; ".join(sorted({r for r in reasons if r}))
    return None


def is_positive(case: Any) -> bool:
    meta = getattr(case, "meta", None)
    return meta is not None and meta.generation.mode.is_positive


schema = load_schema()


@schema.parametrize()
@settings(
    deadline=None,
    suppress_health_check=list(HealthCheck),
    phases=[Phase.explicit, Phase.generate],
    database=None,
    print_blob=True,
)
def test_every_route_over_http_holds_against_generated_input(case: Any, session: Session) -> None:
    try:
        response = case.call_and_validate(
            base_url=session.base_url,
            headers=session.headers(case),
            excluded_checks=[positive_data_acceptance],  # replaced by the check below
            session=session.http,
            timeout=30,
        )
    finally:
        session.after(case)
        SENT[case.operation.label] += 1
    STATUSES[response.status_code] += 1
    assert response.status_code < 500
    if is_positive(case) and response.status_code == 400:
        rule = business_rule(response)
        if rule is None and os.environ.get("FUZZ_DISCOVER"):
            RULES_MET[f"UNEXPLAINED {case.operation.label}: {response.text[:300]}"] += 1
            return
        assert rule is not None, (
            f"a schema-valid request was refused by a rule the document does not say: "
            f"{case.operation.label} -> {response.text}"
        )
        RULES_MET[f"{case.operation.label}: {rule}"] += 1


def summary() -> list[str]:
    """What was sent over HTTP (printed at the end of the run by ``conftest.py``)."""
    if not SENT:
        return []
    by_status = ", ".join(f"{code}: {n}" for code, n in sorted(STATUSES.items()))
    lines = [
        f"fuzz over HTTP: {sum(SENT.values())} generated cases over {len(SENT)} operations; "
        f"answers {by_status}; schema-valid requests refused by business rules: "
        f"{sum(RULES_MET.values())}"
    ]
    if os.environ.get("FUZZ_VERBOSE"):
        lines += [f"  {count:5d}  {rule}" for rule, count in sorted(RULES_MET.items())]
        lines += [f"  {count:5d}  {label}" for label, count in sorted(SENT.items())]
    return lines
