"""Integration tests: the real adapters over the embedded servers, and the app over HTTP
through Chalice's test client (``client``, root conftest).

The fixture and helpers the HTTP suites shared by copy: ``api`` (JSON calls), ``calls``
(the DynamoDB operations made, counted), what the embedded SES received (``ses_messages``,
``mails_to``), a sign-in (``login``) and a stream poller as ``make run`` runs one
(``polling``).
"""

from __future__ import annotations

import json
import threading
import urllib.request
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import pytest

from tests.helpers import PASSWORD, Answer, Api


@pytest.fixture
def api(client: Any) -> Api:
    return Api(client)


@pytest.fixture
def calls(monkeypatch: pytest.MonkeyPatch) -> Counter[str]:
    """Every DynamoDB operation the process makes from now on, by name (``clear()`` it before
    the request to measure)."""
    from pynamodb.connection.base import Connection

    counted: Counter[str] = Counter()
    original = Connection._make_api_call

    def counting(self: Any, operation: str, kwargs: dict[str, Any]) -> Any:
        counted[operation] += 1
        return original(self, operation, kwargs)

    monkeypatch.setattr(Connection, "_make_api_call", counting)
    return counted


def ses_messages(stack: Any) -> list[dict[str, Any]]:
    """Every mail the embedded SES received, oldest first (moto's ``/moto-api/data.json``)."""
    with urllib.request.urlopen(f"{stack.aws_url}/moto-api/data.json") as answer:
        data = json.load(answer)
    return list(data["ses"]["Message"])


def mails_to(stack: Any, to: str) -> list[dict[str, Any]]:
    """The mails the embedded SES received for ``to``, oldest first."""
    return [m for m in ses_messages(stack) if to in m["destinations"]["ToAddresses"]]


def login(api: Api, email: str, password: str = PASSWORD, agent: str = "") -> Answer:
    """``POST /login`` (with a ``User-Agent`` when ``agent`` is given)."""
    headers = {"User-Agent": agent} if agent else None
    return api.call("POST", "/login", {"email": email, "password": password}, headers=headers)


@contextmanager
def polling(
    settings: Any, handler: Callable[[dict[str, Any], Any], Any], pattern: dict[str, Any]
) -> Iterator[Any]:
    """The devstack's poller of the table's stream handing ``pattern``'s records to
    ``handler`` (as Lambda's event source does), running while the block runs; it must have
    reported no error."""
    from devstack.streams import StreamPoller

    stopping = threading.Event()
    errors: list[str] = []
    started = StreamPoller(settings, handler, pattern, stopping, errors.append).start()
    assert started.ready.wait(10), errors
    try:
        yield started
    finally:
        stopping.set()
    assert not errors
