"""Fuzz every route of ``/openapi.json`` with schemathesis, in-process, over the real adapters.

The app is served through :class:`tests.fuzz.wsgi.ChaliceWsgi` (what ``make run`` serves,
without sockets) over the embedded stack.  Every operation gets valid (positive) and invalid
(negative) generated input; signed-in routes carry a real bearer token of an account signed up
for the test (a new one whenever a case could have ended its session), support routes the
support key.  Checks: no 5xx; status codes, content types, headers and bodies as documented.

``make test`` runs a bounded, deterministic number of examples per operation
(``FUZZ_MAX_EXAMPLES``, default 12); ``make fuzz`` runs many more with random seeds.  The
number of requests sent is printed at the end of the run (``FUZZ_VERBOSE=1``: per operation).
``GET /openapi.json`` itself is left out by schemathesis (it is the schema's location).
"""

from __future__ import annotations

import os
from collections import Counter
from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, settings
from schemathesis.specs.openapi.checks import positive_data_acceptance

from tests.conftest import unique_email
from tests.fuzz.wsgi import ChaliceWsgi
from tests.helpers import PASSWORD

MAX_EXAMPLES = int(os.environ.get("FUZZ_MAX_EXAMPLES", "12"))
DETERMINISTIC = "FUZZ_MAX_EXAMPLES" not in os.environ
# Semantic rules the schema does not express (an email's syntax, E.164 phones, common
# passwords, VAT check digits, known plans) rightly reject some schema-valid input with 400.
EXCLUDED_CHECKS = [positive_data_acceptance]
SENT: Counter[str] = Counter()  # generated cases, by operation
WSGI: dict[str, ChaliceWsgi] = {}
FUZZ_SOURCE_IP = "198.51.100.7"  # a documentation address: only a field of the event

# Cases after which the account's token may be dead, or the account no longer usable.
SESSION_ENDING = {("POST", "/logout"), ("POST", "/account/cancel"), ("POST", "/account/password")}


def load_schema() -> Any:
    """The app's ``/openapi.json``, served in-process (no AWS call is needed to serve it)."""
    from app import app

    loaded = schemathesis.openapi.from_wsgi(
        "/openapi.json", WSGI.setdefault("app", ChaliceWsgi(app, FUZZ_SOURCE_IP))
    )
    loaded.config.generation.update(
        modes=[schemathesis.GenerationMode.POSITIVE, schemathesis.GenerationMode.NEGATIVE],
        max_examples=MAX_EXAMPLES,
        deterministic=DETERMINISTIC,
        database="none",
        # The tests send real credentials (the security suite covers missing and bad ones) ...
        with_security_parameters=False,
        # ... and unknown query parameters and headers are ignored, as HTTP APIs do (unknown
        # body fields are refused: every route's is tested in tests/security).
        allow_extra_parameters=False,
    )
    return loaded


class Session:
    """A signed-up account's token, renewed after a case that may have ended it."""

    def __init__(self, box: Any) -> None:
        self.box = box
        self.token: str | None = None

    def headers(self, case: Any) -> dict[str, str]:
        headers: dict[str, str] = {}
        if case.operation.definition.raw.get("security") == [{"bearer": []}]:
            if self.token is None:
                self.token = self._signup()
            headers["Authorization"] = f"Bearer {self.token}"
        if case.operation.definition.raw.get("security") == [{"supportKey": []}]:
            headers["X-Support-Key"] = self.box.settings.support_key
        return headers

    def after(self, case: Any) -> None:
        if (case.method.upper(), case.path) in SESSION_ENDING:
            self.token = None

    def _signup(self) -> str:
        from chalicelib.domain.errors import Conflict

        for _ in range(3):  # see the README: a retried TransactWrite can answer email_taken
            try:
                signed_in = self.box.auth.signup(
                    email=unique_email("fuzz"),
                    password=PASSWORD,
                    name="Fuzz",
                    country="FR",
                    phone=None,
                    locale="en",
                    ip="127.0.0.1",
                )
            except Conflict:
                continue
            return str(signed_in.token)
        raise AssertionError("could not sign up a fuzz account")


@pytest.fixture
def session(box: Any) -> Iterator[Session]:
    yield Session(box)


schema = load_schema()


@schema.parametrize()
@settings(
    deadline=None,
    suppress_health_check=list(HealthCheck),
    phases=[Phase.explicit, Phase.generate],
    database=None,
    print_blob=True,
)
def test_every_route_holds_against_generated_input(case: Any, session: Session) -> None:
    headers = session.headers(case)
    try:
        response = case.call_and_validate(headers=headers, excluded_checks=EXCLUDED_CHECKS)
    finally:
        session.after(case)
        SENT[case.operation.label] += 1
    assert response.status_code < 500


def summary() -> list[str]:
    """What the fuzzer sent (printed at the end of the run by ``conftest.py``)."""
    if "app" not in WSGI or not SENT:
        return []
    statuses = WSGI["app"].statuses
    total = sum(statuses.values())
    by_status = ", ".join(f"{code}: {n}" for code, n in sorted(statuses.items()))
    lines = [
        f"fuzz: {total} requests ({sum(SENT.values())} generated cases, the rest the checks' "
        f"follow-ups) over {len(SENT)} operations; answers {by_status}"
    ]
    if os.environ.get("FUZZ_VERBOSE"):
        lines += [f"  {count:5d}  {label}" for label, count in sorted(SENT.items())]
    return lines
